//! The `$filter` AST and its recursive-descent parser (docs/fidelity.md A.3).
//!
//! Grammar, loosest first: `or` < `and` < `not` < comparison (`eq ne gt ge lt le`, `in (…)`) < primary
//! (property path, literal, `contains|startswith|endswith(prop, 'x')`, parenthesised expression).
//! Comparisons are between one property and one literal (either side); a bare Boolean property or
//! `true`/`false` is a condition too.
//!
//! Design constraints and decisions:
//! - `not` binds looser than comparisons, so `not jobId eq 'x'` means `not (jobId eq 'x')` (strict OData
//!   would read `(not jobId) eq 'x'` and reject it; accepting the intuitive reading costs nothing).
//! - Keywords, operators, `true`/`false`/`null` and function names are case-insensitive (`EQ`, `Contains`).
//! - Nesting (parentheses, `not`) is capped by [`DepthGuard`]; input length by [`MAX_QUERY_OPTION_LEN`].
//! - `and`/`or` chains are n-ary nodes, so a long flat chain does not make a deep tree.
//!
//! [`MAX_QUERY_OPTION_LEN`]: super::MAX_QUERY_OPTION_LEN

use super::lexer::{Tok, Token, tokenize};
use super::{ODataError, check_len};
use crate::graph_time::datetime_key;
use crate::parse::{DepthGuard, Span};
use std::fmt;
use time::OffsetDateTime;

/// A parsed `$filter`; check it with [`Filter::check`]. `Display` prints a canonical form.
///
/// ```
/// # use entra_inbound::odata::parse_filter;
/// let f = parse_filter("jobid eq 'j1' and not (statusInfo/status EQ 'success')").unwrap();
/// assert_eq!(f.to_string(), "jobid eq 'j1' and not (statusInfo/status eq 'success')");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `span` is the operator's.
    Compare {
        op: CmpOp,
        prop: Path,
        value: Lit,
        span: Span,
    },
    /// `span` is the function name's.
    Call {
        func: Func,
        prop: Path,
        value: Lit,
        span: Span,
    },
    /// `span` is the `in` keyword's.
    In {
        prop: Path,
        values: Vec<Lit>,
        span: Span,
    },
    BoolProp(Path),
    Const(bool),
}

/// A property path as written (`statusInfo/status`, `jobid`).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lit {
    pub value: Literal,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
    DateTime(OffsetDateTime),
    Guid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
}

impl CmpOp {
    const ALL: [CmpOp; 6] = [CmpOp::Eq, CmpOp::Ne, CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le];

    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }

    /// The operator with its operands swapped: `'x' lt p` is `p gt 'x'`.
    fn flipped(self) -> Self {
        match self {
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            same => same,
        }
    }
}

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Contains => "contains",
            Func::StartsWith => "startswith",
            Func::EndsWith => "endswith",
        }
    }
}

/// Words that can never be a property name in operand position.
const RESERVED: [&str; 10] = ["and", "or", "not", "in", "eq", "ne", "gt", "ge", "lt", "le"];

/// Parses a `$filter` value. Errors name the position (syntax) or the offending token.
pub fn parse_filter(src: &str) -> Result<Filter, ODataError> {
    check_len(src, "$filter")?;
    if src.trim().is_empty() {
        return Err(ODataError::new("The $filter expression is empty.").with_target("$filter"));
    }
    let toks = tokenize(src)?;
    let eof = Token { tok: Tok::Eof, span: Span::new(src.len(), src.len()) };
    let mut p = Parser { toks, pos: 0, eof, guard: DepthGuard::default() };
    let expr = p.expr(0)?;
    let t = p.next();
    if t.tok != Tok::Eof {
        let found = t.tok.describe();
        return Err(ODataError::syntax(t.span, format_args!("unexpected {found}; expected 'and', 'or' or the end")));
    }
    Ok(Filter { expr })
}

