//! Tests of the SQLite backend through the store boundary: exact round trips of typed records, the staging
//! path and its watermark, units of work, purges and resets, retention, migration from version 4, and a
//! forced staging failure.

use std::borrow::Cow;

use rusqlite::{Connection, params};
use time::macros::datetime;

use super::super::{BatchWrites, CommitOutcome, DirectoryKeys, NewOperation, Store, StoreError};
use super::open::{MAIN_DB, STAGING_DB};
use super::{legacy, migrations};
use crate::config::Synchronous;
use crate::directory::{DirectoryUser, TargetValue};
use crate::provisioning::log::tests::sample;
use crate::provisioning::log::{
    Description, ModifiedProperty, ProvisioningObjectSummary, ProvisioningResult, ProvisioningStep, Shown, StepType,
    to_graph_json,
};

fn store() -> Store {
    Store::open(None, Synchronous::Full).unwrap()
}

fn op<'a>(id: &'a str, data: &'a str) -> NewOperation<'a> {
    NewOperation { bulk_id: id, external_id: id, data }
}

fn user(id: &str, employee_id: &str, upn: &str) -> DirectoryUser {
    let mut u = DirectoryUser::new(id.into(), datetime!(2025-01-15 10:00 UTC));
    u.set("employeeId", &TargetValue::Text(employee_id.into()));
    u.set("userPrincipalName", &TargetValue::Text(upn.into()));
    u
}

/// An entry exercising every compaction of the body: import values mappings copy, a modified property a
/// mapping produced and one it did not, an identity of another type, details on identities.
fn rich_entry(id: &str) -> ProvisioningObjectSummary {
    let mut e = sample();
    e.id = id.into();
    e.steps[0].details = vec![
        (Cow::Borrowed("displayName"), "Babs".into()),
        (Cow::Owned("name.givenName".into()), "Barbara".into()),
        (Cow::Borrowed("Note"), "n".into()),
    ];
    let mut scoping = ProvisioningStep::new(
        "Custom step",
        StepType::Processing,
        ProvisioningResult::Warning,
        Description::Text("free text".into()),
    );
    scoping.details.push((Cow::Borrowed("k"), String::new()));
    e.steps.insert(1, scoping);
    if let Some(m) = e.steps.iter_mut().find_map(|s| s.mappings.as_mut()) {
        m.values = vec![Shown::Value("Babs".into()), Shown::Value("not imported".into())];
    }
    e.modified_properties.push(ModifiedProperty {
        display_name: "mail".into(),
        old_value: Some("o".into()),
        new_value: Some("not imported".into()),
    });
    e.modified_properties.push(ModifiedProperty {
        display_name: "objectId".into(),
        old_value: None,
        new_value: Some("u1".into()),
    });
    e.modified_properties.push(ModifiedProperty {
        display_name: "displayName".into(),
        old_value: None,
        new_value: None,
    });
    e.target_identity.identity_type = "Group".into();
    e.source_identity.details = vec![("a".into(), "b".into())];
    e
}

#[tokio::test]
async fn log_entries_and_users_read_back_exactly_as_written() {
    let s = store();
    let mut manager = user("m", "E0", "m@x");
    manager.set("businessPhones", &TargetValue::List(vec!["1".into(), "2".into()]));
    manager.set("employeeOrgData.division", &TargetValue::Text("D".into()));
    manager.set("custom.attr", &TargetValue::Bool(true));
    manager.account_enabled = true;
    let mut employee = user("e", "E1", "E@x");
    employee.manager_id = Some("m".into());
    let entries = vec![rich_entry("a"), rich_entry("b")];
    s.import(vec![manager.clone(), employee.clone()], entries.clone()).await.unwrap();
    assert_eq!(s.log_entry("a").await.unwrap(), Some(entries[0].clone()));
    assert_eq!(s.log_entry("b").await.unwrap().map(|e| to_graph_json(&e)), Some(to_graph_json(&entries[1])));
    assert_eq!(s.log_entry("nope").await.unwrap(), None);
    assert_eq!(s.find_user("m").await.unwrap(), Some(manager));
    assert_eq!(s.find_user("e@X").await.unwrap(), Some(employee), "by UPN, case-insensitively");
    assert_eq!(s.count_users().await.unwrap(), 2);
    let found = s.users_by_ids(vec!["e".into(), "missing".into()]).await.unwrap();
    assert_eq!(found.keys().collect::<Vec<_>>(), ["e"]);
}

