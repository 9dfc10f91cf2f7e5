//! The breadth-first metadata walk.
//!
//! Work items (an object header, a B-tree node, a heap, an index page) run as pure steps over
//! the [`Cache`]. A step that lacks bytes is parked with the range it needs; when nothing else
//! can run, every parked range is fetched in one [`ByteSource::get_ranges`] call (one round trip,
//! coalesced) and the parked steps run again. All nodes of one level of every tree are thus
//! fetched together: round trips follow the depth of the metadata, not the number of nodes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use super::cache::Cache;
use super::chunk_index::{self, ChunkIndexSpec, IndexWork};
use super::cursor::{Cursor, Geometry};
use super::dense::{self, DenseWork};
use super::error::{Fault, Hdf5Error, Parse};
use super::local_heap::{self, LocalHeap};
use super::messages::attribute;
use super::messages::link::{self, Link, LinkDest};
use super::object::{self, CacheResolver, Object};
use super::superblock::{self, Superblock};
use super::symbol_table;
use crate::manifest::{
    ArrayMeta, Attribute, ChunkRef, GranuleManifest, GroupMeta, LinkMeta, LinkTarget, Problem, SourceKind,
};
use crate::source::ByteSource;

/// How the walk reads.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Bytes read from the start of the file in the first request (superblock, root group and
    /// often much more: libhdf5 writes early metadata first).
    pub head_bytes: u64,
    /// A missing range is widened to at least this many bytes (headers are small and neighbours
    /// are likely needed next).
    pub min_fetch: u64,
    /// Missing ranges closer than this are fetched as one (the bytes between are kept too, so
    /// nothing fetched is thrown away).
    pub coalesce_gap: u64,
    /// Bound on round trips (a hostile file cannot make the walk run forever).
    pub max_rounds: u32,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { head_bytes: 64 * 1024, min_fetch: 8 * 1024, coalesce_gap: 16 * 1024, max_rounds: 1000 }
    }
}

enum Work {
    Object { path: String, addr: u64 },
    SymbolTable { group: String, btree: u64, heap: u64 },
    GroupNode { group: String, node: u64, heap: LocalHeap, snod: bool },
    Dense { owner: String, links: bool, work: DenseWork },
    Index { path: String, spec: Arc<ChunkIndexSpec>, work: IndexWork },
}

impl Work {
    /// The object a failure of this step is reported against.
    fn owner(&self) -> &str {
        match self {
            Work::Object { path, .. } | Work::Index { path, .. } => path,
            Work::SymbolTable { group, .. } | Work::GroupNode { group, .. } => group,
            Work::Dense { owner, .. } => owner,
        }
    }
}

enum Effect {
    Object { path: String, addr: u64, object: Object },
    Links { group: String, links: Vec<Link>, more: Vec<Work> },
    Attributes { owner: String, attributes: Vec<Attribute>, more: Vec<Work> },
    /// An index step ran; its chunks are already in the array's list.
    Index { more: Vec<Work> },
    /// An index step found chunks while an earlier step of the same index waits for bytes:
    /// it runs again after the fetch, so that chunks arrive in index order (see `index_step`).
    Deferred,
}

struct Walker {
    file: String,
    cache: Cache,
    geo: Geometry,
    visited: HashMap<u64, String>,
    seen_nodes: HashSet<u64>,
    broken_indexes: HashSet<String>,
    groups: BTreeMap<String, GroupMeta>,
    arrays: BTreeMap<String, ArrayMeta>,
    links: Vec<LinkMeta>,
    problems: Vec<Problem>,
    steps_left: u64,
    /// Chunk records still to reserve ahead of the index walks (see `apply_object`).
    reserve_left: u64,
    /// Where the chunks of a broken index go (and are dropped).
    discard: Vec<ChunkRef>,
    /// Per array path, the checks of its chunk records so far.
    surveys: HashMap<String, ChunkSurvey>,
}

fn child_path(group: &str, name: &str) -> String {
    if group == "/" {
        format!("/{name}")
    } else {
        format!("{group}/{name}")
    }
}

