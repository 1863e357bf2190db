//! The HTTP front (hyper, HTTP/1.1): routes `/probe`, `/metrics`, `/-/healthy`,
//! `POST /-/reload` (from a loopback address only) and a small landing page.
//! Requests are bounded: each request head (the first, and each after a
//! keep-alive pause) must arrive within `HEADER_TIMEOUT` and fit in `MAX_HEAD`
//! bytes, a request with a body is refused, open connections are capped, the
//! oldest idle one giving way to a new one, and a small reserve answering health
//! and metrics while every other one is busy (`conns`), and only the parameters
//! `target` and `module` are accepted (an unknown parameter is refused without
//! echoing its name or value: it could hold a credential).
//!
//! Graceful shutdown stops accepting, lets the requests in progress finish, and
//! closes idle connections. The front never decides about probes; `scrape` does.

use super::conns::{Busy, Conns};
use super::{scrape, Server};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;

/// The whole request head (request line and headers) must arrive within this,
/// counted from the connection's start or the end of its previous answer: an
/// idle connection is closed after it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The most bytes of a request head (hyper's smallest buffer).
pub const MAX_HEAD: usize = 8192;
/// The longest value of a query parameter.
const MAX_PARAM: usize = 512;

/// An answer, before it becomes a hyper response.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }
    pub fn exposition(body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body,
            headers: Vec::new(),
        }
    }
    pub fn header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

pub struct Front {
    server: Arc<Server>,
    connections: Arc<Conns>,
    graceful: GracefulShutdown,
}

impl Front {
    pub fn new(server: Arc<Server>) -> Front {
        let connections = Arc::new(Conns::new(server.opts.max_connections));
        Front {
            server,
            connections,
            graceful: GracefulShutdown::new(),
        }
    }

    /// Accepts one connection and serves it in a task of its own; when
    /// `max_connections` are open, the oldest idle one is shed to make room.
    pub async fn accept_one(&self, listener: &tokio::net::TcpListener) {
        let Ok((tcp, peer)) = listener.accept().await else {
            // Out of file descriptors and the like: do not spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        };
        let Some(ticket) = self.connections.admit() else {
            // Every open connection, the reserve's included, has a request in
            // progress: this one waits for none of them, it is closed at once.
            self.server.metrics.error("overloaded");
            return;
        };
        let _ = tcp.set_nodelay(true);
        let server = self.server.clone();

        let busy = ticket.busy.clone();
        let local = peer.ip().to_canonical().is_loopback();
        let reserve = ticket.reserve;
        let service = hyper::service::service_fn(move |req| {
            let server = server.clone();
            let busy = Busy::new(&busy);
            async move {
                let reply = respond(&server, req, local, reserve).await;
                drop(busy);
                Ok::<_, std::convert::Infallible>(reply)
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(MAX_HEAD)
            // A reserve connection serves one request.
            .keep_alive(!reserve)
            .serve_connection(TokioIo::new(tcp), service);
        let conn = self.graceful.watch(conn);
        let (conns, id) = (self.connections.clone(), ticket.id);
        let task = tokio::spawn(async move {
            let _ = conn.await;
            conns.remove(id);
        });
        self.connections.attach(id, task.abort_handle());
    }

    /// Waits until every connection has finished its request in progress.
    pub async fn shutdown(self) {
        self.graceful.shutdown().await;
    }
}

/// `reserve`: the connection came from the reserve (`conns::RESERVE`), every
/// other one having a request in progress: nothing that starts a probe or a
/// reload is served on it.
async fn respond(
    server: &Arc<Server>,
    req: Request<Incoming>,
    local: bool,
    reserve: bool,
) -> Response<Full<Bytes>> {
    let reply = if reserve && matches!(req.uri().path(), "/probe" | "/-/reload") {
        server.metrics.error("overloaded");
        Reply::text(
            503,
            &format!(
                "Busy: every connection (--max-connections {}) has a request in progress. Try again shortly; /-/healthy and /metrics are still answered.\n",
                server.opts.max_connections
            ),
        )
        .header("retry-after", "1".into())
    } else {
        route(server, &req, local).await
    };
    let mut b = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", reply.content_type)
        .header("cache-control", "no-store");
    for (k, v) in &reply.headers {
        b = b.header(*k, v.as_str());
    }
    b.body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"internal error\n"))))
}

