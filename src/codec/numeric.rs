//! Stored numbers to `f64`: integers and IEEE floats of either byte order.

use super::CodecError;
use crate::manifest::{ByteOrder, Datatype};

/// Convert raw elements of `dtype` to `f64`. Integers wider than 53 bits lose precision beyond 2^53.
///
/// # Errors
/// [`CodecError::UnsupportedType`] for non-numeric types or sizes other than 1, 2, 4, 8 (floats: 2, 4, 8);
/// [`CodecError::Corrupt`] when `raw` is not a whole number of elements.
pub fn to_f64(dtype: &Datatype, raw: &[u8]) -> Result<Vec<f64>, CodecError> {
    let mut out = Vec::new();
    to_f64_into(dtype, raw, &mut out)?;
    Ok(out)
}

/// [`to_f64`], appending to `out` (no intermediate vector when many chunks fill one column).
///
/// # Errors
/// As [`to_f64`]; `out` is unchanged then.
pub(crate) fn to_f64_into(dtype: &Datatype, raw: &[u8], out: &mut Vec<f64>) -> Result<(), CodecError> {
    let unsupported = || CodecError::UnsupportedType { path: String::new(), dtype: format!("{dtype:?}") };
    let (kind, size, order) = match dtype {
        Datatype::Integer { size, signed, order } => (if *signed { Kind::Signed } else { Kind::Unsigned }, *size, *order),
        Datatype::Float { size, order } => (Kind::Float, *size, *order),
        Datatype::Enum { base, .. } => return to_f64_into(base, raw, out),
        _ => return Err(unsupported()),
    };
    let size = size as usize;
    if !matches!((kind, size), (Kind::Float, 2 | 4 | 8) | (Kind::Signed | Kind::Unsigned, 1 | 2 | 4 | 8)) {
        return Err(unsupported());
    }
    if !raw.len().is_multiple_of(size) {
        return Err(CodecError::Corrupt {
            path: String::new(),
            coords: Vec::new(),
            reason: format!("{} bytes is not a whole number of {size}-byte elements", raw.len()),
        });
    }
    // One monomorphic loop per element type and byte order: a per-element match on them cost as
    // much as the copy (f64 little-endian becomes a plain copy).
    macro_rules! convert {
        ($t:ty, $n:literal) => {
            match order {
                ByteOrder::Le => extend::<$n>(out, raw, |b| <$t>::from_le_bytes(b) as f64),
                ByteOrder::Be => extend::<$n>(out, raw, |b| <$t>::from_be_bytes(b) as f64),
            }
        };
    }
    match (kind, size) {
        (Kind::Float, 8) => convert!(f64, 8),
        (Kind::Float, 4) => convert!(f32, 4),
        (Kind::Float, _) => match order {
            ByteOrder::Le => extend::<2>(out, raw, |b| half_to_f64(u16::from_le_bytes(b))),
            ByteOrder::Be => extend::<2>(out, raw, |b| half_to_f64(u16::from_be_bytes(b))),
        },
        (Kind::Signed, 1) => convert!(i8, 1),
        (Kind::Signed, 2) => convert!(i16, 2),
        (Kind::Signed, 4) => convert!(i32, 4),
        (Kind::Signed, _) => convert!(i64, 8),
        (Kind::Unsigned, 1) => convert!(u8, 1),
        (Kind::Unsigned, 2) => convert!(u16, 2),
        (Kind::Unsigned, 4) => convert!(u32, 4),
        (Kind::Unsigned, _) => convert!(u64, 8),
    }
    Ok(())
}

/// Append each `N`-byte element of `raw` (a whole number of them), converted.
fn extend<const N: usize>(out: &mut Vec<f64>, raw: &[u8], f: impl Fn([u8; N]) -> f64) {
    let (elements, _) = raw.as_chunks::<N>();
    out.extend(elements.iter().map(|&b| f(b)));
}

#[derive(Clone, Copy)]
enum Kind {
    Signed,
    Unsigned,
    Float,
}

/// IEEE 754 binary16 to f64.
fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_orders_and_signs() {
        let i16be = Datatype::Integer { size: 2, signed: true, order: ByteOrder::Be };
        assert_eq!(to_f64(&i16be, &[0xff, 0xfe, 0x01, 0x00]).unwrap(), vec![-2.0, 256.0]);
        let u32le = Datatype::Integer { size: 4, signed: false, order: ByteOrder::Le };
        assert_eq!(to_f64(&u32le, &[0xff, 0xff, 0xff, 0xff]).unwrap(), vec![4294967295.0]);
        let f32be = Datatype::Float { size: 4, order: ByteOrder::Be };
        assert_eq!(to_f64(&f32be, &1.5f32.to_be_bytes()).unwrap(), vec![1.5]);
        let f16 = Datatype::Float { size: 2, order: ByteOrder::Le };
        assert_eq!(to_f64(&f16, &[0x00, 0x3c, 0x00, 0xc0]).unwrap(), vec![1.0, -2.0]);
        let i8_ = Datatype::Integer { size: 1, signed: true, order: ByteOrder::Le };
        assert_eq!(to_f64(&i8_, &[0x80]).unwrap(), vec![-128.0]);
        assert!(to_f64(&u32le, &[1, 2, 3]).is_err());
    }

    /// Every integer width and sign, and f32/f64, in both byte orders, against Rust's own
    /// conversion of the same values.
    #[test]
    fn every_type_and_order_matches_a_reference() {
        let ints: [i64; 6] = [0, 1, -1, 127, -12_345, i64::from(i32::MIN)];
        for order in [ByteOrder::Le, ByteOrder::Be] {
            let bytes = |le: Vec<u8>, n: usize| -> Vec<u8> {
                le.chunks(n).flat_map(|e| if order == ByteOrder::Be { e.iter().rev().copied().collect() } else { e.to_vec() }).collect()
            };
            for (size, signed) in [(1, true), (2, true), (4, true), (8, true), (1, false), (2, false), (4, false), (8, false)] {
                let n = size as usize;
                let le: Vec<u8> = ints.iter().flat_map(|v| v.to_le_bytes()[..n].to_vec()).collect();
                let want: Vec<f64> = ints
                    .iter()
                    .map(|&v| {
                        let shift = 64 - 8 * n as u32;
                        let bits = (v as u64) << shift;
                        if signed { ((bits as i64) >> shift) as f64 } else { (bits >> shift) as f64 }
                    })
                    .collect();
                let dtype = Datatype::Integer { size, signed, order };
                assert_eq!(to_f64(&dtype, &bytes(le, n)).unwrap(), want, "{dtype:?}");
            }
            let floats = [0.0, -1.5, 3.25e10, f64::from(f32::MAX)];
            let le: Vec<u8> = floats.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert_eq!(to_f64(&Datatype::Float { size: 8, order }, &bytes(le, 8)).unwrap(), floats);
            let le: Vec<u8> = floats.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
            let want: Vec<f64> = floats.iter().map(|&v| f64::from(v as f32)).collect();
            assert_eq!(to_f64(&Datatype::Float { size: 4, order }, &bytes(le, 4)).unwrap(), want);
        }
    }
}
