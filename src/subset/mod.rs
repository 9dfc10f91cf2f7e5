//! `vz subset`: the points of indexed granules inside an area of interest, reading only the chunks
//! that hold them.
//!
//! Per granule: the catalog's H3 cells of each latitude chunk meet the AOI's cells → candidate rows
//! → per geolocated group, concurrently: their latitude/longitude chunks are fetched (one
//! coalesced round trip per file) and decoded → exact point-in-polygon → selected rows → the
//! chunks of the requested arrays holding those rows are fetched (a second round trip) and
//! decoded → one GeoParquet of points. Nothing else is read: the bytes read are the floor the
//! catalog allows.

mod cells;
mod output;
mod pages;
mod plan;
mod read;
mod writeback;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use parquet::file::metadata::KeyValue;
use serde::Serialize;
use serde_json::json;

pub use cells::{AoiCells, CellCache};
pub use output::{GroupRows, PointWriter};
pub use plan::{chunks_covering, plan_granule, selection, ColumnSource, GranulePlan, GroupPlan, ATL06_DEFAULT_VARS};

use crate::catalog::{CatalogEntry, CatalogReadError, CatalogStore, TimeUnits};
use crate::codec::missing_value;
use crate::manifest::ArrayMeta;
use crate::source::{coalesce, SourceOptions};
use crate::spatial::{Aoi, GeoOptions, SpatialError};
use read::Reader;
use writeback::WritebackFile;

/// Why a subset (or one granule of it) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubsetError {
    /// The catalog could not be listed or a granule's files read.
    #[error(transparent)]
    Catalog(#[from] CatalogReadError),
    /// The catalog location is unusable.
    #[error("{0}")]
    Location(#[from] crate::source::SourceError),
    /// The AOI could not be covered with H3 cells.
    #[error(transparent)]
    Aoi(#[from] SpatialError),
    /// A `--vars` name is not a 1-D numeric array sharing the rows of a geolocated group.
    #[error("{granule}: no 1-D numeric array `{name}` in {group} (names are relative to the geolocated group)")]
    NoSuchVariable { granule: String, group: String, name: String },
    /// Chunks could not be fetched.
    #[error("{granule}: {source}")]
    Fetch {
        granule: String,
        #[source]
        source: crate::zarr::StoreError,
    },
    /// An array could not be read.
    #[error("{granule}: {path}: {reason}")]
    Read { granule: String, path: String, reason: String },
    /// The output could not be written.
    #[error("{path}: {reason}")]
    Output { path: String, reason: String },
}

impl SubsetError {
    /// An output error (raised without a path by [`PointWriter`]) naming `path`; others as they are.
    #[must_use]
    pub fn at(self, path: &str) -> SubsetError {
        match self {
            SubsetError::Output { reason, .. } => SubsetError::Output { path: path.to_string(), reason },
            other => other,
        }
    }
}

/// What to subset.
#[derive(Clone, Debug)]
pub struct SubsetOptions {
    /// Catalog root written by `vz index` (directory or object-store URL).
    pub manifests: String,
    /// Value columns, as array names relative to the geolocated group; `None`: ATL06 defaults.
    pub vars: Option<Vec<String>>,
    /// Keep points at or after this time (Unix seconds).
    pub time_start: Option<f64>,
    /// Keep points at or before this time (Unix seconds).
    pub time_end: Option<f64>,
    /// Granules processed at once.
    pub concurrency: usize,
    /// How granule bytes are fetched (the subset default merges only touching ranges, so no byte
    /// outside the needed chunks is read).
    pub source: SourceOptions,
}

impl Default for SubsetOptions {
    fn default() -> Self {
        SubsetOptions {
            manifests: "manifests".into(),
            vars: None,
            time_start: None,
            time_end: None,
            concurrency: 4,
            source: SourceOptions { coalesce_gap: 0, ..SourceOptions::default() },
        }
    }
}

/// Per granule: what was planned, read and selected.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GranuleSubset {
    /// Granule id.
    pub granule: String,
    /// Points selected.
    pub points: u64,
    /// Geolocated groups with candidate rows.
    pub groups: u64,
    /// Chunks fetched.
    pub chunks: u64,
    /// Stored bytes of those chunks: the floor (latitude/longitude chunks meeting the AOI's cells,
    /// plus the chunks of other columns holding a selected row).
    pub floor_bytes: u64,
    /// Bytes actually read from the granule (≥ the floor when nearby ranges are merged).
    pub bytes_read: u64,
    /// Requests sent.
    pub requests: u64,
    /// Round trips: two per geolocated group, the groups' concurrent.
    pub round_trips: u64,
    /// Why this granule failed, if it did (its points are then not in the output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The planned reads of one granule, from the catalog only (`--plan`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct GranulePlanSummary {
    /// Granule id.
    pub granule: String,
    /// Geolocated groups with candidate rows.
    pub groups: u64,
    /// Candidate rows (rows of latitude chunks meeting the AOI).
    pub candidate_rows: u64,
    /// Chunks of every output column over the candidate rows: an upper bound of what is read.
    pub chunks: u64,
    /// Their stored bytes.
    pub bytes: u64,
    /// Requests after merging touching ranges.
    pub requests: u64,
}

fn time_units(array: &ArrayMeta) -> Option<TimeUnits> {
    array.attributes.iter().find(|a| a.name == "units").and_then(|a| a.value.as_str()).and_then(TimeUnits::parse)
}

/// `gt1l_rgt0764_c06_r03` from an ATL-style granule id (`ATL06_<time>_<ttttccrr>_…`), else the beam.
fn track_id(granule: &str, group: &str) -> String {
    let beam = group.trim_start_matches('/').split('/').next().unwrap_or(group);
    let orbit = granule.split('_').find(|t| t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()));
    match orbit {
        Some(t) => format!("{beam}_rgt{}_c{}_r{}", &t[..4], &t[4..6], &t[6..]),
        None => beam.to_string(),
    }
}

