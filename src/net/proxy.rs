//! HTTPS look-ups through an HTTP proxy, as a locked-down network requires:
//! `HTTPS_PROXY` (or `https_proxy`) names the proxy, `NO_PROXY` (or `no_proxy`)
//! the hosts that bypass it. The proxy is asked with CONNECT to open a tunnel to
//! host:port, and TLS then runs end to end through the tunnel, verified as on a
//! direct connection. The CONNECT exchange has one deadline, as a direct HTTP
//! exchange has.
//!
//! Only the tool's own HTTPS requests use this; the mail protocols never do. The
//! proxy is told the host and port and nothing else: a user name and password in
//! the proxy URL are dropped, never sent and never shown. Loopback targets never
//! go through a proxy (a remote proxy's loopback is not this machine's).

use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest answer head accepted from a proxy.
pub const MAX_HEAD: usize = 16 * 1024;

/// An HTTP proxy, by host and port only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&authority(&self.host, self.port))
    }
}

/// `host:port`, with an IPv6 literal in brackets.
fn authority(host: &str, port: u16) -> String {
    match host.contains(':') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{var} is not a usable proxy: {why}")]
    BadUrl { var: &'static str, why: String },
    #[error("the proxy {proxy} did not answer the CONNECT request within {after:?}")]
    Timeout { proxy: String, after: Duration },
    #[error("the proxy {proxy} refused to open a tunnel to {target}: {status} {reason}")]
    Refused {
        proxy: String,
        target: String,
        status: u16,
        reason: String,
    },
    #[error("the proxy {proxy} requires authentication (407 Proxy Authentication Required); mailbox-doctor sends no proxy credentials")]
    AuthRequired { proxy: String },
    #[error("the proxy {proxy} closed the connection before answering the CONNECT request")]
    Closed { proxy: String },
    #[error("the proxy {proxy} sent a malformed answer to CONNECT: {what}")]
    Malformed { proxy: String, what: String },
    #[error("{host} is not a host name a proxy can be asked for")]
    BadTarget { host: String },
    #[error("I/O error talking to the proxy {proxy}: {source}")]
    Io {
        proxy: String,
        #[source]
        source: std::io::Error,
    },
}

/// The first of `names` set to a non-empty value, with its name.
fn env_any(names: [&'static str; 2]) -> Result<Option<(&'static str, String)>, ProxyError> {
    for var in names {
        let Some(v) = std::env::var_os(var) else {
            continue;
        };
        let v = v.into_string().map_err(|_| ProxyError::BadUrl {
            var,
            why: "the value is not valid UTF-8".into(),
        })?;
        if !v.trim().is_empty() {
            return Ok(Some((var, v)));
        }
    }
    Ok(None)
}

/// The proxy the environment names for HTTPS requests to `host`:`port`, if any;
/// on Windows, when neither variable is set, the system's proxy setting (see
/// `sysproxy`).
pub fn from_env(host: &str, port: u16) -> Result<Option<Proxy>, ProxyError> {
    let proxy = env_any(["HTTPS_PROXY", "https_proxy"])?;
    if proxy.is_none() {
        if let Some(s) = super::sysproxy::read() {
            if s.local_bypass && !normalize(host).contains(['.', ':']) {
                return Ok(None);
            }
            let var = "the system proxy setting (Internet Options)";
            return choose(Some((var, s.url)), Some(&s.no_proxy), host, port);
        }
    }
    let no_proxy = env_any(["NO_PROXY", "no_proxy"])?;
    choose(
        proxy,
        no_proxy.as_ref().map(|(_, v)| v.as_str()),
        host,
        port,
    )
}

/// The proxy for `host`:`port` given the two settings (`(variable, value)` and
/// the NO_PROXY list).
pub fn choose(
    proxy: Option<(&'static str, String)>,
    no_proxy: Option<&str>,
    host: &str,
    port: u16,
) -> Result<Option<Proxy>, ProxyError> {
    let Some((var, url)) = proxy else {
        return Ok(None);
    };
    let host = normalize(host);
    if is_loopback(&host) || no_proxy.is_some_and(|list| bypassed(list, &host, port)) {
        return Ok(None);
    }
    parse_url(var, &url).map(Some)
}

fn normalize(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parses `http://[user:password@]host[:port][/]` or `host[:port]`; the user
/// part is dropped.
pub fn parse_url(var: &'static str, url: &str) -> Result<Proxy, ProxyError> {
    let bad = |why: &str| ProxyError::BadUrl {
        var,
        why: why.to_string(),
    };
    let url = url.trim();
    let rest = match url.split_once("://") {
        None => url,
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
            return Err(bad(
                "a TLS connection to the proxy itself (https://) is not supported; use http://",
            ))
        }
        Some(_) => return Err(bad("only http:// proxies are supported")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials are never used: keep only what follows the last '@'.
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("text after the IPv6 address")),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
    };
    if !valid_host(host) {
        return Err(bad("no valid host name"));
    }
    Ok(Proxy {
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// A DNS name or an IP literal: nothing that could break a request line.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
}

/// Whether NO_PROXY (comma-separated: `*`, domain names that also cover their
/// subdomains, with or without a leading dot, IP addresses and CIDR ranges,
/// each optionally with `:port`) exempts `host` (normalized) on `port`.
pub fn bypassed(no_proxy: &str, host: &str, port: u16) -> bool {
    let ip = host.parse::<IpAddr>().ok();
    no_proxy.split(',').any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        if entry == "*" {
            return true;
        }
        let (pattern, want_port) = split_port(&entry);
        if want_port.is_some_and(|p| p != port) {
            return false;
        }
        let pattern = pattern.trim_start_matches("*.").trim_start_matches('.');
        let pattern = pattern.trim_end_matches('.');
        if pattern.is_empty() {
            return false;
        }
        match (ip, pattern.split_once('/')) {
            (Some(ip), Some((net, bits))) => in_cidr(ip, net, bits),
            (Some(ip), None) => pattern.parse::<IpAddr>().is_ok_and(|p| p == ip),
            (None, _) => host == pattern || host.ends_with(&format!(".{pattern}")),
        }
    })
}

/// `host:port`, `[v6]:port` or a bare entry (an IPv6 address or range has
/// colons of its own).
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(v6) = entry.strip_prefix('[') {
        if let Some((h, after)) = v6.split_once(']') {
            return (h, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(p) => (h, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_cidr(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Asks the proxy at the other end of `stream` to open a tunnel to
/// `host`:`port`; the request and the whole answer head within `timeout`. On Ok
/// the stream is the tunnel.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    proxy: &Proxy,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(), ProxyError> {
    let name = proxy.to_string();
    let host = normalize(host);
    if !valid_host(&host) {
        return Err(ProxyError::BadTarget { host });
    }
    let target = authority(&host, port);
    let request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: mailbox-doctor/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let exchange = async {
        let io = |source| ProxyError::Io {
            proxy: name.clone(),
            source,
        };
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        // Byte by byte: what follows the head belongs to the tunnel.
        let mut head = Vec::with_capacity(256);
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(0) => {
                    return Err(ProxyError::Closed {
                        proxy: name.clone(),
                    })
                }
                Ok(_) => head.push(byte[0]),
                Err(e) => return Err(io(e)),
            }
            if head.len() > MAX_HEAD {
                return Err(ProxyError::Malformed {
                    proxy: name.clone(),
                    what: format!("an answer head longer than {MAX_HEAD} bytes"),
                });
            }
        }
        Ok(head)
    };
    let head = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| ProxyError::Timeout {
            proxy: name.clone(),
            after: timeout,
        })??;
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s));
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        return Err(ProxyError::Malformed {
            proxy: name,
            what: format!("the status line {:?}", crate::net::excerpt(status_line)),
        });
    };
    match status {
        200..=299 => Ok(()),
        407 => Err(ProxyError::AuthRequired { proxy: name }),
        _ => Err(ProxyError::Refused {
            proxy: name,
            target,
            status,
            reason: crate::net::excerpt(parts.next().unwrap_or_default().trim()),
        }),
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
