//! vz's own HDF5 test fixtures, written deterministically with libhdf5 (through hdf5-metno) into
//! a temporary directory. Each file covers a set of format features (superblock versions, group
//! storage, layout message versions and every chunk index type, filters, filter masks, sparse
//! and edge chunks, user blocks, dense attributes, non-native types); docs/fixtures.md lists them.
//!
//! Included by several test binaries with `#[path = "fixtures_gen/mod.rs"] mod fixtures_gen;`.

#![allow(dead_code)]

pub mod ffi;
pub mod listing;
pub mod write;

use std::path::{Path, PathBuf};

use hdf5::file::LibraryVersion;
use hdf5::plist::dataset_create::FillTime;
use hdf5::types::{FixedAscii, VarLenArray, VarLenUnicode};
use hdf5::{File, Group, H5Type};

use write::{
    be_type, fill_all, i32_bytes, write_chunk, zlib, Expect, Recorder, Spec, F, IDX_BTREE_V1, IDX_BTREE_V2, IDX_EARRAY,
    IDX_FARRAY, IDX_IMPLICIT, IDX_SINGLE,
};

/// One generated file.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub name: &'static str,
    pub path: PathBuf,
    /// Storage the generator asked for, per dataset.
    pub expects: Vec<Expect>,
}

/// The library-version bounds a file is written with.
#[derive(Clone, Copy, Debug)]
enum Libver {
    /// (earliest, latest), the HDF5 1.x default: superblock v0, symbol-table groups, layout v3.
    Earliest,
    /// (v18, v18): superblock v2, link-message groups, layout v3.
    V18,
    /// (v110, v110): superblock v3, layout v4 chunk indexes.
    V110,
    /// (latest, latest): what the linked libhdf5 (2.x) writes by default for new files.
    Latest,
}

fn create_file(path: &Path, libver: Libver, userblock: u64) -> hdf5::Result<File> {
    let mut b = File::with_options();
    let b = match libver {
        // Explicit: HDF5 2.x defaults to a v18 low bound (superblock v2).
        Libver::Earliest => b.with_fapl(|p| p.libver_earliest()),
        Libver::V18 => b.with_fapl(|p| p.libver_bounds(LibraryVersion::V18, LibraryVersion::V18)),
        Libver::V110 => b.with_fapl(|p| p.libver_bounds(LibraryVersion::V110, LibraryVersion::V110)),
        Libver::Latest => b.with_fapl(|p| p.libver_latest()),
    };
    let b = b.with_fcpl(|p| p.obj_track_times(false));
    let b = if userblock > 0 {
        b.with_fcpl(|p| p.userblock(userblock))
    } else {
        b
    };
    b.create(path)
}

/// A child group without modification times (keeps the files byte-identical across runs).
fn group(parent: &Group, name: &str) -> hdf5::Result<Group> {
    parent.create_group_builder().obj_track_times(false).create(name)
}

