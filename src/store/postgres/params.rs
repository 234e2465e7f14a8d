//! Binding the OData translation's values ([`Value`]) as PostgreSQL parameters. The translation binds
//! integers (ticks, counts, Booleans as 0/1) and text; the server infers each parameter's type from where it
//! stands, so a value is written in the type asked for.
//!
//! PostgreSQL text cannot hold U+0000 (the directory refuses control characters, but log entries name what was
//! refused, and SCIM clients may send it): [`text`] stores it as U+FFFD in the columns that filters and lookups
//! read, and filter values are bound the same way, so they still match. Documents keep the exact value (JSON
//! escapes it).
use std::borrow::Cow;

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::super::sql::Value;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Integer(i) if *ty == Type::INT8 => i.to_sql(ty, out),
            Value::Integer(i) => i.to_string().to_sql(ty, out),
            Value::Text(t) => text(t).to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT4, Type::INT8, Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME, Type::UNKNOWN].contains(ty)
    }

    to_sql_checked!();
}

/// The parameters as the client takes them.
pub(super) fn refs(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// `s` as a PostgreSQL text column keeps it: U+0000 becomes U+FFFD.
pub(super) fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(s) }
}

/// [`text`] of each value.
pub(super) fn texts(values: &[String]) -> Vec<String> {
    values.iter().map(|v| text(v).into_owned()).collect()
}

/// [`text`] of an optional value.
pub(super) fn opt_text(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_stored_as_the_replacement_character() {
        assert_eq!(text("z\u{0}1"), "z\u{FFFD}1");
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
        assert_eq!(opt_text(None), None);
    }
}
