//! The replay server: plays a recorded scenario from `fixtures/` over real TCP on
//! 127.0.0.1, with TLS (implicit or after STARTTLS) from the in-memory PKI. It
//! checks what the client sent, counts connections, authentication attempts and
//! the delayed flights each connection waited for, and can delay every reply and
//! TLS handshake (for the round-trip benchmarks, whose floor `Scenario::floor`
//! computes from what the server offers).
//! Used by the tests and by `demo`; the checks cannot tell it from a real server.
//!
//! Scenario format (plain text, see fixtures/README.md): `# key: value` headers,
//! then `S: line` (server sends; `{tag}` = the tag of the client's last line),
//! `C: pattern` (client must send; `*` matches anything, `<auth>` marks the
//! secret-bearing part), `!tls`, `!close`, `!delay MS`.

use crate::sim::pki::CertKind;
use crate::vocab::{Protocol, TlsMode};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Send(String),
    Expect(String),
    Tls,
    /// The handshake of a server that speaks only TLS 1.0 (`!tls 1.0`): it reads
    /// the client's hello and answers with a TLS 1.0 ServerHello, as an old
    /// server negotiating down does; a client that requires TLS 1.2 gives up.
    Tls10,
    Close,
    Delay(Duration),
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub protocol: Protocol,
    pub tls: TlsMode,
    /// The TLS mode the client is told to use (differs to show WRONG_TLS_MODE).
    pub client_tls: TlsMode,
    pub cert: CertKind,
    /// Whether the client logs in with an OAuth token (XOAUTH2) rather than a password.
    pub token: bool,
    /// The diagnosis code the scenario should produce (None: success).
    pub expect: Option<String>,
    pub source: Option<String>,
    pub steps: Vec<Step>,
}

impl Scenario {
    pub fn parse(name: &str, text: &str) -> Result<Scenario, String> {
        let mut protocol = None;
        let mut tls = TlsMode::Implicit;
        let mut client_tls = None;
        let mut token = false;
        let mut cert = CertKind::Valid;
        let mut expect = None;
        let mut source = None;
        let mut steps = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            let err = |m: &str| format!("{name} line {}: {m}", i + 1);
            if let Some(h) = line.strip_prefix("# ") {
                if let Some((k, v)) = h.split_once(':') {
                    let v = v.trim();
                    match k.trim() {
                        "protocol" => {
                            protocol = Some(match v {
                                "smtp" => Protocol::Smtp,
                                "imap" => Protocol::Imap,
                                "pop" => Protocol::Pop,
                                _ => return Err(err("protocol must be smtp, imap or pop")),
                            })
                        }
                        "tls" => {
                            tls = match v {
                                "implicit" => TlsMode::Implicit,
                                "starttls" => TlsMode::Starttls,
                                "none" => TlsMode::None,
                                _ => return Err(err("tls must be implicit, starttls or none")),
                            }
                        }
                        "client" => {
                            client_tls = Some(match v {
                                "implicit" => TlsMode::Implicit,
                                "starttls" => TlsMode::Starttls,
                                _ => return Err(err("client must be implicit or starttls")),
                            })
                        }
                        "cert" => {
                            cert = match v {
                                "valid" => CertKind::Valid,
                                "expired" => CertKind::Expired,
                                "not-yet-valid" => CertKind::NotYetValid,
                                "wrong-host" => CertKind::WrongHost,
                                "untrusted" => CertKind::Untrusted,
                                _ => return Err(err("unknown cert kind")),
                            }
                        }
                        "credential" => {
                            token = match v {
                                "token" => true,
                                "password" => false,
                                _ => return Err(err("credential must be password or token")),
                            }
                        }
                        "expect" => expect = (v != "ok").then(|| v.to_string()),
                        "source" => source = Some(v.to_string()),
                        _ => {}
                    }
                }
                continue;
            }
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(s) = line
                .strip_prefix("S: ")
                .or_else(|| (line == "S:").then_some(""))
            {
                steps.push(Step::Send(s.to_string()));
            } else if let Some(c) = line.strip_prefix("C: ") {
                steps.push(Step::Expect(c.to_string()));
            } else if line == "!tls" {
                steps.push(Step::Tls);
            } else if line == "!tls 1.0" {
                steps.push(Step::Tls10);
            } else if line == "!close" {
                steps.push(Step::Close);
            } else if let Some(ms) = line.strip_prefix("!delay ") {
                let ms: u64 = ms.trim().parse().map_err(|_| err("bad !delay"))?;
                steps.push(Step::Delay(Duration::from_millis(ms)));
            } else {
                return Err(err(
                    "expected `S: `, `C: `, `!tls`, `!tls 1.0`, `!close`, `!delay MS` or `# key: value`",
                ));
            }
        }
        Ok(Scenario {
            name: name.to_string(),
            protocol: protocol.ok_or_else(|| format!("{name}: no `# protocol:` header"))?,
            tls,
            client_tls: client_tls.unwrap_or(tls),
            cert,
            token,
            expect,
            source,
            steps,
        })
    }

    /// An embedded scenario by file name (without `.txt`).
    pub fn named(name: &str) -> Result<Scenario, String> {
        let (_, text) = FIXTURES
            .iter()
            .chain(PATH_FIXTURES)
            .find(|(n, _)| *n == name)
            .ok_or_else(|| format!("no fixture named {name}"))?;
        Scenario::parse(name, text)
    }
}

