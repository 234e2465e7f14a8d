//! Generated SQL executed against in-memory SQLite: filter results, case rules, NULL semantics and
//! keyset paging (no duplicates or gaps, ties broken by id, stable under inserts between pages).

use super::*;
use rusqlite::{Connection, params, params_from_iter};
use serde_json::Value as J;
use time::macros::datetime;

/// Both tables, empty.
pub(super) fn open_db() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE provisioning_log (id TEXT PRIMARY KEY, activity_time TEXT NOT NULL, job_id TEXT, cycle_id TEXT,
           change_id TEXT, duration_ms INTEGER, action TEXT, status TEXT, source_id TEXT, source_display_name TEXT,
           source_identity_type TEXT, target_id TEXT, target_display_name TEXT, target_identity_type TEXT, sp_id TEXT,
           sp_display_name TEXT, source_system_display_name TEXT, target_system_display_name TEXT, tenant_id TEXT) STRICT;
         CREATE TABLE directory_user (id TEXT PRIMARY KEY, user_principal_name TEXT, employee_id TEXT, display_name TEXT,
           given_name TEXT, surname TEXT, mail TEXT, mail_nickname TEXT, job_title TEXT, department TEXT,
           company_name TEXT, employee_type TEXT, account_enabled INTEGER, city TEXT, country TEXT, created_time TEXT) STRICT;",
    )
    .unwrap();
    db
}

fn insert_log(db: &Connection, id: &str, at: time::OffsetDateTime, job: &str, cycle: &str, dur: Option<i64>) {
    db.execute(
        "INSERT INTO provisioning_log (id, activity_time, job_id, cycle_id, change_id, duration_ms, sp_id, tenant_id)
         VALUES (?, ?, ?, ?, ?, ?, 'SP1', 'T')",
        params![id, datetime_key(at), job, cycle, format!("ch-{id}"), dur],
    )
    .unwrap();
}

/// Five log rows covering ties, NULLs, case and quoting.
fn logs_db() -> Connection {
    let db = open_db();
    insert_log(&db, "a1", datetime!(2022-10-10 09:00 UTC), "J1", "C1", Some(100));
    insert_log(&db, "a2", datetime!(2022-10-10 09:47:34 UTC), "J1", "C1", Some(250));
    insert_log(&db, "a3", datetime!(2022-10-10 10:00:00.5 UTC), "J1", "C2", Some(50));
    insert_log(&db, "a4", datetime!(2022-10-11 00:00 UTC), "J2", "C3", Some(3000));
    insert_log(&db, "a5", datetime!(2022-10-09 23:59:59.9999999 UTC), "J2", "C3", None);
    let rows = [
        ("a1", "create", "success", "701984", Some("Babs Jensen"), "SP1"),
        ("a2", "update", "failure", "701985", Some("O'Brien"), "SP1"),
        ("a3", "disable", "failure", "701984", Some("Babs Jensen"), "SP1"),
        ("a4", "create", "skipped", "9001", None, "SP2"),
        ("a5", "other", "warning", "9002", Some("babs jensen 100%"), "SP2"),
    ];
    for (id, action, status, source, name, sp) in rows {
        db.execute(
            "UPDATE provisioning_log SET action=?, status=?, source_id=?, source_display_name=?, sp_id=? WHERE id=?",
            params![action, status, source, name, sp, id],
        )
        .unwrap();
    }
    db
}

