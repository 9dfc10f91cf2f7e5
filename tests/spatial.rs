//! Issue 4: native chunk decoding (`vz::codec`) against libhdf5, and spatial tagging (`vz::spatial`)
//! on real ICESat-2 granules and synthetic tracks.
//!
//! The fixtures are third-party files in `../shared/fixtures/real`; every test that needs them prints a
//! SKIP notice and passes when the folder is absent.

mod common;

use std::path::Path;

use bytes::Bytes;
use vz::codec::{decode_chunk, decode_chunk_front_into, read_rows_f64, to_f64, ChunkBuffers, CodecError};
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
    synthetic_chunked(filters, 10, 4)
}

/// A synthetic 1-D f64 array of `rows` rows with the given filters, chunks of `chunk` rows.
fn synthetic_chunked(filters: &[u16], rows: u64, chunk: u64) -> ArrayMeta {
    let json = serde_json::json!({
        "path": "/synthetic", "shape": [rows], "maxshape": [rows],
        "dtype": {"class": "float", "size": 8, "order": "LE"},
        "layout": "chunked", "chunk_shape": [chunk],
        "filters": filters.iter().map(|&id| serde_json::json!({"id": id, "name": format!("f{id}"), "flags": 0, "params": if id == 2 { vec![8] } else { vec![] }})).collect::<Vec<_>>(),
        "fill": {"defined": "user", "time": "ifset", "alloc_time": "incr", "value": "000000008087c3c0"},
        "attributes": [], "chunks": []
    });
    serde_json::from_value(json).expect("synthetic ArrayMeta")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    zlib_at(data, flate2::Compression::default())
}

fn zlib_at(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
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
    vz::manifest::ChunkRef { coords: vec![coords].into(), offset, length, filter_mask: mask, href: None }
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

/// What a subset reads of a chunk: its front, up to the last row wanted. Whatever the front, the
/// stream (Huffman blocks or stored ones) or the buffers left by the chunk before, the bytes
/// returned begin as the whole decoded chunk does; a damaged stream is an error or still the true
/// front (when the damage lies past it), never other bytes.
#[test]
fn a_chunk_front_decodes_as_the_whole_chunk_begins() {
    let rows = 5000u64;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    // Track-like values: a slow drift plus noise in the low mantissa bits (as h_li compresses).
    let values: Vec<u8> = (0..rows)
        .flat_map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (1000.0 + i as f64 * 0.01 + (seed % 1000) as f64 * 1e-9).to_le_bytes()
        })
        .collect();
    let a = synthetic_chunked(&[1], rows, rows);
    let c = chunk_ref(0, 0, 0, 0);
    let mut buffers = ChunkBuffers::default();
    for level in [flate2::Compression::default(), flate2::Compression::none(), flate2::Compression::fast()] {
        let stored = zlib_at(&values, level);
        assert_eq!(decode_chunk(&a, &c, &stored).unwrap(), values);
        // Fronts from one row to the whole chunk, across the 3/4 switch to whole-chunk decoding,
        // largest first so each decode reuses a buffer still holding the one before.
        for front_rows in [rows, 3751, 3749, 2000, 1024, 1] {
            let front = (front_rows * 8) as usize;
            let got = decode_chunk_front_into(&a, &c, &stored, front as u64, &mut buffers).unwrap();
            assert!(got.len() >= front && values.starts_with(got), "level {level:?}, front {front_rows} rows");
        }
        for cut in (0..stored.len()).step_by(97) {
            if let Ok(got) = decode_chunk_front_into(&a, &c, &stored[..cut], 8_000, &mut buffers) {
                assert!(got.len() >= 8_000 && values.starts_with(got), "level {level:?}, stream cut at {cut}");
            }
        }
    }
    // Shuffle (and fletcher32) need the whole chunk: decoded whole, whatever the front.
    let shuffled = synthetic_chunked(&[2, 1], rows, rows);
    let stored = zlib(&shuffle8(&values));
    assert_eq!(decode_chunk_front_into(&shuffled, &c, &stored, 8, &mut buffers).unwrap(), &values[..]);
    // Garbage: an error. A bomb: only its front is inflated (what lies past it is not looked at).
    assert!(decode_chunk_front_into(&a, &c, &[0x78, 0x9c, 0xff, 0xff, 0xff], 800, &mut buffers).is_err());
    let bomb = zlib(&vec![0u8; 1 << 24]);
    assert_eq!(decode_chunk_front_into(&a, &c, &bomb, 8_000, &mut buffers).unwrap(), &[0u8; 8_000][..]);
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

