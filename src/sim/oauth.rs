//! The simulated Microsoft identity platform's OAuth 2.0 endpoints, served by
//! `sim::identity::IdentityServer`: `/{tenant}/oauth2/v2.0/devicecode`, `/token`
//! (device code, authorization code with PKCE, client credentials with a secret
//! or a client assertion, refresh token) and `/authorize` (which plays the user
//! who signs in and redirects to the loopback address with a code).
//!
//! Each test scripts it (`Script`): how many times polling answers
//! `authorization_pending`, a `slow_down`, what the user finally does (signs in,
//! lets the code expire, declines, a wrong code) and the blocker the platform
//! raises (`AADSTS…`). It remembers every token it issued and which it revoked,
//! so the replay servers accept XOAUTH2 only with a token it issued
//! (`Platform::accepts`).
//!
//! Error shapes follow Microsoft's (`error`, `error_description` starting with
//! `AADSTSnnnn:`, `error_codes`): https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code
//! and https://learn.microsoft.com/en-us/answers/questions/981553 (a real pending body).
//! The AADSTS wording is modelled on Microsoft's error-code table; only the
//! numbers and the `error` strings are what clients match on.

use base64::Engine as _;
use std::collections::HashMap;
use std::sync::Mutex;

/// What the person at the other end does once the code is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAction {
    SignIn,
    /// Never signs in: the code expires (`expired_token`).
    LetExpire,
    Decline,
    /// The platform does not know the device code (`bad_verification_code`).
    WrongCode,
}

/// How the simulated platform behaves for one test.
#[derive(Debug, Clone)]
pub struct Script {
    /// `authorization_pending` answers before the outcome.
    pub pending: usize,
    /// One `slow_down` answer after the pending ones.
    pub slow_down: bool,
    /// The device code's polling interval and lifetime, in seconds.
    pub interval: u64,
    pub expires_in: u64,
    pub action: UserAction,
    /// An AADSTS number the platform refuses with, where that error arises.
    pub blocker: Option<u32>,
    /// The signed-in user (`upn` of delegated tokens).
    pub user: String,
    /// The roles of app-only tokens.
    pub roles: Vec<String>,
    /// The client secret an app-only request must carry.
    pub client_secret: String,
    /// A hostile platform: every error it sends quotes back the secrets of the
    /// request (device code, code, verifier, client secret, assertion, refresh
    /// token), raw and URL-encoded.
    pub echo: bool,
    /// Tokens are revoked the moment they are issued (an administrator revoked
    /// the user's sessions): the mail servers must refuse them.
    pub revoke_at_once: bool,
    /// Google's refresh answers carry a new refresh token (rotation). The
    /// Microsoft endpoints always send one with `offline_access`.
    pub rotate_refresh: bool,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            pending: 1,
            slow_down: false,
            interval: 1,
            expires_in: 900,
            action: UserAction::SignIn,
            blocker: None,
            user: "alice@contoso.com".into(),
            roles: vec![
                "IMAP.AccessAsApp".into(),
                "POP.AccessAsApp".into(),
                "SMTP.SendAsApp".into(),
            ],
            client_secret: "sim-client-secret".into(),
            echo: false,
            revoke_at_once: false,
            rotate_refresh: false,
        }
    }
}

/// A device code the platform handed out, and how far its polling went.
#[derive(Debug, Clone)]
struct Pending {
    scope: String,
    polls: usize,
}

/// An authorization code handed out by the authorize endpoint.
#[derive(Debug, Clone)]
struct Code {
    challenge: String,
    redirect: String,
    scope: String,
}

#[derive(Debug, Default)]
struct State {
    devices: HashMap<String, Pending>,
    codes: HashMap<String, Code>,
    access: Vec<String>,
    refresh: HashMap<String, String>,
    revoked: Vec<String>,
    /// `grant_type` of each token request, in order (tests read it).
    grants: Vec<String>,
    /// When each poll of a device code came.
    polls_at: Vec<std::time::Instant>,
    /// Authorization codes already exchanged, and PKCE verifiers received.
    spent: Vec<String>,
}

