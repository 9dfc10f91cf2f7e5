//! Issue 5: every value read through the virtual Zarr store with zarrs equals what libhdf5 reads.
//!
//! For each file — the committed synthetic ATL06 granules, our generated fixtures (every chunk
//! index, non-zero filter masks, fletcher32) and the real files in
//! ../shared/fixtures/real/{icesat2,hdf5,dmrpp_pairs} — the native manifest becomes a `VirtualStore`; every
//! array it lists is opened with `zarrs::array::Array` and read whole, and the bytes are compared
//! with libhdf5's `H5Dread` into the native type. Arrays whose filter has no Zarr codec must fail to
//! read with an error naming the filter; arrays with no Zarr data type must be reported.

mod common;
#[path = "fixtures_gen/mod.rs"]
mod fixtures_gen;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vz::zarr::{StoreGranule, VirtualStore};
use zarrs::array::{Array, ArrayBytes, ArraySubset};

/// libhdf5's reading of a whole dataset: numbers converted to their native form (as zarrs decodes
/// them), raw bits (strings, opaque, bitfields; Zarr `rN`) and half floats (no native type in this
/// libhdf5 build) as stored.
fn libhdf5_bytes(file: &hdf5::File, path: &str) -> Result<Vec<u8>, String> {
    use hdf5_sys::{h5d, h5p, h5s, h5t};
    let ds = file.dataset(path).map_err(|e| e.to_string())?;
    hdf5::sync::sync(|| unsafe {
        let id = ds.id();
        let ftype = h5d::H5Dget_type(id);
        let class = h5t::H5Tget_class(ftype);
        let raw_bits = matches!(class, h5t::H5T_STRING | h5t::H5T_OPAQUE | h5t::H5T_BITFIELD)
            || (class == h5t::H5T_FLOAT && h5t::H5Tget_size(ftype) == 2);
        let ntype = if raw_bits {
            h5t::H5Tcopy(ftype)
        } else {
            h5t::H5Tget_native_type(ftype, h5t::H5T_DIR_ASCEND)
        };
        let space = h5d::H5Dget_space(id);
        let n = usize::try_from(h5s::H5Sget_simple_extent_npoints(space)).unwrap_or(0);
        let mut buf = vec![0u8; n * h5t::H5Tget_size(ntype)];
        let rc = h5d::H5Dread(
            id,
            ntype,
            h5s::H5S_ALL,
            h5s::H5S_ALL,
            h5p::H5P_DEFAULT,
            buf.as_mut_ptr().cast(),
        );
        h5s::H5Sclose(space);
        h5t::H5Tclose(ntype);
        h5t::H5Tclose(ftype);
        if rc < 0 {
            Err(format!("H5Dread failed for {path}"))
        } else {
            Ok(buf)
        }
    })
}

#[derive(Default)]
struct Tally {
    files: usize,
    arrays: usize,
    bytes: usize,
    unreadable: Vec<String>,
    not_listed: usize,
    libhdf5_refused: usize,
    too_large: usize,
    failures: Vec<String>,
}

