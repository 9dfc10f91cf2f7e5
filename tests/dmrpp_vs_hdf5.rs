//! Differential test: for every DMR++ pair in `../shared/fixtures/real/dmrpp_pairs/`, the manifest
//! the DMR++ reader builds from `X.dmrpp` and the one the native HDF5 reader builds from `X` must
//! agree on every variable the sidecar describes: shape, type, layout, chunk shape, filter
//! pipeline, fill value bytes, every chunk (grid coordinates, byte offset, length, filter mask)
//! and compact bytes.
//!
//! What a DMR++ cannot express is counted as a limitation, not a difference (the same list as
//! tests/dmrpp_conformance.rs and docs/dmrpp.md): unstated byte order / deflate level / fill
//! value, strings without FixedLengthStringArray, values carried inline, sidecars known to be
//! wrong, and the chunk-index kind, maxshape and fill/alloc times, which a DMR++ never records.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vz::dmrpp::parse_dmrpp;
use vz::manifest::{ArrayMeta, Datatype, FillDefined, GranuleManifest, Layout};

fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real/dmrpp_pairs"));
    if dir.is_dir() {
        Some(dir.canonicalize().unwrap_or(dir))
    } else {
        println!("NOTICE: {} is absent; DMR++ vs HDF5 differential test skipped", dir.display());
        None
    }
}

/// Sidecars that are wrong about a variable (see tests/dmrpp_conformance.rs).
const KNOWN_SIDECAR_ERRORS: &[(&str, &str)] =
    &[("ntypes.h5.dmrpp", "/atomic_type_3"), ("swath_wrong_dim_rp.nc.dmrpp", "/pre_wrong")];

#[derive(Default)]
struct Tally {
    pairs: usize,
    arrays: usize,
    chunks: usize,
    limitations: BTreeMap<String, usize>,
    differences: Vec<String>,
}

impl Tally {
    fn limit(&mut self, what: &str) {
        *self.limitations.entry(what.to_string()).or_default() += 1;
    }
}

/// Type equality up to what the sidecar states. `Err` is a limitation, `Ok(false)` a difference.
fn same_type(d: &Datatype, h: &Datatype, order_known: bool) -> Result<bool, &'static str> {
    Ok(match (d, h) {
        (Datatype::String { size: None, .. }, Datatype::String { size: Some(_), .. }) => {
            return Err("fixed-length string not marked as such (no FixedLengthStringArray)")
        }
        (Datatype::String { size: a, .. }, Datatype::String { size: b, .. }) => a == b,
        (Datatype::Compound { size: sa, members: ma }, Datatype::Compound { size: sb, members: mb }) => {
            if ma.iter().any(|m| matches!(m.dtype, Datatype::String { size: None, .. })) {
                return Err("compound with a DAP String member: layout unknown");
            }
            if sa != sb || ma.len() != mb.len() {
                return Ok(false);
            }
            for (x, y) in ma.iter().zip(mb) {
                if x.name != y.name || x.offset != y.offset || !same_type(&x.dtype, &y.dtype, order_known)? {
                    return Ok(false);
                }
            }
            true
        }
        (Datatype::Array { base: a, dims: da }, Datatype::Array { base: b, dims: db }) => {
            da == db && same_type(a, b, order_known)?
        }
        (Datatype::Enum { base: a, members: ma }, Datatype::Enum { base: b, members: mb }) => {
            ma == mb && same_type(a, b, order_known)?
        }
        (a, b) if a == b => true,
        (a, b) if a.class_name() == b.class_name() && a.size() == b.size() && a.order() != b.order() => {
            if order_known {
                false
            } else {
                return Err("byte order not stated (no byteOrder)");
            }
        }
        _ => false,
    })
}

