//! The directory part of one operation: matching, the create / update / disable / skip decision, the
//! directory rules (UPN, required properties) and the export step.

use rusqlite::Connection;
use time::OffsetDateTime;

use super::prepare::Prepared;
use super::{JobSettings, Work};
use crate::directory::{DirectoryUser, TargetValue, check_create};
use crate::provisioning::log_entry::{self, Action, Derived, Entry, ErrorInfo, Status, Step, TARGET_SYSTEM};
use crate::provisioning::schema::{CompiledMapping, CompiledSchema, FlowType};
use crate::store::staging::StagedOperation;
use crate::store::{StoreError, directory as users};

/// Matching, the create/update decision and the export: the directory part of one operation.
pub(super) fn apply(
    conn: &Connection,
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    op: &StagedOperation,
    prepared: Prepared,
    now: OffsetDateTime,
    block_disables: bool,
) -> Result<Work, StoreError> {
    let (mut work, values, mapped, match_value) = match prepared {
        Prepared::Done(work) => return Ok(work),
        Prepared::Ready { work, values, mapped, match_value } => (work, values, mapped, match_value),
    };
    let values: Vec<(&CompiledMapping, Option<TargetValue>)> =
        values.into_iter().filter_map(|(i, v)| Some((schema.mappings.get(i)?, v))).collect();
    let mut entry = std::mem::replace(&mut work.entry, Entry::new("", ""));
    let matching = &schema.mappings[schema.matching];
    let existing = match matching.target.as_str() {
        "employeeId" => users::find_by_employee_id(conn, &match_value)?,
        other => users::find_by_property(conn, other, &match_value)?,
    };
    let manager = Manager { external_id: work.manager_external_id.as_deref(), found: &mut work.manager_at_export };
    let result = match existing {
        None => create(conn, job, op, &values, manager, &match_value, &mut entry, now)?,
        Some(user) => update(conn, job, op, &values, manager, user, &mut entry, block_disables)?,
    };
    match result {
        Written::Nothing => {}
        Written::Unchanged(id) => work.user_id = Some(id),
        Written::Current(user) => {
            work.user_id = Some(user.id.clone());
            work.user = Some(user);
        }
    }
    if let Some(export) = entry.steps.last_mut()
        && export.kind == "export"
        && entry.status != Status::Failure
    {
        export.derived = Derived::Mappings;
        entry.mapped = mapped;
    }
    work.entry = entry;
    Ok(work)
}

/// What an operation left in the directory.
enum Written {
    /// No user (a failed create).
    Nothing,
    /// This user, as stored before the operation: the operation wrote nothing.
    Unchanged(String),
    /// This user as the store now holds it.
    Current(DirectoryUser),
}

/// An operation's manager (by externalId), and where the export records what it resolved to.
struct Manager<'a> {
    external_id: Option<&'a str>,
    found: &'a mut Option<Option<String>>,
}

/// Set the manager when it is already in the directory, so the user is written once; the reference pass
/// still runs after the batch's exports and finds a manager exported later in the batch.
fn set_known_manager(
    conn: &Connection,
    user: &mut DirectoryUser,
    manager: Manager<'_>,
    entry: &mut Entry,
) -> Result<bool, StoreError> {
    let Some(ext) = manager.external_id else { return Ok(false) };
    let found = users::id_by_employee_id(conn, ext)?;
    *manager.found = Some(found.clone());
    match found {
        Some(manager_id) if manager_id != user.id && user.manager_id.as_deref() != Some(manager_id.as_str()) => {
            entry.modified.push(("manager".into(), user.manager_id.clone(), Some(manager_id.clone())));
            user.manager_id = Some(manager_id);
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[allow(clippy::too_many_arguments)]
fn create(
    conn: &Connection,
    job: &JobSettings<'_>,
    op: &StagedOperation,
    values: &[(&CompiledMapping, Option<TargetValue>)],
    manager: Manager<'_>,
    match_value: &str,
    entry: &mut Entry,
    now: OffsetDateTime,
) -> Result<Written, StoreError> {
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
    let mut user = DirectoryUser::new(id.clone(), &crate::graph_time::graph_datetime(now));
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
            category: "nonServiceFailure".into(),
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
        return Ok(Written::Nothing);
    }
    set_known_manager(conn, &mut user, manager, entry)?;
    users::save(conn, &user)?;
    entry.modified.push(("objectId".into(), None, Some(id.clone())));
    entry.target_id = id;
    entry.steps.push(
        Step::new("EntryExportAdd", "export", Status::Success, format!("User '{upn}' was created in {TARGET_SYSTEM}"))
            .detail("ReportableIdentifier", upn),
    );
    Ok(Written::Current(user))
}

#[allow(clippy::too_many_arguments)]
fn update(
    conn: &Connection,
    job: &JobSettings<'_>,
    op: &StagedOperation,
    values: &[(&CompiledMapping, Option<TargetValue>)],
    manager: Manager<'_>,
    mut user: DirectoryUser,
    entry: &mut Entry,
    block_disables: bool,
) -> Result<Written, StoreError> {
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
        if !user.holds(&m.target, new) {
            let old = user.get(&m.target);
            entry.modified.push((m.target.clone(), old.map(|o| o.display()), Some(new.display())));
            user.set(&m.target, new);
            changed = true;
        }
    }
    changed |= set_known_manager(conn, &mut user, manager, entry)?;
    if !changed {
        entry.skip(
            format!(
                "The state of the user in both the source and target systems already match. No change to the User '{}' currently needs to be made.",
                op.external_id
            ),
            "RedundantExport",
        );
        return Ok(Written::Current(user));
    }
    if block_disables && was_enabled && !user.account_enabled() {
        entry.action = Action::StagedDelete;
        entry.status = Status::Skipped;
        entry.modified.clear();
        entry.steps.push(
            Step::new(
                "EntryExportStagedDelete",
                "export",
                Status::Skipped,
                format!(
                    "User '{upn_before}' was not disabled: this cycle would disable more users than the accidental-deletion threshold ({}) allows. The job is quarantined until it is restarted.",
                    job.deletion_threshold
                ),
            )
            .detail("SkipReason", "TooManyDeletes"),
        );
        return Ok(Written::Unchanged(user.id));
    }
    let upn = user.text("userPrincipalName").unwrap_or_default().to_owned();
    if !upn.eq_ignore_ascii_case(&upn_before) && users::upn_taken(conn, &upn, &user.id)? {
        entry.action = Action::Update;
        entry.modified.clear();
        let problem = crate::directory::CreateProblem::UpnTaken(upn.clone());
        entry.fail(ErrorInfo {
            code: problem.error_code().into(),
            category: "nonServiceFailure".into(),
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
        return Ok(Written::Unchanged(user.id));
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
    Ok(Written::Current(user))
}
