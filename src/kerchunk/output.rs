//! Writing encoded references. On the local file system atomically: a JSON file goes to a
//! temporary name beside the target and is renamed over it; a Parquet directory is built under a
//! temporary name and swapped in, so a reader never sees half a reference set. To an object store
//! (`s3://`): one put per file (each atomic), `.zmetadata` last.

use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutPayload};

use super::KerchunkError;
use crate::source::{GranuleLocation, SourceError, SourceOptions};

/// Encoded references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoded {
    /// One file (JSON).
    File(Vec<u8>),
    /// A directory of files, by relative path, in write order (Parquet layout).
    Directory(Vec<(String, Vec<u8>)>),
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> KerchunkError + '_ {
    move |source| KerchunkError::Write { path: path.display().to_string(), source }
}

fn sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Write `encoded` at `path`, replacing what is there.
///
/// # Errors
/// When a file or directory cannot be written, renamed or removed.
pub fn write_local(path: &Path, encoded: &Encoded) -> Result<(), KerchunkError> {
    match encoded {
        Encoded::File(bytes) => {
            let tmp = sibling(path, "tmp");
            std::fs::write(&tmp, bytes).map_err(write_err(&tmp))?;
            std::fs::rename(&tmp, path).map_err(write_err(path))
        }
        Encoded::Directory(files) => {
            let tmp = sibling(path, "tmp");
            if tmp.exists() {
                std::fs::remove_dir_all(&tmp).map_err(write_err(&tmp))?;
            }
            for (name, bytes) in files {
                let file = tmp.join(name);
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
                }
                std::fs::write(&file, bytes).map_err(write_err(&file))?;
            }
            std::fs::create_dir_all(&tmp).map_err(write_err(&tmp))?;
            // A directory cannot be renamed over another: move the old one aside first.
            let old = sibling(path, "old");
            let replaced = path.exists();
            if replaced {
                std::fs::rename(path, &old).map_err(write_err(path))?;
            }
            std::fs::rename(&tmp, path).map_err(write_err(path))?;
            if replaced {
                if old.is_dir() {
                    std::fs::remove_dir_all(&old).map_err(write_err(&old))?;
                } else {
                    std::fs::remove_file(&old).map_err(write_err(&old))?;
                }
            }
            Ok(())
        }
    }
}

/// Write `encoded` at `location`: a local path or `file://` URL ([`write_local`]), or an
/// object-store URL (`s3://bucket/refs.json`, `s3://bucket/refs.parquet`). Files of an earlier
/// Parquet export at the same prefix that this one does not write are left in place.
///
/// # Errors
/// When the location is unusable or a write fails.
pub async fn write(location: &str, encoded: &Encoded, opts: &SourceOptions) -> Result<(), KerchunkError> {
    if !location.contains("://") {
        return write_local(Path::new(location), encoded);
    }
    if let Some(path) = location.strip_prefix("file://") {
        return write_local(Path::new(path), encoded);
    }
    let loc = GranuleLocation::parse(location, opts).map_err(KerchunkError::Store)?;
    let put = |path: object_store::path::Path, bytes: Vec<u8>, display: String| {
        let store = loc.store.clone();
        async move {
            store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(|source| KerchunkError::Store(SourceError::Write { location: display, source }))
        }
    };
    match encoded {
        Encoded::File(bytes) => put(loc.path.clone(), bytes.clone(), loc.display.clone()).await.map(|_| ()),
        Encoded::Directory(files) => {
            let target = |name: &str| {
                let path = name.split('/').fold(loc.path.clone(), |p, part| p.join(part));
                (path, format!("{}/{name}", loc.display.trim_end_matches('/')))
            };
            // `.zmetadata` last: a reader finds the set once everything it names is there.
            let (last, rest): (Vec<_>, Vec<_>) = files.iter().partition(|(name, _)| name == ".zmetadata");
            futures::stream::iter(rest.into_iter().map(|(name, bytes)| {
                let (path, display) = target(name);
                put(path, bytes.clone(), display)
            }))
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?;
            for (name, bytes) in last {
                let (path, display) = target(name);
                put(path, bytes.clone(), display).await?;
            }
            Ok(())
        }
    }
}
