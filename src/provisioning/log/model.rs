//! The provisioning log resource as typed records, named after Graph's `provisioningObjectSummary` and its
//! parts (docs/fidelity.md, B.2): what the engine builds, what the store keeps (in its compact form) and what
//! the logs API renders.
//!
//! Design decisions:
//! - Facts shared by every entry of a job (tenant, job, service principal, systems, initiator) live in one
//!   [`EntryContext`] the entries point to, so they are stored once, not per entry.
//! - The export step's per-mapping details (`target → "expression = value"`) are kept as what they are: the
//!   job's [`MappingSet`] (shared) and each mapping's [`Shown`] value. They are formatted only when rendered.
//! - Step descriptions are [`Description`] values (the engine's messages with their arguments), formatted
//!   when rendered; entries read from a Graph document keep theirs as text.

use std::borrow::Cow;
use std::sync::Arc;

use time::OffsetDateTime;

use super::description::Description;

pub const SOURCE_SYSTEM: &str = "API";
pub const TARGET_SYSTEM: &str = "Microsoft Entra ID";
pub const INITIATOR: &str = "Azure AD Provisioning Service";

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire (Graph JSON) spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The member with this wire spelling (case-insensitive).
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|m| m.as_str().eq_ignore_ascii_case(s))
            }
        }
    };
}

wire_enum!(
    /// `provisioningAction`.
    ProvisioningAction {
        Other = "other",
        Create = "create",
        Delete = "delete",
        Disable = "disable",
        Update = "update",
        StagedDelete = "stagedDelete",
    }
);

wire_enum!(
    /// `provisioningResult`: the status of an entry or of one of its steps.
    ProvisioningResult { Success = "success", Failure = "failure", Skipped = "skipped", Warning = "warning" }
);

wire_enum!(
    /// `provisioningStepType`.
    StepType {
        Import = "import",
        Scoping = "scoping",
        Matching = "matching",
        Processing = "processing",
        ReferenceResolution = "referenceResolution",
        Export = "export",
    }
);

/// `provisioningErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProvisioningErrorInfo {
    pub error_code: String,
    pub error_category: String,
    pub reason: String,
    pub additional_details: Option<String>,
    pub recommended_action: Option<String>,
}

/// `modifiedProperty`: one changed attribute, old and new in the sync engine's string form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifiedProperty {
    pub display_name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// A job's attribute mappings as log entries name them: `(target, expression)` in mapping order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MappingSet(pub Vec<(String, String)>);

/// What one mapping evaluated to, as the export step shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Shown {
    Value(String),
    Null,
    /// The expression is wrapped in `Redact`: the value is never shown or stored.
    Redacted,
    /// `IgnoreFlowIfNullOrEmpty` held: the attribute does not flow.
    FlowIgnored,
}

impl Shown {
    /// The export step's detail for a mapping with this expression.
    pub fn detail(&self, expression: &str) -> String {
        match self {
            Shown::Value(v) => format!("{expression} = \"{v}\""),
            Shown::Null => format!("{expression} = (null)"),
            Shown::Redacted => format!("{expression} = [Redact]"),
            Shown::FlowIgnored => format!("{expression} = (flow ignored)"),
        }
    }
}

/// Every mapping of the job and its value: the export step's explanation of the attributes it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluatedMappings {
    pub set: Arc<MappingSet>,
    /// One per mapping of `set`, in its order.
    pub values: Vec<Shown>,
}

/// A step detail's key: the engine's are static text.
pub type DetailKey = Cow<'static, str>;

/// `provisioningStep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningStep {
    pub name: Cow<'static, str>,
    pub step_type: StepType,
    pub status: ProvisioningResult,
    pub description: Description,
    pub details: Vec<(DetailKey, String)>,
    /// The evaluated mappings, shown after `details` (export steps of entries the engine wrote).
    pub mappings: Option<EvaluatedMappings>,
}

impl ProvisioningStep {
    pub fn new(name: &'static str, step_type: StepType, status: ProvisioningResult, description: Description) -> Self {
        Self { name: Cow::Borrowed(name), step_type, status, description, details: Vec::new(), mappings: None }
    }

