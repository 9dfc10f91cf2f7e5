//! Fuzz target: arbitrary bytes into the DMR++ parser (`vz::dmrpp::parse_dmrpp`).
//! Any result is fine; a panic, a hang or a huge allocation is a bug.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. Built normally it replays
//! files: `dmrpp_parse DIR_OR_FILE...` reads each file (directories: every file inside),
//! runs the parser on it and reports panics, so crashes found elsewhere can be checked on stable.

#![cfg_attr(fuzzing, no_main)]

/// Parse the bytes; `Some(number of arrays)` when they parse as DMR++.
fn check(data: &[u8]) -> Option<usize> {
    vz::dmrpp::parse_dmrpp(data, "https://example.org/fuzz-input.h5.dmrpp").ok().map(|m| m.arrays.len())
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = check(data);
});

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
        eprintln!("usage: dmrpp_parse DIR_OR_FILE...  (replays inputs through the reader)");
        std::process::exit(2);
    }
    let (mut panics, mut read, mut arrays) = (0, 0, 0);
    for path in &files {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let started = std::time::Instant::now();
        match std::panic::catch_unwind(|| check(&data)) {
            Ok(Some(n)) => {
                read += 1;
                arrays += n;
            }
            Ok(None) => {}
            Err(_) => {
                panics += 1;
                eprintln!("PANIC on {}", path.display());
            }
        }
        let took = started.elapsed();
        if took.as_secs() >= 5 {
            eprintln!("SLOW ({took:?}) on {}", path.display());
        }
    }
    println!(
        "{} inputs replayed: {read} read as HDF5 ({arrays} arrays), {panics} panics",
        files.len()
    );
    if panics > 0 {
        std::process::exit(1);
    }
}
