//! Device replies read leniently: what real firmware sends is not always JSON.
//!
//! A sensor that failed writes a bare `nan` or `inf`; a long SENSOR message arrives cut off
//! (arendst/Tasmota#11680); SML scripts repeat a key in one object (arendst/Tasmota#17260).
//! `parse` keeps everything it can: `nan`/`inf` become `NonFinite` (never a reading), every
//! value complete before a cut or an unreadable byte is kept, repeated keys stay in order, and
//! numbers keep the exact text the device wrote (`2e3` stays `2e3`). What it could not read is
//! said in `Parsed::problem`. `Node::to_json` writes the tree back as valid JSON with the
//! device's own digits, key order and repeated keys.

use std::fmt::Write as _;

/// A JSON value as the device wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Keys in the device's order, repeated ones kept.
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    /// The number's own text.
    Number(String),
    String(String),
    Bool(bool),
    Null,
    /// `nan`, `inf`, `-nan`: not JSON, a failed sensor's word.
    NonFinite(String),
}

/// What `parse` made of a payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub node: Node,
    /// Why the reply was not plain JSON, in words (`cut off after 120 bytes`, `nan for
    /// SI7021-02.Temperature`); `None` when it was.
    pub problem: Option<String>,
    /// Every byte was read: nothing was cut off or unreadable (a `nan` may still be in it).
    pub whole: bool,
}

/// Objects nested deeper than this are not followed (no device nests so deep).
const MAX_DEPTH: usize = 64;

