//! One request to many devices over the shared session: subscribe to every reply topic,
//! publish once the broker acknowledged, route each reply to its device, and stop the moment
//! the last expected reply is in; the wait bounds only the devices that stay silent.
//!
//! What counts as a reply is each command's business (`Reply`); routing, LWT bookkeeping,
//! groups and the per-device verdict live here.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use tokio::time::Instant;

use crate::error::{self, Interrupted};
use crate::mqtt::Session;
use crate::output;
use crate::profile::{Device, Profile};
use crate::target::Target;
use crate::topic::{self, Class, Layout, Matcher, Vars};

/// What a command makes of the messages one device sends back.
pub trait Reply {
    /// A live (not retained) message on the device's stat topics: `suffix` is the last level.
    fn feed(&mut self, suffix: &str, payload: &[u8]);
    /// All that was asked for has arrived.
    fn complete(&self) -> bool;
    /// Something that belongs to this command arrived (for devices of an open group).
    fn answered(&self) -> bool;
    /// The device refused the command: its reply.
    fn rejection(&self) -> Option<&serde_json::Value>;
}

/// A group whose members the profile does not list: whoever answers on its layout counts.
#[derive(Debug, Clone)]
struct OpenGroup {
    name: String,
    group_topic: String,
    layout: Layout,
    matcher: Matcher,
}

/// What to publish and whom to expect answers from.
#[derive(Debug, Default)]
pub struct Plan {
    publishes: Vec<(String, String)>,
    expected: Vec<Device>,
    /// Topic and layout of each expected device, so that none is expected twice.
    expected_keys: std::collections::HashSet<(String, Layout)>,
    open: Vec<OpenGroup>,
}

impl Plan {
    /// Every command (name, payload) to every target, in order. A firmware group gets one
    /// publish on its group topic; its members answer on their own topics.
    pub fn new(targets: &[Target], commands: &[(String, String)]) -> Result<Plan> {
        let mut plan = Plan::default();
        for target in targets {
            let (layout, vars) = match target {
                Target::Device(d) => (&d.layout, d.vars()),
                Target::Group(g) => (
                    &g.layout,
                    Vars {
                        topic: &g.group_topic,
                        ..Vars::default()
                    },
                ),
            };
            for (command, payload) in commands {
                let topic = layout.topic(Class::Cmnd, &vars, command)?;
                // Everything is checked before anything is published.
                crate::mqtt::check_message(&topic, payload.len())?;
                plan.publishes.push((topic, payload.clone()));
            }
            match target {
                Target::Device(d) => plan.expect(d.clone()),
                Target::Group(g) => match &g.members {
                    Some(members) => members.iter().for_each(|m| plan.expect(m.clone())),
                    None => plan.open.push(OpenGroup {
                        name: g.name.clone(),
                        group_topic: g.group_topic.clone(),
                        layout: g.layout.clone(),
                        matcher: g.layout.matcher(),
                    }),
                },
            }
        }
        Ok(plan)
    }

    fn expect(&mut self, device: Device) {
        if self
            .expected_keys
            .insert((device.topic.clone(), device.layout.clone()))
        {
            self.expected.push(device);
        }
    }

    pub fn publishes(&self) -> &[(String, String)] {
        &self.publishes
    }
}

/// Why a device is not ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    #[default]
    Ok,
    Silent,
    Rejected,
}

/// One row of a report: the contract's `{"device", "topic", "ok", <data>, "error"}`.
#[derive(Debug, Serialize)]
pub struct DeviceResult<T: Serialize> {
    pub device: Option<String>,
    pub topic: String,
    pub ok: bool,
    #[serde(flatten)]
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub verdict: Verdict,
}

/// The rows of one command, in the order the targets were given.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Results<T: Serialize>(pub Vec<DeviceResult<T>>);

impl<T: Serialize> Results<T> {
    /// 0, or 4 when someone stayed silent, or 5 when someone rejected: the highest wins.
    pub fn exit_code(&self) -> u8 {
        self.0
            .iter()
            .map(|r| match r.verdict {
                Verdict::Ok => error::OK,
                Verdict::Silent => error::NO_ANSWER,
                Verdict::Rejected => error::REJECTED,
            })
            .max()
            .unwrap_or(error::OK)
    }
}

/// A device and what it sent.
pub struct Answer<R> {
    pub device: Device,
    pub reply: R,
    /// The LWT payload seen (retained or live), if any.
    lwt: Option<String>,
    /// The open group it answered through; `None` for a device we expected.
    group: Option<usize>,
}

/// The outcome of an exchange.
pub struct Outcome<R> {
    pub answers: Vec<Answer<R>>,
    /// Open groups from which nobody answered.
    silent_groups: Vec<(String, String)>,
    wait: Duration,
}

