//! Which chunks a subset needs, from the catalog alone: the latitude chunks whose H3 cells meet
//! the AOI's cells (and whose time range meets the requested one) give candidate rows; the
//! columns to output are resolved to arrays of the same geolocated group.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::catalog::{CatalogEntry, ChunkSpatial, GeolocationInfo, Selection};
use crate::manifest::ArrayMeta;
use crate::spatial::{line, wkb, Aoi, BBox, ROW_BOX_ROWS, SIMPLIFY_TOLERANCE_DEG};

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

/// The rows of a chunk that may hold a point of the area: the runs whose row box meets it (all of
/// the chunk's rows when its tagging has no row boxes, as from the tables). Boxes are widened by a
/// hair so that a point on a box edge is never lost to rounding in the crossing tests.
fn rows_that_may_meet(t: &ChunkSpatial, aoi: &Aoi) -> Vec<Range<u64>> {
    if t.row_boxes.is_empty() {
        return vec![t.rows.clone()];
    }
    const HAIR: f64 = 1e-9;
    let meets = |b: &BBox| {
        let halves = if b.crosses_antimeridian() { [(b.xmin, 180.0), (-180.0, b.xmax)] } else { [(b.xmin, b.xmax); 2] };
        halves.iter().any(|&(x0, x1)| aoi.meets_box(x0 - HAIR, b.ymin - HAIR, x1 + HAIR, b.ymax + HAIR))
    };
    let mut out: Vec<Range<u64>> = Vec::new();
    let mut start = t.rows.start;
    for b in &t.row_boxes {
        let end = start.saturating_add(ROW_BOX_ROWS as u64).min(t.rows.end);
        if b.as_ref().is_some_and(meets) {
            match out.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => out.push(start..end),
            }
        }
        start = end;
    }
    out
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
            .flat_map(|t| rows_that_may_meet(t, aoi))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn aoi(ring: &str) -> Aoi {
        Aoi::from_geojson(&format!(r#"{{"type":"Polygon","coordinates":[{ring}]}}"#)).expect("AOI")
    }

    fn tag(rows: Range<u64>, row_boxes: Vec<Option<BBox>>) -> ChunkSpatial {
        ChunkSpatial { rows, points: 1, row_boxes, ..ChunkSpatial::default() }
    }

    /// Runs whose box meets the area become candidate rows (joined when adjacent, the last run
    /// cut at the chunk's end); a box across the antimeridian is tested as its two halves; a
    /// chunk without row boxes (read from the tables) is a candidate whole.
    #[test]
    fn candidate_rows_are_the_runs_whose_box_meets_the_area() {
        let area = aoi("[[-10,60],[10,60],[10,70],[-10,70],[-10,60]]");
        let b = |xmin, ymin, xmax, ymax| Some(BBox { xmin, ymin, xmax, ymax });
        let boxes = vec![b(-30.0, 50.0, -20.0, 55.0), b(-15.0, 58.0, -5.0, 61.0), b(0.0, 61.0, 1.0, 62.0), None, b(9.0, 69.0, 20.0, 80.0)];
        assert_eq!(rows_that_may_meet(&tag(1000..3200, boxes), &area), vec![1512..2536, 3048..3200]);
        assert_eq!(rows_that_may_meet(&tag(0..100, Vec::new()), &area), vec![0..100]);
        // An area just east of the antimeridian: the crossing box meets it by its eastern half.
        let pacific = aoi("[[-180,-5],[-175,-5],[-175,5],[-180,5],[-180,-5]]");
        let crossing = vec![b(179.0, 0.0, -179.0, 1.0), b(170.0, 0.0, 174.0, 1.0)];
        assert_eq!(rows_that_may_meet(&tag(0..1024, crossing), &pacific), vec![0..512]);
        // A point on the area's edge is kept, as the exact test keeps it.
        assert_eq!(rows_that_may_meet(&tag(0..10, vec![b(10.0, 65.0, 10.0, 65.0)]), &area), vec![0..10]);
    }
}
