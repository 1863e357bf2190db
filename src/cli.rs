//! The command-line contract, in one place. Monitoring systems and scripts depend on
//! these names; renaming one is a breaking change.

use crate::vocab::CheckId;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  End user, testing a pasted app password (prompted, not echoed):
    mailbox-doctor check alice@contoso.com
  Helpdesk, on a call: full protocol transcript, secrets redacted:
    mailbox-doctor check alice@contoso.com --transcript
  Helpdesk, decoding an error a user read out:
    mailbox-doctor explain '535 5.7.139 Authentication unsuccessful, basic authentication is disabled.'
  Monitoring (password from the environment, JSON or Nagios output):
    MAILBOX_DOCTOR_PASSWORD=... mailbox-doctor check alice@contoso.com --format nagios

Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad flags, internal error).";

#[derive(Debug, Parser)]
#[command(
    name = "mailbox-doctor",
    version = crate::vocab::version_line(),
    about = "Tells, in one run, why a mail login (SMTP AUTH, IMAP, POP3) fails and what to do about it",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the checks against one mailbox
    Check(Box<CheckArgs>),
    /// Explain a server reply or client error text (offline; stdin when TEXT is absent)
    Explain(ExplainArgs),
    /// Run the checks against a simulated Exchange Online (no account, no network)
    Demo(DemoArgs),
    /// Check many mailboxes from a CSV or JSON-lines file
    Batch(Box<BatchArgs>),
    /// List the checks and every diagnosis code
    List(ListArgs),
    /// Serve probes for Prometheus: GET /probe?target=ADDRESS checks a mailbox of the config file
    Serve(Box<ServeArgs>),
    /// Read Entra sign-in log exports: legacy sign-ins, failures, lockout risk (offline)
    Signins(Box<SigninsArgs>),
    /// Test, from this network and without sending a message, the ways out for a
    /// device that cannot do OAuth (HVE, connector relay, direct send, SMTP AUTH,
    /// Google's relay, a self-hosted relay)
    Paths(Box<PathsArgs>),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Manpage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Nagios,
    Prometheus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Short for --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// When to use colors in text output (NO_COLOR is respected with auto)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The mailbox (login name), e.g. alice@contoso.com
    pub email: String,

    /// Read the password from one line of standard input (only the final line ending is removed)
    #[arg(long)]
    pub password_stdin: bool,

    /// Do not ask for a password: test connectivity and TLS only
    #[arg(long, conflicts_with = "password_stdin")]
    pub no_password: bool,

    /// Log in with an OAuth 2.0 access token (XOAUTH2) read from one line of standard
    /// input instead of a password (also: MAILBOX_DOCTOR_TOKEN)
    #[arg(long, conflicts_with_all = ["password_stdin", "no_password"])]
    pub oauth_token_stdin: bool,

    /// Provider profile (auto: from the mail domain, the server names, then the MX)
    #[arg(long, default_value = "auto")]
    pub provider: String,

    /// SMTP submission server, [smtps://|smtp://]HOST[:PORT] (465 or smtps:// = implicit TLS, otherwise STARTTLS)
    #[arg(long, value_name = "HOST[:PORT]")]
    pub smtp: Option<String>,
    /// IMAP server, [imaps://|imap://]HOST[:PORT] (993 or imaps:// = implicit TLS, otherwise STARTTLS)
    #[arg(long, value_name = "HOST[:PORT]")]
    pub imap: Option<String>,
    /// POP3 server, [pop3s://|pop3://]HOST[:PORT] (995 or pop3s:// = implicit TLS, otherwise STLS)
    #[arg(long, value_name = "HOST[:PORT]")]
    pub pop: Option<String>,

    #[command(flatten)]
    pub net: NetArgs,

    #[command(flatten)]
    pub sign_in: SignInArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Pretend the current date is DATE (YYYY-MM-DD), for the dated facts
    #[arg(long, hide = true, value_name = "DATE")]
    pub now: Option<chrono::NaiveDate>,

    #[command(flatten)]
    pub signin_log: SigninLogArgs,
}

