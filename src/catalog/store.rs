//! Where the catalog lives: a directory or an object-store prefix. Every file is one `put`,
//! which object_store makes atomic (local files are written to a temporary name and renamed).
//! Reading lists the `granules/` table (a granule is complete once its granules file exists) and
//! decodes each granule's three files back into a [`CatalogEntry`].

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use futures::TryStreamExt;

use super::decode::{decode_entry, decode_entry_selected, CatalogReadError, Selection};
use super::subset_index::{decode_subset_index, older_layout, SUBSET_INDEX};
use super::{CatalogEntry, CatalogFile, GeolocationInfo};
use crate::source::{GranuleLocation, SourceError, SourceOptions};

/// A granule's file name in `table`'s directory.
fn file_name(table: &str, granule: &str) -> String {
    if table == SUBSET_INDEX {
        format!("{granule}.vzs")
    } else {
        format!("{granule}.parquet")
    }
}

/// The catalog root.
pub struct CatalogStore {
    display: String,
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// The root directory, for a local catalog.
    local: Option<std::path::PathBuf>,
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
        Ok(CatalogStore { display: loc.display, store: loc.store, root: loc.path, local: loc.local })
    }

    fn path(&self, table: &str, granule: &str) -> Path {
        self.root.clone().join(table).join(file_name(table, granule))
    }

    /// Write one file of a granule.
    ///
    /// # Errors
    /// When the store refuses the write.
    pub async fn put(&self, granule: &str, file: &CatalogFile) -> Result<(), SourceError> {
        let path = self.path(file.table, granule);
        self.store.put(&path, PutPayload::from_bytes(file.bytes.clone())).await.map_err(|source| SourceError::Write {
            location: format!("{}/{}/{}", self.display, file.table, file_name(file.table, granule)),
            source,
        })?;
        Ok(())
    }

    async fn get(&self, table: &str, granule: &str) -> Result<Bytes, CatalogReadError> {
        self.get_if_present(table, granule).await?.ok_or_else(|| CatalogReadError {
            file: format!("{}/{table}/{}", self.display, file_name(table, granule)),
            reason: "not found".into(),
        })
    }

    /// A granule's file of `table`, or `None` when there is none.
    async fn get_if_present(&self, table: &str, granule: &str) -> Result<Option<Bytes>, CatalogReadError> {
        let fail = |reason: String| CatalogReadError { file: format!("{}/{table}/{}", self.display, file_name(table, granule)), reason };
        if let Some(root) = &self.local {
            // Read on the calling task: a catalog file is a few hundred KiB from the page cache,
            // where object_store's local store makes two hops to its blocking pool per file.
            return match std::fs::read(root.join(table).join(file_name(table, granule))) {
                Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(fail(e.to_string())),
            };
        }
        let read = async { self.store.get(&self.path(table, granule)).await?.bytes().await };
        match read.await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// Ids of the completely indexed granules, sorted.
    ///
    /// # Errors
    /// When the catalog root cannot be listed, or is a local directory that does not exist.
    pub async fn granules(&self) -> Result<Vec<String>, CatalogReadError> {
        // A local store lists a missing directory as empty: say so rather than find nothing.
        if self.local.as_ref().is_some_and(|r| !r.is_dir()) {
            return Err(CatalogReadError { file: self.display.clone(), reason: "no such directory".into() });
        }
        let prefix = self.root.clone().join("granules");
        let listed: Vec<_> = self.store.list(Some(&prefix)).try_collect().await.map_err(|e| CatalogReadError {
            file: format!("{}/granules", self.display),
            reason: e.to_string(),
        })?;
        let mut ids: Vec<String> =
            listed.iter().filter_map(|o| o.location.filename()?.strip_suffix(".parquet").map(String::from)).collect();
        ids.sort();
        Ok(ids)
    }

    /// Read one granule back: its manifest and spatial tagging.
    ///
    /// # Errors
    /// When a table file is missing, unreadable, or not a catalog file of this version.
    pub async fn read(&self, granule: &str) -> Result<CatalogEntry, CatalogReadError> {
        let (g, a, c) = futures::try_join!(self.get("granules", granule), self.get("arrays", granule), self.get("chunks", granule))?;
        decode_entry(granule, g, a, c).map_err(|mut e| {
            e.file = format!("{}/{}", self.display, e.file);
            e
        })
    }

    /// Read part of one granule back: the arrays `select` names from its geolocated groups
    /// (see [`decode_entry_selected`]), decoding nothing else. From the granule's subset index
    /// when it has one (a single small read, decoded in a tenth of the time), else from its
    /// three tables.
    ///
    /// # Errors
    /// As [`CatalogStore::read`], and when a subset index is damaged or of another layout.
    pub async fn read_selected(
        &self,
        granule: &str,
        select: &(dyn Fn(&[GeolocationInfo]) -> Selection + Send + Sync),
    ) -> Result<CatalogEntry, CatalogReadError> {
        if let Some(index) = self.get_if_present(SUBSET_INDEX, granule).await?.filter(|b| !older_layout(b)) {
            return decode_subset_index(granule, &index, select).map_err(|mut e| {
                e.file = format!("{}/{}", self.display, e.file);
                e
            });
        }
        let (g, a, c) = futures::try_join!(self.get("granules", granule), self.get("arrays", granule), self.get("chunks", granule))?;
        decode_entry_selected(granule, g, a, c, select).map_err(|mut e| {
            e.file = format!("{}/{}", self.display, e.file);
            e
        })
    }

    /// The granules-table entry of `granule`, if the catalog has one of this catalog version.
    pub async fn previous(&self, granule: &str) -> Option<PreviousEntry> {
        let bytes = self.get("granules", granule).await.ok()?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).ok()?;
        // A file of another catalog version is not "already indexed": it is rewritten.
        let vz = builder.metadata().file_metadata().key_value_metadata()?.iter().find(|k| k.key == "vz")?.value.clone()?;
        let version: serde_json::Value = serde_json::from_str(&vz).ok()?;
        if version["catalog_version"].as_str() != Some(super::CATALOG_VERSION) {
            return None;
        }
        for batch in builder.build().ok()? {
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
