//! The native HDF5 metadata reader: superblock, object headers, groups and chunk indexes,
//! read through [`crate::source::ByteSource`] without libhdf5 (HDF5 File Format Specification 3.0).

mod btree_v2;
pub(crate) mod cache;
mod checksum;
mod chunk_element;
mod chunk_index;
pub(crate) mod cursor;
mod dense;
pub(crate) mod error;
mod fractal_heap;
#[cfg(test)]
mod testutil;

pub use error::Hdf5Error;
mod global_heap;
mod local_heap;
mod messages;
mod object;
mod object_header;
mod superblock;
mod symbol_table;
mod walk;

pub use walk::{read_manifest, read_manifest_bytes, ReadOptions};
