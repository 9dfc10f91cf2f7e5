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
#[path = "replay.rs"]
mod replay;

#[cfg(not(fuzzing))]
fn main() {
    replay::replay("dmrpp_parse", check);
}
