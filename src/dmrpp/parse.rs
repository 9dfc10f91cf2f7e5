//! The streaming event loop: quick-xml events → a stack of open elements → variables, groups,
//! dimensions and enumerations (DAP4 DMR, OPeNDAP DAP4 spec vol. 1 section 2; DMR++ extensions
//! in the `dmrpp:` namespace). Elements and attributes are matched by LOCAL name, so sidecars
//! with http or https namespace URIs (or other prefixes) read the same.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::counted::Counted;
use super::inline;
use super::types::{self, Atomic, Enumeration};
use super::var::{shorten, ChunksSpec, Inline, Kind, RawChunk, VarBuilder};
use super::{DmrppError, Limits};
use crate::manifest::{
    ArrayMeta, Attribute, ByteOrder, Datatype, EnumMember, GranuleManifest, GroupMeta, Problem, SourceKind,
    StringCharset, StringPadding,
};

/// Deepest element nesting accepted (real sidecars nest a dozen levels; Structure types are
/// converted recursively, so the depth must be bounded).
const MAX_DEPTH: usize = 256;

/// Elements whose text is collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TextKind {
    ChunkDims,
    Compact,
    Missing,
    Special,
    VlsaItem,
}

/// A DAP `<Attribute>` while open.
#[derive(Debug)]
struct AttrBuilder {
    name: String,
    type_name: String,
    values: Vec<serde_json::Value>,
    children: Vec<Attribute>,
    /// A value exceeded the length limit.
    over: Option<usize>,
}

/// What an open element is.
#[derive(Debug)]
enum Frame {
    Dataset,
    Group {
        index: usize,
    },
    Var(Box<VarBuilder>),
    Attr(AttrBuilder),
    Value {
        text: String,
        over: bool,
    },
    Enumeration {
        path: String,
        base: Atomic,
        members: Vec<EnumMember>,
    },
    Chunks,
    Vlsa(Vec<String>),
    Text {
        kind: TextKind,
        text: String,
        over: bool,
    },
    /// An element with nothing inside that matters (`Dim`, `Map`, `dmrpp:chunk`, ...).
    Leaf,
    /// An element whose whole subtree is ignored.
    Skip,
}

struct Open {
    frame: Frame,
    line: u64,
    name: String,
}

/// Parser state over one sidecar.
struct State {
    file: String,
    limits: Limits,
    stack: Vec<Open>,
    root_done: bool,
    versioned: bool,
    href: Option<String>,
    groups: Vec<GroupMeta>,
    dims: HashMap<String, u64>,
    enums: HashMap<String, Enumeration>,
    arrays: Vec<ArrayMeta>,
    problems: Vec<Problem>,
    /// (DAP path, HDF5 `fullnamepath`) of variables build_dmrpp renamed.
    renamed: Vec<(String, String)>,
}

/// Names of DAP4 variable elements.
fn is_variable(local: &str) -> bool {
    Atomic::from_name(local).is_some() || matches!(local, "Enum" | "Structure" | "Sequence" | "Opaque")
}

fn join(group: &str, name: &str) -> String {
    if group == "/" || group.is_empty() {
        format!("/{name}")
    } else {
        format!("{group}/{name}")
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Resolve a DAP4 name: absolute (`/g/dim`) or relative to the enclosing group and its ancestors.
fn resolve<T>(name: &str, group: &str, map: &HashMap<String, T>) -> Option<String> {
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

fn byte_order(text: &str) -> Option<ByteOrder> {
    match text.trim() {
        "LE" | "le" => Some(ByteOrder::Le),
        "BE" | "be" => Some(ByteOrder::Be),
        _ => None,
    }
}

/// `[0,10000]` → `[0, 10000]`.
fn position(text: &str) -> Result<Vec<u64>, String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|t| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("chunkPositionInArray `{}` is not a list of numbers", shorten(text)))
        })
        .collect()
}

fn number<T: std::str::FromStr>(attrs: &[(String, String)], key: &str) -> Result<Option<T>, String> {
    match get(attrs, key) {
        None => Ok(None),
        Some(v) => v.trim().parse::<T>().map(Some).map_err(|_| format!("{key}=`{}` is not a valid number", shorten(v))),
    }
}

