//! Hostile and broken servers on 127.0.0.1, as a table: servers that flood,
//! dribble, never answer, send garbage or terminal escapes, announce IMAP literals
//! that never end, and servers that echo what the client sent (the AUTH PLAIN
//! blob, the AUTH LOGIN password, the LOGIN line, the XOAUTH2 payload, decoded or
//! in every other encoding) in their refusals. tests/hostile.rs checks each one's
//! diagnosis; tests/sweep.rs runs every one in every output format, with and
//! without `--transcript`, with a password and a token, and checks that no form of
//! either shows anywhere, that the server saw at most one login, that the run ended
//! within its budget, that no raw control character came out, and the exit code.
//!
//! The servers' texts are made up for these tests (no real server says them).

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What a server saw.
#[derive(Default)]
pub struct Seen {
    pub connections: AtomicUsize,
    /// Authentication commands (AUTH, PASS, LOGIN, AUTHENTICATE) over all connections.
    pub auth: AtomicUsize,
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One client connection, as the hostile server sees it.
pub struct Peer {
    io: BufReader<Box<dyn Stream>>,
    seen: Arc<Seen>,
}

fn is_auth(line: &str) -> bool {
    let upper = line.to_ascii_uppercase();
    let mut words = upper.split(' ');
    let first = words.next().unwrap_or_default();
    let second = words.next().unwrap_or_default();
    matches!(first, "AUTH" | "PASS") || matches!(second, "LOGIN" | "AUTHENTICATE")
}

impl Peer {
    /// Writes raw bytes; false once the client is gone.
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        let w = self.io.get_mut();
        w.write_all(bytes).is_ok() && w.flush().is_ok()
    }

    /// One line from the client, without its line ending; None at the end.
    pub fn line(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        match self.io.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let line = text.trim_end_matches(['\r', '\n']).to_string();
                if is_auth(&line) {
                    self.seen.auth.fetch_add(1, Ordering::SeqCst);
                }
                Some(line)
            }
        }
    }

    /// Keeps the connection open, reading and ignoring, for `secs` at most.
    pub fn hold(&mut self, secs: u64) {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        while std::time::Instant::now() < end && self.line().is_some() {}
    }
}

/// The test PKI: one CA for the whole test process, its PEM in a file.
pub struct TestPki {
    pub config: Arc<rustls::ServerConfig>,
    pub ca_file: tempfile::NamedTempFile,
}

pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = mailbox_doctor::sim::pki::Pki::new().expect("pki");
        let config = pki
            .server_config(
                mailbox_doctor::sim::pki::CertKind::Valid,
                &["127.0.0.1", "localhost"],
            )
            .expect("cert");
        let ca_file = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(ca_file.path(), pki.ca.pem()).expect("ca");
        TestPki { config, ca_file }
    })
}

pub struct Hostile {
    pub name: &'static str,
    /// The flag the server is given with (`--smtp`, `--imap`, `--pop`,
    /// `--identity-url`), its URL scheme, and the check that is run.
    pub flag: &'static str,
    pub scheme: &'static str,
    pub only: &'static str,
    /// Network steps on the branch before the tool must give up: the run ends
    /// within `--timeout` x steps + 1 s.
    pub steps: u64,
    /// What the server does with each connection; None: nothing listens.
    pub behave: Option<fn(&mut Peer)>,
    /// The server speaks TLS at once (the tool gets `--ca-file`).
    pub tls: bool,
    /// The host name the URL uses, answered by the test DNS server with
    /// addresses from `zone`; None: 127.0.0.1.
    pub zone: Option<fn(u16) -> mailbox_doctor::sim::dns::Zone>,
    /// The exit code the run must end with: [with a password, with a token].
    pub exit: [i32; 2],
}

const PLAIN: Hostile = Hostile {
    name: "",
    flag: "--smtp",
    scheme: "smtp",
    only: "smtp",
    steps: 2,
    behave: None,
    tls: false,
    zone: None,
    exit: [2, 2],
};

const SMTPS: Hostile = Hostile {
    scheme: "smtps",
    tls: true,
    steps: 6,
    ..PLAIN
};