impl Walker {
    /// Run one step. `waiting`: arrays with an index step parked in this round.
    fn compute(&mut self, work: &Work, waiting: &HashSet<String>) -> Parse<Effect> {
        if let Work::Index { path, spec, work } = work {
            return self.index_step(path, spec, work, waiting.contains(path));
        }
        let cache = &self.cache;
        let geo = self.geo;
        Ok(match work {
            Work::Object { path, addr } => {
                Effect::Object { path: path.clone(), addr: *addr, object: object::read(cache, *addr, geo, path)? }
            }
            Work::SymbolTable { group, btree, heap } => {
                let heap = local_heap::read(cache, *heap, geo)?;
                let more = vec![Work::GroupNode { group: group.clone(), node: *btree, heap, snod: false }];
                Effect::Links { group: group.clone(), links: Vec::new(), more }
            }
            Work::GroupNode { group, node, heap, snod } => {
                let step = if *snod {
                    symbol_table::snod(cache, *node, heap, geo)?
                } else {
                    symbol_table::btree_node(cache, *node, geo)?
                };
                let more = step
                    .more
                    .into_iter()
                    .map(|(node, snod)| Work::GroupNode { group: group.clone(), node, heap: *heap, snod })
                    .collect();
                Effect::Links { group: group.clone(), links: step.links, more }
            }
            Work::Dense { owner, links, work } => {
                let step = dense::step(work, cache, geo)?;
                let more = step
                    .more
                    .into_iter()
                    .map(|work| Work::Dense { owner: owner.clone(), links: *links, work })
                    .collect();
                let at = 0;
                if *links {
                    let found = step
                        .messages
                        .iter()
                        .map(|m| link::parse_link(Cursor::new(m, at, "dense link message", geo)))
                        .collect::<Parse<_>>()?;
                    Effect::Links { group: owner.clone(), links: found, more }
                } else {
                    let resolver = CacheResolver { cache, geo };
                    let attributes = step
                        .messages
                        .iter()
                        .map(|m| attribute::parse(Cursor::new(m, at, "dense attribute message", geo), &resolver))
                        .collect::<Parse<_>>()?;
                    Effect::Attributes { owner: owner.clone(), attributes, more }
                }
            }
            Work::Index { .. } => unreachable!("index steps run in index_step"),
        })
    }

    /// One index step, its chunks appended straight to the array's list (no per-node vector
    /// copied a million records through, no sort afterwards).
    ///
    /// Chunks must come out in index order. Work is a stack, so a node's children run in
    /// order, but a node whose bytes are already cached runs before an earlier sibling that
    /// waits for a fetch. A step that yields chunks and no further work (a B-tree leaf, an
    /// array page) is therefore deferred while an earlier step of the same index is parked:
    /// its bytes are held, so it costs no round trip, and it runs after the fetch in order.
    fn index_step(&mut self, path: &str, spec: &Arc<ChunkIndexSpec>, work: &IndexWork, defer: bool) -> Parse<Effect> {
        let Walker { cache, geo, arrays, broken_indexes, discard, surveys, .. } = self;
        let out = match arrays.get_mut(path) {
            Some(a) if !broken_indexes.contains(path) => &mut a.chunks,
            _ => {
                discard.clear();
                discard
            }
        };
        let before = out.len();
        match chunk_index::step_into(spec, work, cache, *geo, out) {
            Ok(more) if defer && more.is_empty() && out.len() > before => {
                out.truncate(before);
                Ok(Effect::Deferred)
            }
            Ok(more) => {
                if let Some(a) = arrays.get(path).filter(|_| !broken_indexes.contains(path)) {
                    // Checked now, while the new records are still in the CPU cache.
                    match surveys.get_mut(path) {
                        Some(s) => s.extend(&a.chunks, cache.eof()),
                        None => {
                            let mut s = ChunkSurvey::new(a);
                            s.extend(&a.chunks, cache.eof());
                            surveys.insert(path.to_string(), s);
                        }
                    }
                }
                // Reversed: the stack pops the first child first.
                let more = more
                    .into_iter()
                    .rev()
                    .map(|work| Work::Index { path: path.to_string(), spec: Arc::clone(spec), work })
                    .collect();
                Ok(Effect::Index { more })
            }
            Err(fault) => {
                out.truncate(before);
                Err(fault)
            }
        }
    }

