//! Issue 4: `vz index` builds a GeoParquet catalog that DuckDB queries correctly.
//!
//! The catalog of the committed synthetic fixtures (Greenland, antimeridian, polar tracks) and of
//! the real ICESat-2 files in ../shared is checked by tests/python/catalog_checks.py, which
//! recomputes the answer independently (h5py brute force, h3-py, DuckDB spatial offline).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::json;
use vz::index::{index_granules, read_granule_list, granule_id, GranuleOutcome, IndexOptions};

mod common;
use common::interop::{index_fixtures, python, real_icesat2, repo};

fn ids(paths: &[String]) -> BTreeMap<String, String> {
    paths.iter().map(|p| (granule_id(p), p.clone())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn duckdb_finds_the_chunks_of_an_aoi_by_h3_geometry_and_bbox() {
    let fixtures = read_granule_list(&repo().join("fixtures/granules.txt")).expect("fixtures/granules.txt");
    let real = real_icesat2();
    let mut all = fixtures.clone();
    all.extend(real.iter().cloned());
    let out = tempfile::tempdir().expect("tempdir");
    let opts = IndexOptions { output: out.path().display().to_string(), ..Default::default() };
    let report = index_granules(&all, &opts, &|_| {}).await.expect("index");
    for g in &report.granules {
        match g {
            GranuleOutcome::Indexed { granule, chunks, tagged_chunks, groups, .. } => {
                println!("{granule}: {chunks} chunks, {tagged_chunks} tagged, {groups} geolocated groups")
            }
            other => panic!("{other:?}"),
        }
    }
    let Some(python) = python() else {
        println!("SKIP DuckDB checks: no VZ_PYTHON (scripts/test.sh provides it)");
        return;
    };
    let greenland: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("fixtures/greenland.geojson")).expect("aoi")).expect("json");
    let greenland = greenland.get("geometry").cloned().unwrap_or(greenland);
    let fx = ids(&fixtures);
    let mut cases = vec![
        json!({"name": "greenland (fixtures)", "aoi": greenland, "granules": fx, "expect_hits": true}),
        json!({"name": "antimeridian, AOI split at 180 (fixtures)", "expect_hits": true, "granules": fx, "aoi": {
            "type": "MultiPolygon", "coordinates": [
                [[[179.5, 65.5], [180.0, 65.5], [180.0, 67.5], [179.5, 67.5], [179.5, 65.5]]],
                [[[-180.0, 65.5], [-179.5, 65.5], [-179.5, 67.5], [-180.0, 67.5], [-180.0, 65.5]]]]}}),
    ];
    // Near the pole: a box around the polar fixture's northernmost point (0.25 degrees from the pole).
    let polar = fixtures.iter().find(|p| p.contains("ATL06_20220213131043")).expect("polar fixture");
    cases.push(json!({"name": "near the north pole (fixtures)", "aoi": "auto-north", "expect_hits": true, "granules": ids(std::slice::from_ref(polar))}));
    let geolocated: Vec<&String> = report
        .granules
        .iter()
        .filter_map(|g| match g {
            GranuleOutcome::Indexed { location, groups, .. } if *groups > 0 => Some(location),
            _ => None,
        })
        .collect();
    for r in real.iter().filter(|r| geolocated.contains(r)) {
        cases.push(json!({"name": format!("box around the track of {}", granule_id(r)), "aoi": "auto", "expect_hits": true, "granules": ids(std::slice::from_ref(r))}));
    }
    let cases_path = out.path().join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec_pretty(&cases).expect("cases")).expect("write cases");
    let run = Command::new(&python)
        .arg(repo().join("tests/python/catalog_checks.py"))
        .arg(out.path())
        .arg(&cases_path)
        .output()
        .expect("run python");
    println!("{}", String::from_utf8_lossy(&run.stdout));
    eprintln!("{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "catalog checks failed (see above)");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_with_bad_granules_indexes_the_good_ones_and_reports_each_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let truncated = dir.path().join("truncated.h5");
    let good = repo().join("fixtures/ATL06_20200325234244_07640603_006_01.h5");
    let bytes = std::fs::read(&good).expect("fixture");
    std::fs::write(&truncated, &bytes[..4096]).expect("write");
    let text = dir.path().join("notes.h5");
    std::fs::write(&text, "this is not HDF5\n".repeat(100)).expect("write");
    let list = dir.path().join("granules.txt");
    std::fs::write(
        &list,
        format!(
            "{}\nmissing.h5\ntruncated.h5\nnotes.h5\nhttp://127.0.0.1:9/unreachable.h5\n{}\n",
            good.display(),
            repo().join("fixtures/ATL06_20221123044115_12001703_006_01.h5").display()
        ),
    )
    .expect("list");
    let out = dir.path().join("catalog");
    let vz = env!("CARGO_BIN_EXE_vz");
    let run = Command::new(vz)
        .args(["index", "--json", "-o"])
        .arg(&out)
        .arg(&list)
        .output()
        .expect("run vz");
    assert_eq!(run.status.code(), Some(3), "exit code 3 = partial; stderr: {}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json report");
    let granules = report["granules"].as_array().expect("granules");
    let status = |needle: &str| {
        granules
            .iter()
            .find(|g| g["location"].as_str().is_some_and(|l| l.ends_with(needle)))
            .unwrap_or_else(|| panic!("{needle} not in report"))
            .clone()
    };
    for good in ["ATL06_20200325234244_07640603_006_01.h5", "ATL06_20221123044115_12001703_006_01.h5"] {
        assert_eq!(status(good)["status"], "indexed", "{good}");
    }
    for (bad, why) in [
        ("missing.h5", "not found"),
        ("truncated.h5", "truncated.h5"),
        ("notes.h5", "not an HDF5 file"),
        ("unreachable.h5", "unreachable.h5"),
    ] {
        let g = status(bad);
        assert_eq!(g["status"], "failed", "{bad}: {g}");
        let error = g["error"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{bad}: error {error:?} should mention {why:?}");
        println!("{bad}: {error}");
    }
    for table in vz::catalog::TABLES {
        let n = std::fs::read_dir(out.join(table)).expect("table dir").count();
        assert_eq!(n, 2, "{table}: one file per good granule");
    }
    // Re-running skips the good granules and reports the bad ones again.
    let again = Command::new(vz).args(["index", "--json", "-o"]).arg(&out).arg(&list).output().expect("run vz");
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json report");
    let skipped = report["granules"].as_array().map_or(0, |g| g.iter().filter(|g| g["status"] == "skipped").count());
    assert_eq!(skipped, 2);
}

/// The catalog is enough to rebuild every manifest exactly: reading a granule's three files back
/// gives the manifest the HDF5 reader produced, and re-encoding it gives the same table contents.
#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_reads_back_to_the_manifests_it_was_written_from() {
    let mut all = read_granule_list(&repo().join("fixtures/granules.txt")).expect("fixtures/granules.txt");
    all.extend(real_icesat2());
    let out = tempfile::tempdir().expect("tempdir");
    let opts = IndexOptions { output: out.path().display().to_string(), ..Default::default() };
    index_granules(&all, &opts, &|_| {}).await.expect("index");
    let catalog = vz::catalog::CatalogStore::open(&opts.output, &Default::default()).expect("catalog");
    let listed = catalog.granules().await.expect("list");
    assert_eq!(listed, ids(&all).into_keys().collect::<Vec<_>>());
    let mut chunks = 0;
    for location in &all {
        let id = granule_id(location);
        let entry = catalog.read(&id).await.expect("read back");
        let source = vz::source::open(location, &Default::default()).expect("open");
        let fresh = vz::hdf5::read_manifest(source.as_ref(), &Default::default()).await.expect("hdf5");
        let mut expected = fresh.clone();
        expected.url = entry.manifest.url.clone();
        assert_eq!(entry.manifest, expected, "{id}: manifest differs after the catalog round trip");
        for (table, encoded) in [
            ("granules", vz::catalog::encode_granule(&entry)),
            ("arrays", vz::catalog::encode_arrays(&entry)),
            ("chunks", vz::catalog::encode_chunks(&entry)),
        ] {
            let written = std::fs::read(out.path().join(table).join(format!("{id}.parquet"))).expect("file");
            // Compare decoded data: the `geo` metadata lists geometry types in hash order.
            let batches = |bytes: bytes::Bytes| -> Vec<arrow::array::RecordBatch> {
                let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes).expect("parquet");
                reader.build().expect("reader").collect::<Result<_, _>>().expect("batches")
            };
            assert!(
                batches(encoded.expect("encode").bytes) == batches(written.into()),
                "{id}: the {table} table re-encodes differently"
            );
        }
        chunks += entry.manifest.chunk_count();
    }
    println!("{} granules, {chunks} chunks read back from the catalog exactly", all.len());
}

