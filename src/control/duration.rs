//! ISO 8601 durations for `POST /_emulator/clock` (`{"advance":"PT25H"}`; README "Virtual clock"): a small
//! strict parser of the forms with a fixed length — weeks (`P2W`), days, hours, minutes and seconds
//! (`P1DT2H30M`, `PT0.5S`). Years and months are refused (their length depends on the date), and so is a sign:
//! the clock only advances by a duration (`set` moves it anywhere).

use time::Duration;

/// Why a text is not a duration the clock accepts; the message is shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not an ISO 8601 duration the clock accepts ({reason}); write e.g. PT25H, P1DT30M or PT0.5S.")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

/// Parses `text` (case-sensitive designators, as ISO 8601 writes them).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let fail = |reason| DurationError { text: text.to_owned(), reason };
    if text.starts_with(['-', '+']) {
        return Err(fail("a sign is not accepted"));
    }
    let rest = text.strip_prefix('P').ok_or_else(|| fail("it must start with P"))?;
    if rest.is_empty() || rest == "T" {
        return Err(fail("it names no amount"));
    }
    let (date, clock) = match rest.split_once('T') {
        Some((_, "")) => return Err(fail("a T must be followed by an amount")),
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = Duration::ZERO;
    for (amount, unit) in fields(date).map_err(fail)? {
        let seconds = match unit {
            'W' => 7 * 86_400,
            'D' => 86_400,
            'Y' | 'M' => return Err(fail("years and months have no fixed length")),
            _ => return Err(fail("an unknown designator")),
        };
        total = add(total, amount, seconds).ok_or_else(|| fail("it is too long"))?;
    }
    let mut last_clock = 0;
    for (amount, unit) in fields(clock.unwrap_or_default()).map_err(fail)? {
        let (order, seconds) = match unit {
            'H' => (1, 3_600),
            'M' => (2, 60),
            'S' => (3, 1),
            _ => return Err(fail("an unknown designator")),
        };
        if order <= last_clock {
            return Err(fail("designators out of order or repeated"));
        }
        last_clock = order;
        total = add(total, amount, seconds).ok_or_else(|| fail("it is too long"))?;
    }
    Ok(total)
}

/// `(amount, designator)` pairs; an amount is digits with an optional fraction (`.` or `,`).
fn fields(part: &str) -> Result<Vec<(Amount, char)>, &'static str> {
    let mut out = Vec::new();
    let mut number = String::new();
    for c in part.chars() {
        if c.is_ascii_digit() || c == '.' || c == ',' {
            number.push(if c == ',' { '.' } else { c });
            continue;
        }
        if number.is_empty() {
            return Err(if c == '-' || c == '+' { "a sign is not accepted" } else { "a designator without an amount" });
        }
        out.push((Amount::parse(&number)?, c));
        number.clear();
    }
    if !number.is_empty() {
        return Err("an amount without a designator");
    }
    Ok(out)
}

/// A decimal amount as whole units and nanounits (nine fractional digits at most).
#[derive(Debug, Clone, Copy)]
struct Amount {
    whole: i64,
    nanos: i64,
}

impl Amount {
    fn parse(text: &str) -> Result<Self, &'static str> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || fraction.contains('.') || (text.contains('.') && fraction.is_empty()) {
            return Err("a malformed number");
        }
        if fraction.len() > 9 {
            return Err("more than nine fractional digits");
        }
        let whole = whole.parse::<i64>().map_err(|_| "a number too large")?;
        let nanos = format!("{fraction:0<9}").parse::<i64>().map_err(|_| "a malformed number")?;
        Ok(Self { whole, nanos })
    }
}

fn add(total: Duration, amount: Amount, unit_seconds: i64) -> Option<Duration> {
    let whole = Duration::seconds(amount.whole.checked_mul(unit_seconds)?);
    let part = Duration::nanoseconds(amount.nanos.checked_mul(unit_seconds)?);
    total.checked_add(whole)?.checked_add(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_length_forms_are_read() {
        let cases = [
            ("PT25H", Duration::hours(25)),
            ("P1D", Duration::days(1)),
            ("P2W", Duration::weeks(2)),
            ("P1DT2H30M", Duration::days(1) + Duration::hours(2) + Duration::minutes(30)),
            ("PT0.5S", Duration::milliseconds(500)),
            ("PT1,25M", Duration::seconds(75)),
            ("PT90S", Duration::seconds(90)),
            ("P0D", Duration::ZERO),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn everything_else_is_refused_with_a_reason() {
        let cases = [
            ("", "it must start with P"),
            ("25H", "it must start with P"),
            ("P", "it names no amount"),
            ("PT", "it names no amount"),
            ("P1DT", "a T must be followed by an amount"),
            ("-PT1H", "a sign is not accepted"),
            ("+PT1H", "a sign is not accepted"),
            ("PT-1H", "a sign is not accepted"),
            ("P1Y", "years and months have no fixed length"),
            ("P1M", "years and months have no fixed length"),
            ("PT1M1H", "designators out of order or repeated"),
            ("PT1H1H", "designators out of order or repeated"),
            ("PT1X", "an unknown designator"),
            ("P1H", "an unknown designator"),
            ("PTH", "a designator without an amount"),
            ("PT1", "an amount without a designator"),
            ("PT1.S", "a malformed number"),
            ("PT.5S", "a malformed number"),
            ("PT1.2.3S", "a malformed number"),
            ("PT0.1234567891S", "more than nine fractional digits"),
            ("PT99999999999999999999H", "a number too large"),
            ("P9999999999999999W", "it is too long"),
            ("pt1h", "it must start with P"),
        ];
        for (text, reason) in cases {
            assert_eq!(parse(text).map_err(|e| e.reason), Err(reason), "{text}");
        }
    }

    #[test]
    fn the_message_names_the_text_and_the_reason() {
        let e = parse("P1Y").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'P1Y' is not an ISO 8601 duration the clock accepts (years and months have no fixed length); write e.g. PT25H, P1DT30M or PT0.5S."
        );
    }
}
