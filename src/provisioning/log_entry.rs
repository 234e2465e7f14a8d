//! One `provisioningObjectSummary` (spec A.2 last bullet, Part B §2.1 and §2.4): steps in the order
//! import → scoping → matching → export → referenceResolution, `modifiedProperties` old/new in the sync
//! engine's string form, `errorInformation` on failures.
//!
//! Design decision (throughput, issue 3): an entry is stored compactly and rendered when read. The worker
//! encodes the [`Entry`] with postcard (no JSON escaping, no field names) and leaves out what can be derived:
//! the import step's details come from the record as received ([`Derived::Record`]), and the export step's
//! per-mapping details from the job's mapping set, stored once per distinct set, plus each mapping's
//! [`Shown`] value ([`Derived::Mappings`]). [`render`] rebuilds the same v1.0 document a reader would have
//! seen had it been written as JSON.

use std::borrow::Cow;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::store::StoreError;
use crate::store::log_query::StoredLog;

pub const SOURCE_SYSTEM: &str = "API";
pub const TARGET_SYSTEM: &str = "Microsoft Entra ID";

/// Version of [`Entry`]'s stored form.
const STORED_FORM: u8 = 1;

/// The import step's note when an omitted `active` was imported as False (spec A.2 quirk).
const ACTIVE_NOTE: &str =
    "'active' was not sent and is imported as False (this disables the user; send active:true to keep it enabled)";

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
    fn detail(&self, expression: &str) -> String {
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

/// What the stored row holds besides the entry itself.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub id: &'a str,
    /// `activityDateTime` in wire form.
    pub activity: &'a str,
    pub tenant_id: &'a str,
    pub job_id: &'a str,
    pub cycle_id: &'a str,
    pub change_id: &'a str,
    pub service_principal_id: &'a str,
    pub service_principal_name: &'a str,
}

/// The mapping set of an entry's job when it was processed: `(target, expression)` per mapping.
pub type MappingSet = [(String, String)];

/// Render the v1.0 resource.
pub fn render(entry: &Entry, env: &Envelope<'_>, mappings: &MappingSet) -> Value {
    let steps: Vec<Step> = entry.steps.iter().map(|s| expand(s, entry, mappings)).collect();
    let target_details = [
        ("ServicePrincipalId".to_owned(), env.service_principal_id.to_owned()),
        ("ServicePrincipalDisplayName".to_owned(), env.service_principal_name.to_owned()),
    ];
    let summary = Summary {
        id: env.id,
        activity_date_time: env.activity,
        tenant_id: env.tenant_id,
        job_id: env.job_id,
        cycle_id: env.cycle_id,
        change_id: env.change_id,
        duration_in_milliseconds: entry.duration_ms,
        provisioning_action: entry.action.as_str(),
        provisioning_status_info: StatusInfo {
            status: entry.status.as_str(),
            error_information: entry.error.as_ref().map(|e| ErrorJson {
                additional_details: None,
                error_category: &e.category,
                error_code: &e.code,
                reason: &e.reason,
                recommended_action: e.recommended_action.as_deref(),
            }),
        },
        provisioning_steps: StepsJson(&steps),
        modified_properties: entry
            .modified
            .iter()
            .map(|(name, old, new)| Modified {
                display_name: name,
                old_value: old.as_deref(),
                new_value: new.as_deref(),
            })
            .collect(),
        initiated_by: Initiator { id: "", display_name: "Azure AD Provisioning Service", initiator_type: "system" },
        service_principal: NamedRef { id: env.service_principal_id, display_name: env.service_principal_name },
        source_system: System { id: "", display_name: SOURCE_SYSTEM, details: Details(&[]) },
        target_system: System { id: "", display_name: TARGET_SYSTEM, details: Details(&target_details) },
        source_identity: Identity {
            id: &entry.source_id,
            display_name: &entry.source_display_name,
            identity_type: "User",
            details: Details(&[]),
        },
        target_identity: Identity {
            id: &entry.target_id,
            display_name: &entry.target_display_name,
            identity_type: "User",
            details: Details(&[]),
        },
    };
    // Borrowed strings and maps of strings always convert.
    serde_json::to_value(&summary).unwrap_or_default()
}

