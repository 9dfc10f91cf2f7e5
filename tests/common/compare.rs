//! A [`GranuleManifest`] against its libhdf5 answer key, field by field.
//!
//! Every dataset of the key must be in the manifest (directly, or under a hard link the reader
//! reported instead) with the same shape, maximum shape, type (class, size, byte order), layout,
//! chunk shape, chunk index, filters (id, flags, `cd_values`), fill value settings, and the same
//! storage: every chunk (element offset, byte offset, stored size, filter mask), the contiguous
//! block, the compact bytes or the external file list. Mismatches come back as lines of the form
//! `path: field: expected X, got Y`.
//!
//! A dataset the reader declares unsupported (`ArrayMeta::unsupported`, or absent with a
//! `Problem` naming it) is not a mismatch when the key says it is virtual or external, or when
//! the reason is an unsupported feature ([`UNSUPPORTED_FEATURES`]): it is listed apart with its
//! reason.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;

use serde::Serialize;
use vz::manifest::{ArrayMeta, ByteOrder, ChunkRef, Datatype, GranuleManifest, LinkTarget};

use super::answer_key::{AnswerKey, KeyChunk, KeyDataset};

/// Chunk mismatches printed per dataset before the rest are only counted.
const MAX_CHUNK_LINES: usize = 5;

/// Outcome of comparing one manifest with its key.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Datasets compared field by field.
    pub datasets: usize,
    /// Of those, datasets without any mismatch.
    pub datasets_matched: usize,
    /// Storage records (chunks, contiguous blocks) found identical.
    pub chunks_matched: usize,
    /// `path: field: expected X, got Y` lines.
    pub mismatches: Vec<String>,
    /// Datasets the reader declared unsupported, acceptably: (path, reason).
    pub unsupported: Vec<(String, String)>,
    /// Datasets not asserted on, by fixture caveat: (path, why).
    pub skipped: Vec<(String, String)>,
}

/// Datasets whose answer key is known to be wrong (SOURCES.md caveats): (file name prefix, path, why).
/// `old_h5fc_*` files are not affected: their DSET_EA is consistent and asserted.
const KEY_CAVEATS: [(&str, &str, &str); 1] = [(
    "h5fc_",
    "/DSET_EA",
    "SOURCES.md: libhdf5 reports chunk coordinates outside the extent for this pre-release-1.10 file",
)];

/// Compare a manifest with its answer key.
pub fn compare_manifest(m: &GranuleManifest, key: &AnswerKey) -> Comparison {
    let mut c = Comparison::default();
    if m.size != key.size {
        c.mismatches.push(format!("(file): size: expected {}, got {}", key.size, m.size));
    }
    let mut covered: HashSet<&str> = HashSet::new();
    for kd in &key.datasets {
        let array = find_array(m, &kd.path);
        if let Some(a) = array {
            covered.insert(a.path.as_str());
        }
        if let Some((_, _, why)) =
            KEY_CAVEATS.iter().find(|(file, path, _)| key.file.starts_with(file) && kd.path == *path)
        {
            c.skipped.push((kd.path.clone(), (*why).to_string()));
            continue;
        }
        let reason = match array {
            Some(a) => a.unsupported.clone(),
            None => problem_covering(m, &kd.path),
        };
        if let Some(reason) = reason {
            let acceptable = kd.layout == "virtual" || kd.external.is_some() || is_unsupported_feature(&reason);
            if acceptable {
                c.unsupported.push((kd.path.clone(), reason));
            } else {
                c.mismatches.push(format!("{}: reported unsupported without an unsupported feature: {reason}", kd.path));
            }
            continue;
        }
        let Some(a) = array else {
            c.mismatches.push(format!("{}: missing from the manifest (no array, link or problem)", kd.path));
            continue;
        };
        let before = c.mismatches.len();
        c.datasets += 1;
        c.chunks_matched += compare_array(kd, a, &mut c.mismatches);
        if c.mismatches.len() == before {
            c.datasets_matched += 1;
        }
    }
    for a in &m.arrays {
        if !covered.contains(a.path.as_str()) {
            c.mismatches.push(format!("{}: array not in the answer key ({} chunks)", a.path, a.chunks.len()));
        }
    }
    c
}

