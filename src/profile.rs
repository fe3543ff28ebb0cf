//! The profile file (TOML): where it is, what it says, and edits that keep its comments.
//!
//! Reading goes through serde (`parse` is pure, `load` does the I/O) and ends in a validated
//! model: every FullTopic parsed, every MAC normalised, every group member known. Errors name
//! the file, line and column, and an unknown key gets the nearest valid one suggested.
//! Edits (`add`, `remove`, and `discover --save` later) go through toml_edit, which keeps the
//! user's comments and layout.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::topic::{self, Layout, Prefixes, Template};
use crate::values::{BrokerUrl, Secret, parse_duration};

/// A device as the profile describes it, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Device {
    /// The profile name; `None` for a raw topic typed on the command line.
    pub name: Option<String>,
    /// The topic it is reached on: its Topic, or its fallback topic for a fallback-only device.
    pub topic: String,
    pub layout: Layout,
    pub hostname: Option<String>,
    pub mac: Option<String>,
    pub relays: Option<u8>,
    /// The fallback topic (`DVES_XXXXXX_fb`), when the profile gives one.
    pub fallback: Option<String>,
    /// The device's own LWT words (online, offline), when they are not `Online`/`Offline`.
    pub lwt: Option<(String, String)>,
    /// Where its own MQTT password is kept (file transfers present it).
    pub device_password_file: Option<PathBuf>,
}

impl Device {
    /// A device known only by its topic (a TARGET word, a device that answered a group).
    pub fn unnamed(topic: &str, layout: Layout) -> Device {
        Device {
            name: None,
            topic: topic.to_string(),
            layout,
            hostname: None,
            mac: None,
            relays: None,
            fallback: None,
            lwt: None,
            device_password_file: None,
        }
    }

    /// What its LWT says when it is online.
    pub fn lwt_online(&self) -> &str {
        self.lwt.as_ref().map_or("Online", |(on, _)| on)
    }

    /// What its LWT says when it is offline.
    pub fn lwt_offline(&self) -> &str {
        self.lwt.as_ref().map_or("Offline", |(_, off)| off)
    }

    pub fn vars(&self) -> topic::Vars<'_> {
        topic::Vars {
            topic: &self.topic,
            hostname: self.hostname.as_deref(),
            mac: self.mac.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    /// A firmware GroupTopic: one publish; `members` (optional) says who should answer.
    Firmware {
        group_topic: String,
        members: Option<Vec<String>>,
    },
    /// A list of names: one publish per member.
    List(Vec<String>),
}

#[derive(Debug, Default, Clone)]
pub struct BrokerSection {
    pub url: Option<BrokerUrl>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    pub connect_timeout: Option<std::time::Duration>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Defaults {
    pub wait: Option<std::time::Duration>,
    pub qos: Option<u8>,
    /// `full_topic` and `prefix`: every device's layout unless it says otherwise.
    pub layout: Layout,
    /// What `all` means.
    pub group_topic: String,
    /// Where devices' own MQTT password (for file transfers) is kept, unless a device says.
    pub device_password_file: Option<PathBuf>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            wait: None,
            qos: None,
            layout: Layout::default(),
            group_topic: topic::DEFAULT_GROUP_TOPIC.into(),
            device_password_file: None,
        }
    }
}

/// The whole profile, validated. A missing default profile is an empty one.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    pub broker: BrokerSection,
    pub defaults: Defaults,
    pub devices: BTreeMap<String, Device>,
    pub groups: BTreeMap<String, Group>,
    /// `[backup] dir`: where backups go unless `--dir` says.
    pub backup_dir: Option<PathBuf>,
    /// `[brokers.NAME]`: other brokers, chosen with `--broker NAME`.
    pub brokers: BTreeMap<String, BrokerSection>,
    /// What each device should be set to (`config`).
    pub settings: Settings,
}

impl Profile {
    /// Does the file hold a broker password (`password`, or one in a `url`), in `[broker]` or
    /// any `[brokers.NAME]`?
    pub fn holds_password(&self) -> bool {
        std::iter::once(&self.broker)
            .chain(self.brokers.values())
            .any(|b| b.password.is_some() || b.url.as_ref().is_some_and(|u| u.password.is_some()))
    }

    /// The known name closest to `word`, for "did you mean" hints.
    pub fn nearest_name(&self, word: &str) -> Option<&str> {
        nearest(
            word,
            self.devices
                .keys()
                .chain(self.groups.keys())
                .map(String::as_str),
        )
    }

    /// Every layout a device of this profile uses, the default first, without repeats.
    pub fn layouts(&self) -> Vec<&Layout> {
        let mut layouts = vec![&self.defaults.layout];
        for device in self.devices.values() {
            if !layouts.contains(&&device.layout) {
                layouts.push(&device.layout);
            }
        }
        layouts
    }
}

/// The candidate nearest to `word`: a likely typo (a small edit distance), else one that
/// holds the word (`lamp` → `kitchen-lamp`), the shortest first.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let typo = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|&(d, c)| d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c);
    let lower = word.to_lowercase();
    typo.or_else(|| {
        candidates
            .iter()
            .filter(|c| lower.len() >= 3 && c.to_lowercase().contains(&lower))
            .min_by_key(|c| c.len())
            .copied()
    })
}

/// Where the profile is: the flag or `TASCTL_PROFILE` (already merged by clap), else
/// `<config dir>/tasctl/profile.toml` (the `dirs` crate: `~/.config` on Linux,
/// `~/Library/Application Support` on macOS, `%APPDATA%` on Windows). The flag says whether the
/// user named it, which makes a missing file an error.
pub fn path(given: Option<&Path>) -> Result<(PathBuf, bool)> {
    if let Some(path) = given {
        return Ok((expand_tilde(path), true));
    }
    let dir = dirs::config_dir().context(
        "cannot find a configuration directory; name the profile with --profile or TASCTL_PROFILE",
    )?;
    Ok((dir.join("tasctl").join("profile.toml"), false))
}

/// `~/x` → `$HOME/x`, for paths written in the profile.
pub fn expand_tilde(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// Reads and validates the profile at `path`. A missing file is an empty profile unless the
/// user named it.
pub fn load(path: &Path, explicit: bool) -> Result<Profile> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(Profile::default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(anyhow!(
            "the profile {} does not exist; create it with `tasctl profile add NAME TOPIC` or check --profile / TASCTL_PROFILE",
            path.display()
        )),
        _ => parse(
            &crate::files::read_text_bounded(path, "profile", crate::files::TEXT_FILE_LIMIT)?,
            path,
        ),
    }
}

/// Parses and validates profile text; `path` only names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<Profile> {
    let at = |span: Option<std::ops::Range<usize>>| location(text, path, span);
    let raw: RawProfile = toml::from_str(text).map_err(|e| toml_error(text, path, &e))?;
    raw.validate(&at)
}

/// A TOML error as `file:line:column: message`, with a "did you mean" for an unknown key.
pub fn toml_error(text: &str, path: &Path, e: &toml::de::Error) -> anyhow::Error {
    let raw = e.message().trim_end();
    let mut message = bounded(raw, 2000);
    if let Some(hint) = unknown_key_hint(raw) {
        message.push_str(&hint);
    }
    anyhow!("{}: {message}", location(text, path, e.span()))
}

/// A message that quotes the file, cut to `max` characters: a 10 MB key in an error would
/// flood the terminal and the logs.
fn bounded(message: &str, max: usize) -> String {
    if message.chars().count() <= max {
        return message.to_string();
    }
    let kept: String = message.chars().take(max).collect();
    format!("{kept}… ({} bytes in all)", message.len())
}

/// `file:line:column` for a byte span.
fn location(text: &str, path: &Path, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return path.display().to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{}:{line}:{column}", path.display())
}

/// serde says "unknown field `x`, expected one of `a`, `b`": add "did you mean `a`?".
fn unknown_key_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    if unknown.len() > 64 {
        return None; // no key is that long: nothing is near it
    }
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    nearest(unknown, candidates).map(hint_for)
}

/// `; did you mean `x`?` for the candidate nearest to `word`, or nothing.
fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map(hint_for).unwrap_or_default()
}

