//! The client side of an OAuth 2.0 authority: where its endpoints are, and one
//! POST to its token or device-code endpoint over `net::http` (the tool's own
//! resolver, verified TLS, a deadline per exchange, the proxy when one is set).
//!
//! Every secret that crosses here (device code, authorization code, PKCE
//! verifier, client secret, client assertion, access and refresh tokens) is a
//! `Secret`, and the run's scrubber learns each one before anything that could
//! repeat it is kept: an answer's error text is scrubbed before it is returned.

use crate::net::http;
use crate::net::scrub::{Credential, Scrubber};
use crate::secret::Secret;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Where an authority lives: `https://host[:port][/base]/{tenant}/oauth2/v2.0/…`
/// (Microsoft), or Google's token endpoint `https://host[:port][/base]/token`
/// with its authorize page at an address of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub host: String,
    pub port: u16,
    pub base: String,
    /// A tenant id, a domain, or `organizations` / `common` / `consumers`
    /// (Microsoft; empty for Google).
    pub tenant: String,
    pub dialect: Dialect,
}

/// Whose endpoints these are: their paths differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// The Microsoft identity platform's v2.0 endpoints under a tenant.
    Microsoft,
    /// Google's: the token endpoint at `{base}/token`, the authorize page at
    /// `authorize` (another host in production).
    Google { authorize: String },
}

impl Authority {
    /// The path of one of the endpoints (`token`, `devicecode`, `authorize`).
    pub fn path(&self, leaf: &str) -> String {
        match &self.dialect {
            Dialect::Microsoft => format!(
                "{}/{}/oauth2/v2.0/{leaf}",
                self.base,
                http::query_value(&self.tenant)
            ),
            Dialect::Google { .. } => format!("{}/{leaf}", self.base),
        }
    }

    fn origin(&self) -> String {
        let port = if self.port == 443 {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        format!("https://{}{port}", self.host)
    }

    /// The address of the authorize page, without its query.
    pub fn authorize_url(&self) -> String {
        match &self.dialect {
            Dialect::Microsoft => format!("{}{}", self.origin(), self.path("authorize")),
            Dialect::Google { authorize } => authorize.clone(),
        }
    }

    /// The authority as a URL, for the report.
    pub fn url(&self) -> String {
        match &self.dialect {
            Dialect::Microsoft => format!("{}{}/{}", self.origin(), self.base, self.tenant),
            Dialect::Google { .. } => format!("{}{}", self.origin(), self.base),
        }
    }
}

/// The authority host of a Microsoft cloud, from the tenant's cloud instance name
/// (`microsoftonline.com`, `microsoftonline.us`, `partner.microsoftonline.cn`).
/// Source: https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud
pub fn authority_host_for_cloud(cloud_instance: &str) -> &'static str {
    let c = cloud_instance.to_ascii_lowercase();
    if c.ends_with("microsoftonline.us") {
        "login.microsoftonline.us"
    } else if c.ends_with("microsoftonline.cn") || c.contains("chinacloud") {
        "login.partner.microsoftonline.cn"
    } else {
        "login.microsoftonline.com"
    }
}

/// What the authority said when it refused (RFC 6749 §5.2, Microsoft adds
/// `error_codes`). `description` is already scrubbed of the run's secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: String,
    pub description: String,
    /// AADSTS numbers, from `error_codes` or read from the description.
    pub codes: Vec<u32>,
}

impl OAuthError {
    pub fn has_code(&self, code: u32) -> bool {
        self.codes.contains(&code)
    }
}

/// Why an exchange with the authority gave no token.
#[derive(Debug, Clone)]
pub enum Failure {
    /// Connect, TLS, HTTP, or the deadline: the authority could not be asked.
    Transport(String),
    /// The authority answered with an OAuth error.
    OAuth(OAuthError),
    /// The answer was not what an authority sends.
    Malformed(String),
    /// The sign-in's own deadline passed (the user never finished).
    Deadline(String),
    /// Refused by this tool before anything was sent (a state mismatch, a flow
    /// the provider does not allow for these scopes).
    Refused(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transport(e) => write!(f, "{e}"),
            Failure::OAuth(e) => write!(f, "{}: {}", e.error, e.description),
            Failure::Malformed(e) | Failure::Deadline(e) | Failure::Refused(e) => {
                write!(f, "{e}")
            }
        }
    }
}

/// A successful token answer. The tokens are secrets the scrubber has learned.
#[derive(Debug)]
pub struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

/// Talks to one authority for one account, teaching the run's scrubber every
/// secret it handles.
#[derive(Clone)]
pub struct Client {
    pub authority: Authority,
    pub route: http::Route,
    pub extra_roots: Vec<Vec<u8>>,
    /// The deadline of each exchange.
    pub timeout: Duration,
    pub scrub: Arc<Scrubber>,
    /// The account the secrets belong to (for the SASL forms the scrubber knows).
    pub user: String,
}

impl Client {
    /// Teaches the run's scrubber a secret, the moment it exists.
    pub fn learn(&self, secret: &Secret, token: bool) {
        self.scrub.learn(&[Credential {
            user: &self.user,
            secret,
            token,
        }]);
    }

