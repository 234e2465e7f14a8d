//! The catalogue table of docs/fidelity.md B.5: every function, its parameters as Microsoft's reference
//! (FUNC) names them, Graph's parameter types, and its implementation.
//!
//! Design constraints: this table is the only place a function is declared — the parser's arity checks,
//! the `attributeMappingSource` parameter keys and `GET …/schema/functions` all read it. Keep it sorted
//! alphabetically (case-insensitively), as Graph lists functions.

use super::{EvalFn, FunctionSpec, ParamSpec, Shape};
use super::{collection, convert, date, diacritics, directory, logic, replace, string};

const fn req(name: &'static str, r#type: &'static str) -> ParamSpec {
    ParamSpec { allow_multiple_occurrences: false, name, required: true, r#type }
}
const fn opt(name: &'static str, r#type: &'static str) -> ParamSpec {
    ParamSpec { allow_multiple_occurrences: false, name, required: false, r#type }
}
const fn many(name: &'static str, r#type: &'static str) -> ParamSpec {
    ParamSpec { allow_multiple_occurrences: true, name, required: true, r#type }
}
const fn f(name: &'static str, parameters: &'static [ParamSpec], eval: EvalFn) -> FunctionSpec {
    FunctionSpec { name, parameters, shape: Shape::Plain, eval }
}

const S: &str = "String";
const I: &str = "Integer";
const B: &str = "Boolean";
const D: &str = "DateTime";

pub(super) static CATALOG: &[FunctionSpec] = &[
    f("Append", &[req("source", S), req("suffix", S)], string::append),
    f("AppRoleAssignmentsComplex", &[req("appRoleAssignments", S)], directory::app_role_assignments),
    f("BitAnd", &[req("value1", I), req("value2", I)], convert::bit_and),
    f("CBool", &[req("expression", B)], logic::cbool),
    f("CDate", &[req("expression", S)], date::cdate),
    f("Coalesce", &[many("source", S), opt("defaultValue", S)], logic::coalesce),
    f("ConvertToBase64", &[req("source", S)], convert::to_base64),
    f("ConvertToUTF8Hex", &[req("source", S)], convert::to_utf8_hex),
    f("Count", &[req("attribute", S)], collection::count),
    f("CStr", &[req("value", S)], convert::cstr),
    f("DateAdd", &[req("interval", S), req("value", I), req("dateTime", D)], date::date_add),
    f("DateDiff", &[req("interval", S), req("date1", D), req("date2", D)], date::date_diff),
    f("DateFromNum", &[req("value", I)], date::date_from_num),
    f("DefaultDomain", &[], directory::default_domain),
    f(
        "FormatDateTime",
        &[req("source", S), opt("dateTimeStyles", S), req("inputFormat", S), req("outputFormat", S)],
        date::format_date_time,
    ),
    f("Guid", &[], convert::guid),
    f("IgnoreFlowIfNullOrEmpty", &[req("expression", S)], logic::ignore_flow_if_null_or_empty),
    f("IIF", &[req("condition", B), req("valueIfTrue", S), req("valueIfFalse", S)], logic::iif),
    f("InStr", &[req("value1", S), req("value2", S), opt("start", I), opt("compareType", S)], string::instr),
    f("IsNull", &[req("expression", S)], logic::is_null),
    f("IsNullOrEmpty", &[req("expression", S)], logic::is_null_or_empty),
    f("IsPresent", &[req("expression", S)], logic::is_present),
    f("IsString", &[req("expression", S)], logic::is_string),
    f("Item", &[req("attribute", S), req("index", I)], collection::item),
    f("Join", &[req("separator", S), many("source", S)], collection::join),
    f("Left", &[req("String", S), req("NumChars", I)], string::left),
    f("Mid", &[req("source", S), req("start", I), req("length", I)], string::mid),
    f("NormalizeDiacritics", &[req("source", S)], diacritics::normalize_diacritics),
    f("Not", &[req("source", B)], logic::not),
    f("Now", &[], date::now),
    f("NumFromDate", &[req("value", S)], date::num_from_date),
    f("PCase", &[req("source", S), opt("wordSeparators", S)], string::pcase),
    f(
        "RandomString",
        &[
            req("Length", I),
            req("MinimumNumbers", I),
            req("MinimumSpecialCharacters", I),
            req("MinimumCapital", I),
            req("MinimumLowerCase", I),
            opt("CharactersToAvoid", S),
        ],
        convert::random_string,
    ),
    f("Redact", &[req("source", S)], logic::redact),
    f("RemoveDuplicates", &[req("attribute", S)], collection::remove_duplicates),
    f(
        "Replace",
        &[
            req("source", S),
            opt("oldValue", S),
            opt("regexPattern", S),
            opt("regexGroupName", S),
            opt("replacementValue", S),
            opt("replacementAttributeName", S),
            opt("template", S),
        ],
        replace::replace,
    ),
    FunctionSpec {
        name: "SelectUniqueValue",
        parameters: &[many("uniqueValueRule", S)],
        shape: Shape::AtLeast(2),
        eval: logic::select_unique_value,
    },
    f("SingleAppRoleAssignment", &[req("appRoleAssignments", S)], directory::app_role_assignments),
    f("Split", &[req("source", S), req("delimiter", S)], collection::split),
    f("StripSpaces", &[req("source", S)], string::strip_spaces),
    FunctionSpec {
        name: "Switch",
        parameters: &[req("source", S), opt("defaultValue", S), many("key", S), many("value", S)],
        shape: Shape::Pairs,
        eval: logic::switch,
    },
    f("ToLower", &[req("source", S), opt("culture", S)], string::to_lower),
    f("ToUpper", &[req("source", S), opt("culture", S)], string::to_upper),
    f("Word", &[req("String", S), req("WordNumber", I), req("Delimiters", S)], string::word),
];
