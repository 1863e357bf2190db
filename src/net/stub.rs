//! A stub resolver over `hickory-proto`: one question per exchange, to the
//! configured recursive servers, over UDP with a resend while no answer comes
//! and over TCP when the answer is truncated. It reads a CNAME chain from the
//! answer it got and asks again only when that answer stopped short of the
//! chain's end: an answer whose chain ends in NXDOMAIN, or in NODATA with the
//! zone's SOA, is final (RFC 2308 sections 2.1 and 2.2), so a host behind a
//! CNAME with no IPv6 costs one round for A and AAAA, not two. Answers, the
//! negative ones included, are kept for their TTL (RFC 2308 section 5: the
//! lesser of the SOA's TTL and its MINIMUM) and shared by every caller of the
//! run; concurrent callers of one question share one exchange.

use super::resolver::DnsError;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// The UDP payload a query says it accepts (the DNS Flag Day 2020 value).
const PAYLOAD: u16 = 1232;
/// CNAME links followed before the chain counts as a loop.
const MAX_CHAIN: usize = 8;
/// Questions kept in the cache before expired answers are dropped.
const CACHE_ENTRIES: usize = 4096;

/// The record data of the asked type at the end of the chain.
pub type Records = Arc<[RData]>;

type Outcome = Result<Records, DnsError>;

struct Entry {
    cell: tokio::sync::OnceCell<(Instant, Outcome)>,
}

/// How queries are resent and where they go.
#[derive(Debug, Clone)]
pub struct Transport {
    pub servers: Vec<SocketAddr>,
    /// The wait for an answer before the first resend.
    pub first_resend: Duration,
    /// The wait before each later resend.
    pub resend: Duration,
}

pub struct Stub {
    transport: Transport,
    timeout: Duration,
    cache: Mutex<HashMap<(Name, RecordType), Arc<Entry>>>,
    sent: AtomicUsize,
}

impl Stub {
    pub fn new(transport: Transport, timeout: Duration) -> Stub {
        Stub {
            transport,
            timeout,
            cache: Mutex::new(HashMap::new()),
            sent: AtomicUsize::new(0),
        }
    }

    /// Datagrams and TCP queries sent so far (resends included).
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// The records of type `rtype` of `host` (an absolute name; a trailing dot is
    /// implied), following CNAMEs, within the look-up's one deadline. The run's
    /// cache answers while the TTL lasts.
    pub async fn lookup(&self, host: &str, rtype: RecordType) -> Outcome {
        let err = |why: String| DnsError::Other {
            name: host.to_string(),
            rtype: rtype.to_string(),
            why,
        };
        let mut name = Name::from_ascii(host).map_err(|e| err(e.to_string()))?;
        name.set_fqdn(true);
        let entry = self.entry(&name, rtype);
        let (_, outcome) = entry
            .cell
            .get_or_init(|| async {
                let r = tokio::time::timeout(self.timeout, self.resolve(host, &name, rtype))
                    .await
                    .unwrap_or_else(|_| {
                        Err((
                            DnsError::Timeout {
                                name: host.to_string(),
                                rtype: rtype.to_string(),
                                after: self.timeout,
                            },
                            Duration::ZERO,
                        ))
                    });
                match r {
                    Ok((records, ttl)) => (Instant::now() + ttl, Ok(records)),
                    Err((e, ttl)) => (Instant::now() + ttl, Err(e)),
                }
            })
            .await;
        outcome.clone()
    }

    /// The cache entry of a question: the live one, or a new one in place of an
    /// expired answer.
    fn entry(&self, name: &Name, rtype: RecordType) -> Arc<Entry> {
        let fresh = || {
            Arc::new(Entry {
                cell: tokio::sync::OnceCell::new(),
            })
        };
        let Ok(mut map) = self.cache.lock() else {
            return fresh();
        };
        let now = Instant::now();
        let live = |e: &Arc<Entry>| e.cell.get().is_none_or(|(until, _)| *until > now);
        if map.len() >= CACHE_ENTRIES {
            map.retain(|_, e| live(e));
            if map.len() >= CACHE_ENTRIES {
                map.retain(|_, e| e.cell.get().is_none());
            }
        }
        let key = (name.clone(), rtype);
        match map.get(&key) {
            Some(e) if live(e) => e.clone(),
            _ => {
                let e = fresh();
                map.insert(key, e.clone());
                e
            }
        }
    }