/// The v1.0 resource of a stored entry.
pub fn document(stored: StoredLog) -> Result<Value, StoreError> {
    let log = match stored {
        StoredLog::Document(doc) => return Ok(doc),
        StoredLog::Compact(log) => log,
    };
    let entry = Entry::decode(&log.body).map_err(|e| StoreError::Corrupt(format!("log entry {}: {e}", log.id)))?;
    let mappings: Vec<(String, String)> = if log.mapping_set.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&log.mapping_set).map_err(|e| StoreError::Corrupt(e.to_string()))?
    };
    // Wire form: whole seconds (`graph_time`), cut from the storage form `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
    let activity = format!("{}Z", log.activity_key.get(..19).unwrap_or(&log.activity_key));
    let env = Envelope {
        id: &log.id,
        activity: &activity,
        tenant_id: &log.tenant_id,
        job_id: &log.job_id,
        cycle_id: &log.cycle_id,
        change_id: &log.change_id,
        service_principal_id: &log.service_principal_id,
        service_principal_name: &log.service_principal_name,
    };
    Ok(render(&entry, &env, &mappings))
}

/// A step with its derived details in place.
fn expand(step: &Step, entry: &Entry, mappings: &MappingSet) -> Step {
    let mut out = step.clone();
    match step.derived {
        Derived::Nothing => {}
        Derived::Record => {
            let mut record = entry.record.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null);
            if entry.active_imported_false {
                import_active_as_false(&mut record);
            }
            let mut details = import_details(&record);
            if entry.active_imported_false {
                details.push(("Note".into(), ACTIVE_NOTE.into()));
            }
            details.append(&mut out.details);
            out.details = details;
        }
        Derived::Mappings => out.details.extend(
            mappings
                .iter()
                .zip(&entry.mapped)
                .map(|((target, expression), shown)| (target.clone(), shown.detail(expression))),
        ),
    }
    out
}

/// The imported record as `key → value` pairs for the import step (`name.givenName`,
/// `emails[type eq "work"].value`, `urn:…:User:department`).
fn import_details(record: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(obj) = record.as_object() else { return out };
    for (k, v) in obj {
        if k == "schemas" {
            continue;
        }
        match v {
            Value::Object(inner) => {
                for (ik, iv) in inner {
                    let key = if k.starts_with("urn:") { format!("{k}:{ik}") } else { format!("{k}.{ik}") };
                    out.push((key, scalar(iv)));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Object(o) => {
                            let selector = o
                                .get("type")
                                .and_then(Value::as_str)
                                .map_or_else(|| format!("[{i}]"), |t| format!("[type eq \"{t}\"]"));
                            for (ik, iv) in o.iter().filter(|(ik, _)| *ik != "type") {
                                out.push((format!("{k}{selector}.{ik}"), scalar(iv)));
                            }
                        }
                        other => out.push((format!("{k}[{i}]"), scalar(other))),
                    }
                }
            }
            other => out.push((k.clone(), scalar(other))),
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Serialises `(key, value)` pairs as a JSON object (a `detailsInfo`).
struct Details<'a>(&'a [(String, String)]);

impl Serialize for Details<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A step as the resource shows it.
struct StepJson<'a>(&'a Step);

impl Serialize for StepJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let step = self.0;
        let mut st = s.serialize_struct("provisioningStep", 5)?;
        st.serialize_field("description", &step.description)?;
        st.serialize_field("details", &Details(&step.details))?;
        st.serialize_field("name", &step.name)?;
        st.serialize_field("provisioningStepType", &step.kind)?;
        st.serialize_field("status", step.status.as_str())?;
        st.end()
    }
}

/// The steps of a resource.
struct StepsJson<'a>(&'a [Step]);