// ---------------------------------------------------------------------------------------------------
// Spatial tagging.

use std::collections::BTreeSet;

use vz::spatial::{chunk_rows, find_geolocated_groups, read_track, Aoi, GeoOptions, GeolocatedGroup, Track};

const ATL06: &str = "icesat2/processed_ATL06_20181015100401_02560110_003_01.h5";
const ATL03: &str = "icesat2/ATL03_gt1l.h5";

/// Every dataset under `group` (recursively) whose first dimension is `rows`, listed by libhdf5,
/// leaving out sub-groups listed in `skip`.
fn libhdf5_row_arrays(file: &hdf5::File, group: &str, rows: u64, skip: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![group.to_string()];
    while let Some(g) = todo.pop() {
        let grp = file.group(&g).expect("libhdf5 opens the group");
        for ds in grp.datasets().expect("datasets") {
            if ds.shape().first().map(|&n| n as u64) == Some(rows) {
                out.insert(ds.name());
            }
        }
        for sub in grp.groups().expect("groups") {
            if !skip.contains(&sub.name()) {
                todo.push(sub.name());
            }
        }
    }
    out
}

#[test]
fn atl06_geolocated_groups_and_their_arrays() {
    let Some(root) = common::fixtures_dir("atl06_geolocated_groups_and_their_arrays") else { return };
    let path = root.join(ATL06);
    let (m, _) = manifest_of(&path).expect("ATL06 manifest");
    let groups = find_geolocated_groups(&m, &GeoOptions::default());
    let names: Vec<&str> = groups.iter().map(|g| g.group.as_str()).collect();
    println!("ATL06 geolocated groups: {names:?}");
    // CF attributes geolocate four groups per beam: land_ice_segments (latitude/longitude),
    // residual_histogram (lat_mean/lon_mean), segment_quality (reference_pt_lat/lon) and
    // quality_assessment/gtXY (lat_mean/lon_mean).
    assert_eq!(groups.len(), 24);
    assert_eq!(names.iter().filter(|g| g.ends_with("/land_ice_segments")).count(), 6);
    let file = hdf5::File::open(&path).expect("libhdf5 opens ATL06");
    let geolocated: BTreeSet<String> = groups.iter().map(|g| g.group.clone()).collect();
    for beam in ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"] {
        let lis = groups.iter().find(|g| g.group == format!("/{beam}/land_ice_segments")).expect("land_ice_segments");
        assert_eq!(lis.latitude, format!("/{beam}/land_ice_segments/latitude"));
        assert_eq!(lis.longitude, format!("/{beam}/land_ice_segments/longitude"));
        assert_eq!(lis.time.as_deref(), Some(format!("/{beam}/land_ice_segments/delta_time").as_str()));
        let expected = libhdf5_row_arrays(&file, &lis.group, lis.rows, &geolocated);
        let got: BTreeSet<String> = lis.arrays.iter().cloned().collect();
        assert_eq!(got, expected, "{beam}");
        for sub in ["fit_statistics", "ground_track", "geophysical", "bias_correction", "dem"] {
            assert!(lis.arrays.iter().any(|a| a.contains(&format!("/land_ice_segments/{sub}/"))), "{beam} {sub}");
        }
        let sq = groups.iter().find(|g| g.group == format!("/{beam}/segment_quality")).expect("segment_quality");
        assert!(sq.latitude.ends_with("reference_pt_lat") && sq.longitude.ends_with("reference_pt_lon"));
    }
    let gt1l = groups.iter().find(|g| g.group == "/gt1l/land_ice_segments").expect("gt1l");
    println!("gt1l/land_ice_segments: {} rows, {} arrays", gt1l.rows, gt1l.arrays.len());
    // solar_azimuth has units degrees_east but is no longitude: its group is not geolocated.
    assert!(!names.iter().any(|g| g.ends_with("geophysical")));
}

