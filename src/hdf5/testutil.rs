//! Test helpers: load a whole fixture file into a [`Cache`], find structures by signature,
//! read answer keys, and build chunk-index specs from them.

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::Value;

use super::cache::Cache;
use super::chunk_index::{self, Bt2Params, ChunkIndexSpec, EaParams, IndexWork};
use super::cursor::Geometry;
use super::error::{Fault, Parse};
use crate::manifest::{ChunkIndexKind, ChunkRef};

/// The shared real-data fixture folder, if present.
pub(crate) fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: fixture folder {} is absent", dir.display());
        None
    }
}

/// A fixture file fully loaded.
pub(crate) struct Loaded {
    pub bytes: Vec<u8>,
    pub cache: Cache,
    pub geo: Geometry,
}

/// Load `rel` (relative to the fixture folder) into a cache; `None` when fixtures are absent.
pub(crate) fn load(rel: &str) -> Option<Loaded> {
    let path = if rel.starts_with('/') { PathBuf::from(rel) } else { fixtures()?.join(rel) };
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let geo = superblock_geometry(&bytes);
    let mut cache = Cache::new(bytes.len() as u64);
    cache.insert(0, Bytes::from(bytes.clone()));
    Some(Loaded { bytes, cache, geo })
}

/// Sizes of offsets and lengths from the superblock (enough for tests).
fn superblock_geometry(b: &[u8]) -> Geometry {
    let mut at = 0usize;
    while &b[at..at + 8] != b"\x89HDF\r\n\x1a\n" {
        at = if at == 0 { 512 } else { at * 2 };
    }
    let version = b[at + 8];
    let (so, sl) = if version < 2 { (b[at + 13], b[at + 14]) } else { (b[at + 9], b[at + 10]) };
    Geometry { sizeof_offsets: so, sizeof_lengths: sl, base_address: at as u64, eof: b.len() as u64 }
}

/// Absolute offsets of every occurrence of `sig`.
pub(crate) fn find_all(bytes: &[u8], sig: &[u8; 4]) -> Vec<u64> {
    bytes.windows(4).enumerate().filter(|(_, w)| w == sig).map(|(i, _)| i as u64).collect()
}

