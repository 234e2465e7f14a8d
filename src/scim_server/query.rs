//! Queries (RFC 7644 §3.4.2, §3.4.3): `filter`, `sortBy`/`sortOrder`, `startIndex`/`count` and
//! `attributes`/`excludedAttributes`, from a URL query or a `POST /.search` body, answered as a `ListResponse`
//! (docs/fidelity.md#s2-queries).
//!
//! Design: resources are filtered and sorted in memory after the store returns the candidates; a filter whose
//! top level requires `id`, `userName` or `externalId` to equal a value is looked up by index first (the
//! usual client query, `userName eq "…"`, reads one row). A page holds at most `filter.maxResults` resources.

use std::cmp::Ordering;
use std::str::FromStr;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{ScimError, ScimType};
use super::filter::{Filter, Target, target};
use super::schema::AttrType;
use super::selection::Selection;
use crate::store::ScimKind;

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A checked query.
#[derive(Debug, Clone)]
pub struct Query {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: usize,
    pub count: Option<usize>,
    pub(crate) sort_by: Option<Target>,
    pub descending: bool,
    pub selection: Selection,
}

/// The raw parameters, as strings (a URL query) or as a SearchRequest's members.
#[derive(Debug, Clone, Default)]
pub struct RawQuery {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

impl RawQuery {
    /// From `?filter=…&startIndex=…` (names case-insensitive; comma-separated attribute lists).
    pub fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Self {
        let mut q = RawQuery::default();
        let list =
            |v: &str| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
        for (k, v) in pairs {
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(v),
                "startindex" => q.start_index = Some(v),
                "count" => q.count = Some(v),
                "sortby" => q.sort_by = Some(v),
                "sortorder" => q.sort_order = Some(v),
                "attributes" => q.attributes.extend(list(&v)),
                "excludedattributes" => q.excluded.extend(list(&v)),
                _ => {}
            }
        }
        q
    }

    /// From a SearchRequest body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let syntax = |d: &str| ScimError::bad_request(ScimType::InvalidSyntax, d.to_owned());
        let body = body.as_object().ok_or_else(|| syntax("The body must be a SearchRequest object."))?;
        let get = |name: &str| {
            body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
        };
        let is_search = get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(SEARCH_REQUEST_SCHEMA)));
        if !is_search {
            return Err(syntax(&format!("The attribute 'schemas' must contain '{SEARCH_REQUEST_SCHEMA}'.")));
        }
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(invalid_value(format!("'{name}' must be a string or a number."))),
            }
        };
        let names = |name: &str| -> Result<Vec<String>, ScimError> {
            match get(name) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| invalid_value(format!("'{name}' must list strings.")))
                    })
                    .collect(),
                Some(Value::String(s)) => {
                    Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
                }
                Some(_) => Err(invalid_value(format!("'{name}' must be an array of strings."))),
            }
        };
        Ok(RawQuery {
            filter: text("filter")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            attributes: names("attributes")?,
            excluded: names("excludedAttributes")?,
        })
    }

    /// Checks every parameter for `kind`.
    pub fn check(self, kind: ScimKind) -> Result<Query, ScimError> {
        let filter =
            self.filter.as_deref().filter(|f| !f.trim().is_empty()).map(|f| Filter::parse(kind, f)).transpose()?;
        let int = |name: &str, v: &Option<String>| -> Result<Option<i64>, ScimError> {
            v.as_deref()
                .map(|s| {
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| invalid_value(format!("'{name}' must be an integer, not '{s}'.")))
                })
                .transpose()
        };
        // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0.
        let start_index = usize::try_from(int("startIndex", &self.start_index)?.unwrap_or(1).max(1)).unwrap_or(1);
        let count = int("count", &self.count)?.map(|c| usize::try_from(c.max(0)).unwrap_or(0));
        let sort_by = self
            .sort_by
            .as_deref()
            .map(|s| {
                let path = scim_v2::filter::Filter::from_str(&format!("{s} pr")).ok().and_then(|f| match f {
                    scim_v2::filter::Filter::Attr(scim_v2::filter::AttrExp::Present(p)) => Some(p),
                    _ => None,
                });
                let bad =
                    || ScimError::bad_request(ScimType::InvalidPath, format!("'sortBy' names no attribute: '{s}'."));
                let path = path.ok_or_else(bad)?;
                target(kind, &path, None).map_err(|_| bad())
            })
            .transpose()?;
        let descending = match self.sort_order.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(invalid_value(format!("'sortOrder' must be 'ascending' or 'descending', not '{other}'.")));
            }
        };
        let selection = Selection { attributes: self.attributes, excluded: self.excluded };
        selection.check(kind)?;
        Ok(Query { filter, start_index, count, sort_by, descending, selection })
    }
}

