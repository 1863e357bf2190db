//! What a domain publishes about its mail servers, as data: the record of one
//! discovery (its MX, the SRV and autoconfig entries it found, what each source
//! said), how it fills a `Target` in (provider by MX; endpoints from the profile,
//! else SRV, else autoconfig, else the MX host as a guess), and how a tested
//! endpoint compares with the published settings.
//!
//! Pure functions only: the asking is `discover`'s, the judging the checks'.

use super::Target;
use crate::knowledge::Knowledge;
use crate::vocab::{Endpoint, Protocol, TlsMode};
use serde::Serialize;

/// One discovery, for one domain (a batch shares it between the domain's
/// mailboxes).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    pub domain: String,
    /// The domain's MX hosts, best first.
    pub mx: Vec<MxHost>,
    /// The provider the MX names, if it is a known one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mx_provider: Option<String>,
    /// What the domain publishes (SRV, autoconfig) and the MX host guesses, each
    /// source's entries in order of preference.
    pub found: Vec<Published>,
    /// SRV services whose target is `.`: the domain says they are not offered.
    pub not_offered: Vec<String>,
    /// What each source said.
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MxHost {
    pub preference: u16,
    pub host: String,
}

/// A server the domain (or its provider) names for one protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// "profile", "srv", "autoconfig" or "mx" (a guess, never "published").
    pub source: &'static str,
    /// The record, document or profile it comes from.
    pub via: String,
    /// The sign-in methods an autoconfig entry lists, most preferred first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<String>,
}

impl Published {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            protocol: self.protocol,
            host: self.host.clone(),
            port: self.port,
            tls: self.tls,
            source: self.source,
        }
    }
    /// An autoconfig entry that lists OAuth2 and nothing else: a password is
    /// expected to be refused there.
    pub fn oauth2_only(&self) -> bool {
        !self.auth.is_empty() && self.auth.iter().all(|a| a.eq_ignore_ascii_case("OAuth2"))
    }
}

/// What one source said, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// "mx", "srv" or "autoconfig".
    pub source: &'static str,
    /// "found", "none", "failed" or "skipped".
    pub outcome: &'static str,
    pub detail: String,
}

impl Target {
    /// Merges what discovery found: the provider the MX names (when nothing else
    /// named one) and, when the user named no server, the endpoints to test.
    pub fn apply_discovery(&mut self, kb: &Knowledge, d: Discovery) {
        if self.provider_source == "none" {
            if let Some(id) = d.mx_provider.clone() {
                self.set_provider(kb, &id, "mx");
            }
        }
        if !self.named_servers() && self.endpoints.is_empty() {
            let profile = super::profile_endpoints(kb, &self.provider);
            self.endpoints = if profile.is_empty() {
                choose(&d)
            } else {
                profile
            };
        }
        self.discovery = Some(d);
    }

    /// The settings the domain or its provider publishes for `protocol`: the
    /// profile's (when the provider is known), then SRV and autoconfig entries.
    /// MX guesses are not published settings.
    pub fn published(&self, kb: &Knowledge, protocol: Protocol) -> Vec<Published> {
        let mut out = Vec::new();
        if self.provider_source != "none" {
            out.extend(
                super::profile_endpoints(kb, &self.provider)
                    .into_iter()
                    .filter(|e| e.protocol == protocol)
                    .map(|e| Published {
                        protocol,
                        host: e.host,
                        port: e.port,
                        tls: e.tls,
                        source: "profile",
                        via: self.provider_name.clone(),
                        auth: Vec::new(),
                    }),
            );
        }
        if let Some(d) = &self.discovery {
            out.extend(
                d.found
                    .iter()
                    .filter(|p| p.protocol == protocol && p.source != "mx")
                    .cloned(),
            );
        }
        out
    }
}

