//! The knowledge base's entries as written in `checks/*.toml`: plain data,
//! deserialized strictly (`deny_unknown_fields`). Loading and validating them is
//! `load`'s job; compiling their patterns is `matcher`'s.

use crate::vocab::{Actor, Protocol, Severity, TlsMode};
use serde::{Deserialize, Serialize};

/// One entry of the diagnosis catalogue (cargo-deny's habit: a stable code,
/// severity, message and help text from one place).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosisDef {
    pub code: String,
    pub severity: Severity,
    /// Lower is more fundamental: the root cause is the lowest rank present.
    pub rank: u32,
    /// One line: what is wrong.
    pub title: String,
    /// Why, in plain words.
    pub explanation: String,
    /// What to do.
    pub fix: String,
    pub actor: Actor,
    /// Commands an admin runs to confirm or fix it; `{user}` and `{domain}` are filled in.
    #[serde(default)]
    pub confirm: Vec<String>,
    #[serde(default)]
    pub docs: Option<String>,
}

/// Where a signature's text comes from: a server's reply on one protocol, or the
/// client side (a library's exception, the operating system, a TLS stack, a
/// device's display, a server's log), which no live check ever reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Smtp,
    Imap,
    Pop,
    Client,
}

impl Channel {
    /// The protocol of a server reply; `None` for client-side text.
    pub fn protocol(self) -> Option<Protocol> {
        match self {
            Channel::Smtp => Some(Protocol::Smtp),
            Channel::Imap => Some(Protocol::Imap),
            Channel::Pop => Some(Protocol::Pop),
            Channel::Client => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Smtp => "smtp",
            Channel::Imap => "imap",
            Channel::Pop => "pop",
            Channel::Client => "client",
        }
    }
}

/// A reply signature: when a text matches, it means `diagnosis`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureDef {
    pub id: String,
    pub protocol: Channel,
    /// Basic reply code (SMTP), e.g. 535.
    #[serde(default)]
    pub code: Option<u16>,
    /// Enhanced status code (RFC 3463), e.g. "5.7.139".
    #[serde(default)]
    pub enhanced: Option<String>,
    /// Case-insensitive regular expression over the normalized reply text.
    pub pattern: String,
    /// Only when the server was fingerprinted as this (e.g. "exchange-online").
    #[serde(default)]
    pub fingerprint: Option<String>,
    pub diagnosis: String,
    /// A last resort: dropped when a more specific signature matches too.
    #[serde(default)]
    pub fallback: bool,
    /// An umbrella error (RFC 6749's `invalid_grant`) whose cause an AADSTS
    /// number in the same text names: dropped when entra.toml reads one.
    #[serde(default)]
    pub umbrella: bool,
    /// The exact reply as seen in the source.
    pub example: String,
    pub source: String,
    /// Made by the loader from an entry of standards.toml (a reading by the
    /// reply's structure alone): ranked below every other reading.
    #[serde(skip)]
    pub standard: bool,
}

/// A reading by the standards alone (checks/standards.toml): a reply code, an
/// enhanced status code, or an IMAP or POP3 response code, with the meaning the
/// RFC gives it. The loader turns each into a signature of the lowest rank, so a
/// provider's wording always refines it, and the live checks read it too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardDef {
    pub id: String,
    pub protocol: Channel,
    /// A basic reply code (RFC 5321, RFC 4954), e.g. 535.
    #[serde(default)]
    pub code: Option<u16>,
    /// An enhanced status code (RFC 3463, IANA registry); `X.7.8` stands for both
    /// 4.7.8 and 5.7.8.
    #[serde(default)]
    pub enhanced: Option<String>,
    /// An IMAP (RFC 5530) or POP3 (RFC 2449, RFC 3206) response code, matched in
    /// brackets with any spacing, or quoted as a library prints it.
    #[serde(default)]
    pub response: Option<String>,
    /// The response code also counts bare (a word no other text uses).
    #[serde(default)]
    pub bare: bool,
    /// A case-insensitive regex the text must also match (e.g. "auth" beside a 503).
    #[serde(default)]
    pub words: Option<String>,
    pub diagnosis: String,
    /// What the standard says the reply means, in its own words.
    pub meaning: String,
    pub source: String,
}

