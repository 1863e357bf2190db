//! Where secrets come from: a prompt without echo, one line of standard input, an
//! environment variable, or a file only its owner can read. Never from argv.
//! Every read is bounded, an empty secret is refused (nothing would be tested,
//! and a server would count the empty login as a failure), and an error names
//! the source, never the value. `read_regular_file` is the one way local files
//! are read (secret files, `--ca-file`, batch files): regular files only, capped.

use super::Secret;
use std::io::IsTerminal as _;
use std::path::Path;
use zeroize::Zeroizing;

/// The environment variable a password may come from.
pub const PASSWORD_ENV: &str = "MAILBOX_DOCTOR_PASSWORD";
/// The environment variable an OAuth 2.0 access token may come from.
pub const TOKEN_ENV: &str = "MAILBOX_DOCTOR_TOKEN";

/// Why a secret could not be read; it names the source, never the value.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("reading {what} from standard input: {why}")]
    Stdin {
        what: &'static str,
        why: std::io::Error,
    },
    #[error("{var} is not valid UTF-8")]
    EnvNotUtf8 { var: String },
    #[error("environment variable `{var}` is not set (or not UTF-8)")]
    EnvMissing { var: String },
    #[error("reading the password from the terminal: {0}")]
    Prompt(std::io::Error),
    #[error("cannot read {label} {file}: {why}")]
    File {
        label: &'static str,
        file: String,
        why: std::io::Error,
    },
    #[error(
        "{label} {file} is readable by group or others (mode {mode:03o}); run `chmod 600 {file}`"
    )]
    FileMode {
        label: &'static str,
        file: String,
        mode: u32,
    },
    #[error(
        "{label} {file} is readable by other users: {who}; run `icacls \"{file}\" /inheritance:r /grant:r \"%USERNAME%:F\"` (in PowerShell, $env:USERNAME) and remove any other entry"
    )]
    FileAcl {
        label: &'static str,
        file: String,
        who: String,
    },
    #[error("cannot read the access list of {label} {file} ({why}), so who else may read it is unknown: the file is not used. Keep it on an NTFS drive, or give the secret at the prompt or through the environment")]
    FileAclUnreadable {
        label: &'static str,
        file: String,
        why: std::io::Error,
    },
    #[error("{label} {file}: {why}")]
    FileContent {
        label: &'static str,
        file: String,
        why: std::io::Error,
    },
    #[error("{label}: {0}", label = .1)]
    NotAFile(FileError, &'static str),
    #[error("{what} from {from} is empty; nothing was sent (use --no-password to test without logging in)")]
    Empty { what: &'static str, from: String },
}

/// An empty secret is refused.
fn not_empty(s: Secret, what: &'static str, from: &str) -> Result<Secret, InputError> {
    if s.is_empty() {
        return Err(InputError::Empty {
            what,
            from: from.to_string(),
        });
    }
    Ok(s)
}

/// The longest password or token line read from standard input (access tokens run
/// to a few kilobytes).
pub const MAX_SECRET_LINE: usize = 64 * 1024;

/// Reads one secret line from a reader and removes only the final line ending
/// (`\n` or `\r\n`): every other character the user pasted is kept so that the
/// credentials check can examine it.
pub fn read_secret_line(reader: &mut dyn std::io::BufRead) -> std::io::Result<Secret> {
    let mut buf = Zeroizing::new(Vec::new());
    // Bounded: a stream with no line end (a file piped by mistake) is refused,
    // not read into memory until it ends.
    std::io::BufRead::read_until(
        &mut std::io::Read::take(reader, MAX_SECRET_LINE as u64 + 1),
        b'\n',
        &mut buf,
    )?;
    if buf.len() > MAX_SECRET_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the line read from standard input is longer than {MAX_SECRET_LINE} bytes: not a password or token"),
        ));
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    match String::from_utf8(buf.to_vec()) {
        Ok(s) => Ok(Secret::new(s)),
        Err(e) => {
            let mut bytes = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut bytes);
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the password read from standard input is not valid UTF-8",
            ))
        }
    }
}

/// One line of standard input (see `read_secret_line`); `what` names it in errors.
pub fn from_stdin(what: &'static str) -> Result<Secret, InputError> {
    let mut stdin = std::io::stdin().lock();
    let s = read_secret_line(&mut stdin).map_err(|why| InputError::Stdin { what, why })?;
    not_empty(s, what, "standard input")
}

/// A secret from an environment variable, if it is set.
pub fn from_env(var: &str) -> Result<Option<Secret>, InputError> {
    match std::env::var_os(var) {
        Some(v) => v
            .into_string()
            .map_err(|_| InputError::EnvNotUtf8 { var: var.into() })
            .and_then(|s| not_empty(Secret::new(s), "the secret", var))
            .map(Some),
        None => Ok(None),
    }
}

