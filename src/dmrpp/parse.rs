//! The streaming event loop: quick-xml events → a stack of open elements → variables, groups,
//! dimensions and enumerations (DAP4 DMR, OPeNDAP DAP4 spec vol. 1 section 2; DMR++ extensions
//! in the `dmrpp:` namespace). Elements and attributes are matched by LOCAL name, so sidecars
//! with http or https namespace URIs (or other prefixes) read the same.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::attributes::{AttrError, Attribute as XmlAttribute};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::counted::Counted;
use super::fast;
use super::names::{local, Attrs};
use super::types::{Atomic, Enumeration};
use super::var::VarBuilder;
use super::{DmrppError, Limits};
use crate::manifest::{ArrayMeta, Attribute, EnumMember, GranuleManifest, GroupMeta, Problem};

/// Elements whose text is collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TextKind {
    ChunkDims,
    Compact,
    Missing,
    Special,
    VlsaItem,
}

/// A DAP `<Attribute>` while open.
#[derive(Debug)]
pub(super) struct AttrBuilder {
    pub(super) name: String,
    /// The `type`, not allocated for the names DAP defines.
    pub(super) type_name: Cow<'static, str>,
    pub(super) values: Vec<serde_json::Value>,
    pub(super) children: Vec<Attribute>,
    /// A value exceeded the length limit.
    pub(super) over: Option<usize>,
}

/// An `<Enumeration>` while open.
#[derive(Debug)]
pub(super) struct EnumBuilder {
    pub(super) path: String,
    pub(super) base: Atomic,
    pub(super) members: Vec<EnumMember>,
}

/// What an open element is.
#[derive(Debug)]
pub(super) enum Frame {
    Dataset,
    Group {
        index: usize,
    },
    Var(Box<VarBuilder>),
    // Boxed, as the variables are: frames are pushed and popped once per element, and a small
    // `Open` is cheap to move.
    Attr(Box<AttrBuilder>),
    Value {
        text: String,
        over: bool,
    },
    Enumeration(Box<EnumBuilder>),
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

pub(super) struct Open {
    pub(super) frame: Frame,
    pub(super) line: u64,
    /// The qualified name, for messages.
    pub(super) name: Cow<'static, str>,
}

/// Parser state over one sidecar.
pub(super) struct State {
    pub(super) file: String,
    pub(super) limits: Limits,
    pub(super) stack: Vec<Open>,
    pub(super) root_done: bool,
    pub(super) versioned: bool,
    pub(super) href: Option<String>,
    pub(super) groups: Vec<GroupMeta>,
    pub(super) dims: HashMap<String, u64>,
    pub(super) enums: HashMap<String, Enumeration>,
    pub(super) arrays: Vec<ArrayMeta>,
    pub(super) problems: Vec<Problem>,
    /// (DAP path, HDF5 `fullnamepath`) of variables build_dmrpp renamed.
    pub(super) renamed: Vec<(String, String)>,
    /// The element being started is empty (`<x/>`): see [`State::push`].
    pub(super) in_empty: bool,
}

impl State {
    pub(super) fn new(file: &str, limits: Limits) -> Self {
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
            in_empty: false,
        }
    }

    pub(super) fn format_err(&self, line: u64, detail: impl Into<String>) -> DmrppError {
        DmrppError::Format { file: self.file.clone(), line, detail: detail.into() }
    }

    pub(super) fn xml_err(&self, line: u64, detail: impl Into<String>) -> DmrppError {
        DmrppError::Xml { file: self.file.clone(), line, detail: detail.into() }
    }

