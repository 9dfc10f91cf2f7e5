//! Name and attribute helpers of the DMR++ parser: DAP4 name resolution (DAP4 spec vol. 1,
//! section 2.3: fully qualified names), element attribute lookup, number and list parsing.

use std::borrow::Cow;
use std::collections::HashMap;

use super::fast::FastAttrs;
use super::types::Atomic;
use super::var::shorten;
use crate::manifest::ByteOrder;

/// Names of DAP4 variable elements.
pub(super) fn is_variable(local: &str) -> bool {
    Atomic::from_name(local).is_some() || matches!(local, "Enum" | "Structure" | "Sequence" | "Opaque")
}

/// The local part of a qualified XML name (after the first `:`), as quick-xml's
/// `QName::local_name`, without its `memchr` call: names here are a few bytes long.
pub(super) fn local(qname: &str) -> &str {
    match qname.bytes().position(|b| b == b':') {
        Some(i) => &qname[i + 1..],
        None => qname,
    }
}

pub(super) fn join(group: &str, name: &str) -> String {
    if group == "/" || group.is_empty() {
        format!("/{name}")
    } else {
        format!("{group}/{name}")
    }
}

pub(super) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Resolve a DAP4 name: absolute (`/g/dim`) or relative to the enclosing group and its ancestors.
pub(super) fn resolve<T>(name: &str, group: &str, map: &HashMap<String, T>) -> Option<String> {
    if name.starts_with('/') {
        return map.contains_key(name).then(|| name.to_string());
    }
    let mut g = group;
    loop {
        let key = join(g, name);
        if map.contains_key(&key) {
            return Some(key);
        }
        if g == "/" || g.is_empty() {
            return None;
        }
        g = parent(g);
    }
}

pub(super) fn byte_order(text: &str) -> Option<ByteOrder> {
    match text.trim() {
        "LE" | "le" => Some(ByteOrder::Le),
        "BE" | "be" => Some(ByteOrder::Be),
        _ => None,
    }
}

/// The XML attributes of one start tag as (local name, value), borrowed from the tag where the
/// value needs no normalization: the usual plain ones without allocating, others as read by
/// quick-xml.
pub(super) enum Attrs<'e> {
    Plain(FastAttrs<'e>),
    Other(Vec<(&'e str, Cow<'e, str>)>),
}

/// `[0,10000]` → `0, 10000` appended to `out` (a variable keeps all its chunk positions in one
/// vector); nothing is appended on error.
pub(super) fn position(text: &str, out: &mut Vec<u64>) -> Result<(), String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    if inner.trim().is_empty() {
        return Ok(());
    }
    let start = out.len();
    for t in inner.split(',') {
        match t.trim().parse::<u64>() {
            Ok(v) => out.push(v),
            Err(_) => {
                out.truncate(start);
                return Err(format!("chunkPositionInArray `{}` is not a list of numbers", shorten(text)));
            }
        }
    }
    Ok(())
}

pub(super) fn number<T: std::str::FromStr>(attrs: &Attrs<'_>, key: &str) -> Result<Option<T>, String> {
    parse_number(key, get(attrs, key))
}

/// The number in attribute `key`'s value, if there is one.
pub(super) fn parse_number<T: std::str::FromStr>(key: &str, value: Option<&str>) -> Result<Option<T>, String> {
    match value {
        None => Ok(None),
        Some(v) => v.trim().parse::<T>().map(Some).map_err(|_| format!("{key}=`{}` is not a valid number", shorten(v))),
    }
}

/// The value of the first attribute whose local name is `key`.
pub(super) fn get<'a>(attrs: &'a Attrs<'_>, key: &str) -> Option<&'a str> {
    match attrs {
        Attrs::Plain(plain) => plain.get(key),
        Attrs::Other(all) => all.iter().find(|(k, _)| *k == key).map(|(_, v)| &**v),
    }
}

/// `https://h/x.h5.dmrpp?sig=..` → (`https://h/x.h5.dmrpp`, `?sig=..`); paths have no query.
pub(super) fn split_query(location: &str) -> (&str, &str) {
    match location.find("://").and_then(|_| location.find(['?', '#'])) {
        Some(i) => location.split_at(i),
        None => (location, ""),
    }
}