    fn apply(&mut self, effect: Effect) -> Vec<Work> {
        match effect {
            Effect::Object { path, addr, object } => {
                if let Some(first) = self.visited.get(&addr) {
                    self.links.push(LinkMeta { path, target: LinkTarget::Hard { target: first.clone() } });
                    return Vec::new();
                }
                self.visited.insert(addr, path.clone());
                self.apply_object(path, object)
            }
            Effect::Links { group, links, more } => {
                let mut work = more;
                work.extend(self.follow(&group, links));
                work
            }
            Effect::Attributes { owner, attributes, more } => {
                if let Some(a) = self.arrays.get_mut(&owner) {
                    a.attributes.extend(attributes);
                } else if let Some(g) = self.groups.get_mut(&owner) {
                    g.attributes.extend(attributes);
                }
                more
            }
            Effect::Index { more } => more,
            Effect::Deferred => Vec::new(),
        }
    }

    fn apply_object(&mut self, path: String, object: Object) -> Vec<Work> {
        let mut work = Vec::new();
        match object {
            Object::Group(g) => {
                if let Some((btree, heap)) = g.symbol_table {
                    work.push(Work::SymbolTable { group: path.clone(), btree, heap });
                }
                if let Some(d) = g.dense_links {
                    work.push(Work::Dense { owner: path.clone(), links: true, work: dense::start(d) });
                }
                if let Some(d) = g.dense_attributes {
                    work.push(Work::Dense { owner: path.clone(), links: false, work: dense::start(d) });
                }
                self.groups.insert(path.clone(), GroupMeta { path: path.clone(), attributes: g.attributes });
                work.extend(self.follow(&path, g.links));
            }
            Object::Dataset(ds) => {
                let mut meta = ds.meta;
                if let Some(spec) = ds.index {
                    let first = chunk_index::start(&spec);
                    meta.chunks = first.chunks;
                    // Room for every chunk of the grid up front (no regrowing a million-entry
                    // list), from a budget shared by all datasets (sparse grids and hostile
                    // shapes cannot make this allocate much).
                    let grid = spec.grid().iter().try_fold(1u64, |n, &g| n.checked_mul(g)).unwrap_or(u64::MAX);
                    let room = grid.saturating_sub(meta.chunks.len() as u64).min(self.reserve_left);
                    self.reserve_left -= room;
                    meta.chunks.reserve(usize::try_from(room).unwrap_or(0));
                    let spec = Arc::new(spec);
                    work.extend(first.more.into_iter().map(|w| Work::Index { path: path.clone(), spec: spec.clone(), work: w }));
                }
                if let Some(d) = ds.dense_attributes {
                    work.push(Work::Dense { owner: path.clone(), links: false, work: dense::start(d) });
                }
                if let Some(reason) = &meta.unsupported {
                    self.problems.push(Problem { path: path.clone(), reason: reason.clone() });
                }
                self.arrays.insert(path, meta);
            }
            Object::Datatype => {}
        }
        work
    }

    fn follow(&mut self, group: &str, links: Vec<Link>) -> Vec<Work> {
        let mut work = Vec::new();
        for l in links {
            let path = child_path(group, &l.name);
            match l.dest {
                LinkDest::Hard(addr) => work.push(Work::Object { path, addr }),
                LinkDest::Soft(target) => self.links.push(LinkMeta { path, target: LinkTarget::Soft { target } }),
                LinkDest::External { file, path: target } => {
                    self.links.push(LinkMeta { path, target: LinkTarget::External { file, target } })
                }
                LinkDest::Other(t) => {
                    self.problems.push(Problem { path, reason: format!("user-defined link type {t} not followed") })
                }
            }
        }
        work
    }

