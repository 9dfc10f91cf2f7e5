//! The `vz` command line: parse flags, run one library call, render the result.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: reading a granule's metadata makes tens of
/// thousands of small allocations (names, attribute values, paths), where glibc's malloc and
/// free were a quarter of the time. Measured in `docs/benchmarks.md`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (its values are kept stable: retired
/// options keep their slots). The bindings do not name it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Never hand freed memory back to the OS. mimalloc otherwise purges everything it holds
    // when the process exits, with `madvise` calls whose TLB shootdowns cost a million-chunk
    // `vz inspect` 20 ms, and subsets paid page faults again for memory it had purged. A `vz`
    // process's peak is its working set anyway, and memory still freed is reused inside it.
    // SAFETY: sets a plain integer option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    vz::cli::main()
}
