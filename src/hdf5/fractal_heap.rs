//! Fractal heaps (spec III.G "Fractal Heap"): header `FRHP`, direct blocks `FHDB`, indirect
//! blocks `FHIB`, and heap IDs.
//!
//! Managed objects live in direct blocks laid out by a "doubling table": rows of `width`
//! blocks, the first two rows of the starting block size, each later row twice the previous.
//! Rows up to the maximum direct block size hold direct blocks, later rows indirect blocks
//! with their own (smaller) tables. A managed heap ID holds the object's offset in the heap's
//! address space and its length; a tiny heap ID holds the object itself.

use std::collections::HashSet;

use super::cache::Cache;
use super::checksum::lookup3;
use super::cursor::{bytes_for, Cursor, Geometry};
use super::btree_v2::{Bt2Header, NodeRef};
use super::error::{bad, unsupported, Fault, Parse};

const HEADER: &str = "fractal heap header";
const DIRECT: &str = "fractal heap direct block";
const INDIRECT: &str = "fractal heap indirect block";
const HEAP_ID: &str = "fractal heap ID";

/// Blocks whose checksums were already verified in this step, so that many objects of one
/// block hash it once.
pub(crate) type Checked = HashSet<u64>;

/// A parsed `FRHP` header plus derived doubling-table geometry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FractalHeap {
    /// Address of the header (for errors and block ownership checks).
    pub address: u64,
    /// Bytes per heap ID.
    pub id_len: u16,
    /// Whether direct blocks carry a checksum.
    checksum_direct: bool,
    /// Whether the heap has an I/O filter pipeline (blocks are compressed: unsupported).
    filtered: bool,
    width: u64,
    start_block: u64,
    max_direct: u64,
    /// Bytes of a heap offset (in IDs and block headers).
    offset_size: usize,
    /// Bytes of an object length in managed IDs.
    length_size: usize,
    /// Rows whose blocks are direct blocks.
    max_direct_rows: u64,
    /// log2(start block size * width).
    first_row_bits: u32,
    /// v2 B-tree (record type 1) of huge objects addressed indirectly.
    huge_btree: Option<u64>,
    /// Whether huge-object IDs hold the object's address and length themselves.
    huge_direct: bool,
    /// Root block address (`None`: no managed objects yet).
    root: Option<u64>,
    /// Rows of the root indirect block (0: the root is a direct block).
    root_rows: u64,
}