/// Publishes the plan and gathers replies until every expected device is complete (open groups:
/// until the wait ends). Ctrl-C disconnects and ends with `Interrupted`.
pub async fn exchange<R: Reply>(
    session: &mut Session,
    plan: Plan,
    wait: Duration,
    profile: &Profile,
    new_reply: impl Fn(&Device) -> R,
) -> Result<Outcome<R>> {
    let Plan {
        publishes,
        expected,
        open,
        ..
    } = plan;
    let mut answers: Vec<Answer<R>> = Vec::with_capacity(expected.len());
    let mut by_base: HashMap<String, usize> = HashMap::with_capacity(expected.len());
    let mut by_lwt: HashMap<String, usize> = HashMap::with_capacity(expected.len());
    let mut filters = Vec::with_capacity(expected.len() * 2 + open.len());
    for device in expected {
        let vars = device.vars();
        let base = device.layout.base(Class::Stat, &vars)?;
        let lwt = device.layout.topic(Class::Tele, &vars, "LWT")?;
        filters.push(device.layout.device_filter(Class::Stat, &vars)?);
        filters.push(lwt.clone());
        by_base.insert(base, answers.len());
        by_lwt.insert(lwt, answers.len());
        answers.push(Answer {
            reply: new_reply(&device),
            device,
            lwt: None,
            group: None,
        });
    }
    for group in &open {
        filters.push(group.layout.all_filter(Class::Stat));
    }
    let mut pending = answers.iter().filter(|a| !a.reply.complete()).count();

    session.subscribe(&filters).await?;
    for (topic, payload) in &publishes {
        session.publish(topic, payload.clone(), false).await?;
    }

    let deadline = Instant::now() + wait;
    while pending > 0 || !open.is_empty() {
        let message = tokio::select! {
            m = session.recv() => m?,
            _ = tokio::time::sleep_until(deadline) => break,
            _ = crate::signal::interrupted() => {
                session.disconnect().await.ok();
                return Err(Interrupted.into());
            }
        };
        let Some((base, suffix)) = topic::split_last(&message.topic) else {
            continue;
        };
        if suffix == "LWT"
            && let Some(&i) = by_lwt.get(message.topic.as_str())
        {
            answers[i].lwt = Some(String::from_utf8_lossy(&message.payload).into_owned());
            continue;
        }
        if message.retain {
            continue; // a stored state, not an answer to what we just asked
        }
        let index = match by_base.get(base) {
            Some(&i) => Some(i),
            None => open.iter().enumerate().find_map(|(g, group)| {
                let parsed = group
                    .matcher
                    .parse(&message.topic)
                    .filter(|p| p.class == Class::Stat)?;
                let device = profile
                    .devices
                    .values()
                    .find(|d| d.topic == parsed.topic && d.layout == group.layout)
                    .cloned()
                    .unwrap_or_else(|| Device {
                        name: None,
                        topic: parsed.topic.to_string(),
                        layout: group.layout.clone(),
                        hostname: None,
                        mac: None,
                        relays: None,
                        fallback: None,
                    });
                by_base.insert(base.to_string(), answers.len());
                answers.push(Answer {
                    reply: new_reply(&device),
                    device,
                    lwt: None,
                    group: Some(g),
                });
                pending += 1;
                Some(answers.len() - 1)
            }),
        };
        if let Some(i) = index {
            let reply = &mut answers[i].reply;
            let was_complete = reply.complete();
            reply.feed(suffix, &message.payload);
            if !was_complete && reply.complete() {
                pending -= 1;
            }
        }
    }
    // A device of an open group that sent nothing of ours is not part of the answer.
    answers.retain(|a| a.group.is_none() || a.reply.answered());
    let silent_groups = open
        .into_iter()
        .enumerate()
        .filter(|(g, _)| !answers.iter().any(|a| a.group == Some(*g)))
        .map(|(_, g)| (g.name, g.group_topic))
        .collect();
    Ok(Outcome {
        answers,
        silent_groups,
        wait,
    })
}

impl<R: Reply> Outcome<R> {
    /// One row per device (and per open group nobody answered from), with the verdict and the
    /// words for it. `data` turns a reply into the command's fields.
    pub fn results<T: Serialize>(
        self,
        profile: &Profile,
        data: impl Fn(Option<&R>) -> T,
    ) -> Results<T> {
        let wait = output::duration(self.wait);
        let mut rows = Vec::with_capacity(self.answers.len() + self.silent_groups.len());
        for Answer {
            device, reply, lwt, ..
        } in self.answers
        {
            let (verdict, error) = if let Some(rejection) = reply.rejection() {
                (
                    Verdict::Rejected,
                    Some(format!("rejected the command: {rejection}")),
                )
            } else if reply.complete() {
                (Verdict::Ok, None)
            } else {
                let mut error = if reply.answered() {
                    format!("incomplete response within {wait}")
                } else {
                    format!("no response within {wait}")
                };
                if lwt.as_deref() == Some("Offline") {
                    error.push_str("; offline (LWT)");
                }
                if device.name.is_none() && !reply.answered() {
                    error.push_str(&format!(
                        "; `{}` is not a name in the profile, so it was taken as a Topic",
                        device.topic
                    ));
                    if let Some(near) = profile.nearest_name(&device.topic) {
                        error.push_str(&format!(" (did you mean `{near}`?)"));
                    }
                }
                (Verdict::Silent, Some(error))
            };
            let answered = verdict != Verdict::Silent || reply.answered();
            rows.push(DeviceResult {
                device: device.name.clone(),
                topic: device.topic.clone(),
                ok: verdict == Verdict::Ok,
                data: data(answered.then_some(&reply)),
                error,
                verdict,
            });
        }
        for (name, group_topic) in self.silent_groups {
            rows.push(DeviceResult {
                device: Some(name),
                topic: group_topic,
                ok: false,
                data: data(None),
                error: Some(format!("no device answered within {wait}")),
                verdict: Verdict::Silent,
            });
        }
        Results(rows)
    }
}

/// The JSON object in a payload, if it is one.
pub fn json_object(payload: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_slice(payload) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// `{"Command":"Unknown"}` or `{"Command":"Error"}`: the firmware's two ways of saying no.
pub fn is_rejection(object: &serde_json::Map<String, serde_json::Value>) -> bool {
    object.len() == 1
        && matches!(
            object.get("Command").and_then(|v| v.as_str()),
            Some("Unknown" | "Error")
        )
}

/// The payload as the device sent it: JSON when it is JSON, else a string.
pub fn payload_value(payload: &[u8]) -> serde_json::Value {
    serde_json::from_slice(payload).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(payload).into_owned())
    })
}
