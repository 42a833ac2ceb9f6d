//! Text that came from outside (a service's body, a name, a tag) made safe to show or to put in an error:
//! bidi controls, zero-width and control characters shown escaped, and serde's decode errors stripped of
//! the value they would quote.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `character` changes how the text around it reads without being visible itself: C0/C1 controls,
/// the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C),
/// zero-width characters (U+200B–U+200D, U+2060, U+FEFF), soft hyphen and the other format characters
/// Unicode lists as default-ignorable that fonts draw as nothing.
pub fn is_deceptive(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// `text` with every deceptive character written as a visible `\u{…}` escape, so `evil\u{202E}txt.exe`
/// reads as what it is, on screen and when copied as plain text. Borrowed when nothing needed escaping
/// (the common case: no allocation per drawn row).
pub fn escape_deceptive(text: &str) -> Cow<'_, str> {
    escape_where(text, is_deceptive)
}

/// `escape_deceptive` for text of several lines (pretty JSON): line breaks stay line breaks.
pub fn escape_deceptive_keeping_lines(text: &str) -> Cow<'_, str> {
    escape_where(text, |character| {
        character != '\n' && is_deceptive(character)
    })
}

fn escape_where(text: &str, escaped_here: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escaped_here) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        if escaped_here(character) {
            let _ = write!(escaped, "\\u{{{:X}}}", u32::from(character));
        } else {
            escaped.push(character);
        }
    }
    Cow::Owned(escaped)
}

/// What went wrong decoding a body, without the body: serde_json quotes the offending value (`invalid type:
/// string "s3cr3t", expected …`), and a secret's value must never reach a message. Keeps the kind of error,
/// field names (in backticks) and the position.
pub fn json_error_detail(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let without_quotes = match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if first < last => {
            format!("{}\"…\"{}", &message[..first], &message[last + 1..])
        }
        (Some(first), _) => format!("{}\"…", &message[..first]),
        _ => message,
    };
    // `unknown variant `text`` quotes the value too (an enum decoded from a string field).
    if without_quotes.starts_with("unknown variant") {
        return format!(
            "an unexpected enumeration value at line {} column {}",
            error.line(),
            error.column()
        );
    }
    without_quotes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_zero_width_and_controls_are_escaped() {
        assert_eq!(escape_deceptive("plain-name"), Cow::Borrowed("plain-name"));
        assert_eq!(
            escape_deceptive("invoice\u{202E}fdp.exe"),
            "invoice\\u{202E}fdp.exe"
        );
        assert_eq!(escape_deceptive("a\u{200B}b"), "a\\u{200B}b");
        assert_eq!(
            escape_deceptive("line\nbreak\u{7}"),
            "line\\u{A}break\\u{7}"
        );
        assert_eq!(escape_deceptive("\u{FEFF}tag"), "\\u{FEFF}tag");
        assert_eq!(escape_deceptive("café ünïcødé 名前"), "café ünïcødé 名前");
        assert_eq!(
            escape_deceptive_keeping_lines("{\n  \"a\": \"x\u{202E}y\"\n}"),
            "{\n  \"a\": \"x\\u{202E}y\"\n}"
        );
    }

    #[test]
    fn a_decode_error_never_quotes_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Bundle {
            id: u64,
        }
        let error = serde_json::from_str::<Bundle>(r#"{"id":"hunter2-secret"}"#).expect_err("bad");
        let detail = json_error_detail(&error);
        assert!(!detail.contains("hunter2"), "{detail}");
        assert!(detail.contains("invalid type"), "{detail}");
        assert!(detail.contains("line 1"), "{detail}");

        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Kind {
            A,
        }
        let error = serde_json::from_str::<Kind>(r#""hunter2-secret""#).expect_err("bad");
        assert!(!json_error_detail(&error).contains("hunter2"));
        let error = serde_json::from_str::<Bundle>(r#"{}"#).expect_err("missing");
        assert!(json_error_detail(&error).contains("`id`"));
    }
}
