//! Issue 5: `vz subset --aoi` against a brute-force oracle.
//!
//! The fixtures (and the real ICESat-2 files in ../shared) are indexed, then `vz subset` runs for a
//! Greenland AOI, one with a hole, a MultiPolygon, one across the antimeridian and one on the real
//! ATL06 granule. tests/python/subset_oracle.py reads whole arrays with h5py, filters them with
//! shapely, and compares row for row; it also checks that the bytes read are at most 5% above the
//! floor the catalog allows, and that DuckDB and geopandas read the output.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

mod common;
use common::interop::{index_fixtures, python, repo};

fn boxed(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])
}

fn aois() -> Vec<(&'static str, Value)> {
    vec![
        ("hole", json!({"type": "Polygon", "coordinates": [boxed(-45.3794, 62.6324, -44.6206, 62.9820), boxed(-45.1, 62.7, -44.9, 62.9)]})),
        (
            "multipolygon",
            json!({"type": "MultiPolygon", "coordinates": [[boxed(-45.3, 62.65, -45.0, 62.75)], [boxed(-44.95, 62.8, -44.7, 62.95)]]}),
        ),
        (
            "antimeridian",
            json!({"type": "MultiPolygon", "coordinates": [[boxed(179.93, 66.45, 180.0, 66.55)], [boxed(-180.0, 66.45, -179.99, 66.55)]]}),
        ),
        ("real_atl06", json!({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [boxed(-107.2, -74.9, -106.95, -74.6)]}})),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn subset_equals_a_brute_force_oracle_and_reads_near_the_floor() {
    let Some(python) = python() else {
        println!("SKIP subset oracle: no Python venv (run scripts/test.sh)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, granules) = index_fixtures(dir.path()).await;
    let real = repo().join("../shared/fixtures/real/icesat2");
    // `vz subset --aoi AOI --manifests CATALOG` with `extra` flags, which must succeed: its stdout.
    let subset = |label: &str, aoi: &Path, extra: &[&OsStr]| {
        let run = Command::new(env!("CARGO_BIN_EXE_vz"))
            .arg("subset")
            .args(extra)
            .arg("--aoi")
            .arg(aoi)
            .arg("--manifests")
            .arg(&catalog)
            .output()
            .expect("run vz subset");
        assert!(run.status.success(), "{label}: vz subset failed: {}", String::from_utf8_lossy(&run.stderr));
        run.stdout
    };

    let greenland = repo().join("fixtures/greenland.geojson");
    let mut cases = vec![("greenland".to_string(), greenland.clone())];
    for (name, geometry) in aois() {
        let path = dir.path().join(format!("{name}.geojson"));
        std::fs::write(&path, geometry.to_string()).expect("write aoi");
        cases.push((name.to_string(), path));
    }
    let ids: serde_json::Map<String, Value> = granules.into_iter().map(|(id, path)| (id, json!(path))).collect();
    for (name, aoi) in cases {
        let output = dir.path().join(format!("{name}.parquet"));
        let stdout = subset(&name, &aoi, &["--json".as_ref(), "-o".as_ref(), output.as_os_str()]);
        let report: Value = serde_json::from_slice(&stdout).expect("--json report");
        let points = report["points"].as_u64().unwrap_or(0);
        if name == "real_atl06" && !real.exists() {
            continue;
        }
        assert!(points > 0, "{name}: the AOI selects no point, so the test would prove nothing");
        let report_path = dir.path().join(format!("{name}.report.json"));
        std::fs::write(&report_path, report.to_string()).expect("write report");
        let spec = json!({"catalog": catalog, "aoi": aoi, "output": output, "report": report_path, "granules": ids});
        let spec_path = dir.path().join(format!("{name}.spec.json"));
        std::fs::write(&spec_path, spec.to_string()).expect("write spec");
        let check = Command::new(&python)
            .arg(repo().join("tests/python/subset_oracle.py"))
            .arg(&spec_path)
            .output()
            .expect("run the oracle");
        assert!(
            check.status.success(),
            "{name}: {}\n{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        println!("{name}: {points} points; oracle {}", String::from_utf8_lossy(&check.stdout).trim());
    }

    // `--plan` reads nothing but the catalog: per granule, an upper bound of what the run read.
    let plan: Value = serde_json::from_slice(&subset("--plan", &greenland, &["--plan".as_ref(), "--json".as_ref()])).expect("--plan --json");
    let ran: Value = serde_json::from_slice(&std::fs::read(dir.path().join("greenland.report.json")).expect("report")).expect("report json");
    let ran = ran["granules"].as_array().expect("granules").clone();
    let planned = plan.as_array().expect("a list of granules");
    assert_eq!(planned.len(), ran.len(), "--plan lists every granule");
    for (p, r) in planned.iter().zip(&ran) {
        assert_eq!(p["granule"], r["granule"]);
        assert_eq!(p["groups"], r["groups"], "{}: groups", p["granule"]);
        for (bound, read) in [("chunks", "chunks"), ("bytes", "floor_bytes")] {
            assert!(p[bound].as_u64() >= r[read].as_u64(), "{}: planned {bound} {} < read {}", p["granule"], p[bound], r[read]);
        }
    }
    assert!(ran.iter().any(|r| r["chunks"].as_u64() > Some(0)), "the plan check would prove nothing");

    // With a subset index of the older layout (no row boxes), or none (a catalog of an older vz),
    // the tables are read: the same file.
    let index_dir = catalog.join(vz::catalog::SUBSET_INDEX);
    for file in std::fs::read_dir(&index_dir).expect("subset index") {
        let path = file.expect("index file").path();
        let mut bytes = std::fs::read(&path).expect("index file");
        bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
        std::fs::write(&path, bytes).expect("older layout");
    }
    let read = |p: &Path| std::fs::read(p).expect("subset output");
    let from_index = read(&dir.path().join("greenland.parquet"));
    let older = dir.path().join("greenland-older.parquet");
    subset("from an older subset index", &greenland, &["-o".as_ref(), older.as_os_str()]);
    assert!(read(&older) == from_index, "an older subset index and the current one give different subsets");
    std::fs::remove_dir_all(&index_dir).expect("remove the subset index");
    let from_tables = dir.path().join("greenland-tables.parquet");
    subset("from the tables", &greenland, &["-o".as_ref(), from_tables.as_os_str()]);
    assert!(read(&from_tables) == from_index, "the tables and the subset index give different subsets");
}

/// A catalog directory that does not exist, or holds no indexed granule, is an error naming it
/// (exit 1), not an empty subset; no output file is left behind.
#[test]
fn a_missing_or_empty_catalog_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let missing = dir.path().join("missing");
    for (catalog, why) in [(&missing, "no such directory"), (&empty, "no indexed granules")] {
        let output = dir.path().join("out.parquet");
        let run = Command::new(env!("CARGO_BIN_EXE_vz"))
            .args(["subset", "--aoi"])
            .arg(repo().join("fixtures/greenland.geojson"))
            .arg("--manifests")
            .arg(catalog)
            .arg("-o")
            .arg(&output)
            .output()
            .expect("run vz subset");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(why) && stderr.contains(&*catalog.display().to_string()), "{stderr}");
        assert!(!output.exists(), "an output was written for {}", catalog.display());
    }
}