/// A secret from an environment variable that must be set.
pub fn from_required_env(var: &str) -> Result<Secret, InputError> {
    let s = std::env::var(var)
        .map(Secret::new)
        .map_err(|_| InputError::EnvMissing { var: var.into() })?;
    not_empty(s, "the secret", &format!("environment variable `{var}`"))
}

/// Asks on the terminal without echo; None when standard input is not a terminal.
pub fn prompt(label: &str) -> Result<Option<Secret>, InputError> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let p = Zeroizing::new(rpassword::prompt_password(label).map_err(InputError::Prompt)?);
    not_empty(Secret::new(p.to_string()), "the password", "the prompt").map(Some)
}

/// Refuses a file that group or others may read (on Windows: that anyone but its
/// owner, SYSTEM and Administrators may read, by its access list; see `acl`).
fn owner_only(label: &'static str, file: &Path) -> Result<(), InputError> {
    let name = file.display().to_string();
    let meta = std::fs::metadata(file).map_err(|why| InputError::File {
        label,
        file: name.clone(),
        why,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o077 != 0 {
            return Err(InputError::FileMode {
                label,
                file: name,
                mode,
            });
        }
    }
    #[cfg(windows)]
    if meta.is_file() {
        match super::acl::other_readers(file) {
            Ok(who) if who.is_empty() => {}
            Ok(who) => {
                return Err(InputError::FileAcl {
                    label,
                    file: name,
                    who: who.join(", "),
                })
            }
            Err(why) => {
                return Err(InputError::FileAclUnreadable {
                    label,
                    file: name,
                    why,
                })
            }
        }
    }
    let _ = meta;
    Ok(())
}

/// The whole of a file that only its owner may read (a PEM key and certificate),
/// at most `limit` bytes; wiped when dropped.
pub fn private_file(
    label: &'static str,
    file: &Path,
    limit: u64,
) -> Result<Zeroizing<Vec<u8>>, InputError> {
    owner_only(label, file)?;
    read_regular_file(file, limit).map_err(|e| InputError::NotAFile(e, label))
}

/// The first line of a file that only its owner may read; `label` names it in
/// errors (e.g. `password_file`). A FIFO or a device is refused without waiting.
pub fn from_file(label: &'static str, file: &Path) -> Result<Secret, InputError> {
    let name = file.display().to_string();
    owner_only(label, file)?;
    let bytes = read_regular_file(file, MAX_SECRET_LINE as u64 + 2)
        .map_err(|e| InputError::NotAFile(e, label))?;
    let mut rd = std::io::Cursor::new(&bytes[..]);
    let s = read_secret_line(&mut rd).map_err(|why| InputError::FileContent {
        label,
        file: name.clone(),
        why,
    })?;
    not_empty(s, "the secret", &format!("{label} {name}"))
}

/// Why a local file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The reason is in the message, not kept as a source: an error chain
    /// would print it twice.
    #[error("cannot read {path}: {why}")]
    Io { path: String, why: std::io::Error },
    #[error("{path} is not a regular file ({kind}); give a file")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path} is larger than {limit} bytes, too large for what it should hold")]
    TooLarge { path: String, limit: u64 },
}

fn file_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "not a plain file"
    }
}

