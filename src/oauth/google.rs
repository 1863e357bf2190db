//! Google's OAuth 2.0 endpoints for an installed (Desktop) app: the authorize
//! page on accounts.google.com and the token endpoint on oauth2.googleapis.com,
//! the one scope IMAP, POP and SMTP take, and what Google's refusals mean.
//! Google's desktop clients have a client secret, sent with every token request.
//!
//! Sources: https://developers.google.com/identity/protocols/oauth2/native-app
//! (endpoints, PKCE, loopback redirect); https://developers.google.com/gmail/imap/xoauth2-protocol
//! (scope). Google's device flow does not allow the Gmail scope:
//! https://developers.google.com/identity/protocols/oauth2/limited-input-device.

use super::endpoint::{Authority, Dialect};

/// The authorize page.
pub const AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// The authorize page's path, under `--identity-url` (private setups, tests).
pub const AUTHORIZE_PATH: &str = "/o/oauth2/v2/auth";
/// The token endpoint's host (its path is `/token`).
pub const TOKEN_HOST: &str = "oauth2.googleapis.com";
/// The scope of IMAP, POP and SMTP.
pub const SCOPE: &str = "https://mail.google.com/";

/// Google's authority; with `over` (`--identity-url`'s host, port and base)
/// both endpoints live there instead.
pub fn authority(over: Option<(String, u16, String)>) -> Authority {
    match over {
        Some((host, port, base)) => {
            let shown_port = if port == 443 {
                String::new()
            } else {
                format!(":{port}")
            };
            Authority {
                dialect: Dialect::Google {
                    authorize: format!("https://{host}{shown_port}{base}{AUTHORIZE_PATH}"),
                },
                host,
                port,
                base,
                tenant: String::new(),
            }
        }
        None => Authority {
            host: TOKEN_HOST.to_string(),
            port: 443,
            base: String::new(),
            tenant: String::new(),
            dialect: Dialect::Google {
                authorize: AUTHORIZE_URL.to_string(),
            },
        },
    }
}

/// The diagnosis code of one of Google's refusals, which carry no numbers:
/// `invalid_client` "Unauthorized" (a wrong client secret) or "The OAuth client
/// was not found." (a wrong client id), and `invalid_grant` "Token has been
/// expired or revoked." (a saved refresh token that no longer works).
/// Sources: https://github.com/SocialiteProviders/Providers/issues/564 and
/// https://github.com/hybridauth/hybridauth/issues/973 (Unauthorized, a wrong
/// secret); https://github.com/Edujugon/laravel-google-ads/issues/17 (client not
/// found); https://github.com/googleworkspace/python-samples/issues/1644
/// (expired or revoked).
pub fn code_of(error: &str, description: &str) -> Option<&'static str> {
    match error {
        "invalid_client" => Some("OAUTH_GOOGLE_CLIENT_INVALID"),
        "invalid_grant" if description.contains("expired or revoked") => {
            Some("OAUTH_GOOGLE_GRANT_INVALID")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_in_production_and_under_an_identity_url() {
        let a = authority(None);
        assert_eq!(a.path("token"), "/token");
        assert_eq!(a.url(), "https://oauth2.googleapis.com");
        assert_eq!(a.authorize_url(), AUTHORIZE_URL);
        let t = authority(Some(("127.0.0.1".into(), 8443, "/id".into())));
        assert_eq!(t.path("token"), "/id/token");
        assert_eq!(
            t.authorize_url(),
            "https://127.0.0.1:8443/id/o/oauth2/v2/auth"
        );
    }

    #[test]
    fn refusals_are_read_by_their_words() {
        assert_eq!(
            code_of("invalid_grant", "Token has been expired or revoked."),
            Some("OAUTH_GOOGLE_GRANT_INVALID")
        );
        assert_eq!(
            code_of("invalid_client", "Unauthorized"),
            Some("OAUTH_GOOGLE_CLIENT_INVALID")
        );
        assert_eq!(code_of("invalid_grant", "Bad Request"), None);
    }
}