/// A quick test that is false only for points [`Aoi::contains`] rejects: outside the area's box
/// (most candidate points of a chunk whose track crosses the area are). Points on the ±180
/// meridian, and areas whose box wraps the antimeridian, go to the exact test.
fn bbox_test(aoi: &Aoi) -> impl Fn(f64, f64) -> bool {
    let b = aoi.bbox();
    move |lat: f64, lon: f64| {
        let lon = if lon > 180.0 { lon - 360.0 } else { lon };
        b.xmin > b.xmax || lon.abs() == 180.0 || (lat >= b.ymin && lat <= b.ymax && lon >= b.xmin && lon <= b.xmax)
    }
}

/// Plan one granule without reading any data (`--plan`).
pub fn summarize_plan(entry: &CatalogEntry, plan: &GranulePlan, gap: u64) -> GranulePlanSummary {
    let mut s = GranulePlanSummary { granule: entry.info.id.clone(), groups: plan.groups.len() as u64, ..Default::default() };
    let mut ranges = Vec::new();
    for g in &plan.groups {
        s.candidate_rows += g.candidates.iter().map(|r| r.end - r.start).sum::<u64>();
        let mut paths = vec![g.geo.latitude.as_str(), g.geo.longitude.as_str()];
        paths.extend(g.geo.time.as_deref());
        paths.extend(g.columns.iter().map(|c| c.path.as_str()));
        paths.sort_unstable();
        paths.dedup();
        for a in paths.iter().filter_map(|p| entry.manifest.array(p)) {
            for i in chunks_covering(a, g.candidates.iter().cloned()) {
                let c = &a.chunks[i];
                s.chunks += 1;
                s.bytes += c.length;
                ranges.push(c.offset..c.offset + c.length);
            }
        }
    }
    ranges.sort_by_key(|r| r.start);
    s.requests = coalesce(&ranges, gap).0.len() as u64;
    s
}

