//! A streaming CSV record reader (RFC 4180: `,` between fields, `"` around a
//! field that holds one, `""` for a quote inside it) with a bound on a row: an
//! export is untrusted input, and one stray `"` must not swallow the rest of a
//! file nor one field grow memory without end.
//!
//! A row (a quoted field included) longer than `MAX_ROW` bytes, or a quoted field
//! that the input ends inside, is a malformed row, and reading resumes at the line
//! after the one the row started on: from the bytes already read when the row
//! spanned lines (at most `MAX_ROW` of them are kept for that), else at the next
//! line break of the input, skipped to without keeping anything. Memory is
//! `MAX_ROW` and the caller's buffer, whatever the size of a field or a file.
//!
//! Like most readers it is lenient where the portal's files are not at stake: a
//! `"` inside an unquoted field is text, text after a closing quote is kept, and
//! `\n`, `\r\n` or `\r` end a row. Empty lines are skipped.

use std::io::{self, BufRead};

/// The longest row, in bytes (line breaks inside quotes included). The portal's
/// rows are one or two KiB; its longest fields (user agents, failure reasons)
/// well under that.
#[cfg(not(fuzzing))]
pub const MAX_ROW: usize = 32 * 1024;
/// Under the fuzzer, a bound its short inputs reach, so that the paths past it
/// are explored too.
#[cfg(fuzzing)]
pub const MAX_ROW: usize = 256;

/// One record's fields, unquoted, in one buffer.
#[derive(Debug, Default)]
pub struct Record {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Record {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.buf.get(start..end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }

    fn end_field(&mut self) {
        self.ends.push(self.buf.len());
    }
}

/// What `Reader::next` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    /// A record, starting on this line (1-based).
    Row {
        line: u64,
    },
    /// A row that could not be read, starting on this line, and why.
    Malformed {
        line: u64,
        why: &'static str,
    },
    End,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: the end of it, or the first of `""`.
    QuoteSeen,
}

/// How one row ended.
enum Ended {
    Row,
    /// A line break that ends nothing (an empty line).
    Blank,
    Overflow,
    Unclosed,
    Eof,
}

pub struct Reader<R> {
    inner: R,
    /// Bytes read once already, to be read again (after a malformed row that
    /// spanned lines), and how far they are read.
    replay: Vec<u8>,
    replay_at: usize,
    /// The line of the next byte.
    line: u64,
    /// The last record returned, when it spanned lines: its line and its bytes
    /// after its first line break (for `reread_last`).
    last: Option<(u64, Vec<u8>)>,
}

impl<R: BufRead> Reader<R> {
    /// `first_line` is the line number of the first byte.
    pub fn new(inner: R, first_line: u64) -> Reader<R> {
        Reader {
            inner,
            replay: Vec::new(),
            replay_at: 0,
            line: first_line,
            last: None,
        }
    }

    /// Whether the last record returned spanned lines (a quoted field held a
    /// line break).
    pub fn last_spanned_lines(&self) -> bool {
        self.last.is_some()
    }

    /// Reads again from the line after the one the last record started on, when
    /// that record spanned lines: for a record the caller could not use, whose
    /// quote was most likely a stray one that a later quote closed.
    pub fn reread_last(&mut self) {
        if let Some((start, tail)) = self.last.take() {
            self.line = start + 1;
            let mut replay = tail;
            replay.extend_from_slice(&self.replay[self.replay_at.min(self.replay.len())..]);
            self.replay = replay;
            self.replay_at = 0;
        }
    }

