use crate::expr::testkit::{M, N, S, assert_arity_errors, run};

#[test]
fn normalize_diacritics() {
    run(&[
        ("NormalizeDiacritics([givenName])", S("John")),
        (r#"NormalizeDiacritics("Zoë")"#, S("Zoe")),
        ("NormalizeDiacritics([diacritics])", S("Zoe Angstrom-Lukasz OEre ss")),
        (r#"NormalizeDiacritics("æÆçÇñÑøłĞİışŞțŽ")"#, S("aeAEcCnNoelGIisStZ")),
        // Base letter + combining marks (FUNC lists ā́ and a̱): the marks are dropped.
        ("NormalizeDiacritics(\"a\u{0331}\u{0101}\u{0301}\")", S("aa")),
        ("NormalizeDiacritics(\"\u{00f0}\u{00fe}\")", S("\u{00f0}\u{00fe}")),
        (r#"NormalizeDiacritics(Split("é,ü", ","))"#, M(&["e", "u"])),
        ("NormalizeDiacritics([missing])", N),
        ("NormalizeDiacritics([empty])", S("")),
    ]);
    assert_arity_errors(&["NormalizeDiacritics()", "NormalizeDiacritics([a], [b])"]);
}
