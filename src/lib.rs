//! vz: HDF5 granules as a spatially indexed, virtual Zarr dataset.
//!
//! Modules: [`source`] byte access, [`hdf5`] the native metadata reader, [`manifest`] the shared
//! model every stage speaks.

pub mod catalog;
pub mod cli;
pub mod codec;
pub mod dmrpp;
pub mod hdf5;
pub mod index;
pub mod kerchunk;
pub mod manifest;
pub mod serve;
pub mod source;
pub mod spatial;
pub mod subset;
pub mod zarr;
