//! Values of the `serve` config that need more than their type: where a secret
//! comes from and how it is read (regular files only, through the shared secret
//! input), mailbox addresses, and durations such as `5m`. Errors name the key and
//! the file, never a secret's content.

use crate::secret::{input, Secret};
use std::path::PathBuf;
use std::time::Duration;

/// Where a target's secret comes from. It is read when a probe runs (so a token
/// file refreshed by another program is picked up), and once at load to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    PasswordFile(PathBuf),
    TokenFile(PathBuf),
    PasswordEnv(String),
    TokenEnv(String),
    /// A saved refresh token, traded for an access token at each probe, with the
    /// app registration (client id) and the tenant it was issued by.
    RefreshFile {
        file: PathBuf,
        client_id: String,
        /// Empty for Google, which has no tenants.
        tenant: String,
        /// The client secret the refresh is sent with, from a file only its
        /// owner can read.
        client_secret_file: Option<PathBuf>,
    },
}

/// A secret as read: a password for the password logins, or an OAuth access token.
pub enum SecretValue {
    Password(Secret),
    Token(Secret),
    Refresh {
        token: Secret,
        client_id: String,
        tenant: String,
        client_secret: Option<Secret>,
        /// Where the token came from, and where a rotated one goes.
        file: PathBuf,
    },
}

/// A mailbox address: local@domain, printable, without spaces.
pub fn check_address(a: &str) -> Result<(), String> {
    let a = a.trim();
    let shown: String = a.chars().take(80).flat_map(char::escape_default).collect();
    if a.is_empty() {
        return Err("a target has an empty address".into());
    }
    if a.len() > 320 || a.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "address `{shown}` is not a mailbox address (no spaces or control characters, at most 320 bytes)"
        ));
    }
    match a.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
            if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
                Err(format!("address `{shown}` has a malformed domain"))
            } else {
                Ok(())
            }
        }
        _ => Err(format!(
            "address `{shown}` is not a mailbox address (local@domain.example)"
        )),
    }
}

/// Reads a target's secret through the shared secret input (the first line of a
/// file only its owner can read, or an environment variable), after refusing
/// anything that is not a regular file (a FIFO would block, a device never end).
pub fn read_secret(source: &SecretSource) -> Result<SecretValue, String> {
    let (secret, key) = match source {
        SecretSource::PasswordFile(p)
        | SecretSource::TokenFile(p)
        | SecretSource::RefreshFile { file: p, .. } => {
            let key = match source {
                SecretSource::PasswordFile(_) => "password_file",
                SecretSource::TokenFile(_) => "token_file",
                _ => "refresh_token_file",
            };
            (read_file_secret(key, p)?, key)
        }
        SecretSource::PasswordEnv(v) => (
            input::from_required_env(v).map_err(|e| e.to_string())?,
            "password_env",
        ),
        SecretSource::TokenEnv(v) => (
            input::from_required_env(v).map_err(|e| e.to_string())?,
            "token_env",
        ),
    };
    let trimmed = secret.expose().trim();
    if trimmed.is_empty() {
        return Err(format!("{key} holds an empty secret"));
    }
    Ok(match source {
        SecretSource::PasswordFile(_) | SecretSource::PasswordEnv(_) => {
            SecretValue::Password(secret)
        }
        SecretSource::TokenFile(_) | SecretSource::TokenEnv(_) => {
            SecretValue::Token(Secret::new(trimmed.to_string()))
        }
        SecretSource::RefreshFile {
            file,
            client_id,
            tenant,
            client_secret_file,
        } => SecretValue::Refresh {
            token: Secret::new(trimmed.to_string()),
            client_id: client_id.clone(),
            tenant: tenant.clone(),
            client_secret: match client_secret_file {
                Some(f) => Some(read_file_secret("client_secret_file", f)?),
                None => None,
            },
            file: file.clone(),
        },
    })
}

/// The first line of a regular file only its owner can read.
fn read_file_secret(key: &'static str, p: &std::path::Path) -> Result<Secret, String> {
    let meta =
        std::fs::metadata(p).map_err(|e| format!("cannot read {key} {}: {e}", p.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{key} {} is not a regular file (FIFOs, devices and directories are refused)",
            p.display()
        ));
    }
    input::from_file(key, p).map_err(|e| e.to_string())
}

/// `90`, `90s`, `5m`, `1h30m`, `1d`: whole numbers with units s, m, h, d.
pub fn parse_duration(t: &str) -> Result<Duration, String> {
    let bad = || format!("`{t}` is not a duration such as 30s, 5m or 1h30m");
    let t = t.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(s) = t.parse::<u64>() {
        return Ok(Duration::from_secs(s));
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90").ok(), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m").ok(), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_duration("1h30m").ok(),
            Some(Duration::from_secs(5400))
        );
        for bad in ["", "5x", "m", "5m3", "-1s", "1.5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_must_look_like_mailboxes() {
        assert!(check_address("scanner@contoso.com").is_ok());
        for bad in [
            "",
            "scanner",
            "@contoso.com",
            "a b@c.com",
            "a@b",
            "a@b..com",
            "a\n@b.com",
        ] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
    }
}
