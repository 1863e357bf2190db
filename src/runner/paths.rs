//! The `paths` pipeline: for one address, from this network, every way out a
//! device that cannot do OAuth may take, tested without sending a message.
//!
//! The provider comes from the domain's MX (the evidence is reported). For
//! Exchange Online: the tenant's MX on port 25 (direct send with the internal
//! recipient, connector relay with the external one, on one connection: EHLO,
//! STARTTLS, MAIL FROM, RCPT TO, RSET, and QUIT; DATA only with
//! `--send-test-message`), High Volume Email on its own endpoint (one AUTH LOGIN
//! at most, only with an HVE account), and SMTP AUTH's submission endpoint
//! (reachability, TLS and the mechanisms offered; `check` is what logs in). For
//! Google Workspace: the SMTP relay service. Otherwise: a relay the user names
//! or the domain's published submission service (RFC 6186 SRV). Every step has
//! the run's step timeout, credentials only cross TLS (unless
//! `--allow-plaintext`) and only reach the provider's published HVE hosts.

use crate::checks::NetOptions;
use crate::knowledge::Knowledge;
use crate::net::conn::NetError;
use crate::net::resolver::Resolver;
use crate::net::scrub::Scrubber;
use crate::net::session::{self, OpenError, OpenOptions, Session, EHLO_NAME};
use crate::net::smtp::{read_reply, Capabilities, Mechanism, Reply};
use crate::net::tls::{ClientAuthSeen, ClientIdentity};
use crate::net::transcript::{Line, Transcript};
use crate::report::paths::{ClientCertificate, PathKind, PathResult, PathsReport, Verdict, SCHEMA};
use crate::secret::Secret;
use crate::vocab::{Endpoint, OverallStatus, Protocol, TlsMode};
use std::sync::Arc;
use std::time::Instant;

/// High Volume Email's endpoint, and the older one Microsoft says will be retired
/// (learn.microsoft.com, troubleshoot-high-volume-email-m365).
pub const HVE_HOST: &str = "smtp.hve.mx.microsoft";
pub const HVE_OLD_HOST: &str = "smtp-hve.office365.com";
/// Google Workspace's SMTP relay service.
pub const GOOGLE_RELAY_HOST: &str = "smtp-relay.gmail.com";

/// The ports probed; only the tests and `demo` move them off the standard ones.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// The MX (direct send, connector relay): 25.
    pub mx: u16,
    /// Submission (SMTP AUTH, Google's relay): 587.
    pub submission: u16,
    /// High Volume Email: 587.
    pub hve: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            mx: 25,
            submission: 587,
            hve: 587,
        }
    }
}

/// What one `paths` run tests.
pub struct PathsSpec {
    pub address: String,
    pub domain: String,
    /// The internal recipient (default: the address).
    pub recipient: String,
    pub external_recipient: Option<String>,
    /// The HVE account and its password.
    pub hve: Option<(String, Secret)>,
    /// A relay or submission service the user names (HOST, PORT).
    pub relay: Option<(String, u16)>,
    /// The newest TLS version the device speaks, as 10, 11, 12 or 13.
    pub device_tls: Option<u8>,
    pub send_test_message: bool,
    /// The TLS client certificate the MX and a named relay are shown when they
    /// ask (`--client-certificate`), for a connector that matches it.
    pub client_identity: Option<Arc<ClientIdentity>>,
    /// `--sign-in`: the `oauth` path signs in and tests AUTH XOAUTH2 once.
    pub sign_in: Option<crate::checks::signin::Plan>,
    pub net: NetOptions,
    pub ports: Ports,
    pub today: chrono::NaiveDate,
    pub scrub: Arc<Scrubber>,
}

/// Why a probe could not get to an encrypted SMTP session.
struct Failure {
    code: String,
    why: String,
    /// Whether a TCP connection was made (a port that answered).
    reached: bool,
    /// Whether it failed before any SMTP reply: no connection, or silence.
    silent: bool,
}

impl Failure {
    /// The path's verdict when its endpoint could not be reached over TLS: a
    /// server that answered and failed blocks it; no answer leaves it unknown.
    fn result(&self, path: PathKind, host: &str, port: u16) -> PathResult {
        let verdict = if self.reached {
            Verdict::Blocked
        } else {
            Verdict::Unknown
        };
        PathResult::new(
            path,
            verdict,
            Some(&self.code),
            format!("{host}:{port}: {}", self.why),
        )
    }
}

/// The run's scrubber, knowing the HVE account's password when there is one.
pub fn scrubber(hve: &Option<(String, Secret)>) -> Arc<Scrubber> {
    let creds: Vec<crate::net::scrub::Credential> = hve
        .iter()
        .map(|(user, secret)| crate::net::scrub::Credential {
            user,
            secret,
            token: false,
        })
        .collect();
    Arc::new(Scrubber::new(&creds))
}

/// One probe's connection and what it recorded.
struct Probe {
    transcript: Transcript,
    endpoint: String,
}

impl Probe {
    fn new(host: &str, port: u16) -> Probe {
        Probe {
            transcript: Transcript::new(),
            endpoint: format!("{host}:{port}"),
        }
    }

    /// The session options of this probe: the run's network options, its
    /// transcript and scrubber.
    fn options<'a>(&self, spec: &'a PathsSpec) -> OpenOptions<'a> {
        OpenOptions {
            timeout: spec.net.timeout,
            extra_roots: &spec.net.extra_roots,
            allow_plaintext: spec.net.allow_plaintext,
            transcript: self.transcript.clone(),
            scrub: spec.scrub.clone(),
        }
    }

    fn into_result(self, mut r: PathResult) -> PathResult {
        r.endpoint = Some(self.endpoint);
        r.exchange = self.transcript.lines();
        r
    }
}

/// Whether the TLS client certificate is presented on a probe: `Watch` notes
/// whether the server asks for one, and presents `--client-certificate` then.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    No,
    Watch,
}

/// Connects, reads the greeting, STARTTLS (verified), then EHLO again: the
/// capabilities valid on the encrypted channel.
async fn open(
    spec: &PathsSpec,
    resolver: &Resolver,
    probe: &Probe,
    host: &str,
    port: u16,
    tls: TlsMode,
) -> Result<(Session, Capabilities), Failure> {
    open_with(spec, resolver, probe, host, port, tls, ClientAuth::No)
        .await
        .0
}

