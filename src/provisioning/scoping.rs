//! Scoping filters (docs/fidelity.md A.2, B.3): clauses within a group AND, groups OR; a null or empty source
//! value makes a clause false (except `IS NULL`); comparisons are case-sensitive as in Entra.
//!
//! Operator names are accepted as the portal shows them (`IS NOT NULL`, `Greater_Than`) and in the spaced,
//! underscored or camel-cased variants clients send (`IsNotNull`, `GREATER_THAN`).

use serde::Deserialize;
use serde_json::Value;

use super::schema::SchemaError;
use crate::expr::{self, EvalContext, Expr};

/// The operators, as `GET …/schema/filterOperators` lists them: (name, arity).
pub const OPERATORS: &[(&str, &str)] = &[
    ("&", "Binary"),
    ("!&", "Binary"),
    ("ENDS_WITH", "Binary"),
    ("EQUALS", "Binary"),
    ("Greater_Than", "Binary"),
    ("Greater_Than_OR_EQUALS", "Binary"),
    ("Includes", "Binary"),
    ("IS FALSE", "Unary"),
    ("IS NOT NULL", "Unary"),
    ("IS NULL", "Unary"),
    ("IS TRUE", "Unary"),
    ("NOT EQUALS", "Binary"),
    ("NOT REGEX MATCH", "Binary"),
    ("REGEX MATCH", "Binary"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Contains,
    NotContains,
    EndsWith,
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanOrEquals,
    Includes,
    IsFalse,
    IsTrue,
    IsNull,
    IsNotNull,
    RegexMatch,
    NotRegexMatch,
}

fn operator(name: &str) -> Option<Operator> {
    let key: String = name.chars().filter(|c| !matches!(c, ' ' | '_')).collect::<String>().to_ascii_uppercase();
    Some(match key.as_str() {
        "&" => Operator::Contains,
        "!&" => Operator::NotContains,
        "ENDSWITH" => Operator::EndsWith,
        "EQUALS" => Operator::Equals,
        "NOTEQUALS" => Operator::NotEquals,
        "GREATERTHAN" => Operator::GreaterThan,
        "GREATERTHANOREQUALS" => Operator::GreaterThanOrEquals,
        "INCLUDES" => Operator::Includes,
        "ISFALSE" => Operator::IsFalse,
        "ISTRUE" => Operator::IsTrue,
        "ISNULL" => Operator::IsNull,
        "ISNOTNULL" => Operator::IsNotNull,
        "REGEXMATCH" => Operator::RegexMatch,
        "NOTREGEXMATCH" => Operator::NotRegexMatch,
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterView {
    #[serde(default)]
    groups: Vec<GroupView>,
    #[serde(default)]
    input_filter_groups: Vec<GroupView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupView {
    #[serde(default)]
    name: String,
    #[serde(default)]
    clauses: Vec<ClauseView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClauseView {
    operator_name: String,
    source_operand_name: String,
    #[serde(default)]
    target_operand: Option<TargetOperand>,
}

#[derive(Debug, Deserialize)]
struct TargetOperand {
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Clause {
    text: String,
    attribute: Expr,
    operator: Operator,
    values: Vec<String>,
    regexes: Vec<regex::Regex>,
}

#[derive(Debug, Clone)]
struct Group {
    name: String,
    clauses: Vec<Clause>,
}

/// A scoping filter ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    groups: Vec<Group>,
}

/// The outcome with one line per evaluated clause (the scoping step's details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeResult {
    pub in_scope: bool,
    pub details: Vec<(String, String)>,
}

/// Compile a Graph `filter`; None when it has no groups (everything in scope).
pub fn compile_filter(filter: &Value) -> Result<Option<CompiledFilter>, SchemaError> {
    let err = |message: String| SchemaError { message, target: "scope".into(), position: None };
    let view: FilterView = serde_json::from_value(filter.clone()).map_err(|e| err(format!("Invalid scope: {e}")))?;
    let mut groups = Vec::new();
    for g in view.groups.into_iter().chain(view.input_filter_groups) {
        let mut clauses = Vec::new();
        for c in g.clauses {
            let op = operator(&c.operator_name)
                .ok_or_else(|| err(format!("Unsupported scoping operator '{}'.", c.operator_name)))?;
            let source = format!("[{}]", c.source_operand_name);
            let attribute = expr::parse(&source)
                .map_err(|e| err(format!("Invalid scoping attribute '{}': {}", c.source_operand_name, e.message)))?;
            let values = c.target_operand.map(|t| t.values).unwrap_or_default();
            let regexes = if matches!(op, Operator::RegexMatch | Operator::NotRegexMatch) {
                values
                    .iter()
                    .map(|v| {
                        // The expression language's size limit bounds every search's cost here too.
                        expr::pattern::Pattern::compile(v)
                            .map(|p| p.regex)
                            .map_err(|e| err(format!("Invalid regular expression '{v}': {e}")))
                    })
                    .collect::<Result<_, _>>()?
            } else {
                Vec::new()
            };
            let text = format!("{} {} {}", c.source_operand_name, c.operator_name, values.join(" | "));
            clauses.push(Clause { text: text.trim_end().to_owned(), attribute, operator: op, values, regexes });
        }
        if !clauses.is_empty() {
            groups.push(Group { name: g.name, clauses });
        }
    }
    Ok((!groups.is_empty()).then_some(CompiledFilter { groups }))
}

impl CompiledFilter {
    /// Evaluate against a SCIM record.
    pub fn evaluate(&self, record: &crate::scim::record::Record<'_>, ctx: &EvalContext<'_>) -> ScopeResult {
        let mut details = Vec::new();
        let mut in_scope = false;
        for group in &self.groups {
            let mut group_passes = true;
            for clause in &group.clauses {
                let value = expr::evaluate(&clause.attribute, record, ctx).ok().map(|e| e.value);
                let text = value.as_ref().and_then(first_text);
                let passed = clause.check(text.as_deref());
                details
                    .push((format!("{}: {}", group.name, clause.text), if passed { "True" } else { "False" }.into()));
                group_passes &= passed;
            }
            in_scope |= group_passes;
        }
        ScopeResult { in_scope, details }
    }
}

fn first_text(v: &expr::Value) -> Option<String> {
    match v {
        expr::Value::Null => None,
        expr::Value::Str(s) => Some(s.clone()),
        expr::Value::Multi(m) => m.first().cloned(),
    }
}

impl Clause {
    fn check(&self, value: Option<&str>) -> bool {
        let present = value.filter(|v| !v.is_empty());
        match (self.operator, present) {
            (Operator::IsNull, v) => v.is_none(),
            (Operator::IsNotNull, v) => v.is_some(),
            (_, None) => false,
            (Operator::IsTrue, Some(v)) => v.eq_ignore_ascii_case("true"),
            (Operator::IsFalse, Some(v)) => v.eq_ignore_ascii_case("false"),
            (Operator::Equals, Some(v)) => self.values.iter().any(|t| t == v),
            (Operator::NotEquals, Some(v)) => self.values.iter().all(|t| t != v),
            (Operator::Contains | Operator::Includes, Some(v)) => self.values.iter().any(|t| v.contains(t.as_str())),
            (Operator::NotContains, Some(v)) => self.values.iter().all(|t| !v.contains(t.as_str())),
            (Operator::EndsWith, Some(v)) => self.values.iter().any(|t| v.ends_with(t.as_str())),
            (Operator::GreaterThan, Some(v)) => compare_int(v, &self.values, |a, b| a > b),
            (Operator::GreaterThanOrEquals, Some(v)) => compare_int(v, &self.values, |a, b| a >= b),
            (Operator::RegexMatch, Some(v)) => self.regexes.iter().any(|r| r.is_match(v)),
            (Operator::NotRegexMatch, Some(v)) => self.regexes.iter().all(|r| !r.is_match(v)),
        }
    }
}

fn compare_int(v: &str, targets: &[String], cmp: impl Fn(i64, i64) -> bool) -> bool {
    let Ok(a) = v.trim().parse::<i64>() else { return false };
    targets.iter().filter_map(|t| t.trim().parse::<i64>().ok()).any(|b| cmp(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(groups: Value) -> CompiledFilter {
        compile_filter(&json!({ "groups": groups })).unwrap().unwrap()
    }

    fn eval(f: &CompiledFilter, record: Value) -> bool {
        let ctx = EvalContext::new(time::OffsetDateTime::UNIX_EPOCH, "contoso.com");
        let text = record.to_string();
        f.evaluate(&crate::scim::record::parse(&text).unwrap(), &ctx).in_scope
    }

    fn clause(op: &str, attr: &str, values: &[&str]) -> Value {
        json!({"operatorName": op, "sourceOperandName": attr, "targetOperand": {"values": values}})
    }

    #[test]
    fn every_operator() {
        let cases: &[(&str, &[&str], Value, bool)] = &[
            ("EQUALS", &["Sales"], json!("Sales"), true),
            ("EQUALS", &["sales"], json!("Sales"), false),
            ("NOT EQUALS", &["Sales"], json!("HR"), true),
            ("&", &["al"], json!("Sales"), true),
            ("!&", &["al"], json!("Sales"), false),
            ("Includes", &["ale"], json!("Sales"), true),
            ("ENDS_WITH", &["les"], json!("Sales"), true),
            ("Greater_Than", &["10"], json!("11"), true),
            ("Greater_Than", &["10"], json!("abc"), false),
            ("Greater_Than_OR_EQUALS", &["10"], json!("10"), true),
            ("IS TRUE", &[], json!(true), true),
            ("IS FALSE", &[], json!(true), false),
            ("IS NULL", &[], json!(null), true),
            ("IS NOT NULL", &[], json!("x"), true),
            ("IS NOT NULL", &[], json!(""), false),
            ("REGEX MATCH", &["^S.*s$"], json!("Sales"), true),
            ("NOT REGEX MATCH", &["^S"], json!("Sales"), false),
            ("NOT REGEX MATCH", &["^S"], json!(null), false),
            ("EQUALS", &["x"], json!(null), false),
            ("IsNotNull", &[], json!("x"), true),
        ];
        for (op, values, value, expected) in cases {
            let f = scope(json!([{"name": "g", "clauses": [clause(op, "department", values)]}]));
            assert_eq!(eval(&f, json!({ "department": value })), *expected, "{op} {values:?} {value}");
        }
    }

    #[test]
    fn clauses_and_groups_or() {
        let f = scope(json!([
            {"name": "a", "clauses": [clause("EQUALS", "department", &["Sales"]), clause("IS TRUE", "active", &[])]},
            {"name": "b", "clauses": [clause("EQUALS", "title", &["CEO"])]}
        ]));
        assert!(eval(&f, json!({"department": "Sales", "active": true})));
        assert!(!eval(&f, json!({"department": "Sales", "active": false})));
        assert!(eval(&f, json!({"title": "CEO"})));
    }

    #[test]
    fn unknown_operators_are_schema_errors() {
        let e = compile_filter(&json!({"groups": [{"clauses": [clause("LIKE", "x", &[])]}]})).unwrap_err();
        assert!(e.message.contains("LIKE"));
        assert!(compile_filter(&json!({"groups": []})).unwrap().is_none());
    }

    #[test]
    fn patterns_beyond_the_automaton_limit_are_schema_errors() {
        let filter = |p: &str| json!({"groups": [{"clauses": [clause("REGEX MATCH", "x", &[p])]}]});
        let e = compile_filter(&filter(r"\w{0,200}z")).unwrap_err();
        assert!(e.message.starts_with(r"Invalid regular expression '\w{0,200}z'"), "{}", e.message);
        assert!(e.message.contains("size limit"), "{}", e.message);
        assert!(compile_filter(&filter(r"^\w{0,20}z$")).unwrap().is_some());
    }
}
