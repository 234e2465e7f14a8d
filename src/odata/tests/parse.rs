//! Parsing, checking, errors, limits and never-panic checks.

use super::*;

#[test]
fn spec_forms_parse_and_check() {
    for src in SPEC_FORMS {
        logs_check(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    }
}

#[test]
fn precedence_and_normalised_literals() {
    // `and` binds tighter than `or`.
    let f = parse_filter("jobId eq 'x' or cycleId eq 'y' and changeId eq 'z'").unwrap();
    assert_eq!(f.to_string(), "jobId eq 'x' or (cycleId eq 'y' and changeId eq 'z')");
    let f = parse_filter("jobId eq 'x' and cycleId eq 'y' or changeId eq 'z'").unwrap();
    assert_eq!(f.to_string(), "(jobId eq 'x' and cycleId eq 'y') or changeId eq 'z'");
    // Escapes, GUIDs lower-cased, date-times in UTC with seven digits.
    assert_eq!(parse_filter("jobId eq 'O''Brien'''").unwrap().to_string(), "jobId eq 'O''Brien'''");
    assert_eq!(
        parse_filter("servicePrincipal/id eq A0B1C2D3-0000-4000-8000-00000000000F").unwrap().to_string(),
        "servicePrincipal/id eq a0b1c2d3-0000-4000-8000-00000000000f"
    );
    assert_eq!(
        parse_filter("activityDateTime eq 2022-10-10T11:47:34.12345678+02:00").unwrap().to_string(),
        "activityDateTime eq 2022-10-10T09:47:34.1234567Z"
    );
    assert_eq!(logs_check("sp_id eq 1").unwrap_err().target.as_deref(), Some("sp_id"), "columns are not properties");
    for src in ["accountEnabled", "not accountEnabled", "employeeId in ('1', '2')", "endswith(mail, '@x.com')"] {
        users_check(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    }
}

/// (filter, target, a fragment of the message) for the logs table.
const ERRORS: &[(&str, Option<&str>, &str)] = &[
    (
        "foo eq 'x'",
        Some("foo"),
        "Could not find a property named 'foo' on type 'microsoft.graph.provisioningObjectSummary'.",
    ),
    ("sourceIdentity/details eq 'x'", Some("sourceIdentity/details"), "Could not find a property"),
    ("jobId gt 'x'", Some("gt"), "Operator 'gt' is not supported for property 'jobId'."),
    ("jobid GE 'x'", Some("ge"), "Operator 'ge' is not supported for property 'jobId'."),
    ("startswith(jobId, 'x')", Some("startswith"), "Operator 'startswith' is not supported"),
    ("jobId in ('a', 'b')", Some("in"), "Operator 'in' is not supported"),
    ("tolower(jobId) eq 'x'", Some("tolower"), "The function 'tolower' is not supported"),
    ("substringof('x', jobId)", Some("substringof"), "not supported"),
    (
        "activityDateTime ge '2022-10-10T09:47:34Z'",
        Some("activityDateTime"),
        "type Edm.DateTimeOffset and cannot be compared with a value of type Edm.String",
    ),
    ("durationInMilliseconds eq '5'", Some("durationInMilliseconds"), "Edm.Int64"),
    ("jobId eq 5", Some("jobId"), "cannot be compared with a value of type Edm.Int64"),
    ("jobId eq true", Some("jobId"), "Edm.Boolean"),
    ("jobId eq 2022-10-10T09:47:34Z", Some("jobId"), "Edm.DateTimeOffset"),
    ("contains(durationInMilliseconds, '5')", Some("contains"), "not supported"),
    ("activityDateTime gt null", None, "null can only be compared"),
    ("jobId eq cycleId", Some("eq"), "comparing two properties"),
    ("jobId", Some("jobId"), "not a Boolean"),
    ("'x'", None, "expected a condition"),
    ("'x' eq 'y'", None, "compares a property with a literal"),
    ("jobId eq", None, "position 8: expected a property, a value or '(' but found the end"),
    ("jobId eq 'x' and", None, "found the end"),
    ("(jobId eq 'x'", None, "expected ')' but found the end"),
    ("jobId eq 'x')", None, "position 12: unexpected ')'"),
    ("jobId eq 'x' cycleId eq 'y'", None, "unexpected 'cycleId'"),
    ("contains(jobId)", None, "expected ','"),
    ("contains('x', jobId)", None, "contains() takes a property and a string"),
    ("jobId in 'x'", None, "expected '('"),
    ("jobId in ()", None, "found ')'"),
    ("jobId = 'x'", None, "position 6: unexpected '='"),
    ("jobId eq 'x' && cycleId eq 'y'", None, "unexpected '&'"),
    ("and eq 'x'", None, "unexpected 'and'"),
    ("jobId eq 'unterminated", None, "position 9: unterminated string literal"),
    ("activityDateTime ge 2022-10-10", None, "not a valid DateTimeOffset"),
    ("durationInMilliseconds gt 1.5", None, "numbers must be integers"),
    ("", Some("$filter"), "empty"),
    ("   ", Some("$filter"), "empty"),
];

#[test]
fn errors_name_the_offender() {
    for (src, target, fragment) in ERRORS {
        let e = logs_check(src).expect_err(src);
        assert!(e.message.contains(fragment), "{src}: {e}");
        if target.is_some() {
            assert_eq!(e.target.as_deref(), *target, "{src}: {e}");
        }
        if let Some(span) = e.span {
            assert!(src.get(span.start..span.end).is_some(), "{src}: span {span:?}");
        }
    }
    let e = users_check("accountEnabled eq 1").unwrap_err();
    assert!(e.message.contains("Edm.Boolean"), "{e}");
    assert!(users_check("contains(displayName, 'a')").unwrap_err().message.contains("'contains'"));
    assert!(users_check("employeeId in ('a', null)").unwrap_err().message.contains("null is not allowed"));
}

#[test]
fn depth_and_length_limits() {
    let nested = |n: usize| format!("{}jobId eq 'x'{}", "(".repeat(n), ")".repeat(n));
    assert!(logs_check(&nested(60)).is_ok());
    let e = logs_check(&nested(200)).unwrap_err();
    assert!(e.message.contains("nesting deeper than 64"), "{e}");
    assert!(users_check(&format!("{}accountEnabled", "not ".repeat(60))).is_ok());
    assert!(users_check(&format!("{}accountEnabled", "not ".repeat(500))).unwrap_err().message.contains("nesting"));
    assert!(parse_filter(&"(".repeat(4000)).unwrap_err().message.contains("nesting"));

    let long = format!("jobId eq '{}'", "x".repeat(MAX_QUERY_OPTION_LEN));
    let e = parse_filter(&long).unwrap_err();
    assert_eq!(e.target.as_deref(), Some("$filter"));
    assert!(e.message.contains("too long"), "{e}");
    // A flat chain at the length limit is an n-ary node, not a deep tree.
    let chain = vec!["id eq 'x'"; 300].join(" or ");
    assert!(chain.len() <= MAX_QUERY_OPTION_LEN);
    let Expr::Or(items) = logs_check(&chain).unwrap().expr else { panic!("an n-ary or") };
    assert_eq!(items.len(), 300);
}

#[test]
fn display_round_trips() {
    let mut sources: Vec<&str> = SPEC_FORMS.to_vec();
    sources.extend([
        "not (jobId eq 'x' or contains(jobId, 'O''B')) and durationInMilliseconds ge -3",
        "activityDateTime lt 2022-10-10T09:47:34.5+01:00 or jobId eq null",
        "employeeId in ('a', 'b') and endswith(mail, 'x') and not accountEnabled or false",
    ]);
    for src in sources {
        let once = parse_filter(src).unwrap().to_string();
        let twice = parse_filter(&once).unwrap_or_else(|e| panic!("{once}: {e}")).to_string();
        assert_eq!(once, twice, "{src}");
    }
}

#[test]
fn orderby_top_select() {
    let o = parse_orderby("activityDateTime desc, ID asc", &PROVISIONING_LOG_FIELDS).unwrap();
    assert_eq!(
        o,
        [OrderBy { property: "activityDateTime", descending: true }, OrderBy { property: "id", descending: false }]
    );
    let o = parse_orderby("displayname desc", &USER_FIELDS).unwrap();
    assert_eq!(o, [OrderBy { property: "displayName", descending: true }]);
    assert_eq!(parse_orderby("  ", &PROVISIONING_LOG_FIELDS).unwrap(), []);
    for (src, fragment) in [
        ("foo", "Could not find a property named 'foo'"),
        ("provisioningAction", "Ordering by 'provisioningAction' is not supported."),
        ("id, ID", "Duplicate property 'id'"),
        ("id up", "expected 'asc', 'desc' or ','"),
        ("id desc desc", "expected ',' but found 'desc'"),
        ("id,", "expected a property name after ','"),
        (", id", "expected a property name but found ','"),
        ("id 'x'", "expected ','"),
        ("'id'", "expected a property name"),
    ] {
        let e = parse_orderby(src, &PROVISIONING_LOG_FIELDS).expect_err(src);
        assert!(e.message.contains(fragment), "{src}: {e}");
        assert!(e.target.is_some(), "{src}");
    }

    assert_eq!(parse_top(" 1000 ", 1000), Ok(1000));
    assert_eq!(parse_top("1", 1000), Ok(1));
    for bad in ["0", "1001", "-1", "+5", "1e3", "", "ten", "99999999999999999999"] {
        let e = parse_top(bad, 1000).expect_err(bad);
        assert_eq!(e.target.as_deref(), Some("$top"));
        assert!(e.message.contains("Must be between 1 and 1000 inclusive."), "{e}");
    }

    let allowed = ["id", "displayName", "employeeId", "accountEnabled"];
    assert_eq!(parse_select("DISPLAYNAME,id , displayName", &allowed).unwrap(), ["displayName", "id"]);
    assert_eq!(parse_select("*", &allowed).unwrap(), allowed);
    assert_eq!(parse_select("", &allowed).unwrap(), Vec::<String>::new());
    let e = parse_select("id,foo", &allowed).unwrap_err();
    assert_eq!((e.target.as_deref(), e.message.as_str()), (Some("foo"), "Property 'foo' is not supported in $select."));
    assert!(parse_select("id,,mail", &allowed).is_err());
}

#[test]
fn skiptoken_round_trip_and_tampering() {
    let keys = vec![serde_json::json!("2025-01-15T10:02:13.0000000Z"), serde_json::json!(null), serde_json::json!(7)];
    let token = skiptoken::encode(&keys);
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
    assert_eq!(skiptoken::decode(&token).unwrap(), keys);
    for bad in ["", "%%%", "eyJhIjoxfQ", "bm90IGpzb24", &"A".repeat(5000)] {
        assert_eq!(skiptoken::decode(bad).unwrap_err().target.as_deref(), Some("$skiptoken"), "{bad}");
    }
    let q = PageQuery::new(&PROVISIONING_LOG_FIELDS, &PROVISIONING_LOG_ORDER, None, &[], Some(&token), 10);
    assert_eq!(q.unwrap_err().target.as_deref(), Some("$skiptoken"), "a token of three keys for two");
}

/// A tiny deterministic generator (no dependency on `rand`'s algorithm stability).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Runs every option parser on `src`; returns how many filters parsed and passed their checks.
fn never_panics(src: &str) -> usize {
    let mut checked = 0;
    for table in [&PROVISIONING_LOG_FIELDS, &USER_FIELDS] {
        match parse_filter(src) {
            Ok(f) => checked += usize::from(f.check(table).is_ok()),
            Err(e) => {
                if let Some(span) = e.span {
                    assert!(src.get(span.start..span.end).is_some(), "{src}: bad span {span:?}");
                }
            }
        }
        let _ = parse_orderby(src, table);
    }
    let _ = parse_select(src, &["id", "displayName"]);
    let _ = parse_top(src, 1000);
    let _ = skiptoken::decode(src);
    checked
}

#[test]
fn garbage_never_panics() {
    let pieces = [
        "jobId",
        "eq",
        "ne",
        "gt",
        "'x'",
        "''",
        "'",
        "(",
        ")",
        ",",
        " and ",
        " or ",
        "not ",
        "contains(",
        "startswith(",
        "endswith(",
        "2022-10-10T09:47:34Z",
        "2022-10-",
        "-",
        "1",
        "-0",
        "99999999999999999999",
        "1.5",
        "a0b1c2d3-0000-4000-8000-00000000000f",
        "/",
        "ä",
        "€",
        "😀",
        " ",
        " in ",
        "null",
        "true",
        "FALSE",
        "\u{0}",
        "statusInfo/status",
        "accountEnabled",
        "displayName",
        "activityDateTime",
        "$",
        "=",
        "\t",
        "desc",
        "asc",
        "employeeId",
        "durationInMilliseconds",
        "T",
        "Z",
        "+01:00",
        ":",
        ".",
    ];
    let mut rng = Lcg(0x5eed);
    let mut executed = 0;
    for _ in 0..20_000 {
        let n = 1 + rng.below(14);
        let src: String = (0..n)
            .map(|_| pieces[rng.below(pieces.len())])
            .collect::<Vec<_>>()
            .join(if rng.below(3) == 0 { "" } else { " " });
        executed += never_panics(&src);
    }
    // Grammar-directed filters: mostly valid, so checking is exercised too; each must also survive a
    // Display round trip with the same text and the same verdict.
    for _ in 0..3_000 {
        let src = random_filter(&mut rng, 3);
        executed += never_panics(&src);
        if let Ok(f) = parse_filter(&src) {
            let again = parse_filter(&f.to_string()).unwrap_or_else(|e| panic!("{src} → {f}: {e}"));
            assert_eq!(f.to_string(), again.to_string(), "{src}");
            for table in [&PROVISIONING_LOG_FIELDS, &USER_FIELDS] {
                let target = |e: ODataError| e.target; // positions move when reprinted
                assert_eq!(f.check(table).map_err(target), again.check(table).map_err(target), "{src}");
            }
        }
    }
    // Every prefix and every one-character deletion of realistic filters.
    let mut seeds: Vec<&str> = SPEC_FORMS.to_vec();
    seeds.push("not (startswith(displayName, 'Ä''b') or employeeId in ('1','2')) and createdDateTime lt 2024-01-01T00:00:00.5-01:30");
    for seed in seeds {
        let chars: Vec<(usize, char)> = seed.char_indices().collect();
        for (i, c) in &chars {
            executed += never_panics(&seed[..*i]);
            executed += never_panics(&format!("{}{}", &seed[..*i], &seed[i + c.len_utf8()..]));
        }
    }
    assert!(executed > 1_000, "the loop must also exercise valid filters ({executed})");
}

/// (property, its literals, its operators) per table; one filter draws from one table.
type Props = [(&'static str, &'static [&'static str], &'static [&'static str]); 5];
const TEXT_LITS: &[&str] = &["'x'", "'O''B'", "''", "a0b1c2d3-0000-4000-8000-00000000000f", "null"];
const TIME_LITS: &[&str] = &["2022-10-10T09:47:34.5+01:00", "2022-10-10T09:47Z", "null"];
const INT_LITS: &[&str] = &["7", "-1", "null"];
const EQ: &[&str] = &["eq", "NE"];
const CMP: &[&str] = &["eq", "ne", "GT", "ge", "lt", "le"];
const LOG_PROPS: Props = [
    ("jobId", TEXT_LITS, EQ),
    ("activityDateTime", TIME_LITS, CMP),
    ("durationInMilliseconds", INT_LITS, CMP),
    ("statusInfo/status", TEXT_LITS, EQ),
    ("sourceIdentity/displayName", TEXT_LITS, EQ),
];
const USER_PROPS: Props = [
    ("displayName", TEXT_LITS, EQ),
    ("accountEnabled", &["true", "FALSE"], EQ),
    ("createdDateTime", TIME_LITS, CMP),
    ("employeeId", TEXT_LITS, EQ),
    ("ID", TEXT_LITS, EQ),
];

pub(crate) fn random_filter(rng: &mut Lcg, depth: usize) -> String {
    let props = if rng.below(2) == 0 { &LOG_PROPS } else { &USER_PROPS };
    random_expr(rng, depth, props)
}

/// Mostly well-typed; one leaf in eight takes a literal or operator of the wrong kind.
fn random_expr(rng: &mut Lcg, depth: usize, props: &Props) -> String {
    let (prop, lits, ops) = props[rng.below(props.len())];
    let (lits, ops) = if rng.below(8) == 0 { (TIME_LITS, CMP) } else { (lits, ops) };
    let lit = lits[rng.below(lits.len())];
    let op = ops[rng.below(ops.len())];
    match if depth == 0 { rng.below(4) } else { rng.below(8) } {
        0 => format!("{prop} {op} {lit}"),
        1 => format!("{lit} {op} {prop}"),
        2 => format!("{}({prop}, {lit})", ["contains", "startswith", "endsWith"][rng.below(3)]),
        3 => format!("{prop} in ({lit}, {})", lits[rng.below(lits.len())]),
        4 => format!("not ({})", random_expr(rng, depth - 1, props)),
        5 => format!("({})", random_expr(rng, depth - 1, props)),
        6 => format!("{} and {}", random_expr(rng, depth - 1, props), random_expr(rng, depth - 1, props)),
        _ => format!("{} OR {}", random_expr(rng, depth - 1, props), random_expr(rng, depth - 1, props)),
    }
}