/// Subset one granule. Each geolocated group is its own task (two rounds of chunk reads, the
/// exact point-in-polygon test in between), so one granule's decoding can spread over every core:
/// traced, the last granule of a run had its groups on both workers, where as one task it kept
/// one core while the other waited. The groups share the granule's open files.
///
/// # Errors
/// When an array cannot be read or a `--vars` name does not exist.
pub async fn subset_granule(
    entry: Arc<CatalogEntry>,
    aoi: Arc<Aoi>,
    cells: &AoiCells,
    opts: Arc<SubsetOptions>,
) -> Result<(GranuleSubset, Vec<GroupRows>), SubsetError> {
    let id = entry.info.id.clone();
    let plan = plan_granule(&entry, &aoi, cells, (opts.time_start, opts.time_end), opts.vars.as_deref())?;
    let reader = Arc::new(Reader::new(&id, opts.source.clone()));
    let mut report = GranuleSubset { granule: id.clone(), groups: plan.groups.len() as u64, ..Default::default() };
    // Dropped on an early return, the set aborts the groups still running.
    let mut tasks = tokio::task::JoinSet::new();
    let groups = plan.groups.len();
    for (i, g) in plan.groups.into_iter().enumerate() {
        let (entry, aoi, opts, reader) = (entry.clone(), aoi.clone(), opts.clone(), reader.clone());
        tasks.spawn(async move { (i, subset_group(&entry, &g, &aoi, &opts, &reader).await) });
    }
    let mut done: Vec<Option<GroupRows>> = (0..groups).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.map_err(|e| SubsetError::Read { granule: id.clone(), path: String::new(), reason: format!("group task failed: {e}") })?;
        let (rows, fetched) = result?;
        report.chunks += fetched.0;
        report.floor_bytes += fetched.1;
        done[i] = rows;
    }
    let table: Vec<GroupRows> = done.into_iter().flatten().collect();
    report.points = table.iter().map(|t| t.rows.len() as u64).sum();
    let stats = reader.stats();
    report.bytes_read = stats.bytes;
    report.requests = stats.requests;
    report.round_trips = stats.round_trips;
    Ok((report, table))
}

