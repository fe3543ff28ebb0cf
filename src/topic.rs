//! The Tasmota topic grammar, and the only module that knows it.
//!
//! A FullTopic template (`%prefix%/%topic%/`) is parsed once into tokens, rendered the way the
//! firmware's `GetTopic_P` builds a topic (substitute, drop `#`, collapse `//`, add the trailing
//! `/`, append the upper-cased suffix; cmnd gets `/%prefix%` when the template lacks it), matched
//! backwards from an incoming MQTT topic to (class, device topic, suffix), and turned into the
//! subscription filters that cover it. Fallback and group topics are built here too.

use std::fmt;

use serde::Serialize;

/// The firmware's default FullTopic.
pub const DEFAULT_FULL_TOPIC: &str = "%prefix%/%topic%/";
/// The firmware's default GroupTopic (`sonoffs` on devices first flashed with 6.x or older).
pub const DEFAULT_GROUP_TOPIC: &str = "tasmotas";
/// Native discovery: retained `tasmota/discovery/<MAC>/config` and `/sensors`.
pub const DISCOVERY_PREFIX: &str = "tasmota/discovery/";

/// The three message classes; each has its own configurable prefix word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Cmnd,
    Stat,
    Tele,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Cmnd, Class::Stat, Class::Tele];

    /// The built-in word, which the fallback topic always uses whatever the prefixes say.
    pub fn word(self) -> &'static str {
        match self {
            Class::Cmnd => "cmnd",
            Class::Stat => "stat",
            Class::Tele => "tele",
        }
    }

    /// For a template without `%prefix%`, stat and tele land on one path; the suffix tells them
    /// apart (telemetry names are few and fixed).
    pub fn of_suffix(suffix: &str) -> Class {
        let tele = [
            "LWT",
            "STATE",
            "SENSOR",
            "UPTIME",
            "HASS_STATE",
            "MARGINS",
            "ENERGY",
        ];
        if tele.contains(&suffix) || suffix.starts_with("INFO") {
            Class::Tele
        } else {
            Class::Stat
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Prefix1/2/3: the words `%prefix%` stands for. An empty word means the default, as in the
/// firmware, which refills an empty Prefix setting with its default.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Prefixes {
    pub cmnd: String,
    pub stat: String,
    pub tele: String,
}

impl Default for Prefixes {
    fn default() -> Self {
        Prefixes {
            cmnd: "cmnd".into(),
            stat: "stat".into(),
            tele: "tele".into(),
        }
    }
}

impl Prefixes {
    pub fn get(&self, class: Class) -> &str {
        let word = match class {
            Class::Cmnd => &self.cmnd,
            Class::Stat => &self.stat,
            Class::Tele => &self.tele,
        };
        if word.is_empty() { class.word() } else { word }
    }

    pub fn is_default(&self) -> bool {
        Class::ALL.iter().all(|&c| self.get(c) == c.word())
    }
}

/// One piece of a FullTopic template.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Token {
    Text(String),
    Prefix,
    Topic,
    Hostname,
    Id,
}

impl Token {
    fn placeholder(&self) -> Option<&'static str> {
        match self {
            Token::Text(_) => None,
            Token::Prefix => Some("%prefix%"),
            Token::Topic => Some("%topic%"),
            Token::Hostname => Some("%hostname%"),
            Token::Id => Some("%id%"),
        }
    }
}

/// Why a template or a topic word was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrammarError {
    UnknownToken { token: String, position: usize },
    Unclosed { position: usize },
    Forbidden { what: &'static str, position: usize },
    MissingVar { token: &'static str },
}

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrammarError::UnknownToken { token, position } => write!(
                f,
                "unknown placeholder `{token}` at position {position} (known: %prefix%, %topic%, %hostname%, %id%)"
            ),
            GrammarError::Unclosed { position } => {
                write!(
                    f,
                    "`%` at position {position} opens a placeholder that is never closed"
                )
            }
            GrammarError::Forbidden { what, position } => {
                write!(f, "{what} at position {position} is not allowed in a topic")
            }
            GrammarError::MissingVar { token } => write!(
                f,
                "the FullTopic uses {token} but the device has no {}; add `{}` to its profile entry",
                if *token == "%id%" { "MAC" } else { "hostname" },
                if *token == "%id%" { "mac" } else { "hostname" }
            ),
        }
    }
}

impl std::error::Error for GrammarError {}

/// Refuses what no topic may contain: the wildcards `+` and `#`, and NUL.
pub fn check_topic_word(word: &str) -> Result<(), GrammarError> {
    for (position, c) in word.char_indices() {
        let what = match c {
            '+' => "the wildcard `+`",
            '#' => "the wildcard `#`",
            '\0' => "a NUL character",
            _ => continue,
        };
        return Err(GrammarError::Forbidden { what, position });
    }
    Ok(())
}

