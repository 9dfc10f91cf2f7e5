//! Closing elements: text collected, attributes attached to their owner, variables turned
//! into arrays (or problems), and the finished manifest.

use std::collections::HashMap;

use super::inline;
use super::names::{parent, split_query};
use super::parse::{EnumBuilder, Frame, Open, State, TextKind};
use super::types::{self, Atomic, Enumeration};
use super::var::{shorten, Inline};
use super::DmrppError;
use crate::manifest::{
    ArrayMeta, Attribute, ByteOrder, Datatype, GranuleManifest, Problem, SourceKind, StringCharset, StringPadding,
};

impl State {
    /// Append text to the innermost element that collects text.
    pub(super) fn text(&mut self, s: &str) {
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
    pub(super) fn attach(&mut self, attrs: Vec<Attribute>) {
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

    pub(super) fn end(&mut self, line: u64) -> Result<(), DmrppError> {
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
                let a = *a;
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
                            path: self.owner_path(),
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
                        None => Datatype::Opaque { size: 0, tag: a.type_name.to_string() },
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
                        a.values.push(types::attr_json(Atomic::from_name(&a.type_name), text));
                    }
                }
            }
            Frame::Enumeration(en) => {
                let EnumBuilder { path, base, members } = *en;
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

    pub(super) fn end_text(&mut self, kind: TextKind, text: String, over: bool, line: u64) {
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

    pub(super) fn finish(mut self, line: u64) -> Result<GranuleManifest, DmrppError> {
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
