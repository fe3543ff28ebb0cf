//! `tasctl discover`: every Tasmota device on the broker, from every signal.
//!
//! 1. Retained native discovery (`tasmota/discovery/<MAC>/config`) and retained LWTs across
//!    layouts. MQTT does not promise that retained messages come before a later live one
//!    (aedes and EMQX deliver them after), so the scan ends when the retained stream has gone
//!    quiet after a marker of our own came back: a short pause, longer when the broker was
//!    slow to send the marker back, never longer than `--wait`. One entry per MAC, whatever
//!    the broker repeats.
//! 2. LWT-only devices that are online are asked for `FullTopic`, `Prefix` and `Status 0`,
//!    conversations on the engine (`--broadcast` adds `Status 5` on the group topics).
//!
//! Malformed payloads are reported and counted, never fatal.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::ask::json_object;
use crate::engine::{self, Conversation, Heard, OpenGroup, Outbox, Plan};
use crate::mqtt::Session;
use crate::output::Output;
use crate::profile::{self, Device};
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
    /// The device as commands address it: its topic and layout, MAC and hostname, LWT words.
    pub fn device(&self) -> Device {
        Device {
            hostname: self.hostname.clone(),
            mac: self.mac.clone(),
            lwt: (self.words.0 != "Online" || self.words.1 != "Offline")
                .then(|| self.words.clone()),
            ..Device::unnamed(&self.topic, self.layout.clone())
        }
    }

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
            lwt: (self.words.0 != "Online" || self.words.1 != "Offline")
                .then(|| self.words.clone()),
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

