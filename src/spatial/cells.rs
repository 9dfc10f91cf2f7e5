//! H3 cells of track points in row order, exact but without the full projection for most points.
//!
//! Neighbouring track points (20 m apart on ATL06) mostly fall in the cell of the point before
//! (~60 points per resolution-7 cell). `LatLngIndexer::to_cell` still projects every point onto an
//! icosahedron face (sin, cos, atan2, acos, tan): that was half the time of `vz index`. Here the last
//! cell's hexagon is kept in a local planar frame around its centre, and a point that lies inside it
//! by more than a safety margin gets that cell without any trigonometry. Points near an edge, on
//! pentagons or distorted cells, near the poles or across the antimeridian take the exact path.
//!
//! Why the margin is safe: in the frame x = Δlon·cos(lat₀), y = Δlat (degrees), the hexagon's true
//! edges (great-circle arcs between the exact vertices) differ from the straight frame edges by the
//! frame's scale error, tan|lat| · Δlat relative, plus the arcs' bulge, about L² · tan|lat| / 8R.
//! [`margin`] covers both several times over; `tests` compare with `to_cell` on every point.

use h3o::{CellIndex, LatLng, LatLngIndexer, Resolution};

/// Above this |latitude| (degrees) every point takes the exact path: the frame's scale error grows
/// as tan(latitude).
const MAX_FAST_LAT: f64 = 85.0;

/// Cells of a sequence of points at one resolution.
pub(crate) struct CellWalker {
    res: Resolution,
    indexer: LatLngIndexer,
    last: Option<Hexagon>,
}

impl CellWalker {
    pub(crate) fn new(res: Resolution) -> Self {
        CellWalker { res, indexer: LatLngIndexer::default(), last: None }
    }

    /// The cell of (`lat`, `lon`), degrees; `None` for a position h3o rejects (not finite).
    pub(crate) fn cell(&mut self, lat: f64, lon: f64) -> Option<u64> {
        if let Some(h) = &self.last {
            if h.holds(lat, lon) {
                return Some(h.cell);
            }
        }
        let cell = self.indexer.to_cell(LatLng::new(lat, lon).ok()?, self.res);
        if self.last.as_ref().is_none_or(|h| h.cell != u64::from(cell)) {
            self.last = Hexagon::of(cell);
        }
        Some(u64::from(cell))
    }
}

/// A cell's hexagon in the planar frame around its centre, as six inward edge lines.
struct Hexagon {
    cell: u64,
    lat0: f64,
    lon0: f64,
    /// cos(lat₀): degrees of longitude → frame units.
    kx: f64,
    /// Per edge (nx, ny, c): nx·x + ny·y + c is the distance inside that edge, frame units.
    edges: [(f64, f64, f64); 6],
    margin: f64,
}

impl Hexagon {
    /// The hexagon of `cell`, or `None` when the fast test would not be safe: pentagons, cells on
    /// more than one icosahedron face (their two parts come from two projections), cells near a
    /// pole or spanning the antimeridian.
    fn of(cell: CellIndex) -> Option<Hexagon> {
        let centre = LatLng::from(cell);
        let (lat0, lon0) = (centre.lat(), centre.lng());
        if cell.is_pentagon() || lat0.abs() > MAX_FAST_LAT {
            return None;
        }
        // At Class III resolutions (odd) h3o adds a vertex where an edge crosses a face edge, so
        // six vertices already mean one face; Class II needs the (costlier) face test.
        let boundary = cell.boundary();
        if boundary.len() != 6 || (!cell.resolution().is_class3() && cell.icosahedron_faces().iter().nth(1).is_some()) {
            return None;
        }
        let kx = lat0.to_radians().cos();
        let mut v = [(0.0, 0.0); 6];
        for (slot, ll) in v.iter_mut().zip(boundary.iter()) {
            let dlon = ll.lng() - lon0;
            if dlon.abs() > 90.0 || (ll.lat() - lat0).abs() > 90.0 {
                return None;
            }
            *slot = (dlon * kx, ll.lat() - lat0);
        }
        // h3o gives the vertices counter-clockwise; a clockwise frame polygon (never expected) or a
        // degenerate one disables the fast path rather than inverting every test.
        let area2: f64 = (0..6).map(|i| cross(v[i], v[(i + 1) % 6])).sum();
        if area2 <= 0.0 {
            return None;
        }
        let mut edges = [(0.0, 0.0, 0.0); 6];
        let mut longest: f64 = 0.0;
        for i in 0..6 {
            let (a, b) = (v[i], v[(i + 1) % 6]);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = dx.hypot(dy);
            if len == 0.0 {
                return None;
            }
            longest = longest.max(len);
            // Inward normal of a counter-clockwise edge: the left side.
            let (nx, ny) = (-dy / len, dx / len);
            edges[i] = (nx, ny, -(nx * a.0 + ny * a.1));
        }
        // The centre must be well inside every edge, or the frame is too distorted to trust.
        if edges.iter().any(|e| e.2 <= 0.0) {
            return None;
        }
        Some(Hexagon { cell: u64::from(cell), lat0, lon0, kx, edges, margin: margin(longest, lat0) })
    }

    /// Whether the point is inside the hexagon by more than the margin (so surely in the cell).
    fn holds(&self, lat: f64, lon: f64) -> bool {
        let dlon = lon - self.lon0;
        if dlon.abs() > 90.0 {
            return false;
        }
        let (x, y) = (dlon * self.kx, lat - self.lat0);
        self.edges.iter().all(|&(nx, ny, c)| nx * x + ny * y + c > self.margin)
    }
}

