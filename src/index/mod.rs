//! `vz index`: granules → manifests with per-chunk footprints → the GeoParquet catalog.
//!
//! Granules are indexed concurrently under a bound; each one is read (HDF5 header), its
//! geolocated groups found, only the latitude/longitude/time chunks decoded, every chunk of
//! every array in those groups tagged with the extent of its rows, and three Parquet files
//! written atomically (granules last: it marks the granule as done). A granule already in the
//! catalog with the same size and ETag is skipped. One bad granule is reported and the others
//! are indexed.

mod granule;
mod list;
mod wkb;

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

pub use granule::{granule_id, read_granule, ReadError};
pub use list::read_granule_list;

use crate::hdf5::ReadOptions;
use crate::source::{SourceOptions, StatsSnapshot};
use crate::spatial::GeoOptions;

/// Why indexing could not start (per-granule failures are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The granule list could not be read.
    #[error("{path}: cannot read the granule list")]
    List {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The catalog location is unusable.
    #[error(transparent)]
    Catalog(#[from] crate::source::SourceError),
}

/// Whether to read chunk manifests from DMR++ sidecars (`<granule>.dmrpp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DmrppMode {
    /// Use the sidecar when it exists, else the HDF5 header.
    #[default]
    Auto,
    /// Always read the HDF5 header.
    Never,
    /// Require the sidecar; a granule without one fails.
    Only,
}

/// How to index.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Catalog root: a directory or an object-store URL prefix (`s3://bucket/manifests/`).
    pub output: String,
    /// Granules indexed at once.
    pub concurrency: usize,
    /// Re-index granules even when the catalog has them unchanged.
    pub force: bool,
    /// DMR++ sidecar use.
    pub dmrpp: DmrppMode,
    /// Geolocation and H3 settings.
    pub geo: GeoOptions,
    /// How to reach granules and the catalog.
    pub source: SourceOptions,
    /// How to walk HDF5 metadata.
    pub read: ReadOptions,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            output: "manifests".to_string(),
            concurrency: 4,
            force: false,
            dmrpp: DmrppMode::Auto,
            geo: GeoOptions::default(),
            source: SourceOptions::default(),
            read: ReadOptions::default(),
        }
    }
}

/// What happened to one granule.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum GranuleOutcome {
    /// Indexed and written.
    Indexed {
        location: String,
        granule: String,
        arrays: usize,
        chunks: usize,
        /// Chunks that received a footprint.
        tagged_chunks: usize,
        /// Geolocated groups found.
        groups: usize,
        /// Objects in the granule that could not be read or represented.
        problems: Vec<String>,
        seconds: f64,
        io: StatsSnapshot,
    },
    /// Already in the catalog with the same size and ETag.
    Skipped { location: String, granule: String },
    /// Could not be indexed.
    Failed { location: String, error: String },
}

impl GranuleOutcome {
    /// Whether the granule failed.
    pub fn is_failure(&self) -> bool {
        matches!(self, GranuleOutcome::Failed { .. })
    }
}

/// The result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct IndexReport {
    /// Catalog root.
    pub output: String,
    /// Per granule, in completion order.
    pub granules: Vec<GranuleOutcome>,
    /// Wall time.
    pub seconds: f64,
    /// Reads of the indexed granules, summed over them (round trips too: granules indexed at
    /// once overlap theirs). Catalog reads and writes and sidecar probes are not counted.
    pub io: StatsSnapshot,
}

impl IndexReport {
    /// Counts of (indexed, skipped, failed).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for g in &self.granules {
            match g {
                GranuleOutcome::Indexed { .. } => c.0 += 1,
                GranuleOutcome::Skipped { .. } => c.1 += 1,
                GranuleOutcome::Failed { .. } => c.2 += 1,
            }
        }
        c
    }
}

/// Index `locations` into the catalog at `opts.output`; `progress` is called as each granule ends.
///
/// # Errors
/// Only when the catalog location itself is unusable; granule failures are in the report.
pub async fn index_granules(
    locations: &[String],
    opts: &IndexOptions,
    progress: &(dyn Fn(&GranuleOutcome) + Sync),
) -> Result<IndexReport, IndexError> {
    let started = Instant::now();
    let catalog = Arc::new(crate::catalog::CatalogStore::open(&opts.output, &opts.source)?);
    let shared_opts = Arc::new(opts.clone());
    let ids = granule::duplicate_ids(locations);
    let granules: Vec<GranuleOutcome> = futures::stream::iter(locations.iter())
        .map(|location| {
            let ids = &ids;
            let (catalog, opts) = (Arc::clone(&catalog), Arc::clone(&shared_opts));
            async move {
                let outcome = match ids.get(location.as_str()) {
                    Some(other) => GranuleOutcome::Failed {
                        location: location.clone(),
                        error: format!("granule id {} is also used by {other}; ids must be unique", granule_id(location)),
                    },
                    // Each granule is its own task: decoding its track (inflate) then runs on any
                    // runtime thread instead of all granules sharing the one driving this stream.
                    None => {
                        let owned = location.clone();
                        tokio::spawn(async move { granule::index_one(&owned, &opts, &catalog).await })
                            .await
                            .unwrap_or_else(|e| GranuleOutcome::Failed {
                                location: location.clone(),
                                error: format!("indexing stopped: {e}"),
                            })
                    }
                };
                progress(&outcome);
                outcome
            }
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    let io = granules
        .iter()
        .filter_map(|g| match g {
            GranuleOutcome::Indexed { io, .. } => Some(*io),
            _ => None,
        })
        .sum();
    Ok(IndexReport { output: catalog.to_string(), granules, seconds: started.elapsed().as_secs_f64(), io })
}
