//! TODO: in progress (issue 4).
