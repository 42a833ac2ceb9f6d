//! Formatting of times and states for display (pure functions, unit-tested).

use time::OffsetDateTime;

/// Outside text (a name, a tag, a content type, a principal) as it may be drawn or copied as plain text:
/// bidi controls, zero-width and control characters written as visible escapes.
pub fn untrusted(text: &str) -> std::borrow::Cow<'_, str> {
    crate::untrusted_text::escape_deceptive(text)
}

/// `2026-11-23 14:05 UTC` from Unix seconds; empty for `None`.
pub fn timestamp(unix: Option<i64>) -> String {
    let Some(unix) = unix else {
        return String::new();
    };
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute()
        ),
        Err(_) => format!("{unix} (invalid)"),
    }
}

/// `2026-11-23` from Unix seconds.
pub fn date(unix: Option<i64>) -> String {
    timestamp(unix)
        .get(..10)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// How an expiry relates to `now`: "2026-11-20 (expired 3 d ago)", "2026-11-28 (in 5 d)", "(in 7 h)".
pub fn expiry(exp: Option<i64>, now: i64) -> (String, ExpiryState) {
    let Some(exp) = exp else {
        return (String::new(), ExpiryState::None);
    };
    // Outside numbers: an expiry of i64::MIN or MAX must not overflow (debug builds panic on it).
    let seconds_left = exp.saturating_sub(now);
    if seconds_left <= 0 {
        (
            format!(
                "{} (expired {} ago)",
                date(Some(exp)),
                span(seconds_left.saturating_neg())
            ),
            ExpiryState::Expired,
        )
    } else if seconds_left < 30 * DAY {
        (
            format!("{} (in {})", date(Some(exp)), span(seconds_left)),
            ExpiryState::Soon,
        )
    } else {
        (date(Some(exp)), ExpiryState::Later)
    }
}

const DAY: i64 = 86_400;

/// A short span: whole days from one day up, else whole hours (at least 1 h).
fn span(seconds: i64) -> String {
    if seconds < DAY {
        format!("{} h", (seconds / 3_600).max(1))
    } else {
        format!("{} d", seconds / DAY)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryState {
    None,
    Expired,
    Soon,
    Later,
}

/// "just now", "5 s ago", "3 min ago", "2 h ago".
pub fn age(elapsed: std::time::Duration) -> String {
    let seconds = elapsed.as_secs();
    match seconds {
        0..5 => "just now".to_owned(),
        5..60 => format!("{seconds} s ago"),
        60..3_600 => format!("{} min ago", seconds / 60),
        _ => format!("{} h ago", seconds / 3_600),
    }
}

/// "as of 3 h ago", "as of 2 d ago": how old what the local index showed is (saturating on clock skew).
pub fn as_of(unix: i64, now: i64) -> String {
    let seconds = u64::try_from(now.saturating_sub(unix)).unwrap_or(0);
    if seconds >= 2 * 86_400 {
        return format!("as of {} d ago", seconds / 86_400);
    }
    format!("as of {}", age(std::time::Duration::from_secs(seconds)))
}

pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A date as the forms show it for editing: `2026-11-23 14:05` (UTC); empty for `None`.
pub fn date_input(unix: Option<i64>) -> String {
    timestamp(unix).trim_end_matches(" UTC").to_owned()
}

/// Reads a date typed in a form: empty (none), `2026-11-23` (midnight UTC) or `2026-11-23 14:05`, with or
/// without a trailing `UTC`; the sentence says what is accepted.
pub fn parse_date_input(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    let text = text.strip_suffix("UTC").unwrap_or(text).trim();
    if text.is_empty() {
        return Ok(None);
    }
    let with_time = if text.len() == 10 {
        format!("{text} 00:00")
    } else {
        text.replace('T', " ")
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::PrimitiveDateTime::parse(&with_time, &format)
        .map(|at| Some(at.assume_utc().unix_timestamp()))
        .map_err(|_| format!("'{text}' is not a date: write 2026-12-31 or 2026-12-31 18:00 (UTC)."))
}

/// The green of an allowed verdict, readable on either theme.
pub fn allowed_color(ui: &egui::Ui) -> egui::Color32 {
    if ui.visuals().dark_mode {
        egui::Color32::from_rgb(110, 200, 120)
    } else {
        egui::Color32::from_rgb(20, 120, 40)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_typed_in_forms_are_read_as_utc() {
        assert_eq!(parse_date_input(""), Ok(None));
        assert_eq!(parse_date_input("1970-01-02"), Ok(Some(86_400)));
        assert_eq!(parse_date_input("1970-01-01 01:30 UTC"), Ok(Some(5_400)));
        assert_eq!(
            parse_date_input(&date_input(Some(1_800_000_042))),
            Ok(Some(1_800_000_000))
        );
        assert!(parse_date_input("tomorrow").is_err());
        assert!(parse_date_input("2026-13-01").is_err());
    }

    #[test]
    fn formats_times() {
        assert_eq!(timestamp(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(timestamp(None), "");
        assert_eq!(date(Some(1_782_000_000)), "2026-06-21");
    }

    #[test]
    fn ages() {
        use std::time::Duration;
        assert_eq!(age(Duration::from_secs(2)), "just now");
        assert_eq!(age(Duration::from_secs(42)), "42 s ago");
        assert_eq!(age(Duration::from_secs(185)), "3 min ago");
        assert_eq!(age(Duration::from_secs(7_300)), "2 h ago");
        assert_eq!(as_of(100, 100 + 3 * 3_600), "as of 3 h ago");
        assert_eq!(as_of(0, 5 * 86_400), "as of 5 d ago");
        assert_eq!(
            as_of(i64::MAX, i64::MIN),
            "as of just now",
            "a clock behind the file"
        );
    }

    #[test]
    fn classifies_expiry() {
        let now = 1_800_000_000;
        assert_eq!(expiry(None, now).1, ExpiryState::None);
        let (text, state) = expiry(Some(now - 3 * 86_400), now);
        assert_eq!(state, ExpiryState::Expired);
        assert!(text.contains("expired 3 d ago"), "{text}");
        assert_eq!(
            expiry(Some(now + 5 * 86_400 + 10), now).1,
            ExpiryState::Soon
        );
        assert_eq!(expiry(Some(now + 90 * 86_400), now).1, ExpiryState::Later);
        let (text, state) = expiry(Some(now + 7 * 3_600 + 5), now);
        assert_eq!(state, ExpiryState::Soon);
        assert!(text.ends_with("(in 7 h)"), "{text}");
        assert!(expiry(Some(now - 60), now).0.ends_with("(expired 1 h ago)"));
    }
}
