//! Time forms the emulator uses: Graph's wire form (`2019-05-04T03:00:54Z`, whole seconds), the 7-digit form
//! (.NET ticks precision, `2022-10-10T09:47:34.1000000Z`) used in opaque paging tokens, and the integer
//! ticks (100 ns units since the Unix epoch) the store keeps, so time order is integer order.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Wire form: RFC 3339 UTC, whole seconds.
pub fn graph_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
}

/// RFC 3339 UTC with exactly seven fractional digits (.NET ticks), `2022-10-10T09:47:34.1000000Z`.
/// Sub-100 ns precision is truncated, as Graph's .NET `DateTimeOffset` does.
///
/// ```
/// # use entra_inbound::graph_time::datetime_key;
/// let t = time::macros::datetime!(2022-10-10 11:47:34.5 +02:00);
/// assert_eq!(datetime_key(t), "2022-10-10T09:47:34.5000000Z");
/// ```
pub fn datetime_key(t: OffsetDateTime) -> String {
    // Out of range only for instants past 9999-12-31 UTC, which no clock produces.
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

/// 100 ns ticks since the Unix epoch (negative before it), the store's form of a date-time.
///
/// ```
/// # use entra_inbound::graph_time::{from_ticks, ticks};
/// let t = time::macros::datetime!(2022-10-10 09:47:34.1234567 UTC);
/// assert_eq!(from_ticks(ticks(t)), t);
/// ```
pub fn ticks(t: OffsetDateTime) -> i64 {
    // i128 nanoseconds / 100 fits i64 for every representable year (±9999).
    i64::try_from(t.unix_timestamp_nanos().div_euclid(100)).unwrap_or(i64::MAX)
}

/// The instant `ticks` 100 ns units after the Unix epoch (the epoch itself if out of range).
pub fn from_ticks(ticks: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ticks) * 100).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Parses RFC 3339 (any offset, any fraction).
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn wire_form() {
        let t = datetime!(2019-05-04 03:00:54.5 UTC);
        assert_eq!(graph_datetime(t), "2019-05-04T03:00:54Z");
    }

    #[test]
    fn ticks_keep_order_before_and_after_the_epoch() {
        let before = datetime!(1969-12-31 23:59:59.9999999 UTC);
        assert_eq!(ticks(before), -1);
        assert_eq!(from_ticks(-1), before);
        assert!(ticks(datetime!(2025-01-15 10:00 UTC)) < ticks(datetime!(2025-01-15 10:00:00.0000001 UTC)));
        assert_eq!(parse_rfc3339(&datetime_key(before)), Some(before));
    }
}
