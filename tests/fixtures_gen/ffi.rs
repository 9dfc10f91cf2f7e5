//! The few libhdf5 C functions hdf5-metno does not wrap, declared here because the crate does not
//! re-export `hdf5-metno-sys`. The symbols come from the static libhdf5 that hdf5-metno links in.
//! Call them only inside `hdf5::sync::sync` (libhdf5 is not thread safe; tests run in threads).

#![allow(non_camel_case_types, non_upper_case_globals, dead_code)]

use std::os::raw::{c_char, c_int, c_uint, c_void};

pub type hid_t = i64;
pub type herr_t = c_int;
pub type htri_t = c_int;
pub type haddr_t = u64;
pub type hsize_t = u64;

pub const H5P_DEFAULT: hid_t = 0;
pub const H5S_ALL: hid_t = 0;
pub const HADDR_UNDEF: haddr_t = u64::MAX;

/// `H5T_class_t`.
pub const H5T_CLASS_NAMES: [&str; 12] = [
    "integer", "float", "time", "string", "bitfield", "opaque", "compound", "reference", "enum", "vlen",
    "array", "complex",
];

extern "C" {
    pub static H5T_STD_I32BE_g: hid_t;
    pub static H5T_STD_U16BE_g: hid_t;
    pub static H5T_IEEE_F64BE_g: hid_t;
    pub static H5T_IEEE_F32BE_g: hid_t;

    pub fn H5Dwrite_chunk(
        dset: hid_t, dxpl: hid_t, filters: u32, offset: *const hsize_t, size: usize, buf: *const c_void,
    ) -> herr_t;
    pub fn H5Dget_offset(dset: hid_t) -> haddr_t;
    pub fn H5Dget_storage_size(dset: hid_t) -> hsize_t;
    pub fn H5Dget_chunk_index_type(dset: hid_t, idx_type: *mut c_uint) -> herr_t;
    pub fn H5Dget_type(dset: hid_t) -> hid_t;
    pub fn H5Dget_create_plist(dset: hid_t) -> hid_t;
    pub fn H5Dread(dset: hid_t, mem_type: hid_t, mem_space: hid_t, file_space: hid_t, dxpl: hid_t, buf: *mut c_void)
        -> herr_t;

    pub fn H5Tcopy(t: hid_t) -> hid_t;
    pub fn H5Tclose(t: hid_t) -> herr_t;
    pub fn H5Tget_class(t: hid_t) -> c_int;
    pub fn H5Tget_size(t: hid_t) -> usize;
    pub fn H5Tget_order(t: hid_t) -> c_int;
    pub fn H5Tis_variable_str(t: hid_t) -> htri_t;
    pub fn H5Tget_nmembers(t: hid_t) -> c_int;

    pub fn H5Pclose(p: hid_t) -> herr_t;
    pub fn H5Pget_nfilters(p: hid_t) -> c_int;
    pub fn H5Pget_filter2(
        p: hid_t, idx: c_uint, flags: *mut c_uint, cd_nelmts: *mut usize, cd_values: *mut c_uint, namelen: usize,
        name: *mut c_char, filter_config: *mut c_uint,
    ) -> c_int;
    pub fn H5Pfill_value_defined(p: hid_t, status: *mut c_int) -> herr_t;
    pub fn H5Pget_alloc_time(p: hid_t, alloc_time: *mut c_int) -> herr_t;
    pub fn H5Pget_fill_time(p: hid_t, fill_time: *mut c_int) -> herr_t;
    pub fn H5Pget_fill_value(p: hid_t, type_id: hid_t, value: *mut c_void) -> herr_t;
}
