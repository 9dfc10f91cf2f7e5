"""Real clients against `vz serve` (issue 6), driven by tests/serve.rs.

Usage: serve_checks.py SPEC.json  where SPEC has
  url        base URL of the server (http://127.0.0.1:PORT/)
  mode       "clients" (zarr-python, xarray, DuckDB-picked chunks, subset) or "load"
  granules   {granule id: local path} (clients)
  catalog    catalog directory (clients: DuckDB reads its chunks table)
  aoi, cli_subset  GeoJSON file and the GeoParquet `vz subset` wrote for it (clients)
  pid, clients, requests   server process id, concurrent clients, requests (load)
Prints one JSON line of figures; exits 1 with the reasons on any failure.
"""

import base64
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import urllib.request

import numpy as np

FAILURES = []


def fail(msg):
    FAILURES.append(msg)


def zarr_store(url):
    """zarr-python's HTTP store: fsspec's when aiohttp is installed, else obstore's."""
    import zarr

    try:
        import aiohttp  # noqa: F401

        return zarr.storage.FsspecStore.from_url(url, read_only=True), "FsspecStore"
    except ImportError:
        from obstore.store import HTTPStore

        store = HTTPStore.from_url(url, client_options={"allow_http": True})
        return zarr.storage.ObjectStore(store, read_only=True), "ObjectStore(obstore HTTPStore)"


def h5_values(ds):
    """h5py's reading, as the bytes or values the Zarr side should give."""
    v = ds[()]
    return np.asarray(v)


def same(zarr_values, h5, dtype_is_raw):
    if dtype_is_raw:
        return np.asarray(zarr_values).tobytes() == np.ascontiguousarray(h5).tobytes()
    z = np.asarray(zarr_values)
    if z.shape != h5.shape:
        return False
    if z.dtype.kind == "f":
        return np.array_equal(z, h5.astype(z.dtype), equal_nan=True)
    return np.array_equal(z, h5)


def check_zarr(spec, store):
    import h5py
    import zarr

    root = zarr.open_group(store, mode="r", use_consolidated=True)
    figures = {"arrays": 0, "elements": 0, "granules": 0, "h5_datasets": 0, "not_in_store": 0}
    for gid, path in sorted(spec["granules"].items()):
        group = root[gid]
        arrays = {name: a for name, a in group.members(max_depth=None) if isinstance(a, zarr.Array)}
        figures["granules"] += 1
        with h5py.File(path, "r") as f:
            datasets = []
            f.visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset) else None)
            figures["h5_datasets"] += len(datasets)
            for name in datasets:
                if name not in arrays:
                    figures["not_in_store"] += 1
                    continue
                a = arrays[name]
                raw = a.metadata.data_type.to_json(zarr_format=3)
                is_raw = isinstance(raw, dict) and raw.get("name") == "raw_bytes"
                try:
                    got = a[...]
                except Exception as e:  # noqa: BLE001
                    fail(f"zarr {gid}/{name}: read failed: {e}")
                    continue
                if not same(got, h5_values(f[name]), is_raw):
                    fail(f"zarr {gid}/{name}: values differ from h5py")
                    continue
                figures["arrays"] += 1
                figures["elements"] += int(np.prod(a.shape))
    return figures


