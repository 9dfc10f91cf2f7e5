"""Real clients read `vz export kerchunk` references: fsspec's ReferenceFileSystem under
zarr-python 3 (zarr_format=2) and xarray must read every exported array equal to h5py's.

usage: kerchunk_checks.py REFS CASES.json
  REFS: a JSON reference file or a Parquet reference directory
  CASES.json: [{"prefix": "<granule id or ''>", "file": "<granule.h5>", "arrays": ["/hdf5/path", ...]}]
Prints one line per granule: arrays and chunks read equal through zarr and through xarray."""
import json
import math
import sys
import warnings

warnings.filterwarnings("ignore")

import fsspec
import h5py
import numpy as np
import xarray as xr
import zarr
from fsspec.implementations.reference import LazyReferenceMapper

warnings.filterwarnings("ignore")
refs_path, cases_path = sys.argv[1], sys.argv[2]
cases = json.load(open(cases_path))
parquet = not refs_path.endswith(".json")

if parquet:
    # Under pandas 3, fsspec's LazyReferenceMapper reads the null `path` of a chunk that is not
    # stored as NaN (pandas' new str dtype) and then fails on it instead of reading the fill
    # value; fsspec 2026.9 does not handle that yet. Keep pandas' object strings (None for null).
    import pandas as pd

    pd.set_option("future.infer_string", False)
    # fsspec's default Parquet engine is fastparquet, which this venv does not have: hand
    # ReferenceFileSystem a LazyReferenceMapper reading with pyarrow (same layout, same code path).
    fo = LazyReferenceMapper(refs_path, fs=fsspec.filesystem("file"), engine="pyarrow")
else:
    fo = refs_path
fs = fsspec.filesystem("reference", fo=fo, remote_protocol="file", asynchronous=True)
store = zarr.storage.FsspecStore(fs, read_only=True, path="")
root = zarr.open_group(store, mode="r", zarr_format=2, use_consolidated=True)


def equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" or a.dtype.kind == "c":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def as_hdf5_reads(values, dset):
    """Fixed-length strings as libhdf5 converts them for h5py: a null-terminated string ends at its
    first NUL, a space-padded one loses its trailing spaces. Zarr has no such conversion and
    returns the stored bytes (docs/kerchunk.md)."""
    values = np.asarray(values)
    if values.dtype.kind != "S" or values.size == 0:
        return values
    pad = dset.id.get_type().get_strpad()
    if pad == h5py.h5t.STR_NULLTERM:
        cut = lambda b: b.split(b"\0", 1)[0]
    elif pad == h5py.h5t.STR_SPACEPAD:
        cut = lambda b: b.rstrip(b" ")
    else:
        return values
    return np.vectorize(cut, otypes=[values.dtype])(values)


def same_type(zarr_dtype, h5_dtype):
    """h5py reads a FALSE/TRUE enum as bool; Zarr sees its integer base type."""
    if h5_dtype.kind == "S":
        return True
    if h5_dtype == np.dtype(bool):
        return zarr_dtype.kind in "iu" and zarr_dtype.itemsize == 1
    return zarr_dtype == h5_dtype


def key(prefix, path):
    path = path.strip("/")
    return "/".join(p for p in (prefix, path) if p)


failures = []
total_arrays = total_chunks = total_xr = 0
for case in cases:
    prefix, arrays = case["prefix"], case["arrays"]
    n_arrays = n_chunks = n_xr = n_structured = 0
    with h5py.File(case["file"], "r") as h5:
        # Every exported array through zarr-python.
        unreadable = set()
        for path in arrays:
            try:
                expected = h5[path][()]
            except Exception as e:  # h5py has no NumPy conversion for some types (e.g. f16 complex)
                print(f"  h5py cannot read {path}: {type(e).__name__}: {e}")
                unreadable.add(path)
                continue
            try:
                z = root[key(prefix, path)]
                got = z[()]
            except Exception as e:  # report every failing array, not just the first
                failures.append(f"{case['file']}: {path}: zarr cannot read it: {type(e).__name__}: {e}")
                continue
            if not same_type(np.dtype(z.dtype), np.asarray(expected).dtype):
                failures.append(f"{case['file']}: {path}: dtype {z.dtype} vs h5py {np.asarray(expected).dtype}")
            got = as_hdf5_reads(got, h5[path])
            if not equal(got, expected):
                failures.append(f"{case['file']}: {path}: zarr {np.asarray(got).ravel()[:4]} vs h5py {np.asarray(expected).ravel()[:4]}")
                continue
            n_arrays += 1
            n_chunks += math.prod(math.ceil(s / c) for s, c in zip(z.shape, z.chunks)) if z.shape else 1
        # Every group holding exported arrays through xarray (raw values: no CF decoding).
        groups = sorted({p.rsplit("/", 1)[0] for p in arrays})
        for group in groups:
            try:
                # consolidated: group members are found through the root .zmetadata (listing a
                # ReferenceFileSystem through zarr's FsspecStore finds nothing, see json.rs).
                ds = xr.open_dataset(
                    store,
                    engine="zarr",
                    group=key(prefix, group) or None,
                    consolidated=True,
                    zarr_format=2,
                    mask_and_scale=False,
                    decode_times=False,
                    decode_timedelta=False,
                    concat_characters=False,
                )
            except Exception as e:
                failures.append(f"{case['file']}: xarray cannot open group {group or '/'}: {type(e).__name__}: {e}")
                continue
            for path in (p for p in arrays if p.rsplit("/", 1)[0] == group and p not in unreadable):
                name = path.rsplit("/", 1)[1]
                if name not in ds.variables:
                    failures.append(f"{case['file']}: {path}: missing from xarray's dataset of {group or '/'}")
                    continue
                if h5[path].dtype.fields is not None:
                    # xarray cannot decode structured (compound) arrays; zarr-python read it above.
                    n_structured += 1
                    continue
                values = as_hdf5_reads(ds[name].values, h5[path])
                if not equal(values, h5[path][()]):
                    failures.append(f"{case['file']}: {path}: xarray values differ from h5py")
                    continue
                n_xr += 1
    print(f"{case['prefix'] or case['file']}: {n_arrays}/{len(arrays)} arrays ({n_chunks} grid chunks) equal via zarr, {n_xr} via xarray" + (f" ({n_structured} compound arrays not decodable by xarray)" if n_structured else ""))
    total_arrays += n_arrays
    total_chunks += n_chunks
    total_xr += n_xr
kind = "parquet" if parquet else "json"
print(f"kerchunk [{kind}]: {total_arrays} arrays ({total_chunks} grid chunks) equal to h5py via zarr-python, {total_xr} via xarray; {len(failures)} failures")
for f in failures[:40]:
    print("FAIL", f)
sys.exit(1 if failures or total_arrays == 0 else 0)
