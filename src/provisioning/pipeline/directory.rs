//! The directory as one batch sees it: the unit of work's view ([`DirectoryView`]) plus everything the batch
//! wrote so far, with its lookups kept true as users change (an update that changes an employeeId or a UPN
//! moves the user between keys). The batch only looks up keys it named before its unit of work began, so
//! the view is complete for every lookup.
//!
//! Running the batch's decisions against this, rather than against the store, makes them pure: a deletion
//! threshold breach simply runs the decisions again on a fresh overlay.

use std::collections::BTreeMap;

use foldhash::HashMap;

use crate::directory::DirectoryUser;
use crate::store::{DirectoryView, PendingReference, holder_key};

/// The view plus the batch's changes.
#[derive(Debug)]
pub(super) struct Directory<'v> {
    view: &'v DirectoryView,
    written: HashMap<String, DirectoryUser>,
    /// Written users in the order of their first write.
    order: Vec<String>,
    holders: HashMap<(String, String), Vec<String>>,
    /// The properties `holders` is keyed by.
    properties: Vec<String>,
    upn_holders: HashMap<String, Vec<String>>,
    /// Waiting references by user id, as the batch leaves them.
    pending: BTreeMap<String, PendingReference>,
    added: Vec<String>,
    removed: Vec<String>,
}

impl<'v> Directory<'v> {
    pub(super) fn new(view: &'v DirectoryView) -> Self {
        Self {
            view,
            written: HashMap::default(),
            order: Vec::new(),
            holders: view.holders.clone(),
            properties: {
                let mut p: Vec<String> = view.holders.keys().map(|(p, _)| p.clone()).collect();
                p.sort();
                p.dedup();
                p
            },
            upn_holders: view.upn_holders.clone(),
            pending: view.pending.iter().map(|p| (p.user_id.clone(), p.clone())).collect(),
            added: Vec::new(),
            removed: Vec::new(),
        }
    }

    pub(super) fn user(&self, id: &str) -> Option<&DirectoryUser> {
        self.written.get(id).or_else(|| self.view.users.get(id))
    }

    /// The oldest user holding `value` in `property` (a key the batch named).
    pub(super) fn find(&self, property: &str, value: &str) -> Option<&DirectoryUser> {
        let ids = self.holders.get(&(property.to_owned(), holder_key(property, value)))?;
        ids.first().and_then(|id| self.user(id))
    }

    /// Whether a user other than `except_id` holds `upn` (case-insensitive).
    pub(super) fn upn_taken(&self, upn: &str, except_id: &str) -> bool {
        self.upn_holders.get(&upn.to_ascii_lowercase()).is_some_and(|ids| ids.iter().any(|id| id != except_id))
    }

    /// Records `user` as written, moving it between the lookup keys its changes affect.
    pub(super) fn save(&mut self, user: DirectoryUser) {
        let held = |u: &DirectoryUser, property: &str| match property {
            "id" | "objectId" => Some(u.id.clone()),
            p => u.get(p).map(|v| holder_key(p, &v.display())),
        };
        let old = self.user(&user.id);
        let moves: Vec<(String, Option<String>, Option<String>)> = self
            .properties
            .iter()
            .map(|p| (p.clone(), old.and_then(|u| held(u, p)), held(&user, p)))
            .filter(|(_, was, is)| was != is)
            .collect();
        let old_upn = old.map(|u| u.user_principal_name().to_ascii_lowercase());
        for (property, was, is) in moves {
            if let Some(was) = was {
                self.place(&(property.clone(), was), &user, false);
            }
            if let Some(is) = is {
                self.place(&(property, is), &user, true);
            }
        }
        let new_upn = user.user_principal_name().to_ascii_lowercase();
        if old_upn.as_deref() != Some(new_upn.as_str()) {
            if let Some(old) = old_upn.and_then(|u| self.upn_holders.get_mut(&u)) {
                old.retain(|id| *id != user.id);
            }
            if let Some(ids) = self.upn_holders.get_mut(&new_upn) {
                ids.push(user.id.clone());
            }
        }
        if !self.written.contains_key(&user.id) {
            self.order.push(user.id.clone());
        }
        self.written.insert(user.id.clone(), user);
    }

