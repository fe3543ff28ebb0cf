//! `tasctl send TARGET COMMAND [PAYLOAD]...`: any firmware command, and the device's reply.
//!
//! The reply is the first JSON the device sends on RESULT (or, with SetOption4, on the
//! command's own upper-case topic, index digits removed; `Status` answers on STATUS*). For
//! `Backlog` it is the list of replies, one per item that replies (`Delay` and `_Cmd` do not).
//! `{"Command":"Unknown"}` and `{"Command":"Error"}` are rejections.

use std::fmt;

use anyhow::{Result, anyhow, bail};
use colored::Colorize;
use serde::Serialize;
use serde_json::Value;

use super::ask::{self, Ask, Reply, is_rejection, json_object, payload_value};
use super::power::label;
use crate::engine::Plan;
use crate::mqtt::Session;
use crate::output::escape;
use crate::report::{DeviceResult, Results, Verdict};
use crate::settings::Settings;
use crate::target::Target;

#[derive(Debug, Serialize)]
pub struct SendData {
    pub response: Option<Value>,
}

pub struct SendReply {
    /// Upper-case names of the commands whose replies we wait for (one per backlog item).
    names: Vec<String>,
    backlog: bool,
    responses: Vec<Value>,
    rejected: Option<Value>,
}

/// The upper-case command name without its index: `Power2` → `POWER`.
fn reply_name(command: &str) -> String {
    command
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .to_ascii_uppercase()
}

