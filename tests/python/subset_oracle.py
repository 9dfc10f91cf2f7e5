"""Check one `vz subset` output against a brute-force oracle (issue 5).

The oracle reads whole arrays with h5py (its own libhdf5), tests every point against the AOI with
shapely (boundary counts as inside, like vz), and builds the expected rows. The bytes floor is
computed from the catalog with DuckDB: latitude/longitude chunks whose H3 cells (h3-py, "overlap"
containment) meet the AOI, plus the chunks of the other output arrays holding a selected row.

Usage: subset_oracle.py SPEC.json   (catalog, aoi, output, report, granules {id: path})
Prints one JSON line of figures; exits 1 with the differences on any mismatch.
"""

import json
import os
import sys

import duckdb
import geopandas
import h3
import h5py
import numpy as np
import pyarrow.parquet as pq
import shapely
from shapely.geometry import shape

ATL06_VARS = ["h_li", "h_li_sigma", "atl06_quality_summary"]


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def aoi_geometry(path):
    doc = json.load(open(path))
    if doc.get("type") == "FeatureCollection":
        return shapely.union_all([shape(f["geometry"]) for f in doc["features"]])
    if doc.get("type") == "Feature":
        return shape(doc["geometry"])
    return shape(doc)


def epoch_of(units):
    # "seconds since 2018-01-01" (ATL06 delta_time) -> Unix seconds of the epoch
    unit, since = units.split(" since ")
    assert unit.strip() == "seconds", units
    return np.datetime64(since.strip().replace("Z", ""), "us").astype("int64") / 1e6


def fill_of(ds):
    if "_FillValue" in ds.attrs:
        return np.asarray(ds.attrs["_FillValue"]).ravel()[0]
    return None


def oracle_rows(granule, path, geolocation, geom):
    """Expected rows: {(granule, group, row): {column: value}} and selected rows per group."""
    rows, selected = {}, {}
    with h5py.File(path, "r") as f:
        for g in geolocation:
            lat = f[g["latitude"]][...].astype("f8")
            lon = f[g["longitude"]][...].astype("f8")
            inside = shapely.intersects_xy(geom, lon, lat)
            idx = np.nonzero(inside)[0]
            selected[g["group"]] = idx
            if len(idx) == 0:
                continue
            cols = {}
            if g.get("time"):
                t = f[g["time"]]
                cols["time"] = t[...][idx].astype("f8") + epoch_of(t.attrs["units"].decode() if isinstance(t.attrs["units"], bytes) else t.attrs["units"])
            for v in ATL06_VARS:
                p = g["group"].rstrip("/") + "/" + v
                if p in f:
                    d = f[p]
                    vals = d[...][idx]
                    fv = fill_of(d)
                    cols[v] = [None if (fv is not None and x == fv) else x.item() for x in vals]
            for k, i in enumerate(idx):
                r = {"latitude": lat[i], "longitude": lon[i]}
                for c, vals in cols.items():
                    r[c] = vals[k]
                rows[(granule, g["group"], int(i))] = r
    return rows, selected


def main():
    spec = json.load(open(sys.argv[1]))
    geom = aoi_geometry(spec["aoi"])
    shapely.prepare(geom)
    catalog = spec["catalog"]
    expected, selected_by = {}, {}
    resolution = None
    geolocations = {}
    for gid, path in sorted(spec["granules"].items()):
        meta = json.loads(pq.read_metadata(os.path.join(catalog, "granules", gid + ".parquet")).metadata[b"vz"])
        resolution = meta["h3_resolution"]
        geolocations[gid] = meta["geolocation"]
        rows, sel = oracle_rows(gid, path, meta["geolocation"], geom)
        expected.update(rows)
        selected_by[gid] = sel

    out = geopandas.read_parquet(spec["output"])
    if out.crs is None or "CRS84" not in out.crs.to_string() and out.crs.to_epsg() != 4326:
        fail(f"output CRS is {out.crs}, expected OGC:CRS84")
    got = {}
    tab = pq.read_table(spec["output"]).to_pylist()
    for r in tab:
        key = (r["granule"], r["group"], r["row"])
        if key in got:
            fail(f"duplicate row {key}")
        got[key] = r
    diffs = []
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        diffs.append(f"{len(missing)} rows missing, e.g. {missing[:3]}")
    if extra:
        diffs.append(f"{len(extra)} rows not in the oracle, e.g. {extra[:3]}")
    for key in sorted(set(got) & set(expected)):
        g, e = got[key], expected[key]
        for c, ev in e.items():
            gv = g.get(c)
            if c == "time":
                gv = gv.timestamp() if gv is not None else None
                ok = gv is not None and abs(gv - ev) < 2e-6
            elif isinstance(ev, float) and isinstance(gv, float) and np.isnan(ev) and np.isnan(gv):
                ok = True
            else:
                ok = gv == ev
            if not ok:
                diffs.append(f"{key} {c}: vz {gv!r} vs oracle {ev!r}")
                break
        if len(diffs) > 20:
            break
    if diffs:
        fail("subset differs from the brute-force oracle:\n" + "\n".join(diffs))

    # DuckDB reads the output too.
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_parquet('{spec['output']}')").fetchone()[0]
    if n != len(expected):
        fail(f"DuckDB counts {n} rows, oracle {len(expected)}")

    # The floor, from the catalog.
    report = json.load(open(spec["report"]))
    cells = set()
    if resolution is not None:
        for poly in getattr(geom, "geoms", [geom]):
            shp = h3.geo_to_h3shape(poly.__geo_interface__)
            cells.update(h3.str_to_int(c) for c in h3.h3shape_to_cells_experimental(shp, resolution, contain="overlap"))
    chunks = con.execute(
        f"SELECT granule, path, row_start, row_end, length, h3 FROM read_parquet('{catalog}/chunks/*.parquet') WHERE row_start IS NOT NULL"
    ).fetchall()
    floor = 0
    for gid, geo in geolocations.items():
        for g in geo:
            sel = selected_by[gid].get(g["group"], np.array([], dtype=int))
            coords = {g["latitude"], g["longitude"]}
            others = {g["group"].rstrip("/") + "/" + v for v in ATL06_VARS}
            if g.get("time"):
                others.add(g["time"])
            for granule, path, r0, r1, length, hs in chunks:
                if granule != gid:
                    continue
                if path in coords:
                    if hs and cells.intersection(hs):
                        floor += length
                elif path in others and len(sel) and np.any((sel >= r0) & (sel < r1)):
                    floor += length
    read = report["bytes_read"]
    if floor == 0 and read == 0:
        ratio = 1.0
    else:
        ratio = read / floor if floor else float("inf")
    if ratio > 1.05:
        fail(f"subset read {read} bytes, floor {floor} ({ratio:.4f}x > 1.05x)")
    print(json.dumps({"rows": len(expected), "bytes_read": read, "floor": floor, "ratio": round(ratio, 4),
                      "requests": report["requests"]}))


if __name__ == "__main__":
    main()
