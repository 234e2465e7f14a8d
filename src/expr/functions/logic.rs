//! Conditional and null-testing functions (docs/fidelity.md B.5): CBool, Coalesce,
//! IgnoreFlowIfNullOrEmpty, IIF, IsNull, IsNullOrEmpty, IsPresent, IsString, Not, Redact,
//! SelectUniqueValue, Switch.
//!
//! Quirks reproduced: IIF fails when an attribute used in its condition is null or empty (FUNC "Known
//! limitations"), Switch compares case-sensitively and matches a null source against a `""` key (FUNC's
//! recommended workaround), `Not` returns `True` for anything that is not true (FUNC: "Otherwise, returns
//! True"), SelectUniqueValue escrows the entry when no candidate is unique.

use super::super::ast::{Call, ExprKind};
use super::super::eval::{EvalError, Evaluator, to_bool};
use super::super::value::Value;
use crate::parse::Span;

/// Non-zero / `True` ⇒ `True`; null or empty ⇒ `False`; anything else is a conversion error.
pub(super) fn cbool(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let v = ev.arg_str(call, 0)?.unwrap_or_default();
    if v.trim().is_empty() {
        return Ok(Value::bool(false));
    }
    to_bool(&v)
        .map(Value::bool)
        .ok_or_else(|| EvalError::in_call(call, span, format!("cannot convert '{v}' to a Boolean")))
}

/// The first non-null argument (the optional `defaultValue` is simply the last candidate).
pub(super) fn coalesce(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    for i in 0..call.args.len() {
        let v = ev.arg(call, i)?;
        if !v.is_null() {
            return Ok(v);
        }
    }
    Ok(Value::Null)
}

pub(super) fn ignore_flow_if_null_or_empty(
    ev: &mut Evaluator<'_, '_>,
    call: &Call,
    _span: Span,
) -> Result<Value, EvalError> {
    let v = ev.arg(call, 0)?;
    if v.is_null_or_empty() {
        ev.ignore_flow = true;
    }
    Ok(v)
}

/// Evaluates only the branch taken.
pub(super) fn iif(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    if let Some(cond) = call.arg(0) {
        let mut attributes = Vec::new();
        cond.visit(&mut |e| {
            if let ExprKind::Attribute(a) = &e.kind {
                attributes.push((a, e.span));
            }
        });
        for (a, at) in attributes {
            if ev.read_attribute(a, at)?.is_null_or_empty() {
                return Err(EvalError::in_call(
                    call,
                    at,
                    format!(
                        "the condition uses [{}], which is null or empty, so the condition check fails (use Switch with a \"\" key instead)",
                        a.name
                    ),
                ));
            }
        }
    }
    let cond = ev.arg_str(call, 0)?.unwrap_or_default();
    let Some(b) = to_bool(&cond) else {
        return Err(EvalError::in_call(call, span, format!("the condition evaluated to '{cond}', not True or False")));
    };
    ev.arg(call, if b { 1 } else { 2 })
}

pub(super) fn is_null(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::bool(ev.arg(call, 0)?.is_null()))
}

pub(super) fn is_null_or_empty(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::bool(ev.arg(call, 0)?.is_null_or_empty()))
}

pub(super) fn is_present(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::bool(!ev.arg(call, 0)?.is_null_or_empty()))
}

/// True for a single string value (null and multi-valued are not strings).
pub(super) fn is_string(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::bool(matches!(ev.arg(call, 0)?, Value::Str(_))))
}

/// `False` when the source is true (`True` or a non-zero number), otherwise `True` — including null, so
/// `Not([active])` disables a user whose `active` was omitted, matching the service's behaviour.
pub(super) fn not(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    let v = ev.arg_str(call, 0)?.unwrap_or_default();
    Ok(Value::bool(to_bool(&v) != Some(true)))
}

/// The value passes through unchanged; [`crate::expr::Expr::is_redacted`] tells logs to show `[Redact]`.
pub(super) fn redact(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    ev.arg(call, 0)
}

/// The first non-empty candidate that `EvalContext::is_unique` accepts; none ⇒ the entry is escrowed.
pub(super) fn select_unique_value(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let mut tried = Vec::new();
    for i in 0..call.args.len() {
        let Some(candidate) = ev.arg_str(call, i)?.filter(|s| !s.is_empty()) else {
            continue;
        };
        if ev.ctx.is_unique.is_none_or(|unique| unique(&candidate)) {
            return Ok(Value::Str(candidate));
        }
        tried.push(candidate);
    }
    Err(EvalError::in_call(
        call,
        span,
        format!("no unique value could be generated (tried {}); the entry is escrowed", tried.join(", ")),
    ))
}

/// `Switch(source, defaultValue, key1, value1, …)`: case-sensitive; a null source matches a `""` key.
pub(super) fn switch(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    let source = ev.arg_str(call, 0)?.unwrap_or_default();
    let mut i = 2;
    while i + 1 < call.args.len() {
        if ev.arg_str(call, i)?.unwrap_or_default() == source {
            return ev.arg(call, i + 1);
        }
        i += 2;
    }
    ev.arg(call, 1)
}

#[cfg(test)]
#[path = "logic_tests.rs"]
mod tests;
