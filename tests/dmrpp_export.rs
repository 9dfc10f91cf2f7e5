//! Issue 3: `vz export dmrpp` round-trips. For the real HDF5 files in ../shared and the synthetic
//! ATL06 fixtures, the DMR++ written from the HDF5 manifest parses back (with vz's DMR++ reader)
//! to the same manifest for every variable it describes.

mod common;

use std::path::{Path, PathBuf};

use common::servers::{MotoServer, S3_KEY, S3_REGION};

use vz::dmrpp::{parse_dmrpp, write_dmrpp};
use vz::hdf5::read_manifest_bytes;
use vz::manifest::{ArrayMeta, Datatype};

fn inputs() -> Vec<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo.join("fixtures"))
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    let real = repo.join("../shared/fixtures/real");
    if real.is_dir() {
        for dir in ["hdf5", "dmrpp_pairs", "icesat2"] {
            if let Ok(entries) = std::fs::read_dir(real.join(dir)) {
                files.extend(
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| !p.extension().is_some_and(|e| e == "dmrpp")),
                );
            }
        }
    } else {
        println!("SKIP real files: {} not found", real.display());
    }
    files.sort();
    files
}

/// What a DAP4 reader can know of a type: class, element size, byte order and string padding.
fn same_type(h: &Datatype, d: &Datatype) -> bool {
    match (h, d) {
        (Datatype::String { size: a, padding: p, .. }, Datatype::String { size: b, padding: q, .. }) => a == b && p == q,
        (Datatype::Enum { base, .. }, other) => same_type(base, other),
        (a, b) => a.class_name() == b.class_name() && a.size() == b.size() && a.order() == b.order(),
    }
}

fn compare(h: &ArrayMeta, d: &ArrayMeta) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |what: &str, ok: bool, a: String, b: String| {
        if !ok {
            diffs.push(format!("{}: {what}: hdf5 {a} vs dmrpp {b}", h.path));
        }
    };
    check("shape", h.shape == d.shape, format!("{:?}", h.shape), format!("{:?}", d.shape));
    check("dtype", same_type(&h.dtype, &d.dtype), format!("{:?}", h.dtype), format!("{:?}", d.dtype));
    check("layout", h.layout == d.layout, format!("{:?}", h.layout), format!("{:?}", d.layout));
    check("chunk shape", h.chunk_shape == d.chunk_shape, format!("{:?}", h.chunk_shape), format!("{:?}", d.chunk_shape));
    let filters = |a: &ArrayMeta| a.filters.iter().map(|f| (f.id, f.params.clone())).collect::<Vec<_>>();
    check("filters", filters(h) == filters(d), format!("{:?}", filters(h)), format!("{:?}", filters(d)));
    let numeric = matches!(h.dtype, Datatype::Integer { .. } | Datatype::Float { .. });
    if numeric && h.fill.value.is_some() {
        check("fill", h.fill.value == d.fill.value, format!("{:?}", h.fill.value), format!("{:?}", d.fill.value));
    }
    let chunks = |a: &ArrayMeta| a.chunks.iter().map(|c| (c.coords.clone(), c.offset, c.length, c.filter_mask)).collect::<Vec<_>>();
    check("chunks", chunks(h) == chunks(d), format!("{} chunks", h.chunks.len()), format!("{} chunks", d.chunks.len()));
    check("inline", h.inline == d.inline, format!("{:?}", h.inline.as_ref().map(Vec::len)), format!("{:?}", d.inline.as_ref().map(Vec::len)));
    diffs
}

#[test]
fn exported_dmrpp_parses_back_to_the_hdf5_manifest() {
    let (mut files, mut arrays, mut chunks, mut skipped) = (0, 0, 0, 0);
    let mut diffs = Vec::new();
    for path in inputs() {
        let bytes = std::fs::read(&path).expect("read");
        let name = path.display().to_string();
        let Ok(h) = read_manifest_bytes(bytes.into(), &name) else { continue };
        let exported = write_dmrpp(&h, "OPeNDAP_DMRpp_DATA_ACCESS_URL");
        let d = parse_dmrpp(exported.xml.as_bytes(), &format!("{name}.dmrpp"))
            .unwrap_or_else(|e| panic!("{name}: the exported DMR++ does not parse: {e}"));
        assert_eq!(d.url, name, "placeholder href resolves to the sidecar's URL minus .dmrpp");
        files += 1;
        skipped += exported.skipped.len();
        for a in &h.arrays {
            if exported.skipped.iter().any(|p| p.path == a.path) {
                continue;
            }
            match d.array(&a.path) {
                Some(b) => {
                    arrays += 1;
                    chunks += a.chunks.len();
                    diffs.extend(compare(a, b).into_iter().map(|x| format!("{name}: {x}")));
                }
                None => diffs.push(format!("{name}: {} written but not parsed back", a.path)),
            }
        }
    }
    println!("{files} files, {arrays} arrays, {chunks} chunks round-tripped through DMR++; {skipped} arrays not expressible in DAP4");
    for d in diffs.iter().take(40) {
        println!("DIFF {d}");
    }
    assert!(diffs.is_empty(), "{} differences", diffs.len());
    assert!(arrays > 1000 && chunks > 50_000, "the round trip covers the fixtures");
}

