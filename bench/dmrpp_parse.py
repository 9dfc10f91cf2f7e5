#!/usr/bin/env python3
"""DMR++ parsing, side by side in one run: vz vs VirtualiZarr's DMR++ parser (issue 3).

For each sidecar (default: the real NASA ones in ../shared/fixtures/real/dmrpp_only/):
  vz           `vz inspect --json --stats SIDECAR` (release build): the process end to end, and the
               parse time vz reports itself (stats.seconds: read + parse into the manifest);
  virtualizarr in-process: VirtualiZarr 2.x `DMRParser` on the same bytes, building the chunk
               manifests of every group that holds variables (what a user gets for the file).
Both are checked to find the same number of chunks. Median of --runs runs after one warm-up, and
the best run of each (less sensitive to other load on the machine; load average is recorded).
  vz loop      examples/dmrpp_parse_loop (release build, when present): `parse_dmrpp` alone on the
               bytes in memory, best of --loop-parses parses (no process start, read or output).
With --base-vz / --base-loop (binaries of an earlier build), those are timed too, interleaved
with the current ones in the same run, for before/after figures under the same load.

usage: bench/dmrpp_parse.py [--vz target/release/vz] [--loop target/release/examples/dmrpp_parse_loop]
                            [--base-vz VZ] [--base-loop LOOP] [--runs 5] [SIDECAR ...]
"""
import argparse
import glob
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
import warnings
from xml.etree import ElementTree as ET

warnings.filterwarnings("ignore")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def vz_run(vz, path):
    t0 = time.perf_counter()
    out = subprocess.run([vz, "inspect", "--json", "--stats", path], capture_output=True, check=False)
    wall = time.perf_counter() - t0
    m = json.loads(out.stdout)
    return wall, m["stats"]["seconds"], sum(len(a["chunks"]) for a in m["arrays"])


