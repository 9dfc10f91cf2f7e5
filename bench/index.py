#!/usr/bin/env python3
"""index.py - `vz index` vs kerchunk (+ a per-chunk bbox pass), side by side in one run (issue 4).

On the synthetic ATL06 granules of bench-data/atl06/, every run times, one after the other:

  vz            `vz index G1 .. G8 -o FRESH_DIR --json`: the whole process, which reads every
                header, decodes the latitude/longitude/time chunks, computes every chunk's
                footprint (bbox, WKB line, time range, H3 cells) and writes the GeoParquet
                catalog (three files per granule). Once with vz's default concurrency, once -j 1.
  kerchunk      `SingleHdf5ToZarr(f, path).translate()` for each granule (kerchunk's defaults).
  kerchunk+bbox kerchunk as above, plus for each granule a bbox per chunk of the geolocated
                groups with h5py: every group holding `latitude` and `longitude`, both read
                whole (libhdf5 decompresses each chunk once) and reduced per chunk of rows with
                numpy (`minimum/maximum.reduceat`) - vectorised, no per-element Python.

The Python baselines run in one worker process that stays up for the whole benchmark (imports
and interpreter start-up are not in their figures; vz's process start-up is in its). One
untimed warm-up run first (warm page cache), then --runs runs; the median is reported, with
ratios against vz. Checks: kerchunk references as many chunks as vz lists, and the bbox pass
finds as many geolocated groups as vz.

Then, unless --no-s3: moto's S3 server on 127.0.0.1, the granules uploaded to a bucket, and
`vz index s3://BUCKET/atl06/G1.h5 .. --s3-endpoint URL --json` (catalog to a fresh local
directory) timed --s3-runs times, with vz's own counters (requests, bytes, round trips of the
granule reads) next to the requests moto logged.

    bench/index.py [--data bench-data] [--vz target/release/vz] [--runs 5] [--cap 300]
                   [--no-s3] [--s3-runs 3]

Writes bench-data/results/index-<time>.json and bench-data/results/index.json.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import REPO, Moto, default_vz, machine, now, write_results  # noqa: E402

TARGET = 30.0          # issue 4: vz (footprints + H3) >= 30x faster than kerchunk alone


# ----------------------------------------------------------------------------- python baselines
def kerchunk_refs(path: str) -> int:
    """kerchunk's references of one granule; returns how many are chunks (not .zarray etc.)."""
    import fsspec
    from kerchunk.hdf import SingleHdf5ToZarr

    with fsspec.open(path, "rb") as f:
        refs = SingleHdf5ToZarr(f, path).translate()["refs"]
    return sum(1 for k in refs if not k.rsplit("/", 1)[-1].startswith(".z"))


def bbox_pass(path: str) -> tuple[int, int]:
    """Per-chunk lat/lon boxes of every group with `latitude` and `longitude` datasets.
    Returns (groups, chunks boxed)."""
    import h5py
    import numpy as np

    groups = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and isinstance(obj.get("latitude"), h5py.Dataset) \
                and isinstance(obj.get("longitude"), h5py.Dataset):
            groups.append(name)

    boxes = 0
    with h5py.File(path, "r") as f:
        f.visititems(visit)
        for name in groups:
            lat_ds, lon_ds = f[name]["latitude"], f[name]["longitude"]
            n = lat_ds.shape[0]
            step = (lat_ds.chunks or (n,))[0]
            starts = np.arange(0, n, step)
            lat, lon = lat_ds[...], lon_ds[...]
            # Fill values (3.4e38 in ATL06) are not positions.
            ok = (np.abs(lat) <= 90) & (np.abs(lon) <= 360)
            lat_lo, lat_hi = np.where(ok, lat, np.inf), np.where(ok, lat, -np.inf)
            lon_lo, lon_hi = np.where(ok, lon, np.inf), np.where(ok, lon, -np.inf)
            box = (np.minimum.reduceat(lon_lo, starts), np.minimum.reduceat(lat_lo, starts),
                   np.maximum.reduceat(lon_hi, starts), np.maximum.reduceat(lat_hi, starts))
            boxes += len(box[0])
    return len(groups), boxes