#[test]
fn virtualizarr_reads_exported_sidecars_of_the_synthetic_granules() {
    let python = match std::env::var("VZ_PYTHON") {
        Ok(p) if Path::new(&p).exists() => p,
        _ => {
            println!("SKIP VirtualiZarr check: no VZ_PYTHON (scripts/test.sh provides it)");
            return;
        }
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = Vec::new();
    for granule in inputs().into_iter().filter(|p| p.starts_with(repo.join("fixtures"))) {
        let name = granule.file_name().expect("name").to_string_lossy().to_string();
        let copy = dir.path().join(&name);
        std::fs::copy(&granule, &copy).expect("copy granule");
        let m = read_manifest_bytes(std::fs::read(&copy).expect("read").into(), &copy.display().to_string()).expect("manifest");
        let sidecar = dir.path().join(format!("{name}.dmrpp"));
        std::fs::write(&sidecar, write_dmrpp(&m, "OPeNDAP_DMRpp_DATA_ACCESS_URL").xml).expect("write sidecar");
        let json = dir.path().join(format!("{name}.json"));
        std::fs::write(&json, serde_json::to_vec(&m).expect("json")).expect("write manifest");
        args.push(json);
        args.push(sidecar);
    }
    assert_eq!(args.len(), 8, "four synthetic granules");
    let run = std::process::Command::new(python)
        .arg(repo.join("tests/python/virtualizarr_dmrpp.py"))
        .args(&args)
        .output()
        .expect("run python");
    println!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "VirtualiZarr disagrees (see above)");
}

/// `vz export dmrpp` reads a granule from S3 (moto on 127.0.0.1) and writes the sidecar beside
/// it; the sidecar parses back to the granule's manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_a_sidecar_of_an_s3_granule_to_s3() {
    let Some(python) = MotoServer::python("dmrpp export s3") else { return };
    let moto = MotoServer::start(&python).await.unwrap_or_else(|e| panic!("moto: {e}"));
    let name = "ATL06_20200325234244_07640603_006_01.h5";
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    moto.upload("vz-dmrpp", &repo.join("fixtures"), &[name.to_string()]).await.unwrap_or_else(|e| panic!("moto: {e}"));
    let (granule, sidecar) = (format!("s3://vz-dmrpp/{name}"), format!("s3://vz-dmrpp/{name}.dmrpp"));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_vz"))
        .args(["export", "dmrpp", &granule, "-o", &sidecar, "--s3-endpoint", &moto.endpoint])
        .envs([("AWS_ACCESS_KEY_ID", S3_KEY), ("AWS_SECRET_ACCESS_KEY", S3_KEY), ("AWS_REGION", S3_REGION)])
        .output()
        .expect("run vz export dmrpp");
    assert!(run.status.success(), "vz export dmrpp: {}", String::from_utf8_lossy(&run.stderr));
    // The S3 client takes credentials and region from the environment, like on AWS.
    std::env::set_var("AWS_ACCESS_KEY_ID", S3_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", S3_KEY);
    std::env::set_var("AWS_REGION", S3_REGION);
    let opts = vz::source::SourceOptions { s3_endpoint: Some(moto.endpoint.clone()), ..Default::default() };
    let back = vz::source::open(&sidecar, &opts).expect("open the sidecar");
    let size = back.size().await.expect("size");
    let xml = back.get_ranges(&[0..size]).await.expect("read the sidecar").remove(0);
    let d = parse_dmrpp(&xml, &sidecar).expect("the sidecar parses");
    assert_eq!(d.url, granule, "the placeholder href resolves to the granule beside it");
    let local = std::fs::read(repo.join("fixtures").join(name)).expect("fixture");
    let h = read_manifest_bytes(local.into(), name).expect("manifest");
    let mut compared = 0;
    for a in h.arrays.iter().filter(|a| !a.chunks.is_empty()) {
        let b = d.array(&a.path).unwrap_or_else(|| panic!("{} missing from the sidecar", a.path));
        assert_eq!(compare(a, b), Vec::<String>::new(), "{}", a.path);
        compared += 1;
    }
    assert!(compared > 100, "{compared} arrays compared");
    drop(moto);
}
