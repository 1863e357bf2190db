//! The credentials check through the binary (password on stdin or in the
//! environment), and a property test that no finding ever repeats the password.

mod util;

use mailbox_doctor::checks::credentials::analyze_password;
use proptest::prelude::*;
use util::{assert_no_leak, bin, validated};

fn run(user: &str, pw: &str) -> (serde_json::Value, Option<i32>, Vec<u8>, Vec<u8>) {
    let out = bin()
        .args([
            "check",
            user,
            "--password-stdin",
            "--only",
            "credentials",
            "--json",
        ])
        .write_stdin(format!("{pw}\n"))
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    (v, out.status.code(), out.stdout, out.stderr)
}

fn first(v: &serde_json::Value) -> (String, String) {
    let f = &v["checks"][0]["findings"][0];
    (
        f["code"].as_str().unwrap_or_default().into(),
        f["message"].as_str().unwrap_or_default().into(),
    )
}

#[test]
fn a_clean_app_password_exits_0() {
    let (v, code, ..) = run("alice@contoso.com", "abcdefghijklmnop");
    assert_eq!(v["checks"][0]["status"], "pass");
    assert_eq!(code, Some(0));
}

#[test]
fn a_trailing_space_kept_by_password_stdin_is_found_and_is_critical() {
    let (v, code, out, err) = run("alice@contoso.com", "abcdefghijklmnop ");
    assert_eq!(first(&v), ("CRED_WHITESPACE".into(), "character 17 of 17 is U+0020 SPACE (trailing): whitespace at the start or end is almost never part of a password".into()));
    assert_eq!(code, Some(2));
    assert_eq!(v["diagnosis"][0]["code"], "CRED_WHITESPACE");
    assert_no_leak("alice@contoso.com", "abcdefghijklmnop", &[&out, &err]);
}

#[test]
fn crlf_is_removed_only_once_so_a_second_cr_is_reported() {
    // stdin "...\r\r\n": the CR LF ending goes, the extra CR stays and is reported.
    let (v, ..) = run("alice@contoso.com", "abcdefghijklmnop\r\r");
    let (code, msg) = first(&v);
    assert_eq!(code, "CRED_WHITESPACE");
    assert!(msg.contains("U+000D CARRIAGE RETURN"), "{msg}");
}

#[test]
fn zero_width_space_from_the_environment() {
    let out = bin()
        .args([
            "check",
            "alice@contoso.com",
            "--only",
            "credentials",
            "--json",
        ])
        .env("MAILBOX_DOCTOR_PASSWORD", "abcdefgh\u{200B}ijklmnop")
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    let (code, msg) = first(&v);
    assert_eq!(code, "CRED_INVISIBLE_CHAR");
    assert!(
        msg.contains("character 9 of 17 is U+200B ZERO WIDTH SPACE"),
        "{msg}"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn provider_shapes_come_from_the_profile() {
    let (v, ..) = run("bob@gmail.com", "Summer2026!");
    let (code, msg) = first(&v);
    assert_eq!(code, "CRED_APP_PASSWORD_SHAPE");
    assert!(
        msg.contains("Gmail") && msg.contains("account password"),
        "{msg}"
    );
    let (v, code, ..) = run("carol@icloud.com", "dksi-umcn-pqcz-kdit");
    assert_eq!(v["checks"][0]["status"], "pass", "{v}");
    assert_eq!(code, Some(0));
}

#[test]
fn username_forms_are_checked_even_without_a_password() {
    let out = bin()
        .args([
            "check",
            "CONTOSO\\alice",
            "--no-password",
            "--only",
            "credentials",
            "--json",
        ])
        .output()
        .expect("runs");
    let v = validated(&out.stdout, "report.v1.json");
    assert_eq!(first(&v).0, "CRED_USERNAME_FORMAT");
    assert_eq!(out.status.code(), Some(2));
}

proptest! {
    #[test]
    fn analysis_never_panics_and_never_repeats_the_password(
        core in "[QXZ]{6,20}",
        pre in prop::sample::select(vec!["", " ", "\t", "\u{200B}", "\"", "\u{201C}", "\u{00A0}"]),
        post in prop::sample::select(vec!["", " ", "\r", "\u{FEFF}", "\"", "\u{201D}", "\u{202F}"]),
        provider in prop::sample::select(vec!["microsoft365", "gmail", "icloud", "yahoo", "generic"]),
    ) {
        let kb = mailbox_doctor::knowledge::get().expect("kb");
        let pw = format!("{pre}{core}{post}");
        let (findings, summary) = analyze_password(kb, &pw, kb.provider(provider));
        for text in findings.iter().map(|f| f.message.clone()).chain([summary]) {
            for w in core.as_bytes().windows(3) {
                let w = std::str::from_utf8(w).expect("ascii");
                prop_assert!(!text.contains(w), "{} leaked in {}", w, text);
            }
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(pw in "\\PC{0,64}") {
        let kb = mailbox_doctor::knowledge::get().expect("kb");
        let _ = analyze_password(kb, &pw, kb.provider("microsoft365"));
        let _ = mailbox_doctor::checks::credentials::analyze_username(kb, &pw, kb.provider("generic"));
    }
}
