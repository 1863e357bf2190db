//! A line-oriented connection (plain TCP or TLS) with a timeout on every step, a cap
//! on line length, and every line recorded in the transcript. Secret-bearing lines
//! are written with `send_secret`, which records only the redacted form.

use crate::net::tls::{self, CertInfo, TlsFailure, TlsInfo};
use crate::net::transcript::Transcript;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// Longest line accepted from a server (RFC 5321 allows 512; IMAP lines run longer).
pub const MAX_LINE: usize = 16 * 1024;

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
}

impl NetError {
    pub fn code(&self) -> &'static str {
        match self {
            NetError::Timeout { .. } => "TCP_TIMEOUT",
            NetError::Closed { .. } => "CONNECTION_CLOSED",
            NetError::TooLong { .. } | NetError::Protocol { .. } => "SERVER_PROTOCOL_ERROR",
            NetError::Io { .. } => "CONNECTION_CLOSED",
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
}

impl Conn {
    pub fn new(
        tcp: TcpStream,
        protocol: &'static str,
        timeout: Duration,
        transcript: Transcript,
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
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    pub fn note(&self, text: &str) {
        self.transcript.note(self.protocol, text);
    }

    /// Reads one line (without its CR LF) within the step timeout.
    pub async fn read_line(&mut self, phase: &str) -> Result<String, NetError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.read_line_until(phase, deadline).await
    }

    /// Reads one line before `deadline` (for multi-line replies read as one step).
    pub async fn read_line_until(
        &mut self,
        phase: &str,
        deadline: tokio::time::Instant,
    ) -> Result<String, NetError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let text = String::from_utf8_lossy(&line).into_owned();
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
            let mut chunk = [0u8; 4096];
            let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => {
                    return Err(NetError::Timeout {
                        phase: phase.into(),
                        after: self.timeout,
                    })
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Ok(Err(e)) => {
                    return Err(NetError::Io {
                        phase: phase.into(),
                        why: e.to_string(),
                    })
                }
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                if !self.buf.is_empty() {
                    let partial = String::from_utf8_lossy(&self.buf).into_owned();
                    self.transcript.server(self.protocol, &partial);
                }
                self.transcript
                    .note(self.protocol, "connection closed by the server");
                return Err(NetError::Closed {
                    phase: phase.into(),
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
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
        self.transcript.client(self.protocol, line);
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
        self.transcript.client_redacted(self.protocol, shown);
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
        self.transcript.client_redacted(self.protocol, shown);
        self.write_raw(bytes, phase).await
    }

    /// Starts TLS on this connection (implicit TLS or after STARTTLS).
    pub async fn start_tls(
        self,
        host: &str,
        extra_roots: &[Vec<u8>],
    ) -> Result<(Conn, TlsInfo), (TlsFailure, String, Vec<CertInfo>)> {
        if !self.buf.is_empty() {
            // Bytes sent before the handshake could be injected plaintext.
            return Err((
                TlsFailure::Other("the server sent data before the TLS handshake".into()),
                "the server sent data before the TLS handshake".into(),
                Vec::new(),
            ));
        }
        let Stream::Plain(tcp) = self.stream else {
            return Err((
                TlsFailure::Other("already TLS".into()),
                "already TLS".into(),
                Vec::new(),
            ));
        };
        match tls::handshake(tcp, host, extra_roots, self.timeout).await {
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
                    },
                    info,
                ))
            }
            Err(e) => {
                self.transcript
                    .note(self.protocol, &format!("TLS handshake failed: {}", e.1));
                Err(e)
            }
        }
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
