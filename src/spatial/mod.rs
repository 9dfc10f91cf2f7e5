//! TEMPORARY interface stub (replaced by the spatial work on branch wip/spatial).
#![allow(missing_docs, dead_code, unused_variables)]

use std::ops::Range;

use crate::manifest::GranuleManifest;
use crate::source::ByteSource;

#[derive(Debug, thiserror::Error)]
#[error("spatial: {0}")]
pub struct SpatialError(pub String);

#[derive(Clone, Debug)]
pub struct GeoOptions {
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub time: Option<String>,
    pub h3_resolution: h3o::Resolution,
}

impl Default for GeoOptions {
    fn default() -> Self {
        GeoOptions { lat: None, lon: None, time: None, h3_resolution: h3o::Resolution::Seven }
    }
}

#[derive(Clone, Debug)]
pub struct GeolocatedGroup {
    pub group: String,
    pub latitude: String,
    pub longitude: String,
    pub time: Option<String>,
    pub rows: u64,
    pub arrays: Vec<String>,
}

pub fn find_geolocated_groups(m: &GranuleManifest, opts: &GeoOptions) -> Vec<GeolocatedGroup> {
    Vec::new()
}

pub struct Track {
    pub lat: Vec<f64>,
    pub lon: Vec<f64>,
    pub time: Option<Vec<f64>>,
}

pub async fn read_track(m: &GranuleManifest, g: &GeolocatedGroup, source: &dyn ByteSource) -> Result<Track, SpatialError> {
    Err(SpatialError("not implemented".into()))
}

#[derive(Clone, Debug)]
pub struct BBox {
    pub xmin: f64,
    pub ymin: f64,
    pub xmax: f64,
    pub ymax: f64,
}

#[derive(Clone, Debug)]
pub struct Footprint {
    pub rows: Range<u64>,
    pub points: u64,
    pub bbox: Option<BBox>,
    pub wkb: Option<Vec<u8>>,
    pub h3: Vec<u64>,
    pub time: Option<(f64, f64)>,
}

impl Track {
    pub fn footprint(&self, rows: Range<u64>, res: h3o::Resolution) -> Footprint {
        Footprint { rows, points: 0, bbox: None, wkb: None, h3: vec![], time: None }
    }
}
