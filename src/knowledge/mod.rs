//! The knowledge base: what server replies mean, what providers look like, which
//! dated facts apply. It is data (`checks/*.toml`, compiled in as JSON by build.rs),
//! deserialized strictly, then validated: patterns compile (reply signatures when
//! the binary is built, and again on first use), every referenced code
//! exists, ids are unique. A helpdesk engineer who learns a new error text adds a
//! signature (`checks/smtp.toml` for a server's reply, `checks/client.toml` for
//! what a client library, the system or a device prints) and a fixture or a corpus
//! line, and touches no Rust.
//!
//! This module and its parts only load, match and look up; it never talks to the network or prints.

mod defs;
pub mod entra;
mod load;
pub mod matcher;
pub mod normalize;
mod pattern;
mod query;
pub mod reading;

pub use defs::*;
pub use load::{parse_cp, KNOWN_PROVIDER_IDS, REQUIRED_CODES};
pub use matcher::{Context, Fingerprint, Hint, Signature};
pub use query::{
    provider_for_domain, provider_for_fingerprint, provider_for_mx, provider_for_server,
};
pub use reading::{Reading, TextReading};
use regex_lite::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;

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
    /// What a pasted text shows around an error, and how it changes the reading.
    pub contexts: Vec<Context>,
    /// The question that tells two remaining readings apart.
    pub questions: Vec<QuestionDef>,
    /// AADSTS codes and sign-in log client apps.
    pub entra: entra::Entra,
}

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
