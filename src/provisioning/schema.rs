//! The job's `synchronizationSchema` (Graph shape, docs/fidelity.md B.3) and its compiled form: every mapping's
//! expression parsed once, the matching mapping chosen, the scoping filter ready to evaluate.
//!
//! The schema is kept as JSON for a faithful GET/PUT round trip; only the parts the engine needs are read
//! through the typed views below (unknown properties are ignored, as Graph does).

use serde::Deserialize;
use serde_json::Value;

use super::scoping::{CompiledFilter, compile_filter};
use crate::expr::{self, Expr};

/// The default schema of the API2AAD template (docs/fidelity.md A.4).
pub const API2AAD_SCHEMA: &str = include_str!("../../config/mappings/API2AAD.json");

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaView {
    #[serde(default)]
    synchronization_rules: Vec<RuleView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleView {
    #[serde(default)]
    object_mappings: Vec<ObjectMappingView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectMappingView {
    #[serde(default)]
    name: String,
    #[serde(default = "enabled")]
    enabled: bool,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    attribute_mappings: Vec<AttributeMappingView>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttributeMappingView {
    target_attribute_name: String,
    source: Option<MappingSource>,
    #[serde(default)]
    matching_priority: i32,
    #[serde(default)]
    flow_type: FlowType,
    #[serde(default)]
    default_value: Option<String>,
}

/// Graph's `attributeMappingSource`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingSource {
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub parameters: Vec<MappingParameter>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MappingParameter {
    #[serde(default)]
    pub key: String,
    pub value: MappingSource,
}

impl MappingSource {
    /// The source as expression text: its `expression`, or rebuilt from `type`/`name`/`parameters`.
    pub fn expression_text(&self) -> String {
        if let Some(e) = self.expression.as_deref().filter(|e| !e.trim().is_empty()) {
            return e.to_owned();
        }
        let name = self.name.clone().unwrap_or_default();
        match self.kind.as_deref() {
            Some("Constant") => format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\"")),
            Some("Function") => {
                let args: Vec<String> = self.parameters.iter().map(|p| p.value.expression_text()).collect();
                format!("{name}({})", args.join(", "))
            }
            _ => format!("[{name}]"),
        }
    }
}

/// `flowType` of an attribute mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum FlowType {
    #[default]
    Always,
    ObjectAddOnly,
    MultiValueAddOnly,
    ValueAddOnly,
    AttributeAddOnly,
}

/// One mapping, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    pub target: String,
    pub expression: String,
    pub expr: Expr,
    pub flow_type: FlowType,
    pub default_value: Option<String>,
}

/// The engine's view of a job's schema.
#[derive(Debug, Clone)]
pub struct CompiledSchema {
    pub object_mapping_name: String,
    pub mappings: Vec<CompiledMapping>,
    /// Index into `mappings` of the matching mapping (lowest `matchingPriority > 0`).
    pub matching: usize,
    pub scope: Option<CompiledFilter>,
    /// `(target, expression)` per mapping: what log entries name their evaluated mappings by.
    pub mapping_set: std::sync::Arc<crate::provisioning::log::MappingSet>,
}

/// Why a schema cannot be used; `position` is the byte offset inside `expression` when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SchemaError {
    pub message: String,
    pub target: String,
    pub position: Option<usize>,
}

fn schema_error(message: impl Into<String>, target: impl Into<String>) -> SchemaError {
    SchemaError { message: message.into(), target: target.into(), position: None }
}