async fn check_file(path: &Path, tally: &mut Tally, sync_too: bool) {
    let location = path.display().to_string();
    let source = vz::source::open(&location, &Default::default()).expect("open");
    let manifest = match vz::hdf5::read_manifest(source.as_ref(), &Default::default()).await {
        Ok(m) => m,
        Err(e) => {
            println!("  {location}: not read natively ({e}); conformance covers it");
            return;
        }
    };
    let Ok(file) = hdf5::File::open(path) else {
        println!("  {location}: libhdf5 cannot open it");
        return;
    };
    tally.files += 1;
    let arrays: Vec<String> = manifest.arrays.iter().map(|a| a.path.clone()).collect();
    let store = Arc::new(VirtualStore::new(
        vec![StoreGranule {
            id: "g".into(),
            manifest,
        }],
        Default::default(),
    ));
    tally.not_listed += store.problems().len();
    for hdf5_path in arrays {
        let node = VirtualStore::array_path("g", &hdf5_path);
        let Ok(array) = Array::async_open(store.clone(), &node).await else {
            continue;
        };
        let elements = array
            .shape()
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d));
        if elements.is_none_or(|n| n > 1 << 28) {
            println!(
                "  {location} {hdf5_path}: shape {:?} too large to read whole in a test",
                array.shape()
            );
            tally.too_large += 1;
            continue;
        }
        let subset = ArraySubset::new_with_shape(array.shape().to_vec());
        let read: Result<ArrayBytes<'static>, _> = array.async_retrieve_array_subset(&subset).await;
        let unreadable = store
            .metadata(node.trim_start_matches('/'))
            .is_some_and(|m| String::from_utf8_lossy(m).contains("_vz_unreadable"));
        let got = match (read, unreadable) {
            (Err(e), true) => {
                let text = e.to_string();
                assert!(
                    text.contains("cannot be read as Zarr"),
                    "{location} {hdf5_path}: unclear error {text}"
                );
                tally.unreadable.push(format!("{hdf5_path}: {text}"));
                continue;
            }
            (Err(e), false) => {
                tally
                    .failures
                    .push(format!("{location} {hdf5_path}: zarrs read failed: {e}"));
                continue;
            }
            (Ok(_), true) if array.shape().iter().product::<u64>() > 0 => {
                tally.failures.push(format!(
                    "{location} {hdf5_path}: unreadable array read without error"
                ));
                continue;
            }
            (Ok(b), _) => match b.into_fixed() {
                Ok(f) => f.into_owned(),
                Err(e) => {
                    tally
                        .failures
                        .push(format!("{location} {hdf5_path}: not fixed-size: {e}"));
                    continue;
                }
            },
        };
        let expected = match libhdf5_bytes(&file, &hdf5_path) {
            Ok(b) => b,
            Err(e) => {
                tally.libhdf5_refused += 1;
                println!("  {location} {hdf5_path}: libhdf5 refuses ({e})");
                continue;
            }
        };
        if got != expected {
            let first = got.iter().zip(&expected).position(|(a, b)| a != b);
            tally.failures.push(format!(
                "{location} {hdf5_path}: {} bytes via zarrs vs {} via libhdf5, first difference at {first:?}",
                got.len(),
                expected.len()
            ));
            continue;
        }
        if sync_too {
            // The same array through the sync traits, from a blocking thread.
            let store = store.clone();
            let node = node.clone();
            let sync = tokio::task::spawn_blocking(move || {
                let array = Array::open(store, &node).expect("sync open");
                let subset = ArraySubset::new_with_shape(array.shape().to_vec());
                array
                    .retrieve_array_subset::<ArrayBytes<'static>>(&subset)
                    .map(|b| b.into_fixed().map(|f| f.into_owned()))
            })
            .await
            .expect("join");
            assert!(
                matches!(&sync, Ok(Ok(b)) if *b == expected),
                "{location} {hdf5_path}: sync read differs"
            );
        }
        tally.arrays += 1;
        tally.bytes += got.len();
    }
}

fn is_hdf5(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| ["h5", "he5", "nc4", "nc", "hdf5"].contains(&e.to_string_lossy().as_ref()))
}

fn h5_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| is_hdf5(p))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn zarrs_reads_through_the_store_what_libhdf5_reads() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut tally = Tally::default();
    for f in h5_files(&repo.join("fixtures")) {
        check_file(&f, &mut tally, true).await;
    }
    let (_generated, own) = fixtures_gen::generate_temp();
    for fx in &own {
        check_file(&fx.path, &mut tally, true).await;
    }
    match common::fixtures::fixtures_dir("zarr_store") {
        Some(real) => {
            for sub in ["icesat2", "hdf5", "dmrpp_pairs"] {
                for f in h5_files(&real.join(sub)) {
                    check_file(&f, &mut tally, sub == "icesat2").await;
                }
            }
        }
        None => println!("SKIP real files: fixtures not found"),
    }
    println!(
        "{} files, {} arrays ({} bytes) read through the Zarr store equal libhdf5; {} unreadable as Zarr with a clear error, {} without a Zarr data type, {} refused by libhdf5, {} too large to read whole",
        tally.files,
        tally.arrays,
        tally.bytes,
        tally.unreadable.len(),
        tally.not_listed,
        tally.libhdf5_refused,
        tally.too_large
    );
    for u in &tally.unreadable {
        println!("  unreadable: {u}");
    }
    assert!(
        tally.failures.is_empty(),
        "{} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(tally.arrays > 0);
}
