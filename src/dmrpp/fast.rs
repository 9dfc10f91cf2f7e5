//! Fast paths of the parser for the common shape of build_dmrpp output: plain `key="value"`
//! attributes and decimal numbers. Each returns `None` for anything else, and the caller then
//! takes the general path (quick-xml's attribute iterator, `str::parse`), so a document reads
//! the same — values, errors and messages — whichever path a token goes through.

/// At most this many attributes are scanned on the fast path (a DMR++ element has fewer).
const MAX: usize = 8;

/// The attributes of one tag, all borrowed from it: per attribute the offsets in the tag of
/// the qualified key's start, the local key's start, the key's end (`="` follows) and the
/// value's end (kept small: this is built for every element).
pub(super) struct FastAttrs<'e> {
    raw: &'e str,
    spans: [[u16; 4]; MAX],
    n: usize,
}

impl<'e> FastAttrs<'e> {
    /// (local key, value) pairs in document order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&'e str, &'e str)> + '_ {
        let raw = self.raw;
        self.spans[..self.n].iter().map(move |&[_, local, key_end, value_end]| {
            (&raw[usize::from(local)..usize::from(key_end)], &raw[usize::from(key_end) + 2..usize::from(value_end)])
        })
    }

    /// The value of the first attribute whose local name is `key`.
    pub(super) fn get(&self, key: &str) -> Option<&'e str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// Byte classes of the scanner: where a key stops (`=`, `:` and anything the fast path
/// leaves to quick-xml), where a value stops (either quote, and what normalization changes),
/// and XML whitespace as quick-xml counts it between attributes.
const KEY_STOP: u8 = 1;
const VALUE_STOP: u8 = 2;
const WS: u8 = 4;
/// Bytes a value may not hold on the `chunk_tag` path.
const IN_TAG: u8 = 8;
const CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let key_stops = b"=:\"'<>& \t\r\n";
    let mut i = 0;
    while i < key_stops.len() {
        class[key_stops[i] as usize] |= KEY_STOP;
        i += 1;
    }
    let value_stops = b"\"'&\t\r\n";
    let mut i = 0;
    while i < value_stops.len() {
        class[value_stops[i] as usize] |= VALUE_STOP;
        i += 1;
    }
    let ws = b" \t\r\n";
    let mut i = 0;
    while i < ws.len() {
        class[ws[i] as usize] |= WS;
        i += 1;
    }
    class[b'<' as usize] |= IN_TAG;
    class[b'>' as usize] |= IN_TAG;
    let mut c = 0x80;
    while c < 256 {
        class[c] |= KEY_STOP | IN_TAG;
        c += 1;
    }
    class
};

fn is(b: u8, class: u8) -> bool {
    CLASS[usize::from(b)] & class != 0
}

/// Scan `raw` (a start tag after its name, as `BytesStart::attributes_raw` gives it) when every
/// attribute is `key="value"` (or single-quoted) after whitespace, values need no normalization
/// (no `&`, tab or line break), none is longer than `limit`, keys are unique and there are at
/// most 8. Then the values are exactly what quick-xml's `normalized_value` returns for them,
/// and keys' local parts what `names::local` gives; otherwise `None`.
pub(super) fn attrs(raw: &str, limit: usize) -> Option<FastAttrs<'_>> {
    let (spans, n, _) = scan(raw.as_bytes(), false, limit)?;
    Some(FastAttrs { raw, spans, n })
}

/// The attribute scanner of [`attrs`] over bytes. With `tag_end`, `b` runs on past the tag and
/// the scan stops at `/>` where a key could start, returning the offset after it; then any
/// `<`, `>` or non-ASCII byte elsewhere makes it `None` (the tag is ASCII, and ends at the
/// first `>` outside quotes, as quick-xml finds it).
fn scan(b: &[u8], tag_end: bool, limit: usize) -> Option<([[u16; 4]; MAX], usize, usize)> {
    let mut spans = [[0u16; 4]; MAX];
    let mut n = 0;
    let mut i = 0;
    let value_stop = if tag_end { VALUE_STOP | IN_TAG } else { VALUE_STOP };
    loop {
        i += b[i..].iter().position(|&c| !is(c, WS)).unwrap_or(b.len() - i);
        if tag_end {
            if b.get(i) == Some(&b'/') {
                return (b.get(i + 1) == Some(&b'>')).then_some((spans, n, i + 2));
            }
        } else if i == b.len() {
            return Some((spans, n, i));
        }
        // Names start after whitespace (quick-xml also accepts `a="1"b="2"`: left to it).
        if (i > 0 && !is(b[i - 1], WS)) || n == MAX || i >= usize::from(u16::MAX) {
            return None;
        }
        let key_start = i;
        let mut local = i;
        loop {
            i += b[i..].iter().position(|&c| is(c, KEY_STOP))?;
            match b[i] {
                b'=' => break,
                b':' => {
                    if local == key_start {
                        local = i + 1;
                    }
                    i += 1;
                }
                _ => return None,
            }
        }
        let key_end = i;
        let quote = *b.get(i + 1)?;
        if key_end == key_start || (quote != b'"' && quote != b'\'') {
            return None;
        }
        i += 2;
        let value_start = i;
        loop {
            i += b[i..].iter().position(|&c| is(c, value_stop))?;
            match b[i] {
                c if c == quote => break,
                b'"' | b'\'' => i += 1,
                _ => return None,
            }
        }
        if i - value_start > limit || i > usize::from(u16::MAX) {
            return None;
        }
        let key = &b[key_start..key_end];
        let seen = |&[s, _, e, _]: &[u16; 4]| {
            let (s, e) = (usize::from(s), usize::from(e));
            b[s] == key[0] && b[s..e] == *key
        };
        if spans[..n].iter().any(seen) {
            return None;
        }
        // Offsets fit: checked against u16::MAX above.
        let at = |p: usize| p as u16;
        spans[n] = [at(key_start), at(local), at(key_end), at(i)];
        n += 1;
        i += 1;
    }
}