/// Write every fixture into `dir`. Deterministic: the same bytes every run (timestamps off).
///
/// # Panics
/// When libhdf5 refuses an operation (a generator bug).
pub fn generate_all(dir: &Path) -> Vec<Fixture> {
    let gens: [(&'static str, fn(&Path) -> hdf5::Result<Vec<Expect>>); 9] = [
        ("earliest.h5", gen_earliest),
        ("deep_earliest.h5", gen_deep_earliest),
        ("deep_v110.h5", gen_deep_v110),
        ("v18.h5", gen_v18),
        ("v110.h5", gen_v110),
        ("latest.h5", gen_latest),
        ("userblock512.h5", gen_userblock512),
        ("userblock1024.h5", gen_userblock1024),
        ("types.h5", gen_types),
    ];
    gens.iter()
        .map(|(name, gen)| {
            let path = dir.join(name);
            let expects = gen(&path).unwrap_or_else(|e| panic!("generating {name}: {e}"));
            Fixture { name, path, expects }
        })
        .collect()
}

/// Generate into a fresh temporary directory (kept alive by the returned guard).
pub fn generate_temp() -> (tempfile::TempDir, Vec<Fixture>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixtures = generate_all(dir.path());
    (dir, fixtures)
}

// ---------------------------------------------------------------------------------------------
// Shared dataset groups
// ---------------------------------------------------------------------------------------------

/// Contiguous, compact and never-written contiguous datasets.
fn basic_layouts(r: &mut Recorder, g: &Group) -> hdf5::Result<()> {
    let ds = r.create::<i32>(g, "contig_i32", &Spec::new(&[10, 7]), None, None)?;
    fill_all(&ds, |i| i as i32 * 3 - 50)?;
    let ds = r.create::<u8>(g, "compact_u8", &Spec::new(&[20]).compact(), None, None)?;
    fill_all(&ds, |i| (i * 7) as u8)?;
    r.create::<f64>(g, "undefined_f64", &Spec::new(&[5, 5]), Some(1.5), None)?;
    let ds = r.create::<f32>(g, "scalar_f32", &Spec::new(&[]), None, None)?;
    ds.as_writer().write_scalar(&2.5f32)?;
    Ok(())
}

/// `n` tiny datasets in one group: more than 8 links makes a dense group (v18+), several
/// symbol-table nodes (earliest).
fn many_links(r: &mut Recorder, g: &Group, n: usize) -> hdf5::Result<()> {
    for i in 0..n {
        let ds = r.create::<u8>(g, &format!("d{i:03}"), &Spec::new(&[2]), None, None)?;
        fill_all(&ds, |j| (i + j) as u8)?;
    }
    Ok(())
}

/// Fill and allocation variants, external storage, variable-length and array element types.
fn storage_variants(r: &mut Recorder, g: &Group, chunk_index: u32) -> hdf5::Result<()> {
    // Allocated at creation, never written: storage exists and holds fill values.
    let spec = Spec::new(&[6, 3]).early().fill_time(FillTime::Alloc);
    r.create::<i16>(g, "early_contig_i16", &spec, Some(5), None)?;
    let spec = Spec::new(&[10]).chunk(&[4]).fill_time(FillTime::Never);
    let ds = r.create::<f32>(g, "fill_never_f32", &spec, Some(1.0), Some(chunk_index))?;
    fill_all(&ds, |i| i as f32)?;
    // Early allocation with a filter: every chunk allocated (fixed array, not implicit, in v4).
    let spec = Spec::new(&[12]).chunk(&[4]).filters(&[F::Deflate]).early();
    r.create::<i32>(g, "early_deflate_i32", &spec, Some(-3), Some(chunk_index))?;
    // External raw data (never written, so no file is created; only the file list is stored).
    r.create::<i32>(
        g,
        "external_i32",
        &Spec::new(&[8]).external("external_raw.bin", 16, 32),
        None,
        None,
    )?;
    let ds = r.create::<VarLenArray<i32>>(g, "vlen_seq_i32", &Spec::new(&[3]), None, None)?;
    let seqs: Vec<VarLenArray<i32>> = [&[1, 2][..], &[][..], &[3, 4, 5][..]]
        .iter()
        .map(|s| VarLenArray::from_slice(s))
        .collect();
    ds.as_writer().write_raw(&seqs)?;
    let ds = r.create::<[f32; 3]>(g, "array_f32x3", &Spec::new(&[4]).chunk(&[2]), None, Some(chunk_index))?;
    fill_all(&ds, |i| [i as f32, 0.5, -1.0])?;
    Ok(())
}

/// Attributes of several types on `/attr_types`, with the JSON value vz should decode.
pub fn expected_attr_values() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        ("s_f64", json!(2.5)),
        ("s_i64", json!(-42)),
        ("s_u8", json!(200)),
        ("vlen_str", json!("metres")),
        ("fixed_str", json!("abc")),
        ("arr_u16", json!([1, 2, 3])),
        ("arr2d_i8", json!([[1, -2], [3, -4]])),
    ]
}

