"""Independent checks of a vz catalog (run by tests/catalog.rs).

For each AOI case, the chunks whose rows hold at least one point inside the AOI are computed by
brute force from the raw latitude/longitude (read with h5py, i.e. libhdf5), then compared with what
DuckDB (spatial extension, loaded offline) finds in the catalog:
  (a) by H3 cells (AOI cells from the h3 package, not from vz),
  (b) by ST_Intersects on the WKB footprints,
  (c) by the GeoParquet bbox covering columns.
(a) and (c) are filters: they must hold every brute-force chunk (no false negatives); their false
positives are reported. (b) uses the rows' own track and must equal the brute force exactly.
geopandas must read the chunks table as OGC:CRS84.

usage: catalog_checks.py CATALOG CASES.json
CASES.json: [{"name", "aoi": GeoJSON geometry, "granules": {granule_id: hdf5_path}}]
"""
import glob
import json
import os
import sys

import duckdb
import geopandas
import h3
import h5py
import numpy as np
import shapely
from shapely.geometry import shape


def connect():
    ext = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_ext", "extensions"))
    con = duckdb.connect()
    con.execute(f"SET extension_directory = '{os.path.abspath(ext[0])}'; LOAD spatial;")
    return con


def aoi_cells(geom, res):
    """H3 cells meeting the AOI: cells whose centre is inside, plus the cells of the boundary
    vertices, plus one ring of neighbours (a cell can meet the AOI without its centre inside)."""
    cells = set()
    polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    for p in polys:
        # densify the boundary so that every boundary cell is seen
        for ring in [p.exterior, *p.interiors]:
            line = shapely.segmentize(ring, 0.001)
            for x, y in line.coords:
                cells.add(h3.latlng_to_cell(y, x, res))
        poly = h3.LatLngPoly([(y, x) for x, y in p.exterior.coords], *[[(y, x) for x, y in i.coords] for i in p.interiors])
        cells.update(h3.polygon_to_cells(poly, res))
    ring = set()
    for c in cells:
        ring.update(h3.grid_disk(c, 1))
    return sorted(h3.str_to_int(c) for c in ring)


def auto_aoi(con, catalog, case):
    """A 0.2-degree box around the middle point of the first geolocated group of the first granule
    (real granules lie wherever their orbit took them)."""
    gid, path = next(iter(case["granules"].items()))
    meta = json.loads(con.execute(
        f"SELECT decode(value) FROM parquet_kv_metadata('{catalog}/chunks/{gid}.parquet') WHERE decode(key) = 'vz'"
    ).fetchone()[0])
    with h5py.File(path, "r") as f:
        g = meta["geolocation"][0]
        lat, lon = f[g["latitude"]][...], f[g["longitude"]][...]
        i = len(lat) // 2
        y, x = float(lat[i]), float(lon[i])
    return shapely.box(x - 0.1, y - 0.1, x + 0.1, y + 0.1)


def brute_force(con, catalog, case, geom):
    """(granule, array, key) of every chunk whose rows hold a point inside the AOI."""
    hits = set()
    for gid, path in case["granules"].items():
        meta = json.loads(con.execute(
            f"SELECT decode(value) FROM parquet_kv_metadata('{catalog}/chunks/{gid}.parquet') WHERE decode(key) = 'vz'"
        ).fetchone()[0])
        with h5py.File(path, "r") as f:
            for g in meta["geolocation"]:
                lat = f[g["latitude"]][...].astype(float)
                lon = f[g["longitude"]][...].astype(float)
                ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
                inside = np.zeros(len(lat), bool)
                inside[ok] = shapely.contains_xy(geom, lon[ok], lat[ok])
                if not inside.any():
                    continue
                prefix = np.concatenate([[0], np.cumsum(inside)])
                rows = con.execute(
                    f"SELECT array, key, row_start, row_end FROM '{catalog}/chunks/{gid}.parquet' WHERE \"group\" = ?",
                    [g["group"]],
                ).fetchall()
                for array, key, r0, r1 in rows:
                    if prefix[r1] - prefix[r0] > 0:
                        hits.add((gid, array, key))
    return hits


def main():
    catalog, cases_path = sys.argv[1], sys.argv[2]
    cases = json.load(open(cases_path))
    con = connect()
    failures = []
    gdf = geopandas.read_parquet(sorted(glob.glob(f"{catalog}/chunks/*.parquet"))[0])
    if str(gdf.crs) != "OGC:CRS84":
        failures.append(f"geopandas reads the chunks table with CRS {gdf.crs}, expected OGC:CRS84")
    print(f"geopandas: {len(gdf)} rows, crs {gdf.crs}")
    res = con.execute(f"SELECT DISTINCT h3_resolution FROM '{catalog}/granules/*.parquet'").fetchall()
    assert len(res) == 1, res
    res = int(res[0][0])
    for case in cases:
        geom = auto_aoi(con, catalog, case) if case["aoi"] == "auto" else shape(case["aoi"])
        ids = list(case["granules"])
        table = f"(SELECT * FROM '{catalog}/chunks/*.parquet' WHERE granule IN ({', '.join(repr(i) for i in ids)}))"
        truth = brute_force(con, catalog, case, geom)
        cells = aoi_cells(geom, res)
        by_h3 = set(con.execute(f"SELECT granule, array, key FROM {table} WHERE list_has_any(h3, ?::UBIGINT[])", [cells]).fetchall())
        by_geom = set(con.execute(
            f"SELECT granule, array, key FROM {table} WHERE ST_Intersects(geometry, ST_GeomFromText(?))", [geom.wkt]
        ).fetchall())
        parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        cond = " OR ".join(
            f"(bbox.xmin <= {p.bounds[2]} AND bbox.xmax >= {p.bounds[0]} AND bbox.ymin <= {p.bounds[3]} AND bbox.ymax >= {p.bounds[1]})"
            for p in parts
        )
        by_bbox = set(con.execute(f"SELECT granule, array, key FROM {table} WHERE {cond}").fetchall())
        print(f"{case['name']}: brute force {len(truth)} chunks; h3 {len(by_h3)} (+{len(by_h3 - truth)} false positives); "
              f"ST_Intersects {len(by_geom)}; bbox {len(by_bbox)} (+{len(by_bbox - truth)} false positives); "
              f"{len(cells)} AOI cells at res {res}")
        if case.get("expect_hits") and not truth:
            failures.append(f"{case['name']}: the AOI holds no point at all; the case tests nothing")
        for name, found in (("h3", by_h3), ("bbox", by_bbox)):
            missed = truth - found
            if missed:
                failures.append(f"{case['name']}: {name} misses {len(missed)} chunks, e.g. {sorted(missed)[:3]}")
        if by_geom != truth:
            failures.append(f"{case['name']}: ST_Intersects differs from brute force: "
                            f"missing {sorted(truth - by_geom)[:3]}, extra {sorted(by_geom - truth)[:3]}")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
