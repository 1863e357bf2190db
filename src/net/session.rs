//! Opening a mail session up to an encrypted channel: connect, greeting, and for
//! STARTTLS the protocol's pre-TLS dialogue (SMTP EHLO + STARTTLS, IMAP CAPABILITY +
//! STARTTLS, POP3 CAPA + STLS), then the verified handshake. The session is then
//! handed to the protocol check, so each protocol uses one connection.

use crate::net::conn::{Conn, NetError};
use crate::net::dial::dial;
use crate::net::tls::{CertInfo, ClientAuthSeen, ClientIdentity, TlsFailure, TlsInfo};
use crate::net::transcript::Transcript;
use crate::net::{imap, pop, smtp};
use crate::vocab::{Endpoint, Protocol, TlsMode};
use std::net::IpAddr;
use std::time::Duration;

/// The hostname this tool announces in EHLO.
pub const EHLO_NAME: &str = "mailbox-doctor.invalid";

pub struct Session {
    pub conn: Conn,
    pub endpoint: Endpoint,
    /// The greeting line(s) as sent.
    pub greeting: String,
    /// Capabilities seen before TLS (SMTP EHLO, IMAP CAPABILITY, POP3 CAPA).
    pub pre_tls_caps: Vec<String>,
    /// Capabilities that are still valid on this connection (implicit TLS greeting).
    pub caps: Vec<String>,
    pub tls: Option<TlsInfo>,
    /// IMAP tag counter.
    pub next_tag: u32,
}

impl Session {
    pub fn tag(&mut self) -> String {
        self.next_tag += 1;
        format!("A{}", self.next_tag)
    }
}

/// Why a session could not be opened.
#[derive(Debug, Clone)]
pub enum OpenError {
    Connect {
        code: &'static str,
        why: String,
    },
    Net(NetError),
    Tls {
        failure: TlsFailure,
        why: String,
        chain: Vec<CertInfo>,
        /// The server's plaintext greeting, when it came before TLS (STARTTLS):
        /// who the server is, though the handshake failed.
        greeting: Option<String>,
    },
    /// STARTTLS is not offered (credentials will not be sent).
    StartTlsMissing {
        caps: Vec<String>,
    },
    /// The server answered the greeting or STARTTLS negatively.
    Rejected {
        reply: String,
    },
    /// A plaintext greeting was expected but the port speaks TLS at once.
    ImplicitTlsPort,
}

impl OpenError {
    pub fn code(&self) -> &'static str {
        match self {
            OpenError::Connect { code, .. } => code,
            OpenError::Net(e) => e.code(),
            OpenError::Tls { failure, .. } => failure.code(),
            OpenError::StartTlsMissing { .. } => "STARTTLS_MISSING",
            OpenError::Rejected { .. } => "SERVER_PROTOCOL_ERROR",
            OpenError::ImplicitTlsPort => "WRONG_TLS_MODE",
        }
    }
}

pub struct OpenOptions<'a> {
    pub timeout: Duration,
    pub extra_roots: &'a [Vec<u8>],
    pub allow_plaintext: bool,
    pub transcript: Transcript,
    /// The run's scrubber: every server line passes it before it is kept.
    pub scrub: std::sync::Arc<crate::net::scrub::Scrubber>,
}

fn proto_name(p: Protocol) -> &'static str {
    p.as_str()
}

/// Connects and gets to TLS (or to plaintext when allowed and STARTTLS is absent).
pub async fn open(
    ep: &Endpoint,
    addrs: &[IpAddr],
    o: &OpenOptions<'_>,
) -> Result<Session, OpenError> {
    open_inner(ep, addrs, o, None, &mut None).await
}

/// `open`, presenting `identity` as the TLS client certificate when the server
/// asks for one; also whether it asked (None: no identity, or no handshake).
pub async fn open_as(
    ep: &Endpoint,
    addrs: &[IpAddr],
    o: &OpenOptions<'_>,
    identity: Option<&ClientIdentity>,
) -> (Result<Session, OpenError>, Option<ClientAuthSeen>) {
    let mut seen = Some(None);
    let r = open_inner(ep, addrs, o, identity, &mut seen).await;
    (r, seen.flatten())
}

