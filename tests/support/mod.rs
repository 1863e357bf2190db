//! Plays one scenario (a fixture or an inline one) on the replay server and runs
//! the real binary against it: what the report said, the exit code, and what the
//! server saw (authentication attempts, deviations, the client's lines).
#![allow(dead_code)]

use crate::util::{bin, validated};
use mailbox_doctor::sim::pki::Pki;
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use mailbox_doctor::vocab::{Protocol, TlsMode};
use std::time::{Duration, Instant};

pub const USER: &str = "alice@contoso.com";

pub struct Run {
    pub json: serde_json::Value,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub took: Duration,
    pub auth_attempts: usize,
    pub max_auth_per_connection: usize,
    pub connections: usize,
    pub mismatches: Vec<String>,
    /// What the client sent, as received (may hold the secret: never print it).
    pub client_lines: Vec<String>,
}

impl Run {
    /// The diagnosis codes, root cause first.
    pub fn codes(&self) -> Vec<String> {
        crate::util::codes(&self.json)
    }
    /// A check's report by id.
    pub fn check(&self, id: &str) -> serde_json::Value {
        self.json["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id).cloned())
            .unwrap_or(serde_json::Value::Null)
    }
    /// The transcript as `dir line` strings.
    pub fn transcript(&self) -> Vec<String> {
        self.json["transcript"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| {
                        format!(
                            "{} {}",
                            l["dir"].as_str().unwrap_or_default(),
                            l["line"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn scenario(text: &str) -> Scenario {
    Scenario::parse("inline", text).expect("scenario parses")
}

/// The credential a run logs in with.
#[derive(Clone, Copy)]
pub enum Credential<'a> {
    None,
    Password(&'a str),
    Token(&'a str),
}

/// How the binary is run against a scenario.
pub struct Play<'a> {
    pub credential: Credential<'a>,
    pub format: &'a str,
    pub transcript: bool,
    pub extra: &'a [&'a str],
    /// The working directory, HOME and TMPDIR of the run (None: inherited).
    pub dir: Option<&'a std::path::Path>,
}

/// Runs `check --format json --transcript` against `sc` with `password` (None:
/// `--no-password`) and any `extra` flags.
pub fn run(sc: &Scenario, password: Option<&str>, extra: &[&str]) -> Run {
    let credential = password.map_or(Credential::None, Credential::Password);
    play(
        sc,
        &Play {
            credential,
            format: "json",
            transcript: true,
            extra,
            dir: None,
        },
    )
}

/// The endpoint flag and URL scheme that point the tool at `sc` as its client
/// is told to connect.
pub fn endpoint_flag(sc: &Scenario) -> (&'static str, &'static str) {
    match (sc.protocol, sc.client_tls == TlsMode::Implicit) {
        (Protocol::Smtp, true) => ("--smtp", "smtps"),
        (Protocol::Smtp, false) => ("--smtp", "smtp"),
        (Protocol::Imap, true) => ("--imap", "imaps"),
        (Protocol::Imap, false) => ("--imap", "imap"),
        (Protocol::Pop, true) => ("--pop", "pop3s"),
        (Protocol::Pop, false) => ("--pop", "pop3"),
    }
}

/// Plays `sc` on a replay server of its own and runs the binary against it as
/// `p` says; the JSON report is parsed and validated when the format is JSON.
pub fn play(sc: &Scenario, p: &Play) -> Run {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let cfg = pki
        .server_config(sc.cert, &["127.0.0.1", "localhost"])
        .expect("cert");
    let server = rt
        .block_on(ReplayServer::start(sc.clone(), cfg, Duration::ZERO))
        .expect("server");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let dns = crate::util::local_dns(&rt);
    let (flag, scheme) = endpoint_flag(sc);
    let mut cmd = bin();
    cmd.args(["check", USER, "--timeout", "5", "--format", p.format])
        .args(["--only", sc.protocol.as_str()])
        .arg(flag)
        .arg(format!("{scheme}://127.0.0.1:{}", server.addr().port()))
        .arg("--ca-file")
        .arg(ca.path())
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .args(p.extra)
        .timeout(Duration::from_secs(60));
    if p.transcript {
        cmd.arg("--transcript");
    }
    if let Some(dir) = p.dir {
        cmd.current_dir(dir).env("HOME", dir).env("TMPDIR", dir);
    }
    match p.credential {
        Credential::Password(pw) => {
            cmd.arg("--password-stdin").write_stdin(format!("{pw}\n"));
        }
        Credential::Token(t) => {
            cmd.arg("--oauth-token-stdin").write_stdin(format!("{t}\n"));
        }
        Credential::None => {
            cmd.arg("--no-password");
        }
    }
    let start = Instant::now();
    let out = cmd.output().expect("runs");
    let took = start.elapsed();
    // Let the server finish reading what the client sent last (its sessions end
    // once the client's last line is read), however loaded the machine is.
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.stats().active > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(20));
    let stats = server.stats();
    let json = if p.format == "json" {
        validated(&out.stdout, "report.v1.json")
    } else {
        serde_json::Value::Null
    };
    Run {
        json,
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
        took,
        auth_attempts: stats.auth_attempts,
        max_auth_per_connection: stats.max_auth_per_connection,
        connections: stats.connections,
        mismatches: stats.mismatches,
        client_lines: stats.client_lines,
    }
}
