//! `read` on the sensor payloads people really have (tests/fixtures/sensors, each with its
//! source): every device answered by a scripted device that replays its capture, every format
//! checked by a real consumer (promtool, a strict line-protocol reader, a CSV reader, jq), the
//! InfluxDB lines compared with a port of the firmware's own naming (`xdrv_59_influxdb.ino`,
//! `InfluxDbProcessJson`), and hostile payloads that must still give valid output.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::read::{parse_csv, parse_influx, promtool};
use crate::support::{Broker, Env, ScriptedDevice, json, row, stderr, stdout};

struct Fixture {
    name: String,
    payload: String,
    cut: bool,
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sensors");
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            assert!(
                v["source"].as_str().is_some_and(|s| !s.is_empty()),
                "{p:?} names its source"
            );
            Fixture {
                name: p.file_stem().unwrap().to_string_lossy().into_owned(),
                payload: v["payload"].as_str().unwrap().to_string(),
                cut: v["cut"] == true,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 40, "{} fixtures", out.len());
    out
}

/// The Status 10 reply that carries a capture: as it is when it is one, else wrapped the way
/// the firmware wraps SENSOR content (a cut capture stays cut).
fn status10(payload: &str, cut: bool) -> String {
    if payload.starts_with("{\"StatusSNS\"") {
        payload.to_string()
    } else if cut {
        format!("{{\"StatusSNS\":{payload}")
    } else {
        format!("{{\"StatusSNS\":{payload}}}")
    }
}

const STATE: &str = r#"{"StatusSTS":{"Time":"2026-12-04T10:00:00","Uptime":"0T01:00:00","UptimeSec":3600,"POWER":"ON","Wifi":{"AP":1,"SSId":"x","RSSI":80,"Signal":-60}}}"#;

/// A device per payload, on topic `fx<n>`, that answers Status 10 and 11.
fn devices(broker: &Broker, payloads: &[(String, bool)]) -> Vec<ScriptedDevice> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, (payload, cut))| {
            let topic = format!("fx{i}");
            let reply10 = status10(payload, *cut);
            let t = topic.clone();
            ScriptedDevice::start(broker, &topic, move |name, payload| match (name, payload) {
                ("Status", b"10") => {
                    vec![(format!("stat/{t}/STATUS10"), reply10.clone().into_bytes())]
                }
                ("Status", b"11") => {
                    vec![(format!("stat/{t}/STATUS11"), STATE.as_bytes().to_vec())]
                }
                _ => Vec::new(),
            })
        })
        .collect()
}

fn read(broker: &Broker, topics: &[String], args: &[&str]) -> std::process::Output {
    Env::new()
        .tasctl()
        .args(["--broker", &broker.url(), "-w", "5s", "read"])
        .args(topics)
        .args(args)
        .output()
        .unwrap()
}

// ---- a port of the firmware's InfluxDB naming (xdrv_59_influxdb.ino, InfluxDbProcessJson) ----

/// `GetStateNumber` (support.ino, kOptions): the words the firmware turns into numbers.
fn state_number(text: &str) -> Option<i64> {
    match text.to_ascii_uppercase().as_str() {
        "OFF" | "FALSE" | "STOP" | "DOWN" => Some(0),
        "ON" | "TRUE" | "START" | "USER" => Some(1),
        "TOGGLE" | "ADMIN" => Some(2),
        "BLINK" => Some(3),
        "BLINKOFF" => Some(4),
        "UP" => Some(100),
        "ALL" => Some(255),
        _ => None,
    }
}

/// `IsNumeric` (support.ino): only `-.0123456789`, the empty text included.
fn is_numeric(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
}

/// The token's text as the firmware's JSON parser gives it.
fn token_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `InfluxDbNumber`: a word from kOptions as its number, else numeric text, else nothing.
fn influx_number(v: &Value) -> Option<String> {
    let text = token_text(v)?;
    let out = state_number(&text).map_or(text, |n| n.to_string());
    is_numeric(&out).then_some(out)
}

