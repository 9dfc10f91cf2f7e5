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
/// Rows per row box: a chunk's footprint also boxes each run of this many rows from its first, so
/// that a subset decodes a chunk's coordinates only up to the last run whose box meets its area,
/// and tests only the points of those runs (a track often crosses an area in a fifth of a chunk).
/// 512 rows of a 10,000-row chunk: 20 boxes, 640 bytes.
pub const ROW_BOX_ROWS: usize = 512;

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
    /// Box of the valid positions of each run of [`ROW_BOX_ROWS`] rows, from the first row; `None`
    /// for a run without any. Empty when the footprint has no H3 cells ([`Track::outline`], or no
    /// valid position at all).
    pub row_boxes: Vec<Option<BBox>>,
}

/// Box of `points` (lon, lat), the smallest longitude arc (crossing the antimeridian when that is
/// smaller); `None` without points.
fn bbox_of(points: &[Xy]) -> Option<BBox> {
    if points.is_empty() {
        return None;
    }
    let (xmin, ymin, xmax, ymax) = points.iter().fold(
        (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY),
        |(w, s, e, n), p| (w.min(p.0), s.min(p.1), e.max(p.0), n.max(p.1)),
    );
    let arc = lon_range::narrow(xmin, xmax).or_else(|| {
        let mut lons: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.0)).collect();
        lon_range::covering_arc(&mut lons)
    });
    arc.map(|(xmin, xmax)| BBox { xmin, ymin, xmax, ymax })
}

/// A valid position as (lon, lat): finite, |lat| <= 90, lon in -180..360 (0..360 is brought to -180..180).
pub(crate) fn valid(lat: f64, lon: f64) -> Option<(f64, f64)> {
    if !lat.is_finite() || !lon.is_finite() || lat.abs() > 90.0 || !(-180.0..=360.0).contains(&lon) {
        return None;
    }
    Some((if lon > 180.0 { lon - 360.0 } else { lon }, lat))
}

type Xy = (f64, f64);

impl Track {
    /// The footprint of `rows` (clipped to the track) with H3 cells at `res`.
    pub fn footprint(&self, rows: Range<u64>, res: h3o::Resolution) -> Footprint {
        self.summarise(rows, Some(res)).0
    }

    /// The footprint of `rows` without H3 cells (`h3` is empty): for a summary whose cells are
    /// not needed (a granule's whole track), where they would be most of the cost.
    pub fn outline(&self, rows: Range<u64>) -> Footprint {
        self.summarise(rows, None).0
    }

    /// The footprints of `runs`, consecutive row ranges tiling the whole track from row 0 (a
    /// latitude array's chunks), and the track's outline built from them instead of from every
    /// point again (which cost as much as all the runs): the same points, bbox and time as
    /// [`Track::outline`], and a line that joins the runs' simplified lines, broken where
    /// `outline`'s would be, so every point stays within the tolerance of it. `None` when `runs`
    /// do not tile the track.
    pub fn tiles(&self, runs: &[Range<u64>], res: h3o::Resolution) -> Option<(Vec<Footprint>, Footprint)> {
        let n = self.lat.len().min(self.lon.len()) as u64;
        let tiled = runs.first().is_some_and(|r| r.start == 0)
            && runs.windows(2).all(|w| w[0].end == w[1].start && w[0].start < w[0].end)
            && runs.last().is_some_and(|r| r.end == n && r.start < r.end);
        if !tiled {
            return None;
        }
        let mut footprints = Vec::with_capacity(runs.len());
        let mut parts: Vec<Vec<Xy>> = Vec::new();
        for run in runs {
            let (f, run_parts) = self.summarise(run.clone(), Some(res));
            // The previous run's last row and this one's first are consecutive: joined unless
            // either is missing, they are too far apart, or the step crosses the antimeridian.
            let boundary = (run.start > 0).then(|| (self.point(run.start - 1), self.point(run.start)));
            let mut run_parts = run_parts.into_iter();
            if let (Some((Some(q), Some(p))), Some(last)) = (boundary, parts.last_mut()) {
                if let Some(first) = run_parts.next() {
                    if line::breaks(q, p, GAP_KM) {
                        parts.push(first);
                    } else if let Some((end, start)) = line::crossing(q, p) {
                        last.push(end);
                        parts.push(std::iter::once(start).chain(first).collect());
                    } else {
                        // `split` drops a point repeating the one before it.
                        last.extend(first.into_iter().skip_while(|&v| v == q));
                    }
                }
            }
            parts.extend(run_parts);
            footprints.push(f);
        }
        let points: u64 = footprints.iter().map(|f| f.points).sum();
        let time = footprints.iter().filter_map(|f| f.time).reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
        let boxes: Vec<&BBox> = footprints.iter().filter_map(|f| f.bbox.as_ref()).collect();
        let mut lons: Vec<(f64, f64)> = Vec::with_capacity(boxes.len() + 1);
        for b in &boxes {
            if b.crosses_antimeridian() {
                lons.extend([(b.xmin, 180.0), (-180.0, b.xmax)]);
            } else {
                lons.push((b.xmin, b.xmax));
            }
        }
        let ymin = boxes.iter().map(|b| b.ymin).fold(f64::INFINITY, f64::min);
        let ymax = boxes.iter().map(|b| b.ymax).fold(f64::NEG_INFINITY, f64::max);
        let bbox = lon_range::covering_arc(&mut lons).map(|(xmin, xmax)| BBox { xmin, ymin, xmax, ymax });
        let wkb = (points > 0).then(|| write_geometry(parts, points));
        Some((footprints, Footprint { rows: 0..n, points, bbox, wkb, h3: Vec::new(), time, row_boxes: Vec::new() }))
    }

