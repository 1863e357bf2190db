//! OAuth 2.0 access tokens for XOAUTH2: reads a token's claims WITHOUT verifying
//! its signature (only the provider can do that) to explain the usual mistakes
//! before the token is sent: expired, issued for another audience, missing the
//! protocol's scope, issued for another user. A token that is not a JWT is opaque
//! and is simply sent.
//!
//! The token is a `Secret`: nothing here formats it; claims that are reported
//! (audience, scopes, user, expiry) are not secret.

use crate::vocab::{Finding, Protocol, Severity};
use base64::Engine as _;

pub mod app;
pub mod browser;
pub mod device;
pub mod endpoint;
pub mod google;

/// The steps of one sign-in, with when each ended (milliseconds since the start):
/// what the report's `signin` check shows. No step holds a secret.
#[derive(Debug, Clone)]
pub struct Steps {
    start: std::time::Instant,
    pub items: Vec<serde_json::Value>,
}

impl Default for Steps {
    fn default() -> Self {
        Steps {
            start: std::time::Instant::now(),
            items: Vec::new(),
        }
    }
}

impl Steps {
    pub fn push(&mut self, step: &str, outcome: impl Into<String>) {
        self.items.push(serde_json::json!({
            "step": step,
            "outcome": outcome.into(),
            "at_ms": self.start.elapsed().as_millis() as u64,
        }));
    }
}

/// Where a sign-in tells the person at the keyboard what to do (the device code
/// and its address, the authorize address): standard error, from the command.
pub type Notify = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// The audiences Exchange Online accepts for IMAP/POP/SMTP tokens.
pub const EXCHANGE_AUDIENCES: &[&str] = &[
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook.office.com/",
    "https://outlook.office365.com/",
    "00000002-0000-0ff1-ce00-000000000000",
    "https://outlook.office365.us",
    "https://partner.outlook.cn",
];

/// The claims this tool looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Claims {
    pub audience: Vec<String>,
    /// Delegated scopes (`scp`, space-separated).
    pub scopes: Vec<String>,
    /// Application permissions (`roles`).
    pub roles: Vec<String>,
    /// `upn`, `unique_name`, `preferred_username` or `email`, whichever comes first.
    pub user: Option<String>,
    /// Seconds since the epoch.
    pub expires: Option<i64>,
    pub not_before: Option<i64>,
    pub tenant_id: Option<String>,
    pub issuer: Option<String>,
}

