//! The dns check against a real DNS server on 127.0.0.1 (UDP/TCP) serving a zone
//! with good names and broken ones.

mod util;

use mailbox_doctor::sim::dns::{Behaviour, DnsServer, Rec, Zone};
use std::time::{Duration, Instant};
use util::{bin, first_code, validated};

fn zone() -> Zone {
    Zone::new()
        .add(
            "smtp.contoso.test",
            Rec::Ip("127.0.0.1".parse().expect("ip")),
        )
        .add(
            "imap.contoso.test",
            Rec::Ip("127.0.0.1".parse().expect("ip")),
        )
        .add("imap.contoso.test", Rec::Ip("::1".parse().expect("ip")))
        .add("pop.contoso.test", Rec::Ip("::1".parse().expect("ip")))
        .add(
            "contoso.test",
            Rec::Mx(0, "contoso-test.mail.protection.outlook.com".into()),
        )
        .add(
            "contoso.test",
            Rec::Txt("v=spf1 include:spf.protection.outlook.com -all".into()),
        )
        .add(
            "contoso.test",
            Rec::Txt("google-site-verification=abc".into()),
        )
        .add(
            "autodiscover.contoso.test",
            Rec::Cname("autodiscover.outlook.com".into()),
        )
        .add("nodata.contoso.test", Rec::Txt("only text here".into()))
        .set("servfail.contoso.test", Behaviour::ServFail)
        .set("silent.contoso.test", Behaviour::Drop)
}

struct Env {
    _rt: tokio::runtime::Runtime,
    server: DnsServer,
}

fn env() -> Env {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(DnsServer::start(zone())).expect("dns server");
    Env { _rt: rt, server }
}

fn run(env: &Env, smtp: &str, timeout: &str) -> (serde_json::Value, Option<i32>, Duration) {
    let start = Instant::now();
    let out = bin()
        .args([
            "check",
            "alice@contoso.test",
            "--no-password",
            "--only",
            "dns",
            "--json",
        ])
        .args([
            "--smtp",
            smtp,
            "--imap",
            "imap.contoso.test",
            "--pop",
            "pop.contoso.test",
        ])
        .args(["--timeout", timeout])
        .arg("--dns-server")
        .arg(env.server.addr().to_string())
        .output()
        .expect("runs");
    (
        validated(&out.stdout, "report.v1.json"),
        out.status.code(),
        start.elapsed(),
    )
}

#[test]
fn every_host_resolves_and_domain_records_are_reported() {
    let env = env();
    let (v, code, _) = run(&env, "smtp.contoso.test", "3");
    let dns = &v["checks"][0];
    assert_eq!(dns["status"], "pass", "{v}");
    assert_eq!(code, Some(0));
    assert_eq!(
        dns["details"]["hosts"]["imap.contoso.test"]["addresses"],
        serde_json::json!(["127.0.0.1", "::1"])
    );
    assert_eq!(
        dns["details"]["domain"]["mx"][0][1],
        "contoso-test.mail.protection.outlook.com"
    );
    assert_eq!(
        dns["details"]["domain"]["spf"].as_array().map(|a| a.len()),
        Some(1)
    );
    assert_eq!(
        dns["details"]["domain"]["autodiscover"],
        "autodiscover.outlook.com"
    );
    // 3 hosts x (A + AAAA) + MX + TXT + CNAME, all through --dns-server.
    assert!(
        env.server.queries() >= 9,
        "{} queries",
        env.server.queries()
    );
}

#[test]
fn nxdomain_nodata_servfail_and_timeout_are_told_apart() {
    let env = env();
    for (host, want) in [
        ("nosuch.contoso.test", "DNS_NXDOMAIN"),
        ("nodata.contoso.test", "DNS_NO_ADDRESS"),
        ("servfail.contoso.test", "DNS_SERVFAIL"),
    ] {
        let (v, code, _) = run(&env, host, "2");
        assert_eq!(first_code(&v), want, "{host}: {v}");
        assert_eq!(code, Some(2));
        let msg = v["checks"][0]["findings"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(msg.contains(host) && msg.contains("SMTP"), "{msg}");
    }
    let (v, code, took) = run(&env, "silent.contoso.test", "1");
    assert_eq!(first_code(&v), "DNS_TIMEOUT", "{v}");
    assert_eq!(code, Some(2));
    // One step (the look-ups run at once), one timeout: not one for UDP and
    // another for TCP.
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} with --timeout 1"
    );
}

