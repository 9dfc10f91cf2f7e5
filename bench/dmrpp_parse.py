#!/usr/bin/env python3
"""DMR++ parsing, side by side in one run: vz vs VirtualiZarr's DMR++ parser (issue 3).

For each sidecar (default: the real NASA ones in ../shared/fixtures/real/dmrpp_only/):
  vz           `vz inspect --json --stats SIDECAR` (release build): the process end to end, and the
               parse time vz reports itself (stats.seconds: read + parse into the manifest);
  virtualizarr in-process: VirtualiZarr 2.x `DMRParser` on the same bytes, building the chunk
               manifests of every group that holds variables (what a user gets for the file).
Both are checked to find the same number of chunks. Median of --runs runs after one warm-up, and
the best run of each (less sensitive to other load on the machine; load average is recorded).
For the parser alone, without process start or output: examples/dmrpp_parse_loop.rs.

usage: bench/dmrpp_parse.py [--vz target/release/vz] [--runs 5] [SIDECAR ...]
"""
import argparse
import glob
import io
import json
import os
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
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("sidecars", nargs="*")
    args = ap.parse_args()
    sidecars = args.sidecars or sorted(glob.glob(os.path.join(REPO, "../shared/fixtures/real/dmrpp_only/*.dmrpp")))
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.runs} runs (best run in brackets)")
    print(f"{'sidecar':44} {'chunks':>7} {'vz process':>18} {'vz parse':>16} {'virtualizarr':>20} {'x process':>9} {'x parse':>8}")
    results = []
    for path in sidecars:
        vz_run(args.vz, path), virtualizarr_run(path)  # warm-up
        vz = [vz_run(args.vz, path) for _ in range(args.runs)]
        vr = [virtualizarr_run(path) for _ in range(args.runs)]
        wall = statistics.median(v[0] for v in vz)
        parse = statistics.median(v[1] for v in vz)
        vzr = statistics.median(v[0] for v in vr)
        best_wall, best_parse, best_vzr = min(v[0] for v in vz), min(v[1] for v in vz), min(v[0] for v in vr)
        n_vz, n_vr = vz[0][2], vr[0][1]
        print(f"{os.path.basename(path)[:44]:44} {n_vz:>7} {wall*1e3:>7.1f}ms ({best_wall*1e3:>5.1f}) "
              f"{parse*1e3:>6.1f}ms ({best_parse*1e3:>5.1f}) {vzr*1e3:>8.1f}ms ({best_vzr*1e3:>6.1f}) "
              f"{vzr/wall:>8.0f}x {vzr/parse:>7.0f}x" + ("" if n_vz == n_vr else f"   (virtualizarr found {n_vr} chunks)"))
        results.append({"sidecar": path, "chunks_vz": n_vz, "chunks_virtualizarr": n_vr, "vz_process_s": wall,
                        "vz_parse_s": parse, "virtualizarr_s": vzr, "best_vz_process_s": best_wall,
                        "best_vz_parse_s": best_parse, "best_virtualizarr_s": best_vzr})
    os.makedirs(os.path.join(REPO, "bench-data/results"), exist_ok=True)
    with open(os.path.join(REPO, "bench-data/results/dmrpp_parse.json"), "w") as f:
        json.dump({"load_average": os.getloadavg(), "results": results}, f, indent=1)
    worst = min(r["virtualizarr_s"] / r["vz_process_s"] for r in results)
    print(f"target >= 50x faster than VirtualiZarr: worst {worst:.0f}x (process) -> {'met' if worst >= 50 else 'not met'}")


if __name__ == "__main__":
    main()
