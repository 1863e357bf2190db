//! The `paths` report: for one address on this network, each way out a device
//! that cannot do OAuth may take (SMTP AUTH, HVE, direct send, connector relay,
//! Google's relay, a self-hosted submission or relay service), with a verdict,
//! what it needs and the scrubbed exchange that decided it; and its pure
//! renderers (text, json, nagios). The names here are a contract: scripts and
//! monitoring read `paths[].path`, `verdict` and `code`.

use crate::net::transcript::Line;
use crate::vocab::OverallStatus;
use serde::Serialize;
use std::io::Write;

/// The paths, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathKind {
    SmtpAuth,
    Oauth,
    Hve,
    DirectSend,
    ConnectorRelay,
    GoogleRelay,
    Submission,
}

impl PathKind {
    pub const ALL: [PathKind; 7] = [
        PathKind::SmtpAuth,
        PathKind::Oauth,
        PathKind::Hve,
        PathKind::DirectSend,
        PathKind::ConnectorRelay,
        PathKind::GoogleRelay,
        PathKind::Submission,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::SmtpAuth => "smtp_auth",
            PathKind::Oauth => "oauth",
            PathKind::Hve => "hve",
            PathKind::DirectSend => "direct_send",
            PathKind::ConnectorRelay => "connector_relay",
            PathKind::GoogleRelay => "google_relay",
            PathKind::Submission => "submission",
        }
    }

    /// Whether a device that cannot do OAuth can take this path at all.
    pub fn suits_a_device_without_oauth(self) -> bool {
        self != PathKind::Oauth
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Works,
    Blocked,
    Unknown,
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Works => "works",
            Verdict::Blocked => "blocked",
            Verdict::Unknown => "unknown",
            Verdict::NotApplicable => "not_applicable",
        }
    }
}

/// One path's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct PathResult {
    pub path: PathKind,
    pub verdict: Verdict,
    /// The diagnosis code when the verdict is not `works`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub summary: String,
    /// What the path needs (static IP, certificate, licence, internal recipients
    /// only, TLS 1.2...).
    pub needs: Vec<String>,
    /// Its dated limits.
    pub limits: Vec<String>,
    /// The host:port tested, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Every line of the probe, scrubbed of secrets and control characters.
    pub exchange: Vec<Line>,
    /// The TLS client certificate given with `--client-certificate`, on the
    /// paths that present it (connector relay, a named relay). Never its key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<ClientCertificate>,
}

/// What the path's probe did with the TLS client certificate.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCertificate {
    pub subject: String,
    pub issuer: String,
    /// Its last day, YYYY-MM-DD.
    pub not_after: String,
    pub days_left: i64,
    /// The server asked for a client certificate, and this one was presented.
    pub presented: bool,
    pub expired: bool,
    /// Ends within 30 days.
    pub expiring: bool,
}

impl PathResult {
    pub fn new(path: PathKind, verdict: Verdict, code: Option<&str>, summary: String) -> Self {
        PathResult {
            path,
            verdict,
            code: code.map(str::to_string),
            summary,
            needs: Vec::new(),
            limits: Vec::new(),
            endpoint: None,
            exchange: Vec::new(),
            client_certificate: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PathsReport {
    pub schema: &'static str,
    pub tool_version: String,
    pub address: String,
    pub domain: String,
    /// The provider the evidence names, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// What decided the provider (the MX host), or why none was decided.
    pub evidence: String,
    /// The TLS versions the device speaks, as given (`--device-tls`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_tls: Option<String>,
    pub status: OverallStatus,
    pub paths: Vec<PathResult>,
    /// The one recommended next step.
    pub next_step: String,
    /// What was sent when `--send-test-message` asked for it (None: nothing was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_message: Option<String>,
    pub elapsed_ms: u64,
}

pub const SCHEMA: &str = "mailbox-doctor/paths/v1";

pub fn render_json(r: &PathsReport, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}

/// Words of `text` in lines of at most `width` characters (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let len = cur.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// The column the summaries start at: two spaces, the path (16), a space, the
/// verdict (15), two spaces.
const INDENT: usize = 36;

/// One line per path (its summary wrapped to 80 columns), then the next step.
pub fn render_text(r: &PathsReport, out: &mut dyn Write) -> std::io::Result<()> {
    let who = match &r.provider {
        Some(p) => format!("{p} ({})", r.evidence),
        None => r.evidence.clone(),
    };
    writeln!(out, "Ways out for {} from this network", r.address)?;
    for l in wrap(&format!("Domain {}: {who}", r.domain), 78) {
        writeln!(out, "  {l}")?;
    }
    if let Some(v) = &r.device_tls {
        writeln!(out, "  The device speaks TLS up to {v}")?;
    }
    writeln!(out)?;
    for p in &r.paths {
        let head = format!("  {:<16} {:<15}", p.path.as_str(), p.verdict.as_str());
        let body = match &p.code {
            Some(c) if p.verdict != Verdict::NotApplicable => format!("{c}: {}", p.summary),
            _ => p.summary.clone(),
        };
        let lines = wrap(&body, 80 - INDENT);
        for (i, l) in lines.iter().enumerate() {
            if i == 0 {
                writeln!(out, "{head}  {l}")?;
            } else {
                writeln!(out, "{:INDENT$}{l}", "")?;
            }
        }
    }
    if let Some(m) = &r.test_message {
        writeln!(out)?;
        for l in wrap(&format!("Sent: {m}"), 78) {
            writeln!(out, "  {l}")?;
        }
    }
    writeln!(out)?;
    let mut first = true;
    for l in wrap(&r.next_step, 78 - "Next step: ".len()) {
        if first {
            writeln!(out, "Next step: {l}")?;
            first = false;
        } else {
            writeln!(out, "           {l}")?;
        }
    }
    Ok(())
}

/// One status line for monitoring: the overall state, then each tested path.
pub fn render_nagios(r: &PathsReport, out: &mut dyn Write) -> std::io::Result<()> {
    let parts: Vec<String> = r
        .paths
        .iter()
        .filter(|p| p.verdict != Verdict::NotApplicable)
        .map(|p| match &p.code {
            Some(c) => format!("{} {} ({c})", p.path.as_str(), p.verdict.as_str()),
            None => format!("{} {}", p.path.as_str(), p.verdict.as_str()),
        })
        .collect();
    let works = r
        .paths
        .iter()
        .filter(|p| p.verdict == Verdict::Works)
        .count();
    writeln!(
        out,
        "PATHS {} - {}: {} | paths_working={works}",
        r.status.upper(),
        r.address,
        parts.join(", ")
    )
}
