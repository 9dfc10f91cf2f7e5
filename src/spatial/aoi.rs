//! Areas of interest: GeoJSON (RFC 7946) Polygon / MultiPolygon, with holes, in OGC:CRS84.
//!
//! Edges are straight lines in longitude/latitude (RFC 7946 §3.1.1, "planar"). An area crossing the
//! antimeridian must be written as a MultiPolygon split at ±180 (RFC 7946 §3.1.9); a polygon edge
//! jumping more than 180° of longitude is refused rather than read the wrong way round the globe.

use std::collections::BTreeSet;

use h3o::geom::{ContainmentMode, SolventBuilder, TilerBuilder};
use h3o::{LatLng, Resolution};
use serde_json::Value;

use super::{lon_range, wkb, BBox, SpatialError};

type Xy = (f64, f64);
/// Rings of one polygon: the exterior first, then holes; each ring closed (first = last).
type Rings = Vec<Vec<Xy>>;

/// An area of interest: one or more polygons, possibly with holes.
#[derive(Clone, Debug, PartialEq)]
pub struct Aoi {
    polygons: Vec<Rings>,
    /// The box (xmin, ymin, xmax, ymax) when the area is exactly one, without holes (a bounding
    /// box query, the commonest area): a point is then inside when it is in the box.
    rectangle: Option<[f64; 4]>,
}

/// The box of `polygons` when they are one axis-aligned rectangle without holes.
fn rectangle(polygons: &[Rings]) -> Option<[f64; 4]> {
    let [rings] = polygons else { return None };
    let [ring] = &rings[..] else { return None };
    let (xs, ys) = (ring.iter().map(|p| p.0), ring.iter().map(|p| p.1));
    let (x0, x1) = (xs.clone().fold(f64::INFINITY, f64::min), xs.fold(f64::NEG_INFINITY, f64::max));
    let (y0, y1) = (ys.clone().fold(f64::INFINITY, f64::min), ys.fold(f64::NEG_INFINITY, f64::max));
    // Closed, its four corners in turn: every edge is on the box and runs along one of its sides.
    let corner = |p: &Xy| (p.0 == x0 || p.0 == x1) && (p.1 == y0 || p.1 == y1);
    let on_sides = ring.windows(2).all(|w| w[0].0 == w[1].0 || w[0].1 == w[1].1);
    let corners: BTreeSet<(u64, u64)> = ring.iter().map(|p| (p.0.to_bits(), p.1.to_bits())).collect();
    (ring.len() == 5 && ring.iter().all(corner) && on_sides && corners.len() == 4 && x0 < x1 && y0 < y1).then_some([x0, y0, x1, y1])
}

fn invalid(msg: impl Into<String>) -> SpatialError {
    SpatialError::InvalidAoi(msg.into())
}

impl Aoi {
    /// Read a GeoJSON geometry (Polygon, MultiPolygon, GeometryCollection of those), Feature or
    /// FeatureCollection; every polygon of it makes up the area.
    ///
    /// # Errors
    /// [`SpatialError::Json`] for text that is not JSON; [`SpatialError::InvalidAoi`] for other geometry
    /// types, positions outside -180..180 / -90..90, rings of fewer than 3 distinct positions, edges
    /// jumping more than 180° of longitude (not split at the antimeridian), or no polygon at all.
    pub fn from_geojson(text: &str) -> Result<Aoi, SpatialError> {
        let v: Value = serde_json::from_str(text)?;
        let mut polygons = Vec::new();
        collect(&v, &mut polygons, 0)?;
        if polygons.is_empty() {
            return Err(invalid("no polygon found"));
        }
        let rectangle = rectangle(&polygons);
        Ok(Aoi { polygons, rectangle })
    }

    /// The polygons: per polygon its closed rings, exterior first, as (lon, lat).
    pub fn polygons(&self) -> &[Vec<Vec<(f64, f64)>>] {
        &self.polygons
    }

