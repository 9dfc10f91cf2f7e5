//! The footprint of a run of rows: what an area of interest is matched against (rules in docs/spatial.md).

use std::ops::Range;

use super::cells::CellWalker;
use super::{line, lon_range, wkb, Track};

/// Consecutive valid points farther apart than this (km) break the geometry.
pub const GAP_KM: f64 = 1.0;
/// Douglas–Peucker tolerance of footprint geometries, degrees of latitude (about 11 m; longitude is
/// scaled by cos(latitude), see `line::simplify`). Laser footprints are ~17 m wide: a finer track
/// only copies the metre-level scatter of the points into every chunk row of every array.
pub const SIMPLIFY_TOLERANCE_DEG: f64 = 1e-4;

/// A longitude/latitude box, OGC:CRS84 degrees. `xmin > xmax` when it crosses the antimeridian.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BBox {
    /// West edge.
    pub xmin: f64,
    /// South edge.
    pub ymin: f64,
    /// East edge.
    pub xmax: f64,
    /// North edge.
    pub ymax: f64,
}

impl BBox {
    /// Whether the box crosses the antimeridian (its west edge lies east of its east edge).
    pub fn crosses_antimeridian(&self) -> bool {
        self.xmin > self.xmax
    }

    /// Whether the box holds the point (edges included; crossing boxes wrap).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let lon_ok = if self.crosses_antimeridian() {
            lon >= self.xmin || lon <= self.xmax
        } else {
            lon >= self.xmin && lon <= self.xmax
        };
        lon_ok && lat >= self.ymin && lat <= self.ymax
    }
}

/// Spatial and temporal summary of a run of rows (typically one chunk).
#[derive(Clone, Debug, PartialEq)]
pub struct Footprint {
    /// The rows summarised.
    pub rows: Range<u64>,
    /// How many of them have a valid position.
    pub points: u64,
    /// Box of the valid positions; `None` without any.
    pub bbox: Option<BBox>,
    /// WKB (2D, little-endian) Point, LineString or MultiLineString; `None` without valid positions.
    pub wkb: Option<Vec<u8>>,
    /// Sorted, unique H3 cells of every valid position.
    pub h3: Vec<u64>,
    /// (min, max) of the finite time values of the rows.
    pub time: Option<(f64, f64)>,
}

/// A valid position as (lon, lat): finite, |lat| <= 90, lon in -180..360 (0..360 is brought to -180..180).
pub(crate) fn valid(lat: f64, lon: f64) -> Option<(f64, f64)> {
    if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 || !(-180.0..=360.0).contains(&lon) {
        return None;
    }
    Some((if lon > 180.0 { lon - 360.0 } else { lon }, lat))
}

impl Track {
    /// The footprint of `rows` (clipped to the track) with H3 cells at `res`.
    pub fn footprint(&self, rows: Range<u64>, res: h3o::Resolution) -> Footprint {
        self.summarise(rows, Some(res))
    }

    /// The footprint of `rows` without H3 cells (`h3` is empty): for a summary whose cells are
    /// not needed (a granule's whole track), where they would be most of the cost.
    pub fn outline(&self, rows: Range<u64>) -> Footprint {
        self.summarise(rows, None)
    }

    fn summarise(&self, rows: Range<u64>, res: Option<h3o::Resolution>) -> Footprint {
        let n = self.lat.len().min(self.lon.len()) as u64;
        let rows = rows.start.min(n)..rows.end.min(n).max(rows.start.min(n));
        let (s, e) = (rows.start as usize, rows.end as usize);
        let pts: Vec<Option<(f64, f64)>> =
            self.lat[s..e].iter().zip(&self.lon[s..e]).map(|(&lat, &lon)| valid(lat, lon)).collect();
        let good: Vec<(f64, f64)> = pts.iter().flatten().copied().collect();
        let time = self.time.as_ref().and_then(|t| {
            let vals = t.get(s..e.min(t.len()))?.iter().copied().filter(|v| v.is_finite());
            vals.fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v)))))
        });
        if good.is_empty() {
            return Footprint { rows, points: 0, bbox: None, wkb: None, h3: Vec::new(), time };
        }
        let mut h3: Vec<u64> = Vec::new();
        if let Some(res) = res {
            // Runs of points share a cell: keep each cell once per run, so the sort is short.
            let mut walker = CellWalker::new(res);
            for &(lon, lat) in &good {
                if let Some(cell) = walker.cell(lat, lon) {
                    if h3.last() != Some(&cell) {
                        h3.push(cell);
                    }
                }
            }
        }
        h3.sort_unstable();
        h3.dedup();
        let (ymin, ymax) = good.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let mut lons: Vec<(f64, f64)> = good.iter().map(|p| (p.0, p.0)).collect();
        let bbox = lon_range::covering_arc(&mut lons).map(|(xmin, xmax)| BBox { xmin, ymin, xmax, ymax });
        Footprint { rows, points: good.len() as u64, bbox, wkb: Some(geometry(pts.into_iter(), good.len())), h3, time }
    }
}

/// WKB of the points in row order: a Point for one valid point, else a LineString, or a MultiLineString
/// when gaps or the antimeridian split it. A part left with a single point becomes a two-vertex line
/// on that point, so every part is a LineString.
fn geometry(pts: impl Iterator<Item = Option<(f64, f64)>>, valid_count: usize) -> Vec<u8> {
    let parts = line::split(pts, GAP_KM);
    if valid_count == 1 {
        if let Some(&p) = parts.first().and_then(|p| p.first()) {
            return wkb::point(p);
        }
    }
    let parts: Vec<Vec<(f64, f64)>> = parts
        .iter()
        .map(|p| {
            let s = line::simplify(p, SIMPLIFY_TOLERANCE_DEG);
            if s.len() == 1 { vec![s[0], s[0]] } else { s }
        })
        .collect();
    match parts.as_slice() {
        [one] => wkb::line_string(one),
        _ => wkb::multi_line_string(&parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_is_the_footprint_without_cells() {
        // 3,000 points 20 m apart heading north-east over several res-7 cells, one missing row.
        let mut lat: Vec<f64> = (0..3000).map(|i| 62.0 + f64::from(i) * 1.8e-4).collect();
        let lon: Vec<f64> = (0..3000).map(|i| -45.0 + f64::from(i) * 1.0e-4).collect();
        lat[1500] = f64::NAN;
        let time = Some((0..3000).map(f64::from).collect());
        let t = Track { lat, lon, time };
        let res = h3o::Resolution::Seven;
        let full = t.footprint(100..2900, res);
        let outline = t.outline(100..2900);
        assert!(full.h3.len() > 3, "crosses several cells: {}", full.h3.len());
        assert!(outline.h3.is_empty());
        assert_eq!(Footprint { h3: Vec::new(), ..full.clone() }, outline);
        let direct: std::collections::BTreeSet<u64> = (100..2900)
            .filter(|&i| i != 1500)
            .map(|i| u64::from(h3o::LatLng::new(t.lat[i], t.lon[i]).map(|ll| ll.to_cell(res)).expect("valid")))
            .collect();
        assert_eq!(full.h3, direct.into_iter().collect::<Vec<_>>(), "every point's own cell, sorted, unique");
    }
}
