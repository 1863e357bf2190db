//! POP3 over a `Conn`: status lines (`+OK` / `-ERR`, and the bare `+` of a SASL
//! continuation) and multi-line answers such as CAPA, parsed and bounded by
//! `pop_proto` (a hostile server may never send the final `.`).

use crate::net::conn::{Conn, NetError};
use crate::net::pop_proto::{parse_auth_step, AuthStep, MultiLineReader};

/// A status line as the server sent it. `ok` is also true for a SASL `+`
/// continuation, which callers tell apart with `is_continuation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub ok: bool,
    pub line: String,
}

impl Status {
    pub fn is_continuation(&self) -> bool {
        self.line == "+" || self.line.starts_with("+ ")
    }
}

fn protocol(phase: &str, e: crate::net::ProtoError) -> NetError {
    NetError::Protocol {
        phase: phase.into(),
        what: e.to_string(),
    }
}

pub async fn read_status(conn: &mut Conn, phase: &str) -> Result<Status, NetError> {
    let line = conn.read_line(phase).await?;
    let ok = match parse_auth_step(&line).map_err(|e| protocol(phase, e))? {
        AuthStep::Continuation(_) => true,
        AuthStep::Done(st) => st.ok,
    };
    Ok(Status { ok, line })
}

/// Reads the lines of a multi-line answer up to the terminating `.` (one step).
pub async fn read_multiline(conn: &mut Conn, phase: &str) -> Result<Vec<String>, NetError> {
    let deadline = tokio::time::Instant::now() + conn.timeout;
    let mut reader = MultiLineReader::new();
    loop {
        let line = conn.read_line_until(phase, deadline).await?;
        if let Some(lines) = reader.push(&line).map_err(|e| protocol(phase, e))? {
            return Ok(lines);
        }
    }
}
