#!/usr/bin/env bash
# Run the whole chunk-listing benchmark (issue 2) from the repository root:
#   1. generate bench-data/ (8 synthetic ATL06 granules + a 1M-chunk file; kept if present)
#   2. build vz (release) and examples/range_server
#   3. local chunk listing: vz vs h5py chunk_iter vs kerchunk, side by side
#   4. remote: vz over HTTP (requests, bytes, sequential round trips per granule)
#   5. vz index vs kerchunk (+ bbox pass), and vz index over moto's S3 (issue 4;
#      bench/run_index.sh runs this step alone)
# Results: printed tables + bench-data/results/*.json. See docs/benchmarks.md.
#
# Environment: VZ_PYTHON (python with h5py, kerchunk, fsspec; default .venv/bin/python),
# VZ_SHARED (folder with tools/make_atl06.py; default ../shared), CARGO_TARGET_DIR,
# VZ_RUNS (timed runs per tool and granule, default 5), VZ_CAP (seconds per run before a
# tool is reported as "> cap", default 120), VZ_DELAY_MS (simulated latency for the
# remote part, default 0), VZ_INDEX_CAP (seconds one `vz index` benchmark run over all granules
# may take, default 300). Extra arguments go to bench/chunk_listing.py.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export VZ_PYTHON=${VZ_PYTHON:-$repo/.venv/bin/python}
target=${CARGO_TARGET_DIR:-$repo/target}

bench/make_data.sh

echo "== building vz (release) and the range server"
cargo build --release --bin vz --example hdf5_read_loop --example dmrpp_parse_loop
# The server is a dev example; a debug build is enough for counting requests and
# bytes, and avoids compiling the dev-dependencies (static HDF5) in release mode.
cargo build --example range_server
export VZ_BIN=$target/release/vz VZ_RANGE_SERVER=$target/debug/examples/range_server

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
