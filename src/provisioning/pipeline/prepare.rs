//! The record-only steps of one operation (import, scoping, mapping): no directory access, so a batch runs
//! them on every core before its unit of work, and learns from them which directory keys it will need.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;

use super::JobSettings;
use crate::directory::TargetValue;
use crate::expr::{self, EvalContext};
use crate::provisioning::log::{
    Description, ProvisionedIdentity, ProvisioningAction, ProvisioningErrorInfo, ProvisioningObjectSummary,
    ProvisioningResult, ProvisioningStep, Shown, StepType,
};
use crate::provisioning::schema::CompiledSchema;
use crate::scim::record::{self, Record};
use crate::store::StagedOperation;

/// The import step's note when an omitted `active` was imported as False (the real service's quirk).
pub const ACTIVE_OMITTED_NOTE: &str =
    "'active' was not sent and is imported as False (this disables the user; send active:true to keep it enabled)";

/// One operation after the record-only steps.
#[derive(Debug, Clone)]
pub(super) struct PreparedOperation {
    pub(super) entry: ProvisioningObjectSummary,
    pub(super) started: Instant,
    /// `None` when nothing reaches the directory (out of scope, or a mapping failed): the entry is complete.
    pub(super) mapped: Option<Mapped>,
}

/// What the mappings produced.
#[derive(Debug, Clone)]
pub(super) struct Mapped {
    /// Each evaluated mapping (index into the schema's mappings) and its value; null values never flow.
    pub(super) values: Vec<(usize, Option<TargetValue>)>,
    /// Each mapping's value as the export step shows it.
    pub(super) shown: Vec<Shown>,
    /// The matching mapping's value.
    pub(super) match_value: String,
    pub(super) manager_external_id: Option<String>,
}

impl Mapped {
    /// The value mapped to `target`, if any mapping produced one.
    pub(super) fn value_of(&self, schema: &CompiledSchema, target: &str) -> Option<&TargetValue> {
        self.values.iter().find(|(i, _)| schema.mappings[*i].target == target).and_then(|(_, v)| v.as_ref())
    }
}

/// A new entry of `job` for `source` (envelope fields are set when the batch commits).
pub(super) fn new_entry(job: &JobSettings<'_>, source: &str, display_name: &str) -> ProvisioningObjectSummary {
    ProvisioningObjectSummary {
        id: String::new(),
        activity_date_time: OffsetDateTime::UNIX_EPOCH,
        context: Arc::clone(&job.context),
        cycle_id: String::new(),
        change_id: String::new(),
        duration_in_milliseconds: 0,
        action: ProvisioningAction::Other,
        status: ProvisioningResult::Success,
        error: None,
        source_identity: ProvisionedIdentity::user(source, display_name),
        target_identity: ProvisionedIdentity::user("", ""),
        steps: Vec::with_capacity(5),
        modified_properties: Vec::new(),
    }
}

/// Ends `entry` as failed with `error`.
pub(super) fn fail(
    entry: &mut ProvisioningObjectSummary,
    code: &str,
    category: &str,
    reason: String,
    action: Option<&str>,
) {
    entry.status = ProvisioningResult::Failure;
    entry.error = Some(ProvisioningErrorInfo {
        error_code: code.to_owned(),
        error_category: category.to_owned(),
        reason,
        additional_details: None,
        recommended_action: action.map(str::to_owned),
    });
}

/// Ends `entry` as skipped (action `other`) with an `EntrySynchronizationSkip` export step.
pub(super) fn skip(entry: &mut ProvisioningObjectSummary, description: Description, reason: &'static str) {
    entry.action = ProvisioningAction::Other;
    entry.status = ProvisioningResult::Skipped;
    entry.steps.push(
        ProvisioningStep::new("EntrySynchronizationSkip", StepType::Export, ProvisioningResult::Skipped, description)
            .detail("SkipReason", reason),
    );
}