    /// Path of the innermost group (`/` at dataset level).
    pub(super) fn group_path(&self) -> String {
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
    pub(super) fn var_mut(&mut self) -> Option<&mut VarBuilder> {
        self.stack.iter_mut().rev().find_map(|o| match &mut o.frame {
            Frame::Var(v) => Some(&mut **v),
            _ => None,
        })
    }

    /// Where the current element sits, for messages: the innermost variable or group path.
    pub(super) fn owner_path(&self) -> String {
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
    pub(super) fn attributes<'e>(&self, e: &'e BytesStart<'_>, line: u64) -> Result<Attrs<'e>, DmrppError> {
        if let Some(plain) = fast::attrs(e.attributes_raw(), self.limits.attr_value) {
            return Ok(Attrs::Plain(plain));
        }
        let mut out = Vec::new();
        for a in e.attributes() {
            out.push(self.attribute(e, a, line)?);
        }
        Ok(Attrs::Other(out))
    }

    /// One XML attribute of `e` as (local name, value): well-formed, within
    /// [`Limits::attr_value`], references resolved and whitespace normalized.
    pub(super) fn attribute<'e>(
        &self,
        e: &BytesStart<'_>,
        a: Result<XmlAttribute<'e>, AttrError>,
        line: u64,
    ) -> Result<(&'e str, Cow<'e, str>), DmrppError> {
        let a = a.map_err(|err| self.xml_err(line, format!("<{}>: {err}", e.name().into_inner())))?;
        let key = local(a.key.into_inner());
        if a.value.len() > self.limits.attr_value {
            return Err(DmrppError::TooLarge {
                file: self.file.clone(),
                line,
                what: format!("attribute `{key}` of <{}> in {}", e.name().into_inner(), self.owner_path()),
                limit: self.limits.attr_value as u64,
            });
        }
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| self.xml_err(line, format!("attribute `{key}` of <{}>: {err}", e.name().into_inner())))?;
        Ok((key, value))
    }

    pub(super) fn push(&mut self, frame: Frame, line: u64, name: &str) {
        // An empty element whose end would do nothing is never on the stack.
        if self.in_empty && matches!(frame, Frame::Leaf | Frame::Skip) {
            return;
        }
        self.stack.push(Open { frame, line, name: tag_name(name) });
    }
}

/// An element's name kept for messages: the names sidecars are made of are not allocated.
fn tag_name(qname: &str) -> Cow<'static, str> {
    const COMMON: [&str; 13] = [
        "dmrpp:chunk",
        "Value",
        "Attribute",
        "Dim",
        "dmrpp:chunks",
        "dmrpp:chunkDimensionSizes",
        "Map",
        "Float32",
        "Float64",
        "Int32",
        "dmrpp:compact",
        "Group",
        "Dataset",
    ];
    match COMMON.iter().find(|&&c| c == qname) {
        Some(&c) => Cow::Borrowed(c),
        None => Cow::Owned(qname.to_string()),
    }
}

/// Parse a sidecar held in memory. Events borrow from `xml` (nothing is copied per token) and
/// lines are counted over the bytes each event spans; a token longer than [`Limits::token`] is
/// refused as it is with a reader.
pub(crate) fn parse_slice(xml: &[u8], sidecar: &str, limits: Limits) -> Result<GranuleManifest, DmrppError> {
    let mut reader = Reader::from_reader(xml);
    let mut state = State::new(sidecar, limits);
    let mut lines = Lines::default();
    // Bytes of `<dmrpp:chunk/>` runs read here rather than by the reader (its position lags).
    let mut skipped: u64 = 0;
    // The reader has just read a tag: the next bytes are text or markup, not inside either.
    let mut after_tag = false;
    loop {
        // Most of a sidecar is runs of indentation and `<dmrpp:chunk .../>` inside
        // `<dmrpp:chunks>`: read those directly and hand the element to the same handler.
        if after_tag && matches!(state.stack.last().map(|o| &o.frame), Some(Frame::Chunks)) {
            let rest: &[u8] = reader.get_ref();
            if let Some(tag) = fast::chunk_tag(rest, limits.token, limits.attr_value) {
                let line = lines.at(xml, reader.buffer_position() + skipped + tag.ws as u64);
                state.plain_chunk(&tag.attrs, line)?;
                let n = tag.ws + tag.len;
                *reader.get_mut() = &rest[n..];
                skipped += n as u64;
                continue;
            }
        }
        let start = reader.buffer_position() + skipped;
        let result = reader.read_event();
        let end = reader.buffer_position() + skipped;
        after_tag = matches!(result, Ok(Event::Start(_) | Event::End(_) | Event::Empty(_)));
        // Lines are counted only up to events that may report one (most events are text
        // between tags and end tags); counting is monotonic, so skipping some is exact.
        let line = match &result {
            Ok(Event::Text(_)) => 0,
            Ok(Event::End(_)) if !state.stack.is_empty() => 0,
            _ => lines.at(xml, start),
        };
        if end.saturating_sub(start) > limits.token {
            return Err(state.too_long(lines.at(xml, start)));
        }
        match result {
            Ok(event) => {
                if state.event(event, line)? {
                    return state.finish(line);
                }
            }
            Err(err) => return Err(state.xml_err(lines.at(xml, end), err.to_string())),
        }
    }
}

