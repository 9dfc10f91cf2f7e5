//! Writing a DMR++ sidecar from a manifest, in the form OPeNDAP's `build_dmrpp` writes
//! (DMR 2.0 with `dmrpp:version`, so filters are listed in pipeline order).
//!
//! What DAP4 cannot express is left out and reported: compound, vlen, reference and other
//! non-atomic types, virtual and external layouts. Attributes of numeric and string types are
//! written; references and other opaque values are skipped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;

use crate::manifest::{ArrayMeta, Attribute, ByteOrder, Datatype, GranuleManifest, Layout, Problem, StringPadding};

/// The `dmrpp:version` written: the DMR++ generation whose conventions are followed.
pub const EXPORT_DMRPP_VERSION: &str = "3.21.1";

/// A DMR++ document and what could not be put in it.
#[derive(Clone, Debug)]
pub struct ExportedDmrpp {
    /// The XML text.
    pub xml: String,
    /// Arrays left out, with the reason.
    pub skipped: Vec<Problem>,
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, not even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The DAP4 atomic type of an element type, if there is one.
fn dap_type(d: &Datatype) -> Option<&'static str> {
    Some(match d {
        Datatype::Integer { size: 1, signed: true, .. } => "Int8",
        Datatype::Integer { size: 1, signed: false, .. } => "Byte",
        Datatype::Integer { size: 2, signed: true, .. } => "Int16",
        Datatype::Integer { size: 2, signed: false, .. } => "UInt16",
        Datatype::Integer { size: 4, signed: true, .. } => "Int32",
        Datatype::Integer { size: 4, signed: false, .. } => "UInt32",
        Datatype::Integer { size: 8, signed: true, .. } => "Int64",
        Datatype::Integer { size: 8, signed: false, .. } => "UInt64",
        Datatype::Float { size: 4, .. } => "Float32",
        Datatype::Float { size: 8, .. } => "Float64",
        Datatype::Enum { base, .. } => return dap_type(base),
        Datatype::String { .. } => "String",
        _ => return None,
    })
}

/// The fill value as build_dmrpp prints it (a number; strings as their text).
fn fill_text(a: &ArrayMeta) -> String {
    let Some(raw) = a.fill.value.as_deref() else { return "0".to_string() };
    match (&a.dtype, a.dtype.scalar(raw)) {
        (_, Some(v)) => v.to_string(),
        (Datatype::String { .. }, None) => xml_escape(String::from_utf8_lossy(raw).trim_end_matches('\0')),
        _ => "0".to_string(),
    }
}

fn attribute_xml(out: &mut String, indent: &str, a: &Attribute) {
    let (ty, values): (&str, Vec<String>) = match &a.dtype {
        Datatype::String { .. } => ("String", flatten(&a.value).iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect()),
        t => match dap_type(t) {
            Some(ty) if ty != "String" => (ty, flatten(&a.value).iter().map(|v| v.to_string()).collect()),
            _ => return,
        },
    };
    if values.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}<Attribute name=\"{}\" type=\"{ty}\">", xml_escape(&a.name));
    for v in values {
        let _ = writeln!(out, "{indent}    <Value>{}</Value>", xml_escape(v.trim_matches('"')));
    }
    let _ = writeln!(out, "{indent}</Attribute>");
}

