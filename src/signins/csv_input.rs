//! The portal's CSV download (interactive and non-interactive sign-ins). Columns
//! are found by name, never by position: Microsoft adds columns over time, and
//! writes some names with a trailing space (`Application ID `) or a double one
//! (`Autonomous system  number`), so names are compared trimmed, with runs of
//! spaces collapsed, case-insensitively. A row that cannot be read is reported
//! with its line and the reading goes on.

use super::csv_reader::{Item, Reader, Record};
use super::input::{Format, Rows, Summary};
use super::{clean, country_code, parse_code, parse_time, CaStatus, Outcome, SignIn};
use std::io::BufRead;

#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    NotASignInLog(String),
}

/// A header as compared: trimmed, spaces collapsed, lowercase.
pub fn normalize_header(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Where each column we read is, by its normalized name.
struct Columns {
    date: usize,
    username: Option<usize>,
    user: Option<usize>,
    user_id: Option<usize>,
    client_app: Option<usize>,
    ip: Option<usize>,
    user_agent: Option<usize>,
    location: Option<usize>,
    status: Option<usize>,
    error_code: Option<usize>,
    failure_reason: Option<usize>,
    conditional_access: Option<usize>,
}

impl Columns {
    fn find(headers: &[String]) -> Result<Columns, String> {
        // The first column of a name wins (`Incoming token type` appears twice).
        let at = |name: &str| headers.iter().position(|h| h == name);
        let date = at("date (utc)").or_else(|| at("date"));
        let (username, user, user_id) = (at("username"), at("user"), at("user id"));
        let (status, error_code) = (at("status"), at("sign-in error code"));
        let Some(date) = date else {
            return Err(not_signins(headers, "`Date (UTC)`"));
        };
        if username.is_none() && user.is_none() && user_id.is_none() {
            let why = if at("service principal id").is_some() {
                return Err("this is a service-principal sign-in export (no user columns); signins reads the interactive and non-interactive user sign-in exports".into());
            } else {
                "`Username` or `User`"
            };
            return Err(not_signins(headers, why));
        }
        if status.is_none() && error_code.is_none() {
            return Err(not_signins(headers, "`Status` or `Sign-in error code`"));
        }
        Ok(Columns {
            date,
            username,
            user,
            user_id,
            client_app: at("client app"),
            ip: at("ip address"),
            user_agent: at("user agent"),
            location: at("location"),
            status,
            error_code,
            failure_reason: at("failure reason"),
            conditional_access: at("conditional access"),
        })
    }
}

fn not_signins(headers: &[String], missing: &str) -> String {
    let shown: Vec<String> = headers.iter().take(6).map(|h| clean(h)).collect();
    format!(
        "not an Entra sign-in log export: no {missing} column (the header starts with: {})",
        shown.join(", ")
    )
}

/// Reads a CSV export; `line_offset` is the number of lines skipped before it.
/// Rows are bounded (`csv_reader::MAX_ROW`): a longer one, or a quote never
/// closed, is a malformed row and reading resumes at the next line.
pub fn read<R: BufRead>(rd: R, line_offset: u64, rows: &mut dyn Rows) -> Result<Summary, Error> {
    let mut csv = Reader::new(rd, line_offset + 1);
    let mut record = Record::default();
    let headers: Vec<String> = match csv.next(&mut record).map_err(Error::Io)? {
        Item::Row { .. } => record
            .iter()
            .map(|f| normalize_header(&String::from_utf8_lossy(f)))
            .collect(),
        Item::Malformed { why, .. } => {
            return Err(Error::NotASignInLog(format!(
                "the CSV header cannot be read: {why}"
            )))
        }
        Item::End => return Err(Error::NotASignInLog("the input has no CSV header".into())),
    };
    let cols = Columns::find(&headers).map_err(Error::NotASignInLog)?;
    loop {
        match csv.next(&mut record).map_err(Error::Io)? {
            Item::End => break,
            Item::Row { line } => match row(&record, &cols) {
                Ok(mut s) => {
                    s.line = line;
                    rows.sign_in(s);
                }
                // A row over several lines that makes no sign-in: most likely a
                // stray quote that a later one closed; it costs its first line only.
                Err(why) if csv.last_spanned_lines() => {
                    csv.reread_last();
                    rows.malformed(line, &format!("{why} (a quoted field ran over the line's end); reading resumed at the next line"));
                }
                Err(why) => rows.malformed(line, why),
            },
            Item::Malformed { line, why } => rows.malformed(line, why),
        }
    }
    Ok(Summary {
        format: Format::Csv,
        pages: 0,
        pages_with_next_link: 0,
    })
}

fn row(r: &Record, c: &Columns) -> Result<SignIn, &'static str> {
    let text = |i: Option<usize>| -> std::borrow::Cow<'_, str> {
        i.and_then(|i| r.get(i))
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
    };
    if r.len() <= c.date {
        return Err("the row has too few columns");
    }
    let time = parse_time(&text(Some(c.date))).ok_or("the date is not a time")?;
    let user = [c.username, c.user, c.user_id]
        .into_iter()
        .map(&text)
        .find(|u| !u.trim().is_empty())
        .ok_or("the row names no user")?;
    let status = text(c.status);
    let code = parse_code(&text(c.error_code)).ok_or("the sign-in error code is not a number")?;
    let outcome = if status.trim().is_empty() {
        if code == 0 {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    } else if status.trim().eq_ignore_ascii_case("success") {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    Ok(SignIn {
        line: 0,
        time,
        user: clean(&user).to_lowercase(),
        client_app: clean(&text(c.client_app)),
        ip: clean(&text(c.ip)),
        user_agent: clean(&text(c.user_agent)),
        country: country_code(&text(c.location)),
        error_code: if outcome == Outcome::Success { 0 } else { code },
        outcome,
        failure_reason: clean(&text(c.failure_reason)),
        ca: CaStatus::parse(&text(c.conditional_access)),
    })
}