    /// Asks for `name`, then for the chain's end when the answer stopped short of
    /// it. The outcome and how long it may be kept.
    async fn resolve(
        &self,
        host: &str,
        name: &Name,
        rtype: RecordType,
    ) -> Result<(Records, Duration), (DnsError, Duration)> {
        let mut asked = name.clone();
        let mut ttl = u32::MAX;
        for _ in 0..MAX_CHAIN {
            let msg = self
                .exchange(&asked, rtype)
                .await
                .map_err(|why| (self.failure(host, rtype, why), Duration::ZERO))?;
            match msg.metadata.response_code {
                ResponseCode::NoError | ResponseCode::NXDomain => {}
                code => {
                    let e = match code {
                        ResponseCode::ServFail => DnsError::ServFail {
                            name: host.to_string(),
                            rtype: rtype.to_string(),
                        },
                        ResponseCode::Refused => DnsError::Refused {
                            name: host.to_string(),
                            rtype: rtype.to_string(),
                        },
                        other => DnsError::Other {
                            name: host.to_string(),
                            rtype: rtype.to_string(),
                            why: format!("response code {other}"),
                        },
                    };
                    return Err((e, Duration::ZERO));
                }
            }
            let (end, records, chain_ttl) = read_chain(&msg, &asked, rtype);
            ttl = ttl.min(chain_ttl);
            if !records.is_empty() {
                return Ok((records.into(), secs(ttl)));
            }
            // None of the asked type: final when the server says so (NXDOMAIN, or
            // NODATA with the zone's SOA), or when there was no chain to follow.
            let negative = msg.authorities.iter().find_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            });
            let nx = msg.metadata.response_code == ResponseCode::NXDomain;
            if nx || negative.is_some() || end == asked {
                let keep = negative.map_or(Duration::ZERO, |n| secs(ttl.min(n)));
                let e = if nx {
                    DnsError::NxDomain {
                        name: host.to_string(),
                    }
                } else {
                    DnsError::NoData {
                        name: host.to_string(),
                        rtype: rtype.to_string(),
                    }
                };
                return Err((e, keep));
            }
            asked = end;
        }
        Err((
            DnsError::Other {
                name: host.to_string(),
                rtype: rtype.to_string(),
                why: format!("a CNAME chain longer than {MAX_CHAIN} links"),
            },
            Duration::ZERO,
        ))
    }

    fn failure(&self, host: &str, rtype: RecordType, why: String) -> DnsError {
        DnsError::Other {
            name: host.to_string(),
            rtype: rtype.to_string(),
            why,
        }
    }

    /// One question and its answer: UDP to the servers in turn, sent again while
    /// no answer comes, then TCP to the server whose answer was truncated. A
    /// SERVFAIL or REFUSED goes on to the next server while one is left. The
    /// caller bounds the whole.
    async fn exchange(&self, name: &Name, rtype: RecordType) -> Result<Message, String> {
        let servers = &self.transport.servers;
        if servers.is_empty() {
            return Err("no DNS server is configured".into());
        }
        let id = query_id();
        let mut query = Message::new(id, MessageType::Query, OpCode::Query);
        query.metadata.recursion_desired = true;
        query.add_query(Query::query(name.clone(), rtype));
        let mut edns = Edns::new();
        edns.set_max_payload(PAYLOAD);
        query.set_edns(edns);
        let bytes = query.to_vec().map_err(|e| e.to_string())?;

        let mut v4 = None;
        let mut v6 = None;
        let mut buf = vec![0u8; 4096];
        let mut turn = 0usize;
        let mut tried_all_after_failure = 0usize;
        let mut wait = self.transport.first_resend;
        loop {
            let server = servers[turn % servers.len()];
            let socket = match (server.is_ipv4(), &mut v4, &mut v6) {
                (true, slot, _) | (false, _, slot) => {
                    if slot.is_none() {
                        let local: SocketAddr = if server.is_ipv4() {
                            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
                        } else {
                            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                        };
                        let s = tokio::net::UdpSocket::bind(local)
                            .await
                            .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
                        *slot = Some(Arc::new(s));
                    }
                    slot.clone().ok_or("no socket")?
                }
            };
            self.sent.fetch_add(1, Ordering::Relaxed);
            socket
                .send_to(&bytes, server)
                .await
                .map_err(|e| format!("cannot send to {server}: {e}"))?;
            let until = Instant::now() + wait;
            wait = self.transport.resend;
            // Answers may come on either socket, from any configured server.
            let answer = loop {
                let recv = async {
                    let mut got = None;
                    for s in [&v4, &v6].into_iter().flatten() {
                        if let Ok((n, from)) = s.try_recv_from(&mut buf) {
                            got = Some((n, from));
                            break;
                        }
                    }
                    if got.is_some() {
                        return got;
                    }
                    let r4 = async {
                        match &v4 {
                            Some(s) => s.readable().await.ok(),
                            None => std::future::pending().await,
                        }
                    };
                    let r6 = async {
                        match &v6 {
                            Some(s) => s.readable().await.ok(),
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = r4 => {}
                        _ = r6 => {}
                    }
                    None
                };
                let got = tokio::select! {
                    g = recv => g,
                    _ = tokio::time::sleep_until(until) => break None,
                };
                let Some((n, from)) = got else { continue };
                if !servers.contains(&from) {
                    continue;
                }
                let Some(msg) = buf.get(..n).and_then(|b| Message::from_vec(b).ok()) else {
                    continue;
                };
                if answers(&msg, id, name, rtype) {
                    break Some((msg, from));
                }
            };
            let Some((msg, from)) = answer else {
                turn += 1;
                continue;
            };
            if msg.metadata.truncation {
                self.sent.fetch_add(1, Ordering::Relaxed);
                return tcp(from, &bytes, id, name, rtype).await;
            }
            let failed = matches!(
                msg.metadata.response_code,
                ResponseCode::ServFail | ResponseCode::Refused
            );
            if failed && tried_all_after_failure + 1 < servers.len() {
                tried_all_after_failure += 1;
                turn += 1;
                wait = self.transport.first_resend;
                continue;
            }
            return Ok(msg);
        }
    }
}

