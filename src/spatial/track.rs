//! The coordinates of a geolocated group's rows, read natively in one round trip.

use std::ops::Range;

use super::{GeolocatedGroup, SpatialError};
use crate::codec::read_many_rows_f64;
use crate::manifest::{ArrayMeta, ChunkRef, GranuleManifest};
use crate::source::ByteSource;

/// Latitude, longitude and time of every row of a group; NaN marks a missing value (fill or unallocated).
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    /// Latitude, degrees north.
    pub lat: Vec<f64>,
    /// Longitude, degrees east.
    pub lon: Vec<f64>,
    /// Time, in the units of the group's time array.
    pub time: Option<Vec<f64>>,
}

/// Read the latitude, longitude and time arrays of `g`: all their chunks in one `get_ranges` call.
///
/// # Errors
/// [`SpatialError::MissingArray`] when a named array is not in `m`; [`SpatialError::Codec`] when its
/// chunks cannot be fetched or decoded.
pub async fn read_track(m: &GranuleManifest, g: &GeolocatedGroup, source: &dyn ByteSource) -> Result<Track, SpatialError> {
    let get = |p: &str| m.array(p).ok_or_else(|| SpatialError::MissingArray(p.to_string()));
    let mut arrays = vec![get(&g.latitude)?, get(&g.longitude)?];
    if let Some(t) = &g.time {
        arrays.push(get(t)?);
    }
    let mut values = read_many_rows_f64(&arrays, source, 0..g.rows).await?.into_iter();
    let (lat, lon) = (values.next().unwrap_or_default(), values.next().unwrap_or_default());
    Ok(Track { lat, lon, time: values.next() })
}

/// The rows a chunk of `array` covers along the first dimension, clipped to the array's length.
pub fn chunk_rows(array: &ArrayMeta, chunk: &ChunkRef) -> Range<u64> {
    let len = array.shape.first().copied().unwrap_or(0);
    let c = array.chunk_shape.first().copied().unwrap_or(0);
    let k = chunk.coords.first().copied().unwrap_or(0);
    let start = k.saturating_mul(c).min(len);
    start..start.saturating_add(c).min(len)
}
