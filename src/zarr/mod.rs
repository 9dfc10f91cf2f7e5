//! The virtual Zarr v3 view of a manifest: array metadata (`zarr.json`) from HDF5 types and
//! filter pipelines. The store serving chunk bytes through these keys comes with issue 5.

mod metadata;

pub use metadata::{array_metadata, data_type, ZarrError};
pub(crate) use metadata::{check_layout, float_json, numcodecs_filters, scalar_json, scale_names, user_attributes};
