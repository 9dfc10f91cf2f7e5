//! Time `vz::dmrpp::parse_dmrpp` alone on one sidecar held in memory: the minimum and median of
//! N parses (no process start, no file read, no output), for profiling the parser.
//!
//! usage: cargo run --release --example dmrpp_parse_loop -- SIDECAR [N]

use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: dmrpp_parse_loop SIDECAR [N]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(50);
    let bytes = std::fs::read(&path)?;
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    let mut chunks = 0;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let m = vz::dmrpp::parse_dmrpp(&bytes, &path)?;
        times.push(t.elapsed());
        chunks = m.chunk_count();
    }
    times.sort();
    let mb = bytes.len() as f64 / 1e6;
    let min = times[0].as_secs_f64();
    let median = times[times.len() / 2].as_secs_f64();
    println!(
        "{path}: {chunks} chunks, {mb:.2} MB: min {:.2} ms ({:.0} MB/s), median {:.2} ms over {} parses",
        min * 1e3,
        mb / min,
        median * 1e3,
        times.len()
    );
    Ok(())
}
