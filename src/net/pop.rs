//! POP3: status lines (`+OK` / `-ERR`) and multi-line answers such as CAPA, read
//! with bounds (a hostile server may never send the final `.`).

use crate::net::conn::{Conn, NetError};

pub const MAX_LINES: usize = 256;
/// Most bytes a multi-line answer may have.
pub const MAX_LIST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub ok: bool,
    pub line: String,
}

pub async fn read_status(conn: &mut Conn, phase: &str) -> Result<Status, NetError> {
    let line = conn.read_line(phase).await?;
    let upper = line.to_ascii_uppercase();
    if upper.starts_with("+OK") || upper == "+" || upper.starts_with("+ ") {
        Ok(Status { ok: true, line })
    } else if upper.starts_with("-ERR") {
        Ok(Status { ok: false, line })
    } else {
        Err(NetError::Protocol {
            phase: phase.into(),
            what: format!(
                "`{}` is not a POP3 status line",
                crate::net::smtp::excerpt(&line)
            ),
        })
    }
}

/// Reads the lines of a multi-line answer up to the terminating `.` (one step).
pub async fn read_multiline(conn: &mut Conn, phase: &str) -> Result<Vec<String>, NetError> {
    let deadline = tokio::time::Instant::now() + conn.timeout;
    let mut lines = Vec::new();
    let mut total = 0usize;
    loop {
        let line = conn.read_line_until(phase, deadline).await?;
        if line == "." {
            return Ok(lines);
        }
        total += line.len();
        if total > MAX_LIST_BYTES {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!("a list of more than {MAX_LIST_BYTES} bytes"),
            });
        }
        let line = line.strip_prefix('.').map(str::to_string).unwrap_or(line);
        lines.push(line);
        if lines.len() > MAX_LINES {
            return Err(NetError::Protocol {
                phase: phase.into(),
                what: format!("a list of more than {MAX_LINES} lines"),
            });
        }
    }
}