fn get<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

impl State {
    fn new(file: &str, limits: Limits) -> Self {
        State {
            file: file.to_string(),
            limits,
            stack: Vec::new(),
            root_done: false,
            versioned: false,
            href: None,
            groups: Vec::new(),
            dims: HashMap::new(),
            enums: HashMap::new(),
            arrays: Vec::new(),
            problems: Vec::new(),
            renamed: Vec::new(),
        }
    }

    fn format_err(&self, line: u64, detail: impl Into<String>) -> DmrppError {
        DmrppError::Format { file: self.file.clone(), line, detail: detail.into() }
    }

    fn xml_err(&self, line: u64, detail: impl Into<String>) -> DmrppError {
        DmrppError::Xml { file: self.file.clone(), line, detail: detail.into() }
    }

    /// Path of the innermost group (`/` at dataset level).
    fn group_path(&self) -> String {
        for open in self.stack.iter().rev() {
            match &open.frame {
                Frame::Group { index } => return self.groups[*index].path.clone(),
                Frame::Dataset => return "/".into(),
                _ => {}
            }
        }
        "/".into()
    }

    /// The innermost open variable.
    fn var_mut(&mut self) -> Option<&mut VarBuilder> {
        self.stack.iter_mut().rev().find_map(|o| match &mut o.frame {
            Frame::Var(v) => Some(&mut **v),
            _ => None,
        })
    }

    /// Where the current element sits, for messages: the innermost variable or group path.
    fn owner_path(&self) -> String {
        for open in self.stack.iter().rev() {
            match &open.frame {
                Frame::Var(v) => return v.path.clone(),
                Frame::Group { index } => return self.groups[*index].path.clone(),
                _ => {}
            }
        }
        "/".into()
    }