/// A resolver on the test server, as a run builds it.
fn resolver(server: &DnsServer, timeout: Duration) -> mailbox_doctor::net::resolver::Resolver {
    mailbox_doctor::net::resolver::Resolver::new(Some(server.addr()), timeout).expect("resolver")
}

#[test]
fn a_lost_datagram_is_sent_again_within_the_timeout() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let zone = Zone::new().set(
        "lossy.contoso.test",
        Behaviour::LoseFirst(vec![Rec::Ip("127.0.0.1".parse().expect("ip"))]),
    );
    let server = rt.block_on(DnsServer::start(zone)).expect("dns server");
    // One look-up within a 4 s timeout: the first query of each type is lost; the
    // resend after a second gets the answer, where a single query would have
    // waited out the whole timeout and failed.
    let got = rt
        .block_on(resolver(&server, Duration::from_secs(4)).addresses("lossy.contoso.test"))
        .expect("answered on the second query");
    assert_eq!(
        got,
        vec!["127.0.0.1".parse::<std::net::IpAddr>().expect("ip")]
    );
    assert_eq!(server.asked("lossy.contoso.test", "A"), 2);
}

#[test]
fn a_cname_chain_ending_in_nodata_resolves_with_the_chain_asked_once() {
    // An IPv4-only host behind two aliases, as corporate DNS often has it: the A
    // answer holds the chain and the address, the AAAA answer the chain and the
    // SOA of NODATA. The alias is asked once per type, the chain's middle never.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let zone = Zone::new()
        .add("mail.contoso.test", Rec::Cname("edge.contoso.test".into()))
        .add(
            "edge.contoso.test",
            Rec::Cname("v4only.contoso.test".into()),
        )
        .add(
            "v4only.contoso.test",
            Rec::Ip("127.0.0.7".parse().expect("ip")),
        );
    let server = rt.block_on(DnsServer::start(zone)).expect("dns server");
    let got = rt
        .block_on(resolver(&server, Duration::from_secs(4)).addresses("mail.contoso.test"))
        .expect("resolves through the chain");
    assert_eq!(
        got,
        vec!["127.0.0.7".parse::<std::net::IpAddr>().expect("ip")]
    );
    assert_eq!(server.asked("mail.contoso.test", "A"), 1);
    assert_eq!(server.asked("mail.contoso.test", "AAAA"), 1);
    for rtype in ["A", "AAAA", "CNAME"] {
        assert_eq!(server.asked("edge.contoso.test", rtype), 0, "edge {rtype}");
    }
    assert_eq!(server.asked("v4only.contoso.test", "A"), 0);
    // NODATA with the SOA at the chain's end is final (RFC 2308): the chain's
    // last name is not asked again.
    assert_eq!(server.asked("v4only.contoso.test", "AAAA"), 0);
    assert_eq!(server.queries(), 2);
}

#[test]
fn a_chain_the_answer_stops_short_of_is_followed_once() {
    // The server answers the alias with the CNAME alone (no records, no SOA):
    // the target is asked, once per type, and nothing else.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let zone = Zone::new()
        .set(
            "alias.contoso.test",
            Behaviour::AliasOnly("target.contoso.test".into()),
        )
        .add(
            "target.contoso.test",
            Rec::Ip("127.0.0.9".parse().expect("ip")),
        );
    let server = rt.block_on(DnsServer::start(zone)).expect("dns server");
    let got = rt
        .block_on(resolver(&server, Duration::from_secs(4)).addresses("alias.contoso.test"))
        .expect("resolves through the chain");
    assert_eq!(
        got,
        vec!["127.0.0.9".parse::<std::net::IpAddr>().expect("ip")]
    );
    for rtype in ["A", "AAAA"] {
        assert_eq!(server.asked("alias.contoso.test", rtype), 1, "{rtype}");
        assert_eq!(server.asked("target.contoso.test", rtype), 1, "{rtype}");
    }
    assert_eq!(server.queries(), 4);
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Forty 60-byte strings: more than the 1232 bytes a query accepts over UDP.
    let mut zone = Zone::new();
    for i in 0..40 {
        zone = zone.add(
            "big.contoso.test",
            Rec::Txt(format!("{i:02}{}", "x".repeat(58))),
        );
    }
    let server = rt.block_on(DnsServer::start(zone)).expect("dns server");
    let got = rt
        .block_on(resolver(&server, Duration::from_secs(4)).txt("big.contoso.test"))
        .expect("answered over TCP");
    assert_eq!(got.len(), 40);
    // One datagram, truncated; then one TCP query.
    assert_eq!(server.asked("big.contoso.test", "TXT"), 2);
}

