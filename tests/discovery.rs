//! Server discovery from the address alone, over real sockets on 127.0.0.1: a DNS
//! server (SRV, MX, NODATA and `.`-target answers), an HTTPS autoconfig server
//! (implicit TLS and STARTTLS entries, custom ports, an OAuth2-only entry, a 404,
//! a slow one, a redirect away) and replay servers playing recorded dialogues.
//! One test per discovery path; the provider by server name; the tenant check
//! skipped for a domain that is not Microsoft's; one resolver per run.

mod util;

use mailbox_doctor::sim::dns::{Behaviour, DnsServer, Rec, Zone};
use mailbox_doctor::sim::identity::IdentityServer;
use mailbox_doctor::sim::pki::{Pki, Validity};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use mailbox_doctor::sim::web::{Reply, Site, WebServer};
use std::time::{Duration, Instant};
use util::{bin, codes, status, validated};

const USER: &str = "dana@example.test";
const HOST: &str = "mail.example.test";
const GOOD: &str = "Correct-Horse-9";
/// Every host here resolves to 127.0.0.1, an address on this computer, which
/// the trust rule never hands a password to on DNS's word alone: the tests that
/// log in to a discovered server trust it by name, as a user would.
const TRUST: [&str; 2] = ["--trust-discovered", HOST];

struct Lab {
    rt: tokio::runtime::Runtime,
    pki: Pki,
    ca: tempfile::NamedTempFile,
    replays: Vec<ReplayServer>,
}

impl Lab {
    fn new() -> Lab {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let pki = Pki::new().expect("pki");
        let ca = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
        Lab {
            rt,
            pki,
            ca,
            replays: Vec::new(),
        }
    }

    /// Plays fixture `name` as `host` would; its port.
    fn replay(&mut self, name: &str, host: &str) -> u16 {
        let sc = Scenario::named(name).expect("fixture");
        let cfg = self.pki.server_config(sc.cert, &[host]).expect("cert");
        let server = self
            .rt
            .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
            .expect("replay");
        let port = server.addr().port();
        self.replays.push(server);
        port
    }

    fn dns(&self, zone: Zone) -> DnsServer {
        self.rt.block_on(DnsServer::start(zone)).expect("dns")
    }

    fn web(&self, site: Site) -> WebServer {
        let cert = self
            .pki
            .ca
            .issue(
                &["autoconfig.example.test", "example.test", "evil.test"],
                Validity::Valid,
            )
            .expect("cert");
        self.rt
            .block_on(WebServer::start(&cert, site))
            .expect("web")
    }

    /// `check USER` with `extra`, JSON, the password on stdin (None: --no-password).
    fn check(
        &self,
        dns: &DnsServer,
        web: Option<&WebServer>,
        user: &str,
        password: Option<&str>,
        extra: &[&str],
    ) -> (serde_json::Value, Option<i32>, Duration) {
        let mut cmd = bin();
        cmd.args(["check", user, "--json", "--timeout", "3"])
            .arg("--dns-server")
            .arg(dns.addr().to_string())
            .arg("--ca-file")
            .arg(self.ca.path())
            .args(extra)
            .timeout(Duration::from_secs(60));
        if let Some(w) = web {
            cmd.args(["--autoconfig-port", &w.addr().port().to_string()]);
        }
        match password {
            Some(pw) => {
                cmd.arg("--password-stdin").write_stdin(format!("{pw}\n"));
            }
            None => {
                cmd.arg("--no-password");
            }
        }
        let start = Instant::now();
        let out = cmd.output().expect("runs");
        let took = start.elapsed();
        (
            validated(&out.stdout, "report.v1.json"),
            out.status.code(),
            took,
        )
    }
}

fn local() -> Rec {
    Rec::Ip("127.0.0.1".parse().expect("ip"))
}

/// The domain with its MX and the mail host's address; no SRV, no autoconfig.
fn base_zone() -> Zone {
    Zone::new()
        .add("example.test", Rec::Mx(10, HOST.into()))
        .add(HOST, local())
}