/// The TLS version a handshake is counted for: the server's flight (and the
/// client's answer) before the client may send application data. TLS 1.3 needs one
/// round trip, TLS 1.2 two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn flights(self) -> usize {
        match self {
            TlsVersion::Tls12 => 2,
            TlsVersion::Tls13 => 1,
        }
    }
}

/// The round trips an optimal client that follows the standards waits for on one
/// branch of a run, from the DNS question to the server's verdict on the login:
/// the floor no implementation can go under on a network with that round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Floor {
    /// DNS rounds before the first connection (A and AAAA asked together: 1).
    pub dns: usize,
    /// TLS handshake flights.
    pub tls: usize,
    /// Server replies (protocol lines or HTTP responses) waited for.
    pub replies: usize,
}

impl Floor {
    pub fn total(&self) -> usize {
        self.dns + self.tls + self.replies
    }

    /// An HTTPS look-up: one DNS round, one handshake, then `requests` responses
    /// that each need the one before (requests sent at the same time count once).
    pub fn https(tls: TlsVersion, requests: usize) -> Floor {
        Floor {
            dns: 1,
            tls: tls.flights(),
            replies: requests,
        }
    }
}

/// Words of a capability line, upper-cased.
fn words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase())
        .collect()
}

impl Scenario {
    /// The lines the server sends, in order.
    fn server_lines(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().filter_map(|s| match s {
            Step::Send(l) => Some(l.as_str()),
            _ => None,
        })
    }

