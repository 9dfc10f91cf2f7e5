#!/usr/bin/env python3
"""chunk_listing.py - vz vs h5py chunk_iter vs kerchunk, side by side, in one run.

For every input file, each tool lists the storage of every dataset (chunk grid
offset, byte offset, byte length, filter mask) and the wall time is measured:

  vz        `vz inspect FILE --json`, timed end to end as a process (start-up, read,
            JSON printing); the JSON is parsed afterwards (untimed) to count chunks.
  vz warm   examples/hdf5_read_loop (release build, when present): read_manifest repeated in
            one process, median; like h5py and kerchunk below, timed warm and in-process.
  h5py      open the file, visit every dataset, `dsid.chunk_iter(cb)` collecting
            (offset, byte_offset, size, filter_mask); contiguous datasets: get_offset()
            and get_storage_size(); compact datasets count as one (inline) chunk.
  kerchunk  `SingleHdf5ToZarr(f, url).translate()` with kerchunk's defaults; every
            reference key except .zarray/.zattrs/.zgroup is one chunk.

Python tools run in a worker process each (so a time cap can be enforced and
kerchunk's memory does not affect the others) and are timed inside it, without
interpreter start-up. Every tool runs once untimed (warm OS cache, imports), then
--runs times; the median is reported. All three must find the same number of chunks
per file, and vz and h5py the same (byte offset, length) pairs, or the run fails.

    bench/chunk_listing.py [--data bench-data] [--vz target/release/vz] [--runs 5]
                           [--kerchunk-cap 120] [--only atl06|btree1m]

Writes bench-data/results/chunk_listing-<time>.json (and chunk_listing-latest.json).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import select
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import REPO, default_vz, machine, now, write_results  # noqa: E402
TOOLS = ("vz", "h5py", "kerchunk")


# ----------------------------------------------------------------------------- python tools
def list_h5py(path: str) -> list[tuple[int, int]]:
    """All (byte_offset, size) storage pieces of all datasets, via libhdf5."""
    import h5py

    pieces: list[tuple[int, int]] = []

    def visit(_name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        dsid = obj.id
        layout = dsid.get_create_plist().get_layout()
        if layout == h5py.h5d.CHUNKED:
            found = []
            dsid.chunk_iter(lambda si: found.append((si.chunk_offset, si.byte_offset, si.size,
                                                     si.filter_mask)))
            pieces.extend((c[1], c[2]) for c in found)
        elif layout == h5py.h5d.CONTIGUOUS:
            offset = dsid.get_offset()
            if offset is not None:          # None: storage never allocated
                pieces.append((offset, dsid.get_storage_size()))
        elif layout == h5py.h5d.COMPACT:
            pieces.append((-1, dsid.get_storage_size()))   # bytes live in the header

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return pieces


def list_kerchunk(path: str) -> int:
    """Number of chunk references kerchunk writes for the file."""
    import fsspec
    from kerchunk.hdf import SingleHdf5ToZarr

    with fsspec.open(path, "rb") as f:
        refs = SingleHdf5ToZarr(f, path).translate()["refs"]
    return sum(1 for k in refs if not k.rsplit("/", 1)[-1].startswith(".z"))


def worker(tool: str, path: str, runs: int) -> None:
    """Run one python tool: one warm-up and `runs` timed runs, one JSON line each."""
    fn = {"h5py": list_h5py, "kerchunk": list_kerchunk}[tool]
    for i in range(runs + 1):
        start = time.perf_counter()
        out = fn(path)
        seconds = time.perf_counter() - start
        line = {"run": i, "seconds": seconds}
        if i == 0:
            if isinstance(out, int):
                line["chunks"] = out
            else:
                line["chunks"] = len(out)
                line["pieces"] = sorted(p for p in out if p[0] >= 0)
        print(json.dumps(line), flush=True)


# ----------------------------------------------------------------------------- measuring
class Capped(Exception):
    """A run took longer than the time cap."""


def run_python_tool(tool: str, path: str, runs: int, cap: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", tool, path, "--runs", str(runs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    lines = []
    try:
        for i in range(runs + 1):
            # The first line also pays for interpreter start-up and imports.
            deadline = time.monotonic() + cap + (30 if i == 0 else 0)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Capped()
                ready, _, _ = select.select([proc.stdout], [], [], left)
                if ready:
                    break
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("%s worker on %s died (exit %s)" % (tool, path, proc.wait()))
            lines.append(json.loads(line))
    except Capped:
        proc.kill()
        proc.wait()
        return {"capped": True, "cap_seconds": cap, "completed_runs": [l["seconds"] for l in lines]}
    proc.wait()
    times = [l["seconds"] for l in lines[1:]]
    return {"median": statistics.median(times), "runs": times, "warm": lines[0]["seconds"],
            "chunks": lines[0]["chunks"], "pieces": [tuple(p) for p in lines[0].get("pieces", [])]
            if "pieces" in lines[0] else None}


def vz_pieces(manifest: dict) -> tuple[int, list[tuple[int, int]]]:
    """Chunk count and sorted (offset, length) of a vz JSON manifest."""
    if "arrays" not in manifest:          # tolerate {"manifest": {...}, "stats": {...}}
        manifest = manifest.get("manifest", manifest)
    count, pieces = 0, []
    for arr in manifest.get("arrays", []):
        chunks = arr.get("chunks") or []
        count += len(chunks)
        pieces.extend((c["offset"], c["length"]) for c in chunks)
        if not chunks and arr.get("inline") is not None:
            count += 1                    # compact: the bytes live in the object header
    return count, sorted(pieces)


def run_vz(vz: str, path: str, runs: int, cap: float) -> dict:
    """Time `vz inspect FILE --json --stats` as a process; its stats.seconds is the
    library's own read time (read_manifest, without process start-up and JSON printing)."""
    cmd = [vz, "inspect", path, "--json", "--stats"]
    times, lib_times, first = [], [], None
    for i in range(runs + 1):
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=cap)
        except subprocess.TimeoutExpired:
            return {"capped": True, "cap_seconds": cap, "completed_runs": times}
        seconds = time.perf_counter() - start
        # Exit 3 = manifest written, but some objects had problems (they are in the JSON).
        if proc.returncode not in (0, 3):
            raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), proc.returncode,
                                                           proc.stderr.decode(errors="replace")[-2000:]))
        if i == 0:
            first = proc.stdout
        else:
            times.append(seconds)
            lib = json.loads(proc.stdout).get("stats", {}).get("seconds")
            if lib is not None:
                lib_times.append(lib)
    doc = json.loads(first)
    count, pieces = vz_pieces(doc)
    res = {"median": statistics.median(times), "runs": times, "chunks": count, "pieces": pieces,
           "json_bytes": len(first), "problems": len(doc.get("problems", []))}
    if lib_times:
        res["library"] = {"median": statistics.median(lib_times), "runs": lib_times, "chunks": count}
    return res


