//! Scenario files: which devices to simulate, described with the firmware's own setting names.
//!
//! ```toml
//! [[device]]
//! Topic = "kitchen_lamp"            # printf forms work: "tasmota_%06X"
//! FullTopic = "%topic%/%prefix%/"
//! Mac = "A0B765549A3B"
//! Relays = 2
//! SetOption4 = 1
//! ```
//!
//! Every key is optional; what is left out is the firmware's default for the device's MAC.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use serde::Deserialize;

use super::firmware::Firmware;
use super::grammar::{self, Prefix};
use crate::profile;

/// The playground fleet `tasctl simulate` runs when given no devices.
pub const DEFAULT_FLEET: &str = include_str!("default-fleet.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    device: Vec<Spec>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct Spec {
    mac: Option<String>,
    topic: Option<String>,
    full_topic: Option<String>,
    prefix1: Option<String>,
    prefix2: Option<String>,
    prefix3: Option<String>,
    group_topic: Option<Vec<String>>,
    mqtt_client: Option<String>,
    hostname: Option<String>,
    #[serde(rename = "IPAddress")]
    ip_address: Option<String>,
    device_name: Option<String>,
    friendly_name: Option<Vec<String>>,
    module: Option<String>,
    version: Option<String>,
    /// Relay outputs (0 to 32); a light (`Dimmer`) adds one more output.
    relays: Option<u8>,
    /// Initial output states: 0 or 1 per output.
    power: Option<Vec<u8>>,
    set_option4: Option<u8>,
    set_option19: Option<u8>,
    set_option26: Option<u8>,
    state_text: Option<[String; 4]>,
    tele_period: Option<u32>,
    power_retain: Option<u8>,
    dimmer: Option<u8>,
    sensor: Option<String>,
    online: Option<bool>,
    /// Where `Upgrade` downloads from.
    ota_url: Option<String>,
    /// The flash is too small for the full image: an upgrade passes through the minimal build.
    ota_minimal: Option<bool>,
    /// `false`: a build without OTA (`Upgrade` and `OtaUrl` are unknown commands).
    ota: Option<bool>,
    /// The password file transfers must present (the device's own MQTT password).
    mqtt_password: Option<String>,
    /// The chip: `ESP8266` (default), `ESP32`, `ESP32-S3`, `ESP32-S2`, `ESP32-C3`.
    chip: Option<String>,
    /// The build's LWT words (MQTT_LWT_ONLINE / MQTT_LWT_OFFLINE), `Online`/`Offline` by default.
    lwt_online: Option<String>,
    lwt_offline: Option<String>,
    /// Console commands the device ran before (`"TelePeriod 60"`, `"Rule1 ON ... ENDON"`):
    /// the settings they leave are where the simulation starts.
    commands: Option<Vec<String>>,
}

/// The MAC of the n-th generated device: unique, in a locally administered range.
pub fn generated_mac(n: usize) -> String {
    format!("02A5C7{:06X}", n & 0xFF_FFFF)
}

/// `n` devices with the firmware's defaults (one relay each).
pub fn defaults(n: usize) -> Vec<Firmware> {
    (1..=n).map(|i| Firmware::new(&generated_mac(i))).collect()
}

/// Reads a scenario file.
pub fn load(path: &Path) -> Result<Vec<Firmware>> {
    let text = crate::files::read_text_bounded(path, "scenario", crate::files::TEXT_FILE_LIMIT)?;
    parse(&text, path)
}

/// The devices a scenario describes.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Firmware>> {
    let scenario: Scenario =
        toml::from_str(text).map_err(|e| profile::toml_error(text, path, &e))?;
    if scenario.device.is_empty() {
        bail!("{}: no [[device]] in the scenario", path.display());
    }
    let mut devices = Vec::with_capacity(scenario.device.len());
    let (mut topics, mut macs, mut clients) = (HashMap::new(), HashMap::new(), HashMap::new());
    for (i, spec) in scenario.device.into_iter().enumerate() {
        let device =
            build(spec, i + 1).map_err(|e| anyhow!("{}: device {}: {e}", path.display(), i + 1))?;
        for (what, value, seen) in [
            ("Topic", &device.topic, &mut topics),
            ("Mac", &device.mac, &mut macs),
            ("MqttClient", &device.mqtt_client, &mut clients),
        ] {
            if let Some(other) = seen.insert(value.clone(), i + 1) {
                bail!(
                    "{}: devices {other} and {} both have the {what} `{value}`; each device needs its own",
                    path.display(),
                    i + 1,
                );
            }
        }
        devices.push(device);
    }
    Ok(devices)
}