    /// The XML attributes of a start tag as (local name, value), each bounded in length.
    fn attributes(&self, e: &BytesStart, line: u64) -> Result<Vec<(String, String)>, DmrppError> {
        let mut out = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| self.xml_err(line, format!("<{}>: {err}", e.name().as_ref())))?;
            let key = a.key.local_name().as_ref().to_string();
            if a.value.len() > self.limits.attr_value {
                return Err(DmrppError::TooLarge {
                    file: self.file.clone(),
                    line,
                    what: format!("attribute `{key}` of <{}> in {}", e.name().as_ref(), self.owner_path()),
                    limit: self.limits.attr_value as u64,
                });
            }
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| self.xml_err(line, format!("attribute `{key}` of <{}>: {err}", e.name().as_ref())))?;
            out.push((key, value.into_owned()));
        }
        Ok(out)
    }

    fn push(&mut self, frame: Frame, line: u64, name: &str) {
        self.stack.push(Open { frame, line, name: name.to_string() });
    }

    fn start(&mut self, e: &BytesStart, line: u64) -> Result<(), DmrppError> {
        let qname = e.name().as_ref().to_string();
        let local = e.local_name().as_ref().to_string();
        let local = local.as_str();
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.format_err(line, format!("<{qname}> nested deeper than {MAX_DEPTH} elements")));
        }
        if self.stack.is_empty() {
            if self.root_done {
                return Err(self.format_err(line, format!("<{qname}> after the end of <Dataset>")));
            }
            if local != "Dataset" {
                return Err(self.format_err(line, format!("root element is <{qname}>, expected <Dataset>")));
            }
            let attrs = self.attributes(e, line)?;
            self.versioned = get(&attrs, "version").is_some();
            self.href = get(&attrs, "href").map(str::to_string);
            self.groups.push(GroupMeta { path: "/".into(), attributes: Vec::new() });
            self.push(Frame::Dataset, line, &qname);
            return Ok(());
        }
        // Decide from the parent what this element may be.
        let parent_kind = match &self.stack.last().map(|o| &o.frame) {
            Some(Frame::Dataset) | Some(Frame::Group { .. }) => 0,
            Some(Frame::Var(_)) => 1,
            Some(Frame::Chunks) => 2,
            Some(Frame::Attr(_)) => 3,
            Some(Frame::Enumeration { .. }) => 4,
            Some(Frame::Vlsa(_)) => 5,
            _ => 6,
        };
        match parent_kind {
            0 => self.start_in_group(e, local, &qname, line),
            1 => self.start_in_var(e, local, &qname, line),
            2 => match local {
                "chunk" => self.start_chunk(e, line),
                "chunkDimensionSizes" => {
                    self.push(
                        Frame::Text { kind: TextKind::ChunkDims, text: String::new(), over: false },
                        line,
                        &qname,
                    );
                    Ok(())
                }
                "block" => self.start_in_var(e, local, &qname, line),
                _ if is_variable(local) || matches!(local, "Group" | "Dataset" | "Dimension") => {
                    Err(self.format_err(line, format!("<{qname}> inside <dmrpp:chunks>")))
                }
                _ => {
                    self.push(Frame::Skip, line, &qname);
                    Ok(())
                }
            },
            3 => {
                match local {
                    "Value" => {
                        let attrs = self.attributes(e, line)?;
                        let text = get(&attrs, "value").unwrap_or_default().to_string();
                        self.push(Frame::Value { text, over: false }, line, &qname);
                    }
                    "Attribute" => self.start_attribute(e, &qname, line)?,
                    // OtherXML content and anything else: not kept.
                    _ => self.push(Frame::Skip, line, &qname),
                }
                Ok(())
            }
            4 => {
                if local == "EnumConst" {
                    let attrs = self.attributes(e, line)?;
                    let name = get(&attrs, "name").unwrap_or_default().to_string();
                    let value = number::<i64>(&attrs, "value");
                    let path = self.owner_path();
                    match (value, self.stack.last_mut().map(|o| &mut o.frame)) {
                        (Ok(Some(value)), Some(Frame::Enumeration { members, .. })) => {
                            members.push(EnumMember { name, value })
                        }
                        (Ok(None), _) | (Err(_), _) => self.problems.push(Problem {
                            path,
                            reason: format!("line {line}: EnumConst {name} without an integer value"),
                        }),
                        _ => {}
                    }
                    self.push(Frame::Leaf, line, &qname);
                } else {
                    self.push(Frame::Skip, line, &qname);
                }
                Ok(())
            }
            5 => {
                let frame = if local == "v" {
                    Frame::Text { kind: TextKind::VlsaItem, text: String::new(), over: false }
                } else {
                    if let Some(v) = self.var_mut() {
                        v.notes.push(format!("line {line}: <{qname}> inside dmrpp:vlsa ignored"));
                    }
                    Frame::Skip
                };
                self.push(frame, line, &qname);
                Ok(())
            }
            _ => {
                if matches!(self.stack.last().map(|o| &o.frame), Some(Frame::Value { .. })) {
                    return Err(self.format_err(line, format!("<{qname}> inside <Value>")));
                }
                self.push(Frame::Skip, line, &qname);
                Ok(())
            }
        }
    }

    fn start_attribute(&mut self, e: &BytesStart, qname: &str, line: u64) -> Result<(), DmrppError> {
        let attrs = self.attributes(e, line)?;
        let name = get(&attrs, "name").unwrap_or_default().to_string();
        let type_name = get(&attrs, "type").unwrap_or("String").to_string();
        let frame = Frame::Attr(AttrBuilder { name, type_name, values: Vec::new(), children: Vec::new(), over: None });
        self.push(frame, line, qname);
        Ok(())
    }

    fn start_in_group(&mut self, e: &BytesStart, local: &str, qname: &str, line: u64) -> Result<(), DmrppError> {
        let group = self.group_path();
        match local {
            "Group" => {
                let attrs = self.attributes(e, line)?;
                let name = get(&attrs, "name").ok_or_else(|| self.format_err(line, "<Group> without a name"))?;
                let path = join(&group, name);
                self.groups.push(GroupMeta { path, attributes: Vec::new() });
                self.push(Frame::Group { index: self.groups.len() - 1 }, line, qname);
            }
            "Dimension" => {
                let attrs = self.attributes(e, line)?;
                let name = get(&attrs, "name").unwrap_or_default();
                let path = join(&group, name);
                match number::<u64>(&attrs, "size") {
                    Ok(Some(size)) if !name.is_empty() => {
                        self.dims.insert(path, size);
                    }
                    Ok(_) => self
                        .problems
                        .push(Problem { path, reason: format!("line {line}: <Dimension> without a name or size") }),
                    Err(err) => {
                        self.problems.push(Problem { path, reason: format!("line {line}: <Dimension>: {err}") })
                    }
                }
                self.push(Frame::Leaf, line, qname);
            }
            "Enumeration" => {
                let attrs = self.attributes(e, line)?;
                let path = join(&group, get(&attrs, "name").unwrap_or_default());
                let base = get(&attrs, "basetype").and_then(Atomic::from_name);
                match base {
                    Some(base @ Atomic::Int { .. }) => {
                        self.push(Frame::Enumeration { path, base, members: Vec::new() }, line, qname)
                    }
                    _ => {
                        self.problems.push(Problem {
                            path,
                            reason: format!(
                                "line {line}: enumeration base type {:?} is not an integer type",
                                get(&attrs, "basetype")
                            ),
                        });
                        self.push(Frame::Skip, line, qname);
                    }
                }
            }
            "Attribute" => self.start_attribute(e, qname, line)?,
            _ if is_variable(local) => self.start_var(e, local, qname, line, &group)?,
            "Dataset" => return Err(self.format_err(line, "<Dataset> inside <Dataset>")),
            "chunks" | "chunk" | "chunkDimensionSizes" | "compact" | "missingdata" | "vlsa" | "Dim" | "Value" => {
                return Err(self.format_err(line, format!("<{qname}> outside a variable")));
            }
            _ => {
                // Most likely a DAP type vz does not know (`<Float128 name="x">`): name the variable.
                let attrs = self.attributes(e, line)?;
                let path = match get(&attrs, "name") {
                    Some(name) => join(&group, name),
                    None => group,
                };
                self.problems
                    .push(Problem { path, reason: format!("line {line}: unknown element or type <{qname}> skipped") });
                self.push(Frame::Skip, line, qname);
            }
        }
        Ok(())
    }

    fn start_var(
        &mut self,
        e: &BytesStart,
        local: &str,
        qname: &str,
        line: u64,
        parent_path: &str,
    ) -> Result<(), DmrppError> {
        let attrs = self.attributes(e, line)?;
        let Some(name) = get(&attrs, "name") else {
            self.problems.push(Problem {
                path: parent_path.to_string(),
                reason: format!("line {line}: <{qname}> without a name skipped"),
            });
            self.push(Frame::Skip, line, qname);
            return Ok(());
        };
        let path = join(parent_path, name);
        let kind = match local {
            "Structure" => Kind::Structure,
            "Enum" => {
                let group = self.group_path();
                let target = get(&attrs, "enum").unwrap_or_default();
                Kind::Enum(resolve(target, &group, &self.enums).unwrap_or_else(|| target.to_string()))
            }
            _ => match Atomic::from_name(local) {
                Some(a) => Kind::Atomic(a),
                None => {
                    self.problems.push(Problem {
                        path,
                        reason: format!("line {line}: DAP type {local} is not supported; variable skipped"),
                    });
                    self.push(Frame::Skip, line, qname);
                    return Ok(());
                }
            },
        };
        let v = VarBuilder::new(name.to_string(), path, line, kind);
        self.push(Frame::Var(Box::new(v)), line, qname);
        Ok(())
    }

    fn start_chunk(&mut self, e: &BytesStart, line: u64) -> Result<(), DmrppError> {
        let attrs = self.attributes(e, line)?;
        let qname = e.name().as_ref().to_string();
        let parsed = (|| -> Result<RawChunk, String> {
            let offset = number::<u64>(&attrs, "offset")?.ok_or("dmrpp:chunk without offset")?;
            let length = number::<u64>(&attrs, "nBytes")?.ok_or("dmrpp:chunk without nBytes")?;
            let position = get(&attrs, "chunkPositionInArray").map(position).transpose()?;
            let filter_mask = match get(&attrs, "fm") {
                None => 0,
                Some(t) => match t.trim().strip_prefix("0x") {
                    Some(hex) => {
                        u32::from_str_radix(hex, 16).map_err(|_| format!("fm=`{}` is not a number", shorten(t)))?
                    }
                    None => t.trim().parse::<u32>().map_err(|_| format!("fm=`{}` is not a number", shorten(t)))?,
                },
            };
            let href = get(&attrs, "href").map(str::to_string);
            let byte_order = get(&attrs, "byteOrder").and_then(byte_order);
            Ok(RawChunk { offset, length, position, filter_mask, href, byte_order })
        })();
        let Some(v) = self.var_mut() else {
            return Err(self.format_err(line, "<dmrpp:chunk> outside a variable"));
        };
        match parsed {
            Ok(c) => v.raw_chunks.push(c),
            Err(err) => v.fatal.push(format!("line {line}: {err}")),
        }
        self.push(Frame::Leaf, line, &qname);
        Ok(())
    }

    fn start_in_var(&mut self, e: &BytesStart, local: &str, qname: &str, line: u64) -> Result<(), DmrppError> {
        match local {
            "Dim" => {
                let attrs = self.attributes(e, line)?;
                let group = self.group_path();
                let size = number::<u64>(&attrs, "size");
                let resolved = get(&attrs, "name").map(|n| (n.to_string(), resolve(n, &group, &self.dims)));
                let dim = match (size, resolved) {
                    (Ok(Some(size)), name) => Ok((size, name.and_then(|(_, r)| r))),
                    (Ok(None), Some((_, Some(key)))) => Ok((self.dims[&key], Some(key))),
                    (Ok(None), Some((name, None))) => Err(format!("dimension `{name}` is not declared")),
                    (Ok(None), None) => Err("<Dim> without name or size".to_string()),
                    (Err(err), _) => Err(err),
                };
                let Some(v) = self.var_mut() else { unreachable_frame() };
                match dim {
                    Ok(_) if v.shape.len() >= 32 => {
                        if !v.fatal.iter().any(|f| f.ends_with("more than 32 dimensions")) {
                            v.fatal.push(format!("line {line}: more than 32 dimensions"));
                        }
                    }
                    Ok((size, name)) => {
                        v.shape.push(size);
                        v.dim_names.push(name);
                    }
                    Err(err) => v.fatal.push(format!("line {line}: {err}")),
                }
                self.push(Frame::Leaf, line, qname);
            }
            "chunks" => {
                let attrs = self.attributes(e, line)?;
                let spec = ChunksSpec {
                    compression: get(&attrs, "compressionType").map(str::to_string),
                    deflate_levels: get(&attrs, "deflateLevel")
                        .or_else(|| get(&attrs, "deflate_level"))
                        .map(str::to_string),
                    fill: get(&attrs, "fillValue").map(str::to_string),
                    byte_order: get(&attrs, "byteOrder").or_else(|| get(&attrs, "byteOrde")).and_then(byte_order),
                    struct_offset: get(&attrs, "structOffset").map(str::to_string),
                    href: get(&attrs, "href").map(str::to_string),
                };
                let bad_order = get(&attrs, "byteOrder").is_some_and(|o| byte_order(o).is_none());
                let Some(v) = self.var_mut() else { unreachable_frame() };
                if bad_order {
                    v.notes.push(format!("line {line}: byteOrder is neither LE nor BE; LE assumed"));
                }
                v.chunks = Some(spec);
                self.push(Frame::Chunks, line, qname);
            }
            "chunk" => self.start_chunk(e, line)?,
            "chunkDimensionSizes" => {
                self.push(Frame::Text { kind: TextKind::ChunkDims, text: String::new(), over: false }, line, qname)
            }
            "compact" => {
                self.push(Frame::Text { kind: TextKind::Compact, text: String::new(), over: false }, line, qname)
            }
            "missingdata" => {
                self.push(Frame::Text { kind: TextKind::Missing, text: String::new(), over: false }, line, qname)
            }
            "specialstructuredata" => {
                self.push(Frame::Text { kind: TextKind::Special, text: String::new(), over: false }, line, qname)
            }
            "vlsa" => self.push(Frame::Vlsa(Vec::new()), line, qname),
            "FixedLengthStringArray" => {
                let attrs = self.attributes(e, line)?;
                let len = number::<u32>(&attrs, "string_length");
                let pad = types::padding(get(&attrs, "pad"));
                let Some(v) = self.var_mut() else { unreachable_frame() };
                match len {
                    Ok(Some(n)) => v.fixed_string = Some((n, pad)),
                    Ok(None) => v.fatal.push(format!("line {line}: FixedLengthStringArray without string_length")),
                    Err(err) => v.fatal.push(format!("line {line}: {err}")),
                }
                self.push(Frame::Leaf, line, qname);
            }
            "block" => {
                if let Some(v) = self.var_mut() {
                    v.blocks += 1;
                }
                self.push(Frame::Leaf, line, qname);
            }
            "Attribute" => self.start_attribute(e, qname, line)?,
            "Map" => self.push(Frame::Leaf, line, qname),
            _ if is_variable(local) => {
                let Some(v) = self.var_mut() else { unreachable_frame() };
                if !matches!(v.kind, Kind::Structure) {
                    let p = v.path.clone();
                    return Err(self.format_err(line, format!("<{qname}> inside the non-Structure variable {p}")));
                }
                let parent = v.path.clone();
                self.start_var(e, local, qname, line, &parent)?;
            }
            "Group" | "Dataset" | "Dimension" | "Enumeration" => {
                let p = self.owner_path();
                return Err(self.format_err(line, format!("<{qname}> inside the variable {p}")));
            }
            _ => {
                if let Some(v) = self.var_mut() {
                    v.notes.push(format!("line {line}: unknown element <{qname}> ignored"));
                }
                self.push(Frame::Skip, line, qname);
            }
        }
        Ok(())
    }

    /// Append text to the innermost element that collects text.
    fn text(&mut self, s: &str) {
        let limit_attr = self.limits.attr_value;
        let limit_inline = usize::try_from(self.limits.inline.saturating_mul(2)).unwrap_or(usize::MAX);
        match self.stack.last_mut().map(|o| &mut o.frame) {
            Some(Frame::Value { text, over }) => {
                if *over || text.len() + s.len() > limit_attr {
                    *over = true;
                    // Keep the length only; the value is dropped.
                    text.clear();
                } else {
                    text.push_str(s);
                }
            }
            Some(Frame::Text { text, over, .. }) => {
                if *over || text.len() + s.len() > limit_inline {
                    *over = true;
                    text.clear();
                } else {
                    text.push_str(s);
                }
            }
            _ => {}
        }
    }

    /// Attach finished attributes to the innermost owner.
    fn attach(&mut self, attrs: Vec<Attribute>) {
        for open in self.stack.iter_mut().rev() {
            match &mut open.frame {
                Frame::Attr(a) => return a.children.extend(attrs),
                Frame::Var(v) => return v.attributes.extend(attrs),
                Frame::Group { index } => return self.groups[*index].attributes.extend(attrs),
                Frame::Dataset => return self.groups[0].attributes.extend(attrs),
                _ => {}
            }
        }
    }

    fn end(&mut self, line: u64) -> Result<(), DmrppError> {
        let Some(open) = self.stack.pop() else {
            return Err(self.xml_err(line, "end tag without a start tag"));
        };
        match open.frame {
            Frame::Dataset => self.root_done = true,
            Frame::Var(v) => {
                if let Some(parent) = self.var_mut() {
                    parent.members.push(*v);
                } else {
                    let (path, vline) = (v.path.clone(), v.line);
                    match v.finish(&self.enums, self.versioned, self.limits.inline) {
                        Ok((array, notes)) => {
                            if array.path != path {
                                self.renamed.push((path.clone(), array.path.clone()));
                            }
                            for n in notes {
                                self.problems
                                    .push(Problem { path: path.clone(), reason: format!("line {vline}: {n}") });
                            }
                            self.arrays.push(array);
                        }
                        Err(reasons) => {
                            for r in reasons {
                                self.problems.push(Problem {
                                    path: path.clone(),
                                    reason: format!("variable at line {vline} skipped: {r}"),
                                });
                            }
                        }
                    }
                }
            }
            Frame::Attr(a) => {
                let owner = self.owner_path();
                let attrs = if a.type_name == "Container" {
                    a.children
                        .into_iter()
                        .map(|mut c| {
                            c.name = format!("{}.{}", a.name, c.name);
                            c
                        })
                        .collect()
                } else {
                    if let Some(n) = a.over {
                        self.problems.push(Problem {
                            path: owner,
                            reason: format!(
                                "line {}: attribute {}: a value is longer than {n} bytes; value dropped",
                                open.line, a.name
                            ),
                        });
                    }
                    let atomic = Atomic::from_name(&a.type_name);
                    let dtype = match atomic {
                        Some(at) => at.datatype(ByteOrder::Le, None),
                        None if a.type_name == "OtherXML" => Datatype::String {
                            size: None,
                            padding: StringPadding::NullTerm,
                            charset: StringCharset::Utf8,
                        },
                        None => Datatype::Opaque { size: 0, tag: a.type_name.clone() },
                    };
                    let n = a.values.len();
                    let value = if a.over.is_some() || n == 0 {
                        serde_json::Value::Null
                    } else if n == 1 {
                        a.values.into_iter().next().unwrap_or_default()
                    } else {
                        serde_json::Value::Array(a.values)
                    };
                    let shape = if n == 1 { Vec::new() } else { vec![n as u64] };
                    vec![Attribute { name: a.name, dtype, shape, value }]
                };
                self.attach(attrs);
            }
            Frame::Value { text, over } => {
                let limit = self.limits.attr_value;
                if let Some(Open { frame: Frame::Attr(a), .. }) = self.stack.last_mut() {
                    if over {
                        a.over = Some(limit);
                    } else {
                        a.values.push(types::attr_json(Atomic::from_name(&a.type_name), &text));
                    }
                }
            }
            Frame::Enumeration { path, base, members } => {
                self.enums.insert(path, Enumeration { base, members });
            }
            Frame::Vlsa(items) => {
                if let Some(v) = self.var_mut() {
                    v.inline = Some(Inline::Vlsa(items));
                }
            }
            Frame::Text { kind, text, over } => self.end_text(kind, text, over, open.line),
            Frame::Group { .. } | Frame::Chunks | Frame::Leaf | Frame::Skip => {}
        }
        Ok(())
    }

    fn end_text(&mut self, kind: TextKind, text: String, over: bool, line: u64) {
        if kind == TextKind::VlsaItem {
            if let Some(Open { frame: Frame::Vlsa(items), .. }) = self.stack.last_mut() {
                items.push(text);
            }
            return;
        }
        let limit = self.limits.inline;
        let Some(v) = self.var_mut() else { return };
        if over {
            v.fatal.push(format!("line {line}: inline data larger than {limit} bytes"));
            return;
        }
        match kind {
            TextKind::ChunkDims => {
                match text.split_ascii_whitespace().map(str::parse::<u64>).collect::<Result<Vec<_>, _>>() {
                    Ok(d) => v.chunk_dims = Some(d),
                    Err(_) => v.fatal.push(format!(
                        "line {line}: chunkDimensionSizes `{}` is not a list of numbers",
                        shorten(&text)
                    )),
                }
            }
            TextKind::Compact | TextKind::Missing | TextKind::Special => match inline::base64(&text) {
                Ok(bytes) if bytes.len() as u64 > limit => {
                    v.fatal.push(format!("line {line}: inline data larger than {limit} bytes"));
                }
                Ok(bytes) => {
                    v.inline = Some(match kind {
                        TextKind::Compact => Inline::Compact(bytes),
                        TextKind::Missing => Inline::Missing(bytes),
                        _ => Inline::Special(bytes),
                    })
                }
                Err(err) => v.fatal.push(format!("line {line}: {err}")),
            },
            TextKind::VlsaItem => {}
        }
    }

    fn finish(mut self, line: u64) -> Result<GranuleManifest, DmrppError> {
        if let Some(open) = self.stack.last() {
            return Err(self.xml_err(
                line,
                format!("document ends inside <{}> opened at line {} (truncated?)", open.name, open.line),
            ));
        }
        if !self.root_done {
            return Err(self.format_err(line, "no <Dataset> element"));
        }
        let url = match self.href.as_deref() {
            Some(h) if h.contains("://") => h.to_string(),
            _ => match split_query(&self.file) {
                (base, query) if base.ends_with(".dmrpp") => format!("{}{query}", &base[..base.len() - 6]),
                _ => {
                    self.problems.push(Problem {
                        path: "/".into(),
                        reason: format!(
                            "dmrpp:href {:?} is not a URL and the sidecar name does not end in .dmrpp: data location unknown",
                            self.href
                        ),
                    });
                    self.file.clone()
                }
            },
        };
        // Groups carry no `fullnamepath`: take their HDF5 names from renamed variables inside them.
        let mut group_names: HashMap<String, String> = HashMap::new();
        for (dap, hdf5) in &self.renamed {
            let (mut d, mut h) = (parent(dap), parent(hdf5));
            while d != "/" && h != "/" && d.matches('/').count() == h.matches('/').count() {
                group_names.entry(d.to_string()).or_insert_with(|| h.to_string());
                (d, h) = (parent(d), parent(h));
            }
        }
        for g in &mut self.groups {
            if let Some(h) = group_names.get(&g.path) {
                g.path = h.clone();
            }
        }
        self.groups.sort_by(|a, b| a.path.cmp(&b.path));
        self.arrays.sort_by(|a, b| a.path.cmp(&b.path));
        // Two variables with one path (a hand-edited sidecar, or two DAP names with one
        // fullnamepath): keep the first, report the rest.
        let mut kept: Vec<ArrayMeta> = Vec::with_capacity(self.arrays.len());
        for a in std::mem::take(&mut self.arrays) {
            if kept.last().is_some_and(|k| k.path == a.path) {
                self.problems.push(Problem { path: a.path, reason: "a second variable with this path skipped".into() });
            } else {
                kept.push(a);
            }
        }
        self.arrays = kept;
        Ok(GranuleManifest {
            url,
            size: 0,
            source: SourceKind::Dmrpp,
            groups: self.groups,
            arrays: self.arrays,
            links: Vec::new(),
            problems: self.problems,
        })
    }
}

