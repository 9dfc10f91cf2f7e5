//! Indexing one granule: read, tag, encode, write.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Instant;

use super::{wkb, DmrppMode, GranuleOutcome, IndexOptions};
use crate::catalog::{self, CatalogEntry, CatalogError, CatalogStore, ChunkSpatial, GeolocationInfo, GranuleInfo, CatalogFile, PreviousEntry, TimeUnits};
use crate::{dmrpp, hdf5};
use crate::manifest::{GranuleManifest, Problem};
use crate::source::{ByteSource, ObjectSource, SourceError};
use crate::spatial::{self, Footprint, GeolocatedGroup, Track};

/// The catalog id of a granule: its file name without directory and extensions
/// (`…/ATL06_2019…_006_01.h5` → `ATL06_2019…_006_01`).
pub fn granule_id(location: &str) -> String {
    let name = location.trim_end_matches('/').rsplit('/').next().unwrap_or(location);
    let name = name.strip_suffix(".dmrpp").unwrap_or(name);
    for ext in [".h5", ".hdf5", ".he5", ".nc4", ".nc", ".hdf"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    name.to_string()
}

/// Locations whose id was already taken by an earlier location in the list → that earlier one.
pub(super) fn duplicate_ids(locations: &[String]) -> HashMap<&str, String> {
    let mut first: HashMap<String, &str> = HashMap::new();
    let mut dup = HashMap::new();
    for l in locations {
        match first.get(&granule_id(l)) {
            Some(other) => {
                dup.insert(l.as_str(), (*other).to_string());
            }
            None => {
                first.insert(granule_id(l), l);
            }
        }
    }
    dup
}

fn failed(location: &str, error: impl std::fmt::Display) -> GranuleOutcome {
    GranuleOutcome::Failed { location: location.to_string(), error: format!("{error:#}") }
}

pub(super) async fn index_one(location: &str, opts: &IndexOptions, catalog: &CatalogStore) -> GranuleOutcome {
    let started = Instant::now();
    let id = granule_id(location);
    let source = match ObjectSource::open(location, &opts.source) {
        Ok(s) => s,
        Err(e) => return failed(location, e),
    };
    let meta = match source.meta().await {
        Ok(m) => m.clone(),
        Err(e) => return failed(location, e),
    };
    let now = PreviousEntry { size: meta.size, etag: meta.e_tag.clone(), h3_resolution: u64::from(u8::from(opts.geo.h3_resolution)) };
    if !opts.force && catalog.previous(&id).await.as_ref() == Some(&now) {
        return GranuleOutcome::Skipped { location: location.to_string(), granule: id };
    }
    let manifest = match read_manifest(location, &source, meta.size, opts).await {
        Ok(m) => m,
        Err(e) => return failed(location, e),
    };
    let info = GranuleInfo { id: id.clone(), etag: meta.e_tag.clone(), last_modified_ms: Some(meta.last_modified.timestamp_millis()) };
    let groups = spatial::find_geolocated_groups(&manifest, &opts.geo);
    let tracks = read_tracks(&manifest, &groups, &source).await;
    // Footprints and Parquet encoding are CPU work: they run on the blocking pool, not on the
    // thread that drives the granules' I/O, so granules indexed at once use every core.
    let res = opts.geo.h3_resolution;
    let work = tokio::task::spawn_blocking(move || {
        let entry = tag(manifest, &groups, tracks, res, info);
        encode(&entry).map(|files| (entry, files))
    });
    let (entry, files) = match work.await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return failed(location, e),
        Err(e) => return failed(location, format!("indexing stopped: {e}")),
    };
    let tagged_chunks = entry.spatial.values().map(|(_, v)| v.len()).sum();
    let groups = entry.geolocation.len();
    // The granules file goes last: its presence marks the granule as completely indexed.
    for file in &files {
        if let Err(e) = catalog.put(&id, file).await {
            return failed(location, e);
        }
    }
    let m = &entry.manifest;
    GranuleOutcome::Indexed {
        location: location.to_string(),
        granule: id,
        arrays: m.arrays.len(),
        chunks: m.chunk_count(),
        tagged_chunks,
        groups,
        problems: m.problems.iter().map(|p| format!("{}: {}", p.path, p.reason)).collect(),
        seconds: started.elapsed().as_secs_f64(),
        io: source.stats().snapshot(),
    }
}

/// Why a granule's manifest could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Hdf5(#[from] hdf5::Hdf5Error),
    #[error(transparent)]
    Dmrpp(#[from] dmrpp::DmrppError),
}

/// Read one granule's manifest the way `vz index` does (DMR++ sidecar per `opts.dmrpp`, else
/// the HDF5 header), for commands that need manifests without indexing.
///
/// # Errors
/// When the granule (or a required sidecar) cannot be reached or parsed.
pub async fn read_granule(location: &str, opts: &IndexOptions) -> Result<GranuleManifest, ReadError> {
    let source = ObjectSource::open(location, &opts.source)?;
    let size = source.meta().await?.size;
    read_manifest(location, &source, size, opts).await
}

