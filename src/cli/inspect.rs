//! `vz inspect`: one granule's tree and chunk manifest.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::exit;
use super::render::{bytes, out};
use crate::dmrpp::read_dmrpp;
use crate::hdf5::{read_manifest, ReadOptions};
use crate::manifest::{ArrayMeta, GranuleManifest};
use crate::source::{SourceOptions, StatsSnapshot};

/// Flags of `vz inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A local path, file://, s3://bucket/key or http(s):// URL of an HDF5 file or of a DMR++
    /// sidecar (`*.dmrpp`).
    pub location: String,
    /// Print the whole manifest as JSON (schema: docs/manifest-json.md).
    #[arg(long)]
    pub json: bool,
    /// Print requests, bytes and sequential round trips used to read the metadata.
    #[arg(long)]
    pub stats: bool,
    /// List every chunk in the tree view (default: first and last few per dataset).
    #[arg(long)]
    pub chunks: bool,
    /// S3 endpoint URL (e.g. http://127.0.0.1:9000); default $AWS_ENDPOINT_URL or AWS.
    #[arg(long, env = "VZ_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Send unsigned S3 requests (public buckets).
    #[arg(long)]
    pub no_sign_request: bool,
}

pub async fn run(args: InspectArgs) -> anyhow::Result<u8> {
    let opts = SourceOptions { s3_endpoint: args.s3_endpoint.clone(), s3_unsigned: args.no_sign_request, ..Default::default() };
    let source = crate::source::open(&args.location, &opts)?;
    let started = Instant::now();
    let manifest = if args.location.ends_with(".dmrpp") {
        read_dmrpp(source.as_ref()).await.map_err(anyhow::Error::from)
    } else {
        read_manifest(source.as_ref(), &ReadOptions::default()).await.map_err(anyhow::Error::from)
    }
    .with_context(|| format!("cannot read {}", args.location))?;
    let elapsed = started.elapsed();
    let stats = source.stats().snapshot();
    if args.json {
        // Serialized straight from the manifest: building a `serde_json::Value` tree first
        // costs more than reading a DMR++ sidecar.
        let stats = args.stats.then_some(JsonStats {
            requests: stats.requests,
            bytes: stats.bytes,
            round_trips: stats.round_trips,
            seconds: elapsed.as_secs_f64(),
        });
        // Written through a buffer straight to stdout: no whole-document string (50 MB for a
        // million chunks) is built first.
        let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        serde_json::to_writer(&mut w, &JsonOutput { manifest: &manifest, stats })?;
        w.write_all(b"\n")?;
        w.flush()?;
    } else {
        out(&tree(&manifest, args.chunks))?;
        if args.stats {
            out(&stats_line(&manifest, stats, elapsed.as_secs_f64()))?;
        }
    }
    let code = if manifest.problems.is_empty() {
        exit::OK
    } else {
        for p in &manifest.problems {
            eprintln!("vz: {}: {}: {}", manifest.url, p.path, p.reason);
        }
        exit::PARTIAL
    };
    // The process ends right after: freeing a million chunk records one by one would only
    // delay the exit (the OS reclaims the memory at once).
    std::mem::forget(manifest);
    Ok(code)
}

/// `vz inspect --json`: the manifest's fields, then `stats` with `--stats`.
#[derive(serde::Serialize)]
struct JsonOutput<'a> {
    #[serde(flatten)]
    manifest: &'a GranuleManifest,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<JsonStats>,
}

#[derive(serde::Serialize)]
struct JsonStats {
    requests: u64,
    bytes: u64,
    round_trips: u64,
    seconds: f64,
}

fn stats_line(m: &GranuleManifest, s: StatsSnapshot, secs: f64) -> String {
    let pct = if m.size > 0 { 100.0 * s.bytes as f64 / m.size as f64 } else { 0.0 };
    format!(
        "\nread {} requests, {} ({pct:.2}% of {}), {} sequential round trips, {secs:.3} s\n",
        s.requests,
        bytes(s.bytes),
        bytes(m.size),
        s.round_trips
    )
}

fn tree(m: &GranuleManifest, all_chunks: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} ({}, {} groups, {} datasets, {} chunks)", m.url, bytes(m.size), m.groups.len(), m.arrays.len(), m.chunk_count());
    let mut paths: Vec<(&str, Option<&ArrayMeta>)> = m.groups.iter().map(|g| (g.path.as_str(), None)).collect();
    paths.extend(m.arrays.iter().map(|a| (a.path.as_str(), Some(a))));
    paths.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    for (path, array) in paths {
        let depth = path.matches('/').count().saturating_sub(1);
        let indent = "  ".repeat(depth);
        let name = path.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("/");
        match array {
            None if path == "/" => {}
            None => {
                let _ = writeln!(s, "{indent}{name}/");
            }
            Some(a) => {
                let dtype = a.dtype.numpy().unwrap_or_else(|| a.dtype.class_name().to_string());
                let filters: Vec<&str> = a.filters.iter().map(|f| f.name.as_str()).collect();
                let stored: u64 = a.chunks.iter().map(|c| c.length).sum();
                let _ = writeln!(
                    s,
                    "{indent}{name}  {dtype} {:?} chunks {:?} {:?}{}  {} stored chunks, {}",
                    a.shape,
                    a.chunk_shape,
                    a.layout,
                    if filters.is_empty() { String::new() } else { format!(" [{}]", filters.join(",")) },
                    a.chunks.len(),
                    bytes(stored)
                );
                if let Some(why) = &a.unsupported {
                    let _ = writeln!(s, "{indent}  unsupported: {why}");
                }
                let n = a.chunks.len();
                for (i, c) in a.chunks.iter().enumerate() {
                    if all_chunks || i < 2 || i + 2 >= n {
                        let mask = if c.filter_mask != 0 { format!(" mask {:#x}", c.filter_mask) } else { String::new() };
                        let _ = writeln!(s, "{indent}    {:?} @ {} +{}{mask}", c.coords, c.offset, c.length);
                    } else if i == 2 {
                        let _ = writeln!(s, "{indent}    ... {} more", n - 4);
                    }
                }
            }
        }
    }
    for l in &m.links {
        let _ = writeln!(s, "link {} -> {:?}", l.path, l.target);
    }
    s
}
