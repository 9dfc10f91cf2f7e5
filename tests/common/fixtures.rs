//! Locating the real-data fixtures. They are third-party files kept outside the repository, in
//! `../shared/fixtures/real` (CI clones the repo with `shared/` beside it); tests skip with a
//! printed notice when the folder is absent.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Folders (under the fixtures root) whose HDF5 files have answer keys, and which the conformance
/// suite reads. `dmrpp_pairs/` also holds `.dmrpp` sidecars, which are not HDF5.
pub const CONFORMANCE_DIRS: [&str; 3] = ["hdf5", "dmrpp_pairs", "icesat2"];

/// The fixtures root (`$VZ_FIXTURES`, else `../shared/fixtures/real` beside the crate), or `None`
/// after printing a skip notice naming `test` when it does not exist.
pub fn fixtures_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("VZ_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real")),
    };
    if dir.is_dir() {
        Some(std::path::absolute(&dir).unwrap_or(dir))
    } else {
        say(&format!("SKIP {test}: fixtures folder {} not found (set VZ_FIXTURES or clone shared/ beside the repo)", dir.display()));
        None
    }
}

/// The HDF5 fixtures of the conformance suite, as paths relative to the fixtures root
/// (`hdf5/tall.h5`), sorted. `$VZ_ONLY` (a substring) narrows the list, to rerun one file.
///
/// # Panics
/// When a conformance folder cannot be listed: the fixtures are incomplete.
pub fn conformance_files(root: &Path) -> Vec<String> {
    let only = std::env::var("VZ_ONLY").ok();
    all_fixture_files(root).into_iter().filter(|rel| only.as_deref().is_none_or(|o| rel.contains(o))).collect()
}

/// Every HDF5 fixture of the conformance suite, ignoring `$VZ_ONLY`.
///
/// # Panics
/// When a conformance folder cannot be listed: the fixtures are incomplete.
pub fn all_fixture_files(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for dir in CONFORMANCE_DIRS {
        let entries = std::fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("listing {}/{dir}: {e}", root.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("listing {}/{dir}: {e}", root.display()));
            let name = entry.file_name().to_string_lossy().into_owned();
            if !entry.path().is_file() || name.ends_with(".dmrpp") || name.starts_with('.') {
                continue;
            }
            files.push(format!("{dir}/{name}"));
        }
    }
    files.sort();
    files
}

/// The answer key of a fixture: `reference_manifests/<dir>/<file>.json`.
pub fn key_path(root: &Path, rel: &str) -> PathBuf {
    root.join("reference_manifests").join(format!("{rel}.json"))
}

/// Print a line that shows even when libtest captures output (it captures only the print macros),
/// so CI logs carry the figures of passing runs too.
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
