//! Translation to parameterised SQLite (spec A.3): a [`Filter`] becomes a `WHERE` fragment, an
//! `$orderby` becomes an `ORDER BY` list, and the last row of a page becomes the keyset predicate
//! that selects the rows after it (`$skiptoken`, stable under concurrent inserts).
//!
//! Design constraints and decisions:
//! - SQL text is built only from keywords, `?` and the allow-list's trusted `Field::sql`; every value
//!   is a parameter, so input can never change the statement's shape (no `LIKE`, so no wildcard
//!   injection either: `contains` is `instr(col, ?) > 0`, `startswith` is `instr(col, ?) = 1`).
//! - OData two-valued logic over SQL NULLs: a comparison with a NULL column is false, `ne` is
//!   null-safe (`col IS NOT ?`, so `null ne 'x'` is true as in OData), `eq null` is `IS NULL`, and
//!   `not` is `(… ) IS NOT 1` so that `not (col gt 5)` holds for a NULL column.
//! - Date-times are bound in [`datetime_key`] form, the fixed-width text the store writes, so text
//!   order is time order and index range scans work.
//! - Ordering puts NULLs first ascending and last descending (SQLite's default, made explicit); the
//!   keyset predicate follows the same rule so nullable sort keys page correctly.

use super::fields::{Field, FieldKind, FieldTable, OpSet};
use super::filter::{CmpOp, Expr, Filter, Func, Lit, Literal, Path};
use super::query::OrderBy;
use super::{ODataError, skiptoken};
use rusqlite::types::Value;
use time::{OffsetDateTime, UtcOffset};

/// A SQL boolean expression and its positional `?` parameters, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFragment {
    pub sql: String,
    pub params: Vec<Value>,
}

/// The stored form of a date-time: RFC 3339 UTC with exactly seven fractional digits (.NET ticks),
/// `2022-10-10T09:47:34.1000000Z`, so that text order is time order (for years 0000–9999).
/// Sub-100 ns precision is truncated, as Graph's .NET `DateTimeOffset` does.
///
/// ```
/// # use entra_inbound::odata::datetime_key;
/// let t = time::macros::datetime!(2022-10-10 11:47:34.5 +02:00);
/// assert_eq!(datetime_key(t), "2022-10-10T09:47:34.5000000Z");
/// ```
pub fn datetime_key(t: OffsetDateTime) -> String {
    // Out of range only for instants past 9999-12-31 UTC, which no clock produces.
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

impl Filter {
    /// The `WHERE` condition for this filter over `fields`. Fails on a property missing from the
    /// table, an operator the field does not allow, or a literal of the wrong type.
    ///
    /// ```
    /// # use entra_inbound::odata::{parse_filter, PROVISIONING_LOG_FIELDS};
    /// let f = parse_filter("jobid eq 'J1' and statusInfo/status eq 'failure'").unwrap();
    /// let q = f.to_sql(&PROVISIONING_LOG_FIELDS).unwrap();
    /// assert_eq!(q.sql, "((job_id = ?) AND (status = ?))");
    /// assert_eq!(q.params.len(), 2);
    /// let e = parse_filter("jobId gt 'x'").unwrap().to_sql(&PROVISIONING_LOG_FIELDS).unwrap_err();
    /// assert_eq!(e.message, "Operator 'gt' is not supported for property 'jobId'.");
    /// ```
    pub fn to_sql(&self, fields: &FieldTable) -> Result<SqlFragment, ODataError> {
        let mut w = Writer { fields, out: SqlFragment { sql: String::new(), params: Vec::new() } };
        w.expr(&self.expr)?;
        Ok(w.out)
    }
}

struct Writer<'t> {
    fields: &'t FieldTable,
    out: SqlFragment,
}

