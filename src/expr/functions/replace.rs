//! Replace (docs/fidelity.md B.5), chosen by which optional arguments are present:
//! 1. `regexPattern` + `regexGroupName` + `replacementAttributeName`: the source if it has a value, else
//!    the named group extracted from the replacement attribute;
//! 2. `regexPattern` + `regexGroupName` + `replacementValue`: every match's named group is replaced;
//! 3. `regexPattern` + `replacementValue`: every match is replaced, `${name}`/`$1` refer to groups;
//! 4. `oldValue` + `template`: every `oldValue` in the template becomes the source;
//! 5. `oldValue` + `replacementValue`: every `oldValue` in the source becomes the replacement.
//!
//! Anything else returns the source unchanged. Matching is case-sensitive. .NET named groups
//! `(?<name>…)` are native to the `regex` crate; .NET-only constructs (lookarounds, backreferences) are
//! rejected with a parse error rather than silently mis-evaluated.
//!
//! Design constraints: a constant `regexPattern` is compiled once at parse time and kept in the call node
//! (the default `mailNickname` mapping runs Replace on every record). Replace is the one function whose
//! result can be far larger than its inputs (every match may become a 64 KiB replacement), so it builds
//! its result piece by piece and stops at the value limit, and it pays for every regex pass before running
//! it (`budget.rs`, `pattern.rs`).

use std::sync::Arc;

use regex::Regex;

use super::super::ast::{Call, ConstantForm, ExprKind};
use super::super::budget::{Limit, MAX_VALUE_BYTES};
use super::super::eval::{EvalError, Evaluator};
use super::super::pattern::Pattern;
use super::super::value::Value;
use crate::parse::{ParseError, Span};

const SOURCE: usize = 0;
const OLD_VALUE: usize = 1;
const PATTERN: usize = 2;
const GROUP: usize = 3;
const REPLACEMENT: usize = 4;
const REPLACEMENT_ATTRIBUTE: usize = 5;
const TEMPLATE: usize = 6;

/// Parse-time hook: compiles Replace's constant `regexPattern` (and checks a constant group name exists).
pub(crate) fn precompile(call: &Call) -> Result<Option<Arc<Pattern>>, ParseError> {
    if call.name != "Replace" {
        return Ok(None);
    }
    let Some(pattern) = call.arg(PATTERN) else {
        return Ok(None);
    };
    let ExprKind::Constant(c) = &pattern.kind else {
        return Ok(None);
    };
    let compiled = Pattern::compile(&c.value)
        .map_err(|e| ParseError::new(pattern.span, format!("Replace: invalid regexPattern: {e}")))?;
    if let Some(group) = call.arg(GROUP)
        && let ExprKind::Constant(g) = &group.kind
        && g.form == ConstantForm::Quoted
        && !compiled.regex.capture_names().flatten().any(|n| n == g.value)
    {
        return Err(ParseError::new(group.span, format!("Replace: regexPattern has no group named '{}'", g.value)));
    }
    Ok(Some(Arc::new(compiled)))
}

