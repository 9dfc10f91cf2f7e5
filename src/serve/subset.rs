//! `POST /subset`: a GeoJSON area in the body (Polygon, MultiPolygon, Feature or
//! FeatureCollection, CRS84; at most `max_subset_body` bytes), optional query `vars=a,b`,
//! `time_start=`, `time_end=` (dates or UTC times, as `vz subset` takes them) → the GeoParquet
//! file `vz subset` writes for the same catalog and arguments (`application/vnd.apache.parquet`,
//! point count in `X-Vz-Points`). A bad area or argument is 400; granules that fail make the
//! whole answer 500 with a JSON list of the failures (a partial table would pass unnoticed).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::http::text_response;
use super::ServeState;
use crate::catalog::TimeUnits;
use crate::spatial::Aoi;
use crate::subset::{open_catalog, points_writer, run_subset};

fn utc_seconds(name: &str, text: &str) -> Result<f64, String> {
    TimeUnits::parse(&format!("seconds since {text}"))
        .map(|u| u.epoch)
        .ok_or_else(|| format!("{name}: `{text}` is not a date or UTC time (2020-03-25 or 2020-03-25T23:42:44Z)"))
}

/// Handle one subset request.
pub(crate) async fn handle(State(state): State<Arc<ServeState>>, req: Request) -> Response {
    let Some(base) = state.subset.clone() else {
        return text_response(StatusCode::NOT_FOUND, "this server has no catalog to subset");
    };
    let mut opts = base;
    for (k, v) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        let parsed = match k.as_ref() {
            "vars" => {
                opts.vars = Some(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect());
                Ok(())
            }
            "time_start" => utc_seconds("time_start", &v).map(|t| opts.time_start = Some(t)),
            "time_end" => utc_seconds("time_end", &v).map(|t| opts.time_end = Some(t)),
            other => Err(format!("unknown parameter `{other}` (vars, time_start, time_end)")),
        };
        if let Err(e) = parsed {
            return text_response(StatusCode::BAD_REQUEST, e);
        }
    }
    let limit = state.options.max_subset_body;
    let body = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(_) => {
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the GeoJSON body is limited to {limit} bytes"),
            )
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return text_response(StatusCode::BAD_REQUEST, "the body is not UTF-8 GeoJSON");
    };
    let aoi = match Aoi::from_geojson(text) {
        Ok(a) => a,
        Err(e) => return text_response(StatusCode::BAD_REQUEST, format!("area of interest: {e}")),
    };
    let Ok(_permit) = state.subset_permits.clone().acquire_owned().await else {
        return text_response(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let mut writer = points_writer(Vec::new(), &aoi);
    // Listed per request, so granules indexed since the start are served. Unlike the CLI, an
    // empty catalog is not an error here: it has no points, so every subset is empty.
    let run = async { run_subset(&aoi, &opts, open_catalog(&opts).await?, &|_| {}, &mut writer).await };
    let granules = match run.await {
        Ok(r) => r,
        Err(e) => return text_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let failed: Vec<_> = granules
        .iter()
        .filter_map(|g| g.error.as_ref().map(|e| json!({"granule": g.granule, "error": e})))
        .collect();
    if !failed.is_empty() {
        let text = json!({"error": format!("{} of {} granules failed", failed.len(), granules.len()), "failures": failed}).to_string();
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, text.len())
            .body(Body::from(text))
            .unwrap_or_default();
    }
    let points = writer.len();
    let bytes = match writer.finish() {
        Ok(b) => b,
        Err(e) => return text_response(StatusCode::INTERNAL_SERVER_ERROR, e.at("the GeoParquet response").to_string()),
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, "application/vnd.apache.parquet")
        .header(CONTENT_LENGTH, bytes.len())
        .header("X-Vz-Points", points)
        .body(Body::from(bytes))
        .unwrap_or_default()
}
