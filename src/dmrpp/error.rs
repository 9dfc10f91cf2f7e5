//! Errors of the DMR++ reader. Problems confined to one variable are not errors: they go into
//! [`crate::manifest::GranuleManifest::problems`] and the rest of the sidecar is still read.

use crate::source::SourceError;

/// Why a DMR++ sidecar could not be read. Every variant names the sidecar; errors found while
/// parsing also carry the 1-based line where the offending element starts (or where the
/// document was cut off).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DmrppError {
    /// The XML itself is malformed: truncated, wrongly nested, bad syntax, unknown entity.
    #[error("{file}: line {line}: malformed XML: {detail}")]
    Xml { file: String, line: u64, detail: String },
    /// Well-formed XML that is not a DMR++ document (wrong root, elements in impossible places).
    #[error("{file}: line {line}: not a valid DMR++ document: {detail}")]
    Format { file: String, line: u64, detail: String },
    /// A size bound was exceeded (one XML token, the whole sidecar); the input is refused rather
    /// than buffered.
    #[error("{file}: line {line}: {what} is larger than the limit of {limit} bytes")]
    TooLarge { file: String, line: u64, what: String, limit: u64 },
    /// The sidecar's bytes could not be fetched.
    #[error("{file}: cannot read the DMR++ sidecar")]
    Source {
        file: String,
        #[source]
        source: Box<SourceError>,
    },
}
