//! Opening elements: what each DMR++ element may contain and what it starts (a group, a
//! variable, a Structure member, chunk lists, inline values, DAP attributes). Elements in
//! impossible places are errors; unknown ones are problems and their subtree is skipped.

use std::borrow::Cow;

use quick_xml::events::BytesStart;

use super::fast::{self, FastAttrs};
use super::names::{self, byte_order, get, is_variable, join, number, parse_number, resolve};
use super::parse::{AttrBuilder, EnumBuilder, Frame, State, TextKind};
use super::types::{self, Atomic};
use super::var::{shorten, ChunksSpec, Kind, RawChunk, VarBuilder};
use super::DmrppError;
use crate::manifest::{EnumMember, GroupMeta, Problem};

/// Deepest element nesting accepted (real sidecars nest a dozen levels; Structure types are
/// converted recursively, so the depth must be bounded).
const MAX_DEPTH: usize = 256;

impl State {
    pub(super) fn start(&mut self, e: &BytesStart, line: u64) -> Result<(), DmrppError> {
        let qname = e.name().into_inner();
        let local = names::local(qname);
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
            self.push(Frame::Dataset, line, qname);
            return Ok(());
        }
        // Decide from the parent what this element may be.
        let parent_kind = match &self.stack.last().map(|o| &o.frame) {
            Some(Frame::Dataset) | Some(Frame::Group { .. }) => 0,
            Some(Frame::Var(_)) => 1,
            Some(Frame::Chunks) => 2,
            Some(Frame::Attr(_)) => 3,
            Some(Frame::Enumeration(_)) => 4,
            Some(Frame::Vlsa(_)) => 5,
            _ => 6,
        };
        match parent_kind {
            0 => self.start_in_group(e, local, qname, line),
            1 => self.start_in_var(e, local, qname, line),
            2 => match local {
                "chunk" => self.start_chunk(e, line),
                "chunkDimensionSizes" => {
                    self.push(
                        Frame::Text { kind: TextKind::ChunkDims, text: String::new(), over: false },
                        line,
                        qname,
                    );
                    Ok(())
                }
                "block" => self.start_in_var(e, local, qname, line),
                _ if is_variable(local) || matches!(local, "Group" | "Dataset" | "Dimension") => {
                    Err(self.format_err(line, format!("<{qname}> inside <dmrpp:chunks>")))
                }
                _ => {
                    self.push(Frame::Skip, line, qname);
                    Ok(())
                }
            },
            3 => {
                match local {
                    "Value" => {
                        let attrs = self.attributes(e, line)?;
                        let text = get(&attrs, "value").unwrap_or_default().to_string();
                        self.push(Frame::Value { text, over: false }, line, qname);
                    }
                    "Attribute" => self.start_attribute(e, qname, line)?,
                    // OtherXML content and anything else: not kept.
                    _ => self.push(Frame::Skip, line, qname),
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
                        (Ok(Some(value)), Some(Frame::Enumeration(en))) => {
                            en.members.push(EnumMember { name, value })
                        }
                        (Ok(None), _) | (Err(_), _) => self.problems.push(Problem {
                            path,
                            reason: format!("line {line}: EnumConst {name} without an integer value"),
                        }),
                        _ => {}
                    }
                    self.push(Frame::Leaf, line, qname);
                } else {
                    self.push(Frame::Skip, line, qname);
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
                self.push(frame, line, qname);
                Ok(())
            }
            _ => {
                if matches!(self.stack.last().map(|o| &o.frame), Some(Frame::Value { .. })) {
                    return Err(self.format_err(line, format!("<{qname}> inside <Value>")));
                }
                self.push(Frame::Skip, line, qname);
                Ok(())
            }
        }
    }

    pub(super) fn start_attribute(&mut self, e: &BytesStart, qname: &str, line: u64) -> Result<(), DmrppError> {
        let attrs = self.attributes(e, line)?;
        let name = get(&attrs, "name").unwrap_or_default().to_string();
        let type_name = attribute_type(get(&attrs, "type").unwrap_or("String"));
        let frame =
            Frame::Attr(Box::new(AttrBuilder { name, type_name, values: Vec::new(), children: Vec::new(), over: None }));
        self.push(frame, line, qname);
        Ok(())
    }

    pub(super) fn start_in_group(
        &mut self,
        e: &BytesStart,
        local: &str,
        qname: &str,
        line: u64,
    ) -> Result<(), DmrppError> {
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
                        self.push(Frame::Enumeration(Box::new(EnumBuilder { path, base, members: Vec::new() })), line, qname)
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

    pub(super) fn start_var(
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

    pub(super) fn start_chunk<'e>(&mut self, e: &'e BytesStart, line: u64) -> Result<(), DmrppError> {
        // One pass over the attributes, with the checks of `attributes`, keeping the first of
        // each one a chunk has (the hottest element: one per chunk).
        let mut found = ChunkAttrs::default();
        if let Some(plain) = fast::attrs(e.attributes_raw(), self.limits.attr_value) {
            found.plain(&plain);
        } else {
            for a in e.attributes() {
                let (key, value) = self.attribute(e, a, line)?;
                found.keep(key, value);
            }
        }
        self.chunk(found, line)?;
        self.push(Frame::Leaf, line, e.name().into_inner());
        Ok(())
    }

    /// A `<dmrpp:chunk/>` read by `fast::chunk_tag` where its parent is `<dmrpp:chunks>`: what
    /// [`State::start`] and [`State::start_chunk`] do for it (an empty leaf is not pushed).
    pub(super) fn plain_chunk(&mut self, attrs: &FastAttrs<'_>, line: u64) -> Result<(), DmrppError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.format_err(line, format!("<{}> nested deeper than {MAX_DEPTH} elements", fast::CHUNK)));
        }
        let mut found = ChunkAttrs::default();
        found.plain(attrs);
        self.chunk(found, line)
    }

    /// Record one chunk in the innermost variable.
    fn chunk(&mut self, found: ChunkAttrs<'_>, line: u64) -> Result<(), DmrppError> {
        let ChunkAttrs { offset, n_bytes, position, fm, href, order } = found;
        let Some(v) = self.var_mut() else {
            return Err(self.format_err(line, "<dmrpp:chunk> outside a variable"));
        };
        let parsed = (|| -> Result<RawChunk, String> {
            let offset = chunk_number("offset", offset.as_deref())?.ok_or("dmrpp:chunk without offset")?;
            let length = chunk_number("nBytes", n_bytes.as_deref())?.ok_or("dmrpp:chunk without nBytes")?;
            let filter_mask = match fm.as_deref() {
                None => 0,
                Some(t) => match t.trim().strip_prefix("0x") {
                    Some(hex) => {
                        u32::from_str_radix(hex, 16).map_err(|_| format!("fm=`{}` is not a number", shorten(t)))?
                    }
                    None => t.trim().parse::<u32>().map_err(|_| format!("fm=`{}` is not a number", shorten(t)))?,
                },
            };
            let position = match position.as_deref() {
                Some(text) => {
                    let start = v.positions.len();
                    if fast::position(text, &mut v.positions).is_none() {
                        names::position(text, &mut v.positions)?;
                    }
                    Some(start..v.positions.len())
                }
                None => None,
            };
            let href = href.map(Cow::into_owned);
            let byte_order = order.as_deref().and_then(byte_order);
            Ok(RawChunk { offset, length, position, filter_mask, href, byte_order })
        })();
        match parsed {
            Ok(c) => v.raw_chunks.push(c),
            Err(err) => v.fatal.push(format!("line {line}: {err}")),
        }
        Ok(())
    }

    pub(super) fn start_in_var(
        &mut self,
        e: &BytesStart,
        local: &str,
        qname: &str,
        line: u64,
    ) -> Result<(), DmrppError> {
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
}

