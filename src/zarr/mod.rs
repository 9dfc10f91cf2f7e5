//! The virtual Zarr v3 view of granule manifests: array metadata (`zarr.json`) from HDF5 types and
//! filter pipelines, and a read-only store whose chunk keys are byte ranges of the original files,
//! usable through zarrs' storage traits.

mod metadata;
mod store;
mod traits;

pub use metadata::{array_metadata, data_type, ZarrError};
pub(crate) use metadata::{check_layout, fill_bytes, float_json, numcodecs_filters, scalar_json, scale_names, user_attributes};
pub use store::{Prefetched, StoreError, StoreGranule, VirtualStore};
