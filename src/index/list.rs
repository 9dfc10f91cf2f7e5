//! The granule list: one path or URL per line.

use std::path::Path;

use super::IndexError;

/// Read a granule list. Blank lines and `#` comments are skipped; relative paths are resolved
/// against the list's own directory, so a list can travel with its granules.
///
/// # Errors
/// When the file cannot be read.
pub fn read_granule_list(path: &Path) -> Result<Vec<String>, IndexError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| IndexError::List { path: path.display().to_string(), source })?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            if l.contains("://") || Path::new(l).is_absolute() {
                l.to_string()
            } else {
                base.join(l).display().to_string()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_paths_and_skips_comments() {
        let dir = std::env::temp_dir().join(format!("vz-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("granules.txt");
        std::fs::write(&list, "# granules\n\na.h5\n/abs/b.h5\ns3://bucket/c.h5\n").unwrap();
        let got = read_granule_list(&list).unwrap();
        assert_eq!(got, vec![dir.join("a.h5").display().to_string(), "/abs/b.h5".into(), "s3://bucket/c.h5".into()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
