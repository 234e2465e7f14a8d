//! Checking a parsed `$filter` against an entity's allow-list ([`FieldTable`]): every property must exist,
//! allow the operator or function used on it, and be compared with a literal of its type. A filter that
//! passes ([`Filter::check`]) can be handed to the store, which translates it without further checks.
//!
//! Rules (docs/fidelity.md, A.3): `null` compares only with `eq`/`ne` and is not allowed in an `in` list; a
//! bare property used as a condition must be a Boolean; `contains`/`startswith`/`endswith` take a string
//! property and a string; GUID literals compare with string properties.

use super::ODataError;
use super::fields::{Field, FieldKind, FieldTable, OpSet};
use super::filter::{CmpOp, Expr, Filter, Func, Lit, Literal, Path};
use crate::parse::Span;

impl Filter {
    /// Checks the filter against `fields`; the error names the offending property, operator or value.
    ///
    /// ```
    /// # use entra_inbound::odata::{parse_filter, PROVISIONING_LOG_FIELDS};
    /// assert!(parse_filter("jobid eq 'J1'").unwrap().check(&PROVISIONING_LOG_FIELDS).is_ok());
    /// let e = parse_filter("jobId gt 'x'").unwrap().check(&PROVISIONING_LOG_FIELDS).unwrap_err();
    /// assert_eq!(e.message, "Operator 'gt' is not supported for property 'jobId'.");
    /// ```
    pub fn check(&self, fields: &FieldTable) -> Result<(), ODataError> {
        check(&self.expr, fields)
    }
}

fn check(e: &Expr, fields: &FieldTable) -> Result<(), ODataError> {
    match e {
        Expr::And(items) | Expr::Or(items) => items.iter().try_for_each(|i| check(i, fields)),
        Expr::Not(inner) => check(inner, fields),
        Expr::Compare { op, prop, value, span } => {
            let f = field(fields, prop, op_set(*op), op.name(), *span)?;
            if value.value == Literal::Null {
                return match op {
                    CmpOp::Eq | CmpOp::Ne => Ok(()),
                    _ => Err(ODataError::syntax(value.span, "null can only be compared with 'eq' or 'ne'")),
                };
            }
            literal_fits(f, prop, value)
        }
        Expr::Call { func, prop, value, span } => {
            let (set, name) = match func {
                Func::Contains => (OpSet::CONTAINS, "contains"),
                Func::StartsWith => (OpSet::STARTSWITH, "startswith"),
                Func::EndsWith => (OpSet::ENDSWITH, "endswith"),
            };
            let f = field(fields, prop, set, name, *span)?;
            if !matches!(f.kind, FieldKind::Text | FieldKind::TextNoCase) {
                return Err(mismatch(f, prop, value));
            }
            literal_fits(f, prop, value)
        }
        Expr::In { prop, values, span } => {
            let f = field(fields, prop, OpSet::IN, "in", *span)?;
            for v in values {
                if v.value == Literal::Null {
                    return Err(ODataError::syntax(v.span, "null is not allowed in an 'in' list"));
                }
                literal_fits(f, prop, v)?;
            }
            Ok(())
        }
        Expr::BoolProp(prop) => {
            let f = field(fields, prop, OpSet::EQ, "eq", prop.span)?;
            if f.kind != FieldKind::Boolean {
                return Err(ODataError::new(format!(
                    "Property '{}' is not a Boolean and cannot be used as a condition on its own.",
                    prop.name
                ))
                .with_target(prop.name.clone())
                .at(prop.span));
            }
            Ok(())
        }
        Expr::Const(_) => Ok(()),
    }
}

pub(super) fn op_set(op: CmpOp) -> OpSet {
    match op {
        CmpOp::Eq => OpSet::EQ,
        CmpOp::Ne => OpSet::NE,
        CmpOp::Gt => OpSet::GT,
        CmpOp::Ge => OpSet::GE,
        CmpOp::Lt => OpSet::LT,
        CmpOp::Le => OpSet::LE,
    }
}

/// The field named `name`, or Graph's "Could not find a property" error.
pub(super) fn lookup(fields: &FieldTable, name: &str) -> Result<&'static Field, ODataError> {
    fields.lookup(name).ok_or_else(|| {
        ODataError::new(format!("Could not find a property named '{name}' on type '{}'.", fields.entity()))
            .with_target(name)
    })
}

/// Resolves `prop` and checks that it allows `op` (named `op_name` in errors, found at `span`).
fn field(fields: &FieldTable, prop: &Path, op: OpSet, op_name: &str, span: Span) -> Result<&'static Field, ODataError> {
    let f = lookup(fields, &prop.name).map_err(|e| e.at(prop.span))?;
    if !f.ops.allows(op) {
        return Err(ODataError::new(format!("Operator '{op_name}' is not supported for property '{}'.", f.name))
            .with_target(op_name)
            .at(span));
    }
    Ok(f)
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

/// Whether a non-null literal can be compared with field `f` (GUID literals compare as strings).
fn literal_fits(f: &Field, prop: &Path, value: &Lit) -> Result<(), ODataError> {
    match (f.kind, &value.value) {
        (FieldKind::Text | FieldKind::TextNoCase, Literal::Str(_) | Literal::Guid(_))
        | (FieldKind::DateTime, Literal::DateTime(_))
        | (FieldKind::Integer, Literal::Int(_))
        | (FieldKind::Boolean, Literal::Bool(_)) => Ok(()),
        _ => Err(mismatch(f, prop, value)),
    }
}
