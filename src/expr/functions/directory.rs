//! Functions that read the target directory rather than the record (docs/fidelity.md B.5): DefaultDomain,
//! and the outbound-only AppRoleAssignmentsComplex / SingleAppRoleAssignment.
//!
//! Design constraints: the default domain is injected through `EvalContext`; the app-role functions parse
//! (so imported schemas keep working) but fail at evaluation, because inbound API-driven records carry no
//! `appRoleAssignments` (they serve Entra → SaaS provisioning only).

use super::super::ast::Call;
use super::super::eval::{EvalError, Evaluator};
use super::super::value::Value;
use crate::parse::Span;

pub(super) fn default_domain(ev: &mut Evaluator<'_, '_>, _call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::Str(ev.ctx.default_domain.to_owned()))
}

pub(super) fn app_role_assignments(_ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    Err(EvalError::in_call(
        call,
        span,
        "app role assignments only exist in outbound app provisioning (Entra ID to a SaaS app), not in API-driven inbound provisioning",
    ))
}

#[cfg(test)]
#[path = "directory_tests.rs"]
mod tests;