/// `https://h/x.h5.dmrpp?sig=..` → (`https://h/x.h5.dmrpp`, `?sig=..`); paths have no query.
fn split_query(location: &str) -> (&str, &str) {
    match location.find("://").and_then(|_| location.find(['?', '#'])) {
        Some(i) => location.split_at(i),
        None => (location, ""),
    }
}

/// Frames are pushed only under a variable when `var_mut` is `Some`; reaching this is a bug.
fn unreachable_frame() -> ! {
    unreachable!("element handled as inside a variable without an open variable")
}

/// Parse a sidecar from any buffered reader (UTF-8).
pub(crate) fn parse<R: BufRead>(input: R, sidecar: &str, limits: Limits) -> Result<GranuleManifest, DmrppError> {
    let mut reader = Reader::from_reader(Counted::new(input, limits.token));
    reader.config_mut().expand_empty_elements = true;
    let mut state = State::new(sidecar, limits);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let line = reader.get_ref().newlines + 1;
        reader.get_mut().start_token();
        let event = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(err) => {
                let here = reader.get_ref().newlines + 1;
                if reader.get_ref().over {
                    return Err(DmrppError::TooLarge {
                        file: state.file.clone(),
                        line,
                        what: format!("one XML token (tag or text) inside {}", state.owner_path()),
                        limit: limits.token,
                    });
                }
                return Err(state.xml_err(here, err.to_string()));
            }
        };
        match event {
            Event::Start(e) => state.start(&e, line)?,
            Event::End(_) => state.end(line)?,
            Event::Text(t) => state.text(&t.xml10_content()),
            Event::CData(t) => state.text(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|err| state.xml_err(line, err.to_string()))?
                } else {
                    match &*r {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        _ => None,
                    }
                };
                let Some(c) = c else {
                    return Err(
                        state.xml_err(line, format!("unknown entity &{};  (vz never expands DTD entities)", &*r))
                    );
                };
                state.text(c.encode_utf8(&mut [0; 4]));
            }
            Event::Eof => return state.finish(line),
            // Declarations, DOCTYPE (its entities are never expanded), comments, PIs.
            _ => {}
        }
    }
}
