//! The `tls` check (not implemented yet: reports skip).

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx};

pub struct Tls;

impl Check for Tls {
    fn id(&self) -> CheckId {
        CheckId::Tls
    }
    fn needs(&self) -> &'static [CheckId] {
        &[CheckId::Dns]
    }
    fn describe(&self) -> &'static str {
        "tls"
    }
    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async { CheckResult::skip("not implemented yet") })
    }
}