/// Reads a payload leniently; `None` when not even the start of a JSON value is there.
pub fn parse(payload: &[u8]) -> Option<Parsed> {
    let text = String::from_utf8_lossy(payload);
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
        problems: Vec::new(),
        stopped: false,
    };
    reader.blank();
    let node = reader.value(0, "")?;
    reader.blank();
    let whole = !reader.stopped && reader.at == reader.bytes.len();
    if !reader.stopped && reader.at < reader.bytes.len() {
        reader.problems.push(format!(
            "unreadable after byte {} of {}",
            reader.at,
            reader.bytes.len()
        ));
    }
    let problem = (!reader.problems.is_empty()).then(|| reader.problems.join("; "));
    Some(Parsed {
        node,
        problem,
        whole,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    problems: Vec<String>,
    /// A cut or an unreadable byte was met: nothing after it is read.
    stopped: bool,
}

impl Reader<'_> {
    fn blank(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Stops reading here, saying why.
    fn stop(&mut self, why: String) {
        if !self.stopped {
            self.problems.push(why);
            self.stopped = true;
        }
    }

    fn cut(&mut self) {
        let len = self.bytes.len();
        self.stop(format!("cut off after {len} bytes"));
    }

    /// One value; `path` names it in a problem.
    fn value(&mut self, depth: usize, path: &str) -> Option<Node> {
        if self.stopped {
            return None;
        }
        self.blank();
        let Some(b) = self.peek() else {
            self.cut();
            return None;
        };
        if depth > MAX_DEPTH {
            self.stop(format!(
                "nested deeper than {MAX_DEPTH} at byte {}",
                self.at
            ));
            return None;
        }
        match b {
            b'{' => Some(self.object(depth, path)),
            b'[' => Some(self.array(depth, path)),
            b'"' => self.string().map(Node::String),
            b'-' | b'0'..=b'9' => self.number(path),
            b't' | b'f' | b'n' | b'i' | b'N' | b'I' => self.word(path, ""),
            _ => {
                self.stop(format!("unreadable at byte {}", self.at));
                None
            }
        }
    }

    fn object(&mut self, depth: usize, path: &str) -> Node {
        self.at += 1; // {
        let mut entries = Vec::new();
        loop {
            self.blank();
            match self.peek() {
                None => {
                    self.cut();
                    break;
                }
                Some(b'}') => {
                    self.at += 1;
                    break;
                }
                Some(b',') if !entries.is_empty() => {
                    self.at += 1;
                    continue;
                }
                Some(b'"') => {}
                Some(_) => {
                    self.stop(format!("unreadable at byte {}", self.at));
                    break;
                }
            }
            let Some(key) = self.string() else { break };
            self.blank();
            match self.peek() {
                Some(b':') => self.at += 1,
                None => {
                    self.cut();
                    break;
                }
                Some(_) => {
                    self.stop(format!("unreadable at byte {}", self.at));
                    break;
                }
            }
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match self.value(depth + 1, &inner) {
                Some(node) => entries.push((key, node)),
                None => break,
            }
            if self.stopped {
                break;
            }
        }
        Node::Object(entries)
    }

    fn array(&mut self, depth: usize, path: &str) -> Node {
        self.at += 1; // [
        let mut items = Vec::new();
        loop {
            self.blank();
            match self.peek() {
                None => {
                    self.cut();
                    break;
                }
                Some(b']') => {
                    self.at += 1;
                    break;
                }
                Some(b',') if !items.is_empty() => {
                    self.at += 1;
                    continue;
                }
                Some(_) => {}
            }
            match self.value(depth + 1, path) {
                Some(node) => items.push(node),
                None => break,
            }
            if self.stopped {
                break;
            }
        }
        Node::Array(items)
    }

    /// A string (the opening quote is next); control characters are taken as they come.
    fn string(&mut self) -> Option<String> {
        self.at += 1; // "
        let mut out = String::new();
        let start = self.at;
        loop {
            let Some(b) = self.peek() else {
                self.cut();
                return None;
            };
            match b {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                b'\\' => {
                    let Some(e) = self.bytes.get(self.at + 1).copied() else {
                        self.cut();
                        return None;
                    };
                    self.at += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let Some(unit) = self.hex4() else {
                                self.stop(format!("a bad \\u escape at byte {}", self.at));
                                return None;
                            };
                            // A surrogate pair, or a lone half (shown as U+FFFD).
                            if (0xD800..0xDC00).contains(&unit)
                                && self.bytes.get(self.at) == Some(&b'\\')
                                && self.bytes.get(self.at + 1) == Some(&b'u')
                            {
                                let back = self.at;
                                self.at += 2;
                                match self.hex4() {
                                    Some(low) if (0xDC00..0xE000).contains(&low) => {
                                        let c = 0x10000
                                            + ((u32::from(unit) - 0xD800) << 10)
                                            + (u32::from(low) - 0xDC00);
                                        out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                                    }
                                    _ => {
                                        self.at = back;
                                        out.push('\u{FFFD}');
                                    }
                                }
                            } else {
                                out.push(char::from_u32(u32::from(unit)).unwrap_or('\u{FFFD}'));
                            }
                        }
                        other => out.push(char::from(other)),
                    }
                }
                _ => {
                    // The text is valid UTF-8 (lossy): copy the run up to the next quote or escape.
                    let run_end = self.bytes[self.at..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'\\')
                        .map_or(self.bytes.len(), |p| self.at + p);
                    out.push_str(
                        std::str::from_utf8(&self.bytes[self.at..run_end]).unwrap_or_default(),
                    );
                    self.at = run_end;
                }
            }
            let _ = start;
        }
    }

    fn hex4(&mut self) -> Option<u16> {
        let hex = self.bytes.get(self.at..self.at + 4)?;
        let value = u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        self.at += 4;
        Some(value)
    }

    /// A number as JSON writes it, kept as text; `-nan`/`-inf` too.
    fn number(&mut self, path: &str) -> Option<Node> {
        let start = self.at;
        if self.peek() == Some(b'-')
            && matches!(self.bytes.get(self.at + 1), Some(b'n' | b'i' | b'N' | b'I'))
        {
            self.at += 1;
            return self.word(path, "-");
        }
        let digits = |r: &mut Self| {
            let from = r.at;
            while r.peek().is_some_and(|b| b.is_ascii_digit()) {
                r.at += 1;
            }
            r.at > from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let mut ok = digits(self);
        if ok && self.peek() == Some(b'.') {
            self.at += 1;
            ok = digits(self);
        }
        if ok && matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            ok = digits(self);
        }
        if !ok {
            if self.at >= self.bytes.len() {
                self.cut();
            } else {
                self.stop(format!("unreadable number at byte {start}"));
            }
            return None;
        }
        if self.at >= self.bytes.len() {
            // A number at the very end may be cut short: it is not kept.
            self.cut();
            return None;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or("0");
        let integer = text.trim_start_matches('-');
        if integer.len() > 1 && integer.starts_with('0') && integer.as_bytes()[1].is_ascii_digit() {
            self.stop(format!("unreadable number at byte {start}"));
            return None;
        }
        Some(Node::Number(text.to_string()))
    }

    /// `true`, `false`, `null`, or a non-finite word (`nan`, `inf`, `NaN`, `Infinity`), after
    /// `sign` (`-` for `-nan`).
    fn word(&mut self, path: &str, sign: &str) -> Option<Node> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        let node = match word {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            "null" => Node::Null,
            w if ["nan", "inf", "infinity"].contains(&w.to_ascii_lowercase().as_str()) => {
                let at = if path.is_empty() { "the value" } else { path };
                self.problems.push(format!("{sign}{w} for {at}"));
                Node::NonFinite(format!("{sign}{w}"))
            }
            _ if !sign.is_empty() => {
                self.stop(format!("unreadable at byte {start}"));
                return None;
            }
            _ if self.at >= self.bytes.len() => {
                self.cut();
                return None;
            }
            _ => {
                self.stop(format!("unreadable at byte {start}"));
                return None;
            }
        };
        if self.at >= self.bytes.len() && !matches!(node, Node::NonFinite(_)) {
            // `tru` at the end is a cut, not a word.
            if !matches!(word, "true" | "false" | "null") {
                self.cut();
                return None;
            }
        }
        Some(node)
    }
}

