//! Multi-valued functions (docs/fidelity.md B.5): Count, Item, Join, RemoveDuplicates, Split.
//!
//! A single string counts as a one-value collection and null as an empty one. `Join` skips null and
//! empty sources — FUNC's `Join(", ", "", [surname], [givenName])` ⇒ `"Doe, John"` shows that the empty
//! constant does not produce a leading separator — and expands multi-valued sources. Join stops at the value
//! limit while it builds (`budget.rs`): its sources are each within the limit, but any number of them may be
//! given.

use super::super::ast::Call;
use super::super::budget;
use super::super::eval::{EvalError, Evaluator};
use super::super::value::Value;
use super::string::required_int;
use crate::parse::Span;

/// Number of values; `0` for null.
pub(super) fn count(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::Str(ev.arg(call, 0)?.values().len().to_string()))
}

/// The `index`-th value, 1-based (FUNC: "Index 0 shouldn't be used" — it yields null, as does any index
/// past the end).
pub(super) fn item(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let source = ev.arg(call, 0)?;
    let index = required_int(ev, call, 1, span, "index")?;
    let picked = usize::try_from(index).ok().and_then(|i| i.checked_sub(1)).and_then(|i| source.values().get(i));
    Ok(picked.map_or(Value::Null, |s| Value::Str(s.clone())))
}

/// Null when every source is null; otherwise the non-empty values joined by `separator`.
pub(super) fn join(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let sep = ev.arg_str(call, 0)?.unwrap_or_default();
    let mut out = String::new();
    let mut any = false;
    let mut first = true;
    for i in 1..call.args.len() {
        let v = ev.arg(call, i)?;
        any |= !v.is_null();
        for s in v.values().iter().filter(|s| !s.is_empty()) {
            if !first {
                out.push_str(&sep);
            }
            out.push_str(s);
            first = false;
            budget::check_len(out.len()).map_err(|limit| EvalError::in_call(call, span, limit))?;
        }
    }
    Ok(if any { Value::Str(out) } else { Value::Null })
}

/// Keeps the first occurrence of every value (case-sensitive), in order.
pub(super) fn remove_duplicates(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(match ev.arg(call, 0)? {
        Value::Multi(values) => {
            let mut seen = std::collections::HashSet::with_capacity(values.len());
            Value::Multi(values.into_iter().filter(|v| seen.insert(v.clone())).collect())
        }
        other => other,
    })
}

/// Splits on the whole `delimiter` string (like .NET `String.Split(string)`; values are not trimmed);
/// an empty delimiter yields the source as the only value.
pub(super) fn split(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    let Some(source) = ev.arg_str(call, 0)? else {
        return Ok(Value::Null);
    };
    let delim = ev.arg_str(call, 1)?.unwrap_or_default();
    if delim.is_empty() {
        return Ok(Value::Multi(vec![source]));
    }
    Ok(Value::Multi(source.split(delim.as_str()).map(str::to_owned).collect()))
}

#[cfg(test)]
#[path = "collection_tests.rs"]
mod tests;
