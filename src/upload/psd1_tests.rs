//! Unit tests of the `AttributeMapping.psd1` reader: the subset it reads, and the lines it refuses.

use serde_json::Value;

use super::*;
use crate::upload::source;

const SAMPLE: &str = include_str!("../../tests/fixtures/upload/AttributeMapping.psd1");
const TOML: &str = include_str!("../../tests/fixtures/upload/mapping.toml");
const CSV: &[u8] = include_bytes!("../../tests/fixtures/upload/hr.csv");

#[test]
fn the_sample_reads_like_its_toml_twin() {
    let psd1 = parse(SAMPLE).unwrap();
    let toml = Mapping::from_toml(TOML).unwrap();
    let records = source::csv(CSV).unwrap().records;
    for r in &records {
        assert_eq!(psd1.user(r), toml.user(r), "line {}", r.line);
    }
    let first = psd1.user(&records[0]);
    assert_eq!(first["active"], true);
    assert_eq!(first["userType"], "Employee");
    assert_eq!(first["emails"][0]["primary"], true);
    assert_eq!(first["phoneNumbers"][0]["value"], "555-0101");
    assert_eq!(psd1.user(&records[2])["active"], false);
    assert_eq!(
        psd1.user(&records[1])["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        "E1001"
    );
}

#[test]
fn quoting_separators_and_comments() {
    let m =
        parse("@{ 'externalId' = 'Id'; userName = 'It''s' # trailing\n <# block\n #> title = { \"Dr\" } }").unwrap();
    assert_eq!(
        m.attributes,
        vec![
            ("externalId".into(), Node::Column("Id".into())),
            ("userName".into(), Node::Column("It's".into())),
            ("title".into(), Node::Constant(Value::from("Dr"))),
        ]
    );
    let m = parse("@{ a = { $_.\"Col\" -eq \"x\" }; b = { 7 }; c = { $false }; d = @('X', 'Y') }").unwrap();
    assert_eq!(m.attributes[0].1, Node::Equals { column: "Col".into(), equals: "x".into() });
    assert_eq!(m.attributes[1].1, Node::Constant(Value::from(7u64)));
    assert_eq!(m.attributes[2].1, Node::Constant(Value::Bool(false)));
    assert_eq!(m.attributes[3].1, Node::List(vec![Node::Column("X".into()), Node::Column("Y".into())]));
}

#[test]
fn anything_else_is_refused_with_its_line() {
    let err = |t: &str| parse(t).unwrap_err().to_string();
    assert_eq!(
        err("@{\n  externalId = 'Id'\n  active = { $_.'Status' -ne 'Gone' }\n}"),
        "line 3: cannot read `active = { $_.'Status' -ne 'Gone' }`: only { 'constant' }, { $_.'Column' } and { $_.'Column' -eq 'Value' } can be read here"
    );
    assert_eq!(
        err("@{\n  mail = { $_.First + '@contoso.com' }\n}"),
        "line 2: cannot read `mail = { $_.First + '@contoso.com' }`: only { 'constant' }, { $_.'Column' } and { $_.'Column' -eq 'Value' } can be read here"
    );
    assert_eq!(
        err("@{\n  title = \"$($_.Title)\"\n}"),
        "line 2: cannot read `title = \"$($_.Title)\"`: a double-quoted string with $ or ` expands in PowerShell; use single quotes"
    );
    assert_eq!(
        err("@{ active = $true }"),
        "line 1: cannot read `@{ active = $true }`: a value is a 'Column' name, @{ … }, @( … ) or a script block { … }"
    );
    assert_eq!(err("@{ a = 'x' "), "line 1: cannot read `@{ a = 'x'`: the table @{ is never closed");
    assert_eq!(err("@{ a 'x' }"), "line 1: cannot read `@{ a 'x' }`: expected = after the key a");
    assert_eq!(
        err("@{ a = @('x' }"),
        "line 1: cannot read `@{ a = @('x' }`: a value is a 'Column' name, @{ … }, @( … ) or a script block { … }"
    );
    assert_eq!(err("@{ a = { 'x' "), "line 1: cannot read `@{ a = { 'x'`: the script block { is never closed");
    assert_eq!(err("@{ a = 'x }"), "line 1: cannot read `@{ a = 'x }`: the string is never closed");
    assert_eq!(
        err("@{ a = { 'x' + 'y' } }"),
        "line 1: cannot read `@{ a = { 'x' + 'y' } }`: only { 'constant' }, { $_.'Column' } and { $_.'Column' -eq 'Value' } can be read here"
    );
    assert_eq!(err("Get-Content x"), "line 1: cannot read `Get-Content x`: a mapping file starts with @{");
    assert_eq!(
        err("@{ a = 'x' } extra"),
        "line 1: cannot read `@{ a = 'x' } extra`: unexpected text after the closing }"
    );
    assert_eq!(err("<# open"), "line 1: cannot read `<# open`: the comment <# is never closed");
    assert_eq!(err("@{ }"), "the mapping is empty: map at least externalId");
    assert_eq!(
        err("@{ = 'x' }"),
        "line 1: cannot read `@{ = 'x' }`: expected a key (a name, or a quoted string such as \"urn:…\")"
    );
}

#[test]
fn nesting_is_limited() {
    let deep = format!("@{{ a = {}'x'{} }}", "@(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse(&deep).unwrap_err().to_string().ends_with(&format!("nested deeper than {MAX_DEPTH} levels")));
    let ok = format!("@{{ a = {}'x'{} }}", "@(".repeat(MAX_DEPTH - 1), ")".repeat(MAX_DEPTH - 1));
    assert!(parse(&ok).is_ok());
}
