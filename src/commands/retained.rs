//! `tasctl retained [clean [--class C]... [--yes] [--fix]]`: what the broker keeps for Tasmota
//! devices, each message classed with the device it belongs to, and cleaning it safely.
//!
//! The scan reads the retained messages under every layout the profile and discovery reveal
//! (and `tasmota/discovery/#`), ending the way discover ends, then asks every device it found
//! whether it is alive (`State`), since an LWT that says `Online` may be a leftover. Classes:
//! `live` (its device answers), `stale-lwt`, `orphan-discovery` (their device does not),
//! `offline` (the same for a device the profile names: switched off, not gone),
//! `ghost-command` (a retained `cmnd/...`, run again at every reconnect; on a group topic, by
//! every device of the group), `retained-state` (POWER, RESULT, STATE, SENSOR, INFO or STATUS
//! kept by a `*Retain` setting). Only what the firmware publishes counts: anything else under
//! `tele/` or `stat/` is someone else's and never listed. `clean` clears debris unless told
//! otherwise, never a live device's LWT or discovery config, asks the devices again just
//! before clearing, only prints unless `--yes`, confirms each clear by reading the topic back
//! (a broker that refuses one is reported per message), and with `--fix` first turns the
//! causing setting off.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use anyhow::Result;
use colored::Colorize;
use serde::Serialize;
use tokio::time::Instant;

use super::ask::{self, Reply, json_object};
use super::discover;
use crate::directory::Directory;
use crate::engine::{self, Conversation, Heard, Outbox, Plan};
use crate::mqtt::Session;
use crate::output::{self, Output, escape};
use crate::profile::Device;
use crate::settings::Settings;
use crate::topic::{self, Class, Layout};

/// What a retained message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Live,
    Offline,
    StaleLwt,
    OrphanDiscovery,
    GhostCommand,
    RetainedState,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Live => "live",
            Kind::StaleLwt => "stale-lwt",
            Kind::OrphanDiscovery => "orphan-discovery",
            Kind::GhostCommand => "ghost-command",
            Kind::RetainedState => "retained-state",
            Kind::Offline => "offline",
        }
    }

    /// What `clean` clears when no class is named: debris, nothing a device still uses.
    pub const DEBRIS: [Kind; 3] = [Kind::StaleLwt, Kind::OrphanDiscovery, Kind::GhostCommand];

    /// Classes whose message belongs to a device that may come back: asked again before
    /// clearing.
    fn depends_on_silence(self) -> bool {
        matches!(self, Kind::StaleLwt | Kind::OrphanDiscovery | Kind::Offline)
    }
}

/// Is this a message the firmware itself publishes under its stat or tele prefix? Anything
/// else there belongs to someone else (a weather station's `tele/x/forecast`).
fn firmware_publishes(class: Class, suffix: &str) -> bool {
    let numbered = |word: &str| {
        suffix
            .strip_prefix(word)
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
    };
    match class {
        Class::Tele => matches!(suffix, "LWT" | "STATE" | "SENSOR" | "RESULT") || numbered("INFO"),
        Class::Stat => suffix == "RESULT" || numbered("POWER") || numbered("STATUS"),
        Class::Cmnd => true,
    }
}

