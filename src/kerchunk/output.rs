//! Writing encoded references to the local file system atomically: a JSON file goes to a
//! temporary name beside the target and is renamed over it; a Parquet directory is built under a
//! temporary name and swapped in, so a reader never sees half a reference set.

use std::path::{Path, PathBuf};

use super::KerchunkError;

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