def loop_run(loop, path, parses):
    """Best (min) and median seconds per parse from examples/dmrpp_parse_loop."""
    out = subprocess.run([loop, path, str(parses)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"min ([0-9.]+) ms .* median ([0-9.]+) ms", out)
    return float(m.group(1)) / 1e3, float(m.group(2)) / 1e3


def virtualizarr_run(path):
    from obstore.store import LocalStore
    from virtualizarr.parsers.dmrpp import DMRParser

    data = open(path, "rb").read()
    t0 = time.perf_counter()
    root = ET.parse(io.BytesIO(data)).getroot()
    parser = DMRParser(root=root, data_filepath="file://" + path.removesuffix(".dmrpp"))
    groups = [str(g) for g in parser._split_groups(root)]
    chunks = 0
    for g in groups:
        group = None if g in ("/", ".") else g.strip("/")
        try:
            store = DMRParser(root=root, data_filepath=parser.data_filepath).parse_dataset(object_store=LocalStore(), group=group)
        except Exception as e:  # a group VirtualiZarr cannot read: count what it can
            print(f"  virtualizarr: group {g}: {type(e).__name__}: {e}"[:160], file=sys.stderr)
            continue
        chunks += sum(len(a.manifest.dict()) for a in store._group.arrays.values())
    return time.perf_counter() - t0, chunks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vz", default=os.path.join(REPO, "target/release/vz"))
    ap.add_argument("--loop", default=os.path.join(REPO, "target/release/examples/dmrpp_parse_loop"))
    ap.add_argument("--loop-parses", type=int, default=50)
    ap.add_argument("--base-vz", help="vz of an earlier build, timed alongside")
    ap.add_argument("--base-loop", help="dmrpp_parse_loop of an earlier build, timed alongside")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("sidecars", nargs="*")
    args = ap.parse_args()
    sidecars = args.sidecars or sorted(glob.glob(os.path.join(REPO, "../shared/fixtures/real/dmrpp_only/*.dmrpp")))
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.runs} runs (best run in brackets)")
    has_loop = os.path.exists(args.loop)
    print(f"{'sidecar':44} {'chunks':>7} {'vz process':>18} {'vz parse':>16} {'vz loop':>16} {'virtualizarr':>20} "
          f"{'x process':>9} {'x parse':>8} {'x loop':>7}")
    results = []
    for path in sidecars:
        vz_run(args.vz, path), virtualizarr_run(path)  # warm-up
        vz, vr, base = [], [], []
        for _ in range(args.runs):  # interleaved, so every tool sees the same load
            vz.append(vz_run(args.vz, path))
            vr.append(virtualizarr_run(path))
            if args.base_vz:
                base.append(vz_run(args.base_vz, path))
        loop = loop_run(args.loop, path, args.loop_parses) if has_loop else None
        base_loop = loop_run(args.base_loop, path, args.loop_parses) if args.base_loop else None
        wall = statistics.median(v[0] for v in vz)
        parse = statistics.median(v[1] for v in vz)
        vzr = statistics.median(v[0] for v in vr)
        best_wall, best_parse, best_vzr = min(v[0] for v in vz), min(v[1] for v in vz), min(v[0] for v in vr)
        n_vz, n_vr = vz[0][2], vr[0][1]
        loop_cols = f"{loop[1]*1e3:>6.2f}ms ({loop[0]*1e3:>5.2f})" if loop else f"{'-':>16}"
        x_loop = f"{vzr/loop[1]:>6.0f}x" if loop else f"{'-':>7}"
        print(f"{os.path.basename(path)[:44]:44} {n_vz:>7} {wall*1e3:>7.1f}ms ({best_wall*1e3:>5.1f}) "
              f"{parse*1e3:>6.1f}ms ({best_parse*1e3:>5.1f}) {loop_cols} {vzr*1e3:>8.1f}ms ({best_vzr*1e3:>6.1f}) "
              f"{vzr/wall:>8.0f}x {vzr/parse:>7.0f}x {x_loop}"
              + ("" if n_vz == n_vr else f"   (virtualizarr found {n_vr} chunks)"))
        r = {"sidecar": path, "chunks_vz": n_vz, "chunks_virtualizarr": n_vr, "vz_process_s": wall,
             "vz_parse_s": parse, "virtualizarr_s": vzr, "best_vz_process_s": best_wall,
             "best_vz_parse_s": best_parse, "best_virtualizarr_s": best_vzr}
        if loop:
            r.update({"best_vz_loop_s": loop[0], "vz_loop_s": loop[1]})
        if base:
            b_wall, b_parse = statistics.median(v[0] for v in base), statistics.median(v[1] for v in base)
            assert base[0][2] == n_vz, "the base build finds a different number of chunks"
            print(f"{'  before (base build)':44} {'':>7} {b_wall*1e3:>7.1f}ms ({min(v[0] for v in base)*1e3:>5.1f}) "
                  f"{b_parse*1e3:>6.1f}ms ({min(v[1] for v in base)*1e3:>5.1f})", end="")
            r.update({"base_vz_process_s": b_wall, "base_vz_parse_s": b_parse})
            if base_loop:
                print(f" {base_loop[1]*1e3:>6.2f}ms ({base_loop[0]*1e3:>5.2f})", end="")
                r.update({"best_base_loop_s": base_loop[0], "base_loop_s": base_loop[1]})
            print()
        results.append(r)
    os.makedirs(os.path.join(REPO, "bench-data/results"), exist_ok=True)
    with open(os.path.join(REPO, "bench-data/results/dmrpp_parse.json"), "w") as f:
        json.dump({"load_average": os.getloadavg(), "results": results}, f, indent=1)
    for what, key in [("process", "vz_process_s"), ("parse in a fresh process", "vz_parse_s"), ("parser loop", "vz_loop_s")]:
        if all(key in r for r in results):
            worst = min(r["virtualizarr_s"] / r[key] for r in results)
            print(f"target >= 50x faster than VirtualiZarr ({what}, medians): worst {worst:.0f}x -> "
                  f"{'met' if worst >= 50 else 'not met'}")


if __name__ == "__main__":
    main()