#[test]
fn atl03_groups_with_and_without_overrides() {
    let Some(root) = common::fixtures_dir("atl03_groups_with_and_without_overrides") else { return };
    let path = root.join(ATL03);
    let (m, _) = manifest_of(&path).expect("ATL03 manifest");
    let cf = find_geolocated_groups(&m, &GeoOptions::default());
    let names: Vec<&str> = cf.iter().map(|g| g.group.as_str()).collect();
    // lat_ph/lon_ph carry standard_name latitude/longitude, so CF finds heights/ by itself; geolocation/
    // (one row per 20 m segment) has reference_photon_lat/lon.
    assert_eq!(names, vec!["/gt1l/geolocation", "/gt1l/heights"]);
    let geo = &cf[0];
    assert_eq!((geo.latitude.as_str(), geo.longitude.as_str()), ("/gt1l/geolocation/reference_photon_lat", "/gt1l/geolocation/reference_photon_lon"));
    let opts = GeoOptions { lat: Some("lat_ph".into()), lon: Some("lon_ph".into()), ..GeoOptions::default() };
    let over = find_geolocated_groups(&m, &opts);
    assert_eq!(over.len(), 1);
    let h = &over[0];
    assert_eq!((h.group.as_str(), h.rows, h.time.as_deref()), ("/gt1l/heights", 2909, Some("/gt1l/heights/delta_time")));
    assert!(h.arrays.contains(&"/gt1l/heights/signal_conf_ph".to_string()), "2-D arrays with the same rows count");
    let file = hdf5::File::open(&path).expect("libhdf5 opens ATL03");
    assert_eq!(h.arrays.iter().cloned().collect::<BTreeSet<_>>(), libhdf5_row_arrays(&file, "/gt1l/heights", 2909, &BTreeSet::new()));
    println!("ATL03: CF groups {names:?}; heights/ has {} arrays of {} rows", h.arrays.len(), h.rows);
}