/// `open`, and with `ClientAuth::Watch` whether the server asked for a client
/// certificate (the certificate is presented when one was given). A server that
/// refuses the handshake for want of the right certificate, or ends the
/// connection right after a handshake in which it asked for one (TLS 1.3 sends
/// that refusal after the client's last handshake message), reads as
/// CLIENT_CERTIFICATE_REQUIRED (none presented) or CLIENT_CERTIFICATE_REFUSED.
async fn open_with(
    spec: &PathsSpec,
    resolver: &Resolver,
    probe: &Probe,
    host: &str,
    port: u16,
    tls: TlsMode,
    auth: ClientAuth,
) -> (
    Result<(Session, Capabilities), Failure>,
    Option<ClientAuthSeen>,
) {
    let mut seen: Option<ClientAuthSeen> = None;
    let r = async {
        let addrs = match crate::net::resolver::literal(host) {
            Some(ip) => vec![ip],
            None => resolver.addresses(host).await.map_err(|e| Failure {
                code: e.code().to_string(),
                why: e.to_string(),
                reached: false,
                silent: true,
            })?,
        };
        let ep = Endpoint {
            protocol: Protocol::Smtp,
            host: host.to_string(),
            port,
            tls,
            source: "paths",
        };
        let o = probe.options(spec);
        let opened = match auth {
            ClientAuth::No => session::open(&ep, &addrs, &o).await,
            ClientAuth::Watch => {
                let (r, got) = session::open_as(&ep, &addrs, &o, spec.client_identity.as_deref()).await;
                seen = got;
                r
            }
        };
        let mut s = match opened {
            Ok(s) => s,
            Err(OpenError::Tls { why, .. }) if seen.as_ref().is_some_and(|c| c.refused()) => {
                return Err(Failure {
                    code: client_cert_code(spec).to_string(),
                    why: format!("TLS failed: {why}"),
                    reached: true,
                    silent: false,
                });
            }
            Err(e) => {
                let (reached, silent) = match &e {
                    OpenError::Connect { .. } => (false, true),
                    OpenError::Net(NetError::Timeout { phase, .. }) => {
                        (true, phase.contains("greeting"))
                    }
                    _ => (true, false),
                };
                let why = match &e {
                    OpenError::Connect { why, .. } => why.clone(),
                    OpenError::Net(n) => n.to_string(),
                    OpenError::Tls { why, .. } => format!("TLS failed: {why}"),
                    OpenError::StartTlsMissing { .. } => {
                        "the server does not offer STARTTLS; nothing was sent without TLS (--allow-plaintext allows it)".to_string()
                    }
                    OpenError::Rejected { reply } => format!("the server refused: {reply}"),
                    OpenError::ImplicitTlsPort => "the port speaks TLS at once".to_string(),
                };
                return Err(Failure {
                    code: e.code().to_string(),
                    why,
                    reached,
                    silent,
                });
            }
        };
        let asked = seen.as_ref().is_some_and(|c| c.asked());
        let net = |e: NetError| {
            match e {
            NetError::Io { .. } | NetError::Closed { .. } if asked => Failure {
                code: client_cert_code(spec).to_string(),
                why: format!(
                    "the server asked for a client certificate and ended the connection right after the TLS handshake ({e})"
                ),
                reached: true,
                silent: false,
            },
            e => Failure {
                code: e.code().to_string(),
                why: e.to_string(),
                reached: true,
                silent: false,
            },
        }
        };
        s.conn
            .send(&format!("EHLO {EHLO_NAME}"), "sending EHLO")
            .await
            .map_err(net)?;
        let ehlo = read_reply(&mut s.conn, "waiting for the EHLO reply")
            .await
            .map_err(net)?;
        if ehlo.code != 250 {
            return Err(Failure {
                code: "SERVER_PROTOCOL_ERROR".into(),
                why: format!("EHLO refused: {}", ehlo.raw()),
                reached: true,
                silent: false,
            });
        }
        let caps = Capabilities::from_ehlo(&ehlo);
        Ok((s, caps))
    }
    .await;
    (r, seen)
}

/// The code of a failure caused by the client certificate, if it was.
fn client_cert_code(spec: &PathsSpec) -> &'static str {
    if spec.client_identity.is_some() {
        "CLIENT_CERTIFICATE_REFUSED"
    } else {
        "CLIENT_CERTIFICATE_REQUIRED"
    }
}

/// Sends one command and reads its reply.
async fn command(s: &mut Session, line: &str, what: &str) -> Result<Reply, NetError> {
    s.conn.send(line, &format!("sending {what}")).await?;
    read_reply(&mut s.conn, &format!("waiting for the {what} reply")).await
}

/// The diagnosis code the knowledge base gives a refusal, or `fallback`.
fn reading(kb: &Knowledge, reply: &Reply, fallback: &str) -> String {
    crate::knowledge::matcher::match_reply(kb, Some(Protocol::Smtp), &reply.raw(), None)
        .first()
        .map(|m| m.signature.def.diagnosis.clone())
        .unwrap_or_else(|| fallback.to_string())
}

/// A refusal's verdict: 4yz replies are passing (try later), 5yz blocking.
fn refusal(kb: &Knowledge, path: PathKind, step: &str, reply: &Reply) -> PathResult {
    let fallback = if reply.is_transient() {
        "TEMPORARY_SERVER_ERROR"
    } else {
        "PATH_REFUSED"
    };
    let mut code = reading(kb, reply, fallback);
    // At the tenant's MX a throttle is about this network's sending IP, not
    // about an account.
    if code == "RATE_LIMITED" && matches!(path, PathKind::DirectSend | PathKind::ConnectorRelay) {
        code = "SENDING_IP_THROTTLED".to_string();
    }
    let title = kb
        .diagnosis(&code)
        .map(|d| d.title.clone())
        .unwrap_or_default();
    let verdict = if reply.is_transient() {
        Verdict::Unknown
    } else {
        Verdict::Blocked
    };
    PathResult::new(
        path,
        verdict,
        Some(&code),
        format!("{title} ({step}: {})", crate::net::excerpt(&reply.raw())),
    )
}

/// What happened on the MX for one recipient.
enum RcptOutcome {
    Accepted(Reply),
    Refused(String, Reply),
}