/// Per protocol, the first entry of the most trusted source that has one: SRV,
/// then autoconfig (TLS entries before plain ones). Only when neither names any
/// server does the MX host on the standard ports stand in.
fn choose(d: &Discovery) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for protocol in [Protocol::Smtp, Protocol::Imap, Protocol::Pop] {
        let pick = ["srv", "autoconfig"].iter().find_map(|src| {
            let of = || {
                d.found
                    .iter()
                    .filter(move |p| p.protocol == protocol && p.source == *src)
            };
            of().find(|p| p.tls != TlsMode::None)
                .or_else(|| of().next())
        });
        out.extend(pick.map(Published::endpoint));
    }
    if out.is_empty() {
        out = d
            .found
            .iter()
            .filter(|p| p.source == "mx")
            .map(Published::endpoint)
            .collect();
    }
    out
}

/// Whether credentials may go to an endpoint: the one trust rule of the tool.
///
/// Credentials go only to a host the user named (a flag, a config key, a batch
/// column: source "flag"), to a known provider's published servers when the
/// evidence names that provider (source "profile", or a discovered host that is
/// one of them), to a host inside the address's domain or a subdomain of it, and
/// to a host an autoconfig document names (discovery fetches it over verified
/// HTTPS from the domain's own hosts only). Anything else discovery found (an SRV
/// target or the MX host outside the domain) is untrusted: DNS without DNSSEC is
/// no proof that a server outside the domain speaks for it (RFC 6186, section
/// 6). A discovered IP literal, or a discovered host whose address is on this
/// computer or in a private range, is never trusted by the rule, in-domain or
/// not. Only the user lifts any of this, by naming the host (`trusted`:
/// `--trust-discovered`). A yes at the terminal's prompt (`confirmed`) vouches
/// for a host name outside the domain, never for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Credentials may go there; why, in words.
    Trusted(&'static str),
    /// Discovery found it and nothing vouches for it: the evidence, in words.
    Untrusted(String),
}

/// Judges `ep` for `t`; `peer` is the address connected to, when known.
pub fn trust(
    kb: &Knowledge,
    t: &Target,
    ep: &Endpoint,
    peer: Option<std::net::IpAddr>,
    trusted: &[String],
    confirmed: &[String],
) -> Trust {
    let host = host_key(&ep.host);
    match ep.source {
        "flag" => return Trust::Trusted("you named this server"),
        "profile" => return Trust::Trusted("the provider's published server"),
        _ => {}
    }
    if trusted.iter().any(|h| host_key(h) == host) {
        return Trust::Trusted("you trusted it with --trust-discovered");
    }
    let names = if ep.source == "mx" {
        format!("the domain's MX host {host} (tried as a guess)")
    } else {
        let who = t
            .discovery
            .as_ref()
            .and_then(|d| {
                d.found.iter().find(|p| {
                    p.protocol == ep.protocol && p.source == ep.source && host_key(&p.host) == host
                })
            })
            .map(published_by)
            .unwrap_or_else(|| format!("the domain's {} answer", ep.source));
        format!("{who} names {host}")
    };
    // Every reason against it, the domain's boundary first.
    let mut against = Vec::new();
    let domain = t.domain.as_deref().map(host_key).unwrap_or_default();
    let literal = host.parse::<std::net::IpAddr>().is_ok();
    let inside = !domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}")));
    let confirmed = confirmed.iter().any(|h| host_key(h) == host);
    let providers = t.provider_source != "none"
        && super::profile_endpoints(kb, &t.provider)
            .iter()
            .any(|e| host_key(&e.host) == host);
    if literal {
        against.push("an IP address, not a host name".to_string());
    } else if ep.source != "autoconfig" && !inside && !providers && !confirmed {
        against.push(if domain.is_empty() {
            "outside the address's domain".to_string()
        } else {
            format!("outside {domain}")
        });
    }
    if let Some((ip, kind)) = peer.and_then(|ip| internal_address(ip).map(|k| (ip, k))) {
        if !literal {
            against.push(format!("at {ip}, {kind}"));
        }
    }
    if against.is_empty() {
        return Trust::Trusted(if ep.source == "autoconfig" {
            "named by the domain's autoconfig over verified HTTPS"
        } else if inside {
            "a host inside the address's domain"
        } else if confirmed {
            "you trusted it at the prompt"
        } else {
            "the provider's published server"
        });
    }
    Trust::Untrusted(format!(
        "{names}, {}: not trusted with your password",
        against.join(", ")
    ))
}

