//! How `entra-inbound upload` turns one HR record into the `data` of a SCIM bulk operation: a mapping tree
//! shaped like the SCIM user, read from TOML (here), from CSV2SCIM's `AttributeMapping.psd1` ([`super::psd1`]),
//! or the default columns ([`Mapping::default_columns`]).
//!
//! TOML form: a string names a column; `{ value = … }` is a constant; `{ column = "C", equals = "V" }` is a
//! boolean (true when column C holds V, compared case-insensitively like PowerShell's `-eq`); a table under a
//! complex attribute (`name`, `manager`, an element of `emails` …) or named by an extension URN holds
//! sub-attributes; an array makes a multi-valued attribute. Whether a table is a constant or sub-attributes is
//! decided by the SCIM schema (RFC 7643's complex attributes), because `manager = { value = "ManagerID" }` is
//! the manager's `value` sub-attribute while `type = { value = "work" }` is a constant.
//!
//! Design decisions: an empty cell is an absent attribute (never an empty string); a complex value or array
//! element that receives no record data (only constants) is left out; text for `active` and `primary` that
//! reads `true`/`false` becomes a JSON boolean; `schemas` lists the core and enterprise User schemas plus every
//! other extension URN present, as CSV2SCIM does.

use serde_json::{Map, Value};

use super::source::Record;

pub const CORE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// RFC 7643 complex attributes of the core User and the enterprise extension (`manager`).
const COMPLEX: &[&str] = &[
    "name",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "manager",
];
/// Boolean attributes whose text values `true`/`false` are sent as JSON booleans.
const BOOLEAN: &[&str] = &["active", "primary"];

/// One node of the mapping tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// The text of a column.
    Column(String),
    /// The first of these columns that has a value (the default mapping's `externalId`/`employeeId`).
    FirstColumn(Vec<String>),
    /// A constant value.
    Constant(Value),
    /// True when the column holds the value (case-insensitive), else false.
    Equals { column: String, equals: String },
    /// Sub-attributes, in mapping order.
    Object(Vec<(String, Node)>),
    /// A multi-valued attribute.
    List(Vec<Node>),
}

/// A whole mapping: the user's top-level attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub attributes: Vec<(String, Node)>,
    /// Columns may be absent from the file (the default mapping); else a column the file lacks is an error.
    pub optional_columns: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

fn is_complex(key: &str) -> bool {
    key.starts_with("urn:") || COMPLEX.iter().any(|c| c.eq_ignore_ascii_case(key))
}

impl Mapping {
    /// The default columns (matched case-insensitively): `externalId` (or `employeeId`), `userName`,
    /// `givenName`, `familyName`, `displayName`, `email`, `department`, `title`, `managerId`, `active`.
    pub fn default_columns() -> Self {
        let col = |c: &str| Node::Column(c.to_owned());
        let attr = |k: &str, n: Node| (k.to_owned(), n);
        Mapping {
            attributes: vec![
                attr("externalId", Node::FirstColumn(vec!["externalId".into(), "employeeId".into()])),
                attr("userName", col("userName")),
                attr("displayName", col("displayName")),
                attr(
                    "name",
                    Node::Object(vec![attr("givenName", col("givenName")), attr("familyName", col("familyName"))]),
                ),
                attr(
                    "emails",
                    Node::List(vec![Node::Object(vec![
                        attr("value", col("email")),
                        attr("type", Node::Constant("work".into())),
                        attr("primary", Node::Constant(true.into())),
                    ])]),
                ),
                attr("title", col("title")),
                attr("active", col("active")),
                attr(
                    ENTERPRISE_SCHEMA,
                    Node::Object(vec![
                        attr("department", col("department")),
                        attr("manager", Node::Object(vec![attr("value", col("managerId"))])),
                    ]),
                ),
            ],
            optional_columns: true,
        }
    }

    /// A mapping file in the TOML form described in the module documentation.
    pub fn from_toml(text: &str) -> Result<Self, MappingError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| MappingError(e.to_string()))?;
        let attributes = table
            .iter()
            .map(|(k, v)| Ok((k.clone(), toml_node(k, k, v, true)?)))
            .collect::<Result<Vec<_>, MappingError>>()?;
        if attributes.is_empty() {
            return Err(MappingError("the mapping is empty: map at least externalId".into()));
        }
        Ok(Mapping { attributes, optional_columns: false })
    }

    /// Every column the mapping reads, once each, in mapping order.
    pub fn columns(&self) -> Vec<&str> {
        fn walk<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
            match node {
                Node::Column(c) | Node::Equals { column: c, .. } => out.push(c),
                Node::FirstColumn(cs) => out.extend(cs.iter().map(String::as_str)),
                Node::Constant(_) => {}
                Node::Object(members) => members.iter().for_each(|(_, n)| walk(n, out)),
                Node::List(items) => items.iter().for_each(|n| walk(n, out)),
            }
        }
        let mut out = Vec::new();
        self.attributes.iter().for_each(|(_, n)| walk(n, &mut out));
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(c.to_ascii_lowercase()));
        out
    }

    /// The SCIM user for `record`.
    pub fn user(&self, record: &Record) -> Value {
        let mut schemas = vec![Value::from(CORE_SCHEMA), Value::from(ENTERPRISE_SCHEMA)];
        let mut user = Map::new();
        for (key, node) in &self.attributes {
            if let Some((value, _)) = eval(node, key, record) {
                if key.starts_with("urn:") && !schemas.iter().any(|s| s.as_str() == Some(key.as_str())) {
                    schemas.push(key.as_str().into());
                }
                user.insert(key.clone(), value);
            }
        }
        let mut out = Map::new();
        out.insert("schemas".into(), Value::Array(schemas));
        out.extend(user);
        Value::Object(out)
    }
}

