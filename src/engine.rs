//! The conversation engine: any number of device conversations over the one session.
//!
//! A command is a set of conversations, one per device: a small state machine that says what
//! to send first, takes each message its device sends and answers with what to send next, says
//! when it is done, and may keep a deadline of its own. The engine subscribes to every party's
//! topics, publishes what the plan broadcasts (group topics) and what each conversation sends,
//! routes every incoming message through the device directory, keeps each device's LWT, and
//! ends the run the moment nothing is left to wait for: every conversation done (or waiting for
//! a device its LWT says is offline), the run's wait over, or Ctrl-C. Partial results are
//! results: the outcome says how each conversation ended.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::time::Instant;

use crate::directory::Directory;
use crate::mqtt::Session;
use crate::profile::{Device, Profile};
use crate::topic::{Class, Layout};

/// A message a device sent, routed to its conversation.
#[derive(Debug, Clone, Copy)]
pub struct Heard<'a> {
    pub class: Class,
    pub suffix: &'a str,
    pub payload: &'a [u8],
    pub retained: bool,
}

/// What a conversation sends to its device: commands, named as the firmware names them; the
/// engine puts them on the device's command topic.
#[derive(Debug, Default)]
pub struct Outbox {
    /// (command, payload, the payload as a dry run shows it when it holds a secret)
    commands: Vec<(String, Vec<u8>, Option<String>)>,
}

impl Outbox {
    /// `cmnd/<topic>/<name> <payload>`, in the device's own layout.
    pub fn command(&mut self, name: &str, payload: impl Into<Vec<u8>>) {
        self.commands.push((name.to_string(), payload.into(), None));
    }

    /// A command whose payload holds a secret: `shown` is what a dry run prints instead.
    pub fn secret_command(&mut self, name: &str, payload: impl Into<Vec<u8>>, shown: String) {
        self.commands
            .push((name.to_string(), payload.into(), Some(shown)));
    }
}

/// One device's side of a command.
pub trait Conversation {
    /// What to send when the run starts (nothing when a group publish reaches the device).
    fn start(&mut self, _out: &mut Outbox) {}
    /// A message from the device (the LWT goes to `online` instead).
    fn hear(&mut self, heard: &Heard, out: &mut Outbox);
    /// The device's LWT said it is online (`true`) or offline; `retained`: what the broker
    /// kept, else news of this moment.
    fn online(&mut self, _online: bool, _retained: bool, _out: &mut Outbox) {}
    /// A moment of its own at which `expire` is to be called.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// Its deadline has passed.
    fn expire(&mut self, _out: &mut Outbox) {}
    /// Nothing more to wait for.
    fn done(&self) -> bool;
    /// Did the device say anything that belongs to this conversation? Decides whether a device
    /// of an open group is part of the answer.
    fn heard_from(&self) -> bool {
        self.done()
    }
    /// May the run stop waiting for this device once its LWT says it is offline? Not for a
    /// conversation that expects the device to go away and come back (an upgrade, a restore).
    fn gives_up_when_offline(&self) -> bool {
        true
    }
    /// Ctrl-C ended the run before this conversation was done: what to send so that nothing
    /// is left half-open on the device (a file transfer's abort).
    fn abort(&mut self, _out: &mut Outbox) {}
}

/// A firmware group whose answering devices join the run: the profile lists no members (they
/// are whoever answers), or the profile's list may be incomplete (`all`).
#[derive(Debug, Clone)]
pub struct OpenGroup {
    pub name: String,
    pub group_topic: String,
    /// Where its members' replies come from.
    pub layouts: Vec<Layout>,
    /// No members are known: the run lasts until its wait.
    pub unknown_members: bool,
}

/// What a run does.
pub struct Plan<C> {
    /// The devices expected to answer, each with its conversation.
    pub parties: Vec<(Device, C)>,
    /// Published once at the start: (topic, payload), the group commands.
    pub broadcasts: Vec<(String, String)>,
    pub open: Vec<OpenGroup>,
    /// The run's bound; `None` when every conversation bounds itself.
    pub wait: Option<Duration>,
    /// Hear the parties' telemetry too (`INFO1` after a restart), not only `stat` and the LWT.
    pub telemetry: bool,
    /// At most this many conversations under way at once, in party order: the next starts
    /// when one is done (a sliding window). `None`: all start at once.
    pub window: Option<usize>,
}

