//! Exact parsing of date/time strings against a compiled .NET custom format (`DateTime.ParseExact`
//! semantics; docs/fidelity.md B.5 FormatDateTime and CDate). See [`super::netfmt`] for the specifiers.
//!
//! Design constraints: `dd`/`MM`/`HH`/… need two digits, `d`/`M`/`H`/… one or two, `f…` exactly as many
//! digits as letters, `F…` up to that many (a `.` before an absent `F` fraction is optional); `yy` pivots
//! at 2049 (.NET's `TwoDigitYearMax`); a parsed offset converts the value to UTC (the service runs in UTC);
//! a format without date parts takes `today`'s date. Never panics on any input.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::netfmt::{DAYS, MONTHS, Spec};

#[derive(Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u8>,
    day: Option<u8>,
    hour: u8,
    hour_is_12: bool,
    pm: Option<bool>,
    minute: u8,
    second: u8,
    nanos: u32,
    offset: Option<UtcOffset>,
}

/// `DateTime.ParseExact(input, format)`; the result is in UTC. `today` fills a missing date.
pub(super) fn parse_exact(input: &str, specs: &[Spec], today: Date) -> Result<OffsetDateTime, String> {
    let s: Vec<char> = input.trim().chars().collect();
    let mut r = Reader { s: &s, pos: 0 };
    let mut f = Fields::default();
    let bad = |what: &str| format!("'{input}' does not match the format ({what})");
    for (i, spec) in specs.iter().enumerate() {
        match *spec {
            Spec::Day(n @ 1..=2) => {
                f.day = Some(r.num(n, 2).ok_or_else(|| bad("day"))?.try_into().map_err(|_| bad("day"))?)
            }
            Spec::Day(_) => {
                r.name(&DAYS, spec == &Spec::Day(3)).ok_or_else(|| bad("day name"))?;
            }
            Spec::Month(n @ 1..=2) => {
                f.month = Some(r.num(n, 2).ok_or_else(|| bad("month"))?.try_into().map_err(|_| bad("month"))?);
            }
            Spec::Month(n) => {
                let m = r.name(&MONTHS, n == 3).ok_or_else(|| bad("month name"))?;
                f.month = u8::try_from(m + 1).ok();
            }
            Spec::Year(n) => {
                let (min, max) = if n <= 2 { (n, 2) } else { (n, n.max(4)) };
                let y = i32::try_from(r.num(min, max).ok_or_else(|| bad("year"))?).map_err(|_| bad("year"))?;
                f.year = Some(if n <= 2 { if y <= 49 { 2000 + y } else { 1900 + y } } else { y });
            }
            Spec::Hour12(n) | Spec::Hour24(n) => {
                f.hour = r.num(n, 2).ok_or_else(|| bad("hour"))?.try_into().map_err(|_| bad("hour"))?;
                f.hour_is_12 = matches!(spec, Spec::Hour12(_));
            }
            Spec::Minute(n) => {
                f.minute = r.num(n, 2).ok_or_else(|| bad("minute"))?.try_into().map_err(|_| bad("minute"))?
            }
            Spec::Second(n) => {
                f.second = r.num(n, 2).ok_or_else(|| bad("second"))?.try_into().map_err(|_| bad("second"))?
            }
            Spec::Frac(n) | Spec::FracOpt(n) => {
                let min = if matches!(spec, Spec::Frac(_)) { n } else { 0 };
                let start = r.pos;
                let v = r.num(min, n).ok_or_else(|| bad("fraction"))?;
                let width = u32::try_from(r.pos - start).unwrap_or(0);
                f.nanos = u32::try_from(v).unwrap_or(0).saturating_mul(10u32.pow(9u32.saturating_sub(width)));
            }
            Spec::AmPm(n) => {
                let pm = if r.eat_ci('P') {
                    true
                } else if r.eat_ci('A') {
                    false
                } else {
                    return Err(bad("AM/PM"));
                };
                if n >= 2 && !r.eat_ci('M') {
                    return Err(bad("AM/PM"));
                }
                f.pm = Some(pm);
            }
            Spec::Offset(n) => f.offset = Some(r.offset(n >= 3).ok_or_else(|| bad("offset"))?),
            Spec::Kind => {
                if r.eat_ci('Z') {
                    f.offset = Some(UtcOffset::UTC);
                } else if matches!(r.peek(), Some('+' | '-')) {
                    f.offset = Some(r.offset(true).ok_or_else(|| bad("offset"))?);
                }
            }
            Spec::Lit(c) => {
                let matched =
                    if c.is_whitespace() { r.peek().is_some_and(char::is_whitespace) } else { r.peek() == Some(c) };
                if matched {
                    r.pos += 1;
                } else if !(c == '.' && matches!(specs.get(i + 1), Some(Spec::FracOpt(_)))) {
                    return Err(bad(&format!("expected '{c}'")));
                }
            }
        }
    }
    if r.pos != s.len() {
        return Err(bad("unexpected trailing text"));
    }
    build(&f, today).ok_or_else(|| format!("'{input}' is not a valid date and time"))
}

