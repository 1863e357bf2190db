//! The OAuth 2.0 device authorization grant (RFC 8628) against a Microsoft
//! identity platform: ask for a code, tell the person the code and the address,
//! then poll the token endpoint at the given interval. `authorization_pending`
//! waits another interval, `slow_down` adds 5 seconds to it for good (RFC 8628
//! §3.5), and `expired_token`, `authorization_declined` and
//! `bad_verification_code` end the flow. One deadline bounds it all: the code's
//! `expires_in`, or a shorter `--sign-in-timeout`.

use super::endpoint::{as_u64, Client, Failure, Tokens};
use super::{Notify, Steps};
use crate::secret::Secret;
use std::time::Duration;

/// The grant type of a device-code token request (RFC 8628 §3.4).
pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The interval when the answer names none (RFC 8628 §3.5).
const DEFAULT_INTERVAL: u64 = 5;
/// Added to the interval at each `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN: u64 = 5;

/// Runs the flow for `scopes` and returns the tokens, or why there are none.
/// `timeout` (the user's `--sign-in-timeout`) caps the code's own lifetime.
pub async fn sign_in(
    client: &Client,
    client_id: &str,
    scopes: &str,
    timeout: Option<Duration>,
    notify: &Notify,
    steps: &mut Steps,
) -> Result<Tokens, Failure> {
    let v = client
        .post("devicecode", &[("client_id", client_id), ("scope", scopes)])
        .await
        .inspect_err(|e| steps.push("device code requested", format!("refused: {e}")))?;
    let device_code = v
        .get("device_code")
        .and_then(|x| x.as_str())
        .filter(|x| !x.is_empty())
        .map(|x| Secret::new(x.to_string()))
        .ok_or_else(|| Failure::Malformed("the device code answer has no device_code".into()))?;
    client.learn(&device_code, false);
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(|x| client.scrub.scrub(x))
    };
    let user_code = text("user_code").unwrap_or_default();
    let uri = text("verification_uri")
        .or_else(|| text("verification_url"))
        .unwrap_or_default();
    if user_code.is_empty() || uri.is_empty() {
        return Err(Failure::Malformed(
            "the device code answer has no user_code or verification_uri".into(),
        ));
    }
    let expires_in = v.get("expires_in").and_then(as_u64).unwrap_or(900);
    let mut interval = v
        .get("interval")
        .and_then(as_u64)
        .unwrap_or(DEFAULT_INTERVAL)
        .clamp(1, 60);
    let lifetime = Duration::from_secs(expires_in);
    let budget = timeout.map_or(lifetime, |t| t.min(lifetime));
    let deadline = tokio::time::Instant::now() + budget;
    steps.push(
        "device code requested",
        format!("code issued, valid {expires_in} s, poll every {interval} s"),
    );
    notify(&format!(
        "To sign in, open {uri} and enter the code {user_code} (within {} s).",
        budget.as_secs()
    ));
    let mut polls = 0u32;
    loop {
        let wake = tokio::time::Instant::now() + Duration::from_secs(interval);
        if wake > deadline {
            tokio::time::sleep_until(deadline).await;
            steps.push(
                "waiting for the user",
                format!("no sign-in within {} s ({polls} polls)", budget.as_secs()),
            );
            return Err(Failure::Deadline(format!(
                "nobody signed in with the code within {} s",
                budget.as_secs()
            )));
        }
        tokio::time::sleep_until(wake).await;
        polls += 1;
        let asked = client
            .post(
                "token",
                &[
                    ("grant_type", GRANT),
                    ("client_id", client_id),
                    ("device_code", device_code.expose()),
                ],
            )
            .await;
        match asked {
            Ok(v) => {
                let t = client.tokens(&v)?;
                steps.push(
                    "waiting for the user",
                    format!("signed in after {polls} polls"),
                );
                return Ok(t);
            }
            Err(Failure::OAuth(e)) if e.error == "authorization_pending" => continue,
            Err(Failure::OAuth(e)) if e.error == "slow_down" => {
                interval += SLOW_DOWN;
                steps.push(
                    "slow_down",
                    format!("the platform asked to poll less often: every {interval} s"),
                );
            }
            Err(e) => {
                steps.push(
                    "waiting for the user",
                    format!("ended after {polls} polls: {e}"),
                );
                return Err(e);
            }
        }
    }
}