/// 1-based line of a byte position, counting newlines incrementally (positions only grow).
#[derive(Default)]
struct Lines {
    pos: usize,
    newlines: u64,
}

impl Lines {
    fn at(&mut self, xml: &[u8], pos: u64) -> u64 {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(xml.len());
        if pos > self.pos {
            self.newlines += count_newlines(&xml[self.pos..pos]);
            self.pos = pos;
        }
        self.newlines + 1
    }
}

/// Newlines in `bytes`, 16 at a time into 16 byte-wide counters (a loop the compiler turns
/// into vector compares), summed before any counter can overflow. Spans are short (from one
/// tag to the next): the counters are summed once per call, the tail byte by byte.
fn count_newlines(bytes: &[u8]) -> u64 {
    let blocks = bytes.chunks_exact(16);
    let rest = blocks.remainder();
    let (mut n, mut lanes, mut in_lanes) = (0u64, [0u8; 16], 0u32);
    for block in blocks {
        for (lane, &b) in lanes.iter_mut().zip(block) {
            *lane += u8::from(b == b'\n');
        }
        in_lanes += 1;
        if in_lanes == 255 {
            n += lanes.iter().map(|&l| u64::from(l)).sum::<u64>();
            (lanes, in_lanes) = ([0; 16], 0);
        }
    }
    n += lanes.iter().map(|&l| u64::from(l)).sum::<u64>();
    n + rest.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Parse a sidecar from any buffered reader (UTF-8), holding one token at a time.
pub(crate) fn parse<R: BufRead>(input: R, sidecar: &str, limits: Limits) -> Result<GranuleManifest, DmrppError> {
    let mut reader = Reader::from_reader(Counted::new(input, limits.token));
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
                    return Err(state.too_long(line));
                }
                return Err(state.xml_err(here, err.to_string()));
            }
        };
        if state.event(event, line)? {
            return state.finish(line);
        }
    }
}

impl State {
    /// One XML token longer than [`Limits::token`], starting at `line`.
    fn too_long(&self, line: u64) -> DmrppError {
        DmrppError::TooLarge {
            file: self.file.clone(),
            line,
            what: format!("one XML token (tag or text) inside {}", self.owner_path()),
            limit: self.limits.token,
        }
    }

    /// Whether the innermost element keeps its text (most text is indentation between tags).
    fn keeps_text(&self) -> bool {
        matches!(self.stack.last().map(|o| &o.frame), Some(Frame::Value { .. } | Frame::Text { .. }))
    }

    /// Handle one event; `true` at the end of the document.
    fn event(&mut self, event: Event<'_>, line: u64) -> Result<bool, DmrppError> {
        match event {
            Event::Start(e) => self.start(&e, line)?,
            // `<x/>` is `<x></x>` (handled here rather than by the reader's
            // `expand_empty_elements`, which costs it a second event per empty element).
            Event::Empty(e) => {
                let depth = self.stack.len();
                self.in_empty = true;
                let started = self.start(&e, line);
                self.in_empty = false;
                started?;
                // Leaves (most empty elements: `dmrpp:chunk`, `Dim`) were not pushed.
                if self.stack.len() > depth {
                    self.end(line)?;
                }
            }
            Event::End(_) => self.end(line)?,
            Event::Text(t) if self.keeps_text() => self.text(&t.xml10_content()),
            Event::CData(t) if self.keeps_text() => self.text(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|err| self.xml_err(line, err.to_string()))?
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
                    return Err(self.xml_err(line, format!("unknown entity &{};  (vz never expands DTD entities)", &*r)));
                };
                self.text(c.encode_utf8(&mut [0; 4]));
            }
            Event::Eof => return Ok(true),
            // Text nobody keeps, declarations, DOCTYPE (its entities are never expanded),
            // comments, PIs.
            _ => {}
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_are_counted_exactly_at_any_length() {
        // Long enough to flush the counters (255 blocks of 16 bytes) with a ragged tail.
        let text: Vec<u8> = (0..9000u32).map(|i| if i % 7 == 0 || i % 13 == 0 { b'\n' } else { b'x' }).collect();
        for len in [0, 1, 15, 16, 17, 4079, 4080, 4081, 9000] {
            let naive = text[..len].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(count_newlines(&text[..len]), naive, "{len}");
        }
        let mut lines = Lines::default();
        assert_eq!((lines.at(b"a\nb\nc", 0), lines.at(b"a\nb\nc", 4), lines.at(b"a\nb\nc", 99)), (1, 3, 3));
    }
}
