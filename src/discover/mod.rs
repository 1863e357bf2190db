//! Server discovery from the address alone: the domain's MX (a known provider's
//! MX means its profile applies), its RFC 6186 / RFC 8314 SRV records and its
//! autoconfig document over HTTPS, asked at once on the run's own resolver; last,
//! when none of them names a server, the MX host on the standard ports as a guess.
//! The answer is a `target::discovery::Discovery`, which the runner merges into
//! the target; a batch asks once per domain (`checks::ctx::Common`).
//!
//! Discovery never sends a password or a token (it is given none), uses HTTPS only
//! with the certificate verified, and every source sits under the step timeout, so
//! the whole of it does too.

pub mod autoconfig;
pub mod srv;

use crate::knowledge::{provider_for_mx, Knowledge};
use crate::net::resolver::Resolver;
use crate::target::discovery::{Discovery, MxHost, Published, Step};
use crate::target::{implicit_port, starttls_port};
use crate::vocab::{Protocol, TlsMode};
use std::time::Duration;

/// How discovery talks to the network.
#[derive(Debug, Clone)]
pub struct Options {
    /// Each source's whole look-up, and each step inside it.
    pub timeout: Duration,
    /// Extra trust anchors (DER) for the autoconfig servers' certificates.
    pub extra_roots: Vec<Vec<u8>>,
    /// The HTTPS port of the autoconfig servers (443).
    pub port: u16,
}