/// Reasons that name a feature vz deliberately does not represent, besides those saying
/// `unsupported`: a null dataspace (no elements, not even a scalar: nothing for Zarr to hold) and
/// floats whose bit layout is not IEEE 754 (decoding them needs the layout the model lacks).
const UNSUPPORTED_FEATURES: [&str; 3] = ["unsupported", "null dataspace", "non-ieee"];

/// Whether the reader's reason names an unsupported feature (rather than a failure).
fn is_unsupported_feature(reason: &str) -> bool {
    let reason = reason.to_lowercase();
    UNSUPPORTED_FEATURES.iter().any(|f| reason.contains(f))
}

/// The problem that explains why the dataset at `path` is not listed: one naming it, or one naming
/// a group above it (a group whose links could not be read hides everything below it).
fn problem_covering(m: &GranuleManifest, path: &str) -> Option<String> {
    let covers = |p: &str| p == path || p == "/" || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'));
    let best = m.problems.iter().filter(|p| covers(&p.path)).max_by_key(|p| p.path.len())?;
    Some(if best.path == path { best.reason.clone() } else { format!("(via {}) {}", best.path, best.reason) })
}

/// The array at `path`, or the one a hard link at `path` points to (h5py and the reader may list
/// a multiply linked dataset under different names).
fn find_array<'a>(m: &'a GranuleManifest, path: &str) -> Option<&'a ArrayMeta> {
    m.array(path).or_else(|| {
        m.links.iter().find(|l| l.path == path).and_then(|l| match &l.target {
            LinkTarget::Hard { target } => m.array(target),
            _ => None,
        })
    })
}

/// Push `path: field: expected X, got Y` when they differ.
fn check<T: PartialEq + Debug>(out: &mut Vec<String>, path: &str, field: &str, expected: T, got: T) {
    if expected != got {
        out.push(format!("{path}: {field}: expected {expected:?}, got {got:?}"));
    }
}

/// The serde (snake_case) name of a model enum: `chunked`, `btree_v1`, `ifset`, ...
fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// Compare one dataset; returns the number of storage records that matched.
fn compare_array(kd: &KeyDataset, a: &ArrayMeta, out: &mut Vec<String>) -> usize {
    let p = kd.path.as_str();
    // A null dataspace has no shape at all; the model writes it as rank 0.
    check(out, p, "shape", kd.shape.clone().unwrap_or_default(), a.shape.clone());
    check(out, p, "maxshape", kd.maxshape.clone().unwrap_or_default(), a.maxshape.clone());
    compare_type(kd, a, out);

    let expected_layout = if kd.external.is_some() { "external" } else { kd.layout.as_str() };
    check(out, p, "layout", expected_layout.to_string(), name(&a.layout));
    if expected_layout == "virtual" {
        out.push(format!("{p}: virtual dataset listed without an unsupported reason"));
    }
    check(out, p, "chunk_index", kd.chunk_index.clone(), a.chunk_index.as_ref().map(name));
    if let Some(cs) = &kd.chunk_shape {
        check(out, p, "chunk_shape", cs.clone(), a.chunk_shape.clone());
    }

    check(out, p, "filters.len", kd.filters.len(), a.filters.len());
    for (i, (kf, f)) in kd.filters.iter().zip(&a.filters).enumerate() {
        check(out, p, &format!("filters[{i}].id ({})", kf.name), kf.id, f.id);
        check(out, p, &format!("filters[{i}].flags ({})", kf.name), kf.flags, f.flags);
        check(out, p, &format!("filters[{i}].cd_values ({})", kf.name), kf.cd_values.clone(), f.params.clone());
    }

    check(out, p, "fill.defined", kd.fill_value_defined.clone(), name(&a.fill.defined));
    check(out, p, "fill.time", kd.fill_time.clone(), name(&a.fill.time));
    check(out, p, "fill.alloc_time", kd.alloc_time.clone(), name(&a.fill.alloc_time));
    if kd.fill_value.is_some() {
        compare_fill_value(kd, a, out);
    }

    let mut matched = 0;
    if let Some(chunks) = &kd.chunks {
        matched += compare_chunks(p, chunks, a, out);
    }
    if let (Some(cont), None) = (&kd.contiguous, &kd.external) {
        match cont.offset {
            None => check(out, p, "contiguous: chunks (storage never allocated)", 0, a.chunks.len()),
            Some(offset) => match a.chunks.as_slice() {
                [ch] => {
                    let before = out.len();
                    check(out, p, "contiguous.coords", vec![0; a.shape.len()], ch.coords.to_vec());
                    check(out, p, "contiguous.offset", offset, ch.offset);
                    check(out, p, "contiguous.size", cont.size, ch.length);
                    check(out, p, "contiguous: chunk_shape (= shape)", a.shape.clone(), a.chunk_shape.clone());
                    if out.len() == before {
                        matched += 1;
                    }
                }
                other => out.push(format!("{p}: contiguous: expected 1 chunk at {offset}, got {}", other.len())),
            },
        }
    }
    if let Some(compact) = &kd.compact {
        check(out, p, "compact.size (inline length)", Some(compact.size), a.inline.as_ref().map(|b| b.len() as u64));
    }
    if let Some(ext) = &kd.external {
        let got: Vec<(String, u64, u64)> = a.external.iter().map(|e| (e.name.clone(), e.offset, e.size)).collect();
        check(out, p, "external", ext.clone(), got);
    }
    matched
}

