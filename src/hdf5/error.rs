//! Errors of the HDF5 reader.

use std::ops::Range;

use crate::source::SourceError;

/// Why an HDF5 file could not be read. Every variant names the file; format errors name the
/// structure and its address, so a corrupt file can be examined with a hex editor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Hdf5Error {
    /// No HDF5 signature at offset 0, 512, 1024, ...
    #[error("{file}: not an HDF5 file (no format signature found)")]
    NotHdf5 { file: String },
    /// A structure is malformed, truncated, or points outside the file.
    #[error("{file}: {structure} at byte {address}: {detail}")]
    Format { file: String, structure: &'static str, address: u64, detail: String },
    /// A structure uses a feature vz does not read.
    #[error("{file}: {structure} at byte {address}: unsupported: {detail}")]
    Unsupported { file: String, structure: &'static str, address: u64, detail: String },
    /// The bytes could not be fetched.
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Internal result of parsing against the cache: either a value, a request for more bytes
/// (the walker fetches them and runs the step again), or a real error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// The bytes in this absolute range are not in the cache yet.
    Need(Range<u64>),
    /// Malformed input.
    Format { structure: &'static str, address: u64, detail: String },
    /// Valid HDF5 that vz does not handle.
    Unsupported { structure: &'static str, address: u64, detail: String },
}

/// Result of a parse step.
pub(crate) type Parse<T> = Result<T, Fault>;

/// A format error at `address` in `structure`.
pub(crate) fn bad<T>(structure: &'static str, address: u64, detail: impl Into<String>) -> Parse<T> {
    Err(Fault::Format { structure, address, detail: detail.into() })
}

/// An unsupported-feature error at `address` in `structure`.
pub(crate) fn unsupported<T>(structure: &'static str, address: u64, detail: impl Into<String>) -> Parse<T> {
    Err(Fault::Unsupported { structure, address, detail: detail.into() })
}

impl Fault {
    /// Attach the file name; `Need` never escapes the walker, but is mapped defensively.
    pub(crate) fn into_error(self, file: &str) -> Hdf5Error {
        let file = file.to_string();
        match self {
            Fault::Need(r) => Hdf5Error::Format {
                file,
                structure: "walker",
                address: r.start,
                detail: format!("bytes {}..{} were still missing at the end of the walk", r.start, r.end),
            },
            Fault::Format { structure, address, detail } => Hdf5Error::Format { file, structure, address, detail },
            Fault::Unsupported { structure, address, detail } => {
                Hdf5Error::Unsupported { file, structure, address, detail }
            }
        }
    }

    /// A one-line description without the file name (for per-object problems).
    pub(crate) fn describe(&self) -> String {
        match self {
            Fault::Need(r) => format!("bytes {}..{} missing", r.start, r.end),
            Fault::Format { structure, address, detail } => format!("{structure} at byte {address}: {detail}"),
            Fault::Unsupported { structure, address, detail } => {
                format!("{structure} at byte {address}: unsupported: {detail}")
            }
        }
    }
}
