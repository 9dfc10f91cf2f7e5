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
    pub(super) type_name: String,
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
            return Ok(plain.as_slice().iter().map(|&(k, v)| (local(k), Cow::Borrowed(v))).collect());
        }
        let mut out = Vec::new();
        for a in e.attributes() {
            out.push(self.attribute(e, a, line)?);
        }
        Ok(out)
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
    loop {
        let start = reader.buffer_position();
        let result = reader.read_event();
        let end = reader.buffer_position();
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

/// Newlines in `bytes`, 8 bytes at a time: each byte of a word becomes 1 where it is `\n`, and
/// the per-byte counts are added in the word's lanes (flushed before any lane can overflow).
/// Spans are short (from one tag to the next), so this beats wide SIMD blocks plus a tail.
fn count_newlines(bytes: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let lane_sum = |lanes: u64| u64::from(lanes.to_le_bytes().iter().map(|&b| u16::from(b)).sum::<u16>());
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    let (mut n, mut lanes, mut in_lanes) = (0u64, 0u64, 0u32);
    for w in words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        let x = u64::from_le_bytes(word) ^ NL;
        // High bit of a byte set exactly where the byte of x is 0 (no carries between bytes).
        let zero = !(((x & LOW7) + LOW7) | x) & !LOW7;
        lanes += zero >> 7;
        in_lanes += 1;
        if in_lanes == 255 {
            n += lane_sum(lanes);
            (lanes, in_lanes) = (0, 0);
        }
    }
    n + lane_sum(lanes) + rest.iter().filter(|&&b| b == b'\n').count() as u64
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
                self.start(&e, line)?;
                // A leaf needs nothing at its end (most empty elements: `dmrpp:chunk`, `Dim`).
                if matches!(self.stack.last().map(|o| &o.frame), Some(Frame::Leaf)) {
                    self.stack.truncate(self.stack.len() - 1);
                } else {
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