fn compare_type(kd: &KeyDataset, a: &ArrayMeta, out: &mut Vec<String>) {
    let p = kd.path.as_str();
    let t = &kd.dtype;
    check(out, p, "type.class", t.class.as_str(), a.dtype.class_name());
    // For types holding variable-length data libhdf5 reports the in-memory size (a `char*` for a
    // string, an `hvl_t` for a sequence, and compounds/arrays laid out with those), the model the
    // 16-byte heap references stored in the file: not comparable.
    if t.vlen != Some(true) && !holds_vlen(&a.dtype) {
        check(out, p, "type.size", t.size, a.dtype.size());
    }
    if t.class == "string" {
        let vlen = matches!(a.dtype, Datatype::String { size: None, .. });
        check(out, p, "type.vlen", t.vlen.unwrap_or(false), vlen);
    }
    if let Some(order) = &t.order {
        let got = a.dtype.order().map(|o| match o {
            ByteOrder::Le => "LE",
            ByteOrder::Be => "BE",
        });
        check(out, p, "type.order", Some(order.as_str()), got);
    }
    if let (Some(n), Datatype::Compound { members, .. }) = (t.members, &a.dtype) {
        check(out, p, "type.members", n, members.len());
    }
    if matches!(t.class.as_str(), "integer" | "float") {
        if let Some(np) = a.dtype.numpy() {
            check(out, p, "numpy_dtype", kd.numpy_dtype.clone(), np);
        }
    }
}

/// Whether a type is or contains variable-length data.
fn holds_vlen(t: &Datatype) -> bool {
    match t {
        Datatype::String { size: None, .. } | Datatype::Vlen { .. } => true,
        Datatype::Compound { members, .. } => members.iter().any(|m| holds_vlen(&m.dtype)),
        Datatype::Array { base, .. } | Datatype::Enum { base, .. } => holds_vlen(base),
        _ => false,
    }
}

/// A decoded numeric fill value.
#[derive(Debug)]
enum Num {
    Int(i128),
    Float(f64),
}

