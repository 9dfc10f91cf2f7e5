//! `vz serve`: the catalog's virtual Zarr store over HTTP (see `crate::serve`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;

use super::exit;
use super::s3::S3Args;
use super::render::out;
use crate::serve::{router, ServeOptions, ServeState};

/// Flags of `vz serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Catalog written by `vz index` (directory or object-store prefix).
    #[arg(default_value = "manifests")]
    pub manifests: String,
    /// Address to listen on (port 0 picks a free one; the first line printed says which).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Allow a non-loopback address: anyone who reaches it reads every indexed granule.
    #[arg(long)]
    pub public: bool,
    /// Requests worked on at once; more wait their turn.
    #[arg(long, default_value_t = 64)]
    pub max_concurrency: usize,
    /// Subset requests (POST /subset) run at once.
    #[arg(long, default_value_t = 2)]
    pub subset_concurrency: usize,
    /// Largest stored chunk served, in MiB (a bigger one, e.g. a huge contiguous array, is 507).
    #[arg(long, default_value_t = 256)]
    pub max_chunk_mib: u64,
    /// Serve the store's metadata as the Zarr v3 core spec has it: raw-bits arrays (fixed-length
    /// strings, opaque, compound) as `r<bits>` (zarrs reads them) and `_FillValue` attributes as
    /// stored, instead of zarr-python's `raw_bytes` and xarray's `_FillValue` encoding.
    #[arg(long)]
    pub core_metadata: bool,
    /// No access log (one line per request on stderr otherwise).
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub s3: S3Args,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<u8> {
    if !args.addr.ip().is_loopback() && !args.public {
        bail!(
            "{} is not a loopback address: every indexed granule would be readable by anyone who \
             reaches it; pass --public to do that on purpose",
            args.addr
        );
    }
    let options = ServeOptions {
        max_concurrency: args.max_concurrency.max(1),
        subset_concurrency: args.subset_concurrency.max(1),
        max_chunk_bytes: args.max_chunk_mib.saturating_mul(1 << 20),
        access_log: !args.quiet,
        core_metadata: args.core_metadata,
        ..ServeOptions::default()
    };
    let source = args.s3.source_options();
    let state = ServeState::open(&args.manifests, &source, options)
        .await
        .with_context(|| format!("catalog {}", args.manifests))?;
    let store = state.store();
    let (granules, nodes) = (store.granules().len(), store.node_paths().count());
    let chunks: usize = store.granules().iter().map(|g| g.manifest.chunk_count()).sum();
    let groups = state.consolidated_groups();
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        eprintln!("vz serve: WARNING: listening on {addr}, reachable beyond this machine (--public)");
    }
    out(&format!(
        "http://{addr}/ serves {} ({granules} granules, {nodes} Zarr nodes, {chunks} chunks; \
         {groups} groups with consolidated metadata)\n",
        args.manifests
    ))?;
    axum::serve(listener, router(Arc::new(state)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("server")?;
    Ok(exit::OK)
}
