//! HTTPS look-ups through an HTTP proxy (HTTPS_PROXY / https_proxy, NO_PROXY /
//! no_proxy), with a CONNECT proxy on 127.0.0.1 that counts what it carries and
//! an HTTPS identity server whose certificate is for login.example.test. When a
//! proxy is used, the tool's DNS knows no name at all: the proxy reaches the
//! identity host, the tool never resolves it. Mail protocols never go through
//! the proxy, and nothing secret ever reaches it.

mod util;

use base64::Engine as _;
use mailbox_doctor::sim::dns::{DnsServer, Rec, Zone};
use mailbox_doctor::sim::identity::{IdentityServer, TenantKind};
use mailbox_doctor::sim::pki::{Ca, CertKind, Pki, Validity};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use util::proxy::{ConnectProxy, Mode};
use util::{assert_no_leak, bin, validated};

const HOST: &str = "login.example.test";
const USER: &str = "alice@contoso.com";

struct Env {
    rt: tokio::runtime::Runtime,
    server: IdentityServer,
    ca: tempfile::NamedTempFile,
    /// Knows no name: NXDOMAIN for every look-up.
    empty_dns: DnsServer,
    /// Knows login.example.test (127.0.0.1).
    dns: DnsServer,
}

fn env() -> Env {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ca = Ca::new("mailbox-doctor test CA").expect("ca");
    let cert = ca
        .issue(&[HOST, "127.0.0.1"], Validity::Valid)
        .expect("cert");
    let mut tenants = HashMap::new();
    tenants.insert(
        "contoso.com".to_string(),
        TenantKind::Managed {
            brand: "Contoso".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        },
    );
    let server = rt
        .block_on(IdentityServer::start(&cert, tenants))
        .expect("server");
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), ca.pem()).expect("write ca");
    let empty_dns = util::local_dns(&rt);
    let zone = Zone::new().add(HOST, Rec::Ip("127.0.0.1".parse().expect("ip")));
    let dns = rt.block_on(DnsServer::start(zone)).expect("dns");
    Env {
        rt,
        server,
        ca: file,
        empty_dns,
        dns,
    }
}

struct Out {
    json: serde_json::Value,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    took: Duration,
}

