//! `vz export`: write other tools' descriptions of a granule.

use anyhow::Context;
use clap::{Args, Subcommand};
use object_store::{ObjectStoreExt, PutPayload};

use super::exit;
use super::render::out;
use crate::dmrpp::write_dmrpp;
use crate::hdf5::{read_manifest, ReadOptions};
use crate::source::{GranuleLocation, SourceOptions};

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
}

pub async fn run(args: ExportArgs) -> anyhow::Result<u8> {
    match args.what {
        ExportKind::Dmrpp(a) => dmrpp(a).await,
    }
}

async fn dmrpp(a: DmrppArgs) -> anyhow::Result<u8> {
    let opts = SourceOptions::default();
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