/// The datasets of an answer key.
pub(crate) fn answer_key(rel: &str) -> Vec<Value> {
    let path = if rel.starts_with('/') {
        PathBuf::from(format!("{rel}.json"))
    } else {
        fixtures().expect("fixtures").join("reference_manifests").join(format!("{rel}.json"))
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("answer key JSON");
    v["datasets"].as_array().cloned().unwrap_or_default()
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array().map(|a| a.iter().map(|x| x.as_u64().unwrap_or(0)).collect()).unwrap_or_default()
}

/// A chunk-index spec for an answer-key dataset (address filled in by the caller).
pub(crate) fn spec_from_key(ds: &Value, kind: ChunkIndexKind, address: u64) -> ChunkIndexSpec {
    let chunk_dims = u64s(&ds["chunk_shape"]);
    let shape = u64s(&ds["shape"]);
    let maxshape = ds["maxshape"].as_array().map(|a| a.iter().map(Value::as_u64).collect()).unwrap_or_default();
    let filtered = ds["filters"].as_array().is_some_and(|f| !f.is_empty());
    ChunkIndexSpec {
        kind,
        address: Some(address),
        layout_version: 4,
        chunk_dims,
        // Variable-length data is stored as (length, heap address, index): 16 bytes on disk.
        element_size: if ds["type"]["vlen"].as_bool() == Some(true) { 16 } else { ds["type"]["size"].as_u64().unwrap_or(1) },
        shape,
        maxshape,
        filtered,
        single_filtered: None,
        fa_page_bits: 0,
        ea: Some(EaParams { max_bits: 32, index_elements: 4, min_pointers: 4, min_elements: 16, page_bits: 10 }),
        bt2: Some(Bt2Params { node_size: 2048, split_percent: 100, merge_percent: 40 }),
    }
}

/// The answer key's chunks, in the manifest model.
pub(crate) fn key_chunks(ds: &Value) -> Vec<ChunkRef> {
    let chunk_dims = u64s(&ds["chunk_shape"]);
    let mut out: Vec<ChunkRef> = ds["chunks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| ChunkRef {
                    coords: u64s(&c[0]).iter().zip(&chunk_dims).map(|(o, d)| o / d).collect(),
                    offset: c[1].as_u64().unwrap_or(0),
                    length: c[2].as_u64().unwrap_or(0),
                    filter_mask: c[3].as_u64().unwrap_or(0) as u32,
                    href: None,
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.coords.cmp(&b.coords));
    out
}

/// Walk a chunk index to completion over a fully loaded cache; chunks sorted by coordinates.
pub(crate) fn walk_index(spec: &ChunkIndexSpec, cache: &Cache, geo: Geometry) -> Parse<Vec<ChunkRef>> {
    let first = chunk_index::start(spec);
    let mut chunks = first.chunks;
    let mut queue: Vec<IndexWork> = first.more;
    let mut steps = 0;
    while let Some(w) = queue.pop() {
        steps += 1;
        assert!(steps < 1_000_000, "index walk does not terminate");
        match chunk_index::step(spec, &w, cache, geo) {
            Ok(s) => {
                chunks.extend(s.chunks);
                queue.extend(s.more);
            }
            Err(Fault::Need(r)) => panic!("fully loaded cache still needs {r:?}"),
            Err(e) => return Err(e),
        }
    }
    chunks.sort_by(|a, b| a.coords.cmp(&b.coords));
    Ok(chunks)
}

/// For every answer-key dataset with index `kind` and `name` (JSON spelling), find the index
/// header (signature `sig`) whose walk reproduces the key exactly. Returns how many datasets
/// matched; panics listing the ones that did not.
pub(crate) fn check_index_against_key(rel: &str, name: &str, kind: ChunkIndexKind, sig: &[u8; 4], skip: &[&str]) -> usize {
    check_index_with_layout(rel, name, kind, sig, skip, 4)
}

/// [`check_index_against_key`] for a given layout message version.
pub(crate) fn check_index_with_layout(
    rel: &str,
    name: &str,
    kind: ChunkIndexKind,
    sig: &[u8; 4],
    skip: &[&str],
    layout_version: u8,
) -> usize {
    let Some(file) = load(rel) else { return 0 };
    let headers = find_all(&file.bytes, sig);
    let mut matched = 0;
    let mut missing = Vec::new();
    for ds in answer_key(rel) {
        let path = ds["path"].as_str().unwrap_or("").to_string();
        if ds["chunk_index"].as_str() != Some(name) || skip.contains(&path.as_str()) {
            continue;
        }
        let want = key_chunks(&ds);
        if want.is_empty() {
            continue;
        }
        let found = headers.iter().any(|&h| {
            let mut spec = spec_from_key(&ds, kind, h);
            spec.layout_version = layout_version;
            matches!(walk_index(&spec, &file.cache, file.geo), Ok(got) if got == want)
        });
        if found {
            matched += 1;
        } else {
            missing.push(path);
        }
    }
    assert!(missing.is_empty(), "{rel}: no {name} header reproduces the key for {missing:?}");
    matched
}

/// Walk dense storage to completion over a fully loaded cache.
pub(crate) fn walk_dense(d: super::dense::DenseRef, cache: &Cache, geo: Geometry) -> Parse<Vec<Vec<u8>>> {
    let mut queue = vec![super::dense::start(d)];
    let mut messages = Vec::new();
    let mut steps = 0;
    while let Some(w) = queue.pop() {
        steps += 1;
        assert!(steps < 1_000_000, "dense walk does not terminate");
        match super::dense::step(&w, cache, geo) {
            Ok(s) => {
                messages.extend(s.messages);
                queue.extend(s.more);
            }
            Err(Fault::Need(r)) => panic!("fully loaded cache still needs {r:?}"),
            Err(e) => return Err(e),
        }
    }
    Ok(messages)
}

/// The name in a link message body (spec IV.A.2.g), enough for tests; `None` if malformed.
pub(crate) fn link_name(m: &[u8]) -> Option<String> {
    if *m.first()? != 1 {
        return None;
    }
    let flags = *m.get(1)?;
    let mut p = 2;
    if flags & 0x08 != 0 {
        p += 1;
    }
    if flags & 0x04 != 0 {
        p += 8;
    }
    if flags & 0x10 != 0 {
        p += 1;
    }
    let width = 1usize << (flags & 0x03);
    let len = m.get(p..p + width)?.iter().rev().fold(0usize, |a, &b| a << 8 | usize::from(b));
    p += width;
    Some(String::from_utf8_lossy(m.get(p..p.checked_add(len)?)?).into_owned())
}

/// The name in an attribute message body (spec IV.A.2.m), enough for tests; `None` if malformed.
pub(crate) fn attribute_name(m: &[u8]) -> Option<String> {
    let len = usize::from(u16::from_le_bytes([*m.get(2)?, *m.get(3)?]));
    let p = match m[0] {
        1 | 2 => 8,
        3 => 9,
        _ => return None,
    };
    Some(String::from_utf8_lossy(m.get(p..p + len)?).trim_end_matches('\0').to_string())
}

/// Every sorted name list that some (heap, B-tree of `record_type`) pair of `rel` yields.
pub(crate) fn dense_name_sets(rel: &str, record_type: u8) -> Option<Vec<Vec<String>>> {
    let file = load(rel)?;
    let heaps = find_all(&file.bytes, b"FRHP");
    let trees: Vec<u64> =
        find_all(&file.bytes, b"BTHD").into_iter().filter(|&t| file.bytes[t as usize + 5] == record_type).collect();
    let mut sets = Vec::new();
    for &name_index in &trees {
        for &heap in &heaps {
            let d = super::dense::DenseRef { heap, name_index };
            if let Ok(messages) = walk_dense(d, &file.cache, file.geo) {
                let decode = |m: &Vec<u8>| if record_type == 5 { link_name(m) } else { attribute_name(m) };
                if let Some(mut names) = messages.iter().map(decode).collect::<Option<Vec<String>>>() {
                    names.sort();
                    sets.push(names);
                }
            }
        }
    }
    Some(sets)
}

/// A cache over `bytes` with bit `bit` of byte `pos` flipped.
pub(crate) fn flipped(bytes: &[u8], pos: u64, bit: u8) -> Cache {
    let mut copy = bytes.to_vec();
    copy[pos as usize] ^= 1 << bit;
    let mut cache = Cache::new(copy.len() as u64);
    cache.insert(0, Bytes::from(copy));
    cache
}

/// Flip one bit at a time in `range` (every `stride`-th byte, each of `bits`) and run
/// `walk` on each corrupted file. Panics propagate (the point of the test); returns how many
/// walks failed and how many succeeded.
pub(crate) fn fuzz_flips<T>(
    file: &Loaded,
    range: std::ops::Range<u64>,
    stride: usize,
    bits: &[u8],
    walk: impl Fn(&Cache) -> Parse<T>,
) -> (usize, usize) {
    let (mut failed, mut passed) = (0, 0);
    let end = range.end.min(file.bytes.len() as u64);
    for pos in (range.start..end).step_by(stride) {
        for &bit in bits {
            match walk(&flipped(&file.bytes, pos, bit)) {
                Ok(_) => passed += 1,
                Err(Fault::Need(r)) => panic!("flip at {pos}: fully loaded cache still needs {r:?}"),
                Err(_) => failed += 1,
            }
        }
    }
    (failed, passed)
}
