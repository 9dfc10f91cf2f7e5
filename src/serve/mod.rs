//! `vz serve`: the virtual Zarr v3 store of a catalog over HTTP, and the ROI subset as a service.
//!
//! `GET`/`HEAD /<key>` answers exactly the keys of [`VirtualStore`]: `zarr.json` of the root, of
//! each granule and of every group and array below it (groups with zarr-python's inline
//! consolidated metadata, see `consolidated`), and chunk keys `<array>/c/i/j` whose bytes are
//! range-read from the original files, still compressed (the client decodes). Any other path is
//! 404: paths are checked (`keys`) and then resolved only through the manifests in memory, so no
//! request can name a file. Single byte ranges (206/416), strong ETags with `If-None-Match` (304)
//! and `If-Range`, CORS for browsers (`*`, preflight), one access-log line per request.
//! `POST /subset` takes a GeoJSON area and returns the GeoParquet `vz subset` writes.
//!
//! Bounds: at most `max_concurrency` requests are worked on at once (the others wait), subsets
//! run `subset_concurrency` at a time, a chunk body larger than `max_chunk_bytes` is refused
//! before it is read, and a subset body is at most `max_subset_body` bytes. Memory is then
//! about `max_concurrency × max_chunk_bytes` on top of the manifests.

mod consolidated;
mod dialect;
mod http;
mod keys;
mod subset;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ALLOW, CONTENT_LENGTH,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::catalog::{CatalogReadError, CatalogStore, GranuleInfo};
use crate::source::{SourceError, SourceOptions};
use crate::subset::SubsetOptions;
use crate::zarr::{StoreError, StoreGranule, VirtualStore};
use http::{etag, not_modified, text_response, value_response};

/// Why the server could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The catalog location is unusable.
    #[error(transparent)]
    Location(#[from] SourceError),
    /// The catalog could not be listed or a granule's files read.
    #[error(transparent)]
    Catalog(#[from] CatalogReadError),
}

/// Limits and switches of the server.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Requests worked on at once; more wait their turn.
    pub max_concurrency: usize,
    /// Subset requests run at once (each reads many chunks and holds its points in memory).
    pub subset_concurrency: usize,
    /// Largest stored chunk served (bytes); a larger one (a huge contiguous array) is refused
    /// with 507 before anything is read.
    pub max_chunk_bytes: u64,
    /// Largest `POST /subset` body (bytes of GeoJSON); larger is 413.
    pub max_subset_body: usize,
    /// Largest consolidated `zarr.json` built for a group; larger groups are served plain.
    pub max_consolidated_bytes: usize,
    /// Serve raw-bits arrays (strings, opaque, compound) with the core type `r<bits>` and
    /// `_FillValue` attributes as stored, instead of zarr-python's `raw_bytes` and xarray's
    /// `_FillValue` encoding (see `dialect`).
    pub core_metadata: bool,
    /// One line per request on stderr.
    pub access_log: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_concurrency: 64,
            subset_concurrency: 2,
            max_chunk_bytes: 256 << 20,
            max_subset_body: 1 << 20,
            max_consolidated_bytes: 32 << 20,
            core_metadata: false,
            access_log: true,
        }
    }
}

/// Everything the handlers share: the store, the `zarr.json` documents served instead of the
/// store's (consolidated groups, rewritten raw-bits arrays) with their ETags, what identifies
/// each granule's bytes (for ETags), and where the catalog is (for subsets).
pub struct ServeState {
    store: Arc<VirtualStore>,
    documents: HashMap<String, (Bytes, String)>,
    granule_tags: HashMap<String, String>,
    subset: Option<SubsetOptions>,
    options: ServeOptions,
    permits: Arc<Semaphore>,
    subset_permits: Arc<Semaphore>,
}

