//! Readings: every value a device measures, flattened from its StatusSNS (and its power, uptime
//! and Wi-Fi from StatusSTS), and the table of quantities with their Prometheus names.
//!
//! The rules are the contract's ("read"): every numeric leaf of StatusSNS (not `Time`, not the
//! unit words) with its path; `ON`/`OFF` and `true`/`false` as 1/0; numbers sent as strings
//! (`"70.0"`) as numbers, exactly as written, but not identifiers (an `Id`, a meter number, a
//! string with leading zeros); an array as one reading per element with a 1-based channel; a
//! key that repeats in one object as another reading (`repeat` 2, 3 ...), never a lost one;
//! an object's `Id` labels its readings. A value that is not a finite float64 (`nan`, `1e400`)
//! is no reading, and is counted in `skipped`. Numbers keep the exact text the device sent.

use serde_json::{Map, Value};

use crate::lenient::Node;

/// One value a device reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The keys from the top of StatusSNS (or StatusSTS) down to the value: `["AM2301",
    /// "Temperature"]`, `["ZbReceived", "0x7120", "Power"]`, `["Switch1"]`.
    pub path: Vec<String>,
    /// The 1-based element of an array (`"Power":[12,0]`).
    pub channel: Option<usize>,
    /// The `Id` of the object holding the value (DS18B20 and friends).
    pub id: Option<String>,
    /// The number exactly as the device wrote it; 1/0 for an on/off word.
    pub value: String,
    /// From StatusSTS: a power output, the uptime, the Wi-Fi.
    pub state: bool,
    /// Which occurrence of its key in its object: 1, or 2 ... for a key the device repeated.
    pub repeat: usize,
}

impl Reading {
    /// The key that holds the value (`Temperature`).
    pub fn leaf(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    /// The object that holds the value (`AM2301`, `0x7120`, `ENERGY`), or `device` for a
    /// top-level value, as the firmware's own InfluxDB output names the sensor.
    pub fn innermost(&self) -> &str {
        match self.path.len() {
            0 | 1 => "device",
            n => &self.path[n - 2],
        }
    }

    /// The top-level object (`ZbReceived`), or nothing for a top-level value: CSV's `sensor`.
    pub fn top(&self) -> &str {
        if self.path.len() > 1 {
            &self.path[0]
        } else {
            ""
        }
    }

    /// The rest of the path below `top`, joined with `.`: CSV's `key`.
    pub fn rest(&self) -> String {
        let from = usize::from(self.path.len() > 1);
        self.path[from..].join(".")
    }

    /// The whole path joined with `.`: the `key` of `tasmota_reading`.
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }

    /// Is it under the ENERGY object (or the SPM's)?
    fn energy(&self) -> bool {
        self.path
            .iter()
            .rev()
            .skip(1)
            .any(|p| p.eq_ignore_ascii_case("ENERGY"))
    }

    /// The power output number of a `POWER`/`POWERn` state reading.
    pub fn relay(&self) -> Option<u32> {
        if !self.state {
            return None;
        }
        let index = self.leaf().strip_prefix("POWER")?;
        if index.is_empty() {
            Some(1)
        } else {
            index.parse().ok()
        }
    }

    /// The unit a person reads beside the value, from the key and the device's unit words.
    pub fn unit<'a>(&self, units: &'a Units) -> &'a str {
        if self.relay().is_some() {
            return "";
        }
        match quantity(self) {
            Some(q) => match q.key {
                "Temperature" | "DewPoint" => units.temperature.as_str(),
                "Pressure" => units.pressure.as_str(),
                _ => q.unit,
            },
            None => "",
        }
    }
}

/// A quantity people graph: the key the firmware writes, where it counts, its Prometheus name
/// with the unit (promtool's rules), and the unit a person reads.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    /// The firmware's key (`Temperature`, `PM2.5`).
    pub key: &'static str,
    /// Only under the ENERGY object (a Zigbee `Power` is on/off, not watts).
    pub energy_only: bool,
    /// Only in StatusSTS.
    pub state: bool,
    pub metric: &'static str,
    pub unit: &'static str,
    pub help: &'static str,
    /// A counter (ENERGY Total), else a gauge.
    pub counter: bool,
}

const fn q(
    key: &'static str,
    energy_only: bool,
    metric: &'static str,
    unit: &'static str,
    help: &'static str,
) -> Quantity {
    Quantity {
        key,
        energy_only,
        state: false,
        metric,
        unit,
        help,
        counter: false,
    }
}

