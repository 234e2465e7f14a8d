//! Which surface a request path belongs to, by name: the one classification the request journal, fault rules
//! and metrics share, so a rule for `bulkUpload` and the journal's `route` field always mean the same requests.

/// The surface a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    BulkUpload,
    ProvisioningLogs,
    Users,
    Jobs,
    Schema,
    Token,
    Discovery,
    Scim,
    Control,
    Health,
    OpenApi,
    Other,
}

impl RouteKind {
    /// The name rules, the journal and metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BulkUpload => "bulkUpload",
            Self::ProvisioningLogs => "provisioningLogs",
            Self::Users => "users",
            Self::Jobs => "jobs",
            Self::Schema => "schema",
            Self::Token => "token",
            Self::Discovery => "discovery",
            Self::Scim => "scim",
            Self::Control => "control",
            Self::Health => "health",
            Self::OpenApi => "openapi",
            Self::Other => "other",
        }
    }
}

/// A classified request path: its surface, and the synchronization job it names, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified<'a> {
    pub kind: RouteKind,
    pub job_id: Option<&'a str>,
}

/// Path segments looked at: the longest route decided by its segments (a job's `bulkUpload/$value`) has 8.
const MAX_SEGMENTS: usize = 10;

/// Classifies `path` (the URI path, without query) the way the router serves it.
pub fn classify(path: &str) -> Classified<'_> {
    let plain = |kind| Classified { kind, job_id: None };
    // The first segments on the stack (every route is decided within them): this runs for every request.
    let mut segments = [""; MAX_SEGMENTS];
    let mut len = 0;
    for (slot, segment) in segments.iter_mut().zip(path.trim_start_matches('/').split('/')) {
        *slot = segment;
        len += 1;
    }
    match &segments[..len] {
        ["health" | "ready" | "metrics"] => plain(RouteKind::Health),
        ["openapi.json"] => plain(RouteKind::OpenApi),
        ["_emulator", ..] => plain(RouteKind::Control),
        ["scim", "v2", ..] | ["admin", "v1", ..] => plain(RouteKind::Scim),
        ["oauth2", "v1", "token"] => plain(RouteKind::Token),
        [_, "oauth2", "token"] | [_, "oauth2", "v2.0", "token"] => plain(RouteKind::Token),
        [_, ".well-known", "openid-configuration"]
        | [_, "v2.0", ".well-known", "openid-configuration"]
        | [_, "discovery", "keys"]
        | [_, "discovery", "v2.0", "keys"] => plain(RouteKind::Discovery),
        ["v1.0" | "beta", rest @ ..] => graph(rest),
        _ => plain(RouteKind::Other),
    }
}

fn graph<'a>(rest: &[&'a str]) -> Classified<'a> {
    match rest {
        ["auditLogs", "provisioning", ..] => Classified { kind: RouteKind::ProvisioningLogs, job_id: None },
        ["users", ..] => Classified { kind: RouteKind::Users, job_id: None },
        ["servicePrincipals", _, "synchronization", "jobs", job, tail @ ..] => {
            let kind = match tail.first() {
                Some(&"bulkUpload") => RouteKind::BulkUpload,
                Some(&"schema") => RouteKind::Schema,
                _ => RouteKind::Jobs,
            };
            Classified { kind, job_id: Some(job) }
        }
        ["servicePrincipals", _, "synchronization", "jobs"] => Classified { kind: RouteKind::Jobs, job_id: None },
        _ => Classified { kind: RouteKind::Other, job_id: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &str) -> (&'static str, Option<&str>) {
        let c = classify(path);
        (c.kind.as_str(), c.job_id)
    }

    #[test]
    fn every_surface_is_named_as_rules_and_the_journal_name_it() {
        let jobs = "/v1.0/servicePrincipals/sp/synchronization/jobs";
        assert_eq!(kind(&format!("{jobs}/J1/bulkUpload")), ("bulkUpload", Some("J1")));
        assert_eq!(kind(&format!("{jobs}/J1/bulkUpload/$value")), ("bulkUpload", Some("J1")));
        assert_eq!(kind(&format!("{jobs}/J1/bulkUpload/a/b/c/d/e/f/g")), ("bulkUpload", Some("J1")), "long paths too");
        assert_eq!(kind(&format!("{jobs}/J1/schema/parseExpression")), ("schema", Some("J1")));
        assert_eq!(kind(&format!("{jobs}/J1/start")), ("jobs", Some("J1")));
        assert_eq!(kind(&format!("{jobs}/J1")), ("jobs", Some("J1")));
        assert_eq!(kind(jobs), ("jobs", None));
        assert_eq!(kind("/beta/auditLogs/provisioning/"), ("provisioningLogs", None));
        assert_eq!(kind("/v1.0/users/$count"), ("users", None));
        assert_eq!(kind("/tenant/oauth2/v2.0/token"), ("token", None));
        assert_eq!(kind("/tenant/oauth2/token"), ("token", None));
        assert_eq!(kind("/oauth2/v1/token"), ("token", None));
        assert_eq!(kind("/tenant/v2.0/.well-known/openid-configuration"), ("discovery", None));
        assert_eq!(kind("/tenant/discovery/keys"), ("discovery", None));
        assert_eq!(kind("/scim/v2/Users/1"), ("scim", None));
        assert_eq!(kind("/admin/v1/Bulk"), ("scim", None));
        assert_eq!(kind("/_emulator/reset"), ("control", None));
        assert_eq!(kind("/health"), ("health", None));
        assert_eq!(kind("/metrics"), ("health", None));
        assert_eq!(kind("/openapi.json"), ("openapi", None));
        assert_eq!(kind("/v1.0/groups"), ("other", None));
        assert_eq!(kind("/"), ("other", None));
    }
}