/// One group's points: round 1 fetches the coordinates (and time, when filtering by it) of its
/// candidate rows, the exact test keeps those in the area (and time range), round 2 fetches the
/// value columns (and time) of the kept rows. Also gives the chunks fetched and their bytes.
async fn subset_group(
    entry: &CatalogEntry,
    g: &GroupPlan,
    aoi: &Aoi,
    opts: &SubsetOptions,
    reader: &Reader,
) -> Result<(Option<GroupRows>, (u64, u64)), SubsetError> {
    let id = entry.info.id.as_str();
    let url = entry.manifest.url.as_str();
    let array = |path: &str| {
        entry.manifest.array(path).ok_or_else(|| SubsetError::Read { granule: id.to_string(), path: path.into(), reason: "not in the manifest".into() })
    };
    let filter_time = opts.time_start.is_some() || opts.time_end.is_some();

    // Round 1.
    let candidates: Vec<u64> = g.candidates.iter().flat_map(|r| r.clone()).collect();
    let mut wants = vec![(array(&g.geo.latitude)?, candidates.as_slice()), (array(&g.geo.longitude)?, candidates.as_slice())];
    if let (true, Some(t)) = (filter_time, &g.geo.time) {
        wants.push((array(t)?, candidates.as_slice()));
    }
    let mut first = reader.fetch(url, &wants).await?;
    let lat = first.f64s(id, array(&g.geo.latitude)?, &candidates)?;
    let lon = first.f64s(id, array(&g.geo.longitude)?, &candidates)?;
    let time = match (filter_time, &g.geo.time) {
        (true, Some(t)) => {
            let a = array(t)?;
            let units = time_units(a);
            let v = first.f64s(id, a, &candidates)?;
            Some(v.into_iter().map(|s| units.map_or(f64::NAN, |u| u.to_unix(s))).collect::<Vec<f64>>())
        }
        _ => None,
    };
    let mut fetched = first.fetched;
    drop(first);
    let in_box = bbox_test(aoi);
    let (mut rows, mut keep_lat, mut keep_lon, mut keep_time) = (Vec::new(), Vec::new(), Vec::new(), time.as_ref().map(|_| Vec::new()));
    for (i, &row) in candidates.iter().enumerate() {
        let (y, x) = (lat[i], lon[i]);
        let in_time = time.as_ref().is_none_or(|t| opts.time_start.is_none_or(|s| t[i] >= s) && opts.time_end.is_none_or(|e| t[i] <= e));
        if in_time && in_box(y, x) && aoi.contains(y, x) {
            rows.push(row);
            keep_lat.push(y);
            keep_lon.push(x);
            if let (Some(kt), Some(t)) = (keep_time.as_mut(), time.as_ref()) {
                kt.push(t[i]);
            }
        }
    }
    if rows.is_empty() {
        return Ok((None, fetched));
    }

    // Round 2.
    let mut paths: Vec<&str> = g.columns.iter().map(|c| c.path.as_str()).collect();
    if !filter_time {
        paths.extend(g.geo.time.as_deref());
    }
    let wants = paths.iter().map(|p| Ok((array(p)?, rows.as_slice()))).collect::<Result<Vec<_>, SubsetError>>()?;
    let mut second = reader.fetch(url, &wants).await?;
    let time = match (keep_time, &g.geo.time) {
        (Some(t), _) => t.into_iter().map(Some).collect(),
        (None, Some(t)) => {
            let a = array(t)?;
            let units = time_units(a);
            second.f64s(id, a, &rows)?.into_iter().map(|s| units.map(|u| u.to_unix(s))).collect()
        }
        (None, None) => vec![None; rows.len()],
    };
    let mut columns = Vec::new();
    for c in &g.columns {
        if [&g.geo.latitude, &g.geo.longitude].contains(&&c.path) || g.geo.time.as_ref() == Some(&c.path) {
            continue;
        }
        let a = array(&c.path)?;
        columns.push((c.name.clone(), second.column(id, a, &rows, missing_value(a))?));
    }
    fetched.0 += second.fetched.0;
    fetched.1 += second.fetched.1;
    Ok((
        Some(GroupRows {
            granule: id.to_string(),
            track: track_id(id, &g.geo.group),
            group: g.geo.group.clone(),
            rows,
            lat: keep_lat,
            lon: keep_lon,
            time,
            columns,
        }),
        fetched,
    ))
}

/// Open the catalog and list its granules.
///
/// # Errors
/// When the catalog cannot be listed.
pub async fn open_catalog(opts: &SubsetOptions) -> Result<(Vec<String>, CatalogStore), SubsetError> {
    let catalog = CatalogStore::open(&opts.manifests, &opts.source)?;
    let ids = catalog.granules().await?;
    Ok((ids, catalog))
}

