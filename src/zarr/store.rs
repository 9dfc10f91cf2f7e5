//! The virtual Zarr v3 store: a read-only key space over granule manifests whose chunk keys are
//! byte ranges of the original HDF5 files.
//!
//! Layout: `zarr.json` (root group) → `<granule>/zarr.json` → one node per HDF5 group and array,
//! e.g. `ATL06_…/gt1l/land_ice_segments/h_li/zarr.json` and its chunks `…/h_li/c/3` (default chunk
//! key encoding, `/` separator). Chunk values are the stored bytes, with two adjustments Zarr's one
//! codec chain per array needs:
//! - a trailing fletcher32 is verified here and cut off (its codec is left out of the metadata):
//!   zarrs' `numcodecs.fletcher32` mishandles odd-length chunks (zarrs issue 460) and few Zarr
//!   clients implement it at all;
//! - a chunk whose filter mask skipped filters is decoded and re-encoded with the full chain.
//!
//! Arrays whose type has no Zarr data type are not listed (see [`VirtualStore::problems`]). Arrays
//! with a filter or layout Zarr cannot decode are listed, but reading a chunk of them is an error
//! naming the filter — so the hierarchy always opens.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::metadata::{array_skeleton, bytes_codec, codecs};
use crate::codec::{decode_chunk, encode_chunk, CodecError};
use crate::manifest::{ArrayMeta, Attribute, ChunkRef, GranuleManifest, Problem};
use crate::source::{self, ByteSource, SourceError, SourceOptions, StatsSnapshot};

/// Why a key could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The array exists but Zarr cannot decode it (filter without a Zarr codec, external storage…).
    #[error("cannot be read as Zarr: {reason}")]
    Unreadable { path: String, reason: String },
    /// The chunk bytes are damaged (checksum mismatch, bad stream) or could not be re-encoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The granule's bytes could not be fetched.
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// How the chunks of an array are served.
#[derive(Clone, Debug)]
enum Serving {
    /// Stored bytes; `strip_checksum` when the pipeline ends in fletcher32.
    Stored { strip_checksum: bool },
    /// The array's bytes are in the manifest (compact layout, DMR++ values): one chunk.
    Inline,
    /// Every chunk read fails with this reason.
    Unreadable(String),
}

#[derive(Clone, Debug)]
enum Node {
    Group {
        metadata: Bytes,
    },
    Array {
        metadata: Bytes,
        granule: usize,
        array: usize,
        serving: Serving,
    },
}

/// One granule of the store: its id (the top-level group name) and manifest.
#[derive(Clone, Debug)]
pub struct StoreGranule {
    /// Catalog id, e.g. `ATL06_20200325234244_07640603_006_01`.
    pub id: String,
    /// Its manifest.
    pub manifest: GranuleManifest,
}

/// What [`VirtualStore::prefetch`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prefetched {
    /// Chunks fetched.
    pub chunks: u64,
    /// Their stored bytes.
    pub bytes: u64,
}

/// The read-only virtual Zarr v3 store over a set of granule manifests.
pub struct VirtualStore {
    granules: Vec<StoreGranule>,
    nodes: BTreeMap<String, Node>,
    problems: Vec<Problem>,
    options: SourceOptions,
    sources: Mutex<HashMap<String, Arc<dyn ByteSource>>>,
    prefetched: Mutex<HashMap<String, Bytes>>,
}

fn group_metadata(attributes: &[Attribute], extra: Option<(&str, Value)>) -> Bytes {
    let attrs: Map<String, Value> = attributes
        .iter()
        .map(|a| (a.name.clone(), a.value.clone()))
        .collect();
    let mut meta = json!({"zarr_format": 3, "node_type": "group", "attributes": attrs});
    if let Some((k, v)) = extra {
        meta["attributes"][k] = v;
    }
    Bytes::from(meta.to_string())
}

/// How the chunks of `a` are served, and the codecs its metadata must list for that.
fn serving(a: &ArrayMeta) -> (Serving, Vec<Value>) {
    match codecs(a) {
        Err(problem) => (
            Serving::Unreadable(problem.to_string()),
            vec![bytes_codec(a)],
        ),
        Ok(_) if a.inline.is_some() => (Serving::Inline, vec![bytes_codec(a)]),
        Ok(mut codecs) => {
            let strip_checksum = a.filters.last().is_some_and(|f| f.id == 3);
            if strip_checksum {
                codecs.pop();
            }
            (Serving::Stored { strip_checksum }, codecs)
        }
    }
}

