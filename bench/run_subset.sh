#!/usr/bin/env bash
# Run the `vz subset` benchmark (issue 5) alone, from the repository root:
#   1. generate bench-data/ (8 synthetic ATL06 granules; kept if present)
#   2. build vz (release)
#   3. bench/subset.py: vz subset vs a naive h5py whole-array baseline vs a Python per-chunk-bbox
#      subset on the Greenland AOI, side by side, then vz subset over moto's S3 server on 127.0.0.1
# Results: a printed table + bench-data/results/subset-latest.json. See docs/benchmarks.md.
#
# Environment: VZ_PYTHON (python with h5py, geopandas, shapely, duckdb, moto[server], boto3; default
# .venv/bin/python), VZ_SHARED, CARGO_TARGET_DIR, VZ_RUNS (timed runs per tool, default 3).
# Extra arguments go to bench/subset.py (--no-s3, --aoi FILE, --vz-base OLD_VZ).
set -euo pipefail

source "$(dirname "$0")/prelude.sh"

echo "== building vz (release)"
cargo build --release --bin vz

echo "== vz subset vs Python baselines (+ S3 on moto)"
"$VZ_PYTHON" bench/subset.py --vz "$target/release/vz" --runs "${VZ_RUNS:-3}" "$@"
