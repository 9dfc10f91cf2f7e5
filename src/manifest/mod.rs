//! The manifest model: what vz knows about a granule, independent of where it came from.
//!
//! Both readers (`hdf5/` from the file's own metadata, `dmrpp/` from an OPeNDAP sidecar)
//! produce a [`GranuleManifest`]; every later stage (spatial tagging, GeoParquet, the Zarr
//! store, subsetting) consumes it. This module does no I/O.

mod array;
mod coords;
mod dtype;
mod granule;

pub use array::{
    AllocTime, ArrayMeta, Attribute, AttrValue, ChunkIndexKind, ChunkRef, ExternalFile, Fill, FillDefined,
    FillTime, Filter, Layout,
};
pub use coords::Coords;
pub use dtype::{ByteOrder, CompoundMember, Datatype, EnumMember, ReferenceKind, Scalar, StringCharset, StringPadding};
pub use granule::{GranuleManifest, GroupMeta, LinkMeta, LinkTarget, Problem, SourceKind};
