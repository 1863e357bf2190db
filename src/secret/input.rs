//! Where secrets come from: a prompt without echo, one line of standard input, an
//! environment variable, or a file only its owner can read. Never from argv.
//! Every read is bounded, and an error names the source, never the value.

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
    #[error("{label} {file}: {why}")]
    FileContent {
        label: &'static str,
        file: String,
        why: std::io::Error,
    },
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
    read_secret_line(&mut stdin).map_err(|why| InputError::Stdin { what, why })
}

/// A secret from an environment variable, if it is set.
pub fn from_env(var: &str) -> Result<Option<Secret>, InputError> {
    match std::env::var_os(var) {
        Some(v) => v
            .into_string()
            .map(|s| Some(Secret::new(s)))
            .map_err(|_| InputError::EnvNotUtf8 { var: var.into() }),
        None => Ok(None),
    }
}

/// A secret from an environment variable that must be set.
pub fn from_required_env(var: &str) -> Result<Secret, InputError> {
    std::env::var(var)
        .map(Secret::new)
        .map_err(|_| InputError::EnvMissing { var: var.into() })
}

/// Asks on the terminal without echo; None when standard input is not a terminal.
pub fn prompt(label: &str) -> Result<Option<Secret>, InputError> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let p = Zeroizing::new(rpassword::prompt_password(label).map_err(InputError::Prompt)?);
    Ok(Some(Secret::new(p.to_string())))
}

/// The first line of a file that only its owner may read; `label` names it in
/// errors (e.g. `password_file`).
pub fn from_file(label: &'static str, file: &Path) -> Result<Secret, InputError> {
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
        if mode & 0o077 != 0 {
            return Err(InputError::FileMode {
                label,
                file: name,
                mode,
            });
        }
    }
    let _ = meta;
    let f = std::fs::File::open(file).map_err(|why| InputError::File {
        label,
        file: name.clone(),
        why,
    })?;
    let mut rd = std::io::BufReader::new(f);
    read_secret_line(&mut rd).map_err(|why| InputError::FileContent {
        label,
        file: name,
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
