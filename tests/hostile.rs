//! Robustness of the native HDF5 reader against damaged files: truncations, bit flips in the
//! metadata, zeroed and all-ones spans, swapped and redirected address fields. Every case must
//! finish within 10 s without a panic, an error must name the file, and a manifest that is
//! returned must not list chunks past the end of the file or outside the chunk grid. A counting allocator
//! checks that no single allocation exceeds the file size + 16 MiB (lengths and counts read from
//! a file must be checked before allocating).
//!
//! Inputs: a few generated fixtures (tests/fixtures_gen) and some real files from
//! `../shared/fixtures/real/hdf5` (skipped with a notice when absent). Mutations come from a
//! fixed-seed xorshift, so every failure is reproducible: the report names file, mutation and seed.
//! `VZ_HOSTILE_SCALE=4` multiplies the number of cases per file.

#[path = "fixtures_gen/mod.rs"]
mod fixtures_gen;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Allocation tracking: the largest single allocation of the current thread.
// ---------------------------------------------------------------------------------------------

struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|m| {
        if size > m.get() {
            m.set(size);
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

// ---------------------------------------------------------------------------------------------
// Inputs and their metadata map
// ---------------------------------------------------------------------------------------------

struct Input {
    name: String,
    bytes: Vec<u8>,
    /// Byte positions outside raw data (where structure lives); mutations aim here.
    meta: Vec<usize>,
}

const SIGNATURES: [&[u8; 4]; 20] = [
    b"TREE", b"HEAP", b"SNOD", b"OHDR", b"OCHK", b"FRHP", b"FHDB", b"FHIB", b"BTHD", b"BTIN", b"BTLF", b"FAHD",
    b"FADB", b"EAHD", b"EAIB", b"EASB", b"EADB", b"GCOL", b"SMTB", b"SMLI",
];

/// Positions not covered by any raw-data range.
fn meta_positions(size: usize, raw: &[(u64, u64)]) -> Vec<usize> {
    let mut is_raw = vec![false; size];
    for &(off, len) in raw {
        let start = (off as usize).min(size);
        let end = (off.saturating_add(len) as usize).min(size);
        is_raw[start..end].iter_mut().for_each(|b| *b = true);
    }
    (0..size).filter(|&i| !is_raw[i]).collect()
}

/// Raw-data ranges of a generated file, from libhdf5.
fn raw_ranges_libhdf5(path: &Path) -> Vec<(u64, u64)> {
    let Ok(listing) = fixtures_gen::listing::list_file(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ds in &listing.datasets {
        out.extend(ds.chunks.iter().map(|c| (c.addr, c.size)));
        if let Some((addr, size)) = ds.contiguous {
            if size > 0 {
                out.push((addr, size));
            }
        }
    }
    out
}

/// Raw-data ranges of a real file, from its reference manifest (libhdf5 via h5py). Real files
/// are not opened with the linked libhdf5: a damaged one must not crash this test binary.
fn raw_ranges_reference(json_path: &Path) -> Vec<(u64, u64)> {
    let Ok(text) = std::fs::read_to_string(json_path) else {
        return Vec::new();
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ds in doc["datasets"].as_array().into_iter().flatten() {
        for c in ds["chunks"].as_array().into_iter().flatten() {
            if let (Some(off), Some(len)) = (c[1].as_u64(), c[2].as_u64()) {
                out.push((off, len));
            }
        }
        if let (Some(off), Some(len)) = (ds["contiguous"]["offset"].as_u64(), ds["contiguous"]["size"].as_u64()) {
            out.push((off, len));
        }
    }
    out
}

fn real_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real"))
}

/// Small real files covering old and new format features.
const REAL: [&str; 13] = [
    "tsizeslheap.h5",
    "group_old.h5",
    "fill_old.h5",
    "btree_idx_1_8.h5",
    "test_userblock_latest.hdf5",
    "hdf5_mali_chunk2.h5",
    "implicit_index_datasets.hdf5",
    "filter_pipeline_v2.hdf5",
    "new_style_groups.hdf5",
    "superblock-extension.hdf5",
    "test_attribute_latest.hdf5",
    "tall.h5",
    "btreev2.hdf5",
];

/// Generated fixtures used as inputs.
const GENERATED: [&str; 8] = [
    "earliest.h5",
    "v18.h5",
    "v110.h5",
    "latest.h5",
    "userblock1024.h5",
    "types.h5",
    "deep_earliest.h5",
    "deep_v110.h5",
];

fn inputs(generated: &[fixtures_gen::Fixture]) -> Vec<Input> {
    let mut out = Vec::new();
    for fx in generated.iter().filter(|f| GENERATED.contains(&f.name)) {
        let bytes = std::fs::read(&fx.path).expect("read fixture");
        let meta = meta_positions(bytes.len(), &raw_ranges_libhdf5(&fx.path));
        out.push(Input {
            name: format!("gen/{}", fx.name),
            bytes,
            meta,
        });
    }
    let dir = real_dir().join("hdf5");
    if !dir.is_dir() {
        println!("NOTICE: {} absent, real files skipped", dir.display());
        return out;
    }
    for name in REAL {
        let Ok(bytes) = std::fs::read(dir.join(name)) else {
            println!("NOTICE: {name} absent, skipped");
            continue;
        };
        let raw = raw_ranges_reference(&real_dir().join("reference_manifests/hdf5").join(format!("{name}.json")));
        let meta = meta_positions(bytes.len(), &raw);
        out.push(Input {
            name: format!("real/{name}"),
            bytes,
            meta,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

struct Case {
    label: String,
    bytes: Vec<u8>,
}

/// Offset of the superblock (user block size), where addresses are relative to.
fn base_address(bytes: &[u8]) -> usize {
    let sig = b"\x89HDF\r\n\x1a\n";
    let mut at = 0;
    while at + 8 <= bytes.len() {
        if &bytes[at..at + 8] == sig {
            return at;
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    0
}

/// Positions of 8-byte little-endian fields in the metadata that point at a signed structure:
/// almost surely real address fields.
fn address_fields(input: &Input) -> Vec<usize> {
    let b = &input.bytes;
    let base = base_address(b);
    let mut out = Vec::new();
    for &p in &input.meta {
        if p + 8 > b.len() {
            continue;
        }
        let v = u64::from_le_bytes(b[p..p + 8].try_into().expect("8 bytes"));
        let Some(target) = usize::try_from(v).ok().and_then(|v| v.checked_add(base)) else {
            continue;
        };
        if v == 0 || target >= b.len().saturating_sub(4) {
            continue;
        }
        let signed = SIGNATURES.iter().any(|s| &b[target..target + 4] == *s);
        // Version 1 object headers have no signature: version 1, reserved 0, a small message
        // count and reference count 1..=8.
        let v1_header = b[target] == 1
            && b[target + 1] == 0
            && u16::from_le_bytes([b[target + 2], b[target + 3]]) < 64
            && target + 8 <= b.len()
            && (1..=8).contains(&u32::from_le_bytes(
                b[target + 4..target + 8].try_into().expect("4 bytes"),
            ));
        if signed || v1_header {
            out.push(p);
        }
    }
    out
}

fn mutations(input: &Input, seed: u64, scale: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let size = input.bytes.len();
    let meta = if input.meta.is_empty() {
        (0..size).collect()
    } else {
        input.meta.clone()
    };
    let addrs = address_fields(input);
    let mut cases = Vec::new();
    let mut push = |label: String, bytes: Vec<u8>| cases.push(Case { label, bytes });

    // Truncations: fixed small lengths, then cut points inside the metadata.
    let base = base_address(&input.bytes);
    let mut cuts: Vec<usize> = vec![0, 1, 8, base + 8, base + 40, base + 100, size.saturating_sub(1)];
    for _ in 0..12 * scale {
        cuts.push(meta[rng.below(meta.len())]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts.into_iter().filter(|&c| c < size) {
        push(format!("truncate to {cut}"), input.bytes[..cut].to_vec());
    }
    // Single bit flips.
    for _ in 0..16 * scale {
        let p = meta[rng.below(meta.len())];
        let bit = rng.below(8);
        let mut b = input.bytes.clone();
        b[p] ^= 1 << bit;
        push(format!("flip bit {bit} of byte {p}"), b);
    }
    // Several bit flips at once.
    for _ in 0..8 * scale {
        let n = 2 + rng.below(15);
        let mut b = input.bytes.clone();
        let mut at = Vec::new();
        for _ in 0..n {
            let p = meta[rng.below(meta.len())];
            b[p] ^= 1 << rng.below(8);
            at.push(p);
        }
        push(format!("flip {n} bits at {at:?}"), b);
    }
    // Zeroed and all-ones spans.
    for (count, len, value) in [(6, 8, 0u8), (3, 64, 0u8), (3, 8, 0xFFu8)] {
        for _ in 0..count * scale {
            let p = meta[rng.below(meta.len())];
            let mut b = input.bytes.clone();
            let end = (p + len).min(size);
            b[p..end].iter_mut().for_each(|x| *x = value);
            push(format!("set bytes {p}..{end} to {value:#04x}"), b);
        }
    }
    // Address fields: swapped pairs, one redirected to another's target (cycles, duplicates),
    // pointed past the end of the file.
    for _ in 0..6 * scale {
        let (Some(i), Some(j)) = (rng.pick(&addrs), rng.pick(&addrs)) else {
            break;
        };
        let mut b = input.bytes.clone();
        for k in 0..8 {
            b.swap(i + k, j + k);
        }
        push(format!("swap address fields at {i} and {j}"), b);
    }
    for _ in 0..6 * scale {
        let (Some(i), Some(j)) = (rng.pick(&addrs), rng.pick(&addrs)) else {
            break;
        };
        let mut b = input.bytes.clone();
        let v: [u8; 8] = input.bytes[j..j + 8].try_into().expect("8 bytes");
        b[i..i + 8].copy_from_slice(&v);
        push(format!("redirect address field at {i} to the target of {j}"), b);
    }
    // Self-loops: an address field pointed back at the signed structure that holds it (a B-tree
    // node whose child is itself, a heap block listing itself): the walk must not spin.
    for _ in 0..4 * scale {
        let Some(i) = rng.pick(&addrs) else { break };
        let Some(owner) = (0..=i.saturating_sub(4))
            .rev()
            .take(8192)
            .find(|&p| SIGNATURES.iter().any(|sig| input.bytes.get(p..p + 4) == Some(&sig[..])))
        else {
            continue;
        };
        let Some(v) = owner.checked_sub(base) else { continue };
        let mut b = input.bytes.clone();
        b[i..i + 8].copy_from_slice(&(v as u64).to_le_bytes());
        push(format!("address field at {i} pointed at its own structure at {owner}"), b);
    }
    for _ in 0..2 * scale {
        let Some(i) = rng.pick(&addrs) else { break };
        let mut b = input.bytes.clone();
        let v = [size as u64 + 8, 1 << 40, u64::MAX - 7][rng.below(3)];
        b[i..i + 8].copy_from_slice(&v.to_le_bytes());
        push(format!("address field at {i} set to {v}"), b);
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Running one case
// ---------------------------------------------------------------------------------------------

enum Outcome {
    Ok(Box<vz::manifest::GranuleManifest>),
    Err(String),
    Panic(String),
    Hang,
}

/// Read a file in its own thread (own runtime): a panic is caught at join, an async hang by
/// `tokio::time::timeout`, a busy loop by the receive timeout. Returns the outcome and the
/// largest single allocation the reader's thread made.
fn run_case(path: &Path) -> (Outcome, usize) {
    let (tx, rx) = mpsc::channel();
    let location = path.display().to_string();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        LARGEST.with(|m| m.set(0));
        let result = rt.block_on(async {
            let source = vz::source::ObjectSource::open(&location, &Default::default());
            let source = match source {
                Ok(s) => s,
                Err(e) => return Some(Err(e.to_string())),
            };
            let opts = vz::hdf5::ReadOptions::default();
            let read = vz::hdf5::read_manifest(&source, &opts);
            match tokio::time::timeout(Duration::from_secs(10), read).await {
                Ok(Ok(man)) => Some(Ok(man)),
                Ok(Err(e)) => Some(Err(e.to_string())),
                Err(_) => None,
            }
        });
        let largest = LARGEST.with(|m| m.get());
        let _ = tx.send((result, largest));
    });
    match rx.recv_timeout(Duration::from_secs(12)) {
        Ok((Some(Ok(man)), largest)) => {
            let _ = handle.join();
            (Outcome::Ok(Box::new(man)), largest)
        }
        Ok((Some(Err(e)), largest)) => {
            let _ = handle.join();
            (Outcome::Err(e), largest)
        }
        Ok((None, largest)) => (Outcome::Hang, largest),
        Err(mpsc::RecvTimeoutError::Timeout) => (Outcome::Hang, 0),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let msg = match handle.join() {
                Err(payload) => payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "non-string panic".into()),
                Ok(()) => "thread ended without a result".into(),
            };
            (Outcome::Panic(msg), 0)
        }
    }
}

/// A manifest without the fields that differ between two copies of a file (location, size).
fn normalized(mut man: vz::manifest::GranuleManifest) -> vz::manifest::GranuleManifest {
    man.url.clear();
    man.size = 0;
    man
}

#[test]
fn damaged_files_never_panic_hang_or_overallocate() {
    let scale: usize = std::env::var("VZ_HOSTILE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (_gen_dir, generated) = fixtures_gen::generate_temp();
    let work = tempfile::tempdir().expect("temp dir");
    let inputs = inputs(&generated);

    let (mut ok, mut err, mut total) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    let mut hangs = 0;
    let (mut past_eof_total, mut off_grid_total) = (0, 0);
    for (n, input) in inputs.iter().enumerate() {
        let seed = 0x5EED_0000 + n as u64;
        let cases = mutations(input, seed, scale);
        let (mut file_ok, mut file_err) = (0, 0);
        // What the undamaged file reads as: a damaged file read without problems but with a
        // different result is corruption that went unnoticed (reported, not failed: a flip in
        // an unchecksummed name or value is undetectable).
        let original = work.path().join(format!("original-{n}.h5"));
        std::fs::write(&original, &input.bytes).expect("write original");
        let baseline = match run_case(&original).0 {
            Outcome::Ok(man) => Some(normalized(*man)),
            _ => None,
        };
        let (mut same, mut flagged, mut silent) = (0, 0, Vec::new());
        let (mut beyond_eof, mut outside_grid) = (Vec::new(), Vec::new());
        for (k, case) in cases.iter().enumerate() {
            let path = work.path().join(format!("case-{n}-{k}.h5"));
            std::fs::write(&path, &case.bytes).expect("write case");
            let limit = case.bytes.len() + (16 << 20);
            let (outcome, largest) = run_case(&path);
            total += 1;
            let what = format!("{} [{}] (seed {seed:#x}, case {k})", input.name, case.label);
            match outcome {
                Outcome::Ok(man) => {
                    file_ok += 1;
                    let size = case.bytes.len() as u64;
                    let past_eof = man
                        .arrays
                        .iter()
                        .flat_map(|a| &a.chunks)
                        .any(|c| c.href.is_none() && c.offset.saturating_add(c.length) > size);
                    if past_eof {
                        beyond_eof.push(case.label.clone());
                        failures.push(format!("{what}: lists a chunk past the end of the file"));
                    }
                    let off_grid = man.arrays.iter().any(|a| {
                        let grid = a.grid_shape();
                        a.chunks
                            .iter()
                            .any(|c| c.coords.len() != grid.len() || c.coords.iter().zip(&grid).any(|(i, n)| i >= n))
                    });
                    if off_grid {
                        outside_grid.push(case.label.clone());
                        failures.push(format!("{what}: lists a chunk outside the chunk grid"));
                    }
                    let man = normalized(*man);
                    match &baseline {
                        Some(b) if *b == man => same += 1,
                        Some(b) if b.problems == man.problems => silent.push(case.label.clone()),
                        _ => flagged += 1,
                    }
                }
                Outcome::Err(e) => {
                    file_err += 1;
                    if !e.contains(&path.display().to_string()) {
                        failures.push(format!("{what}: error does not name the file: {e}"));
                    }
                }
                Outcome::Panic(msg) => failures.push(format!("{what}: PANIC: {msg}")),
                Outcome::Hang => {
                    hangs += 1;
                    failures.push(format!("{what}: HANG (no result within 10 s)"));
                }
            }
            if largest > limit {
                failures.push(format!("{what}: allocated {largest} bytes at once (limit {limit})"));
            }
            let _ = std::fs::remove_file(&path);
            if hangs >= 3 {
                break;
            }
        }
        println!(
            "{:<36} {:>4} cases: {:>4} rejected, {:>4} read ({:>4} new problems, {:>4} unchanged, {:>3} silently different); {} address fields",
            input.name,
            cases.len(),
            file_err,
            file_ok,
            flagged,
            same,
            silent.len(),
            address_fields(input).len()
        );
        for label in silent.iter().take(2) {
            println!("    silently different: {label}");
        }
        if !beyond_eof.is_empty() {
            println!(
                "    {} cases list chunks past the end of the file, e.g. {}",
                beyond_eof.len(),
                beyond_eof[0]
            );
            past_eof_total += beyond_eof.len();
        }
        if !outside_grid.is_empty() {
            println!(
                "    {} cases list chunks outside the chunk grid, e.g. {}",
                outside_grid.len(),
                outside_grid[0]
            );
            off_grid_total += outside_grid.len();
        }
        ok += file_ok;
        err += file_err;
        if hangs >= 3 {
            failures.push("stopped after 3 hangs".into());
            break;
        }
    }
    println!(
        "{} inputs, {total} cases: {ok} read, {err} rejected; read with chunks past EOF: {past_eof_total}, \
         with chunks outside the grid: {off_grid_total}; {} failures",
        inputs.len(),
        failures.len()
    );
    assert!(total >= 300, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The untouched inputs read without error (so the mutations start from valid files).
#[test]
fn undamaged_inputs_read() {
    let (_gen_dir, generated) = fixtures_gen::generate_temp();
    let work = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    let mut largest_seen = 0;
    for (n, input) in inputs(&generated).iter().enumerate() {
        let path = work.path().join(format!("input-{n}.h5"));
        std::fs::write(&path, &input.bytes).expect("write");
        let (outcome, largest) = run_case(&path);
        largest_seen = largest_seen.max(largest);
        match outcome {
            Outcome::Ok(_) => {}
            Outcome::Err(e) => failures.push(format!("{}: {e}", input.name)),
            Outcome::Panic(m) => failures.push(format!("{}: PANIC {m}", input.name)),
            Outcome::Hang => failures.push(format!("{}: HANG", input.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The counting allocator sees the reader's thread (otherwise the size check means nothing).
    println!("largest single allocation while reading an undamaged input: {largest_seen} bytes");
    assert!(largest_seen > 0);
}