impl Writer<'_> {
    fn push(&mut self, parts: &[&str]) {
        parts.iter().for_each(|p| self.out.sql.push_str(p));
    }

    fn expr(&mut self, e: &Expr) -> Result<(), ODataError> {
        match e {
            Expr::And(items) => self.list(items, " AND ")?,
            Expr::Or(items) => self.list(items, " OR ")?,
            Expr::Not(inner) => {
                // Every translated node is parenthesised or atomic, so this is `((…) IS NOT 1)`.
                self.push(&["("]);
                self.expr(inner)?;
                self.push(&[" IS NOT 1)"]);
            }
            Expr::Compare { op, prop, value, span } => {
                let f = self.field(prop, op_set(*op), op.name(), *span)?;
                let c = collate(f.kind);
                if value.value == Literal::Null {
                    let sql = match op {
                        CmpOp::Eq => " IS NULL",
                        CmpOp::Ne => " IS NOT NULL",
                        _ => return Err(ODataError::syntax(value.span, "null can only be compared with 'eq' or 'ne'")),
                    };
                    self.push(&["(", f.sql, sql, ")"]);
                    return Ok(());
                }
                let sql = match op {
                    CmpOp::Eq => " = ?",
                    CmpOp::Ne => " IS NOT ?",
                    CmpOp::Gt => " > ?",
                    CmpOp::Ge => " >= ?",
                    CmpOp::Lt => " < ?",
                    CmpOp::Le => " <= ?",
                };
                let p = param(f, prop, value)?;
                self.push(&["(", f.sql, sql, c, ")"]);
                self.out.params.push(p);
            }
            Expr::Call { func, prop, value, span } => self.call(*func, prop, value, *span)?,
            Expr::In { prop, values, span } => {
                let f = self.field(prop, OpSet::IN, "in", *span)?;
                self.push(&["(", f.sql, collate(f.kind), " IN ("]);
                for (i, v) in values.iter().enumerate() {
                    if v.value == Literal::Null {
                        return Err(ODataError::syntax(v.span, "null is not allowed in an 'in' list"));
                    }
                    let p = param(f, prop, v)?;
                    self.push(&[if i == 0 { "?" } else { ", ?" }]);
                    self.out.params.push(p);
                }
                self.push(&["))"]);
            }
            Expr::BoolProp(prop) => {
                let f = self.field(prop, OpSet::EQ, "eq", prop.span)?;
                if f.kind != FieldKind::Boolean {
                    return Err(ODataError::new(format!(
                        "Property '{}' is not a Boolean and cannot be used as a condition on its own.",
                        prop.name
                    ))
                    .with_target(prop.name.clone())
                    .at(prop.span));
                }
                self.push(&["(", f.sql, " = 1)"]);
            }
            Expr::Const(b) => self.push(&[if *b { "1" } else { "0" }]),
        }
        Ok(())
    }

    fn list(&mut self, items: &[Expr], sep: &str) -> Result<(), ODataError> {
        self.push(&["("]);
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                self.push(&[sep]);
            }
            self.expr(e)?;
        }
        self.push(&[")"]);
        Ok(())
    }

    fn call(&mut self, func: Func, prop: &Path, value: &Lit, span: crate::parse::Span) -> Result<(), ODataError> {
        let (set, name) = match func {
            Func::Contains => (OpSet::CONTAINS, "contains"),
            Func::StartsWith => (OpSet::STARTSWITH, "startswith"),
            Func::EndsWith => (OpSet::ENDSWITH, "endswith"),
        };
        let f = self.field(prop, set, name, span)?;
        if !matches!(f.kind, FieldKind::Text | FieldKind::TextNoCase) {
            return Err(mismatch(f, prop, value));
        }
        let p = param(f, prop, value)?;
        if p == Value::Text(String::new()) {
            // Every string contains, starts and ends with ''.
            self.push(&["(", f.sql, " IS NOT NULL)"]);
            return Ok(());
        }
        let (l, r) = if f.kind == FieldKind::TextNoCase { ("lower(", ")") } else { ("", "") };
        match func {
            Func::Contains => self.push(&["(instr(", l, f.sql, r, ", ", l, "?", r, ") > 0)"]),
            Func::StartsWith => self.push(&["(instr(", l, f.sql, r, ", ", l, "?", r, ") = 1)"]),
            Func::EndsWith => {
                self.push(&["(", l, "substr(", f.sql, ", -length(?))", r, " = ", l, "?", r, ")"]);
                self.out.params.push(p.clone());
            }
        }
        self.out.params.push(p);
        Ok(())
    }

    /// Resolves `prop` and checks that it allows `op` (named `op_name` in errors, found at `span`).
    fn field(
        &self,
        prop: &Path,
        op: OpSet,
        op_name: &str,
        span: crate::parse::Span,
    ) -> Result<&'static Field, ODataError> {
        let f = lookup(self.fields, &prop.name).map_err(|e| e.at(prop.span))?;
        if !f.ops.allows(op) {
            return Err(ODataError::new(format!("Operator '{op_name}' is not supported for property '{}'.", f.name))
                .with_target(op_name)
                .at(span));
        }
        Ok(f)
    }
}

fn op_set(op: CmpOp) -> OpSet {
    match op {
        CmpOp::Eq => OpSet::EQ,
        CmpOp::Ne => OpSet::NE,
        CmpOp::Gt => OpSet::GT,
        CmpOp::Ge => OpSet::GE,
        CmpOp::Lt => OpSet::LT,
        CmpOp::Le => OpSet::LE,
    }
}

fn collate(kind: FieldKind) -> &'static str {
    if kind == FieldKind::TextNoCase { " COLLATE NOCASE" } else { "" }
}

/// The field named `name`, or Graph's "Could not find a property" error.
fn lookup(fields: &FieldTable, name: &str) -> Result<&'static Field, ODataError> {
    fields.lookup(name).ok_or_else(|| {
        ODataError::new(format!("Could not find a property named '{name}' on type '{}'.", fields.entity()))
            .with_target(name)
    })
}

fn edm(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text | FieldKind::TextNoCase => "Edm.String",
        FieldKind::DateTime => "Edm.DateTimeOffset",
        FieldKind::Integer => "Edm.Int64",
        FieldKind::Boolean => "Edm.Boolean",
    }
}

