//! Interpreting an object header: is it a group, a dataset or a committed datatype, and what
//! does the manifest need from its messages.

use super::cache::Cache;
use super::chunk_index::ChunkIndexSpec;
use super::cursor::Geometry;
use super::dense::DenseRef;
use super::error::{bad, unsupported, Fault, Parse};
use super::global_heap;
use super::local_heap;
use super::messages::attribute::{self, Resolver};
use super::messages::dataspace::{self, Dataspace};
use super::messages::datatype;
use super::messages::fill;
use super::messages::filters;
use super::messages::kind;
use super::messages::layout::{self, DataLayout};
use super::messages::link::{self, Link};
use super::object_header::{self, RawMessage};
use crate::manifest::{
    AllocTime, ArrayMeta, Attribute, ChunkRef, Coords, Datatype, ExternalFile, Fill, FillDefined, Filter, Layout,
};

/// A group's contents as far as its header tells.
#[derive(Debug, Default)]
pub(crate) struct GroupObject {
    pub attributes: Vec<Attribute>,
    /// Links stored as messages in the header (compact storage).
    pub links: Vec<Link>,
    /// Symbol-table storage: (v1 B-tree, local heap).
    pub symbol_table: Option<(u64, u64)>,
    /// Dense link storage.
    pub dense_links: Option<DenseRef>,
    pub dense_attributes: Option<DenseRef>,
}

/// A dataset: its manifest entry (chunks still to be found) and how to find them.
#[derive(Debug)]
pub(crate) struct DatasetObject {
    pub meta: ArrayMeta,
    pub index: Option<ChunkIndexSpec>,
    pub dense_attributes: Option<DenseRef>,
}

/// What an object header describes.
#[derive(Debug)]
pub(crate) enum Object {
    Group(GroupObject),
    Dataset(Box<DatasetObject>),
    /// A committed datatype (named type): nothing to list.
    Datatype,
}

/// Resolves shared datatypes and global-heap objects through the cache.
pub(crate) struct CacheResolver<'a> {
    pub cache: &'a Cache,
    pub geo: Geometry,
}

impl Resolver for CacheResolver<'_> {
    fn shared_datatype(&self, address: u64) -> Parse<Datatype> {
        let messages = object_header::read(self.cache, address, self.geo)?;
        match messages.iter().find(|m| m.kind == kind::DATATYPE) {
            Some(m) if !m.is_shared() => datatype::parse(&mut m.cursor("committed datatype", self.geo)),
            Some(m) => unsupported("committed datatype", m.address, "a committed datatype that is itself shared"),
            None => bad("committed datatype", address, "object has no datatype message"),
        }
    }

    fn heap_object(&self, collection: u64, index: u32) -> Parse<Vec<u8>> {
        global_heap::object(self.cache, collection, index, self.geo)
    }
}

fn dense(pair: Option<(u64, u64)>) -> Option<DenseRef> {
    pair.map(|(heap, name_index)| DenseRef { heap, name_index })
}