/// A comparable sort key; a missing value sorts after every other.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum SortKey {
    Number(f64),
    Instant(i128),
    Text(String),
    Missing,
}

fn sort_key(t: &Target, resource: &Map<String, Value>) -> SortKey {
    // A multi-valued attribute sorts by its first value.
    let values = t.values(resource);
    let leaf = t.leaf();
    let v = values.first().copied();
    match (leaf.map(|l| l.ty), v) {
        (_, None) => SortKey::Missing,
        (Some(AttrType::DateTime), Some(Value::String(s))) => {
            OffsetDateTime::parse(s, &Rfc3339).map_or(SortKey::Missing, |d| SortKey::Instant(d.unix_timestamp_nanos()))
        }
        (_, Some(Value::Number(n))) => n.as_f64().map_or(SortKey::Missing, SortKey::Number),
        (_, Some(Value::Bool(b))) => SortKey::Number(f64::from(u8::from(*b))),
        (_, Some(Value::String(s))) if leaf.is_some_and(|l| l.case_exact) => SortKey::Text(s.clone()),
        (_, Some(Value::String(s))) => SortKey::Text(s.to_lowercase()),
        _ => SortKey::Missing,
    }
}

/// A resource that matched a query, with the kind it is of and its sort key.
#[derive(Debug, Clone)]
pub struct Matched {
    kind: ScimKind,
    key: SortKey,
    resource: Map<String, Value>,
}

impl Query {
    /// The rendered resources of `kind` the filter matches, keyed for sorting.
    pub fn matching(&self, kind: ScimKind, resources: Vec<Map<String, Value>>) -> Vec<Matched> {
        resources
            .into_iter()
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(kind, r)))
            .map(|resource| {
                let key = self.sort_by.as_ref().map_or(SortKey::Missing, |t| sort_key(t, &resource));
                Matched { kind, key, resource }
            })
            .collect()
    }

    /// Sorts and pages matches (of one kind, or of several for a search at the root) into a ListResponse;
    /// `max_results` caps the page; `selections` gives each kind's attribute selection.
    pub fn answer(
        &self,
        mut matched: Vec<Matched>,
        selections: &[(ScimKind, &Selection)],
        max_results: usize,
    ) -> Value {
        if self.sort_by.is_some() {
            matched.sort_by(|a, b| {
                let o = match (&a.key, &b.key) {
                    (SortKey::Missing, SortKey::Missing) => Ordering::Equal,
                    (SortKey::Missing, _) => return Ordering::Greater,
                    (_, SortKey::Missing) => return Ordering::Less,
                    (x, y) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
                };
                if self.descending { o.reverse() } else { o }
            });
        }
        let total = matched.len();
        let per_page = self.count.unwrap_or(max_results).min(max_results);
        let page: Vec<Value> = matched
            .into_iter()
            .skip(self.start_index - 1)
            .take(per_page)
            .map(|mut m| {
                if let Some((_, selection)) = selections.iter().find(|(k, _)| *k == m.kind) {
                    selection.apply(m.kind, &mut m.resource);
                }
                Value::Object(m.resource)
            })
            .collect();
        json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": total,
            "startIndex": self.start_index,
            "itemsPerPage": page.len(),
            "Resources": page,
        })
    }
}

