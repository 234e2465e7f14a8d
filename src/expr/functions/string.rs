//! String functions (docs/fidelity.md B.5): Append, InStr, Left, Mid, PCase, StripSpaces, ToLower, ToUpper, Word.
//!
//! Positions and lengths count characters (Unicode scalar values), never bytes, so slicing can't split a
//! character. Null handling follows FUNC where it says something (Left and Word: null ⇒ `""`) and
//! otherwise propagates null. Functions on a multi-valued input transform every value.
//!
//! Design constraints: work stays linear in the input whatever the arguments (both may be 64 KiB): InStr
//! searches with the standard library's linear string search, and separator lists are sorted sets.

use super::super::ast::Call;
use super::super::eval::{EvalError, Evaluator};
use super::super::value::Value;
use crate::parse::Span;

pub(super) fn append(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    let source = ev.arg(call, 0)?;
    let suffix = ev.arg_str(call, 1)?.unwrap_or_default();
    Ok(source.map_str(|s| format!("{s}{suffix}")))
}

/// 1-based position of `value2` in `value1` from `start`, 0 when absent; `vbTextCompare` ignores case.
pub(super) fn instr(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let (Some(hay), Some(needle)) = (ev.arg_str(call, 0)?, ev.arg_str(call, 1)?) else {
        return Ok(Value::Null);
    };
    let start = ev.arg_int(call, 2, span, "start")?.unwrap_or(1);
    if start < 1 {
        return Err(EvalError::in_call(call, span, format!("start must be 1 or more, got {start}")));
    }
    let ignore_case = match ev.arg_str(call, 3)?.as_deref().map(str::trim) {
        None | Some("" | "vbBinaryCompare" | "0") => false,
        Some("vbTextCompare" | "1") => true,
        Some(other) => {
            return Err(EvalError::in_call(
                call,
                span,
                format!("compareType must be vbTextCompare or vbBinaryCompare, got '{other}'"),
            ));
        }
    };
    let (hay, needle) = if ignore_case { (hay.to_lowercase(), needle.to_lowercase()) } else { (hay, needle) };
    let from = usize::try_from(start - 1).unwrap_or(usize::MAX);
    // `start` counts characters: find the byte it starts at (none when it is past the end).
    let Some(offset) = hay.char_indices().map(|(i, _)| i).chain(std::iter::once(hay.len())).nth(from) else {
        return Ok(Value::Str("0".into()));
    };
    let pos = hay[offset..].find(needle.as_str()).map_or(0, |at| from + hay[offset..offset + at].chars().count() + 1);
    Ok(Value::Str(pos.to_string()))
}

/// FUNC: `NumChars` 0 ⇒ `""`, negative ⇒ the input, null string ⇒ `""`.
pub(super) fn left(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let source = ev.arg(call, 0)?;
    let n = required_int(ev, call, 1, span, "NumChars")?;
    if source.is_null() {
        return Ok(Value::Str(String::new()));
    }
    Ok(source.map_str(|s| match usize::try_from(n) {
        Ok(n) => s.chars().take(n).collect(),
        Err(_) => s.to_owned(),
    }))
}

/// 1-based `start` (values below 1 count as 1); a length past the end stops at the end.
pub(super) fn mid(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let source = ev.arg(call, 0)?;
    let start = required_int(ev, call, 1, span, "start")?;
    let len = required_int(ev, call, 2, span, "length")?;
    let skip = usize::try_from(start.saturating_sub(1)).unwrap_or(0);
    let take = usize::try_from(len).unwrap_or(0);
    Ok(source.map_str(|s| s.chars().skip(skip).take(take).collect()))
}

/// Proper case. Without `wordSeparators` it follows .NET `ToTitleCase` on the lower-cased input: any
/// character that is not a letter, digit or apostrophe starts a new word (FUNC lists the Unicode
/// categories); with `wordSeparators` only those characters do.
pub(super) fn pcase(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    let source = ev.arg(call, 0)?;
    let seps = ev.arg_str(call, 1)?.filter(|s| !s.is_empty()).map(|s| CharSet::new(&s));
    Ok(source.map_str(|s| {
        let mut out = String::with_capacity(s.len());
        let mut new_word = true;
        for ch in s.chars() {
            let is_sep = match &seps {
                Some(seps) => seps.contains(ch),
                None => !(ch.is_alphanumeric() || ch == '\'' || ch == '\u{2019}'),
            };
            if is_sep {
                out.push(ch);
                new_word = true;
            } else if new_word {
                out.extend(ch.to_uppercase());
                new_word = false;
            } else {
                out.extend(ch.to_lowercase());
            }
        }
        out
    }))
}

pub(super) fn strip_spaces(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(ev.arg(call, 0)?.map_str(|s| s.replace(' ', "")))
}

/// Invariant culture by default; Turkish/Azeri cultures use the dotted/dotless i rules.
pub(super) fn to_lower(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    let source = ev.arg(call, 0)?;
    let turkic = is_turkic(ev.arg_str(call, 1)?);
    Ok(source.map_str(|s| if turkic { s.replace('I', "ı").replace('İ', "i").to_lowercase() } else { s.to_lowercase() }))
}

pub(super) fn to_upper(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    let source = ev.arg(call, 0)?;
    let turkic = is_turkic(ev.arg_str(call, 1)?);
    Ok(source.map_str(|s| if turkic { s.replace('i', "İ").to_uppercase() } else { s.to_uppercase() }))
}

fn is_turkic(culture: Option<String>) -> bool {
    culture.is_some_and(|c| {
        let lang = c.split(['-', '_']).next().unwrap_or_default();
        lang.eq_ignore_ascii_case("tr") || lang.eq_ignore_ascii_case("az")
    })
}

/// FUNC: the `WordNumber`-th word (1-based) split on any of `Delimiters`; `""` when out of range or null.
pub(super) fn word(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let source = ev.arg_str(call, 0)?;
    let n = required_int(ev, call, 1, span, "WordNumber")?;
    let delims = CharSet::new(&ev.arg_str(call, 2)?.unwrap_or_default());
    let (Some(source), Ok(n @ 1..)) = (source, usize::try_from(n)) else {
        return Ok(Value::Str(String::new()));
    };
    let word = source.split(|c| delims.contains(c)).filter(|w| !w.is_empty()).nth(n - 1);
    Ok(Value::Str(word.unwrap_or_default().to_owned()))
}

/// A set of characters with a logarithmic membership test (separator lists may be as long as any value).
pub(super) struct CharSet(Vec<char>);

impl CharSet {
    pub(super) fn new(chars: &str) -> Self {
        let mut v: Vec<char> = chars.chars().collect();
        v.sort_unstable();
        v.dedup();
        Self(v)
    }

    pub(super) fn contains(&self, c: char) -> bool {
        self.0.binary_search(&c).is_ok()
    }
}

/// An integer argument that must be present.
pub(super) fn required_int(
    ev: &mut Evaluator<'_, '_>,
    call: &Call,
    i: usize,
    span: Span,
    what: &str,
) -> Result<i64, EvalError> {
    ev.arg_int(call, i, span, what)?
        .ok_or_else(|| EvalError::in_call(call, span, format!("{what} is null or empty; an integer is required")))
}

#[cfg(test)]
#[path = "string_tests.rs"]
mod tests;
