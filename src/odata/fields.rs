//! Allow-lists of the OData properties each entity type can be filtered and ordered by: the [`FieldTable`]
//! type and the two tables the emulator serves — provisioning logs (docs/fidelity.md, A.3 and B.2) and
//! directory users (A.3b; Graph's user `$filter` support). Which storage column holds a property is the
//! store's business (`crate::store`), not this module's.
//!
//! Design constraints: tables are `const`-constructible `'static` data (no registry, no globals with
//! interior mutability). Lookup is ASCII case-insensitive and follows aliases (`statusInfo/status` →
//! `provisioningStatusInfo/status`).

use super::page::Ordering;
use super::query::OrderBy;

/// How values of a field are typed, compared and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string compared byte-wise: values are case-sensitive.
    Text,
    /// A string compared ASCII case-insensitively, as Entra's directory compares user properties
    /// (`startswith(displayName,'a')` finds "Adele").
    TextNoCase,
    /// A date-time; accepts DateTimeOffset literals only.
    DateTime,
    /// An integer; accepts integer literals.
    Integer,
    /// A Boolean; accepts `true`/`false`.
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

const fn field(name: &'static str, kind: FieldKind, ops: OpSet, sortable: bool) -> Field {
    Field { name, kind, ops, sortable }
}

/// Logs strings: eq, ne and `contains()` (docs/fidelity.md A.3; B.2 documents eq and contains).
const LOG_TEXT: OpSet = OpSet::EQUALITY.with(OpSet::CONTAINS);

/// `provisioningObjectSummary` (docs/fidelity.md A.3, B.2). Enum-valued properties (`provisioningAction`,
/// statuses) are not sortable: Graph orders enums by member value, not by name.
pub static PROVISIONING_LOG_FIELDS: FieldTable = FieldTable::new(
    "microsoft.graph.provisioningObjectSummary",
    &[
        field("id", FieldKind::Text, LOG_TEXT, true),
        field("activityDateTime", FieldKind::DateTime, OpSet::COMPARISON, true),
        field("jobId", FieldKind::Text, LOG_TEXT, true),
        field("cycleId", FieldKind::Text, LOG_TEXT, true),
        field("changeId", FieldKind::Text, LOG_TEXT, true),
        field("durationInMilliseconds", FieldKind::Integer, OpSet::COMPARISON, true),
        field("provisioningAction", FieldKind::Text, LOG_TEXT, false),
        field("provisioningStatusInfo/status", FieldKind::Text, LOG_TEXT, false),
        field("sourceIdentity/id", FieldKind::Text, LOG_TEXT, true),
        field("sourceIdentity/displayName", FieldKind::Text, LOG_TEXT, true),
        field("sourceIdentity/identityType", FieldKind::Text, LOG_TEXT, false),
        field("targetIdentity/id", FieldKind::Text, LOG_TEXT, true),
        field("targetIdentity/displayName", FieldKind::Text, LOG_TEXT, true),
        field("targetIdentity/identityType", FieldKind::Text, LOG_TEXT, false),
        field("servicePrincipal/id", FieldKind::Text, LOG_TEXT, false),
        field("servicePrincipal/displayName", FieldKind::Text, LOG_TEXT, false),
        field("sourceSystem/displayName", FieldKind::Text, LOG_TEXT, false),
        field("targetSystem/displayName", FieldKind::Text, LOG_TEXT, false),
        field("tenantId", FieldKind::Text, OpSet::EQUALITY, false),
    ],
    // beta's deprecated names, accepted on both versions.
    &[("statusInfo/status", "provisioningStatusInfo/status"), ("action", "provisioningAction")],
);

/// Directory strings: Graph documents eq, ne, not, in and startsWith (endsWith with advanced queries).
const USER_TEXT: OpSet = OpSet::EQUALITY.with(OpSet::IN).with(OpSet::STARTSWITH).with(OpSet::ENDSWITH);

/// `microsoft.graph.user` (docs/fidelity.md A.3b). Strings compare case-insensitively.
pub static USER_FIELDS: FieldTable = FieldTable::new(
    "microsoft.graph.user",
    &[
        field("id", FieldKind::TextNoCase, OpSet::EQUALITY.with(OpSet::IN), true),
        field("userPrincipalName", FieldKind::TextNoCase, USER_TEXT, true),
        field("employeeId", FieldKind::TextNoCase, USER_TEXT, false),
        field("displayName", FieldKind::TextNoCase, USER_TEXT, true),
        field("givenName", FieldKind::TextNoCase, USER_TEXT, false),
        field("surname", FieldKind::TextNoCase, USER_TEXT, false),
        field("mail", FieldKind::TextNoCase, USER_TEXT, false),
        field("mailNickname", FieldKind::TextNoCase, USER_TEXT, false),
        field("jobTitle", FieldKind::TextNoCase, USER_TEXT, false),
        field("department", FieldKind::TextNoCase, USER_TEXT, false),
        field("companyName", FieldKind::TextNoCase, USER_TEXT, false),
        field("employeeType", FieldKind::TextNoCase, USER_TEXT, false),
        field("accountEnabled", FieldKind::Boolean, OpSet::EQUALITY, false),
        field("city", FieldKind::TextNoCase, USER_TEXT, false),
        field("country", FieldKind::TextNoCase, USER_TEXT, false),
        field("createdDateTime", FieldKind::DateTime, OpSet::COMPARISON.with(OpSet::IN), true),
    ],
    &[],
);

/// Logs come newest first (docs/fidelity.md A.3: `activityDateTime desc, id`); the id makes any order total.
pub const PROVISIONING_LOG_ORDER: Ordering = Ordering {
    default: &[
        OrderBy { property: "activityDateTime", descending: true },
        OrderBy { property: "id", descending: true },
    ],
    unique: &["id"],
    tiebreaker: "id",
};

/// Users come in userPrincipalName order (Graph's listing order in sample tenants; the public record is
/// silent, see docs/fidelity.md A.3b); UPNs and ids are unique.
pub const USER_ORDER: Ordering = Ordering {
    default: &[OrderBy { property: "userPrincipalName", descending: false }],
    unique: &["id", "userPrincipalName"],
    tiebreaker: "id",
};