fn endpoints(v: &serde_json::Value) -> Vec<(String, String, u16, String, String)> {
    v["target"]["endpoints"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["protocol"].as_str().unwrap_or_default().to_string(),
                        e["host"].as_str().unwrap_or_default().to_string(),
                        e["port"].as_u64().unwrap_or_default() as u16,
                        e["tls"].as_str().unwrap_or_default().to_string(),
                        e["source"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn step(v: &serde_json::Value, source: &str) -> serde_json::Value {
    v["target"]["discovery"]["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["source"] == source).cloned())
        .unwrap_or_default()
}

fn autoconfig_doc(servers: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="example.test"><domain>example.test</domain>{servers}</emailProvider></clientConfig>"#
    )
}

fn server(kind: &str, ty: &str, port: u16, socket: &str, auth: &[&str]) -> String {
    let auth: String = auth
        .iter()
        .map(|a| format!("<authentication>{a}</authentication>"))
        .collect();
    format!(
        "<{kind} type=\"{ty}\"><hostname>{HOST}</hostname><port>{port}</port><socketType>{socket}</socketType>{auth}<username>%EMAILADDRESS%</username></{kind}>"
    )
}

#[test]
fn srv_records_name_the_servers_and_a_dot_target_means_not_offered() {
    let mut lab = Lab::new();
    let smtp = lab.replay("gmail-smtp-implicit-ok", HOST);
    let imap = lab.replay("exo-imap-ok", HOST);
    let zone = base_zone()
        .add(
            "_submissions._tcp.example.test",
            Rec::Srv(0, 1, smtp, HOST.into()),
        )
        .add(
            "_submission._tcp.example.test",
            Rec::Srv(0, 1, 587, ".".into()),
        )
        .add(
            "_imaps._tcp.example.test",
            Rec::Srv(0, 1, imap, HOST.into()),
        )
        // NODATA: the name exists, with no SRV record.
        .set("_imap._tcp.example.test", Behaviour::Records(vec![local()]))
        .add("_pop3s._tcp.example.test", Rec::Srv(0, 0, 0, ".".into()))
        .add("_pop3._tcp.example.test", Rec::Srv(0, 0, 0, ".".into()));
    let dns = lab.dns(zone);
    let (v, _, _) = lab.check(
        &dns,
        None,
        USER,
        Some(GOOD),
        &["--skip", "tenant", TRUST[0], TRUST[1]],
    );
    assert_eq!(
        endpoints(&v),
        vec![
            (
                "smtp".into(),
                HOST.into(),
                smtp,
                "implicit".into(),
                "srv".into()
            ),
            (
                "imap".into(),
                HOST.into(),
                imap,
                "implicit".into(),
                "srv".into()
            ),
        ],
        "{v}"
    );
    let not_offered = v["target"]["discovery"]["not_offered"].to_string();
    for s in [
        "_submission._tcp.example.test",
        "_pop3s._tcp.example.test",
        "_pop3._tcp.example.test",
    ] {
        assert!(not_offered.contains(s), "{not_offered}");
    }
    assert_eq!(status(&v, "smtp"), "pass", "{v}");
    assert_eq!(status(&v, "imap"), "pass", "{v}");
    assert_eq!(status(&v, "pop"), "skip", "no POP3 is offered: {v}");
    assert!(!codes(&v).iter().any(|c| c.starts_with("TCP_")), "{v}");
}

#[test]
fn autoconfig_names_implicit_and_starttls_servers_on_custom_ports() {
    let mut lab = Lab::new();
    let smtp = lab.replay("exo-smtp-ok", HOST);
    let imap = lab.replay("exo-imap-ok", HOST);
    let doc = autoconfig_doc(&format!(
        "{}{}",
        server(
            "outgoingServer",
            "smtp",
            smtp,
            "STARTTLS",
            &["password-cleartext"]
        ),
        server(
            "incomingServer",
            "imap",
            imap,
            "SSL",
            &["password-cleartext"]
        ),
    ));
    let site = Site::new().route(
        "autoconfig.example.test",
        "/mail/config-v1.1.xml",
        Reply::xml(&doc),
    );
    let web = lab.web(site);
    let dns = lab.dns(base_zone().add("autoconfig.example.test", local()));
    let (v, _, _) = lab.check(
        &dns,
        Some(&web),
        USER,
        Some(GOOD),
        &["--skip", "tenant", TRUST[0], TRUST[1]],
    );
    assert_eq!(
        endpoints(&v),
        vec![
            (
                "smtp".into(),
                HOST.into(),
                smtp,
                "starttls".into(),
                "autoconfig".into()
            ),
            (
                "imap".into(),
                HOST.into(),
                imap,
                "implicit".into(),
                "autoconfig".into()
            ),
        ],
        "{v}"
    );
    // Exchange Online's greeting: the login works, with the dated sunset warning.
    assert_eq!(status(&v, "smtp"), "warn", "{v}");
    assert_eq!(v["target"]["provider_source"], "greeting");
    assert_eq!(status(&v, "imap"), "pass", "{v}");
    let requests = web.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /mail/config-v1.1.xml?emailaddress=dana@example.test ")),
        "{requests:?}"
    );
    // The password goes to the mail servers, never to the autoconfig server.
    util::assert_no_leak(USER, GOOD, &[requests.join("\n").as_bytes()]);
}

#[test]
fn the_well_known_document_stands_in_when_autoconfig_host_answers_404() {
    let mut lab = Lab::new();
    let smtp = lab.replay("gmail-smtp-implicit-ok", HOST);
    let doc = autoconfig_doc(&server(
        "outgoingServer",
        "smtp",
        smtp,
        "SSL",
        &["password-cleartext"],
    ));
    let site = Site::new()
        .route(
            "autoconfig.example.test",
            "/mail/config-v1.1.xml",
            Reply::status(404),
        )
        .route(
            "example.test",
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            Reply::xml(&doc),
        );
    let web = lab.web(site);
    let dns = lab.dns(
        base_zone()
            .add("autoconfig.example.test", local())
            .add("example.test", local()),
    );
    let (v, code, _) = lab.check(&dns, Some(&web), USER, Some(GOOD), &TRUST);
    assert_eq!(
        endpoints(&v),
        vec![(
            "smtp".into(),
            HOST.into(),
            smtp,
            "implicit".into(),
            "autoconfig".into()
        )],
        "{v}"
    );
    let detail = step(&v, "autoconfig")["detail"].to_string();
    assert!(detail.contains("HTTP 404"), "{detail}");
    assert!(
        detail.contains("/.well-known/autoconfig/mail/config-v1.1.xml: 1 servers"),
        "{detail}"
    );
    assert_eq!(status(&v, "smtp"), "pass");
    assert_eq!(code, Some(0), "{v}");
}

#[test]
fn a_slow_autoconfig_server_is_given_up_within_the_timeout() {
    let lab = Lab::new();
    let site = Site::new().route(
        "autoconfig.example.test",
        "/mail/config-v1.1.xml",
        Reply::xml(&autoconfig_doc("")).delayed(Duration::from_secs(30)),
    );
    let web = lab.web(site);
    let dns = lab.dns(base_zone().add("autoconfig.example.test", local()));
    let (v, _, took) = lab.check(&dns, Some(&web), USER, None, &["--only", "dns"]);
    let s = step(&v, "autoconfig");
    assert_eq!(s["outcome"], "failed", "{v}");
    assert!(
        s["detail"].to_string().contains("no answer within 3 s"),
        "{s}"
    );
    // One timeout for discovery (its sources run at once), one for the checks.
    assert!(took < Duration::from_secs(3 * 2 + 3), "took {took:?}");
}

#[test]
fn a_redirect_to_another_domain_is_not_followed() {
    let lab = Lab::new();
    let site = Site::new()
        .route(
            "autoconfig.example.test",
            "/mail/config-v1.1.xml",
            Reply::redirect("https://evil.test/mail/config-v1.1.xml"),
        )
        .route(
            "evil.test",
            "/mail/config-v1.1.xml",
            Reply::xml(&autoconfig_doc(&server(
                "outgoingServer",
                "smtp",
                2525,
                "SSL",
                &[],
            ))),
        );
    let web = lab.web(site);
    let dns = lab.dns(
        base_zone()
            .add("autoconfig.example.test", local())
            .add("evil.test", local()),
    );
    let (v, _, _) = lab.check(&dns, Some(&web), USER, None, &["--only", "dns"]);
    let detail = step(&v, "autoconfig")["detail"].to_string();
    assert!(
        detail.contains("redirected to another domain (evil.test)"),
        "{detail}"
    );
    assert!(
        !web.requests().iter().any(|r| r.contains("Host: evil.test")),
        "{:?}",
        web.requests()
    );
    assert!(endpoints(&v).iter().all(|e| e.4 == "mx"), "{v}");
}

#[test]
fn the_mx_host_on_the_standard_ports_is_the_last_guess_and_no_fault_when_silent() {
    let lab = Lab::new();
    let dns = lab.dns(base_zone());
    let (v, _, _) = lab.check(&dns, None, USER, None, &["--only", "dns"]);
    assert_eq!(
        endpoints(&v),
        vec![
            (
                "smtp".into(),
                HOST.into(),
                587,
                "starttls".into(),
                "mx".into()
            ),
            (
                "imap".into(),
                HOST.into(),
                993,
                "implicit".into(),
                "mx".into()
            ),
            (
                "pop".into(),
                HOST.into(),
                995,
                "implicit".into(),
                "mx".into()
            ),
        ]
    );
    assert_eq!(step(&v, "srv")["outcome"], "none", "{v}");
    assert_eq!(v["target"]["provider_source"], "none");
    // Nothing listens there on this machine: the guesses were wrong, no fault of
    // the mailbox, and the servers were not found.
    let (v, code, _) = lab.check(&dns, None, USER, None, &["--skip", "tenant"]);
    assert_eq!(codes(&v), ["SERVERS_NOT_FOUND"], "{v}");
    assert_eq!(code, Some(1));
    for id in ["smtp", "imap", "pop"] {
        assert_eq!(status(&v, id), "skip", "{id}: {v}");
    }
}

#[test]
fn a_known_providers_mx_picks_its_profile_and_the_rest_is_not_needed() {
    let lab = Lab::new();
    let dns = lab.dns(Zone::new().add("example.test", Rec::Mx(1, "smtp.google.com".into())));
    let (v, _, _) = lab.check(&dns, None, USER, None, &["--only", "dns"]);
    assert_eq!(v["target"]["provider"], "gmail");
    assert_eq!(v["target"]["provider_source"], "mx");
    assert!(endpoints(&v).iter().all(|e| e.4 == "profile"), "{v}");
    assert_eq!(step(&v, "srv")["outcome"], "skipped");
    assert_eq!(step(&v, "autoconfig")["outcome"], "skipped");
}

#[test]
fn the_provider_comes_from_the_server_names_given_and_only_they_are_tested() {
    let lab = Lab::new();
    let dns = lab.dns(Zone::new());
    for (server, provider, source) in [
        ("smtp.office365.com", "microsoft365", "server"),
        ("smtp.gmail.com:465", "gmail", "server"),
        ("mail.fabrikam.test", "generic", "none"),
    ] {
        let (v, _, _) = lab.check(
            &dns,
            None,
            "printer@fabrikam.test",
            None,
            &["--only", "dns", "--smtp", server],
        );
        assert_eq!(v["target"]["provider"], provider, "{server}: {v}");
        assert_eq!(v["target"]["provider_source"], source, "{server}");
        let eps = endpoints(&v);
        assert_eq!(eps.len(), 1, "only the SMTP server named: {eps:?}");
        assert_eq!(eps[0].4, "flag");
    }
    // A refused port on a named server is that server's failure, not Microsoft's.
    let (v, _, _) = lab.check(
        &dns,
        None,
        "printer@fabrikam.test",
        None,
        &["--smtp", "127.0.0.1:9"],
    );
    assert_eq!(
        codes(&v).first().map(String::as_str),
        Some("TCP_REFUSED"),
        "{v}"
    );
    assert!(!v.to_string().contains("office365"), "{v}");
    assert_eq!(status(&v, "tenant"), "skip");
}

#[test]
fn the_tenant_check_is_skipped_for_a_domain_that_is_not_microsofts() {
    let mut lab = Lab::new();
    let smtp = lab.replay("gmail-smtp-implicit-ok", HOST);
    let dns = lab.dns(base_zone());
    let cert = lab
        .pki
        .ca
        .issue(&["127.0.0.1"], Validity::Valid)
        .expect("cert");
    let identity = lab
        .rt
        .block_on(IdentityServer::start(&cert, Default::default()))
        .expect("identity");
    let url = format!("https://127.0.0.1:{}", identity.addr().port());
    let (v, code, _) = lab.check(
        &dns,
        None,
        "bob@example.test",
        Some(GOOD),
        &[
            "--smtp",
            &format!("smtps://{HOST}:{smtp}"),
            "--identity-url",
            &url,
        ],
    );
    assert_eq!(status(&v, "smtp"), "pass", "{v}");
    assert_eq!(status(&v, "tenant"), "skip", "{v}");
    let summary = v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == "tenant"))
        .map(|c| c["summary"].to_string())
        .unwrap_or_default();
    assert!(summary.contains("not a Microsoft 365 domain"), "{summary}");
    assert!(!v.to_string().contains("TENANT_NOT_FOUND"), "{v}");
    assert_eq!(identity.requests(), 0, "Microsoft was not asked");
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(endpoints(&v).len(), 1);
}

