//! Combining per-group footprints (WKB) into one granule footprint.

/// One MultiLineString holding every line of `parts` (LineString / MultiLineString WKB; points
/// are kept as zero-length lines). `None` when there is nothing to combine.
pub(super) fn union_lines(parts: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for p in parts {
        collect(p, &mut lines)?;
    }
    if lines.is_empty() {
        return None;
    }
    let mut out = vec![1u8];
    out.extend_from_slice(&5u32.to_le_bytes());
    out.extend_from_slice(&(lines.len() as u32).to_le_bytes());
    for l in lines {
        out.extend_from_slice(&l);
    }
    Some(out)
}

fn u32_at(b: &[u8], at: usize, le: bool) -> Option<u32> {
    let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if le { u32::from_le_bytes(w) } else { u32::from_be_bytes(w) })
}

/// Append the LineStrings of one WKB geometry (as little-endian WKB) to `out`; returns the
/// number of bytes the geometry used.
fn collect(b: &[u8], out: &mut Vec<Vec<u8>>) -> Option<usize> {
    let le = *b.first()? == 1;
    let kind = u32_at(b, 1, le)?;
    let coords = |at: usize, n: usize| -> Option<Vec<u8>> {
        let mut line = vec![1u8];
        line.extend_from_slice(&2u32.to_le_bytes());
        line.extend_from_slice(&(n as u32).to_le_bytes());
        for i in 0..n {
            for k in 0..2 {
                let w: [u8; 8] = b.get(at + 16 * i + 8 * k..at + 16 * i + 8 * k + 8)?.try_into().ok()?;
                let v = if le { f64::from_le_bytes(w) } else { f64::from_be_bytes(w) };
                line.extend_from_slice(&v.to_le_bytes());
            }
        }
        Some(line)
    };
    match kind {
        1 => {
            let mut line = coords(5, 1)?;
            // A point becomes a zero-length line (two equal vertices).
            line[5..9].copy_from_slice(&2u32.to_le_bytes());
            let xy = line[9..25].to_vec();
            line.extend_from_slice(&xy);
            out.push(line);
            Some(21)
        }
        2 => {
            let n = u32_at(b, 5, le)? as usize;
            out.push(coords(9, n)?);
            Some(9 + 16 * n)
        }
        5 => {
            let n = u32_at(b, 5, le)? as usize;
            let mut at = 9;
            for _ in 0..n {
                at += collect(b.get(at..)?, out)?;
            }
            Some(at)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(pts: &[(f64, f64)]) -> Vec<u8> {
        let mut v = vec![1u8];
        v.extend_from_slice(&2u32.to_le_bytes());
        v.extend_from_slice(&(pts.len() as u32).to_le_bytes());
        for (x, y) in pts {
            v.extend_from_slice(&x.to_le_bytes());
            v.extend_from_slice(&y.to_le_bytes());
        }
        v
    }

    #[test]
    fn unions_lines_and_multilines() {
        let a = line(&[(0.0, 0.0), (1.0, 1.0)]);
        let mut m = vec![1u8];
        m.extend_from_slice(&5u32.to_le_bytes());
        m.extend_from_slice(&2u32.to_le_bytes());
        m.extend(line(&[(2.0, 2.0), (3.0, 3.0)]));
        m.extend(line(&[(4.0, 4.0), (5.0, 5.0), (6.0, 6.0)]));
        let u = union_lines(&[a.clone(), m]).unwrap();
        assert_eq!(u32::from_le_bytes(u[5..9].try_into().unwrap()), 3);
        assert_eq!(&u[9..9 + a.len()], &a[..]);
        assert!(union_lines(&[]).is_none());
    }
}
