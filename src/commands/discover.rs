//! `tasctl discover`: every Tasmota device on the broker, from every signal.
//!
//! 1. Retained native discovery (`tasmota/discovery/<MAC>/config`) and retained LWTs across
//!    layouts, read until a marker published after the SubAck comes back: on mosquitto that
//!    means every retained message has been delivered, so there is no fixed wait.
//! 2. LWT-only devices that are online are asked for `FullTopic`, `Prefix` and `Status 0`,
//!    which confirm their layout and fill in the rest; `--wait` bounds only these probes.
//!
//! Malformed payloads are reported and counted, never fatal.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::IsTerminal;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::exchange::json_object;
use crate::mqtt::{self, Session};
use crate::profile;
use crate::settings::Settings;
use crate::topic::{self, Class, Layout, Prefixes, Template, Vars};

/// One device found: the contract's JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub name: String,
    pub topic: String,
    pub full_topic: String,
    pub prefix: Prefixes,
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub relays: Option<usize>,
    pub online: Option<bool>,
    pub source: &'static str,
    #[serde(skip)]
    layout: Layout,
    /// The LWT words: online, offline.
    #[serde(skip)]
    words: (String, String),
}

impl Found {
    fn lwt_topic(&self) -> Option<String> {
        let vars = Vars {
            topic: &self.topic,
            hostname: self.hostname.as_deref(),
            mac: self.mac.as_deref(),
        };
        self.layout.topic(Class::Tele, &vars, "LWT").ok()
    }

    fn set_lwt(&mut self, payload: &str) {
        self.online = if payload == self.words.0 {
            Some(true)
        } else if payload == self.words.1 {
            Some(false)
        } else {
            None
        };
    }

    /// What `--save` writes.
    pub fn for_profile(&self) -> profile::Found {
        profile::Found {
            label: self.name.clone(),
            topic: self.topic.clone(),
            layout: self.layout.clone(),
            hostname: self.hostname.clone(),
            mac: self.mac.clone(),
        }
    }
}

/// The list, sorted by name.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Report(pub Vec<Found>);

/// A native discovery config, as tolerant as the firmware's versions require.
#[derive(Deserialize)]
struct Config {
    ip: Option<String>,
    dn: Option<String>,
    #[serde(rename = "fn")]
    friendly: Option<Vec<Option<String>>>,
    hn: Option<String>,
    mac: Option<String>,
    md: Option<String>,
    ofln: Option<String>,
    onln: Option<String>,
    sw: Option<String>,
    t: String,
    ft: Option<String>,
    tp: Option<Vec<String>>,
    rl: Option<Vec<i64>>,
}

/// First FriendlyName, else DeviceName, else the topic.
fn label(friendly: Option<&str>, device_name: Option<&str>, topic: &str) -> String {
    [friendly, device_name]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or(topic)
        .to_string()
}

fn from_config(topic_mac: &str, payload: &[u8]) -> Result<Found, String> {
    let topic_mac = topic::normalize_mac(topic_mac)
        .ok_or_else(|| "the MAC in its topic is not 12 hex digits".to_string())?;
    let c: Config =
        serde_json::from_slice(payload).map_err(|e| format!("not a discovery config: {e}"))?;
    if c.t.is_empty() {
        return Err("its topic `t` is empty".into());
    }
    topic::check_topic_word(&c.t).map_err(|e| format!("topic `{}`: {e}", c.t.escape_debug()))?;
    let template = Template::parse(c.ft.as_deref().unwrap_or(topic::DEFAULT_FULL_TOPIC))
        .map_err(|e| format!("ft: {e}"))?;
    let prefixes = match c.tp.as_deref() {
        Some([cmnd, stat, tele, ..]) => Prefixes {
            cmnd: cmnd.clone(),
            stat: stat.clone(),
            tele: tele.clone(),
        },
        _ => Prefixes::default(),
    };
    let mac = c.mac.as_deref().and_then(topic::normalize_mac);
    if mac.as_deref().is_some_and(|m| m != topic_mac) {
        return Err(format!(
            "its mac {} is not the {topic_mac} of its topic",
            c.mac.unwrap_or_default()
        ));
    }
    let friendly = c
        .friendly
        .as_ref()
        .and_then(|f| f.first().cloned().flatten());
    Ok(Found {
        name: label(friendly.as_deref(), c.dn.as_deref(), &c.t),
        full_topic: template.normalized(),
        prefix: prefixes.clone(),
        hostname: c.hn,
        ip: c.ip,
        mac: Some(mac.unwrap_or_else(|| topic_mac.to_string())),
        model: c.md,
        firmware: c.sw,
        relays: c.rl.map(|rl| rl.iter().filter(|&&r| r != 0).count()),
        online: None,
        source: "discovery",
        layout: Layout { template, prefixes },
        words: (
            c.onln.unwrap_or_else(|| "Online".into()),
            c.ofln.unwrap_or_else(|| "Offline".into()),
        ),
        topic: c.t,
    })
}