/// The well-known quantities, one entry each; the README's table is made from this one.
pub const QUANTITIES: &[Quantity] = &[
    q(
        "Temperature",
        false,
        "tasmota_temperature_celsius",
        "°C",
        "Temperature (a device reporting °F is converted)",
    ),
    q(
        "DewPoint",
        false,
        "tasmota_dew_point_celsius",
        "°C",
        "Dew point (a device reporting °F is converted)",
    ),
    q(
        "Humidity",
        false,
        "tasmota_humidity_percent",
        "%",
        "Relative humidity",
    ),
    q(
        "Pressure",
        false,
        "tasmota_pressure_hectopascals",
        "hPa",
        "Air pressure (_mmhg or _inhg when the device's PressureUnit says so)",
    ),
    q(
        "Illuminance",
        false,
        "tasmota_illuminance_lux",
        "lx",
        "Illuminance",
    ),
    q(
        "CarbonDioxide",
        false,
        "tasmota_co2_ppm",
        "ppm",
        "Carbon dioxide",
    ),
    q("CO2", false, "tasmota_co2_ppm", "ppm", "Carbon dioxide"),
    q(
        "eCO2",
        false,
        "tasmota_eco2_ppm",
        "ppm",
        "Equivalent carbon dioxide",
    ),
    q(
        "PM1",
        false,
        "tasmota_pm1_ug_per_m3",
        "µg/m³",
        "Particulate matter up to 1 µm",
    ),
    q(
        "PM2.5",
        false,
        "tasmota_pm2_5_ug_per_m3",
        "µg/m³",
        "Particulate matter up to 2.5 µm",
    ),
    q(
        "PM10",
        false,
        "tasmota_pm10_ug_per_m3",
        "µg/m³",
        "Particulate matter up to 10 µm",
    ),
    q("Voltage", false, "tasmota_voltage_volts", "V", "Voltage"),
    q("Current", false, "tasmota_current_amperes", "A", "Current"),
    q("Power", true, "tasmota_power_watts", "W", "Active power"),
    q(
        "ActivePower",
        false,
        "tasmota_power_watts",
        "W",
        "Active power",
    ),
    q(
        "ApparentPower",
        false,
        "tasmota_apparent_power_voltamperes",
        "VA",
        "Apparent power",
    ),
    q(
        "ReactivePower",
        false,
        "tasmota_reactive_power_voltamperes_reactive",
        "var",
        "Reactive power",
    ),
    q(
        "Factor",
        true,
        "tasmota_power_factor_ratio",
        "",
        "Power factor",
    ),
    q(
        "Frequency",
        false,
        "tasmota_frequency_hertz",
        "Hz",
        "Mains frequency",
    ),
    q(
        "Today",
        true,
        "tasmota_energy_today_kilowatthours",
        "kWh",
        "Energy used today",
    ),
    q(
        "Yesterday",
        true,
        "tasmota_energy_yesterday_kilowatthours",
        "kWh",
        "Energy used yesterday",
    ),
    Quantity {
        counter: true,
        ..q(
            "Total",
            true,
            "tasmota_energy_kilowatthours_total",
            "kWh",
            "Energy used since the device's TotalStartTime",
        )
    },
    Quantity {
        state: true,
        ..q(
            "RSSI",
            false,
            "tasmota_wifi_rssi_percent",
            "%",
            "Wi-Fi signal quality",
        )
    },
    Quantity {
        state: true,
        ..q(
            "Signal",
            false,
            "tasmota_wifi_signal_dbm",
            "dBm",
            "Wi-Fi signal strength",
        )
    },
    Quantity {
        state: true,
        ..q(
            "UptimeSec",
            false,
            "tasmota_uptime_seconds",
            "s",
            "Time since the device started",
        )
    },
];

/// The quantity a reading is, if it is a well-known one.
pub fn quantity(r: &Reading) -> Option<&'static Quantity> {
    // ENERGY Total as an object (`"Total":{"T1":..,"T2":..}`): each part is the total too.
    let key = match r.path.as_slice() {
        [.., total, _] if r.energy() && total == "Total" => "Total",
        _ => r.leaf(),
    };
    let energy = r.energy() || (key == "Total" && r.path.iter().any(|p| p == "ENERGY"));
    QUANTITIES
        .iter()
        .find(|q| q.key == key && q.state == r.state && (!q.energy_only || energy))
}

