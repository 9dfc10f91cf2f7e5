#!/usr/bin/env python3
"""remote_listing.py - vz over HTTP: requests, bytes and sequential round trips per granule.

Starts examples/range_server on 127.0.0.1 over bench-data/ (with --log), then for each
granule runs `vz inspect --stats --json http://127.0.0.1:PORT/atl06/<granule>` and
reports what vz says it did (requests, bytes, sequential round trips) next to what the
server saw (requests, body bytes), the bytes as % of the file size, and wall time.
The issue's target: <= 12 sequential round trips and <= 5% of the granule's bytes.

    bench/remote_listing.py [--data bench-data] [--vz target/release/vz]
                            [--server target/debug/examples/range_server] [--delay-ms 0]

--delay-ms makes the server hold every response that long (simulated latency), so the
wall time shows the cost of round trips. Writes bench-data/results/remote-<time>.json.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from chunk_listing import vz_pieces  # noqa: E402
from common import REPO, default_vz, machine, now, stop_process, write_results  # noqa: E402

LOG_LINE = re.compile(r"^req (\d+) (\S+) (\S+) range=(\S+) status=(\d+) body=(\d+)")


def default_server() -> str:
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.path.join(target, "debug", "examples", "range_server")


class Server:
    """examples/range_server over one directory, its --log written to a file we can read."""

    def __init__(self, binary: str, root: str, log_path: str, delay_ms: int):
        self.log_path = log_path
        self.log = open(log_path, "w")
        cmd = [binary, root, "--log", "--delay-ms", str(delay_ms)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise SystemExit("range_server did not print its URL (see %s)" % log_path)

    def requests(self) -> list[dict]:
        out = []
        with open(self.log_path) as f:
            for line in f:
                m = LOG_LINE.match(line)
                if m:
                    out.append({"method": m.group(2), "path": m.group(3), "range": m.group(4),
                                "status": int(m.group(5)), "body": int(m.group(6))})
        return out

    def stop(self) -> None:
        stop_process(self.proc, self.log)


def find_stats(doc) -> dict | None:
    """The "stats" object of vz's JSON output, wherever it sits."""
    if isinstance(doc, dict):
        if isinstance(doc.get("stats"), dict):
            return doc["stats"]
        for v in doc.values():
            s = find_stats(v) if isinstance(v, dict) else None
            if s:
                return s
    return None


def pick(stats: dict, *words: str):
    """First numeric stats value whose key contains all `words` (tolerates naming)."""
    for k, v in stats.items():
        if all(w in k.lower() for w in words) and isinstance(v, (int, float)):
            return v
    return None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "bench-data"))
    p.add_argument("--vz", default=os.environ.get("VZ_BIN") or default_vz())
    p.add_argument("--server", default=os.environ.get("VZ_RANGE_SERVER") or default_server())
    p.add_argument("--delay-ms", type=int, default=0, help="server-side delay per response")
    p.add_argument("--with-1m", action="store_true", help="also read bench-data/btree1m.h5 remotely")
    p.add_argument("--out", default=None, help="results directory (default DATA/results)")
    args = p.parse_args(argv)

    for what, path in (("vz", args.vz), ("range_server", args.server)):
        if not os.access(path, os.X_OK):
            sys.exit("no %s binary at %s (see bench/run.sh)" % (what, path))
    files = sorted(glob.glob(os.path.join(args.data, "atl06", "ATL06_*.h5")))
    if args.with_1m and os.path.exists(os.path.join(args.data, "btree1m.h5")):
        files.append(os.path.join(args.data, "btree1m.h5"))
    if not files:
        sys.exit("no granules in %s/atl06 (run bench/make_data.sh)" % args.data)

    out_dir = args.out or os.path.join(args.data, "results")
    os.makedirs(out_dir, exist_ok=True)
    server = Server(args.server, args.data, os.path.join(out_dir, "range_server.log"), args.delay_ms)
    rows = []
    try:
        for path in files:
            rel = os.path.relpath(path, args.data).replace(os.sep, "/")
            url = server.url + rel
            seen_before = len(server.requests())
            start = time.perf_counter()
            proc = subprocess.run([args.vz, "inspect", "--stats", "--json", url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit("vz inspect %s failed (exit %d): %s" % (url, proc.returncode,
                                                                  proc.stderr.decode(errors="replace")[-2000:]))
            time.sleep(0.05)   # let the server flush its log lines
            seen = server.requests()[seen_before:]
            doc = json.loads(proc.stdout)
            stats = find_stats(doc) or {}
            size = os.path.getsize(path)
            chunks, _ = vz_pieces(doc)
            row = {"file": rel, "size": size, "chunks": chunks, "seconds": seconds, "vz_stats": stats,
                   "requests": pick(stats, "request"), "bytes": pick(stats, "byte"),
                   "round_trips": pick(stats, "round"),
                   "server_requests": len(seen), "server_ranged_gets": sum(1 for r in seen if r["range"] != "-"),
                   "server_body_bytes": sum(r["body"] for r in seen),
                   "server_errors": sum(1 for r in seen if r["status"] >= 400)}
            if not stats:
                row["note"] = "no stats object in vz JSON; stderr: " + proc.stderr.decode(errors="replace")[-500:]
            rows.append(row)
    finally:
        server.stop()

    print("\nvz inspect over HTTP (range_server on 127.0.0.1, delay %d ms per response)" % args.delay_ms)
    head = "%-42s %7s %6s %7s %6s %10s %10s %7s %6s %9s" % (
        "file", "chunks", "req", "srv req", "rtt", "bytes", "srv bytes", "% file", "ms", "target")
    print(head)
    print("-" * len(head))
    for r in rows:
        nbytes = r["bytes"] if r["bytes"] is not None else r["server_body_bytes"]
        r["percent_of_file"] = 100.0 * nbytes / r["size"]
        ok = None
        if r["file"].startswith("atl06/"):
            ok = (r["round_trips"] is not None and r["round_trips"] <= 12 and r["percent_of_file"] <= 5.0)
            r["target_met"] = ok
        print("%-42s %7d %6s %7d %6s %10s %10d %7.2f %6.0f %9s" % (
            os.path.basename(r["file"]), r["chunks"], r["requests"], r["server_requests"], r["round_trips"],
            r["bytes"], r["server_body_bytes"], r["percent_of_file"], r["seconds"] * 1e3,
            {None: "", True: "MET", False: "NOT MET"}[ok]))
        if r["server_errors"]:
            print("  ! %d requests answered >= 400 (see range_server.log)" % r["server_errors"])
        if "note" in r:
            print("  ! " + r["note"])
    g = [r for r in rows if r["file"].startswith("atl06/")]
    if g:
        print("\nTarget (issue 2): <= 12 sequential round trips and <= 5%% of the bytes per granule: "
              "%d of %d granules met; max round trips %s, max %.2f%% of bytes"
              % (sum(1 for r in g if r.get("target_met")), len(g),
                 max((r["round_trips"] for r in g if r["round_trips"] is not None), default="?"),
                 max(r["percent_of_file"] for r in g)))

    results = {"time": now(), "machine": machine(),
               "config": {"delay_ms": args.delay_ms, "vz": args.vz, "server": args.server}, "files": rows}
    print("\nresults: %s" % write_results(out_dir, "remote", results))

if __name__ == "__main__":
    main()