impl Out {
    fn tenant(&self) -> serde_json::Value {
        self.json["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == "tenant").cloned())
            .unwrap_or_default()
    }
    fn summary(&self) -> String {
        self.tenant()["summary"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Runs the tenant check against `host` (the identity server's port) with the
/// environment `vars`, asking `dns`.
fn tenant(
    env: &Env,
    host: &str,
    vars: &[(&str, String)],
    dns: &DnsServer,
    timeout: &str,
    json: bool,
) -> Out {
    let mut cmd = bin();
    cmd.args(["check", USER, "--no-password", "--only", "tenant"])
        .args(["--provider", "microsoft365"])
        .args(["--timeout", timeout])
        .arg("--identity-url")
        .arg(format!("https://{host}:{}", env.server.addr().port()))
        .arg("--ca-file")
        .arg(env.ca.path())
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .timeout(Duration::from_secs(60));
    if json {
        cmd.arg("--json");
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.output().expect("runs");
    let took = start.elapsed();
    let json = match json {
        true => validated(&out.stdout, "report.v1.json"),
        false => serde_json::Value::Null,
    };
    Out {
        json,
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
        took,
    }
}

fn url(p: &ConnectProxy) -> String {
    format!("http://{}", p.addr())
}

#[test]
fn the_look_ups_go_through_the_proxy_and_the_report_says_so() {
    let env = env();
    for var in ["HTTPS_PROXY", "https_proxy"] {
        let proxy = ConnectProxy::start(Mode::Tunnel);
        let before = env.server.requests();
        let o = tenant(&env, HOST, &[(var, url(&proxy))], &env.empty_dns, "3", true);
        let t = o.tenant();
        assert_eq!(t["status"], "pass", "{var}: {}", o.json);
        assert_eq!(
            t["details"]["tenant_id"],
            "72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        assert_eq!(t["details"]["proxy"], proxy.addr().to_string());
        assert!(
            o.summary()
                .ends_with(&format!("(through the proxy {})", proxy.addr())),
            "{}",
            o.summary()
        );
        assert_eq!(o.code, Some(0));
        let log = proxy.log();
        assert_eq!((log.connections, log.tunnels), (2, 2), "realm and OpenID");
        let port = env.server.addr().port();
        for r in &log.requests {
            assert!(
                r.starts_with(&format!("CONNECT {HOST}:{port} HTTP/1.1\r\n")),
                "{r}"
            );
        }
        assert_eq!(env.server.requests() - before, 2);
    }
    // The text report says so too.
    let proxy = ConnectProxy::start(Mode::Tunnel);
    let o = tenant(
        &env,
        HOST,
        &[("HTTPS_PROXY", url(&proxy))],
        &env.empty_dns,
        "3",
        false,
    );
    // Words as shown, whatever the line wrapping.
    let text = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains(&format!("through the proxy {}", proxy.addr())),
        "{text}"
    );
}

#[test]
fn no_proxy_and_loopback_send_the_look_ups_direct() {
    let env = env();
    let port = env.server.addr().port();
    for (var, list) in [
        ("NO_PROXY", "example.test".to_string()),
        ("no_proxy", ".example.test".to_string()),
        ("NO_PROXY", format!("other.test, {HOST}:{port}")),
        ("NO_PROXY", "*".to_string()),
    ] {
        let proxy = ConnectProxy::start(Mode::Tunnel);
        let vars = [("HTTPS_PROXY", url(&proxy)), (var, list.clone())];
        let o = tenant(&env, HOST, &vars, &env.dns, "3", true);
        assert_eq!(o.tenant()["status"], "pass", "{var}={list}: {}", o.json);
        assert_eq!(o.tenant()["details"]["proxy"], serde_json::Value::Null);
        assert!(!o.summary().contains("proxy"), "{}", o.summary());
        assert_eq!(proxy.log().connections, 0, "{var}={list}");
    }
    // A NO_PROXY entry for another port does not exempt this one.
    let proxy = ConnectProxy::start(Mode::Tunnel);
    let vars = [
        ("HTTPS_PROXY", url(&proxy)),
        (
            "NO_PROXY",
            format!("{HOST}:{}", port.wrapping_add(1).max(1)),
        ),
    ];
    let o = tenant(&env, HOST, &vars, &env.empty_dns, "3", true);
    assert_eq!(o.tenant()["status"], "pass", "{}", o.json);
    assert_eq!(proxy.log().tunnels, 2);
    // This machine's loopback is never reached through a proxy.
    let proxy = ConnectProxy::start(Mode::Tunnel);
    let o = tenant(
        &env,
        "127.0.0.1",
        &[("HTTPS_PROXY", url(&proxy))],
        &env.empty_dns,
        "3",
        true,
    );
    assert_eq!(o.tenant()["status"], "pass", "{}", o.json);
    assert_eq!(proxy.log().connections, 0);
}

#[test]
fn a_proxy_that_refuses_is_named_with_its_answer() {
    let env = env();
    let port = env.server.addr().port();
    let before = env.server.requests();
    let refusing = ConnectProxy::start(Mode::Refuse);
    let o = tenant(
        &env,
        HOST,
        &[("HTTPS_PROXY", url(&refusing))],
        &env.empty_dns,
        "3",
        true,
    );
    assert_eq!(o.tenant()["status"], "warn", "{}", o.json);
    let s = o.summary();
    assert!(
        s.contains(&format!(
            "the proxy {} refused to open a tunnel to {HOST}:{port}: 403 Forbidden",
            refusing.addr()
        )),
        "{s}"
    );
    assert!(
        s.ends_with(&format!("(through the proxy {})", refusing.addr())),
        "{s}"
    );
    assert_eq!(o.tenant()["details"]["proxy"], refusing.addr().to_string());

    let asking = ConnectProxy::start(Mode::AuthRequired);
    let o = tenant(
        &env,
        HOST,
        &[("HTTPS_PROXY", url(&asking))],
        &env.empty_dns,
        "3",
        true,
    );
    assert!(
        o.summary().contains("requires authentication"),
        "{}",
        o.summary()
    );

    // Nothing listens where the proxy should be.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let o = tenant(
        &env,
        HOST,
        &[("HTTPS_PROXY", format!("http://{closed}"))],
        &env.empty_dns,
        "3",
        true,
    );
    assert!(
        o.summary()
            .contains(&format!("could not connect to the proxy {closed}")),
        "{}",
        o.summary()
    );
    // A proxy URL the tool cannot use is said so, and nothing is sent.
    let o = tenant(
        &env,
        HOST,
        &[("HTTPS_PROXY", "socks5://127.0.0.1:1080".into())],
        &env.empty_dns,
        "3",
        true,
    );
    assert!(
        o.summary().contains("HTTPS_PROXY is not a usable proxy"),
        "{}",
        o.summary()
    );
    assert_eq!(
        env.server.requests(),
        before,
        "the identity server was never reached"
    );
}

#[test]
fn a_silent_proxy_ends_at_the_deadline() {
    let env = env();
    let silent = ConnectProxy::start(Mode::Silent);
    let o = tenant(
        &env,
        HOST,
        &[("HTTPS_PROXY", url(&silent))],
        &env.empty_dns,
        "1",
        true,
    );
    // Steps on the branch: connect to the proxy, CONNECT, TLS, the exchange.
    assert!(o.took < Duration::from_secs(4 + 1), "took {:?}", o.took);
    assert_eq!(o.tenant()["status"], "warn", "{}", o.json);
    assert!(
        o.summary().contains(&format!(
            "the proxy {} did not answer the CONNECT request within 1s",
            silent.addr()
        )),
        "{}",
        o.summary()
    );
    assert_eq!(silent.log().connections, 2);
}

/// Runs a full check of a Microsoft 365 mailbox (SMTP on a replay server, the
/// tenant through the proxy) with `credential` given on standard input.
fn full_check(
    env: &Env,
    fixture: &str,
    flag: &str,
    credential: &str,
    proxy_url: &str,
) -> (Out, usize) {
    let pki = Pki::new().expect("pki");
    let cfg = pki
        .server_config(CertKind::Valid, &["127.0.0.1"])
        .expect("cert");
    let sc = Scenario::named(fixture).expect("fixture");
    let replay = env
        .rt
        .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
        .expect("replay");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(
        ca.path(),
        format!(
            "{}{}",
            pki.ca.pem(),
            std::fs::read_to_string(env.ca.path()).expect("ca")
        ),
    )
    .expect("write");
    let start = Instant::now();
    let out = bin()
        .args([
            "check",
            USER,
            "--provider",
            "microsoft365",
            "--json",
            "--timeout",
            "3",
        ])
        .args(["--only", "smtp,tenant", "--smtp"])
        .arg(format!("smtp://127.0.0.1:{}", replay.addr().port()))
        .arg("--identity-url")
        .arg(format!("https://{HOST}:{}", env.server.addr().port()))
        .arg("--ca-file")
        .arg(ca.path())
        .arg("--dns-server")
        .arg(env.empty_dns.addr().to_string())
        .arg(flag)
        .write_stdin(format!("{credential}\n"))
        .env("HTTPS_PROXY", proxy_url)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    let took = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(3);
    while replay.stats().active > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    (
        Out {
            json: validated(&out.stdout, "report.v1.json"),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
            took,
        },
        replay.stats().auth_attempts,
    )
}

#[test]
fn no_credential_or_secret_ever_reaches_the_proxy_and_mail_goes_direct() {
    let env = env();
    let password = "Canary-Pw-via-Proxy-62!";
    let token = util::canary_token(USER);
    for (fixture, flag, credential) in [
        ("exo-smtp-ok", "--password-stdin", password),
        ("exo-smtp-xoauth2-ok", "--oauth-token-stdin", token.as_str()),
    ] {
        let proxy = ConnectProxy::start(Mode::Tunnel);
        // Proxy credentials in the URL are never used, sent or shown.
        let proxy_url = format!("http://proxyuser:Proxy-Secret-5531@{}", proxy.addr());
        let (o, auth_attempts) = full_check(&env, fixture, flag, credential, &proxy_url);
        assert_eq!(
            auth_attempts, 1,
            "{fixture}: the login went straight to the server"
        );
        assert_eq!(o.tenant()["status"], "pass", "{fixture}: {}", o.json);
        assert_eq!(o.tenant()["details"]["proxy"], proxy.addr().to_string());
        let log = proxy.log();
        assert_eq!(log.tunnels, 2, "only the two identity look-ups");
        let port = env.server.addr().port();
        assert!(log
            .requests
            .iter()
            .all(|r| r.starts_with(&format!("CONNECT {HOST}:{port} "))));
        assert_no_leak(USER, credential, &[&log.received, &o.stdout, &o.stderr]);
        let seen = String::from_utf8_lossy(&log.received).into_owned();
        let basic = base64::engine::general_purpose::STANDARD.encode("proxyuser:Proxy-Secret-5531");
        for never in [
            "Proxy-Secret-5531",
            "proxyuser",
            basic.as_str(),
            // The mailbox address travels inside TLS only.
            USER,
            "alice%40contoso.com",
        ] {
            assert!(!seen.contains(never), "{fixture}: the proxy saw {never:?}");
        }
        assert!(!seen.to_ascii_lowercase().contains("proxy-authorization"));
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !shown.contains("Proxy-Secret-5531") && !shown.contains("proxyuser"),
            "{shown}"
        );
        assert!(o.took < Duration::from_secs(30));
    }
}