/// One retained message, classed.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub topic: String,
    pub class: Kind,
    /// The device it belongs to: its profile name, else its topic.
    pub device: Option<String>,
    pub why: String,
    /// What the payload was (text, escaped for terminals by the renderer).
    pub payload: String,
    /// After `clean --yes`: gone when read back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared: Option<bool>,
    /// After `clean --yes --fix`: the setting turned off on the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// After `clean --yes`: why it was not cleared (the broker refused the empty publish).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The device and the setting command that stops it coming back (`PowerRetain`).
    #[serde(skip)]
    setting: Option<(Device, &'static str)>,
    /// The device to ask again just before clearing.
    #[serde(skip)]
    owner: Option<Device>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Report {
    pub items: Vec<Item>,
    /// Printing what `clean` would do, not what it did.
    #[serde(skip)]
    pub dry_run: bool,
}

impl Report {
    /// 1 when something `clean` cleared is still there.
    pub fn exit_code(&self) -> u8 {
        if self.items.iter().any(|i| i.cleared == Some(false)) {
            crate::error::FAILURE
        } else {
            crate::error::OK
        }
    }
}

/// Is this device alive? Any answer to `State` says so, and so does an LWT saying `Online`
/// now (not the one the broker kept: that may be a leftover).
struct Alive(bool);

impl Conversation for Alive {
    fn start(&mut self, out: &mut Outbox) {
        out.command("State", "");
    }

    fn hear(&mut self, heard: &Heard, _out: &mut Outbox) {
        self.0 |= heard.class == Class::Stat && !heard.retained;
    }

    fn online(&mut self, online: bool, retained: bool, _out: &mut Outbox) {
        self.0 |= online && !retained;
    }

    fn done(&self) -> bool {
        self.0
    }
}

/// Which of these devices answer now (indices into `devices`).
async fn ask_alive(
    settings: &Settings,
    session: &mut Session,
    devices: Vec<Device>,
) -> Result<HashSet<usize>> {
    let plan = Plan {
        parties: devices.into_iter().map(|d| (d, Alive(false))).collect(),
        wait: Some(settings.wait),
        ..Plan::default()
    };
    let outcome = engine::run(session, plan, &settings.profile, |_| None).await?;
    if outcome.end == engine::End::Interrupted {
        session.disconnect().await.ok();
        return Err(crate::error::Interrupted.into());
    }
    Ok(outcome
        .parties
        .iter()
        .enumerate()
        .filter(|(_, p)| p.conversation.0)
        .map(|(i, _)| i)
        .collect())
}

/// A message waiting for its device's liveness: live, or this class.
struct Pending {
    item: Item,
    device: usize,
    otherwise: Kind,
}

/// The setting behind a retained stat/tele message, and the command that turns it off.
fn retain_setting(class: Class, suffix: &str) -> (&'static str, &'static str) {
    match (class, suffix) {
        (Class::Stat, s) if s.starts_with("POWER") => (
            "PowerRetain 1 (the device keeps its power state retained)",
            "PowerRetain",
        ),
        (Class::Stat, s) if s.starts_with("STATUS") => ("StatusRetain 1", "StatusRetain"),
        (Class::Tele, "SENSOR") => ("SensorRetain 1", "SensorRetain"),
        (Class::Tele, "STATE") => ("StateRetain 1", "StateRetain"),
        (Class::Tele, s) if s.starts_with("INFO") => ("InfoRetain 1", "InfoRetain"),
        (_, s) if s.starts_with("SWITCH") => ("SwitchRetain 1", "SwitchRetain"),
        _ => ("a retained publish by someone", ""),
    }
}

/// Reads and classes everything retained that belongs to Tasmota devices.
pub async fn scan(settings: &Settings, session: &mut Session, out: &Output) -> Result<Report> {
    let started = Instant::now();
    let profile = &settings.profile;
    out.progress(Some(&format!(
        "reading what {} keeps ...",
        settings.broker.url
    )));
    let mut layouts: Vec<Layout> = profile.layouts().into_iter().cloned().collect();
    let topic_first = Layout::with_template("%topic%/%prefix%/").expect("a known template");
    if !layouts.contains(&topic_first) {
        layouts.push(topic_first);
    }
    let filters_of = |layouts: &[Layout]| -> Vec<String> {
        layouts
            .iter()
            .flat_map(|l| Class::ALL.map(|c| l.all_filter(c)))
            .collect()
    };
    let mut filters = filters_of(&layouts);
    filters.extend([
        format!("{}#", topic::DISCOVERY_PREFIX),
        "+/+/LWT".into(),
        "+/+/+/LWT".into(),
    ]);
    let mut messages: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    // Live messages heard while reading: a device heard at any moment is alive.
    let mut live: Vec<(String, Vec<u8>)> = Vec::new();
    let deadline = started + settings.wait;
    discover::retained_stream(session, filters, deadline, |m| {
        if !m.retain {
            live.push((m.topic, m.payload.to_vec()));
        } else if !m.payload.is_empty() {
            messages.insert(m.topic, m.payload.to_vec());
        }
    })
    .await?;

    // Discovery names the devices and reveals their layouts.
    let mut directory = Directory::from_profile(profile);
    let mut by_mac: BTreeMap<String, usize> = BTreeMap::new();
    for (mqtt_topic, payload) in &messages {
        let Some(mac) = mqtt_topic
            .strip_prefix(topic::DISCOVERY_PREFIX)
            .and_then(|rest| rest.strip_suffix("/config"))
        else {
            continue;
        };
        let Ok(found) = discover::from_config(mac, payload) else {
            continue;
        };
        let device = found.device();
        let index = match directory.find(&device.topic, &device.layout) {
            Some(known) => known,
            None => directory.add(device.clone()),
        };
        if !layouts.contains(&device.layout) {
            layouts.push(device.layout.clone());
        }
        directory.add_layout(&device.layout);
        if let Some(mac) = &found.mac {
            by_mac.insert(mac.clone(), index);
        }
    }
    // Layouts only discovery told us about: read what they keep too.
    let known: HashSet<String> =
        filters_of(&profile.layouts().into_iter().cloned().collect::<Vec<_>>())
            .into_iter()
            .collect();
    let extra: Vec<String> = filters_of(&layouts)
        .into_iter()
        .filter(|f| !known.contains(f))
        .collect();
    if !extra.is_empty() {
        discover::retained_stream(
            session,
            extra,
            deadline.max(Instant::now() + settings.wait / 2),
            |m| {
                if !m.retain {
                    live.push((m.topic, m.payload.to_vec()));
                } else if !m.payload.is_empty() {
                    messages.insert(m.topic, m.payload.to_vec());
                }
            },
        )
        .await?;
    }

    let mut items = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let name = |d: &Device| d.name.clone().unwrap_or_else(|| d.topic.clone());
    // The profile's devices come first in the directory.
    let in_profile = |index: usize| index < profile.devices.len();
    let group_topics: HashSet<&str> = std::iter::once(profile.defaults.group_topic.as_str())
        .chain(profile.groups.values().filter_map(|g| match g {
            crate::profile::Group::Firmware { group_topic, .. } => Some(group_topic.as_str()),
            crate::profile::Group::List(_) => None,
        }))
        .collect();
    for (mqtt_topic, payload) in messages {
        let text = String::from_utf8_lossy(&payload).into_owned();
        let item = |class: Kind, device: Option<String>, why: String| Item {
            topic: mqtt_topic.clone(),
            class,
            device,
            why,
            payload: text.clone(),
            cleared: None,
            fixed: None,
            refused: None,
            setting: None,
            owner: None,
        };
        if let Some(rest) = mqtt_topic.strip_prefix(topic::DISCOVERY_PREFIX) {
            let mac = rest.split('/').next().and_then(topic::normalize_mac);
            match mac.and_then(|m| by_mac.get(&m).copied()) {
                Some(index) => pending.push(Pending {
                    item: item(
                        Kind::Live,
                        Some(name(directory.device(index))),
                        String::new(),
                    ),
                    device: index,
                    otherwise: if in_profile(index) {
                        Kind::Offline
                    } else {
                        Kind::OrphanDiscovery
                    },
                }),
                None => items.push(item(
                    Kind::OrphanDiscovery,
                    None,
                    "a discovery message without a readable config: no device behind it".into(),
                )),
            }
            continue;
        }
        let hit = directory.lookup(&mqtt_topic);
        // A device the profile or discovery knows, or one only a layout reads.
        let (index, class, suffix, known) = match hit {
            Some(h) => {
                let (class, suffix) = (h.class, h.suffix.to_string());
                match h.device {
                    Some(i) => (i, class, suffix, true),
                    None => {
                        let layout = directory.layout(h.layout.unwrap_or_default()).clone();
                        let device = Device::unnamed(h.topic, layout);
                        (directory.add(device), class, suffix, false)
                    }
                }
            }
            None => match mqtt_topic
                .strip_suffix("/LWT")
                .and(discover::guess(&mqtt_topic, &[]))
            {
                Some((layout, device_topic)) => {
                    directory.add_layout(&layout);
                    let index = directory.add(Device::unnamed(&device_topic, layout));
                    (index, Class::Tele, "LWT".to_string(), false)
                }
                None => continue, // not a Tasmota topic
            },
        };
        let device = directory.device(index).clone();
        if !firmware_publishes(class, &suffix) {
            continue; // someone else's, under a Tasmota-looking prefix
        }
        match (class, suffix.as_str()) {
            (Class::Cmnd, command)
                if !in_profile(index) && group_topics.contains(device.topic.as_str()) =>
            {
                items.push(item(
                    Kind::GhostCommand,
                    Some(format!("group {}", device.topic)),
                    format!(
                        "a ghost on the group topic `{}`: every device of that group runs `{command} {}` at each reconnect",
                        escape(&device.topic),
                        escape(&text)
                    ),
                ));
            }
            (Class::Cmnd, command) => {
                let by_whom = if known {
                    "set by a retained publish (a home-automation switch with retain, mosquitto_pub -r)"
                } else {
                    "no known device has this topic: a ButtonTopic or SwitchTopic with ButtonRetain/SwitchRetain 1, or a retained publish"
                };
                items.push(item(
                    Kind::GhostCommand,
                    Some(name(&device)),
                    format!(
                        "the device runs `{command} {}` at every reconnect; {by_whom}",
                        escape(&text)
                    ),
                ));
            }
            (Class::Tele, "LWT") => pending.push(Pending {
                item: item(Kind::Live, Some(name(&device)), String::new()),
                device: index,
                otherwise: if in_profile(index) {
                    Kind::Offline
                } else {
                    Kind::StaleLwt
                },
            }),
            (class, suffix) => {
                let (cause, command) = retain_setting(class, suffix);
                let mut it = item(
                    Kind::RetainedState,
                    Some(name(&device)),
                    format!("kept by {cause}"),
                );
                if !command.is_empty() {
                    it.setting = Some((device, command));
                }
                items.push(it);
            }
        }
    }

    // Liveness: heard live during the scan, or answering now.
    let mut alive: HashSet<usize> = HashSet::new();
    for (mqtt_topic, payload) in &live {
        let Some(hit) = directory.lookup(mqtt_topic) else {
            continue;
        };
        let Some(index) = hit.device else {
            continue;
        };
        let device = directory.device(index);
        let online = hit.class != Class::Cmnd
            && (hit.suffix != "LWT" || payload.as_slice() == device.lwt_online().as_bytes());
        if online {
            alive.insert(index);
        }
    }
    let mut asked: Vec<usize> = pending
        .iter()
        .map(|p| p.device)
        .filter(|i| !alive.contains(i))
        .collect();
    asked.sort_unstable();
    asked.dedup();
    out.progress(Some(&format!(
        "asking {} whether they are alive ...",
        crate::output::count(asked.len(), "device", "devices")
    )));
    let devices = asked.iter().map(|&i| directory.device(i).clone()).collect();
    let answered = ask_alive(settings, session, devices).await?;
    out.progress(None);
    alive.extend(answered.into_iter().map(|k| asked[k]));
    for Pending {
        mut item,
        device,
        otherwise,
    } in pending
    {
        if alive.contains(&device) {
            item.why = "its device answers".into();
        } else {
            item.class = otherwise;
            item.owner = Some(directory.device(device).clone());
            item.why = match otherwise {
                Kind::StaleLwt => format!(
                    "no device answers on this topic (the LWT says `{}`)",
                    escape(&item.payload)
                ),
                Kind::Offline => {
                    "a device of the profile that does not answer now (switched off, not gone)"
                        .into()
                }
                _ => "its device does not answer (removed, renamed, or switched off)".into(),
            };
        }
        items.push(item);
    }
    items.sort_by(|a, b| (a.class, &a.device, &a.topic).cmp(&(b.class, &b.device, &b.topic)));
    Ok(Report {
        items,
        dry_run: false,
    })
}

/// Asks for a setting's state with the new value and takes the reply that names it.
struct SettingReply {
    name: String,
    answer: Option<String>,
}

impl Reply for SettingReply {
    fn feed(&mut self, _suffix: &str, payload: &[u8]) {
        let Some(object) = json_object(payload) else {
            return;
        };
        if ask::is_rejection(&object) {
            self.answer = Some("refused (this build does not have it)".into());
        } else if let Some((_, value)) = object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&self.name))
        {
            self.answer = Some(
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), String::from),
            );
        }
    }
    fn complete(&self) -> bool {
        self.answer.is_some()
    }
    fn answered(&self) -> bool {
        self.answer.is_some()
    }
    fn rejection(&self) -> Option<&serde_json::Value> {
        None
    }
}

