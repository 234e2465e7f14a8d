//! Rendering a [`ProvisioningObjectSummary`] as the Graph v1.0 `provisioningObjectSummary` JSON
//! (docs/fidelity.md, B.2), and the additions beta makes (the deprecated `action` and `statusInfo`).
//! Serialised straight from borrowed views of the record: no intermediate `serde_json::Value` tree.

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::model::{
    Initiator, ModifiedProperty, ProvisionedIdentity, ProvisioningErrorInfo, ProvisioningObjectSummary,
    ProvisioningStep, ProvisioningSystem,
};
use crate::graph_time::graph_datetime;

/// The v1.0 resource.
pub fn to_graph_json(entry: &ProvisioningObjectSummary) -> Value {
    // Borrowed strings and maps of strings always convert.
    serde_json::to_value(Summary(entry)).unwrap_or_default()
}

/// The resource for a Graph version: v1.0 as is; beta adds the deprecated `action` and `statusInfo`.
pub fn for_beta(mut doc: Value) -> Value {
    let Some(obj) = doc.as_object_mut() else { return doc };
    let action = obj.get("provisioningAction").cloned().unwrap_or(Value::Null);
    let info = obj.get("provisioningStatusInfo");
    let status = info.and_then(|i| i.get("status")).cloned().unwrap_or(Value::Null);
    let status_info = match info.and_then(|i| i.get("errorInformation")).filter(|e| e.is_object()) {
        Some(err) => json!({
            "@odata.type": "#microsoft.graph.statusDetails",
            "status": status,
            "errorCategory": err.get("errorCategory"),
            "errorCode": err.get("errorCode"),
            "reason": err.get("reason"),
            "additionalDetails": err.get("additionalDetails"),
            "recommendedAction": err.get("recommendedAction"),
        }),
        None => json!({"@odata.type": "#microsoft.graph.statusBase", "status": status}),
    };
    obj.insert("action".into(), action);
    obj.insert("statusInfo".into(), status_info);
    doc
}

struct Summary<'a>(&'a ProvisioningObjectSummary);

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let c = &e.context;
        let mut st = s.serialize_struct("provisioningObjectSummary", 17)?;
        st.serialize_field("id", &e.id)?;
        st.serialize_field("activityDateTime", &graph_datetime(e.activity_date_time))?;
        st.serialize_field("tenantId", &c.tenant_id)?;
        st.serialize_field("jobId", &c.job_id)?;
        st.serialize_field("cycleId", &e.cycle_id)?;
        st.serialize_field("changeId", &e.change_id)?;
        st.serialize_field("durationInMilliseconds", &e.duration_in_milliseconds)?;
        st.serialize_field("provisioningAction", e.action.as_str())?;
        st.serialize_field(
            "provisioningStatusInfo",
            &StatusInfo { status: e.status.as_str(), error_information: e.error.as_ref().map(ErrorJson) },
        )?;
        st.serialize_field("provisioningSteps", &Steps(&e.steps))?;
        st.serialize_field("modifiedProperties", &Modified(&e.modified_properties))?;
        st.serialize_field("initiatedBy", &InitiatorJson(&c.initiated_by))?;
        st.serialize_field("servicePrincipal", &NamedRef(&c.service_principal))?;
        st.serialize_field("sourceSystem", &SystemJson(&c.source_system))?;
        st.serialize_field("targetSystem", &SystemJson(&c.target_system))?;
        st.serialize_field("sourceIdentity", &IdentityJson(&e.source_identity))?;
        st.serialize_field("targetIdentity", &IdentityJson(&e.target_identity))?;
        st.end()
    }
}

/// `(key, value)` pairs as a JSON object (a `detailsInfo`).
struct Details<'a, K>(&'a [(K, String)]);

impl<K: AsRef<str>> Serialize for Details<'_, K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k.as_ref(), v)?;
        }
        map.end()
    }
}

/// A step's details, then (export steps) one `target → "expression = value"` per evaluated mapping.
struct StepDetails<'a>(&'a ProvisioningStep);

impl Serialize for StepDetails<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let step = self.0;
        let mut map = s.serialize_map(None)?;
        for (k, v) in &step.details {
            map.serialize_entry(k.as_ref(), v)?;
        }
        if let Some(m) = &step.mappings {
            for ((target, expression), shown) in m.set.0.iter().zip(&m.values) {
                map.serialize_entry(target, &shown.detail(expression))?;
            }
        }
        map.end()
    }
}

struct Steps<'a>(&'a [ProvisioningStep]);

impl Serialize for Steps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(StepJson))
    }
}

struct StepJson<'a>(&'a ProvisioningStep);

impl Serialize for StepJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let step = self.0;
        let mut st = s.serialize_struct("provisioningStep", 5)?;
        st.serialize_field("description", &step.description.to_string())?;
        st.serialize_field("details", &StepDetails(step))?;
        st.serialize_field("name", &step.name)?;
        st.serialize_field("provisioningStepType", step.step_type.as_str())?;
        st.serialize_field("status", step.status.as_str())?;
        st.end()
    }
}

struct Modified<'a>(&'a [ModifiedProperty]);

impl Serialize for Modified<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0
                .iter()
                .map(|m| json!({"displayName": m.display_name, "oldValue": m.old_value, "newValue": m.new_value})),
        )
    }
}

struct ErrorJson<'a>(&'a ProvisioningErrorInfo);

impl Serialize for ErrorJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut st = s.serialize_struct("provisioningErrorInfo", 5)?;
        st.serialize_field("additionalDetails", &e.additional_details)?;
        st.serialize_field("errorCategory", &e.error_category)?;
        st.serialize_field("errorCode", &e.error_code)?;
        st.serialize_field("reason", &e.reason)?;
        st.serialize_field("recommendedAction", &e.recommended_action)?;
        st.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusInfo<'a> {
    status: &'a str,
    error_information: Option<ErrorJson<'a>>,
}

struct InitiatorJson<'a>(&'a Initiator);

impl Serialize for InitiatorJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut st = s.serialize_struct("initiator", 3)?;
        st.serialize_field("id", &i.id)?;
        st.serialize_field("displayName", &i.display_name)?;
        st.serialize_field("initiatorType", &i.initiator_type)?;
        st.end()
    }
}

struct NamedRef<'a>(&'a ProvisioningSystem);

impl Serialize for NamedRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("provisioningServicePrincipal", 2)?;
        st.serialize_field("id", &self.0.id)?;
        st.serialize_field("displayName", &self.0.display_name)?;
        st.end()
    }
}

struct SystemJson<'a>(&'a ProvisioningSystem);

impl Serialize for SystemJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("provisioningSystem", 3)?;
        st.serialize_field("id", &self.0.id)?;
        st.serialize_field("displayName", &self.0.display_name)?;
        st.serialize_field("details", &Details(&self.0.details))?;
        st.end()
    }
}

struct IdentityJson<'a>(&'a ProvisionedIdentity);

impl Serialize for IdentityJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut st = s.serialize_struct("provisionedIdentity", 4)?;
        st.serialize_field("id", &i.id)?;
        st.serialize_field("displayName", &i.display_name)?;
        st.serialize_field("identityType", &i.identity_type)?;
        st.serialize_field("details", &Details(&i.details))?;
        st.end()
    }
}