    /// Adds `user` to or removes it from the holders of `key`, keeping them oldest first.
    fn place(&mut self, key: &(String, String), user: &DirectoryUser, holds: bool) {
        let Some(current) = self.holders.get(key) else { return };
        let mut ids: Vec<String> = current.iter().filter(|id| **id != user.id).cloned().collect();
        if holds {
            ids.push(user.id.clone());
        }
        ids.sort_by_cached_key(|id| {
            let created = if *id == user.id { Some(user.created) } else { self.user(id).map(|u| u.created) };
            (created, id.clone())
        });
        self.holders.insert(key.clone(), ids);
    }

    pub(super) fn add_pending(&mut self, reference: PendingReference) {
        self.removed.retain(|id| *id != reference.user_id);
        self.added.retain(|id| *id != reference.user_id);
        self.added.push(reference.user_id.clone());
        self.pending.insert(reference.user_id.clone(), reference);
    }

    pub(super) fn remove_pending(&mut self, user_id: &str) {
        if self.pending.remove(user_id).is_some() {
            self.added.retain(|id| id != user_id);
            self.removed.push(user_id.to_owned());
        }
    }

    /// The job's waiting references whose manager is in the directory now, by user id.
    pub(super) fn resolvable(&self, job_id: &str) -> Vec<PendingReference> {
        self.pending
            .values()
            .filter(|p| p.job_id == job_id && self.find("employeeId", &p.manager_external_id).is_some())
            .cloned()
            .collect()
    }

    /// The batch's writes: users in the order of their first write, references added and removed.
    pub(super) fn into_writes(mut self) -> (Vec<DirectoryUser>, Vec<PendingReference>, Vec<String>) {
        let users = self.order.iter().filter_map(|id| self.written.remove(id)).collect();
        let added = self.added.iter().filter_map(|id| self.pending.get(id).cloned()).collect();
        (users, added, self.removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::TargetValue;
    use time::OffsetDateTime;

    fn user(id: &str, employee_id: &str, upn: &str, created: i64) -> DirectoryUser {
        let mut u = DirectoryUser::new(id.into(), OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(created));
        u.set("employeeId", &TargetValue::Text(employee_id.into()));
        u.set("userPrincipalName", &TargetValue::Text(upn.into()));
        u
    }

    #[test]
    fn lookups_follow_the_batch_writes() {
        let mut view = DirectoryView::default();
        for u in [user("a", "1", "A@x", 1), user("b", "1", "b@x", 2)] {
            view.users.insert(u.id.clone(), u);
        }
        view.holders.insert(("employeeId".into(), "1".into()), vec!["a".into(), "b".into()]);
        view.holders.insert(("employeeId".into(), "2".into()), vec![]);
        view.upn_holders.insert("a@x".into(), vec!["a".into()]);
        view.upn_holders.insert("c@x".into(), vec![]);
        let mut dir = Directory::new(&view);
        assert_eq!(dir.find("employeeId", "1").map(|u| u.id.as_str()), Some("a"), "the oldest holder");
        assert!(dir.upn_taken("a@X", "b") && !dir.upn_taken("a@x", "a"));

        // a moves from employeeId 1 to 2 and takes UPN c@x: 1 is b's now, A@x is free.
        let mut a = dir.user("a").cloned().unwrap();
        a.set("employeeId", &TargetValue::Text("2".into()));
        a.set("userPrincipalName", &TargetValue::Text("C@x".into()));
        dir.save(a);
        assert_eq!(dir.find("employeeId", "1").map(|u| u.id.as_str()), Some("b"));
        assert_eq!(dir.find("employeeId", "2").map(|u| u.id.as_str()), Some("a"));
        assert!(!dir.upn_taken("a@x", "z") && dir.upn_taken("c@x", "z"));

        // A new user with employeeId 1 is newer than b.
        dir.save(user("n", "1", "n@x", 3));
        assert_eq!(dir.find("employeeId", "1").map(|u| u.id.as_str()), Some("b"));
        let (users, _, _) = dir.into_writes();
        assert_eq!(users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["a", "n"]);
    }

    #[test]
    fn references_added_then_removed_leave_only_the_removal() {
        let mut view = DirectoryView::default();
        let p = |u: &str| PendingReference {
            user_id: u.into(),
            job_id: "J".into(),
            source_id: u.into(),
            manager_external_id: "M".into(),
        };
        view.pending.push(p("old"));
        let mut dir = Directory::new(&view);
        dir.add_pending(p("new"));
        dir.remove_pending("old");
        dir.remove_pending("new");
        let (_, added, removed) = dir.into_writes();
        assert!(added.is_empty());
        assert_eq!(removed, ["old", "new"]);
    }
}
