//! The RFC 6186 / RFC 8314 SRV records of a mail domain: submission with implicit
//! TLS (`_submissions._tcp`, preferred) and with STARTTLS (`_submission._tcp`),
//! IMAP (`_imaps._tcp`, `_imap._tcp`) and POP3 (`_pop3s._tcp`, `_pop3._tcp`). All
//! six are asked at once; a lone target of `.` means the service is not offered.

use crate::net::resolver::{DnsError, Resolver};
use crate::target::discovery::{Published, Step};
use crate::vocab::{Protocol, TlsMode};
use std::time::Duration;

/// The service labels, in order of preference within each protocol.
pub const SERVICES: &[(&str, Protocol, TlsMode)] = &[
    ("_submissions._tcp", Protocol::Smtp, TlsMode::Implicit),
    ("_submission._tcp", Protocol::Smtp, TlsMode::Starttls),
    ("_imaps._tcp", Protocol::Imap, TlsMode::Implicit),
    ("_imap._tcp", Protocol::Imap, TlsMode::Starttls),
    ("_pop3s._tcp", Protocol::Pop, TlsMode::Implicit),
    ("_pop3._tcp", Protocol::Pop, TlsMode::Starttls),
];

/// What the SRV records say.
#[derive(Debug, Clone, Default)]
pub struct SrvAnswer {
    pub found: Vec<Published>,
    pub not_offered: Vec<String>,
    pub step: Option<Step>,
}

/// Asks for every service of `domain`, each look-up under `timeout`.
pub async fn lookup(resolver: &Resolver, domain: &str, timeout: Duration) -> SrvAnswer {
    let asks = SERVICES.iter().map(|(label, protocol, tls)| {
        let name = format!("{label}.{domain}");
        async move {
            let r = match tokio::time::timeout(timeout, resolver.srv(&name)).await {
                Ok(r) => r,
                Err(_) => Err(DnsError::Timeout {
                    name: name.clone(),
                    rtype: "SRV".into(),
                    after: timeout,
                }),
            };
            (*label, *protocol, *tls, name, r)
        }
    });
    let answers = futures::future::join_all(asks).await;
    let mut out = SrvAnswer::default();
    let mut notes = Vec::new();
    let mut failed = 0;
    for (label, protocol, tls, name, r) in answers {
        match r {
            Ok(records) if !records.is_empty() && records.iter().all(|r| r.is_not_offered()) => {
                out.not_offered.push(name);
                notes.push(format!("{label}: not offered (.)"));
            }
            Ok(records) => {
                let usable: Vec<Published> = records
                    .iter()
                    .filter(|r| !r.is_not_offered() && r.port != 0 && super::valid_host(&r.target))
                    .map(|r| Published {
                        protocol,
                        host: r.target.to_ascii_lowercase(),
                        port: r.port,
                        tls,
                        source: "srv",
                        via: name.clone(),
                        auth: Vec::new(),
                    })
                    .collect();
                match usable.first() {
                    Some(p) => notes.push(format!("{label}: {}:{}", p.host, p.port)),
                    None => notes.push(format!("{label}: no usable target")),
                }
                out.found.extend(usable);
            }
            Err(DnsError::NxDomain { .. } | DnsError::NoData { .. }) => {
                notes.push(format!("{label}: none"));
            }
            Err(e) => {
                failed += 1;
                notes.push(format!("{label}: {e}"));
            }
        }
    }
    let outcome = if !out.found.is_empty() || !out.not_offered.is_empty() {
        "found"
    } else if failed > 0 {
        "failed"
    } else {
        "none"
    };
    out.step = Some(Step {
        source: "srv",
        outcome,
        detail: notes.join("; "),
    });
    out
}