/// The tenant's MX: MAIL FROM and RCPT TO for the internal recipient (direct
/// send) and for the external one (connector relay), RSET after each; DATA only
/// when the user asked for a test message.
async fn mx_exchange(
    spec: &PathsSpec,
    s: &mut Session,
    test_message: &mut Option<String>,
) -> Result<Vec<(PathKind, RcptOutcome)>, NetError> {
    let mut out = Vec::new();
    let mut rounds = vec![(PathKind::DirectSend, spec.recipient.clone())];
    if let Some(ext) = &spec.external_recipient {
        rounds.push((PathKind::ConnectorRelay, ext.clone()));
    }
    for (path, rcpt) in rounds {
        let from = command(s, &format!("MAIL FROM:<{}>", spec.address), "MAIL FROM").await?;
        if !from.is_positive() {
            out.push((path, RcptOutcome::Refused("MAIL FROM".into(), from)));
            let _ = command(s, "RSET", "RSET").await?;
            continue;
        }
        let to = command(s, &format!("RCPT TO:<{rcpt}>"), "RCPT TO").await?;
        if !to.is_positive() {
            out.push((path, RcptOutcome::Refused("RCPT TO".into(), to)));
            let _ = command(s, "RSET", "RSET").await?;
            continue;
        }
        if path == PathKind::DirectSend && spec.send_test_message {
            match send_data(spec, s).await? {
                Ok(done) => {
                    *test_message = Some(format!(
                        "one test message to {rcpt} by direct send, subject \"mailbox-doctor test message (direct send)\"; the server answered: {}",
                        crate::net::excerpt(&done.raw())
                    ));
                    out.push((path, RcptOutcome::Accepted(done)));
                }
                Err(refused) => {
                    *test_message = Some(format!(
                        "a test message to {rcpt} by direct send was refused after DATA: {}",
                        crate::net::excerpt(&refused.raw())
                    ));
                    out.push((path, RcptOutcome::Refused("after DATA".into(), refused)));
                }
            }
        } else {
            out.push((path, RcptOutcome::Accepted(to)));
        }
        let _ = command(s, "RSET", "RSET").await?;
    }
    Ok(out)
}

/// DATA, one short plainly labelled message, the final dot: Ok(the 250) or
/// Err(the refusal).
async fn send_data(spec: &PathsSpec, s: &mut Session) -> Result<Result<Reply, Reply>, NetError> {
    let go = command(s, "DATA", "DATA").await?;
    if go.code != 354 {
        return Ok(Err(go));
    }
    let date = chrono::Utc::now().to_rfc2822();
    let lines = [
        format!("From: <{}>", spec.address),
        format!("To: <{}>", spec.recipient),
        "Subject: mailbox-doctor test message (direct send)".to_string(),
        format!("Date: {date}"),
        String::new(),
        "This message was sent by `mailbox-doctor paths --send-test-message`".to_string(),
        "to test direct send to this organisation from the sender's network.".to_string(),
        "It needs no answer.".to_string(),
        ".".to_string(),
    ];
    for l in &lines[..lines.len() - 1] {
        s.conn.send(l, "sending the test message").await?;
    }
    let done = command(s, ".", "end of the message").await?;
    Ok(if done.is_positive() {
        Ok(done)
    } else {
        Err(done)
    })
}

/// Whether the device's TLS is older than TLS 1.2.
fn device_below_12(spec: &PathsSpec) -> bool {
    spec.device_tls.is_some_and(|v| v < 12)
}

const AFTER_DATA: &str = "Accepted at RCPT TO; refusals that come only after DATA (content filtering, transport rules, the message's From) are not tested without --send-test-message";

/// Direct send and connector relay, on the tenant's MX.
async fn probe_mx(
    kb: &Knowledge,
    spec: &PathsSpec,
    resolver: &Resolver,
    mx: &str,
    test_message: &mut Option<String>,
    seen: &mut Option<ClientAuthSeen>,
) -> (Vec<PathResult>, Option<(Failure, Vec<Line>)>) {
    let probe = Probe::new(mx, spec.ports.mx);
    let (opened, got) = open_with(
        spec,
        resolver,
        &probe,
        mx,
        spec.ports.mx,
        TlsMode::Starttls,
        ClientAuth::Watch,
    )
    .await;
    *seen = got;
    let (mut s, _caps) = match opened {
        Ok(v) => v,
        Err(f) => return (Vec::new(), Some((f, probe.transcript.lines()))),
    };
    let outcomes = mx_exchange(spec, &mut s, test_message).await;
    s.conn.farewell("QUIT").await;
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => {
            let f = Failure {
                code: e.code().to_string(),
                why: e.to_string(),
                reached: true,
                silent: false,
            };
            // Both rounds share the connection: a connector's relay asked for
            // (--external-recipient) is as untested as direct send.
            let mut kinds = vec![PathKind::DirectSend];
            if spec.external_recipient.is_some() {
                kinds.push(PathKind::ConnectorRelay);
            }
            let lines = probe.transcript.lines();
            let results = kinds
                .into_iter()
                .map(|k| {
                    let mut r = PathResult::new(k, Verdict::Unknown, Some(&f.code), f.why.clone());
                    r.endpoint = Some(probe.endpoint.clone());
                    r.exchange = lines.clone();
                    r
                })
                .collect();
            return (results, None);
        }
    };
    let lines = probe.transcript.lines();
    let mut results = Vec::new();
    for (path, outcome) in outcomes {
        let mut r = match (path, outcome) {
            (PathKind::DirectSend, RcptOutcome::Accepted(reply)) => {
                let summary = if spec.send_test_message {
                    format!(
                        "the test message was accepted ({})",
                        crate::net::excerpt(&reply.raw())
                    )
                } else {
                    format!("{mx} accepts mail for {} from here. {AFTER_DATA}", spec.recipient)
                };
                PathResult::new(path, Verdict::Works, None, summary)
            }
            (_, RcptOutcome::Accepted(_)) => PathResult::new(
                path,
                Verdict::Works,
                None,
                format!(
                    "{mx} relays to the external recipient from here: an inbound connector recognises this network's IP (or its certificate). {AFTER_DATA}"
                ),
            ),
            (_, RcptOutcome::Refused(step, reply)) => {
                let mut r = refusal(kb, path, &step, &reply);
                if path == PathKind::ConnectorRelay
                    && r.code.as_deref() == Some("CONNECTOR_NOT_MATCHED")
                {
                    r.summary.push_str(". A connector matches either the sending public IP (only a service outside this network can tell it: the ISP, or an IP echo web site) or the subject name of the certificate the device presents");
                }
                r
            }
        };
        r.endpoint = Some(probe.endpoint.clone());
        r.exchange = lines.clone();
        match path {
            PathKind::DirectSend => {
                r.needs = vec![
                    "outbound port 25 from this network".into(),
                    "internal recipients only".into(),
                    "the organisation not rejecting direct send (RejectDirectSend)".into(),
                ];
            }
            _ => {
                r.needs = vec![
                    "outbound port 25 from this network".into(),
                    "an inbound connector matching a static public IP or a certificate subject"
                        .into(),
                ];
            }
        }
        if device_below_12(spec) {
            r.needs.push(
                "TLS 1.2 on port 25, or sending without TLS where Exchange Online still accepts it (not tested: this tool speaks TLS 1.2 and newer only)".into(),
            );
        }
        results.push(r);
    }
    (results, None)
}