/// An `<Attribute type>`, borrowed when it is one of the names DAP4 defines.
fn attribute_type(name: &str) -> Cow<'static, str> {
    const DAP: [&str; 17] = [
        "String", "Int32", "Float32", "Float64", "Int16", "UInt16", "UInt32", "Int8", "Byte", "UInt8", "Int64",
        "UInt64", "Container", "OtherXML", "URL", "Char", "Enum",
    ];
    match DAP.iter().find(|&&d| d == name) {
        Some(&d) => Cow::Borrowed(d),
        None => Cow::Owned(name.to_string()),
    }
}

/// The attributes a `<dmrpp:chunk>` has, the first of each.
#[derive(Default)]
struct ChunkAttrs<'e> {
    offset: Option<Cow<'e, str>>,
    n_bytes: Option<Cow<'e, str>>,
    position: Option<Cow<'e, str>>,
    fm: Option<Cow<'e, str>>,
    href: Option<Cow<'e, str>>,
    order: Option<Cow<'e, str>>,
}

impl<'e> ChunkAttrs<'e> {
    fn keep(&mut self, key: &str, value: Cow<'e, str>) {
        let slot = match key {
            "offset" => &mut self.offset,
            "nBytes" => &mut self.n_bytes,
            "chunkPositionInArray" => &mut self.position,
            "fm" => &mut self.fm,
            "href" => &mut self.href,
            "byteOrder" => &mut self.order,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }

    fn plain(&mut self, attrs: &FastAttrs<'e>) {
        for (key, value) in attrs.iter() {
            self.keep(key, Cow::Borrowed(value));
        }
    }
}

/// A chunk's `offset` or `nBytes`: plain digits directly, anything else as [`parse_number`] reads it.
fn chunk_number(key: &str, value: Option<&str>) -> Result<Option<u64>, String> {
    match value.and_then(fast::u64_digits) {
        Some(n) => Ok(Some(n)),
        None => parse_number(key, value),
    }
}

/// Frames are pushed only under a variable when `var_mut` is `Some`; reaching this is a bug.
fn unreachable_frame() -> ! {
    unreachable!("element handled as inside a variable without an open variable")
}
