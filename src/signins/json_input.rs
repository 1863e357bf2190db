//! The JSON exports: the portal's download (an array of sign-ins), Microsoft
//! Graph `auditLogs/signIns` pages (`{"value": [...], "@odata.nextLink": ...}`,
//! several pages in one file or one after another), and one object per line.
//!
//! A small scanner cuts the input into records (tracking strings, escapes, depth
//! and lines) without building the document, so memory stays at one record
//! (at most `MAX_RECORD` bytes). Each record is then parsed on its own: a broken
//! one is reported with the line it starts on, and the next one is read.

use super::input::{Format, Rows, Summary};
use super::{clean, country_code, parse_code, parse_time, CaStatus, Outcome, SignIn};
use serde::Deserialize;
use std::borrow::Cow;
use std::io::BufRead;

/// The largest record kept; a bigger one is skipped and counted as malformed.
pub const MAX_RECORD: usize = 1 << 20;

#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    NotJson(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}

struct Scanner<R> {
    rd: R,
    line: u64,
}

/// How capturing one value ended.
#[derive(PartialEq, Eq)]
enum End {
    Complete,
    TooLarge,
    Truncated,
}

impl<R: BufRead> Scanner<R> {
    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.rd.fill_buf()?.first().copied())
    }

    fn bump(&mut self) -> std::io::Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            if b == b'\n' {
                self.line += 1;
            }
            self.rd.consume(1);
        }
        Ok(b)
    }

    /// Skips white space; returns the next byte without consuming it.
    fn skip_ws(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            let buf = self.rd.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    self.line += buf[..i].iter().filter(|&&b| b == b'\n').count() as u64;
                    let b = buf[i];
                    self.rd.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.line += buf.iter().filter(|&&b| b == b'\n').count() as u64;
                    self.rd.consume(n);
                }
            }
        }
    }

    /// Reads one JSON value (raw) into `out`, keeping at most `MAX_RECORD` bytes.
    /// Works on whole buffers at a time, not byte by byte.
    fn capture(&mut self, out: &mut Vec<u8>) -> std::io::Result<End> {
        let (mut depth, mut in_string, mut escape) = (0u32, false, false);
        let mut too_large = false;
        let scalar = !matches!(self.peek()?, Some(b'{') | Some(b'[') | Some(b'"'));
        loop {
            let buf = self.rd.fill_buf()?;
            if buf.is_empty() {
                return Ok(if scalar && !too_large {
                    End::Complete
                } else {
                    End::Truncated
                });
            }
            let mut used = buf.len();
            let mut done = false;
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                if scalar {
                    if b == b',' || b == b']' || b == b'}' || b.is_ascii_whitespace() {
                        used = i;
                        done = true;
                        break;
                    }
                    i += 1;
                    continue;
                }
                if in_string {
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            used = i + 1;
                            done = true;
                            break;
                        }
                    } else {
                        // Skip to the next quote or backslash at once.
                        match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                            Some(n) => i += n,
                            None => i = buf.len(),
                        }
                        continue;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            used = i + 1;
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            let chunk = &buf[..used];
            self.line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            let room = MAX_RECORD.saturating_sub(out.len());
            if chunk.len() > room {
                too_large = true;
            }
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.rd.consume(used);
            if done {
                return Ok(if too_large {
                    End::TooLarge
                } else {
                    End::Complete
                });
            }
        }
    }
}

struct Reader<'a, R> {
    sc: Scanner<R>,
    rows: &'a mut dyn Rows,
    buf: Vec<u8>,
    format: Option<Format>,
    pages: u64,
    pages_with_next_link: u64,
}

/// Reads a JSON export; `line_offset` is the number of lines skipped before it.
pub fn read<R: BufRead>(rd: R, line_offset: u64, rows: &mut dyn Rows) -> Result<Summary, Error> {
    let mut r = Reader {
        sc: Scanner {
            rd,
            line: line_offset + 1,
        },
        rows,
        buf: Vec::new(),
        format: None,
        pages: 0,
        pages_with_next_link: 0,
    };
    loop {
        match r.sc.skip_ws()? {
            None => break,
            Some(b'[') => {
                r.sc.bump()?;
                r.format.get_or_insert(Format::PortalJson);
                r.array()?;
            }
            Some(b'{') => r.top_object()?,
            Some(b',') => {
                r.sc.bump()?;
            }
            Some(_) => {
                if r.format.is_none() {
                    return Err(Error::NotJson("the input is not JSON".into()));
                }
                let line = r.sc.line;
                r.rows.malformed(line, "text between JSON values");
                while let Some(b) = r.sc.bump()? {
                    if b == b'\n' {
                        break;
                    }
                }
            }
        }
    }
    Ok(Summary {
        format: r.format.unwrap_or(Format::PortalJson),
        pages: r.pages,
        pages_with_next_link: r.pages_with_next_link,
    })
}

