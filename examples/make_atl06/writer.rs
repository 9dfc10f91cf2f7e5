//! Writing a beam's land_ice_segments tree with hdf5-metno: 1-D chunked datasets, maxshape
//! unlimited, shuffle (integers only) then deflate, fill value = `_FillValue`, CF attributes,
//! and delta_time as a dimension scale attached to every per-segment dataset.
//!
//! The dimension scale is written as the HDF5 Dimension Scales spec lays it out (what
//! `H5DSattach_scale` of the HL library writes; that library is not built here): on the
//! scale `CLASS = "DIMENSION_SCALE"`, `NAME` and `REFERENCE_LIST` (compound of object
//! reference + dimension index); on each attached dataset `DIMENSION_LIST` (one
//! variable-length array of object references per dimension).

use anyhow::{Context, Result};
use hdf5::dataset::FillTime;
use hdf5::types::{OwnedDynValue, VarLenArray};
use hdf5::{Dataset, Group, H5Type, Location, ObjectReference1};

use crate::beam::{Beam, Data};
use crate::h5raw::str_attr;
use crate::schema::{self, Fill};

/// How datasets are laid out.
pub struct Layout {
    pub chunk: usize,
    pub deflate: u8,
    pub dimension_scales: bool,
}

/// Entry of the REFERENCE_LIST attribute of a dimension scale.
#[derive(H5Type, Clone, Copy)]
#[repr(C)]
struct RefEntry {
    dataset: ObjectReference1,
    dimension: i32,
}

/// Set string attributes on any object.
pub fn put_strs(loc: &Location, attrs: &[(&str, &str)]) -> Result<()> {
    for (k, v) in attrs {
        str_attr(loc.id(), k, v)?;
    }
    Ok(())
}

/// A new group with object timestamps off (so a seed gives byte-identical files).
pub fn group(parent: &Group, name: &str) -> Result<Group> {
    parent.create_group_builder().obj_track_times(false).create(name).with_context(|| format!("group {name}"))
}

/// A scalar numeric attribute.
pub fn scalar_attr<T: H5Type>(loc: &Location, name: &str, v: T) -> Result<()> {
    loc.new_attr::<T>().create(name)?.write_scalar(&v)?;
    Ok(())
}

/// A 1-D numeric attribute.
pub fn array_attr<T: H5Type>(loc: &Location, name: &str, v: &[T]) -> Result<()> {
    loc.new_attr::<T>().shape(v.len()).create(name)?.write_raw(v)?;
    Ok(())
}

fn dataset<T: H5Type + Copy + Into<OwnedDynValue>>(
    parent: &Group,
    name: &str,
    values: &[T],
    fill: Option<T>,
    integer: bool,
    lay: &Layout,
) -> Result<Dataset> {
    // Fill written only where set, allocation incremental: the real granules' creation properties.
    let mut b = parent.new_dataset::<T>().chunk(lay.chunk).obj_track_times(false).fill_time(FillTime::IfSet);
    if integer {
        b = b.shuffle(); // real ATL06: shuffle on integer datasets only, before deflate
    }
    if lay.deflate > 0 {
        b = b.deflate(lay.deflate);
    }
    if let Some(f) = fill {
        b = b.fill_value(f);
    }
    let ds = b.shape(values.len()..).create(name).with_context(|| format!("dataset {name}"))?;
    ds.write_raw(values).with_context(|| format!("writing {name}"))?;
    if let Some(f) = fill {
        array_attr(&ds, "_FillValue", &[f])?;
    }
    Ok(ds)
}

fn write_column(parent: &Group, name: &str, data: &Data, fill: Fill, lay: &Layout) -> Result<Dataset> {
    match (data, fill) {
        (Data::F64(v), Fill::F64(f)) => dataset(parent, name, v, Some(f), false, lay),
        (Data::F64(v), _) => dataset(parent, name, v, None, false, lay),
        (Data::F32(v), Fill::F32(f)) => dataset(parent, name, v, Some(f), false, lay),
        (Data::F32(v), _) => dataset(parent, name, v, None, false, lay),
        (Data::I8(v), Fill::I8(f)) => dataset(parent, name, v, Some(f), true, lay),
        (Data::I8(v), _) => dataset(parent, name, v, None, true, lay),
        (Data::I32(v), Fill::I32(f)) => dataset(parent, name, v, Some(f), true, lay),
        (Data::I32(v), _) => dataset(parent, name, v, None, true, lay),
    }
}

