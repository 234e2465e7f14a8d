//! Rules the directory enforces when a user is written (docs/fidelity.md A.2 "Create rules" and "Values
//! Graph refuses"): required properties, the UPN's username policy, verified domains, the values Graph
//! accepts (`values.rs`), UPN uniqueness. A create is checked whole; an update only in what it changes, as Graph checks a PATCH. The
//! UPN collision check itself needs the store, so callers pass its answer in.

use super::values::{ValueFault, check_list, check_text, check_upn};
use super::{DirectoryUser, TEXT_PROPERTIES, TargetValue};

/// The properties a user cannot be created without, nor have cleared.
const REQUIRED: [&str; 3] = ["userPrincipalName", "displayName", "mailNickname"];

/// Why a write fails; maps to the provisioning log's `errorInformation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteProblem {
    RequiredPropertyMissing(&'static str),
    /// The UPN breaks the username policy.
    InvalidUserPrincipalName(ValueFault),
    UnverifiedDomain(String),
    /// A property value Graph refuses.
    InvalidValue {
        property: String,
        fault: ValueFault,
    },
    UpnTaken(String),
}

impl WriteProblem {
    pub fn error_code(&self) -> &'static str {
        match self {
            WriteProblem::RequiredPropertyMissing(_) => "AzureActiveDirectoryRequiredPropertyMissing",
            WriteProblem::InvalidUserPrincipalName(_)
            | WriteProblem::UpnTaken(_)
            | WriteProblem::UnverifiedDomain(_) => "AzureActiveDirectoryInvalidUserPrincipalName",
            WriteProblem::InvalidValue { .. } => "AzureActiveDirectoryInvalidPropertyValue",
        }
    }

    /// The reason: Graph's own message where it is known, then what exactly is wrong.
    pub fn reason(&self) -> String {
        match self {
            WriteProblem::RequiredPropertyMissing(p) => format!(
                "The required property '{p}' has no value. Microsoft Entra ID requires userPrincipalName, displayName and mailNickname to create a user; check the attribute mappings and the record."
            ),
            WriteProblem::InvalidUserPrincipalName(fault) => format!(
                "Property userPrincipalName is invalid. {fault} The username policy allows A-Z, a-z, 0-9 and ' . - _ ! # ^ ~, one '@', at most 64 characters before it (not ending with a period) and 48 after it; fix the userPrincipalName mapping or the record."
            ),
            WriteProblem::UnverifiedDomain(upn) => format!(
                "The domain portion of the userPrincipalName property is invalid ('{upn}'): the domain does not exist or is not verified in this tenant."
            ),
            WriteProblem::InvalidValue { property, fault } => {
                format!("Invalid value specified for property '{property}' of resource 'User'. {fault}")
            }
            WriteProblem::UpnTaken(upn) => format!(
                "Another object with the same value for property userPrincipalName already exists ('{upn}'). The provisioning service does not make UPNs unique; generate unique values in the source or in the mapping."
            ),
        }
    }
}

/// Check a user about to be created. `upn_taken` is whether another user already has its UPN.
pub fn check_create(user: &DirectoryUser, verified_domains: &[String], upn_taken: bool) -> Result<(), WriteProblem> {
    for property in REQUIRED {
        if user.text(property).is_none_or(|v| v.trim().is_empty()) {
            return Err(WriteProblem::RequiredPropertyMissing(property));
        }
    }
    check_upn_of(user, verified_domains)?;
    let lists = ["businessPhones", "otherMails"].into_iter();
    let extensions = user.extensions.iter().map(|(name, _)| name.as_str());
    let mut others =
        TEXT_PROPERTIES.iter().copied().filter(|p| *p != "userPrincipalName").chain(lists).chain(extensions);
    others.try_for_each(|p| check_property(user, p))?;
    unique(user, upn_taken)
}

/// Check a user about to be updated, in the properties the update `changed` (mapping targets).
pub fn check_update(
    user: &DirectoryUser,
    changed: &[&str],
    verified_domains: &[String],
    upn_taken: bool,
) -> Result<(), WriteProblem> {
    for property in REQUIRED.into_iter().filter(|p| *p != "userPrincipalName" && changed.contains(p)) {
        if user.text(property).is_none_or(|v| v.trim().is_empty()) {
            return Err(WriteProblem::InvalidValue { property: property.to_owned(), fault: ValueFault::Cleared });
        }
    }
    if changed.contains(&"userPrincipalName") {
        check_upn_of(user, verified_domains)?;
    }
    changed.iter().filter(|p| **p != "userPrincipalName").try_for_each(|p| check_property(user, p))?;
    unique(user, upn_taken)
}

/// The UPN's username policy, then its domain.
fn check_upn_of(user: &DirectoryUser, verified_domains: &[String]) -> Result<(), WriteProblem> {
    let upn = user.user_principal_name();
    check_upn(upn).map_err(WriteProblem::InvalidUserPrincipalName)?;
    if !verified_domains.is_empty() {
        let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        if !verified_domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            return Err(WriteProblem::UnverifiedDomain(upn.to_owned()));
        }
    }
    Ok(())
}

fn unique(user: &DirectoryUser, upn_taken: bool) -> Result<(), WriteProblem> {
    if upn_taken { Err(WriteProblem::UpnTaken(user.user_principal_name().to_owned())) } else { Ok(()) }
}

