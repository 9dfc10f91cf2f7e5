//! The `vz` command line: parse flags, run one library call, render the result.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: reading a granule's metadata makes tens of
/// thousands of small allocations (names, attribute values, paths), where glibc's malloc and
/// free were a quarter of the time, and its size classes and reuse avoid glibc's trimming and
/// consolidation passes. Measured in `docs/benchmarks.md`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    vz::cli::main()
}
