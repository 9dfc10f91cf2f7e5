#!/usr/bin/env python3
"""subset.py - `vz subset --aoi` vs Python baselines, side by side, in one run (issue 5).

On the full-size synthetic ATL06 granules of bench-data/atl06/ and the Greenland AOI:

  vz         `vz subset --aoi AOI --manifests CATALOG -o OUT --json`, timed as a process
             (start-up, catalog read, chunk reads, decoding, GeoParquet writing). The catalog is
             built once beforehand with `vz index` (untimed: it is made once per granule).
  naive      h5py reads the whole latitude, longitude, delta_time, h_li, h_li_sigma and
             atl06_quality_summary arrays of every beam, shapely tests the points (vectorised),
             geopandas writes the GeoParquet.
  perchunk   the same with a per-chunk bbox index computed beforehand (untimed, like vz's
             catalog): only the 10,000-row chunks whose lat/lon box meets the AOI's box are read.

Python baselines run in a fresh worker process per run and are timed inside it (no interpreter
start-up or imports). One untimed warm-up run each (OS page cache), then --runs timed runs; medians.
All three must select the same number of points, or the run fails. Also reported: the bytes vz reads
vs the bytes of the whole arrays, and a subset from moto's S3 server on 127.0.0.1 (time, requests,
bytes).

    bench/subset.py [--data bench-data] [--vz target/release/vz] [--runs 3] [--aoi fixtures/greenland.geojson] [--no-s3]
                    [--vz-base OLD_VZ]

With --vz-base, a second vz binary is timed in the same loop (before/after a change, same load), on a
catalog it indexes itself (untimed): a build reads the catalog layout it writes.

Writes bench-data/results/subset-<time>.json (and subset-latest.json).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from common import REPO, Moto, default_vz, machine, now, write_results

COLUMNS = ["delta_time", "h_li", "h_li_sigma", "atl06_quality_summary"]
BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]
TARGET = 30.0


# ----------------------------------------------------------------------------- python baselines
def load_aoi(path):
    import shapely
    from shapely.geometry import shape

    doc = json.load(open(path))
    feats = doc["features"] if doc.get("type") == "FeatureCollection" else [doc]
    geom = shapely.union_all([shape(f.get("geometry", f)) for f in feats])
    shapely.prepare(geom)
    return geom


def write_points(frames, out):
    import geopandas
    import pandas

    df = pandas.concat(frames, ignore_index=True) if frames else pandas.DataFrame({"latitude": [], "longitude": []})
    gdf = geopandas.GeoDataFrame(df, geometry=geopandas.points_from_xy(df["longitude"], df["latitude"]), crs="OGC:CRS84")
    gdf.to_parquet(out)
    return len(gdf)


def naive(granules, aoi_path, out):
    import h5py
    import pandas
    import shapely

    aoi = load_aoi(aoi_path)
    frames = []
    for g in granules:
        with h5py.File(g, "r") as f:
            for beam in BEAMS:
                grp = f.get(beam + "/land_ice_segments")
                if grp is None:
                    continue
                lat, lon = grp["latitude"][...], grp["longitude"][...]
                keep = shapely.intersects_xy(aoi, lon, lat)
                if not keep.any():
                    continue
                cols = {"granule": os.path.basename(g), "beam": beam, "latitude": lat[keep], "longitude": lon[keep]}
                for c in COLUMNS:
                    cols[c] = grp[c][...][keep]
                frames.append(pandas.DataFrame(cols))
    return write_points(frames, out)


def bbox_index(granules):
    """Per granule and beam: [(row_start, row_end, xmin, ymin, xmax, ymax)] per 10,000-row chunk."""
    import h5py

    index = {}
    for g in granules:
        with h5py.File(g, "r") as f:
            for beam in BEAMS:
                grp = f.get(beam + "/land_ice_segments")
                if grp is None:
                    continue
                lat_ds, lon_ds = grp["latitude"], grp["longitude"]
                step = lat_ds.chunks[0]
                boxes = []
                for r0 in range(0, lat_ds.shape[0], step):
                    lat, lon = lat_ds[r0:r0 + step], lon_ds[r0:r0 + step]
                    ok = (abs(lat) <= 90) & (abs(lon) <= 180)
                    if ok.any():
                        boxes.append((r0, r0 + len(lat), float(lon[ok].min()), float(lat[ok].min()),
                                      float(lon[ok].max()), float(lat[ok].max())))
                index.setdefault(g, {})[beam] = boxes
    return index


def perchunk(granules, aoi_path, out, index_path):
    import h5py
    import numpy
    import pandas
    import shapely

    aoi = load_aoi(aoi_path)
    x0, y0, x1, y1 = aoi.bounds
    index = json.load(open(index_path))
    frames = []
    for g in granules:
        with h5py.File(g, "r") as f:
            for beam, boxes in index.get(g, {}).items():
                grp = f[beam + "/land_ice_segments"]
                for r0, r1, bx0, by0, bx1, by1 in boxes:
                    if bx1 < x0 or bx0 > x1 or by1 < y0 or by0 > y1:
                        continue
                    lat, lon = grp["latitude"][r0:r1], grp["longitude"][r0:r1]
                    keep = shapely.intersects_xy(aoi, lon, lat)
                    if not keep.any():
                        continue
                    rows = numpy.nonzero(keep)[0]
                    a, b = r0 + rows[0], r0 + rows[-1] + 1
                    sel = keep[rows[0]:rows[-1] + 1]
                    cols = {"granule": os.path.basename(g), "beam": beam, "latitude": lat[keep], "longitude": lon[keep]}
                    for c in COLUMNS:
                        cols[c] = grp[c][a:b][sel]
                    frames.append(pandas.DataFrame(cols))
    return write_points(frames, out)


def worker(argv):
    """`subset.py --worker TOOL SPEC.json`: run one Python baseline, print {seconds, points}."""
    tool, spec = argv[0], json.load(open(argv[1]))
    import geopandas, h5py, pandas, shapely  # noqa: F401  (imports are not timed)
    t = time.perf_counter()
    if tool == "naive":
        n = naive(spec["granules"], spec["aoi"], spec["out"])
    else:
        n = perchunk(spec["granules"], spec["aoi"], spec["out"], spec["index"])
    print(json.dumps({"seconds": time.perf_counter() - t, "points": n}))


def run_worker(tool, spec_path):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", tool, spec_path],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (tool, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- vz
def run_vz(vz, args, env=None):
    t = time.perf_counter()
    r = subprocess.run([vz, *args], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t
    if r.returncode not in (0,):
        raise SystemExit("vz %s failed (%d):\n%s" % (" ".join(args), r.returncode, r.stderr))
    out = json.loads(r.stdout) if "--json" in args else {}
    if not isinstance(out, dict):  # --plan --json: the per-granule list
        out = {"plan": out}
    out["seconds"] = seconds
    return out


def whole_array_bytes(catalog):
    """Stored bytes of the arrays the subset writes (all beams, all granules): a whole-array read."""
    import duckdb

    names = ["latitude", "longitude"] + COLUMNS
    like = " OR ".join("path LIKE '%%/land_ice_segments/%s'" % n for n in names)
    return duckdb.sql("SELECT sum(length) FROM read_parquet('%s/chunks/*.parquet') WHERE %s" % (catalog, like)).fetchone()[0]


def main(argv=None):
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.path.join(REPO, "bench-data"))
    p.add_argument("--vz", default=default_vz())
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--aoi", default=os.path.join(REPO, "fixtures", "greenland.geojson"))
    p.add_argument("--no-s3", action="store_true", help="skip the moto S3 part")
    p.add_argument("--vz-base", help="another vz binary (e.g. a build before a change), timed side by side as `vz-base`")
    a = p.parse_args(argv)
    granules = sorted(glob.glob(os.path.join(a.data, "atl06", "*.h5")))
    if not granules:
        raise SystemExit("no granules in %s/atl06 (run bench/make_data.sh)" % a.data)
    # The work directory (each tool's output, the bbox index, the S3 run's catalog and log) is
    # ~0.4 GB a run: removed at the end.
    work = tempfile.mkdtemp(prefix="vz-subset-bench-")
    try:
        compare(a, granules, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(a, granules, work):
    """The side-by-side runs (and the S3 run) of `main`, in `work`."""
    catalog = os.path.join(a.data, "subset-catalog")
    # --force: the catalog is written by this vz (its format, compression included, is part of
    # what is measured), not kept from an older build.
    print("== catalog: vz index --force of %d granules into %s (untimed)" % (len(granules), catalog))
    run_vz(a.vz, ["index", *granules, "-o", catalog, "--force"])
    # The other build reads a catalog it wrote itself: catalogs of another layout may be refused
    # (or read from the tables, which is not what that build would time on its own catalog).
    base_catalog = os.path.join(work, "base-catalog")
    if a.vz_base:
        print("== catalog of --vz-base: vz index --force into %s (untimed)" % base_catalog)
        run_vz(a.vz_base, ["index", *granules, "-o", base_catalog, "--force"])
    index_path = os.path.join(work, "bbox-index.json")
    print("== per-chunk bbox index for the perchunk baseline (untimed)")
    with open(index_path, "w") as f:
        json.dump(bbox_index(granules), f)

    spec = {"granules": granules, "aoi": a.aoi, "index": index_path}
    tools = ("vz", "naive", "perchunk") + (("vz-base",) if a.vz_base else ())
    # `--plan` reads the catalog and plans, nothing else: the catalog read on its own.
    plans = ("vz-plan",) + (("vz-base-plan",) if a.vz_base else ())
    times = {t: [] for t in tools + plans}
    points, report = {}, None
    for i in range(a.runs + 1):
        for tool in plans:
            vz, cat = (a.vz, catalog) if tool == "vz-plan" else (a.vz_base, base_catalog)
            r = run_vz(vz, ["subset", "--aoi", a.aoi, "--manifests", cat, "--plan", "--json"])
            if i > 0:
                times[tool].append(r["seconds"])
        for tool in tools:
            out = os.path.join(work, "%s.parquet" % tool)
            if tool in ("vz", "vz-base"):
                vz, cat = (a.vz, catalog) if tool == "vz" else (a.vz_base, base_catalog)
                r = run_vz(vz, ["subset", "--aoi", a.aoi, "--manifests", cat, "-o", out, "--json"])
                n = r["points"]
                if tool == "vz":
                    report = r
            else:
                sp = os.path.join(work, "%s.json" % tool)
                json.dump(dict(spec, out=out), open(sp, "w"))
                r = run_worker(tool, sp)
                n = r["points"]
            points[tool] = n
            if i > 0:
                times[tool].append(r["seconds"])
        print("  run %d/%d: %s" % (i, a.runs, ", ".join("%s %.3f s" % (t, v[-1]) for t, v in times.items() if v)) if i else
              "  warm-up done", file=sys.stderr)
    if len(set(points.values())) != 1:
        raise SystemExit("the tools selected different numbers of points: %s" % points)
    med = {t: statistics.median(v) for t, v in times.items()}
    whole = whole_array_bytes(catalog)
    res = {"time": now(), "machine": machine(), "load_average": os.getloadavg(), "granules": len(granules), "aoi": a.aoi,
           "points": points["vz"], "vz_base": a.vz_base,
           "runs": a.runs, "seconds": times, "median": med,
           "speedup_vs_naive": med["naive"] / med["vz"], "speedup_vs_perchunk": med["perchunk"] / med["vz"],
           "vz_bytes_read": report["bytes_read"], "vz_floor_bytes": report["floor_bytes"],
           "vz_requests": report["requests"], "whole_array_bytes": whole}
    print("\nvz subset vs Python baselines: %d full-size granules, AOI %s, %d points (median of %d runs)"
          % (len(granules), os.path.basename(a.aoi), points["vz"], a.runs))
    for t in tools:
        print("  %-9s %8.3f s   %6.1fx vz" % (t, med[t], med[t] / med["vz"]))
    print("  catalog read and plan alone (--plan): %s" % ", ".join("%s %.3f s" % (t, med[t]) for t in plans))
    print("  vz read %.2f MB (floor %.2f MB) = %.1f%% of the %.1f MB whole arrays, %d requests"
          % (report["bytes_read"] / 1e6, report["floor_bytes"] / 1e6, 100.0 * report["bytes_read"] / whole,
             whole / 1e6, report["requests"]))
    print("  load average at the end: %.2f %.2f %.2f" % tuple(res["load_average"]))
    x = res["speedup_vs_naive"]
    print("  target >= %.0fx faster than the naive baseline: %.1fx -> %s" % (TARGET, x, "MET" if x >= TARGET else "NOT MET"))
    if not a.no_s3:
        res["s3"] = s3(a.vz, granules, a.aoi, work)
    path = write_results(os.path.join(a.data, "results"), "subset", res)
    print("results: %s" % path)


def s3(vz, granules, aoi, work):
    env = Moto.env()
    server = Moto(os.path.join(work, "moto.log"))
    try:
        urls = server.upload(granules)
        catalog = os.path.join(work, "s3-catalog")
        run_vz(vz, ["index", *urls, "-o", catalog, "--s3-endpoint", server.endpoint], env=env)
        before = len(server.requests())
        r = run_vz(vz, ["subset", "--aoi", aoi, "--manifests", catalog, "-o", os.path.join(work, "s3.parquet"), "--json",
                        "--s3-endpoint", server.endpoint], env=env)
        time.sleep(0.1)
        seen = len(server.requests()) - before
    finally:
        server.stop()
    out = {"seconds": r["seconds"], "points": r["points"], "bytes_read": r["bytes_read"], "floor_bytes": r["floor_bytes"],
           "requests": r["requests"], "server_requests": seen}
    print("\nvz subset over S3 (moto on 127.0.0.1): %.3f s, %d points, %d requests (moto saw %d), %.2f MB read (floor %.2f MB)"
          % (out["seconds"], out["points"], out["requests"], seen, out["bytes_read"] / 1e6, out["floor_bytes"] / 1e6))
    return out


if __name__ == "__main__":
    main()
