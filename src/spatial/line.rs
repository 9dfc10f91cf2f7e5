//! Track geometry: points in row order, split at gaps and at the antimeridian, then simplified.

type Xy = (f64, f64);

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance between two (lon, lat) points, km (haversine).
pub fn distance_km(a: Xy, b: Xy) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Whether `a` and `b` are surely at most `km` apart, without trigonometry: going along the meridian
/// and then along the parallel is a path between them at most R·(|Δlat| + |Δlon|) long (radians).
/// Consecutive track points are metres apart, so this skips the haversine for almost all of them.
fn surely_within(a: Xy, b: Xy, km: f64) -> bool {
    ((b.1 - a.1).abs() + (b.0 - a.0).abs()).to_radians() * EARTH_RADIUS_KM <= km
}

/// Split a sequence of points (None = missing row) into parts: a new part starts after a missing row,
/// after a jump of more than `gap_km`, and at the antimeridian, where both parts get the interpolated
/// crossing point (at +180 on one side, -180 on the other).
pub fn split(points: impl Iterator<Item = Option<Xy>>, gap_km: f64) -> Vec<Vec<Xy>> {
    let mut parts: Vec<Vec<Xy>> = Vec::new();
    let mut cur: Vec<Xy> = Vec::new();
    for p in points {
        let Some(p) = p else {
            flush(&mut parts, &mut cur);
            continue;
        };
        if let Some(&q) = cur.last() {
            if breaks(q, p, gap_km) {
                flush(&mut parts, &mut cur);
            } else if let Some((end, start)) = crossing(q, p) {
                push(&mut cur, end);
                flush(&mut parts, &mut cur);
                cur.push(start);
            }
        }
        push(&mut cur, p);
    }
    flush(&mut parts, &mut cur);
    parts
}

/// Whether joining `q` to the next point `p` breaks the line: more than `gap_km` apart (the
/// trigonometry only when they may be).
pub fn breaks(q: Xy, p: Xy, gap_km: f64) -> bool {
    !surely_within(q, p, gap_km) && distance_km(q, p) > gap_km
}

/// Where the step from `q` to `p` crosses the antimeridian (their longitudes differ by more than
/// 180°): the point ending `q`'s part at ±180 and the one starting `p`'s at ∓180, latitude
/// interpolated with `p`'s longitude unwrapped next to `q`'s. `None` when they do not cross.
pub fn crossing(q: Xy, p: Xy) -> Option<(Xy, Xy)> {
    if (p.0 - q.0).abs() <= 180.0 {
        return None;
    }
    let edge = if q.0 > 0.0 { 180.0 } else { -180.0 };
    let p_unwrapped = if q.0 > 0.0 { p.0 + 360.0 } else { p.0 - 360.0 };
    let t = if p_unwrapped == q.0 { 0.0 } else { (edge - q.0) / (p_unwrapped - q.0) };
    let lat = q.1 + t * (p.1 - q.1);
    Some(((edge, lat), (-edge, lat)))
}

/// Append unless it repeats the last point.
fn push(cur: &mut Vec<Xy>, p: Xy) {
    if cur.last() != Some(&p) {
        cur.push(p);
    }
}

fn flush(parts: &mut Vec<Vec<Xy>>, cur: &mut Vec<Xy>) {
    if !cur.is_empty() {
        parts.push(std::mem::take(cur));
    }
}

/// Smallest longitude scale [`simplify`] uses (cos 89.4°): nearer the pole, longitude differences
/// still count a little, so a track circling the pole is not collapsed.
pub const MIN_LON_SCALE: f64 = 0.01;

