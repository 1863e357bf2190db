//! DNS look-ups with one deadline for each whole look-up (a silent server costs one
//! `--timeout`, not one for UDP and another for TCP); within it a query with no
//! answer is sent again after a second, and a truncated answer is asked over TCP,
//! through the server given by `--dns-server` (then every look-up goes there, and
//! the hosts file is not read) or the system configuration. Text from an answer
//! (names, TXT strings) comes back with control characters shown escaped. Built on hickory-resolver, the maintained
//! successor of trust-dns-resolver: it tells NXDOMAIN, NODATA and SERVFAIL apart,
//! which the system resolver (getaddrinfo) blurs into "not found".

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as HickoryDnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;
use std::net::{IpAddr, SocketAddr};
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

/// How long a DNS query waits for its answer before it is sent again.
pub const RETRANSMIT: Duration = Duration::from_secs(1);

/// The resends that fit in one look-up's `timeout` after the first query.
pub fn retransmits(timeout: Duration) -> usize {
    let tries = timeout.as_millis().div_ceil(RETRANSMIT.as_millis().max(1));
    usize::try_from(tries.saturating_sub(1))
        .unwrap_or(usize::MAX)
        .min(30)
}

#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
    timeout: Duration,
    pub server: String,
}

impl Resolver {
    pub fn new(dns_server: Option<SocketAddr>, timeout: Duration) -> Result<Resolver, String> {
        let (config, mut opts, server) = match dns_server {
            Some(addr) => {
                let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                    .into_iter()
                    .map(|mut c| {
                        c.port = addr.port();
                        c
                    })
                    .collect();
                let server = NameServerConfig::new(addr.ip(), true, connections);
                let mut opts = ResolverOpts::default();
                opts.use_hosts_file = ResolveHosts::Never;
                (
                    ResolverConfig::from_parts(None, vec![], vec![server]),
                    opts,
                    addr.to_string(),
                )
            }
            None => {
                let (c, o) = hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
                let server = c
                    .name_servers()
                    .first()
                    .map(|n| {
                        let port = n.connections.first().map_or(53, |c| c.port);
                        SocketAddr::new(n.ip, port).to_string()
                    })
                    .unwrap_or_else(|| "system".into());
                (c, o, server)
            }
        };
        // A person waits on this: a lost datagram is sent again after about a
        // second (RETRANSMIT), as often as fits in the look-up's one deadline
        // (`bounded`), instead of after the whole timeout.
        opts.timeout = timeout.min(RETRANSMIT);
        opts.attempts = retransmits(timeout);
        // One resolver serves a whole run (a batch): the same name is asked once
        // within its TTL.
        opts.cache_size = 1024;
        opts.ndots = 0;
        opts.edns0 = true;
        let inner = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| format!("cannot set up the DNS resolver: {e}"))?;
        Ok(Resolver {
            inner,
            timeout,
            server,
        })
    }

    fn classify(&self, name: &str, rtype: RecordType, e: NetError) -> DnsError {
        let name = name.to_string();
        let rtype_s = rtype.to_string();
        let code = match &e {
            NetError::Dns(HickoryDnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
                Some(*response_code)
            }
            NetError::Dns(HickoryDnsError::ResponseCode(code)) => Some(*code),
            _ => None,
        };
        match code {
            Some(response_code) => match response_code {
                ResponseCode::NXDomain => DnsError::NxDomain { name },
                ResponseCode::NoError => DnsError::NoData {
                    name,
                    rtype: rtype_s,
                },
                ResponseCode::ServFail => DnsError::ServFail {
                    name,
                    rtype: rtype_s,
                },
                ResponseCode::Refused => DnsError::Refused {
                    name,
                    rtype: rtype_s,
                },
                other => DnsError::Other {
                    name,
                    rtype: rtype_s,
                    why: format!("response code {other}"),
                },
            },
            None if matches!(e, NetError::Timeout) => DnsError::Timeout {
                name,
                rtype: rtype_s,
                after: self.timeout,
            },
            None => {
                let why = e.to_string();
                if why.to_ascii_lowercase().contains("timed out") {
                    DnsError::Timeout {
                        name,
                        rtype: rtype_s,
                        after: self.timeout,
                    }
                } else if why.contains("ServFail") || why.contains("SERVFAIL") {
                    DnsError::ServFail {
                        name,
                        rtype: rtype_s,
                    }
                } else {
                    DnsError::Other {
                        name,
                        rtype: rtype_s,
                        why,
                    }
                }
            }
        }
    }

    /// Runs one look-up within the step timeout, whatever the resolver does inside.
    async fn bounded<T, E>(
        &self,
        name: &str,
        rtype: RecordType,
        lookup: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, DnsError> {
        tokio::time::timeout(self.timeout, lookup)
            .await
            .map_err(|_| DnsError::Timeout {
                name: name.to_string(),
                rtype: rtype.to_string(),
                after: self.timeout,
            })
    }

    fn fqdn(name: &str) -> String {
        if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        }
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
        let rtype = if v6 { RecordType::AAAA } else { RecordType::A };
        let l = self
            .bounded(host, rtype, self.inner.lookup(Self::fqdn(host), rtype))
            .await?
            .map_err(|e| self.classify(host, rtype, e))?;
        Ok(rdata(&l)
            .filter_map(|d| match d {
                RData::A(a) if !v6 => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) if v6 => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect())
    }

    /// MX records, best preference first.
    pub async fn mx(&self, domain: &str) -> Result<Vec<(u16, String)>, DnsError> {
        let r = self
            .bounded(
                domain,
                RecordType::MX,
                self.inner.mx_lookup(Self::fqdn(domain)),
            )
            .await?
            .map_err(|e| self.classify(domain, RecordType::MX, e))?;
        let mut v: Vec<(u16, String)> = rdata(&r)
            .filter_map(|d| match d {
                RData::MX(m) => Some((
                    m.preference,
                    printable(m.exchange.to_utf8().trim_end_matches('.')),
                )),
                _ => None,
            })
            .collect();
        v.sort();
        Ok(v)
    }

    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let r = self
            .bounded(
                name,
                RecordType::TXT,
                self.inner.txt_lookup(Self::fqdn(name)),
            )
            .await?
            .map_err(|e| self.classify(name, RecordType::TXT, e))?;
        Ok(rdata(&r)
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
        let r = self
            .bounded(
                name,
                RecordType::CNAME,
                self.inner.lookup(Self::fqdn(name), RecordType::CNAME),
            )
            .await?
            .map_err(|e| self.classify(name, RecordType::CNAME, e))?;
        let cname = rdata(&r).find_map(|d| match d {
            RData::CNAME(c) => Some(printable(c.0.to_utf8().trim_end_matches('.'))),
            _ => None,
        });
        Ok(cname)
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

/// The record data of a look-up's answers (the CNAME chain included; callers keep
/// the type they asked for).
fn rdata(l: &Lookup) -> impl Iterator<Item = &RData> {
    l.answers().iter().map(|r| &r.data)
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
        let r = self
            .bounded(
                name,
                RecordType::SRV,
                self.inner.lookup(Self::fqdn(name), RecordType::SRV),
            )
            .await?
            .map_err(|e| self.classify(name, RecordType::SRV, e))?;
        let mut v: Vec<SrvRecord> = rdata(&r)
            .filter_map(|d| match d {
                RData::SRV(s) => Some(s),
                _ => None,
            })
            .map(|s| {
                let t = s.target.to_utf8();
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