/// The discovered hosts that a yes at a prompt could vouch for: a host name
/// outside the domain (never an IP literal), each once, with the evidence.
pub fn to_confirm(kb: &Knowledge, t: &Target, trusted: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for ep in &t.endpoints {
        let host = host_key(&ep.host);
        if host.parse::<std::net::IpAddr>().is_ok() || out.iter().any(|(h, _)| *h == host) {
            continue;
        }
        if let Trust::Untrusted(why) = trust(kb, t, ep, None, trusted, &[]) {
            out.push((host, why));
        }
    }
    out
}

/// A host name as compared: as DNS spells it (lower case, an internationalised
/// name in its ASCII form), without the root's dot.
fn host_key(h: &str) -> String {
    super::ascii_domain(h.trim().trim_end_matches('.'))
}

/// What kind of address `ip` is, when it is not a public one: this computer's,
/// a private range's, a link's.
pub fn internal_address(ip: std::net::IpAddr) -> Option<&'static str> {
    use std::net::{IpAddr, Ipv4Addr};
    // An IPv4 address carried in IPv6 is judged as IPv4: mapped (::ffff:0:0/96),
    // NAT64's well-known prefix (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16,
    // RFC 3056).
    let ip = match ip {
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let o = v6.octets();
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
            } else if seg[0] == 0x2002 {
                IpAddr::V4(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
            } else {
                ip
            }
        }
        v4 => v4,
    };
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a.is_loopback() || a.is_unspecified() || o[0] == 0 {
                Some("an address on this computer")
            } else if a.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
                Some("a private-range address")
            } else if a.is_link_local() || a.is_broadcast() || a.is_multicast() {
                Some("a local-network address")
            } else if o[0] >= 240 || (o[0] == 198 && (18..20).contains(&o[1])) {
                // Reserved (240.0.0.0/4) and the benchmarking range
                // (198.18.0.0/15, RFC 2544): never a public server's.
                Some("a reserved address")
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            let seg = a.segments();
            if a.is_loopback() || a.is_unspecified() {
                Some("an address on this computer")
            } else if seg[0] & 0xfe00 == 0xfc00 || seg[0] & 0xffc0 == 0xfec0 {
                // Unique local (fc00::/7) and the old site-local (fec0::/10).
                Some("a private-range address")
            } else if seg[0] & 0xffc0 == 0xfe80 || a.is_multicast() {
                Some("a local-network address")
            } else {
                None
            }
        }
    }
}

/// How a tested endpoint differs from the published settings of its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// "tls" (same host and port, other TLS mode), "port" (same host) or "host".
    pub kind: &'static str,
    pub published: Published,
}

/// None when nothing is published for the protocol, or when the endpoint is one
/// of the published ones.
pub fn compare(ep: &Endpoint, published: &[Published]) -> Option<Difference> {
    let same_host = |p: &&Published| p.host.eq_ignore_ascii_case(&ep.host);
    let mine: Vec<&Published> = published
        .iter()
        .filter(|p| p.protocol == ep.protocol)
        .collect();
    if mine
        .iter()
        .any(|p| same_host(p) && p.port == ep.port && p.tls == ep.tls)
    {
        return None;
    }
    let (kind, best) = if let Some(p) = mine.iter().find(|p| same_host(p) && p.port == ep.port) {
        ("tls", p)
    } else if let Some(p) = mine.iter().find(|p| same_host(p)) {
        ("port", p)
    } else if let Some(p) = mine
        .iter()
        .find(|p| p.port == ep.port && p.tls == ep.tls)
        .or(mine.first())
    {
        ("host", p)
    } else {
        return None;
    };
    Some(Difference {
        kind,
        published: (*best).clone(),
    })
}

