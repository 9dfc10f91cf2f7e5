//! The few libhdf5 calls hdf5-metno does not offer in the shape real granules need:
//! scalar fixed-length string attributes padded NULLTERM with size = length + 1 (hdf5-metno's
//! `FixedAscii` writes NULLPAD and a compile-time size) and NULLPAD string datasets of exact
//! length (ancillary_data/data_start_utc is `|S27`). The functions come from the static
//! libhdf5 that hdf5-metno-sys already links; they are declared here because hdf5-metno does
//! not re-export its `-sys` crate and the example cannot add dependencies.

use std::ffi::{c_char, c_int, c_void, CString};

use anyhow::{bail, Result};

type Hid = i64;
type Herr = c_int;

const H5S_SCALAR: c_int = 0;
const H5T_STR_NULLTERM: c_int = 0;
const H5T_STR_NULLPAD: c_int = 1;
const H5P_DEFAULT: Hid = 0;
const H5S_ALL: Hid = 0;

unsafe extern "C" {
    static H5T_C_S1_g: Hid;
    fn H5Tcopy(type_id: Hid) -> Hid;
    fn H5Tset_size(type_id: Hid, size: usize) -> Herr;
    fn H5Tset_strpad(type_id: Hid, strpad: c_int) -> Herr;
    fn H5Tclose(type_id: Hid) -> Herr;
    fn H5Screate(class: c_int) -> Hid;
    fn H5Screate_simple(rank: c_int, dims: *const u64, maxdims: *const u64) -> Hid;
    fn H5Sclose(space_id: Hid) -> Herr;
    fn H5Acreate2(loc: Hid, name: *const c_char, type_id: Hid, space_id: Hid, acpl: Hid, aapl: Hid) -> Hid;
    fn H5Awrite(attr: Hid, mem_type: Hid, buf: *const c_void) -> Herr;
    fn H5Aclose(attr: Hid) -> Herr;
    fn H5Dcreate2(loc: Hid, name: *const c_char, type_id: Hid, space_id: Hid, lcpl: Hid, dcpl: Hid,
                  dapl: Hid) -> Hid;
    fn H5Dwrite(dset: Hid, mem_type: Hid, mem_space: Hid, file_space: Hid, xfer: Hid, buf: *const c_void)
                -> Herr;
    fn H5Dclose(dset: Hid) -> Herr;
}

/// A string datatype of `size` bytes with the given padding.
unsafe fn string_type(size: usize, pad: c_int) -> Result<Hid> {
    let t = unsafe { H5Tcopy(H5T_C_S1_g) };
    if t < 0 {
        bail!("H5Tcopy failed");
    }
    if unsafe { H5Tset_size(t, size) } < 0 || unsafe { H5Tset_strpad(t, pad) } < 0 {
        unsafe { H5Tclose(t) };
        bail!("cannot make a {size}-byte string type");
    }
    Ok(t)
}

/// Write a scalar fixed-length NULLTERM ASCII attribute on the object `loc` (an open id).
pub fn str_attr(loc: Hid, name: &str, value: &str) -> Result<()> {
    let cname = CString::new(name)?;
    let mut buf = value.as_bytes().to_vec();
    buf.push(0);
    // SAFETY: ids are checked before use and closed on every path; `buf` outlives H5Awrite.
    unsafe {
        let t = string_type(buf.len(), H5T_STR_NULLTERM)?;
        let s = H5Screate(H5S_SCALAR);
        let a = if s >= 0 { H5Acreate2(loc, cname.as_ptr(), t, s, H5P_DEFAULT, H5P_DEFAULT) } else { -1 };
        let ok = a >= 0 && H5Awrite(a, t, buf.as_ptr().cast()) >= 0;
        if a >= 0 {
            H5Aclose(a);
        }
        if s >= 0 {
            H5Sclose(s);
        }
        H5Tclose(t);
        if !ok {
            bail!("cannot write string attribute {name:?}");
        }
    }
    Ok(())
}

/// Write a 1-element fixed-length NULLPAD string dataset (exact length, no terminator)
/// with the dataset creation property list `dcpl` (e.g. compact layout).
pub fn str_dataset(loc: Hid, name: &str, value: &str, dcpl: Hid) -> Result<()> {
    let cname = CString::new(name)?;
    let buf = value.as_bytes();
    let dims = [1u64];
    // SAFETY: as in `str_attr`.
    unsafe {
        let t = string_type(buf.len().max(1), H5T_STR_NULLPAD)?;
        let s = H5Screate_simple(1, dims.as_ptr(), dims.as_ptr());
        let d = if s >= 0 { H5Dcreate2(loc, cname.as_ptr(), t, s, H5P_DEFAULT, dcpl, H5P_DEFAULT) } else { -1 };
        let ok = d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.as_ptr().cast()) >= 0;
        if d >= 0 {
            H5Dclose(d);
        }
        if s >= 0 {
            H5Sclose(s);
        }
        H5Tclose(t);
        if !ok {
            bail!("cannot write string dataset {name:?}");
        }
    }
    Ok(())
}
