//! The superblock (spec II.A): where the file starts, its address sizes and the root group.
//!
//! The signature is searched at 0, 512, 1024, 2048, ... (a user block may precede it).
//! Addresses in the file are relative to the superblock's position, which libhdf5 also takes as
//! the base address whatever the stored field says.

use super::cache::Cache;
use super::checksum;
use super::cursor::Geometry;
use super::error::{bad, unsupported, Fault, Parse};

const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];
const STRUCTURE: &str = "superblock";

/// What the walker needs from the superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Superblock {
    /// Superblock version (0..=3).
    pub version: u8,
    /// Sizes and base address for decoding every other structure.
    pub geo: Geometry,
    /// Absolute address of the root group's object header.
    pub root: u64,
    /// Absolute address of the superblock extension's object header (v2+), if any.
    pub extension: Option<u64>,
    /// Absolute end-of-file address the writer recorded; a shorter file is truncated.
    pub end_of_file: Option<u64>,
}

/// Find and decode the superblock. Returns `Fault::Need` for signature positions not fetched yet,
/// and `Ok(None)` when no position up to the end of the file holds the signature.
pub(crate) fn locate(cache: &Cache) -> Parse<Option<Superblock>> {
    let eof = cache.eof();
    let mut pos = 0u64;
    while pos + SIGNATURE.len() as u64 <= eof {
        if cache.get(STRUCTURE, pos, 8)? == SIGNATURE {
            return decode(cache, pos).map(Some);
        }
        pos = if pos == 0 { 512 } else { pos * 2 };
    }
    Ok(None)
}

fn decode(cache: &Cache, at: u64) -> Parse<Superblock> {
    let eof = cache.eof();
    let version = cache.get(STRUCTURE, at + 8, 1)?[0];
    match version {
        0 | 1 => {
            let fixed = cache.get(STRUCTURE, at + 8, 16)?;
            let (so, sl) = (fixed[5], fixed[6]);
            check_sizes(at, so, sl)?;
            let geo = Geometry { sizeof_offsets: so, sizeof_lengths: sl, base_address: at, eof };
            let head = 8 + 16 + if version == 1 { 4 } else { 0 };
            // 4 addresses, then the root symbol table entry (name offset, header address, ...).
            let len = head + 6 * u64::from(so) + 24;
            let mut c = cache.cursor(STRUCTURE, at, len, geo)?;
            c.skip(head as usize)?;
            c.address()?; // base address (libhdf5 uses the superblock position)
            c.address()?; // free-space info
            let end_of_file = c.address()?;
            c.address()?; // driver info
            c.address()?; // link name offset of the root entry
            let root = c.required_address()?;
            Ok(Superblock { version, geo, root, extension: None, end_of_file })
        }
        2 | 3 => {
            let sizes = cache.get(STRUCTURE, at + 9, 2)?;
            let (so, sl) = (sizes[0], sizes[1]);
            check_sizes(at, so, sl)?;
            let geo = Geometry { sizeof_offsets: so, sizeof_lengths: sl, base_address: at, eof };
            let len = 12 + 4 * u64::from(so) + 4;
            let mut c = cache.cursor(STRUCTURE, at, len, geo)?;
            c.skip(12)?;
            c.address()?; // base address (stored; libhdf5 uses the superblock position)
            let extension = c.address()?;
            let end_of_file = c.address()?;
            let root = c.required_address()?;
            let body_len = c.pos();
            let stored = c.u32()?;
            if !checksum::verify(&c.buffer()[..body_len], stored) {
                return bad(STRUCTURE, at, "checksum mismatch");
            }
            Ok(Superblock { version, geo, root, extension, end_of_file })
        }
        v => unsupported(STRUCTURE, at, format!("superblock version {v}")),
    }
}

fn check_sizes(at: u64, so: u8, sl: u8) -> Parse<()> {
    let ok = |n: u8| matches!(n, 2 | 4 | 8);
    if !ok(so) || !ok(sl) {
        return Err(Fault::Format {
            structure: STRUCTURE,
            address: at,
            detail: format!("size of offsets {so} / lengths {sl} must be 2, 4 or 8"),
        });
    }
    Ok(())
}

