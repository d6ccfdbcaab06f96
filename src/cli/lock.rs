//! One sync at a time per site and sync template: two overlapping runs of a
//! daily job (a slow one and the next day's) would both read Moodle, plan
//! the same changes and send them twice.
//!
//! The lock is an advisory `flock` on a file in moodlec's config folder
//! (`locks/HOST-HASH-SYNC.lock`, else in the temp folder): the kernel drops
//! it when the process ends, however it ends, so a crash never leaves a
//! stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;

use moodlec::site::SiteUrl;

use super::error::Error;
use super::sites::{config_dir, site_stem};

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
}

fn lock_path(site: &SiteUrl, sync: &str) -> PathBuf {
    let dir = config_dir().unwrap_or_else(std::env::temp_dir).join("locks");
    let sync: String = sync
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{}-{sync}.lock", site_stem(site)))
}

/// Take the lock of `sync` on `site`, or say who holds it.
///
/// # Errors
/// Another moodlec holds it, or the lock file cannot be made (exit 2).
pub fn acquire(site: &SiteUrl, sync: &str) -> Result<SyncLock, Error> {
    let path = lock_path(site, sync);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::usage(format!("cannot create the lock folder {}: {e}", dir.display())))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::usage(format!("cannot open the lock file {}: {e}", path.display())))?;
    if !try_lock(&file) {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        return Err(Error::usage(format!(
            "another sync `{sync}` of {site} is running{}",
            if holder.is_empty() {
                String::new()
            } else {
                format!(" (process {holder})")
            }
        ))
        .with_help(format!(
            "wait for it to finish; the lock is {} and is released when that process ends",
            path.display()
        )));
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    let _ = file.flush();
    Ok(SyncLock { _file: file })
}

#[cfg(unix)]
fn try_lock(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor this process owns; no memory is involved.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> bool {
    true
}