impl VirtualStore {
    /// Build the key space of `granules` (nothing is fetched until a chunk is read).
    pub fn new(granules: Vec<StoreGranule>, options: SourceOptions) -> VirtualStore {
        let mut nodes = BTreeMap::new();
        let mut problems = Vec::new();
        let ids: Vec<Value> = granules.iter().map(|g| json!(g.id)).collect();
        nodes.insert(
            String::new(),
            Node::Group {
                metadata: group_metadata(&[], Some(("vz_granules", Value::Array(ids)))),
            },
        );
        for (gi, g) in granules.iter().enumerate() {
            let base = g.id.clone();
            let mut groups: BTreeMap<String, &[Attribute]> = BTreeMap::new();
            groups.insert(base.clone(), &[]);
            for grp in &g.manifest.groups {
                groups.insert(node_path(&base, &grp.path), &grp.attributes);
            }
            for (ai, a) in g.manifest.arrays.iter().enumerate() {
                let path = node_path(&base, &a.path);
                // Intermediate groups an array implies, even if the manifest did not list them.
                let mut parent = path.as_str();
                while let Some((p, _)) = parent.rsplit_once('/') {
                    groups.entry(p.to_string()).or_insert(&[]);
                    parent = p;
                }
                let mut meta = match array_skeleton(a) {
                    Ok(m) => m,
                    Err(e) => {
                        problems.push(Problem {
                            path: format!("{}{}", g.id, a.path),
                            reason: e.to_string(),
                        });
                        continue;
                    }
                };
                let (serving, codecs) = serving(a);
                meta["codecs"] = Value::Array(codecs);
                if matches!(serving, Serving::Inline) {
                    let whole: Vec<u64> = a.shape.iter().map(|&n| n.max(1)).collect();
                    meta["chunk_grid"]["configuration"]["chunk_shape"] = json!(whole);
                }
                if let Serving::Unreadable(reason) = &serving {
                    meta["attributes"]["_vz_unreadable"] = json!(reason);
                }
                nodes.insert(
                    path,
                    Node::Array {
                        metadata: Bytes::from(meta.to_string()),
                        granule: gi,
                        array: ai,
                        serving,
                    },
                );
            }
            for (path, attrs) in groups {
                // An HDF5 group and an array of the same path cannot both exist; keep the array.
                nodes.entry(path).or_insert_with(|| Node::Group {
                    metadata: group_metadata(attrs, None),
                });
            }
        }
        VirtualStore {
            granules,
            nodes,
            problems,
            options,
            sources: Mutex::new(HashMap::new()),
            prefetched: Mutex::new(HashMap::new()),
        }
    }

    /// The granules of the store.
    pub fn granules(&self) -> &[StoreGranule] {
        &self.granules
    }

    /// Arrays left out of the hierarchy (no Zarr data type), with the reason.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Node paths (no leading `/`): `""` for the root, then groups and arrays.
    pub fn node_paths(&self) -> impl Iterator<Item = (&str, bool)> {
        self.nodes
            .iter()
            .map(|(p, n)| (p.as_str(), matches!(n, Node::Array { .. })))
    }

    /// The `zarr.json` bytes of a node.
    pub fn metadata(&self, node: &str) -> Option<&Bytes> {
        match self.nodes.get(node)? {
            Node::Group { metadata } | Node::Array { metadata, .. } => Some(metadata),
        }
    }

    /// The store path of an HDF5 object of a granule: `/ATL06_…/gt1l/land_ice_segments/h_li`.
    pub fn array_path(granule: &str, hdf5_path: &str) -> String {
        format!("/{}", node_path(granule, hdf5_path))
    }

    /// The chunk key of chunk `coords` of the array at node path `node`.
    pub fn chunk_key(node: &str, coords: &[u64]) -> String {
        let mut key = format!("{node}/c");
        for c in coords {
            key.push('/');
            key.push_str(&c.to_string());
        }
        key
    }

