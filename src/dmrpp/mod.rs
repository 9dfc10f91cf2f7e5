//! The DMR++ sidecar reader: OPeNDAP's DMR++ (a DAP4 DMR annotated with `dmrpp:` chunk
//! elements, written by `build_dmrpp`) → the same [`GranuleManifest`] the HDF5 reader
//! produces, with [`SourceKind::Dmrpp`]. See `docs/dmrpp.md` for what is supported and how
//! DMR++-only constructs are represented.
//!
//! The parser runs over quick-xml events borrowed from the document in memory (or, through
//! [`parse_dmrpp_reader`], from a stream holding one XML token, at most [`Limits::token`] bytes);
//! nothing is allocated per array element, and per chunk only what the manifest keeps.

mod counted;
mod end;
mod error;
mod export;
mod fast;
mod filters;
mod inline;
mod names;
mod parse;
mod start;
mod types;
mod var;

use std::io::BufRead;

pub use error::DmrppError;
pub use export::{write_dmrpp, ExportedDmrpp, EXPORT_DMRPP_VERSION};

use crate::manifest::GranuleManifest;
#[cfg(doc)]
use crate::manifest::SourceKind;
use crate::source::ByteSource;

/// The `dmrpp:href` placeholder build_dmrpp writes when the data URL is filled in at serve time.
pub const PLACEHOLDER: &str = "OPeNDAP_DMRpp_DATA_ACCESS_URL";

/// Size bounds applied while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest single XML token (a start tag with its attributes, or one text run), in bytes.
    pub token: u64,
    /// Longest XML attribute value (error) and DAP `<Attribute>` value (value dropped, problem).
    pub attr_value: usize,
    /// Largest inline value of one variable (`dmrpp:compact`, inflated `dmrpp:missingdata`).
    pub inline: u64,
    /// Largest sidecar [`read_dmrpp`] will fetch.
    pub sidecar: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { token: 64 << 20, attr_value: 1 << 20, inline: 64 << 20, sidecar: 2 << 30 }
    }
}

/// Parse a DMR++ document held in memory. `sidecar_url` is where it came from: it names the
/// sidecar in errors and gives the data URL when `dmrpp:href` is the placeholder or relative
/// (the sidecar's URL minus `.dmrpp`). ISO-8859-1 documents that are not valid UTF-8 are
/// transcoded first.
///
/// # Errors
/// Malformed or truncated XML, a root other than `<Dataset>`, DAP elements in impossible
/// places, an unknown entity, or a token over the size limits. Problems of single variables are
/// not errors: they are listed in [`GranuleManifest::problems`].
pub fn parse_dmrpp(xml: &[u8], sidecar_url: &str) -> Result<GranuleManifest, DmrppError> {
    parse_dmrpp_with(xml, sidecar_url, Limits::default())
}

/// [`parse_dmrpp`] with explicit [`Limits`].
///
/// # Errors
/// As [`parse_dmrpp`].
pub fn parse_dmrpp_with(xml: &[u8], sidecar_url: &str, limits: Limits) -> Result<GranuleManifest, DmrppError> {
    match parse::parse_slice(xml, sidecar_url, limits) {
        // The parser refuses bytes that are not UTF-8 wherever it reads them, so a document it
        // accepts without being valid UTF-8 has such bytes only where nothing is read
        // (comments, DOCTYPE), and transcoding would give the same manifest.
        Err(_) if std::str::from_utf8(xml).is_err() => {
            // build_dmrpp declares ISO-8859-1: every byte is one code point.
            let text: String = xml.iter().map(|&b| char::from(b)).collect();
            parse::parse_slice(text.as_bytes(), sidecar_url, limits)
        }
        result => result,
    }
}

/// Parse a DMR++ document from a buffered reader (UTF-8), e.g. a file or a decompressing
/// stream, without holding the document in memory.
///
/// # Errors
/// As [`parse_dmrpp`], plus read errors (reported as XML errors at the line reached).
pub fn parse_dmrpp_reader<R: BufRead>(
    reader: R,
    sidecar_url: &str,
    limits: Limits,
) -> Result<GranuleManifest, DmrppError> {
    parse::parse(reader, sidecar_url, limits)
}

/// Fetch a whole sidecar through `source` and parse it; the sidecar's location is
/// `source.to_string()`.
///
/// # Errors
/// The sidecar cannot be read, is larger than [`Limits::sidecar`], or does not parse
/// (see [`parse_dmrpp`]).
pub async fn read_dmrpp(source: &dyn ByteSource) -> Result<GranuleManifest, DmrppError> {
    let file = source.to_string();
    let limits = Limits::default();
    let size = source.size().await.map_err(|e| DmrppError::Source { file: file.clone(), source: Box::new(e) })?;
    if size > limits.sidecar {
        return Err(DmrppError::TooLarge { file, line: 0, what: "the sidecar".into(), limit: limits.sidecar });
    }
    let parts = if size == 0 {
        Vec::new()
    } else {
        let whole = 0..size;
        source
            .get_ranges(std::slice::from_ref(&whole))
            .await
            .map_err(|e| DmrppError::Source { file: file.clone(), source: Box::new(e) })?
    };
    match parts.as_slice() {
        [] => parse_dmrpp_with(&[], &file, limits),
        // The usual case: parse the fetched buffer in place.
        [one] => parse_dmrpp_with(one, &file, limits),
        _ => parse_dmrpp_with(&parts.concat(), &file, limits),
    }
}
