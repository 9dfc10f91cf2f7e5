//! make_atl06 — write a synthetic ICESat-2 ATL06-like (Land Ice Height, release 006) granule.
//!
//! ```text
//! cargo run --release --example make_atl06 -- OUT_DIR_OR_FILE [--seed N] [--segments-per-beam N]
//!     [--track greenland|antimeridian|polar] [--libver earliest|v18|v110|v114] [--chunk 10000]
//!     [--deflate 6] [--inclination DEG] [--center-lat DEG] [--no-dimension-scales]
//! ```
//!
//! Deterministic: the same arguments give a byte-identical file (own PRNG, no timestamps).
//! If OUT is an existing directory or ends with '/', the file is named like a real granule,
//! `ATL06_YYYYMMDDhhmmss_ttttccrr_006_01.h5`. What is mimicked and why: docs/synthetic-atl06.md.

#[path = "make_atl06/beam.rs"]
mod beam;
#[path = "make_atl06/h5raw.rs"]
mod h5raw;
#[path = "make_atl06/meta.rs"]
mod meta;
#[path = "make_atl06/orbit.rs"]
mod orbit;
#[path = "make_atl06/rng.rs"]
mod rng;
#[path = "make_atl06/schema.rs"]
mod schema;
#[path = "make_atl06/surface.rs"]
mod surface;
#[path = "make_atl06/time.rs"]
mod time;
#[path = "make_atl06/writer.rs"]
mod writer;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};

use beam::{make_beam, BeamParams, BEAMS};
use orbit::{TrackKind, R_E, SEG_DX};

/// HDF5 lower library-version bound (the upper bound is left at the library's latest).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Libver {
    /// Superblock v0, symbol-table groups, object header v1, B-tree v1 chunk index.
    Earliest,
    /// Superblock v2, link-message groups (dense above 8 links), layout v3 / B-tree v1 —
    /// the structure of NSIDC-subsetted granules.
    V18,
    /// Superblock v3, dense groups, layout v4: extensible-array index for unlimited datasets.
    V110,
    /// As v110 with the HDF5 1.14 format bound.
    V114,
}

#[derive(Parser, Debug)]
#[command(about = "Write a synthetic ICESat-2 ATL06-like granule (deterministic for a seed)")]
struct Args {
    /// Output .h5 path, or a directory to get an ATL06-style file name.
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Segments per beam before cloud gaps are removed (140000 ≈ a full granule, 2,800 km).
    #[arg(long, default_value_t = 140_000)]
    segments_per_beam: usize,
    #[arg(long, value_enum, default_value_t = TrackKind::Greenland)]
    track: TrackKind,
    #[arg(long, value_enum, default_value_t = Libver::Earliest)]
    libver: Libver,
    /// Chunk length (elements) of the per-segment datasets.
    #[arg(long, default_value_t = 10_000)]
    chunk: usize,
    /// Deflate level (0 = no compression).
    #[arg(long, default_value_t = 6)]
    deflate: u8,
    /// Orbit inclination in degrees (default 92, polar track 90.25).
    #[arg(long)]
    inclination: Option<f64>,
    /// Latitude of the granule's middle segment (default: the track's anchor — 62.8 for
    /// greenland, 66.5 for antimeridian, the turning point for polar, where it picks a point
    /// on the descending branch).
    #[arg(long)]
    center_lat: Option<f64>,
    /// Do not make delta_time a dimension scale.
    #[arg(long)]
    no_dimension_scales: bool,
}