/// `check --signin-log`: the sign-in log's record of a refused login.
#[derive(Debug, Clone, Args)]
pub struct SigninLogArgs {
    /// After a refused login, look its record up in the Entra sign-in logs
    /// (Microsoft Graph) and add its error code, failure reason and Conditional
    /// Access result; needs a Graph token with AuditLog.Read.All
    /// (--graph-token-file, or MAILBOX_DOCTOR_GRAPH_TOKEN)
    #[arg(long = "signin-log")]
    pub enabled: bool,
    /// A file holding the Graph access token (only its owner may read it)
    #[arg(long, value_name = "FILE", requires = "enabled")]
    pub graph_token_file: Option<PathBuf>,
    /// How long to wait for the record to appear (sign-in logs lag), in seconds
    #[arg(long, default_value_t = 300.0, value_name = "SECS", value_parser = parse_timeout)]
    pub signin_log_wait: f64,
    /// Seconds between two look-ups while waiting
    #[arg(long, hide = true, default_value_t = 15.0, value_name = "SECS", value_parser = parse_timeout)]
    pub signin_log_poll: f64,
    /// Base URL of Microsoft Graph (national clouds, tests); https only
    #[arg(long = "signin-log-graph-url", value_name = "URL", default_value = crate::vocab::DEFAULT_GRAPH_URL)]
    pub graph_url: String,
}

/// How `--sign-in` gets a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignInFlow {
    /// Device code (RFC 8628): a code to enter at an address, on any device
    Device,
    /// Authorization code with PKCE, through this machine's browser and a loopback address
    Browser,
    /// App-only (client credentials), with a client secret or certificate
    App,
}

/// Another vendor's public client, borrowed only when asked for by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BorrowedClient {
    /// Mozilla Thunderbird's registered public client
    Thunderbird,
}

/// Which app signs in, to which tenant, and how long it may wait: the options
/// `check --sign-in` and `paths --sign-in` share. Each requires a `--sign-in`
/// (the `signing_in` group of the command that flattens it).
#[derive(Debug, Clone, Args)]
pub struct SignInClientArgs {
    /// The application (client) id of your organisation's app registration
    #[arg(
        long,
        value_name = "ID",
        requires = "signing_in",
        conflicts_with = "borrow_client"
    )]
    pub client_id: Option<String>,
    /// Use another vendor's public client id instead of your own app registration (the report names whose)
    #[arg(long, value_enum, value_name = "VENDOR", requires = "signing_in")]
    pub borrow_client: Option<BorrowedClient>,
    /// The tenant (id or domain) to sign in to; default: the tenant found from the address
    #[arg(long, value_name = "TENANT", requires = "signing_in")]
    pub tenant: Option<String>,
    /// The longest the sign-in may wait for you, in seconds (default: the device code's lifetime; 300 for the browser)
    #[arg(long, value_name = "SECS", requires = "sign_in", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sign_in_timeout: Option<u64>,
    /// Do not try to open a browser: print the sign-in address instead
    #[arg(long, requires = "sign_in")]
    pub no_browser: bool,
}