fn flatten(v: &serde_json::Value) -> Vec<serde_json::Value> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(flatten).collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn variable_xml(out: &mut String, indent: &str, a: &ArrayMeta) -> Result<(), String> {
    if let Some(why) = &a.unsupported {
        return Err(why.clone());
    }
    if matches!(a.layout, Layout::Virtual | Layout::External) {
        return Err(format!("{:?} layout has no DMR++ form", a.layout).to_lowercase());
    }
    let Some(ty) = dap_type(&a.dtype) else {
        return Err(format!("HDF5 {} type has no DAP4 atomic equivalent", a.dtype.class_name()));
    };
    if matches!(a.dtype, Datatype::String { size: None, .. }) {
        return Err("variable-length strings are stored in the HDF5 global heap, not as chunks".to_string());
    }
    if let Some(f) = a.filters.iter().find(|f| !matches!(f.id, 1..=3)) {
        return Err(format!("filter {} (id {}) has no DMR++ compressionType", f.name, f.id));
    }
    let name = a.path.rsplit('/').next().unwrap_or(&a.path);
    let _ = writeln!(out, "{indent}<{ty} name=\"{}\">", xml_escape(name));
    let inner = format!("{indent}    ");
    for d in &a.shape {
        let _ = writeln!(out, "{inner}<Dim size=\"{d}\"/>");
    }
    for at in &a.attributes {
        attribute_xml(out, &inner, at);
    }
    let mut chunks_attrs = String::new();
    if !a.filters.is_empty() {
        let names: Vec<&str> = a.filters.iter().map(|f| f.name.as_str()).collect();
        let _ = write!(chunks_attrs, " compressionType=\"{}\"", names.join(" "));
        let levels: Vec<String> =
            a.filters.iter().filter(|f| f.id == 1).map(|f| f.params.first().copied().unwrap_or(6).to_string()).collect();
        if !levels.is_empty() {
            let _ = write!(chunks_attrs, " deflateLevel=\"{}\"", levels.join(" "));
        }
    }
    let _ = write!(chunks_attrs, " fillValue=\"{}\"", fill_text(a));
    if let Some(order) = a.dtype.order() {
        let _ = write!(chunks_attrs, " byteOrder=\"{}\"", if order == ByteOrder::Be { "BE" } else { "LE" });
    }
    match a.layout {
        Layout::Compact => {
            let _ = writeln!(out, "{inner}<dmrpp:chunks{chunks_attrs}/>");
            let data = base64::engine::general_purpose::STANDARD.encode(a.inline.as_deref().unwrap_or_default());
            let _ = writeln!(out, "{inner}<dmrpp:compact>{data}</dmrpp:compact>");
        }
        Layout::Contiguous => {
            let _ = writeln!(out, "{inner}<dmrpp:chunks{chunks_attrs}>");
            for c in &a.chunks {
                let _ = writeln!(out, "{inner}    <dmrpp:chunk offset=\"{}\" nBytes=\"{}\"/>", c.offset, c.length);
            }
            let _ = writeln!(out, "{inner}</dmrpp:chunks>");
        }
        _ => {
            let _ = writeln!(out, "{inner}<dmrpp:chunks{chunks_attrs}>");
            let dims: Vec<String> = a.chunk_shape.iter().map(u64::to_string).collect();
            let _ = writeln!(out, "{inner}    <dmrpp:chunkDimensionSizes>{}</dmrpp:chunkDimensionSizes>", dims.join(" "));
            for c in &a.chunks {
                let pos: Vec<String> = a.chunk_origin(c).iter().map(u64::to_string).collect();
                let fm = if c.filter_mask != 0 { format!(" fm=\"{}\"", c.filter_mask) } else { String::new() };
                let _ = writeln!(
                    out,
                    "{inner}    <dmrpp:chunk offset=\"{}\" nBytes=\"{}\" chunkPositionInArray=\"[{}]\"{fm}/>",
                    c.offset,
                    c.length,
                    pos.join(",")
                );
            }
            let _ = writeln!(out, "{inner}</dmrpp:chunks>");
        }
    }
    if let Datatype::String { size: Some(n), padding, .. } = &a.dtype {
        let pad = match padding {
            StringPadding::NullTerm => "null_term",
            StringPadding::NullPad => "null_pad",
            StringPadding::SpacePad => "space_pad",
        };
        let _ = writeln!(out, "{inner}<dmrpp:FixedLengthStringArray string_length=\"{n}\" pad=\"{pad}\"/>");
    }
    let _ = writeln!(out, "{indent}</{ty}>");
    Ok(())
}

/// Groups and arrays arranged as a tree for nested `<Group>` elements.
#[derive(Default)]
struct Node<'a> {
    arrays: Vec<&'a ArrayMeta>,
    attributes: &'a [Attribute],
    children: BTreeMap<&'a str, Node<'a>>,
}

impl<'a> Node<'a> {
    fn at(&mut self, path: &'a str) -> &mut Node<'a> {
        let mut node = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.children.entry(part).or_default();
        }
        node
    }
}

fn group_xml(out: &mut String, indent: &str, node: &Node<'_>, path: &str, skipped: &mut Vec<Problem>) {
    for a in &node.arrays {
        if let Err(reason) = variable_xml(out, indent, a) {
            skipped.push(Problem { path: a.path.clone(), reason });
        }
    }
    for at in node.attributes {
        attribute_xml(out, indent, at);
    }
    for (name, child) in &node.children {
        let _ = writeln!(out, "{indent}<Group name=\"{}\">", xml_escape(name));
        let child_path = format!("{path}/{name}");
        group_xml(out, &format!("{indent}    "), child, &child_path, skipped);
        let _ = writeln!(out, "{indent}</Group>");
    }
}

/// The DMR++ of a manifest whose data file is `href` (often the placeholder
/// `OPeNDAP_DMRpp_DATA_ACCESS_URL`, which readers replace with the sidecar's URL minus `.dmrpp`).
pub fn write_dmrpp(m: &GranuleManifest, href: &str) -> ExportedDmrpp {
    let mut root = Node::default();
    for g in &m.groups {
        root.at(&g.path).attributes = &g.attributes;
    }
    for a in &m.arrays {
        let parent = a.path.rsplit_once('/').map_or("", |(p, _)| p);
        root.at(parent).arrays.push(a);
    }
    let name = m.url.rsplit('/').next().unwrap_or(&m.url);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n");
    let _ = writeln!(
        xml,
        "<Dataset xmlns=\"http://xml.opendap.org/ns/DAP/4.0#\" xmlns:dmrpp=\"http://xml.opendap.org/dap/dmrpp/1.0.0#\" \
         dapVersion=\"4.0\" dmrVersion=\"2.0\" name=\"{}\" dmrpp:href=\"{}\" dmrpp:version=\"{EXPORT_DMRPP_VERSION}\">",
        xml_escape(name),
        xml_escape(href)
    );
    let mut skipped = Vec::new();
    group_xml(&mut xml, "    ", &root, "", &mut skipped);
    let _ = writeln!(xml, "    <Attribute name=\"build_dmrpp_metadata\" type=\"Container\">");
    let _ = writeln!(xml, "        <Attribute name=\"build_dmrpp\" type=\"String\">");
    let _ = writeln!(xml, "            <Value>vz {}</Value>", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(xml, "        </Attribute>");
    let _ = writeln!(xml, "    </Attribute>");
    xml.push_str("</Dataset>\n");
    ExportedDmrpp { xml, skipped }
}
