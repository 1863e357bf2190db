//! The `imap` check (not implemented yet: reports skip).

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx};

pub struct Imap;

impl Check for Imap {
    fn id(&self) -> CheckId {
        CheckId::Imap
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns, CheckId::Tls]
    }
    fn describe(&self) -> &'static str {
        "imap"
    }
    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async { CheckResult::skip("not implemented yet") })
    }
}
