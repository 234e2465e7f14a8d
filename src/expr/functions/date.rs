//! Date functions (docs/fidelity.md B.5): CDate, DateAdd, DateDiff, DateFromNum, FormatDateTime, Now,
//! NumFromDate.
//!
//! Dates travel as strings; results render as `M/d/yyyy h:mm:ss tt` in UTC (FUNC). Inputs are parsed
//! like .NET `DateTime.Parse` for the shapes HR systems send (ISO 8601 with or without time, fraction
//! and offset — including Workday's date-with-offset `2021-06-30+08:00` — and the engine's own output
//! format); an offset converts to UTC. DateAdd/DateDiff follow VB.NET's `DateAndTime` semantics: `m`,
//! `q`, `yyyy` count calendar boundaries, `ww` counts Sunday-based weeks, `d`/`h`/`n`/`s`/`w` truncate the
//! elapsed time. AD FILETIME values count 100-ns ticks since 1601-01-01 UTC.

use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

use super::super::ast::Call;
use super::super::eval::{EvalError, Evaluator, parse_num};
use std::sync::LazyLock;

use super::netfmt::{self, Spec};
use super::netparse::parse_exact;
use crate::expr::value::Value;
use crate::parse::Span;

/// The engine's date rendering.
const OUTPUT_FORMAT: &str = "M/d/yyyy h:mm:ss tt";
/// Inputs CDate and the other date functions accept, tried in order.
const INPUT_FORMATS: &[&str] = &[
    "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
    "yyyy-MM-ddTHH:mmK",
    "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    "yyyy-MM-dd HH:mmK",
    "yyyy-MM-ddK",
    "M/d/yyyy h:mm:ss tt",
    "M/d/yyyy h:mm tt",
    "M/d/yyyy H:mm:ss",
    "M/d/yyyy H:mm",
    "M/d/yyyy",
    "yyyyMMddHHmmss.FFFFFFFK",
    "yyyyMMdd",
];
/// 100-ns ticks between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: i128 = 116_444_736_000_000_000;

/// The formats above, compiled once.
static COMPILED: LazyLock<(Vec<Spec>, Vec<Vec<Spec>>)> = LazyLock::new(|| {
    let output = netfmt::compile(OUTPUT_FORMAT).unwrap_or_default();
    (output, INPUT_FORMATS.iter().filter_map(|f| netfmt::compile(f).ok()).collect())
});

fn render(dt: OffsetDateTime) -> String {
    netfmt::format(dt, &COMPILED.0)
}

/// Parses any accepted input shape into UTC.
pub(super) fn parse_any(s: &str, today: Date) -> Option<OffsetDateTime> {
    COMPILED.1.iter().find_map(|specs| parse_exact(s, specs, today).ok())
}

fn date_arg(
    ev: &mut Evaluator<'_, '_>,
    call: &Call,
    i: usize,
    span: Span,
) -> Result<Option<OffsetDateTime>, EvalError> {
    let Some(s) = ev.arg_str(call, i)?.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    parse_any(&s, ev.ctx.now.date())
        .map(Some)
        .ok_or_else(|| EvalError::in_call(call, span, format!("'{s}' is not a recognised date/time")))
}

pub(super) fn cdate(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    Ok(date_arg(ev, call, 0, span)?.map_or(Value::Null, |d| Value::Str(render(d))))
}

pub(super) fn now(ev: &mut Evaluator<'_, '_>, _call: &Call, _span: Span) -> Result<Value, EvalError> {
    Ok(Value::Str(render(ev.ctx.now.to_offset(UtcOffset::UTC))))
}

/// `DateAdd(interval, value, dateTime)`; null `dateTime` ⇒ null.
pub(super) fn date_add(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let interval = ev.arg_str(call, 0)?.unwrap_or_default();
    let raw = ev.arg_str(call, 1)?.unwrap_or_default();
    let Some(n) = parse_num(&raw) else {
        return Err(EvalError::in_call(call, span, format!("value must be a number, got '{raw}'")));
    };
    let Some(dt) = date_arg(ev, call, 2, span)? else {
        return Ok(Value::Null);
    };
    let seconds = |unit: f64| Duration::checked_seconds_f64(n * unit).and_then(|d| dt.checked_add(d));
    let months = |per: f64| add_months(dt, (n * per).round());
    let out = match interval.trim().to_ascii_lowercase().as_str() {
        "yyyy" => months(12.0),
        "q" => months(3.0),
        "m" => months(1.0),
        "y" | "d" | "w" => seconds(86_400.0),
        "ww" => seconds(7.0 * 86_400.0),
        "h" => seconds(3_600.0),
        "n" => seconds(60.0),
        "s" => seconds(1.0),
        _ => return Err(bad_interval(call, span, &interval)),
    };
    out.map(|d| Value::Str(render(d)))
        .ok_or_else(|| EvalError::in_call(call, span, "the resulting date is out of range"))
}

