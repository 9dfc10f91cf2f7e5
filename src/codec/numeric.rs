//! Stored numbers to `f64`: integers and IEEE floats of either byte order.

use super::CodecError;
use crate::manifest::{ByteOrder, Datatype};

/// Convert raw elements of `dtype` to `f64`. Integers wider than 53 bits lose precision beyond 2^53.
///
/// # Errors
/// [`CodecError::UnsupportedType`] for non-numeric types or sizes other than 1, 2, 4, 8 (floats: 2, 4, 8);
/// [`CodecError::Corrupt`] when `raw` is not a whole number of elements.
pub fn to_f64(dtype: &Datatype, raw: &[u8]) -> Result<Vec<f64>, CodecError> {
    let unsupported = || CodecError::UnsupportedType { path: String::new(), dtype: format!("{dtype:?}") };
    let (kind, size, order) = match dtype {
        Datatype::Integer { size, signed, order } => (if *signed { Kind::Signed } else { Kind::Unsigned }, *size, *order),
        Datatype::Float { size, order } => (Kind::Float, *size, *order),
        Datatype::Enum { base, .. } => return to_f64(base, raw),
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
    Ok(raw
        .chunks_exact(size)
        .map(|e| {
            let mut b = [0u8; 8];
            match order {
                ByteOrder::Le => b[..size].copy_from_slice(e),
                ByteOrder::Be => b[..size].iter_mut().zip(e.iter().rev()).for_each(|(d, s)| *d = *s),
            }
            let bits = u64::from_le_bytes(b);
            match (kind, size) {
                (Kind::Unsigned, _) => bits as f64,
                (Kind::Signed, 8) => bits as i64 as f64,
                (Kind::Signed, _) => {
                    let shift = 64 - 8 * size as u32;
                    ((bits << shift) as i64 >> shift) as f64
                }
                (Kind::Float, 8) => f64::from_bits(bits),
                (Kind::Float, 4) => f64::from(f32::from_bits(bits as u32)),
                (Kind::Float, _) => half_to_f64(bits as u16),
            }
        })
        .collect())
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
}