/// A parsed FullTopic template. `Display` gives back exactly the text it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Template {
    tokens: Vec<Token>,
}

impl Default for Template {
    fn default() -> Self {
        Template::parse(DEFAULT_FULL_TOPIC).expect("the default FullTopic should parse")
    }
}

impl Template {
    /// Parses `%prefix%`, `%topic%`, `%hostname%` and `%id%` (case-sensitive, as the firmware
    /// matches them). `#` is accepted and dropped on rendering, like the firmware; `+` and NUL
    /// are refused.
    pub fn parse(text: &str) -> Result<Template, GrammarError> {
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find(['%', '+', '\0']) {
            literal.push_str(&rest[..start]);
            let position = offset + start;
            if !rest[start..].starts_with('%') {
                let what = if rest[start..].starts_with('+') {
                    "the wildcard `+`"
                } else {
                    "a NUL character"
                };
                return Err(GrammarError::Forbidden { what, position });
            }
            let after = &rest[start + 1..];
            let end = after.find('%').ok_or(GrammarError::Unclosed { position })?;
            let token = match &after[..end] {
                "prefix" => Token::Prefix,
                "topic" => Token::Topic,
                "hostname" => Token::Hostname,
                "id" => Token::Id,
                other => {
                    return Err(GrammarError::UnknownToken {
                        token: format!("%{other}%"),
                        position,
                    });
                }
            };
            if !literal.is_empty() {
                tokens.push(Token::Text(std::mem::take(&mut literal)));
            }
            tokens.push(token);
            let consumed = start + end + 2;
            rest = &rest[consumed..];
            offset += consumed;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            tokens.push(Token::Text(literal));
        }
        Ok(Template { tokens })
    }

    fn has(&self, token: &Token) -> bool {
        self.tokens.contains(token)
    }

    /// The firmware subscribes to group and fallback topics only when the template has `%topic%`.
    pub fn has_topic(&self) -> bool {
        self.has(&Token::Topic)
    }

    /// Can a device with these values fill the template? Checked without rendering anything.
    pub fn check_vars(&self, vars: &Vars) -> Result<(), GrammarError> {
        if vars.hostname.is_none() && self.has(&Token::Hostname) {
            return Err(GrammarError::MissingVar {
                token: "%hostname%",
            });
        }
        if vars.mac.is_none() && self.has(&Token::Id) {
            return Err(GrammarError::MissingVar { token: "%id%" });
        }
        Ok(())
    }

    pub fn is_default(&self) -> bool {
        self.to_string() == DEFAULT_FULL_TOPIC
    }

    /// The tokens as the firmware uses them for `class`: cmnd gets `/%prefix%` appended when the
    /// template lacks it (stat and tele are not patched).
    fn tokens_for(&self, class: Class) -> Vec<Token> {
        let mut tokens = self.tokens.clone();
        if class == Class::Cmnd && !self.has(&Token::Prefix) {
            tokens.push(Token::Text("/".into()));
            tokens.push(Token::Prefix);
        }
        tokens
    }

    /// The template with its trailing `/` made sure of, written back as text: what `discover`
    /// reports as a device's FullTopic.
    pub fn normalized(&self) -> String {
        let mut text = normalize(&self.to_string().replace('#', ""));
        if text.is_empty() {
            text.push('/');
        }
        text
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for token in &self.tokens {
            match token {
                Token::Text(text) => f.write_str(text)?,
                other => f.write_str(other.placeholder().unwrap_or_default())?,
            }
        }
        Ok(())
    }
}

/// Drops `#`-free input's empty levels the way the firmware does (`//` → `/`) and adds the
/// trailing `/`.
fn normalize(text: &str) -> String {
    let mut out = collapse(text);
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// What a device fills a template with.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vars<'a> {
    pub topic: &'a str,
    pub hostname: Option<&'a str>,
    /// 12 upper-case hex digits, no colons: what `%id%` stands for.
    pub mac: Option<&'a str>,
}

/// A FullTopic template with the prefix words that go into it: everything needed to name a
/// device's topics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Layout {
    pub template: Template,
    pub prefixes: Prefixes,
}

/// A layout's match tokens for each class, built once for reading many topics back.
#[derive(Clone, Debug)]
pub struct Matcher {
    classes: Vec<(Class, bool, Vec<Token>)>,
}

/// A topic read back, borrowing from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedRef<'a> {
    pub class: Class,
    pub topic: &'a str,
    pub suffix: &'a str,
    pub hostname: Option<&'a str>,
    pub id: Option<&'a str>,
}

