//! `tasctl read TARGET... [--format table|json|csv|influx|prom] [--output FILE]`: every
//! reading of a fleet, for people and for cron.
//!
//! Asks `Status 10` (StatusSNS) and `Status 11` (StatusSTS), once on the group topic for a group
//! or `all`, else per device; a device is complete with both. Nothing else changes on the
//! device (no `TelePeriod`, which would shift its telemetry timer). The rows become a table,
//! the contract's JSON, CSV, InfluxDB line protocol in the firmware's own InfluxDB schema, or
//! Prometheus text for node_exporter's textfile collector (`tasmota_up` for every expected
//! device, so a silent one shows as down, never as stale values).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::time::SystemTime;

use anyhow::Result;
use serde::Serialize;
use serde_json::value::RawValue;

use super::ask::{self, Ask, Reply};
use crate::engine::Plan;
use crate::lenient::{self, Node};
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
    /// With the header line, unless `--no-header`.
    Csv {
        header: bool,
    },
    Influx,
    Prom,
}

/// The contract's row: `{"device", "topic", "ok", "time", "sensors", "state", "warning"?,
/// "error"?}`.
#[derive(Debug, Serialize)]
pub struct ReadData {
    pub time: Option<String>,
    /// StatusSNS as the device sent it (digits, key order, repeated keys), without `Time`.
    pub sensors: Option<Box<RawValue>>,
    /// StatusSTS as the device sent it.
    pub state: Option<Box<RawValue>>,
    /// What could not be read of a reply that was not plain JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// When the reply came: the InfluxDB timestamp.
    #[serde(skip)]
    pub received: Option<SystemTime>,
    /// The trees, for the other formats.
    #[serde(skip)]
    pub trees: (Option<Node>, Option<Node>),
}

#[derive(Default)]
pub struct ReadReply {
    sensors: Option<Node>,
    state: Option<Node>,
    problems: Vec<String>,
    rejected: Option<serde_json::Value>,
    received: Option<SystemTime>,
}

impl Reply for ReadReply {
    fn feed(&mut self, suffix: &str, payload: &[u8]) {
        let Some(parsed) = lenient::parse(payload) else {
            return;
        };
        if let Some(object) = ask::json_object(payload)
            && ask::is_rejection(&object)
        {
            if matches!(suffix, "RESULT" | "STATUS") {
                self.rejected = Some(serde_json::Value::Object(object));
            }
            return;
        }
        let (slot, section) = match suffix {
            // Status 8 is what older builds answer for 10.
            "STATUS10" | "STATUS8" => (&mut self.sensors, "StatusSNS"),
            "STATUS11" => (&mut self.state, "StatusSTS"),
            _ => return,
        };
        // A reply cut before its section began says nothing of it yet.
        let Some(inner) = parsed.node.get(section).cloned() else {
            return;
        };
        if let Some(problem) = parsed.problem {
            self.problems.push(format!("{section}: {problem}"));
        }
        *slot = Some(inner);
        self.received = Some(SystemTime::now());
    }

    fn complete(&self) -> bool {
        self.rejected.is_some() || (self.sensors.is_some() && self.state.is_some())
    }

    fn answered(&self) -> bool {
        self.sensors.is_some() || self.state.is_some()
    }

    fn rejection(&self) -> Option<&serde_json::Value> {
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

/// A tree as JSON text the device's own way, `Time` left out of StatusSNS.
fn raw(node: &Node, without_time: bool) -> Option<Box<RawValue>> {
    let text = match node {
        Node::Object(entries) if without_time => Node::Object(
            entries
                .iter()
                .filter(|(k, _)| k != "Time")
                .cloned()
                .collect(),
        )
        .to_json(),
        other => other.to_json(),
    };
    RawValue::from_string(text).ok()
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
            let received = reply.and_then(|r| r.received);
            let sensors = reply.and_then(|r| r.sensors.clone());
            let state = reply.and_then(|r| r.state.clone());
            let problems = reply.map(|r| r.problems.join("; ")).unwrap_or_default();
            ReadData {
                time: received.map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                }),
                sensors: sensors.as_ref().and_then(|n| raw(n, true)),
                state: state.as_ref().and_then(|n| raw(n, false)),
                warning: (!problems.is_empty())
                    .then(|| format!("not plain JSON, read leniently: {problems}")),
                received,
                trees: (sensors, state),
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
                    warning: None,
                    received: None,
                    trees: (None, None),
                },
                error: Some(why.to_string()),
                member: true,
                verdict: crate::report::Verdict::Silent,
            })
            .collect(),
    )
}