#[test]
fn settings_that_differ_from_the_published_ones_are_the_root_cause() {
    let mut lab = Lab::new();
    let smtp = lab.replay("exo-smtp-ok", HOST);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let zone = base_zone().add(
        "_submission._tcp.example.test",
        Rec::Srv(0, 1, smtp, HOST.into()),
    );
    let dns = lab.dns(zone);
    // The wrong port: nothing listens there.
    let (v, code, _) = lab.check(
        &dns,
        None,
        USER,
        Some(GOOD),
        &[
            "--smtp",
            &format!("smtp://{HOST}:{closed}"),
            "--skip",
            "tenant",
        ],
    );
    assert_eq!(
        codes(&v).first().map(String::as_str),
        Some("SERVER_SETTINGS_DIFFER"),
        "{v}"
    );
    let d = &v["diagnosis"][0];
    assert!(
        d["fix"]
            .to_string()
            .contains(&format!("port {smtp}, STARTTLS")),
        "{d}"
    );
    assert!(
        d["evidence"]
            .to_string()
            .contains("_submission._tcp.example.test"),
        "{d}"
    );
    assert!(codes(&v).contains(&"TCP_REFUSED".to_string()));
    assert_eq!(code, Some(2));
    // The published port with the wrong TLS mode.
    let (v, _, _) = lab.check(
        &dns,
        None,
        USER,
        Some(GOOD),
        &[
            "--smtp",
            &format!("smtps://{HOST}:{smtp}"),
            "--skip",
            "tenant",
        ],
    );
    let d = &v["diagnosis"][0];
    assert_eq!(d["code"], "SERVER_SETTINGS_DIFFER", "{v}");
    assert!(
        d["evidence"]
            .to_string()
            .contains(&format!("port {smtp} is published for STARTTLS")),
        "{d}"
    );
}