/// Seconds per day.
const DAY: f64 = 86_400.0;
/// Start of cycle 1 (2018-10-13T00:00:00Z) in delta_time; cycles last 91 days.
const CYCLE1_START: f64 = 285.0 * DAY;

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    if args.segments_per_beam < 2 || args.chunk == 0 {
        bail!("--segments-per-beam must be at least 2 and --chunk positive");
    }
    let inclination = args.inclination.unwrap_or(args.track.default_inclination());
    let mut plan = args
        .track
        .plan(inclination)
        .with_context(|| format!("inclination {inclination} never reaches the {:?} anchor", args.track))?;

    if let Some(lat) = args.center_lat {
        let ascending = args.track != TrackKind::Polar;
        plan.u_mid = orbit::Orbit::u_at_lat(plan.orbit.inclination, lat, ascending)
            .with_context(|| format!("--center-lat {lat} is never reached"))?;
    }

    // Granule-level choices drawn from the seed (stream 99; beams use streams 0..6).
    let mut g = rng::Rng::new(args.seed, 99);
    let t_mid = (400.0 + 1600.0 * g.uniform()) * DAY; // 2019-02 .. 2023-06
    let rgt = g.range(1, 1387) as i16;
    let sc_orient = g.range(0, 1) as u8;
    let t_node = t_mid - plan.u_mid / plan.orbit.n;
    let half = args.segments_per_beam as f64 / 2.0 * SEG_DX / R_E;
    let first_segment = ((plan.u_mid - half) * R_E / SEG_DX).round() as i64;
    let params = BeamParams { orbit: plan.orbit, first_segment, segments: args.segments_per_beam, t_node, sc_orient };

    let beams: Vec<beam::Beam> =
        (0..BEAMS.len()).map(|i| make_beam(&mut rng::Rng::new(args.seed, i as u64), i, &params)).collect();

    let times = beams.iter().flat_map(|b| b.f64_column("delta_time").iter().copied());
    let (t_first, t_last) = times.fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let range = |name: &str| {
        beams.iter().flat_map(|b| b.f64_column(name).iter().copied()).fold((f64::MAX, f64::MIN), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
    };
    let cycle = (1.0 + ((t_first - CYCLE1_START) / (91.0 * DAY)).floor()).max(1.0) as i8;
    let orbit_number = (1.0 + ((t_first - CYCLE1_START) * plan.orbit.n / std::f64::consts::TAU).floor()) as u16;

    let name = format!("ATL06_{}_{:04}{:02}{:02}_006_01.h5", time::compact(t_first), rgt, cycle, plan.region);
    let out = args.out.to_string_lossy();
    let path = if args.out.is_dir() || out.ends_with('/') {
        std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
        args.out.join(&name)
    } else {
        args.out.clone()
    };
    let file_name = path.file_name().map_or(name.clone(), |n| n.to_string_lossy().into_owned());

    let polygon = {
        let (left, right) = (&beams[0], &beams[5]);
        let step = (left.rows().max(right.rows()) / 20).max(1);
        let pts = |b: &beam::Beam| -> Vec<(f64, f64)> {
            let (la, lo) = (b.f64_column("latitude"), b.f64_column("longitude"));
            (0..la.len()).step_by(step).chain(la.len().checked_sub(1)).map(|i| (lo[i], la[i])).collect()
        };
        let mut p = pts(left);
        p.extend(pts(right).into_iter().rev());
        p.extend(p.first().copied());
        p
    };
    let granule = meta::Granule {
        file_name,
        seed: args.seed,
        kind: format!("{:?}", args.track).to_lowercase(),
        rgt,
        cycle,
        region: plan.region as i32,
        orbit_number,
        sc_orient: sc_orient as i8,
        t_first,
        t_last,
        lat_range: range("latitude"),
        lon_range: range("longitude"),
        rows: beams.iter().map(beam::Beam::rows).collect(),
        polygon,
    };

    let file = hdf5::File::with_options()
        .with_fapl(|p| match args.libver {
            Libver::Earliest => p.libver_earliest(),
            Libver::V18 => p.libver_v18(),
            Libver::V110 => p.libver_v110(),
            Libver::V114 => p.libver_v114(),
        })
        .with_fcpl(|p| p.obj_track_times(false)) // the root group's header: no timestamps either
        .create(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    let layout = writer::Layout { chunk: args.chunk, deflate: args.deflate, dimension_scales: !args.no_dimension_scales };
    meta::root_attrs(&file, &granule)?;
    meta::metadata(&file, &granule)?;
    meta::ancillary(&file, &granule)?;
    for b in &beams {
        writer::write_beam(&file, b, sc_orient, &layout).with_context(|| format!("beam {}", b.name))?;
    }
    meta::orbit_info(&file, &granule)?;
    meta::quality(&file, &granule, &BEAMS)?;
    file.close()?;

    println!("{}", path.display());
    let counts: Vec<String> = beams.iter().map(|b| format!("{}={}", b.name, b.rows())).collect();
    eprintln!(
        "{} | rgt {rgt} cycle {cycle} region {:02} | lat {:.4}..{:.4} lon {:.4}..{:.4} | {:.1} s",
        counts.join(" "),
        plan.region,
        granule.lat_range.0,
        granule.lat_range.1,
        granule.lon_range.0,
        granule.lon_range.1,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