/// The lines the firmware writes for a SENSOR payload on topic `topic` (timestamps aside).
fn firmware_lines(payload: &Value, topic: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let Value::Object(root) = payload else {
        return lines;
    };
    for (key1, value1) in root {
        match value1 {
            Value::Object(object2) => {
                let mut sensor_id = String::new();
                for (key2, value2) in object2 {
                    match value2 {
                        Value::Object(object3) => {
                            for (key3, value3) in object3 {
                                if let Some(value) = influx_number(value3) {
                                    lines.push(format!(
                                        "{},device={topic},sensor={} value={value}",
                                        key3.to_lowercase(),
                                        key2.to_lowercase()
                                    ));
                                }
                            }
                        }
                        _ => {
                            let kind = key2.to_lowercase();
                            if kind == "id" && !value2.is_array() {
                                sensor_id =
                                    format!(",id={}", token_text(value2).unwrap_or_default());
                                continue;
                            }
                            let first = match value2 {
                                Value::Array(items) => {
                                    items.first().cloned().unwrap_or(Value::Null)
                                }
                                other => other.clone(),
                            };
                            let Some(value) = influx_number(&first) else {
                                continue;
                            };
                            let sensor = key1.to_lowercase();
                            match value2 {
                                Value::Array(items) => {
                                    for (i, item) in items.iter().enumerate() {
                                        lines.push(format!(
                                            "{kind}{},device={topic},sensor={sensor}{sensor_id} value={}",
                                            i + 1,
                                            token_text(item).unwrap_or_default()
                                        ));
                                    }
                                }
                                _ => lines.push(format!(
                                    "{kind},device={topic},sensor={sensor}{sensor_id} value={value}"
                                )),
                            }
                            sensor_id.clear();
                        }
                    }
                }
            }
            other => {
                if let Some(value) = influx_number(other) {
                    lines.push(format!(
                        "{},device={topic},sensor=device value={value}",
                        key1.to_lowercase()
                    ));
                }
            }
        }
    }
    lines
}

/// Where tasctl departs from the firmware on purpose (README, "read"): lines the firmware
/// writes that tasctl leaves out, and lines tasctl writes that the firmware cannot.
fn departs(line: &str, payload: &Value) -> bool {
    let (series, value) = line.rsplit_once(" value=").unwrap();
    let _ = series;
    // Not numbers: what IsNumeric takes but no reader does ("", "-", "1.2.3"), identifiers
    // (a meter number, digits with leading zeros), words other than on/off (UP, TOGGLE).
    let padded = value.len() > 1 && value.starts_with('0') && !value.starts_with("0.");
    value.parse::<f64>().is_err()
        || padded
        || text_values(payload).iter().any(|(key, text)| {
            let key = key.to_ascii_lowercase();
            let measurement = series.split(',').next().unwrap();
            measurement.trim_end_matches(|c: char| c.is_ascii_digit()) == key
                && (state_number(text).is_some_and(|_| {
                    !["on", "off", "true", "false"].contains(&text.to_ascii_lowercase().as_str())
                }) || key.ends_with("number")
                    || key.ends_with("id")
                    || (text.len() > 1 && text.starts_with('0') && !text.starts_with("0.")))
        })
}

/// Every (key, text) of a string value in the payload.
fn text_values(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Value::Object(map) = v {
        for (k, v) in map {
            match v {
                Value::String(s) => out.push((k.clone(), s.clone())),
                other => out.extend(text_values(other)),
            }
        }
    }
    out
}