pub(super) fn replace(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let has = |i: usize| call.arg(i).is_some();
    let too_large = || EvalError::in_call(call, span, Limit::Value);
    let source = ev.arg(call, SOURCE)?;
    if has(PATTERN) && has(GROUP) && has(REPLACEMENT_ATTRIBUTE) {
        if !source.is_null_or_empty() {
            return Ok(source);
        }
        let re = pattern(ev, call, span)?;
        let group = ev.arg_str(call, GROUP)?.unwrap_or_default();
        let Some(other) = ev.arg_str(call, REPLACEMENT_ATTRIBUTE)? else {
            return Ok(Value::Null);
        };
        ev.charge(call, span, re.search_cost(other.len()))?;
        let extracted = re.regex.captures(&other).and_then(|c| c.name(&group).map(|m| m.as_str().to_owned()));
        return Ok(extracted.map_or(Value::Null, Value::Str));
    }
    if source.is_null() {
        return Ok(Value::Null);
    }
    if has(PATTERN) && has(REPLACEMENT) {
        let re = pattern(ev, call, span)?;
        let replacement = ev.arg_str(call, REPLACEMENT)?.unwrap_or_default();
        let cost = source.values().iter().fold(0u64, |sum, s| sum.saturating_add(re.search_cost(s.len())));
        ev.charge(call, span, cost)?;
        if has(GROUP) {
            let group = ev.arg_str(call, GROUP)?.unwrap_or_default();
            return source.try_map_str(|s| replace_group(&re.regex, s, &group, &replacement).ok_or_else(too_large));
        }
        return source.try_map_str(|s| replace_matches(&re.regex, s, &replacement).ok_or_else(too_large));
    }
    if has(OLD_VALUE) && (has(TEMPLATE) || has(REPLACEMENT)) {
        let old = ev.arg_str(call, OLD_VALUE)?.unwrap_or_default();
        if has(TEMPLATE) {
            let template = ev.arg_str(call, TEMPLATE)?.unwrap_or_default();
            return source.try_map_str(|s| {
                if old.is_empty() { Some(template.clone()) } else { replace_text(&template, &old, s) }
                    .ok_or_else(too_large)
            });
        }
        let replacement = ev.arg_str(call, REPLACEMENT)?.unwrap_or_default();
        return source.try_map_str(|s| {
            if old.is_empty() { Some(s.to_owned()) } else { replace_text(s, &old, &replacement) }.ok_or_else(too_large)
        });
    }
    Ok(source)
}

/// The precompiled pattern, or the pattern argument compiled now (when it is not a constant), paid for.
fn pattern(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Arc<Pattern>, EvalError> {
    if let Some(re) = &call.regex {
        return Ok(Arc::clone(re));
    }
    let source = ev.arg_str(call, PATTERN)?.unwrap_or_default();
    let compiled = Pattern::compile(&source)
        .map_err(|e| EvalError::in_call(call, span, format!("invalid regexPattern '{source}': {e}")))?;
    ev.charge(call, span, compiled.compile_cost())?;
    Ok(Arc::new(compiled))
}

/// Every `old` in `s` replaced by `new` (as `str::replace`); `None` once the result passes the value limit.
fn replace_text(s: &str, old: &str, new: &str) -> Option<String> {
    let mut out = String::new();
    let mut last = 0;
    for (at, _) in s.match_indices(old) {
        out.push_str(&s[last..at]);
        out.push_str(new);
        last = at + old.len();
        if out.len() > MAX_VALUE_BYTES {
            return None;
        }
    }
    out.push_str(&s[last..]);
    (out.len() <= MAX_VALUE_BYTES).then_some(out)
}

/// Every match of `re` replaced, `$name`/`${name}`/`$1` expanded (as `Regex::replace_all`); `None` once the
/// result passes the value limit.
fn replace_matches(re: &Regex, s: &str, replacement: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    if replacement.contains('$') {
        for caps in re.captures_iter(s) {
            let Some(whole) = caps.get(0) else { continue };
            out.push_str(&s[last..whole.start()]);
            caps.expand(replacement, &mut out);
            last = whole.end();
            if out.len() > MAX_VALUE_BYTES {
                return None;
            }
        }
    } else {
        for m in re.find_iter(s) {
            out.push_str(&s[last..m.start()]);
            out.push_str(replacement);
            last = m.end();
            if out.len() > MAX_VALUE_BYTES {
                return None;
            }
        }
    }
    out.push_str(&s[last..]);
    (out.len() <= MAX_VALUE_BYTES).then_some(out)
}

/// Replaces the text of group `group` in every match of `re`; `None` once the result passes the value limit.
fn replace_group(re: &Regex, s: &str, group: &str, replacement: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(s) {
        if let Some(m) = caps.name(group)
            && m.start() >= last
        {
            out.push_str(&s[last..m.start()]);
            out.push_str(replacement);
            last = m.end();
            if out.len() > MAX_VALUE_BYTES {
                return None;
            }
        }
    }
    out.push_str(&s[last..]);
    (out.len() <= MAX_VALUE_BYTES).then_some(out)
}

#[cfg(test)]
#[path = "replace_tests.rs"]
mod tests;
