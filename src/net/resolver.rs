//! DNS look-ups with one deadline for each whole look-up (a silent server costs one
//! `--timeout`, not one for UDP and another for TCP); within it a query with no
//! answer is sent again (`first_resend`, then each second), and a truncated answer
//! is asked over TCP, through the server given by `--dns-server` (then every
//! look-up goes there, and the hosts file is not read) or the system
//! configuration's name servers (and, for addresses, the hosts file first).
//! Every name is absolute: no search list is applied (ndots 0). Text from an
//! answer (names, TXT strings) comes back with control characters shown escaped.
//! The queries are our own stub's (`net::stub`, over hickory-proto): it tells
//! NXDOMAIN, NODATA and SERVFAIL apart, which the system resolver (getaddrinfo)
//! blurs into "not found", and takes a CNAME chain that ends in NODATA or
//! NXDOMAIN as final, so A and AAAA cost one round each.

use crate::net::stub::{Stub, Transport};
use hickory_proto::rr::{RData, RecordType};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Text from a DNS answer, with control characters shown escaped.
fn printable(s: &str) -> String {
    crate::net::scrub::escape_controls(s).into_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("{name} does not exist (NXDOMAIN)")]
    NxDomain { name: String },
    #[error("{name} exists but has no {rtype} record")]
    NoData { name: String, rtype: String },
    #[error("the DNS server failed to answer for {name} {rtype} (SERVFAIL)")]
    ServFail { name: String, rtype: String },
    #[error("the DNS server refused to answer for {name} {rtype} (REFUSED)")]
    Refused { name: String, rtype: String },
    #[error("no DNS answer for {name} {rtype} within {after:?}")]
    Timeout {
        name: String,
        rtype: String,
        after: Duration,
    },
    #[error("DNS look-up of {name} {rtype} failed: {why}")]
    Other {
        name: String,
        rtype: String,
        why: String,
    },
}

impl DnsError {
    /// The diagnosis code for an endpoint host that could not be resolved.
    pub fn code(&self) -> &'static str {
        match self {
            DnsError::NxDomain { .. } => "DNS_NXDOMAIN",
            DnsError::NoData { .. } => "DNS_NO_ADDRESS",
            DnsError::Timeout { .. } => "DNS_TIMEOUT",
            DnsError::ServFail { .. } | DnsError::Refused { .. } | DnsError::Other { .. } => {
                "DNS_SERVFAIL"
            }
        }
    }
}

/// How long a DNS query waits for its answer before it is sent again (after the
/// first resend).
pub const RETRANSMIT: Duration = Duration::from_secs(1);

/// How long the first query waits before it is sent again.
pub const FIRST_RETRANSMIT: Duration = RETRANSMIT;

/// The resends that fit in one look-up's `timeout` after the first query.
pub fn retransmits(timeout: Duration) -> usize {
    let tries = timeout.as_millis().div_ceil(RETRANSMIT.as_millis().max(1));
    usize::try_from(tries.saturating_sub(1))
        .unwrap_or(usize::MAX)
        .min(30)
}

#[derive(Clone)]
pub struct Resolver {
    stub: Arc<Stub>,
    /// The hosts file's addresses (system configuration only).
    hosts: Arc<HashMap<String, Vec<IpAddr>>>,
    pub server: String,
}

impl Resolver {
    pub fn new(dns_server: Option<SocketAddr>, timeout: Duration) -> Result<Resolver, String> {
        Resolver::with_first_resend(dns_server, timeout, FIRST_RETRANSMIT)
    }

    /// Like `new`, with the first query sent again after `first_resend` (the
    /// benchmarks measure what that is worth under loss).
    pub fn with_first_resend(
        dns_server: Option<SocketAddr>,
        timeout: Duration,
        first_resend: Duration,
    ) -> Result<Resolver, String> {
        let (servers, hosts) = match dns_server {
            Some(addr) => (vec![addr], HashMap::new()),
            None => {
                let (c, _) = hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
                let mut servers: Vec<SocketAddr> = Vec::new();
                for n in c.name_servers() {
                    let port = n.connections.first().map_or(53, |c| c.port);
                    let a = SocketAddr::new(n.ip, port);
                    if !servers.contains(&a) {
                        servers.push(a);
                    }
                }
                (servers, system_hosts())
            }
        };
        let server = servers
            .first()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "system".into());
        let transport = Transport {
            servers,
            first_resend: first_resend.min(timeout),
            resend: RETRANSMIT.min(timeout),
        };
        Ok(Resolver {
            stub: Arc::new(Stub::new(transport, timeout)),
            hosts: Arc::new(hosts),
            server,
        })
    }

    /// Queries sent so far by this resolver (resends included).
    pub fn queries_sent(&self) -> usize {
        self.stub.sent()
    }

    async fn records(&self, name: &str, rtype: RecordType) -> Result<Arc<[RData]>, DnsError> {
        self.stub.lookup(name.trim_end_matches('.'), rtype).await
    }

    /// A and AAAA, concurrently. Ok when either has addresses; otherwise the more
    /// telling of the two errors (NXDOMAIN, SERVFAIL, timeout before NODATA).
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        if let Some(ip) = literal(host) {
            return Ok(vec![ip]);
        }
        let (v4, v6) = tokio::join!(self.family(host, false), self.family(host, true));
        combine(host, v4, v6)
    }

    /// The A (or, with `v6`, the AAAA) records of `host`, within the step timeout.
    pub async fn family(&self, host: &str, v6: bool) -> Result<Vec<IpAddr>, DnsError> {
        if let Some(ip) = literal(host) {
            return Ok(if ip.is_ipv6() == v6 {
                vec![ip]
            } else {
                Vec::new()
            });
        }
        let key = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(known) = self.hosts.get(&key) {
            let mine: Vec<IpAddr> = known
                .iter()
                .filter(|a| a.is_ipv6() == v6)
                .copied()
                .collect();
            if !mine.is_empty() {
                return Ok(mine);
            }
        }
        let rtype = if v6 { RecordType::AAAA } else { RecordType::A };
        Ok(self
            .records(host, rtype)
            .await?
            .iter()
            .filter_map(|d| match d {
                RData::A(a) if !v6 => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) if v6 => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect())
    }

    /// MX records, best preference first.
    pub async fn mx(&self, domain: &str) -> Result<Vec<(u16, String)>, DnsError> {
        let mut v: Vec<(u16, String)> = self
            .records(domain, RecordType::MX)
            .await?
            .iter()
            .filter_map(|d| match d {
                RData::MX(m) => Some((
                    m.preference,
                    printable(m.exchange.to_ascii().trim_end_matches('.')),
                )),
                _ => None,
            })
            .collect();
        v.sort();
        Ok(v)
    }

    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        Ok(self
            .records(name, RecordType::TXT)
            .await?
            .iter()
            .filter_map(|d| match d {
                RData::TXT(t) => Some(t),
                _ => None,
            })
            .map(|t| {
                let text = t
                    .txt_data
                    .iter()
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .collect::<String>();
                printable(&text)
            })
            .collect())
    }

    pub async fn cname(&self, name: &str) -> Result<Option<String>, DnsError> {
        let r = self.records(name, RecordType::CNAME).await?;
        Ok(r.iter().find_map(|d| match d {
            RData::CNAME(c) => Some(printable(c.0.to_utf8().trim_end_matches('.'))),
            _ => None,
        }))
    }
}

