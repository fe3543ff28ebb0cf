//! `tasctl retained [clean [--class C]... [--yes] [--fix]]`: what the broker keeps for Tasmota
//! devices, each message classed with the device it belongs to, and cleaning it safely.
//!
//! The scan reads the retained messages under every layout the profile and discovery reveal
//! (and `tasmota/discovery/#`), ending the way discover ends, then asks every device it found
//! whether it is alive (`State`), since an LWT that says `Online` may be a leftover. Classes:
//! `live` (its device answers), `stale-lwt`, `orphan-discovery` (their device does not),
//! `ghost-command` (a retained `cmnd/...`, run again at every reconnect), `retained-state`
//! (POWER, RESULT, STATE, SENSOR, INFO or STATUS kept by a `*Retain` setting). `clean` never
//! touches a live device's LWT or discovery config, only prints unless `--yes`, confirms each
//! clear by reading the topic back, and with `--fix` first turns the causing setting off.

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
        }
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
    /// The device and the setting command that stops it coming back (`PowerRetain`).
    #[serde(skip)]
    setting: Option<(Device, &'static str)>,
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

/// Is this device alive? Any answer to `State` says so.
struct Alive(bool);

impl Conversation for Alive {
    fn start(&mut self, out: &mut Outbox) {
        out.command("State", "");
    }

    fn hear(&mut self, heard: &Heard, _out: &mut Outbox) {
        self.0 |= heard.class == Class::Stat && !heard.retained;
    }

    fn done(&self) -> bool {
        self.0
    }
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
    let deadline = started + settings.wait;
    discover::retained_stream(session, filters, deadline, |m| {
        if !m.payload.is_empty() {
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
                if !m.payload.is_empty() {
                    messages.insert(m.topic, m.payload.to_vec());
                }
            },
        )
        .await?;
    }

    let mut items = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let name = |d: &Device| d.name.clone().unwrap_or_else(|| d.topic.clone());
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
            setting: None,
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
                    otherwise: Kind::OrphanDiscovery,
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
        match (class, suffix.as_str()) {
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
                otherwise: Kind::StaleLwt,
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

    // Liveness: ask each device behind an LWT or a discovery config.
    let mut asked: Vec<usize> = pending.iter().map(|p| p.device).collect();
    asked.sort_unstable();
    asked.dedup();
    let plan = Plan {
        parties: asked
            .iter()
            .map(|&i| (directory.device(i).clone(), Alive(false)))
            .collect(),
        wait: Some(settings.wait),
        ..Plan::default()
    };
    out.progress(Some(&format!(
        "asking {} device(s) whether they are alive ...",
        asked.len()
    )));
    let outcome = engine::run(session, plan, profile, |_| None).await?;
    out.progress(None);
    if outcome.end == engine::End::Interrupted {
        session.disconnect().await.ok();
        return Err(crate::error::Interrupted.into());
    }
    let alive: HashSet<usize> = outcome
        .parties
        .iter()
        .zip(&asked)
        .filter(|(p, _)| p.conversation.0)
        .map(|(_, &i)| i)
        .collect();
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
            item.why = match otherwise {
                Kind::StaleLwt => format!(
                    "no device answers on this topic (the LWT says `{}`)",
                    escape(&item.payload)
                ),
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

/// What `clean` would clear: the chosen classes, never `live`.
pub fn dry_run(mut report: Report, classes: &[Kind]) -> Report {
    report
        .items
        .retain(|i| i.class != Kind::Live && (classes.is_empty() || classes.contains(&i.class)));
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
    let topics: Vec<String> = report.items.iter().map(|i| i.topic.clone()).collect();
    for topic in &topics {
        session.publish(topic, Vec::<u8>::new(), true).await?;
    }
    // Read them back: what is still retained was not cleared.
    let mut still = HashSet::new();
    if !topics.is_empty() {
        let deadline = Instant::now() + settings.wait;
        discover::retained_stream(session, topics.clone(), deadline, |m| {
            if !m.payload.is_empty() {
                still.insert(m.topic);
            }
        })
        .await?;
    }
    for item in report.items.iter_mut() {
        item.cleared = Some(!still.contains(&item.topic));
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
                match i.cleared {
                    Some(true) => why = format!("cleared; {why}"),
                    Some(false) => why = format!("STILL THERE; {why}"),
                    None => {}
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
                    "{} message(s) would be cleared; nothing was changed (add --yes to clear them)",
                    self.items.len()
                )
                .yellow()
            )?;
        }
        Ok(())
    }
}
