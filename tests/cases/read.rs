//! `tasctl read`: every format checked by a real consumer where one exists (promtool for
//! Prometheus text, a strict line-protocol parser for InfluxDB, a CSV reader, jq-able JSON),
//! against simulated devices with energy meters, array meters and climate sensors.

use std::process::Command;

use crate::support::{Broker, Env, Sim, json, row, stderr, stdout};

const FLEET: &str = r#"
[[device]]
Topic = "plug"
Sensor = "ENERGY"
Power = [1]
[[device]]
Topic = "shelly"
Relays = 2
Sensor = "ENERGY3"
Power = [1, 0]
[[device]]
Topic = "pool"
Relays = 0
Sensor = "DS18B20"
[[device]]
Topic = "balcony"
Relays = 0
Sensor = "AM2301"
SetOption4 = 1
[[device]]
Topic = "lamp"
FullTopic = "%topic%/%prefix%/"
[[device]]
Topic = "fan"
Online = false
"#;

const PROFILE: &str = r#"
[devices]
plug = "plug"
shelly = { topic = "shelly", relays = 2 }
pool = "pool"
balcony = "balcony"
lamp = { topic = "lamp", full_topic = "%topic%/%prefix%/" }
fan = "fan"
"#;

fn read(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .args(["--broker", &broker.url(), "read"])
        .args(args)
        .output()
        .unwrap()
}

/// `promtool check metrics` on the text; skipped locally without promtool, fails in CI.
pub fn promtool(text: &str) {
    use std::io::Write;
    if !crate::support::tool_available("promtool") {
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A strict reader of InfluxDB line protocol: `measurement(,tag=value)* field=value [ns]`,
/// with backslash escapes; returns (measurement, tags, value, timestamp) per line.
pub fn parse_influx(line: &str) -> (String, Vec<(String, String)>, f64, u128) {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next().expect("an escape is followed by a character")),
            ' ' => parts.push(std::mem::take(&mut current)),
            ',' | '=' => {
                current.push('\u{0}');
                current.push(c);
            }
            c => current.push(c),
        }
    }
    parts.push(current);
    assert_eq!(
        parts.len(),
        3,
        "measurement+tags, fields, timestamp: {line}"
    );
    let mut series = parts[0].split("\u{0},");
    // `=` needs no escape in a measurement.
    let measurement = series.next().unwrap().replace("\u{0}=", "=");
    assert!(
        !measurement.is_empty() && !measurement.contains('\u{0}'),
        "{line}"
    );
    let tags = series
        .map(|t| {
            let (k, v) = t
                .split_once("\u{0}=")
                .unwrap_or_else(|| panic!("tag {t} in {line}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    let (field, value) = parts[1].split_once("\u{0}=").expect("one field");
    assert_eq!(field, "value", "{line}");
    let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
    let ns: u128 = parts[2]
        .parse()
        .unwrap_or_else(|_| panic!("a timestamp: {line}"));
    assert!(ns > 1_600_000_000_000_000_000, "nanoseconds: {line}");
    (measurement, tags, value, ns)
}

/// A CSV reader for RFC 4180 fields (a quoted field may hold a line break).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut fields));
            }
            (_, c) => field.push(c),
        }
    }
    assert!(!quoted, "a quoted field is closed");
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        rows.push(fields);
    }
    rows
}

