//! The schemas the service serves (RFC 7643 §4 and §8.7.1): core User, the enterprise User extension and
//! Group, as one table of attribute definitions. The same table renders `/Schemas`, checks what clients write
//! (types, mutability, required attributes), decides how filters compare (`caseExact`, types) and which
//! attributes a response returns (`returned`) — so the server does exactly what it advertises
//! (docs/fidelity.md#s3-discovery).

use serde_json::{Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// One attribute definition.
#[derive(Debug, Clone, Copy)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `uniqueness: server`.
    pub unique: bool,
    pub sub: &'static [AttrDef],
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub description: &'static str,
}

const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        sub: &[],
        canonical: &[],
        reference_types: &[],
        description,
    }
}

const fn string(name: &'static str, description: &'static str) -> AttrDef {
    attr(name, AttrType::String, description)
}

const fn complex(name: &'static str, sub: &'static [AttrDef], description: &'static str) -> AttrDef {
    let mut a = attr(name, AttrType::Complex, description);
    a.sub = sub;
    a
}

impl AttrDef {
    const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    const fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical = values;
        self
    }
    const fn refs(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }

    /// The sub-attribute named `name` (case-insensitive).
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.sub, name)
    }

    /// The attribute as a `/Schemas` entry.
    fn describe(&self) -> Value {
        let mut a = json!({
            "name": self.name,
            "type": match self.ty {
                AttrType::String => "string",
                AttrType::Boolean => "boolean",
                AttrType::Decimal => "decimal",
                AttrType::Integer => "integer",
                AttrType::DateTime => "dateTime",
                AttrType::Binary => "binary",
                AttrType::Reference => "reference",
                AttrType::Complex => "complex",
            },
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
        });
        if self.ty == AttrType::Complex {
            a["subAttributes"] = self.sub.iter().map(AttrDef::describe).collect();
        } else {
            a["caseExact"] = self.case_exact.into();
        }
        if !self.canonical.is_empty() {
            a["canonicalValues"] = json!(self.canonical);
        }
        a["mutability"] = match self.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
        .into();
        a["returned"] = match self.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
        .into();
        if self.ty != AttrType::Complex {
            a["uniqueness"] = if self.unique { "server" } else { "none" }.into();
        }
        if self.ty == AttrType::Reference {
            a["referenceTypes"] = json!(self.reference_types);
        }
        a
    }
}

/// The attribute named `name` among `attrs`, case-insensitively (RFC 7643 §2.1).
pub fn find(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// One schema: its URN, name and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

impl SchemaDef {
    /// The `/Schemas/{id}` document; `location` is the URL it is served at.
    pub fn to_json(&self, location: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(AttrDef::describe).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": location},
        })
    }
}

const TYPE_VALUE_SUB: &[AttrDef] = &[
    string("value", "The attribute's value."),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "A label indicating the attribute's function."),
    attr("primary", AttrType::Boolean, "Indicates the 'primary' or preferred attribute value."),
];

const EMAIL_SUB: &[AttrDef] = &[
    string("value", "Email address for the User."),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
    attr("primary", AttrType::Boolean, "Indicates the 'primary' or preferred address."),
];

const PHONE_SUB: &[AttrDef] = &[
    string("value", "Phone number of the User."),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "A label indicating the attribute's function.")
        .canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    attr("primary", AttrType::Boolean, "Indicates the 'primary' or preferred phone number."),
];

const PHOTO_SUB: &[AttrDef] = &[
    attr("value", AttrType::Reference, "URL of a photo of the User.").refs(&["external"]),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "A label indicating the attribute's function.").canonical(&["photo", "thumbnail"]),
    attr("primary", AttrType::Boolean, "Indicates the 'primary' or preferred photo."),
];

const ADDRESS_SUB: &[AttrDef] = &[
    string("formatted", "The full mailing address, formatted for display."),
    string("streetAddress", "The full street address component."),
    string("locality", "The city or locality component."),
    string("region", "The state or region component."),
    string("postalCode", "The zip code or postal code component."),
    string("country", "The country name component."),
    string("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
    attr("primary", AttrType::Boolean, "Indicates the 'primary' or preferred address."),
];

const GROUP_REF_SUB: &[AttrDef] = &[
    string("value", "The identifier of the User's group.").mutability(Mutability::ReadOnly),
    attr("$ref", AttrType::Reference, "The URI of the corresponding 'Group' resource.")
        .refs(&["User", "Group"])
        .mutability(Mutability::ReadOnly),
    string("display", "A human-readable name, primarily used for display purposes.").mutability(Mutability::ReadOnly),
    string("type", "A label indicating the attribute's function.")
        .canonical(&["direct", "indirect"])
        .mutability(Mutability::ReadOnly),
];

const CERT_SUB: &[AttrDef] = &[
    attr("value", AttrType::Binary, "The value of an X.509 certificate."),
    string("display", "A human-readable name, primarily used for display purposes."),
    string("type", "A label indicating the attribute's function."),
    attr("primary", AttrType::Boolean, "Indicates the 'primary' or preferred attribute value."),
];

const NAME_SUB: &[AttrDef] = &[
    string("formatted", "The full name, including all middle names, titles, and suffixes."),
    string("familyName", "The family name of the User."),
    string("givenName", "The given name of the User."),
    string("middleName", "The middle name(s) of the User."),
    string("honorificPrefix", "The honorific prefix(es) of the User."),
    string("honorificSuffix", "The honorific suffix(es) of the User."),
];

const USER_ATTRS: &[AttrDef] = &[
    string("userName", "Unique identifier for the User, typically used by the user to directly authenticate.")
        .required()
        .unique(),
    complex("name", NAME_SUB, "The components of the user's real name."),
    string("displayName", "The name of the User, suitable for display to end-users."),
    string("nickName", "The casual way to address the user in real life."),
    attr(
        "profileUrl",
        AttrType::Reference,
        "A fully qualified URL pointing to a page representing the User's online profile.",
    )
    .refs(&["external"]),
    string("title", "The user's title, such as 'Vice President'."),
    string("userType", "Used to identify the relationship between the organization and the user."),
    string("preferredLanguage", "Indicates the User's preferred written or spoken language."),
    string("locale", "Used to indicate the User's default location for purposes of localizing items."),
    string("timezone", "The User's time zone in the 'Olson' time zone database format."),
    attr("active", AttrType::Boolean, "A Boolean value indicating the User's administrative status."),
    string("password", "The User's cleartext password; accepted, never stored or returned.")
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never),
    complex("emails", EMAIL_SUB, "Email addresses for the user.").multi(),
    complex("phoneNumbers", PHONE_SUB, "Phone numbers for the User.").multi(),
    complex("ims", TYPE_VALUE_SUB, "Instant messaging addresses for the User.").multi(),
    complex("photos", PHOTO_SUB, "URLs of photos of the User.").multi(),
    complex("addresses", ADDRESS_SUB, "A physical mailing address for this User.").multi(),
    complex("groups", GROUP_REF_SUB, "A list of groups to which the user belongs.")
        .multi()
        .mutability(Mutability::ReadOnly),
    complex("entitlements", TYPE_VALUE_SUB, "A list of entitlements for the User.").multi(),
    complex("roles", TYPE_VALUE_SUB, "A list of roles for the User.").multi(),
    complex("x509Certificates", CERT_SUB, "A list of certificates issued to the User.").multi(),
];

