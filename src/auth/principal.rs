//! The authenticated caller of a request, as read from a validated access token.

/// Who is calling and with which permissions (`roles` for app tokens, `scp` for delegated ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub app_id: String,
    pub tenant_id: String,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    /// Lenient mode: every permission is granted.
    pub all_permissions: bool,
}

impl Principal {
    /// True when the caller holds any of `permissions` as an application role or a delegated scope.
    pub fn has_any(&self, permissions: &[&str]) -> bool {
        self.all_permissions || permissions.iter().any(|p| self.roles.iter().chain(&self.scopes).any(|held| held == p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes_both_count() {
        let mut p = Principal {
            app_id: "a".into(),
            tenant_id: "t".into(),
            roles: vec!["AuditLog.Read.All".into()],
            scopes: vec![],
            all_permissions: false,
        };
        assert!(p.has_any(&["AuditLog.Read.All"]));
        assert!(!p.has_any(&["SynchronizationData-User.Upload"]));
        p.scopes.push("SynchronizationData-User.Upload".into());
        assert!(p.has_any(&["SynchronizationData-User.Upload"]));
    }
}
