//! `tasctl config diff|apply|show`: fleet settings as code, over MQTT.
//!
//! One conversation per device on the engine. It reads what the profile asks of the device with
//! read-only queries only (one `Backlog0` of empty-payload commands, batched; `Status 3` for
//! SetOptions and TelePeriod, never an empty `TelePeriod`, which would publish telemetry), and
//! compares as the firmware means the values (`setting_table`). `apply` then sends only what
//! differs, in as few messages as the firmware takes (each under its 1200-byte input limit, at
//! most 30 commands, rule text on its own message, restart-causing settings together and last so
//! that the device restarts once), follows the device through that restart by its fresh INFO1
//! (a commanded restart sends no Offline LWT), and reads every value back. Settings that change
//! the device's address need `--force` and are followed to the new address, the profile
//! updated; settings that would take it off this broker or Wi-Fi are refused before anything is
//! sent.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use anyhow::{Result, bail};
use colored::Colorize;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::ask::{is_rejection, json_object};
use crate::engine::{self, Conversation, End, Heard, Outbox, Plan};
use crate::mqtt::Session;
use crate::output::{Output, escape};
use crate::profile::{Device, Profile, Wanted};
use crate::report::{DeviceResult, Results, Verdict};
use crate::setting_table::{self as table, Canon, Kind, Name, Reach, Read, Restart};
use crate::topic::Class;

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Diff,
    Apply { dry_run: bool, force: bool },
    Show,
}

/// The firmware drops an MQTT message of this many bytes or more (topic included).
const MESSAGE_LIMIT: usize = 1200;
/// Firmware before 14.2 keeps at most this many Backlog commands.
const BACKLOG_LIMIT: usize = 30;
/// The firmware's default spacing of Backlog commands (SetOption34).
const SPACING: Duration = Duration::from_millis(200);

/// One setting that differs: `{"setting", "device", "wanted", "note"?}`.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub setting: String,
    /// The device's value as JSON (`true`, `300`, `"+01:00"`, `{...}`); `null` when it did
    /// not say.
    pub device: Option<Value>,
    pub wanted: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The two values as people read them (`ON`, `"+01:00"`), for the text report.
    #[serde(skip)]
    pub shown: (Option<String>, String),
}

/// A row's fields beyond device, topic, ok and error.
#[derive(Debug, Default, Serialize)]
pub struct ConfigData {
    /// Every setting asked of the device is what the profile wants.
    pub in_sync: Option<bool>,
    pub drift: Vec<Drift>,
    /// `apply`: the settings sent and kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Vec<String>>,
    /// `apply --dry-run`: what would be published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_send: Vec<String>,
    /// `show`: the `settings = {...}` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
    /// Notes that are not drift (a setting compared as text, SetOption19 resetting at boot).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Asked the current values.
    Reading,
    /// Sent what differs; waiting for the replies (or the restart).
    Writing,
    /// The restart-causing settings went out: waiting for the fresh INFO1.
    Restarting,
    /// Asked the values again.
    Verifying,
    Done,
}

/// One device's side of a config run.
pub struct Config {
    mode: Mode,
    /// What the profile asks (for `show`: the names only, values unused).
    wanted: Vec<Wanted>,
    /// The device's values, by canonical name.
    values: BTreeMap<String, Canon>,
    /// The group topics it reported, when asked.
    group_topics: Option<BTreeSet<String>>,
    /// Names still to be read in this round.
    pending: Vec<Name>,
    /// The topic tasctl reaches the device on: what a stored Topic mask resolved to.
    address: String,
    /// A setting the device answered `Unknown`/`Error` to, with the reply.
    refused: BTreeMap<String, String>,
    stage: Stage,
    deadline: Instant,
    wait: Duration,
    restart_wait: Duration,
    /// What `apply` sends (or would), in order.
    messages: Vec<(String, String)>,
    /// The settings written.
    written: Vec<String>,
    restarts: bool,
    /// Writes still to hear a reply for.
    awaiting: usize,
    heard: bool,
    /// Settings `apply` will not send (their reason).
    held: Vec<(String, String)>,
    error: Option<(Verdict, String)>,
}

impl Config {
    pub fn new(
        mode: Mode,
        address: String,
        wanted: Vec<Wanted>,
        wait: Duration,
        restart_wait: Duration,
    ) -> Config {
        Config {
            mode,
            wanted,
            values: BTreeMap::new(),
            group_topics: None,
            pending: Vec::new(),
            address,
            refused: BTreeMap::new(),
            stage: Stage::Reading,
            deadline: Instant::now() + wait,
            wait,
            restart_wait,
            messages: Vec::new(),
            written: Vec::new(),
            restarts: false,
            awaiting: 0,
            heard: false,
            held: Vec::new(),
            error: None,
        }
    }

