//! `dmrpp:chunks compressionType` → the HDF5 filter pipeline, as libhdf5 reports it from the
//! file's filter pipeline message (HDF5 File Format Specification IV.A.2.l): deflate (id 1,
//! optional, cd_values `[level]`), shuffle (id 2, optional, cd_values `[element size]`),
//! fletcher32 (id 3, mandatory, no cd_values).
//!
//! build_dmrpp before `dmrpp:version` existed listed the filters in an order of its own (for
//! instance `deflate shuffle`); those sidecars are normalised to the only order libhdf5's
//! `H5Pset_*` calls produce in practice: shuffle → deflate → fletcher32.

use crate::manifest::Filter;

/// Filter ids known to build_dmrpp's `compressionType`.
fn id_of(token: &str) -> Option<u16> {
    Some(match token {
        "deflate" => 1,
        "shuffle" => 2,
        "fletcher32" => 3,
        _ => return None,
    })
}

/// Position in the normalised order for un-versioned sidecars.
fn rank(id: u16) -> u8 {
    match id {
        2 => 0,
        1 => 1,
        _ => 2,
    }
}

/// The filter pipeline in write order. `levels` are the `deflateLevel` values, one per `deflate`
/// token in the order written; `element_size` is the array's element size (shuffle's parameter).
/// `versioned`: the root carries `dmrpp:version` (order as written is the file's order).
///
/// # Errors
/// An unknown filter name, or an element size that does not fit shuffle's 32-bit parameter.
pub(crate) fn pipeline(
    compression: &str,
    levels: &[u32],
    element_size: u64,
    versioned: bool,
) -> Result<Vec<Filter>, String> {
    let mut deflates = 0usize;
    let mut out = Vec::new();
    for token in compression.split_ascii_whitespace() {
        let id = id_of(token).ok_or_else(|| format!("unknown filter `{token}` in compressionType"))?;
        let (flags, params) = match id {
            1 => {
                let level = levels.get(deflates).copied();
                deflates += 1;
                (1, level.into_iter().collect())
            }
            2 => {
                let size = u32::try_from(element_size).map_err(|_| "element size too large for shuffle".to_string())?;
                (1, vec![size])
            }
            _ => (0, Vec::new()),
        };
        let name = Filter::known_name(id).unwrap_or(token).to_string();
        out.push(Filter { id, name, flags, params });
    }
    if !versioned {
        out.sort_by_key(|f| rank(f.id));
    }
    Ok(out)
}

/// Parse `deflateLevel="4 1"`.
pub(crate) fn levels(text: &str) -> Result<Vec<u32>, String> {
    text.split_ascii_whitespace()
        .map(|t| match t.parse::<u32>() {
            Ok(l) if l <= 9 => Ok(l),
            _ => Err(format!("deflate level `{t}` is not 0..9")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unversioned_sidecars_are_reordered() {
        let f = pipeline("deflate shuffle", &[], 4, false).unwrap();
        assert_eq!(f.iter().map(|f| f.id).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(f[0].params, [4]);
        let f = pipeline("fletcher32 shuffle deflate", &[1], 4, true).unwrap();
        assert_eq!(f.iter().map(|f| (f.id, f.flags)).collect::<Vec<_>>(), [(3, 0), (2, 1), (1, 1)]);
        assert_eq!(f[2].params, [1]);
        let f = pipeline("deflate deflate", &[4, 1], 2, true).unwrap();
        assert_eq!((f[0].params.clone(), f[1].params.clone()), (vec![4], vec![1]));
        assert!(pipeline("szip", &[], 4, true).is_err());
    }
}
