"""VirtualiZarr's DMR++ parser (a real client) reads sidecars written by `vz export dmrpp`, and its
chunk manifest equals vz's. usage: virtualizarr_dmrpp.py MANIFEST.json SIDECAR.dmrpp [...pairs]"""
import json
import sys
import warnings

from obspec_utils.registry import ObjectStoreRegistry
from obstore.store import LocalStore
from virtualizarr.parsers import DMRPPParser

warnings.filterwarnings("ignore")
registry = ObjectStoreRegistry({"file://": LocalStore()})
failures, arrays, chunks = [], 0, 0
args = sys.argv[1:]
for manifest_path, sidecar in zip(args[::2], args[1::2]):
    m = json.load(open(manifest_path))
    by_group = {}
    for a in m["arrays"]:
        group, name = a["path"].rsplit("/", 1)
        by_group.setdefault(group, {})[name] = a
    for group, ours in sorted(by_group.items()):
        store = DMRPPParser(group=group.strip("/") or None)(url=f"file://{sidecar}", registry=registry)
        theirs = store._group.arrays
        for name, a in ours.items():
            if a["layout"] != "chunked" or name not in theirs:
                continue
            entries = theirs[name].manifest.dict()
            expected = {".".join(map(str, c["coords"])): (c["offset"], c["length"]) for c in a["chunks"]}
            got = {k: (v["offset"], v["length"]) for k, v in entries.items()}
            arrays += 1
            chunks += len(got)
            if got != expected:
                failures.append(f"{sidecar}: {a['path']}: virtualizarr {sorted(got.items())[:2]} vs vz {sorted(expected.items())[:2]}")
        # every chunked numeric array of a geolocated group must have been seen by VirtualiZarr
        if group.endswith("land_ice_segments"):
            missing = [n for n, a in ours.items() if a["layout"] == "chunked" and n not in theirs]
            if missing:
                failures.append(f"{sidecar}: {group}: VirtualiZarr did not read {missing}")
print(f"virtualizarr: {arrays} arrays, {chunks} chunks equal to vz's")
for f in failures[:20]:
    print("FAIL", f)
sys.exit(1 if failures or arrays == 0 else 0)