fn typed_attrs(r: &mut Recorder, g: &Group) -> hdf5::Result<()> {
    let ds = r.create::<u8>(g, "attr_types", &Spec::new(&[1]), None, None)?;
    ds.new_attr::<f64>()
        .shape(())
        .create("s_f64")?
        .as_writer()
        .write_scalar(&2.5f64)?;
    ds.new_attr::<i64>()
        .shape(())
        .create("s_i64")?
        .as_writer()
        .write_scalar(&-42i64)?;
    ds.new_attr::<u8>()
        .shape(())
        .create("s_u8")?
        .as_writer()
        .write_scalar(&200u8)?;
    let v: VarLenUnicode = "metres".parse().expect("utf8");
    ds.new_attr::<VarLenUnicode>()
        .shape(())
        .create("vlen_str")?
        .as_writer()
        .write_scalar(&v)?;
    let v = FixedAscii::<8>::from_ascii(b"abc").expect("ascii");
    ds.new_attr::<FixedAscii<8>>()
        .shape(())
        .create("fixed_str")?
        .as_writer()
        .write_scalar(&v)?;
    ds.new_attr::<u16>()
        .shape([3])
        .create("arr_u16")?
        .as_writer()
        .write_raw(&[1u16, 2, 3])?;
    ds.new_attr::<i8>()
        .shape([2, 2])
        .create("arr2d_i8")?
        .as_writer()
        .write_raw(&[1i8, -2, 3, -4])?;
    Ok(())
}

/// A soft link, an external link and a second hard link to `/contig_i32` (from `basic_layouts`).
fn links(f: &File) -> hdf5::Result<()> {
    let g = group(f, "links")?;
    g.link_soft("/contig_i32", "soft_to_contig")?;
    g.link_soft("/nowhere", "dangling_soft")?;
    g.link_external("other.h5", "/some/data", "external")?;
    g.link_hard("/contig_i32", "hard_dup")?;
    Ok(())
}

/// Datasets with `n` attributes (dense storage from 9 on, when the file allows it).
fn many_attrs(loc: &hdf5::Location, n: usize) -> hdf5::Result<()> {
    for i in 0..n {
        let a = loc
            .new_attr::<i32>()
            .shape([3])
            .create(format!("attr_{i:02}").as_str())?;
        a.as_writer().write_raw(&[i as i32, 2 * i as i32, -(i as i32)])?;
    }
    Ok(())
}

/// Chunked datasets with filters, edges and sparse chunks, indexed the way `index` says
/// (B-tree v1 for layout v3 files; fixed array for v4 with fixed dims).
fn chunked_fixed(r: &mut Recorder, g: &Group, index: u32) -> hdf5::Result<()> {
    // Edge chunks: 10x7 with 4x3 chunks -> 3x3 grid, last row/column partial.
    let ds = r.create::<i16>(
        g,
        "edge_i16",
        &Spec::new(&[10, 7]).chunk(&[4, 3]),
        Some(-1),
        Some(index),
    )?;
    fill_all(&ds, |i| i as i16)?;
    let ds = r.create::<f32>(
        g,
        "deflate_f32",
        &Spec::new(&[50]).chunk(&[8]).filters(&[F::Deflate]),
        None,
        Some(index),
    )?;
    fill_all(&ds, |i| (i as f32).sin())?;
    let spec = Spec::new(&[30, 20])
        .chunk(&[7, 6])
        .filters(&[F::Shuffle, F::Deflate, F::Fletcher]);
    let ds = r.create::<u16>(g, "shuf_defl_fl32_u16", &spec, Some(9), Some(index))?;
    fill_all(&ds, |i| (i % 1000) as u16)?;
    let ds = r.create::<i64>(
        g,
        "fletcher_i64",
        &Spec::new(&[12]).chunk(&[5]).filters(&[F::Fletcher]),
        None,
        Some(index),
    )?;
    fill_all(&ds, |i| i as i64 * 1_000_000_007)?;
    let ds = r.create::<u32>(
        g,
        "shuffle_u32",
        &Spec::new(&[9, 9]).chunk(&[4, 4]).filters(&[F::Shuffle]),
        None,
        Some(index),
    )?;
    fill_all(&ds, |i| i as u32 * 65_537)?;
    // Sparse: only 3 of 25 chunks written.
    let ds = r.create::<u8>(
        g,
        "sparse_u8",
        &Spec::new(&[40, 40]).chunk(&[8, 8]),
        Some(255),
        Some(index),
    )?;
    for (k, origin) in [[0u64, 0], [16, 24], [32, 32]].iter().enumerate() {
        write_chunk(&ds, origin, &vec![k as u8 + 1; 64], 0)?;
    }
    // Filter masks: deflate pipeline, odd chunks stored raw with filter 0 skipped (mask 1).
    let ds = r.create::<i32>(
        g,
        "masked_i32",
        &Spec::new(&[64]).chunk(&[8]).filters(&[F::Deflate]),
        None,
        Some(index),
    )?;
    for c in 0..8u64 {
        let raw = i32_bytes(c as i32 * 8, 8);
        if c % 2 == 1 {
            write_chunk(&ds, &[c * 8], &raw, 1)?;
        } else {
            write_chunk(&ds, &[c * 8], &zlib(&raw), 0)?;
        }
    }
    Ok(())
}