pub fn protocol_words(p: Protocol) -> &'static str {
    match p {
        Protocol::Smtp => "SMTP submission",
        Protocol::Imap => "IMAP",
        Protocol::Pop => "POP3",
    }
}

pub fn mode_words(t: TlsMode) -> &'static str {
    match t {
        TlsMode::Implicit => "implicit TLS (SSL/TLS)",
        TlsMode::Starttls => "STARTTLS",
        TlsMode::None => "no TLS",
    }
}

/// Who says so, in words: "the domain's SRV record _submission._tcp.example.net".
pub fn published_by(p: &Published) -> String {
    match p.source {
        "profile" => format!("{}'s documented settings", p.via),
        "srv" => format!("the domain's SRV record {}", p.via),
        "autoconfig" => format!("the domain's autoconfig document {}", p.via),
        _ => p.via.clone(),
    }
}

impl Difference {
    /// The finding's message: what was tested against what is published.
    pub fn message(&self, ep: &Endpoint) -> String {
        let p = &self.published;
        let what = protocol_words(ep.protocol);
        let lead = match self.kind {
            "tls" => format!(
                "{what} {}:{} was tested with {}, but port {} is published for {}",
                ep.host,
                ep.port,
                mode_words(ep.tls),
                p.port,
                mode_words(p.tls)
            ),
            "port" => format!(
                "{what} was set to {}:{} ({}); {} is published on port {} with {}",
                ep.host,
                ep.port,
                mode_words(ep.tls),
                p.host,
                p.port,
                mode_words(p.tls)
            ),
            _ => format!(
                "{what} was set to {}:{} ({}); the published server is {}:{} with {}",
                ep.host,
                ep.port,
                mode_words(ep.tls),
                p.host,
                p.port,
                mode_words(p.tls)
            ),
        };
        format!("{lead} ({})", published_by(p))
    }

