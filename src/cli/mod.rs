//! The command-line interface: flags are parsed into plain data, each subcommand makes one
//! library call and renders the result. `anyhow` lives here only.

mod export;
mod index;
mod inspect;
mod render;
mod s3;
mod serve;
mod subset;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes that mean something to scripts.
pub mod exit {
    /// Everything worked.
    pub const OK: u8 = 0;
    /// The command failed (bad input, unreachable granule).
    pub const FAILURE: u8 = 1;
    /// Usage error (clap).
    pub const USAGE: u8 = 2;
    /// The work was done, but some objects or granules had problems (listed in the output).
    pub const PARTIAL: u8 = 3;
}

/// vz makes HDF5 science granules behave like a cloud-native, spatially indexed, virtual Zarr
/// dataset: it reads HDF5 headers natively (local files, s3:// and https:// URLs) into chunk
/// manifests: every chunk's file, byte offset, length and filters.
#[derive(Parser, Debug)]
#[command(name = "vz", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show one granule's groups, datasets and chunk manifest (like `h5dump -H`), or print the
    /// whole manifest as JSON.
    ///
    /// Examples:
    ///   vz inspect ATL06_20181015100401_02560110_003_01.h5
    ///   vz inspect --json s3://bucket/granule.h5 > manifest.json
    ///   vz inspect --stats https://example.org/data/granule.h5
    #[command(verbatim_doc_comment)]
    Inspect(inspect::InspectArgs),
    /// Index granules into the GeoParquet catalog: every chunk of every array with its byte
    /// range and, for geolocated groups, the footprint, H3 cells and time range of its rows.
    ///
    /// Examples:
    ///   vz index fixtures/granules.txt -o manifests/
    ///   vz index s3://bucket/ATL06_20190622005540_02490303_006_01.h5 -o s3://bucket/manifests/
    ///   vz index atl03.txt --lat lat_ph --lon lon_ph
    ///
    /// Re-running skips granules already indexed unchanged (same size and ETag). Exit code 3 means
    /// some granules failed (each is reported); the others were indexed.
    #[command(verbatim_doc_comment)]
    Index(index::IndexArgs),
    /// Write the points of the indexed granules inside an area of interest to one GeoParquet
    /// file, reading only the chunks that hold them (through the virtual Zarr store).
    ///
    /// Examples:
    ///   vz subset --aoi fixtures/greenland.geojson -o greenland.parquet
    ///   vz subset --aoi aoi.geojson --manifests s3://bucket/manifests/ --vars h_li,dem/dem_h
    ///   vz subset --aoi aoi.geojson --time-start 2020-01-01 --time-end 2020-06-30 --plan
    ///
    /// The AOI's H3 cells pick candidate latitude chunks from the catalog; their coordinates are
    /// read and tested point by point; then only the chunks of the requested arrays holding
    /// selected rows are read. `--plan` shows what would be read. Exit code 3: some granules failed.
    #[command(verbatim_doc_comment)]
    Subset(subset::SubsetArgs),
    /// Export manifests in other tools' formats (DMR++ sidecars, kerchunk references).
    #[command(verbatim_doc_comment)]
    Export(export::ExportArgs),
    /// Serve the catalog's virtual Zarr v3 store over HTTP: `zarr.json` of every group and
    /// array (consolidated metadata included) and chunk keys whose bytes are range-read from the
    /// original files, still compressed; plus `POST /subset` (GeoJSON in, GeoParquet out).
    ///
    /// Examples:
    ///   vz serve manifests/
    ///   vz serve manifests/ --addr 127.0.0.1:9000 --quiet
    ///   vz serve s3://bucket/manifests/ --addr 0.0.0.0:8080 --public
    ///
    /// Only keys of the manifests are served; every other path is 404. Listens on loopback
    /// unless --public. See docs/serve.md.
    #[command(verbatim_doc_comment)]
    Serve(serve::ServeArgs),
}

/// Run the CLI and return the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vz: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Inspect(args) => inspect::run(args).await,
            Command::Index(args) => index::run(args).await,
            Command::Subset(args) => subset::run(args).await,
            Command::Export(args) => export::run(args).await,
            Command::Serve(args) => serve::run(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if render::is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("vz: {e:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