/// The hint that names `name`.
fn hint_for(name: &str) -> String {
    format!("; did you mean `{name}`?")
}

// ---- the file as serde reads it ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    broker: RawBroker,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    devices: BTreeMap<String, Spanned<RawDevice>>,
    #[serde(default)]
    groups: BTreeMap<String, Spanned<RawGroup>>,
    #[serde(default)]
    backup: RawBackup,
    #[serde(default)]
    brokers: BTreeMap<String, Spanned<RawBroker>>,
    /// `[settings]`: what every device should be set to.
    #[serde(default)]
    settings: RawSettings,
}

/// A `settings` table: firmware command names and the values wanted, each with its place in
/// the file.
type RawSettings = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    dir: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBroker {
    url: Option<Spanned<String>>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    connect_timeout: Option<Spanned<RawDuration>>,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    wait: Option<Spanned<RawDuration>>,
    qos: Option<Spanned<u8>>,
    full_topic: Option<Spanned<String>>,
    prefix: Option<Spanned<RawPrefix>>,
    group_topic: Option<Spanned<String>>,
    device_password_file: Option<PathBuf>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawPrefix {
    cmnd: Option<String>,
    stat: Option<String>,
    tele: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDeviceTable {
    topic: Option<String>,
    fallback: Option<String>,
    full_topic: Option<String>,
    prefix: Option<RawPrefix>,
    hostname: Option<String>,
    mac: Option<String>,
    relays: Option<u8>,
    lwt: Option<RawLwt>,
    device_password_file: Option<PathBuf>,
    #[serde(default)]
    settings: RawSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLwt {
    online: String,
    offline: String,
}

/// A duration as written: `"1m30s"`, or a bare number of seconds (`wait = 2`).
struct RawDuration(String);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"2s\", \"1m30s\" or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `name = "topic"` or `name = { topic = ..., ... }`.
enum RawDevice {
    Short(String),
    Long(Box<RawDeviceTable>),
}

/// A group as a table: `{ group_topic = ..., members = [...] }`, or `[groups.NAME]` with
/// `members` and no `group_topic` (a list group that can hold `settings`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFirmwareGroup {
    group_topic: Option<String>,
    members: Option<Vec<String>>,
    #[serde(default)]
    settings: RawSettings,
}

/// `name = ["a", "b"]` or `name = { group_topic = ..., members = [...] }`.
enum RawGroup {
    List(Vec<String>),
    Firmware(RawFirmwareGroup),
}

impl<'de> Deserialize<'de> for RawDevice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDevice;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a topic string, or a table such as { topic = \"kitchen_plug\", relays = 2 }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDevice, E> {
                Ok(RawDevice::Short(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDevice, A::Error> {
                RawDeviceTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| RawDevice::Long(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawGroup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawGroup;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a list of device names, or a table such as { group_topic = \"downstairs\" }",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawGroup, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(RawGroup::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawGroup, A::Error> {
                RawFirmwareGroup::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawGroup::Firmware)
            }
        }
        d.deserialize_any(V)
    }
}

fn prefixes(raw: Option<&RawPrefix>, base: &Prefixes) -> Prefixes {
    let raw = raw.cloned().unwrap_or_default();
    Prefixes {
        cmnd: raw.cmnd.unwrap_or_else(|| base.cmnd.clone()),
        stat: raw.stat.unwrap_or_else(|| base.stat.clone()),
        tele: raw.tele.unwrap_or_else(|| base.tele.clone()),
    }
}

fn check_prefixes(p: &Prefixes) -> Result<(), String> {
    for word in [&p.cmnd, &p.stat, &p.tele] {
        topic::check_topic_word(word).map_err(|e| format!("prefix `{word}`: {e}"))?;
    }
    Ok(())
}

/// A word that becomes a topic level (a topic, a group or fallback topic, a host name): not
/// empty, no wildcard or NUL, and no `/` at either end or doubled, which the firmware's
/// topic rules would silently drop.
pub fn check_word(word: &str) -> Result<(), String> {
    if word.is_empty() {
        return Err("may not be empty".into());
    }
    topic::check_topic_word(word).map_err(|e| e.to_string())?;
    if word.starts_with('/') || word.ends_with('/') || word.contains("//") {
        return Err(format!(
            "`{word}` has an empty level (a `/` at an end or doubled), which no device topic has"
        ));
    }
    Ok(())
}

/// A FullTopic from the profile: parsed, and not empty.
fn parse_template(text: &str) -> Result<Template, String> {
    if text.trim_matches('/').is_empty() {
        return Err(format!(
            "`{text}` is no FullTopic; the firmware's default is `{}`",
            topic::DEFAULT_FULL_TOPIC
        ));
    }
    Template::parse(text).map_err(|e| e.to_string())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a name may not be empty".into());
    }
    if name == "all" {
        return Err(
            "`all` is reserved for the group topic of every device; choose another name".into(),
        );
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{:?} has a space or a control character; a name is one word, like `living-room`",
            name
        ));
    }
    topic::check_topic_word(name).map_err(|e| e.to_string())
}

impl RawProfile {
    fn validate(self, at: &dyn Fn(Option<std::ops::Range<usize>>) -> String) -> Result<Profile> {
        let fail =
            |span: std::ops::Range<usize>, what: String| anyhow!("{}: {what}", at(Some(span)));

        let broker = broker_section(self.broker, "[broker]", &fail)?;
        let mut brokers = BTreeMap::new();
        for (name, raw) in self.brokers {
            let span = raw.span();
            check_name(&name).map_err(|e| fail(span.clone(), format!("[brokers.{name}]: {e}")))?;
            let section = broker_section(raw.into_inner(), &format!("[brokers.{name}]"), &fail)?;
            if section.url.is_none() {
                return Err(fail(span, format!("[brokers.{name}] needs a `url`")));
            }
            brokers.insert(name, section);
        }

        let d = self.defaults;
        let template = match &d.full_topic {
            Some(t) => parse_template(t.get_ref())
                .map_err(|e| fail(t.span(), format!("[defaults] full_topic: {e}")))?,
            None => Template::default(),
        };
        let default_prefixes =
            prefixes(d.prefix.as_ref().map(|p| p.get_ref()), &Prefixes::default());
        if let Some(p) = &d.prefix {
            check_prefixes(&default_prefixes)
                .map_err(|e| fail(p.span(), format!("[defaults] {e}")))?;
        }
        let group_topic = match &d.group_topic {
            Some(g) => {
                check_word(g.get_ref())
                    .map_err(|e| fail(g.span(), format!("[defaults] group_topic: {e}")))?;
                g.get_ref().clone()
            }
            None => topic::DEFAULT_GROUP_TOPIC.into(),
        };
        let defaults = Defaults {
            wait: match &d.wait {
                Some(w) => Some(
                    parse_duration(&w.get_ref().0)
                        .map_err(|e| fail(w.span(), format!("[defaults] wait: {e}")))?,
                ),
                None => None,
            },
            qos: match &d.qos {
                Some(q) if *q.get_ref() > 2 => {
                    return Err(fail(q.span(), "[defaults] qos: must be 0, 1 or 2".into()));
                }
                Some(q) => Some(*q.get_ref()),
                None => None,
            },
            layout: Layout {
                template,
                prefixes: default_prefixes,
            },
            group_topic,
            device_password_file: d.device_password_file.as_deref().map(expand_tilde),
        };

        let fleet_settings = wanted_settings(&self.settings, "[settings]", at)?;
        let mut devices = BTreeMap::new();
        let mut device_settings = BTreeMap::new();
        for (name, entry) in self.devices {
            let span = entry.span();
            let mut raw = entry.into_inner();
            if let RawDevice::Long(table) = &mut raw {
                let own = std::mem::take(&mut table.settings);
                device_settings.insert(
                    name.clone(),
                    wanted_settings(&own, &format!("device `{name}`"), at)?,
                );
            }
            let device = validate_device(&name, raw, &defaults.layout)
                .map_err(|e| fail(span, format!("device `{name}`: {e}")))?;
            devices.insert(name, device);
        }
        let mut group_settings: BTreeMap<String, Vec<Wanted>> = BTreeMap::new();

        let mut groups = BTreeMap::new();
        for (name, entry) in self.groups {
            let span = entry.span();
            let check_members = |members: &[String]| -> Result<(), String> {
                for m in members {
                    if !devices.contains_key(m) {
                        let hint = did_you_mean(m, devices.keys().map(String::as_str));
                        return Err(format!("member `{m}` is not a device in [devices]{hint}"));
                    }
                }
                Ok(())
            };
            let group = match entry.into_inner() {
                RawGroup::List(members) => {
                    if members.is_empty() {
                        return Err(fail(
                            span.clone(),
                            format!(
                                "group `{name}` lists no devices, so it would target nothing; name its members or remove it"
                            ),
                        ));
                    }
                    check_members(&members)
                        .map_err(|e| fail(span.clone(), format!("group `{name}`: {e}")))?;
                    Group::List(members)
                }
                RawGroup::Firmware(g) if g.group_topic.is_none() => {
                    group_settings.insert(
                        name.clone(),
                        wanted_settings(&g.settings, &format!("group `{name}`"), at)?,
                    );
                    let members = g.members.unwrap_or_default();
                    if members.is_empty() {
                        return Err(fail(
                            span.clone(),
                            format!(
                                "group `{name}` lists no devices, so it would target nothing; give it `members`, or a `group_topic` for a firmware group"
                            ),
                        ));
                    }
                    check_members(&members)
                        .map_err(|e| fail(span.clone(), format!("group `{name}`: {e}")))?;
                    Group::List(members)
                }
                RawGroup::Firmware(g) => {
                    let group_topic = g.group_topic.clone().unwrap_or_default();
                    check_word(&group_topic).map_err(|e| {
                        fail(span.clone(), format!("group `{name}`: group_topic: {e}"))
                    })?;
                    group_settings.insert(
                        name.clone(),
                        wanted_settings(&g.settings, &format!("group `{name}`"), at)?,
                    );
                    if let Some(m) = &g.members {
                        if m.is_empty() {
                            return Err(fail(
                                span.clone(),
                                format!(
                                    "group `{name}`: `members = []` names no one; leave `members` out to take whoever answers on `{group_topic}`"
                                ),
                            ));
                        }
                        check_members(m)
                            .map_err(|e| fail(span.clone(), format!("group `{name}`: {e}")))?;
                    }
                    Group::Firmware {
                        group_topic,
                        members: g.members,
                    }
                }
            };
            check_name(&name).map_err(|e| fail(span.clone(), format!("group `{name}`: {e}")))?;
            if devices.contains_key(&name) {
                return Err(fail(
                    span,
                    format!(
                        "group `{name}`: a device has the same name, so the group could never be used; rename one of them"
                    ),
                ));
            }
            groups.insert(name, group);
        }
        let settings = Settings {
            fleet: fleet_settings,
            groups: group_settings,
            devices: device_settings,
        };
        let profile = Profile {
            broker,
            defaults,
            devices,
            groups,
            backup_dir: self.backup.dir.as_deref().map(expand_tilde),
            brokers,
            settings,
        };
        profile.check_group_conflicts()?;
        Ok(profile)
    }
}

/// One setting a profile asks for: the firmware's name, the value as written, and what it
/// means to the firmware; where it is in the file.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub name: crate::setting_table::Name,
    pub value: toml::Value,
    pub canon: crate::setting_table::Canon,
    /// A value the firmware would ignore or store otherwise.
    pub note: Option<String>,
    /// `file:line:column` of its key.
    pub at: String,
    /// `[settings]`, `group `heaters``, `device `garage``.
    pub from: String,
}

/// The settings of the profile, by layer.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub fleet: Vec<Wanted>,
    pub groups: BTreeMap<String, Vec<Wanted>>,
    pub devices: BTreeMap<String, Vec<Wanted>>,
}

