//! Translation of a checked OData query ([`PageQuery`]) to parameterised SQL, for either backend's dialect
//! ([`Dialect`]: SQLite, PostgreSQL): the filter becomes a
//! `WHERE` fragment, the order an `ORDER BY` list, and the last row of a page the keyset predicate that
//! selects the rows after it (`$skiptoken`, stable under concurrent inserts).
//!
//! Design constraints and decisions:
//! - SQL text is built only from keywords, `?` and the trusted column expressions of a [`Columns`]
//!   allow-list; every value is a parameter, so input can never change the statement's shape (no `LIKE`,
//!   so no wildcard injection either: `contains` is `instr(col, ?) > 0`, `startswith` is `instr(col, ?) = 1`).
//! - The query was checked by `odata` ([`crate::odata::Filter::check`]); a property without a column here
//!   is a programming error, reported as [`StoreError::Corrupt`], never as a client error.
//! - OData two-valued logic over SQL NULLs: a comparison with a NULL column is false, `ne` is null-safe
//!   (`col IS NOT ?`, so `null ne 'x'` is true as in OData), `eq null` is `IS NULL`, and `not` is
//!   `(…) IS NOT 1` so that `not (col gt 5)` holds for a NULL column.
//! - Date-times are bound as integer ticks, the form the store writes, so integer order is time order.
//! - Ordering puts NULLs first ascending and last descending (SQLite's default, made explicit); the keyset
//!   predicate follows the same rule so nullable sort keys page correctly.
//! - The dialects differ only in spelling: SQLite compares case-insensitively with `COLLATE NOCASE`,
//!   PostgreSQL with `lower()` on both sides (its columns use the byte-wise "C" collation, under which `lower`
//!   folds ASCII only, as `NOCASE` does); `IS NOT ?` is `IS DISTINCT FROM ?`, `IS NOT 1` is `IS NOT TRUE`,
//!   `instr` is `strpos`. Parameters stay `?` in both; the PostgreSQL backend numbers them (`$1`…) last.

use super::StoreError;
use crate::graph_time::ticks;
use crate::odata::{CmpOp, Expr, FieldKind, FieldTable, Func, KeyValue, Literal, OrderBy, PageQuery};

/// A bound value: the only types the translation binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Integer(i64),
    Text(String),
}

/// The SQL dialect a translation is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `col OP ?` compared as `kind` compares (`op` is the operator with its spaces, e.g. `" = "`).
    fn compare(self, col: &str, kind: FieldKind, op: &str) -> String {
        match (self, kind) {
            (Dialect::Sqlite, FieldKind::TextNoCase) => format!("{col}{op}? COLLATE NOCASE"),
            (Dialect::Postgres, FieldKind::TextNoCase) => format!("lower({col}){op}lower(?)"),
            _ => format!("{col}{op}?"),
        }
    }

    /// The column as it sorts and as `IN` compares it.
    fn sorted(self, col: &str, kind: FieldKind) -> String {
        match (self, kind) {
            (Dialect::Sqlite, FieldKind::TextNoCase) => format!("{col} COLLATE NOCASE"),
            (Dialect::Postgres, FieldKind::TextNoCase) => format!("lower({col})"),
            _ => col.to_owned(),
        }
    }

    /// One `IN` list item.
    fn in_item(self, kind: FieldKind) -> &'static str {
        if self == Dialect::Postgres && kind == FieldKind::TextNoCase { "lower(?)" } else { "?" }
    }

    fn not_equal(self) -> &'static str {
        if self == Dialect::Sqlite { " IS NOT " } else { " IS DISTINCT FROM " }
    }

    fn truth(self, b: bool) -> &'static str {
        match (self, b) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "TRUE",
            (Dialect::Postgres, false) => "FALSE",
        }
    }
}

/// A SQL boolean expression and its positional `?` parameters, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlFragment {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

/// The `user_record` column of each filterable user property: the same on both backends.
pub(crate) const USER_COLUMN_NAMES: &[(&str, &str)] = &[
    ("id", "id"),
    ("userPrincipalName", "upn"),
    ("employeeId", "employee_id"),
    ("displayName", "display_name"),
    ("givenName", "given_name"),
    ("surname", "surname"),
    ("mail", "mail"),
    ("mailNickname", "mail_nickname"),
    ("jobTitle", "job_title"),
    ("department", "department"),
    ("companyName", "company_name"),
    ("employeeType", "employee_type"),
    ("accountEnabled", "account_enabled"),
    ("city", "city"),
    ("country", "country"),
    ("createdDateTime", "created"),
];

/// The column expression of each OData property of one entity, and which of them are `NOT NULL`.
#[derive(Debug)]
pub(crate) struct Columns {
    pub(crate) dialect: Dialect,
    pub(crate) fields: &'static FieldTable,
    /// `(canonical property name, trusted SQL expression)`.
    pub(crate) columns: &'static [(&'static str, &'static str)],
    pub(crate) not_null: &'static [&'static str],
}

