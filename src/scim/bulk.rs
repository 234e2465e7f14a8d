//! Validation of a bulkUpload `BulkRequest` body (docs/fidelity.md A.1 rows "body not JSON" to "bad operation").
//!
//! The whole request is refused when any rule fails, and every violation is reported with a JSON-path
//! `target` (for operations: index and bulkId) so a client can fix all of them in one round trip.
//! Accepted quietly, as the real service does: duplicate `bulkId`s, `"failOnErrors": null`, a `data.id`,
//! custom schema namespaces. serde_json's recursion limit (128) bounds nesting.
//!
//! The body is parsed into a borrowed tree (`crate::scim::record`), not `serde_json::Value`: ingest parses
//! every operation of every request, and the borrowed tree is about ten times faster to build. Each
//! operation's `data` is kept as compact JSON text, which the engine parses again when it prepares it.

use crate::scim::record::{BodyError, Record as Value, parse_body};

pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const CORE_USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Graph documents at most 50 operations per request.
pub const MAX_OPERATIONS: usize = 50;

/// One operation accepted for staging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOperation {
    pub bulk_id: String,
    pub external_id: String,
    /// The SCIM user (`data`) as compact JSON text, kept whole: the worker maps it later.
    pub data: String,
}

/// One reason the request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
    pub target: String,
}

fn violation(code: &'static str, message: impl Into<String>, target: impl Into<String>) -> Violation {
    Violation { code, message: message.into(), target: target.into() }
}

/// Parse and validate a BulkRequest body.
pub fn parse_bulk_request(body: &[u8]) -> Result<Vec<BulkOperation>, Vec<Violation>> {
    let root = parse_body(body).map_err(|e| {
        let (code, target) = match &e {
            BodyError::NotUtf8 { .. } => ("InvalidEncoding", "$".to_owned()),
            BodyError::NotJson(json) => ("InvalidJson", format!("$ (line {}, column {})", json.line(), json.column())),
        };
        vec![violation(code, e.to_string(), target)]
    })?;
    let Value::Object(root) = root else {
        return Err(vec![violation("InvalidValue", "The request body must be a JSON object.", "$")]);
    };

    let mut problems = Vec::new();
    match root.get("schemas") {
        Some(Value::Array(s)) if s.iter().any(|u| u.as_str() == Some(BULK_REQUEST_URN)) => {}
        Some(_) => problems.push(violation(
            "InvalidValue",
            format!("'schemas' must contain '{BULK_REQUEST_URN}'."),
            "$.schemas",
        )),
        None => problems.push(violation("MissingValue", "'schemas' is required.", "$.schemas")),
    }
    let ops = match root.get("Operations") {
        Some(Value::Array(ops)) if ops.is_empty() => {
            problems.push(violation("InvalidValue", "'Operations' must not be empty.", "$.Operations"));
            return Err(problems);
        }
        Some(Value::Array(ops)) => ops,
        Some(_) => {
            problems.push(violation("InvalidValue", "'Operations' must be an array.", "$.Operations"));
            return Err(problems);
        }
        None => {
            problems.push(violation("MissingValue", "'Operations' is required.", "$.Operations"));
            return Err(problems);
        }
    };
    if ops.len() > MAX_OPERATIONS {
        problems.push(violation(
            "TooManyOperations",
            format!("The request has {} operations; at most {MAX_OPERATIONS} are allowed per request.", ops.len()),
            "$.Operations",
        ));
        return Err(problems);
    }

    let mut accepted = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        match check_operation(i, op) {
            Ok(op) => accepted.push(op),
            Err(mut v) => problems.append(&mut v),
        }
    }
    if problems.is_empty() { Ok(accepted) } else { Err(problems) }
}

