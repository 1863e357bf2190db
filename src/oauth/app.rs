//! App-only sign-in (the client credentials grant) for Exchange Online: a token
//! for `https://outlook.office365.com/.default`, proven by a client secret or by
//! a client assertion: a JWT signed RS256 with the app's certificate key, its
//! header naming the certificate by `x5t` (the base64url SHA-1 thumbprint), as
//! the Microsoft identity platform asks.
//! Source: https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials

use super::endpoint::{Client, Failure, Tokens};
use super::Steps;
use crate::secret::Secret;
use base64::Engine as _;
use zeroize::Zeroizing;

/// The scope of an app-only Exchange Online token (IMAP, POP and SMTP).
pub const EXCHANGE_DEFAULT_SCOPE: &str = "https://outlook.office365.com/.default";

/// The assertion type of RFC 7523 client authentication.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the app proves who it is.
pub enum Credential {
    Secret(Secret),
    Certificate(std::sync::Arc<Certificate>),
}

/// A certificate and its RSA key, read from one PEM file.
pub struct Certificate {
    key: ring::signature::RsaKeyPair,
    /// The base64url SHA-1 thumbprint of the certificate (`x5t`).
    pub thumbprint: String,
    pub not_after: chrono::DateTime<chrono::Utc>,
    pub subject: String,
}

impl Certificate {
    /// Reads the first certificate and the private key (PKCS#8 or PKCS#1 RSA) of
    /// a PEM text. Errors never quote the key.
    pub fn from_pem(pem: &[u8]) -> Result<Certificate, String> {
        let mut cert_der = None;
        let mut key = None;
        for item in rustls_pemfile::read_all(&mut &pem[..]) {
            match item.map_err(|_| "the certificate file is not valid PEM".to_string())? {
                rustls_pemfile::Item::X509Certificate(c) if cert_der.is_none() => {
                    cert_der = Some(c)
                }
                rustls_pemfile::Item::Pkcs8Key(k) if key.is_none() => {
                    key = Some(
                        ring::signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der())
                            .map_err(|_| "the private key is not an RSA key ring can use")?,
                    )
                }
                rustls_pemfile::Item::Pkcs1Key(k) if key.is_none() => {
                    key = Some(
                        ring::signature::RsaKeyPair::from_der(k.secret_pkcs1_der())
                            .map_err(|_| "the private key is not an RSA key ring can use")?,
                    )
                }
                _ => {}
            }
        }
        let cert_der = cert_der.ok_or("the file holds no certificate")?;
        let key = key.ok_or("the file holds no RSA private key")?;
        let digest =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert_der.as_ref());
        let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        let (_, parsed) = x509_parser::parse_x509_certificate(cert_der.as_ref())
            .map_err(|_| "the certificate cannot be read")?;
        let not_after =
            chrono::DateTime::from_timestamp(parsed.validity().not_after.timestamp(), 0)
                .ok_or("the certificate's end date cannot be read")?;
        Ok(Certificate {
            key,
            thumbprint,
            not_after,
            subject: parsed.subject().to_string(),
        })
    }

    /// Days left before the certificate ends (negative: ended).
    pub fn days_left(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        (self.not_after - now).num_days()
    }

    /// A signed client assertion for `client_id` at `audience` (the token
    /// endpoint), valid ten minutes from `now`.
    pub fn assertion(&self, client_id: &str, audience: &str, now: i64) -> Result<Secret, String> {
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.thumbprint});
        let jti = super::browser::random_token(16).map_err(|e| e.to_string())?;
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jti.as_str(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = Zeroizing::new(format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        ));
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(Secret::new(format!(
            "{}.{}",
            signing_input.as_str(),
            b64(&sig)
        )))
    }
}

/// Gets an app-only token for `scope`.
pub async fn sign_in(
    client: &Client,
    client_id: &str,
    credential: &Credential,
    scope: &str,
    steps: &mut Steps,
) -> Result<Tokens, Failure> {
    let assertion;
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", scope),
    ];
    match credential {
        Credential::Secret(s) => {
            client.learn(s, false);
            form.push(("client_secret", s.expose()));
        }
        Credential::Certificate(c) => {
            let a = &client.authority;
            let port = if a.port == 443 {
                String::new()
            } else {
                format!(":{}", a.port)
            };
            let audience = format!("https://{}{port}{}", a.host, a.path("token"));
            assertion = c
                .assertion(client_id, &audience, chrono::Utc::now().timestamp())
                .map_err(Failure::Refused)?;
            client.learn(&assertion, true);
            form.push(("client_assertion_type", ASSERTION_TYPE));
            form.push(("client_assertion", assertion.expose()));
        }
    }
    let v = client
        .post("token", &form)
        .await
        .inspect_err(|e| steps.push("client credentials", format!("refused: {e}")))?;
    let t = client.tokens(&v)?;
    steps.push("client credentials", "app-only token issued");
    Ok(t)
}

/// Trades a refresh token for a new access token (and, often, a new refresh
/// token): what a monitored mailbox's probe does first.
pub async fn refresh(
    client: &Client,
    client_id: &str,
    refresh_token: &Secret,
    scopes: &str,
    client_secret: Option<&Secret>,
    steps: &mut Steps,
) -> Result<Tokens, Failure> {
    client.learn(refresh_token, true);
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("client_id", client_id),
        ("refresh_token", refresh_token.expose()),
        ("scope", scopes),
    ];
    if let Some(s) = client_secret {
        client.learn(s, false);
        form.push(("client_secret", s.expose()));
    }
    let v = client
        .post("token", &form)
        .await
        .inspect_err(|e| steps.push("refresh", format!("refused: {e}")))?;
    let t = client.tokens(&v)?;
    steps.push("refresh", "access token refreshed");
    Ok(t)
}