impl Matcher {
    /// See [`Layout::parse`]; allocates nothing.
    pub fn parse<'a>(&self, mqtt_topic: &'a str) -> Option<ParsedRef<'a>> {
        let (base, suffix) = split_last(mqtt_topic)?;
        if suffix.is_empty() || base == "/" {
            return None;
        }
        for (class, prefixed, tokens) in &self.classes {
            let mut caps = Captures::default();
            if match_tokens(tokens, base, &mut caps) {
                let class = if *prefixed {
                    *class
                } else {
                    Class::of_suffix(suffix)
                };
                return Some(ParsedRef {
                    class,
                    topic: caps.topic?,
                    suffix,
                    hostname: caps.hostname,
                    id: caps.id,
                });
            }
        }
        None
    }
}

/// An incoming topic read back through a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub class: Class,
    pub topic: String,
    pub suffix: String,
    pub hostname: Option<String>,
    pub id: Option<String>,
}

impl Layout {
    /// A layout of this template with the default prefix words.
    pub fn with_template(text: &str) -> Result<Layout, GrammarError> {
        Ok(Layout {
            template: Template::parse(text)?,
            prefixes: Prefixes::default(),
        })
    }

    /// The fallback topic's layout: the default template with the built-in words, whatever the
    /// device's own settings are (tasmota-mqtt.md 1.6).
    pub fn fallback() -> Layout {
        Layout::default()
    }

    /// The topic the firmware builds for `class`, without the suffix: `stat/kitchen/`.
    pub fn base(&self, class: Class, vars: &Vars) -> Result<String, GrammarError> {
        let mut text = String::new();
        for token in self.template.tokens_for(class) {
            match token {
                Token::Text(t) => text.push_str(&t),
                Token::Prefix => text.push_str(self.prefixes.get(class)),
                Token::Topic => text.push_str(vars.topic),
                Token::Hostname => {
                    text.push_str(vars.hostname.ok_or(GrammarError::MissingVar {
                        token: "%hostname%",
                    })?)
                }
                Token::Id => {
                    text.push_str(vars.mac.ok_or(GrammarError::MissingVar { token: "%id%" })?)
                }
            }
        }
        Ok(normalize(&text.replace('#', "")))
    }

    /// The full topic: base plus the command or reply name. Reply names are upper case in the
    /// firmware; commands we publish keep the user's spelling (the firmware upper-cases them).
    pub fn topic(&self, class: Class, vars: &Vars, suffix: &str) -> Result<String, GrammarError> {
        Ok(self.base(class, vars)? + suffix)
    }

    /// Reads an incoming topic back: which class, which device topic, which suffix. Topics may
    /// hold `/`; when several readings fit, the one with the shortest device topic wins. To read
    /// many topics, compile a [`Matcher`] once.
    pub fn parse(&self, mqtt_topic: &str) -> Option<Parsed> {
        self.matcher().parse(mqtt_topic).map(|p| Parsed {
            class: p.class,
            topic: p.topic.to_string(),
            suffix: p.suffix.to_string(),
            hostname: p.hostname.map(str::to_string),
            id: p.id.map(str::to_string),
        })
    }

    /// The layout compiled for reading topics back.
    pub fn matcher(&self) -> Matcher {
        let has_prefix = self.template.has(&Token::Prefix);
        let classes = Class::ALL
            .into_iter()
            // without %prefix%, stat and tele are one path: the suffix tells them apart
            .filter(|&class| has_prefix || class != Class::Tele)
            .map(|class| {
                let prefixed = has_prefix || class == Class::Cmnd;
                (
                    class,
                    prefixed,
                    matchable(&self.template.tokens_for(class), self.prefixes.get(class)),
                )
            })
            .collect();
        Matcher { classes }
    }

    /// The filter for one device's messages of one class: `stat/kitchen/+`.
    pub fn device_filter(&self, class: Class, vars: &Vars) -> Result<String, GrammarError> {
        Ok(self.base(class, vars)? + "+")
    }

    /// The narrowest filter that covers every device of this layout for one class:
    /// `stat/#` for `%prefix%/%topic%/`, `+/stat/+` for `%topic%/%prefix%/`. A level that holds
    /// a placeholder becomes `+`; when the device topic ends the path, `#` also takes in topics
    /// with `/` in them. Read messages back with [`Layout::parse`], which rejects the extras.
    pub fn all_filter(&self, class: Class) -> String {
        let tokens = matchable(&self.template.tokens_for(class), self.prefixes.get(class));
        // Split into levels, remembering which hold a placeholder.
        let mut levels: Vec<(String, bool, bool)> = vec![(String::new(), false, false)];
        for token in &tokens {
            match token {
                Token::Text(text) => {
                    let mut parts = text.split('/');
                    if let Some(first) = parts.next() {
                        levels
                            .last_mut()
                            .expect("levels is never empty")
                            .0
                            .push_str(first);
                    }
                    for part in parts {
                        levels.push((part.to_string(), false, false));
                    }
                }
                other => {
                    let level = levels.last_mut().expect("levels is never empty");
                    level.1 = true;
                    level.2 |= *other == Token::Topic;
                }
            }
        }
        // The text ends with `/`, so the last level is the (empty) suffix slot.
        levels.pop();
        let topic_last = levels.last().is_some_and(|l| l.2);
        let mut filter: Vec<String> = levels
            .into_iter()
            .map(|(text, var, _)| if var { "+".into() } else { text })
            .collect();
        if topic_last {
            filter.pop();
            filter.push("#".into());
        } else {
            filter.push("+".into());
        }
        filter.join("/")
    }
}

