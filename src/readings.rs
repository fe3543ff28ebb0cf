//! Readings: the numeric values in a device's StatusSNS (and its power states in StatusSTS),
//! flattened the way metric pipelines want them, with the units the firmware gives.
//!
//! The rules (cli-contract "read"): the numeric leaves of StatusSNS, not `Time` nor unit
//! strings; `sensor` is the top-level object (`AM2301`, `ENERGY`, `DS18B20-1`) or `device` for a
//! top-level value; an array of numbers becomes one reading per element with its 1-based index
//! appended to the key (`Power1`, `Power2`); a nested object's keys are joined with `_`;
//! numbers given as strings are not readings; an empty key (SML scripts) is `value`; the
//! `Id` of a sensor object labels its readings. From StatusSTS: `POWER`/`POWERn` as
//! `power_state<n>` 1/0, and the uptime and Wi-Fi signal as device readings. Numbers keep the
//! exact text the device sent.

use serde_json::{Map, Value};

/// One numeric value a device reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The top-level object it came from, as the device named it (`AM2301`), or `device`.
    pub sensor: String,
    /// The sensor object's `Id` (DS18B20 and friends), when it has one.
    pub id: Option<String>,
    /// The key as the device named it, with an index for array elements (`Power2`).
    pub key: String,
    /// The number exactly as the device wrote it.
    pub value: String,
}

impl Reading {
    /// `Temperature` → `temperature`: the firmware's InfluxDB measurement name.
    pub fn measurement(&self) -> String {
        self.key.to_lowercase()
    }

    /// `ApparentPower` → `apparent_power`, a valid Prometheus metric name part that
    /// promtool's lint accepts: no abbreviated unit as a word (`_sec` → `_seconds`), no
    /// `_count`, `_sum`, `_bucket` or `_total` ending on a gauge.
    pub fn snake_key(&self) -> String {
        let words: Vec<String> = snake(&self.key)
            .split('_')
            .map(|word| match word {
                "s" | "sec" => "seconds".to_string(),
                "ms" => "milliseconds".to_string(),
                "us" => "microseconds".to_string(),
                "ns" => "nanoseconds".to_string(),
                "h" => "hours".to_string(),
                "d" => "days".to_string(),
                "m" | "b" | "kb" | "mb" | "gb" | "tb" | "pb" => format!("{word}_unit"),
                other => other.to_string(),
            })
            .collect();
        let mut name = words.join("_");
        let reserved = ["count", "sum", "bucket", "total"];
        if !self.is_counter()
            && reserved
                .iter()
                .any(|r| name == *r || name.ends_with(&format!("_{r}")))
        {
            name.push_str("_value");
        }
        name
    }

    /// The ENERGY total: a counter, not a gauge.
    pub fn is_counter(&self) -> bool {
        self.sensor.eq_ignore_ascii_case("ENERGY") && self.key == "Total"
    }

    /// The unit a person reads beside the value, from the key and the device's unit words.
    pub fn unit<'a>(&self, units: &'a Units) -> &'a str {
        let energy = self.sensor.eq_ignore_ascii_case("ENERGY");
        let key = self.key.trim_end_matches(|c: char| c.is_ascii_digit());
        match key {
            "Temperature" | "DewPoint" => units.temperature.as_str(),
            "Pressure" | "SeaPressure" => units.pressure.as_str(),
            "Humidity" => "%",
            "Illuminance" => "lx",
            "CarbonDioxide" | "eCO2" => "ppm",
            "Distance" => "cm",
            "power_state" => "",
            "UptimeSeconds" => "s",
            "Signal" => "dBm",
            "RSSI" => "%",
            "Power" | "Power_curr" if energy || key == "Power_curr" => "W",
            "ApparentPower" => "VA",
            "ReactivePower" => "var",
            "Voltage" => "V",
            "Current" => "A",
            "Total" | "Yesterday" | "Today" if energy => "kWh",
            "Period" if energy => "Wh",
            _ => "",
        }
    }
}

/// The unit words a device sends beside its readings (`TempUnit`, `PressureUnit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub temperature: String,
    pub pressure: String,
}

