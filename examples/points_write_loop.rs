//! Time writing a subset's points as GeoParquet alone (`vz::subset::PointWriter`, what `vz subset`
//! ends with): N points shaped like the Greenland bench subset (8 granules × 6 beams, ATL06's
//! default columns), written to memory; the minimum and median of R writes, for profiling.
//!
//! usage: cargo run --release --example points_write_loop -- [POINTS] [R]

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float32Array, Int8Array};
use parquet::file::metadata::KeyValue;
use vz::subset::{GroupRows, PointWriter};

/// One group's rows: a track segment crossing the area, with smooth heights.
fn group(granule: usize, beam: usize, n: usize) -> GroupRows {
    let start = (granule * 7919 + beam * 104_729) as u64 % 500_000;
    let step = |i: usize| i as f64 / n as f64;
    let lat: Vec<f64> = (0..n).map(|i| 62.63 + 0.35 * step(i) + beam as f64 * 1e-3).collect();
    let lon: Vec<f64> = (0..n).map(|i| -45.38 + 0.76 * step(i) - granule as f64 * 1e-2).collect();
    let h: Vec<f32> = (0..n).map(|i| 1500.0 + 300.0 * (step(i) * 9.0).sin() as f32).collect();
    let sigma: Vec<f32> = (0..n).map(|i| 0.02 + 0.01 * (i % 17) as f32).collect();
    let quality: Vec<i8> = (0..n).map(|i| i8::from(i % 23 == 0)).collect();
    let beams = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"];
    GroupRows {
        granule: format!("ATL06_2019062200554{granule}_02490303_006_01"),
        track: format!("{}_rgt0249_c03_r03", beams[beam % 6]),
        group: format!("/{}/land_ice_segments", beams[beam % 6]),
        rows: (start..start + n as u64).collect(),
        lat,
        lon,
        time: (0..n).map(|i| Some(1.56e9 + 0.05 * i as f64)).collect(),
        columns: vec![
            ("h_li".into(), Arc::new(Float32Array::from(h)) as ArrayRef),
            ("h_li_sigma".into(), Arc::new(Float32Array::from(sigma)) as ArrayRef),
            ("atl06_quality_summary".into(), Arc::new(Int8Array::from(quality)) as ArrayRef),
        ],
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let points: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(91_202);
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20);
    let per_group = points.div_ceil(48).max(1);
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs.max(1) {
        let groups: Vec<GroupRows> = (0..48).map(|k| group(k / 6, k % 6, per_group.min(points - (k * per_group).min(points)))).collect();
        let t = Instant::now();
        let mut w = PointWriter::new(Vec::new(), KeyValue::new("vz".into(), Some("{}".into())));
        for g in groups.into_iter().filter(|g| !g.lat.is_empty()) {
            w.push(g)?;
        }
        size = w.finish()?.len();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "{points} points, {:.2} MB: min {:.2} ms, median {:.2} ms over {} writes",
        size as f64 / 1e6,
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times.len()
    );
    Ok(())
}
