//! The snapshot document of `GET /_emulator/export` and `POST /_emulator/import` (README "Snapshots and
//! seeding"): everything the store keeps, as one versioned JSON document, and the seed document
//! `{"users": […]}`, which is a snapshot without a version that holds only users.
//!
//! Version 1, members in this order (each optional on import; absent means empty):
//! `version`, `jobs` (`id`, `runState` `{paused, status}` once saved, `schema` once replaced), `users` (Graph
//! user objects, `control::users`), `pendingManagerReferences`, `provisioningLogs` (Graph
//! `provisioningObjectSummary` objects), `stagedRequests` (accepted uploads not yet processed: `jobId`,
//! `requestId`, `received`, `operations` with `bulkId`, `externalId`, `data`), `scim` (`users`, `groups`: the
//! SCIM service provider's resources). Everything is in a stable order (jobs and users by id, log entries by
//! time then id, staged requests in arrival order, SCIM resources oldest first) and nothing depends on when the
//! export ran, so two exports of the same state are the same bytes, and an export imported elsewhere exports
//! the same again. Reading checks the whole document before anything changes: a document that cannot be
//! imported is refused with the path of the first problem.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::users;
use crate::graph_time::{datetime_key, graph_datetime, parse_rfc3339};
use crate::provisioning::jobs::JobSchema;
use crate::provisioning::log::{from_graph_json, to_graph_json};
use crate::provisioning::status::JobStatus;
use crate::store::{PendingReference, SavedJob, ScimKind, ScimRecord, StagedOperation, StagedRequest, StateRecords};

