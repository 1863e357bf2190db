//! The knowledge base: what server replies mean, what providers look like, which
//! dated facts apply. It is data (`checks/*.toml`, compiled in as JSON by build.rs),
//! deserialized strictly, then validated: patterns compile (reply signatures when
//! the binary is built, and again on first use), every referenced code
//! exists, ids are unique. A helpdesk engineer who learns a new error text adds a
//! signature and a fixture, and touches no Rust.
//!
//! This module only loads and looks up; it never talks to the network or prints.

use crate::vocab::{Actor, Protocol, Severity, TlsMode};
// regex-lite: the knowledge base holds about a hundred patterns that each match a
// few short replies, so compiling them fast (start-up) matters more than matching
// speed; regex's full engines cost about 0.1 ms each to build.
use regex_lite::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Each file of `checks/` as JSON (build.rs converts it); errors name the TOML file.
macro_rules! kb_file {
    ($name:literal) => {
        include_str!(concat!(env!("OUT_DIR"), "/kb/", $name, ".json"))
    };
}

const DIAGNOSES: &str = kb_file!("diagnoses");
const SIGNATURES: &[(&str, &str)] = &[
    ("smtp.toml", kb_file!("smtp")),
    ("imap.toml", kb_file!("imap")),
    ("pop.toml", kb_file!("pop")),
];
const PROVIDERS: &str = kb_file!("providers");
const FACTS: &str = kb_file!("facts");
const CREDENTIALS: &str = kb_file!("credentials");
const FINGERPRINTS: &str = kb_file!("fingerprints");

/// Provider ids a dated fact may name even before a full profile exists in
/// providers.toml (the `--provider` values of the command-line contract).
pub const KNOWN_PROVIDER_IDS: &[&str] = &[
    "microsoft365",
    "outlook.com",
    "gmail",
    "icloud",
    "yahoo",
    "zoho",
    "fastmail",
    "generic",
];

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

/// A server-reply signature: when a reply matches, it means `diagnosis`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureDef {
    pub id: String,
    pub protocol: Protocol,
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
    /// The exact reply as seen in the source.
    pub example: String,
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

#[derive(Debug)]
pub struct Fingerprint {
    pub def: FingerprintDef,
    pub regex: Regex,
}

#[derive(Debug)]
pub struct Hint {
    pub def: HintDef,
    pub regex: Regex,
}

/// A reply signature. Its pattern is compiled on first use (a run meets few of
/// them, and every one was compiled once already when the binary was built); a
/// pattern that is plain ASCII text is matched as text, case-insensitively.
#[derive(Debug)]
pub struct Signature {
    pub def: SignatureDef,
    /// The pattern, lowercased, when it is plain ASCII text (most SMTP ones are).
    text: Option<String>,
    regex: OnceLock<Option<Regex>>,
}

impl Signature {
    fn new(def: SignatureDef) -> Signature {
        let p = &def.pattern;
        let plain = p.is_ascii() && !p.contains(|c: char| "\\.^$|?*+()[]{}".contains(c));
        Signature {
            text: plain.then(|| p.to_ascii_lowercase()),
            def,
            regex: OnceLock::new(),
        }
    }

