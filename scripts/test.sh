#!/usr/bin/env bash
# The one test command: `scripts/test.sh [cargo test args...]`.
#
# On a fresh Debian bookworm machine with Rust and Python 3.11 it installs what the tests need,
# then runs `cargo test --no-fail-fast --all-targets`. Every step is skipped when already done,
# so a second run goes straight to cargo:
#   1. system packages (make, python3-venv) via apt-get, only if missing and only as root / sudo;
#   2. a project-local virtualenv ./.venv with scripts/requirements-dev.txt, re-installed only when
#      that file (or the Python version) changes (hash kept in .venv/.requirements.sha256);
#   3. CMAKE=.venv/bin/cmake (hdf5-metno builds HDF5 2.x statically and needs cmake >= 3.26,
#      bookworm ships 3.25) and VZ_PYTHON=.venv/bin/python (moto's S3 server, h5py cross-checks).
#
# Extra arguments go to `cargo test`; when they select targets (--test X, --lib, ...) they replace
# --all-targets. Examples:
#   scripts/test.sh
#   scripts/test.sh --test conformance -- --nocapture
#   scripts/test.sh --lib hdf5::cursor
# Environment: PYTHON (interpreter used to create the venv, default python3); CMAKE and
# CARGO_TARGET_DIR are respected when already set.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
VENV="$REPO/.venv"
REQS="$REPO/scripts/requirements-dev.txt"
PY="${PYTHON:-python3}"

log() { printf 'scripts/test.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- 1. system packages -------------------------------------------------------------------------
apt_install() {
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "missing $*; install them (apt-get install $*) or run as root"
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing $* and no apt-get to install them"
    log "installing $* with apt-get"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
missing=()
command -v make >/dev/null 2>&1 || missing+=(make)   # cmake's generator for the HDF5 build
command -v cc >/dev/null 2>&1 || missing+=(gcc)
if ! command -v "$PY" >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
elif ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)                          # Debian splits ensurepip out of python3
fi
if ((${#missing[@]})); then
    apt_install "${missing[@]}"
fi

# --- 2. Python virtualenv -----------------------------------------------------------------------
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "creating $VENV with $("$PY" --version 2>&1)"
    rm -rf "$VENV"
    if ! "$PY" -m venv "$VENV"; then
        # Debian's python3 can import a stub ensurepip; the real one is in python3-venv.
        rm -rf "$VENV"
        apt_install python3-venv
        "$PY" -m venv "$VENV"
    fi
fi
want="$( { cat "$REQS"; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    log "installing $(basename "$REQS") into .venv (first run takes a few minutes)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$REQS"
    printf '%s\n' "$want" >"$VENV/.requirements.sha256"
fi

# --- 3. environment for the build and the tests -------------------------------------------------
export CMAKE="${CMAKE:-$VENV/bin/cmake}"
export VZ_PYTHON="$VENV/bin/python"
[ -x "$CMAKE" ] || die "CMAKE=$CMAKE is not executable"

# --- 4. cargo test ------------------------------------------------------------------------------
# Target-selection flags from the caller replace --all-targets (cargo would otherwise take the union).
targets=(--all-targets)
for arg in "$@"; do
    case "$arg" in
        --) break ;;
        --lib | --bins | --bin | --bin=* | --tests | --test | --test=* | --benches | --bench | --bench=* \
            | --examples | --example | --example=* | --doc | --all-targets)
            targets=() ;;
    esac
done
# --no-fail-fast: one failing test binary must not hide the results of the others.
log "running: cargo test --no-fail-fast ${targets[*]:+${targets[*]} }$*"
exec cargo test --no-fail-fast "${targets[@]}" "$@"
