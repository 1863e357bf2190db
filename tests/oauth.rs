//! XOAUTH2 access tokens: their claims are read (not verified) to explain the usual
//! mistakes before anything is sent, and the token never appears in any output.

mod util;

use base64::Engine as _;
use util::{assert_no_leak, bin, codes, validated};

fn jwt(claims: serde_json::Value) -> String {
    let e = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.{}",
        e(br#"{"alg":"RS256","typ":"JWT"}"#),
        e(claims.to_string().as_bytes()),
        e(b"sig")
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn run(token: &str, via_env: bool) -> (serde_json::Value, Option<i32>, Vec<u8>, Vec<u8>) {
    let mut cmd = bin();
    cmd.args([
        "check",
        "alice@contoso.com",
        "--only",
        "credentials",
        "--json",
    ]);
    if via_env {
        cmd.env("MAILBOX_DOCTOR_TOKEN", token);
    } else {
        cmd.arg("--oauth-token-stdin")
            .write_stdin(format!("{token}\n"));
    }
    let out = cmd.output().expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    (v, out.status.code(), out.stdout, out.stderr)
}

#[test]
fn a_fitting_token_passes_and_names_user_and_audience() {
    let t = util::canary_token("alice@contoso.com");
    let (v, code, out, err) = run(&t, false);
    assert_eq!(v["checks"][0]["status"], "pass", "{v}");
    let summary = v["checks"][0]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("alice@contoso.com") && summary.contains("https://outlook.office.com"),
        "{summary}"
    );
    assert_eq!(code, Some(0));
    assert_no_leak("alice@contoso.com", &t, &[&out, &err]);
}

#[test]
fn expired_wrong_audience_missing_scope_and_other_user_are_explained() {
    let t = jwt(serde_json::json!({
        "aud": "https://graph.microsoft.com", "scp": "Mail.Read", "upn": "bob@contoso.com", "exp": now() - 600
    }));
    let (v, code, out, err) = run(&t, true);
    let got = codes(&v);
    for want in [
        "OAUTH_TOKEN_EXPIRED",
        "OAUTH_WRONG_AUDIENCE",
        "OAUTH_MISSING_SCOPE",
        "OAUTH_WRONG_USER",
    ] {
        assert!(got.iter().any(|c| c == want), "{want} missing from {got:?}");
    }
    assert_eq!(code, Some(2));
    assert_no_leak("alice@contoso.com", &t, &[&out, &err]);
}

#[test]
fn an_opaque_token_is_accepted_as_is() {
    let (v, code, ..) = run(
        "EwBwA8l6BAAUO9chh8cJscQLmU+LSWpbnr0vmwwAAQCanaryOpaque",
        false,
    );
    assert!(v["checks"][0]["summary"]
        .as_str()
        .unwrap_or_default()
        .contains("opaque"));
    assert_eq!(code, Some(0));
}
