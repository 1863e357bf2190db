//! TCP connect over the resolved addresses, Happy Eyeballs style (RFC 8305): the
//! next address starts 250 ms after the previous one (at once when it fails), the
//! first to answer wins, and the others are dropped. At most `PER_FAMILY`
//! addresses of each family are tried, and the whole connect has one deadline (the
//! step timeout), so a dead IPv6 route costs 250 ms, not a whole timeout, and a name
//! with a thousand dead addresses costs one timeout, not a thousand. Refused, timed
//! out and unreachable are told apart. Sets TCP_NODELAY: every line the clients
//! send is a whole command, and Nagle would only add latency to each round trip.
//!
//! This module only connects; it reads and writes nothing.

use futures::stream::{FuturesUnordered, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpStream;

/// Delay before the next address is tried while the previous one is pending.
pub const STAGGER: Duration = Duration::from_millis(250);
/// Addresses tried per family (IPv4, IPv6), in the order the resolver gave them.
pub const PER_FAMILY: usize = 2;

/// Why no address answered (the most telling failure across all of them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Unreachable(String),
    /// This machine could not open another socket (EMFILE, ENFILE): the network
    /// was never tried.
    #[error("{0}")]
    Local(String),
}

impl DialError {
    pub fn code(&self) -> &'static str {
        match self {
            DialError::Refused(_) => "TCP_REFUSED",
            // No route counts as "cannot get through": the same advice applies.
            DialError::Timeout(_) | DialError::Unreachable(_) => "TCP_TIMEOUT",
            DialError::Local(_) => "LOCAL_TOO_MANY_OPEN_FILES",
        }
    }
    /// Which failure to report when several addresses failed differently: a
    /// refusal proves a host answered, a timeout is the firewall story, an
    /// unreachable route (often IPv6 without a route) says least.
    fn rank(&self) -> u8 {
        match self {
            DialError::Refused(_) => 0,
            DialError::Timeout(_) => 1,
            DialError::Unreachable(_) => 2,
            // Says nothing about the server: any answer from the network first.
            DialError::Local(_) => 3,
        }
    }
}

/// IPv4 and IPv6 alternate, each family keeping its order and cut to its first
/// `PER_FAMILY` addresses, starting with the family of the first address.
pub fn interleave(addrs: &[IpAddr]) -> Vec<IpAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut a, mut b): (Vec<IpAddr>, Vec<IpAddr>) =
        addrs.iter().partition(|ip| ip.is_ipv6() == first.is_ipv6());
    a.truncate(PER_FAMILY);
    b.truncate(PER_FAMILY);
    a.reverse();
    b.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    while !a.is_empty() || !b.is_empty() {
        out.extend(a.pop());
        out.extend(b.pop());
    }
    out
}

async fn attempt(
    addr: SocketAddr,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<TcpStream, DialError> {
    match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(DialError::Refused(format!("{addr} refused the connection")))
        }
        // EMFILE (24) and ENFILE (23): no socket for this process or system.
        Ok(Err(e)) if matches!(e.raw_os_error(), Some(23 | 24)) => Err(DialError::Local(format!(
            "no connection to {addr} was tried: this computer may open no more files ({e}; see ulimit -n)"
        ))),
        Ok(Err(e)) => Err(DialError::Unreachable(format!("{addr}: {e}"))),
        Err(_) => Err(DialError::Timeout(format!(
            "{addr} did not answer within {} s (a firewall or the ISP may block port {})",
            timeout.as_secs_f64(),
            addr.port()
        ))),
    }
}

