//! The conformance run shared by `tests/conformance.rs` (local files) and `tests/remote.rs`
//! (HTTP, S3): read every fixture through one backend with the native HDF5 reader, compare with
//! its answer key, print failures and one summary, and fail on any mismatch.

use std::path::Path;
use std::time::Duration;

use vz::hdf5::{Hdf5Error, ReadOptions};
use vz::source::{ByteSource, ObjectSource, SourceOptions, StatsSnapshot};

use super::answer_key::AnswerKey;
use super::compare::compare_manifest;
use super::fixtures::{key_path, say};

/// A reader stuck on one file must not stall the whole run (CI has 90 minutes).
const PER_FILE_TIMEOUT: Duration = Duration::from_secs(120);

/// Mismatch lines printed per failing file, unless the run is narrowed to it with `VZ_ONLY`.
const MAX_LINES_PER_FILE: usize = 40;

/// Totals of one conformance run.
#[derive(Debug, Default)]
pub struct Summary {
    /// Backend name (`local`, `http`, `s3`).
    pub backend: String,
    /// Files read and compared.
    pub files: usize,
    /// Datasets compared field by field.
    pub datasets: usize,
    /// Of those, datasets without any mismatch.
    pub datasets_matched: usize,
    /// Storage records (chunks, contiguous blocks) matched.
    pub chunks_matched: usize,
    /// (file, dataset or `(file)`, reason) the reader declared unsupported, acceptably.
    pub unsupported: Vec<(String, String, String)>,
    /// Datasets not asserted on, by fixture caveat.
    pub skipped: usize,
    /// Files with mismatches or errors, with their lines.
    pub failures: Vec<(String, Vec<String>)>,
    /// Fixtures without an answer key (not compared).
    pub no_key: Vec<String>,
    /// Requests, bytes and round trips summed over every file.
    pub stats: StatsSnapshot,
}

/// Read and compare every file of `files` (paths relative to `root`), reaching each at
/// `location(rel)` with `opts`.
pub async fn run(
    root: &Path,
    backend: &str,
    files: &[String],
    location: impl Fn(&str) -> String,
    opts: &SourceOptions,
) -> Summary {
    let mut s = Summary { backend: backend.to_string(), ..Summary::default() };
    for rel in files {
        let key_file = key_path(root, rel);
        if !key_file.is_file() {
            s.no_key.push(rel.clone());
            continue;
        }
        let key = match AnswerKey::load(&key_file) {
            Ok(k) => k,
            Err(e) => {
                s.failures.push((rel.clone(), vec![format!("answer key unreadable: {e}")]));
                continue;
            }
        };
        let loc = location(rel);
        let source = match ObjectSource::open(&loc, opts) {
            Ok(src) => src,
            Err(e) => {
                s.failures.push((rel.clone(), vec![format!("cannot open {loc}: {e}")]));
                continue;
            }
        };
        let read = tokio::time::timeout(PER_FILE_TIMEOUT, vz::hdf5::read_manifest(&source, &ReadOptions::default())).await;
        add_stats(&mut s.stats, source.stats().snapshot());
        s.files += 1;
        match read {
            Err(_) => s.failures.push((rel.clone(), vec![format!("read timed out after {PER_FILE_TIMEOUT:?}")])),
            Ok(Err(e @ Hdf5Error::Unsupported { .. })) => s.unsupported.push((rel.clone(), "(file)".into(), e.to_string())),
            Ok(Err(e)) => s.failures.push((rel.clone(), vec![format!("read failed: {e}")])),
            Ok(Ok(manifest)) => {
                let c = compare_manifest(&manifest, &key);
                s.datasets += c.datasets;
                s.datasets_matched += c.datasets_matched;
                s.chunks_matched += c.chunks_matched;
                s.skipped += c.skipped.len();
                s.unsupported.extend(c.unsupported.into_iter().map(|(path, why)| (rel.clone(), path, why)));
                if !c.mismatches.is_empty() {
                    s.failures.push((rel.clone(), c.mismatches));
                }
            }
        }
    }
    s
}

/// `reason` without its `at byte N` parts, so the same cause in several structures reads as one.
fn without_addresses(reason: &str) -> String {
    let mut out = String::new();
    let mut rest = reason;
    while let Some(i) = rest.find(" at byte ") {
        out.push_str(&rest[..i]);
        rest = rest[i + " at byte ".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn add_stats(total: &mut StatsSnapshot, one: StatsSnapshot) {
    total.requests += one.requests;
    total.bytes += one.bytes;
    total.round_trips += one.round_trips;
}

impl Summary {
    /// Print failures (up to [`MAX_LINES_PER_FILE`] lines each), unsupported datasets with reasons,
    /// and the totals, to stderr uncaptured (so passing runs show their figures too) and in one
    /// write (so concurrent tests do not interleave).
    pub fn print(&self) {
        let b = &self.backend;
        let cap = if std::env::var_os("VZ_ONLY").is_some() { usize::MAX } else { MAX_LINES_PER_FILE };
        let mut text = String::new();
        let mut line = |l: String| {
            text.push_str(&l);
            text.push('\n');
        };
        for (file, lines) in &self.failures {
            line(format!("FAIL [{b}] {file}: {} mismatches", lines.len()));
            for l in lines.iter().take(cap) {
                line(format!("    {l}"));
            }
            if lines.len() > cap {
                line(format!("    ... {} more (VZ_ONLY={file} to see them all)", lines.len() - cap));
            }
        }
        for rel in &self.no_key {
            line(format!("note [{b}] {rel}: no answer key, not compared"));
        }
        // One line per file and reason (a group the reader cannot list hides many datasets).
        let mut by_reason: Vec<(&str, String, Vec<&str>)> = Vec::new();
        for (file, path, why) in &self.unsupported {
            let why = without_addresses(why);
            match by_reason.iter_mut().find(|(f, w, _)| f == file && *w == why) {
                Some((_, _, paths)) => paths.push(path),
                None => by_reason.push((file, why, vec![path])),
            }
        }
        for (file, why, paths) in by_reason {
            let shown = if paths.len() == 1 { paths[0].to_string() } else { format!("{} datasets ({}, ...)", paths.len(), paths[0]) };
            line(format!("unsupported [{b}] {file} {shown}: {why}"));
        }
        line(format!(
            "conformance [{b}]: {} files, {} datasets, {} chunks matched; {} of {} compared datasets differ; \
             {} unsupported with reason; {} skipped by fixture caveat; {} files failed",
            self.files,
            self.datasets_matched,
            self.chunks_matched,
            self.datasets - self.datasets_matched,
            self.datasets,
            self.unsupported.len(),
            self.skipped,
            self.failures.len(),
        ));
        line(format!(
            "conformance [{b}]: {} requests, {} bytes ({:.1} MiB), {} round trips",
            self.stats.requests,
            self.stats.bytes,
            self.stats.bytes as f64 / (1024.0 * 1024.0),
            self.stats.round_trips
        ));
        say(text.trim_end());
    }

    /// Panic when any file failed (the lines were printed by [`Summary::print`]).
    pub fn assert_ok(&self) {
        let failed: Vec<&str> = self.failures.iter().map(|(f, _)| f.as_str()).collect();
        let more = if failed.len() > 10 { format!(" and {} more", failed.len() - 10) } else { String::new() };
        assert!(
            failed.is_empty(),
            "[{}] {} of {} files differ from their answer keys (lines above): {}{more}",
            self.backend,
            failed.len(),
            self.files,
            failed[..failed.len().min(10)].join(", ")
        );
        assert!(self.files > 0, "[{}] no fixture was read", self.backend);
    }
}