#[test]
fn answers_and_negative_answers_are_kept_for_their_ttl() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let zone = Zone::new()
        .add(
            "mail.contoso.test",
            Rec::Cname("v4only.contoso.test".into()),
        )
        .add(
            "v4only.contoso.test",
            Rec::Ip("127.0.0.7".parse().expect("ip")),
        );
    let server = rt.block_on(DnsServer::start(zone)).expect("dns server");
    let r = resolver(&server, Duration::from_secs(4));
    for _ in 0..3 {
        rt.block_on(r.addresses("mail.contoso.test"))
            .expect("resolves");
        let nx = rt.block_on(r.addresses("nosuch.contoso.test"));
        assert!(
            matches!(
                nx,
                Err(mailbox_doctor::net::resolver::DnsError::NxDomain { .. })
            ),
            "{nx:?}"
        );
    }
    // The positive answer (TTL 300), the NODATA for AAAA and the NXDOMAIN (SOA
    // TTL 300): each asked once.
    assert_eq!(server.asked("mail.contoso.test", "A"), 1);
    assert_eq!(server.asked("mail.contoso.test", "AAAA"), 1);
    assert_eq!(server.asked("nosuch.contoso.test", "A"), 1);
    assert_eq!(server.asked("nosuch.contoso.test", "AAAA"), 1);
    assert_eq!(r.queries_sent(), 4);
}

#[test]
fn a_full_check_asks_each_chained_host_once_per_family() {
    // The lab's Exchange Online, whose host names resolve through their real
    // CNAME chains ending in an A record and NODATA (with the SOA) for AAAA: a
    // full check asks each host once for A and once for AAAA, and never a name
    // of the chain.
    use mailbox_doctor::commands::demo::{contoso_services_in, EXO_CHAINS};
    use mailbox_doctor::sim::pki::Pki;
    use mailbox_doctor::sim::replay::{ReplayServer, Scenario};
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new().expect("pki");
    let mut servers = Vec::new();
    for (fixture, host) in [
        ("exo-smtp-ok", "smtp.office365.com"),
        ("exo-imap-ok", "outlook.office365.com"),
        ("exo-pop-ok", "outlook.office365.com"),
    ] {
        let sc = Scenario::named(fixture).expect("fixture");
        let cfg = pki.server_config(sc.cert, &[host]).expect("cert");
        let s = rt
            .block_on(ReplayServer::start(sc, cfg, Duration::ZERO))
            .expect("server");
        servers.push((host, s));
    }
    let (dns, identity) = rt
        .block_on(contoso_services_in(&pki, Duration::ZERO, true, None))
        .expect("services");
    let ca = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
    let url = |scheme: &str, i: usize| {
        format!("{scheme}://{}:{}", servers[i].0, servers[i].1.addr().port())
    };
    let out = bin()
        .args(["check", "alice@contoso.com", "--provider", "microsoft365"])
        .args(["--smtp", &url("smtp", 0), "--imap", &url("imaps", 1)])
        .args(["--pop", &url("pop3s", 2), "--json", "--timeout", "10"])
        .arg("--dns-server")
        .arg(dns.addr().to_string())
        .arg("--ca-file")
        .arg(ca.path())
        .arg("--identity-url")
        .arg(format!(
            "https://login.microsoftonline.com:{}",
            identity.addr().port()
        ))
        .env("MAILBOX_DOCTOR_PASSWORD", "abcdefghijklmnop")
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    for id in ["dns", "tls", "smtp", "imap", "pop"] {
        let c = v["checks"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id))
            .unwrap_or_else(|| panic!("no {id} check: {v}"));
        // Logged in (smtp warns of the SMTP AUTH sunset): every branch connected.
        assert!(c["status"] == "pass" || c["status"] == "warn", "{id}: {c}");
    }
    for (host, links) in EXO_CHAINS {
        assert_eq!(dns.asked(host, "A"), 1, "{host} A");
        assert_eq!(dns.asked(host, "AAAA"), 1, "{host} AAAA");
        for link in links {
            for rtype in ["A", "AAAA", "CNAME"] {
                assert_eq!(dns.asked(link, rtype), 0, "{link} {rtype}");
            }
        }
    }
}