/// The unit words a device sends beside its readings (`TempUnit`, `PressureUnit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    /// `°C` or `°F` (or what the device says).
    pub temperature: String,
    pub pressure: String,
    /// The device reports °F.
    pub fahrenheit: bool,
}

impl Units {
    pub fn of_node(sensors: Option<&Node>) -> Units {
        let word = |key: &str, default: &str| {
            sensors
                .and_then(|s| s.get(key))
                .and_then(Node::as_str)
                .unwrap_or(default)
                .to_string()
        };
        let temperature = word("TempUnit", "C");
        Units {
            fahrenheit: temperature == "F",
            temperature: match temperature.as_str() {
                "C" => "°C".to_string(),
                "F" => "°F".to_string(),
                other => other.to_string(),
            },
            pressure: word("PressureUnit", "hPa"),
        }
    }

    pub fn of(sensors: &Map<String, Value>) -> Units {
        Units::of_node(Some(&node_of(sensors)))
    }
}

/// A serde object as a lenient tree (for the views that already hold serde values).
fn node_of(map: &Map<String, Value>) -> Node {
    crate::lenient::parse(Value::Object(map.clone()).to_string().as_bytes())
        .map(|p| p.node)
        .unwrap_or(Node::Object(Vec::new()))
}

/// The readings of a StatusSNS given as a serde object.
pub fn of_value(sensors: &Map<String, Value>) -> Vec<Reading> {
    sensor_readings(&node_of(sensors), &mut 0)
}

/// Keys at the top of StatusSNS that are no readings.
const NOT_READINGS: [&str; 4] = ["Time", "TempUnit", "PressureUnit", "SpeedUnit"];

/// Every reading of a StatusSNS, in the device's order; `skipped` counts values that are no
/// finite float64.
pub fn sensor_readings(sensors: &Node, skipped: &mut usize) -> Vec<Reading> {
    let mut out = Vec::new();
    if let Node::Object(entries) = sensors {
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in entries {
            if NOT_READINGS.contains(&key.as_str()) {
                continue;
            }
            let repeat = 1 + seen.iter().filter(|k| **k == key.as_str()).count();
            seen.push(key);
            let mut path = vec![key.clone()];
            walk(value, &mut path, None, None, repeat, skipped, &mut out);
        }
    }
    out
}

fn walk(
    node: &Node,
    path: &mut Vec<String>,
    channel: Option<usize>,
    id: Option<&str>,
    repeat: usize,
    skipped: &mut usize,
    out: &mut Vec<Reading>,
) {
    let push = |value: String, out: &mut Vec<Reading>, path: &[String]| {
        out.push(Reading {
            path: path.to_vec(),
            channel,
            id: id.map(String::from),
            value,
            state: false,
            repeat,
        })
    };
    match node {
        Node::Number(text) => match finite(text) {
            true => push(text.clone(), out, path),
            false => *skipped += 1,
        },
        Node::NonFinite(_) => *skipped += 1,
        Node::Bool(b) => push(u8::from(*b).to_string(), out, path),
        Node::String(text) => {
            let leaf = path.last().map_or("", String::as_str);
            if let Some(on) = on_off(text) {
                push(on.to_string(), out, path);
            } else if is_number(text) && !identifier(leaf, text) {
                if finite(text) {
                    push(text.clone(), out, path);
                } else {
                    *skipped += 1;
                }
            }
        }
        Node::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // An array in an array keeps the outer channel (no device nests them).
                let channel = channel.or(Some(i + 1));
                walk(item, path, channel, id, repeat, skipped, out);
            }
        }
        Node::Object(entries) => {
            let own_id = entries
                .iter()
                .find(|(k, _)| k == "Id")
                .and_then(|(_, v)| match v {
                    Node::String(s) => Some(s.as_str()),
                    Node::Number(n) => Some(n.as_str()),
                    _ => None,
                });
            let id = own_id.or(None);
            let mut seen: Vec<&str> = Vec::new();
            for (key, value) in entries {
                if key == "Id" {
                    continue;
                }
                let repeat = 1 + seen.iter().filter(|k| **k == key.as_str()).count();
                seen.push(key);
                path.push(key.clone());
                walk(value, path, channel, id, repeat, skipped, out);
                path.pop();
            }
        }
        Node::Null => {}
    }
}