fn check_operation(i: usize, op: &Value<'_>) -> Result<BulkOperation, Vec<Violation>> {
    let Value::Object(op) = op else {
        return Err(vec![violation(
            "InvalidValue",
            format!("Operation {i} must be a JSON object."),
            format!("$.Operations[{i}]"),
        )]);
    };
    let bulk_id = op.get("bulkId").and_then(Value::as_str).filter(|b| !b.is_empty());
    let who = match bulk_id {
        Some(b) => format!("Operation {i} (bulkId '{b}')"),
        None => format!("Operation {i}"),
    };
    let at = |field: &str| format!("$.Operations[{i}].{field}");
    let mut problems = Vec::new();

    match op.get("method").and_then(Value::as_str) {
        Some(m) if m.eq_ignore_ascii_case("POST") => {}
        Some(m) => problems.push(violation(
            "InvalidValue",
            format!("{who}: method '{m}' is not supported; it must be 'POST'."),
            at("method"),
        )),
        None => problems.push(violation("MissingValue", format!("{who}: 'method' is required."), at("method"))),
    }
    match op.get("path").and_then(Value::as_str) {
        Some("/Users") => {}
        Some(p) => problems.push(violation(
            "InvalidValue",
            format!("{who}: path '{p}' is not supported; it must be '/Users'."),
            at("path"),
        )),
        None => problems.push(violation("MissingValue", format!("{who}: 'path' is required."), at("path"))),
    }
    if bulk_id.is_none() {
        problems.push(violation("MissingValue", format!("{who}: 'bulkId' is required."), at("bulkId")));
    }
    let external_id = match op.get("data") {
        Some(Value::Object(data)) => {
            match data.get("schemas") {
                Some(Value::Array(s)) if s.iter().any(|u| u.as_str() == Some(CORE_USER_URN)) => {}
                _ => problems.push(violation(
                    "InvalidValue",
                    format!("{who}: 'data.schemas' must contain '{CORE_USER_URN}'."),
                    at("data.schemas"),
                )),
            }
            match data.get("externalId") {
                Some(Value::Str(e)) if !e.trim().is_empty() => Some(e.to_string()),
                _ => {
                    problems.push(violation(
                        "MissingValue",
                        format!("{who}: 'data.externalId' is required and must be a non-empty string."),
                        at("data.externalId"),
                    ));
                    None
                }
            }
        }
        _ => {
            problems.push(violation(
                "MissingValue",
                format!("{who}: 'data' is required and must be an object."),
                at("data"),
            ));
            None
        }
    };
    match (problems.is_empty(), bulk_id, external_id, op.get("data")) {
        (true, Some(b), Some(e), Some(data)) => Ok(BulkOperation {
            bulk_id: b.to_owned(),
            external_id: e,
            // Printing a parsed tree cannot fail.
            data: serde_json::to_string(data).unwrap_or_default(),
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn op(extra: Value) -> Value {
        let mut base = json!({
            "method": "POST", "bulkId": "1", "path": "/Users",
            "data": {"schemas": [CORE_USER_URN], "externalId": "701984", "userName": "a@b"}
        });
        if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
            for (k, v) in e {
                b.insert(k, v);
            }
        }
        base
    }

    fn request(ops: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({"schemas": [BULK_REQUEST_URN], "Operations": ops, "failOnErrors": null})).unwrap()
    }

    fn targets(r: Result<Vec<BulkOperation>, Vec<Violation>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|v| v.target).collect()
    }

    #[test]
    fn accepts_duplicate_bulk_ids_and_custom_namespaces() {
        let mut second = op(json!({}));
        second["data"]["schemas"] = json!([CORE_USER_URN, "urn:contoso:employee"]);
        second["data"]["urn:contoso:employee"] = json!({"HireDate": "2021-05-01"});
        second["data"]["id"] = json!("ignored");
        let ops = parse_bulk_request(&request(vec![op(json!({})), second])).unwrap();
        assert_eq!(ops.len(), 2);
        let data: serde_json::Value = serde_json::from_str(&ops[1].data).unwrap();
        assert_eq!(data["urn:contoso:employee"]["HireDate"], "2021-05-01");
    }

    #[test]
    fn escaped_and_raw_utf8_are_equal() {
        let raw = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","bulkId":"1","path":"/Users","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"x","displayName":"Zoë"}}]}"#;
        let escaped = raw.replace("Zoë", "Zo\\u00eb");
        assert_eq!(parse_bulk_request(raw.as_bytes()).unwrap(), parse_bulk_request(escaped.as_bytes()).unwrap());
    }

    #[test]
    fn root_violations_have_json_path_targets() {
        assert_eq!(targets(parse_bulk_request(b"{\"Operations\":[1]}")), vec!["$.schemas", "$.Operations[0]"]);
        assert_eq!(
            targets(parse_bulk_request(br#"{"schemas":["x"],"Operations":[]}"#)),
            vec!["$.schemas", "$.Operations"]
        );
        assert_eq!(targets(parse_bulk_request(b"[]")), vec!["$"]);
        let bad = parse_bulk_request(b"{\n \"a\": }").unwrap_err();
        assert!(bad[0].target.contains("line 2"), "{bad:?}");
        let not_utf8 = parse_bulk_request(b"{\"a\":\"\xff\"}").unwrap_err();
        assert_eq!(not_utf8[0].code, "InvalidEncoding");
    }

    #[test]
    fn more_than_fifty_operations_is_refused_with_the_count() {
        let v = parse_bulk_request(&request(vec![op(json!({})); 51])).unwrap_err();
        assert_eq!(v[0].code, "TooManyOperations");
        assert!(v[0].message.contains("51"));
        assert!(parse_bulk_request(&request(vec![op(json!({})); 50])).is_ok());
    }

    #[test]
    fn every_bad_operation_is_named_by_index_and_bulk_id() {
        let ops = vec![
            op(json!({"method": "DELETE"})),
            op(json!({"path": "/Groups", "bulkId": "b2"})),
            op(json!({"bulkId": ""})),
            op(json!({"data": "x"})),
            op(json!({"data": {"schemas": ["urn:x"], "externalId": "1"}})),
            op(json!({"data": {"schemas": [CORE_USER_URN]}})),
            op(json!({})),
        ];
        let v = parse_bulk_request(&request(ops)).unwrap_err();
        let t: Vec<_> = v.iter().map(|v| v.target.as_str()).collect();
        assert_eq!(
            t,
            vec![
                "$.Operations[0].method",
                "$.Operations[1].path",
                "$.Operations[2].bulkId",
                "$.Operations[3].data",
                "$.Operations[4].data.schemas",
                "$.Operations[5].data.externalId",
            ]
        );
        assert!(v[1].message.contains("bulkId 'b2'"));
    }
}