fn compare_fill_value(kd: &KeyDataset, a: &ArrayMeta, out: &mut Vec<String>) {
    let p = kd.path.as_str();
    let Some(bytes) = &a.fill.value else {
        out.push(format!("{p}: fill.value: expected {:?}, got none", kd.fill_value));
        return;
    };
    check(out, p, "fill.value length", a.dtype.size(), bytes.len() as u64);
    match decode(&a.dtype, bytes) {
        Ok(Num::Int(got)) => match kd.fill_i128() {
            Some(want) => check(out, p, "fill.value", want, got),
            None => out.push(format!("{p}: fill.value: expected {:?}, got integer {got} (raw {})", kd.fill_value, hex(bytes))),
        },
        Ok(Num::Float(got)) => match kd.fill_f64() {
            Some(want) if want == got || (want.is_nan() && got.is_nan()) => {}
            _ => out.push(format!(
                "{p}: fill.value: expected {:?}, got {got:?} (raw {}, read as IEEE {:?})",
                kd.fill_value,
                hex(bytes),
                a.dtype
            )),
        },
        Err(e) => out.push(format!("{p}: fill.value: expected {:?}, cannot decode raw {}: {e}", kd.fill_value, hex(bytes))),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One element of a numeric type, from its raw bytes in the type's byte order.
fn decode(dtype: &Datatype, bytes: &[u8]) -> Result<Num, String> {
    let raw = |size: u32, order: ByteOrder| -> Result<u128, String> {
        let n = size as usize;
        let b = bytes.get(..n).filter(|_| n <= 16).ok_or_else(|| format!("{} bytes for a {n}-byte type", bytes.len()))?;
        let mut v: u128 = 0;
        let mut push = |x: &u8| v = (v << 8) | u128::from(*x);
        match order {
            ByteOrder::Be => b.iter().for_each(&mut push),
            ByteOrder::Le => b.iter().rev().for_each(&mut push),
        }
        Ok(v)
    };
    match dtype {
        Datatype::Integer { size, signed, order } => {
            let v = raw(*size, *order)?;
            let bits = size * 8;
            if *signed && bits < 128 && (v >> (bits - 1)) & 1 == 1 {
                Ok(Num::Int(v as i128 - (1i128 << bits)))
            } else {
                Ok(Num::Int(v as i128))
            }
        }
        Datatype::Float { size, order } => {
            let v = raw(*size, *order)?;
            match size {
                2 => Ok(Num::Float(half_to_f64(v as u16))),
                4 => Ok(Num::Float(f64::from(f32::from_bits(v as u32)))),
                8 => Ok(Num::Float(f64::from_bits(v as u64))),
                _ => Err(format!("{size}-byte float")),
            }
        }
        Datatype::Enum { base, .. } => decode(base, bytes),
        other => Err(format!("{} is not numeric", other.class_name())),
    }
}

/// IEEE 754 binary16 to f64 (exact).
fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    sign * match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Compare allocated chunks, keyed by element offset; returns how many matched.
fn compare_chunks(p: &str, expected: &[KeyChunk], a: &ArrayMeta, out: &mut Vec<String>) -> usize {
    let mut lines = Vec::new();
    if a.chunks.windows(2).any(|w| w[0].coords >= w[1].coords) {
        lines.push(format!("{p}: chunks: not sorted by coordinates (or duplicated)"));
    }
    let grid = a.grid_shape();
    if let Some(c) = a.chunks.iter().find(|c| c.coords.len() != grid.len() || c.coords.iter().zip(&grid).any(|(i, n)| i >= n)) {
        lines.push(format!("{p}: chunks: {:?} lies outside the chunk grid {grid:?}", c.coords));
    }
    let origin = |c: &ChunkRef| -> Vec<u64> {
        c.coords.iter().zip(&a.chunk_shape).map(|(&i, &s)| i.saturating_mul(s)).collect()
    };
    let mut got: BTreeMap<Vec<u64>, &ChunkRef> = BTreeMap::new();
    for c in &a.chunks {
        got.insert(origin(c), c);
    }
    let mut matched = 0;
    let mut bad = 0usize;
    for KeyChunk(at, offset, size, mask) in expected {
        let line = match got.remove(at) {
            None => Some(format!("{p}: chunk {at:?}: missing (key: offset {offset}, size {size})")),
            Some(c) if (c.offset, c.length, c.filter_mask) != (*offset, *size, *mask) => Some(format!(
                "{p}: chunk {at:?}: expected offset {offset} size {size} mask {mask}, got offset {} size {} mask {}",
                c.offset, c.length, c.filter_mask
            )),
            Some(_) => None,
        };
        match line {
            Some(l) => {
                bad += 1;
                if bad <= MAX_CHUNK_LINES {
                    lines.push(l);
                }
            }
            None => matched += 1,
        }
    }
    for (at, c) in &got {
        bad += 1;
        if bad <= MAX_CHUNK_LINES {
            lines.push(format!("{p}: chunk {at:?}: not in the key (offset {}, size {})", c.offset, c.length));
        }
    }
    if bad > MAX_CHUNK_LINES {
        lines.push(format!("{p}: chunks: {} more chunk mismatches", bad - MAX_CHUNK_LINES));
    }
    out.extend(lines);
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fill_values_in_both_byte_orders() {
        let be = Datatype::Integer { size: 2, signed: true, order: ByteOrder::Be };
        assert!(matches!(decode(&be, &[0xff, 0xfe]), Ok(Num::Int(-2))));
        let le = Datatype::Float { size: 4, order: ByteOrder::Le };
        assert!(matches!(decode(&le, &(-9.5f32).to_le_bytes()), Ok(Num::Float(v)) if v == -9.5));
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0xc000), -2.0);
    }
}
