//! `CURRENT`: the one-line file naming the live MANIFEST (`MANIFEST-NNNNNN\n`).
//!
//! It is replaced, never rewritten in place: the new contents go to `NNNNNN.dbtmp` (the
//! MANIFEST's number), which is synced and renamed over `CURRENT`, and the directory is
//! synced. A crash at any point leaves either the old `CURRENT` or the new one, each naming a
//! MANIFEST that was synced before it.

use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::FileSystem;

use super::filename::{
    current_file_name, manifest_name, parse_file_name, temp_file_name, FileType,
};

/// Points `CURRENT` at `MANIFEST-{manifest_number}`, durably. The MANIFEST must already be
/// synced and its directory entry durable.
pub fn set_current_file(fs: &dyn FileSystem, dir: &Path, manifest_number: u64) -> Result<()> {
    let temp = temp_file_name(dir, manifest_number);
    let contents = format!("{}\n", manifest_name(manifest_number));
    let written = (|| -> io::Result<()> {
        let mut file = match fs.create(&temp) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // A crashed session's temporary: it holds nothing anyone needs.
                fs.remove_file(&temp)?;
                fs.create(&temp)?
            }
            other => other?,
        };
        file.append(contents.as_bytes())?;
        file.sync()
    })();
    if let Err(e) = written {
        // Best effort: a leftover .dbtmp is harmless and removed as obsolete later.
        let _ = fs.remove_file(&temp);
        return Err(Error::io(format!("writing {}", temp.display()), e));
    }
    fs.rename(&temp, &current_file_name(dir))
        .map_err(|e| Error::io(format!("renaming {} to CURRENT", temp.display()), e))?;
    fs.sync_dir(dir)
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

/// The number of the MANIFEST `CURRENT` names. `Corruption` naming `CURRENT` if it is
/// missing, empty, not newline-terminated, or names anything but a MANIFEST.
pub fn read_current_file(fs: &dyn FileSystem, dir: &Path) -> Result<u64> {
    let path = current_file_name(dir);
    let mut file = match fs.open_sequential(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::corruption(format!(
                "{} is missing: the database has no MANIFEST to open",
                path.display()
            )))
        }
        Err(e) => return Err(Error::io(format!("opening {}", path.display()), e)),
    };
    let mut contents = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = match file.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        if n == 0 {
            break;
        }
        contents.extend_from_slice(&buf[..n]);
        if contents.len() > 4096 {
            break;
        }
    }
    let garbled = || {
        Error::corruption(format!(
            "{} is garbled: {:?} does not name a MANIFEST",
            path.display(),
            String::from_utf8_lossy(&contents[..contents.len().min(64)])
        ))
    };
    let line = std::str::from_utf8(&contents)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .ok_or_else(garbled)?;
    match parse_file_name(line) {
        Some((number, FileType::Manifest)) => Ok(number),
        _ => Err(garbled()),
    }
}
