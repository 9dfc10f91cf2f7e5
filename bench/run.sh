#!/usr/bin/env bash
# Run every benchmark, from the repository root:
#   1. generate bench-data/ (8 synthetic ATL06 granules + a 1M-chunk file; kept if present)
#   2. build vz and the loop examples (release) and examples/range_server
#   3. local chunk listing (issue 2): vz vs h5py chunk_iter vs kerchunk, side by side
#   4. remote (issue 2): vz over HTTP (requests, bytes, sequential round trips per granule)
#   5. DMR++ parsing (issue 3): vz vs VirtualiZarr's DMRParser
#   6. vz index vs kerchunk (+ bbox pass), and vz index over moto's S3 (issue 4;
#      bench/run_index.sh runs this step alone)
#   7. vz subset vs the Python baselines, and over moto's S3 (issue 5; bench/run_subset.sh)
# Results: printed tables + bench-data/results/*.json. See docs/benchmarks.md.
#
# Environment: VZ_PYTHON (python with h5py, kerchunk, fsspec; default .venv/bin/python),
# VZ_SHARED (folder with tools/make_atl06.py; default ../shared), CARGO_TARGET_DIR,
# VZ_RUNS (timed runs per tool and granule, default 5), VZ_CAP (seconds per run before a
# tool is reported as "> cap", default 120), VZ_DELAY_MS (simulated latency for the
# remote part, default 0), VZ_INDEX_CAP (seconds one `vz index` benchmark run over all granules
# may take, default 300). Extra arguments go to bench/chunk_listing.py.
set -euo pipefail

source "$(dirname "$0")/prelude.sh"

echo "== building vz, the loop examples and the range server (release)"
# Examples build with the dev-dependencies (static HDF5): one release build serves the loop
# examples and the server alike.
cargo build --release --bin vz --example hdf5_read_loop --example dmrpp_parse_loop --example range_server
export VZ_BIN=$target/release/vz VZ_RANGE_SERVER=$target/release/examples/range_server

echo "== local chunk listing"
"$VZ_PYTHON" bench/chunk_listing.py --runs "${VZ_RUNS:-5}" --kerchunk-cap "${VZ_CAP:-120}" "$@"

echo "== remote (HTTP range server on 127.0.0.1)"
"$VZ_PYTHON" bench/remote_listing.py --delay-ms "${VZ_DELAY_MS:-0}"

echo "== DMR++ parsing (vz vs VirtualiZarr)"
"$VZ_PYTHON" bench/dmrpp_parse.py --vz "$VZ_BIN" --loop "$target/release/examples/dmrpp_parse_loop"

echo "== vz index vs kerchunk (+ S3 on moto)"
"$VZ_PYTHON" bench/index.py --runs "${VZ_RUNS:-5}" --cap "${VZ_INDEX_CAP:-300}"

echo "== vz subset vs Python baselines (+ S3 on moto)"
"$VZ_PYTHON" bench/subset.py --vz "$target/release/vz" --runs "${VZ_RUNS:-3}"
