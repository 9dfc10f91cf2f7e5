//! Replay mode shared by the fuzz targets: built without `--cfg fuzzing`, a target reads files
//! (directories: every file inside), runs its check on each and reports panics, so crashes found
//! by libFuzzer can be checked on stable Rust.

/// Run `check` on every file named on the command line; exit non-zero on any panic.
pub fn replay(name: &str, check: fn(&[u8]) -> Option<usize>) {
    use std::path::PathBuf;

    let mut files: Vec<PathBuf> = Vec::new();
    for arg in std::env::args_os().skip(1) {
        let path = PathBuf::from(arg);
        match std::fs::read_dir(&path) {
            Ok(entries) => {
                let mut inside: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                inside.sort();
                files.extend(inside.into_iter().filter(|p| p.is_file()));
            }
            Err(_) => files.push(path),
        }
    }
    if files.is_empty() {
        eprintln!("usage: {name} DIR_OR_FILE...  (replays inputs through the target)");
        std::process::exit(2);
    }
    let (mut panics, mut read, mut arrays) = (0, 0, 0);
    for path in &files {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let started = std::time::Instant::now();
        match std::panic::catch_unwind(|| check(&data)) {
            Ok(Some(n)) => {
                read += 1;
                arrays += n;
            }
            Ok(None) => {}
            Err(_) => {
                panics += 1;
                eprintln!("PANIC on {}", path.display());
            }
        }
        let took = started.elapsed();
        if took.as_secs() >= 5 {
            eprintln!("SLOW ({took:?}) on {}", path.display());
        }
    }
    println!(
        "{} inputs replayed: {read} accepted ({arrays} arrays), {panics} panics",
        files.len()
    );
    if panics > 0 {
        std::process::exit(1);
    }
}