#[tokio::test]
async fn staged_requests_come_back_whole_in_order_until_applied() {
    let s = store();
    let data = r#"{"externalId":"1"}"#;
    let first = s.stage("J", "r1", datetime!(2025-01-15 10:00 UTC), &[op("1", data), op("2", data)]).await.unwrap();
    let second = s.stage("J", "r2", datetime!(2025-01-15 10:01 UTC), &[op("3", data)]).await.unwrap();
    s.stage("K", "r3", datetime!(2025-01-15 10:02 UTC), &[op("4", data)]).await.unwrap();
    assert!(second > first);
    // Whole requests, at least `max_ops` operations.
    let read = s.read_staged("J", 0, 1).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].operations.len(), 2);
    assert_eq!(read[0].received, datetime!(2025-01-15 10:00 UTC));
    assert_eq!(s.read_staged("J", 0, 100).await.unwrap().len(), 2);
    assert_eq!(s.backlog("J", 0).await.unwrap(), 3);
    assert_eq!(s.newest_staged("J").await.unwrap(), Some(second));

    // A unit of work moves the progress and trims; a stale one is superseded and writes nothing.
    let unit = s.begin_batch(DirectoryKeys { job_id: "J".into(), ..DirectoryKeys::default() }).await.unwrap();
    let writes = BatchWrites {
        job_id: "J".into(),
        from: 0,
        through: first,
        users: vec![user("u", "1", "u@x")],
        ..BatchWrites::default()
    };
    assert_eq!(unit.commit(writes.clone()).await.unwrap(), CommitOutcome::Committed);
    let unit = s.begin_batch(DirectoryKeys::default()).await.unwrap();
    assert_eq!(
        unit.commit(BatchWrites { users: vec![user("v", "2", "v@x")], ..writes }).await.unwrap(),
        CommitOutcome::Superseded
    );
    assert!(s.find_user("v").await.unwrap().is_none());
    assert_eq!(s.resume_job("J").await.unwrap().applied_through, first);
    assert_eq!(s.backlog("J", first).await.unwrap(), 1);

    // A purge skips what is staged; a reset drops everything and moves every job past it.
    let purged = s.purge_staged("J").await.unwrap();
    assert_eq!((purged.through, purged.operations), (second, 1));
    let dropped = s.reset(vec!["J".into(), "K".into()]).await.unwrap();
    assert_eq!(dropped.operations.get("K"), Some(&1));
    assert_eq!(dropped.operations.get("J"), None, "J's requests were applied or purged");
    assert!(dropped.through >= second);
    assert_eq!(s.count_users().await.unwrap(), 0);
    let after = s.stage("J", "r4", datetime!(2025-01-15 10:03 UTC), &[op("5", data)]).await.unwrap();
    assert!(after > dropped.through, "sequence numbers are never reused");
}

#[tokio::test]
async fn a_directory_view_holds_every_holder_of_every_key_asked() {
    let s = store();
    let mut older = user("a", "E1", "a@x");
    older.created = datetime!(2025-01-01 0:00 UTC);
    let twin = user("b", "E1", "B@x");
    s.import(vec![twin, older], vec![]).await.unwrap();
    let keys = DirectoryKeys {
        job_id: "J".into(),
        by_property: vec![
            ("employeeId".into(), vec!["E1".into(), "none".into()]),
            ("userPrincipalName".into(), vec!["A@X".into()]),
        ],
        upns: vec!["b@x".into(), "c@x".into()],
        employee_ids: vec![],
    };
    let unit = s.begin_batch(keys).await.unwrap();
    let view = unit.view();
    assert_eq!(view.holders[&("employeeId".into(), "E1".into())], ["a", "b"], "oldest first");
    assert!(view.holders[&("employeeId".into(), "none".into())].is_empty());
    assert_eq!(view.holders[&("userPrincipalName".into(), "a@x".into())], ["a"], "UPNs compare case-insensitively");
    assert_eq!(view.upn_holders["b@x"], ["b"]);
    assert!(view.upn_holders["c@x"].is_empty());
}

