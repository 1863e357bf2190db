//! The `signins` report: one serde struct, which `schema/signins.v1.json`
//! describes exactly. The renderers only read it; a change that breaks the
//! schema needs a new `SCHEMA_VERSION`.

use super::input::Format;
use crate::report::model::Tool;
use crate::vocab::{Actor, OverallStatus, Severity};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct SigninReport {
    pub schema_version: u32,
    pub tool: Tool,
    /// The worst of the sections, as the exit code tells it.
    pub status: OverallStatus,
    pub now: DateTime<Utc>,
    /// Sign-ins before this time are counted in `rows_outside_window` only.
    pub since: DateTime<Utc>,
    pub warning_days: i64,
    pub critical_days: i64,
    pub expected_countries: Vec<String>,
    /// User names and IP addresses are pseudonyms.
    pub redacted: bool,
    pub inputs: Vec<InputReport>,
    /// Every data row read, malformed ones included.
    pub rows_read: u64,
    pub rows_malformed: u64,
    pub rows_outside_window: u64,
    /// Rows read, less the malformed and those outside the window.
    pub rows_analyzed: u64,
    pub legacy_rows: u64,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// The first malformed rows, with where they are (all are counted).
    pub malformed: Vec<MalformedItem>,
    pub legacy: Vec<LegacyItem>,
    pub failures: Vec<FailureItem>,
    pub lockout: LockoutPolicy,
    pub lockout_risk: Vec<LockoutItem>,
    pub unexpected_locations: Vec<PlaceItem>,
    /// With `--expected-country`: analysed rows that carry no country.
    pub rows_without_location: u64,
    pub not_covered_by_ca: Vec<CaItem>,
    /// Rows not itemized because a section reached its cap (they are in the totals).
    pub omitted: Omitted,
    /// Remarks on the inputs, e.g. a missing Graph page.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    pub name: String,
    pub format: Format,
    pub rows: u64,
    pub malformed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages_with_next_link: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MalformedItem {
    pub input: String,
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Critical,
    Warning,
    Ok,
}

/// The dated verdict for a legacy client app, from the knowledge base.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// One sentence: what happens to these sign-ins, and when.
    pub summary: String,
    pub fact: Option<String>,
    pub date: Option<NaiveDate>,
    /// Days from `now` to `date` (negative when past).
    pub days_left: Option<i64>,
    pub source: Option<String>,
    /// The diagnosis whose fix applies, and the fix.
    pub diagnosis: Option<String>,
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegacyItem {
    pub status: ItemStatus,
    pub user: String,
    pub client_app: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub last_success: Option<DateTime<Utc>>,
    pub successes: u64,
    pub failures: u64,
    pub ips: Vec<String>,
    /// Sign-ins from addresses beyond those listed.
    pub ips_omitted: u64,
    pub user_agents: Vec<String>,
    pub user_agents_omitted: u64,
    pub ca_not_applied: u64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailureItem {
    pub error_code: u32,
    /// Microsoft's error name, when the knowledge base has one.
    pub name: Option<String>,
    /// The diagnosis code (null for a code the knowledge base does not know).
    pub diagnosis: Option<String>,
    pub severity: Option<Severity>,
    pub title: String,
    pub count: u64,
    /// How many of them came from legacy client apps.
    pub legacy_count: u64,
    pub users: Vec<String>,
    /// Failures of users beyond those listed.
    pub users_omitted: u64,
    pub client_apps: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Microsoft's text for the code, quoted, and where it is from.
    pub microsoft_text: Option<String>,
    pub source: Option<String>,
    /// The failure reason the log itself gives (the first one seen).
    pub failure_reason: String,
    pub fix: Option<String>,
    pub actor: Option<Actor>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub statement: String,
    pub same_password: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LockoutItem {
    pub user: String,
    pub ip: String,
    pub user_agent: String,
    pub client_app: String,
    pub bad_password_failures: u64,
    pub first_failure: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    /// Sign-ins refused as locked (50053) from this device.
    pub locked: u64,
    pub last_locked: Option<DateTime<Utc>>,
    /// A lock came after this device's wrong passwords.
    pub locked_after_failures: bool,
    /// As many wrong passwords as the default lockout threshold, or more.
    pub reaches_threshold: bool,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlaceItem {
    pub user: String,
    pub country: String,
    pub ip: String,
    pub client_app: String,
    pub successes: u64,
    pub failures: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaItem {
    pub user: String,
    pub client_app: String,
    /// Legacy sign-ins with `conditionalAccessStatus` notApplied.
    pub sign_ins: u64,
    pub successes: u64,
    pub last_seen: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Omitted {
    pub legacy_rows: u64,
    pub lockout_rows: u64,
    pub place_rows: u64,
}
