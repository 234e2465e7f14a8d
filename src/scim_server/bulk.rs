//! `/Bulk` (RFC 7644 §3.7): a BulkRequest's POST, PUT, PATCH and DELETE operations run synchronously, in one
//! store write turn, through the same operations as single requests (docs/fidelity.md#s4-bulk).
//!
//! - Operations run in request order. One that references `bulkId:x` — in its `path` or anywhere in its `data`
//!   (a group's `members[].value`, a manager's `value`) — first runs the POST defining `x`, even when that
//!   POST comes later in the request (a forward reference), then gets `x`'s new id substituted.
//! - A reference back to an operation still waiting for its own references is a cycle: every operation on it
//!   fails with 409, and the rest run. A reference to an undefined bulkId is 400 `invalidValue`; to a POST that
//!   failed, 409.
//! - `failOnErrors: n` stops after the n-th failure: the operations not run yet are neither run nor reported.
//! - Each result carries `method`, `bulkId`, `location`, `version` and `status` (a string), and for a failure
//!   the SCIM error as `response`; results are listed in request order.
//! - Limits (`maxOperations`, `maxPayloadSize`) are the HTTP layer's and this module's: more operations than
//!   `maxOperations` is 413 before anything runs.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::error::{ScimError, ScimType};
use super::resource::{etag, location, written_resource};
use super::service::{Failure, Writes};
use crate::scim::record::{Record, distinct_members, last_member, owned};
use crate::store::{ScimKind, StoreError};

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const PREFIX: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// What an operation writes. A POST's or PUT's `data` is checked and normalised as the request is read — its
/// verdict kept for when the operation runs, so errors still come in the order a single request gives them — and
/// `bulkId` references are substituted in the result; a PATCH's stays the PatchOp the client sent.
#[derive(Debug, Clone)]
enum Data {
    Resource(Result<Map<String, Value>, ScimError>),
    PatchOp(Value),
}

/// One operation as the client sent it; `problem` is why it cannot run (reported as its result).
#[derive(Debug, Clone)]
struct Operation {
    method_text: String,
    method: Option<Method>,
    bulk_id: Option<String>,
    path: String,
    data: Option<Data>,
    /// Every `bulkId` the operation refers to, in its path or its `data`.
    references: Vec<String>,
    version: Option<String>,
    problem: Option<ScimError>,
}

/// A checked BulkRequest.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    operations: Vec<Operation>,
    fail_on_errors: Option<usize>,
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidSyntax, detail)
}

impl BulkRequest {
    /// Reads a BulkRequest body (the borrowed tree it parsed into). Request-level problems are errors; an
    /// operation's own problem is kept and becomes its result.
    pub fn parse(body: &Record<'_>, max_operations: usize) -> Result<Self, ScimError> {
        let Some(body) = body.as_object() else {
            return Err(syntax("The body must be a BulkRequest object."));
        };
        let take = |name: &str| last_member(body, name);
        let is_bulk = take("schemas")
            .and_then(Record::as_array)
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(BULK_REQUEST_SCHEMA)));
        if !is_bulk {
            return Err(syntax(format!("The attribute 'schemas' must contain '{BULK_REQUEST_SCHEMA}'.")));
        }
        let Some(ops) = take("Operations").and_then(Record::as_array) else {
            return Err(syntax("'Operations' must be an array."));
        };
        if ops.len() > max_operations {
            return Err(ScimError::too_large(format!(
                "The bulk request has {} operations; maxOperations is {max_operations}.",
                ops.len()
            )));
        }
        let fail_on_errors = match take("failOnErrors") {
            None | Some(Record::Null) => None,
            Some(v) => match v.as_u64().filter(|n| *n >= 1) {
                Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                None => {
                    return Err(ScimError::bad_request(
                        ScimType::InvalidValue,
                        "'failOnErrors' must be an integer of at least 1.",
                    ));
                }
            },
        };
        let mut seen = HashMap::new();
        let operations = ops.iter().enumerate().map(|(i, o)| operation(i, o, &mut seen)).collect();
        Ok(Self { operations, fail_on_errors })
    }
}

