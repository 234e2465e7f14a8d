use time::macros::{date, datetime};

use super::super::netparse::parse_exact;
use super::{compile, format};

fn fmt(dt: time::OffsetDateTime, f: &str) -> String {
    format(dt, &compile(f).unwrap())
}

fn parse(input: &str, f: &str) -> Result<time::OffsetDateTime, String> {
    parse_exact(input, &compile(f).unwrap(), date!(2021 - 07 - 02))
}

#[test]
fn formats_every_specifier() {
    let dt = datetime!(2009-06-05 13:04:09.123_456_700 UTC);
    let rows = [
        ("M/d/yyyy h:mm:ss tt", "6/5/2009 1:04:09 PM"),
        ("MM/dd/yy HH:mm:ss", "06/05/09 13:04:09"),
        ("ddd dddd MMM MMMM", "Fri Friday Jun June"),
        ("y yyy yyyyy", "9 2009 02009"),
        ("h hh H HH m mm s ss", "1 01 13 13 4 04 9 09"),
        ("f ff fffffff F FFFFFFF", "1 12 1234567 1 1234567"),
        ("t tt z zz zzz K", "P PM +0 +00 +00:00 Z"),
        ("'literal' \"q\" \\y %d", "literal q y 5"),
        ("HH:mm:ss.FFF", "13:04:09.123"),
        ("s", "2009-06-05T13:04:09"),
        ("u", "2009-06-05 13:04:09Z"),
        ("d", "6/5/2009"),
        ("G", "6/5/2009 1:04:09 PM"),
    ];
    for (f, want) in rows {
        assert_eq!(fmt(dt, f), want, "{f}");
    }
    assert_eq!(fmt(datetime!(2009-06-05 00:00 UTC), "HH:mm:ss.FFF"), "00:00:00");
    assert_eq!(fmt(datetime!(2009-06-05 00:00 UTC), "h tt"), "12 AM");
}

#[test]
fn parses_exactly() {
    assert_eq!(parse("20150123105347.1Z", "yyyyMMddHHmmss.fZ").unwrap(), datetime!(2015-01-23 10:53:47.1 UTC));
    assert_eq!(parse("2020-12-31-08:00", "yyyy-MM-ddzzz").unwrap(), datetime!(2020-12-31 08:00 UTC));
    assert_eq!(parse("12/31/20 12:05 AM", "MM/dd/yy hh:mm tt").unwrap(), datetime!(2020-12-31 00:05 UTC));
    assert_eq!(parse("1/2/99", "M/d/yy").unwrap(), datetime!(1999-01-02 00:00 UTC));
    assert_eq!(parse("Jun 5, 2009", "MMM d, yyyy").unwrap(), datetime!(2009-06-05 00:00 UTC));
    assert_eq!(parse("May 5, 2009", "MMMM d, yyyy").unwrap(), datetime!(2009-05-05 00:00 UTC));
    assert_eq!(parse("10:30", "HH:mm").unwrap(), datetime!(2021-07-02 10:30 UTC));
    assert_eq!(parse("2021-01-01T10:00:00+0530", "yyyy-MM-ddTHH:mm:ssK").unwrap(), datetime!(2021-01-01 04:30 UTC));
    assert_eq!(parse("2021-01-01T10:00:00", "yyyy-MM-ddTHH:mm:ss.FFFFFFFK").unwrap(), datetime!(2021-01-01 10:00 UTC));
    for (input, f) in
        [("2021-1-01", "yyyy-MM-dd"), ("2021-13-01", "yyyy-MM-dd"), ("2021-01-01x", "yyyy-MM-dd"), ("13 PM", "hh tt")]
    {
        assert!(parse(input, f).is_err(), "{input} / {f}");
    }
}

#[test]
fn rejects_bad_formats() {
    for f in ["q", "'open", "yyyy\\", "ffffffff"] {
        assert!(compile(f).is_err(), "{f}");
    }
}
