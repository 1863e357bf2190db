//! The Microsoft Entra part of the knowledge base: AADSTS codes with Microsoft's
//! own text and the diagnosis each leads to (`checks/entra.toml`), and how the
//! sign-in logs name client apps, which of them are legacy authentication and which
//! dated fact ends their password sign-ins (`checks/signins.toml`).
//!
//! Loaded strictly (unknown fields are errors) and validated against the rest of
//! the catalogue: every diagnosis and fact named must exist, no AADSTS number or
//! client-app name twice. Read-only; it never prints or touches the network.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// One AADSTS code, as Microsoft documents it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EntraCode {
    /// The AADSTS number, e.g. 50126.
    pub code: u32,
    /// Microsoft's error name, e.g. "InvalidUserNameOrPassword", when it has one.
    #[serde(default)]
    pub name: Option<String>,
    /// A code of diagnoses.toml.
    pub diagnosis: String,
    /// Microsoft's words, quoted exactly.
    pub text: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntraFile {
    code: Vec<EntraCode>,
}

/// A client app as the sign-in logs name it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientAppDef {
    /// The name as the portal writes it, e.g. "Authenticated SMTP".
    pub name: String,
    /// Other spellings met in logs and tools, e.g. "SMTP".
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Legacy (basic) authentication: a password with every request.
    pub legacy: bool,
    /// The dated fact (facts.toml) that ends password sign-ins for it.
    #[serde(default)]
    pub fact: Option<String>,
    /// The diagnosis whose fix applies to its password sign-ins.
    #[serde(default)]
    pub diagnosis: Option<String>,
    /// Microsoft's description, quoted exactly.
    pub description: String,
    pub source: String,
}

/// Entra smart lockout, as Microsoft documents it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutDef {
    /// AADSTS codes of a wrong password.
    pub bad_password: Vec<u32>,
    /// AADSTS codes of a locked account (or blocked address).
    pub locked: Vec<u32>,
    /// Failed attempts before the default lock (Azure Public).
    pub threshold: u32,
    /// Microsoft's words on the threshold, quoted exactly.
    pub statement: String,
    /// Microsoft's words on repeats of one wrong password, quoted exactly.
    pub same_password: String,
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigninsFile {
    lockout: LockoutDef,
    client_app: Vec<ClientAppDef>,
}

/// What `signins` and `explain` know about Entra, validated.
#[derive(Debug)]
pub struct Entra {
    pub codes: Vec<EntraCode>,
    by_number: HashMap<u32, usize>,
    pub client_apps: Vec<ClientAppDef>,
    /// Lowercased name or alias -> index in `client_apps`.
    by_app_name: HashMap<String, usize>,
    pub lockout: LockoutDef,
}

impl Entra {
    /// Validates both files against the diagnosis codes and fact ids that exist.
    pub(crate) fn build(
        codes: EntraFile,
        signins: SigninsFile,
        diagnosis_exists: &dyn Fn(&str) -> bool,
        fact_exists: &dyn Fn(&str) -> bool,
    ) -> Result<Entra, String> {
        let mut by_number = HashMap::new();
        for (i, c) in codes.code.iter().enumerate() {
            if by_number.insert(c.code, i).is_some() {
                return Err(format!("entra.toml: AADSTS{} is defined twice", c.code));
            }
            if !diagnosis_exists(&c.diagnosis) {
                return Err(format!(
                    "entra.toml: AADSTS{} names unknown diagnosis `{}`",
                    c.code, c.diagnosis
                ));
            }
            if c.text.trim().is_empty() || !c.source.starts_with("https://") {
                return Err(format!(
                    "entra.toml: AADSTS{} needs Microsoft's text and an https source",
                    c.code
                ));
            }
            if c.name.as_deref().is_some_and(|n| {
                n.is_empty() || !n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            }) {
                return Err(format!(
                    "entra.toml: AADSTS{} has a name that is not an identifier",
                    c.code
                ));
            }
        }
        let mut by_app_name = HashMap::new();
        for (i, app) in signins.client_app.iter().enumerate() {
            for n in std::iter::once(&app.name).chain(&app.aliases) {
                if by_app_name.insert(n.to_lowercase(), i).is_some() {
                    return Err(format!("signins.toml: client app `{n}` is named twice"));
                }
            }
            if let Some(d) = app.diagnosis.as_deref().filter(|d| !diagnosis_exists(d)) {
                return Err(format!(
                    "signins.toml: client app `{}` names unknown diagnosis `{d}`",
                    app.name
                ));
            }
            if let Some(f) = app.fact.as_deref().filter(|f| !fact_exists(f)) {
                return Err(format!(
                    "signins.toml: client app `{}` names unknown fact `{f}`",
                    app.name
                ));
            }
            if app.legacy && app.diagnosis.is_none() {
                return Err(format!(
                    "signins.toml: legacy client app `{}` needs a diagnosis (its fix)",
                    app.name
                ));
            }
        }
        let lockout = signins.lockout;
        for code in lockout.bad_password.iter().chain(&lockout.locked) {
            if !by_number.contains_key(code) {
                return Err(format!(
                    "signins.toml: lockout names AADSTS{code}, which entra.toml does not define"
                ));
            }
        }
        let distinct: HashSet<_> = lockout.bad_password.iter().collect();
        if lockout.locked.iter().any(|c| distinct.contains(c)) || lockout.threshold == 0 {
            return Err("signins.toml: lockout codes overlap or the threshold is 0".into());
        }
        Ok(Entra {
            codes: codes.code,
            by_number,
            client_apps: signins.client_app,
            by_app_name,
            lockout,
        })
    }

