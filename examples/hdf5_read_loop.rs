//! Time `vz::hdf5::read_manifest` alone on one local file: the minimum and median of N reads
//! (no process start, no output), and the JSON serialisation `vz inspect --json` does after it,
//! for profiling the reader on a noisy machine (the minimum is the stable figure).
//!
//! usage: cargo run --release --example hdf5_read_loop -- FILE [N] [--no-json]
//!
//! `--no-json` skips the serialisation, so a profile of the loop shows the reader alone.

use std::time::{Duration, Instant};

fn stats(times: &mut [Duration]) -> (f64, f64) {
    times.sort();
    (times[0].as_secs_f64() * 1e3, times[times.len() / 2].as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: hdf5_read_loop FILE [N]")?;
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20).max(1);
    let json_too = args.next().as_deref() != Some("--no-json");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let source = vz::source::open(&path, &vz::source::SourceOptions::default())?;
    let opts = vz::hdf5::ReadOptions::default();
    let (mut reads, mut writes) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut chunks, mut json) = (0, 0);
    for _ in 0..n {
        let t = Instant::now();
        let m = rt.block_on(vz::hdf5::read_manifest(source.as_ref(), &opts))?;
        reads.push(t.elapsed());
        chunks = m.chunk_count();
        if !json_too {
            continue;
        }
        let t = Instant::now();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::sink());
        serde_json::to_writer(&mut out, &m)?;
        writes.push(t.elapsed());
        json = serde_json::to_vec(&m)?.len();
    }
    let (rmin, rmed) = stats(&mut reads);
    if writes.is_empty() {
        println!("{path}: {chunks} chunks; read_manifest min {rmin:.2} ms, median {rmed:.2} ms; {n} runs");
        return Ok(());
    }
    let (wmin, wmed) = stats(&mut writes);
    println!("{path}: {chunks} chunks; read_manifest min {rmin:.2} ms, median {rmed:.2} ms; JSON ({:.1} MB) min {wmin:.2} ms, median {wmed:.2} ms; {n} runs", json as f64 / 1e6);
    Ok(())
}
