//! `vz export`: write other tools' descriptions of a granule.

use anyhow::Context;
use clap::{Args, Subcommand};
use futures::StreamExt;
use object_store::{ObjectStoreExt, PutPayload};

use super::exit;
use super::s3::S3Args;
use super::index::{granule_locations, Dmrpp};
use super::render::out;
use crate::catalog::CatalogStore;
use crate::dmrpp::write_dmrpp;
use crate::hdf5::{read_manifest, ReadOptions};
use crate::index::{read_granule, IndexOptions};
use crate::kerchunk::{references, to_json, to_parquet, write, ReferenceOptions, DEFAULT_RECORD_SIZE};
use crate::source::GranuleLocation;

/// Flags of `vz export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(subcommand)]
    what: ExportKind,
}

#[derive(Subcommand, Debug)]
enum ExportKind {
    /// Write a DMR++ sidecar from the HDF5 header, as OPeNDAP's build_dmrpp writes it, so a data
    /// provider can publish sidecars without running an OPeNDAP server.
    ///
    /// Examples:
    ///   vz export dmrpp granule.h5                      # writes granule.h5.dmrpp beside it
    ///   vz export dmrpp s3://bucket/g.h5 -o s3://bucket/g.h5.dmrpp
    ///   vz export dmrpp granule.h5 -o - | less
    Dmrpp(DmrppArgs),
    /// Write kerchunk references (fsspec ReferenceFileSystem, Zarr v2) for granules, so xarray
    /// and zarr-python read their arrays in place. One hierarchy per granule under its granule
    /// id (`--root`: a single granule at the root, as kerchunk writes it). `-o x.json` writes
    /// JSON, `-o x.parquet` fsspec's Parquet reference directory.
    ///
    /// Examples:
    ///   vz export kerchunk fixtures/granules.txt -o atl06.json
    ///   vz export kerchunk --root granule.h5 -o granule.json
    ///   vz export kerchunk s3://bucket/a.h5 s3://bucket/b.h5 -o refs.parquet
    ///   vz export kerchunk --manifests manifests/ -o catalog.json   # from a `vz index` catalog
    ///
    /// Arrays Zarr cannot express (variable-length strings, szip, external storage, ...) are
    /// listed on stderr and left out; exit code 3 then.
    Kerchunk(KerchunkArgs),
}

#[derive(Args, Debug)]
struct DmrppArgs {
    /// HDF5 granule (path or URL).
    granule: String,
    /// Output path or URL; `-` for standard output. Default: `<granule>.dmrpp` for local granules.
    #[arg(short, long)]
    output: Option<String>,
    /// The `dmrpp:href` to record. The default placeholder makes readers use the sidecar's own
    /// URL minus `.dmrpp`, so the pair can be moved together.
    #[arg(long, default_value = "OPeNDAP_DMRpp_DATA_ACCESS_URL")]
    href: String,
    #[command(flatten)]
    s3: S3Args,
}