    /// Whether the area holds the point; boundaries (of holes too) count as inside.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        if !lat.is_finite() || !lon.is_finite() {
            return false;
        }
        let lon = if lon > 180.0 { lon - 360.0 } else { lon };
        if let Some([x0, y0, x1, y1]) = self.rectangle {
            let inside = |x: f64| (x0..=x1).contains(&x) && (y0..=y1).contains(&lat);
            return inside(lon) || (lon.abs() == 180.0 && inside(-lon));
        }
        let probe = |x: f64| {
            self.polygons.iter().any(|rings| {
                let p = (x, lat);
                match rings.first().map(|r| locate(r, p)) {
                    Some(Where::Outside) | None => false,
                    Some(Where::Boundary) => true,
                    Some(Where::Inside) => rings[1..].iter().all(|h| locate(h, p) != Where::Inside),
                }
            })
        };
        // ±180 is one meridian: a point on it belongs to parts touching either side.
        probe(lon) || (lon.abs() == 180.0 && probe(-lon))
    }

    /// The box of the area; `xmin > xmax` when its parts sit on both sides of the antimeridian.
    pub fn bbox(&self) -> BBox {
        let ext = || self.polygons.iter().flat_map(|r| r.first()).flatten();
        let (ymin, ymax) = ext().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let mut spans: Vec<Xy> = self
            .polygons
            .iter()
            .filter_map(|r| r.first())
            .map(|ring| ring.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0))))
            .collect();
        let (xmin, xmax) = lon_range::covering_arc(&mut spans).unwrap_or((-180.0, 180.0));
        BBox { xmin, ymin, xmax, ymax }
    }

    /// Whether the area meets the box `[xmin, xmax] × [ymin, ymax]` (no antimeridian wrap):
    /// a box corner inside the area, an area vertex inside the box, or crossing edges.
    pub fn meets_box(&self, xmin: f64, ymin: f64, xmax: f64, ymax: f64) -> bool {
        let corners = [(xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax), (xmin, ymin)];
        if corners[..4].iter().any(|&(x, y)| self.contains(y, x)) {
            return true;
        }
        let in_box = |p: &Xy| p.0 >= xmin && p.0 <= xmax && p.1 >= ymin && p.1 <= ymax;
        self.polygons.iter().flatten().any(|ring| {
            ring.iter().any(in_box)
                || ring.windows(2).any(|e| corners.windows(2).any(|b| segments_cross(e[0], e[1], b[0], b[1])))
        })
    }

    /// WKB (2D, little-endian): a Polygon, or a MultiPolygon for several.
    pub fn wkb(&self) -> Vec<u8> {
        match self.polygons.as_slice() {
            [one] => wkb::polygon(one),
            many => wkb::multi_polygon(many),
        }
    }

    /// Sorted, unique H3 cells at `res` covering the area: h3o's `Covers` tiling (every cell meeting a
    /// polygon), plus the neighbours of each cell it reports as not wholly inside. That extra ring makes
    /// up for the straight-edge approximation of cell boundaries, so a cell holding a point of the area
    /// is never missed. Returns an empty list only if h3o refuses the geometry, which the checks of
    /// [`Aoi::from_geojson`] rule out; [`Aoi::try_cells`] reports that case.
    pub fn cells(&self, res: Resolution) -> Vec<u64> {
        self.try_cells(res).unwrap_or_default()
    }

    /// [`Aoi::cells`], with h3o's error if it refuses a polygon.
    ///
    /// # Errors
    /// [`SpatialError::InvalidAoi`] naming h3o's objection.
    pub fn try_cells(&self, res: Resolution) -> Result<Vec<u64>, SpatialError> {
        // Parts are already split at the antimeridian: h3o's transmeridian guess would misread any
        // part wider than 180°.
        let mut tiler =
            TilerBuilder::new(res).containment_mode(ContainmentMode::Covers).disable_transmeridian_heuristic().build();
        for rings in &self.polygons {
            // vz depends on h3o but not on geo-types directly, so the polygon value is obtained from h3o
            // (one cell dissolved) and its rings replaced; `geo_types::Polygon::new` would do the same.
            let seed = LatLng::new(0.0, 0.0).map_err(|e| invalid(e.to_string()))?.to_cell(Resolution::Zero);
            let mut shape = SolventBuilder::new().build().dissolve([seed]).map_err(|e| invalid(e.to_string()))?;
            let mut poly = shape.0.pop().ok_or_else(|| invalid("h3o returned no polygon"))?;
            let exterior = rings.first().cloned().unwrap_or_default();
            poly.exterior_mut(|ext| *ext = exterior.into());
            for hole in &rings[1..] {
                poly.interiors_push(hole.clone());
            }
            tiler.add(poly).map_err(|e| invalid(format!("h3o: {e}")))?;
        }
        let mut cells = BTreeSet::new();
        for c in tiler.into_annotated_coverage() {
            cells.insert(u64::from(c.cell));
            if !c.is_fully_contained {
                cells.extend(c.cell.grid_disk::<Vec<_>>(1).into_iter().map(u64::from));
            }
        }
        Ok(cells.into_iter().collect())
    }
}

