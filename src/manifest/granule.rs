//! A whole granule: its arrays, groups, links and the problems met while reading it.

use serde::{Deserialize, Serialize};

use super::{ArrayMeta, Attribute};

/// Where a manifest came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Read from the HDF5 file's own metadata.
    Hdf5,
    /// Read from a DMR++ sidecar.
    Dmrpp,
}

/// A group and its attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupMeta {
    /// Absolute path (`/` for the root group).
    pub path: String,
    /// Attributes, in the order stored.
    pub attributes: Vec<Attribute>,
}

/// What a link that is not a plain first hard link points to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkTarget {
    /// A soft link: a path in the same file (not followed).
    Soft { target: String },
    /// An external link: a path in another file (not followed).
    External { file: String, target: String },
    /// A second hard link to an object already listed under `target`.
    Hard { target: String },
}

/// A link reported rather than followed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkMeta {
    /// Path of the link itself.
    pub path: String,
    /// What it points to.
    #[serde(flatten)]
    pub target: LinkTarget,
}

/// Something vz could not represent or read, with where and why. The rest of the granule is still listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Path of the object concerned (`/` for the file as a whole).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Everything vz knows about one granule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GranuleManifest {
    /// Where the granule's bytes are (local path or URL).
    pub url: String,
    /// File size in bytes.
    pub size: u64,
    /// Which reader produced this manifest.
    pub source: SourceKind,
    /// Groups in path order.
    pub groups: Vec<GroupMeta>,
    /// Arrays in path order.
    pub arrays: Vec<ArrayMeta>,
    /// Soft, external and duplicate hard links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkMeta>,
    /// Problems met; an empty list means everything was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

impl GranuleManifest {
    /// The array at `path`, if listed.
    pub fn array(&self, path: &str) -> Option<&ArrayMeta> {
        self.arrays.iter().find(|a| a.path == path)
    }

    /// Total number of stored chunks over all arrays.
    pub fn chunk_count(&self) -> usize {
        self.arrays.iter().map(|a| a.chunks.len()).sum()
    }
}
