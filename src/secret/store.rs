//! Writing a secret to disk, the one place that does: a saved refresh token
//! replaced by the new one the identity platform handed back (rotation). The
//! new file is written whole beside the old one, only its owner may read it
//! (0600 on Unix), it is flushed to disk, then renamed over the old one, so the
//! file always holds one whole token, the old or the new, never a mix, and a
//! crash leaves at worst a stray temporary file, never an empty token file.

use super::Secret;
use std::io::Write as _;
use std::path::Path;

/// Replaces the secret in `path` by `secret` (one line), atomically.
pub fn replace(path: &Path, secret: &Secret) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tries = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.{}.{tries}.tmp", std::process::id()));
        match open_private(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(secret.expose().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all());
    drop(file);
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return renamed;
    }
    // The rename itself reaches the disk with the directory (Unix).
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new file only its owner can read and write.
fn open_private(p: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_holds_the_new_secret_alone_owner_only_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().expect("dir");
        let p = dir.path().join("refresh-token");
        std::fs::write(&p, "old-token\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        replace(&p, &Secret::new("new-token".into())).expect("replaced");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "new-token\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A directory that cannot be written to: the old file stays whole.
        let gone = dir.path().join("no-such-dir").join("refresh-token");
        assert!(replace(&gone, &Secret::new("x".into())).is_err());
    }
}