/// Compile the first enabled object mapping of `schema`.
pub fn compile(schema: &Value) -> Result<CompiledSchema, SchemaError> {
    let view: SchemaView =
        serde_json::from_value(schema.clone()).map_err(|e| schema_error(format!("Invalid schema: {e}"), "schema"))?;
    let object = view
        .synchronization_rules
        .into_iter()
        .flat_map(|r| r.object_mappings)
        .find(|o| o.enabled)
        .ok_or_else(|| schema_error("The schema has no enabled object mapping.", "synchronizationRules"))?;
    let mut mappings = Vec::with_capacity(object.attribute_mappings.len());
    for (i, m) in object.attribute_mappings.into_iter().enumerate() {
        let at = format!("objectMappings.attributeMappings[{i}] ({})", m.target_attribute_name);
        if m.target_attribute_name.eq_ignore_ascii_case("passwordProfile")
            || m.target_attribute_name.starts_with("passwordProfile.")
        {
            return Err(schema_error(
                "Mapping 'passwordProfile' is not supported: the provisioning service sets a random password and cannot provision passwords.",
                at,
            ));
        }
        let source = m.source.ok_or_else(|| schema_error("The mapping has no source.", at.clone()))?;
        let expression = source.expression_text();
        let expr = expr::parse(&expression).map_err(|e| SchemaError {
            message: format!(
                "The expression for '{}' is invalid: {} (position {}): {expression}",
                m.target_attribute_name, e.message, e.span.start
            ),
            target: at.clone(),
            position: Some(e.span.start),
        })?;
        mappings.push((
            m.matching_priority,
            CompiledMapping {
                target: m.target_attribute_name,
                expression,
                expr,
                flow_type: m.flow_type,
                default_value: m.default_value.filter(|d| !d.is_empty()),
            },
        ));
    }
    let matching = mappings
        .iter()
        .enumerate()
        .filter(|(_, (p, _))| *p > 0)
        .min_by_key(|(_, (p, _))| *p)
        .map(|(i, _)| i)
        .ok_or_else(|| schema_error("No attribute mapping has a matchingPriority above 0.", "attributeMappings"))?;
    let scope = match object.scope {
        Some(Value::Null) | None => None,
        Some(filter) => compile_filter(&filter)?,
    };
    let mappings: Vec<CompiledMapping> = mappings.into_iter().map(|(_, m)| m).collect();
    let pairs = mappings.iter().map(|m| (m.target.clone(), m.expression.clone())).collect();
    let mapping_set = std::sync::Arc::new(crate::provisioning::log::MappingSet(pairs));
    Ok(CompiledSchema { object_mapping_name: object.name, mappings, matching, scope, mapping_set })
}

/// The template default schema for a job template id.
pub fn default_schema(template_id: &str) -> Value {
    let mut schema: Value = serde_json::from_str(API2AAD_SCHEMA).unwrap_or(Value::Null);
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("id".into(), Value::String(template_id.to_owned()));
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schema_compiles_with_employee_id_matching() {
        let c = compile(&default_schema("API2AAD")).unwrap();
        assert_eq!(c.mappings[c.matching].target, "employeeId");
        assert_eq!(c.mappings.len(), 23);
        let nick = c.mappings.iter().find(|m| m.target == "mailNickname").unwrap();
        assert_eq!(nick.flow_type, FlowType::ObjectAddOnly);
        assert!(c.scope.is_none());
    }

    #[test]
    fn invalid_expressions_and_password_mappings_are_refused() {
        let mut s = default_schema("API2AAD");
        let m = &mut s["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][6];
        m["source"]["expression"] = Value::String("Join(\",\", [a]".into());
        let e = compile(&s).unwrap_err();
        assert!(e.position.is_some(), "{e:?}");
        assert!(e.message.contains("position"), "{e}");

        let mut s = default_schema("API2AAD");
        s["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"][0]["targetAttributeName"] =
            Value::String("passwordProfile".into());
        assert!(compile(&s).unwrap_err().message.contains("passwordProfile"));
    }

    #[test]
    fn sources_without_expression_are_rebuilt() {
        let src: MappingSource = serde_json::from_value(serde_json::json!({
            "type": "Function", "name": "Join",
            "parameters": [
                {"key": "separator", "value": {"type": "Constant", "name": " "}},
                {"key": "source", "value": {"type": "Attribute", "name": "givenName"}}
            ]
        }))
        .unwrap();
        assert_eq!(src.expression_text(), "Join(\" \", [givenName])");
    }
}