/// The tokens with the prefix word written in, `#` dropped, adjacent text merged, `//` collapsed
/// and the trailing `/` added: the shape a rendered topic has.
fn matchable(tokens: &[Token], prefix: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    for token in tokens {
        let token = match token {
            Token::Prefix => Token::Text(prefix.to_string()),
            Token::Text(t) => Token::Text(t.replace('#', "")),
            other => other.clone(),
        };
        match (out.last_mut(), token) {
            (Some(Token::Text(prev)), Token::Text(t)) => prev.push_str(&t),
            (_, Token::Text(t)) if t.is_empty() => {}
            (_, token) => out.push(token),
        }
    }
    for token in &mut out {
        if let Token::Text(t) = token {
            *t = collapse(t);
        }
    }
    match out.last_mut() {
        Some(Token::Text(t)) if t.ends_with('/') => {}
        Some(Token::Text(t)) => t.push('/'),
        _ => out.push(Token::Text("/".into())),
    }
    out
}

fn collapse(text: &str) -> String {
    // One pass, as the firmware's `fulltopic.replace("//", "/")`: `///` becomes `//`.
    text.replace("//", "/")
}

#[derive(Default)]
struct Captures<'a> {
    topic: Option<&'a str>,
    hostname: Option<&'a str>,
    id: Option<&'a str>,
}

/// Backtracking match of tokens against a whole string. Placeholders match one or more
/// characters: `%topic%` may span levels, `%hostname%` may not, `%id%` is 12 upper-case hex.
fn match_tokens<'a>(tokens: &[Token], s: &'a str, caps: &mut Captures<'a>) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return s.is_empty();
    };
    match first {
        Token::Text(t) => s
            .strip_prefix(t.as_str())
            .is_some_and(|r| match_tokens(rest, r, caps)),
        Token::Prefix => unreachable!("matchable() writes the prefix in"),
        Token::Id => {
            let ok = s.len() >= 12
                && s.as_bytes()[..12]
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b));
            let matched = ok && match_tokens(rest, &s[12..], caps);
            if matched {
                caps.id = Some(&s[..12]);
            }
            matched
        }
        Token::Topic | Token::Hostname => {
            let within_level = *first == Token::Hostname;
            let ends = s.char_indices().map(|(i, _)| i).skip(1).chain([s.len()]);
            for end in ends {
                let value = &s[..end];
                if value.is_empty()
                    || value.starts_with('/')
                    || (within_level && value.contains('/'))
                {
                    break;
                }
                if value.ends_with('/') || !match_tokens(rest, &s[end..], caps) {
                    continue;
                }
                if within_level {
                    caps.hostname = Some(value);
                } else {
                    caps.topic = Some(value);
                }
                return true;
            }
            false
        }
    }
}

/// An MQTT topic split before its last level: `stat/kitchen/lamp/POWER` →
/// (`stat/kitchen/lamp/`, `POWER`). The base keeps its `/`, as `Layout::base` renders it.
pub fn split_last(mqtt_topic: &str) -> Option<(&str, &str)> {
    let at = mqtt_topic.rfind('/')?;
    Some((&mqtt_topic[..at + 1], &mqtt_topic[at + 1..]))
}

