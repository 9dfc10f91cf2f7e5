//! vz's own HDF5 fixtures (tests/fixtures_gen) checked two ways: libhdf5 must store each dataset
//! the way the generator intended (layout, chunk index type), and vz's native reader must list
//! exactly what libhdf5 lists (shape, type, filters, fill value, every chunk).

#[path = "fixtures_gen/mod.rs"]
mod fixtures_gen;

use fixtures_gen::listing::list_file;

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
        println!("{:<18} {:>7} bytes {:>3} datasets", fx.name, size, listing.datasets.len());
        assert!(size < 200_000, "{} is {size} bytes", fx.name);
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
    println!("{} files, {datasets} datasets, {chunks} chunks listed by libhdf5", fixtures.len());
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