/// High Volume Email: reachability and TLS, then one AUTH LOGIN with the HVE
/// account when one is given, then MAIL FROM and RCPT TO (no DATA).
async fn probe_hve(kb: &Knowledge, spec: &PathsSpec, resolver: &Resolver) -> (PathResult, bool) {
    let port = spec.ports.hve;
    let mut host = HVE_HOST;
    let mut probe = Probe::new(host, port);
    let mut opened = open(spec, resolver, &probe, host, port, TlsMode::Starttls).await;
    if matches!(&opened, Err(f) if !f.reached) {
        // The older name, while it lasts.
        host = HVE_OLD_HOST;
        probe = Probe::new(host, port);
        opened = open(spec, resolver, &probe, host, port, TlsMode::Starttls).await;
    }
    let mut limits = vec![
        "password (basic) authentication for HVE until September 2028".to_string(),
        "billed per recipient since 1 June 2026; an account without a billing policy is \"Not active\"".to_string(),
        "at most 50 recipients per message".to_string(),
    ];
    if host == HVE_OLD_HOST {
        limits.push(format!(
            "{HVE_OLD_HOST} will be retired: configure {HVE_HOST}"
        ));
    }
    let needs = vec![
        "an HVE account (Exchange admin center > Mail flow > High Volume Email)".to_string(),
        "internal recipients only".to_string(),
        "outbound port 587".to_string(),
        "TLS 1.2".to_string(),
    ];
    let finish = |probe: Probe, mut r: PathResult| {
        r.needs = needs.clone();
        r.limits = limits.clone();
        probe.into_result(r)
    };
    let (mut s, caps) = match opened {
        Ok(v) => v,
        Err(f) => {
            let reached = f.reached;
            let r = f.result(PathKind::Hve, host, port);
            return (finish(probe, r), reached);
        }
    };
    if device_below_12(spec) {
        s.conn.farewell("QUIT").await;
        let r = PathResult::new(
            PathKind::Hve,
            Verdict::Blocked,
            Some("TLS_PROTOCOL_TOO_OLD"),
            format!("{host} answers from here, but with TLS 1.2 or newer; a device with older TLS cannot use it"),
        );
        return (finish(probe, r), true);
    }
    let Some((account, password)) = &spec.hve else {
        s.conn.farewell("QUIT").await;
        let offered = if caps.auth_mechanisms.is_empty() {
            "no AUTH offered".to_string()
        } else {
            format!("AUTH {}", caps.auth_mechanisms.join(" "))
        };
        let r = PathResult::new(
            PathKind::Hve,
            Verdict::Unknown,
            Some("PATH_UNTESTED"),
            format!("{host} answers from here over TLS ({offered}); without an HVE account (--hve-account, --hve-password-file) the login is not tested"),
        );
        return (finish(probe, r), true);
    };
    if !caps.offers(Mechanism::Login) && !caps.offers(Mechanism::Plain) {
        s.conn.farewell("QUIT").await;
        let r = PathResult::new(
            PathKind::Hve,
            Verdict::Blocked,
            Some("SMTP_AUTH_NOT_OFFERED"),
            format!("{host} offers no password login after TLS; the password was not sent"),
        );
        return (finish(probe, r), true);
    }
    // The credential gate for HVE: the host is Microsoft's published HVE name
    // (a constant, never a name DNS alone gave), so the one rule left is TLS.
    if !s.conn.is_tls() && !spec.net.allow_plaintext {
        s.conn.farewell("QUIT").await;
        let r = PathResult::new(
            PathKind::Hve,
            Verdict::Unknown,
            Some("CLEARTEXT_LOGIN_WITHHELD"),
            format!("{host} is not encrypted: the HVE password was not sent (--allow-plaintext allows it)"),
        );
        return (finish(probe, r), true);
    }
    s.conn.permit_credentials(spec.net.allow_plaintext);
    // One AUTH LOGIN, never retried.
    let auth = crate::checks::smtp::auth_login(&mut s, account, password.expose()).await;
    let r = match auth {
        Err(e) => PathResult::new(
            PathKind::Hve,
            Verdict::Unknown,
            Some(e.code()),
            format!("{host}: {e}"),
        ),
        Ok(reply) if reply.code == 235 => {
            let r = hve_recipients(kb, spec, &mut s, account, host).await;
            r.unwrap_or_else(|e| {
                PathResult::new(
                    PathKind::Hve,
                    Verdict::Unknown,
                    Some(e.code()),
                    e.to_string(),
                )
            })
        }
        Ok(reply) => {
            let code = reading(kb, &reply, "BAD_CREDENTIALS");
            // The HVE endpoint's own meaning of 5.7.139: the authentication policy
            // of the account or Security Defaults (Microsoft's HVE troubleshooting).
            let code = if reply.enhanced.as_deref() == Some("5.7.139") && code != "BAD_CREDENTIALS"
            {
                "HVE_AUTH_POLICY".to_string()
            } else {
                code
            };
            let mut summary = format!(
                "{host} refused the HVE login: {}",
                crate::net::excerpt(&reply.raw())
            );
            if code == "HVE_AUTH_POLICY" {
                summary.push_str(". The account's authentication policy must allow AllowBasicAuthSmtp, and Security Defaults must not apply to it");
            } else {
                summary.push_str(". A wrong password, or an account shown as \"Not active\" (no billing policy) are the likely causes");
            }
            PathResult::new(PathKind::Hve, Verdict::Blocked, Some(&code), summary)
        }
    };
    s.conn.farewell("QUIT").await;
    (finish(probe, r), true)
}

/// After an accepted HVE login: MAIL FROM the account, RCPT TO the internal
/// recipient, and the external one when given (5.5.105), then RSET.
async fn hve_recipients(
    kb: &Knowledge,
    spec: &PathsSpec,
    s: &mut Session,
    account: &str,
    host: &str,
) -> Result<PathResult, NetError> {
    let from = command(s, &format!("MAIL FROM:<{account}>"), "MAIL FROM").await?;
    if !from.is_positive() {
        let _ = command(s, "RSET", "RSET").await?;
        return Ok(refusal(kb, PathKind::Hve, "MAIL FROM", &from));
    }
    let to = command(s, &format!("RCPT TO:<{}>", spec.recipient), "RCPT TO").await?;
    if !to.is_positive() {
        let _ = command(s, "RSET", "RSET").await?;
        return Ok(refusal(kb, PathKind::Hve, "RCPT TO", &to));
    }
    if let Some(ext) = &spec.external_recipient {
        let to = command(s, &format!("RCPT TO:<{ext}>"), "RCPT TO").await?;
        let _ = command(s, "RSET", "RSET").await?;
        if !to.is_positive() {
            let mut r = refusal(kb, PathKind::Hve, "RCPT TO the external recipient", &to);
            if r.code.as_deref() == Some("HVE_EXTERNAL_NOT_SUPPORTED") {
                r.summary = format!(
                    "the HVE login works and {} is accepted, but HVE sends to internal recipients only: {}",
                    spec.recipient,
                    crate::net::excerpt(&to.raw())
                );
            }
            return Ok(r);
        }
        return Ok(PathResult::new(
            PathKind::Hve,
            Verdict::Works,
            None,
            format!("the HVE login works at {host} and both recipients are accepted at RCPT TO; HVE refuses external recipients (5.5.105), which may only show after DATA"),
        ));
    }
    let _ = command(s, "RSET", "RSET").await?;
    Ok(PathResult::new(
        PathKind::Hve,
        Verdict::Works,
        None,
        format!(
            "the HVE login works at {host} and {} is accepted at RCPT TO",
            spec.recipient
        ),
    ))
}

