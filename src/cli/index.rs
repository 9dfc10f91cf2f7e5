//! `vz index`: build the GeoParquet catalog of a list of granules.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::exit;
use super::s3::S3Args;
use super::render::{bytes, out};
use crate::index::{index_granules, read_granule_list, DmrppMode, GranuleOutcome, IndexOptions};
use crate::spatial::GeoOptions;

/// Flags of `vz index`.
#[derive(Args, Debug)]
pub struct IndexArgs {
    /// Granule lists (text files, one path or URL per line, `#` comments; relative paths are
    /// resolved against the list's directory) and/or granule paths/URLs.
    #[arg(required = true, value_name = "LIST_OR_GRANULE")]
    pub inputs: Vec<String>,
    /// Catalog root: a directory or an object-store prefix (s3://bucket/manifests/).
    #[arg(short, long, default_value = "manifests")]
    pub output: String,
    /// Granules indexed at once.
    #[arg(short = 'j', long, default_value_t = 4)]
    pub concurrency: usize,
    /// Re-index granules that the catalog already has with the same size and ETag.
    #[arg(long)]
    pub force: bool,
    /// Read chunk manifests from DMR++ sidecars (`<granule>.dmrpp`): auto = when one exists,
    /// never = always the HDF5 header, only = require the sidecar.
    #[arg(long, value_enum, default_value_t = Dmrpp::Auto)]
    pub dmrpp: Dmrpp,
    /// Name of the latitude array, when CF attributes do not say (ATL03: lat_ph; GEDI: lat_lowestmode).
    #[arg(long)]
    pub lat: Option<String>,
    /// Name of the longitude array (ATL03: lon_ph; GEDI: lon_lowestmode).
    #[arg(long)]
    pub lon: Option<String>,
    /// Name of the time array (default: the CF time array of the group, e.g. delta_time).
    #[arg(long)]
    pub time: Option<String>,
    /// H3 resolution of the per-chunk cells (0-15; 7 = cells of ~5 km²).
    #[arg(long = "h3-res", default_value_t = 7, value_parser = clap::value_parser!(u8).range(0..=15))]
    pub h3_res: u8,
    /// Print the run report as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub s3: S3Args,
}

/// `--dmrpp` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Dmrpp {
    Auto,
    Never,
    Only,
}

impl From<Dmrpp> for DmrppMode {
    fn from(d: Dmrpp) -> DmrppMode {
        match d {
            Dmrpp::Auto => DmrppMode::Auto,
            Dmrpp::Never => DmrppMode::Never,
            Dmrpp::Only => DmrppMode::Only,
        }
    }
}

fn is_list(input: &str) -> bool {
    !input.contains("://") && (input.ends_with(".txt") || input.ends_with(".lst") || input.ends_with(".list"))
}

/// Granule locations from granule lists and/or granule paths/URLs, in order.
pub(super) fn granule_locations(inputs: &[String]) -> anyhow::Result<Vec<String>> {
    let mut locations = Vec::new();
    for input in inputs {
        if is_list(input) {
            locations.extend(read_granule_list(Path::new(input))?);
        } else {
            locations.push(input.clone());
        }
    }
    Ok(locations)
}

pub async fn run(args: IndexArgs) -> anyhow::Result<u8> {
    let locations = granule_locations(&args.inputs)?;
    let h3_resolution = h3o::Resolution::try_from(args.h3_res).context("--h3-res")?;
    let opts = IndexOptions {
        output: args.output.clone(),
        concurrency: args.concurrency,
        force: args.force,
        dmrpp: args.dmrpp.into(),
        geo: GeoOptions { lat: args.lat.clone(), lon: args.lon.clone(), time: args.time.clone(), h3_resolution },
        source: args.s3.source_options(),
        ..Default::default()
    };
    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(locations.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} granules {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let failures = Mutex::new(0usize);
    let progress = |o: &GranuleOutcome| {
        if let GranuleOutcome::Failed { error, .. } = o {
            bar.suspend(|| eprintln!("vz: {error}"));
            if let Ok(mut n) = failures.lock() {
                *n += 1;
            }
        }
        bar.inc(1);
        let n = failures.lock().map(|n| *n).unwrap_or(0);
        if n > 0 {
            bar.set_message(format!("({n} failed)"));
        }
    };
    let report = index_granules(&locations, &opts, &progress).await?;
    bar.finish_and_clear();
    let (indexed, skipped, failed) = report.counts();
    if args.json {
        out(&serde_json::to_string_pretty(&report)?)?;
        out("\n")?;
    } else {
        let (mut chunks, mut tagged) = (0, 0);
        for g in &report.granules {
            if let GranuleOutcome::Indexed { chunks: c, tagged_chunks, problems, location, .. } = g {
                chunks += c;
                tagged += tagged_chunks;
                for p in problems {
                    eprintln!("vz: {location}: {p}");
                }
            }
        }
        out(&format!(
            "indexed {indexed}, skipped {skipped} (unchanged), failed {failed} of {} granules in {:.2} s\n\
             {chunks} chunks ({tagged} with footprints), {} requests, {} read\ncatalog: {}\n",
            locations.len(),
            report.seconds,
            report.io.requests,
            bytes(report.io.bytes),
            report.output
        ))?;
    }
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}
