//! NormalizeDiacritics (docs/fidelity.md B.5): Microsoft's published character table (FUNC), applied to
//! precomposed characters, after which combining diacritical marks (U+0300–U+036F) are dropped — that is
//! how FUNC's multi-mark entries such as `ā́` or `a̱` (base letter + combining marks) reduce to `a`.
//!
//! Choices: `ø`/`Ø` map to `oe`/`OE` as FUNC's table says (not `o`); `œ`/`Œ` follow their macron forms
//! (`oe`/`OE`); `ß` ⇒ `ss`; characters outside the table (e.g. `ð`, `þ`) are kept.

use super::super::ast::Call;
use super::super::eval::{EvalError, Evaluator};
use super::super::value::Value;
use crate::parse::Span;

/// (characters, replacement) — FUNC's table, lower- and upper-case rows.
const TABLE: &[(&str, &str)] = &[
    ("äàâãåáąăāǟǡ", "a"),
    ("ÄÀÂÃÅÁĄĂĀǞǠ", "A"),
    ("æǣ", "ae"),
    ("ÆǢ", "AE"),
    ("çčć", "c"),
    ("ÇČĆ", "C"),
    ("ďḏ", "d"),
    ("ĎḎ", "D"),
    ("ëèéêęěėēḗḕ", "e"),
    ("ËÈÉÊĘĚĖĒḖḔ", "E"),
    ("ğḡ", "g"),
    ("ĞḠ", "G"),
    ("ïîìíıī", "i"),
    ("ÏÎÌÍİĪ", "I"),
    ("ľłḹḻ", "l"),
    ("ŁĽḸḺ", "L"),
    ("ñńňṉ", "n"),
    ("ÑŃŇṈ", "N"),
    ("öòőõôóōṓṑȫǭȭȱ", "o"),
    ("ÖÒŐÕÔÓŌṒṐȪǬȬȰ", "O"),
    ("øœ", "oe"),
    ("ØŒ", "OE"),
    ("řṟṝ", "r"),
    ("ŘṞṜ", "R"),
    ("ß", "ss"),
    ("šśșş", "s"),
    ("ŠŚȘŞ", "S"),
    ("ťțṯ", "t"),
    ("ŤȚṮ", "T"),
    ("üùûúůűūǖṻṳ", "u"),
    ("ÜÙÛÚŮŰŪǕṺṲ", "U"),
    ("ÿýȳ", "y"),
    ("ŸÝȲ", "Y"),
    ("źžżẕ", "z"),
    ("ŹŽŻẔ", "Z"),
];

pub(super) fn normalize_diacritics(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(ev.arg(call, 0)?.map_str(normalize))
}

pub(super) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else if ('\u{0300}'..='\u{036F}').contains(&ch) {
            // combining mark: dropped
        } else if let Some((_, rep)) = TABLE.iter().find(|(chars, _)| chars.contains(ch)) {
            out.push_str(rep);
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
#[path = "diacritics_tests.rs"]
mod tests;
