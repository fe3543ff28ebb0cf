//! `tasctl read TARGET... [--format table|json|csv|influx|prom] [--output FILE]`: every
//! reading of a fleet, for people and for cron.
//!
//! Asks `Status 10` (StatusSNS) and `Status 11` (StatusSTS), once on the group topic for a group
//! or `all`, else per device; a device is complete with both. Nothing else changes on the
//! device (no `TelePeriod`, which would shift its telemetry timer). The rows become a table,
//! the contract's JSON, CSV, InfluxDB line protocol in the firmware's own InfluxDB schema, or
//! Prometheus text for node_exporter's textfile collector (`tasmota_up` for every expected
//! device, so a silent one shows as down, never as stale values).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use super::ask::{self, Ask, Reply, is_rejection, json_object};
use crate::engine::Plan;
use crate::mqtt::Session;
use crate::output::{self, escape};
use crate::readings::{self, Reading, Units};
use crate::report::{DeviceResult, Results};
use crate::settings::Settings;
use crate::target::Target;

/// How the readings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Influx,
    Prom,
}

/// The contract's row: `{"device", "topic", "ok", "time", "sensors", "state", "error"?}`.
#[derive(Debug, Serialize)]
pub struct ReadData {
    pub time: Option<String>,
    /// StatusSNS as the device sent it, without `Time`.
    pub sensors: Option<Map<String, Value>>,
    /// StatusSTS as the device sent it.
    pub state: Option<Map<String, Value>>,
    /// When the reply came: the InfluxDB timestamp.
    #[serde(skip)]
    pub received: Option<SystemTime>,
}

#[derive(Default)]
pub struct ReadReply {
    sensors: Option<Map<String, Value>>,
    state: Option<Map<String, Value>>,
    rejected: Option<Value>,
    received: Option<SystemTime>,
}

impl Reply for ReadReply {
    fn feed(&mut self, suffix: &str, payload: &[u8]) {
        let Some(mut object) = json_object(payload) else {
            return;
        };
        if is_rejection(&object) {
            if matches!(suffix, "RESULT" | "STATUS") {
                self.rejected = Some(Value::Object(object));
            }
            return;
        }
        let slot = match suffix {
            // Status 8 is what older builds answer for 10.
            "STATUS10" | "STATUS8" => (&mut self.sensors, "StatusSNS"),
            "STATUS11" => (&mut self.state, "StatusSTS"),
            _ => return,
        };
        if let Some(Value::Object(section)) = object.remove(slot.1) {
            *slot.0 = Some(section);
            self.received = Some(SystemTime::now());
        }
    }

    fn complete(&self) -> bool {
        self.rejected.is_some() || (self.sensors.is_some() && self.state.is_some())
    }

    fn answered(&self) -> bool {
        self.sensors.is_some() || self.state.is_some()
    }

    fn rejection(&self) -> Option<&Value> {
        self.rejected.as_ref()
    }
}

/// What will be published and who is expected to answer; checked before connecting.
pub fn plan(settings: &Settings, targets: &[Target]) -> Result<Plan<Ask<ReadReply>>> {
    ask::plan(
        targets,
        &[
            ("Status".into(), "10".into()),
            ("Status".into(), "11".into()),
        ],
        settings.wait,
        |_, _| ReadReply::default(),
    )
}

pub async fn run(
    settings: &Settings,
    session: &mut Session,
    plan: Plan<Ask<ReadReply>>,
) -> Result<Results<ReadData>> {
    let outcome = ask::run(session, plan, &settings.profile, |_, _| {
        ReadReply::default()
    })
    .await?;
    Ok(ask::rows(
        outcome,
        settings.wait,
        &settings.profile,
        |reply| {
            let mut sensors = reply.and_then(|r| r.sensors.clone());
            if let Some(s) = sensors.as_mut() {
                s.shift_remove("Time");
            }
            let received = reply.and_then(|r| r.received);
            ReadData {
                time: received.map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                }),
                sensors,
                state: reply.and_then(|r| r.state.clone()),
                received,
            }
        },
    ))
}

/// The rows of a run that never reached the broker: every expected device silent, so a
/// Prometheus textfile says `tasmota_up 0` instead of keeping the old values up.
pub fn unreachable(plan: &Plan<Ask<ReadReply>>, why: &str) -> Results<ReadData> {
    Results(
        plan.parties
            .iter()
            .map(|(device, _)| DeviceResult {
                device: device.name.clone(),
                topic: device.topic.clone(),
                ok: false,
                data: ReadData {
                    time: None,
                    sensors: None,
                    state: None,
                    received: None,
                },
                error: Some(why.to_string()),
                member: true,
                verdict: crate::report::Verdict::Silent,
            })
            .collect(),
    )
}

/// The report in the asked format.
pub fn render(rows: &Results<ReadData>, format: Format) -> Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string(rows)? + "\n",
        Format::Table => table(rows),
        Format::Csv => csv(rows),
        Format::Influx => influx(rows),
        Format::Prom => prom(rows),
    })
}

