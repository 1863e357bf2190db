//! A simulated Exchange Online for the benchmarks, all on 127.0.0.1: replay servers
//! for SMTP (STARTTLS), IMAP and POP3 (implicit TLS) playing the recorded
//! successful logins, a DNS server and the identity endpoint. Every one of them
//! waits `--delay MS` before each reply and each TLS handshake, as a network with
//! that round-trip time would.
//!
//! It prints shell exports for scripts/bench/run.sh, then reads commands on standard
//! input until it closes: `stats` prints, as one JSON line, what each server saw
//! since the last `stats` (connections, authentication attempts, the delayed
//! flights each connection waited for, DNS questions per host, deviations from the
//! script) and starts counting again.
//!
//! The floor it exports is that of an optimal client that follows the standards,
//! from what each server offers (`Scenario::floor`), never from what the tool does:
//! per branch (`MD_LAB_SMTP_FLOOR`, ..., `MD_LAB_TENANT_FLOOR`, in round trips) and
//! for the run (`MD_LAB_FLOOR`: the branches run at the same time, so the longest).
//!
//! With `--cname`, Exchange Online's host names resolve as they do in the world:
//! through their CNAME chains (`smtp.office365.com` -> `smtp.ms-acdc.office.com`
//! -> `DUB-efz.ms-acdc.office.com`), whose ends have an A record and answer
//! NODATA, with the zone's SOA, for AAAA.
//!
//!     cargo run --release --example lab -- --delay 50 [--cname] [--smtp FIXTURE] [--imap FIXTURE] [--pop FIXTURE]

#![allow(clippy::disallowed_macros)] // a command-line helper: its output is its job

