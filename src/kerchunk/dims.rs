//! `_ARRAY_DIMENSIONS`: the dimension names xarray needs to open a Zarr v2 group.
//!
//! A dimension with an attached HDF5 dimension scale is named after the scale (the last component
//! of its path, so `delta_time` is also the name of the coordinate array beside it) when their
//! lengths agree; a scale names its own dimension. Other dimensions get netCDF-style phony names, `phony_dim_N`, numbered per
//! group and shared by dimensions of the same length — kerchunk names them after the axis number
//! instead, which makes xarray refuse a group whose arrays disagree in length on one axis.

use std::collections::HashMap;

use crate::manifest::ArrayMeta;
use crate::zarr;

/// Phony dimensions handed out in one group.
#[derive(Default)]
pub(crate) struct PhonyDims {
    /// Per group: (length, name) in the order handed out.
    groups: HashMap<String, Vec<(u64, String)>>,
}

impl PhonyDims {
    /// The dimension names of `a`, whose parent group is `group`; `scale_len` gives the length of
    /// a one-dimensional array by path.
    pub(crate) fn names(&mut self, group: &str, a: &ArrayMeta, scale_len: impl Fn(&str) -> Option<u64>) -> Vec<String> {
        let scales = zarr::scale_names(a);
        let is_scale = a.attributes.iter().any(|at| at.name == "CLASS" && at.value.as_str() == Some("DIMENSION_SCALE"));
        let own = a.path.rsplit('/').next().unwrap_or_default();
        let dims = self.groups.entry(group.to_string()).or_default();
        let mut names: Vec<String> = Vec::with_capacity(a.shape.len());
        for (axis, &len) in a.shape.iter().enumerate() {
            // A scale of another length (a malformed file) would make xarray refuse the group.
            let scale = a.dimensions.get(axis).and_then(Option::as_deref);
            let fits = scale.is_none_or(|p| scale_len(p).is_none_or(|l| l == len));
            let name = match scales.get(axis).copied().flatten().filter(|_| fits) {
                Some(n) => n.to_string(),
                None if is_scale && a.shape.len() == 1 => own.to_string(),
                None => {
                    // The first phony dimension of this length that this array does not use yet.
                    let found = dims.iter().find(|(l, n)| *l == len && !names.contains(n)).map(|(_, n)| n.clone());
                    found.unwrap_or_else(|| {
                        let n = format!("phony_dim_{}", dims.len());
                        dims.push((len, n.clone()));
                        n
                    })
                }
            };
            names.push(name);
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Attribute, ByteOrder, Datatype, Fill, Layout};

    fn array(path: &str, shape: Vec<u64>, dims: Vec<Option<&str>>) -> ArrayMeta {
        ArrayMeta {
            path: path.into(),
            maxshape: shape.iter().map(|&n| Some(n)).collect(),
            chunk_shape: shape.clone(),
            shape,
            dtype: Datatype::Float { size: 4, order: ByteOrder::Le },
            layout: Layout::Contiguous,
            chunk_index: None,
            filters: vec![],
            fill: Fill::default(),
            attributes: vec![],
            dimensions: dims.into_iter().map(|d| d.map(String::from)).collect(),
            chunks: vec![],
            inline: None,
            external: vec![],
            unsupported: None,
        }
    }

    #[test]
    fn scales_name_dimensions_and_phony_ones_are_shared_by_length() {
        let mut p = PhonyDims::default();
        let mut t = array("/g/delta_time", vec![5], vec![]);
        t.attributes.push(Attribute {
            name: "CLASS".into(),
            dtype: Datatype::Integer { size: 1, signed: false, order: ByteOrder::Le },
            shape: vec![],
            value: serde_json::json!("DIMENSION_SCALE"),
        });
        let len = |p: &str| (p == "/g/delta_time").then_some(5);
        assert_eq!(p.names("/g", &t, len), ["delta_time"]);
        assert_eq!(p.names("/g", &array("/g/h", vec![5, 3], vec![Some("/g/delta_time"), None]), len), ["delta_time", "phony_dim_0"]);
        assert_eq!(p.names("/g", &array("/g/m", vec![3, 3], vec![]), len), ["phony_dim_0", "phony_dim_1"]);
        assert_eq!(p.names("/g", &array("/g/k", vec![7], vec![]), len), ["phony_dim_2"]);
        assert_eq!(p.names("/g", &array("/g/w", vec![7], vec![Some("/g/delta_time")]), len), ["phony_dim_2"], "scale of another length");
        assert_eq!(p.names("/other", &array("/other/k", vec![7], vec![]), len), ["phony_dim_0"]);
        assert!(p.names("/g", &array("/g/s", vec![], vec![]), len).is_empty());
    }
}
