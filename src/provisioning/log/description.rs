//! Step descriptions: the engine's messages, kept as the message and its arguments (a few bytes stored per
//! step instead of the sentence) and formatted when an entry is rendered. Entries read from a Graph document
//! keep their description as [`Description::Text`].
//!
//! The wording follows the descriptions Microsoft's documented log entries show (docs/fidelity.md, B.2
//! "Steps"); messages the public record has no example of are worded in the same style.

use std::fmt;

use super::model::{SOURCE_SYSTEM, TARGET_SYSTEM};

/// One step's description.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Description {
    /// Import: the record arrived.
    Received {
        source: String,
    },
    /// Import: the staged record could not be read back (a damaged store).
    Unreadable {
        source: String,
    },
    /// Scoping.
    Scoping,
    /// Matching found no user: the user is created (`enabled` = whether it is created enabled).
    WillCreate {
        source: String,
        enabled: bool,
    },
    /// Matching found the user.
    Matched {
        source: String,
        upn: String,
        id: String,
    },
    /// Matching could not run: the matching mapping produced no value.
    NoMatchingValue,
    Created {
        upn: String,
    },
    CreateFailed {
        who: String,
    },
    Updated {
        upn: String,
    },
    Disabled {
        upn: String,
    },
    UpdateFailed {
        upn: String,
    },
    /// The disable was held back by the accidental-deletion threshold.
    DeletionThresholdExceeded {
        upn: String,
        threshold: u64,
    },
    /// Nothing to change.
    Redundant {
        source: String,
    },
    OutOfScope {
        source: String,
    },
    MappingFailed {
        target: String,
        source: String,
    },
    ManagerResolved {
        source: String,
        manager_id: String,
        manager_external_id: String,
    },
    /// A reference that waited for its manager, set when the manager arrived.
    ManagerResolvedLater {
        source: String,
        manager_id: String,
        manager_external_id: String,
    },
    ManagerWaiting {
        source: String,
        manager_external_id: String,
    },
    Text(String),
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Description as D;
        match self {
            D::Received { source } => write!(f, "Received User '{source}' from {SOURCE_SYSTEM}"),
            D::Unreadable { source } => write!(f, "Could not read User '{source}' as staged"),
            D::Scoping => f.write_str("Determine if User in scope by evaluating against each scoping filter"),
            D::WillCreate { source, enabled: true } => write!(
                f,
                "User '{source}' will be created in {TARGET_SYSTEM} (User is active and assigned in {SOURCE_SYSTEM}, but no matching User was found in {TARGET_SYSTEM})"
            ),
            D::WillCreate { source, enabled: false } => write!(
                f,
                "User '{source}' will be created in {TARGET_SYSTEM} (no matching User was found in {TARGET_SYSTEM}); it is created disabled because it is not active in {SOURCE_SYSTEM}"
            ),
            D::Matched { source, upn, id } => {
                write!(f, "User '{source}' matched User '{upn}' ({id}) in {TARGET_SYSTEM}")
            }
            D::NoMatchingValue => f.write_str("No matching value"),
            D::Created { upn } => write!(f, "User '{upn}' was created in {TARGET_SYSTEM}"),
            D::CreateFailed { who } => write!(f, "Failed to create User '{who}' in {TARGET_SYSTEM}"),
            D::Updated { upn } => write!(f, "User '{upn}' was updated in {TARGET_SYSTEM}"),
            D::Disabled { upn } => write!(f, "User '{upn}' was disabled in {TARGET_SYSTEM}"),
            D::UpdateFailed { upn } => write!(f, "Failed to update User '{upn}' in {TARGET_SYSTEM}"),
            D::DeletionThresholdExceeded { upn, threshold } => write!(
                f,
                "User '{upn}' was not disabled: this cycle would disable more users than the accidental-deletion threshold ({threshold}) allows. The job is quarantined until it is restarted."
            ),
            D::Redundant { source } => write!(
                f,
                "The state of the user in both the source and target systems already match. No change to the User '{source}' currently needs to be made."
            ),
            D::OutOfScope { source } => {
                write!(f, "User '{source}' is out of scope of the scoping filter; it was skipped.")
            }
            D::MappingFailed { target, source } => {
                write!(f, "Failed to evaluate the mapping for '{target}' of User '{source}'")
            }
            D::ManagerResolved { source, manager_id, manager_external_id } => write!(
                f,
                "Reference 'manager' of User '{source}' resolved to User '{manager_id}' (externalId '{manager_external_id}')"
            ),
            D::ManagerResolvedLater { source, manager_id, manager_external_id } => write!(
                f,
                "Reference 'manager' of User '{source}' resolved to User '{manager_id}' (externalId '{manager_external_id}'). It had been waiting because that manager was not provisioned when User '{source}' was processed."
            ),
            D::ManagerWaiting { source, manager_external_id } => write!(
                f,
                "The manager of User '{source}' (externalId '{manager_external_id}') is not in {TARGET_SYSTEM} yet, so the reference was not set. It will be set when a User with employeeId '{manager_external_id}' is provisioned."
            ),
            D::Text(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_their_arguments() {
        let d = Description::WillCreate { source: "701984".into(), enabled: true };
        assert_eq!(
            d.to_string(),
            "User '701984' will be created in Microsoft Entra ID (User is active and assigned in API, but no matching User was found in Microsoft Entra ID)"
        );
        let d = Description::WillCreate { source: "1".into(), enabled: false };
        assert!(!d.to_string().contains("is active"), "{d}");
        assert_eq!(Description::Text("as sent".into()).to_string(), "as sent");
        assert_eq!(
            Description::Matched { source: "1".into(), upn: "a@b".into(), id: "x".into() }.to_string(),
            "User '1' matched User 'a@b' (x) in Microsoft Entra ID"
        );
    }
}
