//! What one granule contributes to the catalog.

use std::collections::HashMap;
use std::ops::Range;

use crate::manifest::GranuleManifest;
use crate::spatial::BBox;

/// Where on Earth and when the rows of one chunk lie.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChunkSpatial {
    /// Rows (first dimension) the chunk covers, clipped to the array length.
    pub rows: Range<u64>,
    /// Valid (non-fill) geolocated points in those rows.
    pub points: u64,
    /// WKB geometry of the rows (LineString / MultiLineString / Point), CRS84.
    pub wkb: Option<Vec<u8>>,
    /// H3 cells of every valid point.
    pub h3: Vec<u64>,
    /// First and last time, as Unix seconds (UTC).
    pub time: Option<(f64, f64)>,
    /// Box of each run of [`ROW_BOX_ROWS`](crate::spatial::ROW_BOX_ROWS) rows (`None`: no valid
    /// point). vz's own accelerator for `vz subset`: kept in the subset index beside the H3 cells
    /// and track, not in the Parquet tables, whose readers get an empty list.
    pub row_boxes: Vec<Option<BBox>>,
}

/// One geolocated group of the granule.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeolocationInfo {
    /// Group path.
    pub group: String,
    /// Latitude array path.
    pub latitude: String,
    /// Longitude array path.
    pub longitude: String,
    /// Time array path, if any.
    pub time: Option<String>,
    /// Rows of the group's 1-D arrays.
    pub rows: u64,
}

/// Facts about the granule file itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GranuleInfo {
    /// Stable id: the file name without extension.
    pub id: String,
    /// Entity tag from the store, if any (re-index detection).
    pub etag: Option<String>,
    /// Last modification, Unix milliseconds, if known.
    pub last_modified_ms: Option<i64>,
}

/// A granule's manifest plus its spatial tagging: everything the catalog stores about it.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogEntry {
    /// File facts.
    pub info: GranuleInfo,
    /// The manifest (either reader).
    pub manifest: GranuleManifest,
    /// Geolocated groups found.
    pub geolocation: Vec<GeolocationInfo>,
    /// Per array path: the group it belongs to and, aligned with `ArrayMeta::chunks`, each
    /// chunk's spatial extent.
    pub spatial: HashMap<String, (String, Vec<ChunkSpatial>)>,
    /// Footprint of the whole granule (WKB), if geolocated.
    pub footprint: Option<Vec<u8>>,
    /// Time range of the whole granule (Unix seconds).
    pub time: Option<(f64, f64)>,
    /// H3 resolution of the `h3` columns.
    pub h3_resolution: u8,
}