/// Reads a whole local file (a `--ca-file`, a batch file, a `password_file`) of at
/// most `limit` bytes. A FIFO, a device such as `/dev/zero`, a folder or a socket is
/// refused without waiting on it, and a longer file is refused after `limit + 1`
/// bytes: nothing blocks and memory stays bounded. The bytes come back zeroized on
/// drop, as they may hold a secret.
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, FileError> {
    let shown = path.display().to_string();
    let io = |why| FileError::Io {
        path: shown.clone(),
        why,
    };
    let not_regular = |t: std::fs::FileType| FileError::NotRegular {
        path: shown.clone(),
        kind: file_kind(t),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        // Should the path become a FIFO after the look above, opening it must not wait.
        use std::os::unix::fs::OpenOptionsExt as _;
        open.custom_flags(libc::O_NONBLOCK);
    }
    let file = open.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut buf = Zeroizing::new(Vec::new());
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut buf).map_err(io)?;
    if buf.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: shown.clone(),
            limit,
        });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        #[cfg(unix)]
        assert!(matches!(
            read_regular_file(Path::new("/dev/zero"), 1024),
            Err(FileError::NotRegular {
                kind: "a character device",
                ..
            })
        ));
        assert!(matches!(
            read_regular_file(&std::env::temp_dir(), 1024),
            Err(FileError::NotRegular {
                kind: "a folder",
                ..
            })
        ));
        let f = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(f.path(), vec![b'a'; 2000]).expect("write");
        assert!(matches!(
            read_regular_file(f.path(), 1999),
            Err(FileError::TooLarge { .. })
        ));
        assert_eq!(
            read_regular_file(f.path(), 2000).expect("reads").len(),
            2000
        );
    }

    #[test]
    fn only_the_final_line_ending_is_removed() {
        for (input, want) in [
            ("abc\n", "abc"),
            ("abc\r\n", "abc"),
            ("abc \n", "abc "),
            (" abc\t\r\n", " abc\t"),
            ("abc", "abc"),
            ("abc\r\r\n", "abc\r"),
            ("abc\nrest\n", "abc"),
        ] {
            let mut r = std::io::Cursor::new(input.as_bytes());
            let s = read_secret_line(&mut r).expect("reads");
            assert_eq!(s.expose(), want, "input {input:?}");
        }
    }

    /// Windows: the secret file's access list decides. The test sets it with the
    /// same API the check reads it with.
    #[cfg(windows)]
    #[test]
    fn a_secret_file_others_can_read_is_refused_by_its_access_list() {
        use windows_permissions::constants::{SeObjectType, SecurityInformation};
        use windows_permissions::{wrappers, LocalBox, SecurityDescriptor};
        let dir = tempfile::tempdir().expect("temp");
        let file = dir.path().join("password");
        std::fs::write(&file, "s3cret-pass\n").expect("write");
        let sd = wrappers::GetNamedSecurityInfo(
            file.as_os_str(),
            SeObjectType::SE_FILE_OBJECT,
            SecurityInformation::Owner,
        )
        .expect("owner");
        let owner = wrappers::GetSecurityDescriptorOwner(&sd)
            .expect("owner")
            .expect("an owner");
        let me = wrappers::ConvertSidToStringSid(owner).expect("sid");
        let me = me.to_string_lossy();
        let set = |dacl: &str| {
            let want: LocalBox<SecurityDescriptor> = format!("D:P{dacl}").parse().expect("SDDL");
            let acl = wrappers::GetSecurityDescriptorDacl(&want)
                .expect("dacl")
                .expect("a dacl");
            wrappers::SetNamedSecurityInfo(
                file.as_os_str(),
                SeObjectType::SE_FILE_OBJECT,
                SecurityInformation::Dacl | SecurityInformation::ProtectedDacl,
                None,
                None,
                Some(acl),
                None,
            )
            .expect("set the access list");
        };
        // What the file system kept of the access list just set, in SDDL. Wine
        // keeps an access list as the file's Unix mode where the file system
        // has no extended attributes, and there the group's read becomes
        // everyone's, and a file system that ignores chmod keeps its mode: the
        // check must follow what Windows reports, not what was asked.
        let kept = || {
            let sd = wrappers::GetNamedSecurityInfo(
                file.as_os_str(),
                SeObjectType::SE_FILE_OBJECT,
                SecurityInformation::Dacl,
            )
            .expect("read back");
            wrappers::ConvertSecurityDescriptorToStringSecurityDescriptor(
                &sd,
                SecurityInformation::Dacl,
            )
            .expect("sddl")
            .to_string_lossy()
            .into_owned()
        };
        let refused = |dacl: &str, who: &[&str]| {
            let e = from_file("password_file", &file).expect_err("refused");
            let msg = e.to_string();
            assert!(matches!(e, InputError::FileAcl { .. }), "{dacl}: {msg}");
            assert!(msg.contains("readable by other users"), "{msg}");
            assert!(who.iter().any(|w| msg.contains(w)), "{dacl}: {msg}");
            assert!(msg.contains("icacls"), "{msg}");
            assert!(!msg.contains("s3cret"), "{msg}");
        };
        // Readable by the Users group, then by Everyone: refused, naming who.
        for (dacl, who) in [
            (
                format!("(A;;FA;;;{me})(A;;FR;;;BU)"),
                ["S-1-5-32-545", "S-1-1-0"],
            ),
            (
                format!("(A;;FA;;;{me})(A;;FR;;;WD)"),
                ["S-1-1-0", "S-1-1-0"],
            ),
        ] {
            set(&dacl);
            refused(&dacl, &who);
        }
        // The owner alone, then with SYSTEM and Administrators: accepted, where
        // the file system kept that list. Where it could not (Wine on a file
        // system that ignores the mode Wine sets), the list Windows reports still
        // lets Everyone read, and the file is refused, naming Everyone.
        for dacl in [
            format!("(A;;FA;;;{me})"),
            format!("(A;;FA;;;{me})(A;;FA;;;SY)(A;;FA;;;BA)"),
        ] {
            set(&dacl);
            let now = kept();
            if now.contains(";;;WD)") {
                eprintln!("the file system kept {now} for {dacl}: checking the refusal");
                refused(&dacl, &["S-1-1-0"]);
                continue;
            }
            let s = from_file("password_file", &file).expect("accepted");
            assert_eq!(s.expose(), "s3cret-pass", "{dacl}");
        }
    }
}
