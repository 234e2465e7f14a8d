use crate::expr::testkit::{E, M, N, S, assert_arity_errors, run};

#[test]
fn append() {
    run(&[
        (r#"Append([userName], ".test")"#, S("bjensen@example.com.test")),
        (r#"Append([missing], ".test")"#, N),
        (r#"Append([empty], ".test")"#, S(".test")),
        (r#"Append([userName], [missing])"#, S("bjensen@example.com")),
        (r#"Append([proxy], "!")"#, M(&["smtp:a@x.com!", "SMTP:b@x.com!", "smtp:a@x.com!"])),
    ]);
    assert_arity_errors(&["Append([userName])", r#"Append([a], "b", "c")"#]);
}

#[test]
fn instr() {
    run(&[
        (r#"InStr("The quick brown fox", "quick")"#, S("5")),
        (r#"InStr("repEated", "e", 3, vbBinaryCompare)"#, S("7")),
        (r#"InStr("repEated", "e", 3, vbTextCompare)"#, S("4")),
        (r#"InStr("abc", "z")"#, S("0")),
        (r#"InStr("abc", "c", 9)"#, S("0")),
        (r#"InStr("äöü", "ü")"#, S("3")),
        (r#"InStr([missing], "a")"#, N),
        (r#"InStr([empty], "a")"#, S("0")),
        (r#"InStr("abc", "")"#, S("1")),
        (r#"InStr("abc", "a", 0)"#, E("start must be 1 or more")),
        (r#"InStr("abc", "a", 1, "bogus")"#, E("compareType")),
    ]);
    assert_arity_errors(&[r#"InStr("a")"#, r#"InStr("a", "b", 1, vbTextCompare, "x")"#]);
}

#[test]
fn left() {
    run(&[
        (r#"Left("John Doe", 3)"#, S("Joh")),
        (r#"Left("John Doe", 0)"#, S("")),
        (r#"Left("John Doe", -1)"#, S("John Doe")),
        (r#"Left("Jo", 5)"#, S("Jo")),
        (r#"Left([missing], 3)"#, S("")),
        (r#"Left([empty], 3)"#, S("")),
        (r#"Left("abc", "x")"#, E("NumChars must be an integer")),
        (r#"Left("abc", [missing])"#, E("NumChars is null")),
    ]);
    assert_arity_errors(&[r#"Left("a")"#, r#"Left("a", 1, 2)"#]);
}

#[test]
fn mid() {
    run(&[
        (r#"Mid("John", 1, 3)"#, S("Joh")),
        (r#"Mid("John", 2, 10)"#, S("ohn")),
        (r#"Mid("John", 9, 1)"#, S("")),
        (r#"Mid("John", 0, 2)"#, S("Jo")),
        (r#"Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))"#, S("JohDoe")),
        (r#"Mid([missing], 1, 3)"#, N),
        (r#"Mid([empty], 1, 3)"#, S("")),
    ]);
    assert_arity_errors(&[r#"Mid("a", 1)"#, r#"Mid("a", 1, 2, 3)"#]);
}

#[test]
fn pcase() {
    run(&[
        ("PCase([shout])", S("Pablo Gonsalves (Second)")),
        (r#"PCase("PINTO-DE'SILVA", " '-")"#, S("Pinto-De'Silva")),
        (r#"PCase(Join(" ", "GREGORY", "JAMES"))"#, S("Gregory James")),
        (r#"PCase("o'neil mcdonald-smith")"#, S("O'neil Mcdonald-Smith")),
        ("PCase([missing])", N),
        ("PCase([empty])", S("")),
    ]);
    assert_arity_errors(&["PCase()", r#"PCase("a", " ", "x")"#]);
}

#[test]
fn strip_spaces() {
    run(&[(r#"StripSpaces(" a b  c ")"#, S("abc")), ("StripSpaces([missing])", N), ("StripSpaces([empty])", S(""))]);
    assert_arity_errors(&["StripSpaces()", r#"StripSpaces("a", "b")"#]);
}

#[test]
fn to_lower_and_upper() {
    run(&[
        ("ToLower([displayName])", S("babs jensen")),
        (r#"ToLower("ÅSA", "sv-SE")"#, S("åsa")),
        (r#"ToLower("ISTANBUL", "tr-TR")"#, S("ıstanbul")),
        ("ToLower([missing])", N),
        ("ToLower([empty])", S("")),
        ("ToUpper([displayName])", S("BABS JENSEN")),
        (r#"ToUpper("istanbul", "tr-TR")"#, S("İSTANBUL")),
        ("ToUpper([missing])", N),
        ("ToUpper([empty])", S("")),
    ]);
    assert_arity_errors(&["ToLower()", r#"ToLower("a", "b", "c")"#, "ToUpper()", r#"ToUpper("a", "b", "c")"#]);
}

#[test]
fn word() {
    run(&[
        (r#"Word("The quick brown fox", 3, " ")"#, S("brown")),
        (r#"Word("This,string!has&many separators", 3, ",!&#")"#, S("has")),
        (r#"Word("a  b", 2, " ")"#, S("b")),
        (r#"Word("a b", 3, " ")"#, S("")),
        (r#"Word("a b", 0, " ")"#, S("")),
        (r#"Word([missing], 1, " ")"#, S("")),
        (r#"Word([empty], 1, " ")"#, S("")),
    ]);
    assert_arity_errors(&[r#"Word("a", 1)"#, r#"Word("a", 1, " ", "x")"#]);
}
