#!/usr/bin/env bash
# Generate the benchmark inputs into bench-data/ (git-ignored):
#   bench-data/atl06/ATL06_*.h5  8 full-size synthetic ATL06 granules (seeds 1..8)
#   bench-data/btree1m.h5        one dataset with exactly 1,000,000 chunks, v1 B-tree index
# Existing outputs are kept (delete bench-data/ to regenerate).
#
# Environment:
#   VZ_PYTHON        python with numpy + h5py (default: .venv/bin/python of the repo)
#   VZ_SHARED        the shared/ folder holding tools/make_atl06.py (default: ../shared)
#   VZ_GRANULES      number of granules (default 8)
#   VZ_SEGMENTS      --segments-per-beam (default 140000 = full size)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
py=${VZ_PYTHON:-$repo/.venv/bin/python}
shared=${VZ_SHARED:-$repo/../shared}
n=${VZ_GRANULES:-8}
segments=${VZ_SEGMENTS:-140000}
gen=$shared/tools/make_atl06.py

[ -x "$py" ] || { echo "no python at $py (set VZ_PYTHON)" >&2; exit 1; }
[ -f "$gen" ] || { echo "no generator at $gen (set VZ_SHARED)" >&2; exit 1; }

mkdir -p bench-data/atl06
for seed in $(seq 1 "$n"); do
    # The generator names the file after the granule's time and track, so remember
    # which file each seed made; a seed counts as done when that file still exists.
    stamp=bench-data/atl06/.seed-$seed
    if [ -f "$stamp" ] && [ -f "$(cat "$stamp")" ]; then
        echo "seed $seed: $(cat "$stamp") (exists)"
        continue
    fi
    tmp=bench-data/atl06/.tmp-$seed
    rm -rf "$tmp" && mkdir -p "$tmp"
    start=$(date +%s)
    "$py" "$gen" "$tmp/" --seed "$seed" --segments-per-beam "$segments" >/dev/null
    out=$(ls "$tmp"/*.h5)
    final=bench-data/atl06/$(basename "$out")
    mv "$out" "$final" && rmdir "$tmp"
    echo "$final" >"$stamp"
    echo "seed $seed: $final ($(du -h "$final" | cut -f1), $(( $(date +%s) - start )) s)"
done

if [ -f bench-data/btree1m.h5 ]; then
    echo "bench-data/btree1m.h5 (exists)"
else
    "$py" bench/make_btree1m.py bench-data/btree1m.h5
fi