/// Gather polygons from a GeoJSON object, refusing anything else.
fn collect(v: &Value, out: &mut Vec<Rings>, depth: usize) -> Result<(), SpatialError> {
    if depth > 8 {
        return Err(invalid("nested too deeply"));
    }
    let kind = v.get("type").and_then(Value::as_str).ok_or_else(|| invalid("object without a \"type\""))?;
    let list = |key: &str| v.get(key).and_then(Value::as_array).ok_or_else(|| invalid(format!("{kind} without \"{key}\"")));
    match kind {
        "FeatureCollection" => list("features")?.iter().try_for_each(|f| collect(f, out, depth + 1)),
        "Feature" => match v.get("geometry") {
            Some(g) if !g.is_null() => collect(g, out, depth + 1),
            _ => Err(invalid("Feature without a geometry")),
        },
        "GeometryCollection" => list("geometries")?.iter().try_for_each(|g| collect(g, out, depth + 1)),
        "Polygon" => {
            out.push(polygon(list("coordinates")?)?);
            Ok(())
        }
        "MultiPolygon" => list("coordinates")?.iter().try_for_each(|p| {
            out.push(polygon(p.as_array().ok_or_else(|| invalid("MultiPolygon member is not a list of rings"))?)?);
            Ok(())
        }),
        other => Err(invalid(format!("{other} is not an area: use a Polygon or MultiPolygon"))),
    }
}

fn polygon(rings: &[Value]) -> Result<Rings, SpatialError> {
    if rings.is_empty() {
        return Err(invalid("Polygon without rings"));
    }
    rings.iter().map(ring).collect()
}

fn ring(v: &Value) -> Result<Vec<Xy>, SpatialError> {
    let positions = v.as_array().ok_or_else(|| invalid("ring is not a list of positions"))?;
    let mut pts = Vec::with_capacity(positions.len() + 1);
    for p in positions {
        let xy = p.as_array().filter(|a| a.len() >= 2).and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)));
        let (x, y) = xy.ok_or_else(|| invalid(format!("position {p} is not [lon, lat]")))?;
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            return Err(invalid(format!("position [{x}, {y}] outside -180..180, -90..90 (OGC:CRS84 lon, lat)")));
        }
        pts.push((x, y));
    }
    if pts.first() != pts.last() {
        if let Some(&first) = pts.first() {
            pts.push(first);
        }
    }
    let distinct: BTreeSet<(u64, u64)> = pts.iter().map(|p| (p.0.to_bits(), p.1.to_bits())).collect();
    if distinct.len() < 3 {
        return Err(invalid("ring with fewer than 3 distinct positions"));
    }
    for w in pts.windows(2) {
        let on_antimeridian = w[0].0.abs() == 180.0 && w[1].0.abs() == 180.0;
        if (w[1].0 - w[0].0).abs() > 180.0 && !on_antimeridian {
            return Err(invalid(format!(
                "edge [{}, {}] -> [{}, {}] jumps more than 180° of longitude: split an area crossing the \
                 antimeridian into a MultiPolygon at ±180 (RFC 7946 §3.1.9)",
                w[0].0, w[0].1, w[1].0, w[1].1
            )));
        }
    }
    Ok(pts)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Where {
    Inside,
    Boundary,
    Outside,
}