/// Signing in with OAuth 2.0 to get the token the logins use (XOAUTH2). Shared by
/// every command that signs in.
#[derive(Debug, Clone, Args)]
pub struct SignInArgs {
    /// Sign in with OAuth 2.0 and log in with the token it gives (XOAUTH2)
    #[arg(long, value_enum, value_name = "FLOW", group = "signing_in", conflicts_with_all = ["password_stdin", "oauth_token_stdin"])]
    pub sign_in: Option<SignInFlow>,
    #[command(flatten)]
    pub client: SignInClientArgs,
    /// The client secret, from a file only its owner can read (app-only and Google sign-in)
    #[arg(
        long,
        value_name = "FILE",
        requires = "signing_in",
        conflicts_with = "client_certificate"
    )]
    pub client_secret_file: Option<PathBuf>,
    /// A PEM file with the app's certificate and its RSA private key (app-only), readable only by its owner
    #[arg(long, value_name = "FILE", requires = "sign_in")]
    pub client_certificate: Option<PathBuf>,
    /// Ask for a refresh token too (offline_access) and write it to FILE, mode 0600; nothing else is ever written
    #[arg(long, value_name = "FILE", requires = "sign_in")]
    pub save_token: Option<PathBuf>,
    /// Trade the refresh token saved in FILE (only its owner may read it; what
    /// --save-token wrote) for an access token instead of signing in; a new
    /// refresh token handed back replaces it there
    #[arg(long, value_name = "FILE", group = "signing_in", conflicts_with_all = ["password_stdin", "oauth_token_stdin"])]
    pub refresh_token_file: Option<PathBuf>,
}

/// Network and check-selection flags shared by `check` and `batch`.
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Run only these checks (and what they need), comma-separated
    #[arg(long, value_delimiter = ',', value_enum, conflicts_with = "skip")]
    pub only: Vec<CheckId>,
    /// Do not run these checks, comma-separated; checks that need them are skipped
    #[arg(long, value_delimiter = ',', value_enum)]
    pub skip: Vec<CheckId>,

    /// Timeout for each network step, in seconds
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: f64,
    /// Send every DNS lookup to this server (IP:PORT)
    #[arg(long, value_name = "IP:PORT")]
    pub dns_server: Option<std::net::SocketAddr>,
    /// Extra trust anchors (PEM), for private CAs
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Show every protocol line, secrets redacted
    #[arg(long)]
    pub transcript: bool,
    /// Allow credentials over an unencrypted connection (never the default)
    #[arg(long)]
    pub allow_plaintext: bool,
    /// Warn when a certificate or a dated deadline is this many days away or fewer
    #[arg(long, default_value_t = 30, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub warning_days: u32,
    /// Critical when a certificate or a dated deadline is this many days away or fewer
    #[arg(long, default_value_t = 7, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub critical_days: u32,
    /// Base URL of the Microsoft identity platform, for private setups and tests
    #[arg(long, value_name = "URL", default_value = crate::vocab::DEFAULT_IDENTITY_URL)]
    pub identity_url: String,
    /// The HTTPS port of the autoconfig servers discovery asks, for private setups and tests
    #[arg(long, hide = true, value_name = "PORT", default_value_t = 443, value_parser = clap::value_parser!(u16).range(1..))]
    pub autoconfig_port: u16,
    /// Trust HOST with the credentials although only discovery (DNS) names it,
    /// outside the address's domain or at a local address (repeatable)
    #[arg(long, value_name = "HOST", value_parser = crate::target::trusted_host)]
    pub trust_discovered: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// CSV (with a header) or JSON lines: email, and optionally provider, smtp, imap,
    /// pop, password_env (name of an environment variable) or password_file (a file
    /// only its owner can read). Never the password itself.
    pub file: PathBuf,
    /// Mailboxes checked at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub concurrency: u16,
    /// Mailboxes of one domain checked at once (so one tenant is not hammered)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub per_domain: u16,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[arg(long, hide = true, value_name = "DATE")]
    pub now: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The config file (TOML): [modules.NAME] with the check's options, [[targets]]
    /// with an address, its module and where its secret comes from
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The address to listen on (any other than loopback only when named here)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9877")]
    pub listen: std::net::SocketAddr,
    /// Probes at once, over all targets
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub concurrency: u16,
    /// Probes at once for mailboxes of one domain (so one tenant is not hammered)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub per_domain: u16,
    /// Seconds taken off Prometheus's scrape timeout to make a probe's deadline
    #[arg(long, default_value_t = 0.5, value_name = "SECS", value_parser = parse_offset)]
    pub timeout_offset: f64,
    /// Open HTTP connections at once
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_connections: u16,
    #[arg(long, hide = true, value_name = "DATE")]
    pub now: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The scenario to play (see --list); a realistic failure when absent
    pub scenario: Option<String>,
    /// List the scenarios
    #[arg(long)]
    pub list: bool,
    /// Show every protocol line, secrets redacted
    #[arg(long)]
    pub transcript: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[arg(long, hide = true, value_name = "DATE")]
    pub now: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The reply or error text; read from standard input when absent
    #[arg(allow_hyphen_values = true)]
    pub text: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_offset(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(v.is_finite() && (0.0..=60.0).contains(&v)) {
        return Err("the offset must be between 0 and 60 seconds".into());
    }
    Ok(v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SigninsFormat {
    Text,
    Json,
    /// One row per finding, for a spreadsheet
    Csv,
    /// Prometheus text: per-tenant password sign-ins by client app (textfile collector, Pushgateway)
    Prometheus,
    /// One Nagios plugin line with performance data
    Nagios,
}

#[derive(Debug, Clone, Args)]
pub struct SigninsArgs {
    /// Sign-in log exports: the Entra portal's CSV or JSON download (interactive or
    /// non-interactive), or Microsoft Graph auditLogs/signIns pages; `-` reads
    /// standard input. The format is told by the content.
    #[arg(required_unless_present = "enabled", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only sign-ins of this window: N days (30d), hours (12h), weeks (2w), or since
    /// a date (2026-11-01); older rows are counted and left out
    #[arg(long, default_value = "30d", value_name = "WINDOW", value_parser = parse_since)]
    pub since: Since,
    /// Countries where sign-ins are expected (ISO codes, comma-separated,
    /// repeatable): sign-ins from anywhere else are listed
    #[arg(long = "expected-country", value_name = "CC", value_delimiter = ',', value_parser = parse_country)]
    pub expected_country: Vec<String>,
    /// Warning when a successful legacy sign-in's end date is this many days away or fewer
    #[arg(long, default_value_t = 30, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub warning_days: u32,
    /// Critical when a successful legacy sign-in's end date is this many days away or fewer (or past)
    #[arg(long, default_value_t = 7, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub critical_days: u32,
    /// Replace user names and IP addresses with pseudonyms (a keyed hash; the key
    /// is printed once on standard error), so the report can go into a ticket
    #[arg(long)]
    pub redact: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = SigninsFormat::Text)]
    pub format: SigninsFormat,
    /// Short for --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// When to use colors in text output (NO_COLOR is respected with auto)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Pretend the current time is this (YYYY-MM-DD or RFC 3339)
    #[arg(long, hide = true, value_name = "TIME", value_parser = parse_now)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub graph: GraphArgs,
}

