use crate::expr::testkit::{E, M, N, S, assert_arity_errors, run};

#[test]
fn count() {
    run(&[
        ("Count([proxy])", S("3")),
        ("Count([userName])", S("1")),
        ("Count([missing])", S("0")),
        ("Count([empty])", S("1")),
        (r#"Count(Split("a,b", ","))"#, S("2")),
    ]);
    assert_arity_errors(&["Count()", "Count([a], [b])"]);
}

#[test]
fn item() {
    run(&[
        ("Item([proxy], 1)", S("smtp:a@x.com")),
        ("Item([proxy], 2)", S("SMTP:b@x.com")),
        ("Item([proxy], 4)", N),
        ("Item([proxy], 0)", N),
        ("Item([userName], 1)", S("bjensen@example.com")),
        ("Item([missing], 1)", N),
        ("Item([empty], 1)", S("")),
        (r#"Item([proxy], "x")"#, E("index must be an integer")),
    ]);
    assert_arity_errors(&["Item([proxy])", "Item([proxy], 1, 2)"]);
}

#[test]
fn join() {
    run(&[
        (r#"Join(" ", [givenName], [surname])"#, S("John Doe")),
        (r#"Join(", ", "", [surname], [givenName])"#, S("Doe, John")),
        (r#"Join("|", [proxy], "z")"#, S("smtp:a@x.com|SMTP:b@x.com|smtp:a@x.com|z")),
        (r#"Join("", 1000, "x")"#, S("1000x")),
        (r#"Join(" ", [missing], [givenName])"#, S("John")),
        (r#"Join(" ", [missing], [missing2])"#, N),
        (r#"Join(" ", [empty])"#, S("")),
        (r#"Join([missing], "a", "b")"#, S("ab")),
    ]);
    assert_arity_errors(&[r#"Join(" ")"#, "Join()"]);
}

#[test]
fn remove_duplicates() {
    run(&[
        ("RemoveDuplicates([proxy])", M(&["smtp:a@x.com", "SMTP:b@x.com"])),
        ("RemoveDuplicates([userName])", S("bjensen@example.com")),
        ("RemoveDuplicates([missing])", N),
        ("RemoveDuplicates([empty])", S("")),
    ]);
    assert_arity_errors(&["RemoveDuplicates()", "RemoveDuplicates([a], [b])"]);
}

#[test]
fn split() {
    run(&[
        (r#"Split("PermissionSetOne,PermissionSetTwo", ",")"#, M(&["PermissionSetOne", "PermissionSetTwo"])),
        (r#"Split("a::b", "::")"#, M(&["a", "b"])),
        (r#"Split("abc", "")"#, M(&["abc"])),
        (r#"Split([missing], ",")"#, N),
        (r#"Split([empty], ",")"#, M(&[""])),
    ]);
    assert_arity_errors(&[r#"Split("a")"#, r#"Split("a", ",", "x")"#]);
}