    /// The fix in the published values.
    pub fn fix(&self) -> String {
        let p = &self.published;
        format!(
            "Set {} to {}, port {}, {}, as {} says.",
            protocol_words(p.protocol),
            p.host,
            p.port,
            mode_words(p.tls),
            published_by(p)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(protocol: Protocol, host: &str, port: u16, tls: TlsMode) -> Published {
        Published {
            protocol,
            host: host.into(),
            port,
            tls,
            source: "srv",
            via: "_submission._tcp.example.net".into(),
            auth: Vec::new(),
        }
    }

    fn flag(protocol: Protocol, host: &str, port: u16, tls: TlsMode) -> Endpoint {
        Endpoint {
            protocol,
            host: host.into(),
            port,
            tls,
            source: "flag",
        }
    }

    #[test]
    fn a_published_endpoint_is_no_difference_and_nothing_published_is_none() {
        let p = [published(
            Protocol::Smtp,
            "mail.example.net",
            587,
            TlsMode::Starttls,
        )];
        let ep = flag(Protocol::Smtp, "MAIL.example.net", 587, TlsMode::Starttls);
        assert_eq!(compare(&ep, &p), None);
        let imap = flag(Protocol::Imap, "mail.example.net", 143, TlsMode::Starttls);
        assert_eq!(compare(&imap, &p), None);
    }

    #[test]
    fn port_tls_mode_and_host_differences_name_the_published_values() {
        let p = [published(
            Protocol::Smtp,
            "mail.example.net",
            587,
            TlsMode::Starttls,
        )];
        let d = compare(
            &flag(Protocol::Smtp, "mail.example.net", 25, TlsMode::Starttls),
            &p,
        )
        .expect("differs");
        assert_eq!(d.kind, "port");
        let ep = flag(Protocol::Smtp, "mail.example.net", 25, TlsMode::Starttls);
        assert!(d.message(&ep).contains("port 587"), "{}", d.message(&ep));
        assert!(d.fix().contains("port 587, STARTTLS"), "{}", d.fix());
        let ep = flag(Protocol::Smtp, "mail.example.net", 587, TlsMode::Implicit);
        let d = compare(&ep, &p).expect("differs");
        assert_eq!(d.kind, "tls");
        assert!(d.message(&ep).contains("published for STARTTLS"));
        let ep = flag(Protocol::Smtp, "smtp.example.net", 587, TlsMode::Starttls);
        assert_eq!(compare(&ep, &p).map(|d| d.kind), Some("host"));
    }

    #[test]
    fn srv_beats_autoconfig_and_the_mx_guess_only_stands_in_for_nothing() {
        let mut d = Discovery::default();
        let mut ac = published(Protocol::Imap, "imap.example.net", 993, TlsMode::Implicit);
        ac.source = "autoconfig";
        let srv = published(Protocol::Imap, "mail.example.net", 993, TlsMode::Implicit);
        let mut guess = published(Protocol::Pop, "mx.example.net", 995, TlsMode::Implicit);
        guess.source = "mx";
        d.found = vec![ac.clone(), srv.clone(), guess.clone()];
        let chosen = choose(&d);
        assert_eq!(chosen.len(), 1, "{chosen:?}");
        assert_eq!(
            (chosen[0].host.as_str(), chosen[0].source),
            ("mail.example.net", "srv")
        );
        d.found = vec![guess];
        assert_eq!(choose(&d)[0].source, "mx");
    }

    fn target(kb: &Knowledge, user: &str) -> Target {
        let mut t = Target::build(kb, user, "auto", &Default::default()).expect("target");
        let mut d = Discovery {
            domain: "example.org".into(),
            ..Default::default()
        };
        d.found.push(published(
            Protocol::Smtp,
            "smtp.attacker.test",
            465,
            TlsMode::Implicit,
        ));
        t.discovery = Some(d);
        t
    }

    fn found(host: &str, source: &'static str) -> Endpoint {
        Endpoint {
            protocol: Protocol::Smtp,
            host: host.into(),
            port: 465,
            tls: TlsMode::Implicit,
            source,
        }
    }

    #[test]
    fn an_internationalised_host_compares_in_its_ascii_form() {
        let kb = crate::knowledge::get().expect("kb");
        let t = target(kb, "alice@b\u{fc}cher.example");
        let public: Option<std::net::IpAddr> = Some("192.0.2.10".parse().expect("ip"));
        // The same host, written as DNS answers it and as a document may name it.
        for h in ["mail.xn--bcher-kva.example", "mail.B\u{dc}cher.example"] {
            let r = trust(kb, &t, &found(h, "srv"), public, &[], &[]);
            assert!(matches!(r, Trust::Trusted(_)), "{h}: {r:?}");
        }
        let r = trust(
            kb,
            &t,
            &found("mail.bucher.example", "srv"),
            public,
            &[],
            &[],
        );
        assert!(matches!(r, Trust::Untrusted(_)), "{r:?}");
    }

    #[test]
    fn the_trust_rule_takes_the_domain_and_its_subdomains_and_nothing_else_dns_names() {
        let kb = crate::knowledge::get().expect("kb");
        let t = target(kb, "alice@example.org");
        let public: Option<std::net::IpAddr> = Some("192.0.2.10".parse().expect("ip"));
        let ok = |h: &str, src| {
            matches!(
                trust(kb, &t, &found(h, src), public, &[], &[]),
                Trust::Trusted(_)
            )
        };
        assert!(ok("example.org", "srv"));
        assert!(ok("MAIL.Example.org.", "srv"));
        assert!(ok("a.b.example.org", "mx"));
        assert!(ok("imap.elsewhere.test", "autoconfig"));
        assert!(ok("smtp.attacker.test", "flag"));
        assert!(ok("smtp.attacker.test", "profile"));
        assert!(!ok("smtp.attacker.test", "srv"));
        assert!(!ok("badexample.org", "srv"));
        assert!(!ok("example.org.attacker.test", "mx"));
        assert!(!ok("192.0.2.1", "srv"));
        assert!(!ok("192.0.2.1", "autoconfig"));
        match trust(kb, &t, &found("smtp.attacker.test", "srv"), public, &[], &[]) {
            Trust::Untrusted(why) => assert_eq!(
                why,
                "the domain's SRV record _submission._tcp.example.net names smtp.attacker.test, outside example.org: not trusted with your password"
            ),
            other => panic!("{other:?}"),
        }
        // A yes at the prompt vouches for the name, never for a local address.
        let yes = ["smtp.attacker.test".to_string()];
        let r = trust(
            kb,
            &t,
            &found("smtp.attacker.test", "srv"),
            public,
            &[],
            &yes,
        );
        assert!(matches!(r, Trust::Trusted(_)), "{r:?}");
        let local = Some("127.0.0.1".parse().expect("ip"));
        let r = trust(
            kb,
            &t,
            &found("smtp.attacker.test", "srv"),
            local,
            &[],
            &yes,
        );
        assert!(matches!(r, Trust::Untrusted(_)), "{r:?}");
        assert_eq!(
            to_confirm(kb, &t, &[]),
            Vec::<(String, String)>::new(),
            "no endpoint chosen yet"
        );
        // The user's word lifts it.
        let named = ["SMTP.attacker.test.".to_string()];
        let r = trust(
            kb,
            &t,
            &found("smtp.attacker.test", "srv"),
            public,
            &named,
            &[],
        );
        assert!(matches!(r, Trust::Trusted(_)), "{r:?}");
    }

    #[test]
    fn a_discovered_host_at_a_local_or_private_address_is_never_trusted_by_the_rule() {
        let kb = crate::knowledge::get().expect("kb");
        let t = target(kb, "alice@example.org");
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.1.1",
            "64:ff9b::10.0.0.1",
            "2002:c0a8:0101::1",
            "fec0::1",
            "198.18.0.1",
            "240.0.0.1",
        ] {
            let peer = Some(ip.parse().expect("ip"));
            assert!(internal_address(ip.parse().expect("ip")).is_some(), "{ip}");
            for src in ["srv", "mx", "autoconfig"] {
                let r = trust(kb, &t, &found("mail.example.org", src), peer, &[], &[]);
                assert!(matches!(r, Trust::Untrusted(_)), "{ip} {src}: {r:?}");
            }
            // What the user named is the user's business.
            let r = trust(kb, &t, &found("mail.example.org", "flag"), peer, &[], &[]);
            assert!(matches!(r, Trust::Trusted(_)), "{ip}");
        }
        for ip in [
            "192.0.2.1",
            "8.8.8.8",
            "2001:db8::1",
            "100.128.0.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "198.20.0.1",
        ] {
            assert_eq!(internal_address(ip.parse().expect("ip")), None, "{ip}");
        }
    }

    #[test]
    fn a_known_providers_server_is_trusted_when_the_evidence_names_that_provider() {
        let kb = crate::knowledge::get().expect("kb");
        let mut t = target(kb, "alice@example.org");
        let public: Option<std::net::IpAddr> = Some("192.0.2.10".parse().expect("ip"));
        let gmail = super::super::profile_endpoints(kb, "gmail");
        let host = gmail
            .first()
            .map(|e| e.host.clone())
            .expect("gmail servers");
        let r = trust(kb, &t, &found(&host, "srv"), public, &[], &[]);
        assert!(matches!(r, Trust::Untrusted(_)), "no evidence yet: {r:?}");
        t.set_provider(kb, "gmail", "mx");
        let r = trust(kb, &t, &found(&host, "srv"), public, &[], &[]);
        assert!(matches!(r, Trust::Trusted(_)), "{r:?}");
    }
}
