//! Local servers for the remote conformance runs: a read-only HTTP file server with Range support
//! (axum + tower-http `ServeDir`) and moto's S3 server (a Python subprocess from `$VZ_PYTHON`).
//! Both listen on 127.0.0.1 on a free port and stop when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStoreExt, PutPayload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::fixtures::say;

/// Credentials moto accepts (it does not check them); also exported for the reader's S3 client.
pub const S3_KEY: &str = "testing";
/// Region of the test bucket.
pub const S3_REGION: &str = "us-east-1";

/// An HTTP server over a folder; `base` is `http://127.0.0.1:PORT`.
pub struct HttpServer {
    /// Base URL, no trailing slash.
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// Serve `root` read-only (GET and HEAD, with Range) on a free port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(root: &Path) -> std::io::Result<HttpServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(root));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                say(&format!("http test server stopped: {e}"));
            }
        });
        Ok(HttpServer { base: format!("http://{addr}"), task })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// moto's S3 server as a child process; `endpoint` is `http://127.0.0.1:PORT`.
pub struct MotoServer {
    /// Endpoint URL, no trailing slash.
    pub endpoint: String,
    port: u16,
    child: Child,
    log: PathBuf,
}

impl MotoServer {
    /// The Python with moto installed (`$VZ_PYTHON`, which scripts/test.sh sets), or `None` after
    /// printing a skip notice naming `test`.
    pub fn python(test: &str) -> Option<String> {
        let Ok(python) = std::env::var("VZ_PYTHON") else {
            say(&format!("SKIP {test}: VZ_PYTHON is not set (run scripts/test.sh, or point it at a Python with moto[server])"));
            return None;
        };
        let ok = Command::new(&python)
            .args(["-c", "import moto.server"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            say(&format!("SKIP {test}: {python} cannot import moto.server (pip install -r scripts/requirements-dev.txt)"));
            return None;
        }
        Some(python)
    }

    /// Start moto on a free port and wait (up to a minute) until it answers HTTP.
    ///
    /// # Errors
    /// When it cannot be started or does not answer; the message carries its log.
    pub async fn start(python: &str) -> Result<MotoServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log = std::env::temp_dir().join(format!("vz-moto-{}-{port}.log", std::process::id()));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot run {python} -m moto.server: {e}"))?;
        let mut server = MotoServer { endpoint: format!("http://127.0.0.1:{port}"), port, child, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("moto exited with {status}: {}", server.log_text()));
            }
            if let Ok(status) = http_status(port, "GET", "/").await {
                if status > 0 {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                return Err(format!("moto did not answer on port {port} within 60 s: {}", server.log_text()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Create `bucket` and upload `files` (relative to `root`) under the same keys.
    ///
    /// # Errors
    /// When the bucket cannot be created or a file cannot be read or uploaded.
    pub async fn upload(&self, bucket: &str, root: &Path, files: &[String]) -> Result<(), String> {
        let status = http_status(self.port, "PUT", &format!("/{bucket}")).await.map_err(|e| format!("create bucket: {e}"))?;
        if status != 200 {
            return Err(format!("create bucket {bucket}: HTTP {status}: {}", self.log_text()));
        }
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region(S3_REGION)
            .with_access_key_id(S3_KEY)
            .with_secret_access_key(S3_KEY)
            .build()
            .map_err(|e| format!("s3 client: {e}"))?;
        for rel in files {
            let bytes = std::fs::read(root.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
            let path = object_store::path::Path::parse(rel).map_err(|e| format!("{rel}: {e}"))?;
            store.put(&path, PutPayload::from(bytes)).await.map_err(|e| format!("upload {rel}: {e}"))?;
        }
        Ok(())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().rev().take(20).collect::<Vec<_>>().join(" | ")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Send one bodiless HTTP/1.1 request to 127.0.0.1:`port`; the response status.
async fn http_status(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await?;
    let mut head = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut head))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response"))??;
    let text = String::from_utf8_lossy(&head);
    text.split_whitespace()
        .nth(1)
        .filter(|_| text.starts_with("HTTP/1."))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}
