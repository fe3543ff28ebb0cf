//! The firmware's own topic rules, as the simulator plays them: a port of `GetTopic_P`
//! (xdrv_02_9_mqtt.ino, described in tasmota-mqtt.md §1.3), the fallback topic, the default
//! names a MAC gives, and the Backlog splitter (support_command.ino).
//!
//! Written from the firmware's description, not from the client's `topic.rs`: a mistake in one
//! grammar shows up as a disagreement with the other (the property test in `topic.rs` compares
//! them) instead of hiding on both sides.

/// The built-in prefix words, which the fallback topic always uses.
pub const PREFIXES: [&str; 3] = ["cmnd", "stat", "tele"];
/// `FullTopic` after a reset.
pub const DEFAULT_FULL_TOPIC: &str = "%prefix%/%topic%/";
/// `GroupTopic1` after a reset.
pub const DEFAULT_GROUP_TOPIC: &str = "tasmotas";

/// The three prefixes: Prefix1 (commands), Prefix2 (status), Prefix3 (telemetry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Cmnd = 0,
    Stat = 1,
    Tele = 2,
}

/// The settings a topic is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSettings {
    pub full_topic: String,
    /// Prefix1, Prefix2, Prefix3; an empty one counts as its default.
    pub prefixes: [String; 3],
}

impl Default for TopicSettings {
    fn default() -> Self {
        TopicSettings {
            full_topic: DEFAULT_FULL_TOPIC.into(),
            prefixes: PREFIXES.map(String::from),
        }
    }
}

impl TopicSettings {
    /// `GetTopic_P(prefix, topic, suffix)`: the FullTopic, `/%prefix%` added for commands when
    /// it is missing, the tokens replaced (prefix, topic, hostname, MAC), every `#` deleted,
    /// `//` made `/`, a trailing `/` added, then the suffix.
    pub fn topic(
        &self,
        prefix: Prefix,
        topic: &str,
        hostname: &str,
        mac: &str,
        suffix: &str,
    ) -> String {
        let mut full = self.full_topic.clone();
        if prefix == Prefix::Cmnd && !full.contains("%prefix%") {
            full.push_str("/%prefix%");
        }
        let word = match self.prefixes[prefix as usize].as_str() {
            "" => PREFIXES[prefix as usize],
            word => word,
        };
        let mut full = full
            .replace("%prefix%", word)
            .replace("%topic%", topic)
            .replace("%hostname%", hostname)
            .replace("%id%", mac)
            .replace('#', "")
            .replace("//", "/");
        if !full.ends_with('/') {
            full.push('/');
        }
        full.push_str(suffix);
        full
    }

    /// The firmware subscribes to group and fallback topics only with `%topic%` in FullTopic.
    pub fn has_topic(&self) -> bool {
        self.full_topic.contains("%topic%")
    }
}

/// The fallback topic's level: `<MqttClient>_fb`, always with the built-in words.
pub fn fallback(mqtt_client: &str) -> String {
    format!("{mqtt_client}_fb")
}

/// `tasmota_XXXXXX`: Topic after a reset, the last six hex digits of the MAC.
pub fn default_topic(mac: &str) -> String {
    format!("tasmota_{}", mac.get(6..).unwrap_or(mac))
}

/// `DVES_XXXXXX`: MqttClient after a reset.
pub fn default_mqtt_client(mac: &str) -> String {
    format!("DVES_{}", mac.get(6..).unwrap_or(mac))
}

/// A MAC in any common spelling as 12 upper-case hex digits, or `None`.
pub fn mac(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    (hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_uppercase())
}

/// The first `%word%` in a FullTopic that `GetTopic_P` does not replace, if any.
pub fn unknown_token(full_topic: &str) -> Option<String> {
    let mut rest = full_topic;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let end = after.find('%')?;
        let token = &after[..end];
        if !["prefix", "topic", "hostname", "id"].contains(&token) {
            return Some(format!("%{token}%"));
        }
        rest = &after[end + 1..];
    }
    None
}

/// May this text be a topic level? Not empty, no wildcard, no NUL.
pub fn topic_word(word: &str) -> bool {
    !word.is_empty() && !word.contains(['+', '#', '\0'])
}

/// Splits a Backlog payload into its commands as `CmndBacklog` does: `;` separates, except
/// inside `{...}` (a rule or JSON payload keeps its own), and empty items are skipped.
pub fn backlog(payload: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut braces = 0u32;
    for c in payload.chars() {
        match c {
            ';' if braces == 0 => {
                items.push(String::new());
                continue;
            }
            '{' => braces += 1,
            '}' => braces = braces.saturating_sub(1),
            _ => {}
        }
        if let Some(item) = items.last_mut() {
            item.push(c);
        }
    }
    items
        .into_iter()
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

/// A stored Topic or MqttClient mask resolved as the firmware does at boot: `%06X` the last
/// six hex digits of the MAC, `%12X` all twelve, `%d` those six as a decimal number.
pub fn resolve_mask(text: &str, mac: &str) -> String {
    let low = mac.get(6..).unwrap_or(mac);
    text.replace("%06X", low)
        .replace("%12X", mac)
        .replace("%d", &u32::from_str_radix(low, 16).unwrap_or(0).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_firmware_s_examples() {
        let mut s = TopicSettings::default();
        let t = |s: &TopicSettings, p, suffix| {
            s.topic(p, "tasmota_49A3BC", "h", "A0B765000001", suffix)
        };
        assert_eq!(t(&s, Prefix::Cmnd, "POWER"), "cmnd/tasmota_49A3BC/POWER");
        assert_eq!(t(&s, Prefix::Stat, "RESULT"), "stat/tasmota_49A3BC/RESULT");
        s.full_topic = "%topic%/%prefix%/".into();
        assert_eq!(t(&s, Prefix::Stat, "RESULT"), "tasmota_49A3BC/stat/RESULT");
        s.full_topic = "%topic%".into();
        assert_eq!(t(&s, Prefix::Cmnd, "POWER"), "tasmota_49A3BC/cmnd/POWER");
        assert_eq!(t(&s, Prefix::Tele, "LWT"), "tasmota_49A3BC/LWT");
        s.full_topic = "home/#%id%//%prefix%".into();
        s.prefixes[1] = String::new();
        assert_eq!(t(&s, Prefix::Stat, "X"), "home/A0B765000001/stat/X");
    }

    #[test]
    fn backlog_items() {
        assert_eq!(
            backlog("Power1 on;  Delay 10 ;;Power1 off"),
            ["Power1 on", "Delay 10", "Power1 off"]
        );
        assert_eq!(
            backlog("Rule1 {\"a\":1;\"b\":2}; Power on"),
            ["Rule1 {\"a\":1;\"b\":2}", "Power on"]
        );
    }
}