/// Nesting the firmware does not follow (below its third level, arrays in a third-level object):
/// tasctl keeps these values.
fn deeper_than_the_firmware(payload: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Value::Object(root) = payload {
        for v1 in root.values() {
            if let Value::Object(o2) = v1 {
                for (k2, v2) in o2 {
                    if let Value::Object(o3) = v2 {
                        for (k3, v3) in o3 {
                            match v3 {
                                Value::Array(_) => {
                                    out.insert(format!(
                                        "{}|{}",
                                        k3.to_lowercase(),
                                        k2.to_lowercase()
                                    ));
                                }
                                Value::Object(o4) => {
                                    for k4 in o4.keys() {
                                        out.insert(format!(
                                            "{}|{}",
                                            k4.to_lowercase(),
                                            k3.to_lowercase()
                                        ));
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_real_payload_in_every_format() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let fixtures = fixtures();
    let payloads: Vec<(String, bool)> = fixtures
        .iter()
        .map(|f| (f.payload.clone(), f.cut))
        .collect();
    let _devices = devices(&broker, &payloads);
    let topics: Vec<String> = (0..fixtures.len()).map(|i| format!("fx{i}")).collect();

    // JSON: every device answered and is ok; jq reads it; digits and repeated keys kept.
    let out = read(&broker, &topics, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    if crate::support::tool_available("jq") {
        let mut jq = std::process::Command::new("jq")
            .args(["-e", "length"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut jq.stdin.take().unwrap(), &out.stdout).unwrap();
        let done = jq.wait_with_output().unwrap();
        assert!(done.status.success());
        assert_eq!(
            String::from_utf8_lossy(&done.stdout).trim(),
            fixtures.len().to_string()
        );
    }
    let report = json(&out);
    let raw = stdout(&out);
    for (i, f) in fixtures.iter().enumerate() {
        let r = row(&report, &format!("fx{i}"));
        assert_eq!(r["ok"], true, "{}: {r}", f.name);
        let unreadable = f.cut || f.payload.contains("nan");
        assert_eq!(r.get("warning").is_some(), unreadable, "{}: {r}", f.name);
    }
    assert!(
        raw.contains(r#""ACT":85.0"#),
        "the device's digits: 85.0 stays 85.0"
    );
    assert!(
        raw.contains(r#""Power_curr":512,"Power_curr":510"#),
        "a repeated key is kept"
    );

    // Prometheus: promtool accepts it; every device up once; no series twice.
    let out = read(&broker, &topics, &["--format", "prom"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let prom = stdout(&out);
    promtool(&prom);
    let samples: Vec<&str> = prom.lines().filter(|l| !l.starts_with('#')).collect();
    let series: BTreeSet<&str> = samples
        .iter()
        .map(|l| l.rsplit_once(' ').unwrap().0)
        .collect();
    assert_eq!(series.len(), samples.len(), "no series twice");
    assert_eq!(prom.matches("# TYPE tasmota_up gauge").count(), 1);
    assert_eq!(
        samples
            .iter()
            .filter(|l| l.starts_with("tasmota_up{") && l.ends_with(" 1"))
            .count(),
        fixtures.len()
    );
    for (needle, what) in [
        ("tasmota_power_watts{device=\"fx", "ENERGY Power"),
        ("tasmota_energy_kilowatthours_total{", "ENERGY Total"),
        ("channel=\"2\"", "a channel per array element"),
        ("key=\"OPENTHERM.TB\"", "OpenTherm TB in the reading family"),
        ("key=\"IrReceived.Bits\"", "IR bits in the reading family"),
        ("key=\".Q+\"", "Q+ of an unnamed SML meter"),
        ("key=\".Q-\"", "Q- beside it"),
        ("tasmota_temperature_celsius{", "temperatures in °C"),
        ("tasmota_pm2_5_ug_per_m3{", "PM2.5"),
        ("tasmota_eco2_ppm{", "eCO2"),
        (
            "key=\"ZbReceived.IKEA_Light.Power\"",
            "a Zigbee on/off state",
        ),
    ] {
        assert!(prom.contains(needle), "{what}: {needle} in\n{prom}");
    }
    // The SCD30 reports °F: 71.8 °F is 22.111 °C in Prometheus, and only there.
    assert!(prom.contains("sensor=\"SCD30\"} 22.111"), "{prom}");
    assert!(
        !prom
            .lines()
            .any(|l| l.starts_with("tasmota_") && l.contains("_bits"))
    );

    // InfluxDB: every line strict; equal to the firmware's, departures aside.
    let out = read(&broker, &topics, &["--format", "influx"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let influx = stdout(&out);
    let ours: Vec<String> = influx
        .lines()
        .map(|l| {
            let (m, _, _, _) = parse_influx(l);
            assert!(!m.starts_with('#'));
            l.rsplit_once(' ').unwrap().0.to_string()
        })
        .collect();
    let mut compared = 0;
    for (i, f) in fixtures.iter().enumerate() {
        let Ok(mut payload) = serde_json::from_str::<Value>(&f.payload) else {
            continue; // nan or cut: the firmware's own parser would not read it either
        };
        if f.payload.matches("\"Power_curr\"").count() > 1 || f.name.contains("repeated") {
            continue; // repeated keys: serde keeps one
        }
        if let Some(inner) = payload.get("StatusSNS").cloned() {
            payload = inner;
        }
        let topic = format!("fx{i}");
        let firmware: BTreeSet<String> = firmware_lines(&payload, &topic)
            .into_iter()
            .filter(|l| !departs(l, &payload))
            // An unnamed object gets no `sensor` tag instead of an empty one.
            .map(|l| l.replace(",sensor= ", " ").replace(",sensor=,", ","))
            .collect();
        let deeper = deeper_than_the_firmware(&payload);
        let mine: BTreeSet<String> = ours
            .iter()
            .filter(|l| {
                l.contains(&format!(",device={topic},")) || l.contains(&format!(",device={topic} "))
            })
            .filter(|l| {
                // the sensor readings (the state lines are compared by the contract's test)
                !["power1,", "uptimesec,", "rssi,", "signal,"]
                    .iter()
                    .any(|s| {
                        l.starts_with(s)
                            && (l.contains("sensor=device value") || l.contains("sensor=wifi"))
                    })
            })
            .filter(|l| {
                let m = l
                    .split(',')
                    .next()
                    .unwrap()
                    .trim_end_matches(|c: char| c.is_ascii_digit());
                let sensor = l
                    .split(",sensor=")
                    .nth(1)
                    .map(|s| s.split([',', ' ']).next().unwrap())
                    .unwrap_or("");
                !deeper.contains(&format!("{m}|{sensor}"))
            })
            .cloned()
            .collect();
        assert_eq!(
            mine, firmware,
            "{}: tasctl's lines vs the firmware's",
            f.name
        );
        compared += 1;
    }
    assert!(
        compared >= 35,
        "{compared} fixtures compared with the firmware"
    );

    // CSV: every row has the seven columns; the header once.
    let out = read(&broker, &topics, &["--format", "csv"]);
    let rows = parse_csv(&stdout(&out));
    assert_eq!(
        rows[0],
        [
            "time", "device", "topic", "sensor", "key", "channel", "value"
        ]
    );
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.len() == 7 && r[6].parse::<f64>().is_ok()),
        "{rows:?}"
    );
    // Values before a cut are kept; every healthy sensor beside a failed one too.
    for (key, value) in [
        ("daily_feed", "0.00"),
        ("Total_in", "720.2593"),
        ("Temperature", "10.0"),
    ] {
        assert!(
            rows.iter().any(|r| r[4] == key && r[6] == value),
            "{key}={value}"
        );
    }
}

/// A device that sends whatever it likes: still valid output in every format, every finite
/// number kept.
#[test]
fn hostile_payloads_still_give_valid_output() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let hostile = concat!(
        r#"{"Time":"x","Sen\nsor":{"Key\nwith newline":1.5,"trail\\":2,"#,
        r##""#note":3,"Up":4,"big":1e400,"small":2e3,"q\"uo=te,d":5},"##,
        r#""bs\\":{"Temperature":6},"up":{"x":7},"#,
        r#""tasmota_up":8}"#
    );
    let _devices = devices(&broker, &[(hostile.to_string(), false)]);
    let topics = vec!["fx0".to_string()];
    let out = read(&broker, &topics, &["--format", "prom"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let prom = stdout(&out);
    promtool(&prom);
    assert_eq!(prom.matches("# HELP tasmota_up ").count(), 1, "{prom}");
    assert!(!prom.contains("1e400"), "{prom}");
    for value in [
        " 1.5\n", " 2\n", " 3\n", " 4\n", " 2e3\n", " 5\n", " 6\n", " 7\n", " 8\n",
    ] {
        assert!(prom.contains(value), "{value:?} kept in\n{prom}");
    }
    let out = read(&broker, &topics, &["--format", "influx"]);
    let influx = stdout(&out);
    assert_eq!(
        influx.lines().count(),
        9 + 4,
        "9 readings and 4 state lines:\n{influx}"
    );
    for line in influx.lines() {
        parse_influx(line);
        assert!(!line.starts_with('#'), "{line}");
    }
    let out = read(&broker, &topics, &["--format", "csv"]);
    let rows = parse_csv(&stdout(&out));
    assert!(rows.iter().all(|r| r.len() == 7), "{rows:?}");
    let out = read(&broker, &topics, &["--json"]);
    json(&out);
    assert!(stdout(&out).contains(r#""small":2e3"#), "{}", stdout(&out));
}
