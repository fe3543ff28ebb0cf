//! `tasctl power <on|off|toggle|blink|blinkoff|get> TARGET... [--relay N|all]`.
//!
//! Sends `Power`, `PowerN` or `Power0` and waits for the device's own word on the output:
//! `{"POWER":"ON"}` on RESULT (or on POWER with SetOption4), the plain `ON` on `POWER<n>`,
//! `POWER` vs `POWER1` naming (SetOption26, number of outputs), custom state texts.
//! `--relay all` follows `Power0` with `State`, whose reply carries every output.

use std::borrow::Cow;
use std::fmt;

use anyhow::Result;
use colored::Colorize;
use serde::{Serialize, Serializer};

use super::ask::{self, Ask, Reply, is_rejection, json_object};
use crate::engine::Plan;
use crate::mqtt::Session;
use crate::output::{self, escape};
use crate::report::{DeviceResult, Results};
use crate::settings::Settings;
use crate::target::Target;

/// What to do with an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    On,
    Off,
    Toggle,
    Blink,
    Blinkoff,
    Get,
}

/// Which output: `Power<n>`, or every one (`Power0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    One(u8),
    All,
}

/// The outputs' states, with the device's own keys, in the order it sent them.
#[derive(Debug, Default, Clone)]
pub struct PowerState(pub Vec<(String, String)>);

impl Serialize for PowerState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(Debug, Serialize)]
pub struct PowerData {
    pub power: Option<PowerState>,
    /// Set for a device that has no such output (a sensor asked through a group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<u8>,
}

pub struct PowerReply {
    relay: Option<Relay>,
    /// For an explicit `ON`/`OFF`: the state word that contradicts it (`OFF`/`ON`). Such a
    /// reply may be the previous command's, late: it is kept, but the wait goes on for one that
    /// agrees, and it becomes the answer only if none comes.
    contrary: Option<&'static str>,
    /// The state so far says the contrary word.
    contradicted: bool,
    state: PowerState,
    rejected: Option<serde_json::Value>,
    /// Reached through a group: a refusal means the device has no such output, not that the
    /// user's command was wrong for it.
    via_group: bool,
    no_outputs: bool,
    done: bool,
}

impl PowerReply {
    fn new(action: Action, relay: Option<Relay>, direct: bool) -> PowerReply {
        PowerReply {
            relay,
            contrary: match action {
                Action::On => Some("OFF"),
                Action::Off => Some("ON"),
                _ => None,
            },
            contradicted: false,
            state: PowerState::default(),
            rejected: None,
            via_group: !direct,
            no_outputs: false,
            done: false,
        }
    }

    /// Is `key` the output we asked about? `Power` is output 1, reported as `POWER` on a
    /// single-output device (SetOption26 0) and `POWER1` otherwise.
    fn wants(&self, key: &str) -> bool {
        let Some(index) = key.strip_prefix("POWER") else {
            return false;
        };
        if !index.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        match self.relay {
            None | Some(Relay::One(1)) => index.is_empty() || index == "1",
            Some(Relay::One(n)) => index == n.to_string(),
            Some(Relay::All) => true,
        }
    }

    /// An answer whose state contradicts an explicit `ON`/`OFF` is not taken yet (see
    /// `contrary`).
    fn hold_if_contrary(&mut self) {
        let Some(contrary) = self.contrary else {
            return;
        };
        self.contradicted = self
            .state
            .0
            .iter()
            .any(|(_, v)| v.eq_ignore_ascii_case(contrary));
        if self.contradicted {
            self.done = false;
        }
    }

    fn record(&mut self, key: &str, value: &str) {
        match self.state.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.state.0.push((key.to_string(), value.to_string())),
        }
    }
}