/// Read and interpret the object header at `addr`; `path` is only used in messages.
pub(crate) fn read(cache: &Cache, addr: u64, geo: Geometry, path: &str) -> Parse<Object> {
    let messages = object_header::read(cache, addr, geo)?;
    let resolver = CacheResolver { cache, geo };
    let find = |k: u16| messages.iter().find(|m| m.kind == k);

    let mut attributes = Vec::new();
    for m in messages.iter().filter(|m| m.kind == kind::ATTRIBUTE) {
        if m.is_shared() {
            return unsupported("attribute", m.address, "attribute stored in the shared-message heap");
        }
        attributes.push(attribute::parse(m.cursor("attribute message", geo), &resolver)?);
    }
    let dense_attributes = match find(kind::ATTRIBUTE_INFO) {
        Some(m) => dense(link::parse_dense_info(m.cursor("attribute info message", geo), 2)?),
        None => None,
    };

    if let Some(layout_msg) = find(kind::LAYOUT) {
        let unknown = messages.iter().find(|m| !kind::known(m.kind) && m.flags & 0x88 != 0);
        let mut ds = dataset(cache, &messages, layout_msg, geo, &resolver, path)?;
        if let Some(m) = unknown {
            ds.meta.unsupported = Some(format!("unknown header message type {:#06x} marked must-understand", m.kind));
            ds.index = None;
        }
        ds.meta.attributes = attributes;
        ds.dense_attributes = dense_attributes;
        return Ok(Object::Dataset(Box::new(ds)));
    }

    let symbol_table = match find(kind::SYMBOL_TABLE) {
        Some(m) => Some(link::parse_symbol_table(m.cursor("symbol table message", geo))?),
        None => None,
    };
    let dense_links = match find(kind::LINK_INFO) {
        Some(m) => dense(link::parse_dense_info(m.cursor("link info message", geo), 8)?),
        None => None,
    };
    let links: Vec<Link> = messages
        .iter()
        .filter(|m| m.kind == kind::LINK)
        .map(|m| link::parse_link(m.cursor("link message", geo)))
        .collect::<Parse<_>>()?;
    let is_group = symbol_table.is_some() || find(kind::LINK_INFO).is_some() || !links.is_empty();
    if !is_group && find(kind::DATATYPE).is_some() {
        return Ok(Object::Datatype);
    }
    Ok(Object::Group(GroupObject { attributes, links, symbol_table, dense_links, dense_attributes }))
}

fn message_datatype(m: &RawMessage<'_>, geo: Geometry, resolver: &CacheResolver<'_>) -> Parse<Datatype> {
    if m.is_shared() {
        let mut c = m.cursor("shared datatype reference", geo);
        resolver.shared_datatype(attribute::shared_address(&mut c)?)
    } else {
        datatype::parse(&mut m.cursor("datatype message", geo))
    }
}