/// Reading sign-ins live from Microsoft Graph (`signins --graph`).
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Read the sign-in logs live from Microsoft Graph (auditLogs/signIns) instead of
    /// export files; needs a Graph token with AuditLog.Read.All (--token-stdin)
    #[arg(long = "graph", conflicts_with = "files", requires = "token_stdin")]
    pub enabled: bool,
    /// Read the Microsoft Graph access token from one line of standard input
    #[arg(long, requires = "enabled")]
    pub token_stdin: bool,
    /// The tenant (its ID or a domain): labels the monitoring output, and a token
    /// issued for another tenant ID is refused
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Base URL of Microsoft Graph (national clouds, tests); https only
    #[arg(long, value_name = "URL", default_value = crate::vocab::DEFAULT_GRAPH_URL)]
    pub graph_url: String,
    /// Graph version read: beta has the non-interactive sign-ins and the user agent;
    /// v1.0 only the interactive sign-ins
    #[arg(long, value_enum, default_value_t = GraphVersion::Beta)]
    pub graph_version: GraphVersion,
    /// Read only the legacy client apps' sign-ins (the default of the prometheus and
    /// nagios formats)
    #[arg(long)]
    pub legacy_only: bool,
    /// Timeout for each HTTP exchange with Graph, in seconds
    #[arg(long = "graph-timeout", default_value_t = 30.0, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: f64,
    /// Deadline for the whole read, in seconds
    #[arg(long, default_value_t = 900.0, value_name = "SECS", value_parser = parse_timeout)]
    pub graph_deadline: f64,
    /// The longest 429 Retry-After waited, in seconds
    #[arg(long, hide = true, default_value_t = 60.0, value_name = "SECS", value_parser = parse_timeout)]
    pub max_retry_after: f64,
    /// Records per page asked ($top; Graph's maximum is 1000)
    #[arg(long, hide = true, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// Extra trust anchors (PEM) for the Graph URL, for private CAs
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Send every DNS lookup to this server (IP:PORT)
    #[arg(long, value_name = "IP:PORT")]
    pub dns_server: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphVersion {
    Beta,
    #[value(name = "v1.0")]
    V1,
}