impl Reply for PowerReply {
    fn feed(&mut self, suffix: &str, payload: &[u8]) {
        if self.done || !(suffix == "RESULT" || suffix == "STATE" || suffix.starts_with("POWER")) {
            return;
        }
        let all = self.relay == Some(Relay::All);
        match json_object(payload) {
            Some(object) if is_rejection(&object) => {
                if self.via_group {
                    self.no_outputs = true;
                } else {
                    self.rejected = Some(serde_json::Value::Object(object));
                }
                self.done = true;
            }
            Some(object) => {
                // The State reply (uptime and every output) ends a `--relay all`.
                let state_reply = object.contains_key("UptimeSec") || object.contains_key("Uptime");
                if all && !state_reply {
                    return; // Power0's per-output replies: the State reply that follows has them all
                }
                for (key, value) in &object {
                    if let Some(text) = value.as_str()
                        && self.wants(key)
                    {
                        self.record(key, text);
                    }
                }
                self.done = !self.state.0.is_empty() || (all && state_reply);
                self.no_outputs = self.done && self.state.0.is_empty();
                self.hold_if_contrary();
            }
            // The plain-text publication: topic POWER<n>, payload the state text.
            None if !all && suffix != "RESULT" && suffix != "STATE" && self.wants(suffix) => {
                self.record(suffix, &String::from_utf8_lossy(payload));
                self.done = true;
                self.hold_if_contrary();
            }
            None => {}
        }
    }

    fn settle(&mut self) {
        if self.contradicted {
            self.contradicted = false;
            self.done = true;
        }
    }

    fn complete(&self) -> bool {
        self.done
    }

    fn answered(&self) -> bool {
        self.done || self.contradicted
    }

    fn rejection(&self) -> Option<&serde_json::Value> {
        self.rejected.as_ref()
    }
}

/// The commands to send: name and payload.
fn commands(action: Action, relay: Option<Relay>) -> Vec<(String, String)> {
    let payload = match action {
        Action::On => "ON",
        Action::Off => "OFF",
        Action::Toggle => "TOGGLE",
        Action::Blink => "BLINK",
        Action::Blinkoff => "BLINKOFF",
        Action::Get => "",
    };
    match relay {
        None => vec![("Power".into(), payload.into())],
        Some(Relay::One(n)) => vec![(format!("Power{n}"), payload.into())],
        Some(Relay::All) if action == Action::Get => vec![("State".into(), String::new())],
        Some(Relay::All) => vec![
            ("Power0".into(), payload.into()),
            ("State".into(), String::new()),
        ],
    }
}

/// What will be published and who is expected to answer; checked before connecting.
pub fn plan(
    settings: &Settings,
    targets: &[Target],
    action: Action,
    relay: Option<Relay>,
) -> Result<Plan<Ask<PowerReply>>> {
    ask::plan(
        targets,
        &commands(action, relay),
        settings.wait,
        |_, direct| PowerReply::new(action, relay, direct),
    )
}

pub async fn run(
    settings: &Settings,
    session: &mut Session,
    plan: Plan<Ask<PowerReply>>,
    action: Action,
    relay: Option<Relay>,
) -> Result<Results<PowerData>> {
    let outcome = ask::run(session, plan, &settings.profile, |_, direct| {
        PowerReply::new(action, relay, direct)
    })
    .await?;
    Ok(ask::rows(
        outcome,
        settings.wait,
        &settings.profile,
        |reply| PowerData {
            power: reply
                .filter(|r| !r.state.0.is_empty())
                .map(|r| r.state.clone()),
            outputs: reply.filter(|r| r.no_outputs).map(|_| 0),
        },
    ))
}

fn colour_state(text: &str) -> String {
    match escape(text).as_ref() {
        t if t.eq_ignore_ascii_case("ON") => t.green().bold().to_string(),
        t if t.eq_ignore_ascii_case("OFF") => t.dimmed().to_string(),
        t => t.yellow().to_string(),
    }
}