/// Is the text a number that fits a float64 (not `1e400`)?
fn finite(text: &str) -> bool {
    text.parse::<f64>().is_ok_and(f64::is_finite)
}

/// `ON`/`OFF` (any case) as 1/0.
fn on_off(text: &str) -> Option<u8> {
    if text.eq_ignore_ascii_case("ON") {
        Some(1)
    } else if text.eq_ignore_ascii_case("OFF") {
        Some(0)
    } else {
        None
    }
}

/// A number as JSON writes it (`70.0`, `-3`, `1e3`), for a number sent as a string.
fn is_number(text: &str) -> bool {
    matches!(
        crate::lenient::parse(format!("[{text}]").as_bytes()),
        Some(crate::lenient::Parsed { node: Node::Array(ref items), problem: None, .. })
            if matches!(items.as_slice(), [Node::Number(n)] if n == text)
    )
}

/// A string that only looks like a number: an identifier (a meter number, a serial, an
/// address), which the firmware's InfluxDB output wrongly writes as a number.
fn identifier(key: &str, text: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let named = ["id", "number", "serial", "address", "adco", "nr"]
        .iter()
        .any(|w| key == *w || key.ends_with(&format!("_{w}")) || key.ends_with(w));
    let digits = text.trim_start_matches('-');
    let padded = digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    named || padded
}

/// The power outputs (1/0 with their number), the uptime and the Wi-Fi of a StatusSTS.
pub fn state_readings(state: &Node) -> Vec<Reading> {
    let mut out = Vec::new();
    let Node::Object(entries) = state else {
        return out;
    };
    let reading = |path: Vec<String>, value: String| Reading {
        path,
        channel: None,
        id: None,
        value,
        state: true,
        repeat: 1,
    };
    for (key, value) in entries {
        let Some(index) = key.strip_prefix("POWER") else {
            continue;
        };
        if !index.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Some(on) = value.as_str().and_then(on_off) {
            out.push(reading(vec![key.clone()], on.to_string()));
        }
    }
    if let Some(Node::Number(n)) = state.get("UptimeSec")
        && finite(n)
    {
        out.push(reading(vec!["UptimeSec".into()], n.clone()));
    }
    for key in ["RSSI", "Signal"] {
        if let Some(Node::Number(n)) = state.get("Wifi").and_then(|w| w.get(key))
            && finite(n)
        {
            out.push(reading(vec!["Wifi".into(), key.into()], n.clone()));
        }
    }
    out
}

/// °F to °C, computed exactly and rounded half-even to 3 decimals, no trailing zeros.
pub fn celsius(fahrenheit: &str) -> Option<String> {
    // Exact decimal arithmetic on the device's digits: (F - 32) * 5 / 9 in thousandths.
    let (negative, digits) = match fahrenheit.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, fahrenheit),
    };
    if digits.contains(['e', 'E']) {
        let f: f64 = fahrenheit.parse().ok()?;
        return Some(trim(format!("{:.3}", (f - 32.0) * 5.0 / 9.0)));
    }
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || int.len() + frac.len() > 30 {
        return None;
    }
    let scale = 10i128.checked_pow(frac.len() as u32)?;
    let mut value: i128 = format!("{int}{frac}").parse().ok()?;
    if negative {
        value = -value;
    }
    // (value/scale - 32) * 5/9 * 1000 = (value - 32*scale) * 5000 / (9*scale)
    let numerator = (value - 32 * scale) * 5000;
    let denominator = 9 * scale;
    let (q, r) = (
        numerator.div_euclid(denominator),
        numerator.rem_euclid(denominator),
    );
    let rounded = match (2 * r).cmp(&denominator) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal if q % 2 == 0 => q,
        std::cmp::Ordering::Equal => q + 1,
    };
    let sign = if rounded < 0 { "-" } else { "" };
    let abs = rounded.unsigned_abs();
    Some(trim(format!("{sign}{}.{:03}", abs / 1000, abs % 1000)))
}

