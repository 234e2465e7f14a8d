//! `filter` (RFC 7644 §3.4.2.2): parsed by the `scim_v2` crate (its parser limits nesting to 64 levels and a
//! filter to 1,024 terms), checked against the schemas and evaluated here on rendered resources
//! (docs/fidelity.md#s2-queries). This module is the adapter: nothing else names the crate's types.
//!
//! Semantics: attribute names are case-insensitive; strings compare case-insensitively unless the attribute is
//! `caseExact`; a multi-valued attribute matches when any value does; a complex attribute without a
//! sub-attribute compares its `value`; `dateTime`s compare as instants; `gt`/`ge`/`lt`/`le` on booleans and
//! `co`/`sw`/`ew` on numbers, dates or booleans are `invalidFilter`, as is an attribute the schemas do not define.

use std::cmp::Ordering;
use std::str::FromStr;

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter as Parsed, ValFilter};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ScimError, ScimType};
use super::resource::{core_schema, extensions};
use super::schema::{self, AttrDef, AttrType};
use crate::store::ScimKind;

/// A parsed, checked filter for one kind of resource.
#[derive(Debug, Clone)]
pub struct Filter {
    parsed: Parsed,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidFilter, detail)
}

/// Where an attribute path points: the top-level key of the rendered resource, its definition, the
/// extension object it lives in (if any) and the sub-attribute.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) extension: Option<&'static str>,
    pub(crate) def: &'static AttrDef,
    pub(crate) sub: Option<&'static AttrDef>,
}

impl Target {
    /// The definition the comparison uses: the sub-attribute's, or a complex attribute's `value`.
    pub(crate) fn leaf(&self) -> Option<&'static AttrDef> {
        match self.sub {
            Some(sub) => Some(sub),
            None if self.def.ty == AttrType::Complex => self.def.sub_attr("value"),
            None => Some(self.def),
        }
    }

    /// The values at this path in `resource`, flattened over multi-valued attributes.
    pub(crate) fn values<'a>(&self, resource: &'a Map<String, Value>) -> Vec<&'a Value> {
        let container = match self.extension {
            Some(urn) => match resource.get(urn) {
                Some(Value::Object(o)) => o,
                _ => return Vec::new(),
            },
            None => resource,
        };
        let Some(top) = container.get(self.def.name) else { return Vec::new() };
        let items: Vec<&Value> = match top {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let sub = match self.sub {
            Some(sub) => Some(sub.name),
            None if self.def.ty == AttrType::Complex => Some("value"),
            None => None,
        };
        match sub {
            Some(name) => items.into_iter().filter_map(|i| i.get(name)).collect(),
            None => items,
        }
    }
}

/// Resolves `path` for `kind` (`within`: the complex attribute a value filter's brackets are on).
pub(crate) fn target(kind: ScimKind, path: &AttrPath, within: Option<&Target>) -> Result<Target, ScimError> {
    let shown = path.to_string();
    let unknown = || invalid(format!("The attribute '{shown}' in the filter is not defined."));
    if let Some(parent) = within {
        let sub = parent.def.sub_attr(&path.name).ok_or_else(unknown)?;
        return Ok(Target { extension: parent.extension, def: parent.def, sub: Some(sub) });
    }
    let (extension, attrs): (Option<&'static str>, &'static [AttrDef]) = match &path.uri {
        None => (None, core_schema(kind).attributes),
        Some(uri) if core_schema(kind).id.eq_ignore_ascii_case(uri) => (None, core_schema(kind).attributes),
        Some(uri) => {
            let ext = extensions(kind).iter().find(|e| e.id.eq_ignore_ascii_case(uri)).ok_or_else(unknown)?;
            (Some(ext.id), ext.attributes)
        }
    };
    let common = [&schema::ID, &schema::EXTERNAL_ID, &schema::META]
        .into_iter()
        .find(|d| d.name.eq_ignore_ascii_case(&path.name));
    let def = match (extension, common) {
        (None, Some(d)) => d,
        _ => schema::find(attrs, &path.name).ok_or_else(unknown)?,
    };
    let sub = match &path.sub_attr {
        Some(s) => Some(def.sub_attr(s).ok_or_else(unknown)?),
        None => None,
    };
    Ok(Target { extension, def, sub })
}

impl Filter {
    /// Parses and checks a filter for `kind`; errors are `invalidFilter` (400).
    pub fn parse(kind: ScimKind, text: &str) -> Result<Self, ScimError> {
        let parsed = Parsed::from_str(text).map_err(|e| invalid(format!("The filter '{text}' is invalid: {e}")))?;
        check(kind, &parsed)?;
        Ok(Self { parsed })
    }

    pub fn matches(&self, kind: ScimKind, resource: &Map<String, Value>) -> bool {
        eval(kind, &self.parsed, resource)
    }

