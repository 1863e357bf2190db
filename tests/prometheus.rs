//! A real Prometheus (Debian's `prometheus` package) against real `serve`
//! instances, and promtool on everything the exporter writes and on
//! examples/prometheus/. Ignored by default: scripts/test.sh installs the package
//! and runs them with `--ignored` (or says loudly that it skipped them).

#[path = "util/mod.rs"]
mod util;

#[path = "serve/harness.rs"]
mod harness;

use harness::{Env, Serve, USER};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus")
}

/// Runs promtool with `args`, `stdin` on its standard input; panics with its
/// output unless it succeeds.
fn promtool(args: &[&str], stdin: &[u8]) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package `prometheus`)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("writes");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool {args:?} refused:\n{}{}\n--- input ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(stdin)
    );
}

#[test]
#[ignore = "needs promtool (scripts/test.sh installs Debian's prometheus)"]
fn promtool_checks_the_example_config_rules_and_their_unit_tests() {
    let dir = examples();
    for (args, file) in [
        (["check", "config"], "prometheus.yml"),
        (["check", "rules"], "alerts.yml"),
        (["test", "rules"], "alerts.test.yml"),
    ] {
        let path = dir.join(file).display().to_string();
        promtool(&[args[0], args[1], &path], b"");
    }
}

#[test]
#[ignore = "needs promtool (scripts/test.sh installs Debian's prometheus)"]
fn promtool_accepts_every_exposition_serve_and_check_write() {
    let env = Env::new();
    let ok = env.fixture("exo-smtp-ok", Duration::ZERO);
    let bad = env.fixture("exo-smtp-bad-credentials", Duration::ZERO);
    let slow = env.fixture("exo-smtp-ok", Duration::from_millis(400));
    let text = env.smtp_module("ok", ok.addr().port(), "")
        + &env.smtp_module("bad", bad.addr().port(), "")
        + &env.smtp_module("slow", slow.addr().port(), "")
        + &env.target("ok@contoso.com", "ok", "")
        + &env.target("bad@contoso.com", "bad", "")
        + &env.target("slow@contoso.com", "slow", "");
    let serve = Serve::start(&env.write_config(&text), &[]);
    let mut bodies = Vec::new();
    for module in ["ok", "bad", "slow", "ok"] {
        let a = serve.get_with(
            &format!("/probe?target={module}%40contoso.com"),
            &[("X-Prometheus-Scrape-Timeout-Seconds", "1.5")],
        );
        assert_eq!(a.status, 200, "{}", a.body);
        bodies.push(a.body);
    }
    assert!(bodies[2].contains("PROBE_TIMEOUT"), "{}", bodies[2]);
    assert!(bodies[3].contains("mailbox_doctor_probe_cached 1"));
    bodies.push(serve.get("/metrics").body);
    // `check --format prometheus` and `batch --format prometheus`.
    for sc in ["exo-smtp-ok", "exo-smtp-bad-credentials"] {
        let server = env.fixture(sc, Duration::ZERO);
        let out = util::bin()
            .args([
                "check",
                USER,
                "--only",
                "smtp",
                "--password-stdin",
                "--format",
                "prometheus",
            ])
            .arg("--smtp")
            .arg(format!("smtp://127.0.0.1:{}", server.addr().port()))
            .arg("--ca-file")
            .arg(&env.ca)
            .arg("--dns-server")
            .arg(env.dns.addr().to_string())
            .write_stdin("x\n")
            .output()
            .expect("runs");
        bodies.push(String::from_utf8_lossy(&out.stdout).to_string());
    }
    for body in &bodies {
        assert!(body.contains("# TYPE"), "{body}");
        promtool(&["check", "metrics"], body.as_bytes());
    }
}