/// The data types vz decodes: big-endian numbers, fixed and variable strings, compound, enum.
#[derive(H5Type, Clone, Copy)]
#[repr(C)]
struct Rec {
    a: i32,
    b: f64,
    c: u8,
}

/// `n` records (a = i, b = i / 2, c = 'a' + i) with their padding bytes zeroed. A `Rec` built as
/// a value leaves its 11 padding bytes uninitialised, and libhdf5 copies them into the file as
/// they are: optimised builds then wrote different bytes on every run.
fn records(n: usize) -> Vec<Rec> {
    let mut recs: Vec<std::mem::MaybeUninit<Rec>> = (0..n).map(|_| std::mem::MaybeUninit::zeroed()).collect();
    for (i, slot) in recs.iter_mut().enumerate() {
        let r = slot.as_mut_ptr();
        // SAFETY: `r` points to a zeroed, aligned `Rec`; each field is written in place, so the
        // padding between them stays zero.
        unsafe {
            std::ptr::addr_of_mut!((*r).a).write(i as i32);
            std::ptr::addr_of_mut!((*r).b).write(i as f64 * 0.5);
            std::ptr::addr_of_mut!((*r).c).write(b'a' + i as u8);
        }
    }
    // SAFETY: every element is fully initialised above; `MaybeUninit<Rec>` has `Rec`'s layout,
    // and the vector is rebuilt with the same pointer, length and capacity.
    let mut recs = std::mem::ManuallyDrop::new(recs);
    unsafe { Vec::from_raw_parts(recs.as_mut_ptr().cast::<Rec>(), recs.len(), recs.capacity()) }
}

#[derive(H5Type, Clone, Copy, Debug, PartialEq)]
#[repr(u8)]
enum Color {
    Red = 1,
    Green = 2,
    Blue = 7,
}

fn typed(r: &mut Recorder, g: &Group, chunk_index: u32) -> hdf5::Result<()> {
    let be_i32 = be_type(unsafe { &ffi::H5T_STD_I32BE_g })?;
    let ds = r.create_as::<i32>(g, "be_i32", &be_i32, &Spec::new(&[6]), Some(-7), None)?;
    fill_all(&ds, |i| i as i32 - 3)?;
    let be_f64 = be_type(unsafe { &ffi::H5T_IEEE_F64BE_g })?;
    let spec = Spec::new(&[9]).chunk(&[4]).filters(&[F::Shuffle, F::Deflate]);
    let ds = r.create_as::<f64>(g, "be_f64_chunked", &be_f64, &spec, Some(0.25), Some(chunk_index))?;
    fill_all(&ds, |i| i as f64 / 3.0)?;
    let be_u16 = be_type(unsafe { &ffi::H5T_STD_U16BE_g })?;
    let ds = r.create_as::<u16>(g, "be_u16_compact", &be_u16, &Spec::new(&[4]).compact(), None, None)?;
    fill_all(&ds, |i| 0x0102 * (i as u16 + 1))?;
    let ds = r.create::<FixedAscii<8>>(g, "fixed_str8", &Spec::new(&[3]), None, None)?;
    let words: Vec<FixedAscii<8>> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|w| FixedAscii::from_ascii(w.as_bytes()).expect("ascii"))
        .collect();
    ds.as_writer().write_raw(&words)?;
    let ds = r.create::<VarLenUnicode>(g, "vlen_str", &Spec::new(&[3]), None, None)?;
    let words: Vec<VarLenUnicode> = ["é", "two", "three"].iter().map(|w| w.parse().expect("utf8")).collect();
    ds.as_writer().write_raw(&words)?;
    let ds = r.create::<Rec>(g, "compound", &Spec::new(&[5]).chunk(&[2]), None, Some(chunk_index))?;
    ds.as_writer().write_raw(&records(5))?;
    let ds = r.create::<Color>(g, "enum_u8", &Spec::new(&[6]), Some(Color::Green), None)?;
    fill_all(&ds, |i| [Color::Red, Color::Green, Color::Blue][i % 3])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// Superblock v0, symbol-table groups, v1 object headers, layout v3 (B-tree v1 chunk index).
