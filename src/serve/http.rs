//! The HTTP side of serving one value: single byte ranges (RFC 9110 §14), strong ETags and
//! `If-None-Match` / `If-Range` (§13), and the response headers every answer carries.

use std::hash::{Hash, Hasher};
use std::ops::Range;

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE,
    RANGE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;

/// What a `Range` header asks of a value of `len` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// The whole value (no header, another unit, several ranges or a malformed one — a server
    /// may ignore those, §14.2).
    Whole,
    /// One satisfiable range, clipped to the value.
    Part(Range<u64>),
    /// A well-formed range that selects nothing: 416.
    Unsatisfiable,
}

/// Parse `bytes=a-b`, `bytes=a-` or `bytes=-n` against a value of `len` bytes.
pub(crate) fn wanted(header: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || len == 0 {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(len.saturating_sub(n)..len)
            }
        }
        (false, Some(a), None) if last.trim().is_empty() => {
            if a >= len {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(a..len)
            }
        }
        (false, Some(a), Some(b)) if a <= b => {
            if a >= len {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(a..b.saturating_add(1).min(len))
            }
        }
        _ => Wanted::Whole,
    }
}

/// A strong entity tag (quoted, 128 bits of SipHash over `parts`): stable for the same parts
/// within one vz build.
pub(crate) fn etag(parts: &[&[u8]]) -> String {
    let half = |seed: u8| {
        let mut h = std::hash::DefaultHasher::new();
        seed.hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        for p in parts {
            p.hash(&mut h);
        }
        h.finish()
    };
    format!("\"{:016x}{:016x}\"", half(1), half(2))
}

/// Whether an `If-None-Match` list names `tag` (weak comparison, §13.1.2) or is `*`.
fn none_match_hits(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == tag)
}

/// 304 when `If-None-Match` names `tag`.
pub(crate) fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    none_match_hits(headers, tag).then(|| {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(ETAG, header(tag))
            .body(Body::empty())
            .unwrap_or_default()
    })
}

/// Whether a `Range` may be honoured: no `If-Range`, or one naming the current strong tag.
fn if_range_holds(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get(IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == tag))
}

fn header(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The response for a `GET`/`HEAD` of `value`: 200, 206, 304 or 416 with Content-Length,
/// Content-Type, ETag and Accept-Ranges (CORS headers are added for every response elsewhere).
pub(crate) fn value_response(
    method: &Method,
    headers: &HeaderMap,
    value: Bytes,
    content_type: &'static str,
    tag: &str,
) -> Response {
    if let Some(unchanged) = not_modified(headers, tag) {
        return unchanged;
    }
    let len = value.len() as u64;
    let mut builder = Response::builder()
        .header(ETAG, header(tag))
        .header(ACCEPT_RANGES, "bytes");
    let range = headers.get(RANGE).and_then(|v| v.to_str().ok());
    let wanted = if if_range_holds(headers, tag) {
        wanted(range, len)
    } else {
        Wanted::Whole
    };
    builder = builder.header(CONTENT_TYPE, content_type);
    let (status, body) = match wanted {
        Wanted::Whole => (StatusCode::OK, value),
        Wanted::Part(r) => {
            builder = builder.header(
                CONTENT_RANGE,
                header(&format!("bytes {}-{}/{len}", r.start, r.end - 1)),
            );
            let (start, end) = (r.start as usize, r.end as usize);
            (StatusCode::PARTIAL_CONTENT, value.slice(start..end))
        }
        Wanted::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(CONTENT_RANGE, header(&format!("bytes */{len}")))
                .header(CONTENT_LENGTH, 0)
                .body(Body::empty())
                .unwrap_or_default();
        }
    };
    builder = builder
        .status(status)
        .header(CONTENT_LENGTH, body.len());
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    builder.body(body).unwrap_or_default()
}

/// A plain-text answer (errors, 404).
pub(crate) fn text_response(status: StatusCode, text: impl Into<String>) -> Response {
    let text = text.into();
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(CONTENT_LENGTH, text.len())
        .body(Body::from(text))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{etag, wanted, Wanted};

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(wanted(None, 10), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-3"), 10), Wanted::Part(0..4));
        assert_eq!(wanted(Some("bytes=2-"), 10), Wanted::Part(2..10));
        assert_eq!(wanted(Some("bytes=-4"), 10), Wanted::Part(6..10));
        assert_eq!(wanted(Some("bytes=-40"), 10), Wanted::Part(0..10));
        assert_eq!(wanted(Some("bytes=5-400"), 10), Wanted::Part(5..10));
        assert_eq!(wanted(Some("bytes=9-9"), 10), Wanted::Part(9..10));
        assert_eq!(wanted(Some("bytes=10-"), 10), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=10-20"), 10), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 10), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
        // Malformed, other units and multiple ranges are ignored: the whole value.
        for h in ["bytes=3-1", "bytes=a-b", "items=0-1", "bytes=0-1,4-5", "bytes=", "bytes=-", "bytes=+1-2"] {
            assert_eq!(wanted(Some(h), 10), Wanted::Whole, "{h}");
        }
        assert_eq!(wanted(Some("bytes=0-18446744073709551615"), 10), Wanted::Part(0..10));
    }

    #[test]
    fn etags_are_quoted_and_depend_on_every_part() {
        let a = etag(&[b"x", b"y"]);
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 34);
        assert_eq!(a, etag(&[b"x", b"y"]));
        assert_ne!(a, etag(&[b"xy"]));
        assert_ne!(a, etag(&[b"x", b"z"]));
    }
}