    /// Every key of the store, sorted: node metadata and stored chunks.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.stored_sizes().map(|(k, _)| k).collect();
        keys.sort();
        keys
    }

    /// Every key with its size as stored (metadata length, compressed chunk length).
    pub(crate) fn stored_sizes(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.nodes.iter().flat_map(move |(path, node)| {
            let (meta_key, metadata) = match node {
                Node::Group { metadata } | Node::Array { metadata, .. } => (
                    if path.is_empty() {
                        "zarr.json".to_string()
                    } else {
                        format!("{path}/zarr.json")
                    },
                    metadata,
                ),
            };
            let mut entries = vec![(meta_key, metadata.len() as u64)];
            if let Node::Array {
                granule,
                array,
                serving,
                ..
            } = node
            {
                let a = &self.granules[*granule].manifest.arrays[*array];
                match serving {
                    Serving::Inline => entries.push((
                        Self::chunk_key(path, &vec![0; a.shape.len()]),
                        a.inline.as_ref().map_or(0, |b| b.len() as u64),
                    )),
                    _ => entries.extend(
                        a.chunks
                            .iter()
                            .map(|c| (Self::chunk_key(path, &c.coords), c.length)),
                    ),
                }
            }
            entries
        })
    }

    /// Request, byte and round-trip counters summed over every file read so far.
    pub fn stats(&self) -> StatsSnapshot {
        let sources = self
            .sources
            .lock()
            .map(|s| s.values().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        sources.iter().map(|s| s.stats().snapshot()).sum()
    }

    /// What a key names: node metadata, a chunk of an array, or nothing.
    fn resolve(&self, key: &str) -> Option<Resolved<'_>> {
        if key == "zarr.json" {
            return self.metadata("").map(Resolved::Metadata);
        }
        if let Some(node) = key.strip_suffix("/zarr.json") {
            return self.metadata(node).map(Resolved::Metadata);
        }
        // `<array>/c` or `<array>/c/i/j…`; an array may itself be named `c`, so try each split.
        let segments: Vec<&str> = key.split('/').collect();
        for at in (1..segments.len()).rev() {
            if segments[at] != "c" {
                continue;
            }
            let node_path = segments[..at].join("/");
            let Some(Node::Array {
                granule,
                array,
                serving,
                ..
            }) = self.nodes.get(&node_path)
            else {
                continue;
            };
            let a = &self.granules[*granule].manifest.arrays[*array];
            // Canonical decimal only (`3`, not `03` or `+3`): one key per chunk.
            let coords: Option<Vec<u64>> = segments[at + 1..]
                .iter()
                .map(|s| s.parse().ok().filter(|n: &u64| n.to_string() == *s))
                .collect();
            let coords = coords.filter(|c| c.len() == a.shape.len())?;
            return Some(Resolved::Chunk {
                granule: *granule,
                array: a,
                serving,
                coords,
            });
        }
        None
    }

    fn source(&self, url: &str) -> Result<Arc<dyn ByteSource>, SourceError> {
        let mut sources = self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = sources.get(url) {
            return Ok(s.clone());
        }
        let s: Arc<dyn ByteSource> = Arc::from(source::open(url, &self.options)?);
        sources.insert(url.to_string(), s.clone());
        Ok(s)
    }

    /// The value of `key`: `None` when the store has no such key (an unstored chunk reads as the
    /// fill value).
    ///
    /// # Errors
    /// When the array cannot be decoded as Zarr, the bytes cannot be fetched, or they are damaged.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        match self.resolve(key) {
            None => Ok(None),
            Some(Resolved::Metadata(m)) => Ok(Some(m.clone())),
            Some(Resolved::Chunk {
                granule,
                array,
                serving,
                coords,
            }) => {
                let strip_checksum = match serving {
                    Serving::Unreadable(reason) => {
                        return Err(StoreError::Unreadable {
                            path: array.path.clone(),
                            reason: reason.clone(),
                        })
                    }
                    Serving::Inline => {
                        return Ok(coords
                            .iter()
                            .all(|&c| c == 0)
                            .then(|| Bytes::from(array.inline.clone().unwrap_or_default())))
                    }
                    Serving::Stored { strip_checksum } => *strip_checksum,
                };
                let Ok(i) = array
                    .chunks
                    .binary_search_by(|c| c.coords.as_slice().cmp(&coords))
                else {
                    return Ok(None);
                };
                let chunk = &array.chunks[i];
                let cached = self.prefetched.lock().ok().and_then(|mut p| p.remove(key));
                let stored = match cached {
                    Some(b) => b,
                    None => {
                        let url = self.chunk_url(granule, chunk);
                        let mut got = self
                            .source(url)?
                            .get_ranges(&[chunk.offset..chunk.offset + chunk.length])
                            .await?;
                        got.pop().unwrap_or_default()
                    }
                };
                Ok(Some(normalize(array, chunk, stored, strip_checksum)?))
            }
        }
    }

    /// Where the stored bytes of a chunk key lie — file URL, byte range and filter mask — without
    /// reading anything. `None` for metadata keys, inline chunks and keys the store does not have.
    pub fn chunk_location(&self, key: &str) -> Option<(&str, Range<u64>, u32)> {
        let Some(Resolved::Chunk {
            granule,
            array,
            serving: Serving::Stored { .. },
            coords,
        }) = self.resolve(key)
        else {
            return None;
        };
        let i = array
            .chunks
            .binary_search_by(|c| c.coords.as_slice().cmp(&coords))
            .ok()?;
        let c = &array.chunks[i];
        Some((
            self.chunk_url(granule, c),
            c.offset..c.offset + c.length,
            c.filter_mask,
        ))
    }

    fn chunk_url<'a>(&'a self, granule: usize, chunk: &'a ChunkRef) -> &'a str {
        chunk.file(&self.granules[granule].manifest.url)
    }

    /// Fetch the stored bytes of many chunk keys at once — one coalesced, concurrent round trip per
    /// file — so that the reads that follow (through zarrs) are served from memory. Keys that are
    /// not stored chunks are ignored. Each prefetched chunk is handed out once.
    ///
    /// # Errors
    /// When a file cannot be read.
    pub async fn prefetch(&self, keys: &[String]) -> Result<Prefetched, StoreError> {
        let mut by_url: HashMap<&str, Vec<(&str, Range<u64>)>> = HashMap::new();
        for key in keys {
            if let Some(Resolved::Chunk {
                granule,
                array,
                serving: Serving::Stored { .. },
                coords,
            }) = self.resolve(key)
            {
                if let Ok(i) = array
                    .chunks
                    .binary_search_by(|c| c.coords.as_slice().cmp(&coords))
                {
                    let c = &array.chunks[i];
                    by_url
                        .entry(self.chunk_url(granule, c))
                        .or_default()
                        .push((key, c.offset..c.offset + c.length));
                }
            }
        }
        let fetches = by_url.into_iter().map(|(url, wanted)| async move {
            let ranges: Vec<Range<u64>> = wanted.iter().map(|(_, r)| r.clone()).collect();
            let got = self.source(url)?.get_ranges(&ranges).await?;
            Ok::<_, StoreError>(
                wanted
                    .into_iter()
                    .map(|(k, _)| k)
                    .zip(got)
                    .collect::<Vec<_>>(),
            )
        });
        let mut done = Prefetched::default();
        let mut cache = HashMap::new();
        for fetched in futures::future::try_join_all(fetches).await? {
            for (key, bytes) in fetched {
                done.chunks += 1;
                done.bytes += bytes.len() as u64;
                cache.insert(key.to_string(), bytes);
            }
        }
        if let Ok(mut p) = self.prefetched.lock() {
            p.extend(cache);
        }
        Ok(done)
    }
}