    /// A step failed for good: record it against its object and carry on with the rest.
    fn fail(&mut self, work: &Work, fault: Fault) {
        let reason = fault.describe();
        if let Work::Index { path, .. } = work {
            self.broken_indexes.insert(path.clone());
            self.surveys.remove(path);
            if let Some(a) = self.arrays.get_mut(path) {
                a.chunks.clear();
                a.unsupported.get_or_insert_with(|| format!("chunk index unreadable: {reason}"));
            }
        }
        self.problems.push(Problem { path: work.owner().to_string(), reason });
    }

    /// The tree node a step reads, for steps that may be reached twice through a corrupt
    /// tree pointing back into itself.
    fn node(work: &Work) -> Option<u64> {
        match work {
            Work::GroupNode { node, .. } => Some(*node),
            Work::Index { work: IndexWork::BtreeV1Node(n), .. } => Some(*n),
            _ => None,
        }
    }
}

/// Read an HDF5 file's metadata into a manifest.
///
/// Per-object failures (an unreadable dataset, an unsupported feature) are listed in
/// [`GranuleManifest::problems`] and the rest of the file is still read.
///
/// # Errors
/// When the file cannot be fetched, is not HDF5, or its superblock is unreadable.
pub async fn read_manifest(source: &dyn ByteSource, opts: &ReadOptions) -> Result<GranuleManifest, Hdf5Error> {
    let file = source.to_string();
    let eof = source.size().await?;
    let mut cache = Cache::new(eof);
    let head = opts.head_bytes.min(eof);
    if head > 0 {
        let bytes = source.get_ranges(&[0..head]).await?;
        cache.insert(0, bytes.into_iter().next().unwrap_or_default());
    }
    let mut rounds = 0;
    let sb: Superblock = loop {
        match superblock::locate(&cache) {
            Ok(Some(sb)) => break sb,
            Ok(None) => return Err(Hdf5Error::NotHdf5 { file }),
            Err(Fault::Need(r)) => {
                rounds += 1;
                if rounds > opts.max_rounds {
                    return Err(Fault::Need(r).into_error(&file));
                }
                fetch(source, &mut cache, &[r], opts).await?;
            }
            Err(f) => return Err(f.into_error(&file)),
        }
    };
    // libhdf5 writes the end-of-file address as the whole file's size, user block included,
    // although other addresses are relative to the superblock: compare the stored value.
    if let Some(end) = sb.end_of_file.map(|e| e - sb.geo.base_address).filter(|&end| end > eof) {
        return Err(Hdf5Error::Format {
            file,
            structure: "superblock",
            address: sb.geo.base_address,
            detail: format!("file is truncated: the superblock records {end} bytes, the file has {eof}"),
        });
    }
    let mut w = Walker {
        file,
        cache,
        geo: sb.geo,
        visited: HashMap::new(),
        seen_nodes: HashSet::new(),
        broken_indexes: HashSet::new(),
        groups: BTreeMap::new(),
        arrays: BTreeMap::new(),
        links: Vec::new(),
        problems: Vec::new(),
        // Every structure takes at least 16 bytes: a file cannot hold more steps than this.
        steps_left: 1024 + eof / 16,
        // A v1 B-tree entry takes at least 32 bytes; at most 4 Mi records (256 MB).
        reserve_left: (eof / 32).min(1 << 22),
        discard: Vec::new(),
        surveys: HashMap::new(),
    };
    let mut pending = vec![Work::Object { path: "/".to_string(), addr: sb.root }];
    // Parked work with the range it needs; `None`: deferred, its bytes are held (see
    // `Walker::index_step`).
    let mut parked: Vec<(Work, Option<Range<u64>>)> = Vec::new();
    // Arrays with an index step parked in this round.
    let mut waiting: HashSet<String> = HashSet::new();
    loop {
        while let Some(work) = pending.pop() {
            let node = Walker::node(&work);
            if node.is_some_and(|n| w.seen_nodes.contains(&n)) {
                continue;
            }
            match w.compute(&work, &waiting) {
                Ok(Effect::Deferred) => parked.push((work, None)),
                Ok(effect) => {
                    w.seen_nodes.extend(node);
                    if w.steps_left == 0 {
                        let reason = "too many metadata structures for the file size (corrupt links?)".to_string();
                        w.problems.push(Problem { path: "/".to_string(), reason });
                        pending.clear();
                        parked.clear();
                        break;
                    }
                    w.steps_left -= 1;
                    pending.extend(w.apply(effect));
                }
                Err(Fault::Need(r)) => {
                    if let Work::Index { path, .. } = &work {
                        waiting.insert(path.clone());
                    }
                    parked.push((work, Some(r)));
                }
                Err(fault) => w.fail(&work, fault),
            }
        }
        if parked.is_empty() {
            break;
        }
        rounds += 1;
        if rounds > opts.max_rounds {
            // Deferred steps are dropped: the parked step they wait behind fails their index.
            for (work, r) in std::mem::take(&mut parked) {
                if let Some(r) = r {
                    w.fail(&work, Fault::Need(r));
                }
            }
            break;
        }
        waiting.clear();
        let needs: Vec<Range<u64>> = parked.iter().filter_map(|(_, r)| r.clone()).collect();
        fetch(source, &mut w.cache, &needs, opts).await?;
        // Index nodes go back on the stack reversed (so they run in index order, see
        // `apply`); other work keeps its order (dense attributes are listed in step order).
        let mut index_work = Vec::new();
        for (work, r) in parked.drain(..) {
            if let Some(r) = r.filter(|r| !w.cache.has(r.start, r.end - r.start)) {
                w.fail(&work, Fault::Need(r));
            } else if matches!(work, Work::Index { .. }) {
                index_work.push(work);
            } else {
                pending.push(work);
            }
        }
        pending.extend(index_work.into_iter().rev());
    }
    Ok(finish(w, eof))
}

