//! `Target`: who is tested (user, domain), where (the servers the user named, or
//! else the provider profile's, or else what the domain publishes) and which
//! provider the evidence points to. Never a provider without evidence: the
//! `--provider` flag, a known mail domain, a known server name, then (once
//! discovery has asked) the domain's MX; with none of them the provider is
//! `generic` and `provider_source` says `none`.
//!
//! Building a target reads only the flags and the knowledge base; the network
//! look-ups are `discover`'s, whose answers `discovery` merges in.

pub mod discovery;

use crate::knowledge::{provider_for_domain, provider_for_server, EndpointDef, Knowledge};
use crate::vocab::Endpoint;
use crate::vocab::{Protocol, TlsMode};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub provider: String,
    /// The provider's display name, e.g. "Microsoft 365 (Exchange Online)".
    pub provider_name: String,
    /// The evidence the provider was chosen by: "flag" (`--provider`), "domain"
    /// (a known mail domain), "server" (a known server name the user gave), "mx"
    /// (the domain's MX), "greeting" (a server's greeting) or "none" (no evidence:
    /// the `generic` provider).
    pub provider_source: &'static str,
    pub endpoints: Vec<Endpoint>,
    /// What discovery asked and what the domain publishes, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<discovery::Discovery>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("unknown provider `{0}` (see `mailbox-doctor list`)")]
    UnknownProvider(String),
    #[error("the address `{shown}` holds a control character (a line break, an escape...); give the plain address")]
    ControlInAddress { shown: String },
    #[error("bad --{flag} value `{value}`: {why}")]
    BadEndpoint {
        flag: &'static str,
        value: String,
        why: String,
    },
}

/// Endpoint overrides from the command line, as typed.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub smtp: Option<String>,
    pub imap: Option<String>,
    pub pop: Option<String>,
}

impl Target {
    pub fn build(
        kb: &Knowledge,
        user: &str,
        provider: &str,
        overrides: &Overrides,
    ) -> Result<Target, TargetError> {
        // A line break or an escape would forge lines in every report format.
        if user.chars().any(crate::net::scrub::is_unsafe_char) {
            return Err(TargetError::ControlInAddress {
                shown: crate::net::scrub::escape_controls(user).into_owned(),
            });
        }
        let domain = user
            .rsplit_once('@')
            .map(|(_, d)| ascii_domain(d.trim().trim_end_matches('>')))
            .filter(|d| !d.is_empty());
        let mut named = Vec::new();
        for (protocol, flag, over) in [
            (Protocol::Smtp, "smtp", &overrides.smtp),
            (Protocol::Imap, "imap", &overrides.imap),
            (Protocol::Pop, "pop", &overrides.pop),
        ] {
            if let Some(v) = over {
                named.push(parse_endpoint(protocol, flag, v)?);
            }
        }
        let (provider_id, provider_source) = if provider != "auto" {
            if kb.provider(provider).is_none() {
                return Err(TargetError::UnknownProvider(provider.into()));
            }
            (provider.to_string(), "flag")
        } else if let Some(id) = domain.as_deref().and_then(|d| provider_for_domain(kb, d)) {
            (id, "domain")
        } else if let Some(id) = named.iter().find_map(|e| provider_for_server(kb, &e.host)) {
            (id, "server")
        } else {
            ("generic".to_string(), "none")
        };
        let profile = kb
            .provider(&provider_id)
            .ok_or_else(|| TargetError::UnknownProvider(provider_id.clone()))?;
        // Only what was asked: named servers alone; the profile's when none is named.
        let endpoints = if !named.is_empty() {
            named
        } else if provider_source != "none" {
            profile_endpoints(kb, &provider_id)
        } else {
            Vec::new()
        };
        Ok(Target {
            user: user.to_string(),
            domain,
            provider_name: profile.name.clone(),
            provider: provider_id,
            provider_source,
            endpoints,
            discovery: None,
        })
    }

    /// Whether the user named servers (then only those are tested).
    pub fn named_servers(&self) -> bool {
        self.endpoints.iter().any(|e| e.source == "flag")
    }

    /// The domain to discover, when no provider profile with servers applies:
    /// no evidence yet, or a provider (such as `generic`) without endpoints.
    pub fn needs_discovery(&self, kb: &Knowledge) -> Option<&str> {
        let profiled =
            self.provider_source != "none" && !profile_endpoints(kb, &self.provider).is_empty();
        (!profiled).then_some(self.domain.as_deref()).flatten()
    }

