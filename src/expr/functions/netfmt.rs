//! A translator for .NET custom date/time format strings (spec Part B §5.2 FormatDateTime, which FUNC
//! defines in terms of .NET's "custom date and time format strings"), for both formatting and exact
//! parsing, plus the en-US standard single-letter formats (`d`, `G`, `o`, `s`, `u`, …).
//!
//! Supported specifiers: `d dd ddd dddd`, `M MM MMM MMMM`, `y yy yyy yyyy`, `h hh H HH`, `m mm`, `s ss`,
//! `f…fffffff`, `F…FFFFFFF`, `t tt`, `z zz zzz`, `K`, literals quoted with `'…'`/`"…"` or escaped with
//! `\`, `%` before a lone specifier; every other character is literal (so `Z` and `T` are literals, as in
//! .NET). Parsing follows `DateTime.ParseExact` with the default styles FUNC names (leading/trailing white
//! allowed): `dd`/`MM`/… need two digits, `d`/`M`/… one or two, `yy` pivots at 2049 (.NET's
//! `TwoDigitYearMax`), a parsed offset converts the value to UTC (the service runs in UTC).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spec {
    Day(u8),
    Month(u8),
    Year(u8),
    Hour12(u8),
    Hour24(u8),
    Minute(u8),
    Second(u8),
    Frac(u8),
    FracOpt(u8),
    AmPm(u8),
    Offset(u8),
    Kind,
    Lit(char),
}

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// Splits a format string into specifiers.
pub(super) fn compile(format: &str) -> Result<Vec<Spec>, String> {
    let mut chars = format.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        let expanded = match c {
            'd' => "M/d/yyyy",
            'D' => "dddd, MMMM d, yyyy",
            'f' => "dddd, MMMM d, yyyy h:mm tt",
            'F' => "dddd, MMMM d, yyyy h:mm:ss tt",
            'g' => "M/d/yyyy h:mm tt",
            'G' => "M/d/yyyy h:mm:ss tt",
            'm' | 'M' => "MMMM d",
            'o' | 'O' => "yyyy-MM-ddTHH:mm:ss.fffffffK",
            'r' | 'R' => "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
            's' => "yyyy-MM-ddTHH:mm:ss",
            't' => "h:mm tt",
            'T' => "h:mm:ss tt",
            'u' => "yyyy-MM-dd HH:mm:ss'Z'",
            'y' | 'Y' => "MMMM yyyy",
            other => return Err(format!("'{other}' is not a standard date and time format")),
        };
        return compile_custom(expanded);
    }
    compile_custom(format)
}

fn compile_custom(format: &str) -> Result<Vec<Spec>, String> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let n = u8::try_from(run).unwrap_or(u8::MAX);
        let mut used = run;
        let spec = match c {
            'd' => Spec::Day(n.min(4)),
            'M' => Spec::Month(n.min(4)),
            'y' => Spec::Year(n.min(5)),
            'h' => Spec::Hour12(n.min(2)),
            'H' => Spec::Hour24(n.min(2)),
            'm' => Spec::Minute(n.min(2)),
            's' => Spec::Second(n.min(2)),
            'f' | 'F' if n > 7 => return Err(format!("'{}' has more than 7 fraction digits", c.to_string().repeat(run))),
            'f' => Spec::Frac(n),
            'F' => Spec::FracOpt(n),
            't' => Spec::AmPm(n.min(2)),
            'z' => Spec::Offset(n.min(3)),
            'K' => {
                used = 1;
                Spec::Kind
            }
            '\'' | '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&x| x == c) else {
                    return Err(format!("unterminated quoted literal in '{format}'"));
                };
                out.extend(chars[i + 1..i + 1 + len].iter().map(|&x| Spec::Lit(x)));
                i += len + 2;
                continue;
            }
            '\\' => {
                let Some(&lit) = chars.get(i + 1) else {
                    return Err(format!("'{format}' ends with an escape character"));
                };
                i += 2;
                out.push(Spec::Lit(lit));
                continue;
            }
            '%' => {
                i += 1;
                continue;
            }
            other => {
                used = 1;
                Spec::Lit(other)
            }
        };
        out.push(spec);
        i += used;
    }
    Ok(out)
}

