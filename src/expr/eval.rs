//! Evaluation of a parsed expression against one inbound SCIM record (docs/fidelity.md B.5).
//!
//! Arguments are evaluated lazily by each function (IIF, Switch, Coalesce and SelectUniqueValue only
//! evaluate the branch they take). `IgnoreFlowIfNullOrEmpty` raises [`Evaluated::ignore_flow`] so the engine
//! can drop the target attribute.
//!
//! Design constraints: the record is borrowed, never cloned; time comes from [`EvalContext::now`] (rule 5
//! of CONTRIBUTING.md); every failure is an [`EvalError`] that names the function and the source position; every
//! node is held to the limits of `budget.rs` (value size, work), here and in the functions that could
//! otherwise build a value far larger than their inputs.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use time::OffsetDateTime;

use super::ast::{AttributeRef, Call, CmpOp, ConstantForm, Expr, ExprKind};
use super::budget::{self, Limit, STEP_COST, Work};
use super::value::Value;
use crate::parse::Span;
use crate::scim::record::Record;

/// What an evaluation may read besides the record.
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    /// The current time (`Now()`, and the default date of time-only formats).
    pub now: OffsetDateTime,
    /// The tenant's default verified domain (`DefaultDomain()`).
    pub default_domain: &'a str,
    /// `SelectUniqueValue`'s uniqueness test of a candidate in the target; `None` treats every candidate as unique.
    pub is_unique: Option<&'a dyn Fn(&str) -> bool>,
}

impl<'a> EvalContext<'a> {
    pub fn new(now: OffsetDateTime, default_domain: &'a str) -> Self {
        Self { now, default_domain, is_unique: None }
    }

    /// Sets the uniqueness test used by `SelectUniqueValue`.
    pub fn with_is_unique(mut self, is_unique: &'a dyn Fn(&str) -> bool) -> Self {
        self.is_unique = Some(is_unique);
        self
    }
}

impl fmt::Debug for EvalContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvalContext")
            .field("now", &self.now)
            .field("default_domain", &self.default_domain)
            .field("is_unique", &self.is_unique.map(|_| "Fn(&str) -> bool"))
            .finish()
    }
}

/// The outcome of evaluating a mapping expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    pub value: Value,
    /// Set by `IgnoreFlowIfNullOrEmpty` on a null/empty value: the caller skips the target attribute.
    pub ignore_flow: bool,
}

/// An evaluation failure at a source position; the message starts with the function's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {}", span.start)]
pub struct EvalError {
    pub span: Span,
    pub message: String,
}

impl EvalError {
    /// An error raised by function `call` (the message is prefixed with its name).
    pub(crate) fn in_call(call: &Call, span: Span, message: impl fmt::Display) -> Self {
        Self { span, message: format!("{}: {message}", call.name) }
    }
}

/// Evaluates `expr` against `record` (the SCIM user `data` object of a bulk operation).
///
/// ```ignore
/// use entra_inbound::expr::{EvalContext, Value, evaluate, parse};
/// let e = parse(r#"[emails[type eq "work"].value]"#)?;
/// let record = entra_inbound::scim::record::parse(r#"{"emails": [{"type": "work", "value": "b@example.com"}]}"#)?;
/// let out = evaluate(&e, &record, &EvalContext::new(clock.now(), "contoso.onmicrosoft.com"))?;
/// assert_eq!(out.value, Value::from("b@example.com"));
/// ```
pub fn evaluate(expr: &Expr, record: &Record<'_>, ctx: &EvalContext<'_>) -> Result<Evaluated, EvalError> {
    let mut ev = Evaluator::new(record, ctx);
    let value = ev.eval(expr)?;
    Ok(Evaluated { value, ignore_flow: ev.ignore_flow })
}

/// Per-evaluation state handed to the function implementations.
pub(crate) struct Evaluator<'r, 'c> {
    record: &'r Record<'r>,
    pub(crate) ctx: &'c EvalContext<'c>,
    pub(crate) ignore_flow: bool,
    pub(crate) work: Work,
}

impl<'r, 'c> Evaluator<'r, 'c> {
    pub(crate) fn new(record: &'r Record<'r>, ctx: &'c EvalContext<'c>) -> Self {
        Self { record, ctx, ignore_flow: false, work: Work::default() }
    }

    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Value, EvalError> {
        let value = match &e.kind {
            ExprKind::Attribute(a) => return self.read_attribute(a, e.span),
            // `&HF7` means 247 wherever it is used, not only in BitAnd.
            ExprKind::Constant(c) if c.form == ConstantForm::Number && c.value.starts_with('&') => {
                Value::Str(parse_int(&c.value).map_or_else(|| c.value.clone(), |n| n.to_string()))
            }
            ExprKind::Constant(c) => Value::Str(c.value.clone()),
            ExprKind::Call(c) => (c.spec.eval)(self, c, e.span)?,
            ExprKind::Compare(c) => {
                let lhs = self.eval(&c.lhs)?;
                let rhs = self.eval(&c.rhs)?;
                Value::bool(compare(c.op, lhs.as_str().unwrap_or(""), rhs.as_str().unwrap_or("")))
            }
        };
        self.account(value.text_len(), STEP_COST).map_err(|limit| limit_error(e, limit))?;
        Ok(value)
    }

