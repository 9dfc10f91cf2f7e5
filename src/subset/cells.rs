//! The AOI's H3 cells, at each resolution a catalog is indexed at: what the latitude chunks' cells
//! are tested against.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::spatial::{Aoi, SpatialError};

/// The AOI's cells at one resolution, sorted (a few hundred to a few thousand for a regional
/// area: a binary search is as quick as a hash lookup, and nothing is built to hold them).
#[derive(Clone, Debug, Default)]
pub struct AoiCells(Vec<u64>);

impl AoiCells {
    /// Whether `cell` is one of the AOI's.
    pub fn contains(&self, cell: u64) -> bool {
        self.0.binary_search(&cell).is_ok()
    }
}

/// The AOI's cells per resolution, each computed once. h3o's covering of an area takes a
/// millisecond or more and every granule waits for it: the lock is held while computing, so a
/// second granule waits for the first one's result rather than computing it again.
pub struct CellCache {
    aoi: Arc<Aoi>,
    by_resolution: Mutex<HashMap<u8, Arc<AoiCells>>>,
}

impl CellCache {
    /// A cache of `aoi`'s cells, empty.
    pub fn new(aoi: Arc<Aoi>) -> CellCache {
        CellCache { aoi, by_resolution: Mutex::default() }
    }

    /// The cells at H3 resolution `res` (a catalog's `h3_resolution`).
    ///
    /// # Errors
    /// When `res` is not an H3 resolution or the area cannot be covered.
    pub fn at(&self, res: u8) -> Result<Arc<AoiCells>, SpatialError> {
        let mut cache = self.by_resolution.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cells) = cache.get(&res) {
            return Ok(cells.clone());
        }
        let resolution = h3o::Resolution::try_from(res).map_err(|e| SpatialError::InvalidAoi(format!("catalog H3 resolution: {e}")))?;
        // `try_cells` gives them sorted.
        let cells = Arc::new(AoiCells(self.aoi.try_cells(resolution)?));
        cache.insert(res, cells.clone());
        Ok(cells)
    }
}
