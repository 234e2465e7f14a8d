//! Allow-lists that map OData property paths to trusted SQL expressions: the [`FieldTable`] type and
//! the two tables the emulator serves — provisioning logs (spec A.3, §2.1–2.2) and directory users
//! (spec A.3b; Graph's user `$filter` support).
//!
//! Design constraints: tables are `const`-constructible `'static` data (no registry, no globals with
//! interior mutability); `sql` strings are the only SQL text a query can contain besides keywords and
//! `?`, so they must be primary expressions (a column or a function call), never request data.
//! Lookup is ASCII case-insensitive and follows aliases (`statusInfo/status` → `provisioningStatusInfo/status`).

/// How values of a field are typed, compared and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `TEXT`, compared byte-wise (SQLite's default `BINARY` collation): values are case-sensitive.
    Text,
    /// `TEXT`, compared ASCII case-insensitively (`COLLATE NOCASE`, `lower()`), as Entra's directory
    /// compares user properties (`startswith(displayName,'a')` finds "Adele").
    TextNoCase,
    /// `TEXT` in [`datetime_key`](super::datetime_key) form; accepts DateTimeOffset literals only.
    DateTime,
    /// `INTEGER`; accepts integer literals.
    Integer,
    /// `INTEGER` 0/1; accepts `true`/`false`.
    Boolean,
}

/// The operators and functions a field allows in `$filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpSet(u16);

impl OpSet {
    pub const EQ: Self = Self(1);
    pub const NE: Self = Self(1 << 1);
    pub const GT: Self = Self(1 << 2);
    pub const GE: Self = Self(1 << 3);
    pub const LT: Self = Self(1 << 4);
    pub const LE: Self = Self(1 << 5);
    pub const CONTAINS: Self = Self(1 << 6);
    pub const STARTSWITH: Self = Self(1 << 7);
    pub const ENDSWITH: Self = Self(1 << 8);
    pub const IN: Self = Self(1 << 9);
    /// `eq ne`.
    pub const EQUALITY: Self = Self::EQ.with(Self::NE);
    /// `eq ne gt ge lt le`.
    pub const COMPARISON: Self = Self::EQUALITY.with(Self::GT).with(Self::GE).with(Self::LT).with(Self::LE);

    /// Both sets.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every operator of `op` is in `self`.
    pub const fn allows(self, op: Self) -> bool {
        self.0 & op.0 == op.0
    }
}

/// One filterable/sortable property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Canonical OData path, e.g. `provisioningStatusInfo/status`.
    pub name: &'static str,
    /// Trusted SQL expression, e.g. `status` or `json_extract(doc,'$.x')`.
    pub sql: &'static str,
    pub kind: FieldKind,
    pub ops: OpSet,
    /// Allowed in `$orderby`.
    pub sortable: bool,
}

/// An entity type's allow-list.
#[derive(Debug)]
pub struct FieldTable {
    entity: &'static str,
    fields: &'static [Field],
    aliases: &'static [(&'static str, &'static str)],
}

impl FieldTable {
    /// `entity` is the OData type named in errors (`microsoft.graph.user`); `aliases` map an extra
    /// name to a canonical `Field::name`.
    pub const fn new(
        entity: &'static str,
        fields: &'static [Field],
        aliases: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self { entity, fields, aliases }
    }

    pub fn entity(&self) -> &'static str {
        self.entity
    }

    pub fn fields(&self) -> &'static [Field] {
        self.fields
    }

    /// The field named `name` (case-insensitive, aliases followed).
    pub fn lookup(&self, name: &str) -> Option<&'static Field> {
        let fields = self.fields;
        let name = self.aliases.iter().find(|(alias, _)| alias.eq_ignore_ascii_case(name)).map_or(name, |(_, to)| *to);
        fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

const fn field(name: &'static str, sql: &'static str, kind: FieldKind, ops: OpSet, sortable: bool) -> Field {
    Field { name, sql, kind, ops, sortable }
}

/// Logs strings: spec A.3 lists eq, ne and `contains()` (§2.1 documents eq and contains).
const LOG_TEXT: OpSet = OpSet::EQUALITY.with(OpSet::CONTAINS);