/// Subset the granules `ids` of `catalog` (as [`open_catalog`] lists them) into `out`,
/// `concurrency` granules at a time, reading them concurrently while the points of the finished
/// ones (in catalog order) are written. `progress` is called after each granule, in catalog
/// order. Returns the per-granule reports.
///
/// # Errors
/// When the AOI cannot be covered or the output not written; per-granule failures (a granule
/// whose columns do not fit the output included) are reported in [`GranuleSubset::error`]
/// instead.
pub async fn run_subset<W: Write + Send>(
    aoi: &Aoi,
    opts: &SubsetOptions,
    (ids, catalog): (Vec<String>, CatalogStore),
    progress: &(dyn Fn(&GranuleSubset) + Sync),
    out: &mut PointWriter<W>,
) -> Result<Vec<GranuleSubset>, SubsetError> {
    let catalog = Arc::new(catalog);
    let (aoi, opts_shared) = (Arc::new(aoi.clone()), Arc::new(opts.clone()));
    // A blocking lock in the cache, not an async one: releasing an async lock wakes the next
    // waiter onto the releasing worker's LIFO slot, which other workers cannot steal from, so
    // that granule waited for the whole decode of the releasing one (~10 ms of one idle core,
    // measured). The cells at the index's default resolution are computed at once, beside the
    // listing and the first catalog reads, rather than after the first read.
    let cells = Arc::new(CellCache::new(aoi.clone()));
    let early = cells.clone();
    drop(tokio::task::spawn_blocking(move || early.at(u8::from(GeoOptions::default().h3_resolution))));
    // Each granule is its own task, so decoding (inflate, point in polygon) uses every core.
    let one = |id: String| {
        let (catalog, cells, aoi, opts) = (catalog.clone(), cells.clone(), aoi.clone(), opts_shared.clone());
        let granule = id.clone();
        let task = tokio::spawn(async move {
            let run = async {
                let entry = Arc::new(catalog.read_selected(&id, &|geo| selection(geo, opts.vars.as_deref())).await?);
                let cells = cells.at(entry.h3_resolution)?;
                subset_granule(entry, aoi.clone(), &cells, opts.clone()).await
            };
            match run.await {
                Ok(done) => done,
                Err(e) => (GranuleSubset { granule: id, error: Some(e.to_string()), ..Default::default() }, Vec::new()),
            }
        });
        async move {
            task.await.unwrap_or_else(|e| {
                (GranuleSubset { granule, error: Some(format!("granule task failed: {e}")), ..Default::default() }, Vec::new())
            })
        }
    };
    let mut done = futures::stream::iter(ids.into_iter().map(one)).buffered(opts.concurrency.max(1));
    let mut granules = Vec::new();
    while let Some((mut report, groups)) = done.next().await {
        match out.check(&groups) {
            Ok(()) => {
                for rows in groups {
                    out.push(rows)?;
                }
            }
            Err(why) => {
                report.error = Some(format!("{}: {why}", report.granule));
                report.points = 0;
            }
        }
        progress(&report);
        granules.push(report);
    }
    Ok(granules)
}

/// A points writer into `out` with the `vz` key-value metadata of `aoi` (version, AOI box).
pub fn points_writer<W: Write + Send>(out: W, aoi: &Aoi) -> PointWriter<W> {
    let b = aoi.bbox();
    let meta = json!({"vz_version": env!("CARGO_PKG_VERSION"), "aoi_bbox": [b.xmin, b.ymin, b.xmax, b.ymax]});
    PointWriter::new(out, KeyValue::new("vz".into(), Some(meta.to_string())))
}

/// A GeoParquet points file being written: a temporary file beside `path`, renamed into place by
/// [`PointsFile::commit`]; dropped without a commit, it is removed.
pub struct PointsFile {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<PointWriter<BufWriter<WritebackFile>>>,
}

impl PointsFile {
    /// Start writing the points of a subset of `aoi` to `path`.
    ///
    /// # Errors
    /// When the temporary file cannot be created.
    pub fn create(path: &Path, aoi: &Aoi) -> Result<PointsFile, SubsetError> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "subset.parquet".into());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&tmp).map_err(|e| SubsetError::Output { path: path.display().to_string(), reason: e.to_string() })?;
        Ok(PointsFile { path: path.to_path_buf(), tmp, writer: Some(points_writer(BufWriter::new(WritebackFile::new(file)), aoi)) })
    }

    /// The writer to give [`run_subset`]. `None` once committed.
    pub fn writer(&mut self) -> Option<&mut PointWriter<impl Write + Send>> {
        self.writer.as_mut()
    }

    /// Finish the file and rename it into place.
    ///
    /// # Errors
    /// When the file cannot be finished, flushed or renamed (the temporary file is then removed).
    pub fn commit(mut self) -> Result<(), SubsetError> {
        let shown = self.path.display().to_string();
        let fail = |reason: String| SubsetError::Output { path: shown.clone(), reason };
        let Some(writer) = self.writer.take() else { return Err(fail("already written".into())) };
        let out = writer.finish().map_err(|e| e.at(&shown))?;
        out.into_inner().map_err(|e| fail(e.error().to_string()))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| fail(e.to_string()))
    }
}

impl Drop for PointsFile {
    fn drop(&mut self) {
        // Not renamed into place (an error, or never committed): the temporary file goes. After a
        // successful rename there is nothing left to remove.
        let _ = std::fs::remove_file(&self.tmp);
    }
}