/// Write /gtXX/land_ice_segments/ and its sub-groups for one beam.
pub fn write_beam(root: &Group, beam: &Beam, sc_orient: u8, lay: &Layout) -> Result<()> {
    let g = group(root, beam.name)?;
    let pce = format!("pce{}", 1 + (beam.spot - 1) / 2);
    let spot = beam.spot.to_string();
    let profile = format!("profile_{}", 1 + (beam.spot - 1) / 2);
    put_strs(&g, &[
        ("Description", "Contains subgroups organized by Ground Track (gt1l, gt1r, gt2l, gt2r, gt3l and gt3r)"),
        ("atlas_beam_type", if beam.strong { "strong" } else { "weak" }),
        ("atlas_pce", &pce),
        ("atlas_spot_number", &spot),
        ("atmosphere_profile", &profile),
        ("groundtrack_id", beam.name),
        ("sc_orientation", if sc_orient == 0 { "Backward" } else { "Forward" }),
    ])?;
    let lis = group(&g, "land_ice_segments")?;
    put_strs(&lis, &[
        ("Description", "The land_ice_segments group contains the primary set of derived ATL06 products. \
                         This includes geolocation, height, and standard error and quality measures for \
                         each segment. (SYNTHETIC granule written by make_atl06.rs.)"),
        ("data_rate", "Data within this group are sparse.  Data values are provided only for those \
                       ICESat-2 20m segments where at least one beam has a valid land ice height \
                       measurement."),
    ])?;
    let mut subs: Vec<(String, Group)> = Vec::new();
    let mut written: Vec<(Group, String, Dataset)> = Vec::new();
    for (path, data) in &beam.columns {
        let (parent, name) = match path.split_once('/') {
            None => (lis.clone(), *path),
            Some((sub, name)) => {
                if !subs.iter().any(|(s, _)| s == sub) {
                    let sg = group(&lis, sub)?;
                    put_strs(&sg, &[
                        ("Description", schema::subgroup_description(sub)),
                        ("data_rate", "Data within this group are stored at the land_ice_segments segment rate."),
                    ])?;
                    subs.push((sub.to_string(), sg));
                }
                let sg = subs.iter().find(|(s, _)| s == sub).map(|(_, g)| g.clone());
                (sg.context("sub-group")?, name)
            }
        };
        let spec = schema::spec(path);
        let ds = write_column(&parent, name, data, spec.fill, lay)?;
        let mut strs = vec![("units", spec.units), ("long_name", spec.long_name), ("source", spec.source),
                            ("contentType", spec.content_type), ("description", spec.description),
                            ("coordinates", schema::coordinates(path))];
        if let Some(sn) = spec.standard_name {
            strs.push(("standard_name", sn));
        }
        if let Some((_, meanings)) = spec.flags {
            strs.push(("flag_meanings", meanings));
        }
        put_strs(&ds, &strs)?;
        if let Some((lo, hi)) = spec.valid {
            scalar_attr(&ds, "valid_min", lo)?;
            scalar_attr(&ds, "valid_max", hi)?;
        }
        if let Some((values, _)) = spec.flags {
            array_attr(&ds, "flag_values", values)?;
        }
        written.push((parent, name.to_string(), ds));
    }
    if lay.dimension_scales {
        attach_scale(&lis, &written)?;
    }
    Ok(())
}

/// Make land_ice_segments/delta_time a dimension scale and attach it to every other dataset.
fn attach_scale(lis: &Group, written: &[(Group, String, Dataset)]) -> Result<()> {
    let scale = lis.dataset("delta_time")?;
    put_strs(&scale, &[("CLASS", "DIMENSION_SCALE"), ("NAME", "delta_time")])?;
    let mut back_refs = Vec::new();
    for (parent, name, ds) in written {
        if ds.name() == scale.name() {
            continue;
        }
        let to_scale: ObjectReference1 = lis.reference("delta_time")?;
        let list = [VarLenArray::from_slice(&[to_scale])];
        ds.new_attr::<VarLenArray<ObjectReference1>>().shape(1).create("DIMENSION_LIST")?.write_raw(&list)?;
        back_refs.push(RefEntry { dataset: parent.reference(name)?, dimension: 0 });
    }
    scale.new_attr::<RefEntry>().shape(back_refs.len()).create("REFERENCE_LIST")?.write_raw(&back_refs)?;
    Ok(())
}