fn operation(i: usize, o: &Record<'_>, seen: &mut HashMap<String, usize>) -> Operation {
    let field = |name: &str| o.as_object().and_then(|o| last_member(o, name));
    let text = |name: &str| field(name).and_then(Record::as_str).map(str::to_owned);
    let method_text = text("method").unwrap_or_default();
    let method = match method_text.to_ascii_uppercase().as_str() {
        "POST" => Some(Method::Post),
        "PUT" => Some(Method::Put),
        "PATCH" => Some(Method::Patch),
        "DELETE" => Some(Method::Delete),
        _ => None,
    };
    let (bulk_id, path, version) = (text("bulkId"), text("path").unwrap_or_default(), text("version"));
    let data = field("data").filter(|d| !d.is_null());
    let mut op =
        Operation { method_text, method, bulk_id, path, data: None, references: Vec::new(), version, problem: None };
    op.problem = if !o.is_object() {
        Some(syntax(format!("Operations[{i}] must be an object.")))
    } else if method.is_none() {
        Some(syntax(format!("Operations[{i}].method must be POST, PUT, PATCH or DELETE.")))
    } else if op.path.is_empty() {
        Some(ScimError::bad_request(ScimType::InvalidPath, format!("Operations[{i}].path is required.")))
    } else if method == Some(Method::Post) && op.bulk_id.as_deref().is_none_or(str::is_empty) {
        Some(syntax(format!("Operations[{i}]: a POST needs a bulkId.")))
    } else if method != Some(Method::Delete) && !data.is_some_and(Record::is_object) {
        Some(syntax(format!("Operations[{i}]: a {} needs 'data' (an object).", op.method_text)))
    } else {
        None
    };
    if op.problem.is_none()
        && method == Some(Method::Post)
        && let Some(b) = &op.bulk_id
        && seen.insert(b.clone(), i).is_some()
    {
        op.problem = Some(ScimError::bad_request(
            ScimType::InvalidValue,
            format!("The bulkId '{b}' is used by an earlier operation."),
        ));
    }
    if op.problem.is_none() {
        op.references = references(&op.path, data);
        // A path naming no resource fails before its data is looked at; no data is kept for it.
        op.data = match (method, route(&op.path), data) {
            (Some(Method::Post | Method::Put), Some((kind, _)), Some(d)) => {
                Some(Data::Resource(written_resource(kind, d)))
            }
            (Some(Method::Patch), Some(_), Some(d)) => Some(Data::PatchOp(owned(d))),
            _ => None,
        };
    }
    op
}

/// Every `bulkId:x` in a path's segments and anywhere in `data` (as it is read: a member a later repeat of its
/// name overrides is not), each once.
fn references(path: &str, data: Option<&Record<'_>>) -> Vec<String> {
    fn note(s: &str, out: &mut Vec<String>) {
        if let Some(b) = s.strip_prefix(PREFIX)
            && !out.iter().any(|x| x == b)
        {
            out.push(b.to_owned());
        }
    }
    fn walk(v: &Record<'_>, out: &mut Vec<String>) {
        match v {
            Record::Str(s) => note(s, out),
            Record::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Record::Object(o) => distinct_members(o).for_each(|(_, i)| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for segment in path.split('/') {
        note(segment, &mut out);
    }
    if let Some(d) = data {
        walk(d, &mut out);
    }
    out
}

/// `bulkId:x` replaced by the ids in `ids`, everywhere in `v`.
fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(PREFIX).and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, ids)),
        Value::Object(o) => o.values_mut().for_each(|i| substitute(i, ids)),
        _ => {}
    }
}

/// The resource type and id a path names: `/Users`, `/Groups/{id}`.
fn route(path: &str) -> Option<(ScimKind, Option<&str>)> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let (collection, id) = match path.split_once('/') {
        Some((c, id)) => (c, Some(id)),
        None => (path, None),
    };
    let kind = match collection {
        "Users" => ScimKind::User,
        "Groups" => ScimKind::Group,
        _ => return None,
    };
    match id {
        Some(id) if id.is_empty() || id.contains('/') => None,
        id => Some((kind, id)),
    }
}