/// `21.500` → `21.5`, `21.000` → `21`.
fn trim(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    let t = text.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" { "0".into() } else { t.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(payload: &str) -> Vec<String> {
        let node = crate::lenient::parse(payload.as_bytes()).unwrap().node;
        let mut skipped = 0;
        sensor_readings(&node, &mut skipped)
            .iter()
            .map(|r| {
                let mut s = r.dotted();
                if let Some(c) = r.channel {
                    s.push_str(&format!("#{c}"));
                }
                if let Some(id) = &r.id {
                    s.push_str(&format!("[{id}]"));
                }
                if r.repeat > 1 {
                    s.push_str(&format!("({})", r.repeat));
                }
                format!("{s}={}", r.value)
            })
            .collect()
    }

    #[test]
    fn every_value_kept_with_its_path() {
        assert_eq!(
            flat(
                r#"{"Time":"x","ENERGY":{"TotalStartTime":"2019-04-13T18:21:03","Total":[2.813,0.254],"Voltage":235},
                "":{"Power_curr":5,"Power_curr":7,"Q+":1,"Q-":2},"Switch1":"ON","Top":3,
                "ZbReceived":{"0x7120":{"Power":true,"Temp":"21.5","Meter_number":"123"}},
                "DS18B20-1":{"Id":"01183379C9FF","Temperature":46.9},"S":{"N":1e400,"M":nan},
                "TIC":{"BASE":"007970903"},"TempUnit":"C"}"#
            ),
            [
                "ENERGY.Total#1=2.813",
                "ENERGY.Total#2=0.254",
                "ENERGY.Voltage=235",
                ".Power_curr=5",
                ".Power_curr(2)=7",
                ".Q+=1",
                ".Q-=2",
                "Switch1=1",
                "Top=3",
                "ZbReceived.0x7120.Power=1",
                "ZbReceived.0x7120.Temp=21.5",
                "DS18B20-1.Temperature[01183379C9FF]=46.9",
            ]
        );
    }

    #[test]
    fn well_known_quantities_by_key_and_place() {
        let r = |path: &[&str], state: bool| Reading {
            path: path.iter().map(|p| p.to_string()).collect(),
            channel: None,
            id: None,
            value: "1".into(),
            state,
            repeat: 1,
        };
        let metric = |path: &[&str], state| quantity(&r(path, state)).map(|q| q.metric);
        assert_eq!(
            metric(&["ENERGY", "Power"], false),
            Some("tasmota_power_watts")
        );
        assert_eq!(
            metric(&["ZbReceived", "0x1", "Power"], false),
            None,
            "on/off, not watts"
        );
        assert_eq!(
            metric(&["SPM", "ActivePower"], false),
            Some("tasmota_power_watts")
        );
        assert_eq!(
            metric(&["ENERGY", "Total", "T1"], false),
            Some("tasmota_energy_kilowatthours_total")
        );
        assert_eq!(metric(&["COUNTER", "Total"], false), None);
        assert_eq!(
            metric(&["AM2301", "Temperature"], false),
            Some("tasmota_temperature_celsius")
        );
        assert_eq!(
            metric(&["Wifi", "RSSI"], true),
            Some("tasmota_wifi_rssi_percent")
        );
        assert_eq!(metric(&["RSSI"], false), None, "only the state's");
    }

    /// The README's table of names is this module's table, row for row.
    #[test]
    fn the_readme_lists_every_quantity() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("<!-- quantities:start -->")
            .expect("the table's start");
        let end = readme
            .find("<!-- quantities:end -->")
            .expect("the table's end");
        let rows: Vec<&str> = readme[start..end]
            .lines()
            .filter(|l| l.starts_with("| `"))
            .collect();
        let expected: Vec<String> = QUANTITIES
            .iter()
            .map(|q| {
                let place = if q.state {
                    "StatusSTS"
                } else if q.energy_only {
                    "ENERGY"
                } else {
                    "any sensor"
                };
                format!("| `{}` | {place} | `{}` | {} |", q.key, q.metric, q.unit)
            })
            .collect();
        assert_eq!(rows, expected, "README.md's table of Prometheus names");
    }

    #[test]
    fn fahrenheit_to_celsius_exactly() {
        for (f, c) in [
            ("71.8", "22.111"),
            ("32", "0"),
            ("212.0", "100"),
            ("-40", "-40"),
            ("100.1", "37.833"),
            ("33.8", "1"),
            // 32.0009 F = 0.0005 C exactly: half-even keeps 0.000
            ("32.0009", "0"),
        ] {
            assert_eq!(celsius(f).as_deref(), Some(c), "{f}");
        }
    }
}