def worker(granules: list[str]) -> None:
    """Serve timing requests on stdin ("kerchunk" or "kerchunk+bbox"), one JSON line each."""
    for line in sys.stdin:
        tool = line.strip()
        start, cpu = time.perf_counter(), time.process_time()
        chunks = groups = boxes = 0
        bbox_seconds = 0.0
        for g in granules:
            chunks += kerchunk_refs(g)
            if tool == "kerchunk+bbox":
                t = time.perf_counter()
                n, b = bbox_pass(g)
                bbox_seconds += time.perf_counter() - t
                groups, boxes = groups + n, boxes + b
        res = {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "chunks": chunks}
        if tool == "kerchunk+bbox":
            res.update(groups=groups, boxes=boxes, bbox_seconds=bbox_seconds)
        print(json.dumps(res), flush=True)


class Capped(Exception):
    """A run took longer than the time cap."""


class PythonWorker:
    """The baselines' worker process; `run(tool)` times one pass over all granules."""

    def __init__(self, granules: list[str]):
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", *granules]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, tool: str, cap: float) -> dict:
        self.proc.stdin.write(tool + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], cap)
        if not ready:
            self.stop()
            raise Capped()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("python worker died (exit %s)" % self.proc.wait())
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


# ----------------------------------------------------------------------------- vz
def run_vz_index(vz: str, inputs: list[str], extra: list[str], cap: float, env=None) -> dict:
    """Time `vz index INPUTS -o FRESH --json EXTRA` as a process; sums of its JSON report."""
    out = tempfile.mkdtemp(prefix="vz-index-bench-")
    try:
        cmd = [vz, "index", *inputs, "-o", out, "--json", *extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=cap, env=env)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        catalog_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit("%s failed (exit %d): %s" % (" ".join(cmd[:3]) + " ...", proc.returncode,
                                                     proc.stderr.decode(errors="replace")[-2000:]))
    report = json.loads(proc.stdout)
    granules = report["granules"]
    bad = [g for g in granules if g["status"] != "indexed"]
    if bad:
        raise SystemExit("vz index did not index every granule: %s" % bad[:2])
    io = report.get("io") or {k: sum(g["io"][k] for g in granules) for k in ("requests", "bytes", "round_trips")}
    return {"seconds": seconds, "cpu": cpu, "report_seconds": report["seconds"], "granules": len(granules),
            "chunks": sum(g["chunks"] for g in granules),
            "tagged_chunks": sum(g["tagged_chunks"] for g in granules),
            "groups": sum(g["groups"] for g in granules),
            "problems": sum(len(g["problems"]) for g in granules),
            "catalog_bytes": catalog_bytes, "io": io,
            "max_round_trips": max(g["io"]["round_trips"] for g in granules)}


def vz_default_jobs(vz: str) -> str:
    """vz index's default -j, from its --help."""
    text = subprocess.run([vz, "index", "--help"], stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"--concurrency <[^>]*>\s*\n?\s*.*?\[default: (\d+)\]", text, re.S)
    return m.group(1) if m else "?"


# ----------------------------------------------------------------------------- local benchmark
def local(vz: str, granules: list[str], runs: int, cap: float) -> dict:
    tools = {"vz": [], "vz -j 1": ["-j", "1"]}
    py = PythonWorker(granules)
    samples: dict[str, list[dict]] = {t: [] for t in (*tools, "kerchunk", "kerchunk+bbox")}
    capped: set[str] = set()
    try:
        for i in range(runs + 1):
            label = "warm-up" if i == 0 else "run %d/%d" % (i, runs)
            print("  %s:" % label, end="", flush=True, file=sys.stderr)
            for name in samples:
                if name in capped:
                    continue
                try:
                    if name in tools:
                        r = run_vz_index(vz, granules, tools[name], cap)
                    else:
                        r = py.run(name, cap)
                except (Capped, subprocess.TimeoutExpired):
                    capped.add(name)
                    print(" %s > cap" % name, end="", flush=True, file=sys.stderr)
                    if name not in tools:
                        py = PythonWorker(granules)
                    continue
                print(" %s %.2f s" % (name, r["seconds"]), end="", flush=True, file=sys.stderr)
                if i > 0:
                    samples[name].append(r)
            print(file=sys.stderr)
    finally:
        py.stop()

    res = {}
    for name, rs in samples.items():
        if name in capped or not rs:
            res[name] = {"capped": True, "cap_seconds": cap}
            continue
        r = {"median": statistics.median(x["seconds"] for x in rs), "runs": [x["seconds"] for x in rs]}
        last = rs[-1]
        r.update({k: v for k, v in last.items() if k not in ("seconds", "cpu")})
        r["cpu_median"] = statistics.median(x["cpu"] for x in rs)
        if "report_seconds" in last:
            r["report_median"] = statistics.median(x["report_seconds"] for x in rs)
        if "bbox_seconds" in last:
            r["bbox_median"] = statistics.median(x["bbox_seconds"] for x in rs)
        res[name] = r
    # Agreement: kerchunk references the chunks vz lists; the bbox pass boxes vz's groups.
    checks = []
    v, k, kb = res["vz"], res["kerchunk"], res["kerchunk+bbox"]
    if not v.get("capped") and not k.get("capped"):
        checks.append(("kerchunk chunks == vz chunks", k["chunks"] == v["chunks"], "%s vs %s" % (k["chunks"], v["chunks"])))
    if not v.get("capped") and not kb.get("capped"):
        checks.append(("bbox groups == vz geolocated groups", kb["groups"] == v["groups"],
                       "%s vs %s" % (kb["groups"], v["groups"])))
    res["checks"] = [{"check": c, "ok": ok, "values": vals} for c, ok, vals in checks]
    return res