impl RawQuery {
    /// Checks a search at the root (RFC 7644 §3.4.3) against every kind: each gets the query with the names it
    /// defines (a name unknown to one kind simply does not match it); a filter or name no kind accepts is the
    /// first kind's error.
    pub fn check_across(self, kinds: &[ScimKind]) -> Result<Vec<(ScimKind, Query)>, ScimError> {
        let mut out = Vec::new();
        let mut first_error = None;
        for &kind in kinds {
            let known =
                |n: &String| Selection { attributes: vec![n.clone()], excluded: Vec::new() }.check(kind).is_ok();
            let mut raw = self.clone();
            raw.attributes.retain(known);
            raw.excluded.retain(known);
            if !self.attributes.is_empty() && raw.attributes.is_empty() {
                raw.attributes = vec!["id".into()];
            }
            match raw.check(kind) {
                Ok(q) => out.push((kind, q)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let unknown_everywhere = self.attributes.iter().chain(&self.excluded).find(|n| {
            kinds.iter().all(|&k| Selection { attributes: vec![(*n).clone()], excluded: Vec::new() }.check(k).is_err())
        });
        if let Some(name) = unknown_everywhere {
            return Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!("The attribute '{name}' is not defined."),
            ));
        }
        match (out.is_empty(), first_error) {
            (true, Some(e)) => Err(e),
            _ => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<Map<String, Value>> {
        ["carol", "Alice", "bob"]
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"id": i.to_string(), "userName": n, "title": if i == 1 { Value::Null } else { json!(format!("t{i}")) }}).as_object().cloned().unwrap())
            .collect()
    }

    fn names(v: &Value) -> Vec<&str> {
        v["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap_or("-")).collect()
    }

    fn ask(pairs: &[(&str, &str)]) -> Result<Value, ScimError> {
        let raw = RawQuery::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let q = raw.check(ScimKind::User)?;
        let matched = q.matching(ScimKind::User, users());
        Ok(q.answer(matched, &[(ScimKind::User, &q.selection)], 2))
    }

    #[test]
    fn sort_page_and_cap() {
        let v = ask(&[("sortBy", "userName")]).unwrap();
        assert_eq!(
            (names(&v), v["totalResults"].as_u64(), v["itemsPerPage"].as_u64()),
            (vec!["Alice", "bob"], Some(3), Some(2))
        );
        let v =
            ask(&[("sortBy", "USERNAME"), ("sortOrder", "descending"), ("startIndex", "2"), ("count", "5")]).unwrap();
        assert_eq!(names(&v), vec!["bob", "Alice"], "count is capped at maxResults");
        let v = ask(&[("sortBy", "title"), ("count", "3")]).unwrap();
        assert_eq!(names(&v), vec!["carol", "bob"], "missing values sort last");
        let v = ask(&[("count", "-1")]).unwrap();
        assert_eq!((v["totalResults"].as_u64(), v["itemsPerPage"].as_u64()), (Some(3), Some(0)));
        let v = ask(&[("filter", "userName sw \"B\""), ("attributes", "id")]).unwrap();
        assert_eq!(v["Resources"], json!([{"id": "2"}]));
    }

    #[test]
    fn bad_parameters_are_refused() {
        let kind = |pairs: &[(&str, &str)]| ask(pairs).unwrap_err().scim_type;
        assert_eq!(kind(&[("count", "many")]), Some(ScimType::InvalidValue));
        assert_eq!(kind(&[("sortOrder", "up")]), Some(ScimType::InvalidValue));
        assert_eq!(kind(&[("sortBy", "nope")]), Some(ScimType::InvalidPath));
        assert_eq!(kind(&[("filter", "nope pr")]), Some(ScimType::InvalidFilter));
        let no_schema = RawQuery::from_search(&json!({"filter": "userName pr"})).unwrap_err();
        assert_eq!(no_schema.scim_type, Some(ScimType::InvalidSyntax));
    }
}