    /// POSTs `form` to the endpoint `leaf` and returns the JSON answer, or the
    /// authority's OAuth error.
    pub async fn post(
        &self,
        leaf: &str,
        form: &[(&str, &str)],
    ) -> Result<serde_json::Value, Failure> {
        let body = encode_form(form);
        let path = self.authority.path(leaf);
        let resp = http::post_form_https(
            &self.route,
            &self.authority.host,
            self.authority.port,
            &path,
            &body,
            &self.extra_roots,
            self.timeout,
        )
        .await
        .map_err(|e| Failure::Transport(self.scrub.scrub(&e)))?;
        let body = Zeroizing::new(resp.body);
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
            Failure::Malformed(format!(
                "{} answered HTTP {} without a JSON body",
                self.authority.host, resp.status
            ))
        })?;
        if let Some(error) = v.get("error").and_then(|e| e.as_str()) {
            return Err(Failure::OAuth(self.oauth_error(resp.status, error, &v)));
        }
        if !(200..300).contains(&resp.status) {
            return Err(Failure::Malformed(format!(
                "{} answered HTTP {} without an OAuth error",
                self.authority.host, resp.status
            )));
        }
        Ok(v)
    }

    fn oauth_error(&self, status: u16, error: &str, v: &serde_json::Value) -> OAuthError {
        let description = v
            .get("error_description")
            .and_then(|d| d.as_str())
            .unwrap_or_default();
        // Microsoft appends a trace id, correlation id and timestamp on new lines.
        let first = description.lines().next().unwrap_or_default();
        let first: String = first.chars().take(600).collect();
        let mut codes: Vec<u32> = v
            .get("error_codes")
            .and_then(|c| c.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64())
                    .filter_map(|x| u32::try_from(x).ok())
                    .collect()
            })
            .unwrap_or_default();
        if codes.is_empty() {
            codes.extend(aadsts_in(first.as_str()));
        }
        let error: String = error.chars().take(100).collect();
        OAuthError {
            status,
            error: self.scrub.scrub(&error),
            description: self.scrub.scrub(&first),
            codes,
        }
    }

    /// A token answer read into `Tokens`; each token is learned before it is kept.
    pub fn tokens(&self, v: &serde_json::Value) -> Result<Tokens, Failure> {
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let access = text("access_token")
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                Failure::Malformed(format!(
                    "{} answered without an access token",
                    self.authority.host
                ))
            })?;
        let access = Secret::new(access);
        self.learn(&access, true);
        let refresh = text("refresh_token").map(Secret::new);
        if let Some(r) = &refresh {
            self.learn(r, true);
        }
        // An id token names the user; it is not needed and not kept.
        if let Some(id) = text("id_token") {
            self.learn(&Secret::new(id), true);
        }
        Ok(Tokens {
            access,
            refresh,
            expires_in: v.get("expires_in").and_then(as_u64),
            scope: text("scope").map(|s| self.scrub.scrub(&s)),
        })
    }
}

/// A number or a number in a string (both are seen in `expires_in`).
pub fn as_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `AADSTSnnnn` numbers in a text.
pub fn aadsts_in(text: &str) -> Vec<u32> {
    text.match_indices("AADSTS")
        .filter_map(|(i, m)| {
            let digits: String = text[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// `application/x-www-form-urlencoded` (RFC 3986 unreserved characters kept).
pub fn encode_form(form: &[(&str, &str)]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for (i, (k, v)) in form.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent(k));
        out.push('=');
        out.push_str(&percent(v));
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent(v: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(v.len()));
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
pub fn decode_form(text: &str) -> Vec<(String, Zeroizing<String>)> {
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (unpercent(k).to_string(), unpercent(v))
        })
        .collect()
}

fn unpercent(v: &str) -> Zeroizing<String> {
    let b = v.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Zeroizing::new(Vec::with_capacity(b.len()));
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    Zeroizing::new(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip_and_aadsts_numbers_are_read() {
        let f = encode_form(&[("scope", "a b/c"), ("x", "1&2=3%")]);
        assert_eq!(f.as_str(), "scope=a%20b%2Fc&x=1%262%3D3%25");
        let d = decode_form(&f);
        assert_eq!(d[0].1.as_str(), "a b/c");
        assert_eq!(d[1].1.as_str(), "1&2=3%");
        assert_eq!(decode_form("a=%4")[0].1.as_str(), "%4");
        assert_eq!(
            aadsts_in("AADSTS7000218: The request body must contain… AADSTS50173"),
            vec![7000218, 50173]
        );
    }

    #[test]
    fn clouds_have_their_own_authority() {
        assert_eq!(
            authority_host_for_cloud("microsoftonline.us"),
            "login.microsoftonline.us"
        );
        assert_eq!(
            authority_host_for_cloud("partner.microsoftonline.cn"),
            "login.partner.microsoftonline.cn"
        );
        assert_eq!(
            authority_host_for_cloud("microsoftonline.com"),
            "login.microsoftonline.com"
        );
    }
}
