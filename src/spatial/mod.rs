//! Spatial tagging of geolocated arrays (issue 4): which groups carry latitude/longitude, the track
//! of their rows, and per-chunk footprints (bbox, WKB geometry, H3 cells, time range) that an area of
//! interest ([`Aoi`]) is matched against later. Rules and their reasons: `docs/spatial.md`.
//!
//! Coordinates are OGC:CRS84 (longitude, latitude in degrees, WGS 84). H3 cells come from `h3o`.

mod aoi;
mod cells;
mod error;
mod footprint;
mod groups;
pub mod line;
mod lon_range;
mod track;
pub mod wkb;

pub use aoi::Aoi;
pub use error::SpatialError;
pub use footprint::{BBox, Footprint, GAP_KM, ROW_BOX_ROWS, SIMPLIFY_TOLERANCE_DEG};
pub use groups::{find_geolocated_groups, GeoOptions, GeolocatedGroup};
pub use track::{chunk_rows, read_track, Track};