#[derive(Args, Debug)]
struct KerchunkArgs {
    /// Granule lists (one path or URL per line) and/or granule paths/URLs, read like `vz index`.
    #[arg(required_unless_present = "manifests", value_name = "LIST_OR_GRANULE")]
    inputs: Vec<String>,
    /// Take the manifests of every granule in a catalog written by `vz index` (a directory or
    /// object-store prefix) instead of reading granule headers.
    #[arg(long, value_name = "CATALOG")]
    manifests: Option<String>,
    /// Output path or URL: `*.json` (one JSON file) or `*.parquet` / `*.parq` (a directory in
    /// fsspec's lazy Parquet layout). Local outputs are replaced atomically.
    #[arg(short, long)]
    output: String,
    /// Put the single granule's root group at the Zarr root instead of under its granule id.
    #[arg(long)]
    root: bool,
    /// Read chunk manifests from DMR++ sidecars: auto = when one exists, never, only.
    #[arg(long, value_enum, default_value_t = Dmrpp::Auto)]
    dmrpp: Dmrpp,
    /// Chunk references per Parquet file.
    #[arg(long, default_value_t = DEFAULT_RECORD_SIZE)]
    record_size: u64,
    /// Granules read at once.
    #[arg(short = 'j', long, default_value_t = 4)]
    concurrency: usize,
    #[command(flatten)]
    s3: S3Args,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<u8> {
    match args.what {
        ExportKind::Dmrpp(a) => dmrpp(a).await,
        ExportKind::Kerchunk(a) => kerchunk(a).await,
    }
}

async fn kerchunk(a: KerchunkArgs) -> anyhow::Result<u8> {
    let name = a.output.trim_end_matches('/').to_lowercase();
    let parquet = if name.ends_with(".json") {
        false
    } else if name.ends_with(".parquet") || name.ends_with(".parq") {
        true
    } else {
        anyhow::bail!("{}: name the output *.json (JSON) or *.parquet (Parquet directory)", a.output);
    };
    let locations = granule_locations(&a.inputs)?;
    let opts = IndexOptions {
        dmrpp: a.dmrpp.into(),
        source: a.s3.source_options(),
        ..Default::default()
    };
    let mut manifests = Vec::new();
    let mut failed = 0;
    if let Some(dir) = &a.manifests {
        let catalog = CatalogStore::open(dir, &opts.source)?;
        let ids = catalog.granules().await?;
        if ids.is_empty() {
            anyhow::bail!("{catalog}: no indexed granules");
        }
        let read: Vec<_> = futures::stream::iter(&ids).map(|id| catalog.read(id)).buffered(a.concurrency.max(1)).collect().await;
        for (id, entry) in ids.iter().zip(read) {
            match entry {
                Ok(e) => manifests.push(e.manifest),
                Err(e) => {
                    failed += 1;
                    eprintln!("vz: {catalog}: {id}: {e:#}");
                }
            }
        }
    }
    let read: Vec<_> = futures::stream::iter(&locations)
        .map(|l| read_granule(l, &opts))
        .buffered(a.concurrency.max(1))
        .collect()
        .await;
    for (location, m) in locations.iter().zip(read) {
        match m {
            Ok(m) => manifests.push(m),
            Err(e) => {
                failed += 1;
                eprintln!("vz: {location}: {e:#}");
            }
        }
    }
    if manifests.is_empty() {
        anyhow::bail!("no granule could be read");
    }
    let refs = references(&manifests, &ReferenceOptions { at_root: a.root })?;
    let encoded = if parquet { to_parquet(&refs, a.record_size)? } else { to_json(&refs) };
    write(a.output.trim_end_matches('/'), &encoded, &opts.source).await?;
    for m in &manifests {
        for p in &m.problems {
            eprintln!("vz: {}: {}: {}", m.url, p.path, p.reason);
        }
    }
    for s in &refs.skipped {
        eprintln!("vz: {}: {}: not exported: {}", s.granule, s.path, s.reason);
    }
    out(&format!(
        "wrote {}: {} granule(s), {} arrays, {} chunk references; {} arrays not expressible, {failed} granule(s) unreadable\n",
        a.output,
        manifests.len(),
        refs.arrays.len(),
        refs.chunk_count(),
        refs.skipped.len()
    ))?;
    let problems = manifests.iter().any(|m| !m.problems.is_empty());
    Ok(if failed > 0 || problems || !refs.skipped.is_empty() { exit::PARTIAL } else { exit::OK })
}

async fn dmrpp(a: DmrppArgs) -> anyhow::Result<u8> {
    let opts = a.s3.source_options();
    let output = match a.output {
        Some(o) => o,
        None if !a.granule.contains("://") => format!("{}.dmrpp", a.granule),
        None => anyhow::bail!("{}: give -o for a remote granule (or -o - for standard output)", a.granule),
    };
    let source = crate::source::open(&a.granule, &opts)?;
    let manifest = read_manifest(source.as_ref(), &ReadOptions::default()).await.with_context(|| format!("cannot read {}", a.granule))?;
    let exported = write_dmrpp(&manifest, &a.href);
    if output == "-" {
        out(&exported.xml)?;
    } else {
        let loc = GranuleLocation::parse(&output, &opts)?;
        // One put: object_store writes local files to a temporary name and renames them.
        loc.store
            .put(&loc.path, PutPayload::from(exported.xml.into_bytes()))
            .await
            .with_context(|| format!("cannot write {output}"))?;
        eprintln!("vz: wrote {}", loc.display);
    }
    for p in exported.skipped.iter().chain(&manifest.problems) {
        eprintln!("vz: {}: {}: not in the DMR++: {}", a.granule, p.path, p.reason);
    }
    Ok(if exported.skipped.is_empty() && manifest.problems.is_empty() { exit::OK } else { exit::PARTIAL })
}
