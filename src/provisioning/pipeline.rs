//! Processing one batch of staged operations, exactly the decisions of spec A.2: per operation
//! import → scoping → matching → mapping → action (create / update / disable / skip) → export; then, after
//! every export of the batch, reference resolution (so a manager anywhere in the batch is found), then the
//! references that were waiting for a manager who has now arrived. Directory writes, log entries and the
//! removal of the processed operations commit in one transaction.
//!
//! A failing operation never stops the batch: it becomes a `failure` entry.

use std::time::Instant;

use rusqlite::Connection;
use serde_json::Value;
use time::OffsetDateTime;

use super::log_entry::{self, Action, Common, Entry, ErrorInfo, Status, Step, TARGET_SYSTEM};
use super::schema::{CompiledMapping, CompiledSchema, FlowType};
use crate::directory::{DirectoryUser, TargetValue, check_create};
use crate::expr::{self, EvalContext};
use crate::store::staging::StagedOperation;
use crate::store::{StoreError, directory as users, logs, staging};

/// The job-level facts the pipeline needs.
#[derive(Debug, Clone)]
pub struct JobSettings<'a> {
    pub tenant_id: &'a str,
    pub default_domain: &'a str,
    pub verified_domains: &'a [String],
    pub job_id: &'a str,
    pub service_principal_id: &'a str,
    pub service_principal_name: &'a str,
    /// The real service imports an omitted `active` as False (spec A.2 quirk).
    pub omitted_active_disables: bool,
}

/// Counters of one processed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchResult {
    pub processed: usize,
    pub last_seq: i64,
    pub entries: usize,
    pub exported: usize,
    pub failed: usize,
    pub skipped: usize,
    pub disabled: usize,
    /// `activityDateTime` of the batch's last entry (the next batch starts after it).
    pub last_activity: Option<OffsetDateTime>,
}

/// One operation's state between the export pass and the reference pass.
struct Work {
    entry: Entry,
    user_id: Option<String>,
    manager_external_id: Option<String>,
    started: Instant,
}

