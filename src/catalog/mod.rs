//! The GeoParquet catalog: manifests as three tables that DuckDB, geopandas and Spark read.
//!
//! Per granule, one Parquet file in each of `granules/`, `arrays/` and `chunks/` under the
//! catalog root (so re-indexing a granule replaces exactly its files, and DuckDB reads a table
//! as `'<root>/chunks/*.parquet'`). `granules` and `chunks` are GeoParquet 1.1 (WKB geometry,
//! CRS84, `bbox` covering column); the schema is documented in docs/manifest-schema.md.
//!
//! A [`CatalogEntry`] becomes Parquet bytes (`encode`) and back (`decode`); [`CatalogStore`]
//! puts and gets those files under the catalog root. Beside them, `subset-index/` holds each
//! granule's entry in a compact binary layout (`subset_index`) for `vz subset`'s fast read.

mod decode;
mod encode;
mod entry;
mod store;
mod subset_index;
mod time;

pub use decode::{decode_entry, decode_entry_selected, CatalogReadError, Selection};
pub use encode::{encode_arrays, encode_chunks, encode_granule, CatalogError, CatalogFile};
pub(crate) use encode::{micros, utc, wkb_field, WriteFailure};
pub use store::{CatalogStore, PreviousEntry};
pub use subset_index::{decode_subset_index, encode_subset_index, SUBSET_INDEX};
pub use entry::{CatalogEntry, ChunkSpatial, GeolocationInfo, GranuleInfo};
pub use time::TimeUnits;

/// Table directory names under the catalog root.
pub const TABLES: [&str; 3] = ["granules", "arrays", "chunks"];

/// Version of the catalog layout, stored in every file's key-value metadata.
pub const CATALOG_VERSION: &str = "2";
