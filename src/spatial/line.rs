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
            if distance_km(q, p) > gap_km {
                flush(&mut parts, &mut cur);
            } else if (p.0 - q.0).abs() > 180.0 {
                // Crossing: unwrap p's longitude next to q's, interpolate latitude at the ±180 line.
                let edge = if q.0 > 0.0 { 180.0 } else { -180.0 };
                let p_unwrapped = if q.0 > 0.0 { p.0 + 360.0 } else { p.0 - 360.0 };
                let t = if p_unwrapped == q.0 { 0.0 } else { (edge - q.0) / (p_unwrapped - q.0) };
                let lat = q.1 + t * (p.1 - q.1);
                push(&mut cur, (edge, lat));
                flush(&mut parts, &mut cur);
                cur.push((-edge, lat));
            }
        }
        push(&mut cur, p);
    }
    flush(&mut parts, &mut cur);
    parts
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
        let (mut far, mut far_d) = (a, -1.0);
        for i in a + 1..b {
            let d = segment_distance(pts[i], pts[a], pts[b]);
            if d > far_d {
                far = i;
                far_d = d;
            }
        }
        if far_d > tol {
            keep[far] = true;
            stack.push((a, far));
            stack.push((far, b));
        }
    }
    pts_in.iter().zip(keep).filter_map(|(p, k)| k.then_some(*p)).collect()
}

/// Planar distance from `p` to the segment `a`–`b`.
fn segment_distance(p: Xy, a: Xy, b: Xy) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
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
    fn simplify_keeps_endpoints_and_corners() {
        let line: Vec<Xy> = (0..=100).map(|i| (f64::from(i) * 0.001, 0.0)).chain([(0.1, 0.05)]).collect();
        assert_eq!(simplify(&line, 1e-5), vec![(0.0, 0.0), (0.1, 0.0), (0.1, 0.05)]);
    }
}
