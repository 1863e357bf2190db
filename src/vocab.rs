//! The vocabulary every layer speaks: check ids, statuses, severities, protocols,
//! TLS modes, findings and endpoints. It sits at the bottom of the crate and
//! imports nothing of it, so any module may name these types without pulling in
//! the module that produces them.
//!
//! Only plain data lives here: no I/O, no knowledge look-ups, no formatting
//! beyond the stable names that the command line, the JSON and `checks/` share.

use serde::{Deserialize, Serialize};

/// The version line, with the date of the knowledge base.
pub fn version_line() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (knowledge as of ",
        include_str!("../checks/AS_OF"),
        ")"
    )
}

/// The public Microsoft identity endpoint, used unless `--identity-url` says otherwise.
pub const DEFAULT_IDENTITY_URL: &str = "https://login.microsoftonline.com";
/// Microsoft Graph, for `signins --graph` and `check --signin-log`.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";

/// The stable id of a check: shared by the CLI (`--only`, `--skip`), the JSON and `checks/`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum CheckId {
    Credentials,
    Dns,
    Tls,
    Smtp,
    Imap,
    Pop,
    Tenant,
    Signin,
}

impl CheckId {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Credentials => "credentials",
            CheckId::Dns => "dns",
            CheckId::Tls => "tls",
            CheckId::Smtp => "smtp",
            CheckId::Imap => "imap",
            CheckId::Pop => "pop",
            CheckId::Tenant => "tenant",
            CheckId::Signin => "signin",
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
}

/// What a whole run concluded: the monitoring-plugins states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OverallStatus {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl OverallStatus {
    /// The monitoring-plugins exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            OverallStatus::Ok => 0,
            OverallStatus::Warning => 1,
            OverallStatus::Critical => 2,
            OverallStatus::Unknown => 3,
        }
    }
    pub fn upper(self) -> &'static str {
        match self {
            OverallStatus::Ok => "OK",
            OverallStatus::Warning => "WARNING",
            OverallStatus::Critical => "CRITICAL",
            OverallStatus::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// Who must act on a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    User,
    Admin,
    Vendor,
    Provider,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Smtp,
    Imap,
    Pop,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Imap => "imap",
            Protocol::Pop => "pop",
        }
    }
    pub fn check_id(self) -> CheckId {
        match self {
            Protocol::Smtp => CheckId::Smtp,
            Protocol::Imap => CheckId::Imap,
            Protocol::Pop => CheckId::Pop,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Implicit,
    Starttls,
    None,
}

/// One server to test.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Where it came from: "flag" (the user named it), "profile" (the provider's
    /// documented settings), "srv" (the domain's RFC 6186/8314 SRV records),
    /// "autoconfig" (the domain's autoconfig document) or "mx" (the MX host on the
    /// standard ports, a guess).
    pub source: &'static str,
}

/// One observation, with a stable code from the diagnosis catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub severity: Severity,
    /// Plain words; never contains a secret.
    pub message: String,
    /// What was seen (a server's exact reply, a position), redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// What to do about this very observation, when it says more than the
    /// catalogue's general fix (the expected length, the published port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// A second reading: ranked after every diagnosis that is not one, whatever
    /// its catalogue rank (a certain fact of the server comes first).
    #[serde(skip)]
    pub second: bool,
}

impl Finding {
    pub fn new(code: &str, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            code: code.into(),
            severity,
            message: message.into(),
            evidence: None,
            fix: None,
            second: false,
        }
    }
    pub fn as_second_reading(mut self) -> Self {
        self.second = true;
        self
    }
    pub fn with_evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// The quotes a pasted secret may come wrapped in (opening, closing): the
/// credentials check reports them, the scrubber knows the secret without them.
pub const QUOTE_PAIRS: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201C}', '\u{201D}'),
    ('\u{201D}', '\u{201D}'),
    ('\u{2018}', '\u{2019}'),
    ('\u{2019}', '\u{2019}'),
    ('\u{00AB}', '\u{00BB}'),
    ('\u{201E}', '\u{201C}'),
];