impl Columns {
    fn column(&self, property: &str) -> Result<(&'static str, FieldKind), StoreError> {
        let field = self
            .fields
            .lookup(property)
            .ok_or_else(|| StoreError::Corrupt(format!("unchecked property '{property}'")))?;
        let sql = self
            .columns
            .iter()
            .find(|(name, _)| *name == field.name)
            .map(|(_, sql)| *sql)
            .ok_or_else(|| StoreError::Corrupt(format!("no column for property '{}'", field.name)))?;
        Ok((sql, field.kind))
    }
}

/// The filter's `WHERE` condition.
pub(crate) fn filter_sql(expr: &Expr, columns: &Columns) -> Result<SqlFragment, StoreError> {
    let mut w = Writer { columns, out: SqlFragment { sql: String::new(), params: Vec::new() } };
    w.expr(expr)?;
    Ok(w.out)
}

struct Writer<'c> {
    columns: &'c Columns,
    out: SqlFragment,
}

impl Writer<'_> {
    fn push(&mut self, parts: &[&str]) {
        parts.iter().for_each(|p| self.out.sql.push_str(p));
    }

    fn expr(&mut self, e: &Expr) -> Result<(), StoreError> {
        match e {
            Expr::And(items) => self.list(items, " AND ")?,
            Expr::Or(items) => self.list(items, " OR ")?,
            Expr::Not(inner) => {
                // Every translated node is parenthesised or atomic, so this is `((…) IS NOT 1)`.
                self.push(&["("]);
                self.expr(inner)?;
                self.push(&[if self.columns.dialect == Dialect::Sqlite { " IS NOT 1)" } else { " IS NOT TRUE)" }]);
            }
            Expr::Compare { op, prop, value, .. } => {
                let (col, kind) = self.columns.column(&prop.name)?;
                if value.value == Literal::Null {
                    let sql = if *op == CmpOp::Eq { " IS NULL" } else { " IS NOT NULL" };
                    self.push(&["(", col, sql, ")"]);
                    return Ok(());
                }
                let dialect = self.columns.dialect;
                let op = match op {
                    CmpOp::Eq => " = ",
                    CmpOp::Ne => dialect.not_equal(),
                    CmpOp::Gt => " > ",
                    CmpOp::Ge => " >= ",
                    CmpOp::Lt => " < ",
                    CmpOp::Le => " <= ",
                };
                let compared = dialect.compare(col, kind, op);
                self.push(&["(", &compared, ")"]);
                self.out.params.push(param(&value.value));
            }
            Expr::Call { func, prop, value, .. } => {
                let (col, kind) = self.columns.column(&prop.name)?;
                let p = param(&value.value);
                if p == Value::Text(String::new()) {
                    // Every string contains, starts and ends with ''.
                    self.push(&["(", col, " IS NOT NULL)"]);
                    return Ok(());
                }
                let (l, r) = if kind == FieldKind::TextNoCase { ("lower(", ")") } else { ("", "") };
                let instr = if self.columns.dialect == Dialect::Sqlite { "(instr(" } else { "(strpos(" };
                match func {
                    Func::Contains => self.push(&[instr, l, col, r, ", ", l, "?", r, ") > 0)"]),
                    Func::StartsWith => self.push(&[instr, l, col, r, ", ", l, "?", r, ") = 1)"]),
                    Func::EndsWith if self.columns.dialect == Dialect::Sqlite => {
                        self.push(&["(", l, "substr(", col, ", -length(?))", r, " = ", l, "?", r, ")"]);
                        self.out.params.push(p.clone());
                    }
                    Func::EndsWith => {
                        self.push(&["(", l, "right(", col, ", length(?))", r, " = ", l, "?", r, ")"]);
                        self.out.params.push(p.clone());
                    }
                }
                self.out.params.push(p);
            }
            Expr::In { prop, values, .. } => {
                let (col, kind) = self.columns.column(&prop.name)?;
                let sorted = self.columns.dialect.sorted(col, kind);
                self.push(&["(", &sorted, " IN ("]);
                for (i, v) in values.iter().enumerate() {
                    self.push(&[if i == 0 { "" } else { ", " }, self.columns.dialect.in_item(kind)]);
                    self.out.params.push(param(&v.value));
                }
                self.push(&["))"]);
            }
            Expr::BoolProp(prop) => {
                let (col, _) = self.columns.column(&prop.name)?;
                self.push(&["(", col, " = 1)"]);
            }
            Expr::Const(b) => self.push(&[self.columns.dialect.truth(*b)]),
        }
        Ok(())
    }

    fn list(&mut self, items: &[Expr], sep: &str) -> Result<(), StoreError> {
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
}

/// `sql` with its `?` parameters numbered `$1`, `$2`… (PostgreSQL). The translation writes `?` only as a
/// parameter: its SQL text is keywords, `?` and trusted column expressions, none of which holds a `?`.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// The bound value of a checked, non-null literal. GUID literals bind as text.
fn param(l: &Literal) -> Value {
    match l {
        Literal::Str(s) | Literal::Guid(s) => Value::Text(s.clone()),
        Literal::DateTime(t) => Value::Integer(ticks(*t)),
        Literal::Int(i) => Value::Integer(*i),
        Literal::Bool(b) => Value::Integer(i64::from(*b)),
        Literal::Null => Value::Null,
    }
}