    /// Row `i` as a valid (lon, lat), if it is one.
    fn point(&self, i: u64) -> Option<Xy> {
        let i = usize::try_from(i).ok()?;
        valid(*self.lat.get(i)?, *self.lon.get(i)?)
    }

    /// The footprint of `rows` and the simplified parts of its line.
    fn summarise(&self, rows: Range<u64>, res: Option<h3o::Resolution>) -> (Footprint, Vec<Vec<Xy>>) {
        let n = self.lat.len().min(self.lon.len()) as u64;
        let rows = rows.start.min(n)..rows.end.min(n).max(rows.start.min(n));
        let (s, e) = (rows.start as usize, rows.end as usize);
        let pts: Vec<Option<Xy>> =
            self.lat[s..e].iter().zip(&self.lon[s..e]).map(|(&lat, &lon)| valid(lat, lon)).collect();
        let good: Vec<Xy> = pts.iter().flatten().copied().collect();
        let time = self.time.as_ref().and_then(|t| {
            let vals = t.get(s..e.min(t.len()))?.iter().copied().filter(|v| v.is_finite());
            vals.fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v)))))
        });
        if good.is_empty() {
            return (Footprint { rows, points: 0, bbox: None, wkb: None, h3: Vec::new(), time, row_boxes: Vec::new() }, Vec::new());
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
        let bbox = bbox_of(&good);
        let mut run: Vec<Xy> = Vec::with_capacity(ROW_BOX_ROWS);
        let row_boxes = match res {
            Some(_) => pts
                .chunks(ROW_BOX_ROWS)
                .map(|rows| {
                    run.clear();
                    run.extend(rows.iter().flatten());
                    bbox_of(&run)
                })
                .collect(),
            None => Vec::new(),
        };
        let parts: Vec<Vec<Xy>> =
            line::split(pts.into_iter(), GAP_KM).iter().map(|p| line::simplify(p, SIMPLIFY_TOLERANCE_DEG)).collect();
        let points = good.len() as u64;
        let wkb = write_geometry(parts.clone(), points);
        (Footprint { rows, points, bbox, wkb: Some(wkb), h3, time, row_boxes }, parts)
    }
}

