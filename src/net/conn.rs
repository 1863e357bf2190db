//! A line-oriented connection (plain TCP or TLS) with a timeout on every step, a cap
//! on line length, and every line recorded in the transcript. Every line and
//! literal the server sends passes the run's scrubber before anything sees it, so
//! what the checks keep and the transcript shows holds no secret and no raw
//! control character. Secret-bearing lines are written with `send_secret`, which
//! records only the redacted form.

use crate::net::scrub::Scrubber;
use crate::net::tls::{self, CertInfo, TlsFailure, TlsInfo};
use crate::net::transcript::Transcript;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Longest line accepted from a server (RFC 5321 allows 512; IMAP lines run longer).
pub const MAX_LINE: usize = 16 * 1024;
/// Lines handed out from the buffer before the task yields to the runtime, so that
/// a server sending many short lines at once cannot hold a worker thread.
const LINES_PER_YIELD: u32 = 64;

pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What went wrong on a connection, with the step it happened in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("no answer within {after:?} while {phase}")]
    Timeout { phase: String, after: Duration },
    #[error("the server closed the connection while {phase}")]
    Closed { phase: String },
    #[error("the server sent a line longer than {limit} bytes while {phase}")]
    TooLong { phase: String, limit: usize },
    #[error("the server's answer is not valid while {phase}: {what}")]
    Protocol { phase: String, what: String },
    #[error("I/O error while {phase}: {why}")]
    Io { phase: String, why: String },
    /// A credential was about to be written on a connection the credential gate
    /// (`checks::gate`) had not cleared for it: nothing was written.
    #[error("the credentials were withheld while {phase}: {why}")]
    Withheld {
        phase: String,
        why: &'static str,
        code: &'static str,
    },
}

impl NetError {
    pub fn code(&self) -> &'static str {
        match self {
            NetError::Timeout { .. } => "TCP_TIMEOUT",
            NetError::Closed { .. } => "CONNECTION_CLOSED",
            NetError::TooLong { .. } | NetError::Protocol { .. } => "SERVER_PROTOCOL_ERROR",
            NetError::Io { .. } => "CONNECTION_CLOSED",
            NetError::Withheld { code, .. } => code,
        }
    }
}

pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    pub protocol: &'static str,
    pub timeout: Duration,
    pub peer: SocketAddr,
    transcript: Transcript,
    scrub: Arc<Scrubber>,
    since_yield: u32,
    /// Whether the credential gate cleared this connection for credentials, and
    /// with cleartext allowed or not. None: nothing secret may be written.
    permit: Option<bool>,
}

impl Conn {
    pub fn new(
        tcp: TcpStream,
        protocol: &'static str,
        timeout: Duration,
        transcript: Transcript,
        scrub: Arc<Scrubber>,
    ) -> Conn {
        let peer = tcp
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        Conn {
            stream: Stream::Plain(tcp),
            buf: Vec::new(),
            protocol,
            timeout,
            peer,
            transcript,
            scrub,
            since_yield: 0,
            permit: None,
        }
    }

    /// Clears this connection for credentials (only `checks::gate` calls this);
    /// over plain TCP they still need `cleartext_ok` (`--allow-plaintext`).
    pub fn permit_credentials(&mut self, cleartext_ok: bool) {
        self.permit = Some(cleartext_ok);
    }

    /// The last line of defence: a secret is written only on a connection the
    /// gate cleared, and in clear text only when that was allowed.
    fn may_write_secret(&self, phase: &str) -> Result<(), NetError> {
        let refuse = |why, code| {
            Err(NetError::Withheld {
                phase: phase.into(),
                why,
                code,
            })
        };
        match self.permit {
            None => refuse(
                "this connection was not cleared to carry them",
                "CREDENTIALS_WITHHELD",
            ),
            Some(false) if !self.is_tls() => refuse(
                "the connection is not encrypted and --allow-plaintext was not given",
                "CLEARTEXT_LOGIN_WITHHELD",
            ),
            Some(_) => Ok(()),
        }
    }

    fn timeout_error(&self, phase: &str) -> NetError {
        NetError::Timeout {
            phase: phase.into(),
            after: self.timeout,
        }
    }