/// `provisioningObjectSummary` over table `provisioning_log` (spec A.3, §2.1). Enum-valued properties
/// (`provisioningAction`, statuses) are not sortable: Graph orders enums by member value, not by name.
pub static PROVISIONING_LOG_FIELDS: FieldTable = FieldTable::new(
    "microsoft.graph.provisioningObjectSummary",
    &[
        field("id", "id", FieldKind::Text, LOG_TEXT, true),
        field("activityDateTime", "activity_time", FieldKind::DateTime, OpSet::COMPARISON, true),
        field("jobId", "job_id", FieldKind::Text, LOG_TEXT, true),
        field("cycleId", "cycle_id", FieldKind::Text, LOG_TEXT, true),
        field("changeId", "change_id", FieldKind::Text, LOG_TEXT, true),
        field("durationInMilliseconds", "duration_ms", FieldKind::Integer, OpSet::COMPARISON, true),
        field("provisioningAction", "action", FieldKind::Text, LOG_TEXT, false),
        field("provisioningStatusInfo/status", "status", FieldKind::Text, LOG_TEXT, false),
        field("sourceIdentity/id", "source_id", FieldKind::Text, LOG_TEXT, true),
        field("sourceIdentity/displayName", "source_display_name", FieldKind::Text, LOG_TEXT, true),
        field("sourceIdentity/identityType", "source_identity_type", FieldKind::Text, LOG_TEXT, false),
        field("targetIdentity/id", "target_id", FieldKind::Text, LOG_TEXT, true),
        field("targetIdentity/displayName", "target_display_name", FieldKind::Text, LOG_TEXT, true),
        field("targetIdentity/identityType", "target_identity_type", FieldKind::Text, LOG_TEXT, false),
        field("servicePrincipal/id", "sp_id", FieldKind::Text, LOG_TEXT, false),
        field("servicePrincipal/displayName", "sp_display_name", FieldKind::Text, LOG_TEXT, false),
        field("sourceSystem/displayName", "source_system_display_name", FieldKind::Text, LOG_TEXT, false),
        field("targetSystem/displayName", "target_system_display_name", FieldKind::Text, LOG_TEXT, false),
        field("tenantId", "tenant_id", FieldKind::Text, OpSet::EQUALITY, false),
    ],
    // beta's deprecated names, accepted on both versions.
    &[("statusInfo/status", "provisioningStatusInfo/status"), ("action", "provisioningAction")],
);

/// Directory strings: Graph documents eq, ne, not, in and startsWith (endsWith with advanced queries).
const USER_TEXT: OpSet = OpSet::EQUALITY.with(OpSet::IN).with(OpSet::STARTSWITH).with(OpSet::ENDSWITH);

/// `microsoft.graph.user` over table `directory_user` (spec A.3b). Strings compare case-insensitively.
pub static USER_FIELDS: FieldTable = FieldTable::new(
    "microsoft.graph.user",
    &[
        field("id", "id", FieldKind::TextNoCase, OpSet::EQUALITY.with(OpSet::IN), true),
        field("userPrincipalName", "user_principal_name", FieldKind::TextNoCase, USER_TEXT, true),
        field("employeeId", "employee_id", FieldKind::TextNoCase, USER_TEXT, false),
        field("displayName", "display_name", FieldKind::TextNoCase, USER_TEXT, true),
        field("givenName", "given_name", FieldKind::TextNoCase, USER_TEXT, false),
        field("surname", "surname", FieldKind::TextNoCase, USER_TEXT, false),
        field("mail", "mail", FieldKind::TextNoCase, USER_TEXT, false),
        field("mailNickname", "mail_nickname", FieldKind::TextNoCase, USER_TEXT, false),
        field("jobTitle", "job_title", FieldKind::TextNoCase, USER_TEXT, false),
        field("department", "department", FieldKind::TextNoCase, USER_TEXT, false),
        field("companyName", "company_name", FieldKind::TextNoCase, USER_TEXT, false),
        field("employeeType", "employee_type", FieldKind::TextNoCase, USER_TEXT, false),
        field("accountEnabled", "account_enabled", FieldKind::Boolean, OpSet::EQUALITY, false),
        field("city", "city", FieldKind::TextNoCase, USER_TEXT, false),
        field("country", "country", FieldKind::TextNoCase, USER_TEXT, false),
        field("createdDateTime", "created_time", FieldKind::DateTime, OpSet::COMPARISON.with(OpSet::IN), true),
    ],
    &[],
);
