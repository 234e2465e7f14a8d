//! Provisioning log entries as rows: the properties `$filter`/`$orderby` use are columns (the job's and
//! cycle's shared facts through `log_context`), everything else is one compact body (postcard behind a
//! version byte), kept with the bodies written alongside it in a compressed block (`blocks`).
//!
//! What keeps the body small (1M entries must fit the memory budget, see BENCHMARKS.md):
//! - detail keys are stored once per distinct key list (`log_dictionary`), a step keeps only its values;
//! - the export step keeps the job's mapping set by id and one short [`ShownBody`] per mapping, which points
//!   at the import step's value when the mapping copied it unchanged (most do);
//! - a modified property that is exactly what a mapping produced is stored as that mapping's index;
//! - step names the engine uses are one byte; descriptions are the engine's message and its arguments.
//!
//! Decoding reverses each of these exactly: the entry read back equals the entry written.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, Row, params};
use serde::{Deserialize, Serialize};

use super::super::StoreError;
use super::blocks::{self, BlockCache};
use super::dictionary::Dictionary;
use crate::graph_time::{from_ticks, ticks};
use crate::provisioning::log::{
    Description, EvaluatedMappings, ModifiedProperty, ProvisionedIdentity, ProvisioningAction, ProvisioningErrorInfo,
    ProvisioningObjectSummary, ProvisioningResult, ProvisioningStep, Shown, StepType,
};

/// Version of the body encoding.
const BODY_FORM: u8 = 1;

/// Step names the engine writes, stored as their index.
const KNOWN_STEP_NAMES: &[&str] = &[
    "EntryImport",
    "EntrySynchronizationScoping",
    "EntrySynchronizationAdd",
    "EntrySynchronizationUpdate",
    "EntrySynchronizationSkip",
    "EntrySynchronizationError",
    "EntryExportAdd",
    "EntryExportUpdate",
    "EntryExportStagedDelete",
    "EntryReferenceResolution",
];

/// The columns a reader selects, in [`read`]'s order.
pub(super) const COLUMNS: &str = "e.id, e.activity, e.ctx, e.change_id, e.duration_ms, e.action, e.status, e.source_id, \
     e.source_name, e.source_type, e.target_id, e.target_name, e.target_type, e.block, e.slot";

// The stored body, written from borrowed views ([`BodyRef`] and friends) and read into owned values
// ([`Body`] and friends). postcard is positional: each pair must keep the same fields in the same order, and
// enums the same variants in the same order (the model's enums included); a change is a new `BODY_FORM`.

#[derive(Serialize)]
struct BodyRef<'a> {
    error: Option<&'a ProvisioningErrorInfo>,
    source_details: &'a [(String, String)],
    target_details: &'a [(String, String)],
    steps: Vec<StepRef<'a>>,
    modified: Vec<ModifiedRef<'a>>,
}

#[derive(Deserialize)]
struct Body {
    error: Option<ProvisioningErrorInfo>,
    source_details: Vec<(String, String)>,
    target_details: Vec<(String, String)>,
    steps: Vec<StepBody>,
    modified: Vec<ModifiedBody>,
}

#[derive(Serialize)]
enum StepNameRef<'a> {
    Known(u8),
    Other(&'a str),
}

#[derive(Deserialize)]
enum StepName {
    Known(u8),
    Other(String),
}

#[derive(Serialize)]
struct StepRef<'a> {
    name: StepNameRef<'a>,
    step_type: StepType,
    status: ProvisioningResult,
    description: &'a Description,
    keys: i64,
    values: Vec<&'a str>,
    mappings: Option<(i64, Vec<ShownRef<'a>>)>,
}

#[derive(Deserialize)]
struct StepBody {
    name: StepName,
    step_type: StepType,
    status: ProvisioningResult,
    description: Description,
    /// `log_dictionary` id of the detail keys (0 = no details).
    keys: i64,
    values: Vec<String>,
    /// `log_dictionary` id of the mapping set and one value per mapping.
    mappings: Option<(i64, Vec<ShownBody>)>,
}

#[derive(Serialize)]
enum ShownRef<'a> {
    Value(&'a str),
    Imported(u32),
    Null,
    Redacted,
    FlowIgnored,
}

#[derive(Deserialize)]
enum ShownBody {
    Value(String),
    /// The value of the import step's detail at this index.
    Imported(u32),
    Null,
    Redacted,
    FlowIgnored,
}

