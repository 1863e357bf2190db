//! Bad configs are refused at start with exit 3 and a clear message naming the
//! file (and line, when it has one); nothing is served and nothing is sent, and no
//! message repeats a secret.

use crate::harness::{serve_cmd, Env, CANARY, USER};
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

fn refused(env: &Env, text: &str, want: &[&str]) {
    let cfg = env.write_config(text);
    let out = serve_cmd(&cfg)
        .env("MD_SERVE_SET", CANARY)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{text}\n{err}");
    for w in want {
        assert!(err.contains(w), "expected `{w}` in: {err}");
    }
    assert!(err.contains("serve.toml"), "names the file: {err}");
    assert!(!err.contains("panicked"), "{err}");
    crate::util::assert_no_leak(USER, CANARY, &[&out.stdout, &out.stderr]);
}

#[test]
fn bad_configs_are_refused_with_the_reason() {
    let env = Env::new();
    let server = env.fixture("exo-smtp-ok", Duration::ZERO);
    let m = env.smtp_module("smtp", server.addr().port(), "");
    let t = env.target(USER, "smtp", "");
    let open = env.secret("open.secret", CANARY);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let fifo = env.dir.path().join("fifo.secret");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let secret_at = |key: &str, value: &str| {
        format!("[[targets]]\naddress = \"{USER}\"\nmodule = \"smtp\"\n{key} = \"{value}\"\n")
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("{m}colour = \"red\"\n{t}"), vec!["line 8", "colour"]),
        (
            format!("{m}{t}tls = true\n"),
            vec!["unknown field", "tls"],
        ),
        (m.clone(), vec!["no [[targets]]"]),
        (
            format!("{m}{}", secret_at("password_file", "/nonexistent/secret")),
            vec!["cannot read password_file /nonexistent/secret"],
        ),
        (
            format!("{m}{}", secret_at("password_file", &open.display().to_string())),
            vec!["readable by group or others", "chmod 600"],
        ),
        (
            format!("{m}{}", secret_at("token_file", &fifo.display().to_string())),
            vec!["token_file", "not a regular file"],
        ),
        (
            format!("{m}{}", secret_at("password_env", "MD_SERVE_UNSET_VARIABLE")),
            vec!["MD_SERVE_UNSET_VARIABLE", "not set"],
        ),
        (
            format!("{m}[[targets]]\naddress = \"{USER}\"\nmodule = \"smtp\"\n"),
            vec!["password_file, token_file, password_env or token_env"],
        ),
        (
            format!(
                "{m}[[targets]]\naddress = \"{USER}\"\nmodule = \"smtp\"\npassword_env = \"MD_SERVE_SET\"\ntoken_env = \"MD_SERVE_SET\"\n"
            ),
            vec!["more than one"],
        ),
        (format!("{m}{}", env.target("scanner", "smtp", "")), vec!["not a mailbox address"]),
        (
            format!("{m}{}", env.target("a b@contoso.com", "smtp", "")),
            vec!["not a mailbox address"],
        ),
        (format!("{m}{}", env.target(USER, "nope", "")), vec!["module `nope`", "not defined"]),
        (format!("{m}{t}{t}"), vec!["listed twice"]),
        (
            format!("{m}{}", env.target(USER, "smtp", "min_interval = \"0s\"")),
            vec!["min_interval", "cannot be switched off"],
        ),
        (
            format!("{m}{}", env.target(USER, "smtp", "min_interval = \"soon\"")),
            vec!["`soon` is not a duration"],
        ),
        (m.replace("timeout = 5", "timeout = 0") + &t, vec!["timeout must be"]),
        (m.replace("smtp://127.0.0.1", "smtp://[bad") + &t, vec!["[modules.smtp]"]),
        (
            m.replace(&env.ca.display().to_string(), "/nonexistent/ca.pem") + &t,
            vec!["/nonexistent/ca.pem"],
        ),
        (
            format!("{m}provider = \"nosuch\"\n{t}"),
            vec!["unknown provider `nosuch`"],
        ),
        ("this is = = not toml".to_string(), vec!["line 1"]),
    ];
    for (text, want) in &cases {
        refused(&env, text, want);
    }
    assert_eq!(server.stats().connections, 0, "nothing was sent");
}

#[test]
fn a_config_that_is_not_a_regular_file_is_refused() {
    let env = Env::new();
    let out = serve_cmd(env.dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a regular file"), "{err}");
}
