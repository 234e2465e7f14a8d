//! The inbound SCIM user record (`data` of a bulk operation) as the engine reads it: a JSON tree that borrows
//! its strings from the staged text and keeps object members in the order they were sent.
//!
//! Design decision (throughput, measured): `serde_json::Value` with `preserve_order` parses a realistic
//! 830-byte user in about 18 µs (every key hashed into an `IndexMap`); this borrowed tree
//! (`serde_json_borrow`, members in a `Vec`, no copies of unescaped strings) takes about 1.5 µs. Records
//! have a few dozen members, so the linear, case-insensitive member lookup SCIM needs is cheap.
//! Nesting is bounded by serde_json's recursion limit (128).
//!
//! Two readers, two rules for members sharing a name, side by side on purpose: the engine reads a record with
//! [`member`] (the exact spelling first, then the first case-insensitive match); the SCIM service provider reads
//! every request body with [`last_member`], [`distinct_members`] and [`owned`] (case-insensitive, the last repeat
//! counts, as a parsed map would have it).

use std::collections::HashSet;

pub use serde_json_borrow::{Map as RecordObject, Value as Record};

/// Parses a record's JSON text; the tree borrows from `text`.
///
/// ```
/// let r = entra_inbound::scim::record::parse(r#"{"userName":"a@b.c","active":true}"#).unwrap();
/// assert_eq!(r.get("userName").as_str(), Some("a@b.c"));
/// ```
pub fn parse(text: &str) -> Result<Record<'_>, serde_json::Error> {
    serde_json::from_str(text)
}

/// Why a request body is not a JSON document.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not UTF-8: the 1-based line and column of the first byte that is not.
    #[error("The request body is not valid UTF-8 (line {line}, column {column}).")]
    NotUtf8 { line: usize, column: usize },
    #[error("The request body is not valid JSON: {0}.")]
    NotJson(serde_json::Error),
}

/// Parses a request body: checked as UTF-8 once, as a whole, then parsed borrowed. serde_json reading
/// bytes would check each string on its own; both JSON surfaces (bulkUpload and the SCIM provider) read
/// their bodies here, so a broken body is described the same way on each.
///
/// ```
/// use entra_inbound::scim::record::{BodyError, parse_body};
/// assert_eq!(parse_body(br#"{"a":[1]}"#).unwrap().get("a").as_array().map(<[_]>::len), Some(1));
/// assert!(matches!(parse_body(b"{\n \"a\": \"\xff\"}"), Err(BodyError::NotUtf8 { line: 2, column: 8 })));
/// assert!(matches!(parse_body(b"{"), Err(BodyError::NotJson(_))));
/// ```
pub fn parse_body(body: &[u8]) -> Result<Record<'_>, BodyError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let (line, column) = line_column(body, e.valid_up_to());
        BodyError::NotUtf8 { line, column }
    })?;
    parse(text).map_err(BodyError::NotJson)
}

