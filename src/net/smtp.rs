//! SMTP over a `Conn`: one complete (multi-line) reply per step, assembled and
//! bounded by `smtp_proto::ReplyReader`. A small client of its own rather than
//! lettre: lettre hides the server's exact reply text and the capability lists,
//! which are the evidence this tool reports, and may retry on its own.
//!
//! Never sends a message: there is no MAIL, RCPT or DATA here.

use crate::net::conn::{Conn, NetError};
use crate::net::smtp_proto::ReplyReader;
pub use crate::net::smtp_proto::{choose_auth, Capabilities, Mechanism, Reply};

/// Reads one complete reply within one step timeout.
pub async fn read_reply(conn: &mut Conn, phase: &str) -> Result<Reply, NetError> {
    let deadline = tokio::time::Instant::now() + conn.timeout;
    let mut reader = ReplyReader::new();
    loop {
        let line = conn.read_line_until(phase, deadline).await?;
        match reader.push(&line) {
            Ok(Some(reply)) => return Ok(reply),
            Ok(None) => {}
            Err(e) => {
                return Err(NetError::Protocol {
                    phase: phase.into(),
                    what: e.to_string(),
                })
            }
        }
    }
}