/// `property`'s current value (nothing to check when it has none).
fn check_property(user: &DirectoryUser, property: &str) -> Result<(), WriteProblem> {
    let checked = match property {
        "businessPhones" => check_list(property, &user.business_phones),
        "otherMails" => check_list(property, &user.other_mails),
        _ => match user.text(property) {
            Some(text) => check_text(property, text),
            None => match user.extensions.iter().find(|(name, _)| name == property).map(|(_, v)| v) {
                Some(TargetValue::Text(text)) => check_text(property, text),
                Some(TargetValue::List(values)) => check_list(property, values),
                Some(TargetValue::Bool(_)) | None => Ok(()),
            },
        },
    };
    checked.map_err(|fault| WriteProblem::InvalidValue { property: property.to_owned(), fault })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(upn: &str, name: &str, nick: &str) -> DirectoryUser {
        let mut u = DirectoryUser::new("1".into(), time::OffsetDateTime::UNIX_EPOCH);
        for (k, v) in [("userPrincipalName", upn), ("displayName", name), ("mailNickname", nick)] {
            if !v.is_empty() {
                u.set(k, &TargetValue::Text(v.into()));
            }
        }
        u
    }

    #[test]
    fn create_rules_in_order() {
        assert_eq!(check_create(&user("a@x.com", "A", "a"), &[], false), Ok(()));
        assert_eq!(
            check_create(&user("", "A", "a"), &[], false),
            Err(WriteProblem::RequiredPropertyMissing("userPrincipalName"))
        );
        assert_eq!(
            check_create(&user("a@x.com", "A", ""), &[], false),
            Err(WriteProblem::RequiredPropertyMissing("mailNickname"))
        );
        assert_eq!(
            check_create(&user("a x@x.com", "A", "a"), &[], true),
            Err(WriteProblem::InvalidUserPrincipalName(ValueFault::Character { ch: ' ', at: 2 })),
            "the UPN's shape comes before its uniqueness"
        );
        let verified = vec!["contoso.com".to_owned()];
        assert!(matches!(
            check_create(&user("a@x.com", "A", "a"), &verified, false),
            Err(WriteProblem::UnverifiedDomain(_))
        ));
        assert_eq!(check_create(&user("a@CONTOSO.com", "A", "a"), &verified, false), Ok(()));
        let long_name = user("a@x.com", &"n".repeat(257), "a");
        assert_eq!(
            check_create(&long_name, &[], true),
            Err(WriteProblem::InvalidValue {
                property: "displayName".into(),
                fault: ValueFault::TooLong { len: 257, max: 256 }
            })
        );
        assert_eq!(check_create(&user("a@x.com", "A", "a"), &[], true), Err(WriteProblem::UpnTaken("a@x.com".into())));
    }

    #[test]
    fn create_checks_every_value_the_user_holds() {
        let mut u = user("a@x.com", "A", "a");
        u.set("custom", &TargetValue::Text("x\u{1}".into()));
        let fault = ValueFault::Character { ch: '\u{1}', at: 2 };
        assert_eq!(check_create(&u, &[], false), Err(WriteProblem::InvalidValue { property: "custom".into(), fault }));
        let mut u = user("a@x.com", "A", "a");
        u.set("businessPhones", &TargetValue::List(vec!["1".into(), "2".into()]));
        assert!(
            matches!(check_create(&u, &[], false), Err(WriteProblem::InvalidValue { property, .. }) if property == "businessPhones")
        );
        let mut u = user("a@x.com", "A", "a");
        u.set("employeeId", &TargetValue::Text("E".repeat(1_000_000)));
        assert_eq!(
            check_create(&u, &[], false).map_err(|p| p.reason()),
            Err("Invalid value specified for property 'employeeId' of resource 'User'. The value has 1000000 characters; at most 16 are allowed.".into())
        );
    }

    #[test]
    fn updates_are_checked_in_what_they_change() {
        let mut u = user("a@x.com", "A", "a");
        u.set("jobTitle", &TargetValue::Text("t".repeat(200)));
        assert_eq!(check_update(&u, &["department"], &[], false), Ok(()), "an untouched value is not checked");
        assert!(matches!(
            check_update(&u, &["jobTitle"], &[], false),
            Err(WriteProblem::InvalidValue { property, fault: ValueFault::TooLong { len: 200, max: 128 } }) if property == "jobTitle"
        ));
        u.set("displayName", &TargetValue::Text(" ".into()));
        assert_eq!(
            check_update(&u, &["displayName"], &[], false),
            Err(WriteProblem::InvalidValue { property: "displayName".into(), fault: ValueFault::Cleared })
        );
        let mut u = user("no-at-sign", "A", "a");
        assert_eq!(check_update(&u, &["department"], &[], false), Ok(()));
        assert_eq!(
            check_update(&u, &["userPrincipalName"], &[], false),
            Err(WriteProblem::InvalidUserPrincipalName(ValueFault::AtSign))
        );
        u.set("userPrincipalName", &TargetValue::Text("b@other.com".into()));
        let verified = vec!["contoso.com".to_owned()];
        assert!(matches!(
            check_update(&u, &["userPrincipalName"], &verified, false),
            Err(WriteProblem::UnverifiedDomain(_))
        ));
        assert_eq!(
            check_update(&u, &["userPrincipalName"], &[], true),
            Err(WriteProblem::UpnTaken("b@other.com".into()))
        );
    }

    #[test]
    fn codes_and_reasons() {
        assert_eq!(WriteProblem::UpnTaken("x".into()).error_code(), "AzureActiveDirectoryInvalidUserPrincipalName");
        let invalid = WriteProblem::InvalidUserPrincipalName(ValueFault::Character { ch: '\0', at: 2 });
        assert_eq!(invalid.error_code(), "AzureActiveDirectoryInvalidUserPrincipalName");
        assert!(invalid.reason().starts_with(
            "Property userPrincipalName is invalid. The value contains the control character U+0000 at position 2."
        ));
        let value = WriteProblem::InvalidValue { property: "jobTitle".into(), fault: ValueFault::Cleared };
        assert_eq!(value.error_code(), "AzureActiveDirectoryInvalidPropertyValue");
    }
}