/// The name a chunk element has in build_dmrpp output.
pub(super) const CHUNK: &str = "dmrpp:chunk";

/// One `<dmrpp:chunk .../>` read directly from the input (see [`chunk_tag`]).
pub(super) struct ChunkTag<'e> {
    /// Length of the whitespace before the element.
    pub ws: usize,
    /// Length of the element, `<` to `/>`.
    pub len: usize,
    pub attrs: FastAttrs<'e>,
}

/// `rest` (the input after a tag) starts with whitespace and one `<dmrpp:chunk .../>` element
/// in ASCII whose attributes [`attrs`] reads (`attr_limit`) and no `<` or `>` inside it, each
/// of the two tokens at most `token_limit` bytes. Such a run is exactly what quick-xml reads
/// as a Text event and an Empty event with those attributes.
pub(super) fn chunk_tag(rest: &[u8], token_limit: u64, attr_limit: usize) -> Option<ChunkTag<'_>> {
    let ws = rest.iter().position(|&c| !is(c, WS))?;
    let tag = &rest[ws..];
    let name_end = 1 + CHUNK.len();
    if tag.get(..name_end)? != b"<dmrpp:chunk" || !is(*tag.get(name_end)?, WS) {
        return None;
    }
    let (spans, n, end) = scan(&tag[name_end..], true, attr_limit)?;
    let len = name_end + end;
    let within = |n: usize| u64::try_from(n).is_ok_and(|n| n <= token_limit);
    if !within(ws) || !within(len) {
        return None;
    }
    // ASCII: every byte was checked by `scan` (whitespace, keys, values) or is `/>`.
    let raw = std::str::from_utf8(&tag[name_end..len - 2]).ok()?;
    Some(ChunkTag { ws, len, attrs: FastAttrs { raw, spans, n } })
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
        let a = attrs(r#" offset="12" nBytes='3' dmrpp:x="a b" y="""#, 100).unwrap();
        assert_eq!(a.iter().collect::<Vec<_>>(), [("offset", "12"), ("nBytes", "3"), ("x", "a b"), ("y", "")]);
        assert_eq!(a.get("x"), Some("a b"));
        let a = attrs(r#" :k="it's" a:b:c='say "hi"'"#, 100).unwrap();
        assert_eq!(a.iter().collect::<Vec<_>>(), [("k", "it's"), ("b:c", "say \"hi\"")]);
        assert_eq!(attrs("  ", 100).unwrap().iter().count(), 0);
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
            r#" a="1" b:a="2" b:a="3""#,
            r#" a<="1""#,
        ] {
            assert!(attrs(odd, 100).is_none(), "{odd}");
        }
        assert!(attrs(r#" a="12345""#, 4).is_none());
    }

    #[test]
    fn chunk_tags() {
        let t = b"\n  <dmrpp:chunk offset=\"1\" nBytes='2'/>\n</x>";
        let c = chunk_tag(t, 100, 100).unwrap();
        assert_eq!((c.ws, c.len), (3, 36));
        assert_eq!(c.attrs.iter().collect::<Vec<_>>(), [("offset", "1"), ("nBytes", "2")]);
        let c = chunk_tag(b"<dmrpp:chunk a=\"'\"/>", 100, 100).unwrap();
        assert_eq!((c.ws, c.len, c.attrs.get("a")), (0, 20, Some("'")));
        assert!(chunk_tag(t, 35, 100).is_none());
        assert!(chunk_tag(t, 100, 0).is_none());
        for odd in [
            &b"<dmrpp:chunk a=\"x>\"/>"[..],
            b"<dmrpp:chunk a=\"'\" b='>'/>",
            b"<dmrpp:chunks a=\"1\"/>",
            b"<dmrpp:chunk/>",
            b"<dmrpp:chunk a=\"1\">",
            b"<dmrpp:chunk a=\"1\" / >",
            b"<dmrpp:chunk a=\"\xc3\xa9\"/>",
            b"<dmrpp:chunk a=\"<\"/>",
            b"x<dmrpp:chunk a=\"1\"/>",
            b"  ",
        ] {
            assert!(chunk_tag(odd, 100, 100).is_none(), "{}", String::from_utf8_lossy(odd));
        }
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
