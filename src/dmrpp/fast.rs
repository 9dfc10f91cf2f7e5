//! Fast paths of the parser for the common shape of build_dmrpp output: plain `key="value"`
//! attributes and decimal numbers. Each returns `None` for anything else, and the caller then
//! takes the general path (quick-xml's attribute iterator, `str::parse`), so a document reads
//! the same — values, errors and messages — whichever path a token goes through.

/// At most this many attributes are scanned on the fast path (a DMR++ element has fewer than 10).
const MAX: usize = 16;

/// The attributes of one tag as (qualified key, value), all borrowed from the tag.
pub(super) struct FastAttrs<'e> {
    items: [(&'e str, &'e str); MAX],
    n: usize,
}

impl<'e> FastAttrs<'e> {
    pub(super) fn as_slice(&self) -> &[(&'e str, &'e str)] {
        &self.items[..self.n]
    }
}

/// XML whitespace, as quick-xml counts it between attributes.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Scan `raw` (a start tag after its name, as `BytesStart::attributes_raw` gives it) when every
/// attribute is `key="value"` (or single-quoted), values need no normalization (no `&`, tab or
/// line break), none is longer than `limit`, keys are unique and there are at most 16. Then the
/// values are exactly what quick-xml's `normalized_value` returns for them; otherwise `None`.
pub(super) fn attrs(raw: &str, limit: usize) -> Option<FastAttrs<'_>> {
    let b = raw.as_bytes();
    let mut out = FastAttrs { items: [("", ""); MAX], n: 0 };
    let mut i = 0;
    loop {
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if i == b.len() {
            return Some(out);
        }
        // Names start after whitespace (quick-xml also accepts `a="1"b="2"`: left to it).
        if i > 0 && !is_ws(b[i - 1]) {
            return None;
        }
        let key_start = i;
        while i < b.len() && !matches!(b[i], b'=' | b'"' | b'\'' | b'<' | b'>' | b'&') && !is_ws(b[i]) {
            i += 1;
        }
        if i == key_start || i + 1 >= b.len() || b[i] != b'=' {
            return None;
        }
        let key = &raw[key_start..i];
        let quote = b[i + 1];
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let value_start = i + 2;
        let len = b[value_start..].iter().position(|&c| c == quote)?;
        let value = &b[value_start..value_start + len];
        if len > limit || value.iter().any(|&c| matches!(c, b'&' | b'\t' | b'\r' | b'\n')) {
            return None;
        }
        if out.n == MAX || out.as_slice().iter().any(|(k, _)| *k == key) {
            return None;
        }
        // The slice ends before a quote (ASCII), so it is on a char boundary.
        out.items[out.n] = (key, &raw[value_start..value_start + len]);
        out.n += 1;
        i = value_start + len + 1;
    }
}

/// A plain decimal `u64` (1 to 19 digits, nothing else); other spellings go to `str::parse`.
pub(super) fn u64_digits(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

/// `[0,10000]` (no spaces) appended to `out`; `None` (nothing appended) for other spellings.
pub(super) fn position(text: &str, out: &mut Vec<u64>) -> Option<()> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    if inner.is_empty() {
        return None;
    }
    let start = out.len();
    for t in inner.split(',') {
        match u64_digits(t) {
            Some(v) => out.push(v),
            None => {
                out.truncate(start);
                return None;
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_attributes_only() {
        let a = attrs(r#" offset="12" nBytes='3' dmrpp:x="a b""#, 100).unwrap();
        assert_eq!(a.as_slice(), [("offset", "12"), ("nBytes", "3"), ("dmrpp:x", "a b")]);
        assert!(attrs("  ", 100).unwrap().as_slice().is_empty());
        for odd in [
            r#" a="1"b="2""#,
            r#" a = "1""#,
            r#" a=1"#,
            r#" a="1"#,
            r#" a="&amp;""#,
            " a=\"x\ty\"",
            r#" a="1" a="2""#,
            r#" ="1""#,
            r#" a"#,
        ] {
            assert!(attrs(odd, 100).is_none(), "{odd}");
        }
        assert!(attrs(r#" a="12345""#, 4).is_none());
    }

    #[test]
    fn numbers_and_positions() {
        assert_eq!(u64_digits("18446744073709551"), Some(18446744073709551));
        for odd in ["", "+1", " 1", "1 ", "-1", "12345678901234567890", "1e3"] {
            assert_eq!(u64_digits(odd), None, "{odd}");
        }
        let mut v = vec![7];
        assert_eq!(position("[0,10000]", &mut v), Some(()));
        assert_eq!(v, [7, 0, 10000]);
        assert_eq!(position("[0, 1]", &mut v), None);
        assert_eq!(position("[]", &mut v), None);
        assert_eq!(position("[1,x]", &mut v), None);
        assert_eq!(v, [7, 0, 10000]);
    }
}