impl fmt::Display for Results<PowerData> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .0
            .iter()
            .map(|r| output::width(&label(r)))
            .max()
            .unwrap_or(0);
        crate::report::members_then_others(f, &self.0, |f, r| {
            write!(f, "{}  ", output::pad(&label(r), width))?;
            match (&r.data.power, &r.error) {
                (_, Some(error)) => writeln!(f, "{}", escape(error).red())?,
                (Some(state), None) if state.0.len() == 1 => {
                    writeln!(f, "{}", colour_state(&state.0[0].1))?
                }
                (None, None) if r.data.outputs == Some(0) => {
                    writeln!(f, "{}", "no outputs".dimmed())?
                }
                (Some(state), None) => {
                    let parts: Vec<String> = state
                        .0
                        .iter()
                        .map(|(k, v)| format!("{} {}", escape(k), colour_state(v)))
                        .collect();
                    writeln!(f, "{}", parts.join("  "))?
                }
                (None, None) => writeln!(f)?,
            }
            Ok(())
        })
    }
}

/// The profile name, else the topic, safe for a terminal.
pub fn label<T: Serialize>(r: &DeviceResult<T>) -> Cow<'_, str> {
    escape(r.label())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_render_for_people_and_as_json() {
        let rows = Results(vec![
            DeviceResult {
                device: Some("plug".into()),
                topic: "plug".into(),
                ok: true,
                data: PowerData {
                    power: Some(PowerState(vec![("POWER".into(), "ON".into())])),
                    outputs: None,
                },
                error: None,
                member: true,
                verdict: crate::report::Verdict::Ok,
            },
            DeviceResult {
                device: None,
                topic: "sensor\u{1b}[2J".into(),
                ok: true,
                data: PowerData {
                    power: None,
                    outputs: Some(0),
                },
                error: None,
                member: true,
                verdict: crate::report::Verdict::Ok,
            },
        ]);
        let (out, stdout, _) = output::Output::capture(false);
        out.emit(&rows).unwrap();
        assert_eq!(stdout.text(), "plug         ON\nsensor\\e[2J  no outputs\n");
        let (out, stdout, _) = output::Output::capture(true);
        out.emit(&rows).unwrap();
        assert_eq!(
            stdout.text(),
            "[{\"device\":\"plug\",\"topic\":\"plug\",\"ok\":true,\"power\":{\"POWER\":\"ON\"}},{\"device\":null,\"topic\":\"sensor\\u001b[2J\",\"ok\":true,\"power\":null,\"outputs\":0}]\n"
        );
    }

    fn fed(relay: Option<Relay>, messages: &[(&str, &str)]) -> PowerReply {
        let mut r = PowerReply::new(Action::Get, relay, true);
        for (suffix, payload) in messages {
            r.feed(suffix, payload.as_bytes());
        }
        r
    }

    #[test]
    fn the_ways_the_firmware_answers() {
        // RESULT JSON, SetOption26 0 single relay
        assert_eq!(
            fed(None, &[("RESULT", r#"{"POWER":"ON"}"#)]).state.0,
            [("POWER".into(), "ON".into())]
        );
        // multi-relay or SetOption26 1
        assert_eq!(
            fed(None, &[("RESULT", r#"{"POWER1":"OFF"}"#)]).state.0,
            [("POWER1".into(), "OFF".into())]
        );
        // the plain text publication alone
        assert_eq!(
            fed(Some(Relay::One(2)), &[("POWER2", "OFF")]).state.0,
            [("POWER2".into(), "OFF".into())]
        );
        // SetOption4: JSON on stat/<t>/POWER
        assert_eq!(
            fed(None, &[("POWER", r#"{"POWER":"ON"}"#)]).state.0,
            [("POWER".into(), "ON".into())]
        );
        // blink and custom state texts are kept as sent
        assert_eq!(
            fed(None, &[("RESULT", r#"{"POWER1":"Blink ON"}"#)]).state.0,
            [("POWER1".into(), "Blink ON".into())]
        );
        assert_eq!(
            fed(None, &[("POWER", "AN")]).state.0,
            [("POWER".into(), "AN".into())]
        );
        // another output's news is not our answer
        assert!(
            !fed(
                Some(Relay::One(2)),
                &[("RESULT", r#"{"POWER1":"ON"}"#), ("POWER1", "ON")]
            )
            .complete()
        );
        // a bad index
        let r = fed(Some(Relay::One(5)), &[("RESULT", r#"{"Command":"Error"}"#)]);
        assert!(r.complete() && r.rejection().is_some());
        // other suffixes are ignored
        assert!(!fed(None, &[("STATUS11", r#"{"StatusSTS":{"POWER":"ON"}}"#)]).complete());
    }

    #[test]
    fn a_contrary_state_is_held_while_one_that_agrees_may_come() {
        let reply = |action, messages: &[(&str, &str)]| {
            let mut r = PowerReply::new(action, None, true);
            for (suffix, payload) in messages {
                r.feed(suffix, payload.as_bytes());
            }
            r
        };
        // the previous command's late reply, then ours
        let r = reply(
            Action::Off,
            &[
                ("RESULT", r#"{"POWER1":"ON"}"#),
                ("RESULT", r#"{"POWER1":"OFF"}"#),
            ],
        );
        assert!(r.complete());
        assert_eq!(r.state.0, [("POWER1".into(), "OFF".into())]);
        // only the contrary one: not complete, but the answer once the run is over
        let mut r = reply(Action::On, &[("POWER", "OFF")]);
        assert!(!r.complete() && r.answered());
        r.settle();
        assert!(r.complete());
        assert_eq!(r.state.0, [("POWER".into(), "OFF".into())]);
        // a toggle cannot tell: the first reply is the answer
        assert!(reply(Action::Toggle, &[("RESULT", r#"{"POWER":"OFF"}"#)]).complete());
        // custom state texts cannot be told apart either
        assert!(reply(Action::On, &[("RESULT", r#"{"POWER":"AUS"}"#)]).complete());
    }

    #[test]
    fn relay_all_waits_for_the_state_reply() {
        let r = fed(
            Some(Relay::All),
            &[
                ("RESULT", r#"{"POWER1":"ON"}"#),
                ("POWER1", "ON"),
                ("RESULT", r#"{"POWER2":"ON"}"#),
            ],
        );
        assert!(!r.complete());
        let r = fed(
            Some(Relay::All),
            &[(
                "RESULT",
                r#"{"Time":"x","Uptime":"0T00:01:00","UptimeSec":60,"POWER1":"ON","POWER2":"OFF","Wifi":{}}"#,
            )],
        );
        assert!(r.complete());
        assert_eq!(
            r.state.0,
            [
                ("POWER1".into(), "ON".into()),
                ("POWER2".into(), "OFF".into())
            ]
        );
    }

    #[test]
    fn commands_sent() {
        assert_eq!(
            commands(Action::On, None),
            [("Power".to_string(), "ON".to_string())]
        );
        assert_eq!(
            commands(Action::Get, Some(Relay::One(3))),
            [("Power3".to_string(), String::new())]
        );
        assert_eq!(commands(Action::Toggle, Some(Relay::All)).len(), 2);
        assert_eq!(
            commands(Action::Get, Some(Relay::All)),
            [("State".to_string(), String::new())]
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a device (or anyone) sends, reading it never panics.
            #[test]
            fn any_reply_is_survivable(
                relay in prop::option::of(prop::sample::select(vec![Relay::One(1), Relay::One(2), Relay::All])),
                messages in proptest::collection::vec(
                    (
                        prop_oneof![Just("RESULT".to_string()), Just("POWER".to_string()), Just("STATUS11".to_string()), "[A-Z]{0,8}[0-9]{0,3}"],
                        prop_oneof![proptest::collection::vec(any::<u8>(), 0..64), "\\PC{0,64}".prop_map(String::into_bytes), Just(br#"{"POWER":"ON","Command":"Error"}"#.to_vec())],
                    ),
                    0..8,
                ),
            ) {
                let mut reply = PowerReply::new(Action::On, relay, true);
                for (suffix, payload) in &messages {
                    reply.feed(suffix, payload);
                }
                let _ = (reply.complete(), reply.answered(), reply.rejection());
            }
        }
    }
}
