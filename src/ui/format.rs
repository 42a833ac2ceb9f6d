//! Formatting of times and states for display (pure functions, unit-tested).

use time::OffsetDateTime;

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
    timestamp(unix).get(..10).map(str::to_owned).unwrap_or_default()
}

/// How an expiry relates to `now`: "expired 3 days ago", "in 5 days", "".
pub fn expiry(exp: Option<i64>, now: i64) -> (String, ExpiryState) {
    let Some(exp) = exp else {
        return (String::new(), ExpiryState::None);
    };
    let days = (exp - now) as f64 / 86_400.0;
    if days < 0.0 {
        let ago = (-days).ceil() as i64;
        (format!("{} (expired {ago} d ago)", date(Some(exp))), ExpiryState::Expired)
    } else if days < 30.0 {
        (format!("{} (in {} d)", date(Some(exp)), days.floor() as i64), ExpiryState::Soon)
    } else {
        (date(Some(exp)), ExpiryState::Later)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryState {
    None,
    Expired,
    Soon,
    Later,
}

pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(timestamp(Some(0)), "1970-01-01 00:00 UTC");
        assert_eq!(timestamp(None), "");
        assert_eq!(date(Some(1_782_000_000)), "2026-06-21");
    }

    #[test]
    fn classifies_expiry() {
        let now = 1_800_000_000;
        assert_eq!(expiry(None, now).1, ExpiryState::None);
        let (text, state) = expiry(Some(now - 3 * 86_400), now);
        assert_eq!(state, ExpiryState::Expired);
        assert!(text.contains("expired 3 d ago"), "{text}");
        assert_eq!(expiry(Some(now + 5 * 86_400 + 10), now).1, ExpiryState::Soon);
        assert_eq!(expiry(Some(now + 90 * 86_400), now).1, ExpiryState::Later);
    }
}
