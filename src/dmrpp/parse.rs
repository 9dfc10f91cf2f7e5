//! The streaming event loop: quick-xml events → a stack of open elements → variables, groups,
//! dimensions and enumerations (DAP4 DMR, OPeNDAP DAP4 spec vol. 1 section 2; DMR++ extensions
//! in the `dmrpp:` namespace). Elements and attributes are matched by LOCAL name, so sidecars
//! with http or https namespace URIs (or other prefixes) read the same.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::counted::Counted;
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

/// What an open element is.
#[derive(Debug)]
pub(super) enum Frame {
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

pub(super) struct Open {
    pub(super) frame: Frame,
    pub(super) line: u64,
    pub(super) name: String,
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
    pub(super) fn attributes(&self, e: &BytesStart, line: u64) -> Result<Vec<(String, String)>, DmrppError> {
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

    pub(super) fn push(&mut self, frame: Frame, line: u64, name: &str) {
        self.stack.push(Open { frame, line, name: name.to_string() });
    }
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
