//! Issue 6: `vz serve` — the virtual Zarr store over HTTP, checked with real clients.
//!
//! The fixtures (and the real ICESat-2 files in ../shared) are indexed into a temporary catalog
//! and served on 127.0.0.1. Raw requests check the HTTP contract (keys only, path escapes 404
//! without touching any file, ranges, ETags, CORS); tests/python/serve_checks.py then opens the
//! store with zarr-python and xarray and compares every array with h5py, decodes chunks DuckDB
//! picks from the catalog, and compares `POST /subset` with `vz subset`. A load test runs the
//! `vz serve` binary under many concurrent clients and watches its memory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vz::serve::{router, ServeOptions, ServeState};

mod common;
use common::interop::{index_fixtures as index, python, repo};

/// One HTTP/1.1 exchange written byte for byte (so paths reach the server unnormalised).
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

async fn raw(addr: &str, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status line");
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    Answer { status, headers, body: buf[split + 4..].to_vec() }
}

async fn run_python(python: &str, spec: Value, dir: &Path, name: &str) -> String {
    let path = dir.join(format!("{name}.spec.json"));
    std::fs::write(&path, spec.to_string()).expect("write spec");
    let (python, script) = (python.to_string(), repo().join("tests/python/serve_checks.py"));
    let out = tokio::task::spawn_blocking(move || Command::new(python).arg("-W").arg("ignore").arg(script).arg(path).output())
        .await
        .expect("join")
        .expect("run serve_checks.py");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success(), "{name}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn served_store_answers_only_its_keys_and_real_clients_read_h5py_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, granules) = index(dir.path()).await;
    let options = ServeOptions { access_log: false, ..ServeOptions::default() };
    let state = Arc::new(ServeState::open(&catalog.display().to_string(), &Default::default(), options).await.expect("open catalog"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let app = router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // A chunk of h_li of the first granule, and its stored size.
    let gid = &"ATL06_20200325234244_07640603_006_01".to_string();
    assert!(granules.contains_key(gid));
    let chunk = format!("/{gid}/gt1l/land_ice_segments/h_li/c/0");
    let whole = raw(&addr, "GET", &chunk, &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("application/octet-stream"));
    assert_eq!(whole.header("access-control-allow-origin"), Some("*"));
    assert!(whole.header("access-control-expose-headers").is_some_and(|h| h.contains("Content-Range") && h.contains("ETag")));
    let n = whole.body.len();
    assert!(n > 100);
    let tag = whole.header("etag").expect("etag").to_string();

    // Ranges: a-b, a-, -n; unsatisfiable; multiple ranges are answered whole.
    for (range, want) in [("bytes=0-9", 0..10), ("bytes=5-", 5..n), ("bytes=-7", n - 7..n), (&format!("bytes=3-{}", n + 50) as &str, 3..n)] {
        let a = raw(&addr, "GET", &chunk, &[("Range", range)]).await;
        assert_eq!(a.status, 206, "{range}");
        assert_eq!(a.body, whole.body[want.clone()], "{range}");
        assert_eq!(a.header("content-range"), Some(format!("bytes {}-{}/{n}", want.start, want.end - 1).as_str()), "{range}");
    }
    let a = raw(&addr, "GET", &chunk, &[("Range", &format!("bytes={n}-"))]).await;
    assert_eq!((a.status, a.header("content-range")), (416, Some(format!("bytes */{n}").as_str())));
    assert_eq!(raw(&addr, "GET", &chunk, &[("Range", "bytes=0-1,4-5")]).await.body, whole.body);
    // ETag revalidation, If-Range, HEAD, preflight, methods.
    assert_eq!(raw(&addr, "GET", &chunk, &[("If-None-Match", &tag)]).await.status, 304);
    assert_eq!(raw(&addr, "GET", &chunk, &[("If-None-Match", "\"other\"")]).await.status, 200);
    assert_eq!(raw(&addr, "GET", &chunk, &[("Range", "bytes=0-9"), ("If-Range", "\"stale\"")]).await.status, 200);
    let head = raw(&addr, "HEAD", &chunk, &[]).await;
    assert_eq!((head.status, head.header("content-length"), head.body.len()), (200, Some(n.to_string().as_str()), 0));
    let pre = raw(&addr, "OPTIONS", &chunk, &[("Origin", "http://example.org"), ("Access-Control-Request-Method", "GET")]).await;
    assert_eq!(pre.status, 204);
    assert!(pre.header("access-control-allow-methods").is_some_and(|m| m.contains("GET")));
    assert_eq!(raw(&addr, "PUT", &chunk, &[]).await.status, 405);
    assert_eq!(raw(&addr, "DELETE", "/zarr.json", &[]).await.status, 405);
    let meta = raw(&addr, "GET", "/zarr.json", &[]).await;
    assert_eq!((meta.status, meta.header("content-type")), (200, Some("application/json")));
    let root: Value = serde_json::from_slice(&meta.body).expect("root zarr.json");
    assert_eq!(root["consolidated_metadata"]["kind"], "inline");
    let meta_tag = meta.header("etag").expect("etag").to_string();
    assert_eq!(raw(&addr, "GET", "/zarr.json", &[("If-None-Match", &meta_tag)]).await.status, 304);

    // Paths outside the key space: 404, and the store reads nothing for them.
    let stats = state.store().stats();
    let escapes = [
        "/../../../../etc/passwd".to_string(),
        "/%2e%2e/%2e%2e/etc/passwd".into(),
        "/..%2F..%2Fetc%2Fpasswd".into(),
        format!("/{gid}%2Fgt1l%2Fland_ice_segments%2Fh_li%2Fc%2F0"),
        format!("/{gid}/gt1l/land_ice_segments/h_li/c/../c/0"),
        format!("//{gid}/zarr.json"),
        format!("/{gid}//zarr.json"),
        format!("/{gid}/gt1l\\zarr.json"),
        format!("/{gid}/gt1l/land_ice_segments/h_li/c/00"),
        format!("/{gid}/gt1l/land_ice_segments/h_li/c/999999"),
        format!("/{gid}/gt1l/land_ice_segments/h_li/c/0/"),
        format!("/{gid}/gt1l/land_ice_segments/h_li/zarr.json%00"),
        "/etc/passwd".into(),
        "/%2Fetc%2Fpasswd".into(),
        catalog.join("granules").display().to_string(),
        format!("/{}", granules[gid]),
        "/".into(),
        "/nope".into(),
        "/subset/zarr.json".into(),
        "http://127.0.0.1/../../etc/passwd".into(),
    ];
    for target in &escapes {
        let a = raw(&addr, "GET", target, &[]).await;
        assert_eq!(a.status, 404, "{target}");
        assert!(!String::from_utf8_lossy(&a.body).contains("root:"), "{target}");
    }
    assert_eq!(state.store().stats(), stats, "a refused path made the store read bytes");

    // Real clients: zarr-python, xarray, DuckDB-picked chunks, and POST /subset vs vz subset.
    let Some(python) = python() else {
        println!("SKIP serve clients: no Python venv (run scripts/test.sh)");
        server.abort();
        return;
    };
    let aoi = repo().join("fixtures/greenland.geojson");
    let cli_subset = dir.path().join("cli.parquet");
    let run = Command::new(env!("CARGO_BIN_EXE_vz"))
        .args(["subset", "--json", "--aoi"])
        .arg(&aoi)
        .arg("--manifests")
        .arg(&catalog)
        .arg("-o")
        .arg(&cli_subset)
        .output()
        .expect("run vz subset");
    assert!(run.status.success(), "vz subset failed: {}", String::from_utf8_lossy(&run.stderr));
    let spec = json!({"mode": "clients", "url": format!("http://{addr}/"), "granules": granules,
        "catalog": catalog, "aoi": aoi, "cli_subset": cli_subset});
    let figures = run_python(&python, spec, dir.path(), "clients").await;
    println!("serve clients: {figures}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn vz_serve_binary_holds_up_under_load_with_flat_memory() {
    let Some(python) = python() else {
        println!("SKIP serve load test: no Python venv (run scripts/test.sh)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, _) = index(dir.path()).await;

    // Non-loopback addresses need --public.
    let refused = Command::new(env!("CARGO_BIN_EXE_vz")).args(["serve", "--addr", "0.0.0.0:0"]).arg(&catalog).output().expect("run vz serve");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--public"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_vz"))
        .args(["serve", "--quiet", "--addr", "127.0.0.1:0", "--max-concurrency", "32"])
        .arg(&catalog)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start vz serve");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout");
    let read = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout).read_line(&mut first).map(|_| first)
    });
    let first = read.await.expect("join").expect("first line");
    let url = first.split_whitespace().next().unwrap_or_default().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "unexpected first line: {first}");
    let spec = json!({"mode": "load", "url": url, "pid": child.id(), "clients": 64, "requests": 5000});
    let result = std::panic::AssertUnwindSafe(run_python(&python, spec, dir.path(), "load"));
    let figures = futures::FutureExt::catch_unwind(result).await;
    let _ = child.kill();
    let _ = child.wait();
    match figures {
        Ok(f) => println!("serve load: {f}"),
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// A served catalog without granules has no points: `POST /subset` answers an empty GeoParquet
/// (200, `X-Vz-Points: 0`), not an error (`vz subset` on the command line refuses it instead).
#[tokio::test(flavor = "multi_thread")]
async fn an_empty_catalog_serves_empty_subsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = ServeOptions { access_log: false, ..ServeOptions::default() };
    let state = Arc::new(ServeState::open(&dir.path().display().to_string(), &Default::default(), options).await.expect("open catalog"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let server = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let aoi = std::fs::read(repo().join("fixtures/greenland.geojson")).expect("aoi");
    let mut s = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let head = format!("POST /subset HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", aoi.len());
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(&aoi).await.expect("write");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{}", text.lines().next().unwrap_or_default());
    assert!(text.to_ascii_lowercase().contains("x-vz-points: 0"), "{text}");
    let body = &answer[answer.windows(4).position(|w| w == b"\r\n\r\n").expect("headers") + 4..];
    let reader = parquet::file::reader::SerializedFileReader::new(bytes::Bytes::copy_from_slice(body)).expect("a Parquet file");
    assert_eq!(parquet::file::reader::FileReader::metadata(&reader).file_metadata().num_rows(), 0);
    server.abort();
}