/// A Prometheus server on 127.0.0.1 with its own config and storage.
struct Prometheus {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Prometheus {
    fn start(config: &str, rules: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("config");
        std::fs::write(dir.path().join("alerts.yml"), rules).expect("rules");
        promtool(
            &[
                "check",
                "config",
                &dir.path().join("prometheus.yml").display().to_string(),
            ],
            b"",
        );
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus is installed (Debian package `prometheus`)");
        Prometheus {
            child,
            addr,
            _dir: dir,
        }
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = std::net::TcpStream::connect(&self.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .ok()?;
        let mut raw = String::new();
        s.read_to_string(&mut raw).ok()?;
        let (head, body) = raw.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        // The API answers with chunked encoding at times: keep the JSON only.
        let start = body.find('{').unwrap_or(0);
        let end = body.rfind('}').map(|e| e + 1).unwrap_or(body.len());
        Some((status, body[start..end].to_string()))
    }

    /// The result vector of an instant query.
    fn query(&self, q: &str) -> Vec<serde_json::Value> {
        let enc: String = q
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"_".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        self.get(&format!("/api/v1/query?query={enc}"))
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Waits until `q` returns `n` series.
    fn wait_for(&self, q: &str, n: usize, within: Duration) -> Vec<serde_json::Value> {
        let until = Instant::now() + within;
        loop {
            let r = self.query(q);
            if r.len() >= n {
                return r;
            }
            assert!(
                Instant::now() < until,
                "Prometheus never showed {n} series for {q}; last: {r:?}; targets: {:?}",
                self.get("/api/v1/targets")
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

#[test]
#[ignore = "needs prometheus (scripts/test.sh installs Debian's prometheus)"]
fn a_real_prometheus_shards_mailboxes_over_three_serve_instances_and_shows_probe_success() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let mailboxes = [
        "scanner@contoso.com",
        "printer-3rd-floor@contoso.com",
        "invoices@fabrikam.com",
    ];
    let mut text = env.smtp_module("m365_smtp", server.addr().port(), "min_interval = \"5m\"");
    for m in mailboxes {
        text += &env.target(m, "m365_smtp", "");
    }
    let cfg = env.write_config(&text);
    // Three instances with the same config, as the example deploys them.
    let instances: Vec<Serve> = (0..3).map(|_| Serve::start(&cfg, &[])).collect();
    // The example's own file, pointed at these instances and sped up.
    let mut config = std::fs::read_to_string(examples().join("prometheus.yml")).expect("example");
    for (i, s) in instances.iter().enumerate() {
        config = config.replace(&format!("serve-{i}.example.net:9877"), &s.addr.to_string());
    }
    config = config
        .replace("scrape_interval: 1m", "scrape_interval: 1s")
        .replace("evaluation_interval: 1m", "evaluation_interval: 1s")
        .replace("scrape_timeout: 30s", "scrape_timeout: 1s");
    assert!(
        !config.contains("example.net"),
        "every shard is pointed at a test instance"
    );
    let rules = std::fs::read_to_string(examples().join("alerts.yml")).expect("rules");
    let prom = Prometheus::start(&config, &rules);
    let within = Duration::from_secs(90);
    let success = prom.wait_for("probe_success == 1", 3, within);
    let mut shown: Vec<String> = success
        .iter()
        .filter_map(|s| s["metric"]["instance"].as_str().map(str::to_string))
        .collect();
    shown.sort();
    let mut want: Vec<String> = mailboxes.iter().map(|m| m.to_string()).collect();
    want.sort();
    assert_eq!(shown, want, "{success:?}");
    // The root cause is there too, and the deadline came from scrape_timeout.
    let cause = prom.wait_for("mailbox_doctor_root_cause_info", 3, within);
    assert!(
        cause
            .iter()
            .all(|s| s["metric"]["code"] == "M365_SMTP_BASIC_AUTH_SUNSET"),
        "{cause:?}"
    );
    let deadline = prom.wait_for("probe_timeout_seconds == 0.5", 3, within);
    assert_eq!(deadline.len(), 3);
    // Let Prometheus scrape each mailbox several more times.
    prom.wait_for(
        "count_over_time(mailbox_doctor_probe_cached[1m]) >= 5",
        3,
        within,
    );
    let up = prom.wait_for("up{job=\"mailbox-doctor-serve\"} == 1", 3, within);
    assert_eq!(up.len(), 3);
    // Each mailbox logged in once: one instance owns it, and caches it.
    assert_eq!(server.stats().auth_attempts, 3, "one login per mailbox");
    let mut probes = 0.0;
    for s in &instances {
        let m = s.get("/metrics");
        probes += m
            .value("mailbox_doctor_serve_logins_total", &[("protocol", "smtp")])
            .unwrap_or(0.0);
        s.assert_no_leak();
    }
    assert_eq!(probes, 3.0, "one probe per mailbox over all instances");
    let _ = USER;
}
