//! Well-known binary writer (OGC Simple Features Access 1.2.1 §8.2; ISO/IEC 13249-3): 2D,
//! little-endian (byte order flag 1), the subset GeoParquet allows.

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