/// Process `ops` (in order) in one transaction.
pub fn process_batch(
    conn: &mut Connection,
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    ops: &[StagedOperation],
    now: OffsetDateTime,
    cycle_id: &str,
) -> Result<BatchResult, StoreError> {
    let tx = conn.transaction()?;
    let ctx = EvalContext::new(now, job.default_domain);
    let mut work = Vec::with_capacity(ops.len());
    for op in ops {
        work.push(process_operation(&tx, job, schema, op, &ctx)?);
    }
    for w in &mut work {
        resolve_manager(&tx, job, w)?;
        w.entry.duration_ms = u64::try_from(w.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    }
    let mut entries: Vec<Entry> = work.into_iter().map(|w| w.entry).collect();
    entries.extend(resolve_waiting_references(&tx, job)?);

    let mut result = BatchResult {
        processed: ops.len(),
        last_seq: ops.last().map_or(0, |o| o.seq),
        entries: entries.len(),
        ..BatchResult::default()
    };
    let activity = crate::graph_time::graph_datetime(now);
    let common = Common {
        tenant_id: job.tenant_id,
        job_id: job.job_id,
        cycle_id,
        service_principal_id: job.service_principal_id,
        service_principal_name: job.service_principal_name,
        activity: &activity,
    };
    for (i, entry) in entries.iter().enumerate() {
        match entry.status {
            Status::Failure => result.failed += 1,
            Status::Skipped => result.skipped += 1,
            _ if entry.action != Action::Other => result.exported += 1,
            _ => {}
        }
        if entry.action == Action::Disable {
            result.disabled += 1;
        }
        // One 100 ns tick apart, so entries keep processing order under `activityDateTime desc`.
        let at = now + time::Duration::nanoseconds(100 * i64::try_from(i).unwrap_or(0));
        logs::insert(&tx, &log_entry::render(entry, &common), &crate::odata::datetime_key(at))?;
        result.last_activity = Some(at);
    }
    if let Some(last) = ops.last() {
        staging::remove_through(&tx, job.job_id, last.seq)?;
    }
    tx.commit()?;
    Ok(result)
}

fn process_operation(
    conn: &Connection,
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    op: &StagedOperation,
    ctx: &EvalContext<'_>,
) -> Result<Work, StoreError> {
    let started = Instant::now();
    let mut record = op.data.clone();
    let active_omitted = record.get("active").is_none_or(Value::is_null);
    if active_omitted
        && job.omitted_active_disables
        && let Some(obj) = record.as_object_mut()
    {
        obj.insert("active".into(), Value::Bool(false));
    }
    let display = record.get("displayName").and_then(Value::as_str).unwrap_or_default();
    let mut entry = Entry::new(&op.external_id, display);
    let mut work = Work { entry: Entry::new("", ""), user_id: None, manager_external_id: None, started };

    let mut import = Step::new(
        "EntryImport",
        "import",
        Status::Success,
        format!("Received User '{}' from {}", op.external_id, log_entry::SOURCE_SYSTEM),
    );
    import.details = flatten(&record);
    if active_omitted && job.omitted_active_disables {
        import.details.push((
            "Note".into(),
            "'active' was not sent and is imported as False (this disables the user; send active:true to keep it enabled)".into(),
        ));
    }
    entry.steps.push(import);

    // Scoping.
    let active_text = record.get("active").map_or("False".into(), |v| match v {
        Value::Bool(true) => "True".to_owned(),
        Value::String(s) if s.eq_ignore_ascii_case("true") => "True".to_owned(),
        _ => "False".to_owned(),
    });
    let scope = schema.scope.as_ref().map(|f| f.evaluate(&record, ctx));
    let in_scope = scope.as_ref().is_none_or(|s| s.in_scope);
    let mut scoping = Step::new(
        "EntrySynchronizationScoping",
        "scoping",
        if in_scope { Status::Success } else { Status::Skipped },
        "Determine if User in scope by evaluating against each scoping filter",
    )
    .detail("Active in the source system", active_text)
    .detail("Scoping filter evaluation passed", if in_scope { "True" } else { "False" });
    if let Some(s) = scope {
        scoping.details.extend(s.details);
    }
    entry.steps.push(scoping);
    if !in_scope {
        entry.action = Action::Other;
        entry.status = Status::Skipped;
        entry.steps.push(
            Step::new(
                "EntrySynchronizationSkip",
                "export",
                Status::Skipped,
                format!("User '{}' is out of scope of the scoping filter; it was skipped.", op.external_id),
            )
            .detail("SkipReason", "NotEffectivelyEntitled"),
        );
        work.entry = entry;
        return Ok(work);
    }

    // Mapping: evaluate every attribute mapping once.
    let mut values: Vec<(&CompiledMapping, Option<TargetValue>)> = Vec::with_capacity(schema.mappings.len());
    let mut mapping_details = Vec::with_capacity(schema.mappings.len());
    for m in &schema.mappings {
        match expr::evaluate(&m.expr, &record, ctx) {
            Ok(ev) if ev.ignore_flow => {
                mapping_details.push((m.target.clone(), format!("{} = (flow ignored)", m.expression)))
            }
            Ok(ev) => {
                let mut v = TargetValue::for_target(&m.target, &ev.value);
                if v.is_none()
                    && let Some(d) = &m.default_value
                {
                    v = Some(TargetValue::Text(d.clone()));
                }
                let shown = if m.expr.is_redacted() {
                    "[Redact]".to_owned()
                } else {
                    v.as_ref().map_or("(null)".to_owned(), |v| format!("\"{}\"", v.display()))
                };
                mapping_details.push((m.target.clone(), format!("{} = {shown}", m.expression)));
                values.push((m, v));
            }
            Err(e) => {
                entry.fail(ErrorInfo {
                    code: "AttributeMappingEvaluationFailed".into(),
                    category: "nonServiceFailure",
                    reason: format!("The expression for '{}' failed: {e}", m.target),
                    recommended_action: Some("Fix the attribute mapping expression or the source record.".into()),
                });
                entry.steps.push(Step::new(
                    "EntryExportAdd",
                    "export",
                    Status::Failure,
                    format!("Failed to evaluate the mapping for '{}' of User '{}'", m.target, op.external_id),
                ));
                work.entry = entry;
                return Ok(work);
            }
        }
    }
    let matching = &schema.mappings[schema.matching];
    let match_value = values.iter().find(|(m, _)| std::ptr::eq(*m, matching)).and_then(|(_, v)| v.clone());
    let Some(match_value) = match_value.map(|v| v.display()) else {
        entry.fail(ErrorInfo {
            code: "AzureActiveDirectoryRequiredPropertyMissing".into(),
            category: "nonServiceFailure",
            reason: format!("The matching attribute '{}' has no value.", matching.target),
            recommended_action: None,
        });
        entry.steps.push(Step::new("EntrySynchronizationError", "matching", Status::Failure, "No matching value"));
        work.entry = entry;
        return Ok(work);
    };
    work.manager_external_id = values
        .iter()
        .find(|(m, _)| m.target == "manager")
        .and_then(|(_, v)| v.as_ref())
        .map(TargetValue::display)
        .filter(|v| !v.is_empty());

    let existing = match matching.target.as_str() {
        "employeeId" => users::find_by_employee_id(conn, &match_value)?,
        other => users::find_by_property(conn, other, &match_value)?,
    };
    let result = match existing {
        None => create(conn, job, op, &values, &match_value, &mut entry, ctx)?,
        Some(user) => update(conn, op, &values, user, &mut entry)?,
    };
    work.user_id = result;
    if let Some(export) = entry.steps.last_mut()
        && export.kind == "export"
        && entry.status != Status::Failure
    {
        export.details.extend(mapping_details);
    }
    work.entry = entry;
    Ok(work)
}

fn create(
    conn: &Connection,
    job: &JobSettings<'_>,
    op: &StagedOperation,
    values: &[(&CompiledMapping, Option<TargetValue>)],
    match_value: &str,
    entry: &mut Entry,
    ctx: &EvalContext<'_>,
) -> Result<Option<String>, StoreError> {
    entry.action = Action::Create;
    entry.steps.push(
        Step::new(
            "EntrySynchronizationAdd",
            "matching",
            Status::Success,
            format!(
                "User '{}' will be created in {TARGET_SYSTEM} (User is active and assigned in {}, but no matching User was found in {TARGET_SYSTEM})",
                op.external_id,
                log_entry::SOURCE_SYSTEM
            ),
        )
        .detail("MatchingValue", match_value),
    );
    let id = uuid::Uuid::new_v4().to_string();
    let mut user = DirectoryUser::new(id.clone(), &crate::graph_time::graph_datetime(ctx.now));
    for (m, v) in values {
        if m.target == "manager" {
            continue;
        }
        if let Some(v) = v {
            user.set(&m.target, v);
            entry.modified.push((m.target.clone(), None, Some(v.display())));
        }
    }
    let upn = user.text("userPrincipalName").unwrap_or_default().to_owned();
    let taken = !upn.is_empty() && users::upn_taken(conn, &upn, &id)?;
    entry.target_display_name = user.text("displayName").unwrap_or_default().to_owned();
    if let Err(problem) = check_create(&user, job.verified_domains, taken) {
        entry.modified.clear();
        entry.fail(ErrorInfo {
            code: problem.error_code().into(),
            category: "nonServiceFailure",
            reason: problem.reason(),
            recommended_action: None,
        });
        entry.target_display_name.clear();
        entry.steps.push(
            Step::new(
                "EntryExportAdd",
                "export",
                Status::Failure,
                format!(
                    "Failed to create User '{}' in {TARGET_SYSTEM}",
                    if upn.is_empty() { &op.external_id } else { &upn }
                ),
            )
            .detail("ReportableIdentifier", if upn.is_empty() { op.external_id.clone() } else { upn }),
        );
        return Ok(None);
    }
    users::save(conn, &user)?;
    entry.modified.push(("objectId".into(), None, Some(id.clone())));
    entry.target_id = id.clone();
    entry.steps.push(
        Step::new("EntryExportAdd", "export", Status::Success, format!("User '{upn}' was created in {TARGET_SYSTEM}"))
            .detail("ReportableIdentifier", upn),
    );
    Ok(Some(id))
}

fn update(
    conn: &Connection,
    op: &StagedOperation,
    values: &[(&CompiledMapping, Option<TargetValue>)],
    mut user: DirectoryUser,
    entry: &mut Entry,
) -> Result<Option<String>, StoreError> {
    let upn_before = user.text("userPrincipalName").unwrap_or_default().to_owned();
    entry.target_id = user.id.clone();
    entry.target_display_name = user.text("displayName").unwrap_or_default().to_owned();
    entry.steps.push(Step::new(
        "EntrySynchronizationUpdate",
        "matching",
        Status::Success,
        format!("User '{}' matched User '{upn_before}' ({}) in {TARGET_SYSTEM}", op.external_id, user.id),
    ));
    let was_enabled = user.account_enabled();
    let mut changed = false;
    for (m, v) in values {
        let Some(new) = v else { continue }; // null values never flow
        let skip = match m.flow_type {
            FlowType::ObjectAddOnly => true,
            FlowType::AttributeAddOnly => user.get(&m.target).is_some(),
            _ => m.target == "manager",
        };
        if skip {
            continue;
        }
        let old = user.get(&m.target);
        if old.as_ref() != Some(new) {
            entry.modified.push((m.target.clone(), old.map(|o| o.display()), Some(new.display())));
            user.set(&m.target, new);
            changed = true;
        }
    }
    if !changed {
        entry.action = Action::Other;
        entry.status = Status::Skipped;
        entry.steps.push(
            Step::new(
                "EntrySynchronizationSkip",
                "export",
                Status::Skipped,
                format!(
                    "The state of the user in both the source and target systems already match. No change to the User '{}' currently needs to be made.",
                    op.external_id
                ),
            )
            .detail("SkipReason", "RedundantExport"),
        );
        return Ok(Some(user.id));
    }
    let upn = user.text("userPrincipalName").unwrap_or_default().to_owned();
    if !upn.eq_ignore_ascii_case(&upn_before) && users::upn_taken(conn, &upn, &user.id)? {
        entry.action = Action::Update;
        entry.modified.clear();
        let problem = crate::directory::CreateProblem::UpnTaken(upn.clone());
        entry.fail(ErrorInfo {
            code: problem.error_code().into(),
            category: "nonServiceFailure",
            reason: problem.reason(),
            recommended_action: None,
        });
        entry.steps.push(
            Step::new(
                "EntryExportUpdate",
                "export",
                Status::Failure,
                format!("Failed to update User '{upn_before}' in {TARGET_SYSTEM}"),
            )
            .detail("ReportableIdentifier", upn_before),
        );
        return Ok(Some(user.id));
    }
    users::save(conn, &user)?;
    entry.target_display_name = user.text("displayName").unwrap_or_default().to_owned();
    let disabling = was_enabled && !user.account_enabled();
    entry.action = if disabling { Action::Disable } else { Action::Update };
    let verb = if disabling { "disabled" } else { "updated" };
    entry.steps.push(
        Step::new(
            "EntryExportUpdate",
            "export",
            Status::Success,
            format!("User '{upn}' was {verb} in {TARGET_SYSTEM}"),
        )
        .detail("ReportableIdentifier", upn),
    );
    Ok(Some(user.id))
}

/// The reference pass for one operation: set the manager, or remember it for later with a warning.
fn resolve_manager(conn: &Connection, job: &JobSettings<'_>, w: &mut Work) -> Result<(), StoreError> {
    let (Some(user_id), Some(manager_ext)) = (w.user_id.as_deref(), w.manager_external_id.as_deref()) else {
        return Ok(());
    };
    if w.entry.status == Status::Failure {
        return Ok(());
    }
    // Re-read: a later operation of this batch may have changed the same user.
    let Some(mut user) = users::find_by_id(conn, user_id)? else { return Ok(()) };
    match users::id_by_employee_id(conn, manager_ext)? {
        Some(manager_id) if manager_id != user.id => {
            users::remove_pending_reference(conn, &user.id)?;
            if user.manager_id.as_deref() != Some(manager_id.as_str()) {
                w.entry.modified.push(("manager".into(), user.manager_id.clone(), Some(manager_id.clone())));
                user.manager_id = Some(manager_id.clone());
                users::save(conn, &user)?;
                promote_skip_to_update(&mut w.entry, &user);
            }
            w.entry.steps.push(
                Step::new(
                    "EntryReferenceResolution",
                    "referenceResolution",
                    Status::Success,
                    format!(
                        "Reference 'manager' of User '{}' resolved to User '{manager_id}' (externalId '{manager_ext}')",
                        w.entry.source_id
                    ),
                )
                .detail("manager", manager_ext),
            );
        }
        _ => {
            users::add_pending_reference(conn, &user.id, job.job_id, &w.entry.source_id, manager_ext)?;
            w.entry.steps.push(
                Step::new(
                    "EntryReferenceResolution",
                    "referenceResolution",
                    Status::Warning,
                    format!(
                        "The manager of User '{}' (externalId '{manager_ext}') is not in {TARGET_SYSTEM} yet, so the reference was not set. It will be set when a User with employeeId '{manager_ext}' is provisioned.",
                        w.entry.source_id
                    ),
                )
                .detail("manager", manager_ext),
            );
        }
    }
    Ok(())
}

/// A redundant entry whose manager changed becomes an update after all.
fn promote_skip_to_update(entry: &mut Entry, user: &DirectoryUser) {
    if entry.action != Action::Other || entry.status != Status::Skipped {
        return;
    }
    entry.action = Action::Update;
    entry.status = Status::Success;
    let upn = user.text("userPrincipalName").unwrap_or_default().to_owned();
    if let Some(step) = entry.steps.iter_mut().find(|s| s.name == "EntrySynchronizationSkip") {
        *step = Step::new(
            "EntryExportUpdate",
            "export",
            Status::Success,
            format!("User '{upn}' was updated in {TARGET_SYSTEM}"),
        )
        .detail("ReportableIdentifier", upn);
    }
}

/// References that waited for a manager who is now in the directory: set them, one `update` entry each.
fn resolve_waiting_references(conn: &Connection, job: &JobSettings<'_>) -> Result<Vec<Entry>, StoreError> {
    let mut out = Vec::new();
    for (user_id, job_id, source_id, manager_ext, manager_id) in users::resolvable_references(conn)? {
        if job_id != job.job_id {
            continue;
        }
        users::remove_pending_reference(conn, &user_id)?;
        let Some(mut user) = users::find_by_id(conn, &user_id)? else { continue };
        if user.id == manager_id {
            continue;
        }
        let started = Instant::now();
        let upn = user.text("userPrincipalName").unwrap_or_default().to_owned();
        let mut entry = Entry::new(&source_id, user.text("displayName").unwrap_or_default());
        entry.target_id = user.id.clone();
        entry.target_display_name = entry.source_display_name.clone();
        entry.action = Action::Update;
        entry.modified.push(("manager".into(), user.manager_id.clone(), Some(manager_id.clone())));
        user.manager_id = Some(manager_id.clone());
        users::save(conn, &user)?;
        entry.steps.push(Step::new(
            "EntrySynchronizationUpdate",
            "matching",
            Status::Success,
            format!("User '{source_id}' matched User '{upn}' ({}) in {TARGET_SYSTEM}", user.id),
        ));
        entry.steps.push(
            Step::new(
                "EntryExportUpdate",
                "export",
                Status::Success,
                format!("User '{upn}' was updated in {TARGET_SYSTEM}"),
            )
            .detail("ReportableIdentifier", upn),
        );
        entry.steps.push(
            Step::new(
                "EntryReferenceResolution",
                "referenceResolution",
                Status::Success,
                format!(
                    "Reference 'manager' of User '{source_id}' resolved to User '{manager_id}' (externalId '{manager_ext}'). It had been waiting because that manager was not provisioned when User '{source_id}' was processed."
                ),
            )
            .detail("manager", manager_ext),
        );
        entry.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        out.push(entry);
    }
    Ok(out)
}

/// The imported record as `key → value` pairs for the import step (`name.givenName`,
/// `emails[type eq "work"].value`, `urn:…:User:department`).
fn flatten(record: &Value) -> Vec<(String, String)> {
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