/// Splits a Backlog payload on `;` the way the firmware does (a `;` inside `{...}` is kept).
pub fn backlog_items(payload: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in payload.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

/// Does this command publish a reply? `_Cmd` runs silently; `Delay` in a backlog says nothing.
fn replies(command: &str) -> bool {
    !(command.starts_with('_') || command.eq_ignore_ascii_case("Delay"))
}

impl SendReply {
    pub fn new(command: &str, payload: &str) -> SendReply {
        let upper = command.to_ascii_uppercase();
        let (backlog, names) = match upper.as_str() {
            "BACKLOG" | "BACKLOG0" | "BACKLOG1" => (
                true,
                backlog_items(payload)
                    .iter()
                    .filter_map(|item| item.split_whitespace().next())
                    .filter(|c| replies(c))
                    .map(reply_name)
                    .collect(),
            ),
            // Backlog2/3 run without any MQTT reply.
            "BACKLOG2" | "BACKLOG3" => (true, Vec::new()),
            _ if !replies(command) => (false, Vec::new()),
            _ => (false, vec![reply_name(command)]),
        };
        SendReply {
            names,
            backlog,
            responses: Vec::new(),
            rejected: None,
        }
    }

    /// Is a message on this suffix an answer to one of our commands?
    fn is_reply_topic(&self, suffix: &str) -> bool {
        suffix == "RESULT"
            || self
                .names
                .iter()
                .any(|n| suffix == n || reply_name(suffix) == *n)
            || (self.names.iter().any(|n| n == "STATUS") && suffix.starts_with("STATUS"))
            || suffix == "COMMAND" // SetOption4's topic for an unknown command
    }
}

impl Reply for SendReply {
    fn feed(&mut self, suffix: &str, payload: &[u8]) {
        if self.complete() || !self.is_reply_topic(suffix) {
            return;
        }
        // Plain-text messages (the POWER state beside its JSON) are not the reply.
        let Some(object) = json_object(payload) else {
            if suffix == "RESULT" {
                self.responses.push(payload_value(payload));
            }
            return;
        };
        if is_rejection(&object) && self.rejected.is_none() {
            self.rejected = Some(Value::Object(object.clone()));
        }
        self.responses.push(Value::Object(object));
    }

    fn complete(&self) -> bool {
        self.responses.len() >= self.names.len()
    }

    fn answered(&self) -> bool {
        !self.responses.is_empty()
    }

    fn rejection(&self) -> Option<&Value> {
        self.rejected.as_ref()
    }
}

impl SendReply {
    fn response(&self) -> Option<Value> {
        if self.backlog {
            Some(Value::Array(self.responses.clone()))
        } else {
            self.responses.first().cloned()
        }
    }
}

/// What will be published and who is expected to answer; checked before connecting.
pub fn plan(
    settings: &Settings,
    targets: &[Target],
    command: &str,
    payload: &str,
) -> Result<Plan<Ask<SendReply>>> {
    if command.is_empty() || command.contains('/') {
        bail!(
            "`{}` is not a firmware command",
            crate::output::escape(command)
        );
    }
    crate::topic::check_topic_word(command).map_err(|e| {
        anyhow!(
            "refusing the command `{}`: {e}",
            crate::output::escape(command)
        )
    })?;
    ask::plan(
        targets,
        &[(command.to_string(), payload.to_string())],
        settings.wait,
        |_, _| SendReply::new(command, payload),
    )
}

pub async fn run(
    settings: &Settings,
    session: &mut Session,
    plan: Plan<Ask<SendReply>>,
    targets: &[Target],
    command: &str,
    payload: &str,
    no_wait: bool,
) -> Result<Results<SendData>> {
    if no_wait {
        for (topic, payload) in &plan.broadcasts {
            session.publish(topic, payload.clone(), false).await?;
        }
        for (device, _) in plan.parties.iter().filter(|(_, ask)| ask.direct()) {
            let topic = device
                .layout
                .topic(crate::topic::Class::Cmnd, &device.vars(), command)?;
            session.publish(&topic, payload.to_string(), false).await?;
        }
        return Ok(Results(targets.iter().map(sent).collect()));
    }
    let outcome = ask::run(session, plan, &settings.profile, |_, _| {
        SendReply::new(command, payload)
    })
    .await?;
    Ok(ask::rows(
        outcome,
        settings.wait,
        &settings.profile,
        |reply| SendData {
            response: reply.and_then(SendReply::response),
        },
    ))
}

/// The row for a target published to without waiting.
fn sent(target: &Target) -> DeviceResult<SendData> {
    let (device, topic) = match target {
        Target::Device(d) => (d.name.clone(), d.topic.clone()),
        Target::Group(g) => (Some(g.name.clone()), g.group_topic.clone()),
    };
    DeviceResult {
        device,
        topic,
        ok: true,
        data: SendData { response: None },
        error: None,
        member: true,
        verdict: Verdict::Ok,
    }
}

/// A reply for people: text as it is, JSON compact, either escaped for the terminal.
fn shown(response: &Value) -> String {
    match response {
        Value::String(text) => escape(text).into_owned(),
        other => escape(&other.to_string()).into_owned(),
    }
}

impl fmt::Display for Results<SendData> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Several devices: `name  reply` in one column, failures in the same place.
        let single = self.0.len() == 1;
        let width = self
            .0
            .iter()
            .map(|r| crate::output::width(&label(r)))
            .max()
            .unwrap_or(0);
        crate::report::members_then_others(f, &self.0, |f, r| {
            if !single {
                write!(f, "{}  ", crate::output::pad(&label(r), width))?;
            }
            match (&r.data.response, &r.error) {
                (Some(response), Some(_)) if r.verdict == Verdict::Rejected => {
                    writeln!(f, "{} {}", shown(response), "(rejected)".red())?
                }
                (Some(response), Some(error)) => {
                    writeln!(f, "{} {}", shown(response), escape(error).red())?
                }
                (None, Some(error)) => writeln!(f, "{}", escape(error).red())?,
                (Some(response), None) => writeln!(f, "{}", shown(response))?,
                (None, None) => writeln!(f, "sent")?,
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(command: &str, payload: &str, messages: &[(&str, &str)]) -> SendReply {
        let mut r = SendReply::new(command, payload);
        for (suffix, payload) in messages {
            r.feed(suffix, payload.as_bytes());
        }
        r
    }

    #[test]
    fn first_json_reply() {
        let r = fed("Dimmer", "50", &[("RESULT", r#"{"Dimmer":50}"#)]);
        assert!(r.complete());
        assert_eq!(r.response(), Some(serde_json::json!({"Dimmer": 50})));
        // SetOption4: on the command's own topic, index digits removed
        let r = fed(
            "FriendlyName2",
            "x",
            &[("FRIENDLYNAME", r#"{"FriendlyName2":"x"}"#)],
        );
        assert!(r.complete());
        // the plain POWER text is not the reply; the JSON is
        let r = fed("Power", "on", &[("POWER", "ON")]);
        assert!(!r.complete());
        let r = fed(
            "Power",
            "on",
            &[("RESULT", r#"{"POWER":"ON"}"#), ("POWER", "ON")],
        );
        assert_eq!(r.response(), Some(serde_json::json!({"POWER": "ON"})));
        // Status answers on STATUS*
        let r = fed("Status", "5", &[("STATUS5", r#"{"StatusNET":{}}"#)]);
        assert!(r.complete());
    }

    #[test]
    fn rejections() {
        let r = fed("Frobnicate", "", &[("RESULT", r#"{"Command":"Unknown"}"#)]);
        assert!(r.complete());
        assert_eq!(
            r.rejection(),
            Some(&serde_json::json!({"Command": "Unknown"}))
        );
        let r = fed("Frobnicate", "", &[("COMMAND", r#"{"Command":"Unknown"}"#)]);
        assert!(r.rejection().is_some());
    }

    #[test]
    fn backlog_waits_for_one_reply_per_replying_item() {
        assert_eq!(
            backlog_items("Power on; Delay 10;Power off;"),
            ["Power on", "Delay 10", "Power off"]
        );
        assert_eq!(
            backlog_items("Rule1 on x do {a; b} endon; Rule1 1"),
            ["Rule1 on x do {a; b} endon", "Rule1 1"]
        );
        let mut r = SendReply::new("Backlog", "Power on; Delay 10; Power off");
        assert_eq!(r.names, ["POWER", "POWER"]);
        r.feed("RESULT", br#"{"POWER":"ON"}"#);
        r.feed("POWER", b"ON");
        assert!(!r.complete());
        r.feed("RESULT", br#"{"POWER":"OFF"}"#);
        assert!(r.complete());
        assert_eq!(
            r.response(),
            Some(serde_json::json!([{"POWER": "ON"}, {"POWER": "OFF"}]))
        );
        assert!(SendReply::new("Backlog2", "Power on").complete());
        assert!(SendReply::new("_Power", "on").complete());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a device (or anyone) sends, reading it never panics.
            #[test]
            fn any_reply_is_survivable(
                command in "[A-Za-z_]{0,12}[0-9]{0,2}", payload_text in "\\PC{0,40}",
                messages in proptest::collection::vec(
                    (
                        prop_oneof![Just("RESULT".to_string()), Just("POWER".to_string()), Just("STATUS11".to_string()), "[A-Z]{0,8}[0-9]{0,3}"],
                        prop_oneof![proptest::collection::vec(any::<u8>(), 0..64), "\\PC{0,64}".prop_map(String::into_bytes), Just(br#"{"POWER":"ON","Command":"Error"}"#.to_vec())],
                    ),
                    0..8,
                ),
            ) {
                let mut reply = SendReply::new(&command, &payload_text);
                for (suffix, payload) in &messages {
                    reply.feed(suffix, payload);
                }
                let _ = (reply.complete(), reply.answered(), reply.rejection());
            }
        }
    }
}
