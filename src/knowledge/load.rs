//! Loading the knowledge base: each `checks/*.toml` file (compiled in as JSON by
//! build.rs) is deserialized strictly, then validated: patterns compile, every
//! referenced code, provider and fingerprint exists, ids are unique, and every
//! code the tool's own Rust emits is defined. A broken knowledge base is an
//! error here, never a wrong answer later.

use super::defs::*;
use super::matcher::{ci_regex, Context, Fingerprint, Hint, LazyRegex, Signature};
use super::{Knowledge, KnowledgeError};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

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
    ("client.toml", kb_file!("client")),
    // One vocabulary per stack family: what its own source can print (client side).
    ("vocab-tls.toml", kb_file!("vocab-tls")),
    ("vocab-network.toml", kb_file!("vocab-network")),
    ("vocab-mail.toml", kb_file!("vocab-mail")),
    ("vocab-oauth.toml", kb_file!("vocab-oauth")),
];
const STANDARDS: &str = kb_file!("standards");
const CONTEXTS: &str = kb_file!("context");
const QUESTIONS: &str = kb_file!("questions");
const PROVIDERS: &str = kb_file!("providers");
const FACTS: &str = kb_file!("facts");
const CREDENTIALS: &str = kb_file!("credentials");
const FINGERPRINTS: &str = kb_file!("fingerprints");
const ENTRA: &str = kb_file!("entra");
const SIGNINS: &str = kb_file!("signins");

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsFile {
    as_of: chrono::NaiveDate,
    fact: Vec<FactDef>,
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
    /// A vocabulary file's strings enumerated from a stack's source: test data
    /// (tests/vocabulary.rs), not read by the tool.
    #[serde(default)]
    #[serde(rename = "string")]
    _strings: Vec<serde::de::IgnoredAny>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StandardsFile {
    standard: Vec<StandardDef>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextsFile {
    context: Vec<ContextDef>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionsFile {
    question: Vec<QuestionDef>,
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
    "TLS_PRIVATE_ROOT",
    "TLS_LOCAL_STORE_OUTDATED",
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
    "SERVER_SETTINGS_DIFFER",
    "SERVERS_NOT_FOUND",
    "NOT_RECOGNISED",
    "XOAUTH2_NOT_OFFERED",
    "TENANT_LOOKUP_FAILED",
    "LOCAL_TOO_MANY_OPEN_FILES",
    // `paths`
    "PORT_25_BLOCKED",
    "DIRECT_SEND_REJECTED",
    "CONNECTOR_NOT_MATCHED",
    "SENDING_IP_BLOCKED",
    "HVE_AUTH_POLICY",
    "HVE_EXTERNAL_NOT_SUPPORTED",
    "PATH_UNTESTED",
    "PATH_NOT_APPLICABLE",
    "PATH_REFUSED",
    // `paths --client-certificate`
    "CLIENT_CERTIFICATE_REQUIRED",
    "CLIENT_CERTIFICATE_REFUSED",
];

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
                // client.toml and the vocabularies hold client-side text, the
                // others a server's replies.
                let client_file = *file == "client.toml" || file.starts_with("vocab-");
                if client_file != (def.protocol == Channel::Client) {
                    return Err(KnowledgeError::Invalid(format!(
                        "{file}: signature `{}` has protocol `{}`, which belongs in another file",
                        def.id,
                        def.protocol.as_str()
                    )));
                }
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
        let f: StandardsFile = parse("standards.toml", STANDARDS)?;
        for std in f.standard {
            if !by_code.contains_key(&std.diagnosis) {
                return Err(KnowledgeError::Invalid(format!(
                    "standard `{}` names unknown diagnosis `{}`",
                    std.id, std.diagnosis
                )));
            }
            if !ids.insert(std.id.clone()) {
                return Err(KnowledgeError::Invalid(format!(
                    "duplicate signature id `{}`",
                    std.id
                )));
            }
            // Compiled on first use, as every signature; tests/knowledge.rs
            // matches each against its example.
            let def = standard_signature(std)?;
            signatures.push(Signature::new(def));
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
        for prov in &p.provider {
            for fp in &prov.fingerprints {
                if !fingerprints.iter().any(|f| &f.def.id == fp) {
                    return Err(KnowledgeError::Invalid(format!(
                        "provider `{}` names unknown fingerprint `{fp}`",
                        prov.id
                    )));
                }
            }
        }
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

        let contexts = load_contexts(&|code| by_code.contains_key(code))?;
        let questions = load_questions(&|code| by_code.contains_key(code))?;

        let entra = super::entra::Entra::build(
            parse("entra.toml", ENTRA)?,
            parse("signins.toml", SIGNINS)?,
            &|code| by_code.contains_key(code),
            &|id| fids.contains(id),
        )
        .map_err(KnowledgeError::Invalid)?;

        Ok(Knowledge {
            entra,
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
            contexts,
            questions,
        })
    }
}

/// questions.toml: each names two known diagnoses, once per pair, and answers
/// that decide between exactly those two, each of them by some answer.
fn load_questions(
    diagnosis_exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<QuestionDef>, KnowledgeError> {
    let f: QuestionsFile = parse("questions.toml", QUESTIONS)?;
    let mut pairs = HashSet::new();
    for q in &f.question {
        let [a, b] = &q.between;
        let what = format!("question between `{a}` and `{b}`");
        let bad = |why: &str| Err(KnowledgeError::Invalid(format!("{what} {why}")));
        if let Some(code) = q.between.iter().find(|c| !diagnosis_exists(c)) {
            return bad(&format!("names unknown diagnosis `{code}`"));
        }
        if a == b || !pairs.insert((a.min(b).clone(), a.max(b).clone())) {
            return bad("is not a pair, or is asked twice");
        }
        if q.ask.trim().is_empty() || q.answer.iter().any(|x| x.says.trim().is_empty()) {
            return bad("needs the question and every answer in words");
        }
        if q.answer.iter().any(|x| !q.between.contains(&x.means))
            || !q
                .between
                .iter()
                .all(|c| q.answer.iter().any(|x| &x.means == c))
        {
            return bad("needs answers that mean one of the two, and each of them");
        }
    }
    Ok(f.question)
}

fn load_contexts(diagnosis_exists: &dyn Fn(&str) -> bool) -> Result<Vec<Context>, KnowledgeError> {
    let f: ContextsFile = parse("context.toml", CONTEXTS)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for def in f.context {
        let what = format!("context `{}`", def.id);
        if !seen.insert(def.id.clone()) {
            return Err(KnowledgeError::Invalid(format!("{what} is defined twice")));
        }
        let codes = def.instead_of.iter().chain(&def.read_as);
        if let Some(code) = codes.into_iter().find(|c| !diagnosis_exists(c)) {
            return Err(KnowledgeError::Invalid(format!(
                "{what} names unknown diagnosis `{code}`"
            )));
        }
        if def.instead_of.is_empty() != def.read_as.is_none() || def.meaning.trim().is_empty() {
            return Err(KnowledgeError::Invalid(format!(
                "{what} needs a meaning, and `instead_of` and `read_as` together or neither"
            )));
        }
        // The pattern compiled when the binary was built, and each example is
        // matched by tests/knowledge.rs: start-up compiles nothing.
        let needles = super::pattern::required_text(&def.pattern);
        out.push(Context {
            def,
            regex: LazyRegex::default(),
            needles,
        });
    }
    Ok(out)
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
        let needles = super::pattern::required_text(&def.pattern);
        fingerprints.push(Fingerprint {
            def,
            regex: LazyRegex::default(),
            needles,
        });
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
        let needles = super::pattern::required_text(&def.pattern);
        hints.push(Hint {
            def,
            regex: LazyRegex::default(),
            needles,
        });
    }
    Ok((fingerprints, hints))
}

/// A standards.toml entry as a signature: its pattern asks for the code (and the
/// words, when given) in any order; it ranks below every other reading.
fn standard_signature(std: StandardDef) -> Result<SignatureDef, KnowledgeError> {
    let bad = |why: &str| KnowledgeError::Invalid(format!("standards.toml: `{}` {why}", std.id));
    let keys = [
        std.code.is_some(),
        std.enhanced.is_some(),
        std.response.is_some(),
    ];
    if keys.iter().filter(|k| **k).count() != 1 {
        return Err(bad("needs exactly one of code, enhanced, response"));
    }
    if std.protocol == Channel::Client {
        return Err(bad("reads a server's reply: protocol smtp, imap or pop"));
    }
    let key = if let Some(code) = std.code {
        if !(200..600).contains(&code) {
            return Err(bad("has a reply code out of range"));
        }
        format!(r#"(?:^|[\s(\['"=,]){code}(?:[\s\-,'")]|$)"#)
    } else if let Some(e) = &std.enhanced {
        let mut parts = e.split('.');
        let (class, subject, detail) = (parts.next(), parts.next(), parts.next());
        fn digits(p: Option<&str>) -> Option<&str> {
            p.filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        }
        let class = match class {
            Some("X") => "[45]".to_string(),
            c => digits(c)
                .ok_or_else(|| bad("has a bad enhanced code"))?
                .to_string(),
        };
        let subject = digits(subject).ok_or_else(|| bad("has a bad enhanced code"))?;
        let detail = match detail {
            Some("*") => "[0-9]{1,3}".to_string(),
            d => digits(d)
                .ok_or_else(|| bad("has a bad enhanced code"))?
                .to_string(),
        };
        format!(r"(?:^|[^0-9.]){class}\.{subject}\.{detail}(?:[^0-9]|$)")
    } else {
        let r = std.response.as_deref().unwrap_or_default();
        if r.is_empty()
            || !r
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'/' || b == b'-')
        {
            return Err(bad("has a bad response code"));
        }
        let esc = regex_lite::escape(r);
        let bracketed = format!(r"\[\s*{esc}\s*\]|['\x22]{esc}['\x22]");
        if std.bare {
            format!(r"{bracketed}|\b{esc}\b")
        } else {
            bracketed
        }
    };
    let pattern = match &std.words {
        Some(w) => format!("(?:{key}).*(?:{w})|(?:{w}).*(?:{key})"),
        None => key,
    };
    Ok(SignatureDef {
        id: std.id,
        protocol: std.protocol,
        code: std.code,
        enhanced: None,
        pattern,
        fingerprint: None,
        diagnosis: std.diagnosis,
        fallback: false,
        umbrella: false,
        example: std.meaning,
        source: std.source,
        standard: true,
    })
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