/// Recognizes a server from its greeting (banner) on one protocol.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintDef {
    /// The server family, e.g. "exchange-online"; signatures name it.
    pub id: String,
    pub protocol: Protocol,
    /// Case-insensitive regular expression over the greeting.
    pub pattern: String,
    /// A real greeting, quoted exactly.
    pub example: String,
    pub source: String,
}

/// Recognizes a server family from text pasted by a user (a host name in a
/// server tag, a product name), when no greeting is at hand.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HintDef {
    pub fingerprint: String,
    pub pattern: String,
    pub example: String,
    pub source: String,
}

/// What a pasted text shows about the situation around an error (the client
/// logged in with XOAUTH2, the account is an Outlook.com one, the server is
/// on-premises Exchange), and how that changes the reading of the error.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextDef {
    pub id: String,
    /// What the context means, in words (shown with the explanation).
    pub meaning: String,
    /// Case-insensitive regular expression over the normalized text.
    pub pattern: String,
    /// Readings that cannot be the cause in this context...
    #[serde(default)]
    pub instead_of: Vec<String>,
    /// ...and the reading they become (a diagnosis code).
    #[serde(default)]
    pub read_as: Option<String>,
    /// A real text showing the context, quoted exactly from `source`.
    pub example: String,
    pub source: String,
}

/// The one question that tells two remaining readings apart
/// (checks/questions.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionDef {
    /// The two diagnosis codes, in either order.
    pub between: [String; 2],
    pub ask: String,
    pub answer: Vec<AnswerDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerDef {
    pub says: String,
    /// One of `between`.
    pub means: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointDef {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppPasswordShape {
    /// Regular expression the app password matches once pasted correctly.
    pub pattern: String,
    pub length: usize,
    /// Human words for the character set, e.g. "16 lowercase letters".
    pub description: String,
    /// Display groups the provider shows it in (size of each group), if any.
    #[serde(default)]
    pub group_size: Option<usize>,
    /// Separators used between display groups.
    #[serde(default)]
    pub group_separators: Vec<String>,
    /// Whether the separators are part of the password (Apple) or display only.
    #[serde(default)]
    pub separators_are_part: bool,
    /// How sure the source is; "unverified" shapes are reported as "likely".
    pub confidence: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderDef {
    pub id: String,
    pub name: String,
    /// Regexes over the domain's MX host names.
    #[serde(default)]
    pub mx: Vec<String>,
    /// Regexes over mail domains that belong to this provider (gmail.com, ...).
    #[serde(default)]
    pub domains: Vec<String>,
    /// Server host names of this provider beyond the profile's own endpoints
    /// (exact, any case): a user who names one is testing this provider.
    #[serde(default)]
    pub servers: Vec<String>,
    /// Greeting fingerprints (ids of fingerprints.toml) that show a server is
    /// this provider's.
    #[serde(default)]
    pub fingerprints: Vec<String>,
    #[serde(default)]
    pub smtp: Option<EndpointDef>,
    #[serde(default)]
    pub imap: Option<EndpointDef>,
    #[serde(default)]
    pub pop: Option<EndpointDef>,
    /// "address" (full e-mail address) or "local" (part before @).
    #[serde(default = "default_username")]
    pub username: String,
    #[serde(default)]
    pub app_password: Option<AppPasswordShape>,
    #[serde(default)]
    pub notes: Vec<String>,
    pub source: String,
}

fn default_username() -> String {
    "address".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FactDef {
    pub id: String,
    /// YYYY-MM-DD; for a month-level announcement, the last day meant.
    pub date: chrono::NaiveDate,
    pub provider: String,
    pub statement: String,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CharDef {
    /// e.g. "U+200B"
    pub cp: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsDef {
    /// Characters that are invisible when pasted.
    pub invisible: Vec<CharDef>,
    /// Unicode space characters other than U+0020 and tab.
    pub spaces: Vec<CharDef>,
    /// Quote characters that may wrap a pasted value.
    pub quotes: Vec<CharDef>,
}