/// `local`: the client connected from a loopback address.
async fn route(server: &Arc<Server>, req: &Request<Incoming>, local: bool) -> Reply {
    let has_body = req
        .headers()
        .get("content-length")
        .is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key("transfer-encoding");
    if has_body {
        server.metrics.error("bad_request");
        return Reply::text(413, "This server takes no request bodies.\n")
            .header("connection", "close".into());
    }
    let path = req.uri().path();
    if path == "/-/reload" {
        return reload(server, req.method(), local).await;
    }
    let head_ok = matches!(path, "/" | "/-/healthy" | "/-/ready") && req.method() == Method::HEAD;
    if req.method() != Method::GET && !head_ok {
        server.metrics.error("bad_request");
        return Reply::text(405, "Only GET is served.\n").header("allow", "GET".into());
    }
    match path {
        "/probe" => probe(server, req).await,
        "/metrics" => {
            let cfg = server.config();
            let modules: Vec<String> = cfg.modules.iter().cloned().collect();
            let mut body = Vec::new();
            let _ = server.metrics.render(&modules, server.running(), &mut body);
            Reply::exposition(body)
        }
        "/-/healthy" => Reply::text(200, "Healthy\n"),
        "/-/ready" => Reply::text(200, "Ready\n"),
        "/" => Reply {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: LANDING.as_bytes().to_vec(),
            headers: Vec::new(),
        },
        _ => Reply::text(
            404,
            "Not found. This server answers /probe, /metrics and /-/healthy.\n",
        ),
    }
}

/// `POST /-/reload`: loads the config file again, as SIGHUP does (the one way on
/// Windows). Only from the machine itself: a remote client could otherwise make
/// the server re-read its secrets at will. A refused config leaves the old one in
/// force; the reason is in the log, not in the answer.
async fn reload(server: &Arc<Server>, method: &Method, local: bool) -> Reply {
    if method != Method::POST {
        server.metrics.error("bad_request");
        return Reply::text(405, "Reload with POST.\n").header("allow", "POST".into());
    }
    if !local {
        server.metrics.error("bad_request");
        return Reply::text(
            403,
            "A reload is accepted only from this machine (a loopback address).\n",
        );
    }
    let s = server.clone();
    match tokio::task::spawn_blocking(move || s.reload()).await {
        Ok(Ok(n)) => Reply::text(200, &format!("Reloaded: {n} targets.\n")),
        Ok(Err(_)) | Err(_) => Reply::text(
            500,
            "The new config was refused; the previous one stays in force (the log says why).\n",
        ),
    }
}

const LANDING: &str = "<!DOCTYPE html>\n<html><head><title>mailbox-doctor serve</title></head><body>\n<h1>mailbox-doctor serve</h1>\n<p>Probe a configured mailbox: <code>/probe?target=ADDRESS[&amp;module=NAME]</code></p>\n<p><a href=\"/metrics\">Metrics</a> of the exporter itself; <a href=\"/-/healthy\">health</a>.</p>\n</body></html>\n";

async fn probe(server: &Arc<Server>, req: &Request<Incoming>) -> Reply {
    let params = match parse_query(req.uri().query().unwrap_or("")) {
        Ok(p) => p,
        Err(why) => {
            server.metrics.error("bad_request");
            return Reply::text(400, &why);
        }
    };
    let mut target = None;
    let mut module = None;
    for (k, v) in &params {
        let slot = match k.as_str() {
            "target" => &mut target,
            "module" => &mut module,
            _ => {
                server.metrics.error("bad_request");
                // Neither its name nor its value: either could hold a secret
                // (`password%3D...` decodes to a name).
                return Reply::text(
                    400,
                    "Unknown parameter: /probe takes only target and module (/probe?target=ADDRESS[&module=NAME]). Secrets are read from the config file, never from a URL.\n",
                );
            }
        };
        if slot.replace(v.as_str()).is_some() {
            server.metrics.error("bad_request");
            return Reply::text(400, &format!("The parameter {k} is given twice.\n"));
        }
    }
    let Some(target) = target.filter(|t| !t.trim().is_empty()) else {
        server.metrics.error("bad_request");
        return Reply::text(
            400,
            "Target parameter is missing: /probe?target=ADDRESS[&module=NAME].\n",
        );
    };
    let scrape_timeout = req
        .headers()
        .get("x-prometheus-scrape-timeout-seconds")
        .map(|v| v.to_str().unwrap_or("?"));
    scrape::handle(
        server,
        scrape::Asked {
            target,
            module: module.filter(|m| !m.is_empty()),
            scrape_timeout,
        },
    )
    .await
}

/// Splits and decodes a query string (`+` is a space, `%XX` a byte).
pub fn parse_query(q: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        if out.len() >= 8 {
            return Err("Too many query parameters.\n".into());
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if v.len() > MAX_PARAM {
            return Err(format!(
                "A query parameter is longer than {MAX_PARAM} bytes.\n"
            ));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, String> {
    let bad = || "The query string is not valid percent-encoded UTF-8.\n".to_string();
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    let s = String::from_utf8(out).map_err(|_| bad())?;
    if s.chars().any(char::is_control) {
        return Err("The query string holds control characters.\n".into());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_and_bad_ones_are_refused() {
        let p = parse_query("target=scanner%40contoso.com&module=m+1").expect("parses");
        assert_eq!(
            p,
            vec![
                ("target".to_string(), "scanner@contoso.com".to_string()),
                ("module".to_string(), "m 1".to_string())
            ]
        );
        for bad in ["target=%zz", "target=%4", "target=%ff%fe", "target=a%0Ab"] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
        let long = format!("target={}", "a".repeat(600));
        assert!(parse_query(&long).is_err());
    }
}