impl Serialize for StepsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(StepJson))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Modified<'a> {
    display_name: &'a str,
    old_value: Option<&'a str>,
    new_value: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorJson<'a> {
    additional_details: Option<&'a str>,
    error_category: &'a str,
    error_code: &'a str,
    reason: &'a str,
    recommended_action: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusInfo<'a> {
    status: &'a str,
    error_information: Option<ErrorJson<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Initiator {
    id: &'static str,
    display_name: &'static str,
    initiator_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NamedRef<'a> {
    id: &'a str,
    display_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct System<'a> {
    id: &'a str,
    display_name: &'a str,
    details: Details<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    id: &'a str,
    display_name: &'a str,
    identity_type: &'a str,
    details: Details<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    id: &'a str,
    activity_date_time: &'a str,
    tenant_id: &'a str,
    job_id: &'a str,
    cycle_id: &'a str,
    change_id: &'a str,
    duration_in_milliseconds: u64,
    provisioning_action: &'a str,
    provisioning_status_info: StatusInfo<'a>,
    provisioning_steps: StepsJson<'a>,
    modified_properties: Vec<Modified<'a>>,
    initiated_by: Initiator,
    service_principal: NamedRef<'a>,
    source_system: System<'a>,
    target_system: System<'a>,
    source_identity: Identity<'a>,
    target_identity: Identity<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENV: Envelope<'static> = Envelope {
        id: "i",
        activity: "2025-01-15T10:00:00Z",
        tenant_id: "t",
        job_id: "j",
        cycle_id: "c",
        change_id: "x",
        service_principal_id: "sp",
        service_principal_name: "n",
    };

    #[test]
    fn renders_every_property_of_the_resource() {
        let mut e = Entry::new("701984", "Babs Jensen");
        e.action = Action::Create;
        e.steps.push(Step::new("EntryImport", "import", Status::Success, "x").detail("active", "True"));
        e.modified.push(("accountEnabled".into(), None, Some("True".into())));
        let v = render(&e, &ENV, &[]);
        for key in [
            "id",
            "activityDateTime",
            "tenantId",
            "jobId",
            "cycleId",
            "changeId",
            "durationInMilliseconds",
            "initiatedBy",
            "modifiedProperties",
            "provisioningAction",
            "provisioningStatusInfo",
            "provisioningSteps",
            "servicePrincipal",
            "sourceIdentity",
            "sourceSystem",
            "targetIdentity",
            "targetSystem",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["provisioningSteps"][0]["details"]["active"], "True");
        assert_eq!(v["modifiedProperties"][0]["oldValue"], Value::Null);
        assert_eq!(v["provisioningStatusInfo"]["errorInformation"], Value::Null);
        assert_eq!(v["targetSystem"]["details"]["ServicePrincipalId"], "sp");
    }

    #[test]
    fn derived_details_render_from_the_record_and_the_mapping_set() {
        let mut e = Entry::new("701984", "Babs Jensen");
        let mut import = Step::new("EntryImport", "import", Status::Success, "x");
        import.derived = Derived::Record;
        e.steps.push(import);
        let mut export =
            Step::new("EntryExportAdd", "export", Status::Success, "y").detail("ReportableIdentifier", "u");
        export.derived = Derived::Mappings;
        e.steps.push(export);
        e.record = Some(
            json!({"schemas": ["s"], "externalId": "701984", "name": {"givenName": "Barbara"},
                "emails": [{"type": "work", "value": "b@contoso.com"}], "nums": [1],
                "urn:x:User": {"department": "Sales"}, "active": null})
            .to_string(),
        );
        e.active_imported_false = true;
        e.mapped = vec![Shown::Value("Babs".into()), Shown::Null, Shown::Redacted, Shown::FlowIgnored];
        let set: Vec<(String, String)> =
            ["displayName", "mail", "secret", "mobile"].iter().map(|t| ((*t).to_owned(), format!("[{t}]"))).collect();
        let v = render(&Entry::decode(&e.encode().unwrap()).unwrap(), &ENV, &set);
        assert_eq!(
            v["provisioningSteps"][0]["details"],
            json!({"externalId": "701984", "name.givenName": "Barbara", "emails[type eq \"work\"].value": "b@contoso.com",
                "nums[0]": "1", "urn:x:User:department": "Sales", "active": "False", "Note": ACTIVE_NOTE})
        );
        assert_eq!(
            v["provisioningSteps"][1]["details"],
            json!({"ReportableIdentifier": "u", "displayName": "[displayName] = \"Babs\"", "mail": "[mail] = (null)",
                "secret": "[secret] = [Redact]", "mobile": "[mobile] = (flow ignored)"})
        );
    }

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

    #[test]
    fn stored_entries_render_with_their_row() {
        let e = Entry::new("1", "A");
        let log = crate::store::log_query::CompactLog {
            id: "id1".into(),
            activity_key: "2025-01-15T10:00:07.0000300Z".into(),
            tenant_id: "t".into(),
            job_id: "j".into(),
            cycle_id: "c".into(),
            change_id: "x".into(),
            service_principal_id: "sp".into(),
            service_principal_name: "n".into(),
            body: e.encode().unwrap(),
            mapping_set: String::new(),
        };
        let v = document(StoredLog::Compact(log.clone())).unwrap();
        assert_eq!(v["activityDateTime"], "2025-01-15T10:00:07Z");
        assert_eq!(v["id"], "id1");
        assert_eq!(v["servicePrincipal"], json!({"id": "sp", "displayName": "n"}));
        let broken = StoredLog::Compact(crate::store::log_query::CompactLog { body: vec![0xff; 3], ..log });
        assert!(matches!(document(broken), Err(StoreError::Corrupt(_))));
    }
}
