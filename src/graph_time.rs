//! Graph's wire timestamp form: `2019-05-04T03:00:54Z` (whole seconds, `Z`). The storage form lives with the
//! OData layer that compares against it (`crate::odata::datetime_key`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Wire form: RFC 3339 UTC, whole seconds.
pub fn graph_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
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
}
