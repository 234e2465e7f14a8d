//! Syntax tree of the expression language (docs/fidelity.md B.5) and its two renderings: canonical source
//! text (`Display`, which `parse` reads back to the same tree) and Graph's `attributeMappingSource` tree
//! (docs/fidelity.md B.3, the `parsedExpression` of `parseExpression`).
//!
//! Design constraints: every node carries the [`Span`] of its source text so evaluation errors can point
//! at it; work that does not depend on the record (function lookup, attribute-path compilation, constant
//! regexes) is done once by the parser and stored in the node.

use std::fmt;
use std::sync::Arc;

use serde_json::json;

use super::attribute::AttrPath;
use super::functions::FunctionSpec;
use super::pattern::Pattern;
use crate::parse::Span;

/// One node of a parsed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// What a node is.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// `[userName]`, `[name.givenName]`, `[emails[type eq "work"].value]`, `[urn:…:User:department]`.
    Attribute(AttributeRef),
    /// `"text"`, a number such as `7`, `-10` or `&HF7`, or a VB constant such as `vbTextCompare`.
    Constant(Constant),
    /// `Name(arg, , arg)`.
    Call(Call),
    /// `lhs = rhs` and friends, allowed wherever an argument is (IIF/CBool conditions).
    Compare(Compare),
}

/// A reference to an attribute of the inbound SCIM record.
#[derive(Debug, Clone)]
pub struct AttributeRef {
    /// The text between the brackets, trimmed.
    pub name: String,
    pub(crate) path: AttrPath,
}

/// A literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constant {
    /// The literal's value (unescaped for strings; as written for numbers and words).
    pub value: String,
    pub form: ConstantForm,
}

/// How a constant was written, so it prints back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstantForm {
    Quoted,
    Number,
    Word,
}

/// A function call. Omitted positional arguments (`Replace([x], , "re", …)`) are `None`.
#[derive(Debug, Clone)]
pub struct Call {
    /// The catalogue name (aliases such as `IIf` are normalised to `IIF`).
    pub name: &'static str,
    pub name_span: Span,
    pub args: Vec<Arg>,
    pub(crate) spec: &'static FunctionSpec,
    /// `Replace`'s `regexPattern`, compiled at parse time when it is a string constant.
    pub(crate) regex: Option<Arc<Pattern>>,
}

/// One positional argument slot; `expr` is `None` when the slot was left empty.
#[derive(Debug, Clone)]
pub struct Arg {
    pub expr: Option<Expr>,
    pub span: Span,
}

/// A binary comparison.
#[derive(Debug, Clone)]
pub struct Compare {
    pub op: CmpOp,
    pub lhs: Box<Expr>,
    pub rhs: Box<Expr>,
}

/// The comparison operators IIF documents (`= <> > >= < <=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

impl Call {
    /// The expression in argument slot `i`, if the slot exists and is not empty.
    pub(crate) fn arg(&self, i: usize) -> Option<&Expr> {
        self.args.get(i).and_then(|a| a.expr.as_ref())
    }

    /// The expression bound to the catalogue parameter `name` (handles forms such as the 3-argument
    /// `FormatDateTime(source, inputFormat, outputFormat)` that skip an optional parameter).
    pub(crate) fn arg_named(&self, name: &str) -> Option<&Expr> {
        let n = self.args.len();
        (0..n).find(|&i| self.spec.param_at(i, n).is_some_and(|p| p.name == name)).and_then(|i| self.arg(i))
    }
}

impl Expr {
    /// True when the value must show as `[Redact]` in logs: the expression uses `Redact` anywhere.
    pub fn is_redacted(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| {
            if let ExprKind::Call(c) = &e.kind {
                found |= c.name == "Redact";
            }
        });
        found
    }

    /// Calls `f` on this node and every node below it (pre-order).
    pub(crate) fn visit<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Attribute(_) | ExprKind::Constant(_) => {}
            ExprKind::Call(c) => c.args.iter().filter_map(|a| a.expr.as_ref()).for_each(|e| e.visit(f)),
            ExprKind::Compare(c) => {
                c.lhs.visit(f);
                c.rhs.visit(f);
            }
        }
    }

    /// Graph's `attributeMappingSource` tree for this expression (docs/fidelity.md B.3). Omitted arguments are
    /// left out of `parameters`; each parameter's `key` is the catalogue parameter name.
    pub fn to_mapping_source(&self) -> serde_json::Value {
        let expression = self.to_string();
        match &self.kind {
            ExprKind::Attribute(a) => {
                json!({"type": "Attribute", "name": a.name, "expression": expression, "parameters": []})
            }
            ExprKind::Constant(c) => {
                json!({"type": "Constant", "name": c.value, "expression": expression, "parameters": []})
            }
            ExprKind::Call(c) => {
                let n = c.args.len();
                let parameters: Vec<_> = c
                    .args
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| {
                        let e = a.expr.as_ref()?;
                        let key = c.spec.param_at(i, n).map_or("source", |p| p.name);
                        Some(json!({"key": key, "value": e.to_mapping_source()}))
                    })
                    .collect();
                json!({"type": "Function", "name": c.name, "expression": expression, "parameters": parameters})
            }
            // Graph has no node type for comparisons; we render them as a function named after the
            // operator (unconfirmed: no published parseExpression example contains a comparison).
            ExprKind::Compare(c) => json!({
                "type": "Function",
                "name": c.op.symbol(),
                "expression": expression,
                "parameters": [
                    {"key": "left", "value": c.lhs.to_mapping_source()},
                    {"key": "right", "value": c.rhs.to_mapping_source()},
                ],
            }),
        }
    }
}

impl fmt::Display for Expr {
    /// Canonical source text: `Name(a, , b)`, `[attr]`, `"esc\"aped"`, `lhs = rhs`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Attribute(a) => write!(f, "[{}]", a.name),
            ExprKind::Constant(c) => match c.form {
                ConstantForm::Quoted => write_quoted(f, &c.value),
                ConstantForm::Number | ConstantForm::Word => f.write_str(&c.value),
            },
            ExprKind::Call(c) => {
                write!(f, "{}(", c.name)?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Some(e) = &a.expr {
                        write!(f, "{e}")?;
                    }
                }
                f.write_str(")")
            }
            ExprKind::Compare(c) => write!(f, "{} {} {}", c.lhs, c.op.symbol(), c.rhs),
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for ch in s.chars() {
        if ch == '"' || ch == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{ch}")?;
    }
    f.write_str("\"")
}