/// What a successful operation left: the resource's kind, and its id and version unless it was deleted.
type Outcome = (ScimKind, Option<(String, u64)>);

#[derive(Debug, Clone)]
enum State {
    Pending,
    Running,
    Done(Result<Outcome, ScimError>),
}

/// One BulkRequest's execution.
struct Run<'w> {
    /// The operations; each one's `data` is taken when it runs.
    ops: Vec<Operation>,
    writes: Writes<'w>,
    state: Vec<State>,
    /// bulkId → index of the POST defining it.
    definers: HashMap<String, usize>,
    /// bulkId → the id its POST created.
    ids: HashMap<String, String>,
    stack: Vec<usize>,
    in_cycle: Vec<bool>,
    errors: usize,
    fail_on_errors: Option<usize>,
    /// Execution order, for the response.
    done: Vec<usize>,
}

impl BulkRequest {
    /// Runs the operations; `base` is the dialect's base URL (for `location`).
    pub fn execute(self, writes: Writes<'_>, base: &str) -> Result<Value, StoreError> {
        let definers = self
            .operations
            .iter()
            .enumerate()
            .filter(|(_, o)| o.method == Some(Method::Post) && o.problem.is_none())
            .filter_map(|(i, o)| o.bulk_id.clone().map(|b| (b, i)))
            .collect();
        let n = self.operations.len();
        let mut run = Run {
            ops: self.operations,
            writes,
            state: vec![State::Pending; n],
            definers,
            ids: HashMap::new(),
            stack: Vec::new(),
            in_cycle: vec![false; n],
            errors: 0,
            fail_on_errors: self.fail_on_errors,
            done: Vec::new(),
        };
        for i in 0..n {
            run.run(i)?;
        }
        let mut reported: Vec<usize> = run.done.clone();
        reported.sort_unstable();
        let results: Vec<Value> = reported.iter().map(|&i| run.result(i, base)).collect();
        Ok(json!({"schemas": [BULK_RESPONSE_SCHEMA], "Operations": results}))
    }
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        self.fail_on_errors.is_some_and(|n| self.errors >= n)
    }

    fn finish(&mut self, i: usize, outcome: Result<Outcome, ScimError>) {
        if outcome.is_err() {
            self.errors += 1;
        }
        self.state[i] = State::Done(outcome);
        self.done.push(i);
    }

    /// Runs operation `i` (and first the POSTs it references), unless it ran or the run stopped.
    fn run(&mut self, i: usize) -> Result<(), StoreError> {
        if !matches!(self.state[i], State::Pending) || self.stopped() {
            return Ok(());
        }
        let op = &self.ops[i];
        if let Some(problem) = &op.problem {
            self.finish(i, Err(problem.clone()));
            return Ok(());
        }
        self.state[i] = State::Running;
        self.stack.push(i);
        let mut failure = None;
        // Cloned (no allocation for the usual none): the POSTs they name run first, and need the operations.
        for b in op.references.clone() {
            let Some(&j) = self.definers.get(&b) else {
                failure = Some(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("The bulkId '{b}' is not defined by a POST of this request."),
                ));
                break;
            };
            if matches!(self.state[j], State::Running) {
                // A cycle: every operation from j up the stack to this one is on it.
                if let Some(pos) = self.stack.iter().position(|&k| k == j) {
                    for &k in &self.stack[pos..] {
                        self.in_cycle[k] = true;
                    }
                }
                break;
            }
            self.run(j)?;
            if self.stopped() && matches!(self.state[j], State::Pending | State::Running) {
                break;
            }
            if let State::Done(Err(_)) = &self.state[j] {
                failure = Some(ScimError::new(
                    409,
                    None,
                    format!("The bulkId '{b}' could not be resolved: the operation defining it failed."),
                ));
                break;
            }
        }
        self.stack.pop();
        if self.in_cycle[i] {
            let detail = "Circular bulkId references: the operations referring to each other were not run.";
            self.finish(i, Err(ScimError::new(409, None, detail)));
            return Ok(());
        }
        if let Some(e) = failure {
            self.finish(i, Err(e));
            return Ok(());
        }
        if self.stopped() {
            self.state[i] = State::Pending;
            return Ok(());
        }
        let outcome = self.execute(i)?;
        self.finish(i, outcome);
        Ok(())
    }

    /// Executes one operation whose references are all resolved.
    fn execute(&mut self, i: usize) -> Result<Result<Outcome, ScimError>, StoreError> {
        let data = self.ops[i].data.take();
        let op = &self.ops[i];
        let path: Vec<&str> = op
            .path
            .split('/')
            .map(|seg| seg.strip_prefix(PREFIX).and_then(|b| self.ids.get(b)).map_or(seg, String::as_str))
            .collect();
        let path = path.join("/");
        let Some((kind, id)) = route(&path) else {
            return Ok(Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!("The path '{}' names no resource.", op.path),
            )));
        };
        let ids = if op.references.is_empty() { None } else { Some(&self.ids) };
        let resolved = |attrs: Result<Map<String, Value>, ScimError>| {
            attrs.map(|mut a| {
                if let Some(ids) = ids {
                    a.values_mut().for_each(|v| substitute(v, ids));
                }
                a
            })
        };
        let version = op.version.as_deref();
        let outcome = match (op.method, id, data) {
            (Some(Method::Post), None, Some(Data::Resource(attrs))) => {
                resolved(attrs).map_err(Failure::from).and_then(|a| self.writes.create(kind, a)).map(Some)
            }
            (Some(Method::Put), Some(id), Some(Data::Resource(attrs))) => {
                self.writes.replace(kind, id, resolved(attrs), version).map(Some)
            }
            (Some(Method::Patch), Some(id), Some(Data::PatchOp(mut patch))) => {
                if let Some(ids) = ids {
                    substitute(&mut patch, ids);
                }
                self.writes.patch(kind, id, &patch, version).map(Some)
            }
            (Some(Method::Delete), Some(id), _) => self.writes.delete(kind, id, version).map(|()| None),
            (Some(Method::Post), Some(_), _) => Err(Failure::Scim(ScimError::bad_request(
                ScimType::InvalidPath,
                "A POST's path must be /Users or /Groups.",
            ))),
            _ => Err(Failure::Scim(ScimError::bad_request(
                ScimType::InvalidPath,
                format!("A {} needs the path of one resource, such as /Users/{{id}}.", op.method_text),
            ))),
        };
        match outcome {
            Ok(record) => {
                if let (Some(Method::Post), Some(b), Some(r)) = (op.method, &op.bulk_id, &record) {
                    self.ids.insert(b.clone(), r.id.clone());
                }
                Ok(Ok((kind, record.map(|r| (r.id.clone(), r.version)))))
            }
            Err(Failure::Scim(e)) => Ok(Err(e)),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    /// The BulkResponse entry of operation `i`.
    fn result(&self, i: usize, base: &str) -> Value {
        let op = &self.ops[i];
        let mut out = Map::with_capacity(5);
        let method = match op.method {
            Some(m) => m.as_str(),
            None => op.method_text.as_str(),
        };
        out.insert("method".into(), method.into());
        if let Some(b) = &op.bulk_id {
            out.insert("bulkId".into(), b.clone().into());
        }
        match &self.state[i] {
            State::Done(Ok((kind, record))) => {
                let (status, record) = match (op.method, record) {
                    (Some(Method::Post), Some(r)) => ("201", Some(r)),
                    (_, Some(r)) => ("200", Some(r)),
                    (_, None) => ("204", None),
                };
                if let Some((id, version)) = record {
                    out.insert("location".into(), location(base, *kind, id).into());
                    out.insert("version".into(), etag(*version).into());
                } else if let Some((kind, Some(id))) = route(&op.path) {
                    out.insert("location".into(), location(base, kind, id).into());
                }
                out.insert("status".into(), status.into());
            }
            State::Done(Err(e)) => {
                out.insert("status".into(), e.status.to_string().into());
                out.insert("response".into(), e.body());
            }
            State::Pending | State::Running => {}
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `operation` of a JSON value, through the borrowed tree a request body parses into.
    fn operation_of(i: usize, v: Value, seen: &mut HashMap<String, usize>) -> Operation {
        operation(i, &Record::from(&v), seen)
    }

    fn parse(v: Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
        BulkRequest::parse(&Record::from(&v), max_operations)
    }

    #[test]
    fn references_are_found_in_paths_and_nested_values() {
        let op = operation_of(
            0,
            json!({"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": [{"value": {"members": [{"value": "bulkId:u1"}, {"value": "bulkId:g"}]}}]}}),
            &mut HashMap::new(),
        );
        assert_eq!(op.references, vec!["g".to_owned(), "u1".to_owned()]);
        let mut v = json!({"members": [{"value": "bulkId:u1"}, {"value": "bulkId:u9"}]});
        substitute(&mut v, &HashMap::from([("u1".to_owned(), "id-1".to_owned())]));
        assert_eq!(v, json!({"members": [{"value": "id-1"}, {"value": "bulkId:u9"}]}));
    }

    #[test]
    fn of_members_sharing_a_name_the_last_counts_at_every_level() {
        let text = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":0,
            "FAILONERRORS":2,"operations":"none","Operations":[{"method":"DELETE","Method":"PATCH",
            "path":"/Groups/g1","data":{"Operations":[{"op":"add","value":{"members":[{"value":"bulkId:gone"}],
            "Members":[{"value":"bulkId:u1"}]}}]}}]}"#;
        let request = BulkRequest::parse(&crate::scim::record::parse(text).unwrap(), 10).unwrap();
        assert_eq!(request.fail_on_errors, Some(2));
        let [op] = request.operations.as_slice() else { panic!("one operation expected") };
        assert_eq!((op.method, op.problem.as_ref().map(|p| p.detail.clone())), (Some(Method::Patch), None));
        // The shadowed `members` is neither read nor kept, so its `bulkId:gone` is no reference.
        assert_eq!(op.references, ["u1"]);
        let Some(Data::PatchOp(patch)) = &op.data else { panic!("a PATCH's data expected") };
        assert_eq!(patch["Operations"][0]["value"], json!({"Members": [{"value": "bulkId:u1"}]}));
    }

    #[test]
    fn request_level_problems_and_operation_problems() {
        let ops = |n: usize| json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": vec![json!({"method": "DELETE", "path": "/Users/x"}); n]});
        assert_eq!(parse(ops(3), 2).unwrap_err().status, 413);
        assert!(parse(ops(2), 2).is_ok());
        assert_eq!(parse(json!({"Operations": []}), 2).unwrap_err().scim_type, Some(ScimType::InvalidSyntax));
        let bad_fail = json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []});
        assert_eq!(parse(bad_fail, 2).unwrap_err().scim_type, Some(ScimType::InvalidValue));
        let mut seen = HashMap::new();
        let post = json!({"method": "POST", "path": "/Users", "bulkId": "a", "data": {}});
        assert!(operation_of(0, post.clone(), &mut seen).problem.is_none());
        assert!(operation_of(1, post, &mut seen).problem.unwrap().detail.contains("earlier"));
        assert!(operation_of(2, json!({"method": "POST", "path": "/Users", "data": {}}), &mut seen).problem.is_some());
        assert!(operation_of(3, json!({"method": "GET", "path": "/Users"}), &mut seen).problem.is_some());
        assert!(operation_of(4, json!({"method": "PUT", "path": "/Users/x"}), &mut seen).problem.is_some());
    }

    #[test]
    fn routes() {
        assert_eq!(route("/Users"), Some((ScimKind::User, None)));
        assert_eq!(route("/Groups/abc"), Some((ScimKind::Group, Some("abc"))));
        assert_eq!(route("/Groups/a/b"), None);
        assert_eq!(route("/Other"), None);
    }
}