    pub fn detail(mut self, key: impl Into<DetailKey>, value: impl Into<String>) -> Self {
        self.details.push((key.into(), value.into()));
        self
    }
}

/// `provisionedIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedIdentity {
    pub id: String,
    pub display_name: String,
    pub identity_type: String,
    pub details: Vec<(String, String)>,
}

impl ProvisionedIdentity {
    /// A user identity without details.
    pub fn user(id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self { id: id.into(), display_name: display_name.into(), identity_type: "User".into(), details: Vec::new() }
    }
}

/// `provisioningSystem` (and `provisioningServicePrincipal`, which has no details).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProvisioningSystem {
    pub id: String,
    pub display_name: String,
    pub details: Vec<(String, String)>,
}

/// `initiator`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Initiator {
    pub id: String,
    pub display_name: String,
    pub initiator_type: String,
}

/// The facts every entry of one job shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct EntryContext {
    pub tenant_id: String,
    pub job_id: String,
    pub service_principal: ProvisioningSystem,
    pub initiated_by: Initiator,
    pub source_system: ProvisioningSystem,
    pub target_system: ProvisioningSystem,
}

impl EntryContext {
    /// The context of entries the engine writes for a job of an API-driven app.
    pub fn for_job(tenant_id: &str, job_id: &str, sp_id: &str, sp_name: &str) -> Self {
        let system = |name: &str, details: Vec<(String, String)>| ProvisioningSystem {
            id: String::new(),
            display_name: name.to_owned(),
            details,
        };
        Self {
            tenant_id: tenant_id.to_owned(),
            job_id: job_id.to_owned(),
            service_principal: system(sp_name, Vec::new()).with_id(sp_id),
            initiated_by: Initiator {
                id: String::new(),
                display_name: INITIATOR.into(),
                initiator_type: "system".into(),
            },
            source_system: system(SOURCE_SYSTEM, Vec::new()),
            target_system: system(
                TARGET_SYSTEM,
                vec![
                    ("ServicePrincipalId".into(), sp_id.to_owned()),
                    ("ServicePrincipalDisplayName".into(), sp_name.to_owned()),
                ],
            ),
        }
    }
}

impl ProvisioningSystem {
    fn with_id(mut self, id: &str) -> Self {
        self.id = id.to_owned();
        self
    }
}

/// `provisioningObjectSummary`: one processed operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningObjectSummary {
    pub id: String,
    pub activity_date_time: OffsetDateTime,
    pub context: Arc<EntryContext>,
    pub cycle_id: String,
    pub change_id: String,
    pub duration_in_milliseconds: i64,
    pub action: ProvisioningAction,
    pub status: ProvisioningResult,
    pub error: Option<ProvisioningErrorInfo>,
    pub source_identity: ProvisionedIdentity,
    pub target_identity: ProvisionedIdentity,
    pub steps: Vec<ProvisioningStep>,
    pub modified_properties: Vec<ModifiedProperty>,
}

impl ProvisioningObjectSummary {
    /// The export step's evaluated mappings, when the entry has them.
    pub fn evaluated_mappings(&self) -> Option<&EvaluatedMappings> {
        self.steps.iter().find_map(|s| s.mappings.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for a in ProvisioningAction::ALL {
            assert_eq!(ProvisioningAction::parse(a.as_str()), Some(*a));
        }
        assert_eq!(StepType::parse("ReferenceResolution"), Some(StepType::ReferenceResolution));
        assert_eq!(StepType::parse("Import"), Some(StepType::Import), "a capitalised type reads too");
        assert_eq!(ProvisioningResult::parse("nope"), None);
    }

    #[test]
    fn shown_values_render_after_their_expression() {
        assert_eq!(Shown::Value("a".into()).detail("[x]"), "[x] = \"a\"");
        assert_eq!(Shown::Null.detail("[x]"), "[x] = (null)");
        assert_eq!(Shown::Redacted.detail("[x]"), "[x] = [Redact]");
        assert_eq!(Shown::FlowIgnored.detail("[x]"), "[x] = (flow ignored)");
    }
}
