//! Which chunks a subset needs, from the catalog alone: the latitude chunks whose H3 cells meet
//! the AOI's cells (and whose time range meets the requested one) give candidate rows; the
//! columns to output are resolved to arrays of the same geolocated group.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::catalog::{CatalogEntry, ChunkSpatial, GeolocationInfo, Selection};
use crate::manifest::ArrayMeta;
use crate::spatial::{line, wkb, Aoi, SIMPLIFY_TOLERANCE_DEG};

use super::{AoiCells, SubsetError};

/// ATL06 land-ice columns written when `--vars` is not given and the group has them.
pub const ATL06_DEFAULT_VARS: [&str; 3] = ["h_li", "h_li_sigma", "atl06_quality_summary"];

/// One output column of a group and the array it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSource {
    /// Output column name (`h_li`, or `fit_statistics/dh_fit_dx` for a sub-group array).
    pub name: String,
    /// Array path in the granule.
    pub path: String,
}

/// The plan for one geolocated group.
#[derive(Clone, Debug)]
pub struct GroupPlan {
    /// The group and its coordinate arrays.
    pub geo: GeolocationInfo,
    /// Rows of latitude chunks that may hold points of the AOI, merged.
    pub candidates: Vec<Range<u64>>,
    /// Value columns (not latitude/longitude/time).
    pub columns: Vec<ColumnSource>,
}

/// Candidate rows and columns of one granule.
#[derive(Clone, Debug)]
pub struct GranulePlan {
    /// Per geolocated group that has candidates.
    pub groups: Vec<GroupPlan>,
}

/// Chunks (index into `array.chunks`) holding any of `rows` (sorted ranges or rows) of a 1-D-by-rows array.
pub fn chunks_covering(array: &ArrayMeta, rows: impl Iterator<Item = Range<u64>>) -> Vec<usize> {
    let Some(&len) = array.chunk_shape.first().filter(|&&c| c > 0) else { return Vec::new() };
    let mut wanted = BTreeSet::new();
    for r in rows {
        if r.start < r.end {
            wanted.extend(r.start / len..=(r.end - 1) / len);
        }
    }
    array
        .chunks
        .iter()
        .enumerate()
        .filter(|(_, c)| c.coords.first().is_some_and(|i| wanted.contains(i)) && c.coords[1..].iter().all(|&j| j == 0))
        .map(|(i, _)| i)
        .collect()
}

fn merge(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Whether a chunk's rows may hold a point of the area: its H3 cells meet the area's cells, and
/// its track's box, widened by the simplification tolerance (every simplified-away point lies within
/// it: `tol` of latitude, `tol / cos(latitude)` of longitude), meets the area. The box test trims
/// the ring of neighbour cells the covering adds.
fn may_meet(t: &ChunkSpatial, cells: &AoiCells, aoi: &Aoi) -> bool {
    if !t.h3.iter().any(|&c| cells.contains(c)) {
        return false;
    }
    let Some((x0, y0, x1, y1)) = t.wkb.as_deref().and_then(wkb::line_bbox) else { return true };
    // Twice the tolerance: a margin for rounding, and the scale is taken at the box's worst latitude.
    let my = 2.0 * SIMPLIFY_TOLERANCE_DEG;
    let scale = y0.abs().max(y1.abs()).to_radians().cos().max(line::MIN_LON_SCALE);
    let mx = my / scale;
    aoi.meets_box(x0 - mx, y0 - my, x1 + mx, y1 + my)
}

/// Path of the array `name` (relative, `fit_statistics/dh_fit_dx`) of the geolocated group `geo`.
fn column_path(geo: &GeolocationInfo, name: &str) -> String {
    format!("{}/{}", geo.group.trim_end_matches('/'), name.trim_matches('/'))
}

/// The catalog arrays a subset with these `vars` reads ([`CatalogStore::read_selected`]): per
/// geolocated group, latitude, longitude, time and the value columns; only the latitude chunks
/// keep their H3 cells and geometry (the plan looks at nothing else).
///
/// [`CatalogStore::read_selected`]: crate::catalog::CatalogStore::read_selected
pub fn selection(geolocation: &[GeolocationInfo], vars: Option<&[String]>) -> Selection {
    let mut s = Selection::default();
    for geo in geolocation {
        s.arrays.extend([geo.latitude.clone(), geo.longitude.clone()]);
        s.arrays.extend(geo.time.clone());
        match vars {
            Some(names) => s.arrays.extend(names.iter().map(|n| column_path(geo, n))),
            None => s.arrays.extend(ATL06_DEFAULT_VARS.iter().map(|n| column_path(geo, n))),
        }
        s.footprints.insert(geo.latitude.clone());
    }
    s
}

/// Plan one granule: candidate rows per geolocated group, and the arrays behind each column.
///
/// # Errors
/// [`SubsetError::NoSuchVariable`] when a `--vars` name matches no array of a group that has
/// candidates, or names an array that is not 1-D numeric.
pub fn plan_granule(
    entry: &CatalogEntry,
    aoi: &Aoi,
    cells: &AoiCells,
    time: (Option<f64>, Option<f64>),
    vars: Option<&[String]>,
) -> Result<GranulePlan, SubsetError> {
    let mut groups = Vec::new();
    for geo in &entry.geolocation {
        let Some((_, tags)) = entry.spatial.get(&geo.latitude) else { continue };
        let candidates: Vec<Range<u64>> = tags
            .iter()
            .filter(|t| may_meet(t, cells, aoi))
            .filter(|t| match t.time {
                Some((t0, t1)) => time.0.is_none_or(|s| t1 >= s) && time.1.is_none_or(|e| t0 <= e),
                None => time == (None, None),
            })
            .map(|t| t.rows.clone())
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let in_group = |name: &str| {
            let path = column_path(geo, name);
            let a = entry.manifest.array(&path)?;
            let same_rows = entry.spatial.get(&path).is_some_and(|(g, _)| *g == geo.group);
            (same_rows && a.shape.len() == 1 && a.dtype.scalar(&vec![0; a.dtype.size() as usize]).is_some())
                .then(|| ColumnSource { name: name.trim_matches('/').to_string(), path })
        };
        let columns = match vars {
            Some(names) => names
                .iter()
                .map(|n| {
                    in_group(n).ok_or_else(|| SubsetError::NoSuchVariable {
                        granule: entry.info.id.clone(),
                        group: geo.group.clone(),
                        name: n.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => ATL06_DEFAULT_VARS.iter().filter_map(|n| in_group(n)).collect(),
        };
        groups.push(GroupPlan { geo: geo.clone(), candidates: merge(candidates), columns });
    }
    Ok(GranulePlan { groups })
}
