//! A small HTTP CONNECT proxy on 127.0.0.1 for the proxy tests. It opens the
//! tunnels it is asked for (every host name leads to 127.0.0.1, at the port
//! asked), or refuses, asks for credentials, or stays silent. It counts the
//! connections it accepts and the tunnels it carries, and keeps every request
//! head and every byte a client sent it, so a test can look for a secret in them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with a CONNECT request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Tunnel,
    /// `403 Forbidden`, as a proxy's access rules answer.
    Refuse,
    /// `407 Proxy Authentication Required`.
    AuthRequired,
    /// Accepts the connection and never answers.
    Silent,
}

#[derive(Debug, Clone, Default)]
pub struct Log {
    pub connections: usize,
    pub tunnels: usize,
    /// The request heads, as received.
    pub requests: Vec<String>,
    /// Every byte clients sent, heads and tunnelled bytes alike.
    pub received: Vec<u8>,
}

pub struct ConnectProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl ConnectProxy {
    pub fn start(mode: Mode) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Log::default()));
        let l = log.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                l.lock().expect("log").connections += 1;
                let l = l.clone();
                std::thread::spawn(move || serve(client, mode, &l));
            }
        });
        ConnectProxy { addr, log }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the proxy has seen so far.
    pub fn log(&self) -> Log {
        self.log.lock().expect("log").clone()
    }
}

fn record(log: &Mutex<Log>, bytes: &[u8]) {
    log.lock().expect("log").received.extend_from_slice(bytes);
}

fn serve(mut client: TcpStream, mode: Mode, log: &Arc<Mutex<Log>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    record(log, &head);
    let text = String::from_utf8_lossy(&head).into_owned();
    log.lock().expect("log").requests.push(text.clone());
    let reply: &[u8] = match mode {
        Mode::Silent => {
            std::thread::sleep(Duration::from_secs(20));
            return;
        }
        Mode::Refuse => b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        Mode::AuthRequired => b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n",
        Mode::Tunnel => b"",
    };
    if !reply.is_empty() {
        let _ = client.write_all(reply);
        return;
    }
    // "CONNECT host:port HTTP/1.1": every host is 127.0.0.1 here.
    let port = text
        .split_whitespace()
        .nth(1)
        .and_then(|t| t.rsplit_once(':'))
        .and_then(|(_, p)| p.parse::<u16>().ok());
    let Some(upstream) = port.and_then(|p| TcpStream::connect(("127.0.0.1", p)).ok()) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    log.lock().expect("log").tunnels += 1;
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let _ = client.set_read_timeout(None);
    let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up_log = log.clone();
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = client_r.read(&mut buf) {
            if n == 0 || upstream_w.write_all(&buf[..n]).is_err() {
                break;
            }
            record(&up_log, &buf[..n]);
        }
        let _ = upstream_w.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_r, mut client_w) = (upstream, client);
    let mut buf = [0u8; 8192];
    while let Ok(n) = upstream_r.read(&mut buf) {
        if n == 0 || client_w.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client_w.shutdown(std::net::Shutdown::Write);
    let _ = pump.join();
}