/// Renders `dt` with the compiled format.
pub(super) fn format(dt: OffsetDateTime, specs: &[Spec]) -> String {
    let mut out = String::new();
    let pad = |out: &mut String, v: i64, width: u8| out.push_str(&format!("{v:0width$}", width = usize::from(width)));
    let hour12 = match dt.hour() % 12 {
        0 => 12,
        h => h,
    };
    for spec in specs {
        match *spec {
            Spec::Day(n @ 1..=2) => pad(&mut out, dt.day().into(), n),
            Spec::Day(3) => out.push_str(&DAYS[usize::from(dt.weekday().number_days_from_sunday())][..3]),
            Spec::Day(_) => out.push_str(DAYS[usize::from(dt.weekday().number_days_from_sunday())]),
            Spec::Month(n @ 1..=2) => pad(&mut out, u8::from(dt.month()).into(), n),
            Spec::Month(3) => out.push_str(&MONTHS[usize::from(u8::from(dt.month()) - 1)][..3]),
            Spec::Month(_) => out.push_str(MONTHS[usize::from(u8::from(dt.month()) - 1)]),
            Spec::Year(1) => pad(&mut out, i64::from(dt.year() % 100), 1),
            Spec::Year(2) => pad(&mut out, i64::from(dt.year() % 100), 2),
            Spec::Year(n) => pad(&mut out, dt.year().into(), n),
            Spec::Hour12(n) => pad(&mut out, hour12.into(), n),
            Spec::Hour24(n) => pad(&mut out, dt.hour().into(), n),
            Spec::Minute(n) => pad(&mut out, dt.minute().into(), n),
            Spec::Second(n) => pad(&mut out, dt.second().into(), n),
            Spec::Frac(n) => out.push_str(&fraction(dt, n)),
            Spec::FracOpt(n) => {
                let f = fraction(dt, n);
                let f = f.trim_end_matches('0');
                if f.is_empty() {
                    // .NET drops the decimal point together with an all-zero `F` fraction.
                    if out.ends_with('.') {
                        out.pop();
                    }
                } else {
                    out.push_str(f);
                }
            }
            Spec::AmPm(n) => out.push_str(match (dt.hour() < 12, n) {
                (true, 1) => "A",
                (false, 1) => "P",
                (true, _) => "AM",
                (false, _) => "PM",
            }),
            Spec::Offset(n) => {
                let off = dt.offset();
                let sign = if off.is_negative() { '-' } else { '+' };
                let (h, m) = (off.whole_hours().unsigned_abs(), off.minutes_past_hour().unsigned_abs());
                out.push(sign);
                match n {
                    1 => out.push_str(&h.to_string()),
                    2 => out.push_str(&format!("{h:02}")),
                    _ => out.push_str(&format!("{h:02}:{m:02}")),
                }
            }
            Spec::Kind => out.push('Z'),
            Spec::Lit(c) => out.push(c),
        }
    }
    out
}

fn fraction(dt: OffsetDateTime, n: u8) -> String {
    let digits = format!("{:09}", dt.nanosecond());
    digits[..usize::from(n.min(9))].to_owned()
}

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
            Spec::Day(n @ 1..=2) => f.day = Some(r.num(n, 2).ok_or_else(|| bad("day"))?.try_into().map_err(|_| bad("day"))?),
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
            Spec::Minute(n) => f.minute = r.num(n, 2).ok_or_else(|| bad("minute"))?.try_into().map_err(|_| bad("minute"))?,
            Spec::Second(n) => f.second = r.num(n, 2).ok_or_else(|| bad("second"))?.try_into().map_err(|_| bad("second"))?,
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
                let matched = if c.is_whitespace() { r.peek().is_some_and(char::is_whitespace) } else { r.peek() == Some(c) };
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
            let Some(d) = self.peek().and_then(|c| c.to_digit(10)) else { break };
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
            let Some(got) = self.s.get(self.pos..end) else { continue };
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

#[cfg(test)]
#[path = "netfmt_tests.rs"]
mod tests;