/// 1-based line and column of byte offset `at`.
fn line_column(body: &[u8], at: usize) -> (usize, usize) {
    let before = &body[..at.min(body.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

/// Case-insensitive member lookup (SCIM attribute names are case-insensitive), exact spelling first.
pub fn member<'r, 'a>(obj: &'r RecordObject<'a>, key: &str) -> Option<&'r Record<'a>> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The member the SCIM service provider reads for `name`. Its rule for members sharing a name: names match
/// case-insensitively (RFC 7643 §2.1) and of repeats only the last counts, as in a parsed map. One rule for a
/// whole request: a BulkRequest, its operations and the resources they write are all read through it and
/// [`distinct_members`].
///
/// ```
/// use entra_inbound::scim::record::{last_member, parse};
/// let r = parse(r#"{"method":"PUT","Method":"POST"}"#).unwrap();
/// assert_eq!(last_member(r.as_object().unwrap(), "METHOD").and_then(|v| v.as_str()), Some("POST"));
/// ```
pub fn last_member<'r, 'a>(obj: &'r RecordObject<'a>, name: &str) -> Option<&'r Record<'a>> {
    obj.as_vec().iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// Up to this many members an object is scanned for a name's later repeats; past it, its names are indexed first.
const SCANNED_MEMBERS: usize = 16;

/// An object's members under [`last_member`]'s rule, in the order sent: each name once, the last of its
/// repeats. Linear however many members a body sends: a large object is indexed instead of scanned.
///
/// ```
/// use entra_inbound::scim::record::{distinct_members, parse};
/// let r = parse(r#"{"a":1,"b":2,"A":3}"#).unwrap();
/// let names: Vec<&str> = distinct_members(r.as_object().unwrap()).map(|(k, _)| k).collect();
/// assert_eq!(names, ["b", "A"]);
/// ```
pub fn distinct_members<'r, 'a>(obj: &'r RecordObject<'a>) -> impl Iterator<Item = (&'r str, &'r Record<'a>)> {
    let indexed: Option<Vec<bool>> = (obj.len() > SCANNED_MEMBERS).then(|| {
        let mut seen = HashSet::with_capacity(obj.len());
        let mut last: Vec<bool> = obj.as_vec().iter().rev().map(|(k, _)| seen.insert(k.to_ascii_lowercase())).collect();
        last.reverse();
        last
    });
    obj.iter()
        .enumerate()
        .filter(move |(i, (name, _))| match &indexed {
            Some(last) => last.get(*i) == Some(&true),
            None => !obj.iter().skip(i + 1).any(|(later, _)| later.eq_ignore_ascii_case(name)),
        })
        .map(|(_, m)| m)
}

/// The owned tree of a record under [`last_member`]'s rule: every object keeps each name once, the last of its
/// repeats, spelt as that repeat was; each map is sized up front.
///
/// ```
/// let r = entra_inbound::scim::record::parse(r#"{"a":[{"v":1,"V":2}],"a":[{"v":3}]}"#).unwrap();
/// assert_eq!(entra_inbound::scim::record::owned(&r), serde_json::json!({"a": [{"v": 3}]}));
/// ```
pub fn owned(v: &Record<'_>) -> serde_json::Value {
    match v {
        Record::Object(o) => {
            let mut map = serde_json::Map::with_capacity(o.len());
            for (name, v) in distinct_members(o) {
                map.insert(name.to_owned(), owned(v));
            }
            serde_json::Value::Object(map)
        }
        Record::Array(items) => serde_json::Value::Array(items.iter().map(owned).collect()),
        scalar => serde_json::Value::from(scalar),
    }
}

/// A scalar in the sync engine's string form: strings as-is, booleans `True`/`False`, numbers in decimal;
/// `None` for null, arrays and objects.
pub fn scalar_text(v: &Record<'_>) -> Option<String> {
    match v {
        Record::Str(s) => Some(s.to_string()),
        Record::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        Record::Number(n) => Some(serde_json::Number::from(*n).to_string()),
        Record::Null | Record::Array(_) | Record::Object(_) => None,
    }
}

/// The record's attributes flattened the way the import step lists them: `name.givenName`,
/// `emails[type eq "work"].value`, `nums[0]`, extension members as `urn:…:User:department`; `schemas` is
/// left out; values in the sync engine's string form (null → empty).
///
/// ```
/// let r = entra_inbound::scim::record::parse(
///     r#"{"schemas":["s"],"name":{"givenName":"B"},"emails":[{"type":"work","value":"b@x"}],"active":false}"#,
/// ).unwrap();
/// let flat = entra_inbound::scim::record::flatten(&r);
/// assert_eq!(flat, [("name.givenName".into(), "B".into()),
///     ("emails[type eq \"work\"].value".into(), "b@x".into()), ("active".into(), "False".into())]);
/// ```
pub fn flatten(record: &Record<'_>) -> Vec<(String, String)> {
    let Some(obj) = record.as_object() else { return Vec::new() };
    // Keys are built by concatenation (no `format!`): this runs for every record the engine imports.
    let mut out = Vec::with_capacity(obj.len() + 16);
    for (k, v) in obj.iter() {
        if k == "schemas" {
            continue;
        }
        match v {
            Record::Object(inner) => {
                let separator = if k.starts_with("urn:") { ":" } else { "." };
                for (ik, iv) in inner.iter() {
                    out.push((concat(&[k, separator, ik]), display(iv)));
                }
            }
            Record::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let index = i.to_string();
                    match item {
                        Record::Object(o) => {
                            let selector: [&str; 3] = match o.get("type").and_then(Record::as_str) {
                                Some(t) => ["[type eq \"", t, "\"]"],
                                None => ["[", &index, "]"],
                            };
                            for (ik, iv) in o.iter().filter(|(ik, _)| *ik != "type") {
                                let [a, b, c] = selector;
                                out.push((concat(&[k, a, b, c, ".", ik]), display(iv)));
                            }
                        }
                        other => out.push((concat(&[k, "[", &index, "]"]), display(other))),
                    }
                }
            }
            other => out.push((k.to_owned(), display(other))),
        }
    }
    out
}

/// The parts joined into one string of exactly their length.
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// A flattened value: scalars in string form, null as empty, anything nested as its JSON text.
fn display(v: &Record<'_>) -> String {
    match v {
        Record::Null => String::new(),
        Record::Array(_) | Record::Object(_) => serde_json::to_string(v).unwrap_or_default(),
        scalar => scalar_text(scalar).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_match_case_insensitively_and_numbers_print_in_decimal() {
        let r = parse(r#"{"UserName":"u","n":42,"f":1.5,"neg":-3,"o":{"value":"x"}}"#).unwrap();
        let obj = r.as_object().unwrap();
        assert_eq!(member(obj, "username").and_then(Record::as_str), Some("u"));
        assert_eq!(member(obj, "n").and_then(scalar_text).as_deref(), Some("42"));
        assert_eq!(member(obj, "f").and_then(scalar_text).as_deref(), Some("1.5"));
        assert_eq!(member(obj, "neg").and_then(scalar_text).as_deref(), Some("-3"));
        assert_eq!(member(obj, "o").and_then(scalar_text), None);
        assert!(member(obj, "missing").is_none());
    }

    #[test]
    fn of_members_sharing_a_name_the_last_counts_scanned_or_indexed() {
        for members in [4, SCANNED_MEMBERS, SCANNED_MEMBERS + 1, 3 * SCANNED_MEMBERS] {
            // `k0`…: distinct names; then `Dup`, `dup`, `DUP` (one name); then `k0` again, upper-cased.
            let mut text: Vec<String> = (0..members.saturating_sub(4)).map(|i| format!(r#""k{i}":{i}"#)).collect();
            text.extend([r#""Dup":1"#, r#""dup":2"#, r#""DUP":3"#, r#""K0":"again""#].map(str::to_owned));
            let text = format!("{{{}}}", text.join(","));
            let r = parse(&text).unwrap();
            let obj = r.as_object().unwrap();
            let read: Vec<(&str, String)> =
                distinct_members(obj).map(|(k, v)| (k, scalar_text(v).unwrap_or_default())).collect();
            let mut expected: Vec<(&str, String)> = Vec::new();
            let names: Vec<String> = (1..members.saturating_sub(4)).map(|i| format!("k{i}")).collect();
            expected.extend(names.iter().zip(1..).map(|(k, i)| (k.as_str(), i.to_string())));
            expected.extend([("DUP", "3".to_owned()), ("K0", "again".to_owned())]);
            assert_eq!(read, expected, "{members} members");
            assert_eq!(last_member(obj, "dup").and_then(scalar_text).as_deref(), Some("3"));
            assert_eq!(last_member(obj, "k0").and_then(scalar_text).as_deref(), Some("again"));
            assert!(last_member(obj, "missing").is_none());
        }
    }

    #[test]
    fn escaped_keys_and_values_are_decoded() {
        let r = parse(r#"{"a\"b":"c\nd"}"#).unwrap();
        assert_eq!(flatten(&r), [("a\"b".to_owned(), "c\nd".to_owned())]);
    }

    #[test]
    fn nested_values_flatten_as_json_and_nulls_as_empty() {
        let r = parse(r#"{"x":{"y":[1,2]},"z":null,"w":[[1]]}"#).unwrap();
        assert_eq!(
            flatten(&r),
            [("x.y".to_owned(), "[1,2]".to_owned()), ("z".to_owned(), String::new()), ("w[0]".into(), "[1]".into())]
        );
    }
}
