//! Reference resolution (docs/fidelity.md, A.2 "Manager"): after every export of the batch, each operation's
//! manager (by externalId) is set or remembered with a warning; references that were waiting for a manager
//! who has now arrived are set and logged as `update` entries.

use std::time::Instant;

use super::JobSettings;
use super::directory::Directory;
use super::export::Exported;
use super::prepare::new_entry;
use crate::provisioning::log::{
    Description, ModifiedProperty, ProvisioningAction, ProvisioningObjectSummary, ProvisioningResult, ProvisioningStep,
    StepType,
};
use crate::store::PendingReference;

/// The reference pass for one operation: set the manager, or remember it for later with a warning.
pub(super) fn resolve_manager(dir: &mut Directory<'_>, job: &JobSettings<'_>, op: &mut Exported) {
    let (Some(user_id), Some(manager_ext)) = (op.user_id.as_deref(), op.manager_external_id.as_deref()) else {
        return;
    };
    let entry = &mut op.entry;
    if entry.status == ProvisioningResult::Failure {
        return;
    }
    let Some(mut user) = dir.user(user_id).cloned() else { return };
    let source = entry.source_identity.id.clone();
    match dir.find("employeeId", manager_ext).map(|m| m.id.clone()) {
        Some(manager_id) if manager_id != user.id => {
            dir.remove_pending(&user.id);
            if user.manager_id.as_deref() != Some(manager_id.as_str()) {
                let old = user.manager_id.clone();
                match entry.modified_properties.iter_mut().find(|m| m.display_name == "manager") {
                    Some(set) => set.new_value = Some(manager_id.clone()),
                    None => entry.modified_properties.push(ModifiedProperty {
                        display_name: "manager".into(),
                        old_value: old,
                        new_value: Some(manager_id.clone()),
                    }),
                }
                user.manager_id = Some(manager_id.clone());
                promote_skip_to_update(entry, user.user_principal_name());
                dir.save(user);
            }
            entry.steps.push(
                ProvisioningStep::new(
                    "EntryReferenceResolution",
                    StepType::ReferenceResolution,
                    ProvisioningResult::Success,
                    Description::ManagerResolved { source, manager_id, manager_external_id: manager_ext.to_owned() },
                )
                .detail("manager", manager_ext),
            );
        }
        _ => {
            dir.add_pending(PendingReference {
                user_id: user.id.clone(),
                job_id: job.job_id.to_owned(),
                source_id: source.clone(),
                manager_external_id: manager_ext.to_owned(),
            });
            entry.steps.push(
                ProvisioningStep::new(
                    "EntryReferenceResolution",
                    StepType::ReferenceResolution,
                    ProvisioningResult::Warning,
                    Description::ManagerWaiting { source, manager_external_id: manager_ext.to_owned() },
                )
                .detail("manager", manager_ext),
            );
        }
    }
}

/// A redundant entry whose manager changed becomes an update after all.
fn promote_skip_to_update(entry: &mut ProvisioningObjectSummary, upn: &str) {
    if entry.action != ProvisioningAction::Other || entry.status != ProvisioningResult::Skipped {
        return;
    }
    entry.action = ProvisioningAction::Update;
    entry.status = ProvisioningResult::Success;
    if let Some(step) = entry.steps.iter_mut().find(|s| s.name == "EntrySynchronizationSkip") {
        let mappings = step.mappings.take();
        *step = ProvisioningStep::new(
            "EntryExportUpdate",
            StepType::Export,
            ProvisioningResult::Success,
            Description::Updated { upn: upn.to_owned() },
        )
        .detail("ReportableIdentifier", upn);
        step.mappings = mappings;
    }
}

/// References that waited for a manager who is now in the directory: set them, one `update` entry each.
pub(super) fn resolve_waiting_references(
    dir: &mut Directory<'_>,
    job: &JobSettings<'_>,
) -> Vec<(ProvisioningObjectSummary, Instant)> {
    let mut out = Vec::new();
    for p in dir.resolvable(job.job_id) {
        dir.remove_pending(&p.user_id);
        let Some(mut user) = dir.user(&p.user_id).cloned() else { continue };
        let Some(manager_id) = dir.find("employeeId", &p.manager_external_id).map(|m| m.id.clone()) else {
            continue;
        };
        if user.id == manager_id {
            continue;
        }
        let started = Instant::now();
        let upn = user.user_principal_name().to_owned();
        let source = p.source_id.clone();
        let mut entry = new_entry(job, &source, user.display_name());
        entry.target_identity.id.clone_from(&user.id);
        entry.target_identity.display_name = user.display_name().to_owned();
        entry.action = ProvisioningAction::Update;
        entry.modified_properties.push(ModifiedProperty {
            display_name: "manager".into(),
            old_value: user.manager_id.clone(),
            new_value: Some(manager_id.clone()),
        });
        entry.steps.push(ProvisioningStep::new(
            "EntrySynchronizationUpdate",
            StepType::Matching,
            ProvisioningResult::Success,
            Description::Matched { source: source.clone(), upn: upn.clone(), id: user.id.clone() },
        ));
        entry.steps.push(
            ProvisioningStep::new(
                "EntryExportUpdate",
                StepType::Export,
                ProvisioningResult::Success,
                Description::Updated { upn: upn.clone() },
            )
            .detail("ReportableIdentifier", upn),
        );
        entry.steps.push(
            ProvisioningStep::new(
                "EntryReferenceResolution",
                StepType::ReferenceResolution,
                ProvisioningResult::Success,
                Description::ManagerResolvedLater {
                    source,
                    manager_id: manager_id.clone(),
                    manager_external_id: p.manager_external_id.clone(),
                },
            )
            .detail("manager", p.manager_external_id.clone()),
        );
        user.manager_id = Some(manager_id);
        dir.save(user);
        out.push((entry, started));
    }
    out
}
