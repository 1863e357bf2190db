//! The `serve` configuration file (TOML): named modules with the check's options,
//! and the targets (an address, its module, where its secret comes from). It is
//! parsed strictly (unknown keys are errors, with their line) and then validated
//! as a whole: modules exist, addresses are plausible and unique per module,
//! servers and CA files parse, and every secret can be read from a private
//! regular file or a set environment variable. A config that fails any of this
//! is refused whole; nothing is probed with it.
//!
//! This module holds no secret: a target keeps where its secret comes from, and
//! the probe reads it when it runs. Error messages name files and keys, never a
//! secret's content.

use super::values::{check_address, parse_duration};
pub use super::values::{read_secret, SecretSource, SecretValue};
use crate::checks::NetOptions;
use crate::knowledge::Knowledge;
use crate::target::{Overrides, Target};
use crate::vocab::{CheckId, Protocol};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest config file read (a config for thousands of targets is far smaller).
const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// The shortest `min_interval` accepted: the lockout budget is never switched off.
pub const MIN_INTERVAL_FLOOR: Duration = Duration::from_secs(1);
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    modules: BTreeMap<String, RawModule>,
    #[serde(default)]
    targets: Vec<toml::Spanned<RawTarget>>,
}

/// A module: the check's flags, without the dashes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    smtp: Option<String>,
    imap: Option<String>,
    pop: Option<String>,
    provider: Option<String>,
    #[serde(default)]
    only: Vec<CheckId>,
    #[serde(default)]
    skip: Vec<CheckId>,
    timeout: Option<f64>,
    dns_server: Option<String>,
    ca_file: Option<PathBuf>,
    identity_url: Option<String>,
    #[serde(default)]
    allow_plaintext: bool,
    /// Hosts found by discovery that this module trusts with credentials.
    #[serde(default)]
    trust_discovered: Vec<String>,
    warning_days: Option<u32>,
    critical_days: Option<u32>,
    min_interval: Option<RawDuration>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    address: String,
    module: String,
    password_file: Option<PathBuf>,
    token_file: Option<PathBuf>,
    password_env: Option<String>,
    token_env: Option<String>,
    refresh_token_file: Option<PathBuf>,
    client_id: Option<String>,
    tenant: Option<String>,
    client_secret_file: Option<PathBuf>,
    min_interval: Option<RawDuration>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
enum RawDuration {
    Seconds(u64),
    Text(String),
}

/// One configured target, ready to probe.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The address as configured, and lower-cased (the key of the cache and the ledger).
    pub address: String,
    pub mailbox: String,
    pub module: String,
    pub target: Target,
    pub net: NetOptions,
    pub selected: BTreeSet<CheckId>,
    /// The protocols a probe of this target may log in with (its lockout budget).
    pub logins: Vec<Protocol>,
    pub min_interval: Duration,
    /// The module's timeout: each network step, and the most a whole probe may take.
    pub timeout: Duration,
    pub secret: SecretSource,
    /// Everything configured for this target but the secret's value: a reload that
    /// leaves it unchanged keeps the target's cached result.
    pub fingerprint: String,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub probes: Vec<Probe>,
    pub modules: BTreeSet<String>,
}

impl Config {
    /// The probes configured for an address (compared ignoring case).
    pub fn for_address(&self, address: &str) -> Vec<&Probe> {
        let key = address.trim().to_lowercase();
        self.probes.iter().filter(|p| p.mailbox == key).collect()
    }
    /// The longest `min_interval` in force: ledger entries older than it are spent.
    pub fn longest_interval(&self) -> Duration {
        self.probes
            .iter()
            .map(|p| p.min_interval)
            .max()
            .unwrap_or(DEFAULT_MIN_INTERVAL)
    }
}

/// A module's network settings as written, before its CA file is read.
#[derive(Debug, Clone)]
pub struct NetSpec {
    pub only: Vec<CheckId>,
    pub skip: Vec<CheckId>,
    pub timeout: f64,
    pub dns_server: Option<std::net::SocketAddr>,
    pub ca_file: Option<PathBuf>,
    pub allow_plaintext: bool,
    pub warning_days: u32,
    pub critical_days: u32,
    pub identity_url: String,
    /// Discovered hosts trusted with credentials (`--trust-discovered`).
    pub trust_discovered: Vec<String>,
}

/// Makes the network options of a module as the check's flags would (the command
/// hands in the flag handling `check` and `batch` use, CA file reading included).
pub type NetBuilder = dyn Fn(&NetSpec) -> Result<NetOptions, String> + Send + Sync;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

fn err(path: &Path, line: Option<usize>, why: impl std::fmt::Display) -> ConfigError {
    match line {
        Some(l) => ConfigError(format!("{} line {l}: {why}", path.display())),
        None => ConfigError(format!("{}: {why}", path.display())),
    }
}

