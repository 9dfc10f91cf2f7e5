//! `vz subset`: the points of the catalog's granules inside an AOI, as one GeoParquet file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::exit;
use super::s3::S3Args;
use super::render::{bytes, out};
use crate::catalog::{CatalogStore, TimeUnits};
use crate::source::SourceOptions;
use crate::spatial::Aoi;
use crate::subset::{open_catalog, CellCache, plan_granule, run_subset, selection, summarize_plan, GranuleSubset, PointsFile, SubsetOptions};

/// Flags of `vz subset`.
#[derive(Args, Debug)]
pub struct SubsetArgs {
    /// Area of interest: a GeoJSON Polygon or MultiPolygon (holes allowed; Feature and
    /// FeatureCollection too), CRS84. Split areas crossing the antimeridian at ±180.
    #[arg(long, value_name = "AOI.geojson")]
    pub aoi: PathBuf,
    /// Catalog written by `vz index` (directory or object-store prefix).
    #[arg(long, default_value = "manifests")]
    pub manifests: String,
    /// Value columns: array names relative to the geolocated group (`h_li`,
    /// `fit_statistics/dh_fit_dx`), comma-separated. Default for ATL06: h_li, h_li_sigma,
    /// atl06_quality_summary. latitude, longitude and time are always written.
    #[arg(long, value_delimiter = ',')]
    pub vars: Option<Vec<String>>,
    /// Keep points at or after this UTC time (`2020-03-25` or `2020-03-25T23:42:44Z`).
    #[arg(long)]
    pub time_start: Option<String>,
    /// Keep points at or before this UTC time.
    #[arg(long)]
    pub time_end: Option<String>,
    /// Output GeoParquet file (written atomically).
    #[arg(short, long, default_value = "subset.parquet")]
    pub output: PathBuf,
    /// Print the chunks, bytes and requests each granule would need, from the catalog alone;
    /// read no granule data and write nothing.
    #[arg(long)]
    pub plan: bool,
    /// Granules subset at once.
    #[arg(short = 'j', long, default_value_t = 4)]
    pub concurrency: usize,
    /// Merge byte ranges closer than this many bytes into one request (0: only touching ranges,
    /// so no byte outside the needed chunks is read; raise it for high-latency stores).
    #[arg(long, default_value_t = 0)]
    pub coalesce_gap: u64,
    /// Print the report as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub s3: S3Args,
}

fn utc_seconds(flag: &str, text: &Option<String>) -> anyhow::Result<Option<f64>> {
    let Some(t) = text else { return Ok(None) };
    match TimeUnits::parse(&format!("seconds since {t}")) {
        Some(u) => Ok(Some(u.epoch)),
        None => bail!("{flag}: `{t}` is not a date or UTC time (2020-03-25 or 2020-03-25T23:42:44Z)"),
    }
}