/// What identifies a granule's bytes: a new file under the same URL changes every chunk ETag.
fn granule_identity(url: &str, size: u64, info: Option<&GranuleInfo>) -> String {
    let etag = info.and_then(|i| i.etag.as_deref()).unwrap_or("");
    let modified = info.and_then(|i| i.last_modified_ms).unwrap_or(0);
    format!("{url}\n{size}\n{etag}\n{modified}")
}

impl ServeState {
    /// Serve `store`; `infos` (by granule id) feed the chunk ETags, `subset` enables
    /// `POST /subset` over that catalog.
    pub fn new(
        store: VirtualStore,
        infos: &HashMap<String, GranuleInfo>,
        subset: Option<SubsetOptions>,
        options: ServeOptions,
    ) -> ServeState {
        // HDF5 dimension scales, by node path: their dimension is named after them.
        let scales: std::collections::HashSet<String> = store
            .granules()
            .iter()
            .flat_map(|g| {
                g.manifest.arrays.iter().filter(|a| {
                    a.attributes
                        .iter()
                        .any(|at| at.name == "CLASS" && at.value == "DIMENSION_SCALE")
                })
                .map(|a| VirtualStore::array_path(&g.id, &a.path).trim_start_matches('/').to_string())
            })
            .collect();
        let rewrite = |node: &str, meta: &mut serde_json::Value| {
            let own = node.rsplit('/').next().filter(|_| scales.contains(node));
            let named = dialect::fill_dimension_names(meta, own);
            if options.core_metadata {
                return named;
            }
            let fill = dialect::fill_value_attribute_for_xarray(meta);
            let raw = dialect::raw_bits_as_raw_bytes(meta);
            named || fill || raw
        };
        let documents = consolidated::consolidate(&store, options.max_consolidated_bytes, &rewrite)
            .into_iter()
            .map(|(node, bytes)| {
                let tag = etag(&[b"metadata", &bytes]);
                (node, (bytes, tag))
            })
            .collect();
        let granule_tags = store
            .granules()
            .iter()
            .map(|g| {
                let identity = granule_identity(&g.manifest.url, g.manifest.size, infos.get(&g.id));
                (g.id.clone(), identity)
            })
            .collect();
        ServeState {
            store: Arc::new(store),
            documents,
            granule_tags,
            subset,
            permits: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            subset_permits: Arc::new(Semaphore::new(options.subset_concurrency.max(1))),
            options,
        }
    }

    /// Read every granule of the catalog at `manifests` and serve them.
    ///
    /// # Errors
    /// When the catalog cannot be opened, listed, or a granule of it read.
    pub async fn open(
        manifests: &str,
        source: &SourceOptions,
        options: ServeOptions,
    ) -> Result<ServeState, ServeError> {
        let catalog = CatalogStore::open(manifests, source)?;
        let ids = catalog.granules().await?;
        let entries: Vec<_> = futures::stream::iter(ids.iter().map(|id| catalog.read(id)))
            .buffered(8)
            .collect()
            .await;
        let mut granules = Vec::with_capacity(entries.len());
        let mut infos = HashMap::new();
        for entry in entries {
            let entry = entry?;
            infos.insert(entry.info.id.clone(), entry.info.clone());
            granules.push(StoreGranule {
                id: entry.info.id,
                manifest: entry.manifest,
            });
        }
        let subset = SubsetOptions {
            manifests: manifests.to_string(),
            source: SourceOptions {
                coalesce_gap: 0,
                ..source.clone()
            },
            ..SubsetOptions::default()
        };
        let store = VirtualStore::new(granules, source.clone());
        Ok(ServeState::new(store, &infos, Some(subset), options))
    }

    /// The store served.
    pub fn store(&self) -> &Arc<VirtualStore> {
        &self.store
    }

    /// Groups served with consolidated metadata.
    pub fn consolidated_groups(&self) -> usize {
        self.store
            .node_paths()
            .filter(|(p, is_array)| !is_array && self.documents.contains_key(*p))
            .count()
    }
}