/// Decodes the payload of a compact JWT (`header.payload.signature`); None when the
/// token is not one (opaque, encrypted, or garbage).
pub fn decode_claims(token: &str) -> Option<Claims> {
    let token = token.trim();
    if token.len() > 64 * 1024 {
        return None;
    }
    let mut parts = token.split('.');
    let (_h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let obj = v.as_object()?;
    let strs = |k: &str| -> Vec<String> {
        match obj.get(k) {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let s = |k: &str| obj.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Some(Claims {
        audience: strs("aud"),
        scopes: s("scp")
            .map(|x| x.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        roles: strs("roles"),
        user: ["upn", "unique_name", "preferred_username", "email"]
            .iter()
            .find_map(|k| s(k)),
        expires: obj.get("exp").and_then(|x| x.as_i64()),
        not_before: obj.get("nbf").and_then(|x| x.as_i64()),
        tenant_id: s("tid"),
        issuer: s("iss"),
    })
}

/// The delegated scope and the application role Exchange Online needs per protocol.
pub fn needed(protocol: Protocol) -> (&'static str, &'static str) {
    match protocol {
        Protocol::Smtp => ("SMTP.Send", "SMTP.SendAsApp"),
        Protocol::Imap => ("IMAP.AccessAsUser.All", "IMAP.AccessAsApp"),
        Protocol::Pop => ("POP.AccessAsUser.All", "POP.AccessAsApp"),
    }
}

fn has_scope(claims: &Claims, protocol: Protocol) -> bool {
    let (scope, role) = needed(protocol);
    let tail = |s: &str| s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
    claims
        .scopes
        .iter()
        .any(|s| tail(s) == scope.to_ascii_lowercase())
        || claims
            .roles
            .iter()
            .any(|r| tail(r) == role.to_ascii_lowercase())
}

/// Findings about a token for `user` and the given protocols, at time `now` (seconds).
pub fn review(claims: &Claims, user: &str, protocols: &[Protocol], now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(exp) = claims.expires {
        if exp <= now {
            let mins = (now - exp) / 60;
            out.push(Finding::new(
                "OAUTH_TOKEN_EXPIRED",
                Severity::Critical,
                format!("the access token expired {mins} minutes ago"),
            ));
        }
    }
    if let Some(nbf) = claims.not_before {
        if nbf > now + 300 {
            out.push(Finding::new(
                "OAUTH_TOKEN_EXPIRED",
                Severity::Critical,
                "the access token is not valid yet (check the clock)",
            ));
        }
    }
    if !claims.audience.is_empty()
        && !claims
            .audience
            .iter()
            .any(|a| EXCHANGE_AUDIENCES.iter().any(|x| a.eq_ignore_ascii_case(x)))
    {
        out.push(Finding::new(
            "OAUTH_WRONG_AUDIENCE",
            Severity::Critical,
            format!(
                "the access token is for {}, not for Exchange Online (https://outlook.office.com)",
                claims.audience.join(", ")
            ),
        ));
    }
    for p in protocols {
        if !has_scope(claims, *p) {
            let (scope, role) = needed(*p);
            out.push(Finding::new(
                "OAUTH_MISSING_SCOPE",
                Severity::Critical,
                format!(
                    "the access token lacks {} (delegated scope {scope}, or application permission {role})",
                    p.as_str().to_ascii_uppercase()
                ),
            ));
        }
    }
    if let Some(u) = &claims.user {
        if claims.roles.is_empty() && !u.eq_ignore_ascii_case(user) {
            out.push(Finding::new(
                "OAUTH_WRONG_USER",
                Severity::Critical,
                format!("the access token was issued to {u}, not to {user}"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: serde_json::Value) -> String {
        let e = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            e(br#"{"alg":"RS256","typ":"JWT"}"#),
            e(payload.to_string().as_bytes()),
            e(b"sig")
        )
    }

    #[test]
    fn a_good_delegated_token_has_no_findings() {
        let t = jwt(
            serde_json::json!({"aud":"https://outlook.office.com","scp":"IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send","upn":"alice@contoso.com","exp":2000}),
        );
        let c = decode_claims(&t).expect("jwt");
        assert!(review(
            &c,
            "Alice@Contoso.com",
            &[Protocol::Smtp, Protocol::Imap, Protocol::Pop],
            1000
        )
        .is_empty());
    }

    #[test]
    fn expired_wrong_audience_missing_scope_wrong_user() {
        let t = jwt(
            serde_json::json!({"aud":"https://graph.microsoft.com","scp":"Mail.Read","upn":"bob@contoso.com","exp":1000}),
        );
        let c = decode_claims(&t).expect("jwt");
        let codes: Vec<String> = review(&c, "alice@contoso.com", &[Protocol::Imap], 1600)
            .into_iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(
            codes,
            [
                "OAUTH_TOKEN_EXPIRED",
                "OAUTH_WRONG_AUDIENCE",
                "OAUTH_MISSING_SCOPE",
                "OAUTH_WRONG_USER"
            ]
        );
    }

    #[test]
    fn app_only_roles_count_and_opaque_tokens_are_none() {
        let t = jwt(
            serde_json::json!({"aud":"https://outlook.office365.com","roles":["IMAP.AccessAsApp"],"exp":2000}),
        );
        let c = decode_claims(&t).expect("jwt");
        assert!(review(&c, "alice@contoso.com", &[Protocol::Imap], 1000).is_empty());
        for opaque in ["ya29.a0AfH6SMB", "", "a.b", "a.b.c.d", "!!!.@@@.###"] {
            assert!(decode_claims(opaque).is_none(), "{opaque}");
        }
    }
}