impl FractalHeap {
    /// Read the header at `address`.
    ///
    /// # Errors
    /// `Need` when the bytes are not cached; a format error for a bad signature, version,
    /// checksum or geometry.
    pub(crate) fn read(cache: &Cache, address: u64, geo: Geometry) -> Parse<FractalHeap> {
        let sl = u64::from(geo.sizeof_lengths);
        let so = u64::from(geo.sizeof_offsets);
        let len = 26 + 12 * sl + 3 * so;
        let mut c = cache.cursor(HEADER, address, len, geo)?;
        c.signature(b"FRHP")?;
        let version = c.u8()?;
        if version != 0 {
            return bad(HEADER, address, format!("version {version}, expected 0"));
        }
        let id_len = c.u16()?;
        let filter_len = u64::from(c.u16()?);
        let flags = c.u8()?;
        let max_managed = c.u32()?;
        c.length()?; // next huge object ID
        let huge_btree = c.address()?;
        c.length()?; // free space in managed blocks
        c.address()?; // free space manager
        c.length()?; // managed space
        c.length()?; // allocated managed space
        c.length()?; // direct block allocation iterator
        c.length()?; // managed objects
        c.length()?; // huge objects size
        c.length()?; // huge objects
        c.length()?; // tiny objects size
        c.length()?; // tiny objects
        let width = u64::from(c.u16()?);
        let start_block = c.length()?;
        let max_direct = c.length()?;
        let max_heap_bits = c.u16()?;
        let _start_rows = c.u16()?;
        let root = c.address()?;
        let root_rows = u64::from(c.u16()?);
        // The optional filter fields sit between the root row count and the checksum.
        let body = if filter_len > 0 { len - 4 + sl + 4 + filter_len } else { len - 4 };
        let all = cache.get(HEADER, address, body + 4)?;
        let stored = u32::from_le_bytes([all[body as usize], all[body as usize + 1], all[body as usize + 2], all[body as usize + 3]]);
        if lookup3(&all[..body as usize]) != stored {
            return bad(HEADER, address, "checksum mismatch");
        }

        let pow2 = |n: u64| n > 0 && n.is_power_of_two();
        if !pow2(width) || !pow2(start_block) || !pow2(max_direct) || max_direct < start_block {
            return bad(HEADER, address, format!("table width {width}, start block {start_block}, max direct block {max_direct}"));
        }
        let first_row_bits = start_block.trailing_zeros() + width.trailing_zeros();
        if !(1..=64).contains(&max_heap_bits) || u32::from(max_heap_bits) < first_row_bits {
            return bad(HEADER, address, format!("maximum heap size of {max_heap_bits} bits"));
        }
        let max_direct_rows = u64::from(max_direct.trailing_zeros() - start_block.trailing_zeros()) + 2;
        let max_rows = u64::from(max_heap_bits) - u64::from(first_row_bits) + 1;
        if root_rows > max_rows {
            return bad(HEADER, address, format!("root indirect block has {root_rows} rows, at most {max_rows} possible"));
        }
        let offset_size = usize::from(max_heap_bits).div_ceil(8);
        let length_size = (max_direct.trailing_zeros() as usize).div_ceil(8).min(bytes_for(u64::from(max_managed)));
        Ok(FractalHeap {
            address,
            id_len,
            checksum_direct: flags & 0x02 != 0,
            huge_btree,
            // libhdf5 (H5HF__huge_init) stores address and length in the ID when they fit.
            huge_direct: u64::from(id_len).saturating_sub(1) >= so + sl,
            filtered: filter_len > 0,
            width,
            start_block,
            max_direct,
            offset_size,
            length_size,
            max_direct_rows,
            first_row_bits,
            root,
            root_rows,
        })
    }

    /// Size of the blocks in row `r`.
    fn row_block_size(&self, r: u64) -> u64 {
        if r == 0 {
            self.start_block
        } else {
            self.start_block << (r - 1)
        }
    }

    /// Heap offset where row `r` starts, relative to its indirect block.
    fn row_offset(&self, r: u64) -> u64 {
        if r == 0 {
            0
        } else {
            (self.start_block * self.width) << (r - 1)
        }
    }

    /// Row and column of relative offset `off` in an indirect block.
    fn lookup(&self, off: u64) -> (u64, u64) {
        if off < self.start_block * self.width {
            (0, off / self.start_block)
        } else {
            let high = 63 - off.leading_zeros();
            let row = u64::from(high - self.first_row_bits) + 1;
            (row, (off - (1u64 << high)) / self.row_block_size(row))
        }
    }

    /// The bytes of the object named by heap ID `id`.
    ///
    /// # Errors
    /// `Need` when a block is not cached; a format error for a malformed ID or block;
    /// unsupported for huge objects and filtered heaps.
    pub(crate) fn object(&self, id: &[u8], cache: &Cache, geo: Geometry, checked: &mut Checked) -> Parse<Vec<u8>> {
        let mut c = Cursor::new(id, self.address, HEAP_ID, geo);
        let flags = c.u8()?;
        if flags >> 6 != 0 {
            return bad(HEAP_ID, self.address, format!("heap ID version {}", flags >> 6));
        }
        match (flags >> 4) & 0x03 {
            0 => {
                let offset = c.uint(self.offset_size)?;
                let length = c.uint(self.length_size)?;
                self.managed(offset, length, cache, geo, checked)
            }
            1 => self.huge(&mut c, cache, geo),
            2 => {
                // Tiny: the object is in the ID. IDs of 18 bytes or more use a 12-bit length (H5HF tiny_init).
                let (len, from) = if id.len() <= 17 {
                    (usize::from(flags & 0x0f) + 1, 1)
                } else {
                    ((usize::from(flags & 0x0f) << 8 | usize::from(c.u8()?)) + 1, 2)
                };
                match id.get(from..from + len) {
                    Some(obj) => Ok(obj.to_vec()),
                    None => bad(HEAP_ID, self.address, format!("tiny object of {len} bytes in a {}-byte ID", id.len())),
                }
            }
            t => bad(HEAP_ID, self.address, format!("heap ID type {t}")),
        }
    }

