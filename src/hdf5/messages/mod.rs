//! Header message bodies (spec IV.A.2), decoded into manifest types.

pub(crate) mod attribute;
pub(crate) mod dataspace;
pub(crate) mod datatype;
pub(crate) mod fill;
pub(crate) mod filters;
pub(crate) mod layout;
pub(crate) mod link;

/// Message type numbers used by the reader.
pub(crate) mod kind {
    pub const DATASPACE: u16 = 0x0001;
    pub const LINK_INFO: u16 = 0x0002;
    pub const DATATYPE: u16 = 0x0003;
    pub const FILL_OLD: u16 = 0x0004;
    pub const FILL: u16 = 0x0005;
    pub const LINK: u16 = 0x0006;
    pub const EXTERNAL_FILES: u16 = 0x0007;
    pub const LAYOUT: u16 = 0x0008;
    pub const FILTERS: u16 = 0x000B;
    pub const ATTRIBUTE: u16 = 0x000C;
    pub const SYMBOL_TABLE: u16 = 0x0011;
    pub const ATTRIBUTE_INFO: u16 = 0x0015;
    /// Types the reader knows and may ignore (NIL, group info, comments, times, B-tree 'K's, ...).
    pub fn known(k: u16) -> bool {
        k <= 0x0018
    }
}