use mailbox_doctor::sim::pki::Pki;
use mailbox_doctor::sim::replay::{Floor, ReplayServer, Scenario, TlsVersion};
use std::io::{BufRead, Write};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let delay_ms: u64 = args
        .iter()
        .position(|a| a == "--delay")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let delay = Duration::from_millis(delay_ms);
    // `--smtp NAME` (likewise --imap, --pop) serves another fixture.
    let fixture = |flag: &str, default: &'static str| -> String {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let pki = Pki::new()?;
    let mut exports = Vec::new();
    let mut servers = Vec::new();
    // The lab's servers speak TLS 1.3 (rustls, both ends).
    let tls = TlsVersion::Tls13;
    let mut floors = Vec::new();
    for (var, fixture, host) in [
        (
            "SMTP",
            fixture("--smtp", "exo-smtp-ok"),
            "smtp.office365.com",
        ),
        (
            "IMAP",
            fixture("--imap", "exo-imap-ok"),
            "outlook.office365.com",
        ),
        (
            "POP",
            fixture("--pop", "exo-pop-ok"),
            "outlook.office365.com",
        ),
    ] {
        let sc = Scenario::named(&fixture)?;
        floors.push((var, sc.floor(tls)));
        let cfg = pki.server_config(sc.cert, &[host])?;
        let s = ReplayServer::start(sc, cfg, delay)
            .await
            .map_err(|e| e.to_string())?;
        exports.push(format!("export MD_LAB_{var}_PORT={}", s.addr().port()));
        exports.push(format!("export MD_LAB_{var}={host}:{}", s.addr().port()));
        servers.push((var.to_ascii_lowercase(), s));
    }
    // The same SMTP dialogue for clients that send `AUTH LOGIN` bare (swaks,
    // openssl): the server's username prompt, as recorded, before the password's.
    {
        let text = mailbox_doctor::sim::replay::FIXTURES
            .iter()
            .find(|(n, _)| *n == "exo-smtp-ok")
            .map(|(_, t)| *t)
            .ok_or("no exo-smtp-ok fixture")?;
        let bare = text.replace(
            "C: AUTH LOGIN *\nS: 334 UGFzc3dvcmQ6\n",
            "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: *\nS: 334 UGFzc3dvcmQ6\n",
        );
        if bare == text {
            return Err("exo-smtp-ok has no AUTH LOGIN with an initial response".into());
        }
        let sc = Scenario::parse("exo-smtp-ok-bare-login", &bare)?;
        let cfg = pki.server_config(sc.cert, &["smtp.office365.com"])?;
        let s = ReplayServer::start(sc, cfg, delay)
            .await
            .map_err(|e| e.to_string())?;
        exports.push(format!("export MD_LAB_SMTP_BARE_PORT={}", s.addr().port()));
        servers.push(("smtp_bare".to_string(), s));
    }
    let chains = args.iter().any(|a| a == "--cname");
    let (dns, identity) =
        mailbox_doctor::commands::demo::contoso_services_in(&pki, delay, chains, None).await?;
    let ca = std::env::temp_dir().join(format!("mailbox-doctor-lab-{}.pem", std::process::id()));
    std::fs::write(&ca, pki.ca.pem()).map_err(|e| e.to_string())?;
    exports.push(format!("export MD_LAB_DNS={}", dns.addr()));
    exports.push(format!("export MD_LAB_DNS_PORT={}", dns.addr().port()));
    exports.push(format!("export MD_LAB_CA={}", ca.display()));
    exports.push(format!(
        "export MD_LAB_IDENTITY=https://login.microsoftonline.com:{}",
        identity.addr().port()
    ));
    exports.push(format!("export MD_LAB_DELAY_MS={delay_ms}"));
    exports.push(format!(
        "export MD_LAB_ZONE={}",
        if chains { "cname" } else { "plain" }
    ));
    // The tenant look-up: the user realm alone says whether the domain is
    // Microsoft's and how it signs in; requests sent together count once.
    floors.push(("TENANT", Floor::https(tls, 1)));
    for (var, f) in &floors {
        exports.push(format!("export MD_LAB_{var}_FLOOR={}", f.total()));
        exports.push(format!(
            "export MD_LAB_{var}_FLOOR_PARTS='{} DNS + {} TLS + {} replies'",
            f.dns, f.tls, f.replies
        ));
    }
    let floor = floors.iter().map(|(_, f)| f.total()).max().unwrap_or(0);
    exports.push(format!("export MD_LAB_FLOOR={floor}"));
    println!("{}", exports.join("\n"));
    let _ = std::io::stdout().flush();

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let (mut dns_seen, mut identity_seen) = (0, 0);
    // The address questions per host, to show a branch asking twice.
    let mut asked_names = vec![
        "smtp.office365.com",
        "outlook.office365.com",
        "login.microsoftonline.com",
    ];
    if chains {
        for (_, links) in mailbox_doctor::commands::demo::EXO_CHAINS {
            asked_names.extend(links);
        }
    }
    let mut asked_seen = std::collections::HashMap::new();
    while let Some(command) = rx.recv().await {
        if command.trim() != "stats" {
            continue;
        }
        let mut per_server = serde_json::Map::new();
        for (name, s) in &servers {
            let st = s.take_stats();
            per_server.insert(
                name.clone(),
                serde_json::json!({
                    "connections": st.connections,
                    "max_active": st.max_active,
                    "auth_attempts": st.auth_attempts,
                    "flights": st.flights,
                    "flights_per_connection": if st.connections == 0 {
                        serde_json::Value::Null
                    } else {
                        serde_json::json!(st.flights as f64 / st.connections as f64)
                    },
                    "min_flights_per_connection": st.min_flights_per_connection,
                    "max_flights_per_connection": st.max_flights_per_connection,
                    "mismatches": st.mismatches,
                }),
            );
        }
        let mut asked = serde_json::Map::new();
        for &name in &asked_names {
            for rtype in ["A", "AAAA"] {
                let now = dns.asked(name, rtype);
                let before = asked_seen.insert((name, rtype), now).unwrap_or(0);
                asked.insert(format!("{name} {rtype}"), (now - before).into());
            }
        }
        per_server.insert("dns_asked".into(), asked.into());
        per_server.insert("dns_queries".into(), (dns.queries() - dns_seen).into());
        per_server.insert(
            "identity_requests".into(),
            (identity.requests() - identity_seen).into(),
        );
        (dns_seen, identity_seen) = (dns.queries(), identity.requests());
        println!("{}", serde_json::Value::Object(per_server));
        let _ = std::io::stdout().flush();
    }
    let _ = std::fs::remove_file(&ca);
    Ok(())
}
