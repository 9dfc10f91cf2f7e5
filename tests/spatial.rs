//! Issue 4: native chunk decoding (`vz::codec`) against libhdf5, and spatial tagging (`vz::spatial`)
//! on real ICESat-2 granules and synthetic tracks.
//!
//! The fixtures are third-party files in `../shared/fixtures/real`; every test that needs them prints a
//! SKIP notice and passes when the folder is absent.

mod common;

use std::path::Path;

use bytes::Bytes;
use vz::codec::{decode_chunk, read_rows_f64, to_f64, CodecError};
use vz::hdf5::{read_manifest, ReadOptions};
use vz::manifest::{ArrayMeta, Datatype, GranuleManifest, Layout};
use vz::source::{ByteSource, MemorySource};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// The native manifest of a local file, read through an in-memory source.
fn manifest_of(path: &Path) -> Option<(GranuleManifest, Bytes)> {
    let bytes = Bytes::from(std::fs::read(path).ok()?);
    let source = MemorySource::new(path.display().to_string(), bytes.clone());
    let m = rt().block_on(read_manifest(&source, &ReadOptions::default())).ok()?;
    Some((m, bytes))
}

fn numeric(dtype: &Datatype) -> bool {
    match dtype {
        Datatype::Integer { size, .. } => matches!(size, 1 | 2 | 4 | 8),
        Datatype::Float { size, .. } => matches!(size, 2 | 4 | 8),
        _ => false,
    }
}

