//! Where sign-ins come from: a file or standard input (`-`), its format told by
//! its content (never by its name), and the reader for that format. Readers hand
//! every row to a `Rows` sink, good or malformed, and report the bytes they
//! consume so a progress bar can follow.

use super::{csv_input, json_input, utf16, SignIn};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Receives what a reader finds, one row at a time.
pub trait Rows {
    fn sign_in(&mut self, row: SignIn);
    /// A row that could not be read, with where it starts and why (the reason
    /// never quotes the row's content).
    fn malformed(&mut self, line: u64, reason: &str);
}

/// Where one input is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    pub fn from_arg(arg: &Path) -> Source {
        if arg.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::File(arg.to_path_buf())
        }
    }

    /// How reports and errors name it: control, bidirectional and invisible
    /// characters in a file name are shown escaped.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "-".into(),
            Source::File(p) => {
                crate::net::scrub::escape_controls(&p.display().to_string()).into_owned()
            }
        }
    }
}

/// The export formats told apart by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The portal's CSV download (interactive or non-interactive).
    Csv,
    /// The portal's JSON download: one array of sign-ins.
    PortalJson,
    /// Microsoft Graph `auditLogs/signIns` pages: `{"value": [...], "@odata.nextLink": ...}`.
    GraphPages,
    /// One sign-in object after another (JSON lines).
    JsonLines,
}

/// What reading one input found, besides its rows.
#[derive(Debug, Clone)]
pub struct Summary {
    pub format: Format,
    /// Graph pages read, and how many of them point to a next page.
    pub pages: u64,
    pub pages_with_next_link: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{name}: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: {why}")]
    NotASignInLog { name: String, why: String },
}

/// Counts the bytes read through it, for the progress bar.
struct Counting<'a, R> {
    inner: R,
    on_bytes: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_bytes)(n as u64);
        Ok(n)
    }
}

/// The size of a file input, for the progress bar (None for standard input).
pub fn size(source: &Source) -> Option<u64> {
    match source {
        Source::Stdin => None,
        Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
    }
}

/// Reads one input to its end, every row into `rows`.
pub fn read(
    source: &Source,
    rows: &mut dyn Rows,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<Summary, InputError> {
    let name = source.name();
    let io = |source| InputError::Io {
        name: name.clone(),
        source,
    };
    let inner: Box<dyn Read> = match source {
        Source::Stdin => Box::new(std::io::stdin().lock()),
        Source::File(p) => Box::new(std::fs::File::open(p).map_err(io)?),
    };
    let mut rd: Box<dyn BufRead + '_> = Box::new(BufReader::with_capacity(
        256 * 1024,
        Counting { inner, on_bytes },
    ));
    // UTF-16 (with or without its byte-order mark) is read as UTF-8.
    if let Some((endian, mark)) = utf16::detect(rd.fill_buf().map_err(io)?) {
        rd.consume(mark);
        rd = Box::new(BufReader::with_capacity(
            256 * 1024,
            utf16::Decoder::new(rd, endian),
        ));
    }
    let (first, skipped_lines) = first_byte(&mut rd).map_err(io)?;
    let not_log = |why: String| InputError::NotASignInLog {
        name: name.clone(),
        why,
    };
    match first {
        None => Err(not_log("the input is empty".into())),
        Some(b'[') | Some(b'{') => json_input::read(rd, skipped_lines, rows).map_err(|e| match e {
            json_input::Error::Io(e) => io(e),
            json_input::Error::NotJson(why) => not_log(why),
        }),
        Some(0xFF) | Some(0xFE) | Some(0) => Err(not_log(
            "this is neither UTF-8 nor UTF-16 text (a zero byte or a stray byte-order mark at its start; UTF-32?); save the export as UTF-8 (the portal's download is UTF-8)"
                .into(),
        )),
        Some(_) => csv_input::read(rd, skipped_lines, rows).map_err(|e| match e {
            csv_input::Error::Io(e) => io(e),
            csv_input::Error::NotASignInLog(why) => not_log(why),
        }),
    }
}

/// Skips a UTF-8 byte-order mark and leading white space; returns the first other
/// byte without consuming it, and the line breaks skipped.
fn first_byte<R: BufRead>(rd: &mut R) -> std::io::Result<(Option<u8>, u64)> {
    let mut at_start = true;
    let mut lines = 0;
    loop {
        let buf = rd.fill_buf()?;
        if buf.is_empty() {
            return Ok((None, lines));
        }
        if at_start && buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            rd.consume(3);
            at_start = false;
            continue;
        }
        at_start = false;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                lines += buf[..i].iter().filter(|&&c| c == b'\n').count() as u64;
                rd.consume(i);
                return Ok((Some(b), lines));
            }
            None => {
                let n = buf.len();
                lines += buf.iter().filter(|&&c| c == b'\n').count() as u64;
                rd.consume(n);
            }
        }
    }
}
