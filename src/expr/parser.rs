//! Recursive-descent parser and validator for the expression language (docs/fidelity.md B.5).
//!
//! Grammar:
//! ```text
//! expression := operand (("=" | "<>" | ">" | ">=" | "<" | "<=") operand)?
//! operand    := STRING | NUMBER | ATTRIBUTE | NAME "(" args? ")" | VB_CONSTANT
//! args       := slot ("," slot)*          slot := expression | (empty)
//! ```
//! Validation: the function must be in the catalogue (case-sensitive; error on the name's span), the
//! argument count must fit its parameters (error on the call's span), required slots may not be empty,
//! attribute paths must compile and constant `Replace` regexes must compile (error on their span).
//!
//! Design constraints: at most [`MAX_EXPRESSION_CHARS`] characters (Entra's documented limit) and
//! [`crate::parse::MAX_DEPTH`] nested calls, so hostile input fails fast instead of exhausting the stack.

use super::ast::{Arg, AttributeRef, Call, Compare, Constant, ConstantForm, Expr, ExprKind};
use super::attribute::AttrPath;
use super::functions;
use super::lexer::{Tok, Token, tokenize};
use crate::parse::{DepthGuard, ParseError, Span};

/// Entra's maximum expression length (KI).
pub(crate) const MAX_EXPRESSION_CHARS: usize = 10_000;

/// VB constants that may appear bare (InStr's `compareType`).
const VB_CONSTANTS: &[&str] = &["vbTextCompare", "vbBinaryCompare"];

pub(crate) fn parse(src: &str) -> Result<Expr, ParseError> {
    if let Some((offset, _)) = src.char_indices().nth(MAX_EXPRESSION_CHARS) {
        return Err(ParseError::new(
            Span::new(offset, src.len()),
            format!("expression longer than {MAX_EXPRESSION_CHARS} characters"),
        ));
    }
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, pos: 0, depth: DepthGuard::default() };
    if p.peek().tok == Tok::Eof {
        return Err(ParseError::new(p.peek().span, "empty expression"));
    }
    let expr = p.expression()?;
    let next = p.peek();
    if next.tok != Tok::Eof {
        return Err(ParseError::new(
            next.span,
            format!("unexpected {} after the end of the expression", describe(&next.tok)),
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: DepthGuard,
}

impl Parser {
    fn peek(&self) -> Token {
        // `tokenize` always ends with Eof, and `next` never moves past it.
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .cloned()
            .unwrap_or(Token { tok: Tok::Eof, span: Span::default() })
    }

    fn next(&mut self) -> Token {
        let t = self.peek();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn expression(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.operand()?;
        let Tok::Op(op) = self.peek().tok else {
            return Ok(lhs);
        };
        self.next();
        let rhs = self.operand()?;
        let span = lhs.span.join(rhs.span);
        Ok(Expr { kind: ExprKind::Compare(Compare { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }), span })
    }

    fn operand(&mut self) -> Result<Expr, ParseError> {
        let t = self.next();
        let kind = match t.tok {
            Tok::Str(value) => ExprKind::Constant(Constant { value, form: ConstantForm::Quoted }),
            Tok::Number(value) => ExprKind::Constant(Constant { value, form: ConstantForm::Number }),
            Tok::Attr(name, at) => {
                let path = AttrPath::compile(&name).map_err(|(off, msg)| {
                    let start = at + off;
                    ParseError::new(Span::new(start, (at + name.len()).max(start)), msg)
                })?;
                ExprKind::Attribute(AttributeRef { name, path })
            }
            Tok::Ident(name) if self.peek().tok == Tok::LParen => return self.call(name, t.span),
            Tok::Ident(name) if VB_CONSTANTS.contains(&name.as_str()) => {
                ExprKind::Constant(Constant { value: name, form: ConstantForm::Word })
            }
            Tok::Ident(name) => {
                return Err(ParseError::new(
                    t.span,
                    format!(
                        "unexpected name '{name}': functions need parentheses and attributes square brackets ([{name}])"
                    ),
                ));
            }
            other => {
                return Err(ParseError::new(t.span, format!("expected an argument, found {}", describe(&other))));
            }
        };
        Ok(Expr { kind, span: t.span })
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, ParseError> {
        let Some(spec) = functions::lookup(&name) else {
            let hint = functions::suggest(&name).map(|s| format!(" (names are case-sensitive: did you mean '{s}'?)"));
            return Err(ParseError::new(name_span, format!("unknown function '{name}'{}", hint.unwrap_or_default())));
        };
        self.depth.enter(name_span)?;
        self.next(); // '('
        let mut args = Vec::new();
        let close = if self.peek().tok == Tok::RParen {
            self.next()
        } else {
            loop {
                let at = self.peek();
                if at.tok == Tok::Eof {
                    return Err(unterminated(spec.name, name_span, at.span));
                }
                let arg = if matches!(at.tok, Tok::Comma | Tok::RParen) {
                    Arg { expr: None, span: Span::new(at.span.start, at.span.start) }
                } else {
                    let e = self.expression()?;
                    Arg { span: e.span, expr: Some(e) }
                };
                args.push(arg);
                let sep = self.next();
                match sep.tok {
                    Tok::Comma => continue,
                    Tok::RParen => break sep,
                    Tok::Eof => return Err(unterminated(spec.name, name_span, sep.span)),
                    other => {
                        return Err(ParseError::new(
                            sep.span,
                            format!("expected ',' or ')', found {}", describe(&other)),
                        ));
                    }
                }
            }
        };
        self.depth.leave();
        let span = name_span.join(close.span);
        spec.check_arity(args.len()).map_err(|m| ParseError::new(span, m))?;
        let n = args.len();
        for (i, a) in args.iter().enumerate() {
            if a.expr.is_none() && spec.param_at(i, n).is_some_and(|p| p.required) {
                let pname = spec.param_at(i, n).map_or("", |p| p.name);
                return Err(ParseError::new(a.span, format!("{}: missing required argument '{pname}'", spec.name)));
            }
        }
        let mut call = Call { name: spec.name, name_span, args, spec, regex: None };
        call.regex = functions::precompile_regex(&call)?;
        Ok(Expr { kind: ExprKind::Call(call), span })
    }
}

fn unterminated(name: &str, name_span: Span, eof: Span) -> ParseError {
    ParseError::new(eof, format!("unterminated call to {name} (opened at position {}): missing ')'", name_span.start))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(n) => format!("name '{n}'"),
        Tok::Str(_) => "string constant".to_owned(),
        Tok::Number(n) => format!("number {n}"),
        Tok::Attr(n, _) => format!("attribute [{n}]"),
        Tok::LParen => "'('".to_owned(),
        Tok::RParen => "')'".to_owned(),
        Tok::Comma => "','".to_owned(),
        Tok::Op(op) => format!("operator '{}'", op.symbol()),
        Tok::Eof => "end of input".to_owned(),
    }
}