const IMAPS: Hostile = Hostile {
    flag: "--imap",
    scheme: "imaps",
    only: "imap",
    tls: true,
    steps: 6,
    ..PLAIN
};

const POP3S: Hostile = Hostile {
    flag: "--pop",
    scheme: "pop3s",
    only: "pop",
    tls: true,
    steps: 7,
    ..PLAIN
};

// ---- servers that flood, dribble, stall or send garbage ----

fn megabyte_line(p: &mut Peer) {
    p.send(&vec![b'A'; 1 << 20]);
    std::thread::sleep(Duration::from_secs(5));
}

fn endless_continuation(p: &mut Peer) {
    for _ in 0..100_000 {
        if !p.send(b"220-still greeting you\r\n") {
            return;
        }
    }
}

fn silent(_: &mut Peer) {
    std::thread::sleep(Duration::from_secs(20));
}

fn garbage(p: &mut Peer) {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i * 7919 % 251) as u8)
        .chain([b'\n'])
        .collect();
    p.send(&junk);
    std::thread::sleep(Duration::from_secs(5));
}

fn smtp_close_after_greeting(p: &mut Peer) {
    p.send(b"220 mail.example.test ESMTP\r\n");
    let _ = p.line();
}

fn pop_close_after_greeting(p: &mut Peer) {
    p.send(b"+OK ready\r\n");
}

