//! The authorization code flow with PKCE (RFC 7636) and a loopback redirect
//! (RFC 8252 §7.3): a listener on 127.0.0.1 at a port the system picks, the
//! authorize address opened in the system browser (or printed alone on its own
//! line), one redirect read back, its `state` compared with ours, then the code
//! and the verifier exchanged for tokens. Nothing but the one expected redirect
//! is accepted; every other request gets an error page and the flow goes on
//! waiting until its deadline.

use super::endpoint::{percent, Client, Failure, Tokens};
use super::{Notify, Steps};
use crate::secret::Secret;
use base64::Engine as _;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

/// A fresh random string of `bytes` random bytes, base64url without padding.
pub fn random_token(bytes: usize) -> Result<Zeroizing<String>, Failure> {
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buf)
        .map_err(|_| Failure::Refused("no system randomness for PKCE".into()))?;
    Ok(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*buf),
    ))
}

/// The S256 challenge of a verifier (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// How the flow reaches the person: open a browser or only print the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Open,
    PrintOnly,
}

/// The authorize address `Client`'s authority serves, for these parameters.
pub fn authorize_url(
    client: &Client,
    client_id: &str,
    scopes: &str,
    redirect: &str,
    state: &str,
    challenge: &str,
    login_hint: &str,
) -> String {
    let a = &client.authority;
    // Google's authorize page takes no `response_mode`; the query is its default.
    let mode = match a.dialect {
        super::endpoint::Dialect::Microsoft => "&response_mode=query",
        super::endpoint::Dialect::Google { .. } => "",
    };
    format!(
        "{}?client_id={}&response_type=code&redirect_uri={}{mode}&scope={}&state={}&code_challenge={}&code_challenge_method=S256&login_hint={}",
        a.authorize_url(),
        percent(client_id).as_str(),
        percent(redirect).as_str(),
        percent(scopes).as_str(),
        state,
        challenge,
        percent(login_hint).as_str(),
    )
}

/// Tries the system's way of opening an address; false when there is none.
fn open_browser(url: &str) -> bool {
    let tries: &[(&str, &[&str])] = if cfg!(target_os = "macos") {
        &[("open", &[])]
    } else if cfg!(windows) {
        &[("rundll32", &["url.dll,FileProtocolHandler"])]
    } else {
        &[("xdg-open", &[])]
    };
    if cfg!(all(unix, not(target_os = "macos")))
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        return false;
    }
    tries.iter().any(|(cmd, pre)| {
        std::process::Command::new(cmd)
            .args(*pre)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    })
}

/// What came back to the loopback address.
enum Redirect {
    Code(Secret),
    Error(String),
}