    /// Yields to the runtime now and then, and fails once `deadline` has passed,
    /// even while buffered data keeps every read ready.
    async fn pace(&mut self, phase: &str, deadline: tokio::time::Instant) -> Result<(), NetError> {
        self.since_yield += 1;
        if self.since_yield >= LINES_PER_YIELD {
            self.since_yield = 0;
            tokio::task::yield_now().await;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(self.timeout_error(phase));
        }
        Ok(())
    }

    /// Reads more bytes into the buffer before `deadline`; Ok(0) at end of stream.
    async fn fill(
        &mut self,
        phase: &str,
        deadline: tokio::time::Instant,
    ) -> Result<usize, NetError> {
        let mut chunk = vec![0u8; 4096];
        let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => return Err(self.timeout_error(phase)),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Ok(Err(e)) => {
                return Err(NetError::Io {
                    phase: phase.into(),
                    why: e.to_string(),
                })
            }
            Ok(Ok(n)) => n,
        };
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn closed(&mut self, phase: &str) -> NetError {
        if !self.buf.is_empty() {
            let partial = self.scrub.scrub(&String::from_utf8_lossy(&self.buf));
            self.transcript.server(self.protocol, &partial);
        }
        self.transcript
            .note(self.protocol, "connection closed by the server");
        NetError::Closed {
            phase: phase.into(),
        }
    }

    /// Reads exactly `n` bytes (an IMAP literal) before `deadline`, as scrubbed
    /// text: its line breaks and other control characters shown escaped.
    pub async fn read_exact_until(
        &mut self,
        n: usize,
        phase: &str,
        deadline: tokio::time::Instant,
    ) -> Result<String, NetError> {
        self.pace(phase, deadline).await?;
        while self.buf.len() < n {
            if self.fill(phase, deadline).await? == 0 {
                return Err(self.closed(phase));
            }
        }
        let bytes: Vec<u8> = self.buf.drain(..n).collect();
        let text = self.scrub.scrub(&String::from_utf8_lossy(&bytes));
        self.transcript.server(self.protocol, &text);
        Ok(text)
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    pub fn note(&self, text: &str) {
        self.transcript
            .note(self.protocol, &self.scrub.scrub_keeping_lines(text));
    }

    /// Reads one line (without its CR LF) within the step timeout.
    pub async fn read_line(&mut self, phase: &str) -> Result<String, NetError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.read_line_until(phase, deadline).await
    }