fn gen_earliest(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::Earliest, 0)?;
    let mut r = Recorder::default();
    basic_layouts(&mut r, &f)?;
    chunked_fixed(&mut r, &group(&f, "chunked")?, IDX_BTREE_V1)?;
    let g = group(&f, "btree")?;
    // 300 chunks: more than one B-tree v1 leaf (2K = 64 entries), so a two-level tree.
    let ds = r.create::<u8>(
        &g,
        "deep_u8",
        &Spec::new(&[30, 20]).chunk(&[2, 1]),
        None,
        Some(IDX_BTREE_V1),
    )?;
    fill_all(&ds, |i| i as u8)?;
    let spec = Spec::new(&[13]).max(&[None]).chunk(&[4]).filters(&[F::Deflate]);
    let ds = r.create::<f64>(&g, "unlimited_f64", &spec, None, Some(IDX_BTREE_V1))?;
    fill_all(&ds, |i| i as f64)?;
    many_links(&mut r, &group(&f, "many")?, 40)?;
    let ds = r.create::<i32>(&f, "attrs_v1", &Spec::new(&[2]), None, None)?;
    many_attrs(&ds, 12)?;
    many_attrs(&f, 3)?;
    group(&f, "empty")?;
    links(&f)?;
    storage_variants(&mut r, &group(&f, "storage")?, IDX_BTREE_V1)?;
    typed_attrs(&mut r, &f)?;
    Ok(r.expects)
}

/// Superblock v2, link messages (compact and dense groups), v2 object headers, layout v3.
fn gen_v18(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::V18, 0)?;
    let mut r = Recorder::default();
    basic_layouts(&mut r, &f)?;
    chunked_fixed(&mut r, &group(&f, "chunked")?, IDX_BTREE_V1)?;
    let spec = Spec::new(&[6, 5]).max(&[None, None]).chunk(&[4, 4]);
    let ds = r.create::<i32>(&f, "unlimited_2d", &spec, None, Some(IDX_BTREE_V1))?;
    fill_all(&ds, |i| i as i32)?;
    many_links(&mut r, &group(&f, "dense")?, 12)?;
    let ds = r.create::<i32>(&f, "dense_attrs", &Spec::new(&[2]), None, None)?;
    many_attrs(&ds, 20)?;
    Ok(r.expects)
}

