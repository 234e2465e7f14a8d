//! Conversion and generator functions (docs/fidelity.md B.5): BitAnd, ConvertToBase64 (UTF-16LE, as .NET's
//! `Encoding.Unicode`), ConvertToUTF8Hex (upper-case), CStr, Guid (random v4), RandomString.
//!
//! Design constraints: RandomString follows FUNC (length ≤ 256, minimums may not exceed the length) and
//! draws special characters from the Windows password-complexity set FUNC links to.

use base64::Engine as _;
use rand::seq::{IndexedRandom as _, SliceRandom as _};

use super::super::ast::Call;
use super::super::eval::{EvalError, Evaluator, parse_int};
use super::super::value::Value;
use super::string::{CharSet, required_int};
use crate::parse::Span;

/// Longest string RandomString may generate (FUNC).
const MAX_RANDOM_LENGTH: i64 = 256;
const DIGITS: &str = "0123456789";
const SPECIAL: &str = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";

/// Integer inputs may be decimal or `&H` hex; null in, null out.
pub(super) fn bit_and(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let (Some(a), Some(b)) = (ev.arg_str(call, 0)?, ev.arg_str(call, 1)?) else {
        return Ok(Value::Null);
    };
    let int = |s: &str| parse_int(s).ok_or_else(|| EvalError::in_call(call, span, format!("'{s}' is not an integer")));
    Ok(Value::Str((int(&a)? & int(&b)?).to_string()))
}

pub(super) fn to_base64(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(ev.arg(call, 0)?.map_str(|s| {
        let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }))
}

pub(super) fn to_utf8_hex(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(ev.arg(call, 0)?.map_str(|s| s.bytes().map(|b| format!("{b:02X}")).collect()))
}

/// Values already are strings; CStr passes them through.
pub(super) fn cstr(ev: &mut Evaluator<'_, '_>, call: &Call, _span: Span) -> Result<Value, EvalError> {
    ev.arg(call, 0)
}

pub(super) fn guid(_ev: &mut Evaluator<'_, '_>, _call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::Str(uuid::Uuid::new_v4().to_string()))
}

pub(super) fn random_string(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let names = ["Length", "MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase"];
    let mut n = [0i64; 5];
    for (i, name) in names.iter().enumerate() {
        n[i] = required_int(ev, call, i, span, name)?;
        if n[i] < 0 {
            return Err(EvalError::in_call(call, span, format!("{name} may not be negative")));
        }
    }
    let [length, min_num, min_special, min_upper, min_lower] = n;
    if length > MAX_RANDOM_LENGTH {
        return Err(EvalError::in_call(call, span, format!("Length may be at most {MAX_RANDOM_LENGTH}, got {length}")));
    }
    let minimums = [min_num, min_special, min_upper, min_lower].iter().try_fold(0i64, |sum, m| sum.checked_add(*m));
    if minimums.is_none_or(|sum| sum > length) {
        return Err(EvalError::in_call(call, span, format!("the minimums add up to more than Length ({length})")));
    }
    let avoid = CharSet::new(&ev.arg_str(call, 5)?.unwrap_or_default());
    let pool = |set: &str| -> Vec<char> { set.chars().filter(|c| !avoid.contains(*c)).collect() };
    let classes =
        [(pool(DIGITS), min_num), (pool(SPECIAL), min_special), (pool(UPPER), min_upper), (pool(LOWER), min_lower)];
    let mut rng = rand::rng();
    let mut out = Vec::new();
    for (chars, min) in &classes {
        if *min > 0 && chars.is_empty() {
            return Err(EvalError::in_call(
                call,
                span,
                "CharactersToAvoid excludes every character of a required class",
            ));
        }
        for _ in 0..*min {
            out.extend(chars.choose(&mut rng));
        }
    }
    let all: Vec<char> = classes.iter().flat_map(|(c, _)| c.iter().copied()).collect();
    while out.len() < usize::try_from(length).unwrap_or(0) {
        let Some(c) = all.choose(&mut rng) else {
            return Err(EvalError::in_call(call, span, "CharactersToAvoid excludes every character"));
        };
        out.push(*c);
    }
    out.shuffle(&mut rng);
    Ok(Value::Str(out.into_iter().collect()))
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