    /// The floor for this server: what an optimal client needs, given only what the
    /// server offers (its greeting, its EHLO, CAPABILITY or CAPA lines and its TLS
    /// mode), never what a particular client sent. One DNS round; the handshake;
    /// the greeting and the capability requests; then the cheapest login offered:
    /// SMTP `AUTH PLAIN` with an initial response (1 reply), else `AUTH LOGIN` with
    /// an initial response (2: the password prompt, the verdict); IMAP
    /// `AUTHENTICATE PLAIN` with SASL-IR or `LOGIN` (1); POP3 `AUTH PLAIN` with an
    /// initial response (RFC 5034, 1), else USER and PASS (2). A token login is
    /// XOAUTH2 with an initial response (1). Nothing after the verdict is waited
    /// for (QUIT, LOGOUT). A server that offers no usable login ends the branch
    /// at its capabilities.
    pub fn floor(&self, tls: TlsVersion) -> Floor {
        let mut f = Floor {
            dns: 1,
            ..Floor::default()
        };
        let handshake = tls.flights();
        // Implicit TLS: the handshake; STARTTLS (STLS): its reply, the handshake
        // and the capabilities asked again.
        let mode = self.tls;
        let with_tls = |f: &mut Floor| match mode {
            TlsMode::Implicit => f.tls = handshake,
            TlsMode::Starttls => {
                f.replies += 2;
                f.tls = handshake;
            }
            TlsMode::None => {}
        };
        let lines: Vec<&str> = self.server_lines().collect();
        let greeting = lines.first().copied().unwrap_or_default();
        match self.protocol {
            Protocol::Smtp => {
                // Greeting and EHLO; with STARTTLS its reply, the handshake and
                // EHLO again.
                f.replies = 2;
                with_tls(&mut f);
                // The mechanisms of the last EHLO (after the handshake).
                let mechs = lines
                    .iter()
                    .filter_map(|l| {
                        let rest = l.strip_prefix("250-").or_else(|| l.strip_prefix("250 "))?;
                        let w = words(&rest.replace('=', " "));
                        (w.first().map(String::as_str) == Some("AUTH")).then_some(w)
                    })
                    .next_back()
                    .unwrap_or_default();
                let has = |m: &str| mechs.iter().any(|w| w == m);
                f.replies += if self.token {
                    usize::from(has("XOAUTH2"))
                } else if has("PLAIN") {
                    1
                } else if has("LOGIN") {
                    2
                } else {
                    0
                };
            }
            Protocol::Imap => {
                f.replies = 1; // the greeting
                let caps_in_greeting = greeting.to_ascii_uppercase().contains("[CAPABILITY ");
                let untagged: Vec<Vec<String>> = lines
                    .iter()
                    .filter(|l| l.to_ascii_uppercase().starts_with("* CAPABILITY "))
                    .map(|l| words(l))
                    .collect();
                let mut caps = if caps_in_greeting {
                    words(greeting)
                } else {
                    f.replies += 1;
                    untagged.first().cloned().unwrap_or_default()
                };
                match self.tls {
                    TlsMode::Implicit => f.tls = handshake,
                    TlsMode::Starttls => {
                        // STARTTLS, the handshake, CAPABILITY again (RFC 3501 6.2.1).
                        f.replies += 2;
                        f.tls = handshake;
                        let after = usize::from(!caps_in_greeting);
                        caps = untagged.get(after).cloned().unwrap_or(caps);
                    }
                    TlsMode::None => {}
                }
                let has = |c: &str| caps.iter().any(|w| w == c);
                let sasl_ir = has("SASL-IR");
                f.replies += if self.token {
                    match (has("AUTH=XOAUTH2"), sasl_ir) {
                        (true, true) => 1,
                        (true, false) => 2,
                        _ => 0,
                    }
                } else if (sasl_ir && has("AUTH=PLAIN")) || !has("LOGINDISABLED") {
                    1
                } else if has("AUTH=PLAIN") {
                    2
                } else {
                    0
                };
            }
            Protocol::Pop => {
                // The greeting and CAPA; with STLS its reply, the handshake and
                // CAPA again (RFC 2595 4).
                f.replies = 2;
                with_tls(&mut f);
                let sasl = lines
                    .iter()
                    .map(|l| words(l))
                    .rfind(|w| w.first().map(String::as_str) == Some("SASL"))
                    .unwrap_or_default();
                let has = |m: &str| sasl.iter().skip(1).any(|w| w == m);
                f.replies += if self.token {
                    usize::from(has("XOAUTH2"))
                } else if has("PLAIN") {
                    1
                } else {
                    2
                };
            }
        }
        f
    }

    /// The floor's round trips for this server with TLS 1.3 (what the lab serves).
    pub fn floor_flights(&self) -> usize {
        self.floor(TlsVersion::Tls13).total()
    }
}

