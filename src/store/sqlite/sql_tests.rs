//! Translation of checked OData queries to SQL, and the SQL run against the real schema: filter results,
//! case rules, NULL semantics, keyset paging (no duplicates or gaps, ties broken by the tiebreaker, stable
//! under inserts between pages) and random filters that must always produce SQL SQLite accepts.

use rusqlite::types::Value as SqliteValue;
use rusqlite::{Connection, params, params_from_iter};
use time::macros::datetime;

use super::super::sql::{Columns, SqlFragment, Value, filter_sql, keyset_sql, order_by_sql, page_sql};
use super::dictionary::Dictionary;
use super::migrations;
use super::pages::{LOG_COLUMNS, USER_COLUMNS};
use crate::graph_time::ticks;
use crate::odata::tests::SPEC_FORMS;
use crate::odata::{
    Field, FieldKind, FieldTable, KeyValue, OpSet, Ordering, PROVISIONING_LOG_FIELDS, PROVISIONING_LOG_ORDER,
    PageQuery, USER_FIELDS, USER_ORDER, parse_filter, parse_orderby, skiptoken_of,
};

const LOG_FROM: &str = "log_entry e CROSS JOIN log_context c ON c.id = e.ctx";

/// Both files' schemas in memory.
fn open_db() -> Connection {
    let (mut main, mut staging) = (Connection::open_in_memory().unwrap(), Connection::open_in_memory().unwrap());
    migrations::migrate(&mut main, &mut staging, &Dictionary::default()).unwrap();
    main
}