    /// The read-only queries for the wanted settings: one `Status 3` for SetOptions and
    /// TelePeriod, one query per other setting (GroupTopic once: it answers all four), in
    /// `Backlog0` batches.
    fn ask(&mut self, out: &mut Outbox) {
        self.pending = self.wanted.iter().map(|w| w.name.clone()).collect();
        self.values.clear();
        self.group_topics = None;
        self.refused.clear();
        let mut queries: Vec<String> = Vec::new();
        let mut sections: BTreeSet<u8> = BTreeSet::new();
        for name in &self.pending {
            match name.read() {
                Read::SetOptionBits | Read::StatusTelePeriod => {
                    sections.insert(3);
                }
                Read::Status(n) => {
                    sections.insert(n);
                }
                Read::Query if name.kind() == Kind::GroupTopic => {
                    if !queries.iter().any(|q| q == "GroupTopic1") {
                        queries.push("GroupTopic1".into());
                    }
                }
                Read::Query => queries.push(name.query()),
            }
        }
        queries.extend(sections.iter().map(|n| format!("Status {n}")));
        for batch in batches(&queries, "Backlog0 ", 200) {
            out.command("Backlog0", batch);
        }
        self.deadline = Instant::now() + self.wait;
    }

    /// Takes a reply: every pending setting it holds.
    fn take(&mut self, suffix: &str, object: &Map<String, Value>) {
        if is_rejection(object) {
            // The oldest query still open is the one refused (replies come in order).
            if let Some(i) = self
                .pending
                .iter()
                .position(|n| n.read() == Read::Query && !self.refused.contains_key(&n.canonical))
            {
                let name = self.pending.remove(i);
                self.refused.insert(
                    name.canonical.clone(),
                    Value::Object(object.clone()).to_string(),
                );
            }
            return;
        }
        // A Status section: its number and its object.
        let status = match suffix {
            "STATUS3" => Some((3, "StatusLOG")),
            "STATUS5" => Some((5, "StatusNET")),
            "STATUS6" => Some((6, "StatusMQT")),
            _ => None,
        }
        .and_then(|(n, key)| Some((n, object.get(key)?.as_object()?)));
        let words = ("ON", "OFF");
        let mut taken = Vec::new();
        for (i, name) in self.pending.iter().enumerate() {
            let value = match (name.read(), status) {
                (Read::SetOptionBits, Some((3, status))) => {
                    name.index.and_then(|n| table::from_status3(n, status))
                }
                (Read::StatusTelePeriod, Some((3, status))) => status
                    .get("TelePeriod")
                    .and_then(Value::as_i64)
                    .map(Canon::Int),
                (Read::Status(n), Some((m, status))) if n == m => {
                    table::from_reply(name, status, words)
                }
                // The stored Topic may be a mask (`tasmota_%06X`): the device resolved it to
                // the topic tasctl reached it on.
                (Read::Query, None)
                    if name.entry.is_some_and(|e| e.name == "Topic")
                        && object
                            .get("Topic")
                            .and_then(Value::as_str)
                            .is_some_and(|t| t.contains('%')) =>
                {
                    Some(Canon::Text(self.address.clone()))
                }
                (Read::Query, None) if name.kind() == Kind::GroupTopic => {
                    table::group_topics(object).map(|set| {
                        self.group_topics = Some(set);
                        Canon::Bool(true)
                    })
                }
                (Read::Query, None) => table::from_reply(name, object, words),
                _ => None,
            };
            if let Some(value) = value {
                taken.push((i, value));
            }
        }
        for (i, value) in taken.into_iter().rev() {
            let name = self.pending.remove(i);
            self.values.insert(name.canonical, value);
        }
    }

