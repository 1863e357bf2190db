//! Runs the binary as a child process and measures it from outside: the time it
//! took and its peak resident memory, the kernel's high-water mark (`VmHWM` in
//! /proc/PID/status), read every few milliseconds until it exits (the mark only
//! grows, so the last reading is the peak up to then).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Measured {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub took: Duration,
    /// Peak resident memory, in MiB (0 when /proc could not be read).
    pub peak_mib: u64,
    /// Processor time used (user and system), as last read: unlike the time
    /// taken, it does not grow with the machine's load.
    pub cpu: Duration,
}

/// User and system time of a process, from /proc/PID/stat (clock ticks of 10 ms,
/// the kernel's USER_HZ on Linux).
fn cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of the line; the name (field 2) and state (3) come before.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `cmd` with `stdin` as its input; kills it after `limit`.
pub fn run(mut cmd: Command, stdin: &[u8], limit: Duration) -> Measured {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawns");
    let pid = child.id();
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let mut peak = 0;
    let mut cpu = Duration::ZERO;
    let status = loop {
        if let Some(k) = hwm_kib(pid) {
            peak = peak.max(k);
        }
        if let Some(c) = cpu_of(pid) {
            cpu = cpu.max(c);
        }
        if let Some(s) = child.try_wait().expect("waits") {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break child.wait().expect("waits");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    let _ = writer.join();
    Measured {
        code: status.code(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        took,
        peak_mib: peak / 1024,
        cpu,
    }
}

/// The binary, as `util::bin` sets it up, as a plain `Command`.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailbox-doctor"));
    c.env_remove("MAILBOX_DOCTOR_PASSWORD")
        .env_remove("MAILBOX_DOCTOR_TOKEN")
        .env("NO_COLOR", "1");
    for var in ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"] {
        c.env_remove(var);
    }
    c
}