/// Douglas–Peucker simplification with tolerance `tol` in degrees of latitude, longitude scaled by
/// `cos(mean latitude)` (at least [`MIN_LON_SCALE`]) so the tolerance is about the same distance in
/// both directions; the endpoints always stay. Every dropped point lies within `tol` of latitude and
/// `tol / scale` of longitude of the simplified line.
pub fn simplify(pts: &[Xy], tol: f64) -> Vec<Xy> {
    if pts.len() < 3 {
        return pts.to_vec();
    }
    let mean_lat = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let k = mean_lat.to_radians().cos().max(MIN_LON_SCALE);
    let scaled: Vec<Xy> = pts.iter().map(|p| (p.0 * k, p.1)).collect();
    let pts_in = pts;
    let pts = scaled.as_slice();
    let mut keep = vec![false; pts.len()];
    keep[0] = true;
    keep[pts.len() - 1] = true;
    let mut stack = vec![(0usize, pts.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (far, far_d) = farthest(&pts[a..=b]);
        let far = a + far;
        if far_d > tol {
            keep[far] = true;
            stack.push((a, far));
            stack.push((far, b));
        }
    }
    pts_in.iter().zip(keep).filter_map(|(p, k)| k.then_some(*p)).collect()
}

/// The interior point of `run` farthest (planar) from the segment between its ends: index, distance.
/// The hot loop of [`simplify`]: it compares `distance² · |segment|²`, which orders points like the
/// distance but needs no square root or division per point.
fn farthest(run: &[Xy]) -> (usize, f64) {
    let (a, b) = (run[0], run[run.len() - 1]);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let interior = run.iter().enumerate().take(run.len() - 1).skip(1);
    if len2 == 0.0 {
        // A closed run: distances from the one end point.
        let d2 = |p: &Xy| (p.0 - a.0).powi(2) + (p.1 - a.1).powi(2);
        let (far, d) = interior.fold((0, -1.0), |best, (i, p)| if d2(p) > best.1 { (i, d2(p)) } else { best });
        return (far, d.max(0.0).sqrt());
    }
    let (mut far, mut far_key) = (0, -1.0);
    for (i, p) in interior {
        let (px, py) = (p.0 - a.0, p.1 - a.1);
        let t = px * dx + py * dy;
        let key = if t <= 0.0 {
            (px * px + py * py) * len2
        } else if t >= len2 {
            ((p.0 - b.0).powi(2) + (p.1 - b.1).powi(2)) * len2
        } else {
            (px * dy - py * dx).powi(2)
        };
        if key > far_key {
            far = i;
            far_key = key;
        }
    }
    (far, (far_key / len2).max(0.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_gaps_missing_rows_and_antimeridian() {
        let pts = [Some((0.0, 0.0)), Some((0.001, 0.0)), None, Some((0.002, 0.0)), Some((0.5, 0.0))];
        let parts = split(pts.into_iter(), 1.0);
        assert_eq!(parts, vec![vec![(0.0, 0.0), (0.001, 0.0)], vec![(0.002, 0.0)], vec![(0.5, 0.0)]]);
        let parts = split([Some((179.999, 10.0)), Some((-179.999, 10.002))].into_iter(), 1.0);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].last().unwrap().0, 180.0);
        assert_eq!(parts[1][0].0, -180.0);
        assert!((parts[0].last().unwrap().1 - 10.001).abs() < 1e-9);
    }

    #[test]
    fn simplify_keeps_every_dropped_point_within_the_tolerance() {
        // A wavy, jittered track with a closed loop in it (a run whose ends coincide).
        let mut pts: Vec<Xy> = (0..5000)
            .map(|i| {
                let t = f64::from(i);
                (t * 1e-4 + 3e-5 * (t * 0.37).sin(), 70.0 + 2e-3 * (t * 0.01).sin() + 2e-5 * (t * 1.3).cos())
            })
            .collect();
        pts.extend([(0.5, 70.0), (0.5, 70.01), (0.51, 70.01), (0.5, 70.0)]);
        let tol = 1e-4;
        let kept = simplify(&pts, tol);
        assert!(kept.len() < pts.len() / 5, "kept {} of {}", kept.len(), pts.len());
        let k = (pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64).to_radians().cos();
        let scaled = |p: Xy| (p.0 * k, p.1);
        for p in &pts {
            let near = kept.windows(2).map(|w| {
                let (a, b, q) = (scaled(w[0]), scaled(w[1]), scaled(*p));
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let len2 = dx * dx + dy * dy;
                let t = if len2 == 0.0 { 0.0 } else { (((q.0 - a.0) * dx + (q.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
                (q.0 - a.0 - t * dx).hypot(q.1 - a.1 - t * dy)
            });
            let d = near.fold(f64::INFINITY, f64::min);
            assert!(d <= tol * (1.0 + 1e-9), "{p:?} is {d} from the simplified line");
        }
    }

    #[test]
    fn simplify_keeps_endpoints_and_corners() {
        let line: Vec<Xy> = (0..=100).map(|i| (f64::from(i) * 0.001, 0.0)).chain([(0.1, 0.05)]).collect();
        assert_eq!(simplify(&line, 1e-5), vec![(0.0, 0.0), (0.1, 0.0), (0.1, 0.05)]);
    }
}