fn dataset(
    cache: &Cache,
    messages: &[RawMessage<'_>],
    layout_msg: &RawMessage<'_>,
    geo: Geometry,
    resolver: &CacheResolver<'_>,
    path: &str,
) -> Parse<DatasetObject> {
    let find = |k: u16| messages.iter().find(|m| m.kind == k);
    let Some(space_msg) = find(kind::DATASPACE) else {
        return bad("object header", layout_msg.address, format!("dataset {path} has no dataspace message"));
    };
    if space_msg.is_shared() {
        return unsupported("dataspace message", space_msg.address, "shared dataspace");
    }
    let space: Dataspace = dataspace::parse(space_msg.cursor("dataspace message", geo))?;
    let Some(type_msg) = find(kind::DATATYPE) else {
        return bad("object header", layout_msg.address, format!("dataset {path} has no datatype message"));
    };
    // A type vz cannot describe leaves the dataset listed, as opaque bytes, with the reason.
    let (dtype, type_problem) = match message_datatype(type_msg, geo, resolver) {
        Ok(t) => (t, None),
        Err(Fault::Unsupported { detail, .. }) => {
            let size = type_msg.body.get(4..8).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            (Datatype::Opaque { size, tag: String::new() }, Some(format!("unsupported datatype: {detail}")))
        }
        Err(e) => return Err(e),
    };
    let filters: Vec<Filter> = match find(kind::FILTERS) {
        Some(m) if m.is_shared() => return unsupported("filter pipeline message", m.address, "shared filter pipeline"),
        Some(m) => filters::parse(m.cursor("filter pipeline message", geo))?,
        None => Vec::new(),
    };
    let data_layout = layout::parse(layout_msg.cursor("layout message", geo))?;
    let (layout, default_alloc) = match &data_layout {
        DataLayout::Compact { .. } => (Layout::Compact, AllocTime::Early),
        DataLayout::Contiguous { .. } => (Layout::Contiguous, AllocTime::Late),
        DataLayout::Chunked(_) => (Layout::Chunked, AllocTime::Incr),
        DataLayout::Virtual => (Layout::Virtual, AllocTime::Incr),
    };
    let fill = match (find(kind::FILL), find(kind::FILL_OLD)) {
        (Some(m), _) => fill::parse(m.cursor("fill value message", geo))?,
        (None, Some(m)) => fill::parse_old(m.cursor("old fill value message", geo), default_alloc)?,
        // Files from before fill value messages existed: libhdf5 calls their fill "undefined".
        (None, None) => Fill { defined: FillDefined::Undefined, alloc_time: default_alloc, ..Fill::default() },
    };

    let elem = dtype.size();
    let nbytes = space.len().saturating_mul(elem);
    let mut meta = ArrayMeta {
        path: path.to_string(),
        shape: if space.null { Vec::new() } else { space.shape.clone() },
        maxshape: space.maxshape.clone(),
        dtype,
        layout,
        chunk_shape: space.shape.clone(),
        chunk_index: None,
        filters,
        fill,
        attributes: Vec::new(),
        dimensions: Vec::new(),
        chunks: Vec::new(),
        inline: None,
        external: Vec::new(),
        unsupported: None,
    };
    let mut index = None;
    match data_layout {
        DataLayout::Compact { data } => meta.inline = Some(data),
        DataLayout::Contiguous { address, size } => {
            if let Some(m) = find(kind::EXTERNAL_FILES) {
                meta.layout = Layout::External;
                meta.external = external_files(cache, m, geo)?;
                meta.unsupported = Some("raw data is stored in external files".to_string());
            } else if let Some(offset) = address {
                let length = size.unwrap_or(nbytes);
                if offset.checked_add(length).is_none_or(|end| end > geo.eof) {
                    return bad("layout message", layout_msg.address, format!("contiguous data {offset}+{length} extends past the end of the file"));
                }
                let coords = Coords::zeros(meta.shape.len());
                meta.chunks.push(ChunkRef { coords, offset, length, filter_mask: 0, href: None });
            }
        }
        DataLayout::Chunked(l) => {
            if l.chunk_dims.len() != meta.shape.len() {
                return bad(
                    "layout message",
                    layout_msg.address,
                    format!("chunk rank {} differs from dataset rank {}", l.chunk_dims.len(), meta.shape.len()),
                );
            }
            meta.chunk_shape = l.chunk_dims.clone();
            meta.chunk_index = Some(l.kind);
            index = Some(ChunkIndexSpec {
                kind: l.kind,
                address: l.address,
                layout_version: l.version,
                chunk_dims: l.chunk_dims,
                element_size: l.element_size,
                shape: meta.shape.clone(),
                maxshape: meta.maxshape.clone(),
                filtered: !meta.filters.is_empty(),
                single_filtered: l.single_filtered,
                fa_page_bits: l.fa_page_bits,
                ea: l.ea,
                bt2: l.bt2,
            });
        }
        DataLayout::Virtual => meta.unsupported = Some("virtual dataset: data is mapped from other datasets".to_string()),
    }
    if space.null {
        meta.unsupported = Some("unsupported null dataspace: the dataset has no elements".to_string());
    }
    if let Some(reason) = type_problem {
        // The chunk byte ranges are still exact: keep listing them.
        meta.unsupported = Some(reason);
    }
    Ok(DatasetObject { meta, index, dense_attributes: None })
}

fn external_files(cache: &Cache, m: &RawMessage<'_>, geo: Geometry) -> Parse<Vec<ExternalFile>> {
    let (heap_addr, slots) = link::parse_external(m.cursor("external file list message", geo))?;
    let heap = local_heap::read(cache, heap_addr, geo)?;
    slots
        .into_iter()
        .map(|(name_offset, offset, size)| Ok(ExternalFile { name: heap.string(cache, name_offset)?, offset, size }))
        .collect()
}

