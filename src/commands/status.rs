//! `tasctl status TARGET... [--section N]`: sends `Status N` and merges every STATUS* reply.
//!
//! `Status 0` is answered with separate STATUS, STATUS1 ... STATUS7, STATUS10, STATUS11
//! messages in firmware order (never on RESULT, even with SetOption4); newer firmware's
//! `Status0` with one merged STATUS0. A device's set is complete at STATUS11 (or STATUS0); a
//! single section at its own STATUSN.

use std::fmt;

use anyhow::Result;
use colored::Colorize;
use serde::Serialize;
use serde_json::{Map, Value};

use super::ask::{self, Ask, Reply, is_rejection, json_object};
use super::power::label;
use crate::engine::Plan;
use crate::mqtt::Session;
use crate::output::escape;
use crate::report::Results;
use crate::settings::Settings;
use crate::target::Target;

#[derive(Debug, Serialize)]
pub struct StatusData {
    pub status: Option<Map<String, Value>>,
}

pub struct StatusReply {
    section: u8,
    merged: Map<String, Value>,
    rejected: Option<Value>,
    done: bool,
}

impl StatusReply {
    fn new(section: u8) -> StatusReply {
        StatusReply {
            section,
            merged: Map::new(),
            rejected: None,
            done: false,
        }
    }

    /// Does the STATUS message with this number end the set?
    fn ends(&self, number: Option<u8>) -> bool {
        match (self.section, number) {
            (0, Some(0 | 11)) => true,
            (8, Some(10)) => true, // Status 8 is kept for old tools and answers like 10 on some builds
            (s, Some(n)) => s != 0 && s == n,
            (_, None) => false,
        }
    }
}

impl Reply for StatusReply {
    fn feed(&mut self, suffix: &str, payload: &[u8]) {
        if self.done {
            return;
        }
        let Some(object) = json_object(payload) else {
            return;
        };
        if is_rejection(&object) {
            if suffix == "RESULT" || suffix == "STATUS" {
                self.rejected = Some(Value::Object(object));
                self.done = true;
            }
            return;
        }
        let Some(digits) = suffix.strip_prefix("STATUS") else {
            return;
        };
        let number = if digits.is_empty() {
            None
        } else {
            match digits.parse::<u8>() {
                Ok(n) => Some(n),
                Err(_) => return,
            }
        };
        self.merged.extend(object);
        self.done = self.ends(number);
    }

    fn complete(&self) -> bool {
        self.done
    }

    fn answered(&self) -> bool {
        self.done || !self.merged.is_empty()
    }

    fn rejection(&self) -> Option<&Value> {
        self.rejected.as_ref()
    }
}

/// What will be published and who is expected to answer; checked before connecting.
pub fn plan(
    settings: &Settings,
    targets: &[Target],
    section: u8,
) -> Result<Plan<Ask<StatusReply>>> {
    ask::plan(
        targets,
        &[("Status".into(), section.to_string())],
        settings.wait,
        |_, _| StatusReply::new(section),
    )
}

pub async fn run(
    settings: &Settings,
    session: &mut Session,
    plan: Plan<Ask<StatusReply>>,
    section: u8,
) -> Result<Results<StatusData>> {
    let outcome = ask::run(session, plan, &settings.profile, |_, _| {
        StatusReply::new(section)
    })
    .await?;
    Ok(ask::rows(
        outcome,
        settings.wait,
        &settings.profile,
        |reply| StatusData {
            status: reply
                .filter(|r| !r.merged.is_empty())
                .map(|r| r.merged.clone()),
        },
    ))
}

/// The few facts people look for, read from wherever this firmware put them.
struct Summary {
    power: String,
    firmware: String,
    ip: String,
    uptime: String,
    signal: String,
}