/// SMTP AUTH's own endpoint: reachability, TLS and the mechanisms offered. The
/// password login itself is `check`'s job.
async fn probe_smtp_auth(
    kb: &Knowledge,
    spec: &PathsSpec,
    resolver: &Resolver,
    provider: &str,
) -> (PathResult, bool) {
    let Some(ep) = kb.provider(provider).and_then(|p| p.smtp.clone()) else {
        return (
            PathResult::new(
                PathKind::SmtpAuth,
                Verdict::NotApplicable,
                Some("PATH_NOT_APPLICABLE"),
                "the provider publishes no SMTP submission server".into(),
            ),
            false,
        );
    };
    // The submission port moves with `Ports` (tests); an implicit-TLS port stays.
    let port = if ep.port == 587 {
        spec.ports.submission
    } else {
        ep.port
    };
    let probe = Probe::new(&ep.host, port);
    let microsoft = provider.starts_with("microsoft365");
    let mut limits = Vec::new();
    if microsoft {
        if let Some(off) = kb.fact("exo-smtp-basic-auth-default-off") {
            let days = (off.date - spec.today).num_days();
            limits.push(if days > 0 {
                format!("password logins go off by default for existing tenants at the end of December 2026 ({days} days left); an administrator can turn them back on until the final removal, whose date Microsoft has not announced yet")
            } else {
                format!("password logins are off by default for existing tenants since {}; an administrator can turn them back on until the final removal, whose date Microsoft has not announced yet", off.date)
            });
        }
    }
    let needs = vec![
        "the mailbox's password (or an app password)".to_string(),
        "outbound port 587".to_string(),
        "TLS 1.2".to_string(),
    ];
    let finish = |probe: Probe, mut r: PathResult| {
        r.needs = needs.clone();
        r.limits = limits.clone();
        probe.into_result(r)
    };
    let (s, caps) = match open(spec, resolver, &probe, &ep.host, port, ep.tls).await {
        Ok(v) => v,
        Err(f) => {
            let reached = f.reached;
            let r = f.result(PathKind::SmtpAuth, &ep.host, port);
            return (finish(probe, r), reached);
        }
    };
    s.conn.farewell("QUIT").await;
    let r = if device_below_12(spec) {
        let mut r = PathResult::new(
            PathKind::SmtpAuth,
            Verdict::Blocked,
            Some("TLS_PROTOCOL_TOO_OLD"),
            format!(
                "{} requires TLS 1.2 or newer; a device with older TLS is refused",
                ep.host
            ),
        );
        if microsoft {
            r.summary.push_str(" (an administrator can allow it on smtp-legacy.office365.com with AllowLegacyTLSClients)");
        }
        r
    } else if caps.auth_mechanisms.is_empty() {
        PathResult::new(
            PathKind::SmtpAuth,
            Verdict::Blocked,
            Some("SMTP_AUTH_NOT_OFFERED"),
            format!("{} offers no AUTH after TLS", ep.host),
        )
    } else {
        PathResult::new(
            PathKind::SmtpAuth,
            Verdict::Unknown,
            Some("PATH_UNTESTED"),
            format!(
                "{} answers from here over TLS (AUTH {}); the password login is tested by `mailbox-doctor check {}`",
                ep.host,
                caps.auth_mechanisms.join(" "),
                spec.address
            ),
        )
    };
    (finish(probe, r), true)
}

/// A relay that decides by the client's IP (Google's relay service, a
/// self-hosted Postfix with mynetworks): MAIL FROM the address and RCPT TO the
/// external recipient (else the internal one), then RSET. No login, no DATA.
async fn probe_relay(
    kb: &Knowledge,
    spec: &PathsSpec,
    resolver: &Resolver,
    path: PathKind,
    host: &str,
    port: u16,
) -> PathResult {
    let probe = Probe::new(host, port);
    let (opened, seen) = open_with(
        spec,
        resolver,
        &probe,
        host,
        port,
        TlsMode::Starttls,
        ClientAuth::Watch,
    )
    .await;
    let (mut s, _caps) = match opened {
        Ok(v) => v,
        Err(f) => {
            let mut r = f.result(path, host, port);
            with_client_certificate(spec, &mut r, seen.as_ref());
            return probe.into_result(r);
        }
    };
    let rcpt = spec
        .external_recipient
        .clone()
        .unwrap_or_else(|| spec.recipient.clone());
    let by = if spec.client_identity.is_some() && seen.as_ref().is_some_and(|c| c.asked()) {
        "for this network or the client certificate presented"
    } else {
        "for this network"
    };
    let exchange = async {
        let from = command(&mut s, &format!("MAIL FROM:<{}>", spec.address), "MAIL FROM").await?;
        if !from.is_positive() {
            let _ = command(&mut s, "RSET", "RSET").await?;
            return Ok::<_, NetError>(refusal(kb, path, "MAIL FROM", &from));
        }
        let to = command(&mut s, &format!("RCPT TO:<{rcpt}>"), "RCPT TO").await?;
        let _ = command(&mut s, "RSET", "RSET").await?;
        if !to.is_positive() {
            return Ok(refusal(kb, path, "RCPT TO", &to));
        }
        Ok(PathResult::new(
            path,
            Verdict::Works,
            None,
            format!("{host} relays {by} without a login (accepted at RCPT TO for {rcpt}); refusals after DATA are not tested"),
        ))
    }
    .await;
    s.conn.farewell("QUIT").await;
    let mut r = exchange.unwrap_or_else(|e| {
        PathResult::new(
            path,
            Verdict::Unknown,
            Some(e.code()),
            format!("{host}: {e}"),
        )
    });
    r.needs = match path {
        PathKind::GoogleRelay => vec![
            "this network's public IP in the Google Workspace SMTP relay service's allowed list, or SMTP AUTH with a Workspace account".into(),
            "outbound port 587 (or 25, 465)".into(),
        ],
        _ => vec!["this network's IP allowed by the relay (or a login)".into()],
    };
    with_client_certificate(spec, &mut r, seen.as_ref());
    probe.into_result(r)
}

