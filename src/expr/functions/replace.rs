//! Replace (spec Part B §5.2; FUNC's five modes), chosen by which optional arguments are present:
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
//! (the default `mailNickname` mapping runs Replace on every record).

use std::sync::Arc;

use regex::Regex;

use super::super::ast::{Call, ConstantForm, ExprKind};
use super::super::eval::{EvalError, Evaluator};
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
pub(crate) fn precompile(call: &Call) -> Result<Option<Arc<Regex>>, ParseError> {
    if call.name != "Replace" {
        return Ok(None);
    }
    let Some(pattern) = call.arg(PATTERN) else {
        return Ok(None);
    };
    let ExprKind::Constant(c) = &pattern.kind else {
        return Ok(None);
    };
    let re = Regex::new(&c.value)
        .map_err(|e| ParseError::new(pattern.span, format!("Replace: invalid regexPattern: {}", first_line(&e))))?;
    if let Some(group) = call.arg(GROUP)
        && let ExprKind::Constant(g) = &group.kind
        && g.form == ConstantForm::Quoted
        && !re.capture_names().flatten().any(|n| n == g.value)
    {
        return Err(ParseError::new(group.span, format!("Replace: regexPattern has no group named '{}'", g.value)));
    }
    Ok(Some(Arc::new(re)))
}

fn first_line(e: &regex::Error) -> String {
    e.to_string().lines().last().unwrap_or_default().trim().to_owned()
}

pub(super) fn replace(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let has = |i: usize| call.arg(i).is_some();
    let source = ev.arg(call, SOURCE)?;
    if has(PATTERN) && has(GROUP) && has(REPLACEMENT_ATTRIBUTE) {
        if !source.is_null_or_empty() {
            return Ok(source);
        }
        let re = regex(ev, call, span)?;
        let group = ev.arg_str(call, GROUP)?.unwrap_or_default();
        let Some(other) = ev.arg_str(call, REPLACEMENT_ATTRIBUTE)? else {
            return Ok(Value::Null);
        };
        let extracted = re.captures(&other).and_then(|c| c.name(&group).map(|m| m.as_str().to_owned()));
        return Ok(extracted.map_or(Value::Null, Value::Str));
    }
    if source.is_null() {
        return Ok(Value::Null);
    }
    if has(PATTERN) && has(REPLACEMENT) {
        let re = regex(ev, call, span)?;
        let replacement = ev.arg_str(call, REPLACEMENT)?.unwrap_or_default();
        if has(GROUP) {
            let group = ev.arg_str(call, GROUP)?.unwrap_or_default();
            return Ok(source.map_str(|s| replace_group(&re, s, &group, &replacement)));
        }
        return Ok(source.map_str(|s| re.replace_all(s, replacement.as_str()).into_owned()));
    }
    if has(OLD_VALUE) && (has(TEMPLATE) || has(REPLACEMENT)) {
        let old = ev.arg_str(call, OLD_VALUE)?.unwrap_or_default();
        if has(TEMPLATE) {
            let template = ev.arg_str(call, TEMPLATE)?.unwrap_or_default();
            return Ok(source.map_str(|s| if old.is_empty() { template.clone() } else { template.replace(&old, s) }));
        }
        let replacement = ev.arg_str(call, REPLACEMENT)?.unwrap_or_default();
        return Ok(source.map_str(|s| if old.is_empty() { s.to_owned() } else { s.replace(&old, &replacement) }));
    }
    Ok(source)
}

/// The precompiled regex, or the pattern argument compiled now (when it is not a constant).
fn regex(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Arc<Regex>, EvalError> {
    if let Some(re) = &call.regex {
        return Ok(Arc::clone(re));
    }
    let pattern = ev.arg_str(call, PATTERN)?.unwrap_or_default();
    Regex::new(&pattern)
        .map(Arc::new)
        .map_err(|e| EvalError::in_call(call, span, format!("invalid regexPattern '{pattern}': {}", first_line(&e))))
}

/// Replaces the text of group `group` in every match of `re`.
fn replace_group(re: &Regex, s: &str, group: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(s) {
        if let Some(m) = caps.name(group)
            && m.start() >= last
        {
            out.push_str(&s[last..m.start()]);
            out.push_str(replacement);
            last = m.end();
        }
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
#[path = "replace_tests.rs"]
mod tests;