const MANAGER_SUB: &[AttrDef] = &[
    string("value", "The id of the SCIM resource representing the User's manager."),
    attr("$ref", AttrType::Reference, "The URI of the SCIM resource representing the User's manager.").refs(&["User"]),
    string("displayName", "The displayName of the User's manager.").mutability(Mutability::ReadOnly),
];

const ENTERPRISE_ATTRS: &[AttrDef] = &[
    string("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
    string("costCenter", "Identifies the name of a cost center."),
    string("organization", "Identifies the name of an organization."),
    string("division", "Identifies the name of a division."),
    string("department", "Identifies the name of a department."),
    complex("manager", MANAGER_SUB, "The User's manager."),
];

const MEMBER_SUB: &[AttrDef] = &[
    string("value", "Identifier of the member of this Group.").case_exact().mutability(Mutability::Immutable),
    attr("$ref", AttrType::Reference, "The URI corresponding to a SCIM resource that is a member of this Group.")
        .refs(&["User", "Group"])
        .mutability(Mutability::Immutable),
    string("type", "A label indicating the type of resource, e.g., 'User' or 'Group'.")
        .canonical(&["User", "Group"])
        .mutability(Mutability::Immutable),
    string("display", "A human-readable name for the member."),
];

const GROUP_ATTRS: &[AttrDef] = &[
    string("displayName", "A human-readable name for the Group.").required(),
    complex("members", MEMBER_SUB, "A list of members of the Group.").multi(),
];

pub static USER: SchemaDef =
    SchemaDef { id: USER_SCHEMA, name: "User", description: "User Account", attributes: USER_ATTRS };
pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRS,
};
pub static GROUP: SchemaDef =
    SchemaDef { id: GROUP_SCHEMA, name: "Group", description: "Group", attributes: GROUP_ATTRS };

/// Every schema `/Schemas` lists, in order.
pub static ALL: [&SchemaDef; 3] = [&USER, &ENTERPRISE_USER, &GROUP];

/// Attributes every resource has (RFC 7643 §3.1), outside any schema: `id`, `externalId`, `meta`.
pub static ID: AttrDef = string("id", "Unique identifier for the resource, assigned by the service provider.")
    .case_exact()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always)
    .unique();
pub static EXTERNAL_ID: AttrDef =
    string("externalId", "An identifier for the resource as defined by the provisioning client.").case_exact();
const META_SUB: &[AttrDef] = &[
    string("resourceType", "The name of the resource type of the resource.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
    attr("created", AttrType::DateTime, "When the resource was added.").mutability(Mutability::ReadOnly),
    attr("lastModified", AttrType::DateTime, "When the resource was last changed.").mutability(Mutability::ReadOnly),
    attr("location", AttrType::Reference, "The URI of the resource.").case_exact().mutability(Mutability::ReadOnly),
    string("version", "The version (ETag) of the resource.").case_exact().mutability(Mutability::ReadOnly),
];
pub static META: AttrDef = complex("meta", META_SUB, "Resource metadata.").mutability(Mutability::ReadOnly);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_render_with_every_characteristic() {
        let user = USER.to_json("http://x/Schemas/u");
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        let emails = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"][2]["canonicalValues"], json!(["work", "home", "other"]));
        let password = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(
            (password["mutability"].as_str(), password["returned"].as_str()),
            (Some("writeOnly"), Some("never"))
        );
    }

    #[test]
    fn attribute_names_are_found_case_insensitively() {
        assert_eq!(find(USER.attributes, "USERNAME").map(|a| a.name), Some("userName"));
        assert_eq!(
            find(USER.attributes, "name").and_then(|n| n.sub_attr("GIVENNAME")).map(|a| a.name),
            Some("givenName")
        );
        assert!(find(USER.attributes, "nope").is_none());
    }
}
