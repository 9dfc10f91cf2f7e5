use std::ops::Range;

/// Merge ranges that overlap or lie within `gap` bytes of each other.
///
/// Returns the merged ranges, sorted, and for each input range the index of the merged range
/// that holds it. Over a network, reading a few wasted bytes costs less than another request.
pub fn coalesce(ranges: &[Range<u64>], gap: u64) -> (Vec<Range<u64>>, Vec<usize>) {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| (ranges[i].start, ranges[i].end));
    let mut merged: Vec<Range<u64>> = Vec::new();
    let mut owner = vec![0; ranges.len()];
    for i in order {
        let r = &ranges[i];
        match merged.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(gap) => last.end = last.end.max(r.end),
            _ => merged.push(r.clone()),
        }
        owner[i] = merged.len() - 1;
    }
    (merged, owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_near_and_overlapping_ranges() {
        let (m, owner) = coalesce(&[100..200, 0..10, 15..20, 150..160, 1000..1001], 8);
        assert_eq!(m, vec![0..20, 100..200, 1000..1001]);
        assert_eq!(owner, vec![1, 0, 0, 1, 2]);
    }

    #[test]
    fn keeps_distant_ranges_apart() {
        let (m, _) = coalesce(&[0..10, 19..20], 8);
        assert_eq!(m, vec![0..10, 19..20]);
    }
}