    /// Puts the provider of evidence found after the start (the MX, a greeting)
    /// in place of `generic`.
    pub fn set_provider(&mut self, kb: &Knowledge, id: &str, source: &'static str) {
        if let Some(p) = kb.provider(id) {
            self.provider = p.id.clone();
            self.provider_name = p.name.clone();
            self.provider_source = source;
        }
    }

    pub fn endpoint(&self, protocol: Protocol) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.protocol == protocol)
    }
}

/// A domain or host name as DNS spells it: lower case, an internationalised
/// name in its ASCII form (IDNA, `bücher.example` -> `xn--bcher-kva.example`),
/// so that what the address names and what DNS answers compare alike. A name
/// IDNA refuses stays as it was (its look-up then says why).
pub fn ascii_domain(d: &str) -> String {
    if d.is_ascii() {
        return d.to_ascii_lowercase();
    }
    hickory_proto::rr::Name::from_utf8(d)
        .map(|n| n.to_ascii().trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_else(|_| d.to_lowercase())
}

/// A host the user trusts although discovery alone names it
/// (`--trust-discovered`, serve's `trust_discovered`): a host name or an IP
/// address, lower-cased, without the root's dot.
pub fn trusted_host(v: &str) -> Result<String, String> {
    let h = ascii_domain(v.trim().trim_end_matches('.'));
    let h = h.as_str();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if ok {
        Ok(h.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{}` is not a host name (letters, digits, `.`, `-`, `_`) or an IP address",
            crate::net::scrub::escape_controls(v)
        ))
    }
}

/// A provider profile's endpoints (none for `generic`).
pub fn profile_endpoints(kb: &Knowledge, id: &str) -> Vec<Endpoint> {
    let Some(p) = kb.provider(id) else {
        return Vec::new();
    };
    [
        (Protocol::Smtp, &p.smtp),
        (Protocol::Imap, &p.imap),
        (Protocol::Pop, &p.pop),
    ]
    .into_iter()
    .filter_map(|(protocol, def)| def.as_ref().map(|d| from_def(protocol, d)))
    .collect()
}

fn from_def(protocol: Protocol, d: &EndpointDef) -> Endpoint {
    Endpoint {
        protocol,
        host: d.host.clone(),
        port: d.port,
        tls: d.tls,
        source: "profile",
    }
}

/// The default port and TLS mode for a protocol when only a host is given, and the
/// TLS mode a port implies.
pub fn default_port(protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Smtp => 587,
        Protocol::Imap => 993,
        Protocol::Pop => 995,
    }
}

pub fn implicit_port(p: Protocol) -> u16 {
    match p {
        Protocol::Smtp => 465,
        Protocol::Imap => 993,
        Protocol::Pop => 995,
    }
}

pub fn starttls_port(p: Protocol) -> u16 {
    match p {
        Protocol::Smtp => 587,
        Protocol::Imap => 143,
        Protocol::Pop => 110,
    }
}

pub fn tls_mode_for_port(protocol: Protocol, port: u16) -> TlsMode {
    match (protocol, port) {
        (Protocol::Smtp, 465) | (Protocol::Imap, 993) | (Protocol::Pop, 995) => TlsMode::Implicit,
        _ => TlsMode::Starttls,
    }
}

pub fn parse_endpoint(
    protocol: Protocol,
    flag: &'static str,
    value: &str,
) -> Result<Endpoint, TargetError> {
    let bad = |why: &str| TargetError::BadEndpoint {
        flag,
        value: crate::net::scrub::escape_controls(value).into_owned(),
        why: why.to_string(),
    };
    let v = value.trim();
    // An optional scheme forces the TLS mode: smtps:// imaps:// pop3s:// (implicit),
    // smtp:// imap:// pop3:// (STARTTLS), whatever the port.
    let schemes: &[(&str, TlsMode)] = match protocol {
        Protocol::Smtp => &[
            ("smtps://", TlsMode::Implicit),
            ("smtp://", TlsMode::Starttls),
        ],
        Protocol::Imap => &[
            ("imaps://", TlsMode::Implicit),
            ("imap://", TlsMode::Starttls),
        ],
        Protocol::Pop => &[
            ("pop3s://", TlsMode::Implicit),
            ("pop3://", TlsMode::Starttls),
            ("pops://", TlsMode::Implicit),
            ("pop://", TlsMode::Starttls),
        ],
    };
    let mut forced = None;
    let mut v = v;
    for (scheme, mode) in schemes {
        if v.as_bytes()
            .get(..scheme.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(scheme.as_bytes()))
        {
            forced = Some(*mode);
            v = v[scheme.len()..].trim_end_matches('/');
            break;
        }
    }
    if v.contains("://") {
        return Err(bad(
            "unknown scheme (use e.g. smtps:// for implicit TLS, smtp:// for STARTTLS)",
        ));
    }
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        // [v6]:port or [v6]
        let (h, after) = rest.split_once(']').ok_or_else(|| bad("missing `]`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("expected `:PORT` after `]`")),
        };
        (h.to_string(), port)
    } else if v.matches(':').count() > 1 {
        (v.to_string(), None)
    } else if let Some((h, p)) = v.split_once(':') {
        (h.to_string(), Some(p))
    } else {
        (v.to_string(), None)
    };
    if host.is_empty() {
        return Err(bad("empty host name"));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '@' || crate::net::scrub::is_unsafe_char(c))
    {
        return Err(bad(
            "a host name has no spaces, control characters, `/` or `@`",
        ));
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        },
        None => match forced {
            Some(TlsMode::Implicit) => implicit_port(protocol),
            Some(_) => starttls_port(protocol),
            None => default_port(protocol),
        },
    };
    Ok(Endpoint {
        protocol,
        host,
        port,
        tls: forced.unwrap_or_else(|| tls_mode_for_port(protocol, port)),
        source: "flag",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_an_address_or_host_are_refused_and_shown_escaped() {
        let kb = crate::knowledge::get().expect("kb");
        for user in [
            "a@x.com\n[OK] b@y.com",
            "a\u{1b}[2J@x.com",
            "a\u{202e}@x.com",
        ] {
            let e = Target::build(kb, user, "auto", &Overrides::default())
                .expect_err("refused")
                .to_string();
            assert!(!e.chars().any(char::is_control), "{e:?}");
            assert!(e.contains("control character"), "{e}");
        }
        let e = parse_endpoint(Protocol::Smtp, "smtp", "smtp.x\u{1b}]0;t\u{7}.com")
            .expect_err("refused")
            .to_string();
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }

    #[test]
    fn a_multibyte_character_where_a_scheme_would_end_is_no_panic() {
        // "smtp://" is 7 bytes; the 4th "é" spans bytes 6..8.
        let e = parse_endpoint(Protocol::Smtp, "smtp", "éééé").expect("a host name");
        assert_eq!((e.host.as_str(), e.port), ("éééé", 587));
        // "pop3s://" is 8 bytes; U+FFFD spans bytes 6..9.
        let e = parse_endpoint(Protocol::Pop, "pop", "535-5.\u{fffd}x").expect("a host name");
        assert_eq!(e.host, "535-5.\u{fffd}x");
        assert!(parse_endpoint(Protocol::Imap, "imap", "IMAPS://é.example").is_ok());
        // What the fuzzer found: "pop://" is 6 bytes, inside the second U+FFFD.
        assert!(parse_endpoint(Protocol::Pop, "pop", "\u{fffd} \u{fffd}").is_err());
    }

    #[test]
    fn endpoint_flags_parse_with_tls_mode_from_port() {
        let e = parse_endpoint(Protocol::Smtp, "smtp", "mail.example.com:465").expect("ok");
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("mail.example.com", 465, TlsMode::Implicit)
        );
        let e = parse_endpoint(Protocol::Smtp, "smtp", "mail.example.com").expect("ok");
        assert_eq!((e.port, e.tls), (587, TlsMode::Starttls));
        let e = parse_endpoint(Protocol::Imap, "imap", "[::1]:143").expect("ok");
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("::1", 143, TlsMode::Starttls)
        );
        for bad in [
            "",
            ":25",
            "host:0",
            "host:99999",
            "host:abc",
            "a b:25",
            "[::1",
        ] {
            assert!(
                parse_endpoint(Protocol::Smtp, "smtp", bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
