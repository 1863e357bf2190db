//! The `tenant` check (not implemented yet: reports skip).

use super::{BoxFuture, Check, CheckId, CheckResult, Ctx};

pub struct Tenant;

impl Check for Tenant {
    fn id(&self) -> CheckId {
        CheckId::Tenant
    }
    fn needs(&self) -> &'static [CheckId] {
        &[]
    }
    fn describe(&self) -> &'static str {
        "tenant"
    }
    fn run<'a>(&'a self, _ctx: &'a Ctx) -> BoxFuture<'a, CheckResult> {
        Box::pin(async { CheckResult::skip("not implemented yet") })
    }
}
