//! A private copy of standard input, for a command that reads its data twice.

use std::io::{self, Read, Write};
use std::path::Path;

use tempfile::TempPath;

/// Copy `input` to a new file of the temporary folder and give its path,
/// which removes the file when dropped.
///
/// The file is created exclusively (`O_EXCL`, mode 0600) under an
/// unpredictable name: a file or symlink another user placed in the shared
/// folder is never opened nor followed. Its name ends in `.json` because the
/// data reader tells NDJSON from a JSON array by the first byte for such a
/// name, as it does for standard input itself.
///
/// # Errors
/// The file cannot be created or written; nothing is left behind.
pub fn spool(input: &mut impl Read, folder: &Path) -> io::Result<TempPath> {
    let mut file = tempfile::Builder::new()
        .prefix("moodlec-stdin-")
        .suffix(".json")
        .tempfile_in(folder)?;
    io::copy(input, &mut file)?;
    file.flush()?;
    Ok(file.into_temp_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("moodlec-spool-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    }

    #[test]
    fn the_copy_holds_the_input_and_goes_away_on_drop() {
        let dir = scratch("drop");
        let path = spool(&mut "{\"a\":1}\n".as_bytes(), &dir).expect("spool");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "{\"a\":1}\n");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        assert!(
            name.starts_with("moodlec-stdin-") && name.ends_with(".json"),
            "{name}"
        );
        let kept = path.to_path_buf();
        drop(path);
        assert!(!kept.exists(), "{} is still there", kept.display());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_are_unpredictable_and_not_the_process_id() {
        let dir = scratch("names");
        let first = spool(&mut &b""[..], &dir).expect("spool");
        let second = spool(&mut &b""[..], &dir).expect("spool");
        assert_ne!(first.to_path_buf(), second.to_path_buf());
        let pid = std::process::id().to_string();
        for path in [&first, &second] {
            let name = path.file_name().and_then(|n| n.to_str()).expect("name");
            let random = &name["moodlec-stdin-".len()..name.len() - ".json".len()];
            assert!(random.len() >= 6 && random != pid, "{name}");
        }
        drop((first, second));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn the_copy_is_private_and_never_follows_a_planted_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("private");
        // Whatever name comes next, a link planted under the old predictable name is left alone.
        let target = dir.join("victim");
        std::fs::write(&target, "untouched").expect("victim");
        let planted = dir.join(format!("moodlec-stdin-{}.json", std::process::id()));
        std::os::unix::fs::symlink(&target, &planted).expect("symlink");
        let path = spool(&mut "data".as_bytes(), &dir).expect("spool");
        assert_ne!(path.to_path_buf(), planted);
        assert_eq!(std::fs::read_to_string(&target).expect("victim"), "untouched");
        let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o} lets others read the data");
        drop(path);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_copy_leaves_nothing_behind() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("read failed"))
            }
        }
        let dir = scratch("broken");
        assert!(spool(&mut Broken, &dir).is_err());
        let left = std::fs::read_dir(&dir).expect("list").count();
        assert_eq!(left, 0, "the half-made copy stayed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