impl Summary {
    fn of(status: &Map<String, Value>) -> Summary {
        let get = |path: &[&str]| -> Option<&Value> {
            let (first, rest) = path.split_first()?;
            rest.iter()
                .try_fold(status.get(*first)?, |v, key| v.get(key))
        };
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let sts = status.get("StatusSTS").and_then(Value::as_object);
        let power = sts
            .map(|sts| {
                sts.iter()
                    .filter(|(k, v)| k.starts_with("POWER") && v.is_string())
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect::<Vec<_>>()
            })
            .filter(|p| !p.is_empty())
            .map(|p| {
                if p.len() == 1 {
                    p[0].1.clone()
                } else {
                    p.iter()
                        .map(|(_, v)| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            });
        let signal = match (
            get(&["StatusSTS", "Wifi", "Signal"]),
            get(&["StatusSTS", "Wifi", "RSSI"]),
        ) {
            (Some(dbm), Some(rssi)) => Some(format!("{dbm} dBm ({rssi}%)")),
            (Some(dbm), None) => Some(format!("{dbm} dBm")),
            (None, Some(rssi)) => Some(format!("{rssi}%")),
            (None, None) => None,
        };
        let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        Summary {
            power: dash(power),
            firmware: dash(text(get(&["StatusFWR", "Version"]))),
            ip: dash(text(get(&["StatusNET", "IPAddress"]))),
            uptime: dash(text(
                get(&["StatusSTS", "Uptime"]).or(get(&["StatusPRM", "Uptime"])),
            )),
            signal: dash(signal),
        }
    }
}

/// `  Key  value` for each value of a status section, nested keys joined with `.`.
fn section_lines(f: &mut fmt::Formatter<'_>, prefix: &str, value: &Value) -> fmt::Result {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.starts_with("Status") {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                section_lines(f, &path, inner)?;
            }
            Ok(())
        }
        Value::String(text) => writeln!(f, "  {:<18} {}", escape(prefix), escape(text)),
        other => writeln!(f, "  {:<18} {}", escape(prefix), escape(&other.to_string())),
    }
}

/// The sensor readings of a StatusSNS, with their units.
fn sensor_lines(f: &mut fmt::Formatter<'_>, status: &Map<String, Value>) -> fmt::Result {
    let Some(Value::Object(sensors)) = status.get("StatusSNS") else {
        return Ok(());
    };
    let units = crate::readings::Units::of(sensors);
    let readings = crate::readings::of_value(sensors);
    let names: Vec<String> = readings
        .iter()
        .map(|r| escape(&r.path.join(" ")).into_owned())
        .collect();
    let width = names
        .iter()
        .map(|n| crate::output::width(n))
        .max()
        .unwrap_or(0)
        .max(8);
    for (r, name) in readings.iter().zip(&names) {
        let unit = r.unit(&units);
        writeln!(
            f,
            "  {} {}{}{unit}",
            crate::output::pad(name, width),
            r.value,
            if unit.is_empty() { "" } else { " " }
        )?;
    }
    Ok(())
}