impl<R: BufRead> Reader<'_, R> {
    /// The elements of an array whose `[` was just read, each a sign-in.
    fn array(&mut self) -> Result<(), Error> {
        let mut cut_record = false;
        loop {
            match self.sc.skip_ws()? {
                None => {
                    // A record cut off is already counted; otherwise say the
                    // list is not closed (rows after it may be missing).
                    if !cut_record {
                        let line = self.sc.line;
                        self.rows
                            .malformed(line, "the input ends inside a list: it may be cut off");
                    }
                    return Ok(());
                }
                Some(b']') => {
                    self.sc.bump()?;
                    return Ok(());
                }
                Some(b',') => {
                    self.sc.bump()?;
                }
                Some(_) => {
                    let line = self.sc.line;
                    let mut buf = std::mem::take(&mut self.buf);
                    buf.clear();
                    let end = self.sc.capture(&mut buf)?;
                    cut_record = end == End::Truncated;
                    self.record(&buf, line, end);
                    self.buf = buf;
                }
            }
        }
    }

    /// A top-level object: a Graph page when it has a `value` list, otherwise
    /// one sign-in (JSON lines). Its other members are kept (bounded) in case it
    /// is a sign-in.
    fn top_object(&mut self) -> Result<(), Error> {
        let start = self.sc.line;
        self.sc.bump()?;
        let mut kept: Vec<u8> = vec![b'{'];
        let (mut page, mut next_link, mut too_large) = (false, false, false);
        loop {
            match self.sc.skip_ws()? {
                None => {
                    self.rows
                        .malformed(start, "the input ends inside this record");
                    return Ok(());
                }
                Some(b'}') => {
                    self.sc.bump()?;
                    break;
                }
                Some(b',') => {
                    self.sc.bump()?;
                }
                Some(b'"') => {
                    let mut key = Vec::new();
                    if self.sc.capture(&mut key)? != End::Complete {
                        self.rows.malformed(start, "a member name is cut off");
                        return Ok(());
                    }
                    if self.sc.skip_ws()? != Some(b':') {
                        self.rows.malformed(start, "the record is not valid JSON");
                        return self.skip_line();
                    }
                    self.sc.bump()?;
                    let value_start = self.sc.skip_ws()?;
                    if key == b"\"value\"" && value_start == Some(b'[') {
                        page = true;
                        self.format = Some(Format::GraphPages);
                        self.sc.bump()?;
                        self.array()?;
                        continue;
                    }
                    let mut value = Vec::new();
                    let end = self.sc.capture(&mut value)?;
                    if end == End::Truncated {
                        self.rows
                            .malformed(start, "the input ends inside this record");
                        return Ok(());
                    }
                    if key == b"\"@odata.nextLink\"" {
                        next_link = value.len() > 2 && value.first() == Some(&b'"');
                    }
                    if end == End::TooLarge || kept.len() + key.len() + value.len() > MAX_RECORD {
                        too_large = true;
                    } else if !page {
                        if kept.len() > 1 {
                            kept.push(b',');
                        }
                        kept.extend_from_slice(&key);
                        kept.push(b':');
                        kept.extend_from_slice(&value);
                    }
                }
                Some(_) => {
                    self.rows.malformed(start, "the record is not valid JSON");
                    return self.skip_line();
                }
            }
        }
        if page {
            self.pages += 1;
            self.pages_with_next_link += u64::from(next_link);
            return Ok(());
        }
        self.format.get_or_insert(Format::JsonLines);
        kept.push(b'}');
        let end = if too_large {
            End::TooLarge
        } else {
            End::Complete
        };
        self.record(&kept, start, end);
        Ok(())
    }

    fn skip_line(&mut self) -> Result<(), Error> {
        while let Some(b) = self.sc.bump()? {
            if b == b'\n' {
                break;
            }
        }
        Ok(())
    }

    fn record(&mut self, raw: &[u8], line: u64, end: End) {
        let result = match end {
            End::TooLarge => Err("the record is larger than 1 MiB"),
            End::Truncated => Err("the input ends inside this record"),
            End::Complete => match serde_json::from_slice::<Record>(raw) {
                Ok(rec) => rec.into_sign_in(line),
                Err(e) => Err(match e.classify() {
                    serde_json::error::Category::Data => "a field of the record has the wrong type",
                    _ => "the record is not valid JSON",
                }),
            },
        };
        match result {
            Ok(s) => self.rows.sign_in(s),
            Err(why) => self.rows.malformed(line, why),
        }
    }
}

