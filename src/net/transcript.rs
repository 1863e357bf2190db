//! The protocol transcript: every line each side sent, with a timestamp relative to
//! the start of the run. Client lines that carry a secret are recorded already
//! redacted by the caller (`Transcript::client_redacted`); the secret itself never
//! reaches this module.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dir {
    /// Sent by the server.
    S,
    /// Sent by the client (this tool).
    C,
    /// A note from the tool (TLS established, connection closed...).
    #[serde(rename = "*")]
    Note,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Milliseconds since the run started.
    pub t_ms: u64,
    pub protocol: String,
    pub dir: Dir,
    pub line: String,
}

/// Longest line kept in the transcript; longer lines are cut and marked.
const MAX_KEPT: usize = 2048;

#[derive(Debug, Clone)]
pub struct Transcript {
    start: Instant,
    lines: Arc<Mutex<Vec<Line>>>,
}

impl Default for Transcript {
    fn default() -> Self {
        Self::new()
    }
}

impl Transcript {
    pub fn new() -> Self {
        Self::since(Instant::now())
    }

    /// A transcript whose times count from `start` (the run's, discovery included).
    pub fn since(start: Instant) -> Self {
        Transcript {
            start,
            lines: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn push(&self, protocol: &str, dir: Dir, line: &str) {
        let mut text: String = line.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        if text.len() > MAX_KEPT {
            let mut cut = MAX_KEPT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let total = text.len();
            text.truncate(cut);
            text.push_str(&format!(" ... [{total} bytes, cut]"));
        }
        let entry = Line {
            t_ms: self.start.elapsed().as_millis() as u64,
            protocol: protocol.into(),
            dir,
            line: text,
        };
        if let Ok(mut lines) = self.lines.lock() {
            lines.push(entry);
        }
    }

    pub fn server(&self, protocol: &str, line: &str) {
        self.push(protocol, Dir::S, line);
    }
    /// A client line that carries no secret.
    pub fn client(&self, protocol: &str, line: &str) {
        self.push(protocol, Dir::C, line);
    }
    /// A client line whose secret part was already replaced by the caller, e.g.
    /// `AUTH PLAIN <redacted>`.
    pub fn client_redacted(&self, protocol: &str, shown: &str) {
        self.push(protocol, Dir::C, shown);
    }
    pub fn note(&self, protocol: &str, text: &str) {
        self.push(protocol, Dir::Note, text);
    }

    /// The lines so far, ordered by time.
    pub fn lines(&self) -> Vec<Line> {
        let mut v = self.lines.lock().map(|l| l.clone()).unwrap_or_default();
        v.sort_by_key(|l| l.t_ms);
        v
    }
}
