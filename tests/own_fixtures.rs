//! vz's own HDF5 fixtures (tests/fixtures_gen) checked two ways: libhdf5 must store each dataset
//! the way the generator intended (layout, chunk index type), and vz's native reader must list
//! exactly what libhdf5 lists (shape, type, filters, fill value, every chunk).

#[path = "fixtures_gen/mod.rs"]
mod fixtures_gen;

use fixtures_gen::listing::{list_file, LibDataset, LibFile};
use hdf5::dataset::Layout as LibLayout;
use vz::manifest::{AllocTime, ArrayMeta, ChunkIndexKind, FillDefined, FillTime, GranuleManifest, Layout, LinkTarget};

/// The generators produce what they claim: every dataset's layout and chunk index type as
/// intended, files small.
#[test]
fn generators_store_what_they_claim() {
    let (_dir, fixtures) = fixtures_gen::generate_temp();
    let mut problems = Vec::new();
    let mut datasets = 0;
    let mut chunks = 0;
    for fx in &fixtures {
        let size = fixtures_gen::write::file_size(&fx.path);
        let listing = list_file(&fx.path).unwrap_or_else(|e| panic!("{}: {e}", fx.name));
        println!(
            "{:<18} {:>7} bytes {:>3} datasets",
            fx.name,
            size,
            listing.datasets.len()
        );
        assert!(size < 400_000, "{} is {size} bytes", fx.name);
        for exp in &fx.expects {
            let Some(ds) = listing.datasets.iter().find(|d| d.path == exp.path) else {
                problems.push(format!("{}: {} not listed by libhdf5", fx.name, exp.path));
                continue;
            };
            if ds.layout != exp.layout || ds.index_type != exp.index {
                problems.push(format!(
                    "{}: {}: expected {:?}/{:?}, libhdf5 has {:?}/{:?}",
                    fx.name, exp.path, exp.layout, exp.index, ds.layout, ds.index_type
                ));
            }
        }
        datasets += listing.datasets.len();
        chunks += listing.datasets.iter().map(|d| d.chunks.len()).sum::<usize>();
    }
    println!(
        "{} files, {datasets} datasets, {chunks} chunks listed by libhdf5",
        fixtures.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Two runs write byte-identical files (no timestamps), so hostile-test cases are reproducible.
#[test]
fn generators_are_deterministic() {
    let (_a, first) = fixtures_gen::generate_temp();
    let (_b, second) = fixtures_gen::generate_temp();
    for (x, y) in first.iter().zip(&second) {
        let bx = std::fs::read(&x.path).expect("read");
        let by = std::fs::read(&y.path).expect("read");
        assert!(bx == by, "{} differs between runs", x.name);
    }
}

// ---------------------------------------------------------------------------------------------
// vz's native reader against libhdf5
// ---------------------------------------------------------------------------------------------

/// Collects "file: path: field: expected X, got Y" lines.
#[derive(Default)]
struct Mismatches(Vec<String>);

impl Mismatches {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, at: &str, field: &str, expected: T, got: T) -> bool {
        if expected != got {
            self.0
                .push(format!("{at}: {field}: expected {expected:?}, got {got:?}"));
            return false;
        }
        true
    }
    fn note(&mut self, line: String) {
        self.0.push(line);
    }
}

fn layout_of(l: LibLayout) -> Layout {
    match l {
        LibLayout::Compact => Layout::Compact,
        LibLayout::Contiguous => Layout::Contiguous,
        LibLayout::Chunked => Layout::Chunked,
        _ => Layout::Virtual,
    }
}

fn index_of(t: u32) -> Option<ChunkIndexKind> {
    use fixtures_gen::write::*;
    Some(match t {
        IDX_BTREE_V1 => ChunkIndexKind::BtreeV1,
        IDX_SINGLE => ChunkIndexKind::SingleChunk,
        IDX_IMPLICIT => ChunkIndexKind::Implicit,
        IDX_FARRAY => ChunkIndexKind::FixedArray,
        IDX_EARRAY => ChunkIndexKind::ExtensibleArray,
        IDX_BTREE_V2 => ChunkIndexKind::BtreeV2,
        _ => return None,
    })
}

/// libhdf5 (1.14 and 2.x, `H5Dchunk_iter` and `H5Dget_chunk_info`) misreports the chunk offsets
/// of an extensible-array dataset whose unlimited dimension is the last of two or more: the index
/// stores chunks by a linear index over the grid with the unlimited dimension moved first
/// ("swizzled"), and the listing returns that linear index as the last coordinate, the others 0.
/// (Reading the data through libhdf5 is right; only the listing is off. The shared real-data
/// notes report the same for `DSET_EA` in the `h5fc_*` files.) This undoes it so the reader is
/// checked against the true chunk grid position; verified on the generated `sparse_masked_i32`
/// by reading the data back with h5py.
fn unswizzle_earray(lib: &LibDataset, chunk: &[u64], coords: Vec<u64>) -> Vec<u64> {
    let n = coords.len();
    let unlimited: Vec<usize> = (0..n).filter(|&d| lib.maxshape[d].is_none()).collect();
    let is_ea = lib.index_type == Some(fixtures_gen::write::IDX_EARRAY);
    if !is_ea || n < 2 || unlimited != [n - 1] || coords[..n - 1].iter().any(|&c| c != 0) {
        return coords;
    }
    // Linear index over [grid(n-1), grid(0), ..., grid(n-2)] in C order.
    let grid: Vec<u64> = lib
        .shape
        .iter()
        .zip(chunk)
        .map(|(&s, &c)| s.div_ceil(c.max(1)))
        .collect();
    let mut idx = coords[n - 1];
    let mut out = vec![0; n];
    for d in (0..n - 1).rev() {
        out[d] = idx % grid[d].max(1);
        idx /= grid[d].max(1);
    }
    out[n - 1] = idx;
    out
}

/// Compare one dataset field by field; returns the number of chunks that matched.
fn compare_dataset(m: &mut Mismatches, at: &str, lib: &LibDataset, arr: &ArrayMeta) -> usize {
    m.check(at, "shape", &lib.shape, &arr.shape);
    m.check(at, "maxshape", &lib.maxshape, &arr.maxshape);
    m.check(at, "dtype class", lib.class, arr.dtype.class_name());
    if !lib.is_vlen_str && lib.class != "vlen" {
        m.check(at, "dtype size", lib.size, arr.dtype.size());
    }
    if let Some(order) = arr.dtype.order() {
        let expected = match lib.order {
            0 => Some(vz::manifest::ByteOrder::Le),
            1 => Some(vz::manifest::ByteOrder::Be),
            _ => None,
        };
        m.check(at, "byte order", expected, Some(order));
    }
    if let Some(n) = lib.nmembers {
        let got = match &arr.dtype {
            vz::manifest::Datatype::Compound { members, .. } => members.len(),
            vz::manifest::Datatype::Enum { members, .. } => members.len(),
            _ => usize::MAX,
        };
        m.check(at, "members", n, got);
    }
    let layout = if lib.external.is_empty() {
        layout_of(lib.layout)
    } else {
        Layout::External
    };
    m.check(at, "layout", layout, arr.layout);
    if !lib.external.is_empty() {
        let got: Vec<(String, u64, u64)> = arr
            .external
            .iter()
            .map(|e| (e.name.clone(), e.offset, e.size))
            .collect();
        m.check(at, "external files", &lib.external, &got);
        m.check(at, "chunks of external storage", 0, arr.chunks.len());
        return 0;
    }
    let expected_chunk = lib.chunk_shape.clone().unwrap_or_else(|| lib.shape.clone());
    m.check(at, "chunk shape", &expected_chunk, &arr.chunk_shape);
    m.check(at, "chunk index", lib.index_type.and_then(index_of), arr.chunk_index);
    let lib_filters: Vec<(u16, u32, Vec<u32>)> =
        lib.filters.iter().map(|f| (f.id, f.flags, f.params.clone())).collect();
    let got_filters: Vec<(u16, u32, Vec<u32>)> = arr
        .filters
        .iter()
        .map(|f| (f.id, u32::from(f.flags), f.params.clone()))
        .collect();
    m.check(at, "filters (id, flags, params)", &lib_filters, &got_filters);
    let defined = match lib.fill_defined {
        0 => Some(FillDefined::Undefined),
        1 => Some(FillDefined::Default),
        2 => Some(FillDefined::User),
        _ => None,
    };
    m.check(at, "fill defined", defined, Some(arr.fill.defined));
    let alloc = match lib.alloc_time {
        1 => Some(AllocTime::Early),
        2 => Some(AllocTime::Late),
        3 => Some(AllocTime::Incr),
        _ => None,
    };
    m.check(at, "fill alloc time", alloc, Some(arr.fill.alloc_time));
    let time = match lib.fill_time {
        0 => Some(FillTime::Alloc),
        1 => Some(FillTime::Never),
        2 => Some(FillTime::Ifset),
        _ => None,
    };
    m.check(at, "fill time", time, Some(arr.fill.time));
    if let Some(bytes) = &lib.fill_bytes {
        m.check(at, "fill value bytes", Some(bytes), arr.fill.value.as_ref());
    }

    match lib.layout {
        LibLayout::Chunked => {
            let expected: Vec<(Vec<u64>, u64, u64, u32)> = lib
                .chunks
                .iter()
                .map(|c| {
                    let coords: Vec<u64> = c
                        .origin
                        .iter()
                        .zip(&expected_chunk)
                        .map(|(&o, &n)| o / n.max(1))
                        .collect();
                    (
                        unswizzle_earray(lib, &expected_chunk, coords),
                        c.addr,
                        c.size,
                        c.filter_mask,
                    )
                })
                .collect();
            let mut got: Vec<(Vec<u64>, u64, u64, u32)> = arr
                .chunks
                .iter()
                .map(|c| (c.coords.to_vec(), c.offset, c.length, c.filter_mask))
                .collect();
            got.sort();
            let mut expected = expected;
            expected.sort();
            if expected == got {
                return got.len();
            }
            m.note(format!(
                "{at}: chunks: libhdf5 lists {}, vz lists {}",
                expected.len(),
                got.len()
            ));
            let shown: Vec<_> = expected.iter().filter(|e| !got.contains(e)).take(5).collect();
            let extra: Vec<_> = got.iter().filter(|g| !expected.contains(g)).take(5).collect();
            m.note(format!(
                "{at}:   missing or different in vz (coords, offset, length, mask): {shown:?}"
            ));
            m.note(format!("{at}:   not in libhdf5: {extra:?}"));
            0
        }
        LibLayout::Contiguous => {
            let expected: Vec<(Vec<u64>, u64, u64, u32)> = match lib.contiguous {
                // Unallocated storage: H5Dget_offset returns HADDR_UNDEF plus the base address
                // (511 with a 512-byte user block), so go by the storage size.
                Some((addr, size)) if addr != fixtures_gen::ffi::HADDR_UNDEF && size > 0 => {
                    vec![(vec![0; lib.shape.len()], addr, size, 0)]
                }
                _ => Vec::new(),
            };
            let got: Vec<(Vec<u64>, u64, u64, u32)> = arr
                .chunks
                .iter()
                .map(|c| (c.coords.to_vec(), c.offset, c.length, c.filter_mask))
                .collect();
            if m.check(at, "contiguous storage (coords, offset, length, mask)", &expected, &got) {
                got.len()
            } else {
                0
            }
        }
        LibLayout::Compact => {
            if let Some(bytes) = &lib.compact_bytes {
                m.check(at, "compact bytes", Some(bytes), arr.inline.as_ref());
            }
            0
        }
        _ => 0,
    }
}

/// The generator writes attribute `attr_NN` as the i32 array `[N, 2N, -N]`, and the typed
/// attributes of `/attr_types` with the values of `expected_attr_values`.
fn check_attr_values(m: &mut Mismatches, at: &str, attrs: &[vz::manifest::Attribute]) {
    if at.ends_with("/attr_types") {
        for (name, expected) in fixtures_gen::expected_attr_values() {
            let got = attrs.iter().find(|a| a.name == name).map(|a| &a.value);
            m.check(at, &format!("attribute {name} value"), Some(&expected), got);
        }
    }
    for a in attrs {
        let Some(n) = a.name.strip_prefix("attr_").and_then(|n| n.parse::<i64>().ok()) else {
            continue;
        };
        let expected = serde_json::json!([n, 2 * n, -n]);
        m.check(at, &format!("attribute {} value", a.name), &expected, &a.value);
        m.check(at, &format!("attribute {} shape", a.name), &vec![3u64], &a.shape);
    }
}

/// Compare a whole file: groups, attributes, arrays.
fn compare_file(m: &mut Mismatches, name: &str, lib: &LibFile, man: &GranuleManifest) -> (usize, usize) {
    for p in &man.problems {
        // By design: arrays with external raw data are listed (with their file list) and flagged.
        let external = lib.datasets.iter().any(|d| d.path == p.path && !d.external.is_empty());
        if external && p.reason.contains("external") {
            continue;
        }
        m.note(format!("{name}: {}: problem reported: {}", p.path, p.reason));
    }
    let mut lib_groups = lib.groups.clone();
    lib_groups.sort();
    let mut got_groups: Vec<String> = man.groups.iter().map(|g| g.path.clone()).collect();
    got_groups.sort();
    m.check(name, "groups", &lib_groups, &got_groups);
    for (path, names) in &lib.group_attrs {
        if let Some(g) = man.groups.iter().find(|g| &g.path == path) {
            let mut expected = names.clone();
            expected.sort();
            let mut got: Vec<String> = g.attributes.iter().map(|a| a.name.clone()).collect();
            got.sort();
            m.check(&format!("{name}: {path}"), "attribute names", expected, got);
            check_attr_values(m, &format!("{name}: {path}"), &g.attributes);
        }
    }
    for (path, kind) in &lib.symbolic {
        let got = man.links.iter().find(|l| &l.path == path).map(|l| match l.target {
            LinkTarget::Soft { .. } => "soft",
            LinkTarget::External { .. } => "external",
            LinkTarget::Hard { .. } => "hard",
        });
        m.check(&format!("{name}: {path}"), "link kind", Some(*kind), got);
    }
    // A doubly linked object: vz may list it under either path, and the other as a hard link.
    let mut aliases: Vec<(String, String)> = Vec::new();
    for (second, first) in &lib.hard_dups {
        let at = format!("{name}: {second}");
        let link_to = |from: &str, to: &str| {
            man.links
                .iter()
                .any(|l| l.path == from && l.target == LinkTarget::Hard { target: to.to_string() })
        };
        if man.array(first).is_some() || man.groups.iter().any(|g| &g.path == first) {
            if !link_to(second, first) {
                m.note(format!("{at}: expected a hard link to {first}"));
            }
        } else if man.array(second).is_some() || man.groups.iter().any(|g| &g.path == second) {
            if !link_to(first, second) {
                m.note(format!(
                    "{at}: listed here, but {first} is not reported as a hard link to it"
                ));
            }
            aliases.push((first.clone(), second.clone()));
        } else {
            m.note(format!("{at}: object listed under neither {first} nor {second}"));
        }
    }
    let (mut datasets, mut chunks) = (0, 0);
    for ds in &lib.datasets {
        let at = format!("{name}: {}", ds.path);
        let vz_path = aliases
            .iter()
            .find(|(a, _)| a == &ds.path)
            .map_or(ds.path.as_str(), |(_, b)| b.as_str());
        let Some(arr) = man.array(vz_path) else {
            m.note(format!("{at}: not listed by vz"));
            continue;
        };
        datasets += 1;
        chunks += compare_dataset(m, &at, ds, arr);
        let mut expected = ds.attr_names.clone();
        expected.sort();
        let mut got: Vec<String> = arr.attributes.iter().map(|a| a.name.clone()).collect();
        got.sort();
        m.check(&at, "attribute names", expected, got);
        check_attr_values(m, &at, &arr.attributes);
    }
    for arr in &man.arrays {
        if !lib.datasets.iter().any(|d| d.path == arr.path) && !aliases.iter().any(|(_, b)| b == &arr.path) {
            m.note(format!("{name}: {}: listed by vz, not by libhdf5", arr.path));
        }
    }
    (datasets, chunks)
}

/// vz's native reader lists every generated file exactly as libhdf5 does.
#[tokio::test]
async fn native_reader_matches_libhdf5() {
    let (_dir, fixtures) = fixtures_gen::generate_temp();
    let mut m = Mismatches::default();
    let (mut datasets, mut chunks) = (0, 0);
    for fx in &fixtures {
        let lib = list_file(&fx.path).unwrap_or_else(|e| panic!("{}: {e}", fx.name));
        let location = fx.path.display().to_string();
        let source = vz::source::ObjectSource::open(&location, &Default::default()).expect("open");
        let man = match vz::hdf5::read_manifest(&source, &Default::default()).await {
            Ok(man) => man,
            Err(e) => {
                m.note(format!("{}: read_manifest failed: {e}", fx.name));
                continue;
            }
        };
        let (d, c) = compare_file(&mut m, fx.name, &lib, &man);
        datasets += d;
        chunks += c;
    }
    println!("{} files, {datasets} datasets, {chunks} chunks matched", fixtures.len());
    assert!(m.0.is_empty(), "{} mismatches:\n{}", m.0.len(), m.0.join("\n"));
}

/// Write the fixtures to `$VZ_FIXTURES_OUT` (e.g. to seed the fuzz corpus or inspect with h5dump).
#[test]
#[ignore = "writes the generated files to $VZ_FIXTURES_OUT"]
fn export_fixtures() {
    let out = std::env::var("VZ_FIXTURES_OUT").expect("set VZ_FIXTURES_OUT to a directory");
    std::fs::create_dir_all(&out).expect("create output directory");
    for fx in fixtures_gen::generate_all(std::path::Path::new(&out)) {
        println!("{}", fx.path.display());
    }
}