impl Node {
    /// The value under `key` in an object (the first, if it repeats).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// Valid JSON with the device's digits, key order and repeated keys; a non-finite word is
    /// written as `null` (JSON has no `nan`).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            Node::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Node::Number(text) => out.push_str(text),
            Node::String(s) => write_string(out, s),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Null | Node::NonFinite(_) => out.push_str("null"),
        }
    }
}

/// A JSON string: quotes, backslashes and control characters escaped.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(payload: &str) -> (String, Option<String>) {
        let parsed = parse(payload.as_bytes()).unwrap();
        (parsed.node.to_json(), parsed.problem)
    }

    #[test]
    fn plain_json_comes_back_digit_for_digit() {
        let text = r#"{"a":2e3,"b":45.0,"c":123456789012345678901234567890,"d":[1,-0.5],"e":"x\"y","f":true,"g":null}"#;
        assert_eq!(json(text), (text.to_string(), None));
    }

    #[test]
    fn nan_cuts_and_repeats() {
        let (out, problem) = json(
            r#"{"Time":"x","SI7021-1":{"Temperature":nan,"Humidity":-inf},"AM2301":{"Temperature":21.5}}"#,
        );
        assert_eq!(
            out,
            r#"{"Time":"x","SI7021-1":{"Temperature":null,"Humidity":null},"AM2301":{"Temperature":21.5}}"#
        );
        assert_eq!(
            problem.as_deref(),
            Some("nan for SI7021-1.Temperature; -inf for SI7021-1.Humidity")
        );
        // arendst/Tasmota#11680: the closing brace never came
        let (out, problem) =
            json(r#"{"Time":"t","SML  ":{"Total_in":720.2593,"Power_curr":-821  ,"daily":0.00  }"#);
        assert_eq!(
            out,
            r#"{"Time":"t","SML  ":{"Total_in":720.2593,"Power_curr":-821,"daily":0.00}}"#
        );
        assert!(problem.unwrap().starts_with("cut off"));
        // cut in the middle of a value: the value is dropped, the rest kept
        let (out, _) = json(r#"{"A":{"T":1.5,"H":40.2"#);
        assert_eq!(out, r#"{"A":{"T":1.5}}"#);
        let (out, _) = json(r#"{"A":{"T":1.5,"Na"#);
        assert_eq!(out, r#"{"A":{"T":1.5}}"#);
        // repeated keys stay, in order
        let (out, problem) = json(r#"{"":{"Power_curr":1,"Power_curr":2}}"#);
        assert_eq!(out, r#"{"":{"Power_curr":1,"Power_curr":2}}"#);
        assert_eq!(problem, None);
        // garbage after a complete value
        let (out, problem) = json(r#"{"a":1} trailing"#);
        assert_eq!(out, r#"{"a":1}"#);
        assert!(problem.is_some());
        assert!(parse(b"ON").is_none());
        assert!(parse(b"").is_none());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever arrives, reading it never panics and what comes back is valid JSON.
            #[test]
            fn any_payload_gives_valid_json(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                if let Some(parsed) = parse(&bytes) {
                    let text = parsed.node.to_json();
                    prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "{}", text);
                }
            }

            #[test]
            fn json_like_payloads_too(text in r#"[{}\[\]":,0-9a-z.eE+\- \\]{0,80}"#) {
                if let Some(parsed) = parse(text.as_bytes()) {
                    let out = parsed.node.to_json();
                    prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "{}", out);
                }
            }
        }
    }
}
