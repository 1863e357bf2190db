//! `Secret`: the only type that may hold a password or token.
//!
//! It cannot be printed (Debug, Display and Serialize all redact), it is zeroized
//! on drop, and the only way to the bytes is `expose()`, which the protocol clients
//! call at the moment they write the credential to an encrypted socket.

use std::fmt;
use zeroize::Zeroizing;

/// What a redacted value looks like wherever a secret would have appeared.
pub const REDACTED: &str = "<redacted>";

#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// Hands out the secret. Callers must never format, log or store the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_json_redact() {
        let s = Secret::new("hunter2-canary".into());
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(
            serde_json::to_string(&s).expect("serializes"),
            format!("\"{REDACTED}\"")
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
}
