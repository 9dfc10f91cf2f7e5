//! Request path → store key, strictly: the path is percent-decoded once and anything that could
//! name something other than a store key is refused (the caller answers 404). The store resolves
//! keys only through the manifests, so a refused or unknown key never reaches a file system; this
//! check keeps the key space canonical (one spelling per key) and the access log honest.

/// The store key a raw request path (`uri.path()`, still percent-encoded) names, or `None` when
/// the path is not a well-formed key: not starting with `/`, empty, a bad or non-UTF-8 escape,
/// an encoded `/` or `\`, `..` anywhere, `//`, a leading or trailing `/`, a backslash, NUL or
/// another control character after decoding.
pub(crate) fn store_key(raw_path: &str) -> Option<String> {
    let raw = raw_path.strip_prefix('/')?;
    let key = percent_decode(raw)?;
    let refused = key.is_empty()
        || key.starts_with('/')
        || key.ends_with('/')
        || key.contains("//")
        || key.contains("..")
        || key.contains('\\')
        || key.chars().any(char::is_control)
        // `%2F` decodes to a slash the raw path did not have: a different path structure.
        || key.matches('/').count() != raw.matches('/').count();
    (!refused).then_some(key)
}

/// Decode `%XX` escapes once. `None` for a truncated or non-hex escape or a result that is not
/// UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::store_key;

    #[test]
    fn plain_keys_pass_through() {
        assert_eq!(store_key("/zarr.json").as_deref(), Some("zarr.json"));
        assert_eq!(
            store_key("/ATL06_x/gt1l/land_ice_segments/h_li/c/3").as_deref(),
            Some("ATL06_x/gt1l/land_ice_segments/h_li/c/3")
        );
        assert_eq!(store_key("/g/a%20b/zarr.json").as_deref(), Some("g/a b/zarr.json"));
        assert_eq!(store_key("/g/%C3%A9/zarr.json").as_deref(), Some("g/é/zarr.json"));
    }

    #[test]
    fn escapes_and_traversals_are_refused() {
        for bad in [
            "",
            "/",
            "zarr.json",
            "//etc/passwd",
            "/../etc/passwd",
            "/g/../zarr.json",
            "/g/%2e%2e/zarr.json",
            "/%2E%2E/%2E%2E/etc/passwd",
            "/g%2Fgt1l/zarr.json",
            "/g%2fgt1l/zarr.json",
            "/g%5Cgt1l/zarr.json",
            "/g\\gt1l/zarr.json",
            "/g//zarr.json",
            "/g/",
            "/g/zarr.json%00",
            "/g/%0a/zarr.json",
            "/g/%zz/zarr.json",
            "/g/%2",
            "/g/%ff/zarr.json",
            "/%2Fetc%2Fpasswd",
            "/%252e%252e/x",
        ] {
            let got = store_key(bad);
            // `%252e` decodes once to the literal `%2e`: not a traversal, just an unknown key.
            if bad == "/%252e%252e/x" {
                assert_eq!(got.as_deref(), Some("%2e%2e/x"));
                continue;
            }
            assert_eq!(got, None, "{bad:?} should be refused");
        }
    }
}
