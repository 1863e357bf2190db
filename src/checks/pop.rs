//! The `pop` check (not implemented yet: reports skip).

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx};

pub struct Pop;

impl Check for Pop {
    fn id(&self) -> CheckId {
        CheckId::Pop
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns, CheckId::Tls]
    }
    fn describe(&self) -> &'static str {
        "pop"
    }
    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async { CheckResult::skip("not implemented yet") })
    }
}
