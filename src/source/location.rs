//! Turning a granule location (path or URL) into a store and an object path.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, HeaderMap, HeaderValue, ObjectStore, RetryConfig};

use super::SourceError;

/// How to reach remote stores. `Default` reads the standard environment.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// Merge ranges closer than this many bytes into one request.
    pub coalesce_gap: u64,
    /// Requests in flight at once, per source.
    pub max_concurrency: usize,
    /// Retries of a failed request (with exponential backoff), for S3 and HTTP.
    pub max_retries: usize,
    /// Name of the environment variable holding a bearer token for http(s) URLs (Earthdata Login).
    pub bearer_token_env: String,
    /// S3 endpoint (e.g. `http://127.0.0.1:9000`); otherwise `AWS_ENDPOINT_URL` or AWS.
    pub s3_endpoint: Option<String>,
    /// Send S3 requests unsigned (public buckets); also set by `AWS_SKIP_SIGNATURE=true`.
    pub s3_unsigned: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            coalesce_gap: 16 * 1024,
            max_concurrency: 32,
            max_retries: 5,
            bearer_token_env: "EARTHDATA_TOKEN".to_string(),
            s3_endpoint: None,
            s3_unsigned: false,
        }
    }
}

/// A parsed granule location: the store that holds it and its path there.
#[derive(Clone, Debug)]
pub struct GranuleLocation {
    /// The location as the user wrote it (an absolute path for local files).
    pub display: String,
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// Path inside the store.
    pub path: Path,
    /// The absolute path, for a local location.
    pub local: Option<std::path::PathBuf>,
}

impl GranuleLocation {
    /// Parse a local path, `file://`, `s3://bucket/key` or `http(s)://` URL.
    ///
    /// # Errors
    /// When the location is malformed or the store cannot be configured.
    pub fn parse(location: &str, opts: &SourceOptions) -> Result<GranuleLocation, SourceError> {
        let bad = |reason: &str| SourceError::BadLocation { location: location.to_string(), reason: reason.to_string() };
        let config = |source| SourceError::Config { location: location.to_string(), source };
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').ok_or_else(|| bad("expected s3://bucket/key"))?;
            if bucket.is_empty() || key.is_empty() {
                return Err(bad("expected s3://bucket/key"));
            }
            let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket).with_retry(retry(opts));
            let endpoint = opts.s3_endpoint.clone().or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
            if let Some(ep) = endpoint {
                b = b.with_allow_http(ep.starts_with("http://")).with_endpoint(ep);
            }
            let unsigned_env = std::env::var("AWS_SKIP_SIGNATURE").map(|v| v == "true" || v == "1").unwrap_or(false);
            if opts.s3_unsigned || unsigned_env {
                b = b.with_skip_signature(true);
            }
            let store = b.build().map_err(config)?;
            let path = Path::parse(key).map_err(|e| bad(&e.to_string()))?;
            return Ok(GranuleLocation { display: location.to_string(), store: Arc::new(store), path, local: None });
        }
        if location.starts_with("http://") || location.starts_with("https://") {
            let url = url::Url::parse(location).map_err(|e| bad(&e.to_string()))?;
            let base = format!("{}://{}", url.scheme(), url.host_str().ok_or_else(|| bad("no host"))?);
            let base = match url.port() {
                Some(p) => format!("{base}:{p}"),
                None => base,
            };
            let mut client = ClientOptions::new().with_allow_http(url.scheme() == "http");
            if let Ok(token) = std::env::var(&opts.bearer_token_env) {
                let mut headers = HeaderMap::new();
                let value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                    .map_err(|_| bad(&format!("${} is not a valid header value", opts.bearer_token_env)))?;
                headers.insert("authorization", value);
                client = client.with_default_headers(headers);
            }
            let store =
                HttpBuilder::new().with_url(base).with_client_options(client).with_retry(retry(opts)).build().map_err(config)?;
            let path = Path::from_url_path(url.path()).map_err(|e| bad(&e.to_string()))?;
            return Ok(GranuleLocation { display: location.to_string(), store: Arc::new(store), path, local: None });
        }
        let local = match location.strip_prefix("file://") {
            Some(rest) => url::Url::parse(&format!("file://{rest}"))
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .ok_or_else(|| bad("malformed file:// URL"))?,
            None if location.contains("://") => return Err(bad("unknown URL scheme")),
            None => std::path::PathBuf::from(location),
        };
        let absolute = normalize(&std::path::absolute(&local).map_err(|e| bad(&e.to_string()))?);
        let path = Path::from_absolute_path(&absolute).map_err(|e| bad(&e.to_string()))?;
        Ok(GranuleLocation {
            display: absolute.display().to_string(),
            store: Arc::new(LocalFileSystem::new()),
            path,
            local: Some(absolute),
        })
    }
}

fn retry(opts: &SourceOptions) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig { init_backoff: Duration::from_millis(50), max_backoff: Duration::from_secs(5), base: 2.0 },
        max_retries: opts.max_retries,
        retry_timeout: Duration::from_secs(60),
    }
}

/// Resolve `.` and `..` lexically (the file may not exist yet; errors come when it is read).
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
