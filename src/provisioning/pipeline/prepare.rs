//! The record-only steps of one operation (import, scoping, mapping): no directory access, so the batch
//! runs them on every core before the ordered directory pass.

use std::time::Instant;

use crate::scim::record::Record;
use time::OffsetDateTime;

use super::{JobSettings, Work};
use crate::directory::TargetValue;
use crate::expr::{self, EvalContext};
use crate::provisioning::log_entry::{self, Derived, Entry, ErrorInfo, Shown, Status, Step};
use crate::provisioning::schema::CompiledSchema;
use crate::store::staging::StagedOperation;

/// An operation after the record-only steps (import, scoping, mapping), ready for the directory.
#[derive(Debug, Clone)]
pub(super) enum Prepared {
    /// Nothing to write: out of scope, or a mapping failed.
    Done(Work),
    Ready {
        work: Work,
        /// Each evaluated mapping (by index into the schema's mappings) and its value.
        values: Vec<(usize, Option<TargetValue>)>,
        /// Each mapping's value as the export step shows it.
        mapped: Vec<Shown>,
        match_value: String,
    },
}

/// The steps that depend on the record alone (no directory access): safe to run in parallel.
pub(super) fn prepare(
    job: &JobSettings<'_>,
    schema: &CompiledSchema,
    op: &mut StagedOperation,
    now: OffsetDateTime,
) -> Prepared {
    let ctx = &EvalContext::new(now, job.default_domain);
    let started = Instant::now();
    let mut work = Work {
        entry: Entry::new("", ""),
        user_id: None,
        user: None,
        manager_external_id: None,
        manager_at_export: None,
        started,
    };
    // Parsed here, on every core, rather than when the batch is read on the store's connection.
    let text = op.data_text.clone();
    let mut record = match crate::scim::record::parse(&text) {
        Ok(record) => record,
        Err(e) => {
            // The bulkUpload validated the record, so only a damaged store gets here.
            let mut entry = Entry::new(&op.external_id, "");
            entry.fail(ErrorInfo {
                code: "StagedOperationUnreadable".into(),
                category: "failure".into(),
                reason: format!("The staged operation could not be read back from the store: {e}"),
                recommended_action: Some("Send the record again.".into()),
            });
            entry.steps.push(Step::new(
                "EntryImport",
                "import",
                Status::Failure,
                format!("Could not read User '{}' as staged", op.external_id),
            ));
            work.entry = entry;
            return Prepared::Done(work);
        }
    };
    let active_omitted = record.get("active").is_null();
    let active_imported_false = active_omitted && job.omitted_active_disables;
    if active_imported_false && let Record::Object(o) = &mut record {
        o.insert("active", Record::Bool(false));
    }
    let record = &record;
    let display = record.get("displayName").as_str().unwrap_or_default();
    let mut entry = Entry::new(&op.external_id, display);

    let mut import = Step::new(
        "EntryImport",
        "import",
        Status::Success,
        format!("Received User '{}' from {}", op.external_id, log_entry::SOURCE_SYSTEM),
    );
    // The details are the record itself, rendered when the entry is read.
    import.derived = Derived::Record;
    entry.record = Some(op.data_text.clone());
    entry.active_imported_false = active_imported_false;
    entry.steps.push(import);

    // Scoping.
    let active_text = match record.get("active") {
        Record::Bool(true) => "True".to_owned(),
        Record::Str(s) if s.eq_ignore_ascii_case("true") => "True".to_owned(),
        _ => "False".to_owned(),
    };
    let scope = schema.scope.as_ref().map(|f| f.evaluate(record, ctx));
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
        entry.skip(
            format!("User '{}' is out of scope of the scoping filter; it was skipped.", op.external_id),
            "NotEffectivelyEntitled",
        );
        work.entry = entry;
        return Prepared::Done(work);
    }

    // Mapping: evaluate every attribute mapping once.
    let mut values: Vec<(usize, Option<TargetValue>)> = Vec::with_capacity(schema.mappings.len());
    let mut mapped = Vec::with_capacity(schema.mappings.len());
    for (i, m) in schema.mappings.iter().enumerate() {
        match expr::evaluate(&m.expr, record, ctx) {
            Ok(ev) if ev.ignore_flow => mapped.push(Shown::FlowIgnored),
            Ok(ev) => {
                let mut v = TargetValue::for_target(&m.target, &ev.value);
                if v.is_none()
                    && let Some(d) = &m.default_value
                {
                    v = Some(TargetValue::Text(d.clone()));
                }
                mapped.push(if m.expr.is_redacted() {
                    Shown::Redacted
                } else {
                    v.as_ref().map_or(Shown::Null, |v| Shown::Value(v.display()))
                });
                values.push((i, v));
            }
            Err(e) => {
                entry.fail(ErrorInfo {
                    code: "AttributeMappingEvaluationFailed".into(),
                    category: "nonServiceFailure".into(),
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
                return Prepared::Done(work);
            }
        }
    }
    let matching = &schema.mappings[schema.matching];
    let match_value = values.iter().find(|(i, _)| *i == schema.matching).and_then(|(_, v)| v.clone());
    let Some(match_value) = match_value.map(|v| v.display()) else {
        entry.fail(ErrorInfo {
            code: "AzureActiveDirectoryRequiredPropertyMissing".into(),
            category: "nonServiceFailure".into(),
            reason: format!("The matching attribute '{}' has no value.", matching.target),
            recommended_action: None,
        });
        entry.steps.push(Step::new("EntrySynchronizationError", "matching", Status::Failure, "No matching value"));
        work.entry = entry;
        return Prepared::Done(work);
    };
    work.manager_external_id = values
        .iter()
        .find(|(i, _)| schema.mappings[*i].target == "manager")
        .and_then(|(_, v)| v.as_ref())
        .map(TargetValue::display)
        .filter(|v| !v.is_empty());
    work.entry = entry;
    Prepared::Ready { work, values, mapped, match_value }
}
