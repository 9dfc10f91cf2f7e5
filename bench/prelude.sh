# Sourced by the bench/run*.sh scripts: work from the repository root, pick the Python and the
# cargo target directory, and make sure bench-data/ exists (make_data.sh keeps what is there).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export VZ_PYTHON=${VZ_PYTHON:-$repo/.venv/bin/python}
target=${CARGO_TARGET_DIR:-$repo/target}
bench/make_data.sh