/// Normalises a MAC to 12 upper-case hex digits without separators; `None` if it is not one.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let hex: String = mac
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(template: &str) -> Layout {
        Layout {
            template: Template::parse(template).unwrap(),
            prefixes: Prefixes::default(),
        }
    }

    fn vars(topic: &str) -> Vars<'_> {
        Vars {
            topic,
            hostname: Some("tasmota-49A3BC-0956"),
            mac: Some("A0B765549A3B"),
        }
    }

    #[test]
    fn parse_and_display_round_trip() {
        for text in [
            "%prefix%/%topic%/",
            "%topic%/%prefix%/",
            "home/%prefix%/%topic%/",
            "nspanel/%topic%/%prefix%/",
            "%prefix%/%hostname%/",
            "tasmota/%id%/%prefix%",
            "%topic%",
            "plain/text/",
            "",
            "a#b/%topic%/",
        ] {
            assert_eq!(Template::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn parse_errors_name_the_token_and_position() {
        let cases = [
            (
                "%prefix%/%topc%/",
                "unknown placeholder `%topc%` at position 9",
            ),
            (
                "%Prefix%/%topic%/",
                "unknown placeholder `%Prefix%` at position 0",
            ),
            (
                "home/%prefix",
                "`%` at position 5 opens a placeholder that is never closed",
            ),
            (
                "%prefix%/+/%topic%/",
                "the wildcard `+` at position 9 is not allowed",
            ),
            ("a\0b", "a NUL character at position 1 is not allowed"),
        ];
        for (text, expected) in cases {
            let err = Template::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    /// Every variation of tasmota-mqtt.md section 1.3: (template, class, topic, suffix, expected).
    #[test]
    fn render_like_the_firmware() {
        let cases = [
            (
                "%prefix%/%topic%/",
                Class::Cmnd,
                "tasmota_49A3BC",
                "POWER",
                "cmnd/tasmota_49A3BC/POWER",
            ),
            (
                "%prefix%/%topic%/",
                Class::Stat,
                "tasmota_49A3BC",
                "RESULT",
                "stat/tasmota_49A3BC/RESULT",
            ),
            (
                "%prefix%/%topic%/",
                Class::Tele,
                "tasmota_49A3BC",
                "STATE",
                "tele/tasmota_49A3BC/STATE",
            ),
            (
                "%topic%/%prefix%/",
                Class::Stat,
                "tasmota_49A3BC",
                "RESULT",
                "tasmota_49A3BC/stat/RESULT",
            ),
            (
                "%topic%/%prefix%/",
                Class::Cmnd,
                "tasmota_49A3BC",
                "POWER",
                "tasmota_49A3BC/cmnd/POWER",
            ),
            (
                "nspanel/%topic%/%prefix%/",
                Class::Stat,
                "ns_panel4",
                "STATUS0",
                "nspanel/ns_panel4/stat/STATUS0",
            ),
            (
                "jktasmota/%prefix%/%topic%/",
                Class::Stat,
                "tasmota_49C88D",
                "STATUS11",
                "jktasmota/stat/tasmota_49C88D/STATUS11",
            ),
            (
                "home/%prefix%/%topic%/",
                Class::Cmnd,
                "kitchen/lamp",
                "Power2",
                "home/cmnd/kitchen/lamp/Power2",
            ),
            // no trailing slash: added
            (
                "%prefix%/%topic%",
                Class::Stat,
                "x",
                "RESULT",
                "stat/x/RESULT",
            ),
            // `//` collapsed, `#` removed
            (
                "%prefix%//%topic%/",
                Class::Stat,
                "x",
                "RESULT",
                "stat/x/RESULT",
            ),
            ("%prefix%/#%topic%/", Class::Tele, "x", "LWT", "tele/x/LWT"),
            // no %prefix%: cmnd gets /%prefix% appended, stat and tele are not patched
            ("%topic%/", Class::Cmnd, "x", "POWER", "x/cmnd/POWER"),
            ("%topic%/", Class::Stat, "x", "RESULT", "x/RESULT"),
            ("%topic%/", Class::Tele, "x", "LWT", "x/LWT"),
            (
                "home/%topic%",
                Class::Cmnd,
                "x",
                "POWER",
                "home/x/cmnd/POWER",
            ),
            // hostname and the full 12-hex MAC
            (
                "%prefix%/%hostname%/",
                Class::Stat,
                "x",
                "RESULT",
                "stat/tasmota-49A3BC-0956/RESULT",
            ),
            (
                "tasmota/%id%/%prefix%/",
                Class::Tele,
                "x",
                "LWT",
                "tasmota/A0B765549A3B/tele/LWT",
            ),
        ];
        for (template, class, topic, suffix, expected) in cases {
            let got = layout(template).topic(class, &vars(topic), suffix).unwrap();
            assert_eq!(got, expected, "{template} {class}");
        }
    }

    #[test]
    fn custom_prefixes_and_empty_prefix_refilled() {
        let layout = Layout {
            template: Template::default(),
            prefixes: Prefixes {
                cmnd: "c".into(),
                stat: "".into(),
                tele: "t".into(),
            },
        };
        let v = vars("dev");
        assert_eq!(
            layout.topic(Class::Cmnd, &v, "Power").unwrap(),
            "c/dev/Power"
        );
        assert_eq!(
            layout.topic(Class::Stat, &v, "RESULT").unwrap(),
            "stat/dev/RESULT"
        );
        assert_eq!(layout.topic(Class::Tele, &v, "LWT").unwrap(), "t/dev/LWT");
    }

    #[test]
    fn missing_hostname_or_mac_is_an_error() {
        let no = Vars {
            topic: "x",
            ..Vars::default()
        };
        let err = layout("%prefix%/%hostname%/")
            .base(Class::Stat, &no)
            .unwrap_err();
        assert!(err.to_string().contains("add `hostname`"));
        let err = layout("%id%/%prefix%/").base(Class::Stat, &no).unwrap_err();
        assert!(err.to_string().contains("add `mac`"));
    }

    #[test]
    fn fallback_and_group_topics() {
        // A fallback always uses the built-in words and the default template.
        let fb = "DVES_3D5E26_fb";
        let v = Vars {
            topic: fb,
            ..Vars::default()
        };
        assert_eq!(
            Layout::fallback().topic(Class::Cmnd, &v, "POWER").unwrap(),
            "cmnd/DVES_3D5E26_fb/POWER"
        );
        assert_eq!(
            Layout::fallback().topic(Class::Stat, &v, "RESULT").unwrap(),
            "stat/DVES_3D5E26_fb/RESULT"
        );
        // A group command is the device template with %topic% := group.
        let g = Vars {
            topic: DEFAULT_GROUP_TOPIC,
            ..Vars::default()
        };
        assert_eq!(
            layout("%prefix%/%topic%/")
                .topic(Class::Cmnd, &g, "Status")
                .unwrap(),
            "cmnd/tasmotas/Status"
        );
        assert_eq!(
            layout("%topic%/%prefix%/")
                .topic(Class::Cmnd, &g, "Status")
                .unwrap(),
            "tasmotas/cmnd/Status"
        );
    }

    #[test]
    fn parse_back_section_1_variations() {
        let cases: [(&str, &str, Class, &str, &str); 10] = [
            (
                "%prefix%/%topic%/",
                "stat/tasmota_49A3BC/RESULT",
                Class::Stat,
                "tasmota_49A3BC",
                "RESULT",
            ),
            (
                "%prefix%/%topic%/",
                "stat/kitchen/lamp/POWER",
                Class::Stat,
                "kitchen/lamp",
                "POWER",
            ),
            (
                "%topic%/%prefix%/",
                "kitchen/lamp/tele/LWT",
                Class::Tele,
                "kitchen/lamp",
                "LWT",
            ),
            (
                "%topic%/%prefix%/",
                "tasmotas/cmnd/Status",
                Class::Cmnd,
                "tasmotas",
                "Status",
            ),
            (
                "home/%prefix%/%topic%/",
                "home/stat/kitchen/RESULT",
                Class::Stat,
                "kitchen",
                "RESULT",
            ),
            (
                "nspanel/%topic%/%prefix%/",
                "nspanel/ns_panel4/stat/STATUS0",
                Class::Stat,
                "ns_panel4",
                "STATUS0",
            ),
            ("%topic%/", "x/cmnd/POWER", Class::Cmnd, "x", "POWER"),
            ("%topic%/", "x/RESULT", Class::Stat, "x", "RESULT"),
            ("%topic%/", "x/LWT", Class::Tele, "x", "LWT"),
            (
                "%prefix%/%topic%",
                "tele/x/STATE",
                Class::Tele,
                "x",
                "STATE",
            ),
        ];
        for (template, mqtt, class, topic, suffix) in cases {
            let p = layout(template)
                .parse(mqtt)
                .unwrap_or_else(|| panic!("{template}: {mqtt}"));
            assert_eq!(
                (p.class, p.topic.as_str(), p.suffix.as_str()),
                (class, topic, suffix),
                "{mqtt}"
            );
        }
        // hostname and id come back too
        let p = layout("%prefix%/%hostname%/%topic%/")
            .parse("stat/tasmota-1-2/plug/RESULT")
            .unwrap();
        assert_eq!(p.hostname.as_deref(), Some("tasmota-1-2"));
        assert_eq!(p.topic, "plug");
        let p = layout("%id%/%prefix%/%topic%/")
            .parse("A0B765549A3B/tele/plug/LWT")
            .unwrap();
        assert_eq!(p.id.as_deref(), Some("A0B765549A3B"));
        // not this layout
        for mqtt in [
            "tasmota/discovery/A0B765549A3B/config",
            "other/x/RESULT",
            "stat/RESULT",
            "stat/x/",
            "x",
        ] {
            assert_eq!(layout("%prefix%/%topic%/").parse(mqtt), None, "{mqtt}");
        }
        assert_eq!(
            layout("%id%/%prefix%/%topic%/").parse("a0b765549a3b/tele/plug/LWT"),
            None
        );
    }

    /// The topic of every file in tests/fixtures/tasmota-payloads/ parsed back through its layout.
    #[test]
    fn parse_back_every_fixture_topic() {
        let cases = [
            (
                "%prefix%/%topic%/",
                "cmnd/wemos2/POWER",
                Class::Cmnd,
                "wemos2",
                "POWER",
            ),
            (
                "%prefix%/%topic%/",
                "tele/wemos2/INFO1",
                Class::Tele,
                "wemos2",
                "INFO1",
            ),
            (
                "%topic%/%prefix%/",
                "kitchen_left_lighting/tele/INFO1",
                Class::Tele,
                "kitchen_left_lighting",
                "INFO1",
            ),
            (
                "%prefix%/%topic%/",
                "tele/badkamer/INFO1",
                Class::Tele,
                "badkamer",
                "INFO1",
            ),
            (
                "%prefix%/%topic%/",
                "tele/wemos2/LWT",
                Class::Tele,
                "wemos2",
                "LWT",
            ),
            (
                "%prefix%/%topic%/",
                "stat/wemos2/RESULT",
                Class::Stat,
                "wemos2",
                "RESULT",
            ),
            (
                "%prefix%/%topic%/",
                "stat/<TOPIC>/RESULT",
                Class::Stat,
                "<TOPIC>",
                "RESULT",
            ),
            (
                "%prefix%/%topic%/",
                "tele/ds1820/SENSOR",
                Class::Tele,
                "ds1820",
                "SENSOR",
            ),
            (
                "%prefix%/%topic%/",
                "tele/pow1/SENSOR",
                Class::Tele,
                "pow1",
                "SENSOR",
            ),
            (
                "%prefix%/%topic%/",
                "tele/demo-sensor/SENSOR",
                Class::Tele,
                "demo-sensor",
                "SENSOR",
            ),
            (
                "jktasmota/%prefix%/%topic%/",
                "jktasmota/tele/tasmota_49C88D/SENSOR",
                Class::Tele,
                "tasmota_49C88D",
                "SENSOR",
            ),
            (
                "%prefix%/%topic%/",
                "tele/badkamer/SENSOR",
                Class::Tele,
                "badkamer",
                "SENSOR",
            ),
            (
                "%prefix%/%topic%/",
                "stat/demo-sensor/POWER",
                Class::Stat,
                "demo-sensor",
                "POWER",
            ),
            (
                "%prefix%/%topic%/",
                "stat/wemos2/POWER1",
                Class::Stat,
                "wemos2",
                "POWER1",
            ),
            (
                "%prefix%/%topic%/",
                "tele/badkamer/STATE",
                Class::Tele,
                "badkamer",
                "STATE",
            ),
            (
                "jktasmota/%prefix%/%topic%/",
                "jktasmota/stat/tasmota_49C88D/STATUS",
                Class::Stat,
                "tasmota_49C88D",
                "STATUS",
            ),
            (
                "nspanel/%topic%/%prefix%/",
                "nspanel/ns_panel4/stat/STATUS0",
                Class::Stat,
                "ns_panel4",
                "STATUS0",
            ),
            (
                "jktasmota/%prefix%/%topic%/",
                "jktasmota/stat/tasmota_49C88D/STATUS11",
                Class::Stat,
                "tasmota_49C88D",
                "STATUS11",
            ),
            (
                "jktasmota/%prefix%/%topic%/",
                "jktasmota/stat/tasmota_49C88D/STATUS5",
                Class::Stat,
                "tasmota_49C88D",
                "STATUS5",
            ),
            (
                "%prefix%/%topic%/",
                "stat/tasmota/STATUS6",
                Class::Stat,
                "tasmota",
                "STATUS6",
            ),
        ];
        // Read the fixture files themselves so that a new fixture cannot go untested.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tasmota-payloads");
        let mut fixture_topics = Vec::new();
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the fixtures should be at {}: {e}", dir.display()));
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            fixture_topics.push(json["topic"].as_str().unwrap().to_string());
        }
        assert!(fixture_topics.len() > 20, "{fixture_topics:?}");
        for topic in &fixture_topics {
            let device_topic =
                topic.starts_with("tasmota/discovery/") || topic.starts_with("homeassistant/");
            assert!(
                device_topic || cases.iter().any(|c| c.1 == topic),
                "fixture topic {topic} has no parse-back case"
            );
        }
        for (template, mqtt, class, topic, suffix) in cases {
            let p = layout(template)
                .parse(mqtt)
                .unwrap_or_else(|| panic!("{template}: {mqtt}"));
            assert_eq!(
                (p.class, p.topic.as_str(), p.suffix.as_str()),
                (class, topic, suffix),
                "{mqtt}"
            );
            // and it renders back to the same topic
            assert_eq!(
                layout(template).topic(class, &vars(topic), suffix).unwrap(),
                mqtt
            );
        }
    }

    #[test]
    fn subscription_filters() {
        let cases = [
            ("%prefix%/%topic%/", Class::Stat, "stat/#"),
            ("%prefix%/%topic%/", Class::Tele, "tele/#"),
            ("%topic%/%prefix%/", Class::Stat, "+/stat/+"),
            ("home/%prefix%/%topic%/", Class::Tele, "home/tele/#"),
            ("nspanel/%topic%/%prefix%/", Class::Stat, "nspanel/+/stat/+"),
            ("%prefix%/%hostname%/%topic%/", Class::Stat, "stat/+/#"),
            ("%topic%/", Class::Cmnd, "+/cmnd/+"),
            ("x_%topic%/%prefix%/", Class::Stat, "+/stat/+"),
        ];
        for (template, class, expected) in cases {
            assert_eq!(layout(template).all_filter(class), expected, "{template}");
        }
        let l = layout("%topic%/%prefix%/");
        assert_eq!(
            l.device_filter(Class::Stat, &vars("kitchen/lamp")).unwrap(),
            "kitchen/lamp/stat/+"
        );
    }

    #[test]
    fn split_before_the_last_level() {
        assert_eq!(
            split_last("stat/kitchen/lamp/POWER"),
            Some(("stat/kitchen/lamp/", "POWER"))
        );
        assert_eq!(split_last("stat/x/"), Some(("stat/x/", "")));
        assert_eq!(split_last("POWER"), None);
    }

    #[test]
    fn topic_words_refuse_wildcards() {
        assert!(check_topic_word("kitchen/lamp").is_ok());
        for bad in ["a+b", "#", "x\0"] {
            assert!(check_topic_word(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn macs() {
        assert_eq!(
            normalize_mac("dc:4f:22:ab:bd:20").as_deref(),
            Some("DC4F22ABBD20")
        );
        assert_eq!(
            normalize_mac("DC4F22ABBD20").as_deref(),
            Some("DC4F22ABBD20")
        );
        assert_eq!(normalize_mac("DC4F22ABBD2"), None);
        assert_eq!(normalize_mac("DC4F22ABBD2G"), None);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn word() -> impl Strategy<Value = String> {
            "[a-z0-9_][a-z0-9_-]{0,7}"
        }

        proptest! {
            /// render → parse gives back the class, topic, suffix, hostname and id that went in.
            #[test]
            fn render_then_parse(
                shape in 0usize..6,
                extra in word(),
                levels in proptest::collection::vec(word(), 1..4),
                prefixes in (word(), word(), word()),
                class in prop::sample::select(Class::ALL.to_vec()),
                suffix in "[A-Z][A-Z0-9]{0,7}",
            ) {
                let topic = levels.join("/");
                let (c, s, t) = prefixes;
                // Distinct prefix words that are not also levels of the topic keep the
                // reading unique, as they are on a sane broker.
                prop_assume!(c != s && s != t && c != t);
                prop_assume!(levels.iter().all(|l| *l != c && *l != s && *l != t && *l != extra));
                let template = match shape {
                    0 => "%prefix%/%topic%/".to_string(),
                    1 => "%topic%/%prefix%/".to_string(),
                    2 => format!("{extra}/%prefix%/%topic%/"),
                    3 => format!("{extra}/%topic%/%prefix%"),
                    4 => "%prefix%/%hostname%/%topic%/".to_string(),
                    _ => format!("%id%/{extra}/%prefix%/%topic%/"),
                };
                let layout = Layout {
                    template: Template::parse(&template).unwrap(),
                    prefixes: Prefixes { cmnd: c, stat: s, tele: t },
                };
                let v = Vars { topic: &topic, hostname: Some("host-1"), mac: Some("0123456789AB") };
                let mqtt = layout.topic(class, &v, &suffix).unwrap();
                let parsed = layout.parse(&mqtt).unwrap();
                prop_assert_eq!(parsed.class, class);
                prop_assert_eq!(&parsed.topic, &topic);
                prop_assert_eq!(&parsed.suffix, &suffix);
                if shape == 4 { prop_assert_eq!(parsed.hostname.as_deref(), Some("host-1")); }
                if shape == 5 { prop_assert_eq!(parsed.id.as_deref(), Some("0123456789AB")); }
            }

            #[test]
            fn parse_never_panics(text in "\\PC{0,40}", mqtt in "\\PC{0,60}") {
                if let Ok(template) = Template::parse(&text) {
                    prop_assert_eq!(template.to_string(), text);
                    let _ = Layout { template, prefixes: Prefixes::default() }.parse(&mqtt);
                }
            }
        }
    }
}
