//! Graph's timestamp forms: `2019-05-04T03:00:54Z` on the wire (whole seconds, `Z`), and a fixed-width
//! 7-digit form for storage so that text order equals time order in SQLite indexes.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Wire form: RFC 3339 UTC, whole seconds.
pub fn graph_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
}

/// Storage form: `YYYY-MM-DDTHH:MM:SS.fffffffZ`, fixed width.
pub fn datetime_key(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn wire_and_storage_forms() {
        let t = datetime!(2019-05-04 03:00:54.5 UTC);
        assert_eq!(graph_datetime(t), "2019-05-04T03:00:54Z");
        assert_eq!(datetime_key(t), "2019-05-04T03:00:54.5000000Z");
        assert!(datetime_key(datetime!(2019-05-04 03:00:54 UTC)) < datetime_key(t));
    }
}