    fn chunk(&mut self) -> io::Result<&[u8]> {
        if self.replay_at < self.replay.len() {
            return Ok(&self.replay[self.replay_at..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        if self.replay_at < self.replay.len() {
            self.replay_at += n;
            if self.replay_at >= self.replay.len() {
                self.replay.clear();
                self.replay_at = 0;
            }
        } else {
            self.inner.consume(n);
        }
    }

    /// The next record into `rec`.
    pub fn next(&mut self, rec: &mut Record) -> io::Result<Item> {
        loop {
            rec.clear();
            let start = self.line;
            // The bytes of this row after its first line break (only a quoted
            // field holds one), to read again if the row turns out malformed.
            let mut tail: Vec<u8> = Vec::new();
            self.last = None;
            let (ended, spans_lines) = self.row(rec, &mut tail)?;
            match ended {
                Ended::Row => {
                    if spans_lines {
                        self.last = Some((start, tail));
                    }
                    return Ok(Item::Row { line: start });
                }
                Ended::Blank => continue,
                Ended::Eof => return Ok(Item::End),
                Ended::Overflow | Ended::Unclosed => {
                    let why = if matches!(ended, Ended::Overflow) {
                        "the row is longer than 32 KiB (a quote that is never closed?); reading resumed at the next line"
                    } else {
                        "a quoted field is not closed before the end of the input; reading resumed at the next line"
                    };
                    rec.clear();
                    self.resume(start, spans_lines.then_some(tail))?;
                    return Ok(Item::Malformed { line: start, why });
                }
            }
        }
    }

    /// Goes back to the line after `start`: to the kept bytes when the row
    /// spanned lines, else (a long row on one line) to the input's next line break.
    fn resume(&mut self, start: u64, tail: Option<Vec<u8>>) -> io::Result<()> {
        if let Some(tail) = tail {
            self.last = Some((start, tail));
            self.reread_last();
            return Ok(());
        }
        self.line = start + 1;
        loop {
            let chunk = self.chunk()?;
            if chunk.is_empty() {
                return Ok(());
            }
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = chunk.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Reads one row: fields into `rec`, its bytes after its first line break
    /// into `tail`.
    /// Also tells whether the row spanned lines.
    fn row(&mut self, rec: &mut Record, tail: &mut Vec<u8>) -> io::Result<(Ended, bool)> {
        let mut state = State::FieldStart;
        let mut size = 0usize;
        let mut spans_lines = false;
        loop {
            let chunk = self.chunk()?;
            if chunk.is_empty() {
                let ended = match state {
                    State::Quoted => Ended::Unclosed,
                    State::FieldStart if rec.ends.is_empty() => Ended::Eof,
                    _ => {
                        rec.end_field();
                        Ended::Row
                    }
                };
                return Ok((ended, spans_lines));
            }
            // Never more than one byte past the bound.
            let chunk = &chunk[..chunk.len().min(MAX_ROW + 1 - size)];
            let mut lines = 0u64;
            // Every byte that belongs to the row goes through here.
            let mut note = |span: &[u8], quoted: bool, lines: &mut u64| {
                size += span.len();
                if spans_lines {
                    tail.extend_from_slice(span);
                }
                if quoted {
                    if let Some(k) = memchr::memchr(b'\n', span) {
                        *lines += memchr::memchr_iter(b'\n', span).count() as u64;
                        if !spans_lines {
                            spans_lines = true;
                            tail.extend_from_slice(&span[k + 1..]);
                        }
                    }
                }
            };
            let mut i = 0;
            let mut ended = None;
            while i < chunk.len() && ended.is_none() {
                let b = chunk[i];
                match (state, b) {
                    (State::Quoted, _) => {
                        let end = memchr::memchr(b'"', &chunk[i..]).map_or(chunk.len(), |k| i + k);
                        rec.buf.extend_from_slice(&chunk[i..end]);
                        note(&chunk[i..end], true, &mut lines);
                        i = end;
                        if i < chunk.len() {
                            note(&chunk[i..=i], false, &mut lines);
                            state = State::QuoteSeen;
                            i += 1;
                        }
                    }
                    (_, b',') => {
                        note(&chunk[i..=i], false, &mut lines);
                        rec.end_field();
                        state = State::FieldStart;
                        i += 1;
                    }
                    (_, b'\n' | b'\r') => {
                        // Kept with the rest, for a record read again.
                        note(&chunk[i..=i], false, &mut lines);
                        let blank = state == State::FieldStart && rec.ends.is_empty();
                        if !blank {
                            rec.end_field();
                        }
                        if b == b'\n' {
                            lines += 1;
                        }
                        i += 1;
                        ended = Some(if blank { Ended::Blank } else { Ended::Row });
                    }
                    (State::FieldStart, b'"') => {
                        note(&chunk[i..=i], false, &mut lines);
                        state = State::Quoted;
                        i += 1;
                    }
                    (State::QuoteSeen, b'"') => {
                        note(&chunk[i..=i], false, &mut lines);
                        rec.buf.push(b'"');
                        state = State::Quoted;
                        i += 1;
                    }
                    _ => {
                        let end = memchr::memchr3(b',', b'\n', b'\r', &chunk[i..])
                            .map_or(chunk.len(), |k| i + k);
                        rec.buf.extend_from_slice(&chunk[i..end]);
                        note(&chunk[i..end], false, &mut lines);
                        state = State::Unquoted;
                        i = end;
                    }
                }
            }
            self.consume(i);
            self.line += lines;
            if let Some(e) = ended {
                return Ok((e, spans_lines));
            }
            if size > MAX_ROW {
                return Ok((Ended::Overflow, spans_lines));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], chunk: usize) -> Vec<(Item, Vec<String>)> {
        let rd = std::io::BufReader::with_capacity(chunk, input);
        let mut r = Reader::new(rd, 1);
        let mut rec = Record::default();
        let mut out = Vec::new();
        loop {
            let item = r.next(&mut rec).expect("reads");
            if item == Item::End {
                return out;
            }
            let fields = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            out.push((item, fields));
        }
    }

    fn rows(v: &[(Item, Vec<String>)]) -> Vec<String> {
        v.iter()
            .map(|(i, f)| match i {
                Item::Row { line } => format!("{line}:{}", f.join("|")),
                Item::Malformed { line, .. } => format!("{line}:malformed"),
                Item::End => "end".into(),
            })
            .collect()
    }

    #[test]
    fn quotes_escapes_and_line_breaks_read_as_rfc_4180_says() {
        let input = b"a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n,,\nlast,\"\"";
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                rows(&all(input, chunk)),
                ["1:a|b|c", "2:x,1|say \"hi\"|two\nlines", "5:||", "6:last|"],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_stray_quote_costs_its_row_only() {
        let mut input = b"h1,h2\n\"r1,x\n".to_vec();
        for i in 0..3000 {
            input.extend_from_slice(format!("r{i},y\n").as_bytes());
        }
        for chunk in [5, 4096, 1 << 20] {
            let got = all(&input, chunk);
            let r = rows(&got);
            assert_eq!(r[0], "1:h1|h2");
            assert_eq!(r[1], "2:malformed", "chunk {chunk}");
            assert_eq!(r[2], "3:r0|y");
            assert_eq!(r.len(), 3002);
            assert_eq!(r[3001], "3002:r2999|y");
        }
        // At the end of a short file: the quote is never closed.
        let got = rows(&all(b"h\n\"a\nb\nc\n", 3));
        assert_eq!(got, ["1:h", "2:malformed", "3:b", "4:c"]);
    }

    #[test]
    fn a_record_that_spanned_lines_can_be_read_again_from_its_second_line() {
        let input = b"h\n\"a,1\nb,2\n\"c,3\nd,4\n";
        let rd = std::io::BufReader::with_capacity(4, &input[..]);
        let mut r = Reader::new(rd, 1);
        let mut rec = Record::default();
        assert_eq!(r.next(&mut rec).expect("reads"), Item::Row { line: 1 });
        assert!(!r.last_spanned_lines());
        assert_eq!(r.next(&mut rec).expect("reads"), Item::Row { line: 2 });
        assert!(r.last_spanned_lines());
        r.reread_last();
        let mut got = Vec::new();
        loop {
            let item = r.next(&mut rec).expect("reads");
            if item == Item::End {
                break;
            }
            got.push((
                item,
                rec.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
            ));
        }
        assert_eq!(rows(&got), ["3:b|2", "4:malformed", "5:d|4"]);
    }

    #[test]
    fn a_huge_field_on_one_line_is_skipped_to_the_next_line() {
        let mut input = b"h\n\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * MAX_ROW));
        input.extend_from_slice(b"\",z\nok\n");
        assert_eq!(rows(&all(&input, 4096)), ["1:h", "2:malformed", "3:ok"]);
        let mut input = b"h\n".to_vec();
        input.extend(std::iter::repeat_n(b'y', 3 * MAX_ROW));
        input.extend_from_slice(b"\nok\n");
        assert_eq!(rows(&all(&input, 4096)), ["1:h", "2:malformed", "3:ok"]);
    }
}
