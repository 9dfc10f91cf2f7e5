//! Time reading one granule's catalog entry back the way `vz subset` does, both ways side by side:
//! from its subset index (`decode_subset_index`) and from its three tables
//! (`decode_entry_selected`), with the subset's default selection. Minimum and median of N reads
//! of files held in memory (no process start, no file read), for profiling.
//!
//! usage: cargo run --release --example catalog_read_loop -- CATALOG GRANULE_ID [N]

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use vz::catalog::{CatalogEntry, CatalogReadError};

/// Minimum and median of `n` runs of `read`, and the chunks the entry kept.
fn time(n: usize, read: impl Fn() -> Result<CatalogEntry, CatalogReadError>) -> Result<(Duration, Duration, usize), CatalogReadError> {
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    let mut chunks = 0;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let entry = read()?;
        times.push(t.elapsed());
        chunks = entry.manifest.chunk_count();
    }
    times.sort();
    Ok((times[0], times[times.len() / 2], chunks))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: catalog_read_loop CATALOG GRANULE_ID [N]";
    let root = args.next().ok_or(usage)?;
    let id = args.next().ok_or(usage)?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(50);
    let file = |dir: &str, ext: &str| std::fs::read(Path::new(&root).join(dir).join(format!("{id}.{ext}"))).map(Bytes::from);
    let (g, a, c) = (file("granules", "parquet")?, file("arrays", "parquet")?, file("chunks", "parquet")?);
    let index = file(vz::catalog::SUBSET_INDEX, "vzs")?;
    let select = |geo: &[vz::catalog::GeolocationInfo]| vz::subset::selection(geo, None);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let fast = time(n, || vz::catalog::decode_subset_index(&id, &index, &select))?;
    let tables = time(n, || vz::catalog::decode_entry_selected(&id, g.clone(), a.clone(), c.clone(), &select))?;
    println!("{id}: {} chunks kept, median of {n} reads (min):", fast.2);
    println!("  subset index  {:.2} MB  {:.3} ms ({:.3})", index.len() as f64 / 1e6, ms(fast.1), ms(fast.0));
    println!("  three tables  {:.2} MB  {:.3} ms ({:.3})", (g.len() + a.len() + c.len()) as f64 / 1e6, ms(tables.1), ms(tables.0));
    Ok(())
}
