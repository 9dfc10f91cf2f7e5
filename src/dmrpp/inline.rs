//! Values a DMR++ carries in the XML instead of byte ranges: `dmrpp:compact` (base64 of the raw
//! bytes), `dmrpp:missingdata` (base64 of a zlib stream), `dmrpp:specialstructuredata` (base64 of
//! OPeNDAP's own structure encoding) and `dmrpp:vlsa` (one `<v>` per string).

use std::io::Read;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Standard alphabet; padding optional (build_dmrpp versions differ).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode base64 text, ignoring whitespace (long values are sometimes wrapped).
pub(crate) fn base64(text: &str) -> Result<Vec<u8>, String> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    B64.decode(&compact).map_err(|e| format!("bad base64: {e}"))
}

/// Inflate a zlib stream, refusing output longer than `limit` bytes (a small input must not
/// be able to allocate gigabytes).
pub(crate) fn inflate(data: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("bad zlib stream: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!("inflates to more than {limit} bytes"));
    }
    Ok(out)
}

/// Encode strings the way Zarr's `vlen-utf8` codec (numcodecs `VLenUTF8`) stores a chunk:
/// a little-endian u32 count, then per item a little-endian u32 byte length and the bytes.
pub(crate) fn vlen_utf8(items: &[String]) -> Result<Vec<u8>, String> {
    let len = |n: usize| u32::try_from(n).map_err(|_| "too many or too long strings".to_string());
    let mut out = Vec::with_capacity(4 + items.iter().map(|s| 4 + s.len()).sum::<usize>());
    out.extend_from_slice(&len(items.len())?.to_le_bytes());
    for s in items {
        out.extend_from_slice(&len(s.len())?.to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missingdata_of_a_real_sidecar_inflates() {
        // t_cf_1dllzs.h5.dmrpp, variable FakeDim2: Int32 [0, 1].
        let z = base64("eJxjYGBgYARiAAAMAAI=").unwrap();
        assert_eq!(inflate(&z, 8).unwrap(), [0, 0, 0, 0, 1, 0, 0, 0]);
        assert!(inflate(&z, 7).is_err());
        assert!(inflate(b"not zlib", 100).is_err());
    }

    #[test]
    fn vlen_utf8_layout() {
        assert_eq!(vlen_utf8(&["ab".into(), String::new()]).unwrap(), [2, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]);
    }
}