fn compare(t: &mut Tally, file: &str, xml: &str, d: &ArrayMeta, hm: &GranuleManifest) {
    let path = &d.path;
    if KNOWN_SIDECAR_ERRORS.contains(&(file, path.as_str())) {
        t.limit("known sidecar error");
        return;
    }
    let Some(h) = hm.array(path) else {
        if d.inline.is_some() || d.chunks.iter().any(|c| c.href.is_some()) {
            t.limit("inline-only or other-file variable without an HDF5 dataset");
        } else {
            t.differences.push(format!("{file} {path}: not in the HDF5 manifest"));
        }
        return;
    };
    t.arrays += 1;
    let mut diff = |what: String| t.differences.push(format!("{file} {path}: {what}"));
    if d.layout == Layout::Compact && h.layout != Layout::Compact {
        t.limit("values carried inline instead of byte ranges");
        return;
    }
    if d.shape != h.shape {
        diff(format!("shape {:?} != {:?}", d.shape, h.shape));
    }
    let order_known = xml.contains("byteOrder=") && !d.chunks.is_empty();
    match same_type(&d.dtype, &h.dtype, order_known) {
        Ok(true) => {}
        Ok(false) => diff(format!("type {:?} != {:?}", d.dtype, h.dtype)),
        Err(why) => t.limit(why),
    }
    if d.layout != h.layout {
        t.differences.push(format!("{file} {path}: layout {:?} != {:?}", d.layout, h.layout));
        return;
    }
    if d.chunk_shape != h.chunk_shape {
        t.differences.push(format!("{file} {path}: chunk shape {:?} != {:?}", d.chunk_shape, h.chunk_shape));
    }
    // Filters.
    if d.filters.len() != h.filters.len() {
        t.differences.push(format!("{file} {path}: filters {:?} != {:?}", d.filters, h.filters));
    } else {
        for (x, y) in d.filters.iter().zip(&h.filters) {
            if (x.id, x.flags, &x.name) != (y.id, y.flags, &y.name) {
                t.differences.push(format!("{file} {path}: filter {x:?} != {y:?}"));
            } else if x.params != y.params {
                if x.id == 1 && x.params.is_empty() {
                    t.limit("deflate level not stated (no deflateLevel)");
                } else {
                    t.differences.push(format!("{file} {path}: filter params {x:?} != {y:?}"));
                }
            }
        }
    }
    // Fill value: equal bytes; the library default reads as zeros.
    let zeros = |v: &Option<Vec<u8>>| v.as_ref().is_none_or(|b| b.iter().all(|&x| x == 0));
    match (&d.fill.value, &h.fill.value) {
        (a, b) if a == b => {}
        (a, b) if zeros(a) && zeros(b) && h.fill.defined != FillDefined::User => {}
        (None, Some(_)) if matches!(d.dtype, Datatype::String { .. }) => t.limit("string fill value not given"),
        (None, Some(_)) if !xml.contains("fillValue=") => t.limit("fill value not stated (no fillValue)"),
        (a, b) => {
            // DMR++ prints floats with ~6 digits: compare as numbers there.
            let close = match (&d.dtype, a, b) {
                (Datatype::Float { size: 4, .. }, Some(x), Some(y)) if x.len() == 4 && y.len() == 4 => {
                    let (p, q) = (
                        f32::from_le_bytes(x[..4].try_into().unwrap()),
                        f32::from_le_bytes(y[..4].try_into().unwrap()),
                    );
                    (p - q).abs() <= 1e-5 * p.abs().max(q.abs())
                }
                (Datatype::Float { size: 8, .. }, Some(x), Some(y)) if x.len() == 8 && y.len() == 8 => {
                    let (p, q) = (
                        f64::from_le_bytes(x[..8].try_into().unwrap()),
                        f64::from_le_bytes(y[..8].try_into().unwrap()),
                    );
                    (p - q).abs() <= 1e-5 * p.abs().max(q.abs())
                }
                _ => false,
            };
            if close {
                t.limit("fill value printed with 6 significant digits");
            } else {
                t.differences.push(format!("{file} {path}: fill {a:?} != {b:?}"));
            }
        }
    }
    // Chunks.
    let key = |a: &ArrayMeta| {
        let mut v: Vec<_> = a.chunks.iter().map(|c| (c.coords.clone(), c.offset, c.length, c.filter_mask)).collect();
        v.sort();
        v
    };
    let (kd, kh) = (key(d), key(h));
    if kd == kh {
        t.chunks += kd.len();
    } else {
        t.differences.push(format!("{file} {path}: chunks {kd:?} != {kh:?}"));
    }
    if d.layout == Layout::Compact {
        if matches!(d.dtype, Datatype::String { size: None, .. }) {
            t.limit("vlen string in dmrpp:compact holds the characters, not heap references");
        } else if d.inline != h.inline {
            t.differences.push(format!("{file} {path}: compact bytes differ"));
        }
    }
}

#[test]
fn dmrpp_and_hdf5_readers_agree() {
    let Some(dir) = fixtures() else { return };
    let mut sidecars: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dmrpp"))
        .collect();
    sidecars.sort();
    let mut t = Tally::default();
    for sidecar in sidecars {
        let file = sidecar.file_name().unwrap().to_str().unwrap().to_string();
        let data = sidecar.with_extension("");
        let bytes = std::fs::read(&sidecar).unwrap();
        let xml = String::from_utf8_lossy(&bytes).into_owned();
        let dm = parse_dmrpp(&bytes, sidecar.to_str().unwrap()).unwrap();
        let hm = match vz::hdf5::read_manifest_bytes(std::fs::read(&data).unwrap().into(), data.to_str().unwrap()) {
            Ok(m) => m,
            Err(e) => {
                t.differences.push(format!("{file}: the HDF5 reader failed: {e}"));
                continue;
            }
        };
        assert_eq!(dm.url, hm.url, "{file}: both manifests name the data file");
        t.pairs += 1;
        for d in &dm.arrays {
            compare(&mut t, &file, &xml, d, &hm);
        }
    }
    println!("{} pairs, {} arrays, {} chunks identical in both manifests", t.pairs, t.arrays, t.chunks);
    for (what, n) in &t.limitations {
        println!("  limitation x{n}: {what}");
    }
    for d in &t.differences {
        println!("DIFFERENCE {d}");
    }
    assert!(t.differences.is_empty(), "{} differences (listed above)", t.differences.len());
}