def fmt_s(r: dict) -> str:
    return "> %g" % r["cap_seconds"] if r.get("capped") else "%.3f" % r["median"]


def print_local(res: dict, n: int, runs: int, jobs: str) -> list[str]:
    print("\nvz index vs kerchunk, %d synthetic ATL06 granules (median of %d runs, warm cache; load average %s)"
          % (n, runs, " ".join("%.1f" % v for v in os.getloadavg())))
    head = "%-44s %10s %13s %9s %10s %9s" % ("tool", "wall s", "per granule", "x vz", "CPU s", "x vz CPU")
    print(head)
    print("-" * len(head))
    base = res["vz"]
    rows = [("vz", "vz index (-j %s, default), process" % jobs), ("vz -j 1", "vz index -j 1, process"),
            ("kerchunk", "kerchunk SingleHdf5ToZarr"), ("kerchunk+bbox", "kerchunk + h5py per-chunk bbox")]
    for key, label in rows:
        r = res[key]
        per = "" if r.get("capped") else "%.1f ms" % (r["median"] / n * 1e3)
        x = xc = cpu = ""
        if not r.get("capped"):
            cpu = "%.3f" % r["cpu_median"]
            if not base.get("capped"):
                x = "%.1fx" % (r["median"] / base["median"])
                xc = "%.1fx" % (r["cpu_median"] / base["cpu_median"])
        print("%-44s %10s %13s %9s %10s %9s" % (label, fmt_s(r), per, x, cpu, xc))
    if "report_median" in base:
        print("%-44s %10.3f %13s" % ("  vz index, in-process (its report.seconds)", base["report_median"],
                                     "%.1f ms" % (base["report_median"] / n * 1e3)))
    kb = res["kerchunk+bbox"]
    if "bbox_median" in kb:
        print("%-44s %10.3f %13s" % ("  of which the h5py bbox pass", kb["bbox_median"],
                                     "%.1f ms" % (kb["bbox_median"] / n * 1e3)))
    if not base.get("capped"):
        print("\nvz: %d chunks, %d with footprints, %d geolocated groups, %d problems, catalog %.1f MB"
              % (base["chunks"], base["tagged_chunks"], base["groups"], base["problems"], base["catalog_bytes"] / 1e6))
    for c in res["checks"]:
        print("check: %s: %s (%s)" % (c["check"], "ok" if c["ok"] else "FAILED", c["values"]))
    out = []
    k = res["kerchunk"]
    if not base.get("capped"):
        if k.get("capped"):
            out.append("vz >= %gx faster than kerchunk: kerchunk > cap -> MET" % TARGET)
        else:
            x, xc = k["median"] / base["median"], k["cpu_median"] / base["cpu_median"]
            out.append("vz index (footprints + H3, process) >= %gx faster than kerchunk alone: %.1fx wall "
                       "(%.1fx CPU) -> %s" % (TARGET, x, xc, "MET" if x >= TARGET else "NOT MET"))
    return out