/// Runs the flow. `client_secret` is for providers whose desktop clients have
/// one (Google); Microsoft's public clients send none.
#[allow(clippy::too_many_arguments)]
pub async fn sign_in(
    client: &Client,
    client_id: &str,
    client_secret: Option<&Secret>,
    scopes: &str,
    login_hint: &str,
    browser: Browser,
    timeout: Duration,
    notify: &Notify,
    steps: &mut Steps,
) -> Result<Tokens, Failure> {
    if let Some(s) = client_secret {
        client.learn(s, false);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::Refused(format!("could not listen on 127.0.0.1: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::Refused(e.to_string()))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let verifier = Secret::new(random_token(32)?.to_string());
    client.learn(&verifier, false);
    let state = random_token(16)?;
    let url = authorize_url(
        client,
        client_id,
        scopes,
        &redirect,
        &state,
        &challenge(verifier.expose()),
        login_hint,
    );
    let opened = browser == Browser::Open && open_browser(&url);
    notify(if opened {
        "A browser window opens to sign in; if none does, open this address:"
    } else {
        "To sign in, open this address in a browser:"
    });
    notify(&url);
    steps.push(
        "authorize",
        format!(
            "{} the authorize address; waiting on {redirect}",
            if opened { "opened" } else { "printed" }
        ),
    );
    let deadline = tokio::time::Instant::now() + timeout;
    let got = loop {
        let accepted = tokio::time::timeout_at(deadline, listener.accept()).await;
        let Ok(Ok((mut tcp, _))) = accepted else {
            steps.push("redirect", "no redirect before the deadline");
            return Err(Failure::Deadline(format!(
                "nobody completed the sign-in in the browser within {} s",
                timeout.as_secs()
            )));
        };
        let step = client.timeout.min(Duration::from_secs(10));
        match tokio::time::timeout(step, read_redirect(&mut tcp, &state)).await {
            Ok(Ok(r)) => {
                let page = match &r {
                    Redirect::Code(_) => {
                        "Signed in. You can close this window and return to mailbox-doctor."
                    }
                    Redirect::Error(_) => {
                        "The sign-in failed; mailbox-doctor says why in the terminal."
                    }
                };
                answer(&mut tcp, "200 OK", page).await;
                break r;
            }
            Ok(Err(why)) => {
                answer(&mut tcp, "400 Bad Request", &why).await;
                steps.push("redirect", format!("refused: {why}"));
                if why.contains("state") {
                    return Err(Failure::Refused(why));
                }
            }
            Err(_) => {}
        }
    };
    let code = match got {
        Redirect::Code(c) => {
            client.learn(&c, false);
            c
        }
        Redirect::Error(e) => {
            steps.push("redirect", format!("the platform refused: {e}"));
            return Err(oauth_error_of_redirect(&e));
        }
    };
    steps.push("redirect", "authorization code received, state matches");
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code.expose()),
        ("redirect_uri", &redirect),
        ("code_verifier", verifier.expose()),
        ("scope", scopes),
    ];
    if let Some(s) = client_secret {
        form.push(("client_secret", s.expose()));
    }
    let v = client
        .post("token", &form)
        .await
        .inspect_err(|e| steps.push("code exchanged", format!("refused: {e}")))?;
    let t = client.tokens(&v)?;
    steps.push("code exchanged", "tokens issued");
    Ok(t)
}

/// An error the authorize endpoint sent back through the redirect, as the
/// token endpoint's would read.
fn oauth_error_of_redirect(text: &str) -> Failure {
    let (error, description) = text.split_once(": ").unwrap_or((text, ""));
    Failure::OAuth(super::endpoint::OAuthError {
        status: 0,
        error: error.to_string(),
        description: description.to_string(),
        codes: super::endpoint::aadsts_in(description),
    })
}

/// Reads one request on the loopback address: the redirect with our state and a
/// code (or an error), or why it is refused.
async fn read_redirect(tcp: &mut tokio::net::TcpStream, state: &str) -> Result<Redirect, String> {
    let mut buf = Zeroizing::new(vec![0u8; 8192]);
    let mut n = 0;
    while n < buf.len() {
        let k = tcp.read(&mut buf[n..]).await.map_err(|e| e.to_string())?;
        if k == 0 {
            break;
        }
        n += k;
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = Zeroizing::new(String::from_utf8_lossy(&buf[..n]).into_owned());
    let target = head
        .split_whitespace()
        .nth(1)
        .ok_or("not an HTTP request")?;
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let params = super::endpoint::decode_form(query);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("state") {
        Some(s) if s == state => {}
        Some(_) => {
            return Err(
                "the redirect's state is not the one this sign-in sent; it was refused".into(),
            )
        }
        None if get("code").is_some() || get("error").is_some() => {
            return Err("the redirect has no state; it was refused".into())
        }
        None => return Err("not the sign-in redirect".into()),
    }
    if let Some(e) = get("error") {
        let d = get("error_description").unwrap_or_default();
        let d: String = d
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(600)
            .collect();
        return Ok(Redirect::Error(format!("{e}: {d}")));
    }
    match get("code") {
        Some(c) if !c.is_empty() => Ok(Redirect::Code(Secret::new(c.to_string()))),
        _ => Err("the redirect has neither a code nor an error".into()),
    }
}

async fn answer(tcp: &mut tokio::net::TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><title>mailbox-doctor</title><p>{text}</p>");
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), tcp.write_all(resp.as_bytes())).await;
    let _ = tcp.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let a = random_token(32).expect("random");
        let b = random_token(32).expect("random");
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.len(), 43);
    }
}