/// Safety margin (frame units, degrees) for a hexagon with edges up to `edge` long centred at `lat0`:
/// 2% of the edge, plus four times the frame's worst scale error and arc bulge over the cell.
fn margin(edge: f64, lat0: f64) -> f64 {
    let span = 2.0 * edge; // the hexagon's diameter bounds every |Δlat| and |Δx| inside it
    let tan = (lat0.abs() + span).min(89.9).to_radians().tan();
    let scale_error = tan * span.to_radians() * span;
    let bulge = span * span.to_radians() * tan / 8.0 + span * span.to_radians() / 8.0;
    0.02 * edge + 4.0 * (scale_error + bulge)
}

fn cross(a: (f64, f64), b: (f64, f64)) -> f64 {
    a.0 * b.1 - a.1 * b.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic generator (xorshift) so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn unit(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Every point of many tracks — anywhere on the globe, any heading, several resolutions,
    /// crossing cells, faces, pentagons, the antimeridian and the poles — gets exactly h3o's cell.
    #[test]
    fn equals_to_cell_on_every_point() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut fast_hits = 0usize;
        let mut total = 0usize;
        for track in 0..400 {
            let res = Resolution::try_from([5u8, 6, 7, 8, 9][track % 5]).expect("valid resolution");
            // Every tenth track starts near a pole; others anywhere (uniform in sin(lat)).
            let lat0 = if track % 10 == 0 { 87.0 + 2.9 * rng.unit() } else { (2.0 * rng.unit() - 1.0).asin().to_degrees() };
            let lat0 = if track % 20 == 0 { -lat0 } else { lat0 };
            let lon0 = 360.0 * rng.unit() - 180.0;
            let heading = std::f64::consts::TAU * rng.unit();
            let step_deg = 0.00018 * (1.0 + 4.0 * rng.unit()); // 20–100 m
            let mut walker = CellWalker::new(res);
            let (mut lat, mut lon) = (lat0, lon0);
            for i in 0..3000 {
                // Wander a little, like a track with jitter.
                let h = heading + 0.3 * (f64::from(i) * 0.01).sin();
                lat = (lat + step_deg * h.cos()).clamp(-89.999, 89.999);
                lon += step_deg * h.sin() / lat.to_radians().cos().max(0.05);
                lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
                let want = u64::from(LatLng::new(lat, lon).expect("valid").to_cell(res));
                let fast = walker.last.as_ref().is_some_and(|h| h.holds(lat, lon));
                assert_eq!(walker.cell(lat, lon), Some(want), "track {track} point {i} at ({lat}, {lon}) res {res}");
                fast_hits += usize::from(fast);
                total += 1;
            }
        }
        // The point of the walker: most points skip the projection.
        assert!(fast_hits * 10 > total * 6, "fast path taken for {fast_hits} of {total} points");
    }

    /// Tracks across icosahedron face edges (where one cell's parts come from two projections), at
    /// Class II and Class III resolutions: still exactly h3o's cell for every point.
    #[test]
    fn equals_to_cell_across_face_edges() {
        let mut rng = Rng(7);
        let starts: Vec<LatLng> = CellIndex::base_cells()
            .flat_map(|c| c.children(Resolution::Two))
            .filter(|c| c.icosahedron_faces().iter().nth(1).is_some())
            .step_by(7)
            .map(LatLng::from)
            .collect();
        assert!(starts.len() > 50, "{} face-edge starts", starts.len());
        for (k, start) in starts.iter().enumerate() {
            let res = Resolution::try_from(6 + (k % 4) as u8).expect("valid resolution");
            let heading = std::f64::consts::TAU * rng.unit();
            let mut walker = CellWalker::new(res);
            let (mut lat, mut lon) = (start.lat(), start.lng());
            for i in 0..4000 {
                lat = (lat + 2e-4 * heading.cos()).clamp(-89.999, 89.999);
                lon = (lon + 2e-4 * heading.sin() / lat.to_radians().cos().max(0.05) + 180.0).rem_euclid(360.0) - 180.0;
                let want = u64::from(LatLng::new(lat, lon).expect("valid").to_cell(res));
                assert_eq!(walker.cell(lat, lon), Some(want), "start {k} point {i} at ({lat}, {lon}) res {res}");
            }
        }
    }

    /// Points scattered right around a hexagon's edges and vertices: the fast test never claims one
    /// that h3o puts in another cell.
    #[test]
    fn never_claims_a_point_of_a_neighbour() {
        let mut rng = Rng(42);
        for k in 0..300 {
            let lat = (2.0 * rng.unit() - 1.0).asin().to_degrees() * 0.94;
            let lon = 360.0 * rng.unit() - 180.0;
            let res = Resolution::try_from(4 + (k % 7) as u8).expect("valid resolution");
            let cell = LatLng::new(lat, lon).expect("valid").to_cell(res);
            let Some(hex) = Hexagon::of(cell) else { continue };
            let boundary = cell.boundary();
            for (i, v) in boundary.iter().enumerate() {
                let w = boundary[(i + 1) % boundary.len()];
                for _ in 0..200 {
                    // Near the edge v–w, on either side, within a few margins.
                    let t = rng.unit();
                    let (plat, plon) = (v.lat() + t * (w.lat() - v.lat()), v.lng() + t * (w.lng() - v.lng()));
                    let jitter = (rng.unit() - 0.5) * 8.0 * hex.margin;
                    let (plat, plon) = (plat + jitter, plon + jitter / hex.kx);
                    if hex.holds(plat, plon) {
                        let actual = LatLng::new(plat, plon).expect("valid").to_cell(res);
                        assert_eq!(actual, cell, "({plat}, {plon}) claimed for {cell} at res {res}");
                    }
                }
            }
        }
    }
}