/// The chain's end from `asked`, the records of `rtype` there, and the least TTL
/// of the links and records read. A CNAME question reads no chain.
fn read_chain(msg: &Message, asked: &Name, rtype: RecordType) -> (Name, Vec<RData>, u32) {
    let mut end = asked.clone();
    let mut ttl = u32::MAX;
    if rtype != RecordType::CNAME {
        for _ in 0..MAX_CHAIN {
            let next = msg.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(c) if r.name == end => Some((c.0.clone(), r.ttl)),
                _ => None,
            });
            let Some((target, t)) = next else { break };
            ttl = ttl.min(t);
            end = target;
        }
    }
    let records: Vec<RData> = msg
        .answers
        .iter()
        .filter(|r| r.name == end && r.data.record_type() == rtype)
        .map(|r| {
            ttl = ttl.min(r.ttl);
            r.data.clone()
        })
        .collect();
    (end, records, ttl)
}

/// Whether `msg` is the answer to this query: a response with its id and its
/// question.
fn answers(msg: &Message, id: u16, name: &Name, rtype: RecordType) -> bool {
    msg.metadata.id == id
        && msg.metadata.message_type == MessageType::Response
        && msg
            .queries
            .first()
            .is_some_and(|q| q.name() == name && q.query_type() == rtype)
}

/// The question again over TCP (RFC 7766), after a truncated answer.
async fn tcp(
    server: SocketAddr,
    bytes: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
) -> Result<Message, String> {
    let mut s = tokio::net::TcpStream::connect(server)
        .await
        .map_err(|e| format!("cannot connect to {server} over TCP: {e}"))?;
    let len = u16::try_from(bytes.len()).map_err(|_| "query too long")?;
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    s.write_all(&out)
        .await
        .map_err(|e| format!("TCP to {server}: {e}"))?;
    loop {
        let mut len = [0u8; 2];
        s.read_exact(&mut len)
            .await
            .map_err(|e| format!("TCP from {server}: {e}"))?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf)
            .await
            .map_err(|e| format!("TCP from {server}: {e}"))?;
        let msg = Message::from_vec(&buf).map_err(|e| format!("TCP from {server}: {e}"))?;
        if answers(&msg, id, name, rtype) {
            return Ok(msg);
        }
    }
}

fn secs(ttl: u32) -> Duration {
    Duration::from_secs(u64::from(if ttl == u32::MAX { 0 } else { ttl }))
}

/// A query id no one on the path can guess (RFC 5452).
fn query_id() -> u16 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 2];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        return (nanos ^ (nanos >> 16)) as u16;
    }
    u16::from_be_bytes(b)
}

/// The addresses `/etc/hosts` gives each name (lowercase, no trailing dot).
pub fn read_hosts(text: &str) -> HashMap<String, Vec<IpAddr>> {
    let mut out: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(ip) = words
            .next()
            .and_then(|w| w.split('%').next())
            .and_then(|w| w.parse::<IpAddr>().ok())
        else {
            continue;
        };
        for name in words {
            let v = out
                .entry(name.trim_end_matches('.').to_ascii_lowercase())
                .or_default();
            if !v.contains(&ip) {
                v.push(ip);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_file_names_each_address() {
        let h = read_hosts(
            "127.0.0.1 localhost lab # x\n::1 localhost ip6-localhost\n# 1.2.3.4 gone\nbad line\n",
        );
        assert_eq!(
            h.get("localhost"),
            Some(&vec![
                "127.0.0.1".parse::<IpAddr>().expect("ip"),
                "::1".parse().expect("ip")
            ])
        );
        assert!(h.contains_key("lab"));
        assert!(!h.contains_key("gone"));
    }
}