#[tokio::test]
async fn retention_deletes_old_entries_and_all_but_the_newest() {
    let s = store();
    let entry = |i: i64| {
        let mut e = sample();
        e.id = format!("e{i}");
        e.activity_date_time = datetime!(2025-01-01 0:00 UTC) + time::Duration::days(i);
        e
    };
    // Two imports: two blocks of bodies, e0–e2 and e3–e9.
    s.import(vec![], (0..3).map(entry).collect()).await.unwrap();
    s.import(vec![], (3..10).map(entry).collect()).await.unwrap();
    let blocks = || -> i64 {
        let c = Connection::open(s.location().unwrap().join(MAIN_DB)).unwrap();
        c.query_row("SELECT count(*) FROM log_block", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(blocks(), 2);
    assert_eq!(s.expire_logs(datetime!(2025-01-04 0:00 UTC), None).await.unwrap(), 3);
    assert!(s.log_entry("e2").await.unwrap().is_none());
    assert!(s.log_entry("e3").await.unwrap().is_some());
    assert_eq!(blocks(), 1, "a block goes with its last entry");
    assert_eq!(s.expire_logs(datetime!(2000-01-01 0:00 UTC), Some(4)).await.unwrap(), 3);
    assert!(s.log_entry("e5").await.unwrap().is_none());
    assert!(s.log_entry("e6").await.unwrap().is_some(), "the newest four stay");
}

#[tokio::test]
async fn a_staging_failure_is_an_error_and_later_stages_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(Some(dir.path()), Synchronous::Full).unwrap();
    let conn = Connection::open(dir.path().join(STAGING_DB)).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON staged_request BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let data = r#"{"externalId":"1"}"#;
    let failed = s.stage("J", "r", datetime!(2025-01-15 10:00 UTC), &[op("1", data)]).await;
    assert!(matches!(&failed, Err(StoreError::Corrupt(m)) if m.contains("disk full")), "{failed:?}");
    conn.execute_batch("DROP TRIGGER refuse;").unwrap();
    assert!(s.stage("J", "r", datetime!(2025-01-15 10:00 UTC), &[op("1", data)]).await.is_ok());
}

/// A version-4 data directory: the old tables, one user, a document entry, an engine entry in form 1 with
/// its mapping set, and two staged operations of one request.
fn version_4_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Connection::open(dir.path().join(MAIN_DB)).unwrap();
    let tx = c.transaction().unwrap();
    for sql in &migrations::SQL[..4] {
        tx.execute_batch(sql).unwrap();
    }
    tx.pragma_update(None, "user_version", 4).unwrap();
    tx.execute(
        "INSERT INTO directory_user (id, user_principal_name, employee_id, account_enabled, created_time, manager_id, doc)
         VALUES ('u1', 'b@x', '701984', 1, '2025-01-15T10:00:00Z', 'm1', ?1)",
        params![r#"{"id":"u1","userPrincipalName":"b@x","employeeId":"701984","accountEnabled":true,"businessPhones":["5"],"employeeOrgData":{"division":"D"},"custom":"c","createdDateTime":"2025-01-15T10:00:00Z","userType":"Member"}"#],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status, doc)
         VALUES ('doc1', '2025-01-15T09:00:00.0000000Z', 'J', 'c0', 'x0', 1, 'create', 'success', ?1)",
        params![r#"{"id":"doc1","activityDateTime":"2025-01-15T09:00:00Z","jobId":"J","cycleId":"c0","changeId":"x0","provisioningAction":"create","provisioningStatusInfo":{"status":"success"}}"#],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO log_mapping_set (id, doc) VALUES (7, ?1)",
        params![r#"[["displayName","[displayName]"],["mail","[m]"]]"#],
    )
    .unwrap();
    let body = legacy::form_1_body(
        "701984",
        r#"{"schemas":["s"],"externalId":"701984","displayName":"Babs"}"#,
        &["Babs", "b@x"],
    );
    tx.execute(
        "INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, action, status,
            source_id, target_id, sp_id, sp_display_name, tenant_id, body, mapping_set)
         VALUES ('eng1', '2025-01-15T10:00:00.0000000Z', 'J', 'c1', 'x1', 4, 'create', 'success', '701984', 'u1',
            'sp', 'SP', 't', ?1, 7)",
        params![body],
    )
    .unwrap();
    for (i, ext) in ["a", "b"].iter().enumerate() {
        tx.execute(
            "INSERT INTO staged_operation (job_id, request_id, op_index, bulk_id, external_id, data, received_time)
             VALUES ('J', 'req', ?1, ?2, ?2, ?3, '2025-01-15T11:00:00.0000000Z')",
            params![i as i64, ext, format!(r#"{{"externalId":"{ext}"}}"#)],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    dir
}

#[tokio::test]
async fn a_version_4_data_dir_migrates_to_typed_records_and_a_staging_file() {
    let dir = version_4_dir();
    let s = Store::open(Some(dir.path()), Synchronous::Full).unwrap();
    let u = s.find_user("u1").await.unwrap().unwrap();
    assert_eq!(
        (u.user_principal_name(), u.employee_id(), u.manager_id.as_deref()),
        ("b@x", Some("701984"), Some("m1"))
    );
    assert_eq!(u.business_phones, ["5"]);
    assert_eq!(u.get("custom"), Some(TargetValue::Text("c".into())));
    assert_eq!(u.graph_value("employeeOrgData"), Some(serde_json::json!({"division": "D", "costCenter": null})));

    let doc = to_graph_json(&s.log_entry("doc1").await.unwrap().unwrap());
    assert_eq!((doc["jobId"].as_str(), doc["provisioningAction"].as_str()), (Some("J"), Some("create")));
    let eng = to_graph_json(&s.log_entry("eng1").await.unwrap().unwrap());
    assert_eq!(eng["activityDateTime"], "2025-01-15T10:00:00Z");
    assert_eq!(eng["servicePrincipal"], serde_json::json!({"id": "sp", "displayName": "SP"}));
    let import = &eng["provisioningSteps"][0]["details"];
    assert_eq!(import["active"], "False", "omitted active was imported as False");
    assert!(import["Note"].as_str().unwrap().contains("'active' was not sent"));
    assert_eq!(
        eng["provisioningSteps"][1]["details"],
        serde_json::json!({"ReportableIdentifier": "b@x", "displayName": "[displayName] = \"Babs\"", "mail": "[m] = \"b@x\""})
    );
    assert_eq!(eng["provisioningStatusInfo"]["errorInformation"]["errorCode"], "E");

    let staged = s.read_staged("J", 0, 100).await.unwrap();
    assert_eq!(staged.len(), 1);
    assert_eq!(staged[0].operations.iter().map(|o| o.external_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    drop(s);
    // Opening again neither repeats the move nor fails.
    let s = Store::open(Some(dir.path()), Synchronous::Full).unwrap();
    assert_eq!(s.read_staged("J", 0, 100).await.unwrap().len(), 1);
}

#[test]
fn a_data_dir_of_a_newer_release_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(Some(dir.path()), Synchronous::Full).unwrap());
    Connection::open(dir.path().join(MAIN_DB)).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let e = Store::open(Some(dir.path()), Synchronous::Full).unwrap_err().to_string();
    assert!(e.contains("newer entra-inbound") && e.contains("--data-dir"), "{e}");
}

#[test]
fn the_staging_move_is_not_repeated_after_a_crash_before_the_main_commit() {
    let dir = version_4_dir();
    // The staging file got the move and its note, the main database did not commit (still version 4).
    let main = Connection::open(dir.path().join(MAIN_DB)).unwrap();
    let mut staging = Connection::open(dir.path().join(STAGING_DB)).unwrap();
    staging.execute_batch(super::ingest::SCHEMA).unwrap();
    staging.execute_batch("CREATE TABLE IF NOT EXISTS staging_note (name TEXT PRIMARY KEY) STRICT;").unwrap();
    super::migrations::move_staged_operations(&main, &mut staging).unwrap();
    drop((staging, main));
    let s = Store::open(Some(dir.path()), Synchronous::Full).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert_eq!(rt.block_on(s.read_staged("J", 0, 100)).unwrap().len(), 1, "moved once");
}

/// Where a store call ran: on the calling thread (a point call), or handed to the blocking pool (as a
/// current-thread runtime cannot run blocking work in place, a hand-off shows as another thread).
mod point_calls {
    use std::thread::{ThreadId, current};

    use super::*;
    use crate::store::TurnSize;

    async fn turn_thread(store: &Store, size: TurnSize) -> ThreadId {
        store.scim_write(size, |_| Ok(current().id())).await.unwrap()
    }

    #[tokio::test]
    async fn one_resource_turns_of_a_private_store_run_on_the_calling_thread_and_bulk_turns_do_not() {
        let store = store();
        assert_eq!(turn_thread(&store, TurnSize::One).await, current().id());
        assert_ne!(turn_thread(&store, TurnSize::Many).await, current().id());
    }

    #[tokio::test]
    async fn a_durable_store_hands_every_turn_off_as_a_commit_may_wait_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path()), Synchronous::Full).unwrap();
        assert_ne!(turn_thread(&store, TurnSize::One).await, current().id());
    }

    #[tokio::test]
    async fn a_point_read_runs_on_the_calling_thread_once_a_reader_is_idle() {
        let db = super::super::Sqlite::open(None, Synchronous::Full).unwrap();
        let first = db.read_point(|_, _| Ok(current().id())).await.unwrap();
        assert_ne!(first, current().id(), "no reader was open yet: it is opened off this thread");
        assert_eq!(db.read_point(|_, _| Ok(current().id())).await.unwrap(), current().id());
        assert_ne!(db.read(|_, _| Ok(current().id())).await.unwrap(), current().id(), "a scan is handed off");
    }
}

/// The private mode's SCIM turns, answered from memory and written behind (`scim_behind`), as the store's
/// callers see them.
mod scim_written_behind {
    use std::sync::Arc;

    use super::*;
    use crate::store::{ScimKey, ScimKind, ScimRecord, TurnSize};

    fn user(id: &str, user_name: &str) -> Arc<ScimRecord> {
        let at = datetime!(2025-01-15 10:00 UTC);
        let mut attributes = serde_json::Map::new();
        attributes.insert("userName".into(), user_name.into());
        Arc::new(ScimRecord {
            id: id.into(),
            kind: ScimKind::User,
            unique_key: Some(user_name.to_lowercase()),
            external_id: None,
            display_name: None,
            version: 1,
            created: at,
            last_modified: at,
            members: Vec::new(),
            attributes,
        })
    }

    fn group(id: &str, members: &[&str]) -> Arc<ScimRecord> {
        let mut g = (*user(id, "")).clone();
        g.kind = ScimKind::Group;
        g.unique_key = None;
        g.members = members.iter().map(|m| (*m).to_owned()).collect();
        Arc::new(g)
    }

    async fn holder(store: &Store, name: &str) -> Option<String> {
        let name = name.to_owned();
        store.scim_write(TurnSize::One, move |w| w.holder(ScimKind::User, &name)).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_read_sees_what_a_turn_answered() {
        let store = store();
        store.scim_write(TurnSize::One, |w| w.insert(&user("u1", "ann"))).await.unwrap();
        let got = store.scim_get(ScimKind::User, "u1").await.unwrap().unwrap();
        assert_eq!(got, *user("u1", "ann"));
        let by_name = store.scim_by_keys(ScimKind::User, ScimKey::UniqueKey, vec!["ann".into()]).await.unwrap();
        assert_eq!(by_name.len(), 1);
        let exported = store.export_state(Vec::new()).await.unwrap();
        assert_eq!(exported.scim, vec![(*user("u1", "ann")).clone()]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_right_after_a_turn_never_misses_it_while_the_thread_writes() {
        // The writing thread takes each change off the queue before it commits it: a read in that window must
        // wait for the commit, not find the queue empty and read without the change.
        let store = store();
        for i in 0..300 {
            let id = format!("u{i}");
            let record = user(&id, &id);
            store.scim_write(TurnSize::One, move |w| w.insert(&record)).await.unwrap();
            assert!(store.scim_get(ScimKind::User, &id).await.unwrap().is_some(), "{id} read back");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_turn_leaves_nothing_behind() {
        let store = store();
        let failed = store
            .scim_write(TurnSize::One, |w| {
                w.insert(&user("u1", "ann"))?;
                Err::<(), _>(StoreError::Task("boom".into()))
            })
            .await;
        assert!(matches!(failed, Err(StoreError::Task(m)) if m == "boom"));
        assert_eq!(holder(&store, "ann").await, None);
        assert_eq!(store.scim_get(ScimKind::User, "u1").await.unwrap(), None);
        assert!(store.scim_all(ScimKind::User).await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_are_written_in_their_order_so_a_freed_user_name_can_be_taken_at_once() {
        let store = store();
        // ann → anna frees "ann", which u2 takes; then u1 changes again. Written as final states only, u2's
        // row would meet u1's old row still holding "ann".
        store.scim_write(TurnSize::One, |w| w.insert(&user("u1", "ann"))).await.unwrap();
        store.scim_write(TurnSize::One, |w| w.replace(&user("u1", "anna"))).await.unwrap();
        assert_eq!(holder(&store, "ann").await, None);
        store.scim_write(TurnSize::One, |w| w.insert(&user("u2", "ann"))).await.unwrap();
        store.scim_write(TurnSize::One, |w| w.replace(&user("u1", "annie"))).await.unwrap();
        let names: Vec<String> = store
            .scim_all(ScimKind::User)
            .await
            .unwrap()
            .into_iter()
            .map(|r| format!("{}={}", r.id, r.unique_key.unwrap()))
            .collect();
        assert_eq!(names, ["u1=annie", "u2=ann"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memberships_follow_replaces_and_deletes() {
        let store = store();
        store
            .scim_write(TurnSize::Many, |w| {
                w.insert(&user("u1", "ann"))?;
                w.insert(&user("u2", "bob"))?;
                w.insert(&group("g1", &["u1", "u2"]))
            })
            .await
            .unwrap();
        let of = |id: &'static str| store.scim_write(TurnSize::One, move |w| w.groups_with_member(id));
        assert_eq!(of("u2").await.unwrap(), ["g1"]);
        store
            .scim_write(TurnSize::One, |w| {
                w.replace(&group("g1", &["u1"]))?;
                w.delete(ScimKind::User, "u2")
            })
            .await
            .unwrap();
        assert!(of("u2").await.unwrap().is_empty());
        assert!(store.scim_write(TurnSize::One, |w| w.delete(ScimKind::Group, "g1")).await.unwrap());
        assert!(of("u1").await.unwrap().is_empty());
        assert!(!store.scim_write(TurnSize::One, |w| w.delete(ScimKind::Group, "g1")).await.unwrap());
        assert!(store.scim_memberships(vec!["u1".into()]).await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reset_and_an_import_rebuild_what_turns_check() {
        let store = store();
        store.scim_write(TurnSize::One, |w| w.insert(&user("u1", "ann"))).await.unwrap();
        store.reset(Vec::new()).await.unwrap();
        assert_eq!(holder(&store, "ann").await, None, "the reset freed the name");
        let records = crate::store::StateRecords { scim: vec![(*user("u9", "zed")).clone()], ..Default::default() };
        store.import_state(records, Vec::new()).await.unwrap();
        assert_eq!(holder(&store, "zed").await, Some("u9".into()), "the import's resources are known");
        let kind = store.scim_write(TurnSize::One, |w| w.kind_of("u9")).await.unwrap();
        assert_eq!(kind, Some(ScimKind::User));
    }
}
