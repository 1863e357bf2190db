//! A minimal HTTP/1.1 GET client for the identity look-ups (user realm, OpenID
//! configuration). Why not a full HTTP client crate: the look-ups need one GET each,
//! over the tool's own resolver, dialer, TLS verification and per-step timeouts, with
//! hard caps on what a hostile server may send; this keeps all of that in one path.
//!
//! `get` speaks over any stream it is given (plain TCP in tests, TLS in use) and
//! never follows redirects or sends credentials; `get_https` opens that stream,
//! directly or through an HTTP proxy (`net::proxy`). One exchange (the request
//! written, the whole answer read) has one deadline: a server that dribbles a
//! byte at a time is cut off at the timeout, not kept alive by each byte.

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest header block and body accepted.
pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("no answer from {host} within {after:?} ({phase})")]
    Timeout {
        host: String,
        phase: &'static str,
        after: Duration,
    },
    #[error("{host} closed the connection before a complete answer")]
    Closed { host: String },
    #[error("{host} sent a malformed HTTP answer: {what}")]
    Malformed { host: String, what: String },
    #[error("{host} sent more than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    #[error("I/O error talking to {host}: {source}")]
    Io {
        host: String,
        #[source]
        source: std::io::Error,
    },
}

/// Sends `GET path` to `host` over `stream` and reads the whole answer.
pub async fn get<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    path: &str,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let req = Request::plain(path, host);
    exchange(stream, host, &req, timeout).await
}

/// One GET: its path, the Host header, extra header lines and the largest body
/// accepted. A header value may be a secret (an `Authorization` bearer token):
/// the request text is wiped after it is written and no error quotes it.
pub struct Request<'a> {
    pub path: &'a str,
    /// `host` or `host:port`.
    pub host_header: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub max_body: usize,
}

impl<'a> Request<'a> {
    /// `path` on `host`, with no extra header and the usual body limit.
    pub fn plain(path: &'a str, host: &'a str) -> Request<'a> {
        Request {
            path,
            host_header: host,
            headers: &[],
            max_body: MAX_BODY,
        }
    }
}

/// Sends `req` over `stream` and reads the whole answer, all within `timeout`.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    req: &Request<'_>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    send(stream, host, req, None, timeout).await
}

/// Sends `POST path` with a form body (`application/x-www-form-urlencoded`) and
/// reads the whole answer. The body may carry secrets (an OAuth token request):
/// it is written once and wiped; no error repeats it.
pub async fn post_form<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let req = Request::plain(path, host);
    send(stream, host, &req, Some(body), timeout).await
}

/// `req` as a GET, or as a POST of `form` when one is given; then the answer.
async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    req: &Request<'_>,
    form: Option<&str>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let io = |source| HttpError::Io {
        host: host.to_string(),
        source,
    };
    let (method, accept) = match form {
        Some(_) => ("POST", "application/json"),
        None => ("GET", "*/*"),
    };
    let mut request = zeroize::Zeroizing::new(format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mailbox-doctor/{}\r\nAccept: {accept}\r\n",
        req.path,
        req.host_header,
        env!("CARGO_PKG_VERSION")
    ));
    for (k, v) in req.headers {
        request.push_str(k);
        request.push_str(": ");
        request.push_str(v);
        request.push_str("\r\n");
    }
    if let Some(body) = form {
        request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("Connection: close\r\n\r\n");
    if let Some(body) = form {
        request.push_str(body);
    }
    tokio::time::timeout_at(deadline, stream.write_all(request.as_bytes()))
        .await
        .map_err(|_| HttpError::Timeout {
            host: host.into(),
            phase: "sending the request",
            after: timeout,
        })?
        .map_err(io)?;
    drop(request);
    let mut buf = Vec::with_capacity(4096);
    // On the heap, not in the future: many exchanges may be waiting at once.
    let mut chunk = vec![0u8; if req.max_body > MAX_BODY { 65536 } else { 8192 }];
    let limit = MAX_HEAD + req.max_body;
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(|_| HttpError::Timeout {
                host: host.into(),
                phase: "reading the answer",
                after: timeout,
            })?;
        let n = match n {
            Ok(n) => n,
            // A TLS peer that closes without close_notify still sent a full answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(io(e)),
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > limit {
            return Err(HttpError::TooLarge {
                host: host.into(),
                limit,
            });
        }
        // A large body is parsed once it can be complete, not after every read.
        if worth_parsing(&buf) {
            if let Some(resp) = parse_limited(&buf, host, false, req.max_body)? {
                return Ok(resp);
            }
        }
    }
    parse_limited(&buf, host, true, req.max_body)?.ok_or(HttpError::Closed { host: host.into() })
}

