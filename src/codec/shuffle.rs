//! HDF5's byte shuffle filter (filter id 2), both directions.
//!
//! Writing gathers byte 0 of every element, then byte 1, ... (`H5Zshuffle.c`); bytes past the last whole
//! element are copied unchanged at the end. Reading scatters them back.

/// Shuffle `src` for elements of `size` bytes: byte planes first, leftover bytes last.
pub fn shuffle(src: &[u8], size: usize) -> Vec<u8> {
    if size <= 1 || src.len() < size {
        return src.to_vec();
    }
    let n = src.len() / size;
    let mut out = vec![0u8; src.len()];
    for (i, element) in src[..n * size].chunks_exact(size).enumerate() {
        for (j, &b) in element.iter().enumerate() {
            out[j * n + i] = b;
        }
    }
    out[n * size..].copy_from_slice(&src[n * size..]);
    out
}

/// Undo the shuffle of `src` for elements of `size` bytes, into the front of `out` (grown to fit);
/// returns the length written, `src.len()`.
pub fn unshuffle_into(src: &[u8], size: usize, out: &mut Vec<u8>) -> usize {
    if out.len() < src.len() {
        out.resize(src.len(), 0);
    }
    let dst = &mut out[..src.len()];
    if size <= 1 || src.len() < size {
        dst.copy_from_slice(src);
        return src.len();
    }
    let n = src.len() / size;
    for (j, plane) in src[..n * size].chunks_exact(n).enumerate() {
        for (i, &b) in plane.iter().enumerate() {
            dst[i * size + j] = b;
        }
    }
    dst[n * size..].copy_from_slice(&src[n * size..]);
    src.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverses_planes_and_keeps_tail() {
        // Elements [1,2,3] [4,5,6], then a leftover byte 7.
        let mut out = vec![0xff; 9];
        assert_eq!(unshuffle_into(&[1, 4, 2, 5, 3, 6, 7], 3, &mut out), 7);
        assert_eq!(out[..7], [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(unshuffle_into(&[9, 8], 4, &mut out), 2);
        assert_eq!(out[..2], [9, 8]);
        assert_eq!(
            shuffle(&[1, 2, 3, 4, 5, 6, 7], 3),
            vec![1, 4, 2, 5, 3, 6, 7]
        );
    }
}
