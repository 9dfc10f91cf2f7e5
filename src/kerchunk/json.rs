//! The JSON reference file: `{"version": 1, "refs": {key: value}}` (kerchunk reference spec v1).
//!
//! Metadata documents are JSON text (as kerchunk writes them), chunk references
//! `[url, offset, length]`, inline chunks `"base64:…"` strings. `.zmetadata` repeats every
//! metadata document as Zarr v2 consolidated metadata: zarr-python 3's `FsspecStore` cannot list
//! the members of a group on a ReferenceFileSystem (it asks for `/group`, the reference keys have
//! no leading slash), so readers find arrays and subgroups through it instead.

use std::fmt::Write as _;

use base64::Engine as _;

use super::{chunk_key, doc, Encoded, References, Target};

/// Encode `refs` as one JSON document. Written by hand, one entry at a time, so millions of
/// chunk references do not become a `serde_json::Value` tree first.
pub fn to_json(refs: &References) -> Encoded {
    let mut out = String::from("{\"version\": 1, \"refs\": {");
    let mut first = true;
    let mut entry = |out: &mut String, key: &str, value: &str| {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str("\n  ");
        out.push_str(&quote(key));
        out.push_str(": ");
        out.push_str(value);
    };
    for (key, value) in &refs.metadata {
        entry(&mut out, key, &quote(&value.to_string()));
    }
    entry(&mut out, ".zmetadata", &quote(&super::consolidated(refs).to_string()));
    for (base, array) in &refs.arrays {
        for (coords, target) in &array.chunks {
            let value = match target {
                Target::Range { url, offset, length } => {
                    let mut v = String::with_capacity(url.len() + 32);
                    let _ = write!(v, "[{}, {offset}, {length}]", quote(url));
                    v
                }
                Target::Inline(bytes) => {
                    quote(&format!("base64:{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
                }
            };
            entry(&mut out, &doc(base, &chunk_key(coords)), &value);
        }
    }
    out.push_str("\n}}\n");
    Encoded::File(out.into_bytes())
}

fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}
