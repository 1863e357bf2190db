//! Entry point: parse the command line, run, turn the outcome into an exit code.
//! Nothing else lives here; the exit-code policy is in `lib.rs`.

use std::process::ExitCode;

fn main() -> ExitCode {
    mailbox_doctor::install_panic_hook();
    let code = mailbox_doctor::main_with_args(std::env::args_os());
    ExitCode::from(code)
}
