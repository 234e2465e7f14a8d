//! A translator for .NET custom date/time format strings (docs/fidelity.md B.5 FormatDateTime, which FUNC
//! defines in terms of .NET's "custom date and time format strings"): compilation into specifiers and
//! formatting (exact parsing lives in [`super::netparse`]), plus the en-US standard single-letter formats
//! (`d`, `G`, `o`, `s`, `u`, …).
//!
//! Supported specifiers: `d dd ddd dddd`, `M MM MMM MMMM`, `y yy yyy yyyy`, `h hh H HH`, `m mm`, `s ss`,
//! `f…fffffff`, `F…FFFFFFF`, `t tt`, `z zz zzz`, `K`, literals quoted with `'…'`/`"…"` or escaped with
//! `\`, `%` before a lone specifier; every other character is literal (so `Z` and `T` are literals, as in
//! .NET). `K` renders `Z`: every value the engine formats is in UTC.

use time::OffsetDateTime;

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

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

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
        // Only specifier letters repeat; counting the run of anything else would make a long run of one
        // literal character quadratic.
        let run = if "dMyhHmsfFtz".contains(c) { chars[i..].iter().take_while(|&&x| x == c).count() } else { 1 };
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
            'f' | 'F' if n > 7 => {
                return Err(format!("'{}' has more than 7 fraction digits", c.to_string().repeat(run)));
            }
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

#[cfg(test)]
#[path = "netfmt_tests.rs"]
mod tests;
