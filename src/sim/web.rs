//! A small HTTPS server on 127.0.0.1 for the tests: it answers GET requests from a
//! table of routes, keyed by the request's Host header and its path (without the
//! query), each with a status, a body, an optional `Location` and an optional
//! delay before the answer. It keeps every request head it received, so a test can
//! show what a client sent (and that no secret was among it).
//!
//! It serves what it is given and nothing else; an unknown route is a 404.

use crate::sim::pki::ServerCert;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// One answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub location: Option<String>,
    /// Waits this long before answering (a slow server).
    pub delay: Duration,
}

impl Reply {
    pub fn xml(body: &str) -> Reply {
        Reply {
            status: 200,
            content_type: "application/xml",
            body: body.to_string(),
            location: None,
            delay: Duration::ZERO,
        }
    }
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: String::new(),
            location: None,
            delay: Duration::ZERO,
        }
    }
    pub fn redirect(location: &str) -> Reply {
        Reply {
            location: Some(location.to_string()),
            ..Reply::status(302)
        }
    }
    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// Routes: (host, path) -> reply. Hosts any case, without a port.
#[derive(Debug, Clone, Default)]
pub struct Site {
    routes: HashMap<(String, String), Reply>,
}

impl Site {
    pub fn new() -> Site {
        Site::default()
    }
    pub fn route(mut self, host: &str, path: &str, reply: Reply) -> Site {
        self.routes
            .insert((host.to_ascii_lowercase(), path.to_string()), reply);
        self
    }
}

pub struct WebServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        404 => "Not Found",
        _ => "Status",
    }
}

impl WebServer {
    /// Starts serving `site` on 127.0.0.1 (ephemeral port) with `cert`.
    pub async fn start(cert: &ServerCert, site: Site) -> std::io::Result<WebServer> {
        let cfg = cert
            .server_config()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests: Arc<Mutex<Vec<String>>> = Default::default();
        let seen = requests.clone();
        let site = Arc::new(site);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, site, seen) = (acceptor.clone(), site.clone(), seen.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some(head) = super::read_head(&mut tls).await else {
                        return;
                    };
                    if let Ok(mut v) = seen.lock() {
                        v.push(head.clone());
                    }
                    let target = head.split_whitespace().nth(1).unwrap_or("/");
                    let path = target.split('?').next().unwrap_or("/").to_string();
                    let host = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("host").then(|| v.trim().to_string())
                        })
                        .unwrap_or_default();
                    let host = host
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    let reply = site
                        .routes
                        .get(&(host, path))
                        .cloned()
                        .unwrap_or_else(|| Reply::status(404));
                    if !reply.delay.is_zero() {
                        tokio::time::sleep(reply.delay).await;
                    }
                    let location = reply
                        .location
                        .as_deref()
                        .map(|l| format!("Location: {l}\r\n"))
                        .unwrap_or_default();
                    let resp = format!(
                        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\n{location}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                        reply.status,
                        reason(reply.status),
                        reply.content_type,
                        reply.body.len(),
                        reply.body
                    );
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Ok(WebServer {
            addr,
            requests,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request head received so far (request line and headers).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|v| v.clone()).unwrap_or_default()
    }
}