def process_start_cost(vz: str, runs: int) -> float:
    """Median wall time of `vz --version`: the process start-up part of every vz figure."""
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([vz, "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def measure_file(path: str, tools: list[str], vz: str, runs: int, cap: float, loop: str | None = None) -> dict:
    res = {"file": os.path.relpath(path, REPO), "size": os.path.getsize(path)}
    for tool in tools:
        print("  %-9s %s ..." % (tool, os.path.basename(path)), end="", flush=True, file=sys.stderr)
        if tool == "vz":
            r = run_vz(vz, path, runs, cap)
        else:
            r = run_python_tool(tool, path, runs, cap)
        print(" > cap" if r.get("capped") else " %.4f s" % r["median"], file=sys.stderr)
        res[tool] = r
    # Agreement: same chunk count for all, same (offset, length) pairs for vz and h5py.
    counts = {t: res[t]["chunks"] for t in tools if not res[t].get("capped")}
    if len(set(counts.values())) > 1:
        raise SystemExit("chunk counts differ on %s: %s" % (path, counts))
    if "vz" in counts and "h5py" in counts and res["vz"]["pieces"] != res["h5py"]["pieces"]:
        a, b = set(res["vz"]["pieces"]), set(res["h5py"]["pieces"])
        raise SystemExit("vz and h5py disagree on %s: %d pieces only in vz (%s), %d only in h5py (%s)"
                         % (path, len(a - b), sorted(a - b)[:3], len(b - a), sorted(b - a)[:3]))
    res["chunks"] = next(iter(counts.values())) if counts else None
    for tool in tools:
        res[tool].pop("pieces", None)
    # vz-lib: the same vz runs, the library's own read time (stats.seconds).
    if "vz" in tools and "library" in res["vz"]:
        res["vz-lib"] = res["vz"].pop("library")
    if "vz" in tools and loop and os.path.exists(loop):
        # Enough reads for a stable median: a granule reads in about a millisecond.
        reads = max(runs, 20 if (res["chunks"] or 0) > 100_000 else 200)
        res["vz-warm"] = run_loop(loop, path, reads, res["chunks"])
    return res


def run_loop(loop: str, path: str, runs: int, chunks) -> dict:
    """examples/hdf5_read_loop: read_manifest `runs` times in one warm process; its median is
    the like-for-like counterpart of the h5py and kerchunk figures (also warm, in-process, no
    output: `--no-json`)."""
    out = subprocess.run([loop, path, str(runs), "--no-json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout.decode()
    m = re.search(r"(\d+) chunks; read_manifest min ([\d.]+) ms, median ([\d.]+) ms", out)
    if not m or (chunks is not None and int(m.group(1)) != chunks):
        raise SystemExit("hdf5_read_loop on %s: unexpected output %r" % (path, out))
    return {"median": float(m.group(3)) / 1e3, "min": float(m.group(2)) / 1e3, "runs": runs, "chunks": int(m.group(1))}


# ----------------------------------------------------------------------------- reporting
def fmt(r: dict) -> str:
    if r.get("capped"):
        return "> %g s" % r["cap_seconds"]
    return "%.1f" % (r["median"] * 1e3)


def ratio(num: dict, den: dict) -> str:
    if den.get("capped"):
        return "n/a"
    if num.get("capped"):
        return "> %.0fx" % (num["cap_seconds"] / den["median"])
    return "%.1fx" % (num["median"] / den["median"])


COLUMNS = ("vz", "vz-lib", "vz-warm", "h5py", "kerchunk")
LABELS = {"vz": "vz process", "vz-lib": "vz library", "vz-warm": "vz warm", "h5py": "h5py", "kerchunk": "kerchunk"}


def slower(r: dict, tool: str, base: str):
    """How many times longer `tool` took than `base` on one file (None if unknown)."""
    if r[tool].get("capped") or r[base].get("capped"):
        return None
    return r[tool]["median"] / r[base]["median"]


def table(title: str, files: list[dict]) -> dict:
    """Print one table; return the totals."""
    cols = [t for t in COLUMNS if all(t in r for r in files)]
    print("\n" + title)
    head = "%-44s %7s %8s" % ("file", "MB", "chunks") + "".join("%13s" % LABELS[t] for t in cols)
    print(head)
    print("-" * len(head))
    for r in files:
        print("%-44s %7.1f %8s" % (os.path.basename(r["file"]), r["size"] / 1e6, r["chunks"])
              + "".join("%13s" % fmt(r[t]) for t in cols))
    totals = {}
    for t in cols:
        if any(r[t].get("capped") for r in files):
            # At least the caps of the capped files plus the medians of the others.
            totals[t] = {"capped": True, "cap_seconds": sum(r[t].get("cap_seconds") or r[t].get(
                "median", 0) for r in files)}
        else:
            totals[t] = {"median": sum(r[t]["median"] for r in files)}
    if len(files) > 1:
        print("-" * len(head))
        print("%-44s %7.1f %8d" % ("total (sum of medians, ms)", sum(r["size"] for r in files) / 1e6,
                                   sum(r["chunks"] for r in files))
              + "".join("%13s" % fmt(totals[t]) for t in cols))
        per = {t: ({"median": totals[t]["median"] / len(files)} if not totals[t].get("capped")
                   else totals[t]) for t in cols}
        print("%-44s %7s %8s" % ("mean per file (ms)", "", "") + "".join("%13s" % fmt(per[t]) for t in cols))
    for base in ("vz", "vz-lib", "vz-warm"):
        if base not in cols:
            continue
        print("%-44s %7s %8s" % ("x %s time (total)" % LABELS[base], "", "")
              + "".join("%13s" % ratio(totals[t], totals[base]) for t in cols))
        if len(files) > 1:
            # The targets are per granule: report the worst file.
            worst = {}
            for t in cols:
                vals = [v for v in (slower(r, t, base) for r in files) if v is not None]
                worst[t] = ("%.1fx" % min(vals)) if vals else "n/a"
            print("%-44s %7s %8s" % ("x %s time (worst file)" % LABELS[base], "", "")
                  + "".join("%13s" % worst[t] for t in cols))
    return totals


def targets(results: dict) -> list[str]:
    """The issue's targets, checked against this run, for vz as a process and as a library."""
    out = []
    g = results.get("atl06", {}).get("files", [])
    for base in ("vz", "vz-lib", "vz-warm"):
        if not g or base not in g[0]:
            continue
        for tool, need in (("h5py", 10.0), ("kerchunk", 100.0)):
            if tool not in g[0]:
                continue
            vals = [v for v in (slower(r, tool, base) for r in g) if v is not None]
            if vals:
                out.append("%s >= %gx faster than %s per granule: worst %.1fx, best %.1fx -> %s"
                           % (LABELS[base], need, tool, min(vals), max(vals),
                              "MET" if min(vals) >= need else "NOT MET"))
    b = results.get("btree1m", {}).get("files", [])
    for base in ("vz", "vz-lib", "vz-warm"):
        if b and base in b[0] and not b[0][base].get("capped"):
            t = b[0][base]["median"]
            out.append("%s: 1M-chunk index in <= 0.1 s: %.3f s -> %s"
                       % (LABELS[base], t, "MET" if t <= 0.1 else "NOT MET"))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "bench-data"))
    p.add_argument("--vz", default=os.environ.get("VZ_BIN") or default_vz())
    p.add_argument("--loop", default=os.path.join(os.path.dirname(os.environ.get("VZ_BIN") or default_vz()),
                                                  "examples", "hdf5_read_loop"),
                   help="examples/hdf5_read_loop (release) for the 'vz warm' column; skipped when absent")
    p.add_argument("--runs", type=int, default=5, help="timed runs per tool and file (median)")
    p.add_argument("--runs-1m", type=int, default=3, help="timed runs on the 1M-chunk file")
    p.add_argument("--kerchunk-cap", type=float, default=120.0,
                   help="seconds one run of any tool may take before it is reported as '> cap'")
    p.add_argument("--only", choices=("atl06", "btree1m"))
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of vz,h5py,kerchunk")
    p.add_argument("--out", default=None, help="results directory (default DATA/results)")
    p.add_argument("--worker", nargs=2, metavar=("TOOL", "FILE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        worker(args.worker[0], args.worker[1], args.runs)
        return

    tools = [t for t in args.tools.split(",") if t]
    if any(t not in TOOLS for t in tools):
        p.error("unknown tool in --tools %s" % args.tools)
    if "vz" in tools and not os.access(args.vz, os.X_OK):
        p.error("no vz binary at %s (cargo build --release, or --vz / $VZ_BIN)" % args.vz)

    results = {"time": now(), "machine": machine(),
               "config": {"runs": args.runs, "runs_1m": args.runs_1m, "cap_seconds": args.kerchunk_cap,
                          "tools": tools, "vz": args.vz}}
    if "vz" in tools:
        results["vz_process_start_seconds"] = process_start_cost(args.vz, args.runs)

    if args.only in (None, "atl06"):
        granules = sorted(glob.glob(os.path.join(args.data, "atl06", "ATL06_*.h5")))
        if not granules:
            sys.exit("no granules in %s/atl06 (run bench/make_data.sh)" % args.data)
        print("ATL06: %d granules, %d timed runs each" % (len(granules), args.runs), file=sys.stderr)
        files = [measure_file(g, tools, args.vz, args.runs, args.kerchunk_cap, args.loop) for g in granules]
        results["atl06"] = {"files": files}
    if args.only in (None, "btree1m"):
        big = os.path.join(args.data, "btree1m.h5")
        if not os.path.exists(big):
            sys.exit("no %s (run bench/make_data.sh)" % big)
        print("1M-chunk B-tree v1 file, %d timed runs" % args.runs_1m, file=sys.stderr)
        results["btree1m"] = {"files": [measure_file(big, tools, args.vz, args.runs_1m, args.kerchunk_cap, args.loop)]}

    if "atl06" in results:
        results["atl06"]["totals"] = table(
            "Chunk listing, %d synthetic ATL06 granules (median of %d runs, ms)"
            % (len(results["atl06"]["files"]), args.runs), results["atl06"]["files"])
    if "btree1m" in results:
        results["btree1m"]["totals"] = table(
            "Chunk listing, 1,000,000-chunk v1 B-tree dataset (median of %d runs, ms)" % args.runs_1m,
            results["btree1m"]["files"])
    if "vz_process_start_seconds" in results:
        print("\nvz process = `vz inspect FILE --json --stats` end to end (`vz --version` alone: %.1f ms);"
              "\nvz library = the read time vz reports itself (stats.seconds: read_manifest, no start-up"
              "\nor JSON). h5py and kerchunk are timed in-process too." % (results["vz_process_start_seconds"] * 1e3))
    results["targets"] = targets(results)
    if results["targets"]:
        print("\nTargets (issue 2):")
        for line in results["targets"]:
            print("  " + line)

    path = write_results(args.out or os.path.join(args.data, "results"), "chunk_listing", results)
    print("\nresults: %s" % path)

if __name__ == "__main__":
    main()
