//! Module-level tests: parser errors and limits, Display round-trips, attribute references, the Graph
//! `attributeMappingSource` rendering, and every default mapping of docs/fidelity.md A.4 on the seed example 1
//! record (BU-v1 example 1, Barbara Jensen).

use serde_json::json;

use super::testkit::{ctx, owned, record};
use super::{Value, evaluate, parse};
use crate::parse::MAX_DEPTH;

/// BU-v1 example 1, first operation's `data` (tests/fixtures/example1.json).
fn barbara() -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
            "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "addresses": [{
            "type": "work", "streetAddress": "234300 Universal City Plaza", "locality": "Hollywood", "region": "CA",
            "postalCode": "91608", "country": "USA", "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "primary": true
        }],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
            "division": "Theme Park", "department": "Tour Operations",
            "manager": {"value": "89607", "displayName": "John Smith"}
        }
    })
}

fn eval_on(src: &str, rec: &serde_json::Value) -> Value {
    let e = parse(src).unwrap_or_else(|err| panic!("{src}: {err}"));
    evaluate(&e, &owned(rec.clone()), &ctx()).unwrap_or_else(|err| panic!("{src}: {err}")).value
}

#[test]
fn default_mappings_evaluate_on_seed_example_1() {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let rows: Vec<(String, Value)> = vec![
        ("[externalId]".into(), "701984".into()),
        ("[userName]".into(), "bjensen@example.com".into()),
        (r#"Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#.into(), "bjensen".into()),
        ("[active]".into(), "True".into()),
        ("[displayName]".into(), "Babs Jensen".into()),
        ("[name.givenName]".into(), "Barbara".into()),
        ("[name.familyName]".into(), "Jensen".into()),
        ("[title]".into(), "Tour Guide".into()),
        (format!("[{ent}:department]"), "Tour Operations".into()),
        (format!("[{ent}:organization]"), "Universal Studios".into()),
        (format!("[{ent}:division]"), "Theme Park".into()),
        (format!("[{ent}:costCenter]"), "4130".into()),
        (format!("[{ent}:manager]"), "89607".into()),
        ("[userType]".into(), "Employee".into()),
        (r#"[emails[type eq "work"].value]"#.into(), "bjensen@example.com".into()),
        (r#"[phoneNumbers[type eq "work"].value]"#.into(), "555-555-5555".into()),
        (r#"[phoneNumbers[type eq "mobile"].value]"#.into(), Value::Null),
        (r#"[addresses[type eq "work"].streetAddress]"#.into(), "234300 Universal City Plaza".into()),
        (r#"[addresses[type eq "work"].locality]"#.into(), "Hollywood".into()),
        (r#"[addresses[type eq "work"].region]"#.into(), "CA".into()),
        (r#"[addresses[type eq "work"].postalCode]"#.into(), "91608".into()),
        (r#"[addresses[type eq "work"].country]"#.into(), "USA".into()),
        ("[preferredLanguage]".into(), "en-US".into()),
        // docs/fidelity.md A.4 alternatives and the TRBL UPN fix.
        (r#"Switch([active], , "True", "True", "False", "False")"#.into(), "True".into()),
        ("Not([active])".into(), "False".into()),
        (
            r#"Join("", Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , ), "@", DefaultDomain())"#.into(),
            "bjensen@contoso.onmicrosoft.com".into(),
        ),
    ];
    let rec = barbara();
    for (src, want) in rows {
        assert_eq!(eval_on(&src, &rec), want, "{src}");
    }
}

#[test]
fn attribute_references() {
    let rec = json!({
        "userName": "u",
        "name": {"givenName": "G"},
        "urn:contoso:employee": {"HireDate": "2021-01-01"},
        "urn:contoso": {"employee:HireDate": "shadowed"},
        "urn:ietf:params:scim:schemas:extension:contoso:1.0:User": {"JobCode": "J1"},
        "emails": [
            {"value": "home@x.com", "type": "home"},
            {"value": "work@x.com", "type": "Work", "primary": true},
            {"value": "other@x.com", "type": "work"}
        ],
        "groups": [{"value": "g1"}, {"value": "g2"}],
        "roles": ["a", "b"],
        "score": 42,
        "ratio": 1.5,
        "nothing": null,
        "flat.dotted": "flat",
        "manager": {"displayName": "no value key"}
    });
    let rows: Vec<(&str, Value)> = vec![
        ("[USERNAME]", "u".into()),
        ("[name.GivenName]", "G".into()),
        ("[urn:contoso:employee:HireDate]", "2021-01-01".into()),
        ("[URN:CONTOSO:EMPLOYEE:hiredate]", "2021-01-01".into()),
        ("[urn:ietf:params:scim:schemas:extension:contoso:1.0:User:JobCode]", "J1".into()),
        ("[urn:nowhere:Attr]", Value::Null),
        (r#"[emails[type eq "work"].value]"#, "work@x.com".into()),
        ("[emails[primary eq true].value]", "work@x.com".into()),
        (r#"[emails[type eq "fax"].value]"#, Value::Null),
        ("[emails.value]", Value::Multi(vec!["home@x.com".into(), "work@x.com".into(), "other@x.com".into()])),
        ("[groups]", Value::Multi(vec!["g1".into(), "g2".into()])),
        ("[roles]", Value::Multi(vec!["a".into(), "b".into()])),
        ("[score]", "42".into()),
        ("[ratio]", "1.5".into()),
        ("[nothing]", Value::Null),
        ("[flat.dotted]", "flat".into()),
        ("[manager]", Value::Null),
        ("[name]", Value::Null),
        ("[name.missing]", Value::Null),
    ];
    for (src, want) in rows {
        assert_eq!(eval_on(src, &rec), want, "{src}");
    }
    assert_eq!(eval_on("[a]", &json!("not an object")), Value::Null);
}

#[test]
fn parse_errors_carry_spans() {
    // (source, expected span, message fragment)
    let rows = [
        ("", (0, 0), "empty expression"),
        ("   ", (3, 3), "empty expression"),
        ("Foo([a])", (0, 3), "unknown function 'Foo'"),
        ("Join(\",\", append([a], \"b\"))", (10, 16), "did you mean 'Append'"),
        ("Append([a], \"b\", \"c\")", (0, 21), "Append expects 2 arguments"),
        ("Join(\" \", Left([a]))", (10, 19), "Left expects 2 arguments"),
        ("\"abc", (0, 4), "unterminated string"),
        ("Append([abc, \"x\")", (7, 17), "unterminated attribute"),
        ("Append([a], \"x\"", (15, 15), "unterminated call to Append (opened at position 0)"),
        ("Append(", (7, 7), "unterminated call"),
        ("Append([a], \"x\") [b]", (17, 20), "after the end"),
        ("Append([a] \"x\")", (11, 14), "expected ',' or ')'"),
        ("Append(, \"x\")", (7, 7), "missing required argument 'source'"),
        ("Append(userName, \"x\")", (7, 15), "attributes square brackets"),
        ("Append([a], #)", (12, 13), "unexpected character '#'"),
        ("[]", (0, 2), "empty attribute name"),
        ("[emails[type gt \"x\"].value]", (8, 26), "unsupported filter operator"),
        ("BitAnd(&G1, 1)", (7, 8), "hexadecimal"),
        ("Left(\"a\", 3x)", (10, 12), "invalid number"),
        ("Join(\",\", )", (10, 10), "missing required argument 'source'"),
    ];
    for (src, (start, end), fragment) in rows {
        let err = parse(src).expect_err(src);
        assert_eq!((err.span.start, err.span.end), (start, end), "{src}: {err}");
        assert!(err.message.contains(fragment), "{src}: {err}");
    }
}

#[test]
fn depth_and_length_limits() {
    let nested = |n: usize| format!("{}[a]{}", "ToLower(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    let err = parse(&nested(MAX_DEPTH + 1)).unwrap_err();
    assert!(err.message.contains("nesting"), "{err}");
    assert_eq!(err.span.start, MAX_DEPTH * "ToLower(".len());

    let long = format!("\"{}\"", "x".repeat(9_998));
    assert_eq!(long.chars().count(), 10_000);
    assert!(parse(&long).is_ok());
    let too_long = format!("\"{}\"", "é".repeat(9_999));
    let err = parse(&too_long).unwrap_err();
    assert!(err.message.contains("10000"), "{err}");
    assert_eq!((err.span.start, err.span.end), (1 + 2 * 9_999, too_long.len()));
}

#[test]
fn display_round_trips() {
    let rows = [
        r#"Replace([preferredLanguage], "-", , , "_", , )"#,
        r#"Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#,
        r#"Join(" ", [name.givenName], [name.familyName])"#,
        r#"Join("", Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , ), RandomString(3, 3, 0, 0, 0, ), "@", DefaultDomain())"#,
        r#"IIF([country] = "USA", [country], [department])"#,
        r#"IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True")"#,
        r#"Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", "Australia/Brisbane")"#,
        r#"Append("Company name: \"Contoso\" \\ ", [a])"#,
        r#"InStr("repEated", "e", 3, vbBinaryCompare)"#,
        "BitAnd(&HF, &HF7)",
        r#"DateAdd("d", -10, CDate([hire]))"#,
        r#"[emails[type eq "work"].value]"#,
        "[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager]",
        "\"plain constant\"",
        "Guid()",
        "CBool([a] <> [b])",
        "IIF([a] <= 3, IIF([b] >= \"x\", \"1\", \"2\"), \"3\")",
        r#"FormatDateTime([x], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#,
    ];
    for src in rows {
        let once = parse(src).unwrap_or_else(|e| panic!("{src}: {e}")).to_string();
        assert_eq!(once, src);
        let twice = parse(&once).unwrap().to_string();
        assert_eq!(twice, once);
    }
    // Multi-line expressions (FUNC's SelectUniqueValue example) parse; whitespace is insignificant.
    let multi =
        "SelectUniqueValue( \n    Join(\"@\", [a], \"contoso.com\"), \r\n\tJoin(\"@\", [b], \"contoso.com\")\n)";
    assert_eq!(
        parse(multi).unwrap().to_string(),
        r#"SelectUniqueValue(Join("@", [a], "contoso.com"), Join("@", [b], "contoso.com"))"#
    );
    // Non-canonical spacing and spellings print canonically.
    assert_eq!(parse("IIf( [a]=\"b\" ,\"c\",\"d\" )").unwrap().to_string(), r#"IIF([a] = "b", "c", "d")"#);
    assert_eq!(parse("Join(\",\",[ a ])").unwrap().to_string(), r#"Join(",", [a])"#);
    // A lone backslash before another character is kept literally (and printed escaped).
    let e = parse(r#"Replace([p], , "\d+", , "N", , )"#).unwrap();
    assert_eq!(e.to_string(), r#"Replace([p], , "\\d+", , "N", , )"#);
}

#[test]
fn mapping_source_matches_graph_shape() {
    let e = parse(r#"Join(" ", [givenName], [surname])"#).unwrap();
    assert_eq!(
        e.to_mapping_source(),
        json!({
            "type": "Function", "name": "Join", "expression": "Join(\" \", [givenName], [surname])",
            "parameters": [
                {"key": "separator", "value": {"type": "Constant", "name": " ", "expression": "\" \"", "parameters": []}},
                {"key": "source", "value": {"type": "Attribute", "name": "givenName", "expression": "[givenName]", "parameters": []}},
                {"key": "source", "value": {"type": "Attribute", "name": "surname", "expression": "[surname]", "parameters": []}},
            ]
        })
    );
    let e = parse(r#"Replace([preferredLanguage], "-", , , "_", , )"#).unwrap();
    let src = e.to_mapping_source();
    let keys: Vec<&str> = src["parameters"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["source", "oldValue", "replacementValue"]);
    assert_eq!(src["expression"], r#"Replace([preferredLanguage], "-", , , "_", , )"#);
    let cmp = parse(r#"IIF([a] = "b", "c", "d")"#).unwrap().to_mapping_source();
    assert_eq!(cmp["parameters"][0]["value"]["name"], "=");
    assert_eq!(cmp["parameters"][0]["value"]["expression"], r#"[a] = "b""#);
}

#[test]
fn evaluation_errors_name_function_and_position() {
    let src = r#"Join(",", Left("abc", "x"))"#;
    let err = evaluate(&parse(src).unwrap(), &record(), &ctx()).unwrap_err();
    assert_eq!((err.span.start, err.span.end), (10, 26));
    assert_eq!(err.to_string(), "Left: NumChars must be an integer, got 'x' at position 10");
}

#[test]
fn hostile_inputs_do_not_panic() {
    let inputs = [
        "(",
        ")",
        ",",
        "[",
        "]",
        "\"",
        "&",
        "&H",
        "-",
        "=",
        "<>",
        "[[[",
        "]]]",
        "Join(",
        "Join(,",
        "Join(,,)",
        "[a[",
        "[a]]",
        "[a[b eq]]",
        "[a[b eq \"x]",
        "Switch(",
        "IIF([a]=)",
        "\\",
        "é",
        "[é]",
        "Join(\"\", [a] = [b] = [c])",
        "Left(\"a\", 99999999999999999999)",
        "Mid(\"a\", -9223372036854775808, 9223372036854775807)",
        "Item([a], -1)",
        "DateAdd(\"s\", 1e308, \"2021-01-01\")",
        "DateAdd(\"m\", -1e300, \"2021-01-01\")",
        "FormatDateTime(\"9999-12-31\", , \"yyyy-MM-dd\", \"o\")",
        "DateFromNum(-99999999999999999999)",
        "Word(\"a\", 9223372036854775807, \" \")",
        "InStr(\"a\", \"b\", 9223372036854775807)",
    ];
    for src in inputs {
        if let Ok(e) = parse(src) {
            let _ = evaluate(&e, &record(), &ctx());
        }
    }
}