fn not_applicable(path: PathKind, why: &str) -> PathResult {
    PathResult::new(
        path,
        Verdict::NotApplicable,
        Some("PATH_NOT_APPLICABLE"),
        why.to_string(),
    )
}

/// The one next step: how to use the best working path, else what decides the
/// first unknown one, else the fix of the first blocked one.
fn next_step(kb: &Knowledge, spec: &PathsSpec, paths: &[PathResult]) -> String {
    const PREFERENCE: [PathKind; 6] = [
        PathKind::Hve,
        PathKind::ConnectorRelay,
        PathKind::DirectSend,
        PathKind::GoogleRelay,
        PathKind::Submission,
        PathKind::SmtpAuth,
    ];
    let find = |v: Verdict| {
        PREFERENCE
            .iter()
            .find_map(|k| paths.iter().find(|p| p.path == *k && p.verdict == v))
    };
    if let Some(p) = find(Verdict::Works) {
        let at = p.endpoint.clone().unwrap_or_default();
        return match p.path {
            PathKind::Hve => format!("configure the device for High Volume Email: server {at}, STARTTLS, the HVE account and its password; internal recipients only"),
            PathKind::ConnectorRelay => format!("configure the device to send to {at} without a login; keep this network's public IP (or the certificate) the connector matches"),
            PathKind::DirectSend => format!("configure the device to send to {at} without a login, from an address in {}; internal recipients only", spec.domain),
            _ => format!("configure the device to send through {at}"),
        };
    }
    if let Some(p) = find(Verdict::Unknown) {
        return match (p.path, p.code.as_deref()) {
            (PathKind::Hve, Some("PATH_UNTESTED")) => format!(
                "test High Volume Email with an HVE account: mailbox-doctor paths {} --hve-account ACCOUNT --hve-password-file FILE",
                spec.address
            ),
            (PathKind::SmtpAuth, Some("PATH_UNTESTED")) => format!(
                "test the password login: mailbox-doctor check {}",
                spec.address
            ),
            _ => format!("{}: {}", p.path.as_str(), p.summary),
        };
    }
    let blocked = paths
        .iter()
        .filter(|p| p.verdict == Verdict::Blocked)
        .find_map(|p| kb.diagnosis(p.code.as_deref()?));
    match blocked {
        Some(d) => d.fix.clone(),
        None => format!(
            "no path for a device without OAuth was found for {}: use OAuth (mailbox-doctor check {} --sign-in ...) or a relay that logs in for the device",
            spec.domain, spec.address
        ),
    }
}

/// Runs every probe that applies and builds the report.
pub async fn run(kb: &'static Knowledge, spec: PathsSpec) -> PathsReport {
    let started = Instant::now();
    let resolver = match Resolver::new(spec.net.dns_server, spec.net.timeout) {
        Ok(r) => r,
        Err(why) => {
            let paths = PathKind::ALL
                .iter()
                .map(|k| PathResult::new(*k, Verdict::Unknown, Some("DNS_SERVFAIL"), why.clone()))
                .collect();
            return finish(
                kb,
                &spec,
                None,
                format!("no resolver: {why}"),
                paths,
                None,
                started,
            );
        }
    };
    let mx = resolver.mx(&spec.domain).await.unwrap_or_default();
    let provider = crate::knowledge::provider_for_mx(kb, &mx);
    let best_mx = {
        let mut sorted = mx.clone();
        sorted.sort();
        sorted
            .first()
            .map(|(_, h)| h.trim_end_matches('.').to_string())
    };
    let evidence = match (&provider, &best_mx) {
        (Some(_), Some(h)) => format!("MX {h}"),
        (None, Some(h)) => format!("MX {h} names no known provider"),
        _ => "no MX record found".to_string(),
    };
    let mut test_message = None;
    let mut paths = Vec::new();
    match provider.as_deref() {
        Some(p) if p.starts_with("microsoft365") => {
            let mx = best_mx.clone().unwrap_or_default();
            let (hve, auth, mxr, oauth_r) = tokio::join!(
                probe_hve(kb, &spec, &resolver),
                probe_smtp_auth(kb, &spec, &resolver, p),
                async {
                    let mut tm = None;
                    let mut seen = None;
                    let r = probe_mx(kb, &spec, &resolver, &mx, &mut tm, &mut seen).await;
                    (r, tm, seen)
                },
                oauth(kb, &spec, &resolver, Some(p))
            );
            let ((hve, hve_reached), (auth, auth_reached), ((mut mx_paths, mx_fail), tm, seen)) =
                (hve, auth, mxr);
            test_message = tm;
            if let Some((f, lines)) = mx_fail {
                let port_25_blocked = f.silent && (hve_reached || auth_reached);
                let (verdict, code, summary) = if port_25_blocked {
                    (
                        Verdict::Blocked,
                        "PORT_25_BLOCKED".to_string(),
                        format!("{mx}:{} does not answer from here ({}) while port 587 of the same provider does: this network blocks outbound port 25", spec.ports.mx, f.why),
                    )
                } else if f.silent {
                    (
                        Verdict::Unknown,
                        f.code.clone(),
                        format!("{mx}:{}: {}; port 587 did not answer either, so this network may be offline or block both", spec.ports.mx, f.why),
                    )
                } else {
                    (
                        Verdict::Blocked,
                        f.code.clone(),
                        format!("{mx}:{}: {}", spec.ports.mx, f.why),
                    )
                };
                for k in [PathKind::DirectSend, PathKind::ConnectorRelay] {
                    let mut r = PathResult::new(k, verdict, Some(&code), summary.clone());
                    r.endpoint = Some(format!("{mx}:{}", spec.ports.mx));
                    r.exchange = lines.clone();
                    r.needs = vec!["outbound port 25 from this network".into()];
                    if code.starts_with("CLIENT_CERTIFICATE_") {
                        r.needs.push(
                            "a TLS client certificate the server trusts (--client-certificate)"
                                .into(),
                        );
                    }
                    mx_paths.push(r);
                }
            }
            if !mx_paths.iter().any(|r| r.path == PathKind::ConnectorRelay) {
                let mut r = PathResult::new(
                    PathKind::ConnectorRelay,
                    Verdict::Unknown,
                    Some("PATH_UNTESTED"),
                    "needs --external-recipient: only a recipient outside the organisation tells a connector's relay from direct send".into(),
                );
                r.needs = vec![
                    "an inbound connector matching a static public IP or a certificate subject"
                        .into(),
                ];
                mx_paths.push(r);
            }
            for r in mx_paths
                .iter_mut()
                .filter(|r| r.path == PathKind::ConnectorRelay)
            {
                with_client_certificate(&spec, r, seen.as_ref());
            }
            paths.push(auth);
            paths.push(oauth_r);
            paths.push(hve);
            paths.extend(mx_paths);
            paths.push(not_applicable(
                PathKind::GoogleRelay,
                "the domain's mail is not at Google",
            ));
            paths.push(submission(kb, &spec, &resolver, false).await);
        }
        Some("gmail") => {
            let (auth, _) = probe_smtp_auth(kb, &spec, &resolver, "gmail").await;
            paths.push(auth);
            paths.push(oauth(kb, &spec, &resolver, Some("gmail")).await);
            for k in [
                PathKind::Hve,
                PathKind::DirectSend,
                PathKind::ConnectorRelay,
            ] {
                paths.push(not_applicable(
                    k,
                    "the domain's mail is not at Microsoft 365",
                ));
            }
            paths.push(
                probe_relay(
                    kb,
                    &spec,
                    &resolver,
                    PathKind::GoogleRelay,
                    GOOGLE_RELAY_HOST,
                    spec.ports.submission,
                )
                .await,
            );
            paths.push(submission(kb, &spec, &resolver, false).await);
        }
        other => {
            match other {
                Some(p) => paths.push(probe_smtp_auth(kb, &spec, &resolver, p).await.0),
                None => paths.push(not_applicable(
                    PathKind::SmtpAuth,
                    "no known provider: the domain's own submission service is tested below",
                )),
            }
            paths.push(oauth(kb, &spec, &resolver, other).await);
            for k in [
                PathKind::Hve,
                PathKind::DirectSend,
                PathKind::ConnectorRelay,
            ] {
                paths.push(not_applicable(
                    k,
                    "the domain's mail is not at Microsoft 365",
                ));
            }
            paths.push(not_applicable(
                PathKind::GoogleRelay,
                "the domain's mail is not at Google",
            ));
            paths.push(submission(kb, &spec, &resolver, true).await);
        }
    }
    finish(kb, &spec, provider, evidence, paths, test_message, started)
}

