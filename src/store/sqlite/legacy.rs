//! Reading what version 4 of the main database stored, for migration 5 (`migrations.rs`) only: log entries
//! in the engine's first compact form (postcard, form 1) and users as Graph JSON documents.
//!
//! The types below are frozen copies of that form's layout (postcard is positional: field order and types
//! are the format). Never change them; a new form gets new types.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
#[cfg(test)]
use serde::Serialize;
use time::OffsetDateTime;

use super::super::StoreError;
use crate::provisioning::log::{
    Description, EntryContext, EvaluatedMappings, MappingSet, ModifiedProperty, ProvisionedIdentity,
    ProvisioningAction, ProvisioningErrorInfo, ProvisioningObjectSummary, ProvisioningResult, ProvisioningStep, Shown,
    StepType,
};
use crate::provisioning::pipeline::ACTIVE_OMITTED_NOTE;
use crate::scim::record;

const FORM_1: u8 = 1;

#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
enum Action1 {
    Create,
    Update,
    Disable,
    Other,
    StagedDelete,
}

#[derive(Deserialize, Clone, Copy)]
#[cfg_attr(test, derive(Serialize))]
enum Status1 {
    Success,
    Failure,
    Skipped,
    Warning,
}

#[derive(Deserialize, PartialEq)]
#[cfg_attr(test, derive(Serialize))]
enum Derived1 {
    Nothing,
    Record,
    Mappings,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct Step1 {
    name: String,
    kind: String,
    status: Status1,
    description: String,
    details: Vec<(String, String)>,
    derived: Derived1,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct ErrorInfo1 {
    code: String,
    category: String,
    reason: String,
    recommended_action: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
enum Shown1 {
    Value(String),
    Null,
    Redacted,
    FlowIgnored,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct Entry1 {
    source_id: String,
    source_display_name: String,
    target_id: String,
    target_display_name: String,
    action: Action1,
    status: Status1,
    steps: Vec<Step1>,
    modified: Vec<(String, Option<String>, Option<String>)>,
    error: Option<ErrorInfo1>,
    duration_ms: u64,
    record: Option<String>,
    active_imported_false: bool,
    mapped: Vec<Shown1>,
}

fn status(s: Status1) -> ProvisioningResult {
    match s {
        Status1::Success => ProvisioningResult::Success,
        Status1::Failure => ProvisioningResult::Failure,
        Status1::Skipped => ProvisioningResult::Skipped,
        Status1::Warning => ProvisioningResult::Warning,
    }
}

/// The columns of a version-4 `provisioning_log` row that a form-1 body does not hold.
#[derive(Debug, Clone)]
pub(super) struct Row4 {
    pub(super) id: String,
    pub(super) activity: OffsetDateTime,
    pub(super) cycle_id: String,
    pub(super) change_id: String,
    pub(super) context: Arc<EntryContext>,
}

/// A form-1 body and its row, as today's record. `mapping_set` is the row's mapping set (JSON text of
/// `[[target, expression], …]`), empty when it had none.
pub(super) fn entry_from_form_1(
    row: Row4,
    body: &[u8],
    mapping_set: &str,
) -> Result<ProvisioningObjectSummary, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("log entry {} (stored form 1): {what}", row.id));
    let entry: Entry1 = match body.split_first() {
        Some((&FORM_1, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))?,
        _ => return Err(corrupt("unknown stored form".into())),
    };
    let set: Option<Arc<MappingSet>> = if mapping_set.is_empty() {
        None
    } else {
        Some(Arc::new(MappingSet(serde_json::from_str(mapping_set).map_err(|e| corrupt(e.to_string()))?)))
    };
    let mapped: Vec<Shown> = entry
        .mapped
        .into_iter()
        .map(|s| match s {
            Shown1::Value(v) => Shown::Value(v),
            Shown1::Null => Shown::Null,
            Shown1::Redacted => Shown::Redacted,
            Shown1::FlowIgnored => Shown::FlowIgnored,
        })
        .collect();
    let mut steps = Vec::with_capacity(entry.steps.len());
    for s in entry.steps {
        let step_type = StepType::parse(&s.kind).ok_or_else(|| corrupt(format!("step type '{}'", s.kind)))?;
        let mut details: Vec<(Cow<'static, str>, String)> = Vec::new();
        let mut mappings = None;
        match s.derived {
            Derived1::Nothing => {}
            Derived1::Record => {
                let text = entry.record.as_deref().unwrap_or("null");
                let mut parsed = record::parse(text).map_err(|e| corrupt(e.to_string()))?;
                if entry.active_imported_false
                    && let record::Record::Object(o) = &mut parsed
                {
                    o.insert("active", record::Record::Bool(false));
                }
                details.extend(record::flatten(&parsed).into_iter().map(|(k, v)| (Cow::Owned(k), v)));
                if entry.active_imported_false {
                    details.push((Cow::Borrowed("Note"), ACTIVE_OMITTED_NOTE.to_owned()));
                }
            }
            Derived1::Mappings => {
                if let Some(set) = &set {
                    mappings = Some(EvaluatedMappings { set: Arc::clone(set), values: mapped.clone() });
                }
            }
        }
        details.extend(s.details.into_iter().map(|(k, v)| (Cow::Owned(k), v)));
        steps.push(ProvisioningStep {
            name: Cow::Owned(s.name),
            step_type,
            status: status(s.status),
            description: Description::Text(s.description),
            details,
            mappings,
        });
    }
    Ok(ProvisioningObjectSummary {
        id: row.id,
        activity_date_time: row.activity,
        context: row.context,
        cycle_id: row.cycle_id,
        change_id: row.change_id,
        duration_in_milliseconds: i64::try_from(entry.duration_ms).unwrap_or(i64::MAX),
        action: match entry.action {
            Action1::Create => ProvisioningAction::Create,
            Action1::Update => ProvisioningAction::Update,
            Action1::Disable => ProvisioningAction::Disable,
            Action1::Other => ProvisioningAction::Other,
            Action1::StagedDelete => ProvisioningAction::StagedDelete,
        },
        status: status(entry.status),
        error: entry.error.map(|e| ProvisioningErrorInfo {
            error_code: e.code,
            error_category: e.category,
            reason: e.reason,
            additional_details: None,
            recommended_action: e.recommended_action,
        }),
        source_identity: ProvisionedIdentity::user(entry.source_id, entry.source_display_name),
        target_identity: ProvisionedIdentity::user(entry.target_id, entry.target_display_name),
        steps,
        modified_properties: entry
            .modified
            .into_iter()
            .map(|(display_name, old_value, new_value)| ModifiedProperty { display_name, old_value, new_value })
            .collect(),
    })
}

/// A form-1 body (as version 4 wrote it) for migration tests: a create of `source` whose import step is
/// derived from `record` and whose export step from the row's mapping set (`mapped` values).
#[cfg(test)]
pub(super) fn form_1_body(source: &str, record: &str, mapped: &[&str]) -> Vec<u8> {
    let entry = Entry1 {
        source_id: source.into(),
        source_display_name: "Babs".into(),
        target_id: "u1".into(),
        target_display_name: "Babs".into(),
        action: Action1::Create,
        status: Status1::Success,
        steps: vec![
            Step1 {
                name: "EntryImport".into(),
                kind: "import".into(),
                status: Status1::Success,
                description: format!("Received User '{source}' from API"),
                details: vec![],
                derived: Derived1::Record,
            },
            Step1 {
                name: "EntryExportAdd".into(),
                kind: "export".into(),
                status: Status1::Success,
                description: "User 'b@x' was created in Microsoft Entra ID".into(),
                details: vec![("ReportableIdentifier".into(), "b@x".into())],
                derived: Derived1::Mappings,
            },
        ],
        modified: vec![("displayName".into(), None, Some("Babs".into()))],
        error: Some(ErrorInfo1 {
            code: "E".into(),
            category: "c".into(),
            reason: "r".into(),
            recommended_action: None,
        }),
        duration_ms: 4,
        record: Some(record.into()),
        active_imported_false: true,
        mapped: mapped.iter().map(|v| Shown1::Value((*v).into())).collect(),
    };
    postcard::to_extend(&entry, vec![FORM_1]).unwrap_or_default()
}