impl fmt::Display for Results<StatusData> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [r] = self.0.as_slice() {
            let name = label(r);
            // A failure reads as in power and send: `name  message`.
            if let (Some(error), None) = (&r.error, &r.data.status) {
                return writeln!(f, "{}  {}", name.bold(), escape(error).red());
            }
            if r.device.is_some() {
                writeln!(f, "{} ({})", name.bold(), escape(&r.topic))?;
            } else {
                writeln!(f, "{}", name.bold())?;
            }
            if let Some(error) = &r.error {
                writeln!(f, "  {}", escape(error).red())?;
            }
            if let Some(status) = &r.data.status {
                let summarised = ["StatusSTS", "Status"];
                if summarised.iter().any(|k| status.contains_key(*k)) {
                    let s = Summary::of(status);
                    for (key, value) in [
                        ("power", s.power),
                        ("firmware", s.firmware),
                        ("ip", s.ip),
                        ("uptime", s.uptime),
                        ("wifi", s.signal),
                    ] {
                        writeln!(f, "  {key:<9} {}", escape(&value))?;
                    }
                } else {
                    // Another section on its own: every value it holds.
                    for (section, value) in status.iter().filter(|(k, _)| *k != "StatusSNS") {
                        section_lines(f, section, value)?;
                    }
                }
                sensor_lines(f, status)?;
            }
            return Ok(());
        }
        // One table; a device that failed has its message in the row.
        let rows: Vec<[String; 7]> = self
            .0
            .iter()
            .map(|r| match (&r.error, &r.data.status) {
                (None, Some(status)) => {
                    let s = Summary::of(status);
                    [
                        r.table_label(),
                        r.topic.clone(),
                        s.power,
                        s.firmware,
                        s.ip,
                        s.uptime,
                        s.signal,
                    ]
                }
                (error, _) => [
                    r.table_label(),
                    r.topic.clone(),
                    error.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            })
            .collect();
        if !rows.is_empty() {
            crate::output::table(
                f,
                [
                    "DEVICE", "TOPIC", "POWER", "FIRMWARE", "IP", "UPTIME", "WIFI",
                ],
                &rows,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> (String, String) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tasmota-payloads")
            .join(name);
        let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let topic = json["topic"].as_str().unwrap();
        let suffix = topic.rsplit_once('/').unwrap().1.to_string();
        (suffix, json["payload"].as_str().unwrap().to_string())
    }

    #[test]
    fn the_series_completes_at_status11() {
        let mut r = StatusReply::new(0);
        for name in [
            "status-abbrev-v8.5.0-two-relays.json",
            "status5-net-v8.5.0.json",
        ] {
            let (suffix, payload) = fixture(name);
            r.feed(&suffix, payload.as_bytes());
        }
        assert!(!r.complete() && r.answered());
        let (suffix, payload) = fixture("status11-sts-v8.5.0-two-relays-dimmer.json");
        r.feed(&suffix, payload.as_bytes());
        assert!(r.complete());
        assert_eq!(
            r.merged.keys().collect::<Vec<_>>(),
            ["Status", "StatusNET", "StatusSTS"]
        );
        let s = Summary::of(&r.merged);
        assert_eq!(
            (s.power.as_str(), s.ip.as_str(), s.signal.as_str()),
            ("OFF OFF", "192.168.21.113", "-60 dBm (80%)")
        );
    }

    #[test]
    fn status0_is_complete_in_one_message() {
        let (suffix, payload) =
            fixture("status0-single-message-v14.4.1-nspanel-custom-fulltopic.json");
        let mut r = StatusReply::new(0);
        r.feed(&suffix, payload.as_bytes());
        assert!(r.complete());
        let s = Summary::of(&r.merged);
        assert_eq!(s.firmware, "14.4.1(release-nspanel)");
        assert_eq!(s.uptime, "0T00:07:28");
    }

    #[test]
    fn one_section_and_errors() {
        let (suffix, payload) = fixture("status6-mqtt.json");
        let mut r = StatusReply::new(6);
        r.feed("STATUS", br#"{"Status":{}}"#);
        assert!(!r.complete());
        r.feed(&suffix, payload.as_bytes());
        assert!(r.complete());
        let mut r = StatusReply::new(9);
        r.feed("RESULT", br#"{"Command":"Error"}"#);
        assert!(r.complete() && r.rejection().is_some());
        let mut r = StatusReply::new(0);
        r.feed("STATUS3", b"not json");
        assert!(!r.answered());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a device (or anyone) sends, reading it never panics.
            #[test]
            fn any_reply_is_survivable(
                section in 0u8..14,
                messages in proptest::collection::vec(
                    (
                        prop_oneof![Just("RESULT".to_string()), Just("POWER".to_string()), Just("STATUS11".to_string()), "[A-Z]{0,8}[0-9]{0,3}"],
                        prop_oneof![proptest::collection::vec(any::<u8>(), 0..64), "\\PC{0,64}".prop_map(String::into_bytes), Just(br#"{"POWER":"ON","Command":"Error"}"#.to_vec())],
                    ),
                    0..8,
                ),
            ) {
                let mut reply = StatusReply::new(section);
                for (suffix, payload) in &messages {
                    reply.feed(suffix, payload);
                }
                let _ = (reply.complete(), reply.answered(), reply.rejection());
            }
        }
    }
}