/// Whether `buf` may hold a complete answer: its head is not in yet (the parser
/// then says whether it is too large), its Content-Length is reached, or it ends
/// as a chunked body does.
fn worth_parsing(buf: &[u8]) -> bool {
    let Some(head_end) = find(&buf[..buf.len().min(MAX_HEAD + 4)], b"\r\n\r\n") else {
        return true;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "content-length").then(|| v.trim().parse::<usize>().ok())?
    });
    match length {
        Some(len) => buf.len() >= head_end + 4 + len,
        None => buf.ends_with(b"\r\n"),
    }
}

/// Percent-encodes a query value: RFC 3986 unreserved characters and `@` stay
/// (an e-mail address reads as itself), every other byte is `%XX`.
pub fn query_value(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Parses a complete answer from `buf`; Ok(None) when more bytes are needed.
/// `eof` means the peer closed: a body without a length ends there.
pub fn try_parse(buf: &[u8], host: &str, eof: bool) -> Result<Option<Response>, HttpError> {
    parse_limited(buf, host, eof, MAX_BODY)
}

/// `try_parse` with a body of at most `max_body` bytes.
pub fn parse_limited(
    buf: &[u8],
    host: &str,
    eof: bool,
    max_body: usize,
) -> Result<Option<Response>, HttpError> {
    let bad = |what: &str| HttpError::Malformed {
        host: host.into(),
        what: what.into(),
    };
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err(HttpError::TooLarge {
                host: host.into(),
                limit: MAX_HEAD,
            });
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("header is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad("not an HTTP/1.x status line"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| bad("bad status code"))?;
    let mut headers = Vec::new();
    for l in lines {
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| bad("header line without `:`"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body_bytes = &buf[head_end + 4..];
    let body: Vec<u8> =
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            match dechunk(body_bytes, max_body).map_err(&bad)? {
                Some(b) => b,
                None if eof => return Err(HttpError::Closed { host: host.into() }),
                None => return Ok(None),
            }
        } else if let Some(len) = header("content-length") {
            let len: usize = len.parse().map_err(|_| bad("bad Content-Length"))?;
            if len > max_body {
                return Err(HttpError::TooLarge {
                    host: host.into(),
                    limit: max_body,
                });
            }
            if body_bytes.len() < len {
                if eof {
                    return Err(HttpError::Closed { host: host.into() });
                }
                return Ok(None);
            }
            body_bytes[..len].to_vec()
        } else if eof {
            body_bytes.to_vec()
        } else {
            return Ok(None);
        };
    Ok(Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body; Ok(None) when incomplete.
fn dechunk(mut b: &[u8], max_body: usize) -> Result<Option<Vec<u8>>, &'static str> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = find(b, b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        if size > max_body || out.len() + size > max_body {
            return Err("chunked body too large");
        }
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// How an HTTPS request reaches its host: straight to the host's addresses, or
/// through a proxy (at the proxy's addresses) that opens a tunnel with CONNECT.
#[derive(Debug, Clone)]
pub enum Route {
    Direct(Vec<std::net::IpAddr>),
    Proxy {
        proxy: crate::net::proxy::Proxy,
        addrs: Vec<std::net::IpAddr>,
    },
}

/// The route to `host`:`port` that HTTPS_PROXY and NO_PROXY choose, with the
/// addresses to dial (the host's, or the proxy's) resolved by `resolver`.
pub async fn route_for(
    resolver: &crate::net::resolver::Resolver,
    host: &str,
    port: u16,
) -> Result<Route, String> {
    match crate::net::proxy::from_env(host, port).map_err(|e| e.to_string())? {
        Some(proxy) => {
            let addrs = resolver
                .addresses(&proxy.host)
                .await
                .map_err(|e| format!("the proxy {proxy} could not be resolved: {e}"))?;
            Ok(Route::Proxy { proxy, addrs })
        }
        None => resolver
            .addresses(host)
            .await
            .map(Route::Direct)
            .map_err(|e| e.to_string()),
    }
}

/// One HTTPS GET of `path` from `host`:`port` over `route`: connect, the CONNECT
/// exchange when through a proxy, TLS (verified against Mozilla's roots, this
/// machine's store and `extra_roots`), then the exchange, each step within
/// `timeout`.
pub async fn get_https(
    route: &Route,
    host: &str,
    port: u16,
    path: &str,
    extra_roots: &[Vec<u8>],
    timeout: Duration,
) -> Result<Response, String> {
    let req = Request::plain(path, host);
    get_https_with(route, host, port, &req, extra_roots, timeout).await
}

/// `get_https` with the request's own headers and body limit.
pub async fn get_https_with(
    route: &Route,
    host: &str,
    port: u16,
    req: &Request<'_>,
    extra_roots: &[Vec<u8>],
    timeout: Duration,
) -> Result<Response, String> {
    https_exchange(route, host, port, req, extra_roots, timeout)
        .await
        .map_err(|e| e.to_string())
}

/// Why an HTTPS exchange failed: no answer in time (a step's deadline passed),
/// or anything else.
#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Other(String),
}

/// `get_https_with`, telling a timeout from other failures.
pub async fn https_exchange(
    route: &Route,
    host: &str,
    port: u16,
    req: &Request<'_>,
    extra_roots: &[Vec<u8>],
    timeout: Duration,
) -> Result<Response, HttpsError> {
    https_send(route, host, port, req, None, extra_roots, timeout).await
}

/// One HTTPS POST of a form to `host`:`port`, as `get_https` opens it.
pub async fn post_form_https(
    route: &Route,
    host: &str,
    port: u16,
    path: &str,
    body: &str,
    extra_roots: &[Vec<u8>],
    timeout: Duration,
) -> Result<Response, String> {
    let req = Request::plain(path, host);
    https_send(route, host, port, &req, Some(body), extra_roots, timeout)
        .await
        .map_err(|e| e.to_string())
}

/// Connect (directly or through the proxy), verified TLS, then `send`, each
/// step within `timeout`.
async fn https_send(
    route: &Route,
    host: &str,
    port: u16,
    req: &Request<'_>,
    form: Option<&str>,
    extra_roots: &[Vec<u8>],
    timeout: Duration,
) -> Result<Response, HttpsError> {
    let other = HttpsError::Other;
    let tcp = match route {
        Route::Direct(addrs) => crate::net::dial::dial(addrs, port, timeout)
            .await
            .map_err(|e| other(e.to_string()))?,
        Route::Proxy { proxy, addrs } => {
            let mut tcp = crate::net::dial::dial(addrs, proxy.port, timeout)
                .await
                .map_err(|e| other(format!("could not connect to the proxy {proxy}: {e}")))?;
            crate::net::proxy::connect(&mut tcp, proxy, host, port, timeout)
                .await
                .map_err(|e| other(e.to_string()))?;
            tcp
        }
    };
    let cfg = crate::net::tls::client_config(extra_roots).map_err(other)?;
    let connector = tokio_rustls::TlsConnector::from(cfg);
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| other(format!("{host} is not a valid host name")))?;
    let mut tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| HttpsError::Timeout(format!("TLS handshake with {host} timed out")))?
        .map_err(|e| other(format!("TLS with {host}: {e}")))?;
    send(&mut tls, host, req, form, timeout)
        .await
        .map_err(|e| match e {
            HttpError::Timeout { .. } => HttpsError::Timeout(e.to_string()),
            e => other(e.to_string()),
        })
}

/// A parsed `https://host[:port][/base]` URL (the identity platform, Graph).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl {
    pub host: String,
    pub port: u16,
    pub base: String,
}