/// The steps that depend on the record alone: safe to run in parallel.
pub(super) fn prepare(
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    op: &StagedOperation,
    now: OffsetDateTime,
) -> PreparedOperation {
    let started = Instant::now();
    let source = op.external_id.as_str();
    let mut record = match record::parse(&op.data) {
        Ok(record) => record,
        Err(e) => {
            // The bulkUpload validated the record, so only a damaged store gets here.
            let mut entry = new_entry(job, source, "");
            fail(
                &mut entry,
                "StagedOperationUnreadable",
                "failure",
                format!("The staged operation could not be read back from the store: {e}"),
                Some("Send the record again."),
            );
            entry.steps.push(ProvisioningStep::new(
                "EntryImport",
                StepType::Import,
                ProvisioningResult::Failure,
                Description::Unreadable { source: source.to_owned() },
            ));
            return PreparedOperation { entry, started, mapped: None };
        }
    };
    let active_imported_false = record.get("active").is_null() && job.omitted_active_disables;
    if active_imported_false && let Record::Object(o) = &mut record {
        o.insert("active", Record::Bool(false));
    }
    let record = &record;
    let mut entry = new_entry(job, source, record.get("displayName").as_str().unwrap_or_default());

    let mut import = ProvisioningStep::new(
        "EntryImport",
        StepType::Import,
        ProvisioningResult::Success,
        Description::Received { source: source.to_owned() },
    );
    import.details = record::flatten(record).into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect();
    if active_imported_false {
        import.details.push((Cow::Borrowed("Note"), ACTIVE_OMITTED_NOTE.to_owned()));
    }
    entry.steps.push(import);

    // Scoping.
    let active = match record.get("active") {
        Record::Bool(true) => "True",
        Record::Str(s) if s.eq_ignore_ascii_case("true") => "True",
        _ => "False",
    };
    let ctx = &EvalContext::new(now, job.default_domain);
    let scope = schema.scope.as_ref().map(|f| f.evaluate(record, ctx));
    let in_scope = scope.as_ref().is_none_or(|s| s.in_scope);
    let mut scoping = ProvisioningStep::new(
        "EntrySynchronizationScoping",
        StepType::Scoping,
        if in_scope { ProvisioningResult::Success } else { ProvisioningResult::Skipped },
        Description::Scoping,
    )
    .detail("Active in the source system", active)
    .detail("Scoping filter evaluation passed", if in_scope { "True" } else { "False" });
    if let Some(s) = scope {
        scoping.details.extend(s.details.into_iter().map(|(k, v)| (Cow::Owned(k), v)));
    }
    entry.steps.push(scoping);
    if !in_scope {
        skip(&mut entry, Description::OutOfScope { source: source.to_owned() }, "NotEffectivelyEntitled");
        return PreparedOperation { entry, started, mapped: None };
    }

    // Mapping: evaluate every attribute mapping once.
    let mut values: Vec<(usize, Option<TargetValue>)> = Vec::with_capacity(schema.mappings.len());
    let mut shown = Vec::with_capacity(schema.mappings.len());
    for (i, m) in schema.mappings.iter().enumerate() {
        match expr::evaluate(&m.expr, record, ctx) {
            Ok(ev) if ev.ignore_flow => shown.push(Shown::FlowIgnored),
            Ok(ev) => {
                let mut v = TargetValue::for_target(&m.target, &ev.value);
                if v.is_none()
                    && let Some(d) = &m.default_value
                {
                    v = Some(TargetValue::Text(d.clone()));
                }
                shown.push(if m.expr.is_redacted() {
                    Shown::Redacted
                } else {
                    v.as_ref().map_or(Shown::Null, |v| Shown::Value(v.display()))
                });
                values.push((i, v));
            }
            Err(e) => {
                fail(
                    &mut entry,
                    "AttributeMappingEvaluationFailed",
                    "nonServiceFailure",
                    format!("The expression for '{}' failed: {e}", m.target),
                    Some("Fix the attribute mapping expression or the source record."),
                );
                entry.steps.push(ProvisioningStep::new(
                    "EntryExportAdd",
                    StepType::Export,
                    ProvisioningResult::Failure,
                    Description::MappingFailed { target: m.target.clone(), source: source.to_owned() },
                ));
                return PreparedOperation { entry, started, mapped: None };
            }
        }
    }
    let matching = &schema.mappings[schema.matching];
    let match_value = values.iter().find(|(i, _)| *i == schema.matching).and_then(|(_, v)| v.as_ref());
    let Some(match_value) = match_value.map(TargetValue::display) else {
        fail(
            &mut entry,
            "AzureActiveDirectoryRequiredPropertyMissing",
            "nonServiceFailure",
            format!("The matching attribute '{}' has no value.", matching.target),
            None,
        );
        entry.steps.push(ProvisioningStep::new(
            "EntrySynchronizationError",
            StepType::Matching,
            ProvisioningResult::Failure,
            Description::NoMatchingValue,
        ));
        return PreparedOperation { entry, started, mapped: None };
    };
    let mut mapped = Mapped { values, shown, match_value, manager_external_id: None };
    mapped.manager_external_id = mapped.value_of(schema, "manager").map(TargetValue::display).filter(|v| !v.is_empty());
    PreparedOperation { entry, started, mapped: Some(mapped) }
}