/// The subset index `vz index` writes beside the tables decodes to exactly the entry the tables
/// give for the same selection (what `vz subset` reads, and every array with its shapes), and a
/// damaged one is an error, never a panic.
#[tokio::test(flavor = "multi_thread")]
async fn the_subset_index_reads_back_as_the_tables_do() {
    use vz::catalog::{decode_entry_selected, decode_subset_index, Selection, SUBSET_INDEX};
    let out = tempfile::tempdir().expect("tempdir");
    let (catalog, granules) = index_fixtures(out.path()).await;
    let read = |table: &str, id: &str, ext: &str| bytes::Bytes::from(std::fs::read(catalog.join(table).join(format!("{id}.{ext}"))).expect("catalog file"));
    let (mut tagged, mut checked) = (0, 0);
    for id in granules.keys() {
        let index = read(SUBSET_INDEX, id, "vzs");
        let whole = vz::catalog::decode_entry(id, read("granules", id, "parquet"), read("arrays", id, "parquet"), read("chunks", id, "parquet"))
            .expect("tables");
        let arrays: std::collections::HashSet<String> = whole.manifest.arrays.iter().map(|a| a.path.clone()).collect();
        let subset = |geo: &[vz::catalog::GeolocationInfo]| vz::subset::selection(geo, None);
        let everything = |_: &[vz::catalog::GeolocationInfo]| Selection { footprints: arrays.clone(), arrays: arrays.clone() };
        for select in [&subset as &(dyn Fn(&[vz::catalog::GeolocationInfo]) -> Selection + Send + Sync), &everything] {
            let tables = decode_entry_selected(id, read("granules", id, "parquet"), read("arrays", id, "parquet"), read("chunks", id, "parquet"), select)
                .expect("tables");
            let mut fast = decode_subset_index(id, &index, select).expect("subset index");
            // Row boxes are the index's own (the tables have none): one per 512 rows of every chunk
            // that keeps its shape, and a box wherever its chunk has a valid point.
            for (path, (_, chunks)) in &mut fast.spatial {
                for c in chunks.iter_mut() {
                    let shaped = !c.h3.is_empty();
                    let runs = (c.rows.end - c.rows.start).div_ceil(vz::spatial::ROW_BOX_ROWS as u64) as usize;
                    assert_eq!(c.row_boxes.len(), if shaped { runs } else { 0 }, "{id} {path}: row boxes of rows {:?}", c.rows);
                    assert_eq!(c.row_boxes.iter().any(Option::is_some), shaped && c.points > 0, "{id} {path}: rows {:?}", c.rows);
                    c.row_boxes.clear();
                }
            }
            assert!(fast == tables, "{id}: the subset index decodes differently from the tables");
            tagged += fast.spatial.values().map(|(_, s)| s.iter().filter(|c| !c.h3.is_empty()).count()).sum::<usize>();
            checked += fast.manifest.chunk_count();
        }
        assert!(decode_subset_index("another", &index, &subset).is_err(), "{id}: read as another granule's");
    }
    assert!(tagged > 0, "no chunk kept its H3 cells: the test would prove little");
    println!("{} granules: {checked} chunks ({tagged} with shapes) equal through the subset index", granules.len());

    // Damage: every truncation and a byte set to 0xFF across one file give an error or an entry.
    let id = granules.keys().next().expect("a granule").clone();
    let index = read(SUBSET_INDEX, &id, "vzs").to_vec();
    let select = |geo: &[vz::catalog::GeolocationInfo]| vz::subset::selection(geo, None);
    let stride = (index.len() / 3000).max(1);
    for cut in (0..index.len()).step_by(stride) {
        let e = decode_subset_index(&id, &index[..cut], &select).expect_err("a truncated index decodes");
        assert!(e.to_string().contains(&format!("{SUBSET_INDEX}/{id}.vzs")), "{e}");
    }
    for at in (0..index.len()).step_by(stride) {
        let mut bad = index.clone();
        bad[at] = 0xFF;
        let _ = decode_subset_index(&id, &bad, &select);
    }
}