    /// A huge object: stored outside the heap blocks, found from the ID directly or through
    /// the huge-object v2 B-tree (record type 1: address, length, ID).
    fn huge(&self, c: &mut Cursor<'_>, cache: &Cache, geo: Geometry) -> Parse<Vec<u8>> {
        if self.filtered {
            return unsupported(HEAP_ID, self.address, "huge objects of a filtered fractal heap");
        }
        let (address, length) = if self.huge_direct {
            (c.required_address()?, c.length()?)
        } else {
            let key = c.uint(c.remaining().min(8))?;
            let Some(tree_at) = self.huge_btree else {
                return bad(HEAP_ID, self.address, "huge object ID but the heap has no huge-object B-tree");
            };
            let tree = Bt2Header::read(cache, tree_at, geo)?;
            if tree.record_type != 1 {
                return unsupported(HEAP_ID, tree_at, format!("huge-object B-tree of record type {}", tree.record_type));
            }
            let mut stack: Vec<NodeRef> = tree.root.into_iter().collect();
            let mut found = None;
            let mut visited = 0u64;
            while let Some(node) = stack.pop() {
                visited += 1;
                if visited > tree.total_records + 1 {
                    return bad(HEAP_ID, tree_at, "huge-object B-tree has more nodes than records");
                }
                let content = tree.read_node(&node, cache, geo)?;
                for rec in &content.records {
                    let mut r = Cursor::new(rec, tree_at, "huge object record", geo);
                    let (a, l, id) = (r.required_address()?, r.length()?, r.length()?);
                    if id == key {
                        found = Some((a, l));
                    }
                }
                stack.extend(content.children);
            }
            found.ok_or(Fault::Format {
                structure: HEAP_ID,
                address: self.address,
                detail: format!("huge object {key} not in the huge-object B-tree"),
            })?
        };
        Ok(cache.get("huge heap object", address, length)?.to_vec())
    }

    /// A managed object at heap `offset` of `length` bytes.
    fn managed(&self, offset: u64, length: u64, cache: &Cache, geo: Geometry, checked: &mut Checked) -> Parse<Vec<u8>> {
        if self.filtered {
            return unsupported(HEADER, self.address, "filtered (compressed) fractal heap blocks");
        }
        let Some(root) = self.root else {
            return bad(HEAP_ID, self.address, format!("object at heap offset {offset}, but the heap is empty"));
        };
        if length == 0 || length > self.max_direct {
            return bad(HEAP_ID, self.address, format!("object length {length}"));
        }
        let (mut block, mut block_off, mut rows) = (root, 0u64, self.root_rows);
        // Each indirect level has fewer rows than its parent, so this loop ends.
        while rows > 0 {
            let (row, col) = self.lookup(offset - block_off);
            if row >= rows || col >= self.width {
                return bad(INDIRECT, block, format!("heap offset {offset} is outside this block ({rows} rows)"));
            }
            let entry = self.indirect_entry(block, block_off, rows, row * self.width + col, cache, geo, checked)?;
            let Some(child) = entry else {
                return bad(INDIRECT, block, format!("heap offset {offset} lies in an unallocated block"));
            };
            block_off += self.row_offset(row) + col * self.row_block_size(row);
            if row < self.max_direct_rows {
                let size = self.row_block_size(row);
                return self.direct(child, block_off, size, offset, length, cache, geo, checked);
            }
            // A child indirect block spans one entry of this row: as many rows as that takes.
            let Some(bits) = self.row_block_size(row).trailing_zeros().checked_sub(self.first_row_bits) else {
                return bad(INDIRECT, block, format!("row {row} is too small to hold an indirect block"));
            };
            rows = u64::from(bits) + 1;
            block = child;
        }
        self.direct(block, 0, self.start_block, offset, length, cache, geo, checked)
    }