/// The platform's script and memory.
#[derive(Debug, Default)]
pub struct Platform {
    pub script: Script,
    state: Mutex<State>,
}

fn random(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// An error answer shaped like Microsoft's.
fn error(status: &'static str, error: &str, code: u32, text: &str) -> (&'static str, String) {
    (
        status,
        serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: 0f5c2e8a-0000-4000-8000-000000000000\r\nCorrelation ID: 3b0e5a1c-0000-4000-8000-000000000000\r\nTimestamp: 2026-12-07 09:00:00Z"),
            "error_codes": [code],
            "timestamp": "2026-12-07 09:00:00Z",
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        })
        .to_string(),
    )
}

/// The platform's answer for a blocker, as Microsoft words it.
pub fn blocker(code: u32) -> (&'static str, String) {
    match code {
        7000218 => error("400 Bad Request", "invalid_client", code, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
        90094 => error("400 Bad Request", "invalid_grant", code, "Contoso Mail Tester needs permission to access resources in your organization that only an admin can grant. Request an admin to grant permission to this app before you can use it."),
        65001 => error("400 Bad Request", "invalid_grant", code, "The user or administrator has not consented to use the application with ID '11111111-2222-3333-4444-555555555555' named 'Contoso Mail Tester'. Send an interactive authorization request for this user and resource."),
        53003 => error("400 Bad Request", "invalid_grant", code, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."),
        700016 => error("400 Bad Request", "unauthorized_client", code, "Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."),
        7000215 => error("401 Unauthorized", "invalid_client", code, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'."),
        7000222 => error("401 Unauthorized", "invalid_client", code, "The provided client secret keys for app '11111111-2222-3333-4444-555555555555' are expired. Visit the Azure portal to create new keys for your app."),
        700082 => error("400 Bad Request", "invalid_grant", code, "The refresh token has expired due to inactivity. The token was issued on 2026-09-01T09:00:00Z and was inactive for 90.00:00:00."),
        50173 => error("400 Bad Request", "invalid_grant", code, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."),
        _ => error("400 Bad Request", "invalid_request", code, "The request was refused."),
    }
}

impl Platform {
    pub fn new(script: Script) -> Platform {
        Platform {
            script,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Whether a mail server should accept this access token: issued here and
    /// not revoked.
    pub fn accepts(&self, token: &str) -> bool {
        let s = self.state();
        s.access.iter().any(|t| t == token) && !s.revoked.iter().any(|t| t == token)
    }

    /// Revokes every token issued so far (the user's sessions were revoked).
    pub fn revoke_all(&self) {
        let mut s = self.state();
        let all: Vec<String> = s
            .access
            .iter()
            .cloned()
            .chain(s.refresh.keys().cloned())
            .collect();
        s.revoked.extend(all);
    }

    /// Every secret it handed out or was sent (device codes, authorization
    /// codes, access and refresh tokens, the client secret): what no output of
    /// the tool may show (the tests' leak sweeps).
    pub fn secrets(&self) -> Vec<String> {
        let s = self.state();
        s.devices
            .keys()
            .chain(s.codes.keys())
            .chain(s.access.iter())
            .chain(s.refresh.keys())
            .cloned()
            .chain(s.spent.iter().cloned())
            .chain(std::iter::once(self.script.client_secret.clone()))
            .collect()
    }

    /// How many access tokens it issued.
    pub fn issued(&self) -> usize {
        self.state().access.len()
    }

    /// The grant types asked for, in order.
    pub fn grants(&self) -> Vec<String> {
        self.state().grants.clone()
    }

    /// The gaps between successive polls of the token endpoint with a device code.
    pub fn poll_gaps(&self) -> Vec<std::time::Duration> {
        let s = self.state();
        s.polls_at.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Whether `path` is one of the OAuth endpoints (Microsoft's, or Google's
    /// `/token` and `/o/oauth2/v2/auth`).
    pub fn serves(path: &str) -> bool {
        path.contains("/oauth2/v2.0/") || Self::google_route(path)
    }

    /// Google's endpoints, whose answers are Google's.
    fn google_route(path: &str) -> bool {
        let route = path.split_once('?').map_or(path, |(r, _)| r);
        route == "/token" || route == crate::oauth::google::AUTHORIZE_PATH
    }

    /// Answers one request: (status line, JSON body) or a redirect (`Location`).
    pub fn answer(&self, method: &str, path: &str, body: &str) -> Answer {
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        let form = crate::oauth::endpoint::decode_form(if method == "POST" { body } else { query });
        let get = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string())
        };
        if Self::google_route(route) {
            return match method {
                "POST" => Answer::Json(self.token_with(&get, true)),
                _ => self.authorize(&get, true),
            };
        }
        if route.ends_with("/devicecode") && method == "POST" {
            return Answer::Json(self.devicecode(get("scope").unwrap_or_default()));
        }
        if route.ends_with("/token") && method == "POST" {
            return Answer::Json(self.token(&get));
        }
        if route.ends_with("/authorize") && method == "GET" {
            return self.authorize(&get, false);
        }
        Answer::Json(error(
            "404 Not Found",
            "invalid_request",
            90011,
            "Request not found.",
        ))
    }

    fn devicecode(&self, scope: String) -> (&'static str, String) {
        if self.script.blocker == Some(700016) {
            return blocker(700016);
        }
        let code = format!("DAQABAAEAAAD{}", random(48));
        let user_code = format!(
            "D{}",
            &random(6).to_ascii_uppercase().replace(['-', '_'], "Q")[..7]
        );
        self.state()
            .devices
            .insert(code.clone(), Pending { scope, polls: 0 });
        (
            "200 OK",
            serde_json::json!({
                "user_code": user_code,
                "device_code": code,
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": self.script.expires_in,
                "interval": self.script.interval,
                "message": format!("To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code {user_code} to authenticate."),
            })
            .to_string(),
        )
    }

    fn token(&self, get: &dyn Fn(&str) -> Option<String>) -> (&'static str, String) {
        self.token_with(get, false)
    }

    fn token_with(
        &self,
        get: &dyn Fn(&str) -> Option<String>,
        google: bool,
    ) -> (&'static str, String) {
        let (status, body) = if google {
            self.google_token(get)
        } else {
            self.token_answer(get)
        };
        if !self.script.echo || status == "200 OK" {
            return (status, body);
        }
        let mut v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let quoted: Vec<String> = [
            "device_code",
            "code",
            "code_verifier",
            "client_secret",
            "client_assertion",
            "refresh_token",
        ]
        .iter()
        .filter_map(|k| {
            get(k).map(|x| format!("{k}={x} ({})", crate::oauth::endpoint::percent(&x).as_str()))
        })
        .collect();
        let d = v["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (first, rest) = d.split_once("\r\n").unwrap_or((&d, ""));
        v["error_description"] =
            serde_json::json!(format!("{first} You sent {}.\r\n{rest}", quoted.join(", ")));
        if let Some(secret) = get("client_secret") {
            v["error"] = serde_json::json!(format!(
                "{}_{secret}",
                v["error"].as_str().unwrap_or_default()
            ));
        }
        (status, v.to_string())
    }

    fn token_answer(&self, get: &dyn Fn(&str) -> Option<String>) -> (&'static str, String) {
        let grant = get("grant_type").unwrap_or_default();
        self.state().grants.push(grant.clone());
        match grant.as_str() {
            crate::oauth::device::GRANT => self.device_token(get),
            "authorization_code" => self.code_token(get),
            "client_credentials" => self.app_token(get),
            "refresh_token" => self.refresh_token(get),
            _ => error(
                "400 Bad Request",
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            ),
        }
    }

    fn device_token(&self, get: &dyn Fn(&str) -> Option<String>) -> (&'static str, String) {
        let code = get("device_code").unwrap_or_default();
        let (polls, scope) = {
            let mut s = self.state();
            s.polls_at.push(std::time::Instant::now());
            match s.devices.get_mut(&code) {
                Some(p) => {
                    p.polls += 1;
                    (p.polls, p.scope.clone())
                }
                None => {
                    return error(
                        "400 Bad Request",
                        "bad_verification_code",
                        70018,
                        "Invalid verification code entered.",
                    )
                }
            }
        };
        if self.script.action == UserAction::WrongCode {
            return error(
                "400 Bad Request",
                "bad_verification_code",
                70018,
                "Invalid verification code entered.",
            );
        }
        if polls <= self.script.pending {
            return error("400 Bad Request", "authorization_pending", 70016, "The provided request has not yet been authorized by the user. The user must input their code.");
        }
        if self.script.slow_down && polls == self.script.pending + 1 {
            return error(
                "400 Bad Request",
                "slow_down",
                70016,
                "Polling too fast; slow down.",
            );
        }
        if let Some(b) = self.script.blocker {
            return blocker(b);
        }
        match self.script.action {
            UserAction::SignIn => self.issue_delegated(&scope),
            UserAction::LetExpire => error(
                "400 Bad Request",
                "expired_token",
                70019,
                "Verification code expired. Have the user retry the sign-in.",
            ),
            UserAction::Decline => error(
                "400 Bad Request",
                "authorization_declined",
                70017,
                "The user declined the authorization request.",
            ),
            UserAction::WrongCode => error(
                "400 Bad Request",
                "bad_verification_code",
                70018,
                "Invalid verification code entered.",
            ),
        }
    }

    fn authorize(&self, get: &dyn Fn(&str) -> Option<String>, google: bool) -> Answer {
        let redirect = get("redirect_uri").unwrap_or_default();
        let state = get("state").unwrap_or_default();
        let to = |q: String| Answer::Redirect(format!("{redirect}?{q}"));
        let enc = |v: &str| crate::oauth::endpoint::percent(v).to_string();
        if google && self.script.action == UserAction::Decline {
            return to(format!("error=access_denied&state={}", enc(&state)));
        }
        if let Some(b) = self
            .script
            .blocker
            .filter(|b| !google && [700016, 53003, 90094, 65001].contains(b))
        {
            let (_, body) = blocker(b);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            return to(format!(
                "error={}&error_description={}&state={}",
                enc(v["error"].as_str().unwrap_or_default()),
                enc(v["error_description"].as_str().unwrap_or_default()),
                enc(&state)
            ));
        }
        if self.script.action == UserAction::Decline {
            return to(format!(
                "error=access_denied&error_description={}&state={}",
                enc("AADSTS65004: User declined to consent to access the app."),
                enc(&state)
            ));
        }
        let code = format!("0.AQ{}", random(40));
        self.state().codes.insert(
            code.clone(),
            Code {
                challenge: get("code_challenge").unwrap_or_default(),
                redirect: redirect.clone(),
                scope: get("scope").unwrap_or_default(),
            },
        );
        to(format!("code={}&state={}", enc(&code), enc(&state)))
    }

    /// Takes the authorization code of the request (it can be spent once),
    /// remembering it and the verifier sent as secrets no output may show.
    fn spend_code(&self, get: &dyn Fn(&str) -> Option<String>) -> Option<Code> {
        let code = get("code").unwrap_or_default();
        let mut s = self.state();
        let removed = s.codes.remove(&code);
        if removed.is_some() {
            s.spent.push(code);
        }
        if let Some(v) = get("code_verifier") {
            s.spent.push(v);
        }
        removed
    }

    fn code_token(&self, get: &dyn Fn(&str) -> Option<String>) -> (&'static str, String) {
        let Some(c) = self.spend_code(get) else {
            return error(
                "400 Bad Request",
                "invalid_grant",
                70000,
                "The provided authorization code is invalid or has expired.",
            );
        };
        if get("redirect_uri").as_deref() != Some(c.redirect.as_str()) {
            return error("400 Bad Request", "invalid_grant", 50011, "The redirect URI specified in the request does not match the redirect URI of the authorization request.");
        }
        let Some(verifier) = get("code_verifier").filter(|v| !v.is_empty()) else {
            return error(
                "400 Bad Request",
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'code_verifier'.",
            );
        };
        if crate::oauth::browser::challenge(&verifier) != c.challenge {
            return error("400 Bad Request", "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.");
        }
        if let Some(b) = self.script.blocker {
            return blocker(b);
        }
        self.issue_delegated(&c.scope)
    }

    fn app_token(&self, get: &dyn Fn(&str) -> Option<String>) -> (&'static str, String) {
        if let Some(a) = get("client_assertion") {
            self.state().spent.push(a);
        }
        let secret_ok = get("client_secret").is_some_and(|s| s == self.script.client_secret);
        let assertion_ok = get("client_assertion").is_some_and(|a| {
            assertion_shape_ok(&a, get("client_id").as_deref().unwrap_or_default())
        });
        if let Some(b) = self.script.blocker {
            return blocker(b);
        }
        if !secret_ok && !assertion_ok {
            return blocker(7000215);
        }
        if get("scope").as_deref() != Some(crate::oauth::app::EXCHANGE_DEFAULT_SCOPE) {
            return error("400 Bad Request", "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.");
        }
        let access = jwt(serde_json::json!({
            "aud": "https://outlook.office365.com",
            "roles": self.script.roles,
            "tid": crate::sim::identity::CONTOSO_TENANT_ID,
            "exp": chrono::Utc::now().timestamp() + 3600,
        }));
        self.state().access.push(access.clone());
        (
            "200 OK",
            serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "access_token": access})
                .to_string(),
        )
    }

    fn refresh_token(&self, get: &dyn Fn(&str) -> Option<String>) -> (&'static str, String) {
        let refresh = get("refresh_token").unwrap_or_default();
        let (scope, revoked) = {
            let s = self.state();
            (
                s.refresh.get(&refresh).cloned(),
                s.revoked.contains(&refresh),
            )
        };
        if let Some(b) = self.script.blocker {
            return blocker(b);
        }
        if revoked {
            return blocker(50173);
        }
        match scope {
            Some(scope) => self.issue_delegated(&scope),
            None => error(
                "400 Bad Request",
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid.",
            ),
        }
    }

    /// Google's token endpoint: every request carries the client secret; the
    /// authorization code (with its PKCE verifier) and the refresh token grants.
    /// Answers are Google's: no AADSTS numbers, opaque `ya29.` access tokens,
    /// and its words (see `oauth::google::code_of` for their sources).
    fn google_token(&self, get: &dyn Fn(&str) -> Option<String>) -> (&'static str, String) {
        let grant = get("grant_type").unwrap_or_default();
        self.state().grants.push(grant.clone());
        let google_error = |status: &'static str, error: &str, text: &str| {
            (
                status,
                serde_json::json!({"error": error, "error_description": text}).to_string(),
            )
        };
        let sent_secret = get("client_secret");
        if let Some(s) = &sent_secret {
            self.state().spent.push(s.clone());
        }
        if sent_secret.as_deref() != Some(self.script.client_secret.as_str()) {
            return google_error("401 Unauthorized", "invalid_client", "Unauthorized");
        }
        match grant.as_str() {
            "authorization_code" => {
                let Some(c) = self.spend_code(get) else {
                    return google_error("400 Bad Request", "invalid_grant", "Bad Request");
                };
                let verified = get("code_verifier")
                    .is_some_and(|v| crate::oauth::browser::challenge(&v) == c.challenge);
                if get("redirect_uri").as_deref() != Some(c.redirect.as_str()) || !verified {
                    return google_error("400 Bad Request", "invalid_grant", "Bad Request");
                }
                self.issue_google(true)
            }
            "refresh_token" => {
                let refresh = get("refresh_token").unwrap_or_default();
                let known = {
                    let s = self.state();
                    s.refresh.contains_key(&refresh) && !s.revoked.contains(&refresh)
                };
                if !known {
                    return google_error(
                        "400 Bad Request",
                        "invalid_grant",
                        "Token has been expired or revoked.",
                    );
                }
                self.issue_google(self.script.rotate_refresh)
            }
            _ => google_error(
                "400 Bad Request",
                "unsupported_grant_type",
                "Invalid grant_type: ",
            ),
        }
    }

    /// An opaque Google access token (and a refresh token when `refresh`).
    fn issue_google(&self, refresh: bool) -> (&'static str, String) {
        let access = format!("ya29.a0{}", random(60));
        let mut body = serde_json::json!({
            "access_token": access,
            "expires_in": 3599,
            "scope": crate::oauth::google::SCOPE,
            "token_type": "Bearer",
        });
        let refresh = refresh.then(|| format!("1//0g{}", random(48)));
        self.remember(
            access,
            refresh.as_deref(),
            crate::oauth::google::SCOPE,
            &mut body,
        )
    }

    /// A delegated token for the scripted user, with the scopes asked for.
    fn issue_delegated(&self, scope: &str) -> (&'static str, String) {
        let scp: Vec<&str> = scope
            .split_whitespace()
            .filter(|s| s.contains("outlook.office"))
            .map(|s| s.rsplit('/').next().unwrap_or(s))
            .collect();
        let access = jwt(serde_json::json!({
            "aud": "https://outlook.office.com",
            "scp": scp.join(" "),
            "upn": self.script.user,
            "tid": crate::sim::identity::CONTOSO_TENANT_ID,
            "exp": chrono::Utc::now().timestamp() + 3600,
        }));
        let mut body = serde_json::json!({
            "token_type": "Bearer",
            "scope": scope.split_whitespace().filter(|s| *s != "offline_access").collect::<Vec<_>>().join(" "),
            "expires_in": 3599,
            "access_token": access,
        });
        let refresh = scope
            .split_whitespace()
            .any(|s| s == "offline_access")
            .then(|| format!("1.AQ{}", random(64)));
        self.remember(access, refresh.as_deref(), scope, &mut body)
    }

    /// Keeps an issued access token (revoked at once when scripted so) and a
    /// refresh token for `scope`, added to the answer `body`.
    fn remember(
        &self,
        access: String,
        refresh: Option<&str>,
        scope: &str,
        body: &mut serde_json::Value,
    ) -> (&'static str, String) {
        let mut s = self.state();
        if self.script.revoke_at_once {
            s.revoked.push(access.clone());
        }
        s.access.push(access);
        if let Some(r) = refresh {
            s.refresh.insert(r.to_string(), scope.to_string());
            body["refresh_token"] = serde_json::json!(r);
        }
        ("200 OK", body.to_string())
    }
}

/// A client assertion's shape: three parts, an `x5t` header, issuer and subject
/// the client. (The simulation holds no public key to verify the signature.)
fn assertion_shape_ok(a: &str, client_id: &str) -> bool {
    let mut parts = a.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let dec = |x: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(x)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    };
    let (Some(h), Some(p)) = (dec(h), dec(p)) else {
        return false;
    };
    h["alg"] == "RS256"
        && h["x5t"].as_str().is_some_and(|t| !t.is_empty())
        && p["iss"] == client_id
        && p["sub"] == client_id
        && !s.is_empty()
}

/// An unsigned-looking JWT with these claims and random bytes for a signature.
fn jwt(claims: serde_json::Value) -> String {
    let e = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    format!(
        "{}.{}.{}",
        e(br#"{"typ":"JWT","alg":"RS256","kid":"sim"}"#),
        e(claims.to_string().as_bytes()),
        random(64)
    )
}

/// What the server sends back.
pub enum Answer {
    Json((&'static str, String)),
    Redirect(String),
}

/// Reads one request: the head, and the body its Content-Length announces (at
/// most 64 KiB). None when the client went away first.
pub async fn read_request<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
) -> Option<(String, String)> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0)
                .min(64 * 1024);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body_end = buf.len().min(end + 4 + len);
            let body = String::from_utf8_lossy(&buf[end + 4..body_end]).into_owned();
            return Some((head, body));
        }
        if buf.len() > 16 * 1024 {
            return None;
        }
    }
}