/// A sign-in with Graph's property names (the portal's JSON download uses them too).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow)]
    created_date_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_principal_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_display_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client_app_used: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    conditional_access_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Status<'a>>,
    #[serde(borrow)]
    location: Option<Location<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    #[serde(borrow)]
    error_code: Option<Code<'a>>,
    #[serde(borrow)]
    failure_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Code<'a> {
    Number(u64),
    Text(#[serde(borrow)] Cow<'a, str>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(borrow)]
    country_or_region: Option<Cow<'a, str>>,
}

impl Record<'_> {
    fn into_sign_in(self, line: u64) -> Result<SignIn, &'static str> {
        let time = self
            .created_date_time
            .as_deref()
            .ok_or("the record has no createdDateTime")?;
        let time = parse_time(time).ok_or("createdDateTime is not a time")?;
        let user = [
            &self.user_principal_name,
            &self.user_display_name,
            &self.user_id,
        ]
        .into_iter()
        .flatten()
        .find(|u| !u.trim().is_empty())
        .ok_or("the record names no user (a service principal or managed identity sign-in?)")?;
        let status = self.status.ok_or("the record has no status")?;
        let code = match status.error_code {
            None => 0,
            Some(Code::Number(n)) => u32::try_from(n).map_err(|_| "the error code is too large")?,
            Some(Code::Text(t)) => parse_code(&t).ok_or("the error code is not a number")?,
        };
        let text = |v: &Option<Cow<'_, str>>| clean(v.as_deref().unwrap_or_default());
        Ok(SignIn {
            line,
            time,
            user: clean(user).to_lowercase(),
            client_app: text(&self.client_app_used),
            ip: text(&self.ip_address),
            user_agent: text(&self.user_agent),
            country: self
                .location
                .and_then(|l| l.country_or_region)
                .map(|c| country_code(&c))
                .unwrap_or_default(),
            error_code: code,
            outcome: if code == 0 {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            failure_reason: text(&status.failure_reason),
            ca: CaStatus::parse(
                self.conditional_access_status
                    .as_deref()
                    .unwrap_or_default(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen {
        users: Vec<String>,
        bad: Vec<(u64, String)>,
    }

    impl Rows for Seen {
        fn sign_in(&mut self, row: SignIn) {
            self.users.push(row.user);
        }
        fn malformed(&mut self, line: u64, reason: &str) {
            self.bad.push((line, reason.to_string()));
        }
    }

    fn read_str(text: &str) -> (Seen, Summary) {
        let mut seen = Seen::default();
        let summary = read(text.as_bytes(), 0, &mut seen).expect("reads");
        (seen, summary)
    }

    const REC: &str = r#"{"createdDateTime":"2026-11-30T07:00:00Z","userPrincipalName":"a@contoso.com","status":{"errorCode":0}}"#;

    #[test]
    fn braces_and_quotes_inside_strings_do_not_cut_a_record() {
        let tricky = r#"{"createdDateTime":"2026-11-30T07:00:00Z","userPrincipalName":"b@contoso.com","userAgent":"x } ] \" { [","status":{"errorCode":"50126","failureReason":"\\"}}"#;
        let (seen, s) = read_str(&format!("[{REC},\n{tricky},\n{REC}]"));
        assert_eq!(
            seen.users,
            ["a@contoso.com", "b@contoso.com", "a@contoso.com"]
        );
        assert!(seen.bad.is_empty(), "{:?}", seen.bad);
        assert_eq!(s.format, Format::PortalJson);
    }

    #[test]
    fn a_page_keeps_its_metadata_out_and_counts_its_next_link() {
        let page = format!(
            r#"{{"@odata.context":"c","@odata.nextLink":"https://graph.microsoft.com/v1.0/auditLogs/signIns?$skiptoken=x","value":[{REC},{REC}]}}"#
        );
        let last = format!(r#"{{"value":[{REC}],"@odata.context":"c"}}"#);
        let (seen, s) = read_str(&format!("{page}\n{last}\n"));
        assert_eq!(seen.users.len(), 3);
        assert_eq!(
            (s.format, s.pages, s.pages_with_next_link),
            (Format::GraphPages, 2, 1)
        );
    }

    #[test]
    fn an_oversized_record_and_text_between_records_are_counted_not_fatal() {
        let huge = format!(
            r#"{{"createdDateTime":"2026-11-30T07:00:00Z","userAgent":"{}","status":{{"errorCode":0}}}}"#,
            "x".repeat(MAX_RECORD + 10)
        );
        let (seen, _) = read_str(&format!("{REC}\n{huge}\ngarbage\n{REC}\n"));
        assert_eq!(seen.users.len(), 2);
        assert_eq!(
            seen.bad,
            [
                (2, "the record is larger than 1 MiB".to_string()),
                (3, "text between JSON values".to_string())
            ]
        );
    }

    #[test]
    fn text_that_is_not_json_is_an_error() {
        let mut seen = Seen::default();
        assert!(matches!(
            read(&b"hello"[..], 0, &mut seen),
            Err(Error::NotJson(_))
        ));
    }
}
