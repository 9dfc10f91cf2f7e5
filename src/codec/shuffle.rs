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

/// Undo the shuffle of `src` for elements of `size` bytes.
pub fn unshuffle(src: &[u8], size: usize) -> Vec<u8> {
    if size <= 1 || src.len() < size {
        return src.to_vec();
    }
    let n = src.len() / size;
    let mut out = vec![0u8; src.len()];
    for (j, plane) in src[..n * size].chunks_exact(n).enumerate() {
        for (i, &b) in plane.iter().enumerate() {
            out[i * size + j] = b;
        }
    }
    out[n * size..].copy_from_slice(&src[n * size..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverses_planes_and_keeps_tail() {
        // Elements [1,2,3] [4,5,6], then a leftover byte 7.
        assert_eq!(
            unshuffle(&[1, 4, 2, 5, 3, 6, 7], 3),
            vec![1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(unshuffle(&[9, 8], 4), vec![9, 8]);
        assert_eq!(
            shuffle(&[1, 2, 3, 4, 5, 6, 7], 3),
            vec![1, 4, 2, 5, 3, 6, 7]
        );
    }
}