    pub fn is_match(&self, text: &str) -> bool {
        if let Some(plain) = &self.text {
            return text.to_ascii_lowercase().contains(plain.as_str());
        }
        self.regex
            .get_or_init(|| ci_regex(&self.def.pattern, &self.def.id).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsFile {
    as_of: chrono::NaiveDate,
    fact: Vec<FactDef>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiagnosesFile {
    diagnosis: Vec<DiagnosisDef>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignaturesFile {
    signature: Vec<SignatureDef>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FingerprintsFile {
    fingerprint: Vec<FingerprintDef>,
    #[serde(default)]
    hint: Vec<HintDef>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    provider: Vec<ProviderDef>,
}

#[derive(Debug)]
pub struct Knowledge {
    pub diagnoses: Vec<DiagnosisDef>,
    by_code: HashMap<String, usize>,
    pub signatures: Vec<Signature>,
    pub providers: Vec<ProviderDef>,
    pub provider_mx: Vec<(String, Vec<Regex>, Vec<Regex>)>,
    pub facts: Vec<FactDef>,
    pub as_of: chrono::NaiveDate,
    pub credentials: CredentialsDef,
    pub fingerprints: Vec<Fingerprint>,
    pub hints: Vec<Hint>,
}

/// Codes the tool's own Rust code emits; the catalogue must define each of them.
pub const REQUIRED_CODES: &[&str] = &[
    "CRED_WHITESPACE",
    "CRED_INVISIBLE_CHAR",
    "CRED_QUOTED",
    "CRED_GROUPED_APP_PASSWORD",
    "CRED_APP_PASSWORD_SHAPE",
    "CRED_NON_ASCII",
    "CRED_USERNAME_FORMAT",
    "DNS_NXDOMAIN",
    "DNS_NO_ADDRESS",
    "DNS_TIMEOUT",
    "DNS_SERVFAIL",
    "NOT_MICROSOFT_365",
    "TCP_REFUSED",
    "TCP_TIMEOUT",
    "CONNECTION_CLOSED",
    "WRONG_TLS_MODE",
    "STARTTLS_MISSING",
    "TLS_CERT_EXPIRED",
    "TLS_CERT_NOT_YET_VALID",
    "TLS_CERT_EXPIRING",
    "TLS_HOSTNAME_MISMATCH",
    "TLS_UNTRUSTED",
    "TLS_PROTOCOL_TOO_OLD",
    "TLS_HANDSHAKE_FAILED",
    "SMTP_AUTH_NOT_OFFERED",
    "TLS_REQUIRED_BY_SERVER",
    "M365_SMTP_AUTH_DISABLED_TENANT",
    "M365_SMTP_AUTH_DISABLED_MAILBOX",
    "M365_BASIC_AUTH_DISABLED",
    "M365_SECURITY_DEFAULTS",
    "M365_CONDITIONAL_ACCESS",
    "ACCOUNT_LOCKED",
    "BAD_CREDENTIALS",
    "TEMPORARY_SERVER_ERROR",
    "GMAIL_APP_PASSWORD_REQUIRED",
    "GMAIL_WEB_LOGIN_REQUIRED",
    "M365_IMAP_BASIC_AUTH_RETIRED",
    "M365_POP_BASIC_AUTH_RETIRED",
    "M365_MAILBOX_NOT_CONNECTED",
    "IMAP_LOGIN_DISABLED",
    "TENANT_NOT_FOUND",
    "FEDERATED_DOMAIN",
    "SOVEREIGN_CLOUD_ENDPOINT",
    "M365_SMTP_BASIC_AUTH_SUNSET",
    "SERVER_PROTOCOL_ERROR",
    "OAUTH_TOKEN_REJECTED",
    "OAUTH_TOKEN_EXPIRED",
    "OAUTH_WRONG_AUDIENCE",
    "OAUTH_MISSING_SCOPE",
    "OAUTH_WRONG_USER",
];

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("checks/{file}: {message}")]
    Parse { file: String, message: String },
    #[error("knowledge base is inconsistent: {0}")]
    Invalid(String),
}

static KB: OnceLock<Result<Knowledge, String>> = OnceLock::new();

/// The knowledge base, loaded and validated once per process.
pub fn get() -> Result<&'static Knowledge, KnowledgeError> {
    KB.get_or_init(|| Knowledge::load().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| KnowledgeError::Invalid(e.clone()))
}

fn parse<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T, KnowledgeError> {
    // The position would be in the generated JSON, not in the TOML: leave it out.
    serde_json::from_str(text).map_err(|e| KnowledgeError::Parse {
        file: file.into(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

fn ci_regex(pattern: &str, what: &str) -> Result<Regex, KnowledgeError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .map_err(|e| KnowledgeError::Invalid(format!("{what}: bad pattern `{pattern}`: {e}")))
}

impl Knowledge {
    pub fn load() -> Result<Knowledge, KnowledgeError> {
        let d: DiagnosesFile = parse("diagnoses.toml", DIAGNOSES)?;
        let mut by_code = HashMap::new();
        for (i, def) in d.diagnosis.iter().enumerate() {
            if !is_code(&def.code) {
                return Err(KnowledgeError::Invalid(format!(
                    "diagnosis code `{}` must be UPPER_SNAKE_CASE",
                    def.code
                )));
            }
            if def.title.trim().is_empty() || def.fix.trim().is_empty() {
                return Err(KnowledgeError::Invalid(format!(
                    "diagnosis `{}` needs a title and a fix",
                    def.code
                )));
            }
            if by_code.insert(def.code.clone(), i).is_some() {
                return Err(KnowledgeError::Invalid(format!(
                    "duplicate diagnosis code `{}`",
                    def.code
                )));
            }
        }
        for code in REQUIRED_CODES {
            if !by_code.contains_key(*code) {
                return Err(KnowledgeError::Invalid(format!(
                    "diagnosis `{code}` is used by the tool but not defined in diagnoses.toml"
                )));
            }
        }

        let mut signatures = Vec::new();
        let mut ids = HashSet::new();
        for (file, text) in SIGNATURES {
            let f: SignaturesFile = parse(file, text)?;
            for def in f.signature {
                if !ids.insert(def.id.clone()) {
                    return Err(KnowledgeError::Invalid(format!(
                        "duplicate signature id `{}`",
                        def.id
                    )));
                }
                if !by_code.contains_key(&def.diagnosis) {
                    return Err(KnowledgeError::Invalid(format!(
                        "signature `{}` names unknown diagnosis `{}`",
                        def.id, def.diagnosis
                    )));
                }
                signatures.push(Signature::new(def));
            }
        }

        let p: ProvidersFile = parse("providers.toml", PROVIDERS)?;
        let mut provider_mx = Vec::new();
        let mut pids = HashSet::new();
        for prov in &p.provider {
            if !pids.insert(prov.id.clone()) {
                return Err(KnowledgeError::Invalid(format!(
                    "duplicate provider `{}`",
                    prov.id
                )));
            }
            let mx = prov
                .mx
                .iter()
                .map(|m| ci_regex(m, &prov.id))
                .collect::<Result<Vec<_>, _>>()?;
            let domains = prov
                .domains
                .iter()
                .map(|m| ci_regex(m, &prov.id))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(shape) = &prov.app_password {
                ci_regex(&shape.pattern, &prov.id)?;
            }
            provider_mx.push((prov.id.clone(), mx, domains));
        }
        if !pids.contains("generic") {
            return Err(KnowledgeError::Invalid(
                "providers.toml must define the `generic` provider".into(),
            ));
        }

        let f: FactsFile = parse("facts.toml", FACTS)?;
        let mut fids = HashSet::new();
        for fact in &f.fact {
            if !fids.insert(fact.id.clone()) {
                return Err(KnowledgeError::Invalid(format!(
                    "duplicate fact `{}`",
                    fact.id
                )));
            }
            if !pids.contains(&fact.provider)
                && !KNOWN_PROVIDER_IDS.contains(&fact.provider.as_str())
            {
                return Err(KnowledgeError::Invalid(format!(
                    "fact `{}` names unknown provider `{}`",
                    fact.id, fact.provider
                )));
            }
        }
        let credentials: CredentialsDef = parse("credentials.toml", CREDENTIALS)?;
        for c in credentials
            .invisible
            .iter()
            .chain(&credentials.spaces)
            .chain(&credentials.quotes)
        {
            if parse_cp(&c.cp).is_none() {
                return Err(KnowledgeError::Invalid(format!(
                    "credentials.toml: `{}` is not a U+XXXX code point",
                    c.cp
                )));
            }
        }

        let (fingerprints, hints) = load_fingerprints()?;
        for sig in &signatures {
            if let Some(fp) = &sig.def.fingerprint {
                if !fingerprints.iter().any(|f| &f.def.id == fp) {
                    return Err(KnowledgeError::Invalid(format!(
                        "signature `{}` names unknown fingerprint `{fp}`",
                        sig.def.id
                    )));
                }
            }
        }

        Ok(Knowledge {
            diagnoses: d.diagnosis,
            by_code,
            signatures,
            providers: p.provider,
            provider_mx,
            facts: f.fact,
            as_of: f.as_of,
            credentials,
            fingerprints,
            hints,
        })
    }

    pub fn diagnosis(&self, code: &str) -> Option<&DiagnosisDef> {
        self.by_code.get(code).map(|&i| &self.diagnoses[i])
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderDef> {
        self.providers.iter().find(|p| p.id == id)
    }

    pub fn fact(&self, id: &str) -> Option<&FactDef> {
        self.facts.iter().find(|f| f.id == id)
    }
}

fn load_fingerprints() -> Result<(Vec<Fingerprint>, Vec<Hint>), KnowledgeError> {
    let f: FingerprintsFile = parse("fingerprints.toml", FINGERPRINTS)?;
    let mut seen = HashSet::new();
    let mut fingerprints = Vec::new();
    for def in f.fingerprint {
        if !seen.insert((def.id.clone(), def.protocol)) {
            return Err(KnowledgeError::Invalid(format!(
                "fingerprint `{}` is defined twice for {}",
                def.id,
                def.protocol.as_str()
            )));
        }
        let regex = ci_regex(&def.pattern, &def.id)?;
        if !regex.is_match(&def.example) {
            return Err(KnowledgeError::Invalid(format!(
                "fingerprint `{}` ({}) does not match its own example",
                def.id,
                def.protocol.as_str()
            )));
        }
        fingerprints.push(Fingerprint { def, regex });
    }
    let ids: HashSet<&str> = fingerprints.iter().map(|f| f.def.id.as_str()).collect();
    let mut hints = Vec::new();
    for def in f.hint {
        if !ids.contains(def.fingerprint.as_str()) {
            return Err(KnowledgeError::Invalid(format!(
                "hint names unknown fingerprint `{}`",
                def.fingerprint
            )));
        }
        let regex = ci_regex(&def.pattern, &def.fingerprint)?;
        if !regex.is_match(&def.example) {
            return Err(KnowledgeError::Invalid(format!(
                "hint `{}` for `{}` does not match its own example",
                def.pattern, def.fingerprint
            )));
        }
        hints.push(Hint { def, regex });
    }
    Ok((fingerprints, hints))
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Parses "U+200B" into a char.
pub fn parse_cp(s: &str) -> Option<char> {
    let hex = s.strip_prefix("U+")?;
    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
}