fn mismatch(f: &Field, prop: &Path, value: &Lit) -> ODataError {
    let found = match value.value {
        Literal::Str(_) => "Edm.String",
        Literal::Int(_) => "Edm.Int64",
        Literal::Bool(_) => "Edm.Boolean",
        Literal::Null => "null",
        Literal::DateTime(_) => "Edm.DateTimeOffset",
        Literal::Guid(_) => "Edm.Guid",
    };
    ODataError::new(format!(
        "Property '{}' is of type {} and cannot be compared with a value of type {found}.",
        f.name,
        edm(f.kind)
    ))
    .with_target(prop.name.clone())
    .at(value.span)
}

/// The bound value of a non-null literal for field `f`. GUID literals bind as text.
fn param(f: &Field, prop: &Path, value: &Lit) -> Result<Value, ODataError> {
    Ok(match (f.kind, &value.value) {
        (FieldKind::Text | FieldKind::TextNoCase, Literal::Str(s) | Literal::Guid(s)) => Value::Text(s.clone()),
        (FieldKind::DateTime, Literal::DateTime(t)) => Value::Text(datetime_key(*t)),
        (FieldKind::Integer, Literal::Int(i)) => Value::Integer(*i),
        (FieldKind::Boolean, Literal::Bool(b)) => Value::Integer(i64::from(*b)),
        _ => return Err(mismatch(f, prop, value)),
    })
}

/// The `ORDER BY` list (without the keywords) for `order`, e.g. `activity_time DESC NULLS LAST, id ASC
/// NULLS FIRST`. `order` normally comes from [`parse_orderby`](super::parse_orderby) plus the caller's
/// unique tiebreaker.
pub fn order_by_sql(order: &[OrderBy], fields: &FieldTable) -> Result<String, ODataError> {
    let mut parts = Vec::with_capacity(order.len());
    for o in order {
        let f = lookup(fields, o.property)?;
        let dir = if o.descending { "DESC NULLS LAST" } else { "ASC NULLS FIRST" };
        parts.push(format!("{}{} {dir}", f.sql, collate(f.kind)));
    }
    Ok(parts.join(", "))
}

/// The predicate "row sorts after `last`" under `order` (each key asc or desc, NULLs as in
/// [`order_by_sql`]): `k1 after v1 OR (k1 = v1 AND k2 after v2) OR …`. `last` holds the sort-key
/// values of the previous page's last row, as decoded from a `$skiptoken`; `order` must end with a
/// unique key so that no two rows tie.
pub fn keyset_sql(
    order: &[OrderBy],
    fields: &FieldTable,
    last: &[serde_json::Value],
) -> Result<SqlFragment, ODataError> {
    if order.len() != last.len() || order.is_empty() {
        return Err(skiptoken::invalid());
    }
    let mut keys = Vec::with_capacity(order.len());
    for (o, v) in order.iter().zip(last) {
        let f = lookup(fields, o.property)?;
        keys.push((f, o.descending, key_param(f, v)?));
    }
    let mut out = SqlFragment { sql: String::new(), params: Vec::new() };
    let mut terms = Vec::new();
    for (i, (f, descending, v)) in keys.iter().enumerate() {
        let (sql, c) = (f.sql, collate(f.kind));
        let after = match (descending, v) {
            (false, None) => format!("{sql} IS NOT NULL"),
            (false, Some(_)) => format!("{sql} > ?{c}"),
            // Nothing sorts after NULL in descending order (NULLs last) except on later keys.
            (true, None) => continue,
            (true, Some(_)) => format!("({sql} < ?{c} OR {sql} IS NULL)"),
        };
        let mut parts = Vec::with_capacity(i + 1);
        for (g, _, w) in &keys[..i] {
            match w {
                None => parts.push(format!("{} IS NULL", g.sql)),
                Some(p) => {
                    parts.push(format!("{} = ?{}", g.sql, collate(g.kind)));
                    out.params.push(p.clone());
                }
            }
        }
        parts.push(after);
        out.params.extend(v.iter().cloned());
        let term = parts.join(" AND ");
        terms.push(if i == 0 { term } else { format!("({term})") });
    }
    out.sql = if terms.is_empty() { "0".into() } else { format!("({})", terms.join(" OR ")) };
    Ok(out)
}

/// A sort-key value from a `$skiptoken` as a parameter (`None` = NULL); a value of the wrong JSON
/// type means the token was not made for this query.
fn key_param(f: &Field, v: &serde_json::Value) -> Result<Option<Value>, ODataError> {
    use serde_json::Value as J;
    let p = match (f.kind, v) {
        (_, J::Null) => return Ok(None),
        (FieldKind::Text | FieldKind::TextNoCase | FieldKind::DateTime, J::String(s)) => Some(Value::Text(s.clone())),
        (FieldKind::Integer, J::Number(n)) => n.as_i64().map(Value::Integer),
        (FieldKind::Boolean, J::Bool(b)) => Some(Value::Integer(i64::from(*b))),
        (FieldKind::Boolean, J::Number(n)) => n.as_i64().filter(|i| *i == 0 || *i == 1).map(Value::Integer),
        _ => None,
    };
    p.map(Some).ok_or_else(skiptoken::invalid)
}
