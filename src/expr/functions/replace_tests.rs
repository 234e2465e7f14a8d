use crate::expr::parse;
use crate::expr::testkit::{E, M, N, S, assert_arity_errors, run};

#[test]
fn replace_modes() {
    run(&[
        // 5: oldValue + replacementValue
        (r#"Replace("Product Developer", "Product Developer", , , "Software Engineer", , )"#, S("Software Engineer")),
        (r#"Replace([userName], "@example.com", , , "", , )"#, S("bjensen")),
        // 4: oldValue + template
        (r#"Replace("jsmith", "<username>", , , , , "<username>@contoso.com")"#, S("jsmith@contoso.com")),
        // 3: regexPattern + replacementValue with group references
        (
            r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )"#,
            S("9998887777"),
        ),
        (r#"Replace("+1 (999) 888-7777", , "[()\\s-]+", , "", , )"#, S("+19998887777")),
        (r#"Replace("john_doe72", , "[a-zA-Z_]*", , "", , )"#, S("72")),
        // 2: regexPattern + regexGroupName + replacementValue
        (
            r#"Replace("545 Tremont Street", , "(?<streetNumber>^\\d*)", "streetNumber", "888", , )"#,
            S("888 Tremont Street"),
        ),
        (r#"Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#, S("bjensen")),
        // 1: regexPattern + regexGroupName + replacementAttributeName
        (
            r#"Replace([empty], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber", , [mobile], )"#,
            S("8887779999"),
        ),
        (
            r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber", , [mobile], )"#,
            S("+91 9998887777"),
        ),
        (r#"Replace([missing], , "(?<x>z)", "x", , [mobile], )"#, N),
        // A pattern that is not a constant is compiled at evaluation time.
        (r#"Replace("a-b", , Join("", "-"), , "+", , )"#, S("a+b")),
        (r#"Replace("a-b", , Join("", "("), , "+", , )"#, E("invalid regexPattern")),
        // Multi-valued sources are replaced value by value; a lone source comes back unchanged.
        (r#"Replace([proxy], "smtp:", , , "", , )"#, M(&["a@x.com", "SMTP:b@x.com", "a@x.com"])),
        ("Replace([userName])", S("bjensen@example.com")),
        (r#"Replace([missing], "a", , , "b", , )"#, N),
        (r#"Replace([empty], "a", , , "b", , )"#, S("")),
    ]);
    assert_arity_errors(&["Replace()", r#"Replace([a], , , , , , , "x")"#]);
}

#[test]
fn constant_regex_is_checked_and_kept_at_parse_time() {
    let src = r#"Replace([x], , "(unclosed", , "", , )"#;
    let err = parse(src).unwrap_err();
    assert_eq!((err.span.start, err.span.end), (15, 26), "{err}");
    let src = r#"Replace([x], , "(?<a>b)", "c", "", , )"#;
    let err = parse(src).unwrap_err();
    assert!(err.message.contains("no group named 'c'"), "{err}");
    assert_eq!(&src[err.span.start..err.span.end], r#""c""#);
    let e = parse(r#"Replace([userName], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#).unwrap();
    let crate::expr::ExprKind::Call(call) = &e.kind else { panic!("expected a call") };
    assert!(call.regex.is_some());
}