    /// Entry `index` of the indirect block at `addr` (checksum verified).
    #[allow(clippy::too_many_arguments)]
    fn indirect_entry(
        &self,
        addr: u64,
        block_off: u64,
        rows: u64,
        index: u64,
        cache: &Cache,
        geo: Geometry,
        checked: &mut Checked,
    ) -> Parse<Option<u64>> {
        let so = u64::from(geo.sizeof_offsets);
        let prefix = 4 + 1 + so + self.offset_size as u64;
        let entries = rows * self.width;
        let len = prefix + entries * so + 4;
        if len > geo.eof {
            return bad(INDIRECT, addr, format!("{entries} entries cannot fit in the file"));
        }
        let mut c = cache.cursor(INDIRECT, addr, len, geo)?;
        let body = (len - 4) as usize;
        let buf = c.buffer();
        if !checked.contains(&addr) {
            let stored = u32::from_le_bytes([buf[body], buf[body + 1], buf[body + 2], buf[body + 3]]);
            if lookup3(&buf[..body]) != stored {
                return bad(INDIRECT, addr, "checksum mismatch");
            }
            checked.insert(addr);
        }
        c.signature(b"FHIB")?;
        self.check_owner(&mut c, block_off)?;
        c.skip((index * so) as usize)?;
        c.address()
    }

    /// Version, owning heap and block offset of a block.
    fn check_owner(&self, c: &mut Cursor<'_>, block_off: u64) -> Parse<()> {
        let version = c.u8()?;
        let owner = c.address()?;
        let off = c.uint(self.offset_size)?;
        if version != 0 || owner != Some(self.address) || off != block_off {
            return c.fail(format!(
                "version {version}, heap {owner:?}, block offset {off} do not match heap {} offset {block_off}",
                self.address
            ));
        }
        Ok(())
    }

    /// The object at heap `offset` in the direct block at `addr` covering `[block_off, +size)`.
    #[allow(clippy::too_many_arguments)]
    fn direct(
        &self,
        addr: u64,
        block_off: u64,
        size: u64,
        offset: u64,
        length: u64,
        cache: &Cache,
        geo: Geometry,
        checked: &mut Checked,
    ) -> Parse<Vec<u8>> {
        let overhead = 4 + 1 + u64::from(geo.sizeof_offsets) + self.offset_size as u64;
        let checksummed = if self.checksum_direct { 4 } else { 0 };
        let within = offset - block_off;
        if within < overhead + checksummed || within.saturating_add(length) > size {
            return bad(DIRECT, addr, format!("object of {length} bytes at {within} does not fit the {size}-byte block"));
        }
        let mut c = cache.cursor(DIRECT, addr, size, geo)?;
        c.signature(b"FHDB")?;
        self.check_owner(&mut c, block_off)?;
        let buf = c.buffer();
        if self.checksum_direct && !checked.contains(&addr) {
            // The checksum covers the whole block with the checksum field zeroed.
            let at = overhead as usize;
            let stored = u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
            let mut copy = buf.to_vec();
            copy[at..at + 4].fill(0);
            if lookup3(&copy) != stored {
                return bad(DIRECT, addr, "checksum mismatch");
            }
            checked.insert(addr);
        }
        Ok(buf[within as usize..(within + length) as usize].to_vec())
    }
}