/// The version this emulator writes and reads.
pub const VERSION: u64 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Document {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(default)]
    jobs: Vec<JobDoc>,
    #[serde(default)]
    users: Vec<Value>,
    #[serde(default)]
    pending_manager_references: Vec<ReferenceDoc>,
    #[serde(default)]
    provisioning_logs: Vec<Value>,
    #[serde(default)]
    staged_requests: Vec<StagedDoc>,
    #[serde(default)]
    scim: ScimDoc,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JobDoc {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run_state: Option<RunStateDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RunStateDoc {
    paused: bool,
    status: Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReferenceDoc {
    user_id: String,
    job_id: String,
    source_id: String,
    manager_external_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StagedDoc {
    job_id: String,
    request_id: String,
    received: String,
    operations: Vec<OperationDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OperationDoc {
    bulk_id: String,
    external_id: String,
    data: Value,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScimDoc {
    #[serde(default, rename = "Users")]
    users: Vec<ScimResourceDoc>,
    #[serde(default, rename = "Groups")]
    groups: Vec<ScimResourceDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScimResourceDoc {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unique_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    version: u64,
    created: String,
    last_modified: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    members: Vec<String>,
    attributes: Map<String, Value>,
}

/// The document of `records` (compact JSON).
pub fn render(records: &StateRecords) -> Vec<u8> {
    let mut entries: Vec<(String, &str, Value)> = records
        .entries
        .iter()
        .map(|e| (graph_datetime(e.activity_date_time), e.id.as_str(), to_graph_json(e)))
        .collect();
    // The document's date-times have whole seconds: order by what it shows, so a re-import orders alike.
    entries.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut jobs: Vec<&SavedJob> = records.jobs.iter().collect();
    jobs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    let doc = Document {
        version: Some(VERSION),
        jobs: jobs
            .into_iter()
            .map(|j| JobDoc {
                id: j.job_id.clone(),
                run_state: j.run_state.clone().map(|(paused, status)| RunStateDoc { paused, status }),
                schema: j.schema.clone(),
            })
            .collect(),
        users: records.users.iter().map(users::render).collect(),
        pending_manager_references: records
            .references
            .iter()
            .map(|r| ReferenceDoc {
                user_id: r.user_id.clone(),
                job_id: r.job_id.clone(),
                source_id: r.source_id.clone(),
                manager_external_id: r.manager_external_id.clone(),
            })
            .collect(),
        provisioning_logs: entries.into_iter().map(|(_, _, doc)| doc).collect(),
        staged_requests: records.staged.iter().map(render_staged).collect(),
        scim: ScimDoc {
            users: records.scim.iter().filter(|r| r.kind == ScimKind::User).map(render_scim).collect(),
            groups: records.scim.iter().filter(|r| r.kind == ScimKind::Group).map(render_scim).collect(),
        },
    };
    // Maps of strings and JSON values always serialise.
    serde_json::to_vec(&doc).unwrap_or_default()
}

fn render_staged(r: &StagedRequest) -> StagedDoc {
    StagedDoc {
        job_id: r.job_id.clone(),
        request_id: r.request_id.clone(),
        received: datetime_key(r.received),
        operations: r
            .operations
            .iter()
            .map(|o| OperationDoc {
                bulk_id: o.bulk_id.clone(),
                external_id: o.external_id.clone(),
                data: serde_json::from_str(&o.data).unwrap_or(Value::String(o.data.clone())),
            })
            .collect(),
    }
}

fn render_scim(r: &ScimRecord) -> ScimResourceDoc {
    ScimResourceDoc {
        id: r.id.clone(),
        unique_key: r.unique_key.clone(),
        external_id: r.external_id.clone(),
        display_name: r.display_name.clone(),
        version: r.version,
        created: datetime_key(r.created),
        last_modified: datetime_key(r.last_modified),
        members: r.members.clone(),
        attributes: r.attributes.clone(),
    }
}

/// The records of a snapshot or seed document, checked against the configured `job_ids`; `now` fills in
/// what a seed leaves out. The error is the message a client sees.
pub fn read(body: &[u8], job_ids: &[String], now: OffsetDateTime) -> Result<StateRecords, String> {
    let unreadable = |e: serde_json::Error| format!("The document cannot be read: {e}.");
    let doc: Value = serde_json::from_slice(body).map_err(unreadable)?;
    let Some(members) = doc.as_object() else {
        return Err("The document must be a JSON object.".to_owned());
    };
    if !members.contains_key("version") && members.keys().any(|k| k != "users") {
        return Err(format!(
            "A document without a version is a seed and holds only users; a snapshot says \"version\": {VERSION}."
        ));
    }
    let doc: Document = serde_json::from_value(doc).map_err(unreadable)?;
    match doc.version {
        Some(VERSION) => {}
        Some(v) => {
            return Err(format!("The document's version {v} is not supported; this emulator reads version {VERSION}."));
        }
        None => {} // a seed: only `users`, checked above
    }
    let known = |at: &str, job_id: &str| {
        if job_ids.iter().any(|j| j == job_id) {
            Ok(())
        } else {
            Err(format!("{at}: '{job_id}' is not a configured job."))
        }
    };
    let mut records = StateRecords::default();
    let mut seen = HashSet::new();
    for (i, job) in doc.jobs.into_iter().enumerate() {
        let at = format!("jobs[{i}]");
        known(&format!("{at}.id"), &job.id)?;
        if !seen.insert(job.id.clone()) {
            return Err(format!("{at}.id: '{}' appears twice.", job.id));
        }
        if let Some(schema) = &job.schema {
            JobSchema::compile(schema.clone()).map_err(|e| format!("{at}.schema: {e}"))?;
        }
        if let Some(run) = &job.run_state {
            serde_json::from_value::<JobStatus>(run.status.clone())
                .map_err(|e| format!("{at}.runState.status: {e}."))?;
        }
        records.jobs.push(SavedJob {
            job_id: job.id,
            run_state: job.run_state.map(|r| (r.paused, r.status)),
            schema: job.schema,
        });
    }
    records.users = users::read(&doc.users, now)?;
    let mut seen = HashSet::new();
    for (i, r) in doc.pending_manager_references.into_iter().enumerate() {
        let at = format!("pendingManagerReferences[{i}]");
        known(&format!("{at}.jobId"), &r.job_id)?;
        if !seen.insert(r.user_id.clone()) {
            return Err(format!("{at}.userId: '{}' has an earlier reference.", r.user_id));
        }
        records.references.push(PendingReference {
            user_id: r.user_id,
            job_id: r.job_id,
            source_id: r.source_id,
            manager_external_id: r.manager_external_id,
        });
    }
    let mut seen = HashSet::new();
    for (i, entry) in doc.provisioning_logs.iter().enumerate() {
        let entry = from_graph_json(entry, now).map_err(|e| format!("provisioningLogs[{i}]: {e}"))?;
        if entry.id.is_empty() || !seen.insert(entry.id.clone()) {
            return Err(format!("provisioningLogs[{i}].id: '{}' is empty or appears twice.", entry.id));
        }
        records.entries.push(entry);
    }
    for (i, r) in doc.staged_requests.into_iter().enumerate() {
        let at = format!("stagedRequests[{i}]");
        known(&format!("{at}.jobId"), &r.job_id)?;
        let received =
            parse_rfc3339(&r.received).ok_or_else(|| format!("{at}.received: not an RFC 3339 date-time."))?;
        records.staged.push(StagedRequest {
            seq: 0,
            job_id: r.job_id,
            request_id: r.request_id,
            received,
            operations: r
                .operations
                .into_iter()
                .map(|o| StagedOperation { bulk_id: o.bulk_id, external_id: o.external_id, data: o.data.to_string() })
                .collect(),
        });
    }
    let mut seen = HashSet::new();
    for (kind, list, name) in [(ScimKind::User, doc.scim.users, "Users"), (ScimKind::Group, doc.scim.groups, "Groups")]
    {
        for (i, r) in list.into_iter().enumerate() {
            let at = format!("scim.{name}[{i}]");
            if !seen.insert(r.id.clone()) {
                return Err(format!("{at}.id: '{}' appears twice.", r.id));
            }
            let time = |what: &str, text: &str| {
                parse_rfc3339(text).ok_or_else(|| format!("{at}.{what}: not an RFC 3339 date-time."))
            };
            records.scim.push(ScimRecord {
                kind,
                created: time("created", &r.created)?,
                last_modified: time("lastModified", &r.last_modified)?,
                id: r.id,
                unique_key: r.unique_key,
                external_id: r.external_id,
                display_name: r.display_name,
                version: r.version,
                members: r.members,
                attributes: r.attributes,
            });
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-01-15 10:00 UTC);

    fn jobs() -> Vec<String> {
        vec!["J".to_owned()]
    }

    fn refused(doc: &str) -> String {
        read(doc.as_bytes(), &jobs(), NOW).err().unwrap_or_else(|| panic!("accepted: {doc}"))
    }

    #[test]
    fn an_empty_snapshot_renders_with_its_version_and_every_section() {
        let mut records = StateRecords::default();
        records.jobs.push(SavedJob { job_id: "J".into(), run_state: None, schema: None });
        let text = String::from_utf8(render(&records)).unwrap();
        assert_eq!(
            text,
            r#"{"version":1,"jobs":[{"id":"J"}],"users":[],"pendingManagerReferences":[],"provisioningLogs":[],"stagedRequests":[],"scim":{"Users":[],"Groups":[]}}"#
        );
        let again = read(text.as_bytes(), &jobs(), NOW).unwrap();
        assert_eq!(render(&again), text.as_bytes());
    }

    #[test]
    fn staged_requests_and_scim_resources_read_back_the_same() {
        let status = serde_json::to_string(&JobStatus::default()).unwrap();
        let doc = r#"{"version":1,"jobs":[{"id":"J","runState":{"paused":true,"status":STATUS}}],"users":[],"pendingManagerReferences":[{"userId":"u","jobId":"J","sourceId":"E1","managerExternalId":"M1"}],"provisioningLogs":[],"stagedRequests":[{"jobId":"J","requestId":"r1","received":"2025-01-15T10:00:00.1234567Z","operations":[{"bulkId":"b","externalId":"E1","data":{"externalId":"E1","active":true}}]}],"scim":{"Users":[{"id":"s1","uniqueKey":"bjensen","version":2,"created":"2025-01-15T10:00:00.0000000Z","lastModified":"2025-01-15T10:00:01.0000000Z","attributes":{"userName":"bjensen"}}],"Groups":[{"id":"g1","displayName":"Ops","version":1,"created":"2025-01-15T10:00:00.0000000Z","lastModified":"2025-01-15T10:00:00.0000000Z","members":["s1"],"attributes":{"displayName":"Ops"}}]}}"#
            .replace("STATUS", &status);
        let records = read(doc.as_bytes(), &jobs(), NOW).unwrap();
        assert_eq!(records.staged[0].received, datetime!(2025-01-15 10:00:00.1234567 UTC));
        assert_eq!(String::from_utf8(render(&records)).unwrap(), doc);
    }

    #[test]
    fn a_seed_holds_users_only() {
        let records = read(br#"{"users":[{"employeeId":"1"}]}"#, &jobs(), NOW).unwrap();
        assert_eq!(records.users.len(), 1);
        assert!(records.jobs.is_empty() && records.staged.is_empty());
        assert_eq!(
            refused(r#"{"users":[],"jobs":[]}"#),
            "A document without a version is a seed and holds only users; a snapshot says \"version\": 1."
        );
    }

    #[test]
    fn documents_that_cannot_be_imported_name_the_problem() {
        assert_eq!(
            refused(r#"{"version":2}"#),
            "The document's version 2 is not supported; this emulator reads version 1."
        );
        assert_eq!(refused("[1]"), "The document must be a JSON object.");
        assert!(refused("{").starts_with("The document cannot be read: EOF while parsing"), "{}", refused("{"));
        assert!(refused(r#"{"version":1,"extra":1}"#).contains("unknown field `extra`"));
        assert_eq!(refused(r#"{"version":1,"jobs":[{"id":"K"}]}"#), "jobs[0].id: 'K' is not a configured job.");
        assert_eq!(refused(r#"{"version":1,"jobs":[{"id":"J"},{"id":"J"}]}"#), "jobs[1].id: 'J' appears twice.");
        assert!(refused(r#"{"version":1,"jobs":[{"id":"J","schema":{}}]}"#).starts_with("jobs[0].schema: "));
        assert!(
            refused(r#"{"version":1,"jobs":[{"id":"J","runState":{"paused":false,"status":7}}]}"#)
                .starts_with("jobs[0].runState.status: ")
        );
        assert_eq!(
            refused(
                r#"{"version":1,"stagedRequests":[{"jobId":"J","requestId":"r","received":"now","operations":[]}]}"#
            ),
            "stagedRequests[0].received: not an RFC 3339 date-time."
        );
        assert!(refused(r#"{"version":1,"provisioningLogs":[7]}"#).starts_with("provisioningLogs[0]: $: "));
        assert_eq!(refused(r#"{"users":[5]}"#), "users[0]: a user must be a JSON object.");
    }
}
