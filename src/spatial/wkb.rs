//! Well-known binary (OGC Simple Features Access 1.2.1 §8.2; ISO/IEC 13249-3): a writer for 2D,
//! little-endian (byte order flag 1) geometries, the subset GeoParquet allows, and the box of the
//! points or lines vz itself wrote.

type Xy = (f64, f64);

const POINT: u32 = 1;
const LINESTRING: u32 = 2;
const POLYGON: u32 = 3;
const MULTILINESTRING: u32 = 5;
const MULTIPOLYGON: u32 = 6;

fn header(out: &mut Vec<u8>, kind: u32) {
    out.push(1);
    out.extend_from_slice(&kind.to_le_bytes());
}

fn coords(out: &mut Vec<u8>, pts: &[Xy]) {
    out.extend_from_slice(&(pts.len() as u32).to_le_bytes());
    for (x, y) in pts {
        out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(&y.to_le_bytes());
    }
}

/// The box `(xmin, ymin, xmax, ymax)` of a little-endian 2D Point, LineString or MultiLineString
/// (what the catalog's `geometry` holds); `None` for anything else or truncated bytes.
pub fn line_bbox(b: &[u8]) -> Option<(f64, f64, f64, f64)> {
    let mut bbox = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
    walk(b, 0, &mut |x, y| bbox = (bbox.0.min(x), bbox.1.min(y), bbox.2.max(x), bbox.3.max(y)))?;
    (bbox.0 <= bbox.2).then_some(bbox)
}

/// Visit the points of the geometry at `at`; returns the offset just past it.
fn walk(b: &[u8], at: usize, add: &mut dyn FnMut(f64, f64)) -> Option<usize> {
    let f64_at = |at: usize| Some(f64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?));
    if b.get(at) != Some(&1) {
        return None;
    }
    let body = at + 5;
    match u32_at(at + 1)? {
        POINT => {
            add(f64_at(body)?, f64_at(body + 8)?);
            Some(body + 16)
        }
        LINESTRING => {
            let n = u32_at(body)? as usize;
            for i in 0..n {
                add(f64_at(body + 4 + 16 * i)?, f64_at(body + 12 + 16 * i)?);
            }
            Some(body + 4 + 16 * n)
        }
        MULTILINESTRING => {
            let mut next = body + 4;
            for _ in 0..u32_at(body)? {
                next = walk(b, next, add)?;
            }
            Some(next)
        }
        _ => None,
    }
}

/// `POINT (x y)`.
pub fn point(p: Xy) -> Vec<u8> {
    let mut out = Vec::with_capacity(21);
    header(&mut out, POINT);
    out.extend_from_slice(&p.0.to_le_bytes());
    out.extend_from_slice(&p.1.to_le_bytes());
    out
}

fn line_into(out: &mut Vec<u8>, pts: &[Xy]) {
    header(out, LINESTRING);
    coords(out, pts);
}

/// `LINESTRING (...)`.
pub fn line_string(pts: &[Xy]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + 16 * pts.len());
    line_into(&mut out, pts);
    out
}

/// `MULTILINESTRING ((...), ...)`.
pub fn multi_line_string(parts: &[Vec<Xy>]) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, MULTILINESTRING);
    out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
    for p in parts {
        line_into(&mut out, p);
    }
    out
}

fn polygon_into(out: &mut Vec<u8>, rings: &[Vec<Xy>]) {
    header(out, POLYGON);
    out.extend_from_slice(&(rings.len() as u32).to_le_bytes());
    for r in rings {
        coords(out, r);
    }
}

/// `POLYGON ((exterior), (hole), ...)`.
pub fn polygon(rings: &[Vec<Xy>]) -> Vec<u8> {
    let mut out = Vec::new();
    polygon_into(&mut out, rings);
    out
}

/// `MULTIPOLYGON (((...)), ...)`.
pub fn multi_polygon(polys: &[Vec<Vec<Xy>>]) -> Vec<u8> {
    let mut out = Vec::new();
    header(&mut out, MULTIPOLYGON);
    out.extend_from_slice(&(polys.len() as u32).to_le_bytes());
    for p in polys {
        polygon_into(&mut out, p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_and_line_layout() {
        let p = point((1.0, 2.0));
        assert_eq!(p.len(), 21);
        assert_eq!(&p[..5], &[1, 1, 0, 0, 0]);
        assert_eq!(&p[5..13], &1.0f64.to_le_bytes());
        let l = line_string(&[(0.0, 0.0), (1.0, 1.0)]);
        assert_eq!(l.len(), 9 + 32);
        assert_eq!(&l[1..9], &[2, 0, 0, 0, 2, 0, 0, 0]);
        let m = multi_line_string(&[vec![(0.0, 0.0), (1.0, 1.0)], vec![(2.0, 2.0), (3.0, 3.0)]]);
        assert_eq!(m.len(), 9 + 2 * (9 + 32));
    }
}
