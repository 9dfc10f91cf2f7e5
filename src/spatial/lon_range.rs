//! The smallest longitude range holding a set of longitude intervals, on the circle.
//!
//! Each input interval `[west, east]` lies in -180..180 with `west <= east` (a point is a zero-width
//! interval). The complement of the largest empty arc is the answer; when it crosses the antimeridian,
//! `west > east` (RFC 7946 §5.2, which GeoParquet's bbox follows). When the intervals leave no empty arc
//! of at least 180°, the range is the full circle -180..180: a box wider than a half-turn selects little,
//! and it is what points circling a pole give.

/// `(west, east)` of the smallest arc covering every interval; `None` when there are none.
pub fn covering_arc(intervals: &mut [(f64, f64)]) -> Option<(f64, f64)> {
    if intervals.is_empty() {
        return None;
    }
    let (west, east) = intervals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(w, e), i| (w.min(i.0), e.max(i.1)));
    if let Some(range) = narrow(west, east) {
        return Some(range);
    }
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Merge overlapping intervals, then look at the empty arcs between them.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(intervals.len());
    for &(w, e) in intervals.iter() {
        match merged.last_mut() {
            Some(last) if w <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((w, e)),
        }
    }
    let (first, last) = (merged[0], merged[merged.len() - 1]);
    // The arc across the antimeridian, from the last east edge to the first west edge.
    let mut best_gap = first.0 + 360.0 - last.1;
    let mut range = (first.0, last.1);
    for pair in merged.windows(2) {
        let gap = pair[1].0 - pair[0].1;
        if gap > best_gap {
            best_gap = gap;
            range = (pair[1].0, pair[0].1);
        }
    }
    if best_gap < 180.0 {
        return Some((-180.0, 180.0));
    }
    Some(range)
}

/// The answer for everything lying within `west..=east` when that spans less than a half-turn:
/// the gap across the antimeridian then exceeds 180° and every other gap is shorter than the span,
/// so the plain range is the smallest arc, no sort needed (almost every chunk of a track).
pub fn narrow(west: f64, east: f64) -> Option<(f64, f64)> {
    (east - west < 180.0).then_some((west, east))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_crossing_and_full() {
        assert_eq!(covering_arc(&mut [(10.0, 10.0), (-5.0, -5.0), (3.0, 3.0)]), Some((-5.0, 10.0)));
        assert_eq!(covering_arc(&mut [(179.9, 179.9), (-179.9, -179.9), (179.95, 179.95)]), Some((179.9, -179.9)));
        assert_eq!(covering_arc(&mut [(0.0, 0.0), (90.0, 90.0), (-90.0, -90.0), (180.0, 180.0)]), Some((-180.0, 180.0)));
        assert_eq!(covering_arc(&mut [(170.0, 180.0), (-180.0, -170.0)]), Some((170.0, -170.0)));
        assert_eq!(covering_arc(&mut []), None);
    }
}
