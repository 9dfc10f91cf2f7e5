//! What the interop tests (catalog, subset, serve, kerchunk) share: the repository root, the
//! project's Python, the real ICESat-2 files, and a catalog of the fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vz::index::{granule_id, index_granules, read_granule_list, IndexOptions};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python of the interop checks: `$VZ_PYTHON` when it exists, else the repo's `.venv`.
pub fn python() -> Option<String> {
    match std::env::var("VZ_PYTHON") {
        Ok(p) if Path::new(&p).exists() => Some(p),
        _ => {
            let venv = repo().join(".venv/bin/python");
            venv.exists().then(|| venv.display().to_string())
        }
    }
}

/// The real ICESat-2 files in ../shared, sorted; none (after a skip notice) when absent.
pub fn real_icesat2() -> Vec<String> {
    let dir = repo().join("../shared/fixtures/real/icesat2");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("SKIP real ICESat-2 files: {} not found", dir.display());
        return Vec::new();
    };
    let mut v: Vec<String> = entries.filter_map(|e| e.ok()).map(|e| e.path().display().to_string()).collect();
    v.sort();
    v
}

/// Index the synthetic granules of fixtures/granules.txt and the real ICESat-2 files into
/// `dir/manifests`; returns the catalog root and granule id → file path.
pub async fn index_fixtures(dir: &Path) -> (PathBuf, BTreeMap<String, String>) {
    let mut granules = read_granule_list(&repo().join("fixtures/granules.txt")).expect("fixtures/granules.txt");
    granules.extend(real_icesat2());
    let catalog = dir.join("manifests");
    let opts = IndexOptions { output: catalog.display().to_string(), ..Default::default() };
    let report = index_granules(&granules, &opts, &|_| {}).await.expect("index");
    assert_eq!(report.counts().2, 0, "indexing failed: {report:?}");
    let ids = granules.iter().map(|g| (granule_id(g), g.clone())).collect();
    (catalog, ids)
}
