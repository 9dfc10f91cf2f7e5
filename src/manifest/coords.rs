//! [`Coords`]: a chunk's position in the chunk grid, without a heap allocation for the usual
//! ranks.
//!
//! A million-chunk manifest held its coordinates in a million small `Vec<u64>`s: a malloc and a
//! free per chunk and a pointer to chase in every comparison while sorting. Up to
//! [`Coords::INLINE`] dimensions live inside the value instead; higher ranks fall back to a
//! `Vec`. It reads as a `[u64]` (it derefs to one) and serialises as a plain sequence, so the
//! JSON and every consumer see the same thing as before.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Number of dimensions stored inline. Its own enum (not a `u8`) so that the heap variant
/// fits in the unused values: `Coords` stays 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum InlineLen {
    L0,
    L1,
    L2,
    L3,
}

impl InlineLen {
    fn get(self) -> usize {
        self as usize
    }

    fn of(n: usize) -> Option<InlineLen> {
        Some(match n {
            0 => InlineLen::L0,
            1 => InlineLen::L1,
            2 => InlineLen::L2,
            3 => InlineLen::L3,
            _ => return None,
        })
    }
}

#[derive(Clone)]
enum Repr {
    Inline(InlineLen, [u64; Coords::INLINE]),
    Heap(Vec<u64>),
}

/// Position of a chunk in the chunk grid (element offset divided by the chunk shape), one
/// entry per dimension. Behaves as a `[u64]`; compares, hashes, prints and serialises as one.
#[derive(Clone)]
pub struct Coords(Repr);

const _: () = assert!(std::mem::size_of::<Coords>() == 32);

impl Coords {
    /// Dimensions held without a heap allocation.
    pub const INLINE: usize = 3;

    /// No dimensions (a scalar's single chunk).
    pub const fn new() -> Coords {
        Coords(Repr::Inline(InlineLen::L0, [0; Coords::INLINE]))
    }

    /// `n` zeros: the first chunk of an `n`-dimensional grid.
    pub fn zeros(n: usize) -> Coords {
        match InlineLen::of(n) {
            Some(len) => Coords(Repr::Inline(len, [0; Coords::INLINE])),
            None => Coords(Repr::Heap(vec![0; n])),
        }
    }

    /// Append one dimension.
    pub fn push(&mut self, v: u64) {
        match &mut self.0 {
            Repr::Inline(len, dims) => match InlineLen::of(len.get() + 1) {
                Some(next) => {
                    dims[len.get()] = v;
                    *len = next;
                }
                None => {
                    let mut heap = Vec::with_capacity(Coords::INLINE * 2);
                    heap.extend_from_slice(&dims[..]);
                    heap.push(v);
                    self.0 = Repr::Heap(heap);
                }
            },
            Repr::Heap(heap) => heap.push(v),
        }
    }

    /// The coordinates as a slice.
    pub fn as_slice(&self) -> &[u64] {
        match &self.0 {
            Repr::Inline(len, dims) => &dims[..len.get()],
            Repr::Heap(heap) => heap,
        }
    }
}

impl Default for Coords {
    fn default() -> Self {
        Coords::new()
    }
}

impl Deref for Coords {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        self.as_slice()
    }
}

impl DerefMut for Coords {
    fn deref_mut(&mut self) -> &mut [u64] {
        match &mut self.0 {
            Repr::Inline(len, dims) => &mut dims[..len.get()],
            Repr::Heap(heap) => heap,
        }
    }
}

impl AsRef<[u64]> for Coords {
    fn as_ref(&self) -> &[u64] {
        self
    }
}

impl Borrow<[u64]> for Coords {
    fn borrow(&self) -> &[u64] {
        self
    }
}

impl From<&[u64]> for Coords {
    fn from(v: &[u64]) -> Self {
        match InlineLen::of(v.len()) {
            Some(len) => {
                let mut dims = [0; Coords::INLINE];
                dims[..v.len()].copy_from_slice(v);
                Coords(Repr::Inline(len, dims))
            }
            None => Coords(Repr::Heap(v.to_vec())),
        }
    }
}

impl From<Vec<u64>> for Coords {
    fn from(v: Vec<u64>) -> Self {
        if v.len() <= Coords::INLINE {
            Coords::from(v.as_slice())
        } else {
            Coords(Repr::Heap(v))
        }
    }
}

impl<const N: usize> From<[u64; N]> for Coords {
    fn from(v: [u64; N]) -> Self {
        Coords::from(&v[..])
    }
}

impl From<Coords> for Vec<u64> {
    fn from(c: Coords) -> Self {
        match c.0 {
            Repr::Inline(len, dims) => dims[..len.get()].to_vec(),
            Repr::Heap(heap) => heap,
        }
    }
}

impl FromIterator<u64> for Coords {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut c = Coords::new();
        for v in iter {
            c.push(v);
        }
        c
    }
}

impl Extend<u64> for Coords {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

impl<'a> IntoIterator for &'a Coords {
    type Item = &'a u64;
    type IntoIter = std::slice::Iter<'a, u64>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl PartialEq for Coords {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Coords {}

impl PartialEq<[u64]> for Coords {
    fn eq(&self, other: &[u64]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u64]> for Coords {
    fn eq(&self, other: &&[u64]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u64>> for Coords {
    fn eq(&self, other: &Vec<u64>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> PartialEq<[u64; N]> for Coords {
    fn eq(&self, other: &[u64; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Coords> for Vec<u64> {
    fn eq(&self, other: &Coords) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Coords> for [u64] {
    fn eq(&self, other: &Coords) -> bool {
        self == other.as_slice()
    }
}

impl PartialOrd for Coords {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Coords {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Coords {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As the slice does: `Borrow<[u64]>` requires equal hashes.
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for Coords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl Serialize for Coords {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<u64>::deserialize(d).map(Coords::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_read_compare_and_serialise_as_slices() {
        let small: Coords = [4, 5].into();
        let big: Coords = (0..6).collect();
        assert_eq!(small.as_slice(), &[4, 5]);
        assert_eq!(big.len(), 6);
        assert_eq!(big[5], 5);
        assert!(matches!(small.0, Repr::Inline(..)));
        assert!(matches!(big.0, Repr::Heap(..)));
        // Representation does not matter for equality, order or hashing.
        let spilled: Coords = {
            let mut c = Coords::new();
            c.extend([1, 2, 3, 4]);
            c
        };
        assert_eq!(spilled, vec![1, 2, 3, 4]);
        assert!(Coords::from(vec![1, 2]) < Coords::from(vec![1, 2, 0]));
        assert!(Coords::from(vec![1, 3]) > Coords::from(vec![1, 2, 9, 9]));
        assert_eq!(format!("{small:?}"), "[4, 5]");
        assert_eq!(serde_json::to_string(&big).unwrap(), "[0,1,2,3,4,5]");
        assert_eq!(serde_json::from_str::<Coords>("[7,8]").unwrap(), vec![7, 8]);
        assert_eq!(Coords::zeros(5), vec![0; 5]);
        assert!(Coords::zeros(0).is_empty());
        let mut m = std::collections::HashSet::new();
        m.insert(Coords::from(vec![1, 2]));
        assert!(m.contains(&[1u64, 2][..]));
        let mut c = small.clone();
        c[0] = 9;
        assert_eq!(Vec::from(c), vec![9, 5]);
    }
}