pub(super) fn from_config(topic_mac: &str, payload: &[u8]) -> Result<Found, String> {
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
pub(super) fn guess(lwt: &str, layouts: &[&Layout]) -> Option<(Layout, String)> {
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

/// The layouts a broadcast reaches: `%prefix%/%topic%/` and `%topic%/%prefix%/` (each device
/// subscribes to its own form of the group topic).
fn broadcast_layouts() -> Vec<Layout> {
    [topic::DEFAULT_FULL_TOPIC, "%topic%/%prefix%/"]
        .iter()
        .map(|t| Layout::with_template(t).expect("a known template"))
        .collect()
}

/// The broadcast: `Status 5` on the group topic and on the 6.x-era `sonoffs`, in both layouts.
fn broadcast_topics(group_topic: &str) -> Vec<String> {
    let mut groups = vec![group_topic];
    if group_topic != "sonoffs" {
        groups.push("sonoffs");
    }
    let mut topics = Vec::new();
    for group in groups {
        for layout in broadcast_layouts() {
            let vars = Vars {
                topic: group,
                ..Vars::default()
            };
            if let Ok(t) = layout.topic(Class::Cmnd, &vars, "Status") {
                topics.push(t);
            }
        }
    }
    topics
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
    /// Its LWT topic, which says where its topic is.
    lwt: String,
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

/// The two kinds of conversation of a scan.
enum Talk {
    /// An LWT-only device asked about itself.
    Probe(Box<Probe>),
    /// A device that answered the broadcast: its StatusNET.
    Heard(Option<Map<String, Value>>),
}

impl Conversation for Talk {
    fn start(&mut self, out: &mut Outbox) {
        if let Talk::Probe(_) = self {
            out.command("FullTopic", "");
            out.command("Prefix", "");
            out.command("Status", "0");
        }
    }

    fn hear(&mut self, heard: &Heard, _out: &mut Outbox) {
        if heard.class != Class::Stat || heard.retained {
            return;
        }
        match self {
            Talk::Probe(probe) => probe.feed(heard.suffix, heard.payload),
            Talk::Heard(net) if heard.suffix == "STATUS5" => {
                *net = json_object(heard.payload);
            }
            Talk::Heard(_) => {}
        }
    }

    fn done(&self) -> bool {
        match self {
            Talk::Probe(probe) => probe.done,
            Talk::Heard(net) => net.is_some(),
        }
    }
}

/// The shortest quiet after the marker that ends the retained scan. A broker without
/// TCP_NODELAY (aedes) can hold its next segment until our delayed ACK, 40 ms on Linux.
const MIN_QUIET: Duration = Duration::from_millis(100);
/// The longest quiet ever waited for (`--wait` bounds the scan too).
const MAX_QUIET: Duration = Duration::from_millis(750);

/// What the retained messages say.
struct Retained {
    /// Devices with a discovery config, by MAC.
    found: BTreeMap<String, Found>,
    /// Every retained LWT: topic → payload.
    lwts: BTreeMap<String, String>,
    malformed: usize,
}

/// Reads the retained discovery configs and LWTs until the retained stream has gone quiet
/// after our marker came back (or `--wait` is over).
async fn scan(settings: &Settings, session: &mut Session, out: &Output) -> Result<Retained> {
    let started = Instant::now();
    let layouts = settings.profile.layouts();
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
    let mut retained = Retained {
        found: BTreeMap::new(),
        lwts: BTreeMap::new(),
        malformed: 0,
    };
    retained_stream(session, filters, started + settings.wait, |message| {
        if message.payload.is_empty() || !message.retain {
            return; // an empty retained message deletes; it is not a device
        }
        if let Some(rest) = message.topic.strip_prefix(topic::DISCOVERY_PREFIX) {
            let Some(mac) = rest.strip_suffix("/config") else {
                return;
            };
            match from_config(mac, &message.payload) {
                Ok(device) => {
                    let key = device.mac.clone().unwrap_or_default();
                    retained.found.insert(key, device);
                }
                Err(e) => {
                    retained.malformed += 1;
                    out.warn(&format!(
                        "skipping {}: {e}",
                        crate::output::escape(&message.topic)
                    ));
                }
            }
        } else if message.topic.ends_with("/LWT") {
            retained.lwts.insert(
                message.topic,
                String::from_utf8_lossy(&message.payload).into_owned(),
            );
        }
    })
    .await?;
    Ok(retained)
}

/// Every retained message under `filters`, handed to `each` as it comes, until the retained
/// stream has gone quiet after a marker of our own came back (or `deadline`). MQTT does not
/// promise retained messages before later live ones, so the marker alone is not the end. Live
/// messages heard meanwhile go to `each` too (`retain` false): they tell who is alive.
pub async fn retained_stream(
    session: &mut Session,
    mut filters: Vec<String>,
    deadline: Instant,
    mut each: impl FnMut(crate::mqtt::Message),
) -> Result<()> {
    let marker = format!(
        "tasctl/scan/{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
    );
    filters.push(marker.clone());
    session.subscribe(&filters).await?;
    let subscribed = Instant::now();
    session.publish(&marker, "", false).await?;
    // Once the marker is back: the quiet time that ends the scan, counted from the later of
    // the marker and the last retained message.
    let mut quiet: Option<(Instant, Duration)> = None;
    let mut last_retained = subscribed;
    // How long the broker took to send anything: its latency, not the size of what it keeps.
    let mut first_heard: Option<Duration> = None;
    loop {
        let until = match quiet {
            Some((marker_back, pause)) => (last_retained.max(marker_back) + pause).min(deadline),
            None => deadline,
        };
        let message = tokio::select! {
            m = session.recv() => m?,
            _ = tokio::time::sleep_until(until) => return Ok(()),
            _ = crate::signal::interrupted() => {
                session.disconnect().await.ok();
                return Err(crate::error::Interrupted.into());
            }
        };
        let latency = *first_heard.get_or_insert_with(|| subscribed.elapsed());
        if message.topic == marker {
            // A slow broker gets a longer pause; a broker that keeps much does not.
            quiet = Some((Instant::now(), (latency * 2).clamp(MIN_QUIET, MAX_QUIET)));
            continue;
        }
        if !message.retain {
            // Live traffic is not what the broker keeps, but it tells who is alive.
            each(message);
            continue;
        }
        let now = Instant::now();
        // A broker that paused in the middle of its retained stream may pause again as long:
        // wait three times that pause before calling the stream complete.
        if let Some((_, pause)) = quiet.as_mut() {
            *pause = (*pause).max((now - last_retained) * 3).min(MAX_QUIET);
        }
        last_retained = now;
        each(message);
    }
}

pub async fn run(
    settings: &Settings,
    session: &mut Session,
    broadcast: bool,
    out: &Output,
) -> Result<Report> {
    let started = Instant::now();
    out.progress(Some(&format!("scanning {} ...", settings.broker.url)));
    let Retained {
        found,
        lwts,
        malformed,
    } = scan(settings, session, out).await?;
    let mut found: Vec<Found> = found.into_values().collect();

    // LWTs of discovered devices give their online state; the others are devices of their own.
    let by_lwt: HashMap<String, usize> = found
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((f.lwt_topic()?, i)))
        .collect();
    let layouts = settings.profile.layouts();
    let mut plan: Plan<Talk> = Plan::default();
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
        let askable = profile::check_word(&device.topic).is_ok()
            && device
                .layout
                .template
                .check_vars(&device_vars(&device))
                .is_ok();
        if device.online == Some(false) || !askable {
            found.push(device);
            continue;
        }
        let party = Device::unnamed(&device.topic, device.layout.clone());
        let probe = Probe {
            found: device,
            lwt: lwt.clone(),
            full_topic: None,
            prefixes: None,
            status: Map::new(),
            done: false,
        };
        plan.parties.push((party, Talk::Probe(Box::new(probe))));
    }

    // Phase 2: ask the LWT-only devices, until all answered or the wait is over; with
    // `broadcast`, also every device on the group topics, until the wait is over.
    if !plan.parties.is_empty() || broadcast {
        if broadcast {
            let group_topic = &settings.profile.defaults.group_topic;
            plan.broadcasts = broadcast_topics(group_topic)
                .into_iter()
                .map(|t| (t, "5".to_string()))
                .collect();
            plan.open.push(OpenGroup {
                name: "broadcast".into(),
                group_topic: group_topic.clone(),
                layouts: broadcast_layouts(),
                unknown_members: true,
            });
        }
        plan.wait = Some(settings.wait.saturating_sub(started.elapsed()));
        let outcome = engine::run(session, plan, &settings.profile, |_| {
            Some(Talk::Heard(None))
        })
        .await?;
        if outcome.end == engine::End::Interrupted {
            session.disconnect().await.ok();
            return Err(crate::error::Interrupted.into());
        }
        for party in outcome.parties {
            match party.conversation {
                Talk::Probe(probe) => {
                    let lwt = probe.lwt.clone();
                    found.push(probe.finish(&lwt));
                }
                Talk::Heard(Some(net)) => {
                    merge_heard(&mut found, party.device.layout, party.device.topic, &net)
                }
                Talk::Heard(None) => {}
            }
        }
    }
    out.progress(None);
    if malformed > 0 {
        out.note(&format!(
            "{} skipped",
            crate::output::count(
                malformed,
                "malformed discovery message",
                "malformed discovery messages"
            )
        ));
    }
    // A device whose topic cannot be addressed (`evil+topic`) is no device tasctl can reach.
    found.retain(|f| {
        let unusable = profile::check_word(&f.topic)
            .err()
            .or_else(|| f.layout.template.check_vars(&device_vars(f)).err().map(|e| e.to_string()));
        if let Some(why) = &unusable {
            out.warn(&format!(
                "skipping the device{} that reports Topic `{}`: {why}; it cannot be addressed (fix its Topic on the device)",
                f.mac.as_deref().map(|m| format!(" {m}")).unwrap_or_default(),
                crate::output::escape(&f.topic)
            ));
        }
        unusable.is_none()
    });
    // Each device by the name it has in the profile, or would get from --save.
    let mut naming = profile::Naming::new(&settings.profile);
    for f in &mut found {
        f.name = naming.name(&f.for_profile());
    }
    found.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.topic.cmp(&b.topic))
    });
    Ok(Report(found))
}

fn device_vars(found: &Found) -> Vars<'_> {
    Vars {
        topic: &found.topic,
        hostname: found.hostname.as_deref(),
        mac: found.mac.as_deref(),
    }
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