impl HttpsUrl {
    /// `host`, or `host:port` when the port is not 443: the Host header.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 443 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Parses an `https://` URL; None for any other scheme or a bad port.
pub fn parse_https_url(url: &str) -> Option<HttpsUrl> {
    let rest = url.strip_prefix("https://")?;
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/').to_string()),
        None => (rest, String::new()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => (h, p.parse().ok()?),
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| HttpsUrl {
        host: host.to_string(),
        port,
        base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_chunked_and_eof_bodies() {
        let r = try_parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
            "h",
            false,
        )
        .expect("ok")
        .expect("complete");
        assert_eq!((r.status, r.body.as_str()), (200, "hi"));
        let r = try_parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3\r\n th\r\n0\r\n\r\n",
            "h",
            false,
        )
        .expect("ok")
        .expect("complete");
        assert_eq!(r.body, "hi th");
        assert!(try_parse(b"HTTP/1.1 200 OK\r\n\r\nabc", "h", false)
            .expect("ok")
            .is_none());
        let r = try_parse(b"HTTP/1.1 404 Not Found\r\n\r\nabc", "h", true)
            .expect("ok")
            .expect("complete");
        assert_eq!((r.status, r.body.as_str()), (404, "abc"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 abc\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ] {
            assert!(try_parse(bad, "h", true).is_err(), "{bad:?}");
        }
        let huge = vec![b'a'; MAX_HEAD + 10];
        assert!(matches!(
            try_parse(&huge, "h", false),
            Err(HttpError::TooLarge { .. })
        ));
    }

    #[tokio::test]
    async fn get_over_a_real_loopback_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut req = vec![0u8; 1024];
            let n = s.read(&mut req).await.expect("read");
            let req = String::from_utf8_lossy(&req[..n]).to_string();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                .await
                .expect("write");
            req
        });
        let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let r = get(&mut c, "login.example", "/x?y=1", Duration::from_secs(2))
            .await
            .expect("get");
        assert_eq!(r.body, "hello");
        let req = server.await.expect("join");
        assert!(
            req.starts_with("GET /x?y=1 HTTP/1.1\r\nHost: login.example\r\n"),
            "{req}"
        );
    }

    #[tokio::test]
    async fn a_dribbling_server_is_cut_off_at_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                .iter()
                .cycle()
            {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let start = std::time::Instant::now();
        let r = get(&mut c, "h", "/", Duration::from_millis(500)).await;
        assert!(matches!(r, Err(HttpError::Timeout { .. })), "{r:?}");
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "{:?}",
            start.elapsed()
        );
    }
}
