//! The expression language: any text is parsed; what parses prints back to text that parses to the same
//! text, and evaluates against a fixed record within the evaluation limits (no panic, no value over
//! `MAX_VALUE_BYTES`, whatever the expression does).
#![no_main]

use std::sync::LazyLock;

use entra_inbound::expr::{EvalContext, MAX_VALUE_BYTES, evaluate, parse};
use libfuzzer_sys::fuzz_target;

/// A user with every shape the evaluator reads: nested and extension attributes, a multi-valued filterable
/// attribute, booleans, numbers, an empty string, dates, non-ASCII text, a long value.
static RECORD: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"701984","userName":"bjensen@example.com",
"name":{{"givenName":"Barbara","familyName":"Jensen"}},"displayName":"Babs Jensen","active":true,"inactive":false,
"flags":247,"ratio":-1.5e3,"empty":"","hire":"2012-03-16-07:00","ticks":"129699324000000000",
"emails":[{{"type":"work","value":"bjensen@example.com","primary":true}},{{"type":"home","value":"b@home.example"}}],
"proxy":["smtp:a@x.com","SMTP:b@x.com","smtp:a@x.com"],"diacritics":"Zoë Ångström-Łukasz Øre ß İı",
"long":"{}","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{{"department":"Tour Operations",
"manager":{{"value":"89607"}}}}}}"#,
        "ab".repeat(16 * 1024)
    )
});

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let Ok(expr) = parse(src) else { return };
    let printed = expr.to_string();
    if printed.chars().count() <= 10_000 {
        let again = parse(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e}"));
        assert_eq!(again.to_string(), printed, "printing is not stable");
    }
    let Ok(record) = entra_inbound::scim::record::parse(&RECORD) else { return };
    let ctx = EvalContext::new(time::OffsetDateTime::UNIX_EPOCH, "contoso.onmicrosoft.com");
    if let Ok(out) = evaluate(&expr, &record, &ctx) {
        let len: usize = out.value.values().iter().map(|v| v.len() + 1).sum();
        assert!(len <= MAX_VALUE_BYTES + 1, "a value of {len} bytes");
    }
});