/// Where `p` lies relative to a closed ring (even-odd rule; points on an edge are `Boundary`).
fn locate(ring: &[Xy], p: Xy) -> Where {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if on_segment(p, a, b) {
            return Where::Boundary;
        }
        if (a.1 > p.1) != (b.1 > p.1) {
            let x = a.0 + (p.1 - a.1) * (b.0 - a.0) / (b.1 - a.1);
            if p.0 < x {
                inside = !inside;
            }
        }
    }
    if inside { Where::Inside } else { Where::Outside }
}

/// Whether segments `ab` and `cd` intersect (touching counts).
fn segments_cross(a: Xy, b: Xy, c: Xy, d: Xy) -> bool {
    let orient = |p: Xy, q: Xy, r: Xy| (q.0 - p.0) * (r.1 - p.1) - (q.1 - p.1) * (r.0 - p.0);
    let (d1, d2, d3, d4) = (orient(c, d, a), orient(c, d, b), orient(a, b, c), orient(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0)) {
        return true;
    }
    on_segment(a, c, d) || on_segment(b, c, d) || on_segment(c, a, b) || on_segment(d, a, b)
}

fn on_segment(p: Xy, a: Xy, b: Xy) -> bool {
    let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
    let scale = (b.0 - a.0).abs().max((b.1 - a.1).abs()).max(1.0);
    cross.abs() <= 1e-12 * scale
        && p.0 >= a.0.min(b.0)
        && p.0 <= a.0.max(b.0)
        && p.1 >= a.1.min(b.1)
        && p.1 <= a.1.max(b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box AOI answers as the ring test does: inside, outside, on its edges and corners, and
    /// across ±180 for a box touching the antimeridian; anything else is not taken for a box.
    #[test]
    fn a_box_is_tested_as_its_rings_are() {
        let boxed = |x0: f64, y0: f64, x1: f64, y1: f64| {
            let text = format!("{{\"type\":\"Polygon\",\"coordinates\":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}");
            Aoi::from_geojson(&text).expect("box")
        };
        for aoi in [boxed(-45.3794, 62.6324, -44.6206, 62.982), boxed(170.0, -10.0, 180.0, 10.0), boxed(-180.0, 60.0, -170.0, 61.5)] {
            let [x0, y0, x1, y1] = aoi.rectangle.expect("taken for a box");
            let rings = Aoi { rectangle: None, ..aoi.clone() };
            let xs = [x0 - 1.0, x0, (x0 + x1) / 2.0, x1, x1 + 1.0, 180.0, -180.0, 0.0];
            let ys = [y0 - 1.0, y0, (y0 + y1) / 2.0, y1, y1 + 1.0];
            for &x in &xs {
                for &y in &ys {
                    assert_eq!(aoi.contains(y, x), rings.contains(y, x), "({x}, {y}) in {:?}", aoi.rectangle);
                }
            }
        }
        let not_boxes = [
            r#"{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]],[[0.5,0.5],[1,0.5],[1,1],[0.5,0.5]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[1,3],[0,2],[0,0]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[2,0],[0,2],[0,0]]]}"#,
            r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,3],[2,2]]]]}"#,
        ];
        for text in not_boxes {
            assert!(Aoi::from_geojson(text).expect("aoi").rectangle.is_none(), "{text}");
        }
    }
}