    /// The settings that differ, each with what the device has.
    fn drift(&self) -> Vec<(Wanted, Option<Canon>)> {
        let mut out = Vec::new();
        // GroupTopic1-4 compare as one set.
        let wanted_groups: BTreeSet<String> = self
            .wanted
            .iter()
            .filter(|w| w.name.kind() == Kind::GroupTopic)
            .filter_map(|w| match &w.canon {
                Canon::Text(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        let mut groups_done = false;
        for w in &self.wanted {
            if w.name.kind() == Kind::GroupTopic {
                if groups_done {
                    continue;
                }
                groups_done = true;
                let have = self.group_topics.clone();
                if have.as_ref() != Some(&wanted_groups) {
                    let mut shown = w.clone();
                    shown.canon = Canon::Set(wanted_groups.clone());
                    out.push((shown, have.map(Canon::Set)));
                }
                continue;
            }
            let have = self.values.get(&w.name.canonical);
            if !have.is_some_and(|h| h.satisfies(&w.canon)) {
                out.push((w.clone(), have.cloned()));
            }
        }
        out
    }

    /// What `apply` sends to converge: rule text on its own messages; the rest in Backlogs of at
    /// most 30 commands under the size limit, the restart-causing settings together and last.
    fn plan_writes(&mut self, topic_len: usize, force: bool) {
        let mut plain: Vec<String> = Vec::new();
        let mut restarting: Vec<String> = Vec::new();
        let mut singles: Vec<(String, String)> = Vec::new();
        let mut groups_written = false;
        for (w, have) in self.drift() {
            let name = &w.name;
            match name.reach() {
                Reach::Away => {
                    self.held.push((
                        name.canonical.clone(),
                        "it would take the device off this broker or Wi-Fi".into(),
                    ));
                    continue;
                }
                Reach::Address if !force => {
                    self.held.push((
                        name.canonical.clone(),
                        "it changes the device's address: --force".into(),
                    ));
                    continue;
                }
                _ => {}
            }
            let restart = match name.restart() {
                Restart::Always | Restart::OnChange => true,
                Restart::WhenZero => matches!(w.canon, Canon::Bool(false) | Canon::Int(0)),
                Restart::Never => {
                    name.kind() == Kind::Template
                        && self.values.get("Module") == Some(&Canon::Int(0))
                }
            };
            let target = if restart { &mut restarting } else { &mut plain };
            match name.kind() {
                Kind::Rule => {
                    let (text, flags) = table::rule_commands(name, &w.value);
                    let text_differs = match (&have, &w.canon) {
                        (Some(Canon::Map(h)), Canon::Map(want)) => {
                            want.get("rules") != h.get("rules")
                        }
                        _ => true,
                    };
                    if let Some(text) = text.filter(|_| text_differs) {
                        // A payload starting with `"` clears a rule; an empty rule is cleared so.
                        let payload = if text.is_empty() {
                            "\"".to_string()
                        } else {
                            text
                        };
                        singles.push((name.canonical.clone(), payload));
                    }
                    target.extend(flags);
                }
                Kind::GroupTopic => {
                    if groups_written {
                        continue;
                    }
                    groups_written = true;
                    // The set in index order; the firmware compacts them toward 1.
                    // The set in index order; the device keeps its own packed toward 1, so
                    // only the slots it has beyond the wanted ones need clearing (`0`).
                    let Canon::Set(set) = &w.canon else { continue };
                    for (i, g) in set.iter().enumerate() {
                        target.push(format!("GroupTopic{} {g}", i + 1));
                    }
                    let held = match &have {
                        Some(Canon::Set(h)) => h.len(),
                        _ => 4,
                    };
                    for i in set.len() + 1..=held.min(4) {
                        target.push(format!("GroupTopic{i} 0"));
                    }
                }
                _ => target.push(format!(
                    "{} {}",
                    name.canonical,
                    table::payload(name, &w.value)
                )),
            }
            self.written.push(name.canonical.clone());
        }
        self.restarts = !restarting.is_empty();
        self.messages = singles;
        // `cmnd/<topic>/Backlog `: the topic is part of what the firmware must hold.
        let room = MESSAGE_LIMIT.saturating_sub(topic_len + 40);
        for batch in batches(&plain, "", room) {
            self.messages.push(("Backlog".into(), batch));
        }
        for batch in batches(&restarting, "", room) {
            self.messages.push(("Backlog".into(), batch));
        }
        self.awaiting = self
            .messages
            .iter()
            .map(|(name, payload)| {
                if name == "Backlog" {
                    payload.split("; ").count()
                } else {
                    1
                }
            })
            .sum();
    }

    fn finish(&mut self, verdict: Verdict, why: impl Into<String>) {
        self.stage = Stage::Done;
        if verdict != Verdict::Ok {
            self.error = Some((verdict, why.into()));
        }
    }

    /// A reading round is complete: what comes next.
    fn read_done(&mut self, out: &mut Outbox) {
        match (self.mode, self.stage) {
            (Mode::Apply { dry_run: false, .. }, Stage::Reading) if !self.messages.is_empty() => {
                for (name, payload) in &self.messages {
                    out.command(name, payload.clone());
                }
                self.stage = if self.restarts {
                    Stage::Restarting
                } else {
                    Stage::Writing
                };
                let spacing = SPACING * self.awaiting as u32;
                self.deadline = Instant::now()
                    + spacing
                    + if self.restarts {
                        self.restart_wait
                    } else {
                        self.wait
                    };
            }
            _ => self.stage = Stage::Done,
        }
    }
}

/// Joins commands into `; `-separated batches of at most 30 and `room` bytes.
fn batches(commands: &[String], prefix: &str, room: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut len = prefix.len();
    for c in commands {
        let extra = c.len() + 2;
        if !current.is_empty() && (current.len() == BACKLOG_LIMIT || len + extra > room) {
            out.push(current.join("; "));
            current.clear();
            len = prefix.len();
        }
        current.push(c);
        len += extra;
    }
    if !current.is_empty() {
        out.push(current.join("; "));
    }
    out
}

impl Conversation for Config {
    fn start(&mut self, out: &mut Outbox) {
        self.ask(out);
    }

    fn hear(&mut self, heard: &Heard, out: &mut Outbox) {
        if heard.retained || self.stage == Stage::Done {
            return;
        }
        let Some(object) = json_object(heard.payload) else {
            return;
        };
        match (self.stage, heard.class) {
            (Stage::Reading | Stage::Verifying, Class::Stat) => {
                self.heard = true;
                // A device that is answering is waited for (firmware before 9.4 has no
                // Backlog0 and spaces the queries 200 ms apart); --wait bounds its silence.
                self.deadline = Instant::now() + self.wait;
                self.take(heard.suffix, &object);
                if self.pending.is_empty() {
                    if self.stage == Stage::Reading && matches!(self.mode, Mode::Apply { .. }) {
                        self.read_done(out);
                    } else {
                        self.stage = Stage::Done;
                    }
                }
            }
            (Stage::Writing, Class::Stat) => {
                if is_rejection(&object) {
                    self.refused.insert(
                        format!("write {}", self.refused.len() + 1),
                        Value::Object(object).to_string(),
                    );
                }
                self.awaiting = self.awaiting.saturating_sub(1);
                if self.awaiting == 0 {
                    self.stage = Stage::Verifying;
                    self.ask(out);
                }
            }
            // A commanded restart is known by its fresh INFO1 (no Offline LWT comes).
            (Stage::Restarting, Class::Tele) if heard.suffix == "INFO1" => {
                self.stage = Stage::Verifying;
                self.ask(out);
            }
            _ => {}
        }
    }

    fn deadline(&self) -> Option<Instant> {
        (self.stage != Stage::Done).then_some(self.deadline)
    }

    fn expire(&mut self, out: &mut Outbox) {
        let wait = crate::output::duration(self.wait);
        match self.stage {
            Stage::Reading if !self.heard => {
                self.finish(Verdict::Silent, format!("no response within {wait}"))
            }
            Stage::Reading | Stage::Verifying => {
                let names: Vec<&str> = self.pending.iter().map(|n| n.canonical.as_str()).collect();
                let why = format!("did not tell {} within {wait}", names.join(", "));
                if self.stage == Stage::Reading && matches!(self.mode, Mode::Apply { .. }) {
                    self.finish(Verdict::Silent, why);
                } else {
                    // What it told is compared; the rest is reported.
                    self.error = Some((Verdict::Silent, why));
                    self.stage = Stage::Done;
                }
            }
            Stage::Writing => {
                // Some replies did not come (a value ignored makes no reply on old builds): read back.
                self.stage = Stage::Verifying;
                self.ask(out);
            }
            Stage::Restarting => self.finish(
                Verdict::Silent,
                format!(
                    "sent, but not back after its restart within {}",
                    crate::output::duration(self.restart_wait)
                ),
            ),
            Stage::Done => {}
        }
    }

    fn done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// A device that restarts is expected to go away and come back.
    fn gives_up_when_offline(&self) -> bool {
        self.stage == Stage::Reading
    }
}

/// The devices a config run is about: the targets' devices (default: every device of the
/// profile that has settings), each with what the profile asks of it.
pub fn devices(
    profile: &Profile,
    targets: &[crate::target::Target],
    named: bool,
) -> Result<Vec<(Device, Vec<Wanted>)>> {
    let devices = if named {
        crate::target::devices(targets)?
    } else {
        profile
            .devices
            .iter()
            .filter(|(name, _)| !profile.settings_of(name).is_empty())
            .map(|(_, d)| d.clone())
            .collect()
    };
    if devices.is_empty() {
        bail!(
            "no device has settings in the profile; add `[settings]`, or `settings = {{...}}` to a group or a device (see `tasctl config --help`)"
        );
    }
    Ok(devices
        .into_iter()
        .map(|d| {
            let wanted = d
                .name
                .as_deref()
                .map(|n| profile.settings_of(n))
                .unwrap_or_default();
            (d, wanted)
        })
        .collect())
}

/// Before anything is sent: settings that would take a device away are refused, and address
/// settings without `--force`.
pub fn check_apply(devices: &[(Device, Vec<Wanted>)], force: bool) -> Result<()> {
    for (device, wanted) in devices {
        let label = device.name.clone().unwrap_or_else(|| device.topic.clone());
        for w in wanted {
            match w.name.reach() {
                Reach::Away
                    if !(w.name.canonical == "SetOption3" && w.canon == Canon::Bool(true)) =>
                {
                    bail!(
                        "refusing to apply `{}` to `{label}` ({}): it would take the device off this broker or off Wi-Fi, and tasctl could not reach it again; change it by hand. Nothing was sent",
                        w.name.canonical,
                        w.at
                    );
                }
                Reach::Address if !force => bail!(
                    "`{}` of `{label}` ({}) changes how tasctl reaches the device; `tasctl config apply --force` sends it, follows the device to its new address and updates the profile. Nothing was sent",
                    w.name.canonical,
                    w.at
                ),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The names `config show` asks: those given, else the profile's for the device, else a
/// common set.
pub fn show_names(asked: &[String], wanted: &[Wanted]) -> Result<Vec<Wanted>> {
    let names: Vec<String> = if !asked.is_empty() {
        asked.to_vec()
    } else if !wanted.is_empty() {
        return Ok(wanted.to_vec());
    } else {
        table::SHOW_DEFAULT.iter().map(|s| s.to_string()).collect()
    };
    names
        .iter()
        .map(|n| {
            let name = table::resolve(n).map_err(anyhow::Error::msg)?;
            Ok(Wanted {
                name,
                value: toml::Value::Boolean(false),
                canon: Canon::Bool(false),
                note: None,
                at: String::new(),
                from: "config show".into(),
            })
        })
        .collect()
}

pub struct Options {
    pub mode: Mode,
    pub canary: usize,
    pub batch: usize,
    pub wait: Duration,
    pub restart_wait: Duration,
}

/// Runs diff, show or apply over the devices: every one read at once; for apply, the ones that
/// differ changed, the canaries first (the first in target order that answered), then the rest
/// `batch` at a time in a sliding window.
pub async fn run(
    session: &mut Session,
    devices: Vec<(Device, Vec<Wanted>)>,
    options: &Options,
    profile: &Profile,
    profile_path: &std::path::Path,
    out: &Output,
) -> Result<Results<ConfigData>> {
    let Options {
        mode,
        canary,
        batch,
        wait,
        restart_wait,
    } = *options;
    // Read first: diff, show, and what apply would change.
    let read_mode = match mode {
        Mode::Apply { force, .. } => Mode::Apply {
            dry_run: true,
            force,
        },
        other => other,
    };
    let order: Vec<Device> = devices.iter().map(|(d, _)| d.clone()).collect();
    let plan = Plan {
        parties: devices
            .into_iter()
            .map(|(d, wanted)| {
                let conversation =
                    Config::new(read_mode, d.topic.clone(), wanted, wait, restart_wait);
                (d, conversation)
            })
            .collect(),
        ..Plan::default()
    };
    let outcome = engine::run(session, plan, profile, |_| None).await?;
    let interrupted = outcome.end == End::Interrupted;
    let mut done: Vec<Option<(Device, Config)>> = Vec::with_capacity(order.len());
    let mut to_apply: Vec<(usize, Device, Config)> = Vec::new();
    for (i, party) in outcome.parties.into_iter().enumerate() {
        let mut config = party.conversation;
        let offline = party.lwt.as_deref() == Some(party.device.lwt_offline());
        if config.error.is_none() && config.stage != Stage::Done && !interrupted {
            config.error = Some((Verdict::Silent, "no response".into()));
        }
        if let (Some((Verdict::Silent, why)), true) = (&mut config.error, offline) {
            why.push_str("; offline (LWT)");
        }
        if let Mode::Apply { dry_run, force } = mode
            && config.error.is_none()
            && !interrupted
        {
            let topic_len =
                party.device.topic.len() + party.device.layout.template.to_string().len() + 16;
            config.plan_writes(topic_len, force);
            if !dry_run && !config.messages.is_empty() {
                config.mode = mode;
                to_apply.push((i, party.device.clone(), config));
                done.push(None);
                continue;
            }
        }
        done.push(Some((party.device, config)));
    }
    // Apply: the canaries, then the rest in a window; a device whose address changes is
    // followed on its own afterwards.
    if !to_apply.is_empty() {
        let canaries = canary.min(to_apply.len());
        let rest = to_apply.split_off(canaries);
        let mut stop: Option<&'static str> = interrupted.then_some("not started: interrupted");
        for (turn, wave) in [to_apply, rest].into_iter().enumerate() {
            if wave.is_empty() {
                continue;
            }
            if let Some(why) = stop {
                for (i, device, mut config) in wave {
                    config.finish(Verdict::Skipped, why);
                    done[i] = Some((device, config));
                }
                continue;
            }
            let (normal, moving): (Vec<_>, Vec<_>) =
                wave.into_iter().partition(|(_, _, c)| !moves(c));
            // Devices that restart go `batch` at a time (a network copes badly with a whole
            // fleet rebooting at once); the others all at once.
            let (restarting, quick): (Vec<_>, Vec<_>) =
                normal.into_iter().partition(|(_, _, c)| c.restarts);
            let mut failed = false;
            let mut was_interrupted = false;
            for (part, window) in [(quick, None), (restarting, Some(batch.max(1)))] {
                if part.is_empty() || was_interrupted {
                    for (i, device, mut config) in part {
                        config.finish(Verdict::Skipped, "not started: interrupted");
                        done[i] = Some((device, config));
                    }
                    continue;
                }
                let (order, parties): (Vec<usize>, Vec<(Device, Resumed)>) = part
                    .into_iter()
                    .map(|(i, d, mut c)| {
                        // Already read: start by writing.
                        c.stage = Stage::Reading;
                        c.pending.clear();
                        (
                            i,
                            (
                                d,
                                Resumed {
                                    config: c,
                                    write: true,
                                },
                            ),
                        )
                    })
                    .unzip();
                let plan = Plan {
                    parties,
                    telemetry: true,
                    window,
                    ..Plan::default()
                };
                let outcome = engine::run(session, plan, profile, |_| None).await?;
                was_interrupted = outcome.end == End::Interrupted;
                for (i, party) in order.into_iter().zip(outcome.parties) {
                    let mut config = party.conversation.config;
                    if was_interrupted && config.stage != Stage::Done {
                        config.finish(Verdict::Interrupted, "interrupted");
                    }
                    settle(&mut config);
                    failed |= config.error.is_some();
                    done[i] = Some((party.device, config));
                }
            }
            for (i, device, config) in moving {
                if was_interrupted {
                    let mut config = config;
                    config.finish(Verdict::Skipped, "not started: interrupted");
                    done[i] = Some((device, config));
                    continue;
                }
                let (device, mut config) =
                    follow(session, device, config, profile, profile_path, out).await?;
                settle(&mut config);
                failed |= config.error.is_some();
                done[i] = Some((device, config));
            }
            if was_interrupted {
                stop = Some("not started: interrupted");
            } else if turn == 0 && canaries > 0 && failed {
                stop = Some("not changed: a canary failed");
            }
        }
    }
    Ok(Results(
        done.into_iter()
            .flatten()
            .map(|(device, config)| row(device, config, mode))
            .collect(),
    ))
}

/// Does this device's apply change its address?
fn moves(config: &Config) -> bool {
    config
        .written
        .iter()
        .any(|w| table::resolve(w).is_ok_and(|n| n.reach() == Reach::Address))
}

/// A config conversation resumed after the read: it starts by writing what `Config` planned,
/// or (`write: false`) only waits on a new address for the restart and reads back.
struct Resumed {
    config: Config,
    write: bool,
}

impl Conversation for Resumed {
    fn start(&mut self, out: &mut Outbox) {
        if self.write {
            self.config.read_done(out);
        }
    }
    fn hear(&mut self, heard: &Heard, out: &mut Outbox) {
        self.config.hear(heard, out);
    }
    fn deadline(&self) -> Option<Instant> {
        self.config.deadline()
    }
    fn expire(&mut self, out: &mut Outbox) {
        self.config.expire(out);
    }
    fn done(&self) -> bool {
        self.config.done()
    }
    /// A device that restarts is expected to go away and come back.
    fn gives_up_when_offline(&self) -> bool {
        false
    }
}

/// After the writes: a setting not kept is an error that names the value the device kept.
fn settle(config: &mut Config) {
    if config.error.is_some() || !matches!(config.mode, Mode::Apply { dry_run: false, .. }) {
        return;
    }
    let left: Vec<String> = config
        .drift()
        .into_iter()
        .filter(|(w, _)| config.written.contains(&w.name.canonical) || w.note.is_some())
        .map(|(w, have)| match have {
            Some(h) => format!(
                "{} kept {} (wanted {})",
                w.name.canonical,
                h.show(),
                w.canon.show()
            ),
            None => format!(
                "{} did not say its value (wanted {})",
                w.name.canonical,
                w.canon.show()
            ),
        })
        .collect();
    let refused: Vec<String> = config.refused.values().cloned().collect();
    if !refused.is_empty() {
        config.error = Some((
            Verdict::Rejected,
            format!("refused: {}", refused.join(", ")),
        ));
    } else if !left.is_empty() {
        config.error = Some((
            Verdict::Rejected,
            format!("not applied: {}", left.join("; ")),
        ));
    }
}

/// A device whose address changes: the writes go to the old address, then the device is
/// followed to the new one (its INFO1 after the restart), read back, and the profile updated.
async fn follow(
    session: &mut Session,
    device: Device,
    mut config: Config,
    profile: &Profile,
    profile_path: &std::path::Path,
    out: &Output,
) -> Result<(Device, Config)> {
    // The new address, from what is written.
    let mut moved = device.clone();
    let mut full_topic = None;
    let mut prefixes = [None, None, None];
    for w in &config.wanted {
        if !config.written.contains(&w.name.canonical) {
            continue;
        }
        let text = w.value.as_str().map(String::from);
        match (w.name.entry.map(|e| e.name), w.name.index) {
            (Some("Topic"), _) => moved.topic = text.unwrap_or_default(),
            (Some("FullTopic"), _) => full_topic = text,
            (Some("Prefix"), Some(i @ 1..=3)) => prefixes[usize::from(i - 1)] = text,
            _ => {}
        }
    }
    if let Some(ft) = &full_topic {
        moved.layout.template = crate::topic::Template::parse(ft).map_err(|e| {
            anyhow::anyhow!("the FullTopic `{ft}` asked of `{}`: {e}", device.topic)
        })?;
    }
    for (slot, word) in [
        &mut moved.layout.prefixes.cmnd,
        &mut moved.layout.prefixes.stat,
        &mut moved.layout.prefixes.tele,
    ]
    .into_iter()
    .zip(prefixes.iter())
    {
        if let Some(w) = word {
            *slot = w.clone();
        }
    }
    // Send on the old address.
    let messages = config.messages.clone();
    let send = Plan {
        parties: vec![(device.clone(), Sender(Some(messages)))],
        ..Plan::default()
    };
    engine::run(session, send, profile, |_| None).await?;
    // Follow on the new one: the fresh INFO1, then the values again.
    config.stage = Stage::Restarting;
    config.deadline = Instant::now() + config.restart_wait;
    let plan = Plan {
        parties: vec![(
            moved.clone(),
            Resumed {
                config,
                write: false,
            },
        )],
        telemetry: true,
        ..Plan::default()
    };
    let outcome = engine::run(session, plan, profile, |_| None).await?;
    let party = outcome
        .parties
        .into_iter()
        .next()
        .expect("the one device followed");
    let config = party.conversation.config;
    if config.error.is_none()
        && let Some(name) = &device.name
    {
        let change = crate::profile::NewAddress {
            topic: (moved.topic != device.topic).then(|| moved.topic.clone()),
            full_topic,
            prefixes,
        };
        crate::profile::set_address(profile_path, name, &change)?;
        out.note(&format!(
            "`{}` now answers on {}; the profile {} says so",
            escape(name),
            escape(&moved.topic),
            profile_path.display()
        ));
    }
    Ok((moved, config))
}

/// Sends prepared messages and is done.
struct Sender(Option<Vec<(String, String)>>);

impl Conversation for Sender {
    fn start(&mut self, out: &mut Outbox) {
        for (name, payload) in self.0.take().unwrap_or_default() {
            out.command(&name, payload);
        }
    }
    fn hear(&mut self, _: &Heard, _: &mut Outbox) {}
    fn done(&self) -> bool {
        self.0.is_none()
    }
}

/// The row of a device.
fn row(device: Device, config: Config, mode: Mode) -> DeviceResult<ConfigData> {
    let answered = config
        .error
        .as_ref()
        .is_none_or(|(v, _)| *v != Verdict::Silent)
        || !config.values.is_empty();
    let drift: Vec<Drift> = if answered {
        config
            .drift()
            .into_iter()
            .filter(|(w, have)| {
                have.is_some()
                    || config
                        .pending
                        .iter()
                        .all(|p| p.canonical != w.name.canonical)
            })
            .map(|(w, have)| Drift {
                setting: w.name.canonical.clone(),
                device: have.as_ref().map(Canon::to_json),
                wanted: w.canon.to_json(),
                shown: (have.as_ref().map(Canon::show), w.canon.show()),
                note: w.note.clone().or_else(|| {
                    config
                        .refused
                        .get(&w.name.canonical)
                        .map(|r| format!("the device answered {r}"))
                }),
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut notes: Vec<String> = config
        .wanted
        .iter()
        .filter(|w| w.name.entry.is_none())
        .map(|w| {
            format!(
                "{} is not in tasctl's table: compared as text",
                w.name.canonical
            )
        })
        .collect();
    if config
        .wanted
        .iter()
        .any(|w| w.name.canonical == "SetOption19" && w.canon == Canon::Bool(true))
    {
        notes.push("SetOption19 1: release builds turn it off again at every boot".into());
    }
    for (name, why) in &config.held {
        notes.push(format!("{name} not sent: {why}"));
    }
    let show = (mode == Mode::Show && answered).then(|| show_line(&config));
    let (verdict, error) = match config.error {
        Some((v, why)) => (v, Some(why)),
        None => (Verdict::Ok, None),
    };
    let in_sync =
        (verdict == Verdict::Ok || verdict == Verdict::Rejected).then_some(drift.is_empty());
    let would_send = match mode {
        Mode::Apply { dry_run: true, .. } => config
            .messages
            .iter()
            .map(|(n, p)| format!("{n} {p}"))
            .collect(),
        _ => Vec::new(),
    };
    let applied = match mode {
        Mode::Apply { dry_run: false, .. } => Some(config.written.clone()),
        _ => None,
    };
    DeviceResult {
        device: device.name.clone(),
        topic: device.topic.clone(),
        ok: verdict == Verdict::Ok,
        data: ConfigData {
            in_sync: if mode == Mode::Show { None } else { in_sync },
            drift,
            applied,
            would_send,
            settings: show,
            notes,
        },
        error,
        member: true,
        verdict,
    }
}

/// `settings = { TelePeriod = 300, ... }`: the values read, as profile TOML.
fn show_line(config: &Config) -> String {
    let mut table = toml::Table::new();
    for w in &config.wanted {
        if w.name.kind() == Kind::GroupTopic {
            if let Some(set) = &config.group_topics {
                for (i, g) in set.iter().enumerate() {
                    table.insert(
                        format!("GroupTopic{}", i + 1),
                        toml::Value::String(g.clone()),
                    );
                }
            }
            continue;
        }
        if let Some(v) = config.values.get(&w.name.canonical) {
            table.insert(w.name.canonical.clone(), table::to_toml(v, &w.name));
        }
    }
    let inline: toml_edit::InlineTable =
        table.iter().map(|(k, v)| (k.clone(), to_edit(v))).collect();
    format!("settings = {inline}")
}

fn to_edit(v: &toml::Value) -> toml_edit::Value {
    match v {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(n) => (*n).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Array(items) => toml_edit::Value::Array(items.iter().map(to_edit).collect()),
        toml::Value::Table(t) => {
            toml_edit::Value::InlineTable(t.iter().map(|(k, v)| (k.clone(), to_edit(v))).collect())
        }
        toml::Value::Datetime(d) => d.to_string().into(),
    }
}

/// The exit code of a config run: 4 when a device was silent (a drift report with a device
/// missing is incomplete), else 5 refused, else 6 drift (diff), else 0; 130 interrupted.
pub fn exit_code(rows: &Results<ConfigData>, mode: Mode) -> u8 {
    let verdicts: Vec<Verdict> = rows.0.iter().map(|r| r.verdict).collect();
    if verdicts.contains(&Verdict::Interrupted) {
        crate::error::INTERRUPTED
    } else if verdicts.contains(&Verdict::Silent) {
        crate::error::NO_ANSWER
    } else if verdicts.contains(&Verdict::Failed) {
        crate::error::FAILURE
    } else if verdicts.contains(&Verdict::Rejected) {
        crate::error::REJECTED
    } else if mode == Mode::Diff && rows.0.iter().any(|r| r.data.in_sync == Some(false)) {
        crate::error::DRIFT
    } else {
        crate::error::OK
    }
}

impl fmt::Display for Results<ConfigData> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .0
            .iter()
            .map(|r| escape(r.label()).chars().count())
            .max()
            .unwrap_or(0);
        for r in &self.0 {
            let name = format!("{:<width$}", escape(r.label()));
            if let Some(line) = &r.data.settings {
                writeln!(f, "# {}", name.trim_end())?;
                writeln!(f, "{line}")?;
                continue;
            }
            let state = match (&r.error, r.data.in_sync, &r.data.applied) {
                (Some(e), _, _) => escape(e).red().to_string(),
                (None, Some(true), Some(applied)) if !applied.is_empty() => {
                    format!("applied {}; in sync", applied.join(", "))
                        .green()
                        .to_string()
                }
                (None, Some(true), _) => "in sync".green().to_string(),
                (None, Some(false), _) if !r.data.would_send.is_empty() => "would send:".into(),
                (None, Some(false), _) => match r.data.drift.len() {
                    1 => "1 setting differs".to_string(),
                    n => format!("{n} settings differ"),
                }
                .yellow()
                .to_string(),
                (None, None, _) => String::new(),
            };
            writeln!(f, "{name}  {state}")?;
            for d in &r.data.drift {
                let device = d.shown.0.as_deref().unwrap_or("-");
                write!(
                    f,
                    "  {:<16} device {}  wanted {}",
                    escape(&d.setting),
                    escape(device),
                    escape(&d.shown.1)
                )?;
                if let Some(note) = &d.note {
                    write!(f, "  ({})", escape(note).dimmed())?;
                }
                writeln!(f)?;
            }
            for line in &r.data.would_send {
                writeln!(f, "  -> {}", escape(line))?;
            }
            for note in &r.data.notes {
                writeln!(f, "  {}", escape(note).dimmed())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_under_the_limits() {
        let commands: Vec<String> = (0..70)
            .map(|i| format!("FriendlyName{} {}", i % 8 + 1, "x".repeat(30)))
            .collect();
        let out = batches(&commands, "", 1100);
        assert!(out.len() >= 3);
        for b in &out {
            assert!(b.len() <= 1100, "{}", b.len());
            assert!(b.split("; ").count() <= 30);
        }
        assert_eq!(out.iter().map(|b| b.split("; ").count()).sum::<usize>(), 70);
    }
}