/// Layout v4 chunk indexes: single chunk, implicit, fixed array (plain and paged), extensible
/// array, B-tree v2; dense groups and dense attributes.
fn v4_indexes(r: &mut Recorder, f: &File) -> hdf5::Result<()> {
    let g = group(f, "single")?;
    let ds = r.create::<i32>(
        &g,
        "plain_i32",
        &Spec::new(&[6, 5]).chunk(&[6, 5]),
        None,
        Some(IDX_SINGLE),
    )?;
    fill_all(&ds, |i| i as i32)?;
    let spec = Spec::new(&[100]).chunk(&[100]).filters(&[F::Shuffle, F::Deflate]);
    let ds = r.create::<f32>(&g, "filtered_f32", &spec, Some(-9.0), Some(IDX_SINGLE))?;
    fill_all(&ds, |i| i as f32 * 0.125)?;
    let spec = Spec::new(&[16]).chunk(&[16]).filters(&[F::Deflate]);
    let ds = r.create::<i32>(&g, "masked_i32", &spec, None, Some(IDX_SINGLE))?;
    write_chunk(&ds, &[0], &i32_bytes(100, 16), 1)?;

    let g = group(f, "implicit")?;
    let ds = r.create::<u16>(
        &g,
        "early_u16",
        &Spec::new(&[20, 9]).chunk(&[5, 4]).early(),
        Some(3),
        Some(IDX_IMPLICIT),
    )?;
    fill_all(&ds, |i| i as u16)?;
    r.create::<u8>(
        &g,
        "early_unwritten",
        &Spec::new(&[7]).chunk(&[2]).early(),
        None,
        Some(IDX_IMPLICIT),
    )?;

    let g = group(f, "farray")?;
    chunked_fixed(r, &g, IDX_FARRAY)?;
    // 2100 one-byte chunks: more than 1024 entries, so the fixed array data block is paged.
    let ds = r.create::<u8>(&g, "paged_u8", &Spec::new(&[2100]).chunk(&[1]), None, Some(IDX_FARRAY))?;
    fill_all(&ds, |i| (i % 251) as u8)?;
    // Paged and filtered, sparse: every 7th chunk, some with deflate skipped.
    let spec = Spec::new(&[1500]).chunk(&[1]).filters(&[F::Deflate]);
    let ds = r.create::<u8>(&g, "paged_sparse_u8", &spec, Some(42), Some(IDX_FARRAY))?;
    for c in (0..1500u64).step_by(7) {
        let raw = [c as u8];
        if c % 3 == 0 {
            write_chunk(&ds, &[c], &raw, 1)?;
        } else {
            write_chunk(&ds, &[c], &zlib(&raw), 0)?;
        }
    }

    let g = group(f, "earray")?;
    // 300 chunks through the index block, data blocks and secondary blocks.
    let spec = Spec::new(&[900]).max(&[None]).chunk(&[3]);
    let ds = r.create::<u32>(&g, "plain_u32", &spec, None, Some(IDX_EARRAY))?;
    fill_all(&ds, |i| i as u32)?;
    let spec = Spec::new(&[203])
        .max(&[None])
        .chunk(&[5])
        .filters(&[F::Deflate, F::Fletcher]);
    let ds = r.create::<f32>(&g, "filtered_f32", &spec, None, Some(IDX_EARRAY))?;
    fill_all(&ds, |i| i as f32)?;
    // One unlimited dimension of two; sparse, masks alternate.
    let spec = Spec::new(&[10, 40])
        .max(&[Some(10), None])
        .chunk(&[5, 4])
        .filters(&[F::Deflate]);
    let ds = r.create::<i32>(&g, "sparse_masked_i32", &spec, Some(-1), Some(IDX_EARRAY))?;
    for (k, origin) in [[0u64, 0], [5, 4], [0, 20], [5, 36], [0, 36]].iter().enumerate() {
        let raw = i32_bytes(k as i32 * 100, 20);
        if k % 2 == 0 {
            write_chunk(&ds, origin, &zlib(&raw), 0)?;
        } else {
            write_chunk(&ds, origin, &raw, 1)?;
        }
    }
    // Unlimited but never written: an extensible array header with no chunks.
    r.create::<u8>(
        &g,
        "empty_u8",
        &Spec::new(&[0]).max(&[None]).chunk(&[4]),
        None,
        Some(IDX_EARRAY),
    )?;

    let g = group(f, "btree2")?;
    // 900 chunks: several B-tree v2 leaves under one internal node.
    let spec = Spec::new(&[60, 60]).max(&[None, None]).chunk(&[2, 2]);
    let ds = r.create::<i16>(&g, "plain_i16", &spec, None, Some(IDX_BTREE_V2))?;
    fill_all(&ds, |i| i as i16)?;
    let spec = Spec::new(&[30, 30])
        .max(&[None, None])
        .chunk(&[4, 4])
        .filters(&[F::Deflate]);
    let ds = r.create::<i32>(&g, "sparse_masked_i32", &spec, Some(7), Some(IDX_BTREE_V2))?;
    for (k, origin) in [[0u64, 0], [4, 8], [28, 28], [12, 0], [0, 28]].iter().enumerate() {
        let raw = i32_bytes(k as i32 * 16, 16);
        if k % 2 == 1 {
            write_chunk(&ds, origin, &raw, 1)?;
        } else {
            write_chunk(&ds, origin, &zlib(&raw), 0)?;
        }
    }
    let spec = Spec::new(&[11, 13, 3])
        .max(&[None, Some(13), None])
        .chunk(&[4, 5, 2])
        .filters(&[F::Shuffle, F::Deflate]);
    let ds = r.create::<f64>(&g, "shuffle_3d_f64", &spec, None, Some(IDX_BTREE_V2))?;
    fill_all(&ds, |i| i as f64)?;
    Ok(())
}

