//! Ask and answer: the one-step conversation of `power`, `status`, `send` and `read`.
//!
//! Each command sends the same commands to every target (a group once per layout on its
//! group topic, a device on its own topic) and waits for each device's reply, which the
//! command's `Reply` recognises. The outcome becomes one row per device, with the contract's
//! words for silence (`no response within 2s; offline (LWT)`), refusal and Ctrl-C.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::{self, Conversation, End, Heard, OpenGroup, Outbox, Outcome, Plan};
use crate::mqtt;
use crate::output;
use crate::profile::{Device, Profile};
use crate::report::{DeviceResult, Results, Verdict};
use crate::target::{GroupTarget, Target};
use crate::topic::{Class, Vars};

/// What a command makes of the messages one device sends back.
pub trait Reply {
    /// A live (not retained) message on the device's stat topics: `suffix` is the last level.
    fn feed(&mut self, suffix: &str, payload: &[u8]);
    /// All that was asked for has arrived.
    fn complete(&self) -> bool;
    /// Something that belongs to this command arrived (for devices of an open group).
    fn answered(&self) -> bool;
    /// The device refused the command: its reply.
    fn rejection(&self) -> Option<&Value>;
    /// The run is over: what was held back in case a better answer came is the answer now.
    fn settle(&mut self) {}
}

/// Send the commands (unless a group publish carries them), then wait for the reply. The reply
/// is made knowing whether the device was asked directly (`true`) or through a group.
pub struct Ask<R> {
    commands: Vec<(String, String)>,
    direct: bool,
    pub reply: R,
}

impl<R> Ask<R> {
    /// Is the device asked on its own topic (not reached by a group publish)?
    pub fn direct(&self) -> bool {
        self.direct
    }
}

impl<R: Reply> Conversation for Ask<R> {
    fn start(&mut self, out: &mut Outbox) {
        if self.direct {
            for (name, payload) in &self.commands {
                out.command(name, payload.as_bytes());
            }
        }
    }

    fn hear(&mut self, heard: &Heard, _out: &mut Outbox) {
        // A retained message is a stored state, not an answer to what was just asked.
        if heard.class == Class::Stat && !heard.retained && !self.reply.complete() {
            self.reply.feed(heard.suffix, heard.payload);
        }
    }

    fn done(&self) -> bool {
        self.reply.complete()
    }

    fn heard_from(&self) -> bool {
        self.reply.answered()
    }
}

/// The run for these targets: group topics published once per layout, every expected device
/// asked directly unless a group publish reaches it, no device asked twice.
pub fn plan<R: Reply>(
    targets: &[Target],
    commands: &[(String, String)],
    wait: Duration,
    new_reply: impl Fn(&Device, bool) -> R,
) -> Result<Plan<Ask<R>>> {
    let mut plan = Plan {
        wait: Some(wait),
        ..Plan::default()
    };
    let mut seen = HashSet::new();
    let mut published = HashSet::new();
    let ask = |device: &Device, direct: bool| Ask {
        commands: commands.to_vec(),
        direct,
        reply: new_reply(device, direct),
    };
    // Groups first: a device a group reaches is not also asked on its own topic.
    for target in targets {
        let Target::Group(group) = target else {
            continue;
        };
        for layout in &group.layouts {
            let vars = Vars {
                topic: &group.group_topic,
                ..Vars::default()
            };
            for (name, payload) in commands {
                let topic = layout.topic(Class::Cmnd, &vars, name)?;
                mqtt::check_message(&topic, payload.len())?;
                if published.insert((topic.clone(), payload.clone())) {
                    plan.broadcasts.push((topic, payload.clone()));
                }
            }
        }
        for member in group.members.iter().flatten() {
            if seen.insert((member.topic.clone(), member.layout.clone())) {
                let direct = !GroupTarget::reaches(member);
                plan.parties.push((member.clone(), ask(member, direct)));
            }
        }
        if group.open || group.members.is_none() {
            plan.open.push(OpenGroup {
                name: group.name.clone(),
                group_topic: group.group_topic.clone(),
                layouts: group.layouts.clone(),
                unknown_members: group.members.is_none(),
            });
        }
    }
    for target in targets {
        let Target::Device(device) = target else {
            continue;
        };
        for (name, payload) in commands {
            let topic = device.layout.topic(Class::Cmnd, &device.vars(), name)?;
            mqtt::check_message(&topic, payload.len())?;
        }
        if seen.insert((device.topic.clone(), device.layout.clone())) {
            plan.parties.push((device.clone(), ask(device, true)));
        }
    }
    Ok(plan)
}

