//! The expiry calendar: the secrets, keys and certificates of every loaded vault that expire within N days
//! (or have expired), as one list sorted by date, and as an iCalendar file (RFC 5545) with one event per
//! expiry naming the vault, the object and its identifier — never a value. The file is written by hand:
//! it is a dozen property lines, and the icalendar crate would bring chrono along for them.

use crate::azure::identifiers::ObjectKind;
use crate::azure::models::ObjectItem;

/// One expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub vault_name: String,
    pub kind: ObjectKind,
    pub name: String,
    pub identifier: String,
    pub expires: i64,
    pub enabled: bool,
    /// When the row was last confirmed, for a row from the local index not confirmed in this run
    /// (`None`: current).
    pub as_of: Option<i64>,
}

impl Expiry {
    /// "within a day", "in 12 days", "expired today", "expired 3 days ago".
    pub fn when(&self, now: i64) -> String {
        if self.expires >= now {
            // Whole days left, rounded up: 23 hours left is "within a day", not "today".
            match (self.expires - now + 86_399) / 86_400 {
                0 | 1 => "within a day".into(),
                days => format!("in {days} days"),
            }
        } else {
            match (now - self.expires) / 86_400 {
                0 => "expired today".into(),
                1 => "expired 1 day ago".into(),
                ago => format!("expired {ago} days ago"),
            }
        }
    }
}

/// The rows expiring before `now + days`, expired ones included, soonest first.
pub fn expiring_within<'a>(
    rows: impl IntoIterator<Item = (&'a str, ObjectKind, &'a ObjectItem)>,
    now: i64,
    days: u32,
) -> Vec<Expiry> {
    let until = now + i64::from(days) * 86_400;
    let mut expiries: Vec<Expiry> = rows
        .into_iter()
        .filter_map(|(vault_name, kind, item)| {
            let expires = item.attributes.exp?;
            (expires <= until).then(|| Expiry {
                vault_name: vault_name.to_owned(),
                kind,
                name: item.name(),
                identifier: item.identifier().to_owned(),
                expires,
                enabled: item.enabled(),
                as_of: None,
            })
        })
        .collect();
    expiries.sort_by(|a, b| {
        (a.expires, &a.vault_name, &a.name).cmp(&(b.expires, &b.vault_name, &b.name))
    });
    expiries
}

fn ics_time(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|at| {
            format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            )
        })
        .unwrap_or_default()
}

/// RFC 5545 §3.3.11: backslash, semicolon, comma and newline are escaped in text values.
fn ics_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            other => escaped.push(other),
        }
    }
    escaped
}

/// RFC 5545 §3.1: lines longer than 75 octets are folded (CRLF and a space), never inside a character.
fn push_folded(out: &mut String, line: &str) {
    let mut width = 0;
    for character in line.chars() {
        let octets = character.len_utf8();
        if width + octets > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(character);
        width += octets;
    }
    out.push_str("\r\n");
}

/// The calendar file: one event per expiry, at the moment of expiry, with a reminder a week before.
pub fn to_icalendar(expiries: &[Expiry], now: i64) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Vaultscope//Key Vault expiry calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_folded(&mut out, line);
    }
    let stamp = ics_time(now);
    for expiry in expiries {
        let uid = format!(
            "{}-{}@vaultscope",
            expiry
                .identifier
                .trim_start_matches("https://")
                .replace('/', "-"),
            expiry.expires
        );
        let summary = format!(
            "{} {} in {} expires",
            expiry.kind.singular(),
            expiry.name,
            expiry.vault_name
        );
        let description = format!(
            "Vault: {}\nObject: {} {}\nIdentifier: {}",
            expiry.vault_name,
            expiry.kind.singular(),
            expiry.name,
            expiry.identifier
        );
        for line in [
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}", ics_text(&uid)),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART:{}", ics_time(expiry.expires)),
            format!("DTEND:{}", ics_time(expiry.expires + 1800)),
            format!("SUMMARY:{}", ics_text(&summary)),
            format!("DESCRIPTION:{}", ics_text(&description)),
            format!("URL:{}", expiry.identifier),
            "TRANSP:TRANSPARENT".to_owned(),
            "BEGIN:VALARM".to_owned(),
            "ACTION:DISPLAY".to_owned(),
            format!("DESCRIPTION:{}", ics_text(&summary)),
            "TRIGGER:-P7D".to_owned(),
            "END:VALARM".to_owned(),
            "END:VEVENT".to_owned(),
        ] {
            push_folded(&mut out, &line);
        }
    }
    push_folded(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, exp: Option<i64>) -> ObjectItem {
        let mut item = ObjectItem {
            id: Some(format!("https://kv.vault.azure.net/secrets/{name}")),
            ..ObjectItem::default()
        };
        item.attributes.exp = exp;
        item
    }

    #[test]
    fn lists_what_expires_soonest_first_and_writes_one_event_each() {
        let now = 1_800_000_000;
        let rows = [
            row("later", Some(now + 20 * 86_400)),
            row("gone", Some(now - 3 * 86_400)),
            row("never", None),
            row("far", Some(now + 400 * 86_400)),
        ];
        let expiries = expiring_within(
            rows.iter()
                .map(|item| ("kv, prod", ObjectKind::Secret, item)),
            now,
            30,
        );
        let names: Vec<&str> = expiries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["gone", "later"]);
        assert_eq!(expiries[0].when(now), "expired 3 days ago");
        assert_eq!(expiries[1].when(now), "in 20 days");
        let soon = Expiry {
            expires: now + 23 * 3600,
            ..expiries[1].clone()
        };
        assert_eq!(soon.when(now), "within a day");
        let ics = to_icalendar(&expiries, now);
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);
        assert!(ics.contains("SUMMARY:secret gone in kv\\, prod expires\r\n"));
        assert!(ics.lines().all(|line| line.len() <= 76), "{ics}");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }
}
