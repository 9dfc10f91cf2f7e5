//! Where the catalog lives: a directory or an object-store prefix. Every file is one `put`,
//! which object_store makes atomic (local files are written to a temporary name and renamed).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::catalog::ParquetFile;
use crate::source::{GranuleLocation, SourceError, SourceOptions};

/// The catalog root.
pub struct CatalogStore {
    display: String,
    store: Arc<dyn ObjectStore>,
    root: Path,
}

impl fmt::Display for CatalogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// What the catalog remembers of an indexed granule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousEntry {
    pub size: u64,
    pub etag: Option<String>,
    pub h3_resolution: u64,
}

impl CatalogStore {
    /// Open (lazily: nothing is written until the first granule) a catalog root.
    ///
    /// # Errors
    /// When the location cannot be parsed or its store configured.
    pub fn open(location: &str, opts: &SourceOptions) -> Result<CatalogStore, SourceError> {
        let loc = GranuleLocation::parse(location, opts)?;
        Ok(CatalogStore { display: loc.display, store: loc.store, root: loc.path })
    }

    fn path(&self, table: &str, granule: &str) -> Path {
        self.root.clone().join(table).join(format!("{granule}.parquet"))
    }

    /// Write one table file of a granule.
    ///
    /// # Errors
    /// When the store refuses the write.
    pub async fn put(&self, granule: &str, file: &ParquetFile) -> Result<(), SourceError> {
        let path = self.path(file.table, granule);
        self.store.put(&path, PutPayload::from_bytes(file.bytes.clone())).await.map_err(|source| SourceError::Write {
            location: format!("{}/{}/{granule}.parquet", self.display, file.table),
            source,
        })?;
        Ok(())
    }

    /// The granules-table entry of `granule`, if the catalog has one that can be read.
    pub async fn previous(&self, granule: &str) -> Option<PreviousEntry> {
        let path = self.path("granules", granule);
        let bytes: Bytes = self.store.get(&path).await.ok()?.bytes().await.ok()?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).ok()?.build().ok()?;
        for batch in reader {
            let batch = batch.ok()?;
            let size = batch.column_by_name("size")?.as_any().downcast_ref::<arrow::array::UInt64Array>()?;
            let etag = batch.column_by_name("etag")?.as_any().downcast_ref::<arrow::array::StringArray>()?;
            let res = batch.column_by_name("h3_resolution")?.as_any().downcast_ref::<arrow::array::UInt64Array>()?;
            if batch.num_rows() > 0 {
                use arrow::array::Array;
                let etag = if etag.is_null(0) { None } else { Some(etag.value(0).to_string()) };
                return Some(PreviousEntry { size: size.value(0), etag, h3_resolution: res.value(0) });
            }
        }
        None
    }
}
