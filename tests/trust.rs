//! Where credentials may go, counted at the servers, over real sockets on
//! loopback: a DNS server, an HTTPS autoconfig server and replay servers that
//! count every authentication command they receive.
//!
//! - A server outside the address's domain that only DNS names (an SRV target
//!   for submission, IMAP or POP3; the MX host guessed on the standard ports;
//!   `localhost`; an IP literal) is tested without a login, and the report says
//!   why; `--trust-discovered HOST` gives it exactly one.
//! - A discovered host inside the domain whose address is on this computer gets
//!   no login either, unless trusted by name.
//! - No credential crosses an unencrypted connection without --allow-plaintext,
//!   whatever the source of the endpoint (an autoconfig `plain` entry, an SRV
//!   target without STARTTLS, a server named by flag without STARTTLS).

mod util;

use mailbox_doctor::sim::dns::{DnsServer, Rec, Zone};
use mailbox_doctor::sim::pki::{Pki, Validity};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
use mailbox_doctor::sim::web::{Reply, Site, WebServer};
use std::net::SocketAddr;
use std::time::Duration;
use util::{assert_no_leak, bin, codes, status, validated};

const USER: &str = "alice@example.org";
const INSIDE: &str = "mail.example.org";
const EVIL: &str = "smtp.attacker.test";
const PW: &str = "Trust-Canary-4471";

struct Lab {
    rt: tokio::runtime::Runtime,
    pki: Pki,
    ca: tempfile::NamedTempFile,
}

