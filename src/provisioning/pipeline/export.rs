//! The directory part of one operation: matching, the create / update / disable / skip decision, the
//! directory rules (required properties, the values Graph accepts, the UPN) and the export step
//! (docs/fidelity.md, A.2). A write the rules refuse fails the operation and writes nothing.

use time::OffsetDateTime;

use super::JobSettings;
use super::directory::Directory;
use super::prepare::{Mapped, PreparedOperation, fail, skip};
use crate::directory::{DirectoryUser, WriteProblem, check_create, check_update};
use crate::provisioning::log::{
    Description, EvaluatedMappings, ModifiedProperty, ProvisioningAction, ProvisioningObjectSummary,
    ProvisioningResult, ProvisioningStep, StepType,
};
use crate::provisioning::schema::{CompiledSchema, FlowType};

/// An operation after its export: its entry and the user it left current (for the reference pass).
#[derive(Debug)]
pub(super) struct Exported {
    pub(super) entry: ProvisioningObjectSummary,
    pub(super) started: std::time::Instant,
    pub(super) user_id: Option<String>,
    pub(super) manager_external_id: Option<String>,
}

/// Matching, the create/update decision and the export.
pub(super) fn export(
    dir: &mut Directory<'_>,
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    op: PreparedOperation,
    now: OffsetDateTime,
    block_disables: bool,
) -> Exported {
    let PreparedOperation { mut entry, started, mapped } = op;
    let Some(mapped) = mapped else {
        return Exported { entry, started, user_id: None, manager_external_id: None };
    };
    let matching = &schema.mappings[schema.matching];
    let existing = dir.find(&matching.target, &mapped.match_value).cloned();
    let user_id = match existing {
        None => create(dir, job, schema, &mapped, &mut entry, now),
        Some(user) => Some(update(dir, job, schema, &mapped, user, &mut entry, block_disables)),
    };
    if let Some(export) = entry.steps.last_mut()
        && export.step_type == StepType::Export
        && entry.status != ProvisioningResult::Failure
    {
        export.mappings =
            Some(EvaluatedMappings { set: std::sync::Arc::clone(&schema.mapping_set), values: mapped.shown });
    }
    Exported { entry, started, user_id, manager_external_id: mapped.manager_external_id }
}

/// Sets the manager when it is already in the directory, so the user is written once; the reference pass
/// still runs after the batch's exports and finds a manager exported later in the batch.
fn set_known_manager(
    dir: &Directory<'_>,
    user: &mut DirectoryUser,
    manager_external_id: Option<&str>,
    entry: &mut ProvisioningObjectSummary,
) -> bool {
    let Some(ext) = manager_external_id else { return false };
    match dir.find("employeeId", ext).map(|m| m.id.clone()) {
        Some(manager_id) if manager_id != user.id && user.manager_id.as_deref() != Some(manager_id.as_str()) => {
            entry.modified_properties.push(ModifiedProperty {
                display_name: "manager".into(),
                old_value: user.manager_id.clone(),
                new_value: Some(manager_id.clone()),
            });
            user.manager_id = Some(manager_id);
            true
        }
        _ => false,
    }
}

fn export_step(
    name: &'static str,
    status: ProvisioningResult,
    description: Description,
    who: String,
) -> ProvisioningStep {
    ProvisioningStep::new(name, StepType::Export, status, description).detail("ReportableIdentifier", who)
}

fn create(
    dir: &mut Directory<'_>,
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    mapped: &Mapped,
    entry: &mut ProvisioningObjectSummary,
    now: OffsetDateTime,
) -> Option<String> {
    let source = entry.source_identity.id.clone();
    entry.action = ProvisioningAction::Create;
    let id = uuid::Uuid::new_v4().to_string();
    let mut user = DirectoryUser::new(id.clone(), now);
    for (i, v) in &mapped.values {
        let target = &schema.mappings[*i].target;
        if target == "manager" {
            continue;
        }
        if let Some(v) = v {
            user.set(target, v);
            entry.modified_properties.push(ModifiedProperty {
                display_name: target.clone(),
                old_value: None,
                new_value: Some(v.display()),
            });
        }
    }
    entry.steps.push(
        ProvisioningStep::new(
            "EntrySynchronizationAdd",
            StepType::Matching,
            ProvisioningResult::Success,
            Description::WillCreate { source: source.clone(), enabled: user.account_enabled },
        )
        .detail("MatchingValue", mapped.match_value.clone()),
    );
    let upn = user.user_principal_name().to_owned();
    let taken = !upn.is_empty() && dir.upn_taken(&upn, &id);
    if let Err(problem) = check_create(&user, job.verified_domains, taken) {
        entry.modified_properties.clear();
        fail(entry, problem.error_code(), "nonServiceFailure", problem.reason(), None);
        // An invalid UPN may be anything (a NUL, 64 KiB): the record is named by its externalId instead.
        let invalid_upn = matches!(problem, WriteProblem::InvalidUserPrincipalName(_));
        let who = if upn.is_empty() || invalid_upn { source } else { upn };
        entry.steps.push(export_step(
            "EntryExportAdd",
            ProvisioningResult::Failure,
            Description::CreateFailed { who: who.clone() },
            who,
        ));
        return None;
    }
    entry.target_identity.display_name = user.display_name().to_owned();
    set_known_manager(dir, &mut user, mapped.manager_external_id.as_deref(), entry);
    dir.save(user);
    entry.modified_properties.push(ModifiedProperty {
        display_name: "objectId".into(),
        old_value: None,
        new_value: Some(id.clone()),
    });
    entry.target_identity.id.clone_from(&id);
    entry.steps.push(export_step(
        "EntryExportAdd",
        ProvisioningResult::Success,
        Description::Created { upn: upn.clone() },
        upn,
    ));
    Some(id)
}