fn select_ids(db: &Connection, table: &str, frag: &SqlFragment) -> Vec<String> {
    let sql = format!("SELECT id FROM {table} WHERE {} ORDER BY id", frag.sql);
    let mut stmt = db.prepare(&sql).unwrap();
    stmt.query_map(params_from_iter(frag.params.iter()), |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn log_filters_return_the_right_rows() {
    let db = logs_db();
    let spec = ["a1 a2 a3", "a2 a3", "a1 a3", "a4 a5", "a3", "a2 a3"];
    let mut cases: Vec<(&str, &str)> = SPEC_FORMS.iter().zip(spec).map(|((src, _), want)| (*src, want)).collect();
    cases.extend([
        ("activityDateTime gt 2022-10-10T09:47:34Z", "a3 a4"),
        ("activityDateTime eq 2022-10-10T11:47:34+02:00", "a2"),
        ("activityDateTime eq 2022-10-10T10:00:00.5000000Z", "a3"),
        ("activityDateTime lt 2022-10-10T00:00:00Z", "a5"),
        ("activityDateTime le 2022-10-09T23:59:59.9999999Z", "a5"),
        ("2022-10-10T09:47:34Z le activityDateTime", "a2 a3 a4"),
        ("durationInMilliseconds gt 100", "a2 a4"),
        ("not (durationInMilliseconds gt 100)", "a1 a3 a5"),
        ("not durationInMilliseconds le 100 and jobId eq 'J2'", "a4 a5"),
        ("durationInMilliseconds eq null", "a5"),
        ("durationInMilliseconds ne null", "a1 a2 a3 a4"),
        ("sourceIdentity/displayName eq 'O''Brien'", "a2"),
        ("contains(sourceIdentity/displayName, 'Jensen')", "a1 a3"),
        ("contains(sourceIdentity/displayName, '%')", "a5"),
        ("contains(sourceIdentity/displayName, '_')", ""),
        ("contains(sourceIdentity/displayName, '')", "a1 a2 a3 a5"),
        ("sourceIdentity/displayName ne 'Babs Jensen'", "a2 a4 a5"),
        ("not (sourceIdentity/displayName eq 'Babs Jensen')", "a2 a4 a5"),
        ("provisioningAction eq 'create' or action eq 'disable'", "a1 a3 a4"),
        ("jobId eq 'J2' or jobId eq 'J1' and provisioningAction eq 'create'", "a1 a4 a5"),
        ("(jobId eq 'J2' or jobId eq 'J1') and provisioningAction eq 'create'", "a1 a4"),
        ("not contains(jobId, '1')", "a4 a5"),
        ("'J1' eq jobId", "a1 a2 a3"),
        ("jobId eq 'j1'", ""),
        ("JOBID EQ 'J1' AND CycleId Ne 'C1'", "a3"),
        ("provisioningStatusInfo/status eq 'failure' and not (cycleId eq 'C2')", "a2"),
        ("true", "a1 a2 a3 a4 a5"),
        ("not true or false", ""),
        ("contains(id, 'a') and tenantId eq 'T' and servicePrincipal/id ne 'SP2'", "a1 a2 a3"),
    ]);
    for (src, want) in cases {
        let frag = logs_sql(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(select_ids(&db, "provisioning_log", &frag).join(" "), want, "{src} → {}", frag.sql);
    }
    let chain = vec!["true"; 500].join(" or ");
    assert_eq!(select_ids(&db, "provisioning_log", &logs_sql(&chain).unwrap()).len(), 5);
}

#[test]
fn user_filters_are_case_insensitive() {
    let db = open_db();
    let users = [
        (
            "a0b1c2d3-0000-4000-8000-00000000000f",
            "AdeleV@contoso.com",
            Some("E1"),
            "Adele Vance",
            1,
            "2024-01-01T00:00:00Z",
        ),
        ("u2", "alexw@contoso.com", Some("E2"), "Alex Wilber", 0, "2024-07-01T00:00:00Z"),
        ("u3", "bob@fabrikam.com", None, "Bob", 1, "2025-01-01T00:00:00Z"),
    ];
    for (id, upn, emp, name, enabled, created) in users {
        let created =
            datetime_key(time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).unwrap());
        db.execute(
            "INSERT INTO directory_user (id, user_principal_name, employee_id, display_name, account_enabled, created_time)
             VALUES (?, ?, ?, ?, ?, ?)",
            params![id, upn, emp, name, enabled, created],
        )
        .unwrap();
    }
    let u1 = users[0].0;
    let cases = [
        ("startswith(displayName,'a')", format!("{u1} u2")),
        ("startswith(displayName,'ALEX W')", "u2".into()),
        ("startswith(displayName,'lex')", "".into()),
        ("userPrincipalName eq 'adelev@CONTOSO.com'", u1.into()),
        ("endswith(userPrincipalName,'@CONTOSO.COM')", format!("{u1} u2")),
        ("endswith(userPrincipalName,'xx@contoso.com.very.long')", "".into()),
        ("accountEnabled eq true", format!("{u1} u3")),
        ("accountEnabled", format!("{u1} u3")),
        ("not accountEnabled", "u2".into()),
        ("accountEnabled ne true", "u2".into()),
        ("employeeId in ('e1','E2')", format!("{u1} u2")),
        ("employeeId ne 'e1'", "u2 u3".into()),
        ("employeeId eq null", "u3".into()),
        ("id eq A0B1C2D3-0000-4000-8000-00000000000F", u1.into()),
        ("createdDateTime ge 2024-06-01T00:00:00Z", "u2 u3".into()),
        ("createdDateTime in (2024-01-01T01:00:00+01:00, 2025-01-01T00:00:00Z)", format!("{u1} u3")),
        ("startswith(displayName, '') and not endswith(displayName, 'E')", "u2 u3".into()),
    ];
    for (src, want) in cases {
        let frag = users_sql(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(select_ids(&db, "directory_user", &frag).join(" "), want, "{src} → {}", frag.sql);
    }
}

/// Reads a page of `SELECT {cols} … ORDER BY … LIMIT n` after the token's row; returns the rows'
/// ids and the token for the next page.
fn page(
    db: &Connection,
    table: &str,
    fields: &FieldTable,
    order: &[OrderBy],
    filter: Option<&SqlFragment>,
    token: Option<&str>,
    n: usize,
) -> (Vec<String>, Option<String>) {
    let cols: Vec<&str> = order.iter().map(|o| fields.lookup(o.property).unwrap().sql).collect();
    let mut conds = Vec::new();
    let mut params = Vec::new();
    if let Some(f) = filter {
        conds.push(f.sql.clone());
        params.extend(f.params.iter().cloned());
    }
    if let Some(t) = token {
        let k = keyset_sql(order, fields, &skiptoken::decode(t).unwrap()).unwrap();
        conds.push(k.sql);
        params.extend(k.params);
    }
    let wh = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    let sql = format!(
        "SELECT id, {} FROM {table} {wh} ORDER BY {} LIMIT {n}",
        cols.join(", "),
        order_by_sql(order, fields).unwrap()
    );
    let mut stmt = db.prepare(&sql).unwrap();
    let rows: Vec<(String, Vec<J>)> = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            let keys = (1..=cols.len())
                .map(|i| match r.get::<_, rusqlite::types::Value>(i).unwrap() {
                    rusqlite::types::Value::Text(s) => J::from(s),
                    rusqlite::types::Value::Integer(i) => J::from(i),
                    _ => J::Null,
                })
                .collect();
            Ok((r.get(0)?, keys))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let next = (rows.len() == n).then(|| skiptoken::encode(&rows[n - 1].1));
    (rows.into_iter().map(|(id, _)| id).collect(), next)
}

fn all_pages(db: &Connection, table: &str, fields: &FieldTable, order: &[OrderBy], n: usize) -> Vec<String> {
    let (mut out, mut token) = (Vec::new(), None);
    loop {
        let (ids, next) = page(db, table, fields, order, None, token.as_deref(), n);
        out.extend(ids);
        match next {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

#[test]
fn keyset_paging_1000_rows_by_100() {
    let db = open_db();
    let base = datetime!(2025-01-15 10:00 UTC);
    let mut expected = Vec::new();
    for i in 0..1000i64 {
        let id = format!("{:05}-{i}", (i * 7919) % 10007);
        let at = base + time::Duration::seconds(i % 137); // about seven rows per instant
        insert_log(&db, &id, at, if i % 10 == 0 { "J2" } else { "J1" }, "C", Some(i));
        expected.push((datetime_key(at), id));
    }
    // activityDateTime desc, then the id tiebreaker ascending.
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let mut order = parse_orderby("activityDateTime desc", &PROVISIONING_LOG_FIELDS).unwrap();
    order.push(OrderBy { property: "id", descending: false });
    let got = all_pages(&db, "provisioning_log", &PROVISIONING_LOG_FIELDS, &order, 100);
    assert_eq!(got, expected);

    // With a filter, and with rows inserted between pages (older, newer and tying existing instants).
    let filter = logs_sql("jobId eq 'J1' and durationInMilliseconds ge 0").unwrap();
    let originals: Vec<&String> = expected.iter().filter(|id| !id.ends_with('0')).collect();
    let (mut seen, mut token) = (Vec::new(), None);
    for round in 0.. {
        let (ids, next) =
            page(&db, "provisioning_log", &PROVISIONING_LOG_FIELDS, &order, Some(&filter), token.as_deref(), 100);
        seen.extend(ids);
        if round < 5 {
            for k in 0..20i64 {
                let at = base + time::Duration::seconds(k * 7 - 10);
                let id = format!("{}new-{round}-{k}", if k % 2 == 0 { "0" } else { "z" });
                insert_log(&db, &id, at, "J1", "C", Some(1));
            }
        }
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a row was returned twice");
    let originals_seen: Vec<&String> = seen.iter().filter(|id| !id.contains("new")).collect();
    assert_eq!(originals_seen, originals, "original rows must appear once each, in order");
}

#[test]
fn keyset_paging_with_nullable_and_case_insensitive_keys() {
    static NULLABLE: FieldTable = FieldTable::new(
        "test.row",
        &[
            Field { name: "id", sql: "id", kind: FieldKind::Text, ops: OpSet::EQ, sortable: true },
            Field { name: "name", sql: "name", kind: FieldKind::TextNoCase, ops: OpSet::EQ, sortable: true },
            Field { name: "n", sql: "n", kind: FieldKind::Integer, ops: OpSet::EQ, sortable: true },
            Field { name: "on", sql: "flag", kind: FieldKind::Boolean, ops: OpSet::EQ, sortable: true },
        ],
        &[],
    );
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT, n INTEGER, flag INTEGER)").unwrap();
    let names = [None, Some("a"), Some("A"), Some("b"), None, Some("B"), Some("c")];
    for i in 0..60i64 {
        let n = if i % 4 == 0 { None } else { Some(i % 3) };
        let flag = if i % 5 == 0 { None } else { Some(i % 2) };
        db.execute("INSERT INTO t VALUES (?, ?, ?, ?)", params![format!("r{i:02}"), names[(i % 7) as usize], n, flag])
            .unwrap();
    }
    for spec in ["name", "name desc", "n desc, name", "name, n desc", "on desc, n", "n, on, name desc"] {
        let mut order = parse_orderby(spec, &NULLABLE).unwrap();
        order.push(OrderBy { property: "id", descending: spec.ends_with("desc") });
        let full = all_pages(&db, "t", &NULLABLE, &order, 1000);
        assert_eq!(full.len(), 60);
        for n in [1, 3, 7] {
            assert_eq!(all_pages(&db, "t", &NULLABLE, &order, n), full, "{spec} by {n}");
        }
    }
}

#[test]
fn field_tables_are_consistent() {
    for table in [&PROVISIONING_LOG_FIELDS, &USER_FIELDS] {
        for (i, f) in table.fields().iter().enumerate() {
            assert_eq!(table.lookup(&f.name.to_ascii_uppercase()), Some(f));
            assert!(table.fields()[..i].iter().all(|g| !g.name.eq_ignore_ascii_case(f.name)), "{}", f.name);
            assert!(f.sql.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{}", f.sql);
        }
    }
    let f = &PROVISIONING_LOG_FIELDS;
    assert_eq!(f.lookup("statusinfo/STATUS").map(|x| x.sql), Some("status"));
    assert_eq!(f.lookup("action").map(|x| x.name), Some("provisioningAction"));
    assert_eq!(f.lookup("jobid").map(|x| x.name), Some("jobId"));
    assert_eq!(f.lookup("status"), None);
}
