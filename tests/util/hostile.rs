//! Hostile and broken servers on 127.0.0.1, as a table: tests/hostile.rs checks
//! each one's diagnosis and time budget, tests/sweep.rs runs every one of them in
//! every output format looking for a leaked secret.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

pub struct Hostile {
    pub name: &'static str,
    /// The endpoint flag and URL scheme the tool is pointed with.
    pub flag: &'static str,
    pub scheme: &'static str,
    /// Network steps on the branch before the tool must give up: the run ends
    /// within `--timeout` x steps + 1 s.
    pub steps: u64,
    /// What the server does with each connection; None: nothing listens.
    pub behave: Option<fn(std::net::TcpStream)>,
}

fn megabyte_line(mut s: std::net::TcpStream) {
    let _ = s.write_all(&vec![b'A'; 1 << 20]);
    std::thread::sleep(Duration::from_secs(5));
}

fn endless_continuation(mut s: std::net::TcpStream) {
    for _ in 0..100_000 {
        if s.write_all(b"220-still greeting you\r\n").is_err() {
            return;
        }
    }
}

fn silent(s: std::net::TcpStream) {
    std::thread::sleep(Duration::from_secs(20));
    drop(s);
}

fn garbage(mut s: std::net::TcpStream) {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i * 7919 % 251) as u8)
        .chain([b'\n'])
        .collect();
    let _ = s.write_all(&junk);
    std::thread::sleep(Duration::from_secs(5));
}

fn smtp_close_after_greeting(mut s: std::net::TcpStream) {
    let _ = s.write_all(b"220 mail.example.test ESMTP\r\n");
    let mut b = [0u8; 64];
    let _ = s.read(&mut b);
}

fn pop_close_after_greeting(mut s: std::net::TcpStream) {
    let _ = s.write_all(b"+OK ready\r\n");
}

fn one_byte_a_second(mut s: std::net::TcpStream) {
    for b in b"220 slow.example.test ESMTP\r\n" {
        if s.write_all(&[*b]).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn endless_imap_untagged(mut s: std::net::TcpStream) {
    let _ = s.write_all(b"* OK ready\r\n");
    let mut b = [0u8; 256];
    let _ = s.read(&mut b);
    for _ in 0..1_000_000 {
        if s.write_all(b"* 1 EXISTS\r\n").is_err() {
            return;
        }
    }
}

fn huge_imap_literal(mut s: std::net::TcpStream) {
    let _ = s.write_all(b"* OK ready\r\n");
    let mut b = [0u8; 256];
    let _ = s.read(&mut b);
    let _ = s.write_all(b"* CAPABILITY {100000000}\r\n");
    std::thread::sleep(Duration::from_secs(5));
}

fn endless_pop_capa(mut s: std::net::TcpStream) {
    let _ = s.write_all(b"+OK ready\r\n");
    let mut b = [0u8; 256];
    let _ = s.read(&mut b);
    let _ = s.write_all(b"+OK\r\n");
    for _ in 0..1_000_000 {
        if s.write_all(b"X-MORE\r\n").is_err() {
            return;
        }
    }
}

fn wide_continuation(mut s: std::net::TcpStream) {
    let wide = format!("220-{}\r\n", "W".repeat(15_000));
    for _ in 0..1_000 {
        if s.write_all(wide.as_bytes()).is_err() {
            return;
        }
    }
}

pub const HOSTILE: &[Hostile] = &[
    Hostile {
        name: "megabyte-line",
        flag: "--smtp",
        scheme: "smtp",
        steps: 2,
        behave: Some(megabyte_line),
    },
    Hostile {
        name: "endless-continuation",
        flag: "--smtp",
        scheme: "smtp",
        steps: 2,
        behave: Some(endless_continuation),
    },
    Hostile {
        // Greeting (1 step) + a TLS probe on the same connection (1 step).
        name: "silent",
        flag: "--smtp",
        scheme: "smtp",
        steps: 2,
        behave: Some(silent),
    },
    Hostile {
        name: "garbage-smtp",
        flag: "--smtp",
        scheme: "smtp",
        steps: 2,
        behave: Some(garbage),
    },
    Hostile {
        name: "garbage-imap",
        flag: "--imap",
        scheme: "imap",
        steps: 2,
        behave: Some(garbage),
    },
    Hostile {
        name: "smtp-close-after-greeting",
        flag: "--smtp",
        scheme: "smtp",
        steps: 3,
        behave: Some(smtp_close_after_greeting),
    },
    Hostile {
        name: "pop-close-after-greeting",
        flag: "--pop",
        scheme: "pop3",
        steps: 3,
        behave: Some(pop_close_after_greeting),
    },
    Hostile {
        name: "one-byte-a-second",
        flag: "--smtp",
        scheme: "smtp",
        steps: 2,
        behave: Some(one_byte_a_second),
    },
    Hostile {
        name: "refused",
        flag: "--smtp",
        scheme: "smtp",
        steps: 1,
        behave: None,
    },
    Hostile {
        name: "endless-imap-untagged",
        flag: "--imap",
        scheme: "imap",
        steps: 2,
        behave: Some(endless_imap_untagged),
    },
    Hostile {
        name: "huge-imap-literal",
        flag: "--imap",
        scheme: "imap",
        steps: 2,
        behave: Some(huge_imap_literal),
    },
    Hostile {
        name: "endless-pop-capa",
        flag: "--pop",
        scheme: "pop3",
        steps: 2,
        behave: Some(endless_pop_capa),
    },
    Hostile {
        name: "wide-continuation",
        flag: "--smtp",
        scheme: "smtp",
        steps: 2,
        behave: Some(wide_continuation),
    },
];

pub fn named(name: &str) -> &'static Hostile {
    HOSTILE
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no hostile server {name}"))
}

/// Serves every connection with `behave` on a thread; returns the port.
pub fn serve(behave: fn(std::net::TcpStream)) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || behave(s));
        }
    });
    port
}

/// A port nothing listens on (bound, read, released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Hostile {
    /// Starts the server; returns the URL to point the tool at.
    pub fn start(&self) -> String {
        let port = match self.behave {
            Some(b) => serve(b),
            None => closed_port(),
        };
        format!("{}://127.0.0.1:{port}", self.scheme)
    }
}
