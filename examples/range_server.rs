//! Small read-only HTTP server with Range support, for benchmarks and tests.
//!
//! Serves ONE directory on 127.0.0.1 with `tower_http::services::ServeDir`, which
//! answers `GET`/`HEAD` and single-range `Range: bytes=a-b` requests (RFC 9110 §14)
//! with `206 Partial Content`; other methods get `405`. It prints its base URL
//! (`http://127.0.0.1:PORT/`) on the first line of stdout, so a script can start it
//! with `--port 0` and read the port it got.
//!
//! ```text
//! cargo run --example range_server -- DIR [--port 0] [--log] [--delay-ms 0]
//! ```
//!
//! `--log` writes one line per request to stderr (method, path, range, status,
//! body bytes, running totals) and a summary on shutdown; the benchmark counts
//! them to cross-check the statistics the client reports. `--delay-ms` holds every
//! response that long, to make round trips visible in wall time.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, RANGE};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use clap::Parser;
use tower_http::services::ServeDir;

/// Serve one directory read-only over HTTP on 127.0.0.1, with Range support.
#[derive(Parser, Debug)]
struct Args {
    /// Directory to serve (read-only).
    dir: PathBuf,
    /// Port to listen on; 0 picks a free one (the URL printed says which).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Log every request and a final summary to stderr.
    #[arg(long)]
    log: bool,
    /// Delay every response by this many milliseconds (simulated latency).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
}

/// Counters shared by all requests.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    body_bytes: AtomicU64,
}

struct Shared {
    log: bool,
    delay: Duration,
    counters: Counters,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }
    let shared = Arc::new(Shared {
        log: args.log,
        delay: Duration::from_millis(args.delay_ms),
        counters: Counters::default(),
    });

    // No index.html magic and no directory listings: only files are served.
    let files = ServeDir::new(&args.dir).append_index_html_on_directories(false);
    let app = Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(shared.clone(), count_request));

    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    // The first stdout line is the contract with scripts: the base URL.
    println!("http://{bound}/");
    use std::io::Write as _;
    std::io::stdout().flush()?;

    // TCP_NODELAY: without it a response written in two pieces (headers, then the file body)
    // waits for the client's delayed ACK of the first (Nagle), ~40 ms on every round trip.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;

    if shared.log {
        eprintln!(
            "summary requests={} body_bytes={}",
            shared.counters.requests.load(Ordering::Relaxed),
            shared.counters.body_bytes.load(Ordering::Relaxed)
        );
    }
    Ok(())
}

/// Middleware: optional delay, then count (and maybe log) the request and its body size.
async fn count_request(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if !shared.delay.is_zero() {
        tokio::time::sleep(shared.delay).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let range = req
        .headers()
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let response = next.run(req).await;

    // A HEAD response carries the Content-Length of the file but no body.
    let body = if method == Method::HEAD {
        0
    } else {
        response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let n = shared.counters.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let total = shared.counters.body_bytes.fetch_add(body, Ordering::Relaxed) + body;
    if shared.log {
        eprintln!(
            "req {n} {method} {path} range={range} status={} body={body} total_bytes={total}",
            response.status().as_u16()
        );
    }
    response
}

/// Resolve on Ctrl-C or (on Unix) SIGTERM, so `kill PID` ends with a summary.
async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, fall back to waiting forever.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