impl SigninsArgs {
    pub fn format(&self) -> SigninsFormat {
        if self.json {
            SigninsFormat::Json
        } else {
            self.format
        }
    }
}

/// The start of the `signins` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(chrono::Duration),
    At(chrono::DateTime<chrono::Utc>),
}

impl Since {
    pub fn resolve(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            Since::Ago(d) => now - d,
            Since::At(t) => t,
        }
    }
}

fn parse_since(s: &str) -> Result<Since, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a window: use 30d, 12h, 2w or a date (2026-11-01)");
    if let Some(t) = parse_now(s).ok().filter(|_| s.contains('-')) {
        return Ok(Since::At(t));
    }
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "d"),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    if !(1..=36_500).contains(&n) {
        return Err("the window must be between 1 and 36500 days".into());
    }
    let d = match unit {
        "d" => chrono::Duration::days(n),
        "h" => chrono::Duration::hours(n),
        "w" => chrono::Duration::weeks(n),
        _ => return Err(bad()),
    };
    Ok(Since::Ago(d))
}

fn parse_now(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

fn parse_country(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(s.to_ascii_uppercase())
    } else {
        Err(format!(
            "`{s}` is not a two-letter ISO country code (e.g. DE, AT)"
        ))
    }
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(v.is_finite() && v > 0.0 && v <= 3600.0) {
        return Err("the timeout must be between 0 and 3600 seconds".into());
    }
    Ok(v)
}

/// The TLS versions a device speaks (`paths --device-tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceTls {
    #[value(name = "1.0")]
    V10,
    #[value(name = "1.1")]
    V11,
    #[value(name = "1.2")]
    V12,
    #[value(name = "1.3")]
    V13,
}

