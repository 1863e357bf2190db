//! The one report struct. The JSON schema (`schema/report.v1.json`) describes
//! exactly this; a change that breaks it needs a new `SCHEMA_VERSION`.

use crate::net::transcript::Line;
use crate::target::Target;
use crate::vocab::OverallStatus;
use crate::vocab::{Actor, CheckId, Finding, Severity, Status};
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
    /// The date of the newest fact in the knowledge base.
    pub knowledge_as_of: String,
}

impl Tool {
    /// This build of the tool.
    pub fn current() -> Tool {
        Tool {
            name: "mailbox-doctor",
            version: env!("CARGO_PKG_VERSION"),
            knowledge_as_of: include_str!("../../checks/AS_OF").trim().to_string(),
        }
    }
}

/// One check as `list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckInfo {
    pub id: CheckId,
    pub needs: &'static [CheckId],
    pub description: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub id: CheckId,
    pub status: Status,
    pub summary: String,
    pub duration_ms: u64,
    pub findings: Vec<Finding>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub code: String,
    pub severity: Severity,
    pub summary: String,
    pub explanation: String,
    pub fix: String,
    pub actor: Actor,
    pub confirm: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Ids of the checks that found it.
    pub checks: Vec<String>,
    /// What was seen, redacted.
    pub evidence: Vec<String>,
}

/// Figures for monitoring (perfdata, gauges), with the thresholds in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// Days until the soonest end of a server certificate seen in this run.
    pub cert_days_left: Option<i64>,
    /// The next dated deadline that applies to this mailbox, and the days until it.
    pub deadline: Option<String>,
    pub deadline_days_left: Option<i64>,
    pub warning_days: i64,
    pub critical_days: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub target: Target,
    pub status: OverallStatus,
    pub duration_ms: u64,
    pub checks: Vec<CheckReport>,
    pub diagnosis: Vec<Diagnosis>,
    pub metrics: Metrics,
    /// The question that tells the root cause from another reading still
    /// standing (checks/questions.toml).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<Question>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<Line>>,
}

/// Two readings remain: the one question whose answer decides between them.
#[derive(Debug, Clone, Serialize)]
pub struct Question {
    /// The two diagnosis codes, the root cause first.
    pub between: [String; 2],
    pub ask: String,
    pub answers: Vec<Answer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub says: String,
    /// The diagnosis code this answer decides for.
    pub means: String,
}

/// A context a pasted text shows (knowledge base `context.toml`).
#[derive(Debug, Clone, Serialize)]
pub struct TextContext {
    pub id: String,
    pub meaning: String,
}

/// What `explain` produces: the diagnoses that match a pasted text.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub schema_version: u32,
    pub tool: Tool,
    pub status: OverallStatus,
    /// False when nothing in the text is known: the only diagnosis is then
    /// NOT_RECOGNISED, whose fix is the question to ask next.
    pub recognised: bool,
    /// The reply found in the pasted text (normalized), if any.
    pub reply: Option<String>,
    /// What the text shows around the error that decided the reading.
    pub context: Vec<TextContext>,
    /// Ids of the signatures that matched, best first.
    pub matched: Vec<String>,
    pub diagnosis: Vec<Diagnosis>,
    /// When two readings remain: the question that tells them apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<Question>,
}