def check_xarray(spec, store):
    import h5py
    import xarray as xr

    figures = {"datasets": 0, "variables": 0}
    for gid, path in sorted(spec["granules"].items()):
        with h5py.File(path, "r") as f:
            groups = []
            f.visititems(lambda n, o: groups.append(n) if isinstance(o, h5py.Group) and n.endswith("land_ice_segments") else None)
            for g in groups:
                ds = xr.open_zarr(store, group=f"{gid}/{g}", consolidated=True, mask_and_scale=False, decode_times=False)
                masked = xr.open_zarr(store, group=f"{gid}/{g}", consolidated=True)
                figures["datasets"] += 1
                for name, var in ds.variables.items():
                    h5 = f[f"{g}/{name}"][...]
                    if not np.array_equal(var.values, h5):
                        fail(f"xarray {gid}/{g}/{name}: values differ from h5py")
                        continue
                    fill = f[f"{g}/{name}"].attrs.get("_FillValue")
                    if name == "h_li" and fill is not None:
                        want = int((h5 == np.asarray(fill).ravel()[0]).sum())
                        got = int(masked[name].isnull().sum())
                        if want != got:
                            fail(f"xarray {gid}/{g}/h_li: {got} masked values, h5py has {want} fills")
                    figures["variables"] += 1
    if figures["datasets"] == 0:
        fail("xarray: no land_ice_segments group opened")
    return figures


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def decode_chunk(data, meta):
    import numcodecs

    for codec in reversed(meta["codecs"]):
        name, conf = codec["name"], codec.get("configuration", {})
        if name == "numcodecs.zlib":
            data = numcodecs.Zlib(**conf).decode(data)
        elif name == "numcodecs.shuffle":
            data = numcodecs.Shuffle(elementsize=conf["elementsize"]).decode(data)
        elif name == "bytes":
            order = ">" if conf.get("endian") == "big" else "<"
            return np.frombuffer(bytes(data), dtype=np.dtype(meta["data_type"]).newbyteorder(order))
        else:
            raise ValueError(f"unexpected codec {name}")
    raise ValueError("no bytes codec")


def check_duckdb_chunks(spec):
    import duckdb
    import h5py

    aoi = json.load(open(spec["aoi"]))
    ring = aoi["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    rows = duckdb.sql(
        f"""SELECT granule, path, chunk_key, chunk, row_start, row_end
            FROM '{spec["catalog"]}/chunks/*.parquet'
            WHERE path LIKE '%/land_ice_segments/h_li'
              AND bbox.xmin <= {max(xs)} AND bbox.xmax >= {min(xs)}
              AND bbox.ymin <= {max(ys)} AND bbox.ymax >= {min(ys)}
            ORDER BY granule, path, row_start"""
    ).fetchall()
    if not rows:
        fail("duckdb: no h_li chunk meets the AOI's box")
    checked = 0
    for granule, path, chunk_key, chunk, row_start, row_end in rows:
        node = f"{granule}{path}"
        status, body, _ = get(spec["url"] + urllib.parse.quote(f"{node}/zarr.json"))
        meta = json.loads(body)
        key = f"{node}/c/" + "/".join(str(c) for c in chunk)
        status, body, _ = get(spec["url"] + urllib.parse.quote(key))
        if status != 200:
            fail(f"duckdb chunk {key} ({chunk_key}): HTTP {status}")
            continue
        values = decode_chunk(body, meta)
        with h5py.File(spec["granules"][granule], "r") as f:
            want = f[path][row_start:row_end]
        if not np.array_equal(values[: row_end - row_start], want):
            fail(f"duckdb chunk {key}: decoded values differ from h5py rows {row_start}..{row_end}")
            continue
        checked += 1
    return {"chunks": checked}


