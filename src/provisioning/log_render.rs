//! Rendering a stored log entry as the v1.0 `provisioningObjectSummary` (Part B §2.1): the envelope comes from
//! the row's columns, the derived details from the stored record and the entry's mapping set (see
//! `log_entry` for why they are derived rather than stored).

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::log_entry::{Derived, Entry, SOURCE_SYSTEM, Step, TARGET_SYSTEM, import_active_as_false};
use crate::store::StoreError;
use crate::store::log_query::{CompactLog, StoredLog};

/// The import step's note when an omitted `active` was imported as False (spec A.2 quirk).
const ACTIVE_NOTE: &str =
    "'active' was not sent and is imported as False (this disables the user; send active:true to keep it enabled)";

/// The mapping set of an entry's job when it was processed: `(target, expression)` per mapping.
type MappingSet = [(String, String)];

/// Render the v1.0 resource of `entry`, stored in the row `log` (whose `body` is not read again).
fn render(entry: &Entry, log: &CompactLog, mappings: &MappingSet) -> Value {
    // Wire form: whole seconds (`graph_time`), cut from the storage form `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
    let activity = format!("{}Z", log.activity_key.get(..19).unwrap_or(&log.activity_key));
    let steps: Vec<Step> = entry.steps.iter().map(|s| expand(s, entry, mappings)).collect();
    let target_details = [
        ("ServicePrincipalId".to_owned(), log.service_principal_id.clone()),
        ("ServicePrincipalDisplayName".to_owned(), log.service_principal_name.clone()),
    ];
    let summary = Summary {
        id: &log.id,
        activity_date_time: &activity,
        tenant_id: &log.tenant_id,
        job_id: &log.job_id,
        cycle_id: &log.cycle_id,
        change_id: &log.change_id,
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
        service_principal: NamedRef { id: &log.service_principal_id, display_name: &log.service_principal_name },
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
    Ok(render(&entry, &log, &mappings))
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
    use crate::provisioning::log_entry::{Action, Shown, Status};
    use serde_json::json;

    /// A stored row (its `body` is what each test renders).
    fn row() -> CompactLog {
        CompactLog {
            id: "id1".into(),
            activity_key: "2025-01-15T10:00:07.0000300Z".into(),
            tenant_id: "t".into(),
            job_id: "j".into(),
            cycle_id: "c".into(),
            change_id: "x".into(),
            service_principal_id: "sp".into(),
            service_principal_name: "n".into(),
            body: Vec::new(),
            mapping_set: String::new(),
        }
    }

    #[test]
    fn renders_every_property_of_the_resource() {
        let mut e = Entry::new("701984", "Babs Jensen");
        e.action = Action::Create;
        e.steps.push(Step::new("EntryImport", "import", Status::Success, "x").detail("active", "True"));
        e.modified.push(("accountEnabled".into(), None, Some("True".into())));
        let v = render(&e, &row(), &[]);
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
        let v = render(&Entry::decode(&e.encode().unwrap()).unwrap(), &row(), &set);
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
    fn stored_entries_render_with_their_row() {
        let e = Entry::new("1", "A");
        let log = CompactLog { body: e.encode().unwrap(), ..row() };
        let v = document(StoredLog::Compact(log.clone())).unwrap();
        assert_eq!(v["activityDateTime"], "2025-01-15T10:00:07Z");
        assert_eq!(v["id"], "id1");
        assert_eq!(v["servicePrincipal"], json!({"id": "sp", "displayName": "n"}));
        let broken = StoredLog::Compact(CompactLog { body: vec![0xff; 3], ..log });
        assert!(matches!(document(broken), Err(StoreError::Corrupt(_))));
    }
}