fn key_param(k: &KeyValue) -> Option<Value> {
    match k {
        KeyValue::Null => None,
        KeyValue::Text(s) => Some(Value::Text(s.clone())),
        KeyValue::Integer(i) => Some(Value::Integer(*i)),
        KeyValue::Boolean(b) => Some(Value::Integer(i64::from(*b))),
        KeyValue::DateTime(t) => Some(Value::Integer(ticks(*t))),
    }
}

/// The `ORDER BY` list (without the keywords), e.g. `e.activity DESC NULLS LAST, e.id DESC NULLS LAST`.
pub(crate) fn order_by_sql(order: &[OrderBy], columns: &Columns) -> Result<String, StoreError> {
    let mut parts = Vec::with_capacity(order.len());
    for o in order {
        let (col, kind) = columns.column(o.property)?;
        let dir = if o.descending { "DESC NULLS LAST" } else { "ASC NULLS FIRST" };
        parts.push(format!("{} {dir}", columns.dialect.sorted(col, kind)));
    }
    Ok(parts.join(", "))
}

/// The predicate "row sorts after `last`" under `order` (each key asc or desc, NULLs as in
/// [`order_by_sql`]): `k1 after v1 OR (k1 = v1 AND k2 after v2) OR …`, plus a redundant bound on the
/// leading key when its column is `NOT NULL`, which lets the planner seek instead of scanning.
pub(crate) fn keyset_sql(order: &[OrderBy], columns: &Columns, last: &[KeyValue]) -> Result<SqlFragment, StoreError> {
    let mut keys = Vec::with_capacity(order.len());
    for (o, v) in order.iter().zip(last) {
        let (col, kind) = columns.column(o.property)?;
        keys.push((col, kind, o.descending, key_param(v)));
    }
    let mut out = SqlFragment { sql: String::new(), params: Vec::new() };
    let mut terms = Vec::new();
    let d = columns.dialect;
    for (i, (col, kind, descending, v)) in keys.iter().enumerate() {
        let after = match (descending, v) {
            (false, None) => format!("{col} IS NOT NULL"),
            (false, Some(_)) => d.compare(col, *kind, " > "),
            // Nothing sorts after NULL in descending order (NULLs last) except on later keys.
            (true, None) => continue,
            (true, Some(_)) => format!("({} OR {col} IS NULL)", d.compare(col, *kind, " < ")),
        };
        let mut parts = Vec::with_capacity(i + 1);
        for (g, gk, _, w) in &keys[..i] {
            match w {
                None => parts.push(format!("{g} IS NULL")),
                Some(p) => {
                    parts.push(d.compare(g, *gk, " = "));
                    out.params.push(p.clone());
                }
            }
        }
        parts.push(after);
        out.params.extend(v.iter().cloned());
        let term = parts.join(" AND ");
        terms.push(if i == 0 { term } else { format!("({term})") });
    }
    out.sql = if terms.is_empty() { d.truth(false).into() } else { format!("({})", terms.join(" OR ")) };
    // The seek bound: `k1 <= v1` descending, `k1 >= v1` ascending, same collation as the ORDER BY.
    if let (Some(first), Some((col, kind, descending, Some(v)))) = (order.first(), keys.first())
        && columns.not_null.contains(&first.property)
    {
        let op = if *descending { "<=" } else { ">=" };
        out.sql = format!("({} AND {})", d.compare(col, *kind, &format!(" {op} ")), out.sql);
        out.params.insert(0, v.clone());
    }
    Ok(out)
}

/// `SELECT {select}, {sort keys} FROM {from} WHERE … ORDER BY … LIMIT n+1` for a page: the extra row says
/// whether a next page exists. The sort keys follow the `select` columns.
pub(crate) fn page_sql(
    query: &PageQuery,
    columns: &Columns,
    select: &str,
    from: &str,
) -> Result<(String, Vec<Value>), StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    if let Some(f) = &query.filter {
        let f = filter_sql(&f.expr, columns)?;
        conditions.push(f.sql);
        params.extend(f.params);
    }
    if let Some(last) = &query.after {
        let k = keyset_sql(&query.order, columns, last)?;
        conditions.push(k.sql);
        params.extend(k.params);
    }
    let where_sql = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let keys: Vec<&str> =
        query.order.iter().map(|o| columns.column(o.property).map(|(c, _)| c)).collect::<Result<_, _>>()?;
    params.push(Value::Integer(i64::from(query.limit).saturating_add(1)));
    let sql = format!(
        "SELECT {select}, {} FROM {from}{where_sql} ORDER BY {} LIMIT ?",
        keys.join(", "),
        order_by_sql(&query.order, columns)?
    );
    Ok((sql, params))
}