/// The footprint rules checked against a brute-force recomputation from libhdf5's values.
fn check_footprints(m: &GranuleManifest, bytes: &Bytes, file: &hdf5::File, g: &GeolocatedGroup) -> (usize, usize) {
    let source = MemorySource::new("granule", bytes.clone());
    let track = rt().block_on(read_track(m, g, &source)).expect("track");
    assert_eq!(source.stats().snapshot().round_trips, 1, "lat, lon and time in one round trip");
    let lat = file.dataset(&g.latitude).unwrap().read_raw::<f64>().unwrap();
    let lon = file.dataset(&g.longitude).unwrap().read_raw::<f64>().unwrap();
    assert!(track.lat.iter().zip(&lat).all(|(a, b)| same(*a, *b)), "{}: latitude equals libhdf5", g.group);
    assert!(track.lon.iter().zip(&lon).all(|(a, b)| same(*a, *b)), "{}: longitude equals libhdf5", g.group);
    let time = g.time.as_ref().map(|t| file.dataset(t).unwrap().read_raw::<f64>().unwrap());
    let res = h3o::Resolution::Seven;
    let lat_array = m.array(&g.latitude).unwrap();
    let (mut chunks, mut cells) = (0, 0);
    for ch in &lat_array.chunks {
        let rows = chunk_rows(lat_array, ch);
        let fp = track.footprint(rows.clone(), res);
        let (s, e) = (rows.start as usize, rows.end as usize);
        let pts: Vec<(f64, f64)> = (s..e).filter(|&i| lat[i].is_finite() && lon[i].is_finite()).map(|i| (lat[i], lon[i])).collect();
        assert_eq!(fp.points as usize, pts.len());
        let bbox = fp.bbox.expect("bbox");
        let expected: BTreeSet<u64> =
            pts.iter().map(|&(la, lo)| u64::from(h3o::LatLng::new(la, lo).unwrap().to_cell(res))).collect();
        assert_eq!(fp.h3, expected.iter().copied().collect::<Vec<_>>(), "h3 = every point's cell, sorted, unique");
        for &(la, lo) in &pts {
            assert!(bbox.contains(la, lo), "bbox {bbox:?} holds ({la}, {lo})");
        }
        if let Some(t) = &time {
            let vals: Vec<f64> = t[s..e].iter().copied().filter(|v| v.is_finite()).collect();
            let want = (vals.iter().copied().fold(f64::INFINITY, f64::min), vals.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            assert_eq!(fp.time, Some(want));
        }
        let geom = parse_wkb(fp.wkb.as_deref().expect("wkb"));
        assert!(!geom.is_empty());
        chunks += 1;
        cells += fp.h3.len();
    }
    (chunks, cells)
}

#[test]
fn real_footprints_match_brute_force() {
    let Some(root) = common::fixtures_dir("real_footprints_match_brute_force") else { return };
    let mut total = (0, 0, 0);
    for (rel, opts) in [
        (ATL06, GeoOptions::default()),
        (ATL03, GeoOptions { lat: Some("lat_ph".into()), lon: Some("lon_ph".into()), ..GeoOptions::default() }),
        (ATL03, GeoOptions::default()),
    ] {
        let path = root.join(rel);
        let (m, bytes) = manifest_of(&path).expect("manifest");
        let file = hdf5::File::open(&path).expect("libhdf5");
        for g in find_geolocated_groups(&m, &opts) {
            let (c, n) = check_footprints(&m, &bytes, &file, &g);
            total = (total.0 + 1, total.1 + c, total.2 + n);
        }
    }
    println!("footprints vs brute force: {} groups, {} chunks, {} cells", total.0, total.1, total.2);
    assert!(total.1 >= 20);
}

/// A parsed WKB geometry: its parts as coordinate lists (a Point is one part of one position).
fn parse_wkb(b: &[u8]) -> Vec<Vec<(f64, f64)>> {
    fn u32_at(b: &[u8], i: &mut usize) -> u32 {
        let v = u32::from_le_bytes(b[*i..*i + 4].try_into().unwrap());
        *i += 4;
        v
    }
    fn f64_at(b: &[u8], i: &mut usize) -> f64 {
        let v = f64::from_le_bytes(b[*i..*i + 8].try_into().unwrap());
        *i += 8;
        v
    }
    fn line(b: &[u8], i: &mut usize) -> Vec<(f64, f64)> {
        assert_eq!(b[*i], 1, "little-endian");
        *i += 1;
        assert_eq!(u32_at(b, i), 2, "LineString");
        let n = u32_at(b, i);
        (0..n).map(|_| (f64_at(b, i), f64_at(b, i))).collect()
    }
    let mut i = 1;
    assert_eq!(b[0], 1, "little-endian");
    let parts = match u32_at(b, &mut i) {
        1 => vec![vec![(f64_at(b, &mut i), f64_at(b, &mut i))]],
        2 => {
            i = 0;
            vec![line(b, &mut i)]
        }
        5 => {
            let n = u32_at(b, &mut i);
            (0..n).map(|_| line(b, &mut i)).collect()
        }
        t => panic!("unexpected WKB type {t}"),
    };
    assert_eq!(i, b.len(), "no trailing bytes");
    parts
}

/// Points along the great circle through `p0` (lat, lon) heading due east there, every `step_km`.
fn great_circle(p0: (f64, f64), half_len_km: f64, step_km: f64) -> Track {
    let (phi, lam) = (p0.0.to_radians(), p0.1.to_radians());
    let p = [phi.cos() * lam.cos(), phi.cos() * lam.sin(), phi.sin()];
    let east = [-lam.sin(), lam.cos(), 0.0];
    let n = (half_len_km / step_km) as i64;
    let (mut lat, mut lon) = (Vec::new(), Vec::new());
    for k in -n..=n {
        let s = k as f64 * step_km / 6371.0088;
        let v: Vec<f64> = (0..3).map(|j| s.cos() * p[j] + s.sin() * east[j]).collect();
        lat.push(v[2].asin().to_degrees());
        lon.push(v[1].atan2(v[0]).to_degrees());
    }
    Track { lat, lon, time: None }
}

fn cell_lon(c: u64) -> f64 {
    h3o::LatLng::from(h3o::CellIndex::try_from(c).unwrap()).lng()
}

#[test]
fn synthetic_antimeridian_and_polar_tracks() {
    let res = h3o::Resolution::Seven;
    // Eastward across 180 at 50°N: 179.9 -> -179.9.
    let lon: Vec<f64> = (0..=400).map(|i| { let x = 179.9 + f64::from(i) * 0.0005; if x > 180.0 { x - 360.0 } else { x } }).collect();
    let t = Track { lat: vec![50.0; lon.len()], lon, time: Some((0..=400).map(f64::from).collect()) };
    let fp = t.footprint(0..401, res);
    let b = fp.bbox.unwrap();
    assert!(b.crosses_antimeridian() && (b.xmin - 179.9).abs() < 1e-9 && (b.xmax + 179.9).abs() < 1e-9, "{b:?}");
    let parts = parse_wkb(fp.wkb.as_deref().unwrap());
    assert_eq!(parts.len(), 2, "split at the antimeridian");
    assert_eq!(parts[0].last().unwrap(), &(180.0, 50.0));
    assert_eq!(parts[1].first().unwrap(), &(-180.0, 50.0));
    assert_eq!(parts[0].len(), 2, "a straight run simplifies to its endpoints");
    assert!(fp.h3.iter().any(|&c| cell_lon(c) > 0.0) && fp.h3.iter().any(|&c| cell_lon(c) < 0.0), "cells on both sides");
    assert_eq!(fp.time, Some((0.0, 400.0)));

    // Within 0.5° of the north pole, closest on the 180° meridian: longitudes sweep ~93 -> 180 -> -93.
    let t = great_circle((89.5, 180.0), 1100.0, 0.1);
    let fp = t.footprint(0..t.lat.len() as u64, res);
    let b = fp.bbox.unwrap();
    assert!(b.crosses_antimeridian(), "{b:?}");
    assert!((b.ymax - 89.5).abs() < 1e-6);
    for (la, lo) in t.lat.iter().zip(&t.lon) {
        assert!(b.contains(*la, *lo));
    }
    let parts = parse_wkb(fp.wkb.as_deref().unwrap());
    assert_eq!(parts.len(), 2);
    assert!(fp.h3.iter().any(|&c| cell_lon(c) > 0.0) && fp.h3.iter().any(|&c| cell_lon(c) < 0.0));
    let expected: BTreeSet<u64> = t.lat.iter().zip(&t.lon).map(|(&la, &lo)| u64::from(h3o::LatLng::new(la, lo).unwrap().to_cell(res))).collect();
    assert_eq!(fp.h3, expected.into_iter().collect::<Vec<_>>());
    println!("near-pole pass: bbox {b:?}, {} cells", fp.h3.len());

    // Circling the pole at 89.6°N: every longitude -> full range.
    let lon: Vec<f64> = (0..36000).map(|i| -180.0 + f64::from(i) * 0.01).collect();
    let t = Track { lat: vec![89.6; lon.len()], lon, time: None };
    let b = t.footprint(0..36000, res).bbox.unwrap();
    assert_eq!((b.xmin, b.xmax, b.ymin, b.ymax), (-180.0, 180.0, 89.6, 89.6));

    // Missing rows split the line; a lone valid point is a Point; no valid point, no geometry.
    let t = Track { lat: vec![1.0, 1.0, f64::NAN, 1.0, 1.0], lon: vec![1.0, 1.001, 1.002, 1.003, 1.004], time: None };
    assert_eq!(parse_wkb(t.footprint(0..5, res).wkb.as_deref().unwrap()).len(), 2);
    let fp = t.footprint(2..4, res);
    assert_eq!((fp.points, fp.wkb.as_deref().map(|w| w.len())), (1, Some(21)));
    let fp = t.footprint(2..3, res);
    assert!(fp.bbox.is_none() && fp.wkb.is_none() && fp.h3.is_empty() && fp.points == 0);
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    format!("[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]")
}

/// Every grid point of the AOI's box that the AOI contains has its cell in `cells(res)`.
fn assert_cells_cover(aoi: &Aoi, res: h3o::Resolution, n: usize) -> usize {
    let cells: BTreeSet<u64> = aoi.cells(res).into_iter().collect();
    let b = aoi.bbox();
    let width = if b.crosses_antimeridian() { b.xmax + 360.0 - b.xmin } else { b.xmax - b.xmin };
    let mut inside = 0;
    for i in 0..=n {
        for j in 0..=n {
            let mut lon = b.xmin + width * i as f64 / n as f64;
            if lon > 180.0 {
                lon -= 360.0;
            }
            let lat = b.ymin + (b.ymax - b.ymin) * j as f64 / n as f64;
            if aoi.contains(lat, lon) {
                inside += 1;
                let c = u64::from(h3o::LatLng::new(lat, lon).unwrap().to_cell(res));
                assert!(cells.contains(&c), "point ({lat}, {lon}) inside the AOI, its cell {c:x} not covered");
            }
        }
    }
    assert!(inside > 0);
    inside
}

#[test]
fn aoi_polygons_holes_multipolygons_and_antimeridian() {
    let res = h3o::Resolution::Six;
    // Polygon with a hole, as a Feature.
    let holed = Aoi::from_geojson(&format!(
        r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[{},{}]}}}}"#,
        square(10.0, 40.0, 11.0, 41.0),
        square(10.4, 40.4, 10.6, 40.6)
    ))
    .unwrap();
    for (lat, lon, want) in [
        (40.2, 10.2, true),
        (40.5, 10.5, false), // in the hole
        (40.4, 10.5, true),  // on the hole's edge
        (40.0, 10.5, true),  // on the outer edge
        (40.5, 11.01, false),
        (39.99, 10.5, false),
    ] {
        assert_eq!(holed.contains(lat, lon), want, "({lat}, {lon})");
    }
    let b = holed.bbox();
    assert_eq!((b.xmin, b.ymin, b.xmax, b.ymax), (10.0, 40.0, 11.0, 41.0));
    let inside = assert_cells_cover(&holed, res, 60);
    // Cells of the hole's interior are not all included: Covers leaves out cells wholly inside the hole.
    let hole_cell = u64::from(h3o::LatLng::new(40.5, 10.5).unwrap().to_cell(h3o::Resolution::Eight));
    assert!(!holed.cells(h3o::Resolution::Eight).contains(&hole_cell));
    println!("holed polygon: {inside} sampled points inside, {} cells at res 6", holed.cells(res).len());

    // MultiPolygon of two squares, in a FeatureCollection.
    let multi = Aoi::from_geojson(&format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":null,"geometry":{{"type":"MultiPolygon","coordinates":[[{}],[{}]]}}}}]}}"#,
        square(-60.0, -10.0, -59.5, -9.5),
        square(-58.0, -10.0, -57.5, -9.5)
    ))
    .unwrap();
    assert!(multi.contains(-9.7, -59.7) && multi.contains(-9.7, -57.7) && !multi.contains(-9.7, -58.7));
    assert_cells_cover(&multi, res, 60);
    assert_eq!(multi.wkb()[1..5], 6u32.to_le_bytes());

    // Across the antimeridian, written as RFC 7946 asks: a MultiPolygon split at ±180.
    let across = Aoi::from_geojson(&format!(
        r#"{{"type":"MultiPolygon","coordinates":[[{}],[{}]]}}"#,
        square(179.5, -17.0, 180.0, -16.0),
        square(-180.0, -17.0, -179.5, -16.0)
    ))
    .unwrap();
    let b = across.bbox();
    assert_eq!((b.xmin, b.xmax), (179.5, -179.5));
    for (lat, lon, want) in [(-16.5, 179.8, true), (-16.5, -179.8, true), (-16.5, 180.0, true), (-16.5, -180.0, true), (-16.5, 0.0, false), (-16.5, 179.4, false)] {
        assert_eq!(across.contains(lat, lon), want, "({lat}, {lon})");
    }
    assert_cells_cover(&across, res, 80);
    let cells = across.cells(res);
    assert!(cells.iter().any(|&c| cell_lon(c) > 0.0) && cells.iter().any(|&c| cell_lon(c) < 0.0));
    // The same area written as one polygon is refused (it would mean 179.5 -> -179.5 the long way).
    let err = Aoi::from_geojson(&format!(r#"{{"type":"Polygon","coordinates":[{}]}}"#, "[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16],[179.5,-17]]")).unwrap_err();
    assert!(err.to_string().contains("RFC 7946"), "{err}");
    // Other refusals.
    for bad in [r#"{"type":"Point","coordinates":[0,0]}"#, r#"{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]}"#, r#"{"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]}"#, "not json", r#"{"type":"FeatureCollection","features":[]}"#] {
        assert!(Aoi::from_geojson(bad).is_err(), "{bad}");
    }
}

/// No false negatives end to end: an AOI around points of a real chunk meets that chunk's cells.
#[test]
fn aoi_cells_meet_chunk_cells_when_a_point_is_inside() {
    let Some(root) = common::fixtures_dir("aoi_cells_meet_chunk_cells_when_a_point_is_inside") else { return };
    let (m, bytes) = manifest_of(&root.join(ATL06)).expect("ATL06");
    let g = find_geolocated_groups(&m, &GeoOptions::default()).into_iter().find(|g| g.group == "/gt2l/land_ice_segments").unwrap();
    let track = rt().block_on(read_track(&m, &g, &MemorySource::new("atl06", bytes))).unwrap();
    let res = GeoOptions::default().h3_resolution;
    let fp = track.footprint(0..g.rows, res);
    let mut checked = 0;
    for i in (0..g.rows as usize).step_by(7) {
        let (la, lo) = (track.lat[i], track.lon[i]);
        if !(la.is_finite() && lo.is_finite()) {
            continue;
        }
        // A tiny square (about 20 m) around the point: the AOI holds it, so the cells must meet.
        let d = 0.0002;
        let aoi = Aoi::from_geojson(&format!(r#"{{"type":"Polygon","coordinates":[{}]}}"#, square(lo - d, la - d, lo + d, la + d))).unwrap();
        assert!(aoi.contains(la, lo));
        let cells = aoi.cells(res);
        assert!(cells.iter().any(|c| fp.h3.binary_search(c).is_ok()), "row {i}");
        checked += 1;
    }
    assert!(checked > 10);
    println!("AOI vs chunk cells: {checked} tiny AOIs around real points all meet the footprint");
}