/// What the server saw.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub connections: usize,
    /// Connections open right now, and the most that were open at once.
    pub active: usize,
    pub max_active: usize,
    pub auth_attempts: usize,
    /// The most authentication commands seen on one connection.
    pub max_auth_per_connection: usize,
    /// Delayed flights served that the client waited for: replies before its last
    /// line, and TLS handshakes. Each is one round trip on a real network.
    pub flights: usize,
    /// The fewest and the most such flights on one connection (of those that
    /// ended).
    pub min_flights_per_connection: Option<usize>,
    pub max_flights_per_connection: usize,
    pub mismatches: Vec<String>,
    /// Client lines as received (they may hold the secret: tests only).
    pub client_lines: Vec<String>,
}

impl Stats {
    /// How many client lines were the command `verb` (its first word, any case):
    /// `count("DATA")` proves no message was sent.
    pub fn count(&self, verb: &str) -> usize {
        self.client_lines
            .iter()
            .filter(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case(verb))
            })
            .count()
    }
}

pub struct ReplayServer {
    addr: SocketAddr,
    stats: Arc<Mutex<Stats>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Does a client line match a fixture pattern (`*` = anything, `\*` = a star)?
pub fn glob(pattern: &str, line: &str) -> bool {
    const STAR: char = '\u{1}';
    let literal = |s: &str| s.replace(STAR, "*");
    let pattern = pattern
        .replace("\\*", &STAR.to_string())
        .replace("<auth>", "*");
    if !pattern.contains('*') {
        return literal(&pattern).eq_ignore_ascii_case(line);
    }
    let (l, p) = (line.to_ascii_lowercase(), pattern.to_ascii_lowercase());
    let parts: Vec<String> = p.split('*').map(literal).collect();
    let mut rest = l.as_str();
    for (i, part) in parts.iter().enumerate() {
        let part = part.as_str();
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Whether a client line is an authentication command (one attempt).
pub fn is_auth_command(line: &str) -> bool {
    let words: Vec<String> = line
        .split_whitespace()
        .take(2)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let is = |w: &str| matches!(w, "AUTH" | "AUTHENTICATE" | "LOGIN" | "PASS");
    words.iter().any(|w| is(w))
}

/// Whether an access token sent with XOAUTH2 is one the identity platform
/// issued (and has not revoked): `sim::oauth::Platform::accepts`.
pub type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The token inside an XOAUTH2 line (`AUTH XOAUTH2 <b64>`, `A1 AUTHENTICATE
/// XOAUTH2 <b64>` or the bare base64 answer to a `+`).
pub fn xoauth2_token(line: &str) -> Option<String> {
    use base64::Engine as _;
    let b64 = line.split_whitespace().last()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.split('\x01')
        .find_map(|f| f.strip_prefix("auth=Bearer "))
        .map(str::to_string)
}

/// What a server of `protocol` answers to a token it does not accept (the
/// lines Microsoft documents for a refused XOAUTH2 login).
fn token_refused(protocol: Protocol, tag: &str) -> String {
    match protocol {
        Protocol::Smtp => {
            "535 5.7.3 Authentication unsuccessful [SN2PR00CA0018.namprd00.prod.outlook.com]".into()
        }
        Protocol::Imap => format!("{tag} NO AUTHENTICATE failed."),
        Protocol::Pop => "-ERR Authentication failure: unknown user name or bad password.".into(),
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl ReplayServer {
    /// Starts serving `scenario` on 127.0.0.1 (ephemeral port); every connection
    /// plays it from the start, with `delay` before each server reply.
    pub async fn start(
        scenario: Scenario,
        tls: Arc<rustls::ServerConfig>,
        delay: Duration,
    ) -> std::io::Result<ReplayServer> {
        Self::start_at(
            "127.0.0.1:0".parse().expect("an address"),
            scenario,
            tls,
            delay,
            None,
        )
        .await
    }

    /// As `start`, on `addr` (a test of the standard ports uses a loopback
    /// address of its own, such as 127.0.0.66:993).
    pub async fn start_on(
        addr: SocketAddr,
        scenario: Scenario,
        tls: Arc<rustls::ServerConfig>,
        delay: Duration,
    ) -> std::io::Result<ReplayServer> {
        Self::start_at(addr, scenario, tls, delay, None).await
    }

    /// Like `start`; a token scenario accepts XOAUTH2 only with a token `check`
    /// approves, and otherwise refuses it and closes.
    pub async fn start_checked(
        scenario: Scenario,
        tls: Arc<rustls::ServerConfig>,
        delay: Duration,
        check: Option<TokenCheck>,
    ) -> std::io::Result<ReplayServer> {
        Self::start_at(
            "127.0.0.1:0".parse().expect("an address"),
            scenario,
            tls,
            delay,
            check,
        )
        .await
    }

    async fn start_at(
        addr: SocketAddr,
        scenario: Scenario,
        tls: Arc<rustls::ServerConfig>,
        delay: Duration,
        check: Option<TokenCheck>,
    ) -> std::io::Result<ReplayServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Mutex::new(Stats::default()));
        let st = stats.clone();
        let scenario = Arc::new(scenario);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                if let Ok(mut s) = st.lock() {
                    s.connections += 1;
                    s.active += 1;
                    s.max_active = s.max_active.max(s.active);
                }
                let (sc, st, tls) = (scenario.clone(), st.clone(), tls.clone());
                let check = check.clone();
                tokio::spawn(async move {
                    let mut done = false;
                    let mut flights = 0;
                    let r = play(
                        &sc,
                        tcp,
                        tls,
                        delay,
                        &st,
                        &mut done,
                        &mut flights,
                        check.as_ref(),
                    )
                    .await;
                    if let Ok(mut s) = st.lock() {
                        if !done {
                            s.active -= 1;
                        }
                        s.min_flights_per_connection = Some(
                            s.min_flights_per_connection
                                .map_or(flights, |m| m.min(flights)),
                        );
                        s.max_flights_per_connection = s.max_flights_per_connection.max(flights);
                        if let Err(why) = r {
                            s.mismatches.push(why);
                        }
                    }
                });
            }
        });
        Ok(ReplayServer { addr, stats, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// What the server saw since the last call (or its start); the counts start
    /// again from zero, but for the sessions still open.
    pub fn take_stats(&self) -> Stats {
        self.stats
            .lock()
            .map(|mut s| {
                let active = s.active;
                let taken = std::mem::take(&mut *s);
                s.active = active;
                taken
            })
            .unwrap_or_default()
    }
}

#[allow(clippy::too_many_arguments)]
async fn play(
    sc: &Scenario,
    tcp: tokio::net::TcpStream,
    tls: Arc<rustls::ServerConfig>,
    delay: Duration,
    stats: &Arc<Mutex<Stats>>,
    done: &mut bool,
    flights: &mut usize,
    check: Option<&TokenCheck>,
) -> Result<(), String> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    // The session counts as active until the last reply the client waits for (the
    // last one before its last line) is written: after that the client may
    // already be on its next mailbox.
    let last_expect_at = sc.steps.iter().rposition(|s| matches!(s, Step::Expect(_)));
    let last_awaited = sc.steps[..last_expect_at.unwrap_or(sc.steps.len())]
        .iter()
        .rposition(|s| matches!(s, Step::Send(_)));
    // One flight the client waits for: counted on the connection and in all.
    let flown = |flights: &mut usize| {
        *flights += 1;
        if let Ok(mut s) = stats.lock() {
            s.flights += 1;
        }
    };
    let mut stream: BufReader<Box<dyn Io>> = if sc.tls == TlsMode::Implicit {
        // The handshake's server flight is a reply too: one delay.
        if !delay.is_zero() {
            crate::sim::pause(delay).await;
        }
        flown(flights);
        let s = acceptor
            .accept(tcp)
            .await
            .map_err(|e| format!("TLS accept: {e}"))?;
        BufReader::new(Box::new(s))
    } else {
        BufReader::new(Box::new(tcp))
    };
    let mut last_tag = String::from("*");
    let mut auth_here = 0;
    // The client's last line opened an authentication exchange: a syntax error in
    // answer (500, 501, 504) means no credential was checked, so it is no attempt.
    let mut auth_opened = false;
    let timeout = Duration::from_secs(30);
    // After the client's last expected line it may close without reading the
    // farewell (QUIT/LOGOUT replies): failing to write that is no mismatch.
    let last_expect = sc.steps.iter().rposition(|s| matches!(s, Step::Expect(_)));
    for (i, step) in sc.steps.iter().enumerate() {
        match step {
            Step::Send(line) => {
                // One delay per reply (its first line), as a network round trip would.
                let first_line = i == 0 || !matches!(sc.steps[i - 1], Step::Send(_));
                if first_line && !delay.is_zero() {
                    crate::sim::pause(delay).await;
                }
                if first_line && last_expect_at.is_some_and(|l| i < l) {
                    flown(flights);
                }
                let line = line.replace("{tag}", &last_tag);
                if first_line && std::mem::take(&mut auth_opened) {
                    let refused = ["500", "501", "504"].iter().any(|c| line.starts_with(c));
                    if refused {
                        if let Ok(mut s) = stats.lock() {
                            s.auth_attempts -= 1;
                        }
                        auth_here -= 1;
                    }
                }
                if Some(i) == last_awaited && !*done {
                    *done = true;
                    if let Ok(mut s) = stats.lock() {
                        s.active -= 1;
                    }
                }
                let written = stream
                    .get_mut()
                    .write_all(format!("{line}\r\n").as_bytes())
                    .await;
                match written {
                    Ok(()) => {}
                    Err(_) if last_expect.is_some_and(|l| i > l) => return Ok(()),
                    Err(e) => return Err(format!("write: {e}")),
                }
            }
            Step::Expect(pattern) => {
                let mut buf = Vec::new();
                let n = tokio::time::timeout(
                    timeout,
                    (&mut stream).take(64 * 1024).read_until(b'\n', &mut buf),
                )
                .await
                .map_err(|_| format!("client sent nothing; expected `{pattern}`"))?
                .map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Err(format!("client closed; expected `{pattern}`"));
                }
                let got = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                if let Ok(mut s) = stats.lock() {
                    auth_opened = is_auth_command(&got);
                    if auth_opened {
                        s.auth_attempts += 1;
                        auth_here += 1;
                        s.max_auth_per_connection = s.max_auth_per_connection.max(auth_here);
                    }
                    s.client_lines.push(got.clone());
                }
                // Only a tagged command sets `{tag}` (not a literal or SASL line).
                if pattern.starts_with("* ") {
                    last_tag = got.split_whitespace().next().unwrap_or("*").to_string();
                }
                if !glob(pattern, &got) {
                    return Err(format!(
                        "expected `{pattern}`, got `{}`",
                        redact(pattern, &got)
                    ));
                }
                if let (Some(check), true, true) = (check, sc.token, pattern.contains("<auth>")) {
                    if !xoauth2_token(&got).is_some_and(|t| check(&t)) {
                        let tag = got.split_whitespace().next().unwrap_or("*");
                        let line = token_refused(sc.protocol, tag);
                        let _ = stream
                            .get_mut()
                            .write_all(format!("{line}\r\n").as_bytes())
                            .await;
                        return Err(
                            "XOAUTH2 with a token the identity platform did not issue".into()
                        );
                    }
                }
            }
            Step::Tls => {
                if !stream.buffer().is_empty() {
                    return Err("client sent data before the TLS handshake".into());
                }
                let inner = stream.into_inner();
                if !delay.is_zero() {
                    crate::sim::pause(delay).await;
                }
                flown(flights);
                let s = acceptor
                    .accept(inner)
                    .await
                    .map_err(|e| format!("TLS accept after STARTTLS: {e}"))?;
                stream = BufReader::new(Box::new(s));
            }
            Step::Tls10 => {
                flown(flights);
                return old_tls_hello(stream.into_inner(), timeout).await;
            }
            Step::Close => return Ok(()),
            Step::Delay(d) => tokio::time::sleep(*d).await,
        }
    }
    // Hold the line open briefly so the client's last read completes; whatever
    // the client still sends is counted too (a DATA after the script, say).
    let until = tokio::time::Instant::now() + Duration::from_millis(200);
    loop {
        let mut buf = Vec::new();
        let read = tokio::time::timeout_at(
            until,
            (&mut stream).take(64 * 1024).read_until(b'\n', &mut buf),
        )
        .await;
        match read {
            Ok(Ok(n)) if n > 0 => {
                let got = String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                if let Ok(mut s) = stats.lock() {
                    s.client_lines.push(got);
                }
            }
            _ => break,
        }
    }
    Ok(())
}

/// Mismatch messages never repeat a client line that could hold a secret.
/// Reads the client's hello record and answers as a server whose newest TLS is
/// 1.0: a ServerHello with version 3.1 (TLS_RSA_WITH_AES_128_CBC_SHA, no
/// extensions), then waits for the client to give up and close.
async fn old_tls_hello(mut io: Box<dyn Io>, timeout: Duration) -> Result<(), String> {
    let mut head = [0u8; 5];
    tokio::time::timeout(timeout, io.read_exact(&mut head))
        .await
        .map_err(|_| "client sent no TLS hello".to_string())?
        .map_err(|e| format!("read: {e}"))?;
    if head[0] != 0x16 {
        return Err(format!(
            "expected a TLS handshake record, got type {}",
            head[0]
        ));
    }
    let len = usize::from(u16::from_be_bytes([head[3], head[4]]));
    let mut body = vec![0u8; len.min(16 * 1024)];
    tokio::time::timeout(timeout, io.read_exact(&mut body))
        .await
        .map_err(|_| "client's hello was cut short".to_string())?
        .map_err(|e| format!("read: {e}"))?;
    // ServerHello: type 2, 38 bytes: version 3.1, random, no session id, the
    // suite 0x002f, no compression.
    let mut hello = vec![0x02, 0x00, 0x00, 38, 0x03, 0x01];
    hello.extend(std::iter::repeat_n(0x5a, 32));
    hello.extend([0x00, 0x00, 0x2f, 0x00]);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, 42];
    record.extend(hello);
    io.write_all(&record)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut rest = [0u8; 512];
    let _ = tokio::time::timeout(timeout, io.read(&mut rest)).await;
    Ok(())
}

