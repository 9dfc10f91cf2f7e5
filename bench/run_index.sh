#!/usr/bin/env bash
# Run the `vz index` benchmark (issue 4) alone, from the repository root:
#   1. generate bench-data/ (8 synthetic ATL06 granules; kept if present)
#   2. build vz (release)
#   3. bench/index.py: vz index vs kerchunk vs kerchunk + an h5py per-chunk bbox pass, side by
#      side, then vz index over moto's S3 server on 127.0.0.1 (time, requests, bytes)
# Results: a printed table + bench-data/results/index.json. See docs/benchmarks.md.
#
# Environment: VZ_PYTHON (python with h5py, kerchunk, fsspec, moto[server], boto3; default
# .venv/bin/python), VZ_SHARED (folder with tools/make_atl06.py; default ../shared),
# CARGO_TARGET_DIR, VZ_RUNS (timed runs per tool, default 5), VZ_CAP (seconds one run over
# all granules may take, default 300). Extra arguments go to bench/index.py (--no-s3, --s3-runs N).
set -euo pipefail

source "$(dirname "$0")/prelude.sh"

echo "== building vz (release)"
cargo build --release --bin vz
export VZ_BIN=$target/release/vz

echo "== vz index vs kerchunk (+ S3 on moto)"
"$VZ_PYTHON" bench/index.py --runs "${VZ_RUNS:-5}" --cap "${VZ_CAP:-300}" "$@"
