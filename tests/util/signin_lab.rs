//! A lab for the sign-in tests: the scripted identity platform (HTTPS on
//! 127.0.0.1) and replay servers that accept only the tokens it issued, the
//! binary run against them, and the test playing the browser on the loopback
//! redirect. Every run is swept for every secret the platform handed out or
//! received.
#![allow(dead_code)]

use super::{leak_forms, validated};
use mailbox_doctor::sim::identity::IdentityServer;
use mailbox_doctor::sim::oauth::Script;
use mailbox_doctor::sim::pki::{CertKind, Pki, Validity};
use mailbox_doctor::sim::replay::{ReplayServer, Scenario, TokenCheck};
use std::io::{BufRead as _, BufReader};
use std::sync::Arc;
use std::time::Duration;

pub const USER: &str = "alice@contoso.com";
pub const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

pub struct Lab {
    pub rt: tokio::runtime::Runtime,
    pub identity: IdentityServer,
    pub servers: Vec<(String, ReplayServer)>,
    pub ca: tempfile::NamedTempFile,
    pub dns: mailbox_doctor::sim::dns::DnsServer,
    pub pki: Pki,
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new(script: Script, fixtures: &[&str]) -> Lab {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let (pki, identity, check) = contoso_platform(&rt, script);
        let mut servers = Vec::new();
        for name in fixtures {
            let sc = Scenario::named(name).expect("fixture");
            let (flag, scheme) = match sc.protocol {
                mailbox_doctor::vocab::Protocol::Smtp
                    if sc.tls == mailbox_doctor::vocab::TlsMode::Implicit =>
                {
                    ("--smtp", "smtps")
                }
                mailbox_doctor::vocab::Protocol::Smtp => ("--smtp", "smtp"),
                mailbox_doctor::vocab::Protocol::Imap => ("--imap", "imaps"),
                mailbox_doctor::vocab::Protocol::Pop => ("--pop", "pop3s"),
            };
            let cfg = pki
                .server_config(CertKind::Valid, &["127.0.0.1"])
                .expect("cert");
            let s = rt
                .block_on(ReplayServer::start_checked(
                    sc,
                    cfg,
                    Duration::ZERO,
                    Some(check.clone()),
                ))
                .expect("replay");
            servers.push((
                format!("{flag}={scheme}://127.0.0.1:{}", s.addr().port()),
                s,
            ));
        }
        let ca = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(ca.path(), pki.ca.pem()).expect("ca");
        let dns = super::local_dns(&rt);
        let dir = tempfile::tempdir().expect("dir");
        Lab {
            rt,
            identity,
            servers,
            ca,
            dns,
            pki,
            dir,
        }
    }