impl<C> Default for Plan<C> {
    fn default() -> Self {
        Plan {
            parties: Vec::new(),
            broadcasts: Vec::new(),
            open: Vec::new(),
            wait: None,
            telemetry: false,
            window: None,
        }
    }
}

/// One device at the end of a run.
pub struct Party<C> {
    pub device: Device,
    pub conversation: C,
    /// The LWT payload last seen, retained or live.
    pub lwt: Option<String>,
    /// The open group (index) it answered through; `None` for an expected device.
    pub joined: Option<usize>,
    /// Its conversation has started (with a window, a party may never get its turn).
    pub started: bool,
    /// Expected, or the answer of a group whose members the profile does not list; `false`
    /// for a device that answered on a group topic it shares with the members (reported, never
    /// waited for, never counted in the exit code).
    pub member: bool,
}

impl<C> Party<C> {
    /// Does its LWT say it is offline, in its own words?
    pub fn offline(&self) -> bool {
        self.lwt.as_deref() == Some(self.device.lwt_offline())
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Nothing was left to wait for.
    Complete,
    /// The run's wait was over.
    Waited,
    /// Ctrl-C.
    Interrupted,
}

pub struct Outcome<C> {
    pub parties: Vec<Party<C>>,
    /// Open groups from which nobody answered: (name, group topic).
    pub silent_groups: Vec<(String, String)>,
    pub end: End,
}

/// Drives the plan's conversations to their end. `join` makes the conversation of a device
/// that answers through an open group (`None`: it does not take part).
pub async fn run<C: Conversation>(
    session: &mut Session,
    plan: Plan<C>,
    profile: &Profile,
    mut join: impl FnMut(&Device) -> Option<C>,
) -> Result<Outcome<C>> {
    let Plan {
        parties: expected,
        broadcasts,
        open,
        wait,
        telemetry,
        window,
    } = plan;
    // The run's own directory: index i is party i; the profile names devices that join.
    let mut directory = Directory::new();
    let known = Directory::from_profile(profile);
    let mut parties: Vec<Party<C>> = Vec::with_capacity(expected.len());
    let (filters, lwts) = subscriptions(expected.iter().map(|(d, _)| d), &open, telemetry)?;
    for (device, conversation) in expected {
        directory.add(device.clone());
        parties.push(Party {
            device,
            conversation,
            lwt: None,
            joined: None,
            started: false,
            member: true,
        });
    }
    let mut group_of_layout = Vec::new();
    for (g, group) in open.iter().enumerate() {
        for layout in &group.layouts {
            directory.add_layout(layout);
            group_of_layout.push(g);
        }
    }

    session.subscribe(&filters).await?;
    let mut lwts_at = (!lwts.is_empty()).then(|| Instant::now() + LWT_AFTER);
    for (topic, payload) in &broadcasts {
        session.publish(topic, payload.clone(), false).await?;
    }
    // With a window, the first conversations start now and each that ends starts the next.
    let window = window.unwrap_or(usize::MAX).max(1);
    let mut queued = 0;
    start_more(session, &mut parties, &mut queued, window).await?;

    let until = wait.map(|w| Instant::now() + w);
    let waits_for_all = open.iter().any(|g| g.unknown_members);
    // A group topic others share: once the expected devices are done, the others that answered
    // in the same burst are still heard, until the group layouts go quiet (never past the wait).
    let lingers = !open.is_empty();
    let mut quiet_at: Option<Instant> = None;
    // What the loop needs at every turn, kept up to date as conversations move.
    let mut state = Progress::default();
    for i in 0..parties.len() {
        state.refresh(&parties, i);
    }
    let end = loop {
        if !waits_for_all && state.waiting == 0 {
            if !lingers {
                break End::Complete;
            }
            let at = *quiet_at.get_or_insert_with(|| Instant::now() + LINGER);
            if Instant::now() >= at {
                break End::Complete;
            }
        }
        let next = state
            .deadlines
            .first()
            .map(|(at, _)| *at)
            .into_iter()
            .chain(until)
            .chain(quiet_at)
            .min();
        let message = tokio::select! {
            m = session.recv() => m?,
            _ = sleep_until(lwts_at), if lwts_at.is_some() => {
                session.subscribe(&lwts).await?;
                lwts_at = None;
                continue;
            }
            _ = sleep_until(next), if next.is_some() => {
                let now = Instant::now();
                if until.is_some_and(|u| now >= u) {
                    break End::Waited;
                }
                if quiet_at.is_some_and(|q| now >= q) {
                    break End::Complete;
                }
                let due: Vec<usize> = state
                    .deadlines
                    .iter()
                    .take_while(|(at, _)| *at <= now)
                    .map(|(_, i)| *i)
                    .collect();
                let ended = !due.is_empty();
                for i in due {
                    let mut out = Outbox::default();
                    parties[i].conversation.expire(&mut out);
                    send(session, &parties[i].device, out).await?;
                    state.refresh(&parties, i);
                }
                if ended && queued < parties.len() {
                    let from = queued;
                    start_more(session, &mut parties, &mut queued, window).await?;
                    for i in from..queued {
                        state.refresh(&parties, i);
                    }
                }
                continue;
            }
            _ = crate::signal::interrupted() => break End::Interrupted,
        };
        let Some(hit) = directory.lookup(&message.topic) else {
            continue;
        };
        let (class, suffix) = (hit.class, hit.suffix.to_string());
        let index = match (hit.device, hit.layout) {
            (Some(i), _) => i,
            // A device of an open group that is not expected: it joins when it answers.
            (None, Some(l)) if class == Class::Stat && !message.retain => {
                let layout = directory.layout(l).clone();
                let device = match known.find(hit.topic, &layout) {
                    Some(k) => known.device(k).clone(),
                    None => Device::unnamed(hit.topic, layout),
                };
                let Some(conversation) = join(&device) else {
                    continue;
                };
                let index = directory.add(device.clone());
                let group = group_of_layout[l];
                parties.push(Party {
                    conversation,
                    device,
                    lwt: None,
                    joined: Some(group),
                    started: true,
                    member: open[group].unknown_members,
                });
                index
            }
            _ => continue,
        };
        let party = &mut parties[index];
        if party.joined.is_some() && quiet_at.is_some() {
            quiet_at = Some(Instant::now() + LINGER);
        }
        let mut out = Outbox::default();
        if class == Class::Tele && suffix == "LWT" {
            let payload = String::from_utf8_lossy(&message.payload).into_owned();
            let device = &party.device;
            if payload == device.lwt_online() {
                party.conversation.online(true, message.retain, &mut out);
            } else if payload == device.lwt_offline() {
                party.conversation.online(false, message.retain, &mut out);
            }
            party.lwt = Some(payload);
        } else if class != Class::Cmnd {
            party.conversation.hear(
                &Heard {
                    class,
                    suffix: &suffix,
                    payload: &message.payload,
                    retained: message.retain,
                },
                &mut out,
            );
        }
        send(session, &parties[index].device, out).await?;
        state.refresh(&parties, index);
        if queued < parties.len() && parties[index].conversation.done() {
            let from = queued;
            start_more(session, &mut parties, &mut queued, window).await?;
            for i in from..queued {
                state.refresh(&parties, i);
            }
        }
    };
    if end == End::Interrupted {
        // What a conversation left open on its device is closed before the goodbye.
        for party in parties
            .iter_mut()
            .filter(|p| p.started && !p.conversation.done())
        {
            let mut out = Outbox::default();
            party.conversation.abort(&mut out);
            send(session, &party.device, out).await?;
        }
    }
    // A device of an open group that said nothing of ours is not part of the answer.
    parties.retain(|p| p.joined.is_none() || p.conversation.heard_from());
    let silent_groups = open
        .into_iter()
        .enumerate()
        .filter(|(g, _)| !parties.iter().any(|p| p.joined == Some(*g)))
        .filter(|(_, group)| group.unknown_members)
        .map(|(_, g)| (g.name, g.group_topic))
        .collect();
    Ok(Outcome {
        parties,
        silent_groups,
        end,
    })
}

/// Starts the expected parties' conversations in order (`next` is the first not yet started)
/// while fewer than `window` are under way. Joined parties come after every expected one.
async fn start_more<C: Conversation>(
    session: &mut Session,
    parties: &mut [Party<C>],
    next: &mut usize,
    window: usize,
) -> Result<()> {
    let expected = parties.iter().take_while(|p| p.joined.is_none()).count();
    let mut busy = parties[..*next]
        .iter()
        .filter(|p| !p.conversation.done())
        .count();
    while *next < expected && busy < window {
        let party = &mut parties[*next];
        let mut out = Outbox::default();
        party.conversation.start(&mut out);
        party.started = true;
        send(session, &party.device, out).await?;
        *next += 1;
        busy += 1;
    }
    Ok(())
}

/// How many parties the run waits for, and the conversations' own deadlines, in order.
#[derive(Default)]
struct Progress {
    waiting: usize,
    deadlines: BTreeSet<(Instant, usize)>,
    /// Per party: counted as waiting, and its deadline as entered.
    states: Vec<(bool, Option<Instant>)>,
}

impl Progress {
    /// Takes in party `i` as it is now.
    fn refresh<C: Conversation>(&mut self, parties: &[Party<C>], i: usize) {
        if self.states.len() <= i {
            self.states.resize(i + 1, (false, None));
        }
        let party = &parties[i];
        let now_waiting = waiting(party);
        let deadline = (party.started && !party.conversation.done())
            .then(|| party.conversation.deadline())
            .flatten();
        let (was_waiting, old) = self.states[i];
        match (was_waiting, now_waiting) {
            (false, true) => self.waiting += 1,
            (true, false) => self.waiting -= 1,
            _ => {}
        }
        if old != deadline {
            if let Some(old) = old {
                self.deadlines.remove(&(old, i));
            }
            if let Some(new) = deadline {
                self.deadlines.insert((new, i));
            }
        }
        self.states[i] = (now_waiting, deadline);
    }
}

/// Is the run still waiting for this party?
fn waiting<C: Conversation>(party: &Party<C>) -> bool {
    party.joined.is_none()
        && !party.conversation.done()
        && !(party.started && party.offline() && party.conversation.gives_up_when_offline())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Publishes what a conversation sent, on its device's command topic.
async fn send(session: &mut Session, device: &Device, out: Outbox) -> Result<()> {
    for (name, payload, _) in out.commands {
        session
            .publish(&command_topic(device, &name)?, payload, false)
            .await?;
    }
    Ok(())
}

fn command_topic(device: &Device, name: &str) -> Result<String> {
    device
        .layout
        .topic(Class::Cmnd, &device.vars(), name)
        .with_context(|| format!("cannot address the device `{}`", device.topic))
}

/// How long a run on a shared group topic keeps listening once every expected device is done:
/// the devices that are not members answered in the same burst, and are reported; the run ends
/// when the group's layouts have been quiet this long (never past its wait).
const LINGER: Duration = Duration::from_millis(50);

/// How long a run waits for replies before it also listens to the devices' LWTs.
///
/// The retained LWT is only needed for a device that stays silent, and heard at once it
/// costs the others 40 ms: it arrives just after the command, and a broker without
/// TCP_NODELAY (mosquitto as installed, aedes) then holds the device's reply until the LWT
/// is acknowledged, which Linux delays by 40 ms while the client has nothing to send. A device
/// that answers within this time never meets its LWT; a silent one is known offline this
/// much later.
const LWT_AFTER: Duration = Duration::from_millis(50);

/// What a run listens to: each expected device's `stat` topics (or all its topics, for a
/// conversation that follows its telemetry) and the `stat` topics of every layout of an open
/// group; then, after `LWT_AFTER`, the LWTs of devices whose telemetry is not followed.
fn subscriptions<'a>(
    devices: impl Iterator<Item = &'a Device>,
    open: &[OpenGroup],
    telemetry: bool,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut filters, mut lwts) = (Vec::new(), Vec::new());
    for device in devices {
        let vars = device.vars();
        filters.push(device.layout.device_filter(Class::Stat, &vars)?);
        if telemetry {
            filters.push(device.layout.device_filter(Class::Tele, &vars)?);
        } else {
            lwts.push(device.layout.topic(Class::Tele, &vars, "LWT")?);
        }
    }
    for group in open {
        for layout in &group.layouts {
            filters.push(layout.all_filter(Class::Stat));
        }
    }
    Ok((filters, lwts))
}