fn row_readings(row: &DeviceResult<ReadData>) -> Vec<Reading> {
    readings::readings(row.data.sensors.as_ref(), row.data.state.as_ref())
}

/// For people: a device's readings with their units, then its power, Wi-Fi and uptime.
fn table(rows: &Results<ReadData>) -> String {
    let mut lines: Vec<[String; 4]> = Vec::new();
    for row in &rows.0 {
        let name = row.table_label();
        let mut first = true;
        let mut push = |sensor: String, key: String, value: String| {
            let shown = if first { name.clone() } else { String::new() };
            first = false;
            lines.push([shown, sensor, key, value]);
        };
        if let Some(error) = &row.error {
            push("-".into(), "-".into(), error.clone());
            continue;
        }
        let units = row
            .data
            .sensors
            .as_ref()
            .map(Units::of)
            .unwrap_or_else(|| Units::of(&Map::new()));
        for r in readings::readings(row.data.sensors.as_ref(), None) {
            let unit = r.unit(&units);
            let value = if unit.is_empty() {
                r.value.clone()
            } else {
                format!("{} {unit}", r.value)
            };
            push(r.sensor.clone(), r.key.clone(), value);
        }
        if let Some(state) = &row.data.state {
            let power: Vec<String> = state
                .iter()
                .filter(|(k, _)| k.starts_with("POWER"))
                .filter_map(|(k, v)| Some(format!("{k} {}", v.as_str()?)))
                .collect();
            if !power.is_empty() {
                push("state".into(), "power".into(), power.join(" "));
            }
            let wifi = state.get("Wifi");
            let signal = wifi.and_then(|w| w.get("Signal"));
            let rssi = wifi.and_then(|w| w.get("RSSI"));
            match (signal, rssi) {
                (Some(s), Some(r)) => {
                    push("state".into(), "wifi".into(), format!("{s} dBm ({r}%)"))
                }
                (None, Some(r)) => push("state".into(), "wifi".into(), format!("{r}%")),
                _ => {}
            }
            if let Some(Value::String(uptime)) = state.get("Uptime") {
                push("state".into(), "uptime".into(), uptime.clone());
            }
        }
    }
    if lines.is_empty() {
        return "no devices\n".into();
    }
    struct Table(Vec<[String; 4]>);
    impl std::fmt::Display for Table {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            output::table(f, ["DEVICE", "SENSOR", "READING", "VALUE"], &self.0)
        }
    }
    Table(lines).to_string()
}

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv(rows: &Results<ReadData>) -> String {
    let mut out = String::from("time,device,topic,sensor,key,value\n");
    for row in &rows.0 {
        let time = row.data.time.as_deref().unwrap_or_default();
        let device = row.device.as_deref().unwrap_or_default();
        for r in row_readings(row) {
            let fields = [time, device, &row.topic, &r.sensor, &r.key, &r.value];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
    }
    out
}

/// Line protocol escaping: a measurement escapes commas and spaces; tag keys and values also
/// equals signs.
fn influx_escape(text: &str, tag: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ',' | ' ' => out.push('\\'),
            '=' if tag => out.push('\\'),
            '\n' | '\r' => {
                out.push(' ');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The firmware's own InfluxDB schema: measurement = the key in lower case, tags `device`
/// (the Topic), `sensor` (the object's name in lower case, or `device`) and `id`, one field
/// `value`, a timestamp in nanoseconds.
fn influx(rows: &Results<ReadData>) -> String {
    let mut out = String::new();
    for row in &rows.0 {
        let nanos = row
            .data
            .received
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos());
        for r in row_readings(row) {
            let _ = write!(
                out,
                "{},device={},sensor={}",
                influx_escape(&r.measurement(), false),
                influx_escape(&row.topic, true),
                influx_escape(&r.sensor.to_lowercase(), true)
            );
            if let Some(id) = &r.id {
                let _ = write!(out, ",id={}", influx_escape(id, true));
            }
            let _ = write!(out, " value={}", r.value);
            if let Some(ns) = nanos {
                let _ = write!(out, " {ns}");
            }
            out.push('\n');
        }
    }
    out
}

/// A Prometheus label value: backslash, quote and line feed escaped.
fn prom_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Prometheus text for node_exporter's textfile collector: a gauge per key (ENERGY `Total` a
/// counter), labels `device`, `topic`, `sensor` (and `id`), `tasmota_up` for every device.
fn prom(rows: &Results<ReadData>) -> String {
    // family name → (is counter, help, sample lines); one series per label set.
    let mut families: BTreeMap<String, (bool, String, Vec<String>)> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut up = Vec::new();
    for row in &rows.0 {
        let labels = format!(
            "device=\"{}\",topic=\"{}\"",
            prom_label(row.label()),
            prom_label(&row.topic)
        );
        up.push(format!("tasmota_up{{{labels}}} {}", u8::from(row.ok)));
        for r in row_readings(row) {
            let name = format!("tasmota_{}", r.snake_key());
            let mut series = format!(
                "{labels},sensor=\"{}\"",
                prom_label(&r.sensor.to_lowercase())
            );
            if let Some(id) = &r.id {
                let _ = write!(series, ",id=\"{}\"", prom_label(id));
            }
            if !seen.insert((name.clone(), series.clone())) {
                continue;
            }
            let family = families.entry(name.clone()).or_insert_with(|| {
                (
                    r.is_counter(),
                    format!(
                        "Tasmota reading {}",
                        r.key.trim_end_matches(|c: char| c.is_ascii_digit())
                    ),
                    Vec::new(),
                )
            });
            family.0 &= r.is_counter();
            family.2.push(format!("{name}{{{series}}} {}", r.value));
        }
    }
    let mut out = String::from(
        "# HELP tasmota_up Whether the device answered (1) or stayed silent (0).\n# TYPE tasmota_up gauge\n",
    );
    for line in up {
        out.push_str(&line);
        out.push('\n');
    }
    for (name, (counter, help, lines)) in families {
        let kind = if counter { "counter" } else { "gauge" };
        let _ = writeln!(
            out,
            "# HELP {name} {}",
            help.replace('\\', "\\\\").replace('\n', " ")
        );
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Writes what `render` made: to the file atomically (the textfile collector and cron never
/// see half a file), else to stdout.
pub fn deliver(text: &str, file: Option<&std::path::Path>, out: &output::Output) -> Result<()> {
    match file {
        Some(path) => {
            crate::files::write_new(path, text.as_bytes(), 0o644)?;
            out.trace(format_args!(
                "wrote {}",
                escape(&path.display().to_string())
            ));
            Ok(())
        }
        None => Ok(out.text(text)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Verdict;

    fn row(topic: &str, sensors: &str, state: &str) -> DeviceResult<ReadData> {
        let object = |text: &str| match serde_json::from_str(text).unwrap() {
            Value::Object(m) => Some(m),
            _ => None,
        };
        DeviceResult {
            device: Some(format!("{topic}-name")),
            topic: topic.into(),
            ok: true,
            data: ReadData {
                time: Some("2026-12-01T10:00:00.000Z".into()),
                sensors: object(sensors),
                state: object(state),
                received: Some(
                    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
                ),
            },
            error: None,
            member: true,
            verdict: Verdict::Ok,
        }
    }

    fn rows() -> Results<ReadData> {
        let mut silent = row("attic fan", "{}", "{}");
        silent.ok = false;
        silent.data = ReadData {
            time: None,
            sensors: None,
            state: None,
            received: None,
        };
        silent.error = Some("no response within 2s".into());
        Results(vec![
            row(
                "plug",
                r#"{"ENERGY":{"Total":6.294,"Power":[12,0]}}"#,
                r#"{"POWER":"ON","UptimeSec":5,"Wifi":{"RSSI":80,"Signal":-60}}"#,
            ),
            row(
                "ds",
                r#"{"DS18B20":{"Id":"0305 9794,6B=04","Temperature":20.9},"TempUnit":"C"}"#,
                "{}",
            ),
            silent,
        ])
    }

    #[test]
    fn influx_is_the_firmware_s_schema_escaped() {
        let text = influx(&rows());
        assert_eq!(
            text,
            "total,device=plug,sensor=energy value=6.294 1700000000000000000\n\
             power1,device=plug,sensor=energy value=12 1700000000000000000\n\
             power2,device=plug,sensor=energy value=0 1700000000000000000\n\
             power_state1,device=plug,sensor=device value=1 1700000000000000000\n\
             uptimeseconds,device=plug,sensor=device value=5 1700000000000000000\n\
             rssi,device=plug,sensor=device value=80 1700000000000000000\n\
             signal,device=plug,sensor=device value=-60 1700000000000000000\n\
             temperature,device=ds,sensor=ds18b20,id=0305\\ 9794\\,6B\\=04 value=20.9 1700000000000000000\n"
        );
    }

    #[test]
    fn csv_has_one_row_per_reading() {
        let text = csv(&rows());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time,device,topic,sensor,key,value");
        assert_eq!(
            lines[1],
            "2026-12-01T10:00:00.000Z,plug-name,plug,ENERGY,Total,6.294"
        );
        assert_eq!(lines.len(), 9);
    }

    #[test]
    fn prom_has_up_for_everyone_and_a_counter_for_the_energy_total() {
        let text = prom(&rows());
        assert!(
            text.contains("tasmota_up{device=\"attic fan-name\",topic=\"attic fan\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE tasmota_total counter\ntasmota_total{device=\"plug-name\",topic=\"plug\",sensor=\"energy\"} 6.294\n"), "{text}");
        assert!(
            !text.contains("tasmota_power{device=\"plug-name\",topic=\"plug\",sensor=\"energy\"}")
        );
        assert!(text.contains("tasmota_power1{"), "{text}");
        assert!(
            text.contains("# TYPE tasmota_temperature gauge\n"),
            "{text}"
        );
    }
}