/// Reads, parses and validates the file at `path` (secrets included).
pub fn load(kb: &Knowledge, path: &Path, net: &NetBuilder) -> Result<Config, ConfigError> {
    let text = read_bounded(path).map_err(|e| err(path, None, e))?;
    parse(kb, path, &text, net)
}

fn read_bounded(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the config: {e}"))?;
    if !meta.is_file() {
        return Err("the config is not a regular file".into());
    }
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read the config: {e}"))?;
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_CONFIG_BYTES + 1), &mut buf)
        .map_err(|e| format!("cannot read the config: {e}"))?;
    if buf.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "the config is larger than {} MiB",
            MAX_CONFIG_BYTES >> 20
        ));
    }
    String::from_utf8(buf).map_err(|_| "the config is not valid UTF-8".into())
}

/// Parses and validates config text (`path` names it in messages).
pub fn parse(
    kb: &Knowledge,
    path: &Path,
    text: &str,
    net: &NetBuilder,
) -> Result<Config, ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        err(path, line, e.message())
    })?;
    if raw.targets.is_empty() {
        return Err(err(path, None, "no [[targets]]: nothing to probe"));
    }
    let mut modules = BTreeMap::new();
    for (name, m) in &raw.modules {
        let built = build_module(kb, name, m, net)
            .map_err(|e| err(path, None, format!("[modules.{name}]: {e}")))?;
        modules.insert(name.clone(), built);
    }
    let mut seen = HashSet::new();
    let mut probes = Vec::with_capacity(raw.targets.len());
    for spanned in &raw.targets {
        let t = spanned.get_ref();
        // The line is counted only for a message: counting it for every target
        // made loading ten thousand of them quadratic.
        let fail = |why: String| err(path, Some(line_of(text, spanned.span().start)), why);
        check_address(&t.address).map_err(fail)?;
        let module = modules.get(&t.module).ok_or_else(|| {
            let known: Vec<&str> = raw.modules.keys().map(String::as_str).collect();
            fail(format!(
                "target {} names module `{}`, which is not defined (modules: {})",
                t.address,
                t.module,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let mailbox = t.address.trim().to_lowercase();
        if !seen.insert((mailbox.clone(), t.module.clone())) {
            return Err(fail(format!(
                "target {} with module `{}` is listed twice (addresses are compared ignoring case)",
                t.address, t.module
            )));
        }
        let google = raw.modules[&t.module]
            .provider
            .as_deref()
            .is_some_and(|p| p.starts_with("gmail") || p.starts_with("google"));
        let secret = secret_source(t, google).map_err(fail)?;
        // Validated now, read again by each probe.
        read_secret(&secret).map_err(|why| fail(format!("target {}: {why}", t.address)))?;
        let min_interval = match &t.min_interval {
            Some(d) => parse_interval(d).map_err(|why| fail(format!("min_interval: {why}")))?,
            None => module.min_interval,
        };
        let raw_module = &raw.modules[&t.module];
        let target = Target::build(
            kb,
            t.address.trim(),
            raw_module.provider.as_deref().unwrap_or("auto"),
            &module.overrides,
        )
        .map_err(|e| fail(format!("target {}: {e}", t.address)))?;
        let fingerprint = serde_json::to_string(&(raw_module, t)).unwrap_or_default();
        probes.push(Probe {
            address: t.address.trim().to_string(),
            mailbox,
            module: t.module.clone(),
            target,
            net: module.net.clone(),
            selected: module.selected.clone(),
            logins: module.logins.clone(),
            min_interval,
            timeout: module.net.timeout,
            secret,
            fingerprint,
        });
    }
    Ok(Config {
        path: path.to_path_buf(),
        probes,
        modules: raw.modules.keys().cloned().collect(),
    })
}

struct Module {
    overrides: Overrides,
    net: NetOptions,
    selected: BTreeSet<CheckId>,
    logins: Vec<Protocol>,
    min_interval: Duration,
}

fn build_module(
    kb: &Knowledge,
    name: &str,
    m: &RawModule,
    build_net: &NetBuilder,
) -> Result<Module, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err("a module name is letters, digits, `_`, `-` and `.`".into());
    }
    if !m.only.is_empty() && !m.skip.is_empty() {
        return Err("give `only` or `skip`, not both".into());
    }
    let timeout = m.timeout.unwrap_or(10.0);
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
        return Err("timeout must be between 0 and 3600 seconds".into());
    }
    for days in [m.warning_days, m.critical_days].into_iter().flatten() {
        if days > 100_000 {
            return Err("warning_days and critical_days are at most 100000".into());
        }
    }
    let dns_server = match &m.dns_server {
        Some(s) => Some(
            s.parse::<std::net::SocketAddr>()
                .map_err(|_| format!("dns_server `{s}` is not IP:PORT"))?,
        ),
        None => None,
    };
    let identity_url = m
        .identity_url
        .clone()
        .unwrap_or_else(|| crate::vocab::DEFAULT_IDENTITY_URL.to_string());
    if !(identity_url.starts_with("https://") || identity_url.starts_with("http://")) {
        return Err(format!(
            "identity_url `{identity_url}` is not an http(s) URL"
        ));
    }
    if let Some(p) = &m.provider {
        if p != "auto" && kb.provider(p).is_none() {
            return Err(format!(
                "unknown provider `{p}` (see `mailbox-doctor list`)"
            ));
        }
    }
    // The check's own flag handling builds the network options (and reads ca_file).
    let net = build_net(&NetSpec {
        only: m.only.clone(),
        skip: m.skip.clone(),
        timeout,
        dns_server,
        ca_file: m.ca_file.clone(),
        allow_plaintext: m.allow_plaintext,
        warning_days: m.warning_days.unwrap_or(30),
        critical_days: m.critical_days.unwrap_or(7),
        identity_url,
        trust_discovered: m
            .trust_discovered
            .iter()
            .map(|h| crate::target::trusted_host(h).map_err(|e| format!("trust_discovered: {e}")))
            .collect::<Result<_, _>>()?,
    })?;
    let selected = crate::runner::select(&m.only, &m.skip);
    let logins = [Protocol::Smtp, Protocol::Imap, Protocol::Pop]
        .into_iter()
        .filter(|p| selected.contains(&p.check_id()))
        .collect();
    let overrides = Overrides {
        smtp: m.smtp.clone(),
        imap: m.imap.clone(),
        pop: m.pop.clone(),
    };
    // Endpoint syntax is checked here, once, for every target of the module.
    Target::build(kb, "probe@example.invalid", "generic", &overrides).map_err(|e| e.to_string())?;
    let min_interval = match &m.min_interval {
        Some(d) => parse_interval(d).map_err(|why| format!("min_interval: {why}"))?,
        None => DEFAULT_MIN_INTERVAL,
    };
    Ok(Module {
        overrides,
        net,
        selected,
        logins,
        min_interval,
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn secret_source(t: &RawTarget, google: bool) -> Result<SecretSource, String> {
    let mut given = Vec::new();
    if let Some(p) = &t.password_file {
        given.push(SecretSource::PasswordFile(p.clone()));
    }
    if let Some(p) = &t.token_file {
        given.push(SecretSource::TokenFile(p.clone()));
    }
    if let Some(v) = &t.password_env {
        given.push(SecretSource::PasswordEnv(v.clone()));
    }
    if let Some(v) = &t.token_env {
        given.push(SecretSource::TokenEnv(v.clone()));
    }
    if let Some(p) = &t.refresh_token_file {
        if google && t.client_secret_file.is_none() {
            return Err(format!(
                "target {}: a Gmail refresh_token_file needs client_secret_file (Google's Desktop-app clients send their client secret with every token request)",
                t.address
            ));
        }
        // Google has no tenants: its targets name the client alone.
        let tenant = t.tenant.clone().or_else(|| google.then(String::new));
        let (Some(client_id), Some(tenant)) = (&t.client_id, tenant) else {
            return Err(format!(
                "target {}: refresh_token_file needs client_id and tenant (the app registration and tenant the token was issued by)",
                t.address
            ));
        };
        given.push(SecretSource::RefreshFile {
            file: p.clone(),
            client_id: client_id.clone(),
            tenant,
            client_secret_file: t.client_secret_file.clone(),
        });
    } else if t.client_secret_file.is_some() {
        return Err(format!(
            "target {}: client_secret_file goes with a refresh_token_file (the client secret the refresh is sent with)",
            t.address
        ));
    }
    match given.len() {
        1 => Ok(given.remove(0)),
        0 => Err(format!(
            "target {} says nowhere its secret comes from: give password_file, token_file, password_env or token_env",
            t.address
        )),
        _ => Err(format!(
            "target {} gives more than one of password_file, token_file, password_env and token_env",
            t.address
        )),
    }
}

fn parse_interval(d: &RawDuration) -> Result<Duration, String> {
    let v = match d {
        RawDuration::Seconds(s) => Duration::from_secs(*s),
        RawDuration::Text(t) => parse_duration(t)?,
    };
    if v < MIN_INTERVAL_FLOOR {
        return Err(format!(
            "at least {} s: the lockout budget cannot be switched off",
            MIN_INTERVAL_FLOOR.as_secs()
        ));
    }
    if v > Duration::from_secs(7 * 86_400) {
        return Err("at most 7 days".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let kb = crate::knowledge::get().expect("kb");
        let text = "[modules.m]\nsmtp = \"127.0.0.1:25\"\ncolour = \"red\"\n";
        let net = |_: &NetSpec| -> Result<NetOptions, String> { Err("not reached".into()) };
        let e = parse(kb, Path::new("s.toml"), text, &net).expect_err("refused");
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
