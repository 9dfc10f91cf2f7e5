//! vz: HDF5 granules as a spatially indexed, virtual Zarr dataset.
//!
//! Modules: [`source`] byte access, [`hdf5`] the native metadata reader, [`manifest`] the shared
//! model every stage speaks.

pub mod cli;
pub mod hdf5;
pub mod manifest;
pub mod source;