/// A `settings` table checked: every name resolved and every value of the right type.
fn wanted_settings(
    raw: &RawSettings,
    from: &str,
    at: &dyn Fn(Option<std::ops::Range<usize>>) -> String,
) -> Result<Vec<Wanted>> {
    let mut out: Vec<Wanted> = Vec::new();
    for (key, value) in raw {
        let here = at(Some(key.span()));
        let name = crate::setting_table::resolve(key.get_ref())
            .map_err(|e| anyhow!("{here}: {from}: {e}"))?;
        let (canon, note) = crate::setting_table::wanted(&name, value.get_ref())
            .map_err(|e| anyhow!("{}: {from}: {e}", at(Some(value.span()))))?;
        if let Some(other) = out.iter().find(|w| w.name.canonical == name.canonical) {
            return Err(anyhow!(
                "{here}: {from}: `{}` is set twice (also as `{}` at {})",
                key.get_ref(),
                other.name.canonical,
                other.at
            ));
        }
        out.push(Wanted {
            name,
            value: value.get_ref().clone(),
            canon,
            note,
            at: here,
            from: from.to_string(),
        });
    }
    Ok(out)
}

impl Profile {
    /// The groups that list `device` (GroupTopic groups too: their settings are their listed
    /// members', never whoever else answers on the group topic).
    fn groups_of(&self, device: &str) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|(_, g)| match g {
                Group::List(m) => m.iter().any(|n| n == device),
                Group::Firmware { members, .. } => members.iter().flatten().any(|n| n == device),
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Two groups of one device that want different values for one setting: refused.
    fn check_group_conflicts(&self) -> Result<()> {
        for device in self.devices.keys() {
            let mut seen: BTreeMap<&str, &Wanted> = BTreeMap::new();
            for group in self.groups_of(device) {
                for w in self.settings.groups.get(group).into_iter().flatten() {
                    match seen.get(w.name.canonical.as_str()) {
                        Some(other)
                            if !other.canon.satisfies(&w.canon)
                                || !w.canon.satisfies(&other.canon) =>
                        {
                            return Err(anyhow!(
                                "{}: {} and {} (at {}) both set `{}` of device `{device}`, to different values; set it in one place, or on the device",
                                w.at,
                                w.from,
                                other.from,
                                other.at,
                                w.name.canonical
                            ));
                        }
                        _ => {
                            seen.insert(w.name.canonical.as_str(), w);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// What a device of the profile should be set to: `[settings]`, then its groups', then
    /// its own, the later layer winning; sorted by name.
    pub fn settings_of(&self, device: &str) -> Vec<Wanted> {
        let mut resolved: BTreeMap<String, Wanted> = BTreeMap::new();
        let layers = std::iter::once(&self.settings.fleet)
            .chain(
                self.groups_of(device)
                    .into_iter()
                    .filter_map(|g| self.settings.groups.get(g)),
            )
            .chain(self.settings.devices.get(device));
        for layer in layers {
            for w in layer {
                resolved.insert(w.name.canonical.clone(), w.clone());
            }
        }
        resolved.into_values().collect()
    }
}

/// A `[broker]` or `[brokers.NAME]` table, validated; `what` names it in errors.
fn broker_section(
    raw: RawBroker,
    what: &str,
    fail: &dyn Fn(std::ops::Range<usize>, String) -> anyhow::Error,
) -> Result<BrokerSection> {
    Ok(BrokerSection {
        url: match raw.url {
            Some(url) => Some(
                url.get_ref()
                    .parse::<BrokerUrl>()
                    .map_err(|e| fail(url.span(), format!("{what} url: {e}")))?,
            ),
            None => None,
        },
        username: raw.username,
        password: raw.password.map(Secret::new),
        password_file: raw.password_file.as_deref().map(expand_tilde),
        connect_timeout: match raw.connect_timeout {
            Some(t) => Some(
                parse_duration(&t.get_ref().0)
                    .map_err(|e| fail(t.span(), format!("{what} connect_timeout: {e}")))?,
            ),
            None => None,
        },
        ca_file: raw.ca_file.as_deref().map(expand_tilde),
        client_cert: raw.client_cert.as_deref().map(expand_tilde),
        client_key: raw.client_key.as_deref().map(expand_tilde),
    })
}

fn validate_device(name: &str, raw: RawDevice, defaults: &Layout) -> Result<Device, String> {
    check_name(name)?;
    let table = match raw {
        RawDevice::Short(topic) => RawDeviceTable {
            topic: Some(topic),
            ..RawDeviceTable::default()
        },
        RawDevice::Long(table) => *table,
    };
    let fallback = match table.fallback {
        Some(fb) => {
            check_word(&fb).map_err(|e| format!("fallback: {e}"))?;
            Some(fb)
        }
        None => None,
    };
    if let Some(h) = &table.hostname {
        check_word(h).map_err(|e| format!("hostname: {e}"))?;
        if h.contains('/') {
            return Err("hostname: a host name is one topic level, without `/`".into());
        }
    }
    let (topic, layout) = match (table.topic, &fallback) {
        (Some(topic), _) => {
            check_word(&topic).map_err(|e| format!("topic: {e}"))?;
            let template = match &table.full_topic {
                Some(t) => parse_template(t).map_err(|e| format!("full_topic: {e}"))?,
                None => defaults.template.clone(),
            };
            let prefixes = prefixes(table.prefix.as_ref(), &defaults.prefixes);
            check_prefixes(&prefixes)?;
            (topic, Layout { template, prefixes })
        }
        // The fallback topic uses the literal cmnd/stat words and the default template.
        (None, Some(fb)) => (fb.clone(), Layout::fallback()),
        (None, None) => return Err("needs a `topic` (or a `fallback`)".into()),
    };
    let mac = match table.mac {
        Some(m) => Some(
            topic::normalize_mac(&m).ok_or_else(|| format!("mac `{m}` is not 12 hex digits"))?,
        ),
        None => None,
    };
    if let Some(r) = table.relays
        && !(1..=32).contains(&r)
    {
        return Err(format!("relays = {r}: a device has 1 to 32 outputs"));
    }
    let device = Device {
        name: Some(name.to_string()),
        topic,
        layout,
        hostname: table.hostname,
        mac,
        relays: table.relays,
        fallback,
        lwt: match table.lwt {
            Some(RawLwt { online, .. }) if online.is_empty() => {
                return Err("lwt: the online word may not be empty".into());
            }
            Some(RawLwt { online, offline }) if online == offline => {
                return Err("lwt: the online and offline words must differ".into());
            }
            Some(RawLwt { online, offline }) => Some((online, offline)),
            None => None,
        },
        device_password_file: table.device_password_file.as_deref().map(expand_tilde),
    };
    // A template that needs a hostname or MAC the entry lacks is caught now, not at publish.
    device
        .layout
        .template
        .check_vars(&device.vars())
        .map_err(|e| e.to_string())?;
    Ok(device)
}

// ---- edits that keep comments ----

/// Edits the profile under its lock: `change` gets the document (comments and all) and the
/// validated profile as they are at this moment, and says whether it changed anything. The
/// result is validated before it replaces the file, atomically.
fn edit<T>(
    path: &Path,
    change: impl FnOnce(&mut toml_edit::DocumentMut, &Profile) -> Result<(bool, T)>,
) -> Result<T> {
    crate::files::update(path, 0o600, |old| {
        let text = old.unwrap_or_default();
        let mut doc: toml_edit::DocumentMut = text.parse().with_context(|| {
            format!(
                "{}: not valid TOML; fix it by hand before editing it with tasctl",
                path.display()
            )
        })?;
        let existing = parse(text, path)?;
        let (changed, result) = change(&mut doc, &existing)?;
        if !changed {
            return Ok((None, result));
        }
        let text = doc.to_string();
        parse(&text, path)?;
        Ok((Some(text), result))
    })
}

/// A device for `profile add`, as the user gave it.
#[derive(Debug, Default)]
pub struct NewDevice {
    pub name: String,
    /// Its Topic, or its fallback topic with `fallback`.
    pub topic: String,
    pub fallback: bool,
    pub full_topic: Option<String>,
    /// (`cmnd`|`stat`|`tele`, word) pairs that differ from the profile's defaults.
    pub prefix: Vec<(String, String)>,
    pub hostname: Option<String>,
    pub mac: Option<String>,
    pub relays: Option<u8>,
    /// Add it even when another device already has this topic.
    pub force: bool,
}

impl NewDevice {
    /// The profile entry: `name = "topic"` when nothing else is given, else an inline table.
    fn entry(&self, mac: Option<&str>) -> toml_edit::Value {
        let key = if self.fallback { "fallback" } else { "topic" };
        let mut entry = toml_edit::InlineTable::new();
        entry.insert(key, self.topic.as_str().into());
        if let Some(t) = &self.full_topic {
            entry.insert("full_topic", t.as_str().into());
        }
        if !self.prefix.is_empty() {
            let mut prefix = toml_edit::InlineTable::new();
            for (class, word) in &self.prefix {
                prefix.insert(class, word.as_str().into());
            }
            entry.insert("prefix", prefix.into());
        }
        if let Some(h) = &self.hostname {
            entry.insert("hostname", h.as_str().into());
        }
        if let Some(m) = mac {
            entry.insert("mac", m.into());
        }
        if let Some(r) = self.relays {
            entry.insert("relays", i64::from(r).into());
        }
        if entry.len() == 1 && !self.fallback {
            self.topic.as_str().into()
        } else {
            entry.into()
        }
    }

    /// The entry as the profile would read it, checked by the profile's own rules.
    fn validate(&self, defaults: &Layout) -> Result<Device> {
        let mut prefix = RawPrefix::default();
        for (class, word) in &self.prefix {
            match class.as_str() {
                "cmnd" => prefix.cmnd = Some(word.clone()),
                "stat" => prefix.stat = Some(word.clone()),
                "tele" => prefix.tele = Some(word.clone()),
                other => bail!("--prefix {other}={word}: the classes are cmnd, stat and tele"),
            }
        }
        let (topic, fallback) = if self.fallback {
            (None, Some(self.topic.clone()))
        } else {
            (Some(self.topic.clone()), None)
        };
        let raw = RawDeviceTable {
            topic,
            fallback,
            full_topic: self.full_topic.clone(),
            prefix: (!self.prefix.is_empty()).then_some(prefix),
            hostname: self.hostname.clone(),
            mac: self.mac.clone(),
            relays: self.relays,
            ..RawDeviceTable::default()
        };
        validate_device(&self.name, RawDevice::Long(Box::new(raw)), defaults)
            .map_err(|e| anyhow!("cannot add `{}`: {e}", self.name))
    }
}

/// `profile add`: a device entry under `[devices]`, checked like the profile's own entries,
/// refused when the name is taken or (without `force`) another device has the topic.
pub fn add(path: &Path, new: &NewDevice) -> Result<()> {
    let name = new.name.as_str();
    edit(path, |doc, existing| {
        let device = new.validate(&existing.defaults.layout)?;
        if let Some(d) = existing.devices.get(name) {
            bail!(
                "`{name}` is already a device in {} (topic `{}`); remove it first with `tasctl profile remove {name}`",
                path.display(),
                d.topic
            );
        }
        if existing.groups.contains_key(name) {
            bail!(
                "`{name}` is already a group in {}; choose another name",
                path.display()
            );
        }
        let same_topic = existing.devices.iter().find(|(_, d)| {
            d.topic == device.topic || d.fallback.as_deref() == Some(device.topic.as_str())
        });
        if let (Some((other, _)), false) = (same_topic, new.force) {
            bail!(
                "device `{other}` already has the topic `{}`: two entries for one device answer twice; add --force if they really are two devices",
                device.topic
            );
        }
        devices_table(doc, path)?.insert(
            name,
            toml_edit::Item::Value(new.entry(device.mac.as_deref())),
        );
        Ok((true, ()))
    })
}

/// A device's new address after `config apply --force` changed it.
#[derive(Debug, Default)]
pub struct NewAddress {
    pub topic: Option<String>,
    pub full_topic: Option<String>,
    /// `cmnd`, `stat`, `tele`.
    pub prefixes: [Option<String>; 3],
}

/// Updates a device's `topic`, `full_topic` and `prefix` in the profile (comments kept, under
/// the lock), after `config apply --force` moved it.
pub fn set_address(path: &Path, name: &str, change: &NewAddress) -> Result<()> {
    edit(path, |doc, existing| {
        if !existing.devices.contains_key(name) {
            bail!("`{name}` is no longer a device in {}", path.display());
        }
        let devices = devices_table(doc, path)?;
        let item = devices
            .get_mut(name)
            .with_context(|| format!("`{name}` is not under [devices] in {}", path.display()))?;
        let only_topic = change.full_topic.is_none() && change.prefixes.iter().all(Option::is_none);
        if let Some(old) = item.as_str().map(String::from) {
            if only_topic {
                *item = toml_edit::value(change.topic.clone().unwrap_or(old));
                return Ok((true, ()));
            }
            let mut table = toml_edit::InlineTable::new();
            table.insert("topic", old.as_str().into());
            *item = toml_edit::Item::Value(table.into());
        }
        let entry = item.as_table_like_mut().with_context(|| {
            format!(
                "`{name}` in {} is neither a topic nor a table",
                path.display()
            )
        })?;
        if let Some(t) = &change.topic {
            entry.insert("topic", toml_edit::value(t.as_str()));
        }
        if let Some(t) = &change.full_topic {
            entry.insert("full_topic", toml_edit::value(t.as_str()));
        }
        if change.prefixes.iter().any(Option::is_some) {
            if entry.get("prefix").is_none() {
                entry.insert(
                    "prefix",
                    toml_edit::Item::Value(toml_edit::InlineTable::new().into()),
                );
            }
            let prefix = entry
                .get_mut("prefix")
                .and_then(toml_edit::Item::as_table_like_mut)
                .with_context(|| format!("`{name}.prefix` in {} is not a table", path.display()))?;
            for (class, word) in ["cmnd", "stat", "tele"].iter().zip(&change.prefixes) {
                if let Some(w) = word {
                    prefix.insert(class, toml_edit::value(w.as_str()));
                }
            }
        }
        Ok((true, ()))
    })
}

/// What `profile group add` or `profile group remove` did.
pub enum GroupChange {
    Created,
    Changed,
    Unchanged,
    Removed,
}

/// `profile group add NAME MEMBER... [--group-topic T]`: makes the group (a list, or a
/// firmware GroupTopic group with `group_topic`), or adds members to it and sets its group
/// topic.
pub fn group_add(
    path: &Path,
    name: &str,
    members: &[String],
    group_topic: Option<&str>,
) -> Result<GroupChange> {
    check_name(name).map_err(|e| anyhow!("cannot add group `{name}`: {e}"))?;
    if let Some(t) = group_topic {
        check_word(t).map_err(|e| anyhow!("--group-topic: {e}"))?;
    }
    edit(path, |doc, existing| {
        if existing.devices.contains_key(name) {
            bail!(
                "`{name}` is a device in {}; a group needs another name",
                path.display()
            );
        }
        for m in members {
            if !existing.devices.contains_key(m) {
                let hint = did_you_mean(m, existing.devices.keys().map(String::as_str));
                bail!("`{m}` is not a device in {}{hint}", path.display());
            }
        }
        let old = existing.groups.get(name);
        if old.is_none() && members.is_empty() && group_topic.is_none() {
            bail!("a new group needs members, or --group-topic for a firmware group");
        }
        let mut list: Vec<String> = match old {
            Some(Group::List(m))
            | Some(Group::Firmware {
                members: Some(m), ..
            }) => m.clone(),
            _ => Vec::new(),
        };
        for m in members {
            if !list.contains(m) {
                list.push(m.clone());
            }
        }
        let topic = group_topic.map(String::from).or(match old {
            Some(Group::Firmware { group_topic, .. }) => Some(group_topic.clone()),
            _ => None,
        });
        let group = match topic {
            Some(group_topic) => Group::Firmware {
                group_topic,
                members: match old {
                    Some(Group::Firmware { members: None, .. }) if members.is_empty() => None,
                    _ if list.is_empty() => None,
                    _ => Some(list),
                },
            },
            None => Group::List(list),
        };
        if old == Some(&group) {
            return Ok((false, GroupChange::Unchanged));
        }
        put_group(doc, path, name, &group)?;
        Ok((
            true,
            if old.is_some() {
                GroupChange::Changed
            } else {
                GroupChange::Created
            },
        ))
    })
}

/// `profile group remove NAME [MEMBER...]`: the members out of the group, or without members
/// the group itself (its devices stay).
pub fn group_remove(path: &Path, name: &str, members: &[String]) -> Result<GroupChange> {
    edit(path, |doc, existing| {
        let Some(old) = existing.groups.get(name) else {
            let hint = did_you_mean(name, existing.groups.keys().map(String::as_str));
            bail!("`{name}` is not a group in {}{hint}", path.display());
        };
        if members.is_empty() {
            remove_from(doc, existing, path, name)?;
            return Ok((true, GroupChange::Removed));
        }
        let (Group::List(list)
        | Group::Firmware {
            members: Some(list),
            ..
        }) = old
        else {
            bail!("group `{name}` lists no members to take out");
        };
        if let Some(m) = members.iter().find(|m| !list.contains(m)) {
            bail!("`{m}` is not a member of group `{name}`");
        }
        let kept: Vec<String> = list
            .iter()
            .filter(|m| !members.contains(m))
            .cloned()
            .collect();
        if kept.is_empty() {
            bail!(
                "taking out every member would leave group `{name}` empty; remove the group with `tasctl profile group remove {name}`"
            );
        }
        let group = match old {
            Group::List(_) => Group::List(kept),
            Group::Firmware { group_topic, .. } => Group::Firmware {
                group_topic: group_topic.clone(),
                members: Some(kept),
            },
        };
        put_group(doc, path, name, &group)?;
        Ok((true, GroupChange::Changed))
    })
}

/// Writes a group's entry, keeping the comment beside an entry it replaces.
fn put_group(
    doc: &mut toml_edit::DocumentMut,
    path: &Path,
    name: &str,
    group: &Group,
) -> Result<()> {
    let strings = |m: &[String]| m.iter().map(String::as_str).collect::<toml_edit::Array>();
    let mut value = match group {
        Group::List(m) => toml_edit::Value::Array(strings(m)),
        Group::Firmware {
            group_topic,
            members,
        } => {
            let mut table = toml_edit::InlineTable::new();
            table.insert("group_topic", group_topic.as_str().into());
            if let Some(m) = members {
                table.insert("members", strings(m).into());
            }
            table.into()
        }
    };
    let groups = doc
        .entry("groups")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .with_context(|| format!("{}: `groups` is not a table", path.display()))?;
    match groups.get_mut(name) {
        // A table (`[groups.heaters]`, or inline with `settings`): its keys edited in place, so
        // what else it holds stays.
        Some(item) if item.is_table_like() => {
            let table = item
                .as_table_like_mut()
                .with_context(|| format!("{}: group `{name}` is not a table", path.display()))?;
            let (group_topic, members) = match group {
                Group::List(m) => (None, Some(m)),
                Group::Firmware {
                    group_topic,
                    members,
                } => (Some(group_topic), members.as_ref()),
            };
            match group_topic {
                Some(t) => table.insert("group_topic", toml_edit::value(t.as_str())),
                None => table.remove("group_topic"),
            };
            match members {
                Some(m) => table.insert("members", toml_edit::value(strings(m))),
                None => table.remove("members"),
            };
        }
        // In place: the key keeps the comment above it, the value the one beside it.
        Some(item) => {
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = toml_edit::Item::Value(value);
        }
        None => {
            groups.insert(name, toml_edit::Item::Value(value));
        }
    }
    Ok(())
}

/// The `[devices]` table, made when missing.
fn devices_table<'a>(
    doc: &'a mut toml_edit::DocumentMut,
    path: &Path,
) -> Result<&'a mut dyn toml_edit::TableLike> {
    doc.entry("devices")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .with_context(|| format!("{}: `devices` is not a table", path.display()))
}

/// `profile remove NAME`: a device or a group. A device still named by a group is kept, with
/// the groups named, so nothing breaks silently.
pub fn remove(path: &Path, name: &str) -> Result<&'static str> {
    edit(path, |doc, existing| remove_from(doc, existing, path, name))
}

fn remove_from(
    doc: &mut toml_edit::DocumentMut,
    existing: &Profile,
    path: &Path,
    name: &str,
) -> Result<(bool, &'static str)> {
    let section = if existing.devices.contains_key(name) {
        let users: Vec<&str> = existing
            .groups
            .iter()
            .filter(|(_, g)| match g {
                Group::List(m)
                | Group::Firmware {
                    members: Some(m), ..
                } => m.iter().any(|m| m == name),
                Group::Firmware { members: None, .. } => false,
            })
            .map(|(g, _)| g.as_str())
            .collect();
        if !users.is_empty() {
            bail!(
                "`{name}` is a member of group {}; take it out of {} first",
                users
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if users.len() == 1 {
                    "that group"
                } else {
                    "those groups"
                }
            );
        }
        "devices"
    } else if existing.groups.contains_key(name) {
        "groups"
    } else {
        let hint = existing
            .nearest_name(name)
            .map(hint_for)
            .unwrap_or_default();
        bail!("`{name}` is not in the profile {}{hint}", path.display());
    };
    doc.get_mut(section)
        .and_then(toml_edit::Item::as_table_like_mut)
        .and_then(|t| t.remove(name))
        .with_context(|| format!("`{name}` is in [{section}] but could not be removed"))?;
    Ok((
        true,
        if section == "devices" {
            "device"
        } else {
            "group"
        },
    ))
}

// ---- the `profile list` report ----

#[derive(Serialize)]
pub struct DeviceRow {
    pub name: String,
    pub topic: Option<String>,
    pub full_topic: Option<String>,
    pub prefix: Option<Prefixes>,
    pub fallback: Option<String>,
    pub mac: Option<String>,
    pub hostname: Option<String>,
    pub relays: Option<u8>,
    /// What `config` keeps it at: `[settings]`, its groups' and its own, resolved.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize)]
pub struct GroupRow {
    pub name: String,
    pub group_topic: Option<String>,
    pub members: Option<Vec<String>>,
}

#[derive(Serialize)]
pub struct BrokerRow {
    pub name: String,
    /// Shown without a password.
    pub url: Option<String>,
}

#[derive(Serialize)]
pub struct Listing {
    pub devices: Vec<DeviceRow>,
    pub groups: Vec<GroupRow>,
    pub brokers: Vec<BrokerRow>,
}

impl Listing {
    /// Every device's effective topic settings; a value equal to the default shows as null.
    pub fn new(profile: &Profile) -> Listing {
        let devices = profile
            .devices
            .iter()
            .map(|(name, d)| {
                let fallback_only = d.fallback.as_deref() == Some(d.topic.as_str());
                DeviceRow {
                    name: name.clone(),
                    topic: (!fallback_only).then(|| d.topic.clone()),
                    full_topic: (!fallback_only && !d.layout.template.is_default())
                        .then(|| d.layout.template.to_string()),
                    prefix: (!fallback_only && !d.layout.prefixes.is_default())
                        .then(|| d.layout.prefixes.clone()),
                    fallback: d.fallback.clone(),
                    mac: d.mac.clone(),
                    hostname: d.hostname.clone(),
                    relays: d.relays,
                    settings: profile
                        .settings_of(name)
                        .into_iter()
                        .map(|w| {
                            let value = serde_json::to_value(&w.value).unwrap_or_default();
                            (w.name.canonical, value)
                        })
                        .collect(),
                }
            })
            .collect();
        let groups = profile
            .groups
            .iter()
            .map(|(name, g)| match g {
                Group::List(members) => GroupRow {
                    name: name.clone(),
                    group_topic: None,
                    members: Some(members.clone()),
                },
                Group::Firmware {
                    group_topic,
                    members,
                } => GroupRow {
                    name: name.clone(),
                    group_topic: Some(group_topic.clone()),
                    members: members.clone(),
                },
            })
            .collect();
        let mut brokers: Vec<BrokerRow> = profile
            .broker
            .url
            .as_ref()
            .map(|url| BrokerRow {
                name: "(default)".into(),
                url: Some(url.to_string()),
            })
            .into_iter()
            .collect();
        brokers.extend(profile.brokers.iter().map(|(name, b)| BrokerRow {
            name: name.clone(),
            url: b.url.as_ref().map(ToString::to_string),
        }));
        Listing {
            devices,
            groups,
            brokers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[broker]
url = "mqtt://192.168.1.10"
username = "ev3"
password_file = "~/.config/tasctl/password"

[defaults]
wait = "2s"
full_topic = "%prefix%/%topic%/"
prefix = { cmnd = "cmnd", stat = "stat", tele = "tele" }
group_topic = "tasmotas"

[devices]
living = "my_house_living_room"               # short form: name = topic
kitchen = { topic = "kitchen_plug", full_topic = "home/%prefix%/%topic%/", relays = 2 }
garage = { fallback = "DVES_A1B2C3_fb" }       # reached through its fallback topic

[groups]
downstairs = { group_topic = "downstairs", members = ["living", "kitchen"] }
lights = ["living", "kitchen"]
"#;

    fn parse_ok(text: &str) -> Profile {
        parse(text, Path::new("p.toml")).unwrap()
    }

    fn parse_err(text: &str) -> String {
        format!("{:#}", parse(text, Path::new("p.toml")).unwrap_err())
    }

    #[test]
    fn the_contract_example_parses() {
        let p = parse_ok(EXAMPLE);
        assert_eq!(p.broker.url.as_ref().unwrap().host, "192.168.1.10");
        assert_eq!(p.broker.username.as_deref(), Some("ev3"));
        assert!(
            p.broker
                .password_file
                .as_ref()
                .unwrap()
                .ends_with(".config/tasctl/password")
        );
        assert_eq!(p.defaults.wait, Some(std::time::Duration::from_secs(2)));
        let living = &p.devices["living"];
        assert_eq!(living.topic, "my_house_living_room");
        assert!(living.layout.template.is_default());
        let kitchen = &p.devices["kitchen"];
        assert_eq!(
            kitchen.layout.template.to_string(),
            "home/%prefix%/%topic%/"
        );
        assert_eq!(kitchen.relays, Some(2));
        let garage = &p.devices["garage"];
        assert_eq!(garage.topic, "DVES_A1B2C3_fb");
        assert_eq!(garage.layout, Layout::fallback());
        assert_eq!(
            p.groups["downstairs"],
            Group::Firmware {
                group_topic: "downstairs".into(),
                members: Some(vec!["living".into(), "kitchen".into()])
            }
        );
        assert_eq!(
            p.groups["lights"],
            Group::List(vec!["living".into(), "kitchen".into()])
        );
    }

    #[test]
    fn fallback_ignores_custom_prefixes() {
        let p = parse_ok(
            "[defaults]\nprefix = { cmnd = \"c\", stat = \"s\" }\nfull_topic = \"%topic%/%prefix%/\"\n[devices]\ng = { fallback = \"DVES_1_fb\" }\nd = \"dev\"\n",
        );
        let v = p.devices["g"].vars();
        assert_eq!(
            p.devices["g"]
                .layout
                .topic(topic::Class::Cmnd, &v, "POWER")
                .unwrap(),
            "cmnd/DVES_1_fb/POWER"
        );
        let v = p.devices["d"].vars();
        assert_eq!(
            p.devices["d"]
                .layout
                .topic(topic::Class::Cmnd, &v, "POWER")
                .unwrap(),
            "dev/c/POWER"
        );
        assert_eq!(
            p.devices["d"]
                .layout
                .topic(topic::Class::Tele, &v, "LWT")
                .unwrap(),
            "dev/tele/LWT"
        );
    }

    #[test]
    fn device_overrides_part_of_the_prefixes() {
        let p = parse_ok(
            "[devices]\nd = { topic = \"dev\", prefix = { stat = \"status\" }, mac = \"aa:bb:cc:dd:ee:ff\" }\n",
        );
        let d = &p.devices["d"];
        assert_eq!(d.layout.prefixes.cmnd, "cmnd");
        assert_eq!(d.layout.prefixes.stat, "status");
        assert_eq!(d.mac.as_deref(), Some("AABBCCDDEEFF"));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let err = parse_err(
            "[devices]\nliving = \"x\"\nkitchen = { topic = \"k\", fulltopic = \"%topic%/\" }\n",
        );
        assert!(err.starts_with("p.toml:3:"), "{err}");
        assert!(err.contains("unknown field `fulltopic`"), "{err}");
        assert!(err.contains("did you mean `full_topic`?"), "{err}");

        let err = parse_err("[brokr]\nurl = \"x\"\n");
        assert!(err.starts_with("p.toml:1:"), "{err}");
        assert!(err.contains("did you mean `broker`?"), "{err}");

        let err = parse_err(
            "[devices]\nliving = \"x\"\nbad = { topic = \"t\", full_topic = \"%prefix%/%topc%/\" }\n",
        );
        assert!(err.starts_with("p.toml:3:"), "{err}");
        assert!(
            err.contains("device `bad`: full_topic: unknown placeholder `%topc%` at position 9"),
            "{err}"
        );

        let err = parse_err("[devices]\nliving = \"x\n");
        assert!(err.starts_with("p.toml:2:"), "{err}");

        let err = parse_err("\n\n[defaults]\nwait = \"soon\"\n");
        assert!(err.starts_with("p.toml:4:8"), "{err}");
        assert!(err.contains("[defaults] wait"), "{err}");

        let err = parse_err("[broker]\nurl = \"http://x\"\n");
        assert!(
            err.starts_with("p.toml:2:7") && err.contains("unsupported scheme"),
            "{err}"
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        let cases = [
            ("[devices]\nx = \"a/+/b\"\n", "wildcard `+`"),
            ("[devices]\nx = { relays = 2 }\n", "needs a `topic`"),
            (
                "[devices]\nx = { topic = \"t\", mac = \"zz\" }\n",
                "not 12 hex digits",
            ),
            ("[devices]\nx = { topic = \"t\", relays = 0 }\n", "1 to 32"),
            (
                "[devices]\nx = { topic = \"t\", full_topic = \"%hostname%/%prefix%/\" }\n",
                "add `hostname`",
            ),
            ("[devices]\nall = \"t\"\n", "reserved"),
            ("[devices]\nx = 5\n", "a topic string, or a table"),
            (
                "[devices]\nliving = \"t\"\n[groups]\ng = [\"livng\"]\n",
                "did you mean `living`?",
            ),
            ("[groups]\ng = { members = [] }\n", "group_topic"),
            ("[defaults]\nqos = 3\n", "qos: must be 0, 1 or 2"),
            (
                "[defaults]\nprefix = { cmd = \"c\" }\n",
                "did you mean `cmnd`?",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_err(text);
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn durations_as_text_or_a_number_of_seconds() {
        let p = parse_ok("[defaults]\nwait = 2\n[broker]\nconnect_timeout = \"1m30s\"\n");
        assert_eq!(p.defaults.wait, Some(std::time::Duration::from_secs(2)));
        assert_eq!(
            p.broker.connect_timeout,
            Some(std::time::Duration::from_secs(90))
        );
        let p = parse_ok("[defaults]\nwait = 0.5\n");
        assert_eq!(p.defaults.wait, Some(std::time::Duration::from_millis(500)));
        assert!(parse_err("[defaults]\nwait = 0\n").contains("no time at all"));
    }

    #[test]
    fn nearest_names() {
        let p = parse_ok(EXAMPLE);
        assert_eq!(p.nearest_name("livng"), Some("living"));
        assert_eq!(p.nearest_name("light"), Some("lights"));
        assert_eq!(p.nearest_name("xyzzy"), None);
        assert_eq!(p.nearest_name("arag"), Some("garage"), "a part of the name");
        assert_eq!(p.nearest_name("stairs"), Some("downstairs"));
    }

    fn named(name: &str, topic: &str) -> NewDevice {
        NewDevice {
            name: name.into(),
            topic: topic.into(),
            ..NewDevice::default()
        }
    }

    #[test]
    fn add_and_remove_keep_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        add(&path, &named("porch", "tasmota_1A2B3C")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("# short form: name = topic"));
        assert!(text.contains("# reached through its fallback topic"));
        assert!(text.contains("porch = \"tasmota_1A2B3C\""));
        assert_eq!(
            load(&path, true).unwrap().devices["porch"].topic,
            "tasmota_1A2B3C"
        );

        let err = add(&path, &named("porch", "other"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("already a device"), "{err}");
        let err = remove(&path, "living").unwrap_err().to_string();
        assert!(
            err.contains("member of group `downstairs`, `lights`"),
            "{err}"
        );

        assert_eq!(remove(&path, "porch").unwrap(), "device");
        assert_eq!(remove(&path, "lights").unwrap(), "group");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("porch") && !text.contains("lights ="));
        assert!(text.contains("# short form: name = topic"));
        let err = remove(&path, "garag").unwrap_err().to_string();
        assert!(err.contains("did you mean `garage`?"), "{err}");
    }

    #[test]
    fn add_creates_a_missing_profile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/profile.toml");
        add(&path, &named("living", "my_house_living_room")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[devices]\nliving = \"my_house_living_room\"\n"
        );
    }

    #[test]
    fn missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.toml");
        assert!(load(&path, false).unwrap().devices.is_empty());
        let err = load(&path, true).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(text in "\\PC{0,200}") {
                let _ = parse(&text, Path::new("p.toml"));
            }

            #[test]
            fn parse_never_panics_on_profile_like_text(
                lines in proptest::collection::vec(
                    prop::sample::select(vec![
                        "[devices]", "[groups]", "[broker]", "[defaults]", "x = \"t\"", "y = { topic = \"%topic%\" }",
                        "g = [\"x\", \"y\"]", "full_topic = \"%prefix%/%\"", "url = \"mqtt://:\"", "mac = 1",
                        "wait = \"1e9h\"", "relays = 300", "prefix = { }", "z = { fallback = \"\" }",
                    ]),
                    0..8,
                )
            ) {
                let _ = parse(&lines.join("\n"), Path::new("p.toml"));
            }
        }
    }
}

// ---- discover --save ----

/// A device as discovery found it, for saving.
#[derive(Debug, Clone)]
pub struct Found {
    /// First FriendlyName, else DeviceName, else the topic: the name's source.
    pub label: String,
    pub topic: String,
    pub layout: Layout,
    pub hostname: Option<String>,
    pub mac: Option<String>,
    /// Its LWT words (online, offline) when they are not the firmware's default ones.
    pub lwt: Option<(String, String)>,
}

/// What `discover --save` did, by profile name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Saved {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// Devices that could not be written, with the reason: the rest are saved.
    pub skipped: Vec<(String, String)>,
    /// The broker URL written as `[broker] url`.
    pub broker: Option<String>,
}

impl Found {
    /// Would this device make a valid profile entry?
    fn check(&self) -> Result<(), String> {
        if self.topic.is_empty() {
            return Err("its topic is empty".into());
        }
        topic::check_topic_word(&self.topic).map_err(|e| format!("topic: {e}"))?;
        if let Some(h) = &self.hostname {
            topic::check_topic_word(h).map_err(|e| format!("hostname: {e}"))?;
        }
        check_prefixes(&self.layout.prefixes)?;
        let vars = topic::Vars {
            topic: &self.topic,
            hostname: self.hostname.as_deref(),
            mac: self.mac.as_deref(),
        };
        self.layout
            .template
            .check_vars(&vars)
            .map_err(|e| e.to_string())
    }
}

/// How discovered devices are named: the name the profile has for a device (same MAC, else
/// same topic and layout), else a new one from its label, unique among the names taken.
pub struct Naming<'a> {
    taken: std::collections::HashSet<String>,
    by_mac: std::collections::HashMap<&'a str, &'a str>,
    by_topic: std::collections::HashMap<(&'a str, &'a Layout), &'a str>,
}

impl<'a> Naming<'a> {
    pub fn new(existing: &'a Profile) -> Naming<'a> {
        Naming {
            taken: existing
                .devices
                .keys()
                .chain(existing.groups.keys())
                .cloned()
                .collect(),
            by_mac: existing
                .devices
                .iter()
                .filter_map(|(name, d)| Some((d.mac.as_deref()?, name.as_str())))
                .collect(),
            by_topic: existing
                .devices
                .iter()
                .map(|(name, d)| ((d.topic.as_str(), &d.layout), name.as_str()))
                .collect(),
        }
    }

    /// The profile's name for this device, if it has it.
    pub fn known(&self, f: &Found) -> Option<&'a str> {
        f.mac
            .as_deref()
            .and_then(|m| self.by_mac.get(m))
            .or_else(|| self.by_topic.get(&(f.topic.as_str(), &f.layout)))
            .copied()
    }

    /// A new name: the label's slug, with the MAC's last six digits (or a number) when taken.
    pub fn new_name(&mut self, f: &Found) -> String {
        let mut name = slug(&f.label);
        if self.taken.contains(&name) {
            let tail = f
                .mac
                .as_deref()
                .and_then(|m| m.get(6..))
                .unwrap_or(f.topic.as_str())
                .to_ascii_lowercase();
            name = format!("{name}-{tail}");
        }
        let mut n = 2;
        let base = name.clone();
        while self.taken.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// The name the device has, or would get from `discover --save`.
    pub fn name(&mut self, f: &Found) -> String {
        match self.known(f) {
            Some(name) => name.to_string(),
            None => self.new_name(f),
        }
    }
}

/// A lowercase name from a label: `Living Room Lamp` → `living-room-lamp`.
pub fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() || out == "all" {
        format!("device-{out}")
    } else {
        out
    }
}

/// Adds or updates discovered devices, keyed by MAC (else topic), keeping comments and layout.
/// Only what differs from the profile's defaults is written; `mac` always when known.
pub fn save(path: &Path, found: &[Found], broker: Option<&str>) -> Result<Saved> {
    edit(path, |doc, existing| {
        let (mut changed, mut saved) = merge_found(doc, existing, path, found)?;
        // The broker the devices were found on, when the profile names none: so that cron,
        // with no TASCTL_BROKER, asks the same one.
        if let Some(url) = broker
            && existing.broker.url.is_none()
        {
            let section = doc
                .entry("broker")
                .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
                .as_table_like_mut()
                .with_context(|| format!("{}: `broker` is not a table", path.display()))?;
            section.insert("url", toml_edit::value(url));
            saved.broker = Some(url.to_string());
            changed = true;
        }
        Ok((changed, saved))
    })
}

fn merge_found(
    doc: &mut toml_edit::DocumentMut,
    existing: &Profile,
    path: &Path,
    found: &[Found],
) -> Result<(bool, Saved)> {
    let defaults = &existing.defaults.layout;
    let mut naming = Naming::new(existing);
    let mut saved = Saved::default();
    let devices = devices_table(doc, path)?;
    for f in found {
        if let Err(why) = f.check() {
            saved.skipped.push((f.topic.clone(), why));
            continue;
        }
        // The entry as it should be.
        let mut entry = toml_edit::InlineTable::new();
        entry.insert("topic", f.topic.as_str().into());
        if f.layout.template != defaults.template {
            entry.insert("full_topic", f.layout.template.to_string().into());
        }
        if f.layout.prefixes != defaults.prefixes {
            let mut prefix = toml_edit::InlineTable::new();
            for class in topic::Class::ALL {
                let word = f.layout.prefixes.get(class);
                if word != defaults.prefixes.get(class) {
                    prefix.insert(class.word(), word.into());
                }
            }
            entry.insert("prefix", prefix.into());
        }
        let needs_hostname = f.layout.template.to_string().contains("%hostname%");
        if let Some(hostname) = f.hostname.as_deref().filter(|_| needs_hostname) {
            entry.insert("hostname", hostname.into());
        }
        if let Some(mac) = &f.mac {
            entry.insert("mac", mac.as_str().into());
        }
        if let Some((online, offline)) = &f.lwt {
            let mut lwt = toml_edit::InlineTable::new();
            lwt.insert("online", online.as_str().into());
            lwt.insert("offline", offline.as_str().into());
            entry.insert("lwt", lwt.into());
        }
        let known = naming
            .known(f)
            .map(|name| (name.to_string(), &existing.devices[name]));
        match known {
            Some((name, d)) => {
                let same = d.topic == f.topic
                    && d.layout == f.layout
                    && d.mac == f.mac
                    && d.lwt == f.lwt
                    && (!needs_hostname || d.hostname == f.hostname);
                if same {
                    saved.unchanged.push(name);
                    continue;
                }
                // Keep what the user wrote beside the device (relays, a comment), change the rest.
                if let Some(item) = devices.get_mut(&name) {
                    match item.as_inline_table_mut() {
                        Some(table) => {
                            for (key, value) in entry.iter() {
                                table.insert(key, value.clone());
                            }
                            // Back to the defaults: say nothing, as a new entry would.
                            for key in ["full_topic", "prefix", "lwt"] {
                                if !entry.contains_key(key) {
                                    table.remove(key);
                                }
                            }
                        }
                        None => {
                            let decor = item.as_value().map(|v| v.decor().clone());
                            let mut value = toml_edit::Value::InlineTable(entry.clone());
                            if let Some(decor) = decor {
                                *value.decor_mut() = decor;
                            }
                            *item = toml_edit::Item::Value(value);
                        }
                    }
                }
                saved.updated.push(name);
            }
            None => {
                let name = naming.new_name(f);
                devices.insert(&name, toml_edit::value(entry));
                saved.added.push(name);
            }
        }
    }
    let changed = !saved.added.is_empty() || !saved.updated.is_empty();
    Ok((changed, saved))
}

#[cfg(test)]
mod save_tests {
    use super::*;

    fn found(label: &str, topic: &str, template: &str, mac: Option<&str>) -> Found {
        Found {
            label: label.into(),
            topic: topic.into(),
            layout: Layout {
                template: Template::parse(template).unwrap(),
                prefixes: Prefixes::default(),
            },
            hostname: Some("host-1".into()),
            mac: mac.map(String::from),
            lwt: None,
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Living Room Lamp"), "living-room-lamp");
        assert_eq!(slug("  Garage -- Door!"), "garage-door");
        assert_eq!(slug("Geschirrspüler"), "geschirrspüler");
        assert_eq!(slug("all"), "device-all");
        assert_eq!(slug("!!"), "device-");
    }

    #[test]
    fn save_adds_updates_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.toml");
        std::fs::write(
            &path,
            "# mine\n[devices]\nlamp = \"old_topic\"   # by the door\n",
        )
        .unwrap();
        let devices = [
            found(
                "Living Room Lamp",
                "living",
                "%prefix%/%topic%/",
                Some("A0B765000001"),
            ),
            found("Lamp", "kitchen", "%topic%/%prefix%/", Some("A0B765000002")),
            found("Porch", "porch", "%prefix%/%hostname%/", None),
        ];
        let saved = save(&path, &devices, None).unwrap();
        assert_eq!(saved.added, ["living-room-lamp", "lamp-000002", "porch"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# mine\n") && text.contains("# by the door"),
            "{text}"
        );
        assert!(
            text.contains(r#"living-room-lamp = { topic = "living", mac = "A0B765000001" }"#),
            "{text}"
        );
        assert!(text.contains(r#"lamp-000002 = { topic = "kitchen", full_topic = "%topic%/%prefix%/", mac = "A0B765000002" }"#), "{text}");
        assert!(text.contains(r#"porch = { topic = "porch", full_topic = "%prefix%/%hostname%/", hostname = "host-1" }"#), "{text}");

        // again: nothing changes
        let again = save(&path, &devices, None).unwrap();
        assert_eq!(
            (
                again.added.len(),
                again.updated.len(),
                again.unchanged.len()
            ),
            (0, 0, 3)
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

        // a topic changed: same MAC, updated in place
        let moved = [found(
            "Living Room Lamp",
            "living2",
            "%prefix%/%topic%/",
            Some("A0B765000001"),
        )];
        assert_eq!(
            save(&path, &moved, None).unwrap().updated,
            ["living-room-lamp"]
        );
        let p = load(&path, true).unwrap();
        assert_eq!(p.devices["living-room-lamp"].topic, "living2");
        assert_eq!(p.devices.len(), 4);

        // a short-form entry found by topic keeps its comment
        let lamp = [found(
            "Lamp",
            "old_topic",
            "%prefix%/%topic%/",
            Some("A0B765000009"),
        )];
        assert_eq!(save(&path, &lamp, None).unwrap().updated, ["lamp"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(
                r#"lamp = { topic = "old_topic", mac = "A0B765000009" }   # by the door"#
            ),
            "{text}"
        );
    }
}