    /// Values that every match must hold for `attribute` (`userName`, `externalId`, `id`) by `eq`, when the
    /// filter says so at its top (alone or in an `and`): the store looks them up by index instead of scanning.
    pub fn required_eq(&self, attribute: &str) -> Option<String> {
        let eq_of = |f: &Parsed| match f {
            Parsed::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                if p.sub_attr.is_none() && p.name.eq_ignore_ascii_case(attribute) =>
            {
                Some(v.clone())
            }
            _ => None,
        };
        match &self.parsed {
            Parsed::And(items) => items.iter().find_map(eq_of),
            single => eq_of(single),
        }
    }
}

fn check(kind: ScimKind, f: &Parsed) -> Result<(), ScimError> {
    match f {
        Parsed::Attr(e) => check_exp(kind, e, None),
        Parsed::ValuePath(vp) => {
            let t = target(kind, &vp.attr, None)?;
            if t.def.ty != AttrType::Complex || t.sub.is_some() {
                return Err(invalid(format!("'{}' is not a complex attribute; it takes no [filter].", vp.attr)));
            }
            check_val(kind, &vp.filter, &t)
        }
        Parsed::Not(inner) => check(kind, inner),
        Parsed::And(items) | Parsed::Or(items) => items.iter().try_for_each(|i| check(kind, i)),
    }
}

pub(crate) fn check_val(kind: ScimKind, f: &ValFilter, within: &Target) -> Result<(), ScimError> {
    match f {
        ValFilter::Attr(e) => check_exp(kind, e, Some(within)),
        ValFilter::Not(inner) => check_val(kind, inner, within),
        ValFilter::And(items) | ValFilter::Or(items) => items.iter().try_for_each(|i| check_val(kind, i, within)),
    }
}

fn check_exp(kind: ScimKind, e: &AttrExp, within: Option<&Target>) -> Result<(), ScimError> {
    let (path, op) = match e {
        AttrExp::Present(p) => (p, None),
        AttrExp::Comparison(p, op, _) => (p, Some(op)),
    };
    let t = target(kind, path, within)?;
    if t.def.returned == schema::Returned::Never {
        return Err(invalid(format!("The attribute '{path}' cannot be filtered on.")));
    }
    let Some(op) = op else { return Ok(()) };
    let Some(leaf) = t.leaf() else {
        return Err(invalid(format!("'{path}' is complex; compare one of its sub-attributes.")));
    };
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    match leaf.ty {
        AttrType::Boolean if ordering || substring => {
            Err(invalid(format!("'{op}' cannot compare the boolean attribute '{path}'.")))
        }
        AttrType::Integer | AttrType::Decimal | AttrType::DateTime if substring => {
            Err(invalid(format!("'{op}' cannot compare the attribute '{path}'.")))
        }
        _ => Ok(()),
    }
}

fn eval(kind: ScimKind, f: &Parsed, r: &Map<String, Value>) -> bool {
    match f {
        Parsed::Attr(e) => eval_exp(kind, e, r, None),
        Parsed::ValuePath(vp) => {
            let Ok(t) = target(kind, &vp.attr, None) else { return false };
            let container = match t.extension {
                Some(urn) => r.get(urn).and_then(Value::as_object),
                None => Some(r),
            };
            let elements: Vec<&Map<String, Value>> = match container.and_then(|c| c.get(t.def.name)) {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
                Some(Value::Object(o)) => vec![o],
                _ => Vec::new(),
            };
            elements.into_iter().any(|el| eval_val(kind, &vp.filter, el, &t))
        }
        Parsed::Not(inner) => !eval(kind, inner, r),
        Parsed::And(items) => items.iter().all(|i| eval(kind, i, r)),
        Parsed::Or(items) => items.iter().any(|i| eval(kind, i, r)),
    }
}

/// Evaluates a bracketed filter on one element of a multi-valued complex attribute.
pub(crate) fn eval_val(kind: ScimKind, f: &ValFilter, element: &Map<String, Value>, within: &Target) -> bool {
    match f {
        ValFilter::Attr(e) => eval_exp(kind, e, element, Some(within)),
        ValFilter::Not(inner) => !eval_val(kind, inner, element, within),
        ValFilter::And(items) => items.iter().all(|i| eval_val(kind, i, element, within)),
        ValFilter::Or(items) => items.iter().any(|i| eval_val(kind, i, element, within)),
    }
}