/// A node and whether it carries record data (a constant alone does not).
fn eval(node: &Node, key: &str, record: &Record) -> Option<(Value, bool)> {
    match node {
        Node::Column(c) => record.get(c).map(|text| (typed(key, text), true)),
        Node::FirstColumn(cs) => cs.iter().find_map(|c| record.get(c)).map(|text| (typed(key, text), true)),
        Node::Constant(v) => Some((v.clone(), false)),
        Node::Equals { column, equals } => {
            Some((Value::Bool(record.get(column).is_some_and(|v| v.eq_ignore_ascii_case(equals))), true))
        }
        Node::Object(members) => {
            let mut map = Map::new();
            let mut data = false;
            for (k, n) in members {
                if let Some((v, d)) = eval(n, k, record) {
                    map.insert(k.clone(), v);
                    data |= d;
                }
            }
            data.then_some((Value::Object(map), true))
        }
        Node::List(items) => {
            let mut values = Vec::new();
            let mut data = false;
            for (v, d) in items.iter().filter_map(|item| eval(item, key, record)) {
                values.push(v);
                data |= d;
            }
            (!values.is_empty()).then_some((Value::Array(values), data))
        }
    }
}

/// Cell text as the attribute's JSON value.
fn typed(key: &str, text: &str) -> Value {
    if BOOLEAN.iter().any(|b| b.eq_ignore_ascii_case(key)) {
        if text.eq_ignore_ascii_case("true") {
            return Value::Bool(true);
        }
        if text.eq_ignore_ascii_case("false") {
            return Value::Bool(false);
        }
    }
    Value::String(text.to_owned())
}

/// `path` names the value for messages; `top` = a top-level or extension attribute (arrays allowed).
fn toml_node(path: &str, key: &str, value: &toml::Value, top: bool) -> Result<Node, MappingError> {
    match value {
        toml::Value::String(column) => Ok(Node::Column(column.clone())),
        toml::Value::Table(t) if is_complex(key) => {
            let urn = key.starts_with("urn:");
            let members = t
                .iter()
                .map(|(k, v)| Ok((k.clone(), toml_node(&format!("{path}.{k}"), k, v, urn)?)))
                .collect::<Result<Vec<_>, MappingError>>()?;
            Ok(Node::Object(members))
        }
        toml::Value::Table(t) => scalar_table(path, t),
        toml::Value::Array(items) if top => {
            let element = |(i, v): (usize, &toml::Value)| {
                let at = format!("{path}[{i}]");
                match v {
                    toml::Value::Table(t) if is_complex(key) => {
                        let members = t
                            .iter()
                            .map(|(k, v)| Ok((k.clone(), toml_node(&format!("{at}.{k}"), k, v, false)?)))
                            .collect::<Result<Vec<_>, MappingError>>()?;
                        Ok(Node::Object(members))
                    }
                    toml::Value::Array(_) => Err(MappingError(format!("{at}: arrays do not nest"))),
                    other => toml_node(&at, key, other, false),
                }
            };
            Ok(Node::List(items.iter().enumerate().map(element).collect::<Result<_, _>>()?))
        }
        toml::Value::Array(_) => {
            Err(MappingError(format!("{path}: an array is allowed only for an attribute, not inside one")))
        }
        other => Err(MappingError(format!(
            "{path}: {} is neither a column name (a string) nor a table; write a constant as {{ value = {} }}",
            other.type_str(),
            toml_literal(other)
        ))),
    }
}

/// `{ value = … }` or `{ column = …, equals = … }`.
fn scalar_table(path: &str, t: &toml::Table) -> Result<Node, MappingError> {
    let keys: Vec<&str> = t.keys().map(String::as_str).collect();
    match (keys.as_slice(), t.get("value"), t.get("column"), t.get("equals")) {
        (["value"], Some(v), _, _) => Ok(Node::Constant(toml_constant(path, v)?)),
        (_, _, Some(toml::Value::String(column)), Some(toml::Value::String(equals))) if keys.len() == 2 => {
            Ok(Node::Equals { column: column.clone(), equals: equals.clone() })
        }
        _ => Err(MappingError(format!(
            "{path}: this attribute takes a column name, {{ value = … }} (a constant) or {{ column = \"…\", equals = \"…\" }} (a boolean), not a table with {}",
            if keys.is_empty() { "no keys".to_owned() } else { keys.join(", ") }
        ))),
    }
}

/// A scalar as TOML spells it, for messages.
fn toml_literal(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) | toml::Value::Table(_) => "…".to_owned(),
    }
}

fn toml_constant(path: &str, v: &toml::Value) -> Result<Value, MappingError> {
    match v {
        toml::Value::String(s) => Ok(Value::String(s.clone())),
        toml::Value::Boolean(b) => Ok(Value::Bool(*b)),
        toml::Value::Integer(i) => Ok(Value::from(*i)),
        other => Err(MappingError(format!(
            "{path}: a constant is a string, a boolean or an integer, not {}",
            other.type_str()
        ))),
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