#[test]
fn an_oauth2_only_autoconfig_entry_explains_a_refused_password() {
    let mut lab = Lab::new();
    let smtp = lab.replay("gmail-smtp-bad-credentials", HOST);
    let doc = autoconfig_doc(&server("outgoingServer", "smtp", smtp, "SSL", &["OAuth2"]));
    let web = lab.web(Site::new().route(
        "autoconfig.example.test",
        "/mail/config-v1.1.xml",
        Reply::xml(&doc),
    ));
    let dns = lab.dns(base_zone().add("autoconfig.example.test", local()));
    let (v, code, _) = lab.check(&dns, Some(&web), USER, Some("Wrong-Canary-5"), &TRUST);
    assert_eq!(
        codes(&v),
        ["SERVER_SETTINGS_DIFFER", "BAD_CREDENTIALS"],
        "{v}"
    );
    let ev = v["diagnosis"][0]["evidence"].to_string();
    assert!(ev.contains("lists only OAuth2"), "{ev}");
    assert_eq!(code, Some(2));
}

#[test]
fn one_character_off_an_app_password_and_refused_is_a_damaged_paste() {
    let mut lab = Lab::new();
    let smtp = lab.replay("exo-smtp-bad-credentials", "127.0.0.1");
    let dns = lab.dns(Zone::new().add(
        "contoso.test",
        Rec::Mx(0, "contoso-test.mail.protection.outlook.com".into()),
    ));
    let flag = format!("smtp://127.0.0.1:{smtp}");
    let (v, code, _) = lab.check(
        &dns,
        None,
        "alice@contoso.test",
        Some("abcdefghijklmnopq"),
        &["--smtp", &flag, "--skip", "tenant"],
    );
    assert_eq!(v["target"]["provider_source"], "mx");
    assert_eq!(
        codes(&v).first().map(String::as_str),
        Some("CRED_APP_PASSWORD_SHAPE"),
        "{v}"
    );
    let fix = v["diagnosis"][0]["fix"].to_string();
    assert!(fix.contains("all 16 characters"), "{fix}");
    assert_eq!(code, Some(2));
}