pub async fn run(args: SubsetArgs) -> anyhow::Result<u8> {
    let text = std::fs::read_to_string(&args.aoi).with_context(|| format!("{}", args.aoi.display()))?;
    let aoi = Aoi::from_geojson(&text).with_context(|| format!("{}", args.aoi.display()))?;
    let opts = SubsetOptions {
        manifests: args.manifests.clone(),
        vars: args.vars.clone(),
        time_start: utc_seconds("--time-start", &args.time_start)?,
        time_end: utc_seconds("--time-end", &args.time_end)?,
        concurrency: args.concurrency,
        source: SourceOptions { coalesce_gap: args.coalesce_gap, ..args.s3.source_options() },
    };
    if args.plan {
        return plan(&args, &aoi, &opts).await;
    }
    let started = Instant::now();
    let listed = indexed_catalog(&opts).await?;
    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(listed.0.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} granules {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let points = Mutex::new(0u64);
    let progress = |g: &GranuleSubset| {
        if let Some(e) = &g.error {
            bar.suspend(|| eprintln!("vz: {e}"));
        }
        let n = points.lock().map(|mut p| {
            *p += g.points;
            *p
        });
        bar.set_message(format!("{} points", n.unwrap_or(0)));
        bar.inc(1);
    };
    // Points are written as granules finish; the file appears under its name only when complete.
    let mut file = PointsFile::create(&args.output, &aoi)?;
    let writer = file.writer().context("the output file is already written")?;
    let granules = run_subset(&aoi, &opts, listed, &progress, writer).await.map_err(|e| e.at(&args.output.display().to_string()))?;
    let points = writer.len();
    file.commit()?;
    bar.finish_and_clear();
    let failed = granules.iter().filter(|g| g.error.is_some()).count();
    let sum = |f: fn(&GranuleSubset) -> u64| granules.iter().map(f).sum::<u64>();
    let (read, floor) = (sum(|g| g.bytes_read), sum(|g| g.floor_bytes));
    if args.json {
        let report = json!({
            "output": args.output.display().to_string(),
            "points": points,
            "granules": granules,
            "bytes_read": read,
            "floor_bytes": floor,
            "requests": sum(|g| g.requests),
            "seconds": started.elapsed().as_secs_f64(),
        });
        out(&serde_json::to_string_pretty(&report)?)?;
        out("\n")?;
    } else {
        out(&format!(
            "{} points from {} of {} granules ({failed} failed) in {:.2} s → {}\n\
             {} chunks, {} read ({} floor), {} requests\n",
            points,
            granules.iter().filter(|g| g.points > 0).count(),
            granules.len(),
            started.elapsed().as_secs_f64(),
            args.output.display(),
            sum(|g| g.chunks),
            bytes(read),
            bytes(floor),
            sum(|g| g.requests),
        ))?;
    }
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}

/// The catalog and its granules; one without any is refused (a wrong `--manifests` would
/// otherwise give an empty subset that looks like an AOI without points).
async fn indexed_catalog(opts: &SubsetOptions) -> anyhow::Result<(Vec<String>, CatalogStore)> {
    let (ids, catalog) = open_catalog(opts).await?;
    if ids.is_empty() {
        bail!("{catalog}: no indexed granules (a catalog is what `vz index … -o DIR` writes)");
    }
    Ok((ids, catalog))
}

async fn plan(args: &SubsetArgs, aoi: &Aoi, opts: &SubsetOptions) -> anyhow::Result<u8> {
    let (ids, catalog) = indexed_catalog(opts).await?;
    let mut rows = Vec::new();
    let cells = CellCache::new(Arc::new(aoi.clone()));
    for id in ids {
        let entry = catalog.read_selected(&id, &|geo| selection(geo, opts.vars.as_deref())).await?;
        let p = plan_granule(&entry, aoi, &*cells.at(entry.h3_resolution)?, (opts.time_start, opts.time_end), opts.vars.as_deref())?;
        rows.push(summarize_plan(&entry, &p, opts.source.coalesce_gap));
    }
    if args.json {
        out(&serde_json::to_string_pretty(&rows)?)?;
        out("\n")?;
        return Ok(exit::OK);
    }
    let mut text = format!("{:<44} {:>6} {:>10} {:>7} {:>10} {:>8}\n", "granule", "groups", "rows", "chunks", "bytes", "requests");
    for r in rows.iter().filter(|r| r.chunks > 0) {
        text.push_str(&format!(
            "{:<44} {:>6} {:>10} {:>7} {:>10} {:>8}\n",
            r.granule,
            r.groups,
            r.candidate_rows,
            r.chunks,
            bytes(r.bytes),
            r.requests
        ));
    }
    let total = |f: fn(&crate::subset::GranulePlanSummary) -> u64| rows.iter().map(f).sum::<u64>();
    text.push_str(&format!(
        "{} of {} granules meet the AOI: at most {} chunks, {}, {} requests (candidate rows of latitude chunks whose H3 cells meet the AOI)\n",
        rows.iter().filter(|r| r.chunks > 0).count(),
        rows.len(),
        total(|r| r.chunks),
        bytes(total(|r| r.bytes)),
        total(|r| r.requests)
    ));
    out(&text)?;
    Ok(exit::OK)
}
