//! Reference resolution (spec A.2 "Manager"): after every export of the batch, each operation's manager
//! (by externalId) is set or remembered with a warning; references that were waiting for a manager who has
//! now arrived are set and logged as `update` entries.

use std::time::Instant;

use rusqlite::Connection;

use super::{JobSettings, Work};
use crate::directory::DirectoryUser;
use crate::provisioning::log_entry::{Action, Entry, Status, Step, TARGET_SYSTEM};
use crate::store::{StoreError, directory as users};

/// Whether a manager reference can be waiting: false while the store held none when the pass began and the
/// pass added none, so a matched user's waiting reference needs no delete.
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingReferences {
    pub(super) any: bool,
}

/// The reference pass for one operation: set the manager, or remember it for later with a warning.
pub(super) fn resolve_manager(
    conn: &Connection,
    job: &JobSettings<'_>,
    w: &mut Work,
    pending: &mut PendingReferences,
) -> Result<(), StoreError> {
    let (Some(user_id), Some(manager_ext)) = (w.user_id.as_deref(), w.manager_external_id.as_deref()) else {
        return Ok(());
    };
    if w.entry.status == Status::Failure {
        return Ok(());
    }
    // The user as the export left it; re-read when that is not known to be current.
    let mut user = match w.user.take() {
        Some(user) => user,
        None => match users::find_by_id(conn, user_id)? {
            Some(user) => user,
            None => return Ok(()),
        },
    };
    // The export's lookup when it still holds (see `run_pass`).
    let found = match w.manager_at_export.take() {
        Some(found) => found,
        None => users::id_by_employee_id(conn, manager_ext)?,
    };
    match found {
        Some(manager_id) if manager_id != user.id => {
            // A user this operation created cannot have a reference waiting.
            if w.entry.action != Action::Create && pending.any {
                users::remove_pending_reference(conn, &user.id)?;
            }
            if user.manager_id.as_deref() != Some(manager_id.as_str()) {
                let change = ("manager".to_owned(), user.manager_id.clone(), Some(manager_id.clone()));
                match w.entry.modified.iter_mut().find(|(name, _, _)| name == "manager") {
                    Some(set) => set.2 = change.2,
                    None => w.entry.modified.push(change),
                }
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
            pending.any = true;
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
pub(super) fn resolve_waiting_references(conn: &Connection, job: &JobSettings<'_>) -> Result<Vec<Entry>, StoreError> {
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