struct Run {
    v: serde_json::Value,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Lab {
    fn new() -> Lab {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let pki = Pki::new().expect("pki");
        let ca = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
        Lab { rt, pki, ca }
    }

    /// Plays `sc` as `host` would, on `addr` (127.0.0.1:0 for any port).
    fn serve(&self, sc: Scenario, host: &str, addr: &str) -> ReplayServer {
        let cfg = self.pki.server_config(sc.cert, &[host]).expect("cert");
        let addr: SocketAddr = addr.parse().expect("addr");
        self.rt
            .block_on(ReplayServer::start_on(addr, sc, cfg, Duration::ZERO))
            .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"))
    }

    fn fixture(&self, name: &str, host: &str) -> ReplayServer {
        self.serve(Scenario::named(name).expect("fixture"), host, "127.0.0.1:0")
    }

    /// A server playing `fixture` as `host`, at this computer's address, that
    /// the domain's SRV record `label` names.
    fn named_by_srv(&self, fixture: &str, host: &str, label: &str) -> (ReplayServer, DnsServer) {
        let server = self.fixture(fixture, host);
        let dns = self.dns(
            zone()
                .add(
                    &format!("{label}.example.org"),
                    Rec::Srv(0, 0, server.addr().port(), host.into()),
                )
                .add(host, local()),
        );
        (server, dns)
    }

    fn dns(&self, zone: Zone) -> DnsServer {
        self.rt.block_on(DnsServer::start(zone)).expect("dns")
    }

    fn web(&self, site: Site) -> WebServer {
        let cert = self
            .pki
            .ca
            .issue(&["autoconfig.example.org"], Validity::Valid)
            .expect("cert");
        self.rt
            .block_on(WebServer::start(&cert, site))
            .expect("web")
    }

    /// The tool with `args`, a short step timeout, no tenant check, this lab's
    /// DNS server and CA.
    fn command(&self, args: &[&str], dns: &DnsServer) -> assert_cmd::Command {
        let mut cmd = bin();
        cmd.args(args)
            .args(["--timeout", "3", "--skip", "tenant", "--dns-server"])
            .arg(dns.addr().to_string())
            .arg("--ca-file")
            .arg(self.ca.path());
        cmd
    }

    /// `check USER --json` with the password on stdin, and `extra`.
    fn check(&self, dns: &DnsServer, web: Option<&WebServer>, extra: &[&str]) -> Run {
        self.check_as(USER, dns, web, extra)
    }

    /// `check`, for `user`.
    fn check_as(
        &self,
        user: &str,
        dns: &DnsServer,
        web: Option<&WebServer>,
        extra: &[&str],
    ) -> Run {
        let mut cmd = self.command(&["check", user, "--json"], dns);
        cmd.arg("--password-stdin")
            .write_stdin(format!("{PW}\n"))
            .args(extra)
            .timeout(Duration::from_secs(60));
        if let Some(w) = web {
            cmd.args(["--autoconfig-port", &w.addr().port().to_string()]);
        }
        let out = cmd.output().expect("runs");
        assert_no_leak(user, PW, &[&out.stdout, &out.stderr]);
        Run {
            v: validated(&out.stdout, "report.v1.json"),
            code: out.status.code(),
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

fn local() -> Rec {
    Rec::Ip("127.0.0.1".parse().expect("ip"))
}

/// The domain's MX, inside it, and what `add` puts beside it.
fn zone() -> Zone {
    Zone::new()
        .add("example.org", Rec::Mx(10, "mx.example.org".into()))
        .add("mx.example.org", local())
}

/// The findings of `code`, as one text (message and evidence).
fn finding_text(v: &serde_json::Value, code: &str) -> String {
    v["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["code"] == code)
        .map(|f| format!("{} | {}", f["message"], f["evidence"]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fix_of(v: &serde_json::Value, code: &str) -> String {
    v["diagnosis"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["code"] == code)
        .map(|d| d["fix"].to_string())
        .unwrap_or_default()
}

#[test]
fn an_srv_target_outside_the_domain_is_tested_without_a_login_unless_trusted() {
    let lab = Lab::new();
    for (label, fixture, check) in [
        ("_submissions._tcp", "gmail-smtp-implicit-ok", "smtp"),
        ("_submission._tcp", "exo-smtp-ok", "smtp"),
        ("_imaps._tcp", "exo-imap-ok", "imap"),
        ("_pop3s._tcp", "exo-pop-ok", "pop"),
    ] {
        let (server, dns) = lab.named_by_srv(fixture, EVIL, label);
        let record = format!("{label}.example.org");
        let r = lab.check(&dns, None, &[]);
        let seen = server.take_stats();
        assert_eq!(seen.auth_attempts, 0, "{label}: {}", r.v);
        assert!(
            seen.connections >= 1,
            "{label}: it is still tested: {}",
            r.v
        );
        assert_eq!(status(&r.v, check), "warn", "{label}: {}", r.v);
        assert_eq!(status(&r.v, "tls"), "pass", "{label}: {}", r.v);
        let text = finding_text(&r.v, "DISCOVERED_HOST_NOT_TRUSTED");
        for part in [
            format!("the domain's SRV record {record} names {EVIL}"),
            "outside example.org".to_string(),
            "not trusted with your password".to_string(),
            "the login was not sent".to_string(),
        ] {
            assert!(text.contains(&part), "{label}: {part:?} in {text}");
        }
        assert!(
            fix_of(&r.v, "DISCOVERED_HOST_NOT_TRUSTED")
                .contains(&format!("--trust-discovered {EVIL}")),
            "{}",
            r.v
        );
        assert_eq!(r.code, Some(1), "{label}: a warning: {}", r.v);

        // Trusted by name: exactly one login.
        let r = lab.check(&dns, None, &["--trust-discovered", EVIL]);
        let seen = server.take_stats();
        assert_eq!(seen.auth_attempts, 1, "{label}: {}", r.v);
        assert!(
            !codes(&r.v).contains(&"DISCOVERED_HOST_NOT_TRUSTED".to_string()),
            "{}",
            r.v
        );
    }
}

#[test]
fn batch_gives_a_discovered_host_outside_the_domain_no_login_and_asks_nothing() {
    let lab = Lab::new();
    let (server, dns) = lab.named_by_srv("gmail-smtp-implicit-ok", EVIL, "_submissions._tcp");
    let dir = tempfile::tempdir().expect("dir");
    let rows = dir.path().join("rows.csv");
    std::fs::write(&rows, format!("email,password_env\n{USER},MD_TRUST_PW\n")).expect("rows");
    let run = |extra: &[&str]| {
        let out = lab
            .command(&["batch", "--format", "json"], &dns)
            .args(extra)
            .arg(&rows)
            .env("MD_TRUST_PW", PW)
            // Standard input that would answer yes, were anything asked.
            .write_stdin("y\ny\ny\n")
            .timeout(Duration::from_secs(60))
            .output()
            .expect("runs");
        assert_no_leak(USER, PW, &[&out.stdout, &out.stderr]);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("[y/N]"),
            "batch never asks"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = run(&[]);
    assert_eq!(server.take_stats().auth_attempts, 0, "{out}");
    assert!(out.contains("DISCOVERED_HOST_NOT_TRUSTED"), "{out}");
    let out = run(&["--trust-discovered", EVIL]);
    assert_eq!(server.take_stats().auth_attempts, 1, "{out}");
}

#[test]
fn an_internationalised_domain_and_its_servers_compare_in_their_ascii_form() {
    // alice@bücher.example: DNS knows the domain as xn--bcher-kva.example, and
    // its SRV record names a server inside it, in the same ASCII form.
    let lab = Lab::new();
    const HOST: &str = "mail.xn--bcher-kva.example";
    let server = lab.fixture("gmail-smtp-implicit-ok", HOST);
    let dns = lab.dns(
        Zone::new()
            .add("xn--bcher-kva.example", Rec::Mx(10, HOST.into()))
            .add(
                "_submissions._tcp.xn--bcher-kva.example",
                Rec::Srv(0, 0, server.addr().port(), HOST.into()),
            )
            .add(HOST, local()),
    );
    let user = "alice@b\u{fc}cher.example";
    let r = lab.check_as(user, &dns, None, &[]);
    assert_eq!(r.v["target"]["domain"], "xn--bcher-kva.example", "{}", r.v);
    assert_eq!(server.take_stats().auth_attempts, 0, "{}", r.v);
    // Found, and inside the domain: only its loopback address stands against it.
    let text = finding_text(&r.v, "DISCOVERED_HOST_NOT_TRUSTED");
    assert!(text.contains(&format!("names {HOST}")), "{text} {}", r.v);
    assert!(text.contains("at 127.0.0.1"), "{text}");
    assert!(!text.contains("outside"), "{text}");
    // Trusted by its Unicode name: the same host.
    let r = lab.check_as(
        user,
        &dns,
        None,
        &["--trust-discovered", "mail.b\u{fc}cher.example"],
    );
    assert_eq!(server.take_stats().auth_attempts, 1, "{}", r.v);
}

#[test]
fn the_mx_host_guessed_outside_the_domain_gets_no_login_on_any_standard_port() {
    let lab = Lab::new();
    // The guesses go to the standard ports: an address of this test's own.
    const AT: &str = "127.0.0.66";
    const MX: &str = "mx.attacker.test";
    let servers = [
        lab.serve(
            Scenario::named("exo-smtp-ok").expect("fixture"),
            MX,
            &format!("{AT}:587"),
        ),
        lab.serve(
            Scenario::named("exo-imap-ok").expect("fixture"),
            MX,
            &format!("{AT}:993"),
        ),
        lab.serve(
            Scenario::named("exo-pop-ok").expect("fixture"),
            MX,
            &format!("{AT}:995"),
        ),
    ];
    let dns = lab.dns(
        Zone::new()
            .add("example.org", Rec::Mx(10, MX.into()))
            .add(MX, Rec::Ip(AT.parse().expect("ip"))),
    );
    let r = lab.check(&dns, None, &[]);
    for s in &servers {
        let seen = s.take_stats();
        assert_eq!(seen.auth_attempts, 0, "{}: {}", s.addr(), r.v);
        assert!(seen.connections >= 1, "{}: tested: {}", s.addr(), r.v);
    }
    let text = finding_text(&r.v, "DISCOVERED_HOST_NOT_TRUSTED");
    assert!(
        text.contains(&format!(
            "the domain's MX host {MX} (tried as a guess), outside example.org"
        )),
        "{text}"
    );
    for check in ["smtp", "imap", "pop"] {
        assert_eq!(status(&r.v, check), "warn", "{check}: {}", r.v);
    }

    let r = lab.check(&dns, None, &["--trust-discovered", MX]);
    for s in &servers {
        assert_eq!(s.take_stats().auth_attempts, 1, "{}: {}", s.addr(), r.v);
    }
}

#[test]
fn an_srv_target_of_localhost_or_an_ip_literal_gets_no_login_unless_trusted() {
    let lab = Lab::new();
    for (target, trusted) in [("localhost", "localhost"), ("127.0.0.1", "127.0.0.1")] {
        let server = lab.fixture("gmail-smtp-implicit-ok", trusted);
        let port = server.addr().port();
        let dns = lab.dns(
            zone()
                .add(
                    "_submissions._tcp.example.org",
                    Rec::Srv(0, 0, port, target.into()),
                )
                .add("localhost", local()),
        );
        let r = lab.check(&dns, None, &[]);
        assert_eq!(server.take_stats().auth_attempts, 0, "{target}: {}", r.v);
        let text = finding_text(&r.v, "DISCOVERED_HOST_NOT_TRUSTED");
        let why = if trusted == "localhost" {
            "at 127.0.0.1, an address on this computer"
        } else {
            "an IP address, not a host name"
        };
        assert!(text.contains(why), "{target}: {text}");

        let r = lab.check(&dns, None, &["--trust-discovered", trusted]);
        assert_eq!(server.take_stats().auth_attempts, 1, "{target}: {}", r.v);
    }
}

#[test]
fn a_discovered_host_inside_the_domain_at_a_local_address_gets_no_login_unless_trusted() {
    let lab = Lab::new();
    let (server, dns) = lab.named_by_srv("exo-imap-ok", INSIDE, "_imaps._tcp");
    let r = lab.check(&dns, None, &[]);
    assert_eq!(server.take_stats().auth_attempts, 0, "{}", r.v);
    let text = finding_text(&r.v, "DISCOVERED_HOST_NOT_TRUSTED");
    assert!(
        text.contains(&format!(
            "names {INSIDE}, at 127.0.0.1, an address on this computer"
        )),
        "{text}"
    );
    let r = lab.check(&dns, None, &["--trust-discovered", INSIDE]);
    assert_eq!(server.take_stats().auth_attempts, 1, "{}", r.v);
    assert_eq!(status(&r.v, "imap"), "pass", "{}", r.v);
}

/// A plaintext SMTP server that takes AUTH PLAIN at once.
const SMTP_PLAIN: &str = "# protocol: smtp
# tls: none
S: 220 mail.example.org ESMTP
C: EHLO *
S: 250-mail.example.org
S: 250-AUTH PLAIN LOGIN
S: 250 8BITMIME
C: AUTH PLAIN <auth>
S: 235 2.7.0 Authentication successful
C: QUIT
!close
";

/// A plaintext IMAP server that takes LOGIN.
const IMAP_PLAIN: &str = "# protocol: imap
# tls: none
S: * OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready
C: * AUTHENTICATE PLAIN <auth>
S: {tag} OK done
C: * EXAMINE INBOX
S: * 0 EXISTS
S: {tag} OK [READ-ONLY] done
C: * LOGOUT
!close
";

/// A plaintext POP3 server.
const POP_PLAIN: &str = "# protocol: pop
# tls: none
S: +OK ready
C: CAPA
S: +OK
S: SASL PLAIN
S: USER
S: .
C: AUTH PLAIN
S: +
C: <auth>
S: +OK welcome
C: STAT
S: +OK 0 0
C: QUIT
!close
";

/// An SMTP server on a STARTTLS port that offers no STARTTLS.
const SMTP_NO_STARTTLS: &str = "# protocol: smtp
# tls: starttls
S: 220 mail.example.org ESMTP
C: EHLO *
S: 250-mail.example.org
S: 250-AUTH PLAIN LOGIN
S: 250 8BITMIME
C: EHLO *
S: 250-mail.example.org
S: 250-AUTH PLAIN LOGIN
S: 250 8BITMIME
C: AUTH PLAIN <auth>
S: 235 2.7.0 Authentication successful
C: QUIT
!close
";

fn plain(text: &str) -> Scenario {
    Scenario::parse("inline", text).expect("scenario")
}

fn entry(kind: &str, ty: &str, port: u16) -> String {
    format!(
        "<{kind} type=\"{ty}\"><hostname>{INSIDE}</hostname><port>{port}</port><socketType>plain</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></{kind}>"
    )
}

#[test]
fn an_autoconfig_plain_entry_gets_no_cleartext_login_without_allow_plaintext() {
    let lab = Lab::new();
    let servers = [
        lab.serve(plain(SMTP_PLAIN), INSIDE, "127.0.0.1:0"),
        lab.serve(plain(IMAP_PLAIN), INSIDE, "127.0.0.1:0"),
        lab.serve(plain(POP_PLAIN), INSIDE, "127.0.0.1:0"),
    ];
    let doc = format!(
        r#"<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="example.org"><domain>example.org</domain>{}{}{}</emailProvider></clientConfig>"#,
        entry("incomingServer", "imap", servers[1].addr().port()),
        entry("incomingServer", "pop3", servers[2].addr().port()),
        entry("outgoingServer", "smtp", servers[0].addr().port()),
    );
    let web = lab.web(Site::new().route(
        "autoconfig.example.org",
        "/mail/config-v1.1.xml",
        Reply::xml(&doc),
    ));
    let dns = lab.dns(
        zone()
            .add("autoconfig.example.org", local())
            .add(INSIDE, local()),
    );
    // Trusted by name, so that only the cleartext rule stands in the way.
    let trust = ["--trust-discovered", INSIDE];
    let r = lab.check(&dns, Some(&web), &trust);
    for s in &servers {
        let seen = s.take_stats();
        assert_eq!(seen.auth_attempts, 0, "{}: {}", s.addr(), r.v);
        assert!(seen.connections >= 1, "{}: tested: {}", s.addr(), r.v);
    }
    for check in ["smtp", "imap", "pop"] {
        assert_eq!(status(&r.v, check), "fail", "{check}: {}", r.v);
    }
    let withheld = finding_text(&r.v, "CLEARTEXT_LOGIN_WITHHELD");
    assert!(
        withheld.contains("from the domain's autoconfig document) is not encrypted"),
        "{withheld}"
    );
    assert!(withheld.contains("without --allow-plaintext"), "{withheld}");
    let settings = finding_text(&r.v, "PLAINTEXT_SETTINGS");
    assert!(
        settings.contains("no login is sent over it without --allow-plaintext"),
        "{settings}"
    );
    // The old claim that the login ran without encryption is gone.
    let all = String::from_utf8_lossy(&r.stdout);
    assert!(!all.contains("WITHOUT encryption"), "{all}");
    assert_eq!(r.code, Some(2), "{}", r.v);

    // Allowed: exactly one login each, and the report says the flag let it cross
    // in clear text.
    let r = lab.check(&dns, Some(&web), &[trust[0], trust[1], "--allow-plaintext"]);
    for s in &servers {
        assert_eq!(s.take_stats().auth_attempts, 1, "{}: {}", s.addr(), r.v);
    }
    let settings = finding_text(&r.v, "PLAINTEXT_SETTINGS");
    assert!(
        settings.contains("--allow-plaintext lets a login cross it WITHOUT encryption"),
        "{settings}"
    );
    assert!(r.stderr.is_empty() || !String::from_utf8_lossy(&r.stderr).contains(PW));
}

#[test]
fn no_starttls_means_no_login_whatever_names_the_server() {
    let lab = Lab::new();
    let server = lab.serve(plain(SMTP_NO_STARTTLS), INSIDE, "127.0.0.1:0");
    let port = server.addr().port();
    let dns = lab.dns(
        zone()
            .add(
                "_submission._tcp.example.org",
                Rec::Srv(0, 0, port, INSIDE.into()),
            )
            .add(INSIDE, local()),
    );
    let flag = format!("smtp://127.0.0.1:{port}");
    for extra in [
        vec!["--trust-discovered", INSIDE],
        vec!["--smtp", flag.as_str()],
    ] {
        let r = lab.check(&dns, None, &extra);
        assert_eq!(server.take_stats().auth_attempts, 0, "{extra:?}: {}", r.v);
        assert!(
            codes(&r.v).contains(&"STARTTLS_MISSING".to_string()),
            "{extra:?}: {}",
            r.v
        );
        let mut allowed = extra.clone();
        allowed.push("--allow-plaintext");
        let r = lab.check(&dns, None, &allowed);
        assert_eq!(server.take_stats().auth_attempts, 1, "{allowed:?}: {}", r.v);
    }
}

#[test]
fn the_trust_rule_is_explained_in_text_within_80_columns() {
    let lab = Lab::new();
    let server = lab.fixture("gmail-smtp-implicit-ok", EVIL);
    let dns = lab.dns(
        zone()
            .add(
                "_submissions._tcp.example.org",
                Rec::Srv(0, 0, server.addr().port(), EVIL.into()),
            )
            .add(EVIL, local()),
    );
    let out = bin()
        .args(["check", USER, "--timeout", "3", "--skip", "tenant"])
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .arg("--ca-file")
        .arg(lab.ca.path())
        .arg("--password-stdin")
        .write_stdin(format!("{PW}\n"))
        .env("COLUMNS", "80")
        .timeout(Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(server.take_stats().auth_attempts, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().all(|l| l.chars().count() <= 80),
        "a line over 80 columns:\n{text}"
    );
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("not trusted with your password"), "{text}");
    assert!(words.contains("the login was not sent"), "{text}");
    assert!(text.contains("--trust-discovered"), "{text}");
    assert_no_leak(USER, PW, &[&out.stdout, &out.stderr]);
}

/// `check` in a pseudo-terminal (util-linux `script`), the answer typed ahead
/// on its input; the terminal's text.
fn in_terminal(lab: &Lab, dns: &DnsServer, format: &[&str], answer: &str) -> String {
    let exe = env!("CARGO_BIN_EXE_mailbox-doctor");
    let line = format!(
        "{exe} check {USER} --timeout 3 --skip tenant --dns-server {} --ca-file {} {}",
        dns.addr(),
        lab.ca.path().display(),
        format.join(" ")
    );
    let out = assert_cmd::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("MAILBOX_DOCTOR_PASSWORD", PW)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .write_stdin(answer.to_string())
        .timeout(Duration::from_secs(60))
        .output()
        .expect("script runs");
    assert_no_leak(USER, PW, &[&out.stdout, &out.stderr]);
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_terminal_asks_about_a_host_outside_the_domain_and_machine_formats_never_do() {
    let lab = Lab::new();
    let server = lab.fixture("gmail-smtp-implicit-ok", EVIL);
    let dns = lab.dns(
        zone()
            .add(
                "_submissions._tcp.example.org",
                Rec::Srv(0, 0, server.addr().port(), EVIL.into()),
            )
            .add(EVIL, local()),
    );
    let question = format!("Trust {EVIL} with your credentials? [y/N]");
    // No: the login is withheld for being outside the domain.
    let text = in_terminal(&lab, &dns, &[], "n\n");
    assert!(text.contains(&question), "{text}");
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(
            "_submissions._tcp.example.org names smtp.attacker.test, outside example.org"
        ),
        "{text}"
    );
    assert_eq!(server.take_stats().auth_attempts, 0, "{text}");
    // Yes vouches for the name; the address, 127.0.0.1, still gets no login:
    // no answer at a prompt sends a password to this computer on DNS's word.
    let text = in_terminal(&lab, &dns, &[], "y\n");
    assert!(text.contains(&question), "{text}");
    // The report, after the question.
    let report = text.split(&question).nth(1).unwrap_or_default();
    let words = report.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!words.contains("outside example.org:"), "{text}");
    assert!(
        words.contains("names smtp.attacker.test, at 127.0.0.1, an address on this computer"),
        "{text}"
    );
    assert_eq!(server.take_stats().auth_attempts, 0, "{text}");
    // Machine formats never ask.
    for format in [["--json"], ["--nagios"]] {
        let text = in_terminal(&lab, &dns, &format, "y\n");
        assert!(!text.contains("Trust "), "{format:?}: {text}");
        assert_eq!(server.take_stats().auth_attempts, 0, "{text}");
    }
}