/// What `clean` would clear: the chosen classes (debris when none is named), never `live`.
pub fn dry_run(mut report: Report, classes: &[Kind]) -> Report {
    let chosen = if classes.is_empty() {
        &Kind::DEBRIS[..]
    } else {
        classes
    };
    report
        .items
        .retain(|i| i.class != Kind::Live && chosen.contains(&i.class));
    report.dry_run = true;
    report
}

/// Clears the chosen classes (never `live`): with `fix`, first turns the causing setting off on
/// each device; then empty retained publishes; then reads each topic back.
pub async fn clean(
    settings: &Settings,
    session: &mut Session,
    report: Report,
    classes: &[Kind],
    fix: bool,
) -> Result<Report> {
    let mut report = dry_run(report, classes);
    report.dry_run = false;
    if fix {
        let mut settings_off: Vec<(Device, &'static str)> = Vec::new();
        for item in &report.items {
            if let Some((device, command)) = &item.setting
                && !settings_off
                    .iter()
                    .any(|(d, c)| d.topic == device.topic && c == command)
            {
                settings_off.push((device.clone(), command));
            }
        }
        for (device, command) in settings_off {
            let targets = [crate::target::Target::Device(device.clone())];
            let plan = ask::plan(
                &targets,
                &[(command.to_string(), "0".into())],
                settings.wait,
                |_, _| SettingReply {
                    name: command.to_string(),
                    answer: None,
                },
            )?;
            let outcome = ask::run(session, plan, &settings.profile, |_, _| SettingReply {
                name: command.to_string(),
                answer: None,
            })
            .await?;
            let answer = outcome
                .parties
                .first()
                .and_then(|p| p.conversation.reply.answer.clone());
            for item in report.items.iter_mut() {
                if item
                    .setting
                    .as_ref()
                    .is_some_and(|(d, c)| d.topic == device.topic && c == &command)
                {
                    item.fixed = Some(match &answer {
                        Some(a) => format!("{command} {a}"),
                        None => format!(
                            "{command}: no answer within {}",
                            output::duration(settings.wait)
                        ),
                    });
                }
            }
        }
    }
    // Just before clearing: a device that answers now keeps what it left.
    let mut owners: Vec<Device> = Vec::new();
    for item in report.items.iter().filter(|i| i.class.depends_on_silence()) {
        if let Some(owner) = &item.owner
            && !owners.contains(owner)
        {
            owners.push(owner.clone());
        }
    }
    if !owners.is_empty() {
        let back: Vec<Device> = ask_alive(settings, session, owners.clone())
            .await?
            .into_iter()
            .map(|i| owners[i].clone())
            .collect();
        for item in report.items.iter_mut() {
            if item.class.depends_on_silence()
                && item.owner.as_ref().is_some_and(|o| back.contains(o))
            {
                item.class = Kind::Live;
                item.why = "kept: its device answered just before clearing".into();
            }
        }
    }
    // One clear at a time, each followed by a marker of our own: a broker that refuses a
    // clear by closing the connection is caught at that message, and the rest still go.
    let marker = format!("tasctl/clean/{}", std::process::id());
    session.subscribe(std::slice::from_ref(&marker)).await?;
    let mut topics = Vec::new();
    for item in report.items.iter_mut().filter(|i| i.class != Kind::Live) {
        let sent = async {
            session.publish(&item.topic, Vec::<u8>::new(), true).await?;
            session.publish(&marker, Vec::<u8>::new(), false).await?;
            loop {
                if session.recv().await?.topic == marker {
                    return Ok::<(), anyhow::Error>(());
                }
            }
        };
        match tokio::time::timeout(settings.broker.connect_timeout, sent).await {
            Ok(Ok(())) => topics.push(item.topic.clone()),
            Ok(Err(e)) if crate::error::exit_code(&e) == crate::error::BROKER => {
                item.refused = Some(
                    "the broker closed the connection at this clear (an ACL that forbids it?)"
                        .into(),
                );
                item.cleared = Some(false);
                let back = tokio::time::timeout(
                    settings.broker.connect_timeout * 2,
                    session.reconnect(std::slice::from_ref(&marker)),
                )
                .await;
                if !matches!(back, Ok(Ok(()))) {
                    anyhow::bail!(crate::error::BrokerError(format!(
                        "the broker at {} closed the connection at the clear of {} and does not take us back",
                        session.address(),
                        escape(&item.topic)
                    )));
                }
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                item.refused = Some("the broker did not take the clear in time".into());
                item.cleared = Some(false);
            }
        }
    }
    // Read them back: what is still retained was not cleared.
    let mut still = HashSet::new();
    if !topics.is_empty() {
        let deadline = Instant::now() + settings.wait;
        discover::retained_stream(session, topics.clone(), deadline, |m| {
            if m.retain && !m.payload.is_empty() {
                still.insert(m.topic);
            }
        })
        .await?;
    }
    for item in report.items.iter_mut() {
        if item.class == Kind::Live || item.refused.is_some() {
            continue;
        }
        let gone = !still.contains(&item.topic);
        item.cleared = Some(gone);
        if !gone {
            item.refused =
                Some("still retained after the clear (the broker dropped it: an ACL?)".into());
        }
    }
    Ok(report)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.items.is_empty() {
            return writeln!(f, "nothing retained for Tasmota devices needs attention");
        }
        let rows: Vec<[String; 4]> = self
            .items
            .iter()
            .map(|i| {
                let mut why = i.why.clone();
                if let Some(fixed) = &i.fixed {
                    why = format!("{why}; fixed: {fixed}");
                }
                match (i.cleared, &i.refused) {
                    (Some(true), _) => why = format!("cleared; {why}"),
                    (Some(false), Some(refused)) => why = format!("NOT CLEARED: {refused}; {why}"),
                    (Some(false), None) => why = format!("STILL THERE; {why}"),
                    (None, _) => {}
                }
                [
                    i.class.word().to_string(),
                    i.device.clone().unwrap_or_else(|| "-".into()),
                    i.topic.clone(),
                    why,
                ]
            })
            .collect();
        output::table(f, ["CLASS", "DEVICE", "TOPIC", "WHY"], &rows)?;
        if self.dry_run {
            writeln!(
                f,
                "{}",
                format!(
                    "{} would be cleared; nothing was changed (add --yes to clear {})",
                    crate::output::count(self.items.len(), "message", "messages"),
                    if self.items.len() == 1 { "it" } else { "them" }
                )
                .yellow()
            )?;
        }
        Ok(())
    }
}