def check_subset(spec):
    import pyarrow.parquet as pq
    import io

    body = open(spec["aoi"], "rb").read()
    req = urllib.request.Request(spec["url"] + "subset", data=body, method="POST", headers={"Content-Type": "application/geo+json"})
    with urllib.request.urlopen(req) as r:
        if r.headers.get("Content-Type") != "application/vnd.apache.parquet":
            fail(f"subset: content type {r.headers.get('Content-Type')}")
        data = r.read()
    served = pq.read_table(io.BytesIO(data))
    if b"geo" not in (pq.ParquetFile(io.BytesIO(data)).metadata.metadata or {}):
        fail("subset: no GeoParquet metadata")
    cli = pq.read_table(spec["cli_subset"])
    key = ["granule", "group", "row"]
    served = served.sort_by([(k, "ascending") for k in key])
    cli = cli.sort_by([(k, "ascending") for k in key])
    if served.num_rows == 0:
        fail("subset: no rows, the comparison would prove nothing")
    if served.schema.names != cli.schema.names:
        fail(f"subset: columns {served.schema.names} vs vz subset {cli.schema.names}")
    elif not served.equals(cli):
        fail("subset: rows differ from vz subset")
    # A bad body is a 400 with a message.
    bad = urllib.request.Request(spec["url"] + "subset", data=b'{"type": "Point", "coordinates": [0, 0]}', method="POST")
    try:
        urllib.request.urlopen(bad)
        fail("subset: a Point AOI was accepted")
    except urllib.error.HTTPError as e:
        if e.code != 400 or not e.read():
            fail(f"subset: bad AOI gave HTTP {e.code}")
    return {"rows": served.num_rows}


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def load(spec):
    """Many clients on keep-alive connections, a fixed number of mixed requests."""
    base = urllib.parse.urlparse(spec["url"])
    status, body, _ = get(spec["url"] + "zarr.json")
    meta = json.loads(body)["consolidated_metadata"]["metadata"]
    arrays = [k for k, v in meta.items() if v["node_type"] == "array" and k.endswith("land_ice_segments/h_li")]
    metadata_keys = ["zarr.json"] + [f"{k}/zarr.json" for k in list(meta)[:200]]
    chunk_keys = []
    for a in arrays:
        n = -(-meta[a]["shape"][0] // meta[a]["chunk_grid"]["configuration"]["chunk_shape"][0])
        chunk_keys += [f"{a}/c/{i}" for i in range(n)]
    kinds = [
        ("metadata", lambda: ("GET", random.choice(metadata_keys), {}), (200,)),
        ("chunk", lambda: ("GET", random.choice(chunk_keys), {}), (200,)),
        ("range", lambda: ("GET", random.choice(chunk_keys), {"Range": "bytes=0-99"}), (206,)),
        ("head", lambda: ("HEAD", random.choice(chunk_keys), {}), (200,)),
        ("missing", lambda: ("GET", random.choice(["nope", "../etc/passwd", "%2e%2e/x", "zarr.json/../x", arrays[0] + "/c/999999"]), {}), (404,)),
    ]
    total, clients = spec["requests"], spec["clients"]
    counter = iter(range(total))
    lock = threading.Lock()
    errors, done = [], {k: 0 for k, *_ in kinds}

    def client():
        conn = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            kind, make, ok = kinds[i % len(kinds)]
            method, key, headers = make()
            try:
                conn.request(method, "/" + key, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status not in ok:
                    with lock:
                        errors.append(f"{method} /{key}: {r.status}")
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"{method} /{key}: {e}")
                conn.close()
                conn = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
            with lock:
                done[kind] += 1
        conn.close()

    def run():
        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.time() - started

    # Warm-up: every chunk and metadata key once (sources opened, allocator at its working size).
    for k in metadata_keys + chunk_keys:
        get(spec["url"] + k)
    rss_before = rss_kib(spec["pid"])
    seconds = run()
    rss_after = rss_kib(spec["pid"])
    counter = iter(range(total))
    seconds2 = run()
    rss_after2 = rss_kib(spec["pid"])
    if errors:
        fail(f"load: {len(errors)} errors, first: {errors[:5]}")
    growth = rss_after2 - rss_before
    if growth > 32 * 1024:
        fail(f"load: RSS grew {growth} KiB ({rss_before} -> {rss_after} -> {rss_after2} KiB)")
    return {
        "requests": 2 * total,
        "clients": clients,
        "errors": len(errors),
        "per_kind": done,
        "requests_per_second": round(2 * total / (seconds + seconds2)),
        "rss_kib": [rss_before, rss_after, rss_after2],
    }


def main():
    spec = json.load(open(sys.argv[1]))
    figures = {}
    if spec["mode"] == "load":
        figures["load"] = load(spec)
    else:
        store, kind = zarr_store(spec["url"])
        figures["store"] = kind
        figures["zarr"] = check_zarr(spec, store)
        figures["xarray"] = check_xarray(spec, store)
        figures["duckdb"] = check_duckdb_chunks(spec)
        figures["subset"] = check_subset(spec)
    print(json.dumps(figures))
    if FAILURES:
        for f in FAILURES[:60]:
            print(f, file=sys.stderr)
        print(f"{len(FAILURES)} failures", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