    /// The AADSTS code `code`, when the knowledge base has it.
    pub fn code(&self, code: u32) -> Option<&EntraCode> {
        self.by_number.get(&code).map(|&i| &self.codes[i])
    }

    /// The client app the logs call `name` (any case, or an alias).
    pub fn client_app(&self, name: &str) -> Option<&ClientAppDef> {
        self.by_app_name
            .get(&name.trim().to_lowercase())
            .map(|&i| &self.client_apps[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(codes: &str, apps: &str) -> (EntraFile, SigninsFile) {
        let lockout = r#""lockout": {"bad_password": [50126], "locked": [50053], "threshold": 10,
            "statement": "s", "same_password": "p", "source": "https://x.invalid"}"#;
        (
            serde_json::from_str(&format!(r#"{{"code": [{codes}]}}"#)).expect("codes"),
            serde_json::from_str(&format!(r#"{{{lockout}, "client_app": [{apps}]}}"#))
                .expect("apps"),
        )
    }

    const OK: &str = r#"{"code": 50126, "diagnosis": "BAD_CREDENTIALS", "text": "t", "source": "https://x.invalid"},
        {"code": 50053, "diagnosis": "ACCOUNT_LOCKED", "text": "t", "source": "https://x.invalid"}"#;
    const APP: &str = r#"{"name": "IMAP4", "legacy": true, "fact": "f", "diagnosis": "BAD_CREDENTIALS", "description": "d", "source": "https://x.invalid"}"#;

    fn build(codes: &str, apps: &str) -> Result<Entra, String> {
        let (c, a) = files(codes, apps);
        Entra::build(c, a, &|d| d != "NOPE", &|f| f == "f")
    }

    #[test]
    fn a_consistent_table_loads() {
        let e = build(OK, APP).expect("loads");
        assert_eq!(
            e.code(50126).map(|c| c.diagnosis.as_str()),
            Some("BAD_CREDENTIALS")
        );
        assert!(e.client_app("imap4").is_some());
    }

    #[test]
    fn duplicates_unknown_codes_and_unknown_facts_are_rejected() {
        let dup = format!(
            "{OK}, {}",
            OK.split("},").next().unwrap_or_default().to_string() + "}"
        );
        assert!(build(&dup, APP).expect_err("rejected").contains("twice"));
        let bad = OK.replace("ACCOUNT_LOCKED", "NOPE");
        assert!(build(&bad, APP)
            .expect_err("rejected")
            .contains("unknown diagnosis"));
        assert!(build(OK, &APP.replace("\"f\"", "\"g\""))
            .expect_err("rejected")
            .contains("unknown fact"));
        assert!(build(OK, &format!("{APP}, {APP}"))
            .expect_err("rejected")
            .contains("named twice"));
        let no_lock_code = OK.replace("50053", "50054");
        assert!(build(&no_lock_code, APP)
            .expect_err("rejected")
            .contains("AADSTS50053"));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: Result<EntraFile, _> = serde_json::from_str(
            r#"{"code": [{"code": 1, "diagnosis": "X", "text": "t", "source": "s", "extra": 1}]}"#,
        );
        assert!(r.is_err());
    }
}
