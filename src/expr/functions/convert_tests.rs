use crate::expr::Value;
use crate::expr::testkit::{E, N, S, assert_arity_errors, eval, run};

#[test]
fn bit_and() {
    run(&[
        ("BitAnd(&HF, &HF7)", S("7")),
        ("BitAnd(&hff, \"&H0F\")", S("15")),
        ("CStr(&HF7)", S("247")),
        ("BitAnd([flags], 15)", S("7")),
        ("BitAnd([missing], 1)", N),
        ("BitAnd([empty], 1)", E("'' is not an integer")),
    ]);
    assert_arity_errors(&["BitAnd(1)", "BitAnd(1, 2, 3)"]);
}

#[test]
fn convert_to_base64() {
    run(&[
        (r#"ConvertToBase64("Hello world!")"#, S("SABlAGwAbABvACAAdwBvAHIAbABkACEA")),
        ("ConvertToBase64([missing])", N),
        ("ConvertToBase64([empty])", S("")),
    ]);
    assert_arity_errors(&["ConvertToBase64()", "ConvertToBase64([a], [b])"]);
}

#[test]
fn convert_to_utf8_hex() {
    run(&[
        (r#"ConvertToUTF8Hex("Hello world!")"#, S("48656C6C6F20776F726C6421")),
        (r#"ConvertToUTF8Hex("é")"#, S("C3A9")),
        ("ConvertToUTF8Hex([missing])", N),
        ("ConvertToUTF8Hex([empty])", S("")),
        (
            r#"Join("", 1000, Replace(ConvertToUTF8Hex("00aa00aa-bb11-cc22-dd33-44ee44ee44ee"), , "[a-zA-Z_]*", , "", , ))"#,
            S("100030306161303061612626231312636332322646433332343465653434656534346565"),
        ),
    ]);
    assert_arity_errors(&["ConvertToUTF8Hex()", "ConvertToUTF8Hex([a], [b])"]);
}

#[test]
fn cstr() {
    run(&[
        ("CStr([flags])", S("247")),
        ("CStr([active])", S("True")),
        ("CStr([missing])", N),
        ("CStr([empty])", S("")),
    ]);
    assert_arity_errors(&["CStr()", "CStr([a], [b])"]);
}

#[test]
fn guid() {
    let Ok(Value::Str(a)) = eval("Guid()") else { panic!("Guid() must return a string") };
    let Ok(Value::Str(b)) = eval("Guid()") else { panic!("Guid() must return a string") };
    assert_ne!(a, b);
    let parsed = uuid::Uuid::parse_str(&a).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    assert_arity_errors(&["Guid([a])"]);
}

#[test]
fn random_string() {
    for _ in 0..50 {
        let Ok(Value::Str(s)) = eval(r#"RandomString(10, 2, 2, 2, 1, "?,")"#) else { panic!("expected a string") };
        assert_eq!(s.chars().count(), 10);
        assert!(s.chars().filter(char::is_ascii_digit).count() >= 2, "{s}");
        assert!(s.chars().filter(char::is_ascii_uppercase).count() >= 2, "{s}");
        assert!(s.chars().filter(char::is_ascii_lowercase).count() >= 1, "{s}");
        assert!(s.chars().filter(|c| !c.is_ascii_alphanumeric()).count() >= 2, "{s}");
        assert!(!s.contains(['?', ',']), "{s}");
    }
    let Ok(Value::Str(s)) = eval("RandomString(6, 3, 0, 0, 3)") else { panic!("expected a string") };
    assert_eq!(s.len(), 6);
    run(&[
        ("RandomString(0, 0, 0, 0, 0)", S("")),
        ("RandomString(257, 0, 0, 0, 0)", E("at most 256")),
        ("RandomString(3, 2, 2, 0, 0)", E("more than Length")),
        ("RandomString(3, 9223372036854775807, 9223372036854775807, 0, 0)", E("more than Length")),
        (r#"RandomString(2, 2, 0, 0, 0, "0123456789")"#, E("excludes every character of a required class")),
        ("RandomString([missing], 0, 0, 0, 0)", E("Length is null")),
        ("RandomString([empty], 0, 0, 0, 0)", E("Length is null")),
        ("RandomString(-1, 0, 0, 0, 0)", E("may not be negative")),
    ]);
    assert_arity_errors(&["RandomString(1, 0, 0, 0)", r#"RandomString(1, 0, 0, 0, 0, "", 1)"#]);
}