/// What a primary parses to before the comparison level decides what it may be.
enum Operand {
    Prop(Path),
    Lit(Lit),
    Expr(Expr),
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    eof: Token,
    guard: DepthGuard,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.toks.get(self.pos).unwrap_or(&self.eof)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos = (self.pos + 1).min(self.toks.len());
        t
    }

    fn at_keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, want: Tok) -> Result<Token, ODataError> {
        let t = self.next();
        if t.tok == want {
            return Ok(t);
        }
        let (want, found) = (want.describe(), t.tok.describe());
        Err(ODataError::syntax(t.span, format_args!("expected {want} but found {found}")))
    }

    /// Precedence climbing over `or` (1) and `and` (2).
    fn expr(&mut self, min_bp: u8) -> Result<Expr, ODataError> {
        self.guard.enter(self.peek().span)?;
        let mut lhs = self.unary()?;
        loop {
            let (bp, is_and) = match () {
                _ if self.at_keyword("or") => (1, false),
                _ if self.at_keyword("and") => (2, true),
                _ => break,
            };
            if bp < min_bp {
                break;
            }
            self.next();
            let rhs = self.expr(bp + 1)?;
            lhs = match (is_and, lhs) {
                (true, Expr::And(mut v)) | (false, Expr::Or(mut v)) => {
                    v.push(rhs);
                    if is_and { Expr::And(v) } else { Expr::Or(v) }
                }
                (true, l) => Expr::And(vec![l, rhs]),
                (false, l) => Expr::Or(vec![l, rhs]),
            };
        }
        self.guard.leave();
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ODataError> {
        if !self.at_keyword("not") {
            return self.comparison();
        }
        let t = self.next();
        self.guard.enter(t.span)?;
        let inner = self.unary()?;
        self.guard.leave();
        Ok(Expr::Not(Box::new(inner)))
    }

    fn comparison(&mut self) -> Result<Expr, ODataError> {
        let left = self.primary()?;
        let op = CmpOp::ALL.into_iter().find(|op| self.at_keyword(op.name()));
        if let Some(op) = op {
            let span = self.next().span;
            let right = self.primary()?;
            return match (left, right) {
                (Operand::Prop(prop), Operand::Lit(value)) => Ok(Expr::Compare { op, prop, value, span }),
                (Operand::Lit(value), Operand::Prop(prop)) => Ok(Expr::Compare { op: op.flipped(), prop, value, span }),
                (Operand::Prop(_), Operand::Prop(_)) => {
                    Err(ODataError::syntax(span, "comparing two properties is not supported").with_target(op.name()))
                }
                _ => Err(ODataError::syntax(
                    span,
                    format_args!("'{}' compares a property with a literal value", op.name()),
                )),
            };
        }
        if self.at_keyword("in") {
            let span = self.next().span;
            let Operand::Prop(prop) = left else {
                return Err(ODataError::syntax(span, "the left side of 'in' must be a property"));
            };
            let values = self.literal_list()?;
            return Ok(Expr::In { prop, values, span });
        }
        match left {
            Operand::Prop(p) => Ok(Expr::BoolProp(p)),
            Operand::Lit(Lit { value: Literal::Bool(b), .. }) => Ok(Expr::Const(b)),
            Operand::Lit(l) => Err(ODataError::syntax(l.span, "expected a condition but found a literal value")),
            Operand::Expr(e) => Ok(e),
        }
    }

    fn primary(&mut self) -> Result<Operand, ODataError> {
        let t = self.next();
        let lit = |value| Ok(Operand::Lit(Lit { value, span: t.span }));
        match t.tok {
            Tok::LParen => {
                let e = self.expr(0)?; // `expr` counts the nesting level
                self.expect(Tok::RParen)?;
                Ok(Operand::Expr(e))
            }
            Tok::Ident(name) => {
                let lower = name.to_ascii_lowercase();
                match lower.as_str() {
                    "true" => return lit(Literal::Bool(true)),
                    "false" => return lit(Literal::Bool(false)),
                    "null" => return lit(Literal::Null),
                    kw if RESERVED.contains(&kw) => {
                        return Err(ODataError::syntax(t.span, format_args!("unexpected '{name}'")));
                    }
                    _ => {}
                }
                if self.peek().tok == Tok::LParen {
                    return self.call(name, t.span);
                }
                Ok(Operand::Prop(Path { name, span: t.span }))
            }
            Tok::Str(s) => lit(Literal::Str(s)),
            Tok::Int(i) => lit(Literal::Int(i)),
            Tok::DateTime(d) => lit(Literal::DateTime(d)),
            Tok::Guid(g) => lit(Literal::Guid(g)),
            other => {
                let found = other.describe();
                Err(ODataError::syntax(t.span, format_args!("expected a property, a value or '(' but found {found}")))
            }
        }
    }

    /// `name(` has been seen (the `(` is next).
    fn call(&mut self, name: String, span: Span) -> Result<Operand, ODataError> {
        let func = match name.to_ascii_lowercase().as_str() {
            "contains" => Func::Contains,
            "startswith" => Func::StartsWith,
            "endswith" => Func::EndsWith,
            _ => {
                return Err(ODataError::new(format!("The function '{name}' is not supported in $filter."))
                    .with_target(name)
                    .at(span));
            }
        };
        self.next();
        let first = self.primary()?;
        self.expect(Tok::Comma)?;
        let second = self.primary()?;
        self.expect(Tok::RParen)?;
        match (first, second) {
            (Operand::Prop(prop), Operand::Lit(value)) => Ok(Operand::Expr(Expr::Call { func, prop, value, span })),
            _ => Err(ODataError::syntax(
                span,
                format_args!("{0}() takes a property and a string, e.g. {0}(displayName, 'x')", func.name()),
            )),
        }
    }

    /// `( literal [, literal]* )` after `in`.
    fn literal_list(&mut self) -> Result<Vec<Lit>, ODataError> {
        self.expect(Tok::LParen)?;
        let mut values = Vec::new();
        loop {
            match self.primary()? {
                Operand::Lit(l) => values.push(l),
                _ => return Err(ODataError::syntax(self.peek().span, "'in' takes a list of literal values")),
            }
            if self.next_is_comma()? {
                continue;
            }
            return Ok(values);
        }
    }

    /// After a list item: `,` (true) or `)` (false).
    fn next_is_comma(&mut self) -> Result<bool, ODataError> {
        let t = self.next();
        match t.tok {
            Tok::Comma => Ok(true),
            Tok::RParen => Ok(false),
            other => {
                let found = other.describe();
                Err(ODataError::syntax(t.span, format_args!("expected ',' or ')' but found {found}")))
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[Expr], sep: &str| {
            for (i, e) in items.iter().enumerate() {
                let sep = if i == 0 { "" } else { sep };
                match e {
                    Expr::And(_) | Expr::Or(_) => write!(f, "{sep}({e})")?,
                    _ => write!(f, "{sep}{e}")?,
                }
            }
            Ok(())
        };
        match self {
            Expr::And(v) => list(f, v, " and "),
            Expr::Or(v) => list(f, v, " or "),
            Expr::Not(e) => write!(f, "not ({e})"),
            Expr::Compare { op, prop, value, .. } => write!(f, "{} {} {}", prop.name, op.name(), value.value),
            Expr::Call { func, prop, value, .. } => write!(f, "{}({}, {})", func.name(), prop.name, value.value),
            Expr::In { prop, values, .. } => {
                write!(f, "{} in (", prop.name)?;
                for (i, v) in values.iter().enumerate() {
                    write!(f, "{}{}", if i == 0 { "" } else { ", " }, v.value)?;
                }
                f.write_str(")")
            }
            Expr::BoolProp(p) => f.write_str(&p.name),
            Expr::Const(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
            Literal::DateTime(d) => f.write_str(&datetime_key(*d)),
            Literal::Guid(g) => f.write_str(g),
        }
    }
}
