//! zarrs' storage traits for [`VirtualStore`]: async and sync reads, and listing (so that zarrs'
//! hierarchy discovery works). Chunk values are normalised whole (see `store`), so partial reads
//! slice a whole value and `supports_get_partial` is false.

use std::future::Future;
use std::sync::OnceLock;

use bytes::Bytes;
use futures::StreamExt;
use zarrs::storage::byte_range::{ByteRange, ByteRangeIterator, InvalidByteRangeError};
use zarrs::storage::{
    AsyncListableStorageTraits, AsyncMaybeBytesIterator, AsyncReadableStorageTraits,
    ListableStorageTraits, MaybeBytesIterator, ReadableStorageTraits, StorageError, StoreKey,
    StoreKeys, StoreKeysPrefixes, StorePrefix,
};

use super::VirtualStore;

fn storage(e: impl std::fmt::Display) -> StorageError {
    StorageError::Other(e.to_string())
}

fn slices(value: &Bytes, ranges: ByteRangeIterator<'_>) -> Vec<Result<Bytes, StorageError>> {
    let size = value.len() as u64;
    ranges
        .map(|r: ByteRange| {
            let range = r.to_range(size);
            if range.start > range.end || range.end > size {
                return Err(InvalidByteRangeError::new(r, size).into());
            }
            Ok(value.slice(r.to_range_usize(size)))
        })
        .collect()
}

/// Run a future from sync code: on the caller's multi-thread runtime if there is one, else on a
/// runtime of our own (the granule sources need a tokio reactor).
fn block_on<F: Future>(f: F) -> Result<F::Output, StorageError> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| h.block_on(f)))
        }
        Ok(_) => Err(StorageError::Other(
            "the sync Zarr store cannot block inside a current-thread tokio runtime: use the async API".into(),
        )),
        Err(_) => {
            let rt = RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().ok());
            rt.as_ref().map(|rt| rt.block_on(f)).ok_or_else(|| StorageError::Other("cannot start a tokio runtime".into()))
        }
    }
}

impl VirtualStore {
    fn listed(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.keys()
            .into_iter()
            .filter(|k| k.starts_with(prefix.as_str()))
            .map(|k| StoreKey::new(k).map_err(StorageError::from))
            .collect()
    }

    fn listed_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        let mut keys = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        for k in self.keys() {
            let Some(rest) = k.strip_prefix(prefix.as_str()) else {
                continue;
            };
            match rest.split_once('/') {
                None => keys.push(StoreKey::new(k.clone())?),
                Some((dir, _)) => {
                    let p = format!("{}{dir}/", prefix.as_str());
                    if prefixes.last() != Some(&p) && !prefixes.contains(&p) {
                        prefixes.push(p);
                    }
                }
            }
        }
        let prefixes = prefixes
            .into_iter()
            .map(StorePrefix::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoreKeysPrefixes::new(keys, prefixes))
    }
}

#[async_trait::async_trait]
impl AsyncReadableStorageTraits for VirtualStore {
    async fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<AsyncMaybeBytesIterator<'a>, StorageError> {
        let Some(value) = self.get(key.as_str()).await.map_err(storage)? else {
            return Ok(None);
        };
        Ok(Some(
            futures::stream::iter(slices(&value, byte_ranges)).boxed(),
        ))
    }

    async fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        Ok(self
            .get(key.as_str())
            .await
            .map_err(storage)?
            .map(|v| v.len() as u64))
    }

    fn supports_get_partial(&self) -> bool {
        false
    }
}

impl ReadableStorageTraits for VirtualStore {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        let Some(value) = block_on(self.get(key.as_str()))?.map_err(storage)? else {
            return Ok(None);
        };
        Ok(Some(Box::new(slices(&value, byte_ranges).into_iter())))
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        Ok(block_on(self.get(key.as_str()))?
            .map_err(storage)?
            .map(|v| v.len() as u64))
    }

    fn supports_get_partial(&self) -> bool {
        false
    }
}

#[async_trait::async_trait]
impl AsyncListableStorageTraits for VirtualStore {
    async fn list(&self) -> Result<StoreKeys, StorageError> {
        self.listed(&StorePrefix::root())
    }

    async fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.listed(prefix)
    }

    async fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.listed_dir(prefix)
    }

    async fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        ListableStorageTraits::size_prefix(self, prefix)
    }
}

impl ListableStorageTraits for VirtualStore {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.listed(&StorePrefix::root())
    }

    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.listed(prefix)
    }

    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.listed_dir(prefix)
    }

    /// Stored sizes (compressed chunk lengths and metadata), without fetching anything.
    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        Ok(self
            .stored_sizes()
            .filter(|(k, _)| k.starts_with(prefix.as_str()))
            .map(|(_, n)| n)
            .sum())
    }
}
