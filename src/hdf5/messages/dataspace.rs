//! Dataspace message (IV.A.2.b): rank, current and maximum dimensions.

use crate::hdf5::cursor::Cursor;
use crate::hdf5::error::{unsupported, Parse};

/// Decoded dataspace. A null dataspace has no elements and is reported with shape `[0]`-free
/// `null = true`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Dataspace {
    pub shape: Vec<u64>,
    pub maxshape: Vec<Option<u64>>,
    pub null: bool,
}

impl Dataspace {
    /// Number of elements.
    pub(crate) fn len(&self) -> u64 {
        if self.null {
            0
        } else {
            self.shape.iter().try_fold(1u64, |a, &b| a.checked_mul(b)).unwrap_or(u64::MAX)
        }
    }
}

pub(crate) fn parse(mut c: Cursor<'_>) -> Parse<Dataspace> {
    let at = c.file_pos();
    let version = c.u8()?;
    let rank = usize::from(c.u8()?);
    let flags = c.u8()?;
    let null = match version {
        1 => {
            c.skip(5)?;
            false
        }
        2 => c.u8()? == 2,
        v => return unsupported(c.structure(), at, format!("dataspace version {v}")),
    };
    if rank > 32 {
        return c.fail(format!("rank {rank} exceeds HDF5's limit of 32"));
    }
    let mut shape = Vec::with_capacity(rank);
    for _ in 0..rank {
        shape.push(c.length()?);
    }
    let mut maxshape = Vec::with_capacity(rank);
    let unlimited = if c.geo().sizeof_lengths == 8 { u64::MAX } else { (1u64 << (8 * c.geo().sizeof_lengths)) - 1 };
    for &n in &shape {
        if flags & 1 != 0 {
            let m = c.length()?;
            maxshape.push(if m == unlimited { None } else { Some(m) });
        } else {
            maxshape.push(Some(n));
        }
    }
    Ok(Dataspace { shape, maxshape, null })
}
