//! `Secret`: the only type that may hold a password or token.
//!
//! It cannot be printed (Debug, Display and Serialize all redact), it is zeroized
//! on drop, and the only way to the bytes is `expose()`, which the protocol clients
//! call at the moment they write the credential to an encrypted socket. Where a
//! secret comes from (a prompt, standard input, the environment, a file) is
//! `input`'s business, in one place.

#[cfg(windows)]
pub mod acl;
pub mod input;
pub mod store;

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
}
