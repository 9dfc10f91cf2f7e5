//! Time reading one granule's catalog entry back the way `vz subset` does
//! (`decode_entry_selected` with the subset's default selection): the minimum and median of N
//! reads of the three table files held in memory (no process start, no file read), for profiling.
//!
//! usage: cargo run --release --example catalog_read_loop -- CATALOG GRANULE_ID [N]

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: catalog_read_loop CATALOG GRANULE_ID [N]";
    let root = args.next().ok_or(usage)?;
    let id = args.next().ok_or(usage)?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(50);
    let table = |name: &str| std::fs::read(Path::new(&root).join(name).join(format!("{id}.parquet"))).map(Bytes::from);
    let (g, a, c) = (table("granules")?, table("arrays")?, table("chunks")?);
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    let mut chunks = 0;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let entry = vz::catalog::decode_entry_selected(&id, g.clone(), a.clone(), c.clone(), &|geo| vz::subset::selection(geo, None))?;
        times.push(t.elapsed());
        chunks = entry.manifest.arrays.iter().map(|a| a.chunks.len()).sum::<usize>();
    }
    times.sort();
    let bytes = (g.len() + a.len() + c.len()) as f64 / 1e6;
    println!(
        "{id}: {chunks} chunks kept, {bytes:.2} MB of tables: min {:.2} ms, median {:.2} ms over {} reads",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times.len()
    );
    Ok(())
}