/// The layout an LWT topic most likely has, and the device topic in it: a profile layout that
/// reads it, else one guessed from where the `tele` level is.
fn guess(lwt: &str, layouts: &[&Layout]) -> Option<(Layout, String)> {
    for layout in layouts {
        if let Some(p) = layout
            .parse(lwt)
            .filter(|p| p.class == Class::Tele && p.suffix == "LWT")
        {
            return Some(((*layout).clone(), p.topic));
        }
    }
    let levels: Vec<&str> = lwt.strip_suffix("/LWT")?.split('/').collect();
    let at = levels.iter().position(|l| *l == "tele")?;
    let (template, topic) = if at + 1 == levels.len() {
        // `<...>/<topic>/tele/LWT`: topic-first, with any levels before
        let before = levels[..at.checked_sub(1)?]
            .iter()
            .map(|l| format!("{l}/"))
            .collect::<String>();
        (
            format!("{before}%topic%/%prefix%/"),
            levels[at - 1].to_string(),
        )
    } else {
        // `<...>/tele/<topic...>/LWT`: prefix-first
        let before = levels[..at]
            .iter()
            .map(|l| format!("{l}/"))
            .collect::<String>();
        (
            format!("{before}%prefix%/%topic%/"),
            levels[at + 1..].join("/"),
        )
    };
    let layout = Layout::with_template(&template).ok()?;
    Some((layout, topic))
}

/// Where devices answer a broadcast `Status 5`: `stat/<topic>/STATUS5` or `<topic>/stat/STATUS5`.
const BROADCAST_REPLIES: &str = "+/+/STATUS5";

/// The broadcast: `Status 5` on the group topic and on the 6.x-era `sonoffs`, for devices with
/// `%prefix%/%topic%/` and with `%topic%/%prefix%/` (each subscribes to its own form).
fn broadcast_topics(group_topic: &str) -> Vec<String> {
    let mut groups = vec![group_topic];
    if group_topic != "sonoffs" {
        groups.push("sonoffs");
    }
    let mut topics = Vec::new();
    for group in groups {
        for template in [topic::DEFAULT_FULL_TOPIC, "%topic%/%prefix%/"] {
            let layout = Layout::with_template(template).expect("a known template");
            if let Ok(t) = layout.topic(
                Class::Cmnd,
                &Vars {
                    topic: group,
                    ..Vars::default()
                },
                "Status",
            ) {
                topics.push(t);
            }
        }
    }
    topics
}

/// The layout and device topic of a broadcast reply's topic.
fn status_reply_layout(mqtt_topic: &str) -> Option<(Layout, String)> {
    let levels: Vec<&str> = mqtt_topic.split('/').collect();
    let template = match levels.as_slice() {
        ["stat", _, "STATUS5"] => topic::DEFAULT_FULL_TOPIC,
        [_, "stat", "STATUS5"] => "%topic%/%prefix%/",
        _ => return None,
    };
    let layout = Layout::with_template(template).ok()?;
    let topic = layout.parse(mqtt_topic)?.topic;
    Some((layout, topic))
}

