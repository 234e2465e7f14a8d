//! Building one `provisioningObjectSummary` (spec A.2 last bullet, Part B §2.1 and §2.4): steps in the order
//! import → scoping → matching → export → referenceResolution, `modifiedProperties` old/new in the sync
//! engine's string form, `errorInformation` on failures.

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

pub const SOURCE_SYSTEM: &str = "API";
pub const TARGET_SYSTEM: &str = "Microsoft Entra ID";

/// `provisioningAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// One `provisioningStep`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: &'static str,
    pub kind: &'static str,
    pub status: Status,
    pub description: String,
    pub details: Vec<(String, String)>,
}

impl Step {
    pub fn new(name: &'static str, kind: &'static str, status: Status, description: impl Into<String>) -> Self {
        Self { name, kind, status, description: description.into(), details: Vec::new() }
    }

    pub fn detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.push((key.into(), value.into()));
        self
    }
}

/// `provisioningErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: String,
    pub category: &'static str,
    pub reason: String,
    pub recommended_action: Option<String>,
}

/// An entry being assembled while its operation is processed.
#[derive(Debug, Clone)]
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
}

/// What every entry of one batch shares.
#[derive(Debug, Clone)]
pub struct Common<'a> {
    pub tenant_id: &'a str,
    pub job_id: &'a str,
    pub cycle_id: &'a str,
    pub service_principal_id: &'a str,
    pub service_principal_name: &'a str,
    /// `activityDateTime` in wire form.
    pub activity: &'a str,
}

/// A rendered entry: the JSON document plus the values the store indexes.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub id: String,
    pub change_id: String,
    pub doc: String,
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

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("provisioningStep", 5)?;
        st.serialize_field("description", &self.description)?;
        st.serialize_field("details", &Details(&self.details))?;
        st.serialize_field("name", self.name)?;
        st.serialize_field("provisioningStepType", self.kind)?;
        st.serialize_field("status", self.status.as_str())?;
        st.end()
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
    provisioning_steps: &'a [Step],
    modified_properties: Vec<Modified<'a>>,
    initiated_by: Initiator,
    service_principal: NamedRef<'a>,
    source_system: System<'a>,
    target_system: System<'a>,
    source_identity: Identity<'a>,
    target_identity: Identity<'a>,
}

/// Render the v1.0 resource as JSON text (written straight to the store: no intermediate tree).
pub fn render(entry: &Entry, common: &Common<'_>) -> Rendered {
    let id = uuid::Uuid::now_v7().to_string();
    let change_id = uuid::Uuid::new_v4().to_string();
    let target_details = [
        ("ServicePrincipalId".to_owned(), common.service_principal_id.to_owned()),
        ("ServicePrincipalDisplayName".to_owned(), common.service_principal_name.to_owned()),
    ];
    let summary = Summary {
        id: &id,
        activity_date_time: common.activity,
        tenant_id: common.tenant_id,
        job_id: common.job_id,
        cycle_id: common.cycle_id,
        change_id: &change_id,
        duration_in_milliseconds: entry.duration_ms,
        provisioning_action: entry.action.as_str(),
        provisioning_status_info: StatusInfo {
            status: entry.status.as_str(),
            error_information: entry.error.as_ref().map(|e| ErrorJson {
                additional_details: None,
                error_category: e.category,
                error_code: &e.code,
                reason: &e.reason,
                recommended_action: e.recommended_action.as_deref(),
            }),
        },
        provisioning_steps: &entry.steps,
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
        service_principal: NamedRef { id: common.service_principal_id, display_name: common.service_principal_name },
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
    // Serialising borrowed strings and maps of strings cannot fail.
    let doc = serde_json::to_string(&summary).unwrap_or_default();
    Rendered { id, change_id, doc }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_property_of_the_resource() {
        let mut e = Entry::new("701984", "Babs Jensen");
        e.action = Action::Create;
        e.steps.push(Step::new("EntryImport", "import", Status::Success, "x").detail("active", "True"));
        e.modified.push(("accountEnabled".into(), None, Some("True".into())));
        let common = Common {
            tenant_id: "t",
            job_id: "j",
            cycle_id: "c",
            service_principal_id: "sp",
            service_principal_name: "n",
            activity: "2025-01-15T10:00:00Z",
        };
        let v: serde_json::Value = serde_json::from_str(&render(&e, &common).doc).unwrap();
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
        assert_eq!(v["modifiedProperties"][0]["oldValue"], serde_json::Value::Null);
        assert_eq!(v["provisioningStatusInfo"]["errorInformation"], serde_json::Value::Null);
        assert_eq!(v["targetSystem"]["details"]["ServicePrincipalId"], "sp");
    }
}
