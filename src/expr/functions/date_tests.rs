use crate::expr::testkit::{E, N, S, assert_arity_errors, run};

#[test]
fn cdate() {
    run(&[
        (r#"CDate("2021-06-30+08:00")"#, S("6/29/2021 4:00:00 PM")),
        ("CDate([hire])", S("3/16/2012 7:00:00 AM")),
        (r#"CDate("2020-03-16-07:00")"#, S("3/16/2020 7:00:00 AM")),
        (r#"CDate("2009-06-15T01:45:30-07:00")"#, S("6/15/2009 8:45:30 AM")),
        (r#"CDate("2009-06-15T01:45:30.1234567Z")"#, S("6/15/2009 1:45:30 AM")),
        (r#"CDate("2021-08-24")"#, S("8/24/2021 12:00:00 AM")),
        (r#"CDate("8/25/2021 5:41:18 PM")"#, S("8/25/2021 5:41:18 PM")),
        (r#"CDate(" 2021-08-24 13:05 ")"#, S("8/24/2021 1:05:00 PM")),
        ("CDate([missing])", N),
        ("CDate([empty])", N),
        (r#"CDate("not a date")"#, E("not a recognised date")),
        (r#"CDate("2021-02-30")"#, E("not a recognised date")),
    ]);
    assert_arity_errors(&["CDate()", "CDate([a], [b])"]);
}

#[test]
fn date_add() {
    run(&[
        (r#"DateAdd("d", 7, CDate([hire]))"#, S("3/23/2012 7:00:00 AM")),
        (r#"DateAdd("d", -10, CDate([hire]))"#, S("3/6/2012 7:00:00 AM")),
        (r#"DateAdd("ww", 2, CDate([hire]))"#, S("3/30/2012 7:00:00 AM")),
        (r#"DateAdd("m", 10, CDate([hire]))"#, S("1/16/2013 7:00:00 AM")),
        (r#"DateAdd("yyyy", 2, CDate([hire]))"#, S("3/16/2014 7:00:00 AM")),
        (r#"DateAdd("q", 1, "2021-01-31")"#, S("4/30/2021 12:00:00 AM")),
        (r#"DateAdd("m", 1, "2020-01-31")"#, S("2/29/2020 12:00:00 AM")),
        (r#"DateAdd("h", 36, "2021-01-01")"#, S("1/2/2021 12:00:00 PM")),
        (r#"DateAdd("n", 90, "2021-01-01")"#, S("1/1/2021 1:30:00 AM")),
        (r#"DateAdd("s", 61, "2021-01-01")"#, S("1/1/2021 12:01:01 AM")),
        (r#"DateAdd("d", 1, [missing])"#, N),
        (r#"DateAdd("d", 1, [empty])"#, N),
        (r#"DateAdd("fortnight", 1, [hire])"#, E("unknown interval 'fortnight'")),
        (r#"DateAdd("d", "x", [hire])"#, E("value must be a number")),
        (r#"DateAdd("yyyy", 99999, [hire])"#, E("out of range")),
    ]);
    assert_arity_errors(&[r#"DateAdd("d", 1)"#, r#"DateAdd("d", 1, "2021-01-01", 2)"#]);
}

#[test]
fn date_diff() {
    run(&[
        (r#"DateDiff("d", "2021-08-18+08:00", "2021-08-31+08:00")"#, S("13")),
        (r#"DateDiff("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")"#, S("-3449")),
        (r#"DateDiff("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")"#, S("-493")),
        (r#"DateDiff("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")"#, S("-113")),
        (r#"DateDiff("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00")"#, S("-9")),
        (r#"DateDiff("d", "2021-08-31+08:00", "2021-08-31+08:00")"#, S("0")),
        (r#"DateDiff("h", "2021-08-24", "2021-08-25")"#, S("24")),
        (r#"DateDiff("n", "2021-08-24", "2021-08-25")"#, S("1440")),
        (r#"DateDiff("s", "2021-08-24", "2021-08-25")"#, S("86400")),
        (r#"DateDiff("q", "2021-03-31", "2021-04-01")"#, S("1")),
        (r#"DateDiff("d", Now(), CDate("2021-07-12T15:33:38Z"))"#, S("10")),
        (r#"DateDiff("d", [missing], "2021-08-25")"#, N),
        (r#"DateDiff("d", [empty], "2021-08-25")"#, N),
        (r#"DateDiff("x", "2021-08-24", "2021-08-25")"#, E("unknown interval")),
    ]);
    assert_arity_errors(&[r#"DateDiff("d", "2021-08-24")"#, r#"DateDiff("d", "a", "b", "c")"#]);
}

#[test]
fn filetime_conversions() {
    run(&[
        ("DateFromNum(129699324000000000)", S("1/1/2012 11:00:00 PM")),
        ("DateFromNum([ticks])", S("1/1/2012 11:00:00 PM")),
        ("DateFromNum(0)", S("1/1/1601 12:00:00 AM")),
        ("DateFromNum(9223372036854775807)", E("outside the supported date range")),
        ("DateFromNum([missing])", N),
        ("DateFromNum([empty])", N),
        (r#"DateFromNum("abc")"#, E("not an AD date number")),
        (r#"NumFromDate("2012-01-01T23:00:00Z")"#, S("129699324000000000")),
        (
            r#"NumFromDate(Join("", FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#,
            S("132539615990000000"),
        ),
        ("NumFromDate([missing])", N),
        ("NumFromDate([empty])", N),
    ]);
    assert_arity_errors(&["DateFromNum()", "DateFromNum(1, 2)", "NumFromDate()", "NumFromDate(1, 2)"]);
}

#[test]
fn format_date_time() {
    run(&[
        (r#"FormatDateTime("20150123105347.1Z", , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#, S("2015-01-23")),
        (r#"FormatDateTime("20150123105347.1Z", "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#, S("2015-01-23")),
        (
            r#"FormatDateTime("12/31/2020 11:59:59 PM", , "M/d/yyyy hh:mm:ss tt", "yyyy-MM-ddTHH:mm:ss")"#,
            S("2020-12-31T23:59:59"),
        ),
        (r#"FormatDateTime("2021-07-02", , "yyyy-MM-dd", "dddd, MMMM d, yyyy")"#, S("Friday, July 2, 2021")),
        (r#"FormatDateTime("2021-07-02", , "yyyy-MM-dd", "'Day' dd\\/MM\\/yy")"#, S("Day 02/07/21")),
        (r#"FormatDateTime("2021-07-02 08:00", , "yyyy-MM-dd HH:mm", "o")"#, S("2021-07-02T08:00:00.0000000Z")),
        (r#"FormatDateTime([missing], , "yyyy", "yyyy")"#, N),
        (r#"FormatDateTime([empty], , "yyyy", "yyyy")"#, N),
        (r#"FormatDateTime("2021", , "yyyy-MM", "yyyy")"#, E("does not match the format")),
        (r#"FormatDateTime("2021", , "yyyy", "q")"#, E("outputFormat")),
    ]);
    assert_arity_errors(&[r#"FormatDateTime("a", "b")"#, r#"FormatDateTime("a", , "b", "c", "d")"#]);
}

#[test]
fn now() {
    run(&[("Now()", S("7/2/2021 3:33:38 PM"))]);
    assert_arity_errors(&["Now([a])"]);
}
