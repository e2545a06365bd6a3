//! Wall-clock timestamps as the wire types carry them: RFC 3339, UTC, milliseconds.

use time::macros::format_description;
use time::OffsetDateTime;

/// Now, as `2026-04-08T10:15:30.123Z`.
pub(crate) fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `at` in UTC as `2026-04-08T10:15:30.123Z`.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // Formatting a UTC time with this description cannot fail; should it, a fixed epoch
    // string keeps the document parseable.
    at.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let now = super::now_rfc3339();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z'), "{now}");
        assert_eq!(&now[10..11], "T");
        assert_eq!(&now[19..20], ".");
    }
}