impl Units {
    pub fn of(sensors: &Map<String, Value>) -> Units {
        let word = |key: &str, default: &str| {
            sensors
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        let temperature = match word("TempUnit", "C").as_str() {
            "C" => "°C".to_string(),
            "F" => "°F".to_string(),
            other => other.to_string(),
        };
        Units {
            temperature,
            pressure: word("PressureUnit", "hPa"),
        }
    }
}

/// Every reading of a device: its StatusSNS, then the power states, uptime and Wi-Fi signal
/// from its StatusSTS.
pub fn readings(
    sensors: Option<&Map<String, Value>>,
    state: Option<&Map<String, Value>>,
) -> Vec<Reading> {
    let mut out = Vec::new();
    if let Some(sensors) = sensors {
        for (name, value) in sensors {
            if name == "Time" {
                continue;
            }
            match value {
                Value::Object(object) => {
                    let id = object.get("Id").and_then(|id| match id {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    });
                    let sensor = non_empty(name);
                    for (key, leaf) in object {
                        if key != "Id" {
                            leaves(&sensor, &id, non_empty(key), leaf, &mut out);
                        }
                    }
                }
                other => leaves("device", &None, non_empty(name), other, &mut out),
            }
        }
    }
    if let Some(state) = state {
        for (key, value) in state {
            let Some(index) = key.strip_prefix("POWER") else {
                continue;
            };
            if !index.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let on = match value.as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("ON" | "1") => "1",
                Some("OFF" | "0") => "0",
                _ => continue,
            };
            let index = if index.is_empty() { "1" } else { index };
            out.push(device_reading(
                format!("power_state{index}"),
                on.to_string(),
            ));
        }
        if let Some(n) = state.get("UptimeSec").and_then(number) {
            out.push(device_reading("UptimeSeconds".into(), n));
        }
        for key in ["RSSI", "Signal"] {
            if let Some(n) = state.get("Wifi").and_then(|w| w.get(key)).and_then(number) {
                out.push(device_reading(key.into(), n));
            }
        }
    }
    out
}

fn device_reading(key: String, value: String) -> Reading {
    Reading {
        sensor: "device".into(),
        id: None,
        key,
        value,
    }
}