/// The hosts file's names, read once per resolver (none where it cannot be read).
fn system_hosts() -> HashMap<String, Vec<IpAddr>> {
    let path = if cfg!(windows) {
        std::path::PathBuf::from(
            std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into()),
        )
        .join("System32\\drivers\\etc\\hosts")
    } else {
        std::path::PathBuf::from("/etc/hosts")
    };
    // Bounded: a hosts file is small; a huge one is not read.
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() <= 4 << 20 => std::fs::read_to_string(&path)
            .map(|t| crate::net::stub::read_hosts(&t))
            .unwrap_or_default(),
        _ => HashMap::new(),
    }
}

/// An address literal given as a host (`192.0.2.1`, `[2001:db8::1]`).
pub fn literal(host: &str) -> Option<IpAddr> {
    host.trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
        .ok()
}

/// The addresses of `host` from its A and AAAA answers (IPv4 first: it is what
/// most mail clients on most networks reach). With none, the more telling of the
/// two errors: NXDOMAIN, SERVFAIL, a timeout, then NODATA.
pub fn combine(
    host: &str,
    v4: Result<Vec<IpAddr>, DnsError>,
    v6: Result<Vec<IpAddr>, DnsError>,
) -> Result<Vec<IpAddr>, DnsError> {
    let mut out: Vec<IpAddr> = Vec::new();
    let mut errs = Vec::new();
    for r in [v4, v6] {
        match r {
            Ok(a) => out.extend(a),
            Err(e) => errs.push(e),
        }
    }
    if !out.is_empty() {
        out.sort_by_key(|a| a.is_ipv6());
        return Ok(out);
    }
    let rank = |e: &DnsError| match e {
        DnsError::NxDomain { .. } => 0,
        DnsError::ServFail { .. } | DnsError::Refused { .. } => 1,
        DnsError::Timeout { .. } => 2,
        DnsError::Other { .. } => 3,
        DnsError::NoData { .. } => 4,
    };
    errs.sort_by_key(rank);
    Err(match errs.into_iter().next() {
        None | Some(DnsError::NoData { .. }) => DnsError::NoData {
            name: host.to_string(),
            rtype: "A or AAAA".into(),
        },
        Some(other) => other,
    })
}

/// One SRV record (RFC 2782). A target of `.` means the service is not offered
/// there (RFC 2782, RFC 6186); it is kept as `"."`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

impl SrvRecord {
    /// The "service not offered" record: a lone target of `.`.
    pub fn is_not_offered(&self) -> bool {
        self.target == "."
    }
}

impl Resolver {
    /// SRV records of `name`, lowest priority first, then highest weight.
    pub async fn srv(&self, name: &str) -> Result<Vec<SrvRecord>, DnsError> {
        let r = self.records(name, RecordType::SRV).await?;
        let mut v: Vec<SrvRecord> = r
            .iter()
            .filter_map(|d| match d {
                RData::SRV(s) => Some(s),
                _ => None,
            })
            .map(|s| {
                let t = s.target.to_ascii();
                let target = if t == "." || t.is_empty() {
                    ".".to_string()
                } else {
                    printable(t.trim_end_matches('.'))
                };
                SrvRecord {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target,
                }
            })
            .collect();
        v.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_resent_each_second_within_the_timeout() {
        assert_eq!(retransmits(Duration::from_secs(10)), 9);
        assert_eq!(retransmits(Duration::from_millis(2500)), 2);
        assert_eq!(retransmits(Duration::from_secs(1)), 0);
        assert_eq!(retransmits(Duration::from_millis(300)), 0);
        assert_eq!(retransmits(Duration::from_secs(3600)), 30);
    }
}
