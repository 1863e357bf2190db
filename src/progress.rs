//! The spinner: one line per running check on stderr, only when stderr is a
//! terminal and the output is text. It never writes to stdout, so JSON, Nagios and
//! Prometheus output stay clean, and it is cleared before the report is printed.

use crate::checks::CheckResult;
use crate::vocab::{CheckId, Status};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::time::Duration;

pub struct Progress {
    multi: MultiProgress,
    bars: Vec<(CheckId, ProgressBar)>,
}

impl Progress {
    /// A spinner for each check about to run; None when stderr is not a terminal.
    pub fn start(checks: &[CheckId]) -> Option<Progress> {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let multi = MultiProgress::new();
        let style = ProgressStyle::with_template("{spinner} {prefix:<12} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = checks
            .iter()
            .map(|id| {
                let b = multi.add(ProgressBar::new_spinner());
                b.set_style(style.clone());
                b.set_prefix(id.as_str());
                b.set_message("running");
                b.enable_steady_tick(Duration::from_millis(100));
                (*id, b)
            })
            .collect();
        Some(Progress { multi, bars })
    }

    /// Marks a check done.
    pub fn done(&self, id: CheckId, result: &CheckResult) {
        if let Some((_, b)) = self.bars.iter().find(|(i, _)| *i == id) {
            let word = match result.status {
                Status::Pass => "pass",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
                Status::Error => "ERROR",
            };
            b.finish_with_message(word);
        }
    }

    /// Hides the spinners while `f` runs (a question at the terminal).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    /// Removes every spinner line before the report is printed.
    pub fn clear(self) {
        for (_, b) in &self.bars {
            b.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// A progress bar over the bytes of the inputs (a spinner with a count when the
/// total is unknown, as for standard input), on stderr, only on a terminal.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn start(total: Option<u64>) -> Option<Bar> {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match total {
            Some(n) => {
                let b = ProgressBar::new(n);
                b.set_style(
                    ProgressStyle::with_template(
                        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta} left",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b
            }
            None => {
                let b = ProgressBar::new_spinner();
                b.set_style(
                    ProgressStyle::with_template("{spinner} {bytes} read, {bytes_per_sec}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                b
            }
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        Some(Bar { bar })
    }

    pub fn add(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    /// Removes the bar before the report is printed.
    pub fn clear(self) {
        self.bar.finish_and_clear();
    }
}