    /// Reads attribute `a` from the record, counting the members it scans and the text it copies. (Inlined:
    /// most nodes of real mappings are attribute reads, and a call of its own measurably cost them.)
    #[inline(always)]
    pub(crate) fn read_attribute(&mut self, a: &AttributeRef, span: Span) -> Result<Value, EvalError> {
        let mut scanned = STEP_COST;
        let value = a.path.resolve(self.record, &mut scanned);
        self.account(value.text_len(), scanned)
            .map_err(|limit| EvalError { span, message: format!("[{}]: {limit}", a.name) })?;
        Ok(value)
    }

    /// Checks a value of `len` bytes a node produced and counts it, with `extra` units of work spent making it
    /// (a node counts [`STEP_COST`] when it is done, so one evaluation of a node is one addition).
    #[inline]
    fn account(&mut self, len: usize, extra: u64) -> Result<(), Limit> {
        budget::check_len(len)?;
        self.work.spend(budget::units(len).saturating_add(extra))
    }

    /// Counts `units` of work done by `call` itself (a regex pass, a compilation).
    pub(crate) fn charge(&mut self, call: &Call, span: Span, units: u64) -> Result<(), EvalError> {
        self.work.spend(units).map_err(|limit| EvalError::in_call(call, span, limit))
    }

    /// Argument slot `i` (null when omitted).
    pub(crate) fn arg(&mut self, call: &Call, i: usize) -> Result<Value, EvalError> {
        call.arg(i).map_or(Ok(Value::Null), |e| self.eval(e))
    }

    /// Argument slot `i` as a single string (`None` when null).
    pub(crate) fn arg_str(&mut self, call: &Call, i: usize) -> Result<Option<String>, EvalError> {
        Ok(match self.arg(call, i)? {
            Value::Null => None,
            Value::Str(s) => Some(s),
            Value::Multi(v) => v.into_iter().next(),
        })
    }

    /// Argument slot `i` as an integer (`None` when null or empty); `what` names it in errors.
    pub(crate) fn arg_int(&mut self, call: &Call, i: usize, span: Span, what: &str) -> Result<Option<i64>, EvalError> {
        match self.arg_str(call, i)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_int(&s)
                .map(Some)
                .ok_or_else(|| EvalError::in_call(call, span, format!("{what} must be an integer, got '{s}'"))),
        }
    }
}

/// A limit error at node `e`, named by the function, `[attribute]`, or what the node is.
#[cold]
fn limit_error(e: &Expr, limit: Limit) -> EvalError {
    let subject = match &e.kind {
        ExprKind::Call(c) => Cow::Borrowed(c.name),
        ExprKind::Attribute(a) => Cow::Owned(format!("[{}]", a.name)),
        ExprKind::Constant(_) => Cow::Borrowed("a constant"),
        ExprKind::Compare(_) => Cow::Borrowed("a comparison"),
    };
    EvalError { span: e.span, message: format!("{subject}: {limit}") }
}

/// Decimal (optionally `.0`-suffixed) or `&H` hexadecimal integer.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("&H").or_else(|| s.strip_prefix("&h")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    s.parse::<i64>().ok().or_else(|| {
        let f = s.parse::<f64>().ok()?;
        // Integral and inside i64's range (the cast saturates, the check keeps it exact).
        (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
    })
}

/// IIF/CBool comparison: numeric when both sides are numbers, otherwise ordinal (case-sensitive).
pub(crate) fn compare(op: CmpOp, lhs: &str, rhs: &str) -> bool {
    let ord = match (parse_num(lhs), parse_num(rhs)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(lhs.cmp(rhs)),
    };
    let Some(ord) = ord else {
        return op == CmpOp::Ne;
    };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
    }
}

/// The engine's truthiness: `True`/`False` (any case) or a number (non-zero ⇒ true).
pub(crate) fn to_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        parse_num(t).map(|n| n != 0.0)
    }
}

/// A plain decimal number (no `inf`/`NaN` spellings, which Rust's parser would accept).
pub(crate) fn parse_num(s: &str) -> Option<f64> {
    let t = s.trim();
    let plain = !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
    if plain { t.parse::<f64>().ok() } else { None }
}