async fn open_inner(
    ep: &Endpoint,
    addrs: &[IpAddr],
    o: &OpenOptions<'_>,
    identity: Option<&ClientIdentity>,
    seen: &mut Option<Option<ClientAuthSeen>>,
) -> Result<Session, OpenError> {
    let tcp = dial(addrs, ep.port, o.timeout)
        .await
        .map_err(|e| OpenError::Connect {
            code: e.code(),
            why: e.to_string(),
        })?;
    let mut conn = Conn::new(
        tcp,
        proto_name(ep.protocol),
        o.timeout,
        o.transcript.clone(),
        o.scrub.clone(),
    );
    conn.note(&format!("connected to {}", conn.peer));
    let mut tls = None;
    if ep.tls == TlsMode::Implicit {
        let (c, info) = upgrade(conn, &ep.host, o, identity, seen)
            .await
            .map_err(|e| tls_err(e, None))?;
        conn = c;
        tls = Some(info);
    }
    let mut s = Session {
        conn,
        endpoint: ep.clone(),
        greeting: String::new(),
        pre_tls_caps: Vec::new(),
        caps: Vec::new(),
        tls,
        next_tag: 0,
    };
    // The greeting. On a STARTTLS port, silence may mean the port expects TLS at once.
    let greeting = match ep.protocol {
        Protocol::Smtp => smtp::read_reply(&mut s.conn, "waiting for the greeting")
            .await
            .map(|r| {
                let ok = r.code == 220;
                (r.raw(), ok)
            }),
        Protocol::Imap => s.conn.read_line("waiting for the greeting").await.map(|l| {
            let ok = l.to_ascii_uppercase().starts_with("* OK");
            (l, ok)
        }),
        Protocol::Pop => pop::read_status(&mut s.conn, "waiting for the greeting")
            .await
            .map(|st| (st.line, st.ok)),
    };
    let (greeting, ok) = match greeting {
        Ok(g) => g,
        Err(NetError::Timeout { .. }) if s.tls.is_none() => {
            return Err(probe_tls(s.conn, &ep.host, o).await)
        }
        Err(e) => return Err(OpenError::Net(e)),
    };
    s.greeting = greeting.clone();
    if !ok {
        return Err(OpenError::Rejected { reply: greeting });
    }
    if ep.protocol == Protocol::Imap {
        s.caps = imap::capabilities_in([greeting.as_str()]);
    }
    if ep.tls != TlsMode::Starttls {
        return Ok(s);
    }
    // Pre-TLS capabilities and the upgrade.
    let offered = match ep.protocol {
        Protocol::Smtp => {
            s.conn
                .send(&format!("EHLO {EHLO_NAME}"), "sending EHLO")
                .await
                .map_err(OpenError::Net)?;
            let r = smtp::read_reply(&mut s.conn, "waiting for the EHLO reply")
                .await
                .map_err(OpenError::Net)?;
            if r.code != 250 {
                return Err(OpenError::Rejected { reply: r.raw() });
            }
            let caps = smtp::Capabilities::from_ehlo(&r);
            s.pre_tls_caps = caps.raw.clone();
            caps.starttls
        }
        Protocol::Imap => {
            if s.caps.is_empty() {
                let tag = s.tag();
                s.conn
                    .send(&format!("{tag} CAPABILITY"), "asking for capabilities")
                    .await
                    .map_err(OpenError::Net)?;
                let t = imap::read_tagged(&mut s.conn, &tag, "waiting for CAPABILITY")
                    .await
                    .map_err(OpenError::Net)?;
                s.caps = imap::capabilities_in(t.untagged.iter().map(String::as_str));
            }
            s.pre_tls_caps = std::mem::take(&mut s.caps);
            s.pre_tls_caps.iter().any(|c| c == "STARTTLS")
        }
        Protocol::Pop => {
            s.conn
                .send("CAPA", "asking for capabilities")
                .await
                .map_err(OpenError::Net)?;
            let st = pop::read_status(&mut s.conn, "waiting for CAPA")
                .await
                .map_err(OpenError::Net)?;
            if st.ok {
                s.pre_tls_caps = pop::read_multiline(&mut s.conn, "reading CAPA")
                    .await
                    .map_err(OpenError::Net)?;
            }
            s.pre_tls_caps
                .iter()
                .any(|c| c.eq_ignore_ascii_case("STLS"))
        }
    };
    if !offered {
        if o.allow_plaintext {
            s.conn
                .note("STARTTLS not offered; continuing without encryption (--allow-plaintext)");
            if ep.protocol != Protocol::Smtp {
                s.caps = s.pre_tls_caps.clone();
            }
            return Ok(s);
        }
        return Err(OpenError::StartTlsMissing {
            caps: s.pre_tls_caps.clone(),
        });
    }
    let accepted = match ep.protocol {
        Protocol::Smtp => {
            s.conn
                .send("STARTTLS", "sending STARTTLS")
                .await
                .map_err(OpenError::Net)?;
            let r = smtp::read_reply(&mut s.conn, "waiting for the STARTTLS reply")
                .await
                .map_err(OpenError::Net)?;
            (r.code == 220).then_some(()).ok_or(r.raw())
        }
        Protocol::Imap => {
            let tag = s.tag();
            s.conn
                .send(&format!("{tag} STARTTLS"), "sending STARTTLS")
                .await
                .map_err(OpenError::Net)?;
            let t = imap::read_tagged(&mut s.conn, &tag, "waiting for the STARTTLS reply")
                .await
                .map_err(OpenError::Net)?;
            t.ok().then_some(()).ok_or(t.line)
        }
        Protocol::Pop => {
            s.conn
                .send("STLS", "sending STLS")
                .await
                .map_err(OpenError::Net)?;
            let st = pop::read_status(&mut s.conn, "waiting for the STLS reply")
                .await
                .map_err(OpenError::Net)?;
            st.ok.then_some(()).ok_or(st.line)
        }
    };
    if let Err(reply) = accepted {
        return Err(OpenError::Rejected { reply });
    }
    let Session {
        conn,
        endpoint,
        greeting,
        pre_tls_caps,
        next_tag,
        ..
    } = s;
    let (conn, info) = upgrade(conn, &ep.host, o, identity, seen)
        .await
        .map_err(|e| tls_err(e, Some(greeting.clone())))?;
    Ok(Session {
        conn,
        endpoint,
        greeting,
        pre_tls_caps,
        caps: Vec::new(),
        tls: Some(info),
        next_tag,
    })
}