/// Runs the plan; devices of open groups get replies from `new_reply` as they answer (they
/// were reached through the group, not asked directly).
pub async fn run<R: Reply>(
    session: &mut mqtt::Session,
    plan: Plan<Ask<R>>,
    profile: &Profile,
    new_reply: impl Fn(&Device, bool) -> R,
) -> Result<Outcome<Ask<R>>> {
    engine::run(session, plan, profile, |device| {
        Some(Ask {
            commands: Vec::new(),
            direct: false,
            reply: new_reply(device, false),
        })
    })
    .await
}

/// One row per device (and per open group nobody answered from), with the verdict and the
/// words for it. `data` turns a reply into the command's fields.
pub fn rows<R: Reply, T: Serialize>(
    outcome: Outcome<Ask<R>>,
    wait: Duration,
    profile: &Profile,
    data: impl Fn(Option<&R>) -> T,
) -> Results<T> {
    let wait = output::duration(wait);
    let interrupted = outcome.end == End::Interrupted;
    let waited = outcome.end == End::Waited;
    let mut rows = Vec::with_capacity(outcome.parties.len() + outcome.silent_groups.len());
    for mut party in outcome.parties {
        let offline = party.offline();
        if !interrupted {
            party.conversation.reply.settle();
        }
        let reply = &party.conversation.reply;
        let device = &party.device;
        let (verdict, error) = if let Some(rejection) = reply.rejection() {
            (
                Verdict::Rejected,
                Some(format!("rejected the command: {rejection}")),
            )
        } else if reply.complete() {
            (Verdict::Ok, None)
        } else if interrupted {
            (Verdict::Interrupted, Some("interrupted".to_string()))
        } else {
            (
                Verdict::Silent,
                Some(silence(device, reply, offline, waited, &wait, profile)),
            )
        };
        let answered = verdict != Verdict::Silent || reply.answered();
        rows.push(DeviceResult {
            device: device.name.clone(),
            topic: device.topic.clone(),
            ok: verdict == Verdict::Ok,
            data: data(answered.then_some(reply)),
            error,
            member: party.member,
            verdict,
        });
    }
    for (name, group_topic) in outcome.silent_groups {
        let (verdict, error) = if interrupted {
            (Verdict::Interrupted, "interrupted".to_string())
        } else {
            (Verdict::Silent, format!("no device answered within {wait}"))
        };
        rows.push(DeviceResult {
            device: Some(name),
            topic: group_topic,
            ok: false,
            data: data(None),
            error: Some(error),
            member: true,
            verdict,
        });
    }
    // Members first, in target order, then whoever else answered on a group topic, by name.
    rows.sort_by(|a, b| match (a.member, b.member) {
        (true, true) => std::cmp::Ordering::Equal,
        (x, y) if x != y => y.cmp(&x),
        _ => a.label().cmp(b.label()),
    });
    Results(rows)
}

/// The words for a device that did not (fully) answer.
fn silence<R: Reply>(
    device: &Device,
    reply: &R,
    offline: bool,
    waited: bool,
    wait: &str,
    profile: &Profile,
) -> String {
    let mut error = if reply.answered() {
        format!("incomplete response within {wait}")
    } else if offline && !waited {
        // The run ended when everyone else had answered: its LWT said it was away.
        "no response; offline (LWT), so not waited for".to_string()
    } else {
        format!("no response within {wait}")
    };
    if offline && (waited || reply.answered()) {
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
    error
}

/// The JSON object in a payload, if it is one.
pub fn json_object(payload: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(payload) {
        Ok(Value::Object(map)) => Some(map),
        Ok(_) => None,
        // Not JSON, but whole: a failed sensor's bare `nan` (as null). A cut-off or garbled
        // reply is not taken for an answer.
        Err(_) => match crate::lenient::parse(payload)
            .filter(|p| p.whole)
            .and_then(|p| serde_json::from_str(&p.node.to_json()).ok())
        {
            Some(Value::Object(map)) => Some(map),
            _ => None,
        },
    }
}

/// `{"Command":"Unknown"}` or `{"Command":"Error"}`: the firmware's two ways of saying no.
pub fn is_rejection(object: &Map<String, Value>) -> bool {
    object.len() == 1
        && matches!(
            object.get("Command").and_then(|v| v.as_str()),
            Some("Unknown" | "Error")
        )
}

/// The payload as the device sent it: JSON when it is JSON, else a string.
pub fn payload_value(payload: &[u8]) -> Value {
    serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()))
}
