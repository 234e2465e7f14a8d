//! Building one `provisioningObjectSummary` (spec A.2 last bullet, Part B §2.1 and §2.4): steps in the order
//! import → scoping → matching → export → referenceResolution, `modifiedProperties` old/new in the sync
//! engine's string form, `errorInformation` on failures.

use serde_json::{Map, Value, json};

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

fn details(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>())
}

/// Render the v1.0 resource.
pub fn render(entry: &Entry, common: &Common<'_>) -> Value {
    let steps: Vec<Value> = entry
        .steps
        .iter()
        .map(|s| {
            json!({
                "description": s.description,
                "details": details(&s.details),
                "name": s.name,
                "provisioningStepType": s.kind,
                "status": s.status.as_str(),
            })
        })
        .collect();
    let modified: Vec<Value> = entry
        .modified
        .iter()
        .map(|(name, old, new)| json!({"displayName": name, "oldValue": old, "newValue": new}))
        .collect();
    let error = entry.error.as_ref().map(|e| {
        json!({
            "additionalDetails": null,
            "errorCategory": e.category,
            "errorCode": e.code,
            "reason": e.reason,
            "recommendedAction": e.recommended_action,
        })
    });
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "activityDateTime": common.activity,
        "tenantId": common.tenant_id,
        "jobId": common.job_id,
        "cycleId": common.cycle_id,
        "changeId": uuid::Uuid::new_v4().to_string(),
        "durationInMilliseconds": entry.duration_ms,
        "provisioningAction": entry.action.as_str(),
        "provisioningStatusInfo": {"status": entry.status.as_str(), "errorInformation": error},
        "provisioningSteps": steps,
        "modifiedProperties": modified,
        "initiatedBy": {"id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system"},
        "servicePrincipal": {"id": common.service_principal_id, "displayName": common.service_principal_name},
        "sourceSystem": {"id": "", "displayName": SOURCE_SYSTEM, "details": {}},
        "targetSystem": {
            "id": "",
            "displayName": TARGET_SYSTEM,
            "details": {
                "ServicePrincipalId": common.service_principal_id,
                "ServicePrincipalDisplayName": common.service_principal_name,
            },
        },
        "sourceIdentity": {
            "id": entry.source_id,
            "displayName": entry.source_display_name,
            "identityType": "User",
            "details": {},
        },
        "targetIdentity": {
            "id": entry.target_id,
            "displayName": entry.target_display_name,
            "identityType": "User",
            "details": {},
        },
    })
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
        let v = render(&e, &common);
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
    }
}
