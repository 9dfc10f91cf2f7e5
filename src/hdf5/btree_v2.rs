//! Version-2 B-trees (spec III.A.2): header `BTHD`, internal nodes `BTIN`, leaves `BTLF`.
//! TODO: implemented by the v2-structures work. Used by dense groups and attributes
//! (record types 5, 6, 8, 9) and by chunk indexes (record types 10, 11).