fn one_byte_a_second(p: &mut Peer) {
    for b in b"220 slow.example.test ESMTP\r\n" {
        if !p.send(&[*b]) {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn endless_imap_untagged(p: &mut Peer) {
    p.send(b"* OK ready\r\n");
    let _ = p.line();
    for _ in 0..1_000_000 {
        if !p.send(b"* 1 EXISTS\r\n") {
            return;
        }
    }
}

fn huge_imap_literal(p: &mut Peer) {
    p.send(b"* OK ready\r\n");
    let _ = p.line();
    p.send(b"* CAPABILITY {100000000}\r\n");
    std::thread::sleep(Duration::from_secs(5));
}

fn endless_pop_capa(p: &mut Peer) {
    p.send(b"+OK ready\r\n");
    let _ = p.line();
    p.send(b"+OK\r\n");
    for _ in 0..1_000_000 {
        if !p.send(b"X-MORE\r\n") {
            return;
        }
    }
}

fn wide_continuation(p: &mut Peer) {
    let wide = format!("220-{}\r\n", "W".repeat(15_000));
    for _ in 0..1_000 {
        if !p.send(wide.as_bytes()) {
            return;
        }
    }
}

// ---- IMAP literals: {0}, nested, dribbled ----

/// `{0}` in the CAPABILITY reply before TLS, then nothing more.
fn imap_zero_literal_then_silence(p: &mut Peer) {
    p.send(b"* OK ready\r\n");
    let _ = p.line();
    p.send(b"* CAPABILITY {0}\r\n");
    p.hold(20);
}

/// `{0}` after `{0}` after `{0}`... in the CAPABILITY reply before TLS.
fn imap_zero_literal_chain(p: &mut Peer) {
    p.send(b"* OK ready\r\n");
    let _ = p.line();
    p.send(b"* CAPABILITY {0}\r\n");
    for _ in 0..100_000 {
        if !p.send(b"{0}\r\n") {
            return;
        }
    }
}

/// A literal announced, then its bytes one at a time.
fn imap_dribbled_literal(p: &mut Peer) {
    p.send(b"* OK ready\r\n");
    let _ = p.line();
    p.send(b"* CAPABILITY {64}\r\n");
    for _ in 0..64 {
        if !p.send(b"x") {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The tag of an IMAP command line (`A1 LOGIN ...` -> `A1`).
fn tag(line: &str) -> String {
    line.split(' ').next().unwrap_or("*").to_string()
}

/// An IMAP server over TLS that accepts the login, wrapping its answers in `{0}`
/// and small literals, and opens INBOX: the login worked, the run is OK.
fn imap_literals_in_the_login_reply(p: &mut Peer) {
    p.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n");
    while let Some(l) = p.line() {
        let t = tag(&l);
        let upper = l.to_ascii_uppercase();
        if upper.contains(" AUTHENTICATE ") {
            p.send(b"+ \r\n");
            let _ = p.line();
        }
        if upper.contains(" LOGIN ") || upper.contains(" AUTHENTICATE ") {
            p.send(b"* CAPABILITY {0}\r\n\r\n* OK {4}\r\nnice\r\n* OK {0}\r\n{0}\r\n\r\n");
            p.send(format!("{t} OK logged in\r\n").as_bytes());
        } else if upper.contains(" EXAMINE ") {
            p.send(b"* 0 EXISTS\r\n");
            p.send(format!("{t} OK [READ-ONLY] opened\r\n").as_bytes());
        } else if upper.contains(" LOGOUT") {
            p.send(b"* BYE\r\n");
            return;
        } else {
            p.send(format!("{t} BAD what\r\n").as_bytes());
        }
    }
}

/// The login reply starts with a `{0}` literal and never ends.
fn imap_zero_literal_after_login(p: &mut Peer) {
    p.send(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n");
    while let Some(l) = p.line() {
        let upper = l.to_ascii_uppercase();
        if upper.contains(" AUTHENTICATE ") {
            p.send(b"+ \r\n");
            let _ = p.line();
        }
        if upper.contains(" LOGIN ") || upper.contains(" AUTHENTICATE ") {
            p.send(b"* NO {0}\r\n");
            p.hold(20);
            return;
        }
    }
}

// ---- servers that echo what they were sent ----

/// What a decoded SASL payload carries: the password of `\0user\0password`, the
/// token of `user=..\x01auth=Bearer TOKEN\x01\x01`, or the bytes themselves.
fn secret_in(decoded: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(decoded);
    if let Some(rest) = text.split("auth=Bearer ").nth(1) {
        return rest
            .split('\u{1}')
            .next()
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
    }
    match decoded.iter().rposition(|b| *b == 0) {
        Some(at) => decoded[at + 1..].to_vec(),
        None => decoded.to_vec(),
    }
}

fn b64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

fn decoded(b64_text: &str) -> Vec<u8> {
    STANDARD.decode(b64_text.trim()).unwrap_or_default()
}

/// Every encoding of `secret` a careless server could quote.
fn every_encoding(secret: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(secret).to_string();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let pct: String = secret.iter().map(|b| format!("%{b:02X}")).collect();
    let with = |pre: &[u8], post: &[u8]| {
        let mut v = pre.to_vec();
        v.extend_from_slice(secret);
        v.extend_from_slice(post);
        v
    };
    vec![
        text.clone(),
        text.to_uppercase(),
        format!("'{}'", text.replace('\\', "\\\\").replace('"', "\\\"")),
        serde_json::to_string(&text).unwrap_or_default(),
        b64(secret),
        STANDARD.encode(with(b"x", b"")),
        STANDARD.encode(with(b"xy", b"z")),
        URL_SAFE.encode(with(b"u", b"")),
        b64(secret).trim_end_matches('=').to_string(),
        hex.clone(),
        hex.to_uppercase(),
        pct,
        b64(b64(secret).as_bytes()),
    ]
}

/// A TLS SMTP server offering `caps`, answering the login with `refuse(blob or
/// password as sent)` and the rest politely.
fn smtp_echo(p: &mut Peer, caps: &str, refuse: fn(&mut Peer, &str, &str)) {
    p.send(b"220 echo.test ESMTP\r\n");
    while let Some(l) = p.line() {
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            p.send(format!("250-echo.test\r\n250 {caps}\r\n").as_bytes());
        } else if upper.starts_with("AUTH LOGIN") {
            if upper.trim_end() == "AUTH LOGIN" {
                // No initial response: the username after its own prompt.
                p.send(b"334 VXNlcm5hbWU6\r\n");
                let _ = p.line();
            }
            p.send(b"334 UGFzc3dvcmQ6\r\n");
            let pw = p.line().unwrap_or_default();
            refuse(p, "LOGIN", &pw);
        } else if let Some(rest) = upper.strip_prefix("AUTH ") {
            let mech = rest.split(' ').next().unwrap_or_default().to_string();
            let blob = l.splitn(3, ' ').nth(2).unwrap_or_default().to_string();
            refuse(p, &mech, &blob);
        } else if upper.starts_with("QUIT") {
            p.send(b"221 bye\r\n");
            return;
        } else {
            p.send(b"250 ok\r\n");
        }
    }
}

fn refuse_quoting_blob(p: &mut Peer, mech: &str, blob: &str) {
    p.send(format!("535 5.7.8 rejected: AUTH {mech} {blob}\r\n").as_bytes());
}

fn refuse_quoting_decoded(p: &mut Peer, _: &str, blob: &str) {
    let secret = String::from_utf8_lossy(&secret_in(&decoded(blob))).to_string();
    let all = String::from_utf8_lossy(&decoded(blob)).replace('\0', " ");
    p.send(
        format!("535-5.7.8 the secret '{secret}' is wrong\r\n535 5.7.8 you sent {all}\r\n")
            .as_bytes(),
    );
}

fn refuse_in_every_encoding(p: &mut Peer, _: &str, blob: &str) {
    let secret = secret_in(&decoded(blob));
    let mut reply = String::new();
    for e in every_encoding(&secret) {
        reply.push_str(&format!("535-5.7.8 {e}\r\n"));
    }
    reply.push_str(&format!("535 5.7.8 and {blob}\r\n"));
    p.send(reply.as_bytes());
}

fn challenge_with_the_payload(p: &mut Peer, _: &str, blob: &str) {
    p.send(format!("334 {blob}\r\n").as_bytes());
    let _ = p.line();
    p.send(b"535 5.7.8 no\r\n");
}

fn challenge_double_encoded(p: &mut Peer, _: &str, blob: &str) {
    p.send(format!("334 {}\r\n", b64(blob.as_bytes())).as_bytes());
    let _ = p.line();
    p.send(b"535 5.7.8 no\r\n");
}

/// The command quoted cut short, at several lengths, as servers that quote the
/// first N characters of a bad command do.
fn refuse_quoting_cut_short(p: &mut Peer, mech: &str, blob: &str) {
    let line = format!("AUTH {mech} {blob}");
    let mut reply = String::new();
    for n in [24, 40, 60, 90, 200] {
        let cut: String = line.chars().take(n).collect();
        reply.push_str(&format!("535-5.7.8 bad command: {cut}\r\n"));
    }
    // The password or token cut in two, over two lines.
    let secret = String::from_utf8_lossy(&secret_in(&decoded(blob))).to_string();
    let half = secret.chars().count() / 2;
    let first: String = secret.chars().take(half).collect();
    let second: String = secret.chars().skip(half).collect();
    reply.push_str(&format!(
        "535-5.7.8 you typed {first}\r\n535 5.7.8 and then {second}\r\n"
    ));
    p.send(reply.as_bytes());
}

fn smtp_quotes_the_command_cut_short(p: &mut Peer) {
    smtp_echo(p, "AUTH PLAIN XOAUTH2", refuse_quoting_cut_short);
}

fn smtp_quotes_plain_blob(p: &mut Peer) {
    smtp_echo(p, "AUTH PLAIN XOAUTH2", refuse_quoting_blob);
}

fn smtp_quotes_login_password(p: &mut Peer) {
    smtp_echo(p, "AUTH LOGIN XOAUTH2", refuse_quoting_blob);
}

fn smtp_quotes_decoded_secret(p: &mut Peer) {
    smtp_echo(p, "AUTH PLAIN XOAUTH2", refuse_quoting_decoded);
}

fn smtp_quotes_every_encoding(p: &mut Peer) {
    smtp_echo(p, "AUTH PLAIN XOAUTH2", refuse_in_every_encoding);
}

fn smtp_334_echoes_the_payload(p: &mut Peer) {
    smtp_echo(p, "AUTH PLAIN XOAUTH2", challenge_with_the_payload);
}

fn smtp_334_double_encoded(p: &mut Peer) {
    smtp_echo(p, "AUTH PLAIN XOAUTH2", challenge_double_encoded);
}

/// Terminal escapes, BEL, NUL, a C1 control and a right-to-left override in
/// every reply.
fn smtp_terminal_escapes(p: &mut Peer) {
    p.send("220 \u{1b}]0;owned\u{7}\u{1b}[2J echo.test\0 ESMTP\r\n".as_bytes());
    while let Some(l) = p.line() {
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            p.send("250-echo\u{1b}[31m.test\r\n250 AUTH PLAIN XOAUTH2\r\n".as_bytes());
        } else if upper.starts_with("AUTH") {
            p.send(
                "535 5.7.8 \u{1b}[1;32mStatus: OK\u{1b}[0m\u{7}\u{0}\u{9b}2J\u{202e}kO\r\n"
                    .as_bytes(),
            );
        } else if upper.starts_with("QUIT") {
            return;
        } else {
            p.send(b"250 ok\r\n");
        }
    }
}

/// An IMAP server over TLS: `caps` in the greeting, the login refused by `refuse`.
fn imap_echo(p: &mut Peer, caps: &str, refuse: fn(&mut Peer, &str, &str)) {
    p.send(format!("* OK [CAPABILITY IMAP4rev1 {caps}] ready\r\n").as_bytes());
    while let Some(l) = p.line() {
        let t = tag(&l);
        let upper = l.to_ascii_uppercase();
        if upper.contains(" LOGIN ") {
            refuse(p, &t, &l);
        } else if let Some(at) = upper.find(" AUTHENTICATE ") {
            let args: Vec<&str> = l[at + 14..].split(' ').collect();
            let blob = match args.get(1) {
                Some(b) => b.to_string(),
                None => {
                    p.send(b"+ \r\n");
                    p.line().unwrap_or_default()
                }
            };
            refuse(p, &t, &blob);
        } else if upper.contains(" LOGOUT") {
            return;
        } else {
            p.send(format!("{t} BAD what\r\n").as_bytes());
        }
    }
}

fn imap_bad_quoting(p: &mut Peer, tag: &str, what: &str) {
    p.send(format!("{tag} BAD invalid command: {what}\r\n").as_bytes());
}

/// The quoted strings of an IMAP command line, unescaped.
fn quoted_args(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => s.extend(chars.next()),
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

fn imap_no_in_every_encoding(p: &mut Peer, tag: &str, what: &str) {
    let secret = if what.to_ascii_uppercase().contains(" LOGIN ") {
        quoted_args(what).pop().unwrap_or_default().into_bytes()
    } else {
        secret_in(&decoded(what))
    };
    for e in every_encoding(&secret) {
        p.send(format!("* NO \u{1b}[7m{e}\r\n").as_bytes());
    }
    p.send(format!("{tag} NO [AUTHENTICATIONFAILED] {what}\r\n").as_bytes());
}

/// The command line quoted back in pieces, one untagged line each.
fn imap_no_in_pieces(p: &mut Peer, tag: &str, what: &str) {
    let chars: Vec<char> = what.chars().collect();
    for piece in chars.chunks(13) {
        let piece: String = piece.iter().collect();
        p.send(format!("* NO [ALERT] {piece}\r\n").as_bytes());
    }
    p.send(format!("{tag} NO [AUTHENTICATIONFAILED] see above\r\n").as_bytes());
}

fn imap_quotes_the_login_in_pieces(p: &mut Peer) {
    imap_echo(p, "AUTH=XOAUTH2", imap_no_in_pieces);
}

fn imap_bad_quotes_login(p: &mut Peer) {
    imap_echo(p, "AUTH=XOAUTH2", imap_bad_quoting);
}

fn imap_bad_quotes_authenticate(p: &mut Peer) {
    imap_echo(p, "AUTH=PLAIN SASL-IR AUTH=XOAUTH2", imap_bad_quoting);
}

fn imap_refuses_in_every_encoding(p: &mut Peer) {
    imap_echo(p, "AUTH=XOAUTH2", imap_no_in_every_encoding);
}

/// A POP3 server over TLS offering `sasl`, refusing the login by quoting it.
fn pop_echo(p: &mut Peer, sasl: &str) {
    p.send(b"+OK ready\r\n");
    while let Some(l) = p.line() {
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("CAPA") {
            p.send(format!("+OK\r\nUSER\r\nSASL {sasl}\r\n.\r\n").as_bytes());
        } else if upper.starts_with("USER") {
            p.send(b"+OK\r\n");
        } else if upper.starts_with("PASS") {
            p.send(format!("-ERR [AUTH] rejected: {l}\r\n").as_bytes());
        } else if upper.starts_with("AUTH") {
            p.send(b"+ \r\n");
            let blob = p.line().unwrap_or_default();
            let secret = String::from_utf8_lossy(&secret_in(&decoded(&blob))).to_string();
            p.send(format!("-ERR [AUTH] rejected {blob} ({secret})\r\n").as_bytes());
        } else if upper.starts_with("QUIT") {
            return;
        } else {
            p.send(b"-ERR what\r\n");
        }
    }
}

fn pop_quotes_pass(p: &mut Peer) {
    pop_echo(p, "XOAUTH2");
}

fn pop_quotes_auth_blob(p: &mut Peer) {
    pop_echo(p, "PLAIN XOAUTH2");
}

/// A plain SMTP server offering AUTH PLAIN that refuses every login (the tests
/// that must see no connection at all count on it).
pub fn count_logins_then_refuse(p: &mut Peer) {
    smtp_echo(p, "AUTH PLAIN", refuse_quoting_blob);
}

// ---- HTTP and DNS ----

/// An identity endpoint over TLS that answers one byte every 0.8 s.
fn dribbling_http(p: &mut Peer) {
    let _ = p.line();
    for b in
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 64\r\n\r\n<RealmInfo>".iter()
    {
        if !p.send(&[*b]) {
            return;
        }
        std::thread::sleep(Duration::from_millis(800));
    }
}

/// A thousand IPv4 addresses on loopback for one name.
fn thousand_addresses(_port: u16) -> mailbox_doctor::sim::dns::Zone {
    use mailbox_doctor::sim::dns::{Rec, Zone};
    (0..1000u32).fold(Zone::new(), |z, i| {
        let ip = std::net::Ipv4Addr::from(0x7f01_0000 + i + 1);
        z.add(MANY_NAME, Rec::Ip(ip.into()))
    })
}

/// The name `thousand_addresses` answers for.
pub const MANY_NAME: &str = "many.hostile.test";

pub const HOSTILE: &[Hostile] = &[
    Hostile {
        name: "megabyte-line",
        behave: Some(megabyte_line),
        ..PLAIN
    },
    Hostile {
        name: "endless-continuation",
        behave: Some(endless_continuation),
        ..PLAIN
    },
    Hostile {
        // Greeting (1 step) + a TLS probe on the same connection (1 step).
        name: "silent",
        behave: Some(silent),
        ..PLAIN
    },
    Hostile {
        name: "garbage-smtp",
        behave: Some(garbage),
        ..PLAIN
    },
    Hostile {
        name: "garbage-imap",
        flag: "--imap",
        scheme: "imap",
        only: "imap",
        behave: Some(garbage),
        ..PLAIN
    },
    Hostile {
        name: "smtp-close-after-greeting",
        steps: 3,
        behave: Some(smtp_close_after_greeting),
        ..PLAIN
    },
    Hostile {
        name: "pop-close-after-greeting",
        flag: "--pop",
        scheme: "pop3",
        only: "pop",
        steps: 3,
        behave: Some(pop_close_after_greeting),
        ..PLAIN
    },
    Hostile {
        name: "one-byte-a-second",
        behave: Some(one_byte_a_second),
        ..PLAIN
    },
    Hostile {
        name: "refused",
        steps: 1,
        ..PLAIN
    },
    Hostile {
        name: "endless-imap-untagged",
        flag: "--imap",
        scheme: "imap",
        only: "imap",
        behave: Some(endless_imap_untagged),
        ..PLAIN
    },
    Hostile {
        name: "huge-imap-literal",
        flag: "--imap",
        scheme: "imap",
        only: "imap",
        behave: Some(huge_imap_literal),
        ..PLAIN
    },
    Hostile {
        name: "endless-pop-capa",
        flag: "--pop",
        scheme: "pop3",
        only: "pop",
        behave: Some(endless_pop_capa),
        ..PLAIN
    },
    Hostile {
        name: "wide-continuation",
        behave: Some(wide_continuation),
        ..PLAIN
    },
    Hostile {
        // Connect, greeting, CAPABILITY.
        name: "imap-zero-literal-in-capability",
        flag: "--imap",
        scheme: "imap",
        only: "imap",
        steps: 3,
        behave: Some(imap_zero_literal_then_silence),
        ..PLAIN
    },
    Hostile {
        name: "imap-zero-literal-chain",
        flag: "--imap",
        scheme: "imap",
        only: "imap",
        steps: 3,
        behave: Some(imap_zero_literal_chain),
        ..PLAIN
    },
    Hostile {
        name: "imap-dribbled-literal",
        flag: "--imap",
        scheme: "imap",
        only: "imap",
        steps: 3,
        behave: Some(imap_dribbled_literal),
        ..PLAIN
    },
    Hostile {
        name: "imap-literals-in-the-login-reply",
        behave: Some(imap_literals_in_the_login_reply),
        exit: [0, 0],
        ..IMAPS
    },
    Hostile {
        name: "imap-zero-literal-after-login",
        behave: Some(imap_zero_literal_after_login),
        ..IMAPS
    },
    Hostile {
        name: "smtp-535-quotes-the-plain-blob",
        behave: Some(smtp_quotes_plain_blob),
        ..SMTPS
    },
    Hostile {
        name: "smtp-535-quotes-the-login-password",
        behave: Some(smtp_quotes_login_password),
        ..SMTPS
    },
    Hostile {
        name: "smtp-535-quotes-the-decoded-secret",
        behave: Some(smtp_quotes_decoded_secret),
        ..SMTPS
    },
    Hostile {
        name: "smtp-535-quotes-every-encoding",
        behave: Some(smtp_quotes_every_encoding),
        ..SMTPS
    },
    Hostile {
        name: "smtp-535-quotes-the-command-cut-short",
        behave: Some(smtp_quotes_the_command_cut_short),
        ..SMTPS
    },
    Hostile {
        name: "imap-quotes-the-login-in-pieces",
        behave: Some(imap_quotes_the_login_in_pieces),
        ..IMAPS
    },
    Hostile {
        name: "smtp-334-echoes-the-payload",
        behave: Some(smtp_334_echoes_the_payload),
        ..SMTPS
    },
    Hostile {
        name: "smtp-334-double-encoded",
        behave: Some(smtp_334_double_encoded),
        ..SMTPS
    },
    Hostile {
        name: "smtp-terminal-escapes",
        behave: Some(smtp_terminal_escapes),
        ..SMTPS
    },
    Hostile {
        name: "imap-bad-quotes-the-login",
        behave: Some(imap_bad_quotes_login),
        ..IMAPS
    },
    Hostile {
        name: "imap-bad-quotes-authenticate",
        behave: Some(imap_bad_quotes_authenticate),
        ..IMAPS
    },
    Hostile {
        name: "imap-refuses-in-every-encoding",
        behave: Some(imap_refuses_in_every_encoding),
        ..IMAPS
    },
    Hostile {
        name: "pop-err-quotes-pass",
        behave: Some(pop_quotes_pass),
        ..POP3S
    },
    Hostile {
        name: "pop-err-quotes-the-auth-blob",
        behave: Some(pop_quotes_auth_blob),
        ..POP3S
    },
    Hostile {
        // Connect, TLS, one HTTP exchange; the look-up failing is a warning.
        name: "dribbling-identity-endpoint",
        flag: "--identity-url",
        scheme: "https",
        only: "tenant",
        steps: 3,
        behave: Some(dribbling_http),
        tls: true,
        exit: [1, 1],
        ..PLAIN
    },
    Hostile {
        // DNS, connect; the addresses drop every SYN (or, where the kernel
        // completes the handshake, stay silent: greeting and TLS probe).
        name: "a-thousand-silent-addresses",
        steps: 4,
        behave: None,
        zone: Some(thousand_addresses),
        ..PLAIN
    },
];

pub fn named(name: &str) -> &'static Hostile {
    HOSTILE
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no hostile server {name}"))
}

/// Serves every connection with `behave` on a thread (over TLS when `tls`).
pub fn serve(behave: fn(&mut Peer), tls: bool) -> (u16, Arc<Seen>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let seen: Arc<Seen> = Default::default();
    let s2 = seen.clone();
    let config = tls.then(|| pki().config.clone());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            s2.connections.fetch_add(1, Ordering::SeqCst);
            let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
            let seen = s2.clone();
            let config = config.clone();
            std::thread::spawn(move || {
                let io: Box<dyn Stream> = match config {
                    Some(cfg) => {
                        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        let mut tls = rustls::StreamOwned::new(conn, s);
                        // Finish the handshake before the first byte is written.
                        while tls.conn.is_handshaking() {
                            if tls.conn.complete_io(&mut tls.sock).is_err() {
                                return;
                            }
                        }
                        Box::new(tls)
                    }
                    None => Box::new(s),
                };
                let mut peer = Peer {
                    io: BufReader::new(io),
                    seen,
                };
                behave(&mut peer);
            });
        }
    });
    (port, seen)
}

/// A port nothing listens on (bound, read, released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A port on every loopback address whose accept queue is full, so that new SYNs
/// are dropped as a firewall does; the listener and the queued connections are
/// kept open for the life of the test process.
pub fn black_hole_port() -> u16 {
    static HOLE: OnceLock<u16> = OnceLock::new();
    *HOLE.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let (port, hole) = rt.block_on(async {
            let sock = tokio::net::TcpSocket::new_v4().expect("socket");
            sock.bind("0.0.0.0:0".parse().expect("addr")).expect("bind");
            let port = sock.local_addr().expect("addr").port();
            (port, sock.listen(0).expect("listen"))
        });
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            fillers.push(std::net::TcpStream::connect_timeout(
                &addr,
                Duration::from_millis(200),
            ));
        }
        // The runtime owns the listener; both live as long as the process.
        std::mem::forget((rt, hole, fillers));
        port
    })
}