/// The firmware's printf forms: `%06X`/`%12X` from the MAC, `%d` the chip id.
fn expand(text: &str, mac: &str) -> String {
    grammar::resolve_mask(text, mac)
}

fn build(spec: Spec, n: usize) -> Result<Firmware> {
    let mac = match &spec.mac {
        Some(m) => grammar::mac(m).ok_or_else(|| anyhow!("Mac `{m}` is not 12 hex digits"))?,
        None => generated_mac(n),
    };
    let mut d = Firmware::new(&mac);
    let word = |w: &Option<String>, what: &str| -> Result<Option<String>> {
        match w {
            Some(w) if w.is_empty() => bail!("{what} may not be empty"),
            Some(w) if !grammar::topic_word(w) => {
                bail!("{what} `{w}`: a wildcard (+ #) or NUL has no place in a topic")
            }
            Some(w) => Ok(Some(expand(w, &mac))),
            None => Ok(None),
        }
    };
    // A value given as a mask is answered as the mask, as the firmware stores it.
    if let Some(t) = word(&spec.topic, "Topic")? {
        d.topic = t;
        d.store.topic_mask = spec.topic.clone().filter(|t| t.contains('%'));
    }
    if let Some(c) = word(&spec.mqtt_client, "MqttClient")? {
        d.mqtt_client = c;
        d.store.client_mask = spec.mqtt_client.clone().filter(|c| c.contains('%'));
    }
    if let Some(h) = &spec.hostname {
        d.store.hostname_mask = h.contains('%').then(|| h.clone());
        d.hostname = h.replace("%s", &d.topic).replace(
            "%04d",
            &format!(
                "{:04}",
                u32::from_str_radix(&mac[6..], 16).unwrap_or(0) & 0x1FFF
            ),
        );
    }
    if !grammar::topic_word(&d.hostname) {
        bail!(
            "Hostname `{}`: a wildcard (+ #) or NUL has no place in a host name, nor in a topic that uses %hostname%",
            d.hostname.escape_default()
        );
    }
    if let Some(ft) = word(&spec.full_topic, "FullTopic")? {
        if let Some(token) = grammar::unknown_token(&ft) {
            bail!(
                "FullTopic `{ft}`: the firmware knows no token `{token}`; it knows %prefix%, %topic%, %hostname% and %id%"
            );
        }
        d.topics.full_topic = ft;
    }
    for (value, prefix) in [
        (&spec.prefix1, Prefix::Cmnd),
        (&spec.prefix2, Prefix::Stat),
        (&spec.prefix3, Prefix::Tele),
    ] {
        if let Some(p) = word(value, "Prefix")? {
            d.topics.prefixes[prefix as usize] = p;
        }
    }
    if let Some(groups) = spec.group_topic {
        for g in &groups {
            word(&Some(g.clone()), "GroupTopic")?;
        }
        d.group_topics = groups.into_iter().take(4).collect();
    }
    let relays = usize::from(spec.relays.unwrap_or(1));
    if relays > 32 {
        bail!("Relays = {relays}: a device has at most 32 outputs");
    }
    d.dimmer = spec.dimmer.map(|v| v.min(100));
    let outputs = relays + usize::from(d.dimmer.is_some());
    d.power = vec![false; outputs];
    if let Some(initial) = &spec.power {
        for (state, &on) in d.power.iter_mut().zip(initial) {
            *state = on != 0;
        }
    }
    if let Some(level) = d.dimmer
        && let Some(last) = d.power.last_mut()
    {
        *last |= level > 0 && spec.power.is_none();
    }
    d.ip = spec.ip_address.unwrap_or(d.ip);
    d.device_name = spec.device_name.unwrap_or(d.device_name);
    d.friendly_names = spec
        .friendly_name
        .unwrap_or_else(|| vec![d.device_name.clone()]);
    d.module = spec.module.unwrap_or(d.module);
    d.version = spec.version.unwrap_or(d.version);
    for (option, value) in [
        (4, spec.set_option4),
        (19, spec.set_option19),
        (26, spec.set_option26),
    ] {
        d.store.set_bit(option, value.unwrap_or(0) == 1);
    }
    if let Some(texts) = spec.state_text {
        d.state_text = texts;
    }
    d.tele_period = match spec.tele_period {
        Some(0) => 0,
        Some(p) => p.clamp(10, 3600),
        None => d.tele_period,
    };
    d.power_retain = spec.power_retain.unwrap_or(0) == 1;
    d.sensor = spec.sensor;
    d.online = spec.online.unwrap_or(true);
    d.mqtt_password = spec.mqtt_password.unwrap_or_default();
    if let Some(url) = spec.ota_url {
        d.ota_url = url;
    }
    d.ota_minimal = spec.ota_minimal.unwrap_or(false);
    d.ota = spec.ota.unwrap_or(true);
    d.chip = match spec.chip.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("ESP8266") => 0,
        Some("ESP32") => 1,
        Some("ESP32-S3") => 2,
        Some("ESP32-S2") => 3,
        Some("ESP32-C3") => 4,
        Some(other) => bail!("Chip `{other}`: one of ESP8266, ESP32, ESP32-S3, ESP32-S2, ESP32-C3"),
    };
    if let Some(word) = spec.lwt_online {
        d.lwt_online = word;
    }
    if let Some(word) = spec.lwt_offline {
        d.lwt_offline = word;
    }
    if d.lwt_online.is_empty() || d.lwt_online == d.lwt_offline {
        bail!("LwtOnline and LwtOffline must be two different, non-empty words");
    }
    for line in spec.commands.unwrap_or_default() {
        let (name, payload) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let answers = d.command(super::firmware::Via::Own, name, payload).publish;
        if answers
            .iter()
            .any(|p| p.payload.contains("\"Command\":\"Unknown\""))
        {
            bail!("Commands: `{name}` is not a command this simulator knows");
        }
        d.boot_settings_keeping_options();
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_fleet_parses() {
        let fleet = parse(DEFAULT_FLEET, Path::new("default-fleet.toml")).unwrap();
        assert!(fleet.len() >= 6);
        assert!(fleet.iter().any(|d| !d.online), "an offline device");
        assert!(fleet.iter().any(|d| d.dimmer.is_some()), "a dimmable bulb");
        assert!(fleet.iter().any(|d| d.sensor.is_some()), "a sensor");
        assert!(fleet.iter().any(|d| d.power.len() == 4), "a 4-relay board");
        assert!(
            fleet
                .iter()
                .any(|d| d.topics.full_topic != grammar::DEFAULT_FULL_TOPIC),
            "a custom FullTopic"
        );
    }

    #[test]
    fn firmware_names_and_printf_forms() {
        let text = r#"
            [[device]]
            Mac = "A0:B7:65:54:9A:3B"
            Topic = "lamp_%06X"
            MqttClient = "client_%06X"
            FullTopic = "%topic%/%prefix%/"
            Prefix2 = "status"
            Relays = 2
            Power = [1, 0]
            SetOption4 = 1
            GroupTopic = ["tasmotas", "downstairs"]
        "#;
        let d = &parse(text, Path::new("s.toml")).unwrap()[0];
        assert_eq!(d.topic, "lamp_549A3B");
        assert_eq!(d.mqtt_client, "client_549A3B");
        assert_eq!(d.topics.prefixes[Prefix::Stat as usize], "status");
        assert_eq!(d.power, [true, false]);
        assert!(d.so(4));
        assert_eq!(d.group_topics, ["tasmotas", "downstairs"]);
    }

    #[test]
    fn mistakes_are_located() {
        let err = format!(
            "{:#}",
            parse("[[device]]\nTopc = \"x\"\n", Path::new("s.toml")).unwrap_err()
        );
        assert!(
            err.starts_with("s.toml:2:1") && err.contains("did you mean `Topic`?"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            parse("[[device]]\nTopic = \"a+b\"\n", Path::new("s.toml")).unwrap_err()
        );
        assert!(err.contains("device 1: Topic `a+b`: a wildcard"), "{err}");
        let err = format!(
            "{:#}",
            parse(
                "[[device]]\nTopic = \"a\"\n[[device]]\nTopic = \"a\"\n",
                Path::new("s.toml")
            )
            .unwrap_err()
        );
        assert!(err.contains("both have the Topic `a`"), "{err}");
        let err = format!(
            "{:#}",
            parse(
                "[[device]]\nTopic = \"a\"\nFullTopic = \"%prefix%/%bogus%/\"\n",
                Path::new("s.toml")
            )
            .unwrap_err()
        );
        assert!(err.contains("no token `%bogus%`"), "{err}");
        let err = format!(
            "{:#}",
            parse("[[device]]\nHostname = \"x+y\"\n", Path::new("s.toml")).unwrap_err()
        );
        assert!(err.contains("Hostname `x+y`"), "{err}");
        assert_eq!(generated_mac(1), "02A5C7000001");
        assert_eq!(
            defaults(3)
                .iter()
                .map(|d| d.topic.clone())
                .collect::<Vec<_>>(),
            ["tasmota_000001", "tasmota_000002", "tasmota_000003"]
        );
    }
}
