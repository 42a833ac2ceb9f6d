//! Moving data through files and between vaults, without I/O and without egui: the export formats (CSV,
//! JSON), reading import files (`.env`, JSON, CSV), what each planned write would do to its target, value
//! fingerprints for comparing without showing, vault and version comparison, the expiry calendar and its
//! iCalendar file, and certificate files (DER, PEM, PFX). The worker does the reading, writing and requests.

pub mod calendar;
pub mod certificate_files;
pub mod compare;
pub mod export;
pub mod fingerprint;
pub mod import;
pub mod plan;

/// A Unix time as RFC 3339 UTC (`2027-06-30T18:00:00Z`), the form every file here uses.
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

/// An RFC 3339 time (or Unix seconds) back to Unix seconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_rfc3339() {
        assert_eq!(rfc3339(1_814_378_400), "2027-06-30T18:00:00Z");
        assert_eq!(parse_time("2027-06-30T18:00:00Z"), Some(1_814_378_400));
        assert_eq!(parse_time("1814378400"), Some(1_814_378_400));
        assert_eq!(parse_time("next tuesday"), None);
    }
}
