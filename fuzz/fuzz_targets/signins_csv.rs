//! An Entra sign-in CSV export, as hostile as it gets: the bounded CSV reader on
//! its own (records, malformed rows, resumption after a quote never closed or a
//! row over the bound), fed in pieces of a size the first byte chooses, then the
//! whole export reader (UTF-16 told and transcoded, columns found by name) into
//! a sink. Reading must end, never keep a row over the bound, never go back in
//! line numbers, and hand on no raw control, bidirectional or invisible character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailbox_doctor::net::scrub::is_unsafe_char;
use mailbox_doctor::signins::csv_reader::{Item, Reader, Record, MAX_ROW};
use mailbox_doctor::signins::input::Rows;
use mailbox_doctor::signins::{csv_input, utf16, SignIn};
use std::io::BufReader;

struct Sink {
    rows: u64,
    malformed: u64,
}

impl Rows for Sink {
    fn sign_in(&mut self, s: SignIn) {
        for text in [&s.user, &s.client_app, &s.ip, &s.user_agent, &s.failure_reason] {
            assert!(!text.chars().any(is_unsafe_char), "{text:?}");
        }
        self.rows += 1;
    }

    fn malformed(&mut self, _line: u64, reason: &str) {
        assert!(!reason.chars().any(is_unsafe_char));
        self.malformed += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let piece = usize::from(first % 64) + 1;
    let breaks = body.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64;

    let mut reader = Reader::new(BufReader::with_capacity(piece, body), 1);
    let mut rec = Record::default();
    let mut items = 0u64;
    let mut last_line = 0;
    loop {
        let item = reader.next(&mut rec).expect("reading a slice never fails");
        let line = match item {
            Item::End => break,
            Item::Row { line } => {
                let size: usize = rec.iter().map(<[u8]>::len).sum();
                assert!(size <= MAX_ROW, "a row of {size} bytes");
                line
            }
            Item::Malformed { line, .. } => line,
        };
        assert!(line >= last_line, "line {line} after {last_line}");
        assert!(line <= breaks + 1, "line {line} of {breaks} breaks");
        last_line = line;
        items += 1;
        // Each item ends at a line break or at the end of the input.
        assert!(items <= breaks + 1, "{items} items, {breaks} breaks");
    }

    let mut sink = Sink {
        rows: 0,
        malformed: 0,
    };
    let _ = match utf16::detect(body) {
        Some((endian, mark)) => {
            let decoded = utf16::Decoder::new(&body[mark.min(body.len())..], endian);
            csv_input::read(BufReader::with_capacity(piece, decoded), 0, &mut sink)
        }
        None => csv_input::read(BufReader::with_capacity(piece, body), 0, &mut sink),
    };
    assert!(sink.rows + sink.malformed <= body.len() as u64 + 1);
});