/// Days before its end from which a client certificate is called expiring.
const CERT_EXPIRING_DAYS: i64 = 30;

/// Adds what became of `--client-certificate` on this probe to its path: the
/// certificate's subject, issuer and end, whether the server asked for it (and
/// so got it), and an expired or expiring one said in words. Never the key.
fn with_client_certificate(spec: &PathsSpec, r: &mut PathResult, seen: Option<&ClientAuthSeen>) {
    let Some(id) = &spec.client_identity else {
        return;
    };
    let info = &id.info;
    let asked = seen.map(ClientAuthSeen::asked);
    let presented = asked == Some(true);
    let mut said = match asked {
        Some(true) => format!(
            "Client certificate presented: {} (issued by {}, valid until {})",
            info.subject, info.issuer, info.not_after
        ),
        Some(false) => format!(
            "The server did not ask for a client certificate, so {} was not presented",
            info.subject
        ),
        None => format!(
            "The client certificate {} was not presented: no TLS handshake took place",
            info.subject
        ),
    };
    if info.days_left < 0 {
        said.push_str(&format!(
            ". It EXPIRED on {}: a connector does not accept an expired certificate; renew it, keeping the subject name the connector matches",
            info.not_after
        ));
    } else if info.days_left <= CERT_EXPIRING_DAYS {
        said.push_str(&format!(
            ". It expires in {} days ({}): renew it, keeping the subject name the connector matches",
            info.days_left, info.not_after
        ));
    }
    if !r.summary.is_empty() {
        r.summary.push_str(". ");
    }
    r.summary.push_str(&said);
    r.client_certificate = Some(ClientCertificate {
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        not_after: info.not_after.clone(),
        days_left: info.days_left,
        presented,
        expired: info.days_left < 0,
        expiring: (0..=CERT_EXPIRING_DAYS).contains(&info.days_left),
    });
}

/// The `oauth` path: with `--sign-in`, the sign-in (`checks::signin`, as
/// `check` does it) and then the `smtp` check's one AUTH XOAUTH2 with its token
/// on the provider's published submission server; else untested.
async fn oauth(
    kb: &'static Knowledge,
    spec: &PathsSpec,
    resolver: &Resolver,
    provider: Option<&str>,
) -> PathResult {
    match (provider, &spec.sign_in) {
        (Some(p), Some(plan)) if p.starts_with("microsoft365") || p == "gmail" => {
            probe_oauth(kb, spec, resolver, p, plan).await
        }
        (Some(_), Some(_)) => PathResult::new(
            PathKind::Oauth,
            Verdict::Unknown,
            Some("PATH_UNTESTED"),
            "--sign-in signs in to Microsoft 365 only: this provider's OAuth is not tested here"
                .into(),
        ),
        (p, _) => oauth_path(p.is_some()),
    }
}

/// Sign-in blockers that mean the path is shut for this account or app (the
/// others: the person did not finish, or the platform could not be asked).
const OAUTH_BLOCKERS: [&str; 7] = [
    "OAUTH_BLOCKED_BY_CONDITIONAL_ACCESS",
    "OAUTH_ADMIN_CONSENT_REQUIRED",
    "OAUTH_PUBLIC_CLIENT_DISABLED",
    "OAUTH_APP_NOT_IN_TENANT",
    "OAUTH_FLOW_NOT_ALLOWED",
    "OAUTH_SIGN_IN_REFUSED",
    "OAUTH_GRANT_REVOKED",
];

