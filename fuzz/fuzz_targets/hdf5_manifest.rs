//! Fuzz target: arbitrary bytes into the native HDF5 reader (`vz::hdf5::read_manifest_bytes`).
//! Any result is fine; a panic, a hang or a huge allocation is a bug.
//!
//! Under `cargo fuzz` (`--cfg fuzzing`) this is a libFuzzer target. Built normally it replays
//! files: `hdf5_manifest DIR_OR_FILE...` reads each file (directories: every file inside),
//! runs the reader on it and reports panics, so crashes found elsewhere can be checked on stable.

#![cfg_attr(fuzzing, no_main)]

/// Read the bytes; `Some(number of arrays)` when they read as HDF5.
fn check(data: &[u8]) -> Option<usize> {
    vz::hdf5::read_manifest_bytes(bytes::Bytes::copy_from_slice(data), "fuzz-input.h5")
        .ok()
        .map(|m| m.arrays.len())
}

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = check(data);
});

#[cfg(not(fuzzing))]
#[path = "replay.rs"]
mod replay;

#[cfg(not(fuzzing))]
fn main() {
    replay::replay("hdf5_manifest", check);
}