#[test]
fn every_format_for_a_fleet_with_meters_and_sensors() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(PROFILE);
    let _sim = Sim::scenario(&broker, &env, FLEET);

    // JSON: the contract's rows, the sensors as the device sent them.
    let out = read(&env, &broker, &["all", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "fan is offline: {}",
        stderr(&out)
    );
    let report = json(&out);
    let plug = row(&report, "plug");
    assert_eq!(plug["ok"], true);
    assert!(plug["time"].as_str().unwrap().ends_with('Z'));
    assert!(plug["sensors"]["ENERGY"]["Power"].as_f64().unwrap() > 0.0);
    assert!(plug["sensors"].get("Time").is_none());
    assert_eq!(plug["state"]["POWER"], "ON");
    assert_eq!(
        row(&report, "shelly")["sensors"]["ENERGY"]["Power"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        row(&report, "pool")["sensors"]["DS18B20"]["Id"],
        "030597946B04"
    );
    assert!(
        row(&report, "balcony")["sensors"]["AM2301"]["Humidity"]
            .as_f64()
            .is_some()
    );
    assert_eq!(row(&report, "fan")["ok"], false);
    assert_eq!(
        row(&report, "fan")["error"],
        "no response; offline (LWT), so not waited for"
    );

    // Prometheus: promtool is satisfied, the silent device is down, Total is a counter.
    let file = env.dir.path().join("textfile/tasmota.prom");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let out = read(
        &env,
        &broker,
        &[
            "all",
            "--format",
            "prom",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "all of it went to the file");
    let text = std::fs::read_to_string(&file).unwrap();
    promtool(&text);
    for line in [
        "tasmota_up{device=\"fan\",topic=\"fan\"} 0",
        "tasmota_up{device=\"plug\",topic=\"plug\"} 1",
        "# TYPE tasmota_energy_kilowatthours_total counter",
        "# TYPE tasmota_temperature_celsius gauge",
        "tasmota_relay_state{device=\"plug\",topic=\"plug\",relay=\"1\"} 1",
        "tasmota_relay_state{device=\"shelly\",topic=\"shelly\",relay=\"2\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    assert!(text.contains("tasmota_temperature_celsius{device=\"pool\",topic=\"pool\",sensor=\"DS18B20\",id=\"030597946B04\"} "), "{text}");
    assert!(
        text.contains("tasmota_power_watts{device=\"shelly\",topic=\"shelly\",sensor=\"ENERGY\",channel=\"2\"} 0"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("tasmota_")
        && l.contains("device=\"fan\"")
        && !l.starts_with("tasmota_up")));

    // InfluxDB: every line parses strictly, in the firmware's schema.
    let out = read(
        &env,
        &broker,
        &["plug", "pool", "shelly", "--format", "influx"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<_> = stdout(&out).lines().map(parse_influx).collect();
    assert!(lines.iter().any(|(m, tags, _, _)| m == "temperature"
        && tags.contains(&("device".into(), "pool".into()))
        && tags.contains(&("sensor".into(), "ds18b20".into()))
        && tags.contains(&("id".into(), "030597946B04".into()))));
    assert!(lines.iter().any(|(m, tags, v, _)| m == "power1"
        && tags.contains(&("sensor".into(), "energy".into()))
        && *v > 0.0));
    assert!(lines.iter().any(|(m, _, _, _)| m == "total"));

    // CSV: a header and one row per reading.
    let out = read(&env, &broker, &["balcony", "--format", "csv"]);
    let rows = parse_csv(&stdout(&out));
    assert_eq!(
        rows[0],
        [
            "time", "device", "topic", "sensor", "key", "channel", "value"
        ]
    );
    assert!(rows[1..].iter().all(|r| r.len() == 7 && r[1] == "balcony"));
    assert!(
        rows.iter()
            .any(|r| r[3] == "AM2301" && r[4] == "Humidity" && r[6].parse::<f64>().is_ok())
    );
    let out = read(
        &env,
        &broker,
        &["balcony", "--format", "csv", "--no-header"],
    );
    assert!(!stdout(&out).starts_with("time,"), "{}", stdout(&out));

    // For people: readings with units, the power, Wi-Fi and uptime.
    let out = read(&env, &broker, &["plug", "balcony"]);
    let text = stdout(&out);
    for words in [
        "ENERGY  Power",
        " W\n",
        "AM2301  Temperature",
        " °C\n",
        "POWER ON",
        "wifi",
        "uptime",
    ] {
        assert!(text.contains(words), "{words} in\n{text}");
    }

    // status shows a sensor device's readings, and the section asked for.
    let out = env
        .tasctl()
        .args(["--broker", &broker.url(), "status", "balcony"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("AM2301 Temperature"),
        "{}",
        stdout(&out)
    );
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "status",
            "pool",
            "--section",
            "10",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("DS18B20 Temperature") && text.contains("°C"),
        "{text}"
    );
    assert!(
        !text.contains("  power     -"),
        "no dashes for a section without them:\n{text}"
    );
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "status",
            "plug",
            "--section",
            "5",
        ])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("IPAddress"), "{}", stdout(&out));
}

#[test]
fn a_thousand_devices_in_prometheus_text_on_one_connection() {
    let Some(broker) = Broker::start_with("max_queued_messages 0") else {
        return;
    };
    let env = Env::new();
    let _sim = Sim::start(&broker, &["--devices", "1000", "--fleet"]);
    let out = read(&env, &broker, &["all", "--format", "prom", "-w", "5s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    promtool(&text);
    let up = text
        .lines()
        .filter(|l| l.starts_with("tasmota_up{") && l.ends_with(" 1"))
        .count();
    assert_eq!(up, 1000);
}