/// The number's text, if the value is a number (a number in a string is not a reading).
fn number(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An empty name (SML scripts) is `value`.
fn non_empty(name: &str) -> String {
    if name.is_empty() {
        "value".into()
    } else {
        name.to_string()
    }
}

fn leaves(sensor: &str, id: &Option<String>, key: String, value: &Value, out: &mut Vec<Reading>) {
    match value {
        Value::Number(n) => out.push(Reading {
            sensor: sensor.to_string(),
            id: id.clone(),
            key,
            value: n.to_string(),
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(n) = number(item) {
                    out.push(Reading {
                        sensor: sensor.to_string(),
                        id: id.clone(),
                        key: format!("{key}{}", i + 1),
                        value: n,
                    });
                }
            }
        }
        Value::Object(object) => {
            for (inner, leaf) in object {
                let joined = format!("{key}_{}", non_empty(inner));
                leaves(sensor, id, joined, leaf, out);
            }
        }
        _ => {}
    }
}

/// `ApparentPower` → `apparent_power`; `PM2.5` → `pm2_5`; anything outside `[a-z0-9_]` → `_`.
/// (Prometheus naming rules on top of this are the Prometheus writer's business.)
pub fn snake(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            previous_lower = true;
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() { "value".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Map<String, Value> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tasmota-payloads")
            .join(format!("{name}.json"));
        let capture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let payload: Value = serde_json::from_str(capture["payload"].as_str().unwrap()).unwrap();
        match payload {
            Value::Object(mut map) => match map.remove("StatusSTS") {
                Some(Value::Object(sts)) => sts,
                _ => map,
            },
            _ => panic!("{name} is not an object"),
        }
    }

    fn flat(readings: &[Reading]) -> Vec<String> {
        readings
            .iter()
            .map(|r| match &r.id {
                Some(id) => format!("{}[{id}].{}={}", r.sensor, r.key, r.value),
                None => format!("{}.{}={}", r.sensor, r.key, r.value),
            })
            .collect()
    }

    #[test]
    fn every_sensor_shape_in_the_captures() {
        assert_eq!(
            flat(&readings(Some(&fixture("sensor-ds18b20")), None)),
            ["DS18B20[030597946B04].Temperature=20.9"]
        );
        assert_eq!(
            flat(&readings(
                Some(&fixture("sensor-energy-sonoff-pow-r2")),
                None
            )),
            [
                "ENERGY.Total=6.294",
                "ENERGY.Yesterday=5.340",
                "ENERGY.Today=0.954",
                "ENERGY.Period=217",
                "ENERGY.Power=2635",
                "ENERGY.ApparentPower=2650",
                "ENERGY.ReactivePower=282",
                "ENERGY.Factor=0.99",
                "ENERGY.Voltage=227",
                "ENERGY.Current=11.661",
            ]
        );
        assert_eq!(
            flat(&readings(
                Some(&fixture("sensor-v9.5.0-ds18s20-am2301")),
                None
            )),
            [
                "DS18S20[000802E7DE83].Temperature=4.8",
                "AM2301.Temperature=25.9",
                "AM2301.Humidity=80.7",
                "AM2301.DewPoint=22.3",
            ]
        );
        // nulls are no readings; indexed names are kept as sent
        assert_eq!(
            flat(&readings(
                Some(&fixture("sensor-v8.5.0-null-values-indexed-names")),
                None
            )),
            ["COUNTER.C1=0", "COUNTER.C3=0", "ANALOG.A0=4"]
        );
        assert_eq!(
            flat(&readings(
                None,
                Some(&fixture("status11-sts-v8.5.0-two-relays-dimmer"))
            )),
            [
                "device.power_state1=0",
                "device.power_state2=0",
                "device.UptimeSeconds=22456",
                "device.RSSI=80",
                "device.Signal=-60",
            ]
        );
    }

    #[test]
    fn arrays_empty_keys_strings_and_nesting() {
        let sensors: Map<String, Value> = serde_json::from_str(
            r#"{"Time":"x","ENERGY":{"Power":[12,0],"Voltage":230,"TotalStartTime":"2020"},
                "":{"Power_curr":5,"":7},"PressureUnit":"hPa","Top":3,
                "Zb":{"Link":{"Q":12}},"S":{"N":"12"},"Big":{"N":123456789012345678901234567890}}"#,
        )
        .unwrap();
        assert_eq!(
            flat(&readings(Some(&sensors), None)),
            [
                "ENERGY.Power1=12",
                "ENERGY.Power2=0",
                "ENERGY.Voltage=230",
                "value.Power_curr=5",
                "value.value=7",
                "device.Top=3",
                "Zb.Link_Q=12",
                "Big.N=123456789012345678901234567890",
            ]
        );
    }

    #[test]
    fn names_for_metrics() {
        for (key, snake_key) in [
            ("ApparentPower", "apparent_power"),
            ("Temperature", "temperature"),
            ("PM2.5", "pm2_5"),
            ("Power_curr", "power_curr"),
            ("C1", "c1"),
            ("power_state2", "power_state2"),
            ("UptimeSeconds", "uptime_seconds"),
            ("RSSI", "rssi"),
            ("eCO2", "e_co2"),
            ("Ü", "value"),
        ] {
            assert_eq!(snake(key), snake_key, "{key}");
        }
    }

    #[test]
    fn units_from_the_device() {
        let sensors: Map<String, Value> =
            serde_json::from_str(r#"{"TempUnit":"F","PressureUnit":"mmHg"}"#).unwrap();
        let units = Units::of(&sensors);
        let r = |sensor: &str, key: &str| Reading {
            sensor: sensor.into(),
            id: None,
            key: key.into(),
            value: "1".into(),
        };
        assert_eq!(r("AM2301", "Temperature").unit(&units), "°F");
        assert_eq!(r("BME280", "Pressure").unit(&units), "mmHg");
        assert_eq!(r("ENERGY", "Total").unit(&units), "kWh");
        assert_eq!(r("ENERGY", "Power2").unit(&units), "W");
        assert!(r("ENERGY", "Total").is_counter());
        assert!(!r("COUNTER", "Total").is_counter());
    }
}