fn update(
    dir: &mut Directory<'_>,
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    mapped: &Mapped,
    mut user: DirectoryUser,
    entry: &mut ProvisioningObjectSummary,
    block_disables: bool,
) -> String {
    let source = entry.source_identity.id.clone();
    let upn_before = user.user_principal_name().to_owned();
    entry.target_identity.id.clone_from(&user.id);
    entry.target_identity.display_name = user.display_name().to_owned();
    entry.steps.push(ProvisioningStep::new(
        "EntrySynchronizationUpdate",
        StepType::Matching,
        ProvisioningResult::Success,
        Description::Matched { source: source.clone(), upn: upn_before.clone(), id: user.id.clone() },
    ));
    let was_enabled = user.account_enabled;
    let mut changed = false;
    let mut targets: Vec<&str> = Vec::new();
    for (i, v) in &mapped.values {
        let Some(new) = v else { continue }; // null values never flow
        let m = &schema.mappings[*i];
        let skip_it = match m.flow_type {
            FlowType::ObjectAddOnly => true,
            FlowType::AttributeAddOnly => user.get(&m.target).is_some(),
            _ => m.target == "manager",
        };
        if skip_it || user.holds(&m.target, new) {
            continue;
        }
        entry.modified_properties.push(ModifiedProperty {
            display_name: m.target.clone(),
            old_value: user.get(&m.target).map(|o| o.display()),
            new_value: Some(new.display()),
        });
        user.set(&m.target, new);
        targets.push(&m.target);
        changed = true;
    }
    changed |= set_known_manager(dir, &mut user, mapped.manager_external_id.as_deref(), entry);
    let id = user.id.clone();
    if !changed {
        skip(entry, Description::Redundant { source }, "RedundantExport");
        return id;
    }
    if block_disables && was_enabled && !user.account_enabled {
        entry.action = ProvisioningAction::StagedDelete;
        entry.status = ProvisioningResult::Skipped;
        entry.modified_properties.clear();
        entry.steps.push(
            ProvisioningStep::new(
                "EntryExportStagedDelete",
                StepType::Export,
                ProvisioningResult::Skipped,
                Description::DeletionThresholdExceeded {
                    upn: upn_before,
                    threshold: u64::try_from(job.deletion_threshold).unwrap_or(u64::MAX),
                },
            )
            .detail("SkipReason", "TooManyDeletes"),
        );
        return id;
    }
    let upn = user.user_principal_name().to_owned();
    let taken = !upn.eq_ignore_ascii_case(&upn_before) && dir.upn_taken(&upn, &user.id);
    if let Err(problem) = check_update(&user, &targets, job.verified_domains, taken) {
        entry.action = ProvisioningAction::Update;
        entry.modified_properties.clear();
        fail(entry, problem.error_code(), "nonServiceFailure", problem.reason(), None);
        entry.steps.push(export_step(
            "EntryExportUpdate",
            ProvisioningResult::Failure,
            Description::UpdateFailed { upn: upn_before.clone() },
            upn_before,
        ));
        return id;
    }
    entry.target_identity.display_name = user.display_name().to_owned();
    let disabling = was_enabled && !user.account_enabled;
    entry.action = if disabling { ProvisioningAction::Disable } else { ProvisioningAction::Update };
    let description =
        if disabling { Description::Disabled { upn: upn.clone() } } else { Description::Updated { upn: upn.clone() } };
    entry.steps.push(export_step("EntryExportUpdate", ProvisioningResult::Success, description, upn));
    dir.save(user);
    id
}
