//! One `provisioningObjectSummary` as the engine assembles it (spec A.2 last bullet, Part B §2.1 and §2.4):
//! steps in the order import → scoping → matching → export → referenceResolution, `modifiedProperties` old/new in
//! the sync engine's string form, `errorInformation` on failures.
//!
//! Design decision (throughput, issue 3): an [`Entry`] is also the stored form. The worker encodes it with
//! postcard (no JSON escaping, no field names) and leaves out what can be derived: the import step's details
//! come from the record as received ([`Derived::Record`]), and the export step's per-mapping details from the
//! job's mapping set, stored once per distinct set, plus each mapping's [`Shown`] value
//! ([`Derived::Mappings`]). `log_render` turns a stored entry back into the v1.0 resource.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SOURCE_SYSTEM: &str = "API";
pub const TARGET_SYSTEM: &str = "Microsoft Entra ID";

/// Version of [`Entry`]'s stored form.
const STORED_FORM: u8 = 1;

/// `provisioningAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Create,
    Update,
    Disable,
    Other,
    StagedDelete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Disable => "disable",
            Action::Other => "other",
            Action::StagedDelete => "stagedDelete",
        }
    }
}

/// `provisioningResult` of an entry or step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Success,
    Failure,
    Skipped,
    Warning,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failure => "failure",
            Status::Skipped => "skipped",
            Status::Warning => "warning",
        }
    }
}

/// Details a step gets when it is rendered, after (import: before) its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Derived {
    #[default]
    Nothing,
    /// The received record, flattened (`name.givenName`, `emails[type eq "work"].value`, …).
    Record,
    /// One `target → "expression = value"` detail per evaluated mapping.
    Mappings,
}

/// One `provisioningStep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    pub status: Status,
    pub description: String,
    pub details: Vec<(String, String)>,
    pub derived: Derived,
}

impl Step {
    pub fn new(name: &'static str, kind: &'static str, status: Status, description: impl Into<String>) -> Self {
        Self {
            name: Cow::Borrowed(name),
            kind: Cow::Borrowed(kind),
            status,
            description: description.into(),
            details: Vec::new(),
            derived: Derived::Nothing,
        }
    }

    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.push((key.into(), value.into()));
        self
    }
}

/// `provisioningErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub code: String,
    pub category: Cow<'static, str>,
    pub reason: String,
    pub recommended_action: Option<String>,
}

/// What one mapping evaluated to, as the export step shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shown {
    Value(String),
    Null,
    /// The expression is wrapped in `Redact`: the value is never shown or stored.
    Redacted,
    /// `IgnoreFlowIfNullOrEmpty` held: the attribute does not flow.
    FlowIgnored,
}

impl Shown {
    /// The export step's detail for a mapping with this expression.
    pub(super) fn detail(&self, expression: &str) -> String {
        match self {
            Shown::Value(v) => format!("{expression} = \"{v}\""),
            Shown::Null => format!("{expression} = (null)"),
            Shown::Redacted => format!("{expression} = [Redact]"),
            Shown::FlowIgnored => format!("{expression} = (flow ignored)"),
        }
    }
}

/// An entry being assembled while its operation is processed; also its stored form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub source_id: String,
    pub source_display_name: String,
    pub target_id: String,
    pub target_display_name: String,
    pub action: Action,
    pub status: Status,
    pub steps: Vec<Step>,
    pub modified: Vec<(String, Option<String>, Option<String>)>,
    pub error: Option<ErrorInfo>,
    pub duration_ms: u64,
    /// The record as received (JSON text), for the import step's details.
    pub record: Option<String>,
    /// `active` was omitted and imported as False.
    pub active_imported_false: bool,
    /// Each mapping's value in mapping-set order, for the export step's details.
    pub mapped: Vec<Shown>,
}

impl Entry {
    pub fn new(source_id: &str, source_display_name: &str) -> Self {
        Self {
            source_id: source_id.to_owned(),
            source_display_name: source_display_name.to_owned(),
            target_id: String::new(),
            target_display_name: String::new(),
            action: Action::Other,
            status: Status::Success,
            steps: Vec::with_capacity(5),
            modified: Vec::new(),
            error: None,
            duration_ms: 0,
            record: None,
            active_imported_false: false,
            mapped: Vec::new(),
        }
    }

    /// End the entry as skipped (action `other`) with an `EntrySynchronizationSkip` export step.
    pub fn skip(&mut self, description: String, reason: &str) {
        self.action = Action::Other;
        self.status = Status::Skipped;
        self.steps.push(
            Step::new("EntrySynchronizationSkip", "export", Status::Skipped, description).detail("SkipReason", reason),
        );
    }

    /// Mark the entry failed with `error`.
    pub fn fail(&mut self, error: ErrorInfo) {
        self.status = Status::Failure;
        self.error = Some(error);
    }

    /// The stored form: a version byte, then the entry in postcard (positional: a change to these types is a
    /// new [`STORED_FORM`] that [`Entry::decode`] must still read the old one of).
    pub fn encode(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_extend(self, vec![STORED_FORM])
    }

    /// Back from the stored form.
    pub fn decode(bytes: &[u8]) -> Result<Self, postcard::Error> {
        match bytes.split_first() {
            Some((&STORED_FORM, rest)) => postcard::from_bytes(rest),
            _ => Err(postcard::Error::DeserializeBadEncoding),
        }
    }
}

/// The spec A.2 quirk applied to a received record: an omitted (or null) `active` is imported as False.
pub fn import_active_as_false(record: &mut Value) {
    if let Some(obj) = record.as_object_mut() {
        obj.insert("active".into(), Value::Bool(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_round_trips_and_rejects_garbage() {
        let mut e = Entry::new("1", "A");
        e.fail(ErrorInfo {
            code: "C".into(),
            category: "nonServiceFailure".into(),
            reason: "r".into(),
            recommended_action: None,
        });
        e.steps.push(Step::new("EntryImport", "import", Status::Success, "x").detail("k", "v"));
        let mut stored = e.encode().unwrap();
        assert_eq!(Entry::decode(&stored).unwrap(), e);
        assert!(Entry::decode(&[0xff, 0xff, 0xff]).is_err());
        assert!(Entry::decode(&[]).is_err());
        stored[0] = STORED_FORM + 1;
        assert!(Entry::decode(&stored).is_err(), "an unknown stored form is refused");
    }
}