#[test]
fn one_run_asks_the_mx_once_and_a_batch_discovers_each_domain_once() {
    let lab = Lab::new();
    let dns = lab.dns(base_zone());
    let (v, _, _) = lab.check(&dns, None, USER, None, &["--only", "dns"]);
    assert_eq!(status(&v, "dns"), "pass", "{v}");
    assert_eq!(
        dns.asked("example.test", "MX"),
        1,
        "discovery and the dns check share one cache"
    );
    let dns = lab.dns(base_zone());
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("m.csv");
    let rows: String = (0..5)
        .map(|i| format!("user{i}@example.test,MD_DISCOVERY_PW\n"))
        .collect();
    std::fs::write(&file, format!("email,password_env\n{rows}")).expect("write");
    let out = bin()
        .arg("batch")
        .arg(&file)
        .args(["--only", "dns", "--json", "--timeout", "3"])
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .env("MD_DISCOVERY_PW", "Discovery-Canary-1")
        .output()
        .expect("runs");
    assert_eq!(util::json_lines(&out.stdout).len(), 5);
    assert_eq!(dns.asked("example.test", "MX"), 1);
    assert_eq!(dns.asked("_submissions._tcp.example.test", "SRV"), 1);
}

#[test]
fn with_servers_named_a_slow_autoconfig_answer_does_not_hold_up_the_connection() {
    // The user names the SMTP server; the domain's autoconfig host answers only
    // after 2 s (within the 3 s timeout). The connection is made at once, and the
    // answer, when it comes, still corroborates the named server.
    let mut lab = Lab::new();
    let smtp = lab.replay("exo-smtp-ok", HOST);
    let doc = autoconfig_doc(&server(
        "outgoingServer",
        "smtp",
        smtp,
        "STARTTLS",
        &["password-cleartext"],
    ));
    let site = Site::new().route(
        "autoconfig.example.test",
        "/mail/config-v1.1.xml",
        Reply::xml(&doc).delayed(Duration::from_secs(2)),
    );
    let web = lab.web(site);
    let dns = lab.dns(base_zone().add("autoconfig.example.test", local()));
    let (v, _, _) = lab.check(
        &dns,
        Some(&web),
        USER,
        Some(GOOD),
        &[
            "--smtp",
            &format!("smtp://{HOST}:{smtp}"),
            "--skip",
            "tenant",
            "--transcript",
        ],
    );
    assert_eq!(step(&v, "autoconfig")["outcome"], "found", "{v}");
    assert_eq!(status(&v, "smtp"), "warn", "{v}");
    // The transcript counts from the start of the run, discovery included.
    let first = v["transcript"]
        .as_array()
        .and_then(|t| t.iter().find(|l| l["protocol"] == "smtp"))
        .and_then(|l| l["t_ms"].as_u64())
        .expect("an SMTP line");
    assert!(
        first < 2000,
        "the SMTP connection waited for the autoconfig answer ({first} ms)"
    );
    assert!(v["duration_ms"].as_u64().unwrap_or_default() >= 2000, "{v}");
    assert!(!codes(&v).contains(&"SERVER_SETTINGS_DIFFER".to_string()));
}