    /// Reads one line before `deadline` (for multi-line replies read as one step),
    /// scrubbed: no secret form, no raw control character.
    pub async fn read_line_until(
        &mut self,
        phase: &str,
        deadline: tokio::time::Instant,
    ) -> Result<String, NetError> {
        self.pace(phase, deadline).await?;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let text = self.scrub.scrub(&String::from_utf8_lossy(&line));
                self.transcript.server(self.protocol, &text);
                return Ok(text);
            }
            if self.buf.len() > MAX_LINE {
                self.transcript.note(
                    self.protocol,
                    &format!("line over {MAX_LINE} bytes; giving up"),
                );
                return Err(NetError::TooLong {
                    phase: phase.into(),
                    limit: MAX_LINE,
                });
            }
            if self.fill(phase, deadline).await? == 0 {
                return Err(self.closed(phase));
            }
        }
    }

    async fn write_raw(&mut self, data: &[u8], phase: &str) -> Result<(), NetError> {
        let fut = async {
            self.stream.write_all(data).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(NetError::Timeout {
                phase: phase.into(),
                after: self.timeout,
            }),
            Ok(Err(e)) => Err(NetError::Io {
                phase: phase.into(),
                why: e.to_string(),
            }),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Sends a line that carries no secret.
    pub async fn send(&mut self, line: &str, phase: &str) -> Result<(), NetError> {
        self.transcript
            .client(self.protocol, &self.scrub.scrub(line));
        self.write_raw(format!("{line}\r\n").as_bytes(), phase)
            .await
    }

    /// Sends a secret-bearing line; only `shown` (already redacted) is recorded.
    pub async fn send_secret(
        &mut self,
        line: &str,
        shown: &str,
        phase: &str,
    ) -> Result<(), NetError> {
        self.may_write_secret(phase)?;
        self.transcript
            .client_redacted(self.protocol, &self.scrub.scrub(shown));
        let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(line.len() + 2));
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write_raw(&bytes, phase).await
    }

    /// Writes prepared bytes (CRLF included) that may carry a secret; only
    /// `shown` (already redacted) is recorded.
    pub async fn send_bytes(
        &mut self,
        bytes: &[u8],
        shown: &str,
        phase: &str,
    ) -> Result<(), NetError> {
        self.may_write_secret(phase)?;
        self.transcript
            .client_redacted(self.protocol, &self.scrub.scrub(shown));
        self.write_raw(bytes, phase).await
    }

    /// Starts TLS on this connection (implicit TLS or after STARTTLS).
    pub async fn start_tls(
        self,
        host: &str,
        extra_roots: &[Vec<u8>],
    ) -> Result<(Conn, TlsInfo), (TlsFailure, String, Vec<CertInfo>)> {
        self.upgrade(host, extra_roots, None, false).await.0
    }

    /// `start_tls`, presenting `identity` (if any) as the client certificate
    /// when the server asks for one; also whether it asked (None: no handshake
    /// began).
    pub async fn start_tls_as(
        self,
        host: &str,
        extra_roots: &[Vec<u8>],
        identity: Option<&tls::ClientIdentity>,
    ) -> (
        Result<(Conn, TlsInfo), (TlsFailure, String, Vec<CertInfo>)>,
        Option<tls::ClientAuthSeen>,
    ) {
        self.upgrade(host, extra_roots, identity, true).await
    }

    /// The handshake; `watch`: with a client certificate resolver that
    /// presents `identity` and records whether the server asked.
    async fn upgrade(
        self,
        host: &str,
        extra_roots: &[Vec<u8>],
        identity: Option<&tls::ClientIdentity>,
        watch: bool,
    ) -> (
        Result<(Conn, TlsInfo), (TlsFailure, String, Vec<CertInfo>)>,
        Option<tls::ClientAuthSeen>,
    ) {
        let not_started = |why: &str| {
            (
                Err((TlsFailure::Other(why.into()), why.into(), Vec::new())),
                None,
            )
        };
        if !self.buf.is_empty() {
            // Bytes sent before the handshake could be injected plaintext.
            return not_started("the server sent data before the TLS handshake");
        }
        let Stream::Plain(tcp) = self.stream else {
            return not_started("already TLS");
        };
        let (hs, seen) = if watch {
            let (hs, seen) =
                tls::handshake_as(tcp, host, extra_roots, identity, self.timeout).await;
            (hs, Some(seen))
        } else {
            (
                tls::handshake(tcp, host, extra_roots, self.timeout).await,
                None,
            )
        };
        let r = match hs {
            Ok((s, info)) => {
                self.transcript.note(
                    self.protocol,
                    &format!("{} established ({})", info.version, info.cipher),
                );
                Ok((
                    Conn {
                        stream: Stream::Tls(Box::new(s)),
                        buf: Vec::new(),
                        protocol: self.protocol,
                        timeout: self.timeout,
                        peer: self.peer,
                        transcript: self.transcript,
                        scrub: self.scrub,
                        since_yield: 0,
                        permit: None,
                    },
                    info,
                ))
            }
            Err(e) => {
                self.transcript.note(
                    self.protocol,
                    &self.scrub.scrub(&format!("TLS handshake failed: {}", e.1)),
                );
                Err(e)
            }
        };
        if let (Some(seen), Ok((c, _))) = (&seen, &r) {
            match (seen.asked(), identity) {
                (true, Some(id)) => c.note(&format!(
                    "the server asked for a client certificate: presented {}",
                    id.info.subject
                )),
                (true, None) => {
                    c.note("the server asked for a client certificate: none was given to present")
                }
                (false, Some(_)) => {
                    c.note("the server did not ask for a client certificate: none was presented")
                }
                (false, None) => {}
            }
        }
        (r, seen)
    }

    /// Sends the protocol's goodbye (QUIT, LOGOUT) and closes without waiting for
    /// the reply: it proves nothing and would cost a round trip on every run.
    pub async fn farewell(mut self, line: &str) {
        if self.send(line, "saying goodbye").await.is_ok() {
            self.note("closed without waiting for the reply");
        }
        self.close().await;
    }

    /// Closes politely; errors do not matter any more.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.stream.shutdown()).await;
    }
}