/// WKB of simplified parts: a Point when the line has one valid point, else a LineString, or a
/// MultiLineString when gaps or the antimeridian split it. A part left with a single point becomes
/// a two-vertex line on that point, so every part is a LineString.
fn write_geometry(parts: Vec<Vec<Xy>>, valid_count: u64) -> Vec<u8> {
    if valid_count == 1 {
        if let Some(&p) = parts.first().and_then(|p| p.first()) {
            return wkb::point(p);
        }
    }
    let parts: Vec<Vec<Xy>> = parts.into_iter().map(|p| if p.len() == 1 { vec![p[0], p[0]] } else { p }).collect();
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
        assert_eq!(Footprint { h3: Vec::new(), row_boxes: Vec::new(), ..full.clone() }, outline);
        let direct: std::collections::BTreeSet<u64> = (100..2900)
            .filter(|&i| i != 1500)
            .map(|i| u64::from(h3o::LatLng::new(t.lat[i], t.lon[i]).map(|ll| ll.to_cell(res)).expect("valid")))
            .collect();
        assert_eq!(full.h3, direct.into_iter().collect::<Vec<_>>(), "every point's own cell, sorted, unique");
    }

    /// Each run of ROW_BOX_ROWS rows from the footprint's first row gets the box of its own valid
    /// points: tight, `None` for a run without any, and across the antimeridian when that is the
    /// smaller arc.
    #[test]
    fn row_boxes_box_each_run_of_rows() {
        let n = 3000;
        // Heading east across the antimeridian at row 2100; rows 600..1200 missing.
        let lat: Vec<f64> = (0..n).map(|i| if (600..1200).contains(&i) { f64::NAN } else { 70.0 + f64::from(i) * 1e-4 }).collect();
        let lon: Vec<f64> = (0..n).map(|i| { let x = 179.8 + f64::from(i - 2000) * 2e-3; if x > 180.0 { x - 360.0 } else { x } }).collect();
        let t = Track { lat: lat.clone(), lon: lon.clone(), time: None };
        let f = t.footprint(100..n as u64, h3o::Resolution::Seven);
        assert_eq!(f.row_boxes.len(), (n as usize - 100).div_ceil(ROW_BOX_ROWS));
        for (k, b) in f.row_boxes.iter().enumerate() {
            let rows = 100 + k * ROW_BOX_ROWS..(100 + (k + 1) * ROW_BOX_ROWS).min(n as usize);
            let pts: Vec<Xy> = rows.clone().filter(|&i| lat[i].is_finite()).map(|i| (lon[i], lat[i])).collect();
            let Some(b) = b else {
                assert!(pts.is_empty(), "run {k} has points but no box");
                continue;
            };
            assert!(pts.iter().all(|p| b.contains(p.1, p.0)), "run {k}: a point outside its box {b:?}");
            assert_eq!((b.ymin, b.ymax), (pts[0].1, pts[pts.len() - 1].1), "run {k}: not tight");
            let crossing = pts.iter().any(|p| p.0 > 0.0) && pts.iter().any(|p| p.0 < 0.0);
            assert_eq!(b.crosses_antimeridian(), crossing, "run {k}: {b:?}");
        }
        assert!(f.row_boxes.iter().any(Option::is_none), "a run of missing rows has no box");
        assert!(f.row_boxes.iter().flatten().any(BBox::crosses_antimeridian));
        assert!(t.outline(100..n as u64).row_boxes.is_empty());
    }

    /// Lines of a little-endian WKB LineString or MultiLineString (what `write_geometry` gives).
    fn lines(b: &[u8]) -> Vec<Vec<Xy>> {
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as usize;
        let f64_at = |at: usize| f64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let line = |at: usize| -> (Vec<Xy>, usize) {
            let n = u32_at(at + 5);
            ((0..n).map(|k| (f64_at(at + 9 + 16 * k), f64_at(at + 17 + 16 * k))).collect(), at + 9 + 16 * n)
        };
        match u32_at(1) {
            2 => vec![line(0).0],
            5 => {
                let mut at = 9;
                (0..u32_at(5)).map(|_| {
                    let (l, next) = line(at);
                    at = next;
                    l
                }).collect()
            }
            k => panic!("geometry type {k}"),
        }
    }

    #[test]
    fn tiles_give_the_outline_from_the_runs() {
        // 4,000 points heading east near the antimeridian at 71°N, 20 m apart, with at run
        // boundaries (runs of 500): a missing row (1000), a 5 km jump (1500), the antimeridian
        // crossing (2000) and a repeated point (2500); another missing row inside a run (3210).
        let mut lat = Vec::new();
        let mut lon = Vec::new();
        // Starting here, the step from row 1999 (179.9997°) to 2000 crosses ±180.
        let mut x = 178.7597;
        for i in 0..4000 {
            x += if i == 1500 { 0.14 + 5.5e-4 } else if i == 2500 { 0.0 } else { 5.5e-4 };
            lat.push(71.0 + 0.01 * (f64::from(i) * 0.003).sin());
            lon.push(if x > 180.0 { x - 360.0 } else { x });
        }
        lat[1000] = f64::NAN;
        lon[3210] = f64::NAN;
        let time = Some((0..4000).map(f64::from).collect());
        let t = Track { lat, lon, time };
        let runs: Vec<Range<u64>> = (0..8).map(|k| k * 500..(k + 1) * 500).collect();
        let res = h3o::Resolution::Seven;
        let (footprints, outline) = t.tiles(&runs, res).expect("the runs tile the track");
        for (run, f) in runs.iter().zip(&footprints) {
            assert_eq!(f, &t.footprint(run.clone(), res));
        }
        let direct = t.outline(0..4000);
        assert_eq!((outline.rows.clone(), outline.points, outline.bbox, outline.time), (direct.rows.clone(), direct.points, direct.bbox, direct.time));
        let (joined, whole) = (lines(outline.wkb.as_deref().expect("line")), lines(direct.wkb.as_deref().expect("line")));
        // Breaks at rows 1000 (missing), 1500 (jump), 2000 (antimeridian) and 3210 (missing).
        assert_eq!(joined.len(), 5);
        assert_eq!(joined.len(), whole.len());
        for (a, b) in joined.iter().zip(&whole) {
            assert_eq!((a.first(), a.last()), (b.first(), b.last()), "the parts start and end alike");
        }
        // Every valid point lies within the tolerance of the joined line (longitude scaled).
        let k = 71f64.to_radians().cos();
        for i in 0..4000 {
            let Some(p) = valid(t.lat[i], t.lon[i]) else { continue };
            let d = joined.iter().flat_map(|l| l.windows(2)).map(|w| {
                let (a, b) = ((w[0].0 * k, w[0].1), (w[1].0 * k, w[1].1));
                let q = (p.0 * k, p.1);
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let len2 = dx * dx + dy * dy;
                let s = if len2 == 0.0 { 0.0 } else { (((q.0 - a.0) * dx + (q.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
                (q.0 - a.0 - s * dx).hypot(q.1 - a.1 - s * dy)
            });
            let d = d.fold(f64::INFINITY, f64::min);
            assert!(d <= SIMPLIFY_TOLERANCE_DEG * 1.001, "row {i} is {d}° from the outline");
        }
        // Runs that do not tile the track give nothing.
        assert!(t.tiles(&runs[1..], res).is_none());
        assert!(t.tiles(&[0..2000, 2100..4000], res).is_none());
    }
}
