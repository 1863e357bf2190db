//! Pseudonyms for `--redact`: user names and IP addresses become short keyed
//! hashes (HMAC-SHA256 under a key drawn at random for the run), so the same user
//! or address reads the same everywhere in one report, and nobody without the key
//! can tell who it was. Free text from the log (user agents, failure reasons) has
//! every e-mail address and IP address in it replaced the same way.

use regex_lite::Regex;
use ring::hmac;
use std::sync::OnceLock;

pub struct Redactor {
    key: hmac::Key,
    /// The key, hex, to print once so the owner can map pseudonyms back.
    pub key_hex: String,
}

impl Redactor {
    /// A redactor with a fresh random key.
    pub fn random() -> Result<Redactor, String> {
        use ring::rand::SecureRandom as _;
        let mut bytes = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| "no random numbers from the system for the --redact key".to_string())?;
        Ok(Redactor::with_key(&bytes))
    }

    pub fn with_key(bytes: &[u8]) -> Redactor {
        Redactor {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            key_hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    fn tag(&self, kind: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(kind.as_bytes());
        ctx.update(b"\0");
        ctx.update(value.trim().to_lowercase().as_bytes());
        let sig = ctx.sign();
        let hex: String = sig.as_ref()[..5]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{kind}-{hex}")
    }

    pub fn user(&self, user: &str) -> String {
        if user.is_empty() {
            return String::new();
        }
        self.tag("user", user)
    }

    pub fn ip(&self, ip: &str) -> String {
        if ip.is_empty() {
            return String::new();
        }
        self.tag("ip", ip)
    }

    /// `text` with each e-mail address and IP address replaced by its pseudonym.
    pub fn text(&self, text: &str) -> String {
        static PATTERNS: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
        let Some((mail, ip)) = PATTERNS
            .get_or_init(|| {
                // The local part by RFC 5322's grammar (section 3.2.3: atext and
                // dots), not a narrow guess: `first~last@`, `ops!printer@` and
                // `a{b}@` are addresses. Non-ASCII characters are taken too (RFC 6532).
                let mail = Regex::new(
                    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\x{80}-\x{10FFFF}]+@[A-Za-z0-9\-\x{80}-\x{10FFFF}]+(?:\.[A-Za-z0-9\-\x{80}-\x{10FFFF}]+)+",
                )
                .ok()?;
                let ip = Regex::new(
                    r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}\b",
                )
                .ok()?;
                Some((mail, ip))
            })
            .as_ref()
        else {
            return String::new();
        };
        let t = mail.replace_all(text, |c: &regex_lite::Captures| self.user(&c[0]));
        ip.replace_all(&t, |c: &regex_lite::Captures| self.ip(&c[0]))
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_between_keys() {
        let a = Redactor::with_key(b"key one");
        let b = Redactor::with_key(b"key two");
        assert_eq!(a.user("Scanner@Contoso.com"), a.user("scanner@contoso.com"));
        assert_ne!(a.user("scanner@contoso.com"), b.user("scanner@contoso.com"));
        assert!(a.ip("203.0.113.45").starts_with("ip-"));
        let t = a.text("user scanner@contoso.com from 203.0.113.45 and 2001:db8::1");
        assert!(!t.contains("scanner") && !t.contains("203.0.113") && !t.contains("2001:db8"));
        assert!(t.contains(&a.user("scanner@contoso.com")));
    }

    #[test]
    fn every_character_rfc_5322_allows_in_a_local_part_is_redacted() {
        let a = Redactor::with_key(b"k");
        for addr in [
            "first~last@contoso.com",
            "ops!printer@contoso.com",
            "a#b$c%d&e'f*g+h/i=j?k^l_m`n{o|p}q-r.s@mail.contoso.co.uk",
            "j\u{f6}rg@contoso.de",
        ] {
            let t = a.text(&format!("user ({addr}) from 203.0.113.45"));
            assert_eq!(
                t,
                format!("user ({}) from {}", a.user(addr), a.ip("203.0.113.45")),
                "{addr}"
            );
        }
    }
}
