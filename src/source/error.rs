use std::ops::Range;

/// A failure to reach or read a granule's bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The location could not be understood.
    #[error("{location}: not a path or a file://, s3://, http:// or https:// URL: {reason}")]
    BadLocation { location: String, reason: String },
    /// The store could not be configured (credentials, endpoint).
    #[error("{location}: cannot configure the store")]
    Config {
        location: String,
        #[source]
        source: object_store::Error,
    },
    /// The object does not exist.
    #[error("{location}: not found")]
    NotFound {
        location: String,
        #[source]
        source: object_store::Error,
    },
    /// A read failed after retries.
    #[error("{location}: cannot read bytes {}..{}", range.start, range.end)]
    Read {
        location: String,
        range: Range<u64>,
        #[source]
        source: object_store::Error,
    },
    /// A write (catalog file, exported sidecar) failed.
    #[error("{location}: cannot write")]
    Write {
        location: String,
        #[source]
        source: object_store::Error,
    },
    /// Metadata (size) could not be read.
    #[error("{location}: cannot read object metadata")]
    Head {
        location: String,
        #[source]
        source: object_store::Error,
    },
    /// A range outside the file was asked for.
    #[error("{location}: range {}..{} is outside the file ({size} bytes)", range.start, range.end)]
    OutOfBounds { location: String, range: Range<u64>, size: u64 },
}
