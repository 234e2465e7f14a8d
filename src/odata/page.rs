//! A checked page request ([`PageQuery`]): the filter, the complete order and the keyset position the store
//! runs, built from the query options (docs/fidelity.md, A.3 and A.3b).
//!
//! Design constraints and decisions:
//! - Keyset paging only: page n+1 is "rows that sort after the last row of page n", so a `$skiptoken`
//!   stays valid under concurrent inserts and a page costs the same wherever it is.
//! - The order is made total here: the caller's `$orderby` (or the entity's default) gets the entity's
//!   unique tiebreaker appended, in the direction of its last key, unless it already names a unique key.
//! - A token carries the sort-key values of the last row ([`KeyValue`]); decoding checks their count and
//!   types against the order (a token replayed against another `$orderby` is refused).

use serde_json::Value;
use time::OffsetDateTime;

use super::fields::{FieldKind, FieldTable};
use super::{Filter, ODataError, OrderBy, skiptoken};
use crate::graph_time::{datetime_key, parse_rfc3339};

/// How an entity set is ordered when the client does not say, and how the order is made total.
#[derive(Debug, Clone, Copy)]
pub struct Ordering {
    pub default: &'static [OrderBy],
    /// Properties whose values are unique: an order naming one is already total.
    pub unique: &'static [&'static str],
    /// Appended to every order that names no unique property.
    pub tiebreaker: &'static str,
}

/// One sort-key value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    Null,
    Text(String),
    Integer(i64),
    Boolean(bool),
    DateTime(OffsetDateTime),
}

impl KeyValue {
    fn to_json(&self) -> Value {
        match self {
            KeyValue::Null => Value::Null,
            KeyValue::Text(s) => Value::String(s.clone()),
            KeyValue::Integer(i) => Value::from(*i),
            KeyValue::Boolean(b) => Value::Bool(*b),
            KeyValue::DateTime(t) => Value::String(datetime_key(*t)),
        }
    }

    fn from_json(kind: FieldKind, v: &Value) -> Option<Self> {
        Some(match (kind, v) {
            (_, Value::Null) => KeyValue::Null,
            (FieldKind::Text | FieldKind::TextNoCase, Value::String(s)) => KeyValue::Text(s.clone()),
            (FieldKind::DateTime, Value::String(s)) => KeyValue::DateTime(parse_rfc3339(s)?),
            (FieldKind::Integer, Value::Number(n)) => KeyValue::Integer(n.as_i64()?),
            (FieldKind::Boolean, Value::Bool(b)) => KeyValue::Boolean(*b),
            _ => return None,
        })
    }
}

/// The `$skiptoken` of a page whose last row has these sort keys.
pub fn skiptoken_of(keys: &[KeyValue]) -> String {
    skiptoken::encode(&keys.iter().map(KeyValue::to_json).collect::<Vec<_>>())
}

/// A checked page request over one entity set.
#[derive(Debug, Clone, PartialEq)]
pub struct PageQuery {
    /// Checked against the entity's [`FieldTable`].
    pub filter: Option<Filter>,
    /// Total: ends with a unique key.
    pub order: Vec<OrderBy>,
    /// The sort keys of the previous page's last row, one per `order` key.
    pub after: Option<Vec<KeyValue>>,
    pub limit: u32,
}

impl PageQuery {
    /// Checks `filter`, completes `order` (empty = the default) and decodes `skiptoken` against it.
    pub fn new(
        fields: &FieldTable,
        ordering: &Ordering,
        filter: Option<Filter>,
        order: &[OrderBy],
        skiptoken: Option<&str>,
        limit: u32,
    ) -> Result<Self, ODataError> {
        if let Some(f) = &filter {
            f.check(fields)?;
        }
        let mut order: Vec<OrderBy> = if order.is_empty() { ordering.default.to_vec() } else { order.to_vec() };
        if !order.iter().any(|o| ordering.unique.contains(&o.property)) {
            let descending = order.last().is_some_and(|o| o.descending);
            order.push(OrderBy { property: ordering.tiebreaker, descending });
        }
        let after = match skiptoken {
            None => None,
            Some(token) => {
                let raw = skiptoken::decode(token)?;
                if raw.len() != order.len() {
                    return Err(skiptoken::invalid());
                }
                let keys = order
                    .iter()
                    .zip(&raw)
                    .map(|(o, v)| fields.lookup(o.property).and_then(|f| KeyValue::from_json(f.kind, v)))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(skiptoken::invalid)?;
                Some(keys)
            }
        };
        Ok(Self { filter, order, after, limit: limit.max(1) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::{PROVISIONING_LOG_FIELDS, PROVISIONING_LOG_ORDER, USER_FIELDS, USER_ORDER, parse_orderby};
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn orders_are_made_total_with_the_tiebreaker() {
        let q = PageQuery::new(&PROVISIONING_LOG_FIELDS, &PROVISIONING_LOG_ORDER, None, &[], None, 10).unwrap();
        let names: Vec<_> = q.order.iter().map(|o| (o.property, o.descending)).collect();
        assert_eq!(names, [("activityDateTime", true), ("id", true)]);
        let o = parse_orderby("displayName", &USER_FIELDS).unwrap();
        let q = PageQuery::new(&USER_FIELDS, &USER_ORDER, None, &o, None, 10).unwrap();
        assert_eq!(q.order.last().map(|o| o.property), Some("id"));
        let o = parse_orderby("userPrincipalName desc", &USER_FIELDS).unwrap();
        let q = PageQuery::new(&USER_FIELDS, &USER_ORDER, None, &o, None, 10).unwrap();
        assert_eq!(q.order.len(), 1, "a unique key needs no tiebreaker");
    }

    #[test]
    fn tokens_round_trip_and_tampered_ones_are_refused() {
        let keys = vec![KeyValue::DateTime(datetime!(2025-01-15 10:00:00.5 UTC)), KeyValue::Text("a".into())];
        let token = skiptoken_of(&keys);
        let q = PageQuery::new(&PROVISIONING_LOG_FIELDS, &PROVISIONING_LOG_ORDER, None, &[], Some(&token), 10).unwrap();
        assert_eq!(q.after, Some(keys));
        for bad in [json!(["2025-01-15T10:00:00Z"]), json!([1, "a"]), json!(["not a date", "a"]), json!({"a": 1})] {
            let items = match &bad {
                serde_json::Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            let token = skiptoken::encode(&items);
            let e = PageQuery::new(&PROVISIONING_LOG_FIELDS, &PROVISIONING_LOG_ORDER, None, &[], Some(&token), 10);
            assert!(e.is_err(), "{bad}");
        }
    }
}
