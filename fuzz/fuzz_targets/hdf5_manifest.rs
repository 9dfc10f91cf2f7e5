//! Fuzz target: arbitrary bytes into the native HDF5 reader (`vz::hdf5::read_manifest_bytes`).
//! Any result is fine; a panic, a hang or a huge allocation is a bug.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. Built normally it replays
//! files: `hdf5_manifest DIR_OR_FILE...` reads each file (directories: every file inside),
//! runs the reader on it and reports panics, so crashes found elsewhere can be checked on stable.

#![cfg_attr(fuzzing, no_main)]

fn check(data: &[u8]) {
    let _ = vz::hdf5::read_manifest_bytes(bytes::Bytes::copy_from_slice(data), "fuzz-input.h5");
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));

#[cfg(not(fuzzing))]
fn main() {
    use std::path::PathBuf;

    let mut files: Vec<PathBuf> = Vec::new();
    for arg in std::env::args_os().skip(1) {
        let path = PathBuf::from(arg);
        match std::fs::read_dir(&path) {
            Ok(entries) => {
                let mut inside: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                inside.sort();
                files.extend(inside.into_iter().filter(|p| p.is_file()));
            }
            Err(_) => files.push(path),
        }
    }
    if files.is_empty() {
        eprintln!("usage: hdf5_manifest DIR_OR_FILE...  (replays inputs through the reader)");
        std::process::exit(2);
    }
    let mut panics = 0;
    for path in &files {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let started = std::time::Instant::now();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panics += 1;
            eprintln!("PANIC on {}", path.display());
        }
        let took = started.elapsed();
        if took.as_secs() >= 5 {
            eprintln!("SLOW ({took:?}) on {}", path.display());
        }
    }
    println!("{} inputs replayed, {panics} panics", files.len());
    if panics > 0 {
        std::process::exit(1);
    }
}
