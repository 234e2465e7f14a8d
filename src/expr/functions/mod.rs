//! The function catalogue (docs/fidelity.md B.5) — the single source of truth for the parser's arity checks,
//! the `attributeMappingSource` parameter keys and `GET …/schema/functions` (docs/fidelity.md B.3) — and dispatch to
//! the implementations, one file per family. The table itself is in `catalog.rs`; this file holds the
//! types and the arity/binding rules derived from it.
//!
//! Parameter names follow Microsoft's function reference (FUNC). Arity rules derived from the table:
//! at least the number of required parameters (a repeating parameter counts once) and at most the number
//! of parameters unless one repeats; `Switch` takes key/value pairs after `source, defaultValue`;
//! `SelectUniqueValue` needs two rules. A call with exactly as many arguments as required parameters binds
//! them to the required parameters, which accepts Graph's 3-argument `FormatDateTime(source, inputFormat,
//! outputFormat)` (FNS) next to FUNC's 4-argument form.

mod catalog;
mod collection;
mod convert;
mod date;
mod diacritics;
mod directory;
mod logic;
mod netfmt;
mod netparse;
mod replace;
mod string;

use serde::Serialize;

use super::eval::{EvalError, Evaluator};
use super::value::Value;
use crate::expr::ast::Call;
use crate::parse::Span;

use catalog::CATALOG;
pub(crate) use replace::precompile as precompile_regex;

/// One function of the expression language, serialised as Graph's `attributeMappingFunctionSchema`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSpec {
    pub name: &'static str,
    pub parameters: &'static [ParamSpec],
    #[serde(skip)]
    pub(crate) shape: Shape,
    #[serde(skip)]
    pub(crate) eval: EvalFn,
}

/// One parameter, serialised as Graph's `attributeMappingParameterSchema`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamSpec {
    pub allow_multiple_occurrences: bool,
    pub name: &'static str,
    pub required: bool,
    /// Graph's `attributeType`: `String`, `Integer`, `Boolean`, `DateTime`, …
    #[serde(rename = "type")]
    pub r#type: &'static str,
}

/// Extra arity rules beyond what the parameter list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Plain,
    /// `source, defaultValue, key1, value1, …` — an even number of arguments.
    Pairs,
    /// A repeating parameter that must occur at least this many times.
    AtLeast(usize),
}

pub(crate) type EvalFn = fn(&mut Evaluator<'_, '_>, &Call, Span) -> Result<Value, EvalError>;

/// Every supported function, in alphabetical order (`GET …/schema/functions`).
pub fn catalog() -> &'static [FunctionSpec] {
    CATALOG
}

/// The function called `name`. Names are case-sensitive as in Entra; the VBA spellings `IIf`/`Iif` are
/// accepted for `IIF` because Microsoft's own examples use them interchangeably.
pub(crate) fn lookup(name: &str) -> Option<&'static FunctionSpec> {
    let name = if matches!(name, "IIf" | "Iif") { "IIF" } else { name };
    CATALOG.iter().find(|f| f.name == name)
}

/// A catalogue name differing from `name` only in case, for "did you mean" hints.
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    CATALOG.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| f.name)
}

impl FunctionSpec {
    fn required_count(&self) -> usize {
        self.parameters.iter().filter(|p| p.required).count()
    }

    fn repeats(&self) -> bool {
        self.parameters.iter().any(|p| p.allow_multiple_occurrences)
    }

    /// The parameter argument `i` of an `n`-argument call binds to.
    pub(crate) fn param_at(&self, i: usize, n: usize) -> Option<&'static ParamSpec> {
        let ps = self.parameters;
        let Some(g0) = ps.iter().position(|p| p.allow_multiple_occurrences) else {
            if n == self.required_count() && n < ps.len() {
                return ps.iter().filter(|p| p.required).nth(i);
            }
            return ps.get(i);
        };
        let glen = ps[g0..].iter().take_while(|p| p.allow_multiple_occurrences).count();
        let after = &ps[g0 + glen..];
        if i < g0 {
            return ps.get(i);
        }
        if n >= g0 + glen + after.len() && i + after.len() >= n {
            return after.get(i + after.len() - n);
        }
        ps.get(g0 + (i - g0) % glen.max(1))
    }

    /// `Ok` when an `n`-argument call is well-formed, else a message naming the expected arity.
    pub(crate) fn check_arity(&self, n: usize) -> Result<(), String> {
        let min = match self.shape {
            Shape::AtLeast(k) => k,
            Shape::Plain | Shape::Pairs => self.required_count(),
        };
        let max = (!self.repeats()).then_some(self.parameters.len());
        let pairs_ok = self.shape != Shape::Pairs || (n >= 2 && (n - 2).is_multiple_of(2));
        if n >= min && max.is_none_or(|m| n <= m) && pairs_ok {
            return Ok(());
        }
        let expected = match (self.shape, max) {
            (Shape::Pairs, _) => {
                "source, defaultValue and key/value pairs (an even number of at least 4 arguments)".to_owned()
            }
            (_, Some(0)) => "no arguments".to_owned(),
            (_, Some(m)) if m == min => format!("{m} argument{}", if m == 1 { "" } else { "s" }),
            (_, Some(m)) => format!("{min} to {m} arguments"),
            (_, None) => format!("at least {min} arguments"),
        };
        Err(format!("{} expects {expected}: {}; got {n}", self.name, self.signature()))
    }

    /// `Name(a, b?, c…)`: `?` marks optional, `…` repeating parameters.
    fn signature(&self) -> String {
        let params: Vec<String> = self
            .parameters
            .iter()
            .map(|p| {
                let mark = if p.allow_multiple_occurrences {
                    "…"
                } else if p.required {
                    ""
                } else {
                    "?"
                };
                format!("{}{mark}", p.name)
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