/// A device that answered the broadcast: news about a known one (same MAC, else same topic),
/// or a device of its own.
fn merge_heard(found: &mut Vec<Found>, layout: Layout, topic: String, reply: &Map<String, Value>) {
    let net = reply.get("StatusNET");
    let text = |key: &str| {
        net.and_then(|n| n.get(key))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let mac = text("Mac").as_deref().and_then(topic::normalize_mac);
    let known = found
        .iter_mut()
        .find(|f| (mac.is_some() && f.mac == mac) || (f.topic == topic && f.layout == layout));
    match known {
        Some(f) => {
            f.online = Some(true);
            f.ip = f.ip.take().or_else(|| text("IPAddress"));
            f.hostname = f.hostname.take().or_else(|| text("Hostname"));
            f.mac = f.mac.take().or(mac);
        }
        None => found.push(Found {
            name: topic.clone(),
            full_topic: layout.template.normalized(),
            prefix: layout.prefixes.clone(),
            topic,
            hostname: text("Hostname"),
            ip: text("IPAddress"),
            mac,
            model: None,
            firmware: None,
            relays: None,
            online: Some(true),
            source: "status",
            layout,
            words: ("Online".into(), "Offline".into()),
        }),
    }
}

/// An LWT-only device being asked about itself.
struct Probe {
    found: Found,
    /// Where its replies come, whatever its stat prefix.
    filter: String,
    asked: Vec<String>,
    full_topic: Option<String>,
    prefixes: Option<Prefixes>,
    status: Map<String, Value>,
    done: bool,
}

impl Probe {
    fn feed(&mut self, suffix: &str, payload: &[u8]) {
        let Some(object) = json_object(payload) else {
            return;
        };
        if let Some(ft) = object.get("FullTopic").and_then(Value::as_str) {
            self.full_topic = Some(ft.to_string());
        }
        if let (Some(c), Some(s), Some(t)) = (
            object.get("Prefix1"),
            object.get("Prefix2"),
            object.get("Prefix3"),
        ) {
            let word = |v: &Value| v.as_str().unwrap_or_default().to_string();
            self.prefixes = Some(Prefixes {
                cmnd: word(c),
                stat: word(s),
                tele: word(t),
            });
        }
        if suffix.starts_with("STATUS") {
            self.done |= suffix == "STATUS11" || suffix == "STATUS0";
            self.status.extend(object);
        }
    }

    /// What the answers say, folded into the device.
    fn finish(mut self, lwt: &str) -> Found {
        let f = &mut self.found;
        if let Some(template) = self
            .full_topic
            .as_deref()
            .and_then(|t| Template::parse(t).ok())
        {
            f.layout.template = template;
        }
        if let Some(prefixes) = self.prefixes.take() {
            f.layout.prefixes = prefixes;
        }
        let s = &self.status;
        let text = |section: &str, key: &str| {
            s.get(section)
                .and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .map(String::from)
        };
        if let Some(t) = text("Status", "Topic") {
            f.topic = t;
        } else if let Some(p) = f.layout.parse(lwt) {
            f.topic = p.topic;
        }
        f.hostname = text("StatusNET", "Hostname").or(f.hostname.take());
        f.ip = text("StatusNET", "IPAddress");
        f.mac = text("StatusNET", "Mac")
            .as_deref()
            .and_then(topic::normalize_mac);
        f.firmware = text("StatusFWR", "Version")
            .map(|v| v.split('(').next().unwrap_or_default().to_string());
        let friendly = s
            .get("Status")
            .and_then(|v| v.get("FriendlyName"))
            .and_then(|v| v.get(0))
            .and_then(Value::as_str);
        f.name = label(friendly, text("Status", "DeviceName").as_deref(), &f.topic);
        if let Some(sts) = s.get("StatusSTS").and_then(Value::as_object) {
            f.relays = Some(sts.keys().filter(|k| k.starts_with("POWER")).count());
        }
        if self.done {
            f.online = Some(true);
        }
        f.full_topic = f.layout.template.normalized();
        f.prefix = f.layout.prefixes.clone();
        self.found
    }
}

pub async fn run(settings: &Settings, session: &mut Session, broadcast: bool) -> Result<Report> {
    let started = Instant::now();
    let progress = std::io::stderr().is_terminal();
    if progress {
        eprint!("tasctl: scanning {} ...\r", settings.broker.url);
    }
    let layouts = settings.profile.layouts();
    let marker = format!(
        "tasctl/discover/{}-{}",
        std::process::id(),
        started.elapsed().as_nanos()
    );
    let mut filters = vec![
        format!("{}+/config", topic::DISCOVERY_PREFIX),
        "+/+/LWT".to_string(),
        "+/+/+/LWT".to_string(),
        "+/+/+/+/LWT".to_string(),
    ];
    // Deeper layouts of the profile (the filters above cover up to three levels before LWT).
    for layout in &layouts {
        let any = Vars {
            topic: "+",
            hostname: Some("+"),
            mac: Some("+"),
        };
        if let Ok(lwt) = layout.topic(Class::Tele, &any, "LWT") {
            filters.push(lwt);
        }
    }
    filters.push(marker.clone());
    session.subscribe(&filters).await?;
    session.publish(&marker, "", false).await?;

    // Phase 1: the retained state, complete when the marker comes back.
    let mut found: Vec<Found> = Vec::new();
    let mut lwts: BTreeMap<String, String> = BTreeMap::new();
    let mut malformed = 0;
    let deadline = started + settings.wait;
    loop {
        let message = tokio::select! {
            m = session.recv() => m?,
            _ = tokio::time::sleep_until(deadline) => break,
            _ = crate::signal::interrupted() => return interrupted(session).await,
        };
        if message.topic == marker {
            break;
        }
        if message.payload.is_empty() {
            continue; // an empty retained message deletes; it is not a device
        }
        if let Some(rest) = message.topic.strip_prefix(topic::DISCOVERY_PREFIX) {
            let Some(mac) = rest.strip_suffix("/config") else {
                continue;
            };
            match from_config(mac, &message.payload) {
                Ok(device) => found.push(device),
                Err(e) => {
                    malformed += 1;
                    eprintln!("tasctl: warning: skipping {}: {e}", message.topic);
                }
            }
        } else if message.topic.ends_with("/LWT") {
            lwts.insert(
                message.topic.clone(),
                String::from_utf8_lossy(&message.payload).into_owned(),
            );
        }
    }

    // LWTs of discovered devices give their online state; the others are devices of their own.
    let by_lwt: HashMap<String, usize> = found
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((f.lwt_topic()?, i)))
        .collect();
    let mut probes = Vec::new();
    for (lwt, payload) in &lwts {
        if let Some(&i) = by_lwt.get(lwt) {
            found[i].set_lwt(payload);
            continue;
        }
        let Some((layout, topic)) = guess(lwt, &layouts) else {
            continue;
        };
        let mut device = Found {
            name: topic.clone(),
            full_topic: layout.template.normalized(),
            prefix: layout.prefixes.clone(),
            topic,
            hostname: None,
            ip: None,
            mac: None,
            model: None,
            firmware: None,
            relays: None,
            online: None,
            source: "lwt",
            layout,
            words: ("Online".into(), "Offline".into()),
        };
        device.set_lwt(payload);
        if device.online == Some(false) {
            found.push(device);
            continue;
        }
        let vars = Vars {
            topic: &device.topic,
            ..Vars::default()
        };
        let any_stat = Layout {
            prefixes: Prefixes {
                stat: "+".into(),
                ..device.layout.prefixes.clone()
            },
            template: device.layout.template.clone(),
        };
        let (Ok(filter), Ok(base)) = (
            any_stat.device_filter(Class::Stat, &vars),
            device.layout.base(Class::Cmnd, &vars),
        ) else {
            found.push(device);
            continue;
        };
        let asked = ["FullTopic", "Prefix", "Status"]
            .iter()
            .map(|c| format!("{base}{c}"))
            .collect();
        probes.push((
            lwt.clone(),
            Probe {
                found: device,
                filter,
                asked,
                full_topic: None,
                prefixes: None,
                status: Map::new(),
                done: false,
            },
        ));
    }

    // Phase 2: ask the LWT-only devices, until all answered or the wait is over; with
    // `broadcast`, also every device on the group topics, until the wait is over.
    let mut heard: BTreeMap<String, (Layout, String, Map<String, Value>)> = BTreeMap::new();
    if !probes.is_empty() || broadcast {
        let mut filters: Vec<String> = probes.iter().map(|(_, p)| p.filter.clone()).collect();
        if broadcast {
            filters.push(BROADCAST_REPLIES.into());
        }
        session.subscribe(&filters).await?;
        for (_, probe) in &probes {
            for (topic, payload) in probe.asked.iter().zip(["", "", "0"]) {
                session.publish(topic, payload, false).await?;
            }
        }
        if broadcast {
            for topic in broadcast_topics(&settings.profile.defaults.group_topic) {
                session.publish(&topic, "5", false).await?;
            }
        }
        let mut pending = probes.len();
        while pending > 0 || broadcast {
            let message = tokio::select! {
                m = session.recv() => m?,
                _ = tokio::time::sleep_until(deadline) => break,
                _ = crate::signal::interrupted() => return interrupted(session).await,
            };
            if message.retain {
                continue;
            }
            let suffix = message.topic.rsplit('/').next().unwrap_or_default();
            if broadcast
                && suffix == "STATUS5"
                && let (Some((layout, topic)), Some(net)) = (
                    status_reply_layout(&message.topic),
                    json_object(&message.payload),
                )
            {
                heard.insert(message.topic.clone(), (layout, topic, net));
            }
            for (_, probe) in probes.iter_mut() {
                if !probe.done
                    && mqtt::filter_matches(&probe.filter, &message.topic)
                    && !probe.asked.contains(&message.topic)
                {
                    probe.feed(suffix, &message.payload);
                    if probe.done {
                        pending -= 1;
                    }
                }
            }
        }
        found.extend(probes.into_iter().map(|(lwt, p)| p.finish(&lwt)));
    }
    for (layout, topic, net) in heard.into_values() {
        merge_heard(&mut found, layout, topic, &net);
    }
    if progress {
        eprint!("\r\x1b[K");
    }
    if malformed > 0 {
        eprintln!("tasctl: {malformed} malformed discovery message(s) skipped");
    }
    found.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.topic.cmp(&b.topic))
    });
    Ok(Report(found))
}