/// Connects to the first of `addrs` that answers on `port`, within `timeout` for
/// the whole connect.
pub async fn dial(addrs: &[IpAddr], port: u16, timeout: Duration) -> Result<TcpStream, DialError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut queue = interleave(addrs)
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port));
    let mut pending = FuturesUnordered::new();
    let mut errors: Vec<DialError> = Vec::new();
    match queue.next() {
        Some(a) => pending.push(attempt(a, deadline, timeout)),
        None => return Err(DialError::Unreachable("no address to connect to".into())),
    }
    loop {
        let stagger = tokio::time::sleep(STAGGER);
        tokio::pin!(stagger);
        tokio::select! {
            done = pending.next() => match done {
                Some(Ok(s)) => return Ok(s),
                Some(Err(e)) => {
                    errors.push(e);
                    match queue.next() {
                        Some(a) => pending.push(attempt(a, deadline, timeout)),
                        None if pending.is_empty() => break,
                        None => {}
                    }
                }
                None => break,
            },
            _ = &mut stagger, if queue.len() > 0 => {
                if let Some(a) = queue.next() {
                    pending.push(attempt(a, deadline, timeout));
                }
            }
        }
    }
    errors.sort_by_key(DialError::rank);
    Err(errors
        .into_iter()
        .next()
        .unwrap_or_else(|| DialError::Unreachable("no address to connect to".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn families_alternate_keeping_their_order() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let got = interleave(&[ip("1.1.1.1"), ip("2.2.2.2"), ip("::1"), ip("::2")]);
        assert_eq!(got, [ip("1.1.1.1"), ip("::1"), ip("2.2.2.2"), ip("::2")]);
        assert!(interleave(&[]).is_empty());
    }

    #[test]
    fn at_most_two_addresses_of_each_family_are_tried() {
        let many: Vec<IpAddr> = (0..1000u32)
            .map(|i| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)))
            .chain([
                "::1".parse().expect("ip"),
                "::2".parse().expect("ip"),
                "::3".parse().expect("ip"),
            ])
            .collect();
        let got = interleave(&many);
        assert_eq!(got.len(), 2 * PER_FAMILY);
        assert_eq!(got[0].to_string(), "10.0.0.0");
        assert_eq!(got[1].to_string(), "::1");
    }

    #[tokio::test]
    async fn the_whole_connect_ends_at_one_timeout() {
        // Unroutable documentation addresses: each either fails at once or hangs.
        let dead: Vec<IpAddr> = (1..=200u8).map(|i| IpAddr::from([192, 0, 2, i])).collect();
        let start = Instant::now();
        let r = dial(&dead, 9, Duration::from_millis(600)).await;
        assert!(r.is_err());
        assert!(
            start.elapsed() < Duration::from_millis(1600),
            "took {:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn a_refused_address_moves_on_at_once_to_the_next() {
        // Same port on two loopback addresses: the first refuses, the second listens.
        let good = tokio::net::TcpListener::bind("127.0.0.2:0").await;
        let Ok(good) = good else {
            return; // no 127.0.0.2 on this machine: nothing to test here
        };
        let port = good.local_addr().expect("addr").port();
        let start = Instant::now();
        let s = dial(
            &[
                "127.0.0.1".parse().expect("ip"),
                "127.0.0.2".parse().expect("ip"),
            ],
            port,
            Duration::from_secs(5),
        )
        .await;
        let s = s.expect("second address answers");
        assert_eq!(s.peer_addr().expect("peer").ip().to_string(), "127.0.0.2");
        assert!(s.nodelay().expect("nodelay"));
        assert!(start.elapsed() < STAGGER, "took {:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_silent_address_costs_the_stagger_not_the_timeout() {
        // A listener whose accept queue is full drops further SYNs: a black hole.
        let hole = tokio::net::TcpSocket::new_v4().expect("socket");
        hole.bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let port = hole.local_addr().expect("addr").port();
        let hole = hole.listen(0).expect("listen");
        let Ok(good) = tokio::net::TcpListener::bind(("127.0.0.2", port)).await else {
            return;
        };
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let c = tokio::time::timeout(
                Duration::from_millis(100),
                TcpStream::connect(("127.0.0.1", port)),
            )
            .await;
            fillers.push(c);
        }
        let start = Instant::now();
        let s = dial(
            &[
                "127.0.0.1".parse().expect("ip"),
                "127.0.0.2".parse().expect("ip"),
            ],
            port,
            Duration::from_secs(5),
        )
        .await
        .expect("second address answers");
        let took = start.elapsed();
        let peer = s.peer_addr().expect("peer").ip().to_string();
        // Where the kernel still completed the first handshake, it simply won.
        assert!(
            peer == "127.0.0.2" || took < STAGGER,
            "{peer} after {took:?}"
        );
        assert!(took < Duration::from_secs(2), "took {took:?}");
        drop((hole, good, fillers));
    }

    #[tokio::test]
    async fn all_refused_is_refused() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let e = dial(
            &["127.0.0.1".parse().expect("ip")],
            port,
            Duration::from_secs(2),
        )
        .await
        .expect_err("nobody listens");
        assert_eq!(e.code(), "TCP_REFUSED");
    }
}