fn add_months(dt: OffsetDateTime, months: f64) -> Option<OffsetDateTime> {
    if !months.is_finite() || months.abs() > 1.0e6 {
        return None;
    }
    // In range by the check above; .NET AddMonths clamps the day to the target month's length.
    let total = i64::from(dt.year()) * 12 + i64::from(u8::from(dt.month())) - 1 + months as i64;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, dt.day().min(month.length(year))).ok()?;
    Some(dt.replace_date(date))
}

fn bad_interval(call: &Call, span: Span, interval: &str) -> EvalError {
    EvalError::in_call(
        call,
        span,
        format!("unknown interval '{interval}' (expected yyyy, q, m, y, d, w, ww, h, n or s)"),
    )
}

/// `DateDiff(interval, date1, date2)` = date2 − date1 in whole intervals; null date ⇒ null.
pub(super) fn date_diff(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let interval = ev.arg_str(call, 0)?.unwrap_or_default();
    let (Some(a), Some(b)) = (date_arg(ev, call, 1, span)?, date_arg(ev, call, 2, span)?) else {
        return Ok(Value::Null);
    };
    let elapsed = b - a;
    let months = |d: OffsetDateTime| i64::from(d.year()) * 12 + i64::from(u8::from(d.month()));
    let quarters = |d: OffsetDateTime| i64::from(d.year()) * 4 + i64::from((u8::from(d.month()) - 1) / 3);
    let week_start = |d: OffsetDateTime| d.date().to_julian_day() - i32::from(d.weekday().number_days_from_sunday());
    let diff = match interval.trim().to_ascii_lowercase().as_str() {
        "yyyy" => i64::from(b.year()) - i64::from(a.year()),
        "q" => quarters(b) - quarters(a),
        "m" => months(b) - months(a),
        "y" | "d" => elapsed.whole_days(),
        "w" => elapsed.whole_days() / 7,
        "ww" => i64::from(week_start(b) - week_start(a)) / 7,
        "h" => elapsed.whole_hours(),
        "n" => elapsed.whole_minutes(),
        "s" => elapsed.whole_seconds(),
        _ => return Err(bad_interval(call, span, &interval)),
    };
    Ok(Value::Str(diff.to_string()))
}

/// AD FILETIME (e.g. `accountExpires`, `lastLogonTimestamp`) → date.
pub(super) fn date_from_num(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let Some(raw) = ev.arg_str(call, 0)?.filter(|s| !s.trim().is_empty()) else {
        return Ok(Value::Null);
    };
    let ticks: i128 =
        raw.trim().parse().map_err(|_| EvalError::in_call(call, span, format!("'{raw}' is not an AD date number")))?;
    let nanos = ticks.checked_sub(FILETIME_UNIX_OFFSET).and_then(|t| t.checked_mul(100));
    nanos
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .map(|d| Value::Str(render(d)))
        .ok_or_else(|| EvalError::in_call(call, span, format!("'{raw}' is outside the supported date range")))
}

/// Date → AD FILETIME.
pub(super) fn num_from_date(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    Ok(date_arg(ev, call, 0, span)?
        .map_or(Value::Null, |d| Value::Str((d.unix_timestamp_nanos() / 100 + FILETIME_UNIX_OFFSET).to_string())))
}

/// `FormatDateTime(source, dateTimeStyles?, inputFormat, outputFormat)` or Graph's 3-argument form.
/// `dateTimeStyles` is accepted and ignored beyond the default (surrounding white space is allowed).
pub(super) fn format_date_time(ev: &mut Evaluator<'_, '_>, call: &Call, span: Span) -> Result<Value, EvalError> {
    let named = |ev: &mut Evaluator<'_, '_>, name: &str| -> Result<Option<String>, EvalError> {
        match call.arg_named(name) {
            Some(e) => Ok(ev.eval(e)?.as_str().map(str::to_owned)),
            None => Ok(None),
        }
    };
    let source = named(ev, "source")?;
    let input = named(ev, "inputFormat")?.unwrap_or_default();
    let output = named(ev, "outputFormat")?.unwrap_or_default();
    let Some(source) = source.filter(|s| !s.trim().is_empty()) else {
        return Ok(Value::Null);
    };
    let fail = |m: String| EvalError::in_call(call, span, m);
    let in_specs = netfmt::compile(&input).map_err(|m| fail(format!("inputFormat: {m}")))?;
    let out_specs = netfmt::compile(&output).map_err(|m| fail(format!("outputFormat: {m}")))?;
    let dt = parse_exact(&source, &in_specs, ev.ctx.now.date()).map_err(fail)?;
    Ok(Value::Str(netfmt::format(dt, &out_specs)))
}

#[cfg(test)]
#[path = "date_tests.rs"]
mod tests;
