//! The batch file: CSV with a header, or JSON lines. It names each mailbox and
//! where its secret comes from (an environment variable, or a file only its
//! owner can read), never the secret itself: a column that would hold one is
//! refused before anything is sent.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One mailbox to check, as read from the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub email: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub smtp: Option<String>,
    #[serde(default)]
    pub imap: Option<String>,
    #[serde(default)]
    pub pop: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// OAuth for monitoring: a saved refresh token (a file only its owner can
    /// read, as `--save-token` writes it), traded for an access token at each
    /// run, with the app registration and tenant it belongs to.
    #[serde(default)]
    pub refresh_token_file: Option<PathBuf>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    /// The client secret the refresh is sent with (a file only its owner can
    /// read): Google's Desktop clients need it, as do confidential clients.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    File(#[from] crate::secret::input::FileError),
    #[error("cannot read {path}: {why}")]
    Read { path: String, why: std::io::Error },
    #[error("{path} line {line}: {why}")]
    Row {
        path: String,
        line: usize,
        why: String,
    },
    #[error("{path} holds no mailbox")]
    Empty { path: String },
}

const SECRET_COLUMNS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "secret",
    "token",
    "app_password",
];

pub fn row_err(path: &Path, line: usize, why: impl Into<String>) -> BatchError {
    BatchError::Row {
        path: path.display().to_string(),
        line,
        why: why.into(),
    }
}

fn secret_column_error(path: &Path, line: usize, col: &str) -> BatchError {
    row_err(
        path,
        line,
        format!(
            "column `{col}` would hold a secret; a batch file must never hold passwords or tokens: name an environment variable in `password_env` or a private file in `password_file` instead"
        ),
    )
}

/// Parses the file: JSON lines when the first non-blank character is `{`, else CSV
/// with a header row. Returns rows with their line numbers.
pub fn parse(path: &Path, text: &str) -> Result<Vec<(usize, Row)>, BatchError> {
    let mut rows = Vec::new();
    if text.trim_start().starts_with('{') {
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(l)
                .map_err(|e| row_err(path, line_no, format!("not JSON: {e}")))?;
            if let Some(obj) = v.as_object() {
                if let Some(col) = obj
                    .keys()
                    .find(|k| SECRET_COLUMNS.contains(&k.to_ascii_lowercase().as_str()))
                {
                    return Err(secret_column_error(path, line_no, col));
                }
            }
            let row: Row =
                serde_json::from_value(v).map_err(|e| row_err(path, line_no, e.to_string()))?;
            rows.push((line_no, row));
        }
    } else {
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers = rd
            .headers()
            .map_err(|e| row_err(path, 1, format!("bad CSV header: {e}")))?
            .clone();
        if let Some(col) = headers
            .iter()
            .find(|h| SECRET_COLUMNS.contains(&h.to_ascii_lowercase().as_str()))
        {
            return Err(secret_column_error(path, 1, col));
        }
        for rec in rd.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                row_err(path, line, format!("bad CSV: {e}"))
            })?;
            let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
            let mut row = Row::default();
            for (h, v) in headers.iter().zip(rec.iter()) {
                let v = (!v.is_empty()).then(|| v.to_string());
                match h {
                    "email" => row.email = v.unwrap_or_default(),
                    "provider" => row.provider = v,
                    "smtp" => row.smtp = v,
                    "imap" => row.imap = v,
                    "pop" => row.pop = v,
                    "password_env" => row.password_env = v,
                    "password_file" => row.password_file = v.map(PathBuf::from),
                    "refresh_token_file" => row.refresh_token_file = v.map(PathBuf::from),
                    "client_id" => row.client_id = v,
                    "tenant" => row.tenant = v,
                    "client_secret_file" => row.client_secret_file = v.map(PathBuf::from),
                    other => return Err(row_err(path, 1, format!("unknown column `{other}`"))),
                }
            }
            rows.push((line, row));
        }
    }
    for (line, row) in &rows {
        if row.email.trim().is_empty() {
            return Err(row_err(path, *line, "no email"));
        }
        if row.password_env.is_some() && row.password_file.is_some() {
            return Err(row_err(
                path,
                *line,
                "give password_env or password_file, not both",
            ));
        }
        if row.refresh_token_file.is_some() {
            if row.password_env.is_some() || row.password_file.is_some() {
                return Err(row_err(
                    path,
                    *line,
                    "give a password or a refresh_token_file, not both",
                ));
            }
            // Google has no tenants: its rows name the client alone.
            let google = row
                .provider
                .as_deref()
                .is_some_and(|p| p.starts_with("gmail") || p.starts_with("google"));
            if google && row.client_secret_file.is_none() {
                return Err(row_err(
                    path,
                    *line,
                    "a Gmail refresh_token_file needs client_secret_file: Google's Desktop-app clients send their client secret with every token request",
                ));
            }
            if row.client_id.is_none() || (row.tenant.is_none() && !google) {
                return Err(row_err(
                    path,
                    *line,
                    "refresh_token_file needs client_id and tenant (the app registration and tenant the token was issued by)",
                ));
            }
        } else if row.client_secret_file.is_some() {
            return Err(row_err(
                path,
                *line,
                "client_secret_file goes with a refresh_token_file (the client secret the refresh is sent with)",
            ));
        }
    }
    if rows.is_empty() {
        return Err(BatchError::Empty {
            path: path.display().to_string(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_lines_parse() {
        let p = Path::new("t.csv");
        let rows = parse(
            p,
            "email,provider,password_env\na@x.com,gmail,PW_A\nb@y.com,,\n",
        )
        .expect("csv");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1.provider.as_deref(), Some("gmail"));
        assert_eq!(rows[1].1.password_env, None);
        let rows = parse(
            p,
            "{\"email\":\"a@x.com\",\"password_env\":\"PW\"}\n\n{\"email\":\"b@y.com\"}\n",
        )
        .expect("jsonl");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, 3);
    }

    #[test]
    fn a_secret_in_the_file_is_refused_without_echoing_it() {
        let p = Path::new("t.csv");
        let e = parse(p, "email,password\na@x.com,hunter2-canary\n").expect_err("refused");
        let msg = e.to_string();
        assert!(
            msg.contains("must never hold passwords") && !msg.contains("hunter2"),
            "{msg}"
        );
        let e = parse(
            p,
            "{\"email\":\"a@x.com\",\"Password\":\"hunter2-canary\"}\n",
        )
        .expect_err("refused");
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn bad_rows_are_clear_errors() {
        let p = Path::new("t.csv");
        for bad in [
            // A Gmail refresh without the client secret Google asks for, and
            // a client secret without a refresh token to send it with.
            "email,provider,refresh_token_file,client_id\na@gmail.com,gmail,rt,c\n",
            "email,client_secret_file\na@x.com,s\n",
            "",
            "email\n",
            "email,colour\na@x.com,red\n",
            "{\"email\":\"\"}",
            "{not json",
        ] {
            assert!(parse(p, bad).is_err(), "{bad:?}");
        }
    }
}
