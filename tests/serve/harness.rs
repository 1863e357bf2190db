//! Runs the real `serve` binary against replay servers on 127.0.0.1: writes its
//! config and secret files, reads its JSON log lines from stderr, scrapes it with
//! a plain HTTP/1.1 client over a TCP socket, and parses the answers as the
//! exposition format.
#![allow(dead_code)]

use mailbox_doctor::sim::pki::Pki;
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const CANARY: &str = "Serve-Canary-4417";
pub const USER: &str = "scanner@contoso.com";

/// Replay servers, a DNS server that knows no name, a CA file and a private
/// directory for config and secrets.
pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub pki: Pki,
    pub dns: mailbox_doctor::sim::dns::DnsServer,
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let pki = Pki::new().expect("pki");
        let dns = crate::util::local_dns(&rt);
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, pki.ca.pem()).expect("ca");
        let env = Env {
            rt,
            pki,
            dns,
            dir,
            ca,
        };
        env.secret("scanner.secret", CANARY);
        env
    }

    /// A replay server playing `sc`, with `delay` before every reply.
    pub fn replay(&self, sc: Scenario, delay: Duration) -> ReplayServer {
        let cfg = self
            .pki
            .server_config(sc.cert, &["127.0.0.1", "localhost"])
            .expect("cert");
        self.rt
            .block_on(ReplayServer::start(sc, cfg, delay))
            .expect("replay server")
    }

    pub fn fixture(&self, name: &str, delay: Duration) -> ReplayServer {
        self.replay(Scenario::named(name).expect("fixture"), delay)
    }

    /// Writes a secret file only its owner can read; returns its path.
    pub fn secret(&self, name: &str, value: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let p = self.dir.path().join(name);
        std::fs::write(&p, format!("{value}\n")).expect("secret");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        p
    }

    /// A module block for an SMTP server at `port` (STARTTLS), only the smtp check.
    pub fn smtp_module(&self, name: &str, port: u16, extra: &str) -> String {
        format!(
            "[modules.{name}]\nsmtp = \"smtp://127.0.0.1:{port}\"\nonly = [\"smtp\"]\ntimeout = 5\nca_file = \"{}\"\ndns_server = \"{}\"\n{extra}\n",
            self.ca.display(),
            self.dns.addr()
        )
    }

    /// A target block reading the canary password file.
    pub fn target(&self, address: &str, module: &str, extra: &str) -> String {
        format!(
            "[[targets]]\naddress = \"{address}\"\nmodule = \"{module}\"\npassword_file = \"{}\"\n{extra}\n",
            self.dir.path().join("scanner.secret").display()
        )
    }

    pub fn write_config(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("serve.toml");
        std::fs::write(&p, text).expect("config");
        p
    }
}

/// A running `serve`.
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Every answer's head and body, for the leak checks.
    pub seen: Arc<Mutex<Vec<u8>>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve_cmd(config: &Path) -> Command {
    serve_cmd_on(config, "127.0.0.1:0")
}

/// `serve_cmd`, listening on `listen`.
pub fn serve_cmd_on(config: &Path, listen: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailbox-doctor"));
    c.args(["serve", "--config"])
        .arg(config)
        .args(["--listen", listen, "--now", "2026-06-01"])
        .env_remove("MAILBOX_DOCTOR_PASSWORD")
        .env_remove("MAILBOX_DOCTOR_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

impl Serve {
    /// Starts `serve` on `config` and waits until it listens.
    pub fn start(config: &Path, extra: &[&str]) -> Serve {
        Serve::spawn(serve_cmd(config).args(extra))
    }

    pub fn spawn(cmd: &mut Command) -> Serve {
        let mut child = cmd.spawn().expect("serve starts");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut pipe = std::io::BufReader::new(child.stderr.take().expect("stderr"));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut line = Vec::new();
            while pipe
                .read_until(b'\n', &mut line)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) {
                    if v["msg"] == "listening" {
                        let _ = tx.send(v["address"].as_str().unwrap_or_default().to_string());
                    }
                }
                sink.lock().expect("lock").extend_from_slice(&line);
                line.clear();
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "serve did not start: {}",
                String::from_utf8_lossy(&stderr.lock().expect("lock"))
            )
        };
        let addr = addr.parse().expect("address");
        Serve {
            child,
            addr,
            stderr,
            seen: Default::default(),
        }
    }

    /// GET `path` with extra request headers; returns status, head and body.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.request_to(self.addr, "GET", path, headers)
    }

    /// Any method, to `path` at `addr` (the server's own address, or another
    /// address of this machine it listens on), without a body.
    pub fn request_to(
        &self,
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut s = TcpStream::connect(addr).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("sends");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("reads");
        self.seen.lock().expect("lock").extend_from_slice(&raw);
        Answer::parse(&raw)
    }

    pub fn get(&self, path: &str) -> Answer {
        self.get_with(path, &[])
    }

    pub fn probe(&self, target: &str) -> Answer {
        self.get(&format!("/probe?target={}", target.replace('@', "%40")))
    }

    /// What serve wrote to stderr so far.
    pub fn stderr(&self) -> Vec<u8> {
        self.stderr.lock().expect("lock").clone()
    }

    /// The log lines so far, parsed (every line must be JSON).
    pub fn logs(&self) -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&self.stderr())
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("log line not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// Waits until a log line with `msg` has been written `n` times.
    pub fn wait_log(&self, msg: &str, n: usize) -> Vec<serde_json::Value> {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let found: Vec<_> = self
                .logs()
                .into_iter()
                .filter(|l| l["msg"] == msg)
                .collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                Instant::now() < until,
                "no `{msg}` log line: {:?}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(st.success());
    }

    /// Waits for the process to end; its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let until = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return st.code();
            }
            assert!(
                Instant::now() < until,
                "serve did not end within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts that no form of the canary is in any answer or log line so far.
    pub fn assert_no_leak(&self) {
        let seen = self.seen.lock().expect("lock").clone();
        crate::util::assert_no_leak(USER, CANARY, &[&seen, &self.stderr()]);
    }
}

/// An HTTP answer.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    fn parse(raw: &[u8]) -> Answer {
        let text = String::from_utf8_lossy(raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Answer {
            status,
            head: head.to_string(),
            body: body.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    /// The body parsed as the exposition format.
    pub fn scrape(&self) -> prometheus_parse::Scrape {
        assert_eq!(self.status, 200, "{}\n{}", self.head, self.body);
        let lines = self.body.lines().map(|l| Ok(l.to_string()));
        prometheus_parse::Scrape::parse(lines).expect("parses as the exposition format")
    }

    /// The value of the sample `name` whose labels include `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.scrape().samples.into_iter().find_map(|s| {
            let matches =
                s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v));
            matches.then_some(match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
        })
    }

    /// The code of the root-cause info metric.
    pub fn root_cause(&self) -> Option<String> {
        self.scrape().samples.into_iter().find_map(|s| {
            (s.metric == "mailbox_doctor_root_cause_info")
                .then(|| s.labels.get("code").map(str::to_string))
                .flatten()
        })
    }
}

/// A scenario that plays exo-smtp-ok after `ms` of silence before the greeting.
pub fn slow_greeting(ms: u64) -> Scenario {
    let text = Scenario::named("exo-smtp-ok")
        .map(|_| ())
        .map(|_| include_str!("../../fixtures/exo-smtp-ok.txt"))
        .expect("fixture");
    let at = text.find("\nS: 220").expect("greeting") + 1;
    let slowed = format!("{}!delay {ms}\n{}", &text[..at], &text[at..]);
    Scenario::parse("slow-greeting", &slowed).expect("parses")
}