async fn probe_oauth(
    kb: &'static Knowledge,
    spec: &PathsSpec,
    resolver: &Resolver,
    provider: &str,
    plan: &crate::checks::signin::Plan,
) -> PathResult {
    use crate::checks::ctx::{Common, Ctx};
    use crate::checks::Check as _;
    use crate::vocab::{CheckId, Status};
    let needs = vec![
        "a device or application that speaks OAuth 2.0 (XOAUTH2) and renews its token".to_string(),
        "an app registration with the SMTP.Send permission, consented in the tenant".to_string(),
        "outbound port 587".to_string(),
        "TLS 1.2".to_string(),
    ];
    let Some(ep) = kb.provider(provider).and_then(|p| p.smtp.clone()) else {
        return not_applicable(
            PathKind::Oauth,
            "the provider publishes no SMTP submission server",
        );
    };
    let port = if ep.port == 587 {
        spec.ports.submission
    } else {
        ep.port
    };
    let ep = Endpoint {
        protocol: Protocol::Smtp,
        host: ep.host,
        port,
        tls: ep.tls,
        source: "profile",
    };
    let probe = Probe::new(&ep.host, port);
    let target = crate::target::Target {
        user: spec.address.clone(),
        domain: Some(spec.domain.clone()),
        provider: provider.to_string(),
        provider_name: kb
            .provider(provider)
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        provider_source: "mx",
        endpoints: vec![ep.clone()],
        discovery: None,
    };
    let mut ctx = Ctx {
        target,
        secret: None,
        token: None,
        kb,
        net: spec.net.clone(),
        today: spec.today,
        transcript: probe.transcript.clone(),
        shared: Default::default(),
        common: Arc::new(Common::new(Scrubber::new(&[]))),
        selected: [CheckId::Smtp].into_iter().collect(),
        scrub: spec.scrub.clone(),
        signin_failed: None,
    };
    let finish = |probe: Probe, mut r: PathResult| {
        r.needs = needs.clone();
        probe.into_result(r)
    };
    let signed = crate::checks::signin::sign_in(&ctx, plan).await;
    let steps = signed.result.details["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    Some(format!(
                        "{}: {}",
                        s["step"].as_str()?,
                        s["outcome"].as_str()?
                    ))
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for st in &steps {
        probe
            .transcript
            .note("oauth", &spec.scrub.scrub(&format!("sign-in {st}")));
    }
    let Some(token) = signed.token else {
        let f = signed.result.findings.first();
        let code = f.map_or("OAUTH_SIGN_IN_FAILED", |f| f.code.as_str());
        let verdict = if OAUTH_BLOCKERS.contains(&code) {
            Verdict::Blocked
        } else {
            Verdict::Unknown
        };
        let why = f.map_or(signed.result.summary.clone(), |f| f.message.clone());
        let r = PathResult::new(
            PathKind::Oauth,
            verdict,
            Some(code),
            format!(
                "the sign-in ({}) did not give a token: {why}; no login was tried",
                plan.flow.as_str()
            ),
        );
        return finish(probe, r);
    };
    ctx.token = Some(token);
    let session = match resolver.addresses(&ep.host).await {
        Ok(addrs) => session::open(&ep, &addrs, &probe.options(spec))
            .await
            .map_err(|e| e.code().to_string()),
        Err(e) => Err(e.code().to_string()),
    };
    let opened = match session {
        Ok(s) => s,
        Err(code) => {
            let r = PathResult::new(
                PathKind::Oauth,
                Verdict::Unknown,
                Some(&code),
                format!("signed in, but {}:{port} could not be reached over TLS; the token was not sent", ep.host),
            );
            return finish(probe, r);
        }
    };
    ctx.shared.give_session(Protocol::Smtp, Ok(opened));
    // The smtp check: EHLO, the credential gate, one AUTH XOAUTH2, QUIT.
    let login = crate::checks::smtp::Smtp.run(&ctx).await;
    let signed_as = signed.result.summary.clone();
    let r = match login.status {
        Status::Pass => PathResult::new(
            PathKind::Oauth,
            Verdict::Works,
            None,
            format!("{signed_as}; {}:{port}: {}", ep.host, login.summary),
        ),
        _ => {
            let f = login.findings.first();
            let code = f.map_or("PATH_REFUSED", |f| f.code.as_str());
            let verdict = if login.status == Status::Fail {
                Verdict::Blocked
            } else {
                Verdict::Unknown
            };
            let why = f.map_or(login.summary.clone(), |f| f.message.clone());
            PathResult::new(
                PathKind::Oauth,
                verdict,
                Some(code),
                format!("{signed_as}; {}:{port}: {why}", ep.host),
            )
        }
    };
    finish(probe, r)
}

/// OAuth is not tested here without `--sign-in`.
fn oauth_path(applies: bool) -> PathResult {
    if !applies {
        return not_applicable(PathKind::Oauth, "no known provider with OAuth for mail");
    }
    let mut r = PathResult::new(
        PathKind::Oauth,
        Verdict::Unknown,
        Some("PATH_UNTESTED"),
        "not tested: add --sign-in device (or browser) to sign in and test AUTH XOAUTH2 once; only for devices and applications that speak OAuth 2.0 (XOAUTH2)".to_string(),
    );
    r.needs = vec!["a device or application that speaks OAuth 2.0 (XOAUTH2)".into()];
    r
}

/// A relay the user names, or the domain's published submission service.
async fn submission(
    kb: &Knowledge,
    spec: &PathsSpec,
    resolver: &Resolver,
    self_hosted: bool,
) -> PathResult {
    if let Some((host, port)) = &spec.relay {
        return probe_relay(kb, spec, resolver, PathKind::Submission, host, *port).await;
    }
    if !self_hosted {
        return not_applicable(
            PathKind::Submission,
            "the provider's own paths apply (name a relay of your own with --relay)",
        );
    }
    let srv = resolver
        .srv(&format!("_submission._tcp.{}", spec.domain))
        .await
        .unwrap_or_default();
    match srv.iter().find(|r| !r.is_not_offered()) {
        Some(r) => {
            let host = r.target.trim_end_matches('.').to_string();
            probe_relay(kb, spec, resolver, PathKind::Submission, &host, r.port).await
        }
        None => not_applicable(
            PathKind::Submission,
            "the domain publishes no submission service (_submission._tcp SRV) and no relay was named (--relay): it has no path for a device without OAuth that this tool can see",
        ),
    }
}

fn finish(
    kb: &Knowledge,
    spec: &PathsSpec,
    provider: Option<String>,
    evidence: String,
    paths: Vec<PathResult>,
    test_message: Option<String>,
    started: Instant,
) -> PathsReport {
    let suited = paths
        .iter()
        .filter(|p| p.path.suits_a_device_without_oauth());
    let mut status = OverallStatus::Critical;
    for p in suited {
        match p.verdict {
            Verdict::Works => status = OverallStatus::Ok,
            Verdict::Unknown if status == OverallStatus::Critical => {
                status = OverallStatus::Warning
            }
            _ => {}
        }
    }
    let next_step = next_step(kb, spec, &paths);
    let provider_name = provider
        .as_deref()
        .and_then(|p| kb.provider(p))
        .map(|p| p.name.clone());
    PathsReport {
        schema: SCHEMA,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        address: spec.address.clone(),
        domain: spec.domain.clone(),
        provider: provider_name,
        evidence,
        device_tls: spec
            .device_tls
            .map(|v| format!("TLS {}.{}", v / 10, v % 10)),
        status,
        paths,
        next_step,
        test_message,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}