#[derive(Serialize)]
enum ModifiedRef<'a> {
    Plain { name: &'a str, old: Option<&'a str>, new: Option<&'a str> },
    Mapped { index: u32, old: Option<&'a str> },
}

#[derive(Deserialize)]
enum ModifiedBody {
    Plain {
        name: String,
        old: Option<String>,
        new: Option<String>,
    },
    /// Named after mapping `index` of the export step, whose value is the new value.
    Mapped {
        index: u32,
        old: Option<String>,
    },
}

/// Insert `entries` (inside the caller's transaction), their bodies in blocks of up to
/// [`blocks::MAX_BODIES`].
pub(super) fn insert(
    conn: &Connection,
    dict: &Dictionary,
    entries: &[ProvisioningObjectSummary],
) -> Result<(), StoreError> {
    for chunk in entries.chunks(blocks::MAX_BODIES) {
        let bodies = chunk.iter().map(|e| encode(conn, dict, e)).collect::<Result<Vec<_>, _>>()?;
        let block = blocks::insert(conn, &bodies)?;
        let mut stmt = conn.prepare_cached(
            "INSERT INTO log_entry (id, activity, ctx, change_id, duration_ms, action, status, source_id, source_name,
                source_type, target_id, target_name, target_type, block, slot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        for (slot, entry) in chunk.iter().enumerate() {
            stmt.execute(params![
                entry.id,
                ticks(entry.activity_date_time),
                dict.context_id(conn, &entry.context, &entry.cycle_id)?,
                entry.change_id,
                entry.duration_in_milliseconds,
                entry.action.as_str(),
                entry.status.as_str(),
                entry.source_identity.id,
                entry.source_identity.display_name,
                identity_type(&entry.source_identity),
                entry.target_identity.id,
                entry.target_identity.display_name,
                identity_type(&entry.target_identity),
                block,
                i64::try_from(slot).unwrap_or(i64::MAX),
            ])?;
        }
    }
    Ok(())
}

/// An identity's type as stored: `None` for the usual "User".
fn identity_type(i: &ProvisionedIdentity) -> Option<&str> {
    (i.identity_type != "User").then_some(i.identity_type.as_str())
}

fn encode(conn: &Connection, dict: &Dictionary, e: &ProvisioningObjectSummary) -> Result<Vec<u8>, StoreError> {
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let imported: HashMap<&str, u32, foldhash::fast::FixedState> = e
        .steps
        .iter()
        .find(|s| s.step_type == StepType::Import)
        .map(|s| s.details.iter().enumerate().map(|(i, (_, v))| (v.as_str(), index(i))).collect())
        .unwrap_or_default();
    let mut steps = Vec::with_capacity(e.steps.len());
    let mut keys: Vec<&str> = Vec::new();
    for s in &e.steps {
        let name = match KNOWN_STEP_NAMES.iter().position(|n| *n == s.name) {
            Some(i) => StepNameRef::Known(u8::try_from(i).unwrap_or(u8::MAX)),
            None => StepNameRef::Other(&s.name),
        };
        let mappings = match &s.mappings {
            None => None,
            Some(m) => {
                let values = m
                    .values
                    .iter()
                    .map(|v| match v {
                        Shown::Value(v) => {
                            imported.get(v.as_str()).map_or(ShownRef::Value(v), |i| ShownRef::Imported(*i))
                        }
                        Shown::Null => ShownRef::Null,
                        Shown::Redacted => ShownRef::Redacted,
                        Shown::FlowIgnored => ShownRef::FlowIgnored,
                    })
                    .collect();
                Some((dict.mappings_id(conn, &m.set)?, values))
            }
        };
        keys.clear();
        keys.extend(s.details.iter().map(|(k, _)| k.as_ref()));
        steps.push(StepRef {
            name,
            step_type: s.step_type,
            status: s.status,
            description: &s.description,
            keys: dict.keys_id(conn, &keys)?,
            values: s.details.iter().map(|(_, v)| v.as_str()).collect(),
            mappings,
        });
    }
    let mapped = e.evaluated_mappings();
    let modified = e
        .modified_properties
        .iter()
        .map(|m| {
            let position = mapped.and_then(|set| {
                set.set.0.iter().zip(&set.values).position(|((target, _), shown)| {
                    *target == m.display_name && matches!((shown, &m.new_value), (Shown::Value(v), Some(n)) if v == n)
                })
            });
            match position {
                Some(i) => ModifiedRef::Mapped { index: index(i), old: m.old_value.as_deref() },
                None => ModifiedRef::Plain {
                    name: &m.display_name,
                    old: m.old_value.as_deref(),
                    new: m.new_value.as_deref(),
                },
            }
        })
        .collect();
    let body = BodyRef {
        error: e.error.as_ref(),
        source_details: &e.source_identity.details,
        target_details: &e.target_identity.details,
        steps,
        modified,
    };
    let mut out = Vec::with_capacity(1024);
    out.push(BODY_FORM);
    postcard::to_extend(&body, out).map_err(|e| StoreError::Corrupt(format!("encoding a log entry: {e}")))
}

/// The entry in a row of [`COLUMNS`]; its body comes from `blocks`.
pub(super) fn read(
    conn: &Connection,
    dict: &Dictionary,
    blocks: &mut BlockCache,
    row: &Row<'_>,
) -> Result<ProvisioningObjectSummary, StoreError> {
    let id: String = row.get(0)?;
    let corrupt = |what: String| StoreError::Corrupt(format!("log entry {id}: {what}"));
    let ctx = dict.context(conn, row.get(2)?)?;
    let slot: i64 = row.get(14)?;
    let block = blocks.body(conn, row.get(13)?, slot)?;
    let blob =
        usize::try_from(slot).ok().and_then(|s| block.get(s)).ok_or_else(|| corrupt(format!("no slot {slot}")))?;
    let body: Body = match blob.split_first() {
        Some((&BODY_FORM, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))?,
        _ => return Err(corrupt("unknown body form".into())),
    };
    let action: String = row.get(5)?;
    let status: String = row.get(6)?;
    let mut steps = Vec::with_capacity(body.steps.len());
    let mut imported: Vec<String> = Vec::new();
    for s in body.steps {
        let keys = dict.keys(conn, s.keys)?;
        if keys.len() != s.values.len() {
            return Err(corrupt(format!("a step has {} detail keys and {} values", keys.len(), s.values.len())));
        }
        if s.step_type == StepType::Import && imported.is_empty() {
            imported.clone_from(&s.values);
        }
        let mappings = match s.mappings {
            None => None,
            Some((set, values)) => {
                let values = values
                    .into_iter()
                    .map(|v| match v {
                        ShownBody::Value(v) => Ok(Shown::Value(v)),
                        ShownBody::Imported(i) => imported
                            .get(i as usize)
                            .map(|v| Shown::Value(v.clone()))
                            .ok_or_else(|| corrupt(format!("mapping value refers to import value {i}"))),
                        ShownBody::Null => Ok(Shown::Null),
                        ShownBody::Redacted => Ok(Shown::Redacted),
                        ShownBody::FlowIgnored => Ok(Shown::FlowIgnored),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(EvaluatedMappings { set: dict.mappings(conn, set)?, values })
            }
        };
        steps.push(ProvisioningStep {
            name: match s.name {
                StepName::Known(i) => Cow::Borrowed(
                    KNOWN_STEP_NAMES.get(usize::from(i)).copied().ok_or_else(|| corrupt(format!("step name {i}")))?,
                ),
                StepName::Other(n) => Cow::Owned(n),
            },
            step_type: s.step_type,
            status: s.status,
            description: s.description,
            details: keys.iter().cloned().map(Cow::Owned).zip(s.values).collect(),
            mappings,
        });
    }
    let mapped = steps.iter().find_map(|s| s.mappings.as_ref());
    let modified_properties = body
        .modified
        .into_iter()
        .map(|m| match m {
            ModifiedBody::Plain { name, old, new } => {
                Ok(ModifiedProperty { display_name: name, old_value: old, new_value: new })
            }
            ModifiedBody::Mapped { index, old } => {
                let i = index as usize;
                let pair = mapped.and_then(|m| Some((m.set.0.get(i)?, m.values.get(i)?)));
                match pair {
                    Some(((target, _), Shown::Value(v))) => Ok(ModifiedProperty {
                        display_name: target.clone(),
                        old_value: old,
                        new_value: Some(v.clone()),
                    }),
                    _ => Err(corrupt(format!("modified property refers to mapping {i}"))),
                }
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let identity = |at: usize, details: Vec<(String, String)>| -> Result<ProvisionedIdentity, StoreError> {
        Ok(ProvisionedIdentity {
            id: row.get(at)?,
            display_name: row.get(at + 1)?,
            identity_type: row.get::<_, Option<String>>(at + 2)?.unwrap_or_else(|| "User".into()),
            details,
        })
    };
    Ok(ProvisioningObjectSummary {
        activity_date_time: from_ticks(row.get(1)?),
        context: Arc::clone(&ctx.context),
        cycle_id: ctx.cycle_id.to_string(),
        change_id: row.get(3)?,
        duration_in_milliseconds: row.get(4)?,
        action: ProvisioningAction::parse(&action).ok_or_else(|| corrupt(format!("action '{action}'")))?,
        status: ProvisioningResult::parse(&status).ok_or_else(|| corrupt(format!("status '{status}'")))?,
        error: body.error,
        source_identity: identity(7, body.source_details)?,
        target_identity: identity(10, body.target_details)?,
        steps,
        modified_properties,
        id,
    })
}