fn build(f: &Fields, today: Date) -> Option<OffsetDateTime> {
    let date = if f.year.is_none() && f.month.is_none() && f.day.is_none() {
        today
    } else {
        let month = Month::try_from(f.month.unwrap_or(1)).ok()?;
        Date::from_calendar_date(f.year.unwrap_or(today.year()), month, f.day.unwrap_or(1)).ok()?
    };
    let mut hour = f.hour;
    if f.hour_is_12 || f.pm.is_some() {
        if hour > 12 && f.hour_is_12 {
            return None;
        }
        match f.pm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            _ => {}
        }
    }
    let time = Time::from_hms_nano(hour, f.minute, f.second, f.nanos).ok()?;
    let local = PrimitiveDateTime::new(date, time).assume_offset(f.offset.unwrap_or(UtcOffset::UTC));
    local.checked_to_offset(UtcOffset::UTC)
}

struct Reader<'a> {
    s: &'a [char],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn eat_ci(&mut self, c: char) -> bool {
        let hit = self.peek().is_some_and(|x| x.eq_ignore_ascii_case(&c));
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Between `min` and `max` ASCII digits (greedy).
    fn num(&mut self, min: u8, max: u8) -> Option<u64> {
        let start = self.pos;
        let mut v: u64 = 0;
        while self.pos - start < usize::from(max) {
            let Some(d) = self.peek().and_then(|c| c.to_digit(10)) else {
                break;
            };
            v = v.checked_mul(10)?.checked_add(u64::from(d))?;
            self.pos += 1;
        }
        (self.pos - start >= usize::from(min)).then_some(v)
    }

    /// A month/day name (full, or its 3-letter abbreviation), case-insensitive; returns its index.
    fn name(&mut self, names: &[&str], abbreviated: bool) -> Option<usize> {
        for (i, name) in names.iter().enumerate() {
            let want: Vec<char> = if abbreviated { name.chars().take(3).collect() } else { name.chars().collect() };
            let end = self.pos + want.len();
            let Some(got) = self.s.get(self.pos..end) else {
                continue;
            };
            if got.iter().zip(&want).all(|(a, b)| a.eq_ignore_ascii_case(b)) {
                self.pos = end;
                return Some(i);
            }
        }
        None
    }

    /// `±h`, `±hh`, `±hh:mm` or `±hhmm`.
    fn offset(&mut self, with_minutes: bool) -> Option<UtcOffset> {
        let sign: i8 = match self.peek()? {
            '+' => 1,
            '-' => -1,
            _ => return None,
        };
        self.pos += 1;
        let h = i8::try_from(self.num(1, 2)?).ok()?;
        let mut m = 0i8;
        if with_minutes {
            self.pos += usize::from(self.peek() == Some(':'));
            m = i8::try_from(self.num(2, 2)?).ok()?;
        }
        UtcOffset::from_hms(sign * h, sign * m, 0).ok()
    }
}