/// Ctrl-C: say goodbye to the broker, then end with 130.
async fn interrupted(session: &mut Session) -> Result<Report> {
    session.disconnect().await.ok();
    Err(crate::error::Interrupted.into())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return writeln!(
                f,
                "no Tasmota devices found (no retained discovery or LWT messages on this broker)"
            );
        }
        let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let rows: Vec<[String; 8]> = self
            .0
            .iter()
            .map(|d| {
                let online = match d.online {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "?",
                };
                [
                    d.name.clone(),
                    d.topic.clone(),
                    dash(&d.model),
                    dash(&d.firmware),
                    dash(&d.ip),
                    d.relays.map_or("-".into(), |r| r.to_string()),
                    online.into(),
                    d.source.into(),
                ]
            })
            .collect();
        crate::output::table(
            f,
            [
                "NAME", "TOPIC", "MODEL", "FIRMWARE", "IP", "RELAYS", "ONLINE", "SOURCE",
            ],
            &rows,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> (String, Vec<u8>) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tasmota-payloads")
            .join(format!("{name}.json"));
        let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let topic = json["topic"].as_str().unwrap();
        let mac = topic
            .strip_prefix(topic::DISCOVERY_PREFIX)
            .unwrap()
            .strip_suffix("/config")
            .unwrap()
            .to_string();
        (mac, json["payload"].as_str().unwrap().as_bytes().to_vec())
    }

    #[test]
    fn every_fixture_config_shape() {
        let cases = [
            (
                "discovery-config-v10.0.0-4ch-relay",
                "Tasmota",
                "tasmota_852612",
                Some(4),
                "4CH Relay",
                "10.0.0",
            ),
            (
                "discovery-config-v13.1.0.1-nous-a1t-plug",
                "Geschirrspüler",
                "tasmota_17E7AE",
                Some(1),
                "Nous A1T",
                "13.1.0.1",
            ),
            (
                "discovery-config-v13.2.0.1-esp32-3relays-custom-topic",
                "heating",
                "thermostat",
                Some(3),
                "ESP32-DevKit",
                "13.2.0.1",
            ),
            (
                "discovery-config-v13.3.0.1-generic-no-relays",
                "Tasmota",
                "tasmota_80FF6D",
                Some(0),
                "Generic",
                "13.3.0.1",
            ),
        ];
        for (name, label, topic, relays, model, firmware) in cases {
            let (mac, payload) = fixture(name);
            let f = from_config(&mac, &payload).unwrap();
            assert_eq!(
                (f.name.as_str(), f.topic.as_str(), f.relays),
                (label, topic, relays),
                "{name}"
            );
            assert_eq!(
                (f.model.as_deref(), f.firmware.as_deref(), f.mac.as_deref()),
                (Some(model), Some(firmware), Some(mac.as_str()))
            );
            assert_eq!(f.full_topic, "%prefix%/%topic%/");
            assert_eq!(f.lwt_topic().unwrap(), format!("tele/{topic}/LWT"));
        }
    }

    #[test]
    fn odd_configs() {
        // ft without its trailing slash, custom prefixes, a FullTopic with %hostname%
        let c = br#"{"t":"lamp","ft":"%prefix%/%hostname%","tp":["c","s","t"],"hn":"lamp-1","mac":"A0B765000001","fn":["",null],"dn":"Lamp"}"#;
        let f = from_config("A0B765000001", c).unwrap();
        assert_eq!(
            (f.full_topic.as_str(), f.name.as_str()),
            ("%prefix%/%hostname%/", "Lamp")
        );
        assert_eq!(f.lwt_topic().unwrap(), "t/lamp-1/LWT");
        assert!(from_config("A0B765000001", b"not json").is_err());
        assert!(from_config("A0B765000001", br#"{"dn":"no topic"}"#).is_err());
        assert!(
            from_config("A0B765000002", br#"{"t":"x","mac":"A0B765000001"}"#)
                .unwrap_err()
                .contains("not the")
        );
    }

    #[test]
    fn lwt_layout_guesses() {
        let guessed = |lwt: &str| guess(lwt, &[]).map(|(l, t)| (l.template.to_string(), t));
        assert_eq!(
            guessed("tele/tasmota_1/LWT"),
            Some(("%prefix%/%topic%/".into(), "tasmota_1".into()))
        );
        assert_eq!(
            guessed("kitchen_lamp/tele/LWT"),
            Some(("%topic%/%prefix%/".into(), "kitchen_lamp".into()))
        );
        assert_eq!(
            guessed("nspanel/ns_panel4/tele/LWT"),
            Some(("nspanel/%topic%/%prefix%/".into(), "ns_panel4".into()))
        );
        assert_eq!(
            guessed("home/tele/kitchen/lamp/LWT"),
            Some(("home/%prefix%/%topic%/".into(), "kitchen/lamp".into()))
        );
        assert_eq!(guessed("zigbee2mqtt/bridge/LWT"), None);
        assert_eq!(guessed("tele/LWT"), None);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_config_or_lwt_is_survivable(payload in proptest::collection::vec(any::<u8>(), 0..200), text in "\\PC{0,120}", lwt in "[a-z/+#]{0,30}") {
                let _ = from_config("A0B765000001", &payload);
                let _ = from_config("A0B765000001", text.as_bytes());
                let _ = from_config("A0B765000001", format!(r#"{{"t":"x","ft":{text:?},"tp":[{text:?}],"rl":[1,2]}}"#).as_bytes());
                let _ = guess(&format!("{lwt}/LWT"), &[]);
            }
        }
    }
}