/// A started hostile server: the URL to point the tool at, and what it needs.
pub struct Started {
    pub url: String,
    pub seen: Arc<Seen>,
    /// Flags the run needs (`--ca-file`, `--dns-server`).
    pub args: Vec<String>,
    _dns: Option<(tokio::runtime::Runtime, mailbox_doctor::sim::dns::DnsServer)>,
}

impl Hostile {
    /// Starts the server; `dns` is the test DNS server used when there is no zone.
    pub fn start(&self, dns: &str) -> Started {
        let (port, seen) = match (self.behave, self.zone) {
            (Some(b), _) => serve(b, self.tls),
            (None, Some(_)) => (black_hole_port(), Arc::default()),
            (None, None) => (closed_port(), Arc::default()),
        };
        let mut args = Vec::new();
        if self.flag == "--identity-url" {
            // The tenant check judges only where Microsoft is in play.
            args.extend(["--provider".to_string(), "microsoft365".to_string()]);
        }
        if self.tls {
            args.push("--ca-file".to_string());
            args.push(pki().ca_file.path().display().to_string());
        }
        let (host, own_dns) = match self.zone {
            Some(zone) => {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                let server = rt
                    .block_on(mailbox_doctor::sim::dns::DnsServer::start(zone(port)))
                    .expect("dns");
                args.push("--dns-server".into());
                args.push(server.addr().to_string());
                (MANY_NAME, Some((rt, server)))
            }
            None => {
                args.push("--dns-server".into());
                args.push(dns.to_string());
                ("127.0.0.1", None)
            }
        };
        Started {
            url: format!("{}://{host}:{port}", self.scheme),
            seen,
            args,
            _dns: own_dns,
        }
    }
}