fn redact(pattern: &str, got: &str) -> String {
    if pattern.contains("<auth>") || is_auth_command(got) {
        "<a secret-bearing line>".into()
    } else {
        got.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_fixture_parses() {
        assert!(!FIXTURES.is_empty());
        assert!(!PATH_FIXTURES.is_empty());
        for (name, text) in FIXTURES.iter().chain(PATH_FIXTURES) {
            let s = Scenario::parse(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.steps.is_empty(), "{name}");
            assert!(s.source.is_some(), "{name} has no `# source:`");
        }
    }

    fn floor(name: &str) -> Floor {
        Scenario::named(name)
            .expect("fixture")
            .floor(TlsVersion::Tls13)
    }

    #[test]
    fn the_floor_follows_what_the_server_offers() {
        // Greeting, EHLO, STARTTLS, the handshake, EHLO, then AUTH LOGIN with an
        // initial response: the password prompt and the verdict.
        let smtp = floor("exo-smtp-ok");
        assert_eq!(
            smtp,
            Floor {
                dns: 1,
                tls: 1,
                replies: 6
            }
        );
        assert_eq!(smtp.total(), 8);
        // Handshake, greeting, CAPABILITY, AUTHENTICATE PLAIN with SASL-IR.
        assert_eq!(floor("exo-imap-ok").total(), 5);
        // Handshake, greeting, CAPA, AUTH PLAIN with an initial response.
        assert_eq!(floor("exo-pop-ok").total(), 5);
        // Implicit TLS and PLAIN offered: greeting, EHLO, one AUTH reply.
        assert_eq!(floor("gmail-smtp-implicit-ok").total(), 5);
        // Capabilities in the greeting, STARTTLS, CAPABILITY again, no login.
        assert_eq!(floor("imap-logindisabled").total(), 5);
        assert_eq!(
            Scenario::named("exo-smtp-ok")
                .expect("fixture")
                .floor_flights(),
            8
        );
        let tls12 = Scenario::named("exo-smtp-ok")
            .expect("fixture")
            .floor(TlsVersion::Tls12);
        assert_eq!(tls12.total(), 9);
        assert_eq!(Floor::https(TlsVersion::Tls13, 1).total(), 3);
    }

    #[test]
    fn the_floor_ignores_what_the_client_sent() {
        // The same server lines, the client's AUTH LOGIN with and without an
        // initial response.
        let server = "S: 220 ready\nC: EHLO *\nS: 250-mx\nS: 250 AUTH LOGIN\n";
        let without = "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: *\nS: 334 UGFzc3dvcmQ6\nC: <auth>\nS: 235 ok\nC: QUIT\n";
        let with = "C: AUTH LOGIN *\nS: 334 UGFzc3dvcmQ6\nC: <auth>\nS: 235 ok\nC: QUIT\n";
        let head = "# protocol: smtp\n# tls: none\n";
        for dialogue in [without, with] {
            let sc = Scenario::parse("t", &format!("{head}{server}{dialogue}")).expect("parse");
            assert_eq!(sc.floor(TlsVersion::Tls13).total(), 5, "{dialogue}");
        }
    }

    #[tokio::test]
    async fn the_server_counts_the_flights_the_client_waited_for() {
        let text = "# protocol: smtp\n# tls: none\nS: 220 ready\nC: EHLO *\nS: 250-mx\nS: 250 AUTH PLAIN\nC: AUTH PLAIN <auth>\nS: 235 ok\nC: QUIT\nS: 221 bye\n!close\n";
        let sc = Scenario::parse("t", text).expect("parse");
        let cfg = crate::sim::pki::Pki::new()
            .expect("pki")
            .server_config(CertKind::Valid, &["mx"])
            .expect("config");
        let server = ReplayServer::start(sc, cfg, Duration::ZERO)
            .await
            .expect("start");
        let tcp = tokio::net::TcpStream::connect(server.addr())
            .await
            .expect("connect");
        let mut c = BufReader::new(tcp);
        let mut line = String::new();
        for (send, replies) in [("", 1), ("EHLO me\r\n", 2), ("AUTH PLAIN AGEAYg==\r\n", 1)] {
            c.get_mut().write_all(send.as_bytes()).await.expect("write");
            for _ in 0..replies {
                line.clear();
                c.read_line(&mut line).await.expect("read");
            }
        }
        c.get_mut().write_all(b"QUIT\r\n").await.expect("write");
        drop(c);
        let mut st = server.stats();
        for _ in 0..200 {
            if st.min_flights_per_connection.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            st = server.stats();
        }
        // Greeting, EHLO and the AUTH verdict; not the farewell.
        assert_eq!(st.flights, 3);
        assert_eq!(st.min_flights_per_connection, Some(3));
        assert_eq!(st.max_flights_per_connection, 3);
        assert!(st.mismatches.is_empty(), "{:?}", st.mismatches);
    }

    #[test]
    fn glob_and_auth_commands() {
        assert!(glob("EHLO *", "EHLO mailbox-doctor.invalid"));
        assert!(glob(
            "* AUTHENTICATE PLAIN <auth>",
            "A2 AUTHENTICATE PLAIN AGFsaWNl"
        ));
        assert!(!glob("QUIT", "RSET"));
        assert!(glob("\\*", "*"));
        assert!(!glob("\\*", "dXNlcg=="));
        assert!(glob("\\* *", "* anything"));
        assert!(is_auth_command("AUTH PLAIN AGFs"));
        assert!(is_auth_command("A3 LOGIN \"a\" \"b\""));
        assert!(is_auth_command("PASS x"));
        assert!(!is_auth_command("USER alice"));
        assert!(!is_auth_command("A1 CAPABILITY"));
    }
}