fn sql(src: &str, columns: &Columns) -> SqlFragment {
    let f = parse_filter(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    f.check(columns.fields).unwrap_or_else(|e| panic!("{src}: {e}"));
    filter_sql(&f.expr, columns).unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[test]
fn spec_forms_translate_to_parameterised_sql() {
    let want = [
        "(c.job_id = ?)",
        "((c.job_id = ?) AND (e.status = ?) AND (e.activity >= ?))",
        "((c.job_id = ?) AND (e.source_id = ?))",
        "(c.cycle_id = ?)",
        "((c.job_id = ?) AND (c.cycle_id IS NOT ?))",
        "((e.activity >= ?) AND (c.sp_id = ?))",
    ];
    for (src, want) in SPEC_FORMS.iter().zip(want) {
        let got = sql(src, &LOG_COLUMNS);
        assert_eq!(got.sql, want, "{src}");
        assert!(!got.sql.contains('\''), "no literal may reach SQL text: {}", got.sql);
    }
    let got = sql(SPEC_FORMS[1], &LOG_COLUMNS);
    assert_eq!(
        got.params,
        vec![text("J1"), text("failure"), Value::Integer(ticks(datetime!(2022-10-10 09:47:34 UTC)))]
    );
}

#[test]
fn translation_table() {
    let cases: &[(&str, &str)] = &[
        ("jobId eq 'O''Brien'", "(c.job_id = ?)"),
        ("not (jobId eq 'x')", "((c.job_id = ?) IS NOT 1)"),
        ("jobId eq null", "(c.job_id IS NULL)"),
        ("null ne jobId", "(c.job_id IS NOT NULL)"),
        ("2022-10-10T09:47:34Z lt activityDateTime", "(e.activity > ?)"),
        ("contains(jobId, 'x%_')", "(instr(c.job_id, ?) > 0)"),
        ("CONTAINS(JOBID, '')", "(c.job_id IS NOT NULL)"),
        ("durationInMilliseconds le -5", "(e.duration_ms <= ?)"),
        (
            "(jobId eq 'a' or jobId eq 'b') and cycleId eq 'c'",
            "(((c.job_id = ?) OR (c.job_id = ?)) AND (c.cycle_id = ?))",
        ),
        ("true", "1"),
        ("not false", "(0 IS NOT 1)"),
        ("servicePrincipal/id eq A0B1C2D3-0000-4000-8000-00000000000F", "(c.sp_id = ?)"),
        ("Action eq 'create' and STATUSINFO/Status Eq 'failure'", "((e.action = ?) AND (e.status = ?))"),
        ("targetIdentity/identityType eq 'User'", "(coalesce(e.target_type, 'User') = ?)"),
    ];
    for (src, want) in cases {
        assert_eq!(sql(src, &LOG_COLUMNS).sql, *want, "{src}");
    }
    assert_eq!(sql("jobId eq 'O''Brien'''", &LOG_COLUMNS).params, [text("O'Brien'")]);
    assert_eq!(
        sql("activityDateTime eq 2022-10-10T11:47:34.1234567+02:00", &LOG_COLUMNS).params,
        [Value::Integer(ticks(datetime!(2022-10-10 09:47:34.1234567 UTC)))]
    );
    // Users: case-insensitive text, Boolean as 0/1, in, endswith binds twice.
    let cases: &[(&str, &str)] = &[
        ("userPrincipalName eq 'A@b.c'", "(upn = ? COLLATE NOCASE)"),
        ("startswith(displayName, 'a')", "(instr(lower(display_name), lower(?)) = 1)"),
        ("endswith(mail, '@x.com')", "(lower(substr(mail, -length(?))) = lower(?))"),
        ("employeeId in ('1', '2')", "(employee_id COLLATE NOCASE IN (?, ?))"),
        ("accountEnabled eq true", "(account_enabled = ?)"),
        ("accountEnabled", "(account_enabled = 1)"),
        ("not accountEnabled", "((account_enabled = 1) IS NOT 1)"),
    ];
    for (src, want) in cases {
        assert_eq!(sql(src, &USER_COLUMNS).sql, *want, "{src}");
    }
    assert_eq!(sql("accountEnabled eq true", &USER_COLUMNS).params, [Value::Integer(1)]);
    assert_eq!(sql("endswith(mail, 'm')", &USER_COLUMNS).params.len(), 2);
    let o = parse_orderby("activityDateTime desc, ID asc", &PROVISIONING_LOG_FIELDS).unwrap();
    assert_eq!(order_by_sql(&o, &LOG_COLUMNS).unwrap(), "e.activity DESC NULLS LAST, e.id ASC NULLS FIRST");
    let o = parse_orderby("displayname desc", &USER_FIELDS).unwrap();
    assert_eq!(order_by_sql(&o, &USER_COLUMNS).unwrap(), "display_name COLLATE NOCASE DESC NULLS LAST");
    let k = keyset_sql(&o, &USER_COLUMNS, &[KeyValue::Text("b".into())]).unwrap();
    assert_eq!(k.sql, "((display_name < ? COLLATE NOCASE OR display_name IS NULL))");
}

/// A context per (job, cycle, service principal) and an entry in it.
fn insert_log(db: &Connection, id: &str, at: time::OffsetDateTime, job: &str, cycle: &str, dur: i64) {
    insert_log_with(db, id, at, job, cycle, dur, ("create", "success", "701984", "Babs Jensen", "SP1"));
}

fn insert_log_with(
    db: &Connection,
    id: &str,
    at: time::OffsetDateTime,
    job: &str,
    cycle: &str,
    dur: i64,
    (action, status, source, name, sp): (&str, &str, &str, &str, &str),
) {
    db.execute(
        "INSERT OR IGNORE INTO log_context (context, cycle_id, job_id, tenant_id, sp_id, sp_name, source_system, target_system)
         VALUES (?1 || ?2 || ?3, ?2, ?1, 'T', ?3, 'n', 'API', 'Microsoft Entra ID')",
        params![job, cycle, sp],
    )
    .unwrap();
    db.execute(
        "INSERT INTO log_entry (id, activity, ctx, change_id, duration_ms, action, status, source_id, source_name,
            target_id, target_name, block, slot)
         VALUES (?1, ?2, (SELECT id FROM log_context WHERE context = ?3 || ?4 || ?5), ?6, ?7, ?8, ?9, ?10, ?11, '', '', 0, 0)",
        params![id, ticks(at), job, cycle, sp, format!("ch-{id}"), dur, action, status, source, name],
    )
    .unwrap();
}

/// Five entries covering ties, case and quoting.
fn logs_db() -> Connection {
    let db = open_db();
    let rows = [
        ("a1", datetime!(2022-10-10 09:00 UTC), "J1", "C1", 100, ("create", "success", "701984", "Babs Jensen", "SP1")),
        ("a2", datetime!(2022-10-10 09:47:34 UTC), "J1", "C1", 250, ("update", "failure", "701985", "O'Brien", "SP1")),
        (
            "a3",
            datetime!(2022-10-10 10:00:00.5 UTC),
            "J1",
            "C2",
            50,
            ("disable", "failure", "701984", "Babs Jensen", "SP1"),
        ),
        ("a4", datetime!(2022-10-11 00:00 UTC), "J2", "C3", 3000, ("create", "skipped", "9001", "", "SP2")),
        (
            "a5",
            datetime!(2022-10-09 23:59:59.9999999 UTC),
            "J2",
            "C3",
            0,
            ("other", "warning", "9002", "babs jensen 100%", "SP2"),
        ),
    ];
    for (id, at, job, cycle, dur, rest) in rows {
        insert_log_with(&db, id, at, job, cycle, dur, rest);
    }
    db
}

fn select_ids(db: &Connection, from: &str, frag: &SqlFragment) -> Vec<String> {
    let id = if from.starts_with("log_entry") { "e.id" } else { "id" };
    let sql = format!("SELECT {id} FROM {from} WHERE {} ORDER BY {id}", frag.sql);
    let mut stmt = db.prepare(&sql).unwrap();
    stmt.query_map(params_from_iter(frag.params.iter()), |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn log_filters_return_the_right_rows() {
    let db = logs_db();
    let spec = ["a1 a2 a3", "a2 a3", "a1 a3", "a4 a5", "a3", "a2 a3"];
    let mut cases: Vec<(&str, &str)> = SPEC_FORMS.iter().copied().zip(spec).collect();
    cases.extend([
        ("activityDateTime gt 2022-10-10T09:47:34Z", "a3 a4"),
        ("activityDateTime eq 2022-10-10T11:47:34+02:00", "a2"),
        ("activityDateTime eq 2022-10-10T10:00:00.5000000Z", "a3"),
        ("activityDateTime lt 2022-10-10T00:00:00Z", "a5"),
        ("activityDateTime le 2022-10-09T23:59:59.9999999Z", "a5"),
        ("durationInMilliseconds gt 100", "a2 a4"),
        ("not (durationInMilliseconds gt 100)", "a1 a3 a5"),
        ("sourceIdentity/displayName eq 'O''Brien'", "a2"),
        ("contains(sourceIdentity/displayName, 'Jensen')", "a1 a3"),
        ("contains(sourceIdentity/displayName, '%')", "a5"),
        ("contains(sourceIdentity/displayName, '_')", ""),
        ("sourceIdentity/displayName ne 'Babs Jensen'", "a2 a4 a5"),
        ("provisioningAction eq 'create' or action eq 'disable'", "a1 a3 a4"),
        ("jobId eq 'J2' or jobId eq 'J1' and provisioningAction eq 'create'", "a1 a4 a5"),
        ("not contains(jobId, '1')", "a4 a5"),
        ("jobId eq 'j1'", ""),
        ("JOBID EQ 'J1' AND CycleId Ne 'C1'", "a3"),
        ("provisioningStatusInfo/status eq 'failure' and not (cycleId eq 'C2')", "a2"),
        ("not true or false", ""),
        ("contains(id, 'a') and tenantId eq 'T' and servicePrincipal/id ne 'SP2'", "a1 a2 a3"),
        ("targetIdentity/identityType eq 'User'", "a1 a2 a3 a4 a5"),
    ]);
    for (src, want) in cases {
        let frag = sql(src, &LOG_COLUMNS);
        assert_eq!(select_ids(&db, LOG_FROM, &frag).join(" "), want, "{src} → {}", frag.sql);
    }
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
            datetime!(2024-01-01 0:00 UTC),
        ),
        ("u2", "alexw@contoso.com", Some("E2"), "Alex Wilber", 0, datetime!(2024-07-01 0:00 UTC)),
        ("u3", "bob@fabrikam.com", None, "Bob", 1, datetime!(2025-01-01 0:00 UTC)),
    ];
    for (id, upn, emp, name, enabled, created) in users {
        db.execute(
            "INSERT INTO user_record (id, upn, employee_id, display_name, account_enabled, created) VALUES (?, ?, ?, ?, ?, ?)",
            params![id, upn, emp, name, enabled, ticks(created)],
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
        ("accountEnabled eq true", format!("{u1} u3")),
        ("not accountEnabled", "u2".into()),
        ("employeeId in ('e1','E2')", format!("{u1} u2")),
        ("employeeId ne 'e1'", "u2 u3".into()),
        ("employeeId eq null", "u3".into()),
        ("id eq A0B1C2D3-0000-4000-8000-00000000000F", u1.into()),
        ("createdDateTime ge 2024-06-01T00:00:00Z", "u2 u3".into()),
        ("createdDateTime in (2024-01-01T01:00:00+01:00, 2025-01-01T00:00:00Z)", format!("{u1} u3")),
    ];
    for (src, want) in cases {
        let frag = sql(src, &USER_COLUMNS);
        assert_eq!(select_ids(&db, "user_record", &frag).join(" "), want, "{src} → {}", frag.sql);
    }
}

/// One page of ids after `after` and the keys of its last row when the page is full.
fn page(db: &Connection, columns: &Columns, from: &str, query: &PageQuery) -> (Vec<String>, Option<Vec<KeyValue>>) {
    let id = if from.starts_with("log_entry") { "e.id" } else { "id" };
    let (sql, params) = page_sql(query, columns, id, from).unwrap();
    let mut stmt = db.prepare(&sql).unwrap();
    let kinds: Vec<FieldKind> = query.order.iter().map(|o| columns.fields.lookup(o.property).unwrap().kind).collect();
    let rows: Vec<(String, Vec<KeyValue>)> = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            let keys = kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| match (r.get::<_, SqliteValue>(i + 1).unwrap(), kind) {
                    (SqliteValue::Null, _) => KeyValue::Null,
                    (SqliteValue::Integer(t), FieldKind::DateTime) => {
                        KeyValue::DateTime(crate::graph_time::from_ticks(t))
                    }
                    (SqliteValue::Integer(b), FieldKind::Boolean) => KeyValue::Boolean(b != 0),
                    (SqliteValue::Integer(n), _) => KeyValue::Integer(n),
                    (SqliteValue::Text(s), _) => KeyValue::Text(s),
                    (other, _) => panic!("{other:?}"),
                })
                .collect();
            Ok((r.get(0)?, keys))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let limit = query.limit as usize;
    let next = (rows.len() > limit).then(|| rows[limit - 1].1.clone());
    (rows.into_iter().take(limit).map(|(id, _)| id).collect(), next)
}

fn all_pages(db: &Connection, columns: &Columns, from: &str, ordering: &Ordering, order: &str, n: u32) -> Vec<String> {
    let order = parse_orderby(order, columns.fields).unwrap();
    let (mut out, mut token) = (Vec::new(), None::<String>);
    loop {
        let q = PageQuery::new(columns.fields, ordering, None, &order, token.as_deref(), n).unwrap();
        let (ids, next) = page(db, columns, from, &q);
        out.extend(ids);
        match next {
            Some(keys) => token = Some(skiptoken_of(&keys)),
            None => return out,
        }
    }
}

#[test]
fn keyset_paging_1000_rows_by_100_stays_stable_under_inserts() {
    let db = open_db();
    let base = datetime!(2025-01-15 10:00 UTC);
    let mut expected = Vec::new();
    for i in 0..1000i64 {
        let id = format!("{:05}-{i}", (i * 7919) % 10007);
        let at = base + time::Duration::seconds(i % 137); // about seven rows per instant
        insert_log(&db, &id, at, if i % 10 == 0 { "J2" } else { "J1" }, "C", i);
        expected.push((at, id));
    }
    // activityDateTime desc, then the id tiebreaker in the same direction.
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(all_pages(&db, &LOG_COLUMNS, LOG_FROM, &PROVISIONING_LOG_ORDER, "", 100), expected);

    // With a filter, and with rows inserted between pages (older, newer and tying existing instants).
    let filter = parse_filter("jobId eq 'J1' and durationInMilliseconds ge 0").unwrap();
    let originals: Vec<&String> = expected.iter().filter(|id| !id.ends_with('0')).collect();
    let (mut seen, mut token) = (Vec::new(), None::<String>);
    for round in 0.. {
        let q = PageQuery::new(
            &PROVISIONING_LOG_FIELDS,
            &PROVISIONING_LOG_ORDER,
            Some(filter.clone()),
            &[],
            token.as_deref(),
            100,
        )
        .unwrap();
        let (ids, next) = page(&db, &LOG_COLUMNS, LOG_FROM, &q);
        seen.extend(ids);
        if round < 5 {
            for k in 0..20i64 {
                let at = base + time::Duration::seconds(k * 7 - 10);
                let id = format!("{}new-{round}-{k}", if k % 2 == 0 { "0" } else { "z" });
                insert_log(&db, &id, at, "J1", "C", 1);
            }
        }
        match next {
            Some(keys) => token = Some(skiptoken_of(&keys)),
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
fn pages_seek_on_the_indexes() {
    let db = open_db();
    let plan = |q: &PageQuery, columns: &Columns, from: &str| {
        let (sql, params) = page_sql(q, columns, "1", from).unwrap();
        let mut stmt = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    };
    let after = skiptoken_of(&[KeyValue::DateTime(datetime!(2025-01-15 10:00 UTC)), KeyValue::Text("id-1".into())]);
    let f = parse_filter("jobid eq 'J'").unwrap();
    let logs =
        PageQuery::new(&PROVISIONING_LOG_FIELDS, &PROVISIONING_LOG_ORDER, Some(f), &[], Some(&after), 100).unwrap();
    let p = plan(&logs, &LOG_COLUMNS, LOG_FROM);
    assert!(p.contains("SEARCH e USING INDEX log_entry_by_time (activity<?)"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    let users =
        PageQuery::new(&USER_FIELDS, &USER_ORDER, None, &[], Some(&skiptoken_of(&[KeyValue::Text("m".into())])), 10)
            .unwrap();
    let p = plan(&users, &USER_COLUMNS, "user_record");
    assert!(p.contains("INDEX user_record_by_upn (upn>?)"), "{p}");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
}

#[test]
fn keyset_paging_with_nullable_and_case_insensitive_keys() {
    static FIELDS: FieldTable = FieldTable::new(
        "test.row",
        &[
            Field { name: "id", kind: FieldKind::Text, ops: OpSet::EQ, sortable: true },
            Field { name: "name", kind: FieldKind::TextNoCase, ops: OpSet::EQ, sortable: true },
            Field { name: "n", kind: FieldKind::Integer, ops: OpSet::EQ, sortable: true },
            Field { name: "on", kind: FieldKind::Boolean, ops: OpSet::EQ, sortable: true },
        ],
        &[],
    );
    static COLUMNS: Columns = Columns {
        dialect: super::super::sql::Dialect::Sqlite,
        fields: &FIELDS,
        columns: &[("id", "id"), ("name", "name"), ("n", "n"), ("on", "flag")],
        not_null: &["id"],
    };
    static ORDER: Ordering = Ordering { default: &[], unique: &["id"], tiebreaker: "id" };
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
        let full = all_pages(&db, &COLUMNS, "t", &ORDER, spec, 1000);
        assert_eq!(full.len(), 60);
        for n in [1, 3, 7] {
            assert_eq!(all_pages(&db, &COLUMNS, "t", &ORDER, spec, n), full, "{spec} by {n}");
        }
    }
}

#[test]
fn random_filters_always_produce_sql_sqlite_accepts() {
    let db = open_db();
    let mut rng = crate::odata::tests::Lcg(0x5eed);
    let mut executed = 0;
    for _ in 0..3_000 {
        let src = crate::odata::tests::random_filter(&mut rng, 3);
        let Ok(f) = parse_filter(&src) else { continue };
        for (columns, from) in [(&LOG_COLUMNS, LOG_FROM), (&USER_COLUMNS, "user_record")] {
            if f.check(columns.fields).is_err() {
                continue;
            }
            let frag = filter_sql(&f.expr, columns).unwrap();
            let sql = format!("SELECT count(*) FROM {from} WHERE {}", frag.sql);
            let n: Result<i64, _> = db.query_row(&sql, params_from_iter(frag.params.iter()), |r| r.get(0));
            assert!(n.is_ok(), "{src} → {sql}: {n:?}");
            executed += 1;
        }
    }
    assert!(executed > 500, "the loop must exercise valid filters ({executed})");
}
