//! `vz inspect`: one granule's tree and chunk manifest.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::exit;
use super::s3::S3Args;
use super::render::{bytes, out};
use crate::dmrpp::read_dmrpp;
use crate::hdf5::{read_manifest, ReadOptions};
use crate::manifest::{ArrayMeta, ChunkRef, GranuleManifest};
use crate::source::StatsSnapshot;

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
    #[command(flatten)]
    pub s3: S3Args,
}

pub async fn run(args: InspectArgs) -> anyhow::Result<u8> {
    let opts = args.s3.source_options();
    let source = crate::source::open(&args.location, &opts)?;
    let started = Instant::now();
    let mut manifest = if args.location.ends_with(".dmrpp") {
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
        write_json(&mut w, &mut manifest, stats)?;
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

/// Write `vz inspect --json`: exactly what serde_json makes of [`JsonOutput`], with the chunk
/// lists (nearly all of the output: 50 MB for a million chunks) written by hand. serde_json
/// spends most of that time escaping the same three keys per chunk and formatting through its
/// generic map machinery; the rest of the document still goes through serde.
fn write_json(w: &mut impl std::io::Write, m: &mut GranuleManifest, stats: Option<JsonStats>) -> std::io::Result<()> {
    let mut arrays = std::mem::take(&mut m.arrays);
    let head = serde_json::to_vec(&JsonOutput { manifest: m, stats });
    let result = head.map_err(std::io::Error::from).and_then(|head| {
        // Keys after `arrays` (links, problems, stats) cannot contain an unescaped quote, so
        // the last match is the manifest's own (empty) list.
        let (before, after) = split_last(&head, b"\"arrays\":[]").ok_or_else(|| std::io::Error::other("no arrays key"))?;
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(before);
        buf.extend_from_slice(b"\"arrays\":[");
        for (i, a) in arrays.iter_mut().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            let chunks = std::mem::take(&mut a.chunks);
            let text = serde_json::to_vec(&*a);
            a.chunks = chunks;
            let text = text?;
            // Fields after `chunks` (inline hex, external files, unsupported) hold only strings.
            let (pre, post) = split_last(&text, b"\"chunks\":[]").ok_or_else(|| std::io::Error::other("no chunks key"))?;
            buf.extend_from_slice(pre);
            buf.extend_from_slice(b"\"chunks\":[");
            for (j, c) in a.chunks.iter().enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                chunk_json(&mut buf, c)?;
                if buf.len() >= 1 << 16 {
                    w.write_all(&buf)?;
                    buf.clear();
                }
            }
            buf.push(b']');
            buf.extend_from_slice(post);
        }
        buf.extend_from_slice(b"]");
        buf.extend_from_slice(after);
        w.write_all(&buf)
    });
    m.arrays = arrays;
    result
}

/// `text` split around the last occurrence of `needle` (which is left out).
fn split_last<'a>(text: &'a [u8], needle: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = text.windows(needle.len()).rposition(|w| w == needle)?;
    Some((&text[..at], &text[at + needle.len()..]))
}

/// One chunk as serde writes [`ChunkRef`]: `filter_mask` only when set, `href` only when present.
fn chunk_json(buf: &mut Vec<u8>, c: &ChunkRef) -> std::io::Result<()> {
    buf.extend_from_slice(b"{\"coords\":[");
    for (i, &v) in c.coords.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        decimal(buf, v);
    }
    buf.extend_from_slice(b"],\"offset\":");
    decimal(buf, c.offset);
    buf.extend_from_slice(b",\"length\":");
    decimal(buf, c.length);
    if c.filter_mask != 0 {
        buf.extend_from_slice(b",\"filter_mask\":");
        decimal(buf, u64::from(c.filter_mask));
    }
    if let Some(href) = &c.href {
        buf.extend_from_slice(b",\"href\":");
        serde_json::to_writer(&mut *buf, href)?;
    }
    buf.push(b'}');
    Ok(())
}

/// `v` in decimal, as serde_json writes integers.
fn decimal(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ByteOrder, Datatype, Fill, Layout, SourceKind};

    #[test]
    fn hand_written_chunks_match_serde() {
        let chunk = |coords: Vec<u64>, offset, filter_mask, href: Option<&str>| ChunkRef {
            coords: coords.into(),
            offset,
            length: offset / 3 + 7,
            filter_mask,
            href: href.map(|h| std::sync::Arc::new(h.to_string())),
        };
        let array = |path: &str, chunks| ArrayMeta {
            path: path.to_string(),
            shape: vec![10, 20],
            maxshape: vec![None, Some(20)],
            dtype: Datatype::Integer { size: 4, signed: true, order: ByteOrder::Le },
            layout: Layout::Chunked,
            chunk_shape: vec![5, 5],
            chunk_index: None,
            filters: vec![],
            fill: Fill::default(),
            attributes: vec![],
            dimensions: vec![],
            chunks,
            inline: Some(vec![1, 2]),
            external: vec![],
            unsupported: Some("odd \"chunks\":[] text".to_string()),
        };
        let mut m = GranuleManifest {
            url: "a \"chunks\":[] \"arrays\":[] b".to_string(),
            size: 1 << 40,
            source: SourceKind::Hdf5,
            groups: vec![],
            arrays: vec![
                array("/a", vec![chunk(vec![0, 0], 0, 0, None), chunk(vec![1, u64::MAX], u64::MAX, 5, Some("x\"y.h5"))]),
                array("/empty", vec![]),
                array("/deep", vec![chunk(vec![1, 2, 3, 4, 5], 12345, 0, None)]),
            ],
            links: vec![],
            problems: vec![],
        };
        for stats in [None, Some(JsonStats { requests: 3, bytes: 4, round_trips: 2, seconds: 0.5 })] {
            let want = serde_json::to_vec(&JsonOutput { manifest: &m, stats: stats.as_ref().map(|s| JsonStats { ..*s }) }).unwrap();
            let mut got = Vec::new();
            write_json(&mut got, &mut m, stats).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(want).unwrap());
            assert_eq!(m.arrays[0].chunks.len(), 2, "chunks are put back");
        }
    }
}