    /// The flags that point a run at the lab: its identity platform, its CA and
    /// its DNS server.
    fn network(&self) -> Vec<std::ffi::OsString> {
        vec![
            "--identity-url".into(),
            format!("https://127.0.0.1:{}", self.identity.addr().port()).into(),
            "--ca-file".into(),
            self.ca.path().into(),
            "--dns-server".into(),
            self.dns.addr().to_string().into(),
        ]
    }

    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mailbox-doctor"));
        c.env_remove("MAILBOX_DOCTOR_PASSWORD")
            .env_remove("MAILBOX_DOCTOR_TOKEN")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("TMPDIR", self.dir.path());
        for var in ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"] {
            c.env_remove(var);
        }
        c.args(["check", USER, "--timeout", "5"])
            .args(self.network())
            .args(self.servers.iter().map(|(f, _)| f.as_str()))
            .args(args);
        c
    }

    /// Runs the binary; the report, the exit code and standard error.
    pub fn check(&self, args: &[&str]) -> (serde_json::Value, Option<i32>, String) {
        let out = self
            .command(args)
            .args(["--json", "--transcript"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("runs");
        self.no_leak(&out.stdout, &out.stderr);
        let v = validated(&out.stdout, "report.v1.json");
        (
            v,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// No secret the platform handed out or received shows in any output or
    /// file the run left, in any form.
    pub fn no_leak(&self, stdout: &[u8], stderr: &[u8]) {
        let mut outputs = vec![
            String::from_utf8_lossy(stdout).into_owned(),
            String::from_utf8_lossy(stderr).into_owned(),
        ];
        for e in std::fs::read_dir(self.dir.path()).expect("dir").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // What the test itself wrote (the secret files, the certificate).
            if !name.starts_with("secret-") && !name.starts_with("app.") && name != "refresh-token"
            {
                outputs.push(std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        for secret in self.identity.platform.secrets() {
            for form in leak_forms(USER, &secret) {
                for o in &outputs {
                    assert!(!o.contains(&form), "a secret of the sign-in leaked: {o}");
                }
            }
        }
    }

    pub fn device(&self, extra: &[&str]) -> (serde_json::Value, Option<i32>, String) {
        let mut args = vec!["--sign-in", "device", "--client-id", CLIENT];
        args.extend_from_slice(extra);
        self.check(&args)
    }

    /// Runs `batch FILE --only imap` against the lab (JSON lines), swept for
    /// every secret of the platform.
    pub fn batch(&self, file: &std::path::Path) -> std::process::Output {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailbox-doctor"))
            .env("NO_COLOR", "1")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .arg("batch")
            .arg(file)
            .args(["--format", "json", "--timeout", "5", "--only", "imap"])
            .args(self.network())
            .output()
            .expect("runs");
        self.no_leak(&out.stdout, &out.stderr);
        out
    }

    /// The first report of a batch's JSON lines.
    pub fn first_report(out: &std::process::Output) -> serde_json::Value {
        let line = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        serde_json::from_str(&line).expect("a JSON line")
    }

    /// Authentication attempts over every replay server.
    pub fn attempts(&self) -> usize {
        self.servers
            .iter()
            .map(|(_, s)| s.stats().auth_attempts)
            .sum()
    }

    pub fn mismatches(&self) -> Vec<String> {
        self.servers
            .iter()
            .flat_map(|(_, s)| s.stats().mismatches)
            .collect()
    }
}

/// The scripted identity platform on 127.0.0.1 (its certificate from a PKI of
/// its own) knowing contoso.com's tenant, and the check that accepts only the
/// tokens it issued.
pub fn contoso_platform(
    rt: &tokio::runtime::Runtime,
    script: Script,
) -> (Pki, IdentityServer, TokenCheck) {
    let pki = Pki::new().expect("pki");
    let cert = pki.ca.issue(&["127.0.0.1"], Validity::Valid).expect("cert");
    let tenants = mailbox_doctor::sim::identity::contoso_tenants();
    let identity = rt
        .block_on(IdentityServer::start_scripted(&cert, tenants, script))
        .expect("identity");
    let platform = identity.platform.clone();
    let check: TokenCheck = Arc::new(move |t: &str| platform.accepts(t));
    (pki, identity, check)
}

pub fn check<'a>(v: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    v["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or(&serde_json::Value::Null)
}

/// Starts `check --sign-in browser --no-browser` and returns the process and the
/// authorize address it printed alone on its own line of standard error.
pub fn start_browser(
    lab: &Lab,
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStderr>,
) {
    start_browser_with(lab, &["--json", "--transcript"])
}

/// `start_browser` with other output flags.
pub fn start_browser_with(
    lab: &Lab,
    extra: &[&str],
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStderr>,
) {
    let mut child = lab
        .command(&[
            "--sign-in",
            "browser",
            "--no-browser",
            "--client-id",
            CLIENT,
            "--sign-in-timeout",
            "20",
        ])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).expect("read") > 0,
            "no address printed"
        );
        if line.starts_with("https://") {
            break;
        }
    }
    (child, line.trim().to_string(), err)
}

/// Plays the browser: GET the authorize address (verified TLS), and return the
/// redirect's target.
pub fn authorize(lab: &Lab, url: &str) -> String {
    authorize_on(&lab.rt, &lab.pki.ca.der(), url)
}

/// `authorize` for a platform whose certificate `ca_der` issued.
pub fn authorize_on(rt: &tokio::runtime::Runtime, ca_der: &[u8], url: &str) -> String {
    let rest = url.strip_prefix("https://").expect("https");
    let (authority, path) = rest.split_at(rest.find('/').expect("path"));
    let port: u16 = authority
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let route = mailbox_doctor::net::http::Route::Direct(vec!["127.0.0.1".parse().expect("ip")]);
    let resp = rt
        .block_on(mailbox_doctor::net::http::get_https(
            &route,
            "127.0.0.1",
            port,
            path,
            &[ca_der.to_vec()],
            Duration::from_secs(5),
        ))
        .expect("authorize");
    assert_eq!(resp.status, 302, "{resp:?}");
    resp.headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .expect("location")
}

/// Plays the browser following a redirect to the loopback address.
pub fn follow(lab: &Lab, location: &str) -> u16 {
    follow_on(&lab.rt, location)
}

/// `follow` on any runtime.
pub fn follow_on(rt: &tokio::runtime::Runtime, location: &str) -> u16 {
    let rest = location
        .strip_prefix("http://127.0.0.1:")
        .expect("loopback");
    let (port, path) = rest.split_at(rest.find('/').expect("path"));
    let port: u16 = port.parse().expect("port");
    rt.block_on(async {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        mailbox_doctor::net::http::get(&mut tcp, "127.0.0.1", path, Duration::from_secs(5))
            .await
            .expect("redirect answered")
            .status
    })
}

pub fn finish(
    lab: &Lab,
    child: std::process::Child,
    err: BufReader<std::process::ChildStderr>,
) -> (serde_json::Value, Option<i32>) {
    let (stdout, code) = finish_raw(lab, child, err);
    (validated(&stdout, "report.v1.json"), code)
}

/// Waits for the run to end, sweeps what it wrote, and returns its standard
/// output and exit code.
pub fn finish_raw(
    lab: &Lab,
    child: std::process::Child,
    mut err: BufReader<std::process::ChildStderr>,
) -> (Vec<u8>, Option<i32>) {
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    let out = child.wait_with_output().expect("ends");
    lab.no_leak(&out.stdout, rest.as_bytes());
    (out.stdout, out.status.code())
}

pub fn secret_file(lab: &Lab, text: &str, mode: u32) -> std::path::PathBuf {
    secret_file_named(lab, &format!("secret-{mode:o}"), text, mode)
}

/// A secret file `name` in the lab's directory, with this mode.
pub fn secret_file_named(lab: &Lab, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
    let p = lab.dir.path().join(name);
    std::fs::write(&p, format!("{text}\n")).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    // Elsewhere a file's access list, not a mode, says who reads it.
    #[cfg(not(unix))]
    let _ = mode;
    p
}