# ----------------------------------------------------------------------------- S3 (moto)
def s3(vz: str, granules: list[str], runs: int, cap: float, out_dir: str) -> dict:
    env = Moto.env()
    server = Moto(os.path.join(out_dir, "moto.log"))
    try:
        urls = server.upload(granules)
        size = sum(os.path.getsize(g) for g in granules)
        rows = []
        for i in range(runs):
            before = len(server.requests())
            r = run_vz_index(vz, urls, ["--s3-endpoint", server.endpoint], cap, env=env)
            time.sleep(0.1)     # let moto write its last log lines
            seen = server.requests()[before:]
            r["server_requests"] = len(seen)
            r["server_by_method"] = {m: sum(1 for x in seen if x[0] == m) for m in sorted({x[0] for x in seen})}
            r["server_errors"] = sum(1 for x in seen if x[2] >= 400 and x[2] != 404)
            r["server_not_found"] = sum(1 for x in seen if x[2] == 404)
            rows.append(r)
            print("  s3 run %d/%d: %.2f s, %d requests (moto: %d)" % (i + 1, runs, r["seconds"], r["io"]["requests"],
                                                                    len(seen)), file=sys.stderr)
    finally:
        server.stop()
    last = rows[-1]
    return {"endpoint": "moto %s" % server.endpoint, "granules": len(urls), "bytes_total": size,
            "median": statistics.median(r["seconds"] for r in rows), "runs": [r["seconds"] for r in rows],
            "report_median": statistics.median(r["report_seconds"] for r in rows),
            "io": last["io"], "max_round_trips": last["max_round_trips"], "server_requests": last["server_requests"],
            "server_by_method": last["server_by_method"], "server_errors": last["server_errors"],
            "server_not_found": last["server_not_found"], "chunks": last["chunks"],
            "tagged_chunks": last["tagged_chunks"]}


def print_s3(r: dict, n: int) -> None:
    io = r["io"]
    print("\nvz index over S3 (moto on 127.0.0.1, %d granules, %.1f MB; catalog to a local directory; median of %d)"
          % (n, r["bytes_total"] / 1e6, len(r["runs"])))
    print("  time: %.3f s process (%.3f s in-process), %.1f ms per granule" % (r["median"], r["report_median"],
                                                                              r["median"] / n * 1e3))
    print("  granule reads (vz counters): %d requests, %.2f MB = %.2f%% of the bytes, %d round trips summed, "
          "at most %d per granule" % (io["requests"], io["bytes"] / 1e6, 100.0 * io["bytes"] / r["bytes_total"],
                                      io["round_trips"], r["max_round_trips"]))
    print("  moto saw %d requests %s (%d not found: the DMR++ sidecar probes; %d errors)"
          % (r["server_requests"], r["server_by_method"], r["server_not_found"], r["server_errors"]))


# ----------------------------------------------------------------------------- main
def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "bench-data"))
    p.add_argument("--vz", default=os.environ.get("VZ_BIN") or default_vz())
    p.add_argument("--runs", type=int, default=5, help="timed runs of every tool (median)")
    p.add_argument("--cap", type=float, default=300.0, help="seconds one run over all granules may take")
    p.add_argument("--no-s3", action="store_true", help="skip the S3 (moto) part")
    p.add_argument("--s3-runs", type=int, default=3, help="timed runs over S3")
    p.add_argument("--out", default=None, help="results directory (default DATA/results)")
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        worker(args.worker)
        return
    if not os.access(args.vz, os.X_OK):
        p.error("no vz binary at %s (cargo build --release --bin vz, or --vz / $VZ_BIN)" % args.vz)
    granules = sorted(glob.glob(os.path.join(args.data, "atl06", "ATL06_*.h5")))
    if not granules:
        sys.exit("no granules in %s/atl06 (run bench/make_data.sh)" % args.data)
    out_dir = args.out or os.path.join(args.data, "results")
    os.makedirs(out_dir, exist_ok=True)
    jobs = vz_default_jobs(args.vz)

    results = {"time": now(), "machine": machine(),
               "config": {"runs": args.runs, "cap_seconds": args.cap, "vz": args.vz, "vz_default_jobs": jobs,
                          "granules": [os.path.relpath(g, REPO) for g in granules],
                          "bytes_total": sum(os.path.getsize(g) for g in granules)}}
    print("vz index vs kerchunk: %d granules, %d timed runs" % (len(granules), args.runs), file=sys.stderr)
    results["local"] = local(args.vz, granules, args.runs, args.cap)
    results["targets"] = print_local(results["local"], len(granules), args.runs, jobs)
    if not args.no_s3:
        print("S3 (moto): %d runs" % args.s3_runs, file=sys.stderr)
        results["s3"] = s3(args.vz, granules, args.s3_runs, args.cap, out_dir)
        print_s3(results["s3"], len(granules))
    print("\nTarget (issue 4):")
    for line in results["targets"]:
        print("  " + line)
    path = write_results(out_dir, "index", results, latest="index.json")
    print("\nresults: %s (and index.json)" % path)
    if any(not c["ok"] for c in results["local"]["checks"]):
        sys.exit("a check failed (see above)")


if __name__ == "__main__":
    main()