/// Superblock v3 with (v110, v110) bounds: every layout v4 chunk index.
fn gen_v110(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::V110, 0)?;
    let mut r = Recorder::default();
    basic_layouts(&mut r, &f)?;
    v4_indexes(&mut r, &f)?;
    many_links(&mut r, &group(&f, "dense")?, 20)?;
    many_links(&mut r, &group(&f, "compact")?, 4)?;
    let ds = r.create::<i32>(&f, "dense_attrs", &Spec::new(&[2]), None, None)?;
    many_attrs(&ds, 30)?;
    many_attrs(&f, 10)?;
    typed(&mut r, &group(&f, "types")?, IDX_FARRAY)?;
    links(&f)?;
    storage_variants(&mut r, &group(&f, "storage")?, IDX_FARRAY)?;
    typed_attrs(&mut r, &f)?;
    Ok(r.expects)
}

/// What the linked libhdf5 writes with (latest, latest) bounds.
fn gen_latest(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::Latest, 0)?;
    let mut r = Recorder::default();
    basic_layouts(&mut r, &f)?;
    v4_indexes(&mut r, &f)?;
    many_links(&mut r, &group(&f, "dense")?, 10)?;
    Ok(r.expects)
}

/// A 512-byte user block before a superblock v0 file.
fn gen_userblock512(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::Earliest, 512)?;
    let mut r = Recorder::default();
    basic_layouts(&mut r, &f)?;
    chunked_fixed(&mut r, &group(&f, "chunked")?, IDX_BTREE_V1)?;
    Ok(r.expects)
}

/// A 1024-byte user block before a superblock v3 file with v4 chunk indexes.
fn gen_userblock1024(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::V110, 1024)?;
    let mut r = Recorder::default();
    basic_layouts(&mut r, &f)?;
    let g = group(&f, "farray")?;
    chunked_fixed(&mut r, &g, IDX_FARRAY)?;
    let spec = Spec::new(&[40]).max(&[None]).chunk(&[3]).filters(&[F::Deflate]);
    let ds = r.create::<i32>(&f, "earray_i32", &spec, None, Some(IDX_EARRAY))?;
    fill_all(&ds, |i| i as i32)?;
    many_links(&mut r, &group(&f, "dense")?, 9)?;
    Ok(r.expects)
}

/// Non-native and structured types in a superblock v0 file (v110.h5 has them too, under /types).
fn gen_types(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::Earliest, 0)?;
    let mut r = Recorder::default();
    typed(&mut r, &group(&f, "v0")?, IDX_BTREE_V1)?;
    Ok(r.expects)
}

/// Multi-level structures in a superblock v0 file: a three-level B-tree v1 chunk index (4900
/// chunks, 64 entries a node) and a symbol-table group whose B-tree has internal nodes (300 links).
fn gen_deep_earliest(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::Earliest, 0)?;
    let mut r = Recorder::default();
    let ds = r.create::<u8>(&f, "btree3_u8", &Spec::new(&[70, 70]).chunk(&[1, 1]), None, Some(IDX_BTREE_V1))?;
    fill_all(&ds, |i| (i % 256) as u8)?;
    many_links(&mut r, &group(&f, "links300")?, 300)?;
    Ok(r.expects)
}

/// Multi-level v4 structures: an extensible array large enough for paged data blocks (6000
/// chunks), a two-level B-tree v2 chunk index (5625 chunks), a dense group of 300 links and a
/// dataset with 100 dense attributes (fractal heaps with indirect blocks).
fn gen_deep_v110(path: &Path) -> hdf5::Result<Vec<Expect>> {
    let f = create_file(path, Libver::V110, 0)?;
    let mut r = Recorder::default();
    let spec = Spec::new(&[6000]).max(&[None]).chunk(&[1]);
    let ds = r.create::<u8>(&f, "earray_paged_u8", &spec, None, Some(IDX_EARRAY))?;
    fill_all(&ds, |i| (i % 253) as u8)?;
    let spec = Spec::new(&[75, 75]).max(&[None, None]).chunk(&[1, 1]);
    let ds = r.create::<u8>(&f, "btree2_deep_u8", &spec, None, Some(IDX_BTREE_V2))?;
    fill_all(&ds, |i| (i % 241) as u8)?;
    many_links(&mut r, &group(&f, "links300")?, 300)?;
    let ds = r.create::<i32>(&f, "attrs100", &Spec::new(&[1]), None, None)?;
    many_attrs(&ds, 100)?;
    Ok(r.expects)
}