impl DeviceTls {
    /// 10, 11, 12 or 13.
    pub fn number(self) -> u8 {
        match self {
            DeviceTls::V10 => 10,
            DeviceTls::V11 => 11,
            DeviceTls::V12 => 12,
            DeviceTls::V13 => 13,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct PathsArgs {
    /// The address the device sends as, e.g. scanner@contoso.com
    pub email: String,
    /// An internal recipient to probe with (default: the address itself)
    #[arg(long, value_name = "ADDRESS")]
    pub recipient: Option<String>,
    /// A recipient outside the organisation: tells connector relay from direct send
    #[arg(long, value_name = "ADDRESS")]
    pub external_recipient: Option<String>,
    /// A High Volume Email account to log in with (once)
    #[arg(long, value_name = "ADDRESS")]
    pub hve_account: Option<String>,
    /// The HVE account's password: the first line of a file only its owner can
    /// read (also: MAILBOX_DOCTOR_HVE_PASSWORD)
    #[arg(long, value_name = "FILE", requires = "hve_account")]
    pub hve_password_file: Option<PathBuf>,
    /// A relay or submission server of your own to test, HOST[:PORT] (default port 587)
    #[arg(long, value_name = "HOST[:PORT]")]
    pub relay: Option<String>,
    /// The newest TLS version the device speaks
    #[arg(long, value_enum, value_name = "VERSION")]
    pub device_tls: Option<DeviceTls>,
    /// Send one short, plainly labelled message to the internal recipient by
    /// direct send (nothing is ever sent otherwise)
    #[arg(long)]
    pub send_test_message: bool,
    /// A TLS client certificate (PEM chain) for a connector or relay that
    /// recognises the device by it, presented to the MX and to --relay when they
    /// ask; with its private key in the same file (then only its owner may read
    /// it) or in --client-key
    #[arg(long, value_name = "FILE")]
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's private key (PEM), in a file only its owner can read
    #[arg(long, value_name = "FILE", requires = "client_certificate")]
    pub client_key: Option<PathBuf>,
    #[command(flatten)]
    pub sign_in: PathsSignInArgs,
    /// Base URL of the Microsoft identity platform, for private setups and tests (https only)
    #[arg(long, value_name = "URL", default_value = crate::vocab::DEFAULT_IDENTITY_URL)]
    pub identity_url: String,
    /// Timeout for each network step, in seconds
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: f64,
    /// Send every DNS lookup to this server (IP:PORT)
    #[arg(long, value_name = "IP:PORT")]
    pub dns_server: Option<std::net::SocketAddr>,
    /// Extra trust anchors (PEM), for private CAs
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Allow credentials over an unencrypted connection (never the default)
    #[arg(long)]
    pub allow_plaintext: bool,
    /// The MX port probed (tests)
    #[arg(long, hide = true, default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..))]
    pub mx_port: u16,
    /// The submission port probed (tests)
    #[arg(long, hide = true, default_value_t = 587, value_parser = clap::value_parser!(u16).range(1..))]
    pub submission_port: u16,
    /// The HVE port probed (tests)
    #[arg(long, hide = true, default_value_t = 587, value_parser = clap::value_parser!(u16).range(1..))]
    pub hve_port: u16,
    #[command(flatten)]
    pub output: OutputArgs,
    #[arg(long, hide = true, value_name = "DATE")]
    pub now: Option<chrono::NaiveDate>,
}

/// How `paths --sign-in` signs in: as the person, like a device that speaks OAuth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PathsSignInFlow {
    /// Device code (RFC 8628): a code to enter at an address, on any device
    Device,
    /// Authorization code with PKCE, through this machine's browser and a loopback address
    Browser,
}

/// `paths --sign-in`: the `oauth` path signs in (as `check --sign-in` does,
/// with the same client options) and tests AUTH XOAUTH2 once. Not all of
/// `SignInArgs` flattened: that one conflicts with `check`'s credential flags
/// and names `--client-certificate` for app-only sign-in, which `paths` uses
/// for the TLS client certificate; `as_sign_in` hands the planner the same
/// request.
#[derive(Debug, Clone, Args)]
pub struct PathsSignInArgs {
    /// Sign in with OAuth 2.0 and test AUTH XOAUTH2 once on the provider's submission server (the oauth path)
    #[arg(long, value_enum, value_name = "FLOW", group = "signing_in")]
    pub sign_in: Option<PathsSignInFlow>,
    #[command(flatten)]
    pub client: SignInClientArgs,
}

impl PathsSignInArgs {
    /// The same request in `check`'s terms, for the one sign-in planner.
    pub fn as_sign_in(&self) -> SignInArgs {
        SignInArgs {
            sign_in: self.sign_in.map(|f| match f {
                PathsSignInFlow::Device => SignInFlow::Device,
                PathsSignInFlow::Browser => SignInFlow::Browser,
            }),
            client: self.client.clone(),
            client_secret_file: None,
            client_certificate: None,
            save_token: None,
            refresh_token_file: None,
        }
    }
}
