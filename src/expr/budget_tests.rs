//! The evaluation limits against the expressions that broke the emulator before them, on records built
//! to be as hostile as possible. Each test reads the evaluation's work counter: "fast" means "stopped
//! after little work", never a measured time.

use serde_json::json;

use super::*;
use crate::expr::eval::{EvalError, Evaluator};
use crate::expr::parse;
use crate::expr::testkit::{ctx, owned, record};
use crate::expr::value::Value;

/// Evaluates `src` against `record`; the outcome and the work it took.
fn counted(src: &str, record: &serde_json_borrow::OwnedValue) -> (Result<Value, EvalError>, u64) {
    let e = parse(src).unwrap_or_else(|err| panic!("{src}: {err}"));
    let ctx = ctx();
    let mut ev = Evaluator::new(record, &ctx);
    let out = ev.eval(&e);
    (out, ev.work.done())
}

/// `inner` wrapped `levels` times in a call that multiplies every `a` by ten.
fn tenfold(inner: &str, levels: usize) -> String {
    (0..levels).fold(inner.to_owned(), |e, _| format!(r#"Replace({e}, "a", , , "aaaaaaaaaa", , )"#))
}

fn user_name(len: usize) -> serde_json_borrow::OwnedValue {
    owned(json!({"userName": "a".repeat(len)}))
}

#[track_caller]
fn assert_limit(out: &Result<Value, EvalError>, subject: &str, limit: Limit) {
    let err = out.as_ref().expect_err("a limit error");
    assert_eq!(err.message, format!("{subject}: {limit}"), "{err}");
}

#[test]
fn work_stops_at_the_budget_and_does_not_count_the_refused_part() {
    let mut w = Work::default();
    assert_eq!(w.spend(MAX_WORK - 1), Ok(()));
    assert_eq!(w.spend(2), Err(Limit::Work));
    assert_eq!(w.done(), MAX_WORK - 1);
    assert_eq!(w.spend(1), Ok(()));
    assert_eq!(w.spend(u64::MAX), Err(Limit::Work));
}

#[test]
fn values_may_hold_exactly_64_kib() {
    assert_eq!(check_len(MAX_VALUE_BYTES), Ok(()));
    assert_eq!(check_len(MAX_VALUE_BYTES + 1), Err(Limit::Value));
    let at_limit = user_name(MAX_VALUE_BYTES);
    assert_eq!(counted("[userName]", &at_limit).0.unwrap().text_len(), MAX_VALUE_BYTES);
    let over = user_name(MAX_VALUE_BYTES + 1);
    assert_limit(&counted("[userName]", &over).0, "[userName]", Limit::Value);
    // The message names the limit, and the error keeps the attribute's position.
    let err = counted(r#"Join("", "x", [userName])"#, &over).0.unwrap_err();
    assert_eq!(err.to_string(), format!("[userName]: {} at position 14", Limit::Value));
}

#[test]
fn a_replace_tower_stops_at_the_value_limit_instead_of_growing_tenfold_per_level() {
    // Seven levels made 100 MB, nine aborted the process. Now the level that would pass 64 KiB fails
    // while it builds, and nothing near its full size is ever produced.
    let ten = user_name(10);
    for levels in [7, 9, 20] {
        let (out, work) = counted(&tenfold("[userName]", levels), &ten);
        assert_limit(&out, "Replace", Limit::Value);
        assert!(work < 512 * 1024, "{levels} levels: {work} units of work");
    }
    // Four levels stay under the limit (100,000 bytes would not).
    assert_eq!(counted(&tenfold("[userName]", 3), &ten).0.unwrap().text_len(), 10_000);
    assert_limit(&counted(&tenfold("[userName]", 4), &ten).0, "Replace", Limit::Value);
}

#[test]
fn every_replace_mode_and_join_stop_at_the_value_limit() {
    let rec = owned(json!({"big": "a".repeat(40_000), "pair": ["a".repeat(30_000), "b".repeat(30_000)]}));
    let rows = [
        (r#"Replace([big], , "a", , "aa", , )"#, "Replace"),
        (r#"Replace([big], , "(?<x>a)", "x", "aa", , )"#, "Replace"),
        (r#"Replace([big], , "(?<x>a)", , "${x}${x}", , )"#, "Replace"),
        (r#"Replace([big], "a", , , , , "<a><a>")"#, "Replace"),
        (r#"Join("", [big], [big])"#, "Join"),
        (r#"Join("", [pair], [pair])"#, "Join"),
        (r#"Append([big], [big])"#, "Append"),
        (r#"ConvertToUTF8Hex([big])"#, "ConvertToUTF8Hex"),
    ];
    for (src, subject) in rows {
        let (out, work) = counted(src, &rec);
        assert_limit(&out, subject, Limit::Value);
        assert!(work < MAX_WORK, "{src}: {work}");
    }
    // A multi-valued attribute counts all its values.
    assert_eq!(counted("[pair]", &rec).0.unwrap().text_len(), 60_001);
    let rec = owned(json!({"pair": ["a".repeat(40_000), "b".repeat(40_000)]}));
    assert_limit(&counted("[pair]", &rec).0, "[pair]", Limit::Value);
}

#[test]
fn a_pathological_regex_on_a_huge_record_fails_before_it_runs() {
    // The Join of eight replacements with `\w{0,200}z` kept a request busy for 44 s on a 1,000,000-character
    // userName. Its automaton is too large to compile now…
    let eight = |pattern: &str| {
        let one = format!(r#"Replace([userName], , "{pattern}", , "x", , )"#);
        format!(r#"Join(",", {})"#, vec![one; 8].join(", "))
    };
    let err = parse(&eight(r"\\w{0,200}z")).unwrap_err();
    assert!(err.message.contains("invalid regexPattern") && err.message.contains("size limit"), "{err}");
    // …a smaller one cannot read the attribute (over 64 KiB)…
    let (out, work) = counted(&eight(r"\\w{0,10}z"), &user_name(1_000_000));
    assert_limit(&out, "[userName]", Limit::Value);
    assert!(work < 1024 * 1024, "{work}");
    // …and on the largest userName it may read, the first pass is priced over the budget and never runs.
    let (out, work) = counted(&eight(r"\\w{0,10}z"), &user_name(MAX_VALUE_BYTES));
    assert_limit(&out, "Replace", Limit::Work);
    assert!(work < 1024 * 1024, "{work}");
}

#[test]
fn many_cheap_steps_add_up_to_the_work_limit() {
    // Expressions are at most 10,000 characters, but each 3-character `[b]` may copy 64 KiB: a Switch that
    // compares the source with a thousand keys reads 64 MiB.
    let rec = owned(json!({"b": "a".repeat(MAX_VALUE_BYTES)}));
    let switch = |keys: usize| format!(r#"Switch("x","none",{})"#, vec!["[b],1"; keys].join(","));
    let (out, work) = counted(&switch(900), &rec);
    assert_eq!(out.unwrap(), Value::from("none"));
    assert!(work > 900 * 64 * 1024, "{work}");
    let (out, work) = counted(&switch(1100), &rec);
    assert_limit(&out, "[b]", Limit::Work);
    assert!(work <= MAX_WORK);
}

#[test]
fn scanning_a_record_with_many_members_counts() {
    // A member is found by a linear scan: 200,000 members read 3,000 times is most of a second of work.
    let members: Vec<String> = (0..200_000).map(|i| format!("\"m{i}\":1")).collect();
    let wide = serde_json_borrow::OwnedValue::from_string(format!("{{{}}}", members.join(","))).unwrap();
    let src = format!("Join(\",\", {})", vec!["[nope]"; 1000].join(", "));
    let (out, work) = counted(&src, &wide);
    assert_limit(&out, "[nope]", Limit::Work);
    assert!(work <= MAX_WORK);
    // Array filters count the elements they test and the text they compare.
    let emails: Vec<serde_json::Value> =
        (0..100_000).map(|i| json!({"type": "x".repeat(10), "value": format!("{i}")})).collect();
    let rec = owned(json!({ "emails": emails }));
    let src = format!("Join(\",\", {})", vec![r#"[emails[type eq "work"].value]"#; 100].join(", "));
    let (out, _) = counted(&src, &rec);
    assert_limit(&out, r#"[emails[type eq "work"].value]"#, Limit::Work);
}

#[test]
fn the_condition_check_of_iif_reads_attributes_within_the_limits() {
    let rec = owned(json!({"big": "a".repeat(MAX_VALUE_BYTES + 1)}));
    assert_limit(&counted(r#"IIF([big] = "a", "x", "y")"#, &rec).0, "[big]", Limit::Value);
}

#[test]
fn patterns_compiled_during_an_evaluation_are_paid_for() {
    // A constant pattern is compiled once at parse time; one built by the expression is compiled (and
    // charged) each time it is evaluated.
    let dynamic = r#"Replace("abc", , Join("", "\\w{0,15}", "c"), , "x", , )"#;
    let (out, one) = counted(dynamic, &record());
    assert_eq!(out.unwrap(), Value::from("x"));
    assert!(one > 16 * 1024 * 1024, "{one}");
    let (out, _) = counted(&format!(r#"Join("", {})"#, [dynamic; 8].join(", ")), &record());
    assert_limit(&out, "Replace", Limit::Work);
}

#[test]
fn the_default_mappings_use_a_tiny_part_of_the_budget() {
    let rows = [
        "[externalId]",
        r#"Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#,
        r#"Join("", Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , ), "@", DefaultDomain())"#,
        r#"[emails[type eq "work"].value]"#,
        "[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department]",
        r#"Switch([active], , "True", "True", "False", "False")"#,
    ];
    for src in rows {
        let (out, work) = counted(src, &record());
        assert!(out.is_ok(), "{src}: {out:?}");
        assert!(work < 10_000, "{src}: {work} units");
    }
}

#[test]
fn functions_made_linear_keep_their_results_on_values_at_the_limit() {
    // InStr compared every position with the whole needle, PCase and Word looked every character up in the
    // whole separator list and a run of one literal in a date format was counted from every position:
    // quadratic on 64 KiB arguments. The results must not change.
    let rec = owned(json!({
        "hay": "a".repeat(60_000),
        "needle": format!("{}b", "a".repeat(30_000)),
        "seps": " -".repeat(30_000),
    }));
    let rows = [
        ("InStr([hay], [needle])", "0"),
        (r#"InStr(Append([hay], "b"), [needle])"#, "30001"),
        (r#"InStr(Append([hay], "B"), [needle], 1, vbTextCompare)"#, "30001"),
        (r#"InStr(Append([hay], "b"), [needle], 30002)"#, "0"),
        (r#"Left(PCase(Append("xy-zw", [seps]), [seps]), 5)"#, "Xy-Zw"),
        (r#"Word(Append("x y-z", [seps]), 3, [seps])"#, "z"),
    ];
    for (src, want) in rows {
        assert_eq!(counted(src, &rec).0.unwrap(), Value::from(want), "{src}");
    }
    let format = format!(r#"FormatDateTime("2021-06-30", , "yyyy-MM-dd", "{}")"#, "Q".repeat(9_000));
    assert_eq!(counted(&format, &rec).0.unwrap(), Value::from("Q".repeat(9_000)));
}
