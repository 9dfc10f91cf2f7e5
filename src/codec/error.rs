//! Errors of chunk decoding and row reading, naming the array and the chunk concerned.

use crate::source::SourceError;

/// Why a chunk could not be decoded or rows could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The pipeline holds a filter vz does not decode natively (szip, nbit, scaleoffset, blosc, ...).
    #[error("{path} chunk {coords:?}: filter {id} ({name}) is not supported")]
    UnsupportedFilter { path: String, coords: Vec<u64>, id: u16, name: String },
    /// The stored bytes are not what the pipeline says (bad zlib stream, checksum mismatch, truncation).
    #[error("{path} chunk {coords:?}: {reason}")]
    Corrupt { path: String, coords: Vec<u64>, reason: String },
    /// Decoding produced more bytes than a full chunk can hold (a zip bomb or a wrong manifest).
    #[error("{path} chunk {coords:?}: decoded size exceeds the chunk size of {limit} bytes")]
    TooLarge { path: String, coords: Vec<u64>, limit: u64 },
    /// The element type cannot be converted to numbers.
    #[error("{path}: element type {dtype} cannot be read as numbers")]
    UnsupportedType { path: String, dtype: String },
    /// The array's layout or shape does not allow reading rows through byte ranges.
    #[error("{path}: {reason}")]
    Unreadable { path: String, reason: String },
    /// Fetching bytes failed.
    #[error("{path}: {source}")]
    Source {
        path: String,
        #[source]
        source: Box<SourceError>,
    },
}