fn eval_exp(kind: ScimKind, e: &AttrExp, r: &Map<String, Value>, within: Option<&Target>) -> bool {
    let path = match e {
        AttrExp::Present(p) | AttrExp::Comparison(p, _, _) => p,
    };
    let Ok(t) = target(kind, path, within) else { return false };
    let values: Vec<&Value> = match within {
        // Inside brackets the element itself holds the sub-attribute.
        Some(_) => t.sub.and_then(|s| r.get(s.name)).into_iter().collect(),
        None => t.values(r),
    };
    let present: Vec<&Value> = values.into_iter().filter(|v| is_present(v)).collect();
    match e {
        AttrExp::Present(_) => !present.is_empty(),
        AttrExp::Comparison(_, op, value) => {
            let Some(leaf) = t.leaf() else { return false };
            match (op, value) {
                (CompareOp::Eq, CompValue::Null) => present.is_empty(),
                (CompareOp::Ne, CompValue::Null) => !present.is_empty(),
                (CompareOp::Ne, _) => !present.iter().any(|v| compare(leaf, &CompareOp::Eq, v, value)),
                _ => present.iter().any(|v| compare(leaf, op, v, value)),
            }
        }
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// `actual op expected` for one value.
fn compare(def: &AttrDef, op: &CompareOp, actual: &Value, expected: &CompValue) -> bool {
    let ordering = match (def.ty, actual, expected) {
        (AttrType::Boolean, Value::Bool(a), CompValue::True) => Some(a.cmp(&true)),
        (AttrType::Boolean, Value::Bool(a), CompValue::False) => Some(a.cmp(&false)),
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Number(b)) => {
            a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
        }
        (AttrType::DateTime, Value::String(a), CompValue::Str(b)) => {
            let (a, b) = (OffsetDateTime::parse(a, &Rfc3339).ok(), OffsetDateTime::parse(b, &Rfc3339).ok());
            a.zip(b).map(|(a, b)| a.cmp(&b))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(a), CompValue::Str(b)) => {
            let (a, b) = if def.case_exact { (a.clone(), b.clone()) } else { (a.to_lowercase(), b.to_lowercase()) };
            return match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                _ => ordered(op, a.cmp(&b)),
            };
        }
        _ => None,
    };
    ordering.is_some_and(|o| ordered(op, o))
}

fn ordered(op: &CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        json!({
            "schemas": [schema::USER_SCHEMA], "id": "u1", "externalId": "E1", "userName": "Bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"}, "active": true, "title": "Tour Guide",
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tours", "manager": {"value": "m1"}},
            "meta": {"resourceType": "User", "created": "2025-01-15T10:00:00Z", "lastModified": "2025-01-16T10:00:00Z"},
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn m(text: &str) -> bool {
        Filter::parse(ScimKind::User, text).unwrap_or_else(|e| panic!("{text}: {e:?}")).matches(ScimKind::User, &user())
    }

    #[test]
    fn every_operator_and_grouping() {
        for (text, expected) in [
            (r#"userName eq "bjensen""#, true),
            (r#"USERNAME EQ "BJENSEN""#, true),
            (r#"externalId eq "e1""#, false),
            (r#"userName ne "x""#, true),
            (r#"name.familyName co "ens""#, true),
            (r#"userName sw "bj""#, true),
            (r#"userName ew "SEN""#, true),
            ("title pr", true),
            ("nickName pr", false),
            (r#"meta.lastModified gt "2025-01-15T11:00:00Z""#, true),
            (r#"meta.created ge "2025-01-15T10:00:00+00:00""#, true),
            (r#"meta.created lt "2025-01-15T10:00:00Z""#, false),
            (r#"userName le "c""#, true),
            ("active eq true", true),
            (r#"title pr and (userName eq "x" or active eq true)"#, true),
            (r#"not (userName eq "bjensen")"#, false),
            (r#"emails[type eq "work" and value co "@example.com"]"#, true),
            (r#"emails[type eq "home" and value co "@example.com"]"#, false),
            (r#"emails co "jensen.org""#, true),
            (r#"emails.type eq "home""#, true),
            (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tours""#, true),
            (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#, true),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#, true),
        ] {
            assert_eq!(m(text), expected, "{text}");
        }
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for text in [
            "userName eq",
            r#"nope eq "x""#,
            "active gt true",
            r#"meta.created co "2025""#,
            r#"emails eq "x" and"#,
            r#"userName[value eq "x"]"#,
            "password pr",
        ] {
            let e = Filter::parse(ScimKind::User, text).unwrap_err();
            assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidFilter)), "{text}");
        }
        let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(Filter::parse(ScimKind::User, &deep).unwrap_err().scim_type, Some(ScimType::InvalidFilter));
    }

    #[test]
    fn an_indexed_equality_at_the_top_is_found() {
        let f = Filter::parse(ScimKind::User, r#"userName eq "A" and active eq true"#).unwrap();
        assert_eq!(f.required_eq("username"), Some("A".into()));
        let f = Filter::parse(ScimKind::User, r#"userName eq "A" or active eq true"#).unwrap();
        assert_eq!(f.required_eq("userName"), None);
    }
}