/// The report in the asked format; `skipped` counts values that were no finite number.
pub fn render(rows: &Results<ReadData>, format: Format, skipped: &mut usize) -> Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string(rows)? + "\n",
        Format::Table => table(rows, skipped),
        Format::Csv { header } => csv(rows, header, skipped),
        Format::Influx => influx(rows, skipped),
        Format::Prom => prom(rows, skipped),
    })
}

/// A row's readings: its sensors, then its state.
fn row_readings(row: &DeviceResult<ReadData>, skipped: &mut usize) -> Vec<Reading> {
    let (sensors, state) = &row.data.trees;
    let mut all = sensors
        .as_ref()
        .map(|s| readings::sensor_readings(s, skipped))
        .unwrap_or_default();
    if let Some(state) = state {
        all.extend(readings::state_readings(state));
    }
    all
}

/// For people: a device's readings with their units, then its power, Wi-Fi and uptime.
fn table(rows: &Results<ReadData>, skipped: &mut usize) -> String {
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
            push(String::new(), String::new(), error.clone());
            continue;
        }
        if let Some(warning) = &row.data.warning {
            push("warning".into(), String::new(), warning.clone());
        }
        let units = Units::of_node(row.data.trees.0.as_ref());
        let sensors = row.data.trees.0.as_ref();
        for r in sensors
            .map(|s| readings::sensor_readings(s, skipped))
            .unwrap_or_default()
        {
            let unit = r.unit(&units);
            let value = if unit.is_empty() {
                r.value.clone()
            } else {
                format!("{} {unit}", r.value)
            };
            let mut key = r.rest();
            if let Some(c) = r.channel {
                key.push_str(&format!(" [{c}]"));
            }
            let sensor = if r.top().is_empty() {
                "device"
            } else {
                r.top()
            };
            push(sensor.to_string(), key, value);
        }
        if let Some(state) = &row.data.trees.1 {
            let power: Vec<String> = match state {
                Node::Object(entries) => entries
                    .iter()
                    .filter(|(k, _)| k.starts_with("POWER"))
                    .filter_map(|(k, v)| Some(format!("{k} {}", v.as_str()?)))
                    .collect(),
                _ => Vec::new(),
            };
            if !power.is_empty() {
                push("state".into(), "power".into(), power.join(" "));
            }
            let wifi = state.get("Wifi");
            let number = |n: Option<&Node>| match n {
                Some(Node::Number(t)) => Some(t.clone()),
                _ => None,
            };
            let signal = number(wifi.and_then(|w| w.get("Signal")));
            let rssi = number(wifi.and_then(|w| w.get("RSSI")));
            match (signal, rssi) {
                (Some(s), Some(r)) => {
                    push("state".into(), "wifi".into(), format!("{s} dBm ({r}%)"))
                }
                (None, Some(r)) => push("state".into(), "wifi".into(), format!("{r}%")),
                _ => {}
            }
            if let Some(uptime) = state.get("Uptime").and_then(Node::as_str) {
                push("state".into(), "uptime".into(), uptime.to_string());
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

fn csv(rows: &Results<ReadData>, header: bool, skipped: &mut usize) -> String {
    let mut out = String::new();
    if header {
        out.push_str("time,device,topic,sensor,key,channel,value\n");
    }
    for row in &rows.0 {
        let time = row.data.time.as_deref().unwrap_or_default();
        let device = row.device.as_deref().unwrap_or_default();
        for r in row_readings(row, skipped) {
            let (sensor, key) = if r.state {
                ("state".to_string(), r.dotted())
            } else {
                (r.top().to_string(), r.rest())
            };
            let channel = r.channel.map(|c| c.to_string()).unwrap_or_default();
            let fields = [time, device, &row.topic, &sensor, &key, &channel, &r.value];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
    }
    out
}

/// Line protocol escaping: backslashes, commas and spaces (and in tags `=`) escaped, line
/// breaks made spaces; an empty name is `value`.
fn influx_escape(text: &str, tag: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | ',' | ' ' => out.push('\\'),
            '=' if tag => out.push('\\'),
            '\n' | '\r' | '\t' => {
                out.push_str("\\ ");
                continue;
            }
            c if c.is_control() => continue,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The InfluxDB measurement of a reading in the firmware's schema: the key in lower case, an
/// array element's channel appended (`power1`); state as the firmware writes it (`power1`,
/// `uptimesec`, `rssi`, `signal`). A name that would start a comment (`#`) gets a `_`.
fn measurement(r: &Reading) -> String {
    let mut name = match r.relay() {
        Some(n) => format!("power{n}"),
        None => r.leaf().to_lowercase(),
    };
    if let Some(c) = r.channel {
        name.push_str(&c.to_string());
    }
    if name.is_empty() {
        name = "value".into();
    }
    let mut escaped = influx_escape(&name, false);
    if escaped.starts_with('#') {
        escaped.insert(0, '_');
    }
    escaped
}

/// InfluxDB line protocol in the firmware's own schema (`xdrv_59_influxdb.ino`): measurement
/// the key, tags `device` (the Topic), `sensor` (the innermost object, lower case; `device` for
/// a top-level value; `wifi` for the signal) and `id`, one field `value`, nanoseconds. Departures
/// where the firmware is wrong: an unnamed object (SML `""`) gets no `sensor` tag instead of an
/// empty one, identifiers sent as strings are no values, and an `id` never leaks onto the next
/// object.
fn influx(rows: &Results<ReadData>, skipped: &mut usize) -> String {
    let mut out = String::new();
    for row in &rows.0 {
        let nanos = row
            .data
            .received
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos());
        for r in row_readings(row, skipped) {
            let sensor = match (r.state, r.path.first().map(String::as_str)) {
                (true, Some("Wifi")) => "wifi".to_string(),
                (true, _) => "device".to_string(),
                (false, _) => r.innermost().to_lowercase(),
            };
            let _ = write!(
                out,
                "{},device={}",
                measurement(&r),
                influx_escape(&row.topic, true)
            );
            if !sensor.is_empty() {
                let _ = write!(out, ",sensor={}", influx_escape(&sensor, true));
            }
            if let Some(id) = r.id.as_ref().filter(|id| !id.is_empty()) {
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

/// One family of the Prometheus text.
struct Family {
    help: String,
    counter: bool,
    samples: Vec<String>,
}

/// The metric name, help, kind and value of a reading: a well-known quantity by its unit name
/// (°F converted to °C, the pressure by its unit), everything else `tasmota_reading`.
fn prom_metric(r: &Reading, units: &Units) -> (String, String, bool, Option<String>) {
    if r.relay().is_some() {
        return (
            "tasmota_relay_state".into(),
            "Whether the output is on (1) or off (0)".into(),
            false,
            Some(r.value.clone()),
        );
    }
    match readings::quantity(r) {
        Some(q) => {
            let value = match q.key {
                "Temperature" | "DewPoint" if units.fahrenheit => readings::celsius(&r.value),
                _ => Some(r.value.clone()),
            };
            let metric = match (q.key, units.pressure.as_str()) {
                ("Pressure", "mmHg") => "tasmota_pressure_mmhg",
                ("Pressure", "inHg") => "tasmota_pressure_inhg",
                _ => q.metric,
            };
            (metric.into(), q.help.into(), q.counter, value)
        }
        None => (
            "tasmota_reading".into(),
            "Any other reading, by the path of its key".into(),
            false,
            Some(r.value.clone()),
        ),
    }
}

/// Prometheus text for node_exporter's textfile collector: the well-known quantities by name
/// with their unit, every other reading in `tasmota_reading{key="<path>"}`, `tasmota_up` once
/// per device, no series twice.
fn prom(rows: &Results<ReadData>, skipped: &mut usize) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut series: HashSet<String> = HashSet::new();
    let mut up: Vec<String> = Vec::new();
    let mut up_seen = HashSet::new();
    for row in &rows.0 {
        let labels = format!(
            "device=\"{}\",topic=\"{}\"",
            prom_label(row.label()),
            prom_label(&row.topic)
        );
        if up_seen.insert(labels.clone()) {
            up.push(format!("tasmota_up{{{labels}}} {}", u8::from(row.ok)));
        }
        let units = Units::of_node(row.data.trees.0.as_ref());
        for r in row_readings(row, skipped) {
            let (name, help, counter, value) = prom_metric(&r, &units);
            let Some(value) = value else { continue };
            let mut set = labels.clone();
            if let Some(n) = r.relay() {
                let _ = write!(set, ",relay=\"{n}\"");
            } else if !r.state {
                let _ = write!(set, ",sensor=\"{}\"", prom_label(r.innermost()));
            }
            if name == "tasmota_reading" {
                let _ = write!(set, ",key=\"{}\"", prom_label(&r.dotted()));
            } else if name == "tasmota_energy_kilowatthours_total" && r.leaf() != "Total" {
                let _ = write!(set, ",tariff=\"{}\"", prom_label(r.leaf()));
            }
            if let Some(id) = &r.id {
                let _ = write!(set, ",id=\"{}\"", prom_label(id));
            }
            if let Some(c) = r.channel {
                let _ = write!(set, ",channel=\"{c}\"");
            }
            if r.repeat > 1 {
                let _ = write!(set, ",repeat=\"{}\"", r.repeat);
            }
            // Whatever a device sends, no series twice.
            let mut n = 1;
            let mut key = format!("{name}{{{set}}}");
            while !series.insert(key.clone()) {
                n += 1;
                key = format!("{name}{{{set},repeat=\"{n}\"}}");
            }
            families
                .entry(name)
                .or_insert_with(|| Family {
                    help,
                    counter,
                    samples: Vec::new(),
                })
                .samples
                .push(format!("{key} {value}"));
        }
    }
    let mut out = String::from(
        "# HELP tasmota_up Whether the device answered (1) or stayed silent (0).\n# TYPE tasmota_up gauge\n",
    );
    for line in up {
        out.push_str(&line);
        out.push('\n');
    }
    for (name, family) in families {
        let kind = if family.counter { "counter" } else { "gauge" };
        let _ = writeln!(out, "# HELP {name} {}.", family.help);
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for line in family.samples {
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
        let tree = |text: &str| lenient::parse(text.as_bytes()).map(|p| p.node);
        let (sensors, state) = (tree(sensors), tree(state));
        DeviceResult {
            device: Some(format!("{topic}-name")),
            topic: topic.into(),
            ok: true,
            data: ReadData {
                time: Some("2026-12-01T10:00:00.000Z".into()),
                sensors: sensors.as_ref().and_then(|n| raw(n, true)),
                state: state.as_ref().and_then(|n| raw(n, false)),
                warning: None,
                received: Some(
                    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
                ),
                trees: (sensors, state),
            },
            error: None,
            member: true,
            verdict: Verdict::Ok,
        }
    }

    fn rows() -> Results<ReadData> {
        let mut silent = row("attic fan", "{}", "{}");
        silent.ok = false;
        silent.data.trees = (None, None);
        silent.error = Some("no response within 2s".into());
        Results(vec![
            row(
                "plug",
                r#"{"Time":"t","ENERGY":{"Total":6.294,"Power":[12,0]}}"#,
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
        let text = influx(&rows(), &mut 0);
        assert_eq!(
            text,
            "total,device=plug,sensor=energy value=6.294 1700000000000000000\n\
             power1,device=plug,sensor=energy value=12 1700000000000000000\n\
             power2,device=plug,sensor=energy value=0 1700000000000000000\n\
             power1,device=plug,sensor=device value=1 1700000000000000000\n\
             uptimesec,device=plug,sensor=device value=5 1700000000000000000\n\
             rssi,device=plug,sensor=wifi value=80 1700000000000000000\n\
             signal,device=plug,sensor=wifi value=-60 1700000000000000000\n\
             temperature,device=ds,sensor=ds18b20,id=0305\\ 9794\\,6B\\=04 value=20.9 1700000000000000000\n"
        );
    }

    #[test]
    fn csv_has_one_row_per_reading_and_a_channel() {
        let text = csv(&rows(), true, &mut 0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time,device,topic,sensor,key,channel,value");
        assert_eq!(
            lines[1],
            "2026-12-01T10:00:00.000Z,plug-name,plug,ENERGY,Total,,6.294"
        );
        assert_eq!(
            lines[2],
            "2026-12-01T10:00:00.000Z,plug-name,plug,ENERGY,Power,1,12"
        );
        assert_eq!(lines.len(), 9);
        assert!(!csv(&rows(), false, &mut 0).starts_with("time,"));
    }

    #[test]
    fn prom_names_quantities_by_unit_and_has_up_once() {
        let text = prom(&rows(), &mut 0);
        assert!(
            text.contains("tasmota_up{device=\"attic fan-name\",topic=\"attic fan\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE tasmota_energy_kilowatthours_total counter\ntasmota_energy_kilowatthours_total{device=\"plug-name\",topic=\"plug\",sensor=\"ENERGY\"} 6.294\n"), "{text}");
        assert!(text.contains("tasmota_power_watts{device=\"plug-name\",topic=\"plug\",sensor=\"ENERGY\",channel=\"2\"} 0\n"), "{text}");
        assert!(
            text.contains(
                "tasmota_relay_state{device=\"plug-name\",topic=\"plug\",relay=\"1\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("tasmota_wifi_signal_dbm{device=\"plug-name\",topic=\"plug\"} -60\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tasmota_temperature_celsius gauge\n"),
            "{text}"
        );
        assert_eq!(text.matches("# HELP tasmota_up ").count(), 1);
    }
}
