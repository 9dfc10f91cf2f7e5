//! Issue 6: `vz export kerchunk`. References for the synthetic ATL06 fixtures and the real files
//! in ../shared are read back by real clients — fsspec's ReferenceFileSystem under zarr-python 3
//! (zarr_format=2) and xarray — and every exported array must equal h5py's reading of the HDF5
//! file (tests/python/kerchunk_checks.py), from the JSON and from the Parquet layout.

mod common;

use std::path::Path;
use std::process::Command;

use common::interop::{python, repo};
use common::servers::{MotoServer, S3_KEY, S3_REGION};

use serde_json::json;
use vz::index::{granule_id, read_granule, DmrppMode, IndexOptions};
use vz::kerchunk::{references, to_json, to_parquet, write, write_local, Encoded, ReferenceOptions, References, Target};
use vz::manifest::GranuleManifest;

fn files_in(dir: &Path, ext: Option<&str>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        println!("SKIP {}: not found", dir.display());
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

fn fixtures() -> Vec<String> {
    files_in(&repo().join("fixtures"), Some("h5"))
}

fn real(dir: &str) -> Vec<String> {
    files_in(&repo().join("../shared/fixtures/real").join(dir), None)
}

/// Manifests from the HDF5 headers (the DMR++ sidecars of dmrpp_pairs/ describe less: no fill
/// time, DAP4 types).
async fn manifests(files: &[String]) -> Vec<GranuleManifest> {
    let opts = IndexOptions { dmrpp: DmrppMode::Never, ..Default::default() };
    let mut out = Vec::new();
    for f in files {
        out.push(read_granule(f, &opts).await.unwrap_or_else(|e| panic!("{f}: {e}")));
    }
    out
}

/// The checker's cases: per granule, its file and the HDF5 paths of its exported arrays.
fn cases(refs: &References, manifests: &[GranuleManifest], at_root: bool) -> serde_json::Value {
    let list: Vec<serde_json::Value> = manifests
        .iter()
        .map(|m| {
            let prefix = if at_root { String::new() } else { granule_id(&m.url) };
            let arrays: Vec<String> = refs
                .arrays
                .keys()
                .filter_map(|k| if prefix.is_empty() { Some(k.as_str()) } else { k.strip_prefix(&format!("{prefix}/")) })
                .map(|k| format!("/{k}"))
                .collect();
            json!({"prefix": prefix, "file": m.url, "arrays": arrays})
        })
        .collect();
    json!(list)
}

/// Write `refs` as JSON and/or Parquet and run the Python checker on each.
fn check_with_clients(name: &str, refs: &References, manifests: &[GranuleManifest], at_root: bool, parquet_record_size: Option<u64>) {
    let Some(python) = python() else {
        println!("SKIP {name}: no VZ_PYTHON (scripts/test.sh provides it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cases_path = dir.path().join("cases.json");
    std::fs::write(&cases_path, cases(refs, manifests, at_root).to_string()).expect("write cases");
    let mut outputs = vec![dir.path().join("refs.json")];
    write_local(&outputs[0], &to_json(refs)).expect("write json");
    if let Some(record_size) = parquet_record_size {
        outputs.push(dir.path().join("refs.parquet"));
        write_local(&outputs[1], &to_parquet(refs, record_size).expect("parquet")).expect("write parquet");
    }
    for out in outputs {
        let run = Command::new(&python)
            .arg(repo().join("tests/python/kerchunk_checks.py"))
            .arg(&out)
            .arg(&cases_path)
            .output()
            .expect("run python");
        println!("{name}:\n{}", String::from_utf8_lossy(&run.stdout));
        eprintln!("{}", String::from_utf8_lossy(&run.stderr));
        assert!(run.status.success(), "{name}: clients disagree with h5py on {} (see above)", out.display());
    }
}

fn skipped_reasons(refs: &References) -> Vec<String> {
    refs.skipped.iter().map(|s| format!("{}: {}: {}", s.granule, s.path, s.reason)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn synthetic_atl06_references_read_back_equal_to_h5py() {
    let files = fixtures();
    assert_eq!(files.len(), 4, "four synthetic granules");
    let ms = manifests(&files).await;
    let refs = references(&ms, &ReferenceOptions::default()).expect("references");
    assert!(refs.skipped.is_empty(), "{:#?}", skipped_reasons(&refs));
    assert_eq!(refs.arrays.len(), 4 * 176, "every array of every granule");
    assert_eq!(refs.chunk_count(), ms.iter().map(GranuleManifest::chunk_count).sum::<usize>() + ms.iter().map(|m| m.arrays.iter().filter(|a| a.inline.is_some()).count()).sum::<usize>());
    // A record size of 2 splits every multi-chunk array over several Parquet files.
    check_with_clients("synthetic ATL06", &refs, &ms, false, Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn real_icesat2_references_read_back_equal_to_h5py() {
    let files = real("icesat2");
    if files.is_empty() {
        return;
    }
    let ms = manifests(&files).await;
    let refs = references(&ms, &ReferenceOptions::default()).expect("references");
    // Only the two netCDF dimension-only scales of the ATL16 file are left out.
    let skipped = skipped_reasons(&refs);
    assert_eq!(skipped.len(), 2, "{skipped:#?}");
    assert!(skipped.iter().all(|s| s.contains("ATL16") && s.contains("netCDF dimension without a variable")), "{skipped:#?}");
    println!("icesat2: {} arrays, {} chunk references", refs.arrays.len(), refs.chunk_count());
    check_with_clients("real ICESat-2", &refs, &ms, false, Some(DEFAULT));
}

const DEFAULT: u64 = vz::kerchunk::DEFAULT_RECORD_SIZE;

#[tokio::test(flavor = "multi_thread")]
async fn real_hdf5_corner_cases_read_back_equal_to_h5py_or_are_reported() {
    let mut files = real("hdf5");
    files.extend(real("dmrpp_pairs").into_iter().filter(|f| !f.ends_with(".dmrpp")));
    if files.is_empty() {
        return;
    }
    let ms = manifests(&files).await;
    let refs = references(&ms, &ReferenceOptions::default()).expect("references");
    let skipped = skipped_reasons(&refs);
    println!("hdf5/ and dmrpp_pairs/: {} arrays, {} chunk references, {} skipped", refs.arrays.len(), refs.chunk_count(), skipped.len());
    for what in ["variable-length strings", "no Zarr codec for HDF5 filter szip", "virtual", "external", "chunks skip filters"] {
        assert!(skipped.iter().any(|s| s.contains(what)), "expected a skipped array for {what}: {skipped:#?}");
    }
    // Never a reference whose chunks skipped filters the pipeline applies.
    for m in &ms {
        for a in &m.arrays {
            let key = format!("{}/{}", granule_id(&m.url), a.path.trim_start_matches('/'));
            if refs.arrays.contains_key(&key) {
                let masks: std::collections::BTreeSet<u32> = a.chunks.iter().map(|c| c.filter_mask).collect();
                assert!(masks.len() <= 1, "{key}: exported with mixed filter masks {masks:?}");
            }
        }
    }
    check_with_clients("real hdf5/ and dmrpp_pairs/", &refs, &ms, false, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_granule_at_the_root_and_duplicate_ids() {
    let files = fixtures();
    let ms = manifests(&files[..1]).await;
    let refs = references(&ms, &ReferenceOptions { at_root: true }).expect("references");
    assert!(refs.metadata.contains_key(".zgroup") && refs.metadata.contains_key(".zattrs"), "root group with the file's attributes");
    let h_li = refs.arrays.get("gt1l/land_ice_segments/h_li").expect("h_li at the root");
    assert!(matches!(&h_li.chunks[0].1, Target::Range { url, .. } if url.as_ref() == ms[0].url));
    let z = &refs.metadata["gt1l/land_ice_segments/h_li/.zarray"];
    assert_eq!(z["dtype"], "<f4");
    assert_eq!(z["fill_value"], 3.4028234663852886e38);
    assert_eq!(z["compressor"], serde_json::Value::Null);
    assert_eq!(refs.metadata["gt1l/land_ice_segments/h_li/.zattrs"]["_ARRAY_DIMENSIONS"], json!(["delta_time"]));
    check_with_clients("one granule at the root", &refs, &ms, true, Some(DEFAULT));

    let two = manifests(&[files[0].clone(), files[0].clone()]).await;
    assert!(references(&two, &ReferenceOptions { at_root: true }).is_err(), "--root takes one granule");
    let refs = references(&two, &ReferenceOptions::default()).expect("references");
    assert_eq!(refs.skipped.len(), 1, "the second granule with the same id is reported");
    assert_eq!(refs.arrays.len(), 176);
}

#[test]
fn cli_writes_json_and_parquet_and_reports_what_it_leaves_out() {
    let vz = env!("CARGO_BIN_EXE_vz");
    let dir = tempfile::tempdir().expect("tempdir");
    let list = repo().join("fixtures/granules.txt");
    let json_out = dir.path().join("atl06.json");
    let run = Command::new(vz).args(["export", "kerchunk"]).arg(&list).arg("-o").arg(&json_out).output().expect("run vz");
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let text: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_out).expect("json")).expect("valid JSON");
    assert_eq!(text["version"], 1);
    assert!(text["refs"]["ATL06_20200325234244_07640603_006_01/gt1l/land_ice_segments/h_li/0"].is_array());
    assert!(text["refs"][".zmetadata"].is_string(), "consolidated metadata for zarr-python");

    let pq = dir.path().join("atl06.parquet");
    for _ in 0..2 {
        // Twice: the second run replaces the directory.
        let run = Command::new(vz).args(["export", "kerchunk"]).arg(&list).arg("-o").arg(&pq).output().expect("run vz");
        assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    }
    let zmeta: serde_json::Value = serde_json::from_slice(&std::fs::read(pq.join(".zmetadata")).expect(".zmetadata")).expect("json");
    assert_eq!(zmeta["record_size"], DEFAULT);
    assert!(pq.join("ATL06_20200325234244_07640603_006_01/gt1l/land_ice_segments/h_li/refs.0.parq").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary files left: {leftovers:?}");

    let bad = Command::new(vz).args(["export", "kerchunk"]).arg(&list).arg("-o").arg(dir.path().join("refs.txt")).output().expect("run");
    assert_eq!(bad.status.code(), Some(1), "an output name that says neither JSON nor Parquet");
    let two_at_root = Command::new(vz).args(["export", "kerchunk", "--root"]).arg(&list).arg("-o").arg(&json_out).output().expect("run");
    assert_eq!(two_at_root.status.code(), Some(1), "--root with four granules");

    let vlen = repo().join("../shared/fixtures/real/hdf5/tvldtypes1.h5");
    if vlen.is_file() {
        let run = Command::new(vz).args(["export", "kerchunk", "--root"]).arg(&vlen).arg("-o").arg(&json_out).output().expect("run");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "partial: {stderr}");
        assert!(stderr.contains("not exported: no Zarr v2 data type for HDF5 vlen elements"), "{stderr}");
    }
}

#[test]
fn references_from_the_catalog_equal_references_from_the_granules() {
    let vz = env!("CARGO_BIN_EXE_vz");
    let dir = tempfile::tempdir().expect("tempdir");
    let list = repo().join("fixtures/granules.txt");
    let catalog = dir.path().join("manifests");
    let run = Command::new(vz).arg("index").arg(&list).arg("-o").arg(&catalog).output().expect("run vz index");
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let (direct, from_catalog) = (dir.path().join("direct.json"), dir.path().join("catalog.json"));
    let run = Command::new(vz).args(["export", "kerchunk"]).arg(&list).arg("-o").arg(&direct).output().expect("run");
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let run = Command::new(vz).args(["export", "kerchunk", "--manifests"]).arg(&catalog).arg("-o").arg(&from_catalog).output().expect("run");
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        std::fs::read(&direct).expect("direct") == std::fs::read(&from_catalog).expect("from catalog"),
        "the catalog carries everything the references need"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_of_s3_granules_are_written_to_s3() {
    let Some(python) = MotoServer::python("kerchunk s3") else { return };
    let moto = MotoServer::start(&python).await.unwrap_or_else(|e| panic!("moto: {e}"));
    let name = "ATL06_20200325234244_07640603_006_01.h5";
    moto.upload("vz-kerchunk", &repo().join("fixtures"), &[name.to_string()]).await.unwrap_or_else(|e| panic!("moto: {e}"));
    // The S3 client takes credentials and region from the environment, like on AWS.
    std::env::set_var("AWS_ACCESS_KEY_ID", S3_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", S3_KEY);
    std::env::set_var("AWS_REGION", S3_REGION);
    let opts = IndexOptions {
        dmrpp: DmrppMode::Never,
        source: vz::source::SourceOptions { s3_endpoint: Some(moto.endpoint.clone()), ..Default::default() },
        ..Default::default()
    };
    let url = format!("s3://vz-kerchunk/{name}");
    let m = read_granule(&url, &opts).await.expect("granule over S3");
    let refs = references(std::slice::from_ref(&m), &ReferenceOptions::default()).expect("references");
    let Target::Range { url: chunk_url, .. } = &refs.arrays["ATL06_20200325234244_07640603_006_01/gt1l/land_ice_segments/h_li"].chunks[0].1
    else {
        panic!("a byte range")
    };
    assert_eq!(chunk_url.as_ref(), url, "chunks point at the S3 object");
    let json = to_json(&refs);
    write("s3://vz-kerchunk/refs/atl06.json", &json, &opts.source).await.expect("write json to S3");
    let parquet = to_parquet(&refs, DEFAULT).expect("parquet");
    write("s3://vz-kerchunk/refs/atl06.parquet", &parquet, &opts.source).await.expect("write parquet to S3");
    let back = vz::source::open("s3://vz-kerchunk/refs/atl06.json", &opts.source).expect("open");
    let size = back.size().await.expect("size");
    let bytes = back.get_ranges(&[0..size]).await.expect("read back").remove(0);
    assert_eq!(Encoded::File(bytes.to_vec()), json, "the JSON object is what was encoded");
    let Encoded::Directory(files) = &parquet else { panic!("a directory") };
    for (file, content) in files.iter().filter(|(f, _)| f == ".zmetadata" || f.ends_with("h_li/refs.0.parq")) {
        let o = vz::source::open(&format!("s3://vz-kerchunk/refs/atl06.parquet/{file}"), &opts.source).expect("open");
        let size = o.size().await.expect("size");
        assert_eq!(o.get_ranges(&[0..size]).await.expect("read").remove(0).to_vec(), *content, "{file}");
    }
    drop(moto);
}