enum Resolved<'a> {
    Metadata(&'a Bytes),
    Chunk {
        granule: usize,
        array: &'a ArrayMeta,
        serving: &'a Serving,
        coords: Vec<u64>,
    },
}

/// `granule` + HDF5 path → node path without a leading slash.
fn node_path(granule: &str, hdf5_path: &str) -> String {
    let rest = hdf5_path.trim_matches('/');
    if rest.is_empty() {
        granule.to_string()
    } else {
        format!("{granule}/{rest}")
    }
}

/// Stored bytes → the bytes the advertised codec chain decodes.
fn normalize(
    array: &ArrayMeta,
    chunk: &ChunkRef,
    stored: Bytes,
    strip_checksum: bool,
) -> Result<Bytes, CodecError> {
    let corrupt = |reason: String| CodecError::Corrupt {
        path: array.path.clone(),
        coords: chunk.coords.to_vec(),
        reason,
    };
    let applied = array.filters.len().min(32);
    let masked = (0..applied).any(|i| chunk.filter_mask & (1 << i) != 0);
    if !masked {
        if !strip_checksum {
            return Ok(stored);
        }
        let len = crate::codec::fletcher32_strip(&stored)
            .map_err(corrupt)?
            .len();
        return Ok(stored.slice(..len));
    }
    let raw = decode_chunk(array, chunk, &stored)?;
    let kept = if strip_checksum {
        &array.filters[..array.filters.len() - 1]
    } else {
        &array.filters[..]
    };
    Ok(Bytes::from(encode_chunk(array, &chunk.coords, kept, raw)?))
}
