//! The record-only steps of one operation (import, scoping, mapping): no directory access, so the batch
//! runs them on every core before the ordered directory pass.

use std::borrow::Cow;
use std::time::Instant;

use serde_json::Value;
use time::OffsetDateTime;

use super::{JobSettings, Work};
use crate::directory::TargetValue;
use crate::expr::{self, EvalContext};
use crate::provisioning::log_entry::{self, Entry, ErrorInfo, Status, Step};
use crate::provisioning::schema::{CompiledMapping, CompiledSchema};
use crate::store::staging::StagedOperation;

/// An operation after the record-only steps (import, scoping, mapping), ready for the directory.
pub(super) enum Prepared<'s> {
    /// Nothing to write: out of scope, or a mapping failed.
    Done(Work),
    Ready {
        work: Work,
        values: Vec<(&'s CompiledMapping, Option<TargetValue>)>,
        mapping_details: Vec<(String, String)>,
        match_value: String,
    },
}

/// The steps that depend on the record alone (no directory access): safe to run in parallel.
pub(super) fn prepare<'s>(
    job: &JobSettings<'_>,
    schema: &'s CompiledSchema,
    op: &StagedOperation,
    now: OffsetDateTime,
) -> Prepared<'s> {
    let ctx = &EvalContext::new(now, job.default_domain);
    let started = Instant::now();
    let active_omitted = op.data.get("active").is_none_or(Value::is_null);
    // Copy the record only when the omitted-`active` quirk has to change it.
    let record: Cow<'_, Value> = if active_omitted && job.omitted_active_disables {
        let mut copy = op.data.clone();
        if let Some(obj) = copy.as_object_mut() {
            obj.insert("active".into(), Value::Bool(false));
        }
        Cow::Owned(copy)
    } else {
        Cow::Borrowed(&op.data)
    };
    let record = record.as_ref();
    let display = record.get("displayName").and_then(Value::as_str).unwrap_or_default();
    let mut entry = Entry::new(&op.external_id, display);
    let mut work = Work { entry: Entry::new("", ""), user_id: None, manager_external_id: None, started };

    let mut import = Step::new(
        "EntryImport",
        "import",
        Status::Success,
        format!("Received User '{}' from {}", op.external_id, log_entry::SOURCE_SYSTEM),
    );
    import.details = flatten(record);
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
    let mut values: Vec<(&CompiledMapping, Option<TargetValue>)> = Vec::with_capacity(schema.mappings.len());
    let mut mapping_details = Vec::with_capacity(schema.mappings.len());
    for m in &schema.mappings {
        match expr::evaluate(&m.expr, record, ctx) {
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
                return Prepared::Done(work);
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
        return Prepared::Done(work);
    };
    work.manager_external_id = values
        .iter()
        .find(|(m, _)| m.target == "manager")
        .and_then(|(_, v)| v.as_ref())
        .map(TargetValue::display)
        .filter(|v| !v.is_empty());
    work.entry = entry;
    Prepared::Ready { work, values, mapping_details, match_value }
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