/// The HTTP application: store keys, `POST /subset`, CORS, access log and the concurrency bound.
pub fn router(state: Arc<ServeState>) -> Router {
    Router::new()
        .route("/subset", post(subset::handle).options(preflight))
        .fallback(key)
        .layer(middleware::from_fn_with_state(state.clone(), around))
        .with_state(state)
}

/// Around every request: wait for a permit, add CORS headers, log one line.
async fn around(State(state): State<Arc<ServeState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut response = match state.permits.clone().acquire_owned().await {
        Ok(_permit) => next.run(req).await,
        Err(_) => text_response(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
    };
    let h = response.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Content-Range, Content-Length, ETag, Accept-Ranges, X-Vz-Points"),
    );
    if state.options.access_log {
        let bytes = if method == Method::HEAD {
            0
        } else {
            response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        eprintln!(
            "vz serve: {method} {path} {} {bytes} B {:.1} ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    response
}

/// CORS preflight.
async fn preflight() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, POST, OPTIONS")
        .header(
            ACCESS_CONTROL_ALLOW_HEADERS,
            "Range, If-None-Match, If-Range, Content-Type",
        )
        .header(ACCESS_CONTROL_MAX_AGE, "86400")
        .body(axum::body::Body::empty())
        .unwrap_or_default()
}

/// `GET`/`HEAD` of a store key.
async fn key(State(state): State<Arc<ServeState>>, req: Request) -> Response {
    let method = req.method().clone();
    if method == Method::OPTIONS {
        return preflight().await;
    }
    if method != Method::GET && method != Method::HEAD {
        let mut r = text_response(StatusCode::METHOD_NOT_ALLOWED, "read-only store: GET, HEAD");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD, OPTIONS"));
        return r;
    }
    let not_found = || text_response(StatusCode::NOT_FOUND, "no such key");
    let Some(key) = keys::store_key(req.uri().path()) else {
        return not_found();
    };
    let headers = req.headers();
    // Groups with consolidated metadata, rewritten arrays.
    let node = if key == "zarr.json" { Some("") } else { key.strip_suffix("/zarr.json") };
    if let Some(node) = node {
        if let Some((bytes, tag)) = state.documents.get(node) {
            return value_response(&method, headers, bytes.clone(), "application/json", tag);
        }
    }
    // A chunk's tag names its source bytes, so a revalidation costs no read; the size bound is
    // checked before reading.
    let chunk_tag = match state.store.chunk_location(&key) {
        Some((url, range, mask)) => {
            if range.end - range.start > state.options.max_chunk_bytes {
                return text_response(
                    StatusCode::INSUFFICIENT_STORAGE,
                    format!(
                        "chunk of {} bytes is larger than this server serves ({} bytes)",
                        range.end - range.start,
                        state.options.max_chunk_bytes
                    ),
                );
            }
            let granule = key.split('/').next().unwrap_or("");
            let identity = state.granule_tags.get(granule).map_or("", String::as_str);
            let tag = etag(&[
                b"chunk",
                identity.as_bytes(),
                url.as_bytes(),
                &range.start.to_le_bytes(),
                &range.end.to_le_bytes(),
                &mask.to_le_bytes(),
            ]);
            if let Some(unchanged) = not_modified(headers, &tag) {
                return unchanged;
            }
            Some(tag)
        }
        None => None,
    };
    let value = match state.store.get(&key).await {
        Ok(Some(v)) => v,
        Ok(None) => return not_found(),
        Err(e) => {
            let status = match e {
                StoreError::Unreadable { .. } => StatusCode::NOT_IMPLEMENTED,
                StoreError::Source(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return text_response(status, format!("{key}: {e}"));
        }
    };
    let (content_type, tag) = match chunk_tag {
        Some(tag) => ("application/octet-stream", tag),
        None if node.is_some() => ("application/json", etag(&[b"metadata", &value])),
        None => ("application/octet-stream", etag(&[b"value", &value])),
    };
    value_response(&method, headers, value, content_type, &tag)
}
