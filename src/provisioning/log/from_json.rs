//! Reading a Graph `provisioningObjectSummary` document back into the typed record: for documents a test
//! suite imports and for entries an older store kept as JSON. Lenient about what is missing (an absent
//! string is empty, an absent list is empty), strict about what is wrong (an unknown `provisioningAction`,
//! step type or status, or a value of the wrong JSON type, is refused with its path).

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::description::Description;
use super::model::{
    EntryContext, Initiator, ModifiedProperty, ProvisionedIdentity, ProvisioningAction, ProvisioningErrorInfo,
    ProvisioningObjectSummary, ProvisioningResult, ProvisioningStep, ProvisioningSystem, StepType,
};

/// Why a document cannot be read: the JSON path and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DocumentError {
    pub path: String,
    pub message: String,
}

fn error(path: &str, message: impl Into<String>) -> DocumentError {
    DocumentError { path: path.to_owned(), message: message.into() }
}

/// The typed record of `doc`; `activity` is used when the document has no `activityDateTime`.
pub fn from_graph_json(doc: &Value, activity: OffsetDateTime) -> Result<ProvisioningObjectSummary, DocumentError> {
    let obj = doc.as_object().ok_or_else(|| error("$", "a provisioning log entry must be a JSON object"))?;
    let r = Reader { obj, path: "$".to_owned() };
    let activity_date_time = match r.opt_str("activityDateTime")? {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339)
            .map_err(|e| error("$.activityDateTime", format!("not an RFC 3339 date-time: {e}")))?,
        None => activity,
    };
    let status_info = r.object("provisioningStatusInfo")?;
    let status = status_info.opt_str("status")?.map_or(Ok(ProvisioningResult::Success), |s| {
        ProvisioningResult::parse(s).ok_or_else(|| error(&status_info.at("status"), format!("unknown status '{s}'")))
    })?;
    let error_info = match status_info.obj.get("errorInformation") {
        None | Some(Value::Null) => None,
        Some(_) => {
            let e = status_info.object("errorInformation")?;
            Some(ProvisioningErrorInfo {
                error_code: e.str("errorCode")?,
                error_category: e.str("errorCategory")?,
                reason: e.str("reason")?,
                additional_details: e.opt_str("additionalDetails")?.map(str::to_owned),
                recommended_action: e.opt_str("recommendedAction")?.map(str::to_owned),
            })
        }
    };
    let action = match r.opt_str("provisioningAction")? {
        None => ProvisioningAction::Other,
        Some(a) => ProvisioningAction::parse(a)
            .ok_or_else(|| error("$.provisioningAction", format!("unknown action '{a}'")))?,
    };
    let initiator = r.object("initiatedBy")?;
    let context = EntryContext {
        tenant_id: r.str("tenantId")?,
        job_id: r.str("jobId")?,
        service_principal: r.object("servicePrincipal")?.system()?,
        initiated_by: Initiator {
            id: initiator.str("id")?,
            display_name: initiator.str("displayName")?,
            initiator_type: initiator.str("initiatorType")?,
        },
        source_system: r.object("sourceSystem")?.system()?,
        target_system: r.object("targetSystem")?.system()?,
    };
    Ok(ProvisioningObjectSummary {
        id: r.str("id")?,
        activity_date_time,
        context: Arc::new(context),
        cycle_id: r.str("cycleId")?,
        change_id: r.str("changeId")?,
        duration_in_milliseconds: match r.obj.get("durationInMilliseconds") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_i64().ok_or_else(|| error("$.durationInMilliseconds", "must be an integer"))?,
        },
        action,
        status,
        error: error_info,
        source_identity: r.object("sourceIdentity")?.identity()?,
        target_identity: r.object("targetIdentity")?.identity()?,
        steps: r.array("provisioningSteps", Reader::step)?,
        modified_properties: r.array("modifiedProperties", |m| {
            Ok(ModifiedProperty {
                display_name: m.str("displayName")?,
                old_value: m.opt_str("oldValue")?.map(str::to_owned),
                new_value: m.opt_str("newValue")?.map(str::to_owned),
            })
        })?,
    })
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// A JSON object and its path, with typed, path-reporting accessors.
struct Reader<'a> {
    obj: &'a Map<String, Value>,
    path: String,
}

impl<'a> Reader<'a> {
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn opt_str(&self, key: &str) -> Result<Option<&'a str>, DocumentError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(error(&self.at(key), "must be a string")),
        }
    }

    fn str(&self, key: &str) -> Result<String, DocumentError> {
        Ok(self.opt_str(key)?.unwrap_or_default().to_owned())
    }

    /// A member object (an empty one when absent or null).
    fn object(&self, key: &str) -> Result<Reader<'a>, DocumentError> {
        let path = self.at(key);
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(Reader { obj: &EMPTY, path }),
            Some(Value::Object(o)) => Ok(Reader { obj: o, path }),
            Some(_) => Err(error(&path, "must be an object")),
        }
    }

    fn array<T>(
        &self,
        key: &str,
        item: impl Fn(&Reader<'a>) -> Result<T, DocumentError>,
    ) -> Result<Vec<T>, DocumentError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let path = format!("{}[{i}]", self.at(key));
                    let o = v.as_object().ok_or_else(|| error(&path, "must be an object"))?;
                    item(&Reader { obj: o, path })
                })
                .collect(),
            Some(_) => Err(error(&self.at(key), "must be an array")),
        }
    }

    fn details(&self, key: &str) -> Result<Vec<(String, String)>, DocumentError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(o)) => o
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    Value::Null => Ok((k.clone(), String::new())),
                    other => Ok((k.clone(), other.to_string())),
                })
                .collect(),
            Some(_) => Err(error(&self.at(key), "must be an object of strings")),
        }
    }

    fn system(&self) -> Result<ProvisioningSystem, DocumentError> {
        Ok(ProvisioningSystem {
            id: self.str("id")?,
            display_name: self.str("displayName")?,
            details: self.details("details")?,
        })
    }

    fn identity(&self) -> Result<ProvisionedIdentity, DocumentError> {
        Ok(ProvisionedIdentity {
            id: self.str("id")?,
            display_name: self.str("displayName")?,
            identity_type: self.str("identityType")?,
            details: self.details("details")?,
        })
    }

    fn step(&self) -> Result<ProvisioningStep, DocumentError> {
        let step_type = self.str("provisioningStepType")?;
        let status = self.str("status")?;
        Ok(ProvisioningStep {
            name: Cow::Owned(self.str("name")?),
            step_type: StepType::parse(&step_type)
                .ok_or_else(|| error(&self.at("provisioningStepType"), format!("unknown step type '{step_type}'")))?,
            status: ProvisioningResult::parse(&status)
                .ok_or_else(|| error(&self.at("status"), format!("unknown status '{status}'")))?,
            description: Description::Text(self.str("description")?),
            details: self.details("details")?.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
            mappings: None,
        })
    }
}
