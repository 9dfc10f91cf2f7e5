//! Errors of spatial tagging and of reading areas of interest.

use crate::codec::CodecError;

/// Why a track could not be read or an area of interest is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SpatialError {
    /// A coordinate array named by a [`crate::spatial::GeolocatedGroup`] is not in the manifest.
    #[error("{0}: array not found in the manifest")]
    MissingArray(String),
    /// Reading or decoding coordinate values failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The GeoJSON text is not JSON.
    #[error("area of interest: not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The GeoJSON is JSON but not an accepted area of interest.
    #[error("area of interest: {0}")]
    InvalidAoi(String),
}
