//! Test support shared by the expression tests: a fixture record, a fixed context, and table runners.

use serde_json::json;
use time::macros::datetime;

use super::{EvalContext, EvalError, Value, evaluate, parse};

/// One row's expected outcome.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect {
    Str(&'static str),
    Multi(&'static [&'static str]),
    Null,
    /// An evaluation error whose message contains this text.
    Err(&'static str),
}

pub(crate) use Expect::{Err as E, Multi as M, Null as N, Str as S};

/// `value` as a record the evaluator reads (it owns its text).
pub(crate) fn owned(value: serde_json::Value) -> serde_json_borrow::OwnedValue {
    serde_json_borrow::OwnedValue::from_string(value.to_string()).expect("a JSON value prints as JSON")
}

/// The record every table evaluates against.
pub(crate) fn record() -> serde_json_borrow::OwnedValue {
    owned(json!({
        "userName": "bjensen@example.com",
        "empty": "",
        "displayName": "Babs Jensen",
        "givenName": "John",
        "surname": "Doe",
        "shout": "PABLO GONSALVES (SECOND)",
        "telephoneNumber": "+91 9998887777",
        "mobile": "+91 8887779999",
        "proxy": ["smtp:a@x.com", "SMTP:b@x.com", "smtp:a@x.com"],
        "active": true,
        "inactive": false,
        "flags": 247,
        "hire": "2012-03-16-07:00",
        "ticks": "129699324000000000",
        "diacritics": "Zoë Ångström-Łukasz Øre ß"
    }))
}

/// 2021-07-02 15:33:38 UTC, domain `contoso.onmicrosoft.com`.
pub(crate) fn ctx() -> EvalContext<'static> {
    EvalContext::new(datetime!(2021-07-02 15:33:38 UTC), "contoso.onmicrosoft.com")
}

pub(crate) fn eval(src: &str) -> Result<Value, EvalError> {
    let e = parse(src).unwrap_or_else(|err| panic!("{src}: parse failed: {err}"));
    evaluate(&e, &record(), &ctx()).map(|r| r.value)
}

/// Evaluates every row and compares with its expectation.
pub(crate) fn run(rows: &[(&str, Expect)]) {
    for (src, want) in rows {
        let got = eval(src);
        match (want, &got) {
            (Expect::Str(w), Ok(Value::Str(g))) if w == g => {}
            (Expect::Multi(w), Ok(Value::Multi(g))) if w.iter().eq(g.iter()) => {}
            (Expect::Null, Ok(Value::Null)) => {}
            (Expect::Err(w), Err(e)) if e.message.contains(w) => {}
            _ => panic!("{src}: expected {want:?}, got {got:?}"),
        }
    }
}

/// Each source is a whole-expression call with a wrong argument count: the error must cover the call.
pub(crate) fn assert_arity_errors(srcs: &[&str]) {
    for src in srcs {
        let err = parse(src).err().unwrap_or_else(|| panic!("{src}: expected an arity error"));
        let name = src.split('(').next().unwrap_or_default();
        assert_eq!((err.span.start, err.span.end), (0, src.len()), "{src}: {err}");
        assert!(err.message.contains(name) && err.message.contains("expects"), "{src}: {err}");
    }
}