/// Fetch the needed ranges into the cache: each widened to `min_fetch` (neighbouring metadata
/// is likely needed next), clipped to the file, minus what the cache already holds.
async fn fetch(source: &dyn ByteSource, cache: &mut Cache, needs: &[Range<u64>], opts: &ReadOptions) -> Result<(), Hdf5Error> {
    let eof = cache.eof();
    let mut ranges: Vec<Range<u64>> = needs
        .iter()
        .flat_map(|r| cache.missing(r.start..r.end.max(r.start.saturating_add(opts.min_fetch)).min(eof)))
        .collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let (kept, _) = crate::source::coalesce(&ranges, opts.coalesce_gap);
    // A range that continues a smaller held block re-reads it: the cache then keeps the new
    // buffer as it is, where appending it to the held block copied every new byte (the whole
    // file, for a million-chunk B-tree whose last level is one coalesced range).
    let mut widened: Vec<Range<u64>> = Vec::with_capacity(kept.len());
    for mut r in kept {
        while let Some(below) = cache.held_below(r.start).filter(|b| b.end - b.start <= r.end - r.start) {
            r.start = below.start;
        }
        match widened.last_mut() {
            Some(last) if last.end >= r.start => last.end = last.end.max(r.end),
            _ => widened.push(r),
        }
    }
    let kept = widened;
    let bytes = source.get_ranges(&kept).await?;
    for (r, b) in kept.iter().zip(bytes) {
        cache.insert(r.start, b);
    }
    Ok(())
}

fn finish(w: Walker, eof: u64) -> GranuleManifest {
    let paths: HashMap<u64, String> = w.visited.iter().map(|(a, p)| (*a, p.clone())).collect();
    let mut arrays: Vec<ArrayMeta> = w.arrays.into_values().collect();
    let mut problems = w.problems;
    let mut surveys = w.surveys;
    for a in &mut arrays {
        // Whether the chunk records need sorting or pruning, which they normally do not.
        let mut survey = surveys.remove(&a.path).unwrap_or_else(|| ChunkSurvey::new(a));
        survey.extend(&a.chunks, eof);
        if !survey.sorted {
            order_chunks(&mut a.chunks);
        }
        a.dimensions = dimension_scales(a, &paths);
        if let Some(p) = (!survey.all_possible).then(|| drop_impossible_chunks(a, eof)).flatten() {
            problems.push(p);
        }
    }
    GranuleManifest {
        url: w.file,
        size: eof,
        source: SourceKind::Hdf5,
        groups: w.groups.into_values().collect(),
        arrays,
        links: w.links,
        problems,
    }
}

