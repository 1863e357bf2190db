//! The `smtp` check (not implemented yet: reports skip).

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx};

pub struct Smtp;

impl Check for Smtp {
    fn id(&self) -> CheckId {
        CheckId::Smtp
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns, CheckId::Tls]
    }
    fn describe(&self) -> &'static str {
        "smtp"
    }
    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async { CheckResult::skip("not implemented yet") })
    }
}