/// What a run would do, worked out with no broker: `--dry-run`.
#[derive(Debug, Serialize)]
pub struct DryRun {
    /// What would be published first, in order.
    pub publish: Vec<DryPublish>,
    /// Who is expected to answer (profile name, else topic).
    pub expect: Vec<String>,
    /// Open groups: whoever answers on them is reported.
    pub open_groups: Vec<String>,
    /// What would be subscribed to for the answers.
    pub subscribe: Vec<String>,
    /// The run's bound, when it has one.
    pub wait: Option<String>,
    /// What follows the first publishes, for a conversation of several steps.
    pub then: Option<String>,
    /// Profile devices that are no group's members but hear a group topic published here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_heard_by: Vec<String>,
}

impl DryRun {
    /// Names the profile devices outside the targeted groups that hear their group topic.
    pub fn sharing(mut self, targets: &[crate::target::Target]) -> DryRun {
        for target in targets {
            if let crate::target::Target::Group(g) = target {
                self.also_heard_by.extend(g.shared.iter().cloned());
            }
        }
        self
    }
}

#[derive(Debug, Serialize)]
pub struct DryPublish {
    pub topic: String,
    pub payload: String,
    pub retain: bool,
}

impl std::fmt::Display for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<[String; 2]> = self
            .publish
            .iter()
            .map(|p| {
                let retained = if p.retain { "  (retained)" } else { "" };
                [p.topic.clone(), format!("{}{retained}", p.payload)]
            })
            .collect();
        crate::output::table(f, ["WOULD PUBLISH", "PAYLOAD"], &rows)?;
        let mut waits = self.expect.clone();
        waits.extend(
            self.open_groups
                .iter()
                .map(|g| format!("whoever answers on {g}")),
        );
        if !waits.is_empty() {
            let bound = self
                .wait
                .as_ref()
                .map(|w| format!(" (at most {w})"))
                .unwrap_or_default();
            writeln!(
                f,
                "would wait for {}{bound}",
                crate::output::escape(&waits.join(", "))
            )?;
            writeln!(
                f,
                "listening on {}",
                crate::output::escape(&self.subscribe.join(", "))
            )?;
        }
        if let Some(then) = &self.then {
            writeln!(f, "then {then}")?;
        }
        if !self.also_heard_by.is_empty() {
            writeln!(
                f,
                "also heard by (not members, same group topic): {}",
                crate::output::escape(&self.also_heard_by.join(", "))
            )?;
        }
        Ok(())
    }
}

