//! The credential gate: the one place that decides whether a protocol check may
//! send the password or the token on the session it holds. Two rules, for every
//! TLS mode and every source of an endpoint (a flag, a profile, SRV, autoconfig,
//! the MX guess):
//!
//! - no credential on an unencrypted connection without `--allow-plaintext`;
//! - no credential to a host that discovery found and nothing vouches for
//!   (`target::discovery::trust`), unless the user trusted it by name.
//!
//! A withheld login is a result that says what happened, why, and how to allow
//! it. The connection keeps the gate's word: `net::conn::Conn` writes a secret
//! only once `permit_credentials` was called, and over plain TCP only when
//! cleartext was allowed.

use super::{CheckResult, Ctx};
use crate::net::session::Session;
use crate::target::discovery::{trust, Trust};
use crate::vocab::{Endpoint, Finding, Severity, Status};

/// Where an endpoint came from, in words.
fn source_words(ep: &Endpoint) -> &'static str {
    match ep.source {
        "flag" => "as you set it",
        "profile" => "the provider's settings",
        "srv" => "from the domain's SRV record",
        "autoconfig" => "from the domain's autoconfig document",
        "mx" => "guessed from the MX",
        _ => "as discovered",
    }
}

fn at(ep: &Endpoint) -> String {
    format!(
        "{} {}:{}",
        ep.protocol.as_str().to_ascii_uppercase(),
        ep.host,
        ep.port
    )
}

/// Clears the session for credentials, or says why they were withheld.
pub fn credentials(ctx: &Ctx, s: &mut Session) -> Result<(), CheckResult> {
    let ep = s.endpoint.clone();
    let clear = !s.conn.is_tls();
    if clear && !ctx.net.allow_plaintext {
        let msg = format!(
            "{} ({}) is not encrypted: the login was not sent, because credentials never cross an unencrypted connection without --allow-plaintext",
            at(&ep),
            source_words(&ep)
        );
        let f = Finding::new("CLEARTEXT_LOGIN_WITHHELD", Severity::Critical, msg).with_fix(
            "Use the server's encrypted settings: implicit TLS (usually port 465, 993 or 995) or STARTTLS. To test the login in clear text anyway, run again with --allow-plaintext.",
        );
        return Err(CheckResult::new(
            Status::Fail,
            format!("login withheld: {} is not encrypted", at(&ep)),
        )
        .with_findings(vec![f]));
    }
    let peer = Some(s.conn.peer.ip());
    if let Trust::Untrusted(evidence) = trust(
        ctx.kb,
        &ctx.target,
        &ep,
        peer,
        &ctx.net.trust_discovered,
        &ctx.net.confirmed,
    ) {
        let flag = ep.protocol.as_str();
        let f = Finding::new(
            "DISCOVERED_HOST_NOT_TRUSTED",
            Severity::Warning,
            format!("{evidence}; the login was not sent"),
        )
        .with_evidence(format!(
            "connected to {}: TLS and capabilities tested, no login",
            s.conn.peer
        ))
        .with_fix(format!(
            "If {host} really is your mail server, say so and run again: --trust-discovered {host} (in serve, trust_discovered in the module), or name it: --{flag} {host}:{port}. Otherwise the domain's DNS needs fixing: ask its administrator.",
            host = ep.host,
            port = ep.port
        ));
        return Err(CheckResult::new(
            Status::Warn,
            format!(
                "login withheld: {} was found by discovery and is not trusted",
                ep.host
            ),
        )
        .with_findings(vec![f]));
    }
    s.conn.permit_credentials(ctx.net.allow_plaintext);
    Ok(())
}
