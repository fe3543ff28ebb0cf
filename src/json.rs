//! JSON from devices, passed on without changing a digit and never as invalid JSON.
//!
//! serde_json's `RawValue` accepts a lone UTF-16 surrogate escape (`"\ud800"`), which strict
//! readers such as jq refuse; `safe` finds those. `compact` removes the whitespace between
//! tokens of valid JSON without parsing a number, so a 30-digit integer stays 30 digits.
//! (Parsed values keep their digits too: serde_json's `arbitrary_precision` is on.)

/// Does valid JSON text hold only escapes that every JSON reader accepts?
pub fn safe(json: &str) -> bool {
    let bytes = json.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    // A high surrogate escape waiting for its low half.
    let mut pending_high = false;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            in_string = b == b'"';
            i += 1;
            continue;
        }
        match b {
            b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                let unit = json
                    .get(i + 2..i + 6)
                    .and_then(|h| u16::from_str_radix(h, 16).ok());
                let Some(unit) = unit else { return false };
                match unit {
                    0xD800..=0xDBFF if pending_high => return false,
                    0xD800..=0xDBFF => pending_high = true,
                    0xDC00..=0xDFFF if !pending_high => return false,
                    _ if pending_high && !(0xDC00..=0xDFFF).contains(&unit) => return false,
                    _ => pending_high = false,
                }
                i += 6;
                continue;
            }
            _ if pending_high => return false,
            b'\\' => i += 2,
            b'"' => {
                in_string = false;
                i += 1;
            }
            _ => i += 1,
        }
    }
    !pending_high
}

/// Valid JSON without the whitespace between its tokens; strings and numbers untouched.
pub fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogates_in_pairs_only() {
        assert!(safe(r#"{"s":"\ud83d\ude00 ok","t":"\u00e9"}"#));
        assert!(safe(r#"["\\ud800"]"#)); // an escaped backslash, not an escape
        assert!(!safe(r#"{"s":"\ud800"}"#));
        assert!(!safe(r#"{"s":"\udc00"}"#));
        assert!(!safe(r#"{"s":"\ud800x"}"#));
        assert!(!safe(r#"{"s":"\ud800\ud800"}"#));
        assert!(!safe(r#"{"s":"\ud800\u0041"}"#));
    }

    #[test]
    fn compact_keeps_every_digit_and_string() {
        let text = "{\n  \"n\": 123456789012345678901234567890,\n  \"f\": 45.0,\n  \"s\": \"a  b\\\" c\"\n}";
        assert_eq!(
            compact(text),
            r#"{"n":123456789012345678901234567890,"f":45.0,"s":"a  b\" c"}"#
        );
    }
}