/// The plan's first publishes and subscriptions, without a session. `then` says what follows
/// the first step, for commands that hold a longer conversation.
pub fn dry_run<C: Conversation>(plan: Plan<C>, then: Option<String>) -> Result<DryRun> {
    let Plan {
        parties,
        broadcasts,
        open,
        wait,
        telemetry,
        window: _,
    } = plan;
    let (mut subscribe, lwts) = subscriptions(parties.iter().map(|(d, _)| d), &open, telemetry)?;
    subscribe.extend(lwts);
    let mut publish: Vec<DryPublish> = broadcasts
        .into_iter()
        .map(|(topic, payload)| DryPublish {
            topic,
            payload,
            retain: false,
        })
        .collect();
    let mut expect = Vec::with_capacity(parties.len());
    for (device, mut conversation) in parties {
        let mut out = Outbox::default();
        conversation.start(&mut out);
        for (name, payload, shown) in out.commands {
            publish.push(DryPublish {
                topic: command_topic(&device, &name)?,
                payload: shown.unwrap_or_else(|| String::from_utf8_lossy(&payload).into_owned()),
                retain: false,
            });
        }
        expect.push(device.name.clone().unwrap_or(device.topic));
    }
    Ok(DryRun {
        publish,
        expect,
        open_groups: open
            .iter()
            .map(|g| format!("{} ({})", g.name, g.group_topic))
            .collect(),
        subscribe,
        wait: wait.map(crate::output::duration),
        then,
        also_heard_by: Vec::new(),
    })
}