/// The granule's manifest: from its DMR++ sidecar when `--dmrpp` allows and one exists, else
/// from the HDF5 header. A sidecar records no file size; the granule's own size is used.
async fn read_manifest(location: &str, granule: &ObjectSource, size: u64, opts: &IndexOptions) -> Result<GranuleManifest, ReadError> {
    if opts.dmrpp != DmrppMode::Never {
        let sidecar = ObjectSource::open(&format!("{location}.dmrpp"), &opts.source)?;
        match sidecar.meta().await {
            Ok(_) => {
                let mut m = dmrpp::read_dmrpp(&sidecar).await?;
                m.size = size;
                return Ok(m);
            }
            Err(SourceError::NotFound { .. }) if opts.dmrpp == DmrppMode::Auto => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(hdf5::read_manifest(granule, &opts.read).await?)
}

/// The time units of a group's time array, from its `units` attribute.
fn time_units(m: &GranuleManifest, g: &GeolocatedGroup) -> Option<TimeUnits> {
    let a = m.array(g.time.as_deref()?)?;
    let units = a.attributes.iter().find(|at| at.name == "units")?.value.as_str()?;
    TimeUnits::parse(units)
}

fn to_spatial(f: Footprint, units: Option<TimeUnits>) -> ChunkSpatial {
    ChunkSpatial {
        rows: f.rows,
        points: f.points,
        wkb: f.wkb,
        h3: f.h3,
        time: match (f.time, units) {
            (Some((a, b)), Some(u)) => Some((u.to_unix(a), u.to_unix(b))),
            _ => None,
        },
        row_boxes: f.row_boxes,
    }
}

/// The row runs of the latitude array's chunks, in row order (`None` without the array).
fn latitude_runs(m: &GranuleManifest, g: &GeolocatedGroup) -> Option<Vec<Range<u64>>> {
    let a = m.array(&g.latitude)?;
    let mut runs: Vec<Range<u64>> = a.chunks.iter().map(|c| spatial::chunk_rows(a, c)).collect();
    runs.sort_by_key(|r| r.start);
    Some(runs)
}

/// The files of a granule: its subset index and three tables, granules last (see [`index_one`]).
fn encode(entry: &CatalogEntry) -> Result<[CatalogFile; 4], CatalogError> {
    Ok([
        catalog::encode_subset_index(entry)?,
        catalog::encode_chunks(entry)?,
        catalog::encode_arrays(entry)?,
        catalog::encode_granule(entry)?,
    ])
}

/// The tracks of `groups`, read at once; a track that cannot be read is kept as the reason why.
async fn read_tracks(manifest: &GranuleManifest, groups: &[GeolocatedGroup], source: &dyn ByteSource) -> Vec<Result<Track, String>> {
    let reads = groups.iter().map(|g| spatial::read_track(manifest, g, source));
    futures::future::join_all(reads).await.into_iter().map(|t| t.map_err(|e| e.to_string())).collect()
}

/// Give every chunk of the arrays of `groups` the footprint of its rows, from the groups' `tracks`.
/// A group whose track could not be read becomes a problem of the granule.
fn tag(
    mut manifest: GranuleManifest,
    groups: &[GeolocatedGroup],
    tracks: Vec<Result<Track, String>>,
    res: h3o::Resolution,
    info: GranuleInfo,
) -> CatalogEntry {
    let mut spatial_map = HashMap::new();
    let mut geolocation = Vec::new();
    let mut parts = Vec::new();
    let mut time: Option<(f64, f64)> = None;
    let mut problems = Vec::new();
    for (g, track) in groups.iter().zip(tracks) {
        let track = match track {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem { path: g.group.clone(), reason: format!("cannot read its geolocation: {e}") });
                continue;
            }
        };
        let units = time_units(&manifest, g);
        // The latitude array's chunks tile the track: their footprints also give the outline of the
        // whole track, which the granule keeps (line and time range, no H3 cells).
        let mut memo: HashMap<Range<u64>, ChunkSpatial> = HashMap::new();
        let runs = latitude_runs(&manifest, g);
        let whole = match runs.as_deref().and_then(|runs| track.tiles(runs, res).map(|t| (runs, t))) {
            Some((runs, (footprints, outline))) => {
                for (run, f) in runs.iter().zip(footprints) {
                    memo.insert(run.clone(), to_spatial(f, units));
                }
                to_spatial(outline, units)
            }
            None => to_spatial(track.outline(0..g.rows), units),
        };
        parts.extend(whole.wkb.clone());
        if let Some((a, b)) = whole.time {
            time = Some(time.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
        }
        for path in &g.arrays {
            let Some(a) = manifest.array(path) else { continue };
            let chunks = a
                .chunks
                .iter()
                .map(|c| {
                    let rows = spatial::chunk_rows(a, c);
                    memo.entry(rows.clone()).or_insert_with(|| to_spatial(track.footprint(rows, res), units)).clone()
                })
                .collect();
            spatial_map.insert(path.clone(), (g.group.clone(), chunks));
        }
        geolocation.push(GeolocationInfo {
            group: g.group.clone(),
            latitude: g.latitude.clone(),
            longitude: g.longitude.clone(),
            time: g.time.clone(),
            rows: g.rows,
        });
    }
    manifest.problems.extend(problems);
    CatalogEntry {
        info,
        manifest,
        geolocation,
        spatial: spatial_map,
        footprint: wkb::union_lines(&parts),
        time,
        h3_resolution: u8::from(res),
    }
}
