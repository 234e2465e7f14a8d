use serde_json::json;

use super::{catalog, lookup};

#[test]
fn catalogue_lists_every_spec_function_once() {
    let names: Vec<&str> = catalog().iter().map(|f| f.name).collect();
    let expected = [
        "Append",
        "AppRoleAssignmentsComplex",
        "BitAnd",
        "CBool",
        "CDate",
        "Coalesce",
        "ConvertToBase64",
        "ConvertToUTF8Hex",
        "Count",
        "CStr",
        "DateAdd",
        "DateDiff",
        "DateFromNum",
        "DefaultDomain",
        "FormatDateTime",
        "Guid",
        "IgnoreFlowIfNullOrEmpty",
        "IIF",
        "InStr",
        "IsNull",
        "IsNullOrEmpty",
        "IsPresent",
        "IsString",
        "Item",
        "Join",
        "Left",
        "Mid",
        "NormalizeDiacritics",
        "Not",
        "Now",
        "NumFromDate",
        "PCase",
        "RandomString",
        "Redact",
        "RemoveDuplicates",
        "Replace",
        "SelectUniqueValue",
        "SingleAppRoleAssignment",
        "Split",
        "StripSpaces",
        "Switch",
        "ToLower",
        "ToUpper",
        "Word",
    ];
    assert_eq!(names, expected);
}

#[test]
fn serialises_in_graph_shape() {
    let join = lookup("Join").unwrap();
    assert_eq!(
        serde_json::to_value(join).unwrap(),
        json!({"name": "Join", "parameters": [
            {"allowMultipleOccurrences": false, "name": "separator", "required": true, "type": "String"},
            {"allowMultipleOccurrences": true, "name": "source", "required": true, "type": "String"},
        ]})
    );
    assert_eq!(
        serde_json::to_value(lookup("DefaultDomain").unwrap()).unwrap(),
        json!({"name": "DefaultDomain", "parameters": []})
    );
}

#[test]
fn binds_arguments_to_parameters() {
    let names = |f: &str, n: usize| -> Vec<&str> {
        let spec = lookup(f).unwrap();
        (0..n).map(|i| spec.param_at(i, n).map_or("-", |p| p.name)).collect()
    };
    assert_eq!(names("FormatDateTime", 3), ["source", "inputFormat", "outputFormat"]);
    assert_eq!(names("FormatDateTime", 4), ["source", "dateTimeStyles", "inputFormat", "outputFormat"]);
    assert_eq!(names("Switch", 6), ["source", "defaultValue", "key", "value", "key", "value"]);
    assert_eq!(names("Coalesce", 1), ["source"]);
    assert_eq!(names("Coalesce", 3), ["source", "source", "defaultValue"]);
    assert_eq!(names("Join", 3), ["separator", "source", "source"]);
    assert_eq!(names("InStr", 2), ["value1", "value2"]);
}

#[test]
fn spelling_variants() {
    assert_eq!(lookup("IIf").unwrap().name, "IIF");
    assert_eq!(lookup("Iif").unwrap().name, "IIF");
    assert!(lookup("iif").is_none());
    assert!(lookup("append").is_none());
}