/// The handshake; `seen` is Some when the caller watches for a client
/// certificate request (`open_as`), and then gets what was seen.
async fn upgrade(
    conn: Conn,
    host: &str,
    o: &OpenOptions<'_>,
    identity: Option<&ClientIdentity>,
    seen: &mut Option<Option<ClientAuthSeen>>,
) -> Result<(Conn, TlsInfo), (TlsFailure, String, Vec<CertInfo>)> {
    match seen {
        None => conn.start_tls(host, o.extra_roots).await,
        Some(slot) => {
            let (r, got) = conn.start_tls_as(host, o.extra_roots, identity).await;
            *slot = got;
            r
        }
    }
}

fn tls_err(
    (failure, why, chain): (TlsFailure, String, Vec<CertInfo>),
    greeting: Option<String>,
) -> OpenError {
    OpenError::Tls {
        failure,
        why,
        chain,
        greeting,
    }
}

/// No greeting came on a STARTTLS port: try TLS on the same connection, which tells
/// "this port expects implicit TLS" from "the server is silent".
async fn probe_tls(conn: Conn, host: &str, o: &OpenOptions<'_>) -> OpenError {
    conn.note("no greeting; trying TLS on the same connection");
    match conn.start_tls(host, o.extra_roots).await {
        Ok((c, _)) => {
            c.close().await;
            OpenError::ImplicitTlsPort
        }
        Err((
            TlsFailure::Expired
            | TlsFailure::NotYetValid
            | TlsFailure::HostnameMismatch
            | TlsFailure::Untrusted
            | TlsFailure::CaAsServerCert,
            _,
            _,
        )) => OpenError::ImplicitTlsPort,
        Err(_) => OpenError::Net(NetError::Timeout {
            phase: "waiting for the greeting".into(),
            after: o.timeout,
        }),
    }
}
