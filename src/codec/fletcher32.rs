//! The Fletcher-32 checksum of HDF5's `fletcher32` filter (filter id 3).
//!
//! Algorithm as in the HDF5 sources (`H5checksum.c`, `H5_checksum_fletcher32`): the data are read as
//! big-endian 16-bit words (a trailing odd byte is the high byte of a last word), both sums are folded
//! to 16 bits every 360 words, and the result is `sum2 << 16 | sum1`. The filter (`H5Zfletcher32.c`)
//! appends this value as 4 bytes little-endian (`UINT32ENCODE`). On read libhdf5 also accepts the value
//! with the bytes of each 16-bit half swapped: HDF5 1.6.2–1.6.5 stored it that way.

/// Fletcher-32 of `data`, as HDF5 computes it.
pub fn checksum(data: &[u8]) -> u32 {
    let mut sum1: u32 = 0;
    let mut sum2: u32 = 0;
    let mut words = data.chunks_exact(2);
    // 360 words is the most that can be summed before `sum2` could overflow 32 bits.
    loop {
        let mut n = 0;
        for w in words.by_ref().take(360) {
            sum1 += (u32::from(w[0]) << 8) | u32::from(w[1]);
            sum2 += sum1;
            n += 1;
        }
        if n == 0 {
            break;
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if let [last] = words.remainder() {
        sum1 += u32::from(*last) << 8;
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    (sum2 << 16) | sum1
}

/// Check the trailing checksum of `buf` and return the data without it, or why it does not match.
pub fn strip(buf: &[u8]) -> Result<&[u8], String> {
    let Some(split) = buf.len().checked_sub(4) else {
        return Err(format!("fletcher32: {} bytes is too short to hold a checksum", buf.len()));
    };
    let (data, tail) = buf.split_at(split);
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let computed = checksum(data);
    // HDF5 1.6.2–1.6.5 swapped the bytes inside each 16-bit half; libhdf5 still accepts that form.
    let swapped = ((computed & 0x00ff_00ff) << 8) | ((computed >> 8) & 0x00ff_00ff);
    if stored == computed || stored == swapped {
        Ok(data)
    } else {
        Err(format!("fletcher32 checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Words 0x6162, 0x6364 (sum1 0xc4c6, sum2 0x12628 -> 0x2629), then the odd byte as 0x6500:
        // sum1 0x129c6 -> 0x29c7, sum2 0x2629 + 0x129c6 = 0x14fef -> 0x4ff0.
        assert_eq!(checksum(b"abcde"), 0x4ff0_29c7);
        assert_eq!(checksum(b""), 0);
        // Odd trailing byte counts as the high byte of a word.
        assert_eq!(checksum(b"\x01"), checksum(b"\x01\x00"));
    }

    #[test]
    fn strip_checks_and_removes() {
        let mut buf = b"hello world!".to_vec();
        buf.extend_from_slice(&checksum(b"hello world!").to_le_bytes());
        assert_eq!(strip(&buf).unwrap(), b"hello world!");
        buf[0] ^= 1;
        assert!(strip(&buf).is_err());
        assert!(strip(b"abc").is_err());
    }
}