/// A host name as DNS and TLS take it: letters, digits, `-`, `_` and dots, at most
/// 253 characters, no empty label (or an IPv4 literal, which has the same shape).
pub fn valid_host(h: &str) -> bool {
    let h = h.trim_end_matches('.');
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Discovers the servers of `domain` for `address`.
pub async fn domain(
    kb: &Knowledge,
    resolver: &Resolver,
    opts: &Options,
    address: &str,
    domain: &str,
) -> Discovery {
    let published = published(resolver, opts, address, domain);
    let mx = ask_mx(resolver, opts.timeout, domain);
    tokio::pin!(published, mx);
    // The MX decides first: a known provider's MX makes the SRV and autoconfig
    // answers moot, and they are dropped unanswered.
    let mut early = None;
    let mx = loop {
        tokio::select! {
            r = &mut mx => break r,
            r = &mut published, if early.is_none() => early = Some(r),
        }
    };
    let d = from_mx(kb, domain, &mx);
    complete(kb, d, async {
        match early {
            Some(r) => r,
            None => published.await,
        }
    })
    .await
}

/// Discovery after `mx_only`: the SRV and autoconfig sources, unless that MX
/// names a known provider. The MX is not asked again.
pub async fn after_mx(
    kb: &Knowledge,
    resolver: &Resolver,
    opts: &Options,
    address: &str,
    mx: Discovery,
) -> Discovery {
    let domain = mx.domain.clone();
    complete(kb, mx, published(resolver, opts, address, &domain)).await
}

/// The SRV and autoconfig sources, asked at once.
async fn published(
    resolver: &Resolver,
    opts: &Options,
    address: &str,
    domain: &str,
) -> (srv::SrvAnswer, autoconfig::AutoconfigAnswer) {
    tokio::join!(
        srv::lookup(resolver, domain, opts.timeout),
        autoconfig::lookup(resolver, opts, address, domain)
    )
}

/// Adds to what the MX said (`d`) what the domain publishes, unless the MX names
/// a known provider; last, the MX host on the standard ports as a guess.
async fn complete(
    kb: &Knowledge,
    mut d: Discovery,
    published: impl std::future::Future<Output = (srv::SrvAnswer, autoconfig::AutoconfigAnswer)>,
) -> Discovery {
    if let Some(id) = d.mx_provider.clone() {
        let name = kb.provider(&id).map(|p| p.name.as_str()).unwrap_or(&id);
        for source in ["srv", "autoconfig"] {
            d.steps.push(Step {
                source,
                outcome: "skipped",
                detail: format!("the MX names {name}, whose settings are known"),
            });
        }
        return d;
    }
    let (srv, ac) = published.await;
    d.steps.extend(srv.step);
    d.steps.extend(ac.step);
    d.not_offered = srv.not_offered;
    d.found = srv.found;
    d.found.extend(ac.found);
    if d.found.is_empty() {
        if let Some(m) = d.mx.first().filter(|m| valid_host(&m.host)) {
            d.found = guesses(&m.host);
        }
    }
    d
}

/// The domain's MX, within the step timeout.
async fn ask_mx(
    resolver: &Resolver,
    t: Duration,
    domain: &str,
) -> Result<Vec<(u16, String)>, crate::net::resolver::DnsError> {
    tokio::time::timeout(t, resolver.mx(domain))
        .await
        .unwrap_or_else(|_| {
            Err(crate::net::resolver::DnsError::Timeout {
                name: domain.to_string(),
                rtype: "MX".into(),
                after: t,
            })
        })
}

/// What the MX alone says: its hosts, the provider it names, its step.
fn from_mx(
    kb: &Knowledge,
    domain: &str,
    mx: &Result<Vec<(u16, String)>, crate::net::resolver::DnsError>,
) -> Discovery {
    let mut d = Discovery {
        domain: domain.to_string(),
        ..Default::default()
    };
    match mx {
        Ok(hosts) => {
            d.mx = hosts
                .iter()
                .filter(|(_, h)| !h.is_empty())
                .map(|(p, h)| MxHost {
                    preference: *p,
                    host: h.to_ascii_lowercase(),
                })
                .collect();
            d.mx_provider = provider_for_mx(kb, hosts);
            let detail = match d.mx.first() {
                Some(m) => format!("MX {} {}", m.preference, m.host),
                None => "a null MX: the domain takes no mail".into(),
            };
            let outcome = if d.mx.is_empty() { "none" } else { "found" };
            d.steps.push(Step {
                source: "mx",
                outcome,
                detail,
            });
        }
        Err(e) => d.steps.push(Step {
            source: "mx",
            outcome: match e {
                crate::net::resolver::DnsError::NxDomain { .. }
                | crate::net::resolver::DnsError::NoData { .. } => "none",
                _ => "failed",
            },
            detail: e.to_string(),
        }),
    }
    d
}

/// The MX step alone (the provider it may name), for a run whose servers are
/// named: what the domain publishes besides only corroborates them, and is asked
/// alongside the checks.
pub async fn mx_only(kb: &Knowledge, resolver: &Resolver, t: Duration, domain: &str) -> Discovery {
    from_mx(kb, domain, &ask_mx(resolver, t, domain).await)
}

/// The MX host on the standard ports: submission with STARTTLS, IMAP and POP3
/// with implicit TLS. A guess, tested as one.
fn guesses(host: &str) -> Vec<Published> {
    [
        (
            Protocol::Smtp,
            starttls_port(Protocol::Smtp),
            TlsMode::Starttls,
        ),
        (
            Protocol::Imap,
            implicit_port(Protocol::Imap),
            TlsMode::Implicit,
        ),
        (
            Protocol::Pop,
            implicit_port(Protocol::Pop),
            TlsMode::Implicit,
        ),
    ]
    .into_iter()
    .map(|(protocol, port, tls)| Published {
        protocol,
        host: host.to_string(),
        port,
        tls,
        source: "mx",
        via: format!("MX {host}"),
        auth: Vec::new(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_checked_before_they_are_used() {
        for ok in [
            "mail.example.net",
            "MAIL.example.net.",
            "a-b_c.example",
            "192.0.2.1",
        ] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a..b",
            "a b",
            "a/b",
            "x@y",
            &"a".repeat(64),
            "é.example",
        ] {
            assert!(!valid_host(bad), "{bad:?}");
        }
    }
}