/// Sort chunks by grid position. B-tree walks yield them in order (see `Walker::index_step`),
/// so `finish` sorts only when a `ChunkSurvey` finds them out of order (corrupt trees; the
/// stable sort merges natural runs in about linear time).
fn order_chunks(chunks: &mut [ChunkRef]) {
    chunks.sort_by(|x, y| x.coords.cmp(&y.coords));
}

/// Whether a chunk lies inside the file and inside the chunk grid.
fn possible(c: &ChunkRef, eof: u64, grid: &[u64]) -> bool {
    c.offset.checked_add(c.length).is_some_and(|end| end <= eof)
        && c.coords.len() == grid.len()
        && c.coords.iter().zip(grid).all(|(i, n)| i < n)
}

/// Whether an array's chunk records are sorted by coordinates and all possible. Index steps
/// extend it as they append records, so a million-chunk list (64 MB, memory-bound) is not read
/// a second time at the end.
struct ChunkSurvey {
    /// Records checked so far.
    checked: usize,
    sorted: bool,
    all_possible: bool,
    grid: Vec<u64>,
}

impl ChunkSurvey {
    fn new(a: &ArrayMeta) -> ChunkSurvey {
        ChunkSurvey { checked: 0, sorted: true, all_possible: true, grid: a.grid_shape() }
    }

    /// Check the records appended since the last call.
    fn extend(&mut self, chunks: &[ChunkRef], eof: u64) {
        let start = self.checked.min(chunks.len());
        let mut prev = start.checked_sub(1).map(|i| &chunks[i]);
        for c in &chunks[start..] {
            self.sorted &= prev.is_none_or(|p| p.coords <= c.coords);
            self.all_possible &= possible(c, eof, &self.grid);
            prev = Some(c);
        }
        self.checked = chunks.len();
    }
}

/// Remove chunks a corrupt index points to outside the file or outside the chunk grid (a
/// reader would fetch garbage or write out of bounds), and say so.
fn drop_impossible_chunks(a: &mut ArrayMeta, eof: u64) -> Option<Problem> {
    let grid = a.grid_shape();
    let possible = |c: &ChunkRef| possible(c, eof, &grid);
    let first_bad = a.chunks.iter().find(|c| !possible(c))?.clone();
    let before = a.chunks.len();
    a.chunks.retain(possible);
    Some(Problem {
        path: a.path.clone(),
        reason: format!(
            "{} chunk(s) outside the file or the chunk grid {:?} dropped (first: {:?} at byte {} + {})",
            before - a.chunks.len(),
            grid,
            first_bad.coords,
            first_bad.offset,
            first_bad.length
        ),
    })
}

/// Per dimension, the path of the dimension scale named by the `DIMENSION_LIST` attribute
/// (a list, per dimension, of object references decoded as addresses).
fn dimension_scales(a: &ArrayMeta, paths: &HashMap<u64, String>) -> Vec<Option<String>> {
    let Some(list) = a.attributes.iter().find(|at| at.name == "DIMENSION_LIST") else {
        return Vec::new();
    };
    let Some(dims) = list.value.as_array() else { return Vec::new() };
    dims.iter()
        .map(|refs| {
            refs.as_array()
                .and_then(|r| r.first())
                .and_then(serde_json::Value::as_u64)
                .and_then(|addr| paths.get(&addr).cloned())
        })
        .collect()
}

/// Read a manifest from a file held in memory, synchronously (fuzzing, tests, small files).
///
/// # Errors
/// As [`read_manifest`].
pub fn read_manifest_bytes(bytes: bytes::Bytes, name: &str) -> Result<GranuleManifest, Hdf5Error> {
    let source = crate::source::MemorySource::new(name, bytes);
    // The in-memory source never waits, so a minimal executor is enough.
    futures::executor::block_on(read_manifest(&source, &ReadOptions::default()))
}
