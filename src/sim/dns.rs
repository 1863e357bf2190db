//! A DNS server on 127.0.0.1 (UDP and TCP, one ephemeral port number for both) that
//! serves a zone given as data, and can misbehave per name: NXDOMAIN, SERVFAIL, or
//! never answer. It counts the queries it receives, in all and per name and type,
//! so tests can prove that every look-up went through `--dns-server` and how often
//! a name was asked. Garbage packets are ignored. It can wait a fixed delay before
//! every answer (one round trip, for the benchmarks). A name whose records are all
//! of other types answers NODATA; an SRV target of `.` says "not offered".

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
pub enum Rec {
    Ip(IpAddr),
    Mx(u16, String),
    Txt(String),
    Cname(String),
    /// priority, weight, port, target (`.` for "not offered").
    Srv(u16, u16, u16, String),
}

#[derive(Debug, Clone)]
pub enum Behaviour {
    Records(Vec<Rec>),
    NxDomain,
    ServFail,
    /// Never answer (to test time-outs).
    Drop,
    /// Lose the first query of each type (a datagram lost on the way), then
    /// answer with these records.
    LoseFirst(Vec<Rec>),
    /// Never answer queries of this type ("A", "AAAA"...); answer the others.
    SilentFor(&'static str, Vec<Rec>),
    /// An alias whose answer holds the CNAME alone, without its target's records
    /// or an SOA: what a server that does not follow the chain (the target in a
    /// zone it does not serve) answers. The client must ask for the target.
    AliasOnly(String),
}

/// Names (without the trailing dot, any case) and how to answer for them. Names not
/// in the zone get NXDOMAIN.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    names: HashMap<String, Behaviour>,
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }
    pub fn set(mut self, name: &str, b: Behaviour) -> Zone {
        self.names.insert(key(name), b);
        self
    }
    pub fn add(mut self, name: &str, rec: Rec) -> Zone {
        let e = self
            .names
            .entry(key(name))
            .or_insert_with(|| Behaviour::Records(Vec::new()));
        if let Behaviour::Records(v) = e {
            v.push(rec);
        }
        self
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Queries seen per (name, type), names lowercased without the trailing dot.
type Asked = Arc<std::sync::Mutex<HashMap<(String, String), usize>>>;

pub struct DnsServer {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    asked: Asked,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl DnsServer {
    pub async fn start(zone: Zone) -> std::io::Result<DnsServer> {
        DnsServer::start_delayed(zone, std::time::Duration::ZERO).await
    }

    /// Like `start`, waiting `delay` before every answer; queries are answered
    /// concurrently, as a real server's would be.
    pub async fn start_delayed(
        zone: Zone,
        delay: std::time::Duration,
    ) -> std::io::Result<DnsServer> {
        // Find a port free for both UDP and TCP.
        let (udp, tcp) = loop {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
            let port = udp.local_addr()?.port();
            if let Ok(tcp) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr()?;
        let zone = Arc::new(zone);
        let queries = Arc::new(AtomicUsize::new(0));
        let asked: Asked = Default::default();
        let (z, q, seen) = (zone.clone(), queries.clone(), asked.clone());
        let udp = Arc::new(udp);
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                    continue;
                };
                q.fetch_add(1, Ordering::SeqCst);
                let Some(resp) = answer(&z, &buf[..n], &seen, true) else {
                    continue;
                };
                if delay.is_zero() {
                    let _ = udp.send_to(&resp, peer).await;
                } else {
                    let udp = udp.clone();
                    tokio::spawn(async move {
                        crate::sim::pause(delay).await;
                        let _ = udp.send_to(&resp, peer).await;
                    });
                }
            }
        });
        let (z, q, seen) = (zone, queries.clone(), asked.clone());
        let tcp_task = tokio::spawn(async move {
            while let Ok((mut s, _)) = tcp.accept().await {
                let (z, q, seen) = (z.clone(), q.clone(), seen.clone());
                tokio::spawn(async move {
                    loop {
                        let mut len = [0u8; 2];
                        if s.read_exact(&mut len).await.is_err() {
                            return;
                        }
                        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
                        if s.read_exact(&mut buf).await.is_err() {
                            return;
                        }
                        q.fetch_add(1, Ordering::SeqCst);
                        match answer(&z, &buf, &seen, false) {
                            Some(resp) => {
                                if !delay.is_zero() {
                                    crate::sim::pause(delay).await;
                                }
                                let mut out = (resp.len() as u16).to_be_bytes().to_vec();
                                out.extend_from_slice(&resp);
                                if s.write_all(&out).await.is_err() {
                                    return;
                                }
                            }
                            None => {
                                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                                return;
                            }
                        }
                    }
                });
            }
        });
        Ok(DnsServer {
            addr,
            queries,
            asked,
            tasks: vec![udp_task, tcp_task],
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queries received so far (UDP and TCP).
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    /// Queries received for `name` (any case, with or without the trailing dot) of
    /// type `rtype` ("MX", "SRV", "A"...).
    pub fn asked(&self, name: &str, rtype: &str) -> usize {
        self.asked
            .lock()
            .map(|m| {
                m.get(&(key(name), rtype.to_ascii_uppercase()))
                    .copied()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    }
}

/// The wire answer to one query, or None to stay silent. Over UDP an answer larger
/// than the client accepts goes out truncated (TC, no records), so the client asks
/// again over TCP, as with a real server.
fn answer(zone: &Zone, packet: &[u8], asked: &Asked, udp: bool) -> Option<Vec<u8>> {
    let req = Message::from_vec(packet).ok()?;
    let bytes = full_answer(zone, &req, asked)?;
    if !udp || bytes.len() <= usize::from(req.max_payload()) {
        return Some(bytes);
    }
    Message::from_vec(&bytes).ok()?.truncate().to_bytes().ok()
}

fn full_answer(zone: &Zone, req: &Message, asked: &Asked) -> Option<Vec<u8>> {
    let q = req.queries.first()?.clone();
    let seen = asked
        .lock()
        .map(|mut m| {
            let n = m
                .entry((key(&q.name().to_ascii()), q.query_type().to_string()))
                .or_default();
            *n += 1;
            *n
        })
        .unwrap_or(1);
    let mut resp = Message::new(req.id, MessageType::Response, OpCode::Query);
    resp.metadata.recursion_desired = req.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.metadata.authoritative = true;
    resp.add_query(q.clone());
    let name = key(&q.name().to_ascii());
    match zone.names.get(&name) {
        None | Some(Behaviour::NxDomain) => {
            resp.metadata.response_code = ResponseCode::NXDomain;
            resp.add_authority(soa(q.name().base_name())?);
        }
        Some(Behaviour::ServFail) => {
            resp.metadata.response_code = ResponseCode::ServFail;
        }
        Some(Behaviour::Drop) => return None,
        Some(Behaviour::AliasOnly(target)) => {
            resp.metadata.response_code = ResponseCode::NoError;
            let target_name = Name::from_str(&format!("{target}.")).ok()?;
            resp.add_answer(Record::from_rdata(
                q.name().clone(),
                300,
                RData::CNAME(CNAME(target_name)),
            ));
        }
        Some(Behaviour::LoseFirst(_)) if seen == 1 => return None,
        Some(Behaviour::SilentFor(rtype, _)) if q.query_type().to_string() == *rtype => {
            return None
        }
        Some(Behaviour::Records(recs))
        | Some(Behaviour::LoseFirst(recs))
        | Some(Behaviour::SilentFor(_, recs)) => {
            resp.metadata.response_code = ResponseCode::NoError;
            // Another type asked of an alias: the chain, then the target's records
            // of that type, as a recursive server answers (RFC 1034 3.6.2).
            let mut owner = q.name().clone();
            let mut recs = recs.clone();
            for _ in 0..8 {
                let next = recs.iter().find_map(|r| match r {
                    Rec::Cname(c) if q.query_type() != RecordType::CNAME => Some(c.clone()),
                    _ => None,
                });
                let Some(target) = next else { break };
                let target_name = Name::from_str(&format!("{target}.")).ok()?;
                resp.add_answer(Record::from_rdata(
                    owner.clone(),
                    300,
                    RData::CNAME(CNAME(target_name.clone())),
                ));
                owner = target_name;
                recs = match zone.names.get(&key(&target)) {
                    Some(Behaviour::Records(r)) => r.clone(),
                    _ => Vec::new(),
                };
            }
            let answers_before = resp.answers.len();
            for r in &recs {
                let rdata = match (r, q.query_type()) {
                    (Rec::Ip(IpAddr::V4(ip)), RecordType::A) => RData::A(A(*ip)),
                    (Rec::Ip(IpAddr::V6(ip)), RecordType::AAAA) => RData::AAAA(AAAA(*ip)),
                    (Rec::Mx(p, host), RecordType::MX) => {
                        RData::MX(MX::new(*p, Name::from_str(&format!("{host}.")).ok()?))
                    }
                    (Rec::Txt(t), RecordType::TXT) => RData::TXT(TXT::new(vec![t.clone()])),
                    (Rec::Cname(c), RecordType::CNAME) => {
                        RData::CNAME(CNAME(Name::from_str(&format!("{c}.")).ok()?))
                    }
                    (Rec::Srv(p, w, port, target), RecordType::SRV) => {
                        let t = if target == "." {
                            Name::root()
                        } else {
                            Name::from_str(&format!("{target}.")).ok()?
                        };
                        RData::SRV(SRV::new(*p, *w, *port, t))
                    }
                    _ => continue,
                };
                resp.add_answer(Record::from_rdata(owner.clone(), 300, rdata));
            }
            if resp.answers.len() == answers_before {
                // NODATA: the SOA in the authority section says so (RFC 2308).
                resp.add_authority(soa(owner.base_name())?);
            }
        }
    }
    resp.to_bytes().ok()
}

/// The SOA record a negative answer carries (RFC 2308), for the zone `owner`:
/// negative answers may be kept 300 s.
fn soa(owner: Name) -> Option<Record> {
    let soa = hickory_proto::rr::rdata::SOA::new(
        Name::from_str("ns.test.").ok()?,
        Name::from_str("hostmaster.test.").ok()?,
        1,
        3600,
        600,
        86400,
        300,
    );
    Some(Record::from_rdata(owner, 300, RData::SOA(soa)))
}
