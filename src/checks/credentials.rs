//! The `credentials` check (not implemented yet: reports skip).

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx};

pub struct Credentials;

impl Check for Credentials {
    fn id(&self) -> CheckId {
        CheckId::Credentials
    }
    fn needs(&self) -> &'static [CheckId] {
        &[]
    }
    fn describe(&self) -> &'static str {
        "credentials"
    }
    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async { CheckResult::skip("not implemented yet") })
    }
}
