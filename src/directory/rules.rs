//! Rules the directory enforces when a user is created (docs/fidelity.md A.2): required properties, UPN uniqueness,
//! verified domains. The UPN collision check itself needs the store, so callers pass its answer in.

use super::DirectoryUser;

/// Why a create fails; maps to the provisioning log's `errorInformation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateProblem {
    RequiredPropertyMissing(&'static str),
    UpnTaken(String),
    UnverifiedDomain(String),
}

impl CreateProblem {
    pub fn error_code(&self) -> &'static str {
        match self {
            CreateProblem::RequiredPropertyMissing(_) => "AzureActiveDirectoryRequiredPropertyMissing",
            CreateProblem::UpnTaken(_) | CreateProblem::UnverifiedDomain(_) => {
                "AzureActiveDirectoryInvalidUserPrincipalName"
            }
        }
    }

    pub fn reason(&self) -> String {
        match self {
            CreateProblem::RequiredPropertyMissing(p) => format!(
                "The required property '{p}' has no value. Microsoft Entra ID requires userPrincipalName, displayName and mailNickname to create a user; check the attribute mappings and the record."
            ),
            CreateProblem::UpnTaken(upn) => format!(
                "Another object with the same value for property userPrincipalName already exists ('{upn}'). The provisioning service does not make UPNs unique; generate unique values in the source or in the mapping."
            ),
            CreateProblem::UnverifiedDomain(upn) => format!(
                "The domain portion of the userPrincipalName property is invalid ('{upn}'): the domain does not exist or is not verified in this tenant."
            ),
        }
    }
}

/// Check a user about to be created. `upn_taken` is whether another user already has its UPN.
pub fn check_create(user: &DirectoryUser, verified_domains: &[String], upn_taken: bool) -> Result<(), CreateProblem> {
    for property in ["userPrincipalName", "displayName", "mailNickname"] {
        if user.text(property).is_none_or(|v| v.trim().is_empty()) {
            return Err(CreateProblem::RequiredPropertyMissing(property));
        }
    }
    let upn = user.text("userPrincipalName").unwrap_or_default();
    if !verified_domains.is_empty() {
        let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        if !verified_domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            return Err(CreateProblem::UnverifiedDomain(upn.to_owned()));
        }
    }
    if upn_taken {
        return Err(CreateProblem::UpnTaken(upn.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::TargetValue;

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
            Err(CreateProblem::RequiredPropertyMissing("userPrincipalName"))
        );
        assert_eq!(
            check_create(&user("a@x.com", "A", ""), &[], false),
            Err(CreateProblem::RequiredPropertyMissing("mailNickname"))
        );
        assert_eq!(check_create(&user("a@x.com", "A", "a"), &[], true), Err(CreateProblem::UpnTaken("a@x.com".into())));
        let verified = vec!["contoso.com".to_owned()];
        assert!(matches!(
            check_create(&user("a@x.com", "A", "a"), &verified, false),
            Err(CreateProblem::UnverifiedDomain(_))
        ));
        assert_eq!(check_create(&user("a@CONTOSO.com", "A", "a"), &verified, false), Ok(()));
        assert_eq!(CreateProblem::UpnTaken("x".into()).error_code(), "AzureActiveDirectoryInvalidUserPrincipalName");
    }
}