/// Every value of a dataset as f64, read by libhdf5 (ints read as 64-bit first, so no rounding differs).
fn libhdf5_values(file: &hdf5::File, a: &ArrayMeta) -> Option<Vec<f64>> {
    let ds = file.dataset(&a.path).ok()?;
    Some(match a.dtype {
        Datatype::Integer { signed: true, .. } => ds.read_raw::<i64>().ok()?.into_iter().map(|v| v as f64).collect(),
        Datatype::Integer { signed: false, .. } => ds.read_raw::<u64>().ok()?.into_iter().map(|v| v as f64).collect(),
        Datatype::Float { size: 4, .. } => ds.read_raw::<f32>().ok()?.into_iter().map(f64::from).collect(),
        _ => ds.read_raw::<f64>().ok()?,
    })
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Fixture files holding chunked data: `hdf5/`, `icesat2/` and the HDF5 files of `dmrpp_pairs/`.
fn codec_fixtures(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in ["hdf5", "icesat2", "dmrpp_pairs"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_file() && !name.ends_with(".dmrpp") && !name.starts_with('.') {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

#[derive(Default, Debug)]
struct CodecTally {
    files: usize,
    arrays: usize,
    chunks: usize,
    masked_chunks: usize,
    fletcher_chunks: usize,
    unsupported_chunks: usize,
    unsupported_filters: std::collections::BTreeSet<String>,
    rows_arrays: usize,
}

/// Decode every chunk of every chunked numeric array natively and compare each element with libhdf5.
#[test]
fn every_fixture_chunk_decodes_to_libhdf5_values() {
    let Some(root) = common::fixtures_dir("every_fixture_chunk_decodes_to_libhdf5_values") else { return };
    let mut t = CodecTally::default();
    let mut failures = Vec::new();
    for path in codec_fixtures(&root) {
        let Some((m, bytes)) = manifest_of(&path) else { continue };
        let Ok(file) = hdf5::File::open(&path) else { continue };
        t.files += 1;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for a in &m.arrays {
            if a.layout != Layout::Chunked || !numeric(&a.dtype) || a.unsupported.is_some() || a.chunks.is_empty() {
                continue;
            }
            let supported = a.filters.iter().all(|f| matches!(f.id, 1..=3));
            let expected = if supported { libhdf5_values(&file, a) } else { None };
            if supported && expected.is_none() {
                failures.push(format!("{name}:{} libhdf5 could not read it", a.path));
                continue;
            }
            t.arrays += 1;
            for ch in &a.chunks {
                let Some(stored) = bytes.get(ch.offset as usize..(ch.offset + ch.length) as usize) else {
                    failures.push(format!("{name}:{} chunk {:?} outside the file", a.path, ch.coords));
                    continue;
                };
                let decoded = decode_chunk(a, ch, stored);
                if !supported {
                    // Masked-out filters do not count: only an active unsupported filter must fail.
                    let active_unsupported = a
                        .filters
                        .iter()
                        .enumerate()
                        .any(|(i, f)| ch.filter_mask & (1 << i) == 0 && !matches!(f.id, 1..=3));
                    match decoded {
                        Err(CodecError::UnsupportedFilter { id, name: fname, .. }) if active_unsupported => {
                            t.unsupported_chunks += 1;
                            t.unsupported_filters.insert(format!("{id} {fname}"));
                        }
                        Ok(_) if !active_unsupported => {}
                        other => failures.push(format!("{name}:{} chunk {:?}: expected UnsupportedFilter, got {other:?}", a.path, ch.coords)),
                    }
                    continue;
                }
                let raw = match decoded {
                    Ok(raw) => raw,
                    Err(e) => {
                        failures.push(format!("{name}: {e}"));
                        continue;
                    }
                };
                t.chunks += 1;
                t.masked_chunks += usize::from(ch.filter_mask != 0);
                t.fletcher_chunks += usize::from(a.filters.iter().any(|f| f.id == 3));
                let values = to_f64(&a.dtype, &raw).expect("numeric type");
                let expected = expected.as_deref().unwrap_or_default();
                if let Some(msg) = compare_chunk(a, &ch.coords, &values, expected) {
                    failures.push(format!("{name}:{} chunk {:?}: {msg}", a.path, ch.coords));
                }
            }
        }
        // Rows of 1-D arrays (any layout) through read_rows_f64, whole and a middle slice.
        for a in &m.arrays {
            if a.shape.len() != 1 || !numeric(&a.dtype) || a.unsupported.is_some() || a.filters.iter().any(|f| !matches!(f.id, 1..=3)) {
                continue;
            }
            if !matches!(a.layout, Layout::Chunked | Layout::Contiguous | Layout::Compact) || a.chunks.iter().any(|c| c.href.is_some()) {
                continue;
            }
            let Some(expected) = libhdf5_values(&file, a) else { continue };
            let source = MemorySource::new(name.clone(), bytes.clone());
            let n = a.shape[0];
            for rows in [0..n, n / 3..(2 * n / 3 + 1).min(n)] {
                match rt().block_on(read_rows_f64(a, &source, rows.clone())) {
                    Ok(got) => {
                        let fill = fill_of(a);
                        let bad = got.iter().zip(&expected[rows.start as usize..rows.end as usize]).position(|(g, e)| {
                            !(same(*g, *e) || (g.is_nan() && fill.is_some_and(|f| same(f, *e))))
                        });
                        if got.len() as u64 != rows.end - rows.start || bad.is_some() {
                            failures.push(format!("{name}:{} rows {rows:?}: first mismatch at {bad:?}", a.path));
                        }
                    }
                    Err(e) => failures.push(format!("{name}:{} rows {rows:?}: {e}", a.path)),
                }
            }
            t.rows_arrays += 1;
        }
    }
    println!("codec vs libhdf5: {t:?}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(t.chunks > 1000 && t.fletcher_chunks > 0 && t.unsupported_chunks > 0, "too little was compared: {t:?}");
}

/// The fill value as stored in the manifest (HDF5 fill value bytes).
fn fill_of(a: &ArrayMeta) -> Option<f64> {
    let v = to_f64(&a.dtype, a.fill.value.as_deref()?).ok()?;
    v.first().copied().or_else(|| {
        a.attributes.iter().find(|x| x.name == "_FillValue").and_then(|x| x.value.as_f64())
    })
}

/// Compare one decoded chunk (full chunk shape, C order) with the array's values; `None` when equal.
fn compare_chunk(a: &ArrayMeta, coords: &[u64], values: &[f64], expected: &[f64]) -> Option<String> {
    let cs = &a.chunk_shape;
    let n: u64 = cs.iter().product();
    if values.len() as u64 != n {
        return Some(format!("decoded {} elements, chunk holds {n}", values.len()));
    }
    let origin: Vec<u64> = coords.iter().zip(cs).map(|(c, s)| c * s).collect();
    let mut idx = vec![0u64; cs.len()];
    for (k, v) in values.iter().enumerate() {
        // Position of element k inside the chunk, then in the array.
        let mut rem = k as u64;
        for d in (0..cs.len()).rev() {
            idx[d] = rem % cs[d];
            rem /= cs[d];
        }
        let mut flat = 0u64;
        let mut inside = true;
        for d in 0..cs.len() {
            let g = origin[d] + idx[d];
            if g >= a.shape[d] {
                inside = false;
                break;
            }
            flat = flat * a.shape[d] + g;
        }
        if inside && !same(*v, expected[flat as usize]) {
            return Some(format!("element {idx:?}: native {v}, libhdf5 {}", expected[flat as usize]));
        }
    }
    None
}

/// A synthetic 1-D f64 array with the given filters (write order), chunks of 4 rows.
fn synthetic_array(filters: &[u16]) -> ArrayMeta {
    let json = serde_json::json!({
        "path": "/synthetic", "shape": [10], "maxshape": [10],
        "dtype": {"class": "float", "size": 8, "order": "LE"},
        "layout": "chunked", "chunk_shape": [4],
        "filters": filters.iter().map(|&id| serde_json::json!({"id": id, "name": format!("f{id}"), "flags": 0, "params": if id == 2 { vec![8] } else { vec![] }})).collect::<Vec<_>>(),
        "fill": {"defined": "user", "time": "ifset", "alloc_time": "incr", "value": "000000008087c3c0"},
        "attributes": [], "chunks": []
    });
    serde_json::from_value(json).expect("synthetic ArrayMeta")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}

fn shuffle8(data: &[u8]) -> Vec<u8> {
    let n = data.len() / 8;
    let mut out: Vec<u8> = (0..8).flat_map(|j| (0..n).map(move |i| data[i * 8 + j])).collect();
    out.extend_from_slice(&data[n * 8..]); // bytes past the last whole element stay in place
    out
}

fn chunk_ref(coords: u64, offset: u64, length: u64, mask: u32) -> vz::manifest::ChunkRef {
    vz::manifest::ChunkRef { coords: vec![coords], offset, length, filter_mask: mask, href: None }
}

#[test]
fn filter_mask_skips_filters_and_fletcher_is_checked() {
    let values: Vec<u8> = [1.5f64, -2.0, 3.25, 1e300].iter().flat_map(|v| v.to_le_bytes()).collect();
    // Pipeline fletcher32, shuffle, deflate (write order); chunk with shuffle skipped (mask bit 1).
    let a = synthetic_array(&[3, 2, 1]);
    let mut with_sum = values.clone();
    with_sum.extend_from_slice(&vz::codec::fletcher32_checksum(&values).to_le_bytes());
    let stored = zlib(&with_sum);
    assert_eq!(decode_chunk(&a, &chunk_ref(0, 0, 0, 0b010), &stored).unwrap(), values);
    // All three applied.
    let stored = zlib(&shuffle8(&with_sum));
    assert_eq!(decode_chunk(&a, &chunk_ref(0, 0, 0, 0), &stored).unwrap(), values);
    // Everything skipped: the stored bytes are the data.
    assert_eq!(decode_chunk(&a, &chunk_ref(0, 0, 0, 0b111), &values).unwrap(), values);
    // A flipped data bit fails the checksum.
    let mut bad = with_sum.clone();
    bad[3] ^= 0x10;
    assert!(matches!(decode_chunk(&a, &chunk_ref(0, 0, 0, 0b010), &zlib(&bad)), Err(CodecError::Corrupt { .. })));
    // Deflate applied twice is undone twice.
    let twice = synthetic_array(&[1, 1]);
    assert_eq!(decode_chunk(&twice, &chunk_ref(0, 0, 0, 0), &zlib(&zlib(&values))).unwrap(), values);
}

#[test]
fn hostile_stored_bytes_give_errors_not_panics() {
    let values: Vec<u8> = (0..4).flat_map(|i| f64::from(i).to_le_bytes()).collect();
    let a = synthetic_array(&[2, 1]);
    let good = zlib(&shuffle8(&values));
    let c = chunk_ref(0, 0, 0, 0);
    assert_eq!(decode_chunk(&a, &c, &good).unwrap(), values);
    for cut in 0..good.len() {
        assert!(decode_chunk(&a, &c, &good[..cut]).is_err(), "truncated to {cut} bytes");
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in [0usize, 1, 3, 7, 64, 1000] {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = decode_chunk(&a, &c, &garbage); // must not panic
        assert!(decode_chunk(&synthetic_array(&[1]), &c, &garbage).is_err());
        assert!(decode_chunk(&synthetic_array(&[3]), &c, &garbage).is_err() || len >= 4);
    }
    // A zip bomb: 32 bytes of chunk, 1 MiB of zeros compressed.
    let bomb = zlib(&vec![0u8; 1 << 20]);
    assert!(matches!(decode_chunk(&synthetic_array(&[1]), &c, &bomb), Err(CodecError::TooLarge { limit: 32, .. })));
    // Unsupported filter named with id and array path.
    let szip = synthetic_array(&[4]);
    match decode_chunk(&szip, &chunk_ref(2, 0, 0, 0), &good) {
        Err(e @ CodecError::UnsupportedFilter { id: 4, .. }) => assert!(e.to_string().contains("/synthetic chunk [2]")),
        other => panic!("expected UnsupportedFilter, got {other:?}"),
    }
}

#[test]
fn rows_fetch_only_overlapping_chunks_in_one_round_trip() {
    // 10 rows in chunks of 4: chunk 0 deflated, chunk 1 missing (fill = NaN), chunk 2 (2 rows used).
    let mut a = synthetic_array(&[1]);
    let c0: Vec<u8> = [0.0f64, 1.0, 2.0, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let c2: Vec<u8> = [8.0f64, -9999.0, 99.0, 99.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let (z0, z2) = (zlib(&c0), zlib(&c2));
    let mut file = vec![0xAAu8; 16];
    a.chunks.push(chunk_ref(0, file.len() as u64, z0.len() as u64, 0));
    file.extend_from_slice(&z0);
    a.chunks.push(chunk_ref(2, file.len() as u64, z2.len() as u64, 0));
    file.extend_from_slice(&z2);
    let source = MemorySource::new("synthetic", Bytes::from(file));
    let got = rt().block_on(read_rows_f64(&a, &source, 2..10)).unwrap();
    assert_eq!(got.len(), 8);
    assert_eq!(&got[..2], &[2.0, 3.0]);
    assert!(got[2..6].iter().all(|v| v.is_nan()), "missing chunk reads as fill = NaN: {got:?}");
    assert_eq!(got[6], 8.0);
    assert!(got[7].is_nan(), "the fill value itself becomes NaN");
    assert_eq!(source.stats().snapshot().round_trips, 1);
    // Only chunk 2 is fetched for rows 8..9.
    let before = source.stats().snapshot().bytes;
    assert_eq!(rt().block_on(read_rows_f64(&a, &source, 8..9)).unwrap(), vec![8.0]);
    assert_eq!(source.stats().snapshot().bytes - before, z2.len() as u64);
    assert!(rt().block_on(read_rows_f64(&a, &source, 5..11)).is_err());
}
