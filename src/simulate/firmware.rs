//! One virtual Tasmota device: its settings, named as the firmware names them, its outputs,
//! and how it answers, message for message (tasmota-mqtt.md sections 2 to 5).
//!
//! Pure logic: a command in, `Effects` out (what to publish now, what to run later, as a
//! Backlog does). Topics come from the shared grammar in `topic.rs`; payload shapes follow the
//! firmware version the device claims, and the tests hold them against real captures.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::grammar::{self, Prefix, TopicSettings};
use super::settings::Handled;
use super::transfer;

/// How a command reached the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Own,
    Group,
    /// Replies go to `stat/<MqttClient>_fb/...` with the built-in words.
    Fallback,
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pub {
    pub topic: String,
    pub payload: String,
    pub retain: bool,
}

/// What a command does.
#[derive(Debug, Default)]
pub struct Effects {
    pub publish: Vec<Pub>,
    /// Commands to run later (Backlog items): after this long, via, command, payload.
    pub later: Vec<(Duration, Via, String, String)>,
    /// The device restarts after this long (a restored configuration, an upgrade).
    pub restart: Option<Duration>,
    /// Messages whose payload is raw bytes (binary file transfer chunks): topic, bytes.
    pub binary: Vec<(String, Vec<u8>)>,
    /// An OTA download to run after this long, from this URL (blocking, as on the device).
    pub fetch: Option<(Duration, String)>,
}

/// The settings of one device. Names follow the firmware's commands.
#[derive(Debug, Clone)]
pub struct Firmware {
    pub topic: String,
    /// FullTopic and Prefix1-3.
    pub topics: TopicSettings,
    pub group_topics: Vec<String>,
    pub mqtt_client: String,
    pub mac: String,
    pub hostname: String,
    pub ip: String,
    pub device_name: String,
    pub friendly_names: Vec<String>,
    pub module: String,
    /// `13.1.0.1`, or with a build tag: `8.1.0.2(1e06976-tasmota)`.
    pub version: String,
    /// SetOptions and the settings `config` plays (settings.rs).
    pub store: super::settings::Store,
    /// A setting asked for a restart: it comes once the Backlog queue is empty.
    pub restart_flag: bool,
    /// A new Topic: the firmware takes it at the next boot.
    pub pending_topic: Option<String>,
    /// When the Backlog queue runs dry.
    pub backlog_until: Instant,
    pub state_text: [String; 4],
    pub tele_period: u32,
    pub power_retain: bool,
    /// The MQTT password the device knows, which file transfers must present.
    pub mqtt_password: String,
    /// The chip family, as settings byte 0xF36 stores it: 0 ESP8266, 1 ESP32, 2 S3, 3 S2, 4 C3.
    pub chip: u8,
    /// The file transfer in progress, if any.
    pub transfer: transfer::Session,
    /// Where `Upgrade` downloads from.
    pub ota_url: String,
    /// The build has OTA (`Upgrade`, `OtaUrl`); without, they are unknown commands.
    pub ota: bool,
    /// The flash is too small for the full image: an upgrade passes through the minimal build.
    pub ota_minimal: bool,
    /// What the next boot runs: set by a successful download.
    pub next_version: Option<String>,
    /// Why the device last started, for INFO3.
    pub restart_reason: &'static str,
    /// A dimmable light: its power is the last output.
    pub dimmer: Option<u8>,
    /// A sensor reported in SENSOR and StatusSNS: its name (AM2301, DS18B20, ...).
    pub sensor: Option<String>,
    /// Connected and answering; an offline device only leaves its retained traces.
    pub online: bool,
    pub lwt_online: String,
    pub lwt_offline: String,
    /// Output states, one per power device (relays, then the light).
    pub power: Vec<bool>,
    pub boot: Instant,
}

/// `OtaUrl` after a reset.
const DEFAULT_OTA_URL: &str = "http://ota.tasmota.com/tasmota/release/tasmota.bin.gz";

/// Parses `13.1.0.1(tasmota)` into comparable numbers.
fn version_numbers(version: &str) -> Vec<u32> {
    version
        .split('(')
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

impl Firmware {
    /// A device with the firmware's defaults for this MAC.
    pub fn new(mac: &str) -> Firmware {
        let mac = grammar::mac(mac).unwrap_or_else(|| "A0B765000000".into());
        let topic = grammar::default_topic(&mac);
        let chip = u32::from_str_radix(&mac[6..], 16).unwrap_or(0) & 0x1FFF;
        Firmware {
            hostname: format!("{}-{chip:04}", topic.replace('_', "-")),
            mqtt_client: grammar::default_mqtt_client(&mac),
            topic,
            topics: TopicSettings::default(),
            group_topics: vec![grammar::DEFAULT_GROUP_TOPIC.into()],
            ip: format!(
                "192.168.{}.{}",
                u8::from_str_radix(&mac[8..10], 16).unwrap_or(1),
                u8::from_str_radix(&mac[10..], 16).unwrap_or(1).max(1)
            ),
            mac,
            device_name: "Tasmota".into(),
            friendly_names: vec!["Tasmota".into()],
            module: "Generic".into(),
            version: "14.3.0".into(),
            store: super::settings::Store::default(),
            restart_flag: false,
            pending_topic: None,
            backlog_until: Instant::now(),
            state_text: ["OFF", "ON", "TOGGLE", "HOLD"].map(String::from),
            tele_period: 300,
            power_retain: false,
            mqtt_password: String::new(),
            chip: 0,
            transfer: transfer::Session::Closed,
            ota_url: DEFAULT_OTA_URL.into(),
            ota: true,
            ota_minimal: false,
            next_version: None,
            restart_reason: "Power On",
            dimmer: None,
            sensor: None,
            online: true,
            lwt_online: "Online".into(),
            lwt_offline: "Offline".into(),
            power: vec![false],
            boot: Instant::now(),
        }
    }

    pub(super) fn at_least(&self, wanted: &[u32]) -> bool {
        version_numbers(&self.version).as_slice() >= wanted
    }

    /// The version with its build tag, as Status and INFO1 show it.
    fn version_tagged(&self) -> String {
        if self.version.contains('(') {
            self.version.clone()
        } else {
            format!("{}(tasmota)", self.version)
        }
    }

    pub fn fallback(&self) -> String {
        grammar::fallback(&self.mqtt_client)
    }

    /// `GetTopic_P` with this device's settings: its own topic of one prefix.
    fn own(&self, prefix: Prefix, suffix: &str) -> String {
        self.topic_of(prefix, &self.topic, suffix)
    }

    /// `GetTopic_P` with another value for `%topic%` (a group topic).
    fn topic_of(&self, prefix: Prefix, topic: &str, suffix: &str) -> String {
        self.topics
            .topic(prefix, topic, &self.hostname, &self.mac, suffix)
    }

    /// Where replies go: the device's own stat topic, or the fallback's (built-in word).
    fn stat(&self, via: Via, suffix: &str) -> String {
        match via {
            Via::Fallback => format!(
                "{}/{}/{suffix}",
                grammar::PREFIXES[Prefix::Stat as usize],
                self.fallback()
            ),
            _ => self.own(Prefix::Stat, suffix),
        }
    }

    pub fn lwt_topic(&self) -> String {
        self.own(Prefix::Tele, "LWT")
    }

    /// The cmnd bases the device listens on, and how each reaches it (tasmota-mqtt.md 1.8).
    pub fn subscriptions(&self) -> Vec<(String, Via)> {
        let mut subs = vec![(self.own(Prefix::Cmnd, ""), Via::Own)];
        if self.topics.has_topic() {
            for group in &self.group_topics {
                subs.push((self.topic_of(Prefix::Cmnd, group, ""), Via::Group));
            }
            subs.push((
                format!(
                    "{}/{}/",
                    grammar::PREFIXES[Prefix::Cmnd as usize],
                    self.fallback()
                ),
                Via::Fallback,
            ));
        }
        subs
    }

    /// The word of one prefix, an empty setting counting as its default.
    fn prefix_word(&self, prefix: Prefix) -> &str {
        match self.topics.prefixes[prefix as usize].as_str() {
            "" => grammar::PREFIXES[prefix as usize],
            word => word,
        }
    }

    fn uptime(&self) -> (String, u64) {
        let secs = self.boot.elapsed().as_secs();
        let text = format!(
            "{}T{:02}:{:02}:{:02}",
            secs / 86_400,
            secs / 3600 % 24,
            secs / 60 % 60,
            secs % 60
        );
        (text, secs)
    }

    fn power_key(&self, index: usize) -> String {
        if self.power.len() == 1 && !self.so(26) {
            "POWER".into()
        } else {
            format!("POWER{index}")
        }
    }

    fn state_word(&self, on: bool) -> &str {
        &self.state_text[usize::from(on)]
    }

    /// A JSON reply: RESULT, or the command's own topic with SetOption4.
    pub(super) fn reply(&self, via: Via, command: &str, body: Value, out: &mut Effects) {
        let suffix = if self.so(4) { command } else { "RESULT" };
        out.publish.push(Pub {
            topic: self.stat(via, suffix),
            payload: body.to_string(),
            retain: false,
        });
    }

    /// The JSON and the plain-text publication of one output (MqttPublishPowerState).
    fn publish_power(&self, via: Via, index: usize, out: &mut Effects) {
        let key = self.power_key(index);
        let word = self.state_word(self.power[index - 1]).to_string();
        self.reply(via, &key, json!({ key.clone(): word.clone() }), out);
        out.publish.push(Pub {
            topic: self.stat(via, &key),
            payload: word,
            retain: self.power_retain,
        });
    }

    /// What the device publishes on every connect, and on the first after boot.
    pub fn on_connect(&self) -> Effects {
        let mut out = Effects::default();
        let push = |out: &mut Effects, topic: String, payload: String, retain: bool| {
            out.publish.push(Pub {
                topic,
                payload,
                retain,
            })
        };
        push(&mut out, self.lwt_topic(), self.lwt_online.clone(), true);
        push(
            &mut out,
            self.own(Prefix::Cmnd, "POWER"),
            String::new(),
            false,
        );
        let (info1, info2, info3) = self.info();
        push(
            &mut out,
            self.own(Prefix::Tele, "INFO1"),
            info1.to_string(),
            false,
        );
        push(
            &mut out,
            self.own(Prefix::Tele, "INFO2"),
            info2.to_string(),
            false,
        );
        push(
            &mut out,
            self.own(Prefix::Tele, "INFO3"),
            info3.to_string(),
            false,
        );
        for index in 1..=self.power.len() {
            self.publish_power(Via::Own, index, &mut out);
        }
        out.publish.extend(self.discovery());
        out
    }

    /// Every topic the device may have left a retained message on: its LWT, its discovery
    /// messages, and its power states with PowerRetain. What `simulate --clean` clears.
    pub fn retained_topics(&self) -> Vec<String> {
        let mut topics = vec![
            self.lwt_topic(),
            format!("tasmota/discovery/{}/config", self.mac),
            format!("tasmota/discovery/{}/sensors", self.mac),
        ];
        if self.power_retain {
            topics
                .extend((1..=self.power.len()).map(|i| self.own(Prefix::Stat, &self.power_key(i))));
        }
        topics
    }

    /// The retained traces a device leaves: discovery and its LWT.
    pub fn retained(&self, online: bool) -> Vec<Pub> {
        let mut traces = self.discovery();
        let lwt = if online {
            &self.lwt_online
        } else {
            &self.lwt_offline
        };
        traces.push(Pub {
            topic: self.lwt_topic(),
            payload: lwt.clone(),
            retain: true,
        });
        traces
    }

    fn group_prefix(&self) -> String {
        let group = self
            .group_topics
            .first()
            .map_or(grammar::DEFAULT_GROUP_TOPIC, String::as_str);
        self.topic_of(Prefix::Cmnd, group, "")
    }

    fn info(&self) -> (Value, Value, Value) {
        let info1 = json!({
            "Module": self.module,
            "Version": self.version_tagged(),
            "FallbackTopic": format!("cmnd/{}/", self.fallback()),
            "GroupTopic": self.group_prefix(),
        });
        let info2 =
            json!({"WebServerMode": "Admin", "Hostname": self.hostname, "IPAddress": self.ip});
        let info3 = json!({"RestartReason": self.restart_reason, "BootCount": 1});
        if self.at_least(&[9, 5]) {
            (
                json!({ "Info1": info1 }),
                json!({ "Info2": info2 }),
                json!({ "Info3": info3 }),
            )
        } else {
            (info1, info2, info3)
        }
    }

    /// Native discovery (9.1 and later, unless SetOption19 turned it off).
    fn discovery(&self) -> Vec<Pub> {
        if !self.at_least(&[9, 1]) || self.so(19) {
            return Vec::new();
        }
        let new = self.at_least(&[11]);
        let (outputs, switches) = if new { (32, 28) } else { (8, 8) };
        let relays = self.power.len() - usize::from(self.dimmer.is_some());
        let named = self.power.len().max(1);
        let fnames: Vec<Value> = (0..8)
            .map(|i| {
                if i < named {
                    Value::from(self.friendly_names.get(i).cloned().unwrap_or_default())
                } else {
                    Value::Null
                }
            })
            .collect();
        let rl: Vec<u8> = (0..outputs)
            .map(|i| {
                if i < relays {
                    1
                } else if i < self.power.len() {
                    2
                } else {
                    0
                }
            })
            .collect();
        let mut config = json!({
            "ip": self.ip,
            "dn": self.device_name,
            "fn": fnames,
            "hn": self.hostname,
            "mac": self.mac,
            "md": self.module,
            "ty": 0,
            "if": 0,
            "ofln": self.lwt_offline,
            "onln": self.lwt_online,
            "state": self.state_text,
            "sw": self.version.split('(').next().unwrap_or_default(),
            "t": self.topic,
            "ft": self.topics.full_topic,
            "tp": [self.prefix_word(Prefix::Cmnd), self.prefix_word(Prefix::Stat), self.prefix_word(Prefix::Tele)],
            "rl": rl,
            "swc": vec![-1; switches],
            "swn": vec![Value::Null; switches],
            "btn": vec![0; outputs],
            "so": {"4": u8::from(self.so(4)), "11": 0, "13": 0, "17": 0, "20": 0, "30": 0, "68": 0, "73": 0, "82": 0, "114": 0, "117": 0},
            "lk": 0,
            "lt_st": u8::from(self.dimmer.is_some()),
        });
        let object = config.as_object_mut().expect("a JSON object");
        if self.at_least(&[13]) {
            object.insert("bat".into(), json!(0));
            object.insert("dslp".into(), json!(0));
        }
        if new {
            object.insert("sho".into(), json!([]));
            object.insert("sht".into(), json!([]));
        } else {
            object.insert("sho".into(), json!([0, 0, 0, 0]));
        }
        object.insert("ver".into(), json!(1));
        let mut out = vec![Pub {
            topic: format!("tasmota/discovery/{}/config", self.mac),
            payload: config.to_string(),
            retain: true,
        }];
        if let Some(sensor) = self.sensor_object() {
            out.push(Pub {
                topic: format!("tasmota/discovery/{}/sensors", self.mac),
                payload: json!({"sn": sensor, "ver": 1}).to_string(),
                retain: true,
            });
        }
        out
    }

    /// The STATE telemetry object (also StatusSTS and the `State` reply).
    pub fn state(&self) -> Value {
        let (uptime, secs) = self.uptime();
        let mut state = json!({
            "Time": crate::clock::firmware_time(),
            "Uptime": uptime,
            "UptimeSec": secs,
            "Heap": 26,
            "SleepMode": "Dynamic",
            "Sleep": 50,
            "LoadAvg": 19,
            "MqttCount": 1,
        });
        let object = state.as_object_mut().expect("a JSON object");
        for index in 1..=self.power.len() {
            object.insert(
                self.power_key(index),
                json!(self.state_word(self.power[index - 1])),
            );
        }
        if let Some(dimmer) = self.dimmer {
            object.insert("Dimmer".into(), json!(dimmer));
            object.insert("Fade".into(), json!("OFF"));
            object.insert("Speed".into(), json!(1));
            object.insert("LedTable".into(), json!("ON"));
        }
        let mut wifi = json!({"AP": 1, "SSId": "tasctl-sim", "BSSId": "A0:40:A0:89:8F:50", "Channel": 7, "Mode": "11n", "RSSI": 80, "Signal": -60, "LinkCount": 1, "Downtime": "0T00:00:03"});
        if !self.at_least(&[9]) {
            wifi.as_object_mut()
                .expect("a JSON object")
                .shift_remove("Mode");
        }
        object.insert("Wifi".into(), wifi);
        state
    }

    /// The SENSOR telemetry object, when the device has something to report. Values drift
    /// slowly with the uptime, rounded as the firmware rounds them (one decimal for climate,
    /// three for kWh); ENERGY follows the first output.
    pub fn sensor_object(&self) -> Option<Value> {
        let name = self.sensor.as_ref()?;
        let secs = self.boot.elapsed().as_secs_f64();
        // A number with the firmware's fixed decimals (`0.000`), kept as written.
        let round = |v: f64, places: usize| -> Value {
            serde_json::from_str(&format!("{v:.places$}")).unwrap_or(Value::Null)
        };
        let drift = (secs / 60.0).sin();
        let on = |i: usize| self.power.get(i).copied().unwrap_or(false);
        // Watts as the firmware prints them: whole numbers.
        let load = |i: usize| {
            if on(i) {
                (60.0 + 4.0 * drift).round() as i64
            } else {
                0
            }
        };
        let (key, reading) = match name.as_str() {
            "DS18B20" => (
                "DS18B20",
                json!({"Id": "030597946B04", "Temperature": round(20.9 + 0.5 * drift, 1)}),
            ),
            "ENERGY" => {
                let watts = load(0);
                (
                    "ENERGY",
                    json!({
                        "TotalStartTime": "2026-01-01T00:00:00",
                        "Total": round(12.5 + secs / 36_000.0, 3),
                        "Yesterday": round(0.742, 3),
                        "Today": round(0.1 + secs / 36_000.0, 3),
                        "Power": watts,
                        "ApparentPower": (watts as f64 * 1.04).round() as i64,
                        "ReactivePower": (watts as f64 * 0.28).round() as i64,
                        "Factor": round(if watts > 0 { 0.96 } else { 0.0 }, 2),
                        "Voltage": (230.0 + 2.0 * drift).round() as i64,
                        "Current": round(watts as f64 / 230.0, 3),
                    }),
                )
            }
            // Shelly 2.5 style: one value per channel where the meter measures each.
            "ENERGY3" => {
                let watts = [load(0), load(1)];
                (
                    "ENERGY",
                    json!({
                        "TotalStartTime": "2026-01-01T00:00:00",
                        "Total": round(3.25 + secs / 36_000.0, 3),
                        "Yesterday": round(0.35, 3),
                        "Today": round(0.05 + secs / 36_000.0, 3),
                        "Period": [0, 0],
                        "Power": watts,
                        "ApparentPower": watts.map(|w| (w as f64 * 1.05).round() as i64),
                        "ReactivePower": watts.map(|w| (w as f64 * 0.3).round() as i64),
                        "Factor": watts.map(|w| round(if w > 0 { 0.95 } else { 0.0 }, 2)),
                        "Voltage": (231.0 + 2.0 * drift).round() as i64,
                        "Current": watts.map(|w| round(w as f64 / 231.0, 3)),
                    }),
                )
            }
            other => (
                other,
                json!({
                    "Temperature": round(21.3 + 0.8 * drift, 1),
                    "Humidity": round(45.0 - 3.0 * drift, 1),
                    "DewPoint": round(9.0 + 0.5 * drift, 1),
                }),
            ),
        };
        let mut object = json!({"Time": crate::clock::firmware_time(), key: reading});
        if key != "ENERGY" {
            object["TempUnit"] = json!("C");
        }
        Some(object)
    }

    /// Periodic telemetry: STATE, and SENSOR when there is a sensor.
    pub fn telemetry(&self) -> Vec<Pub> {
        let mut out = vec![Pub {
            topic: self.own(Prefix::Tele, "STATE"),
            payload: self.state().to_string(),
            retain: false,
        }];
        if let Some(sensor) = self.sensor_object() {
            out.push(Pub {
                topic: self.own(Prefix::Tele, "SENSOR"),
                payload: sensor.to_string(),
                retain: false,
            });
        }
        out
    }

    fn status_section(&self, n: u8) -> Option<(String, Value)> {
        let power_mask: u32 = self
            .power
            .iter()
            .enumerate()
            .map(|(i, &on)| u32::from(on) << i)
            .sum();
        let section = match n {
            0 => {
                let mut status = json!({
                    "Module": 0,
                    "DeviceName": self.device_name,
                    "FriendlyName": self.friendly_names,
                    "Topic": self.topic,
                    "ButtonTopic": "0",
                });
                let object = status.as_object_mut().expect("a JSON object");
                if self.at_least(&[14]) {
                    let bits: String = self
                        .power
                        .iter()
                        .rev()
                        .map(|&on| if on { '1' } else { '0' })
                        .collect();
                    object.insert("Power".into(), json!(bits));
                    object.insert("PowerLock".into(), json!("0".repeat(self.power.len())));
                } else {
                    object.insert("Power".into(), json!(power_mask));
                }
                let switches = if self.at_least(&[14]) { 32 } else { 8 };
                for (k, v) in [
                    ("PowerOnState", json!(3)),
                    ("LedState", json!(1)),
                    ("LedMask", json!("FFFF")),
                    ("SaveData", json!(1)),
                    ("SaveState", json!(1)),
                    ("SwitchTopic", json!("0")),
                    ("SwitchMode", json!(vec![0; switches])),
                    ("ButtonRetain", json!(0)),
                    ("SwitchRetain", json!(0)),
                    ("SensorRetain", json!(0)),
                    ("PowerRetain", json!(u8::from(self.power_retain))),
                ] {
                    object.insert(k.into(), v);
                }
                if self.at_least(&[12]) {
                    for k in ["InfoRetain", "StateRetain", "StatusRetain"] {
                        object.insert(k.into(), json!(0));
                    }
                }
                ("Status", status)
            }
            1 => (
                "StatusPRM",
                json!({"Baudrate": 115200, "SerialConfig": "8N1", "GroupTopic": self.group_topics.first(), "OtaUrl": self.ota_url, "RestartReason": self.restart_reason, "Uptime": self.uptime().0, "StartupUTC": crate::clock::firmware_time(), "Sleep": 50, "CfgHolder": 4617, "BootCount": 1, "BCResetTime": crate::clock::firmware_time(), "SaveCount": 1}),
            ),
            2 => (
                "StatusFWR",
                json!({"Version": self.version_tagged(), "BuildDateTime": "2024-12-15T13:33:11", "Boot": 31, "Core": "2_7_8", "SDK": "2.2.2-dev(38a443e)", "CpuFrequency": 80, "Hardware": self.hardware(), "CR": "378/699"}),
            ),
            3 => (
                "StatusLOG",
                json!({"SerialLog": 2, "WebLog": 2, "MqttLog": 0, "SysLog": 0, "LogHost": "", "LogPort": 514, "SSId": self.store.ssid, "TelePeriod": self.tele_period, "Resolution": "558180C0", "SetOption": self.store.status3()}),
            ),
            4 => (
                "StatusMEM",
                json!({"ProgramSize": 629, "Free": 372, "Heap": 26, "ProgramFlashSize": 1024, "FlashSize": 4096, "FlashChipId": "1640EF", "FlashFrequency": 40, "FlashMode": "DOUT", "Features": ["0809", "8FDAC787", "04368001", "000000CF", "010013C0", "C000F989", "00004004", "00001000", "54000020", "00000080"], "Drivers": "1,2,3,4,5,6,7,8,9,10,12,16,18,19,20,21,22,24,26,27,29,30,35,37,45,62", "Sensors": "1,2,3,4,5,6"}),
            ),
            5 => {
                let mac = self
                    .mac
                    .as_bytes()
                    .chunks(2)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join(":");
                let mut net = json!({"Hostname": self.hostname, "IPAddress": self.ip, "Gateway": "192.168.1.1", "Subnetmask": "255.255.255.0"});
                let object = net.as_object_mut().expect("a JSON object");
                if self.at_least(&[10]) {
                    object.insert("DNSServer1".into(), json!("192.168.1.1"));
                    object.insert("DNSServer2".into(), json!("0.0.0.0"));
                } else {
                    object.insert("DNSServer".into(), json!("192.168.1.1"));
                }
                object.insert("Mac".into(), json!(mac));
                object.insert("Webserver".into(), json!(2));
                if self.at_least(&[12]) {
                    object.insert("HTTP_API".into(), json!(1));
                }
                object.insert("WifiConfig".into(), json!(4));
                object.insert("WifiPower".into(), json!(17.0));
                ("StatusNET", net)
            }
            6 => (
                "StatusMQT",
                json!({"MqttHost": "broker", "MqttPort": 1883, "MqttClientMask": "DVES_%06X", "MqttClient": self.mqtt_client, "MqttUser": "DVES_USER", "MqttCount": 1, "MAX_PACKET_SIZE": 1200, "KEEPALIVE": 30, "SOCKET_TIMEOUT": 4}),
            ),
            7 => (
                "StatusTIM",
                json!({"UTC": format!("{}Z", crate::clock::firmware_time()), "Local": crate::clock::firmware_time(), "StartDST": "2026-03-29T02:00:00", "EndDST": "2026-10-25T03:00:00", "Timezone": "+00:00", "Sunrise": "07:50", "Sunset": "18:17"}),
            ),
            8 | 10 => (
                "StatusSNS",
                self.sensor_object()
                    .unwrap_or_else(|| json!({"Time": crate::clock::firmware_time()})),
            ),
            11 => ("StatusSTS", self.state()),
            _ => return None, // 9 (energy), 12 (crash), 13 (shutters): not on this device
        };
        Some((
            if n == 0 {
                "STATUS".into()
            } else {
                format!("STATUS{n}")
            },
            json!({ section.0: section.1 }),
        ))
    }

    /// A command as it arrives, its payload raw: a file transfer chunk on a binary index
    /// (above 299) keeps its bytes; everything else is text.
    pub fn command_bytes(&mut self, via: Via, name: &str, payload: &[u8]) -> Effects {
        let upper = name.to_ascii_uppercase();
        let command = upper.trim_end_matches(|c: char| c.is_ascii_digit());
        let index: Option<usize> = upper[command.len()..].parse().ok();
        if command == "FILEUPLOAD" && index.is_some_and(|i| i > 299) && self.online {
            let mut out = Effects::default();
            self.upload_binary(via, payload, &mut out);
            return out;
        }
        self.command(via, name, &String::from_utf8_lossy(payload))
    }

    /// Runs one command as the firmware's CommandHandler does. `name` is the last topic level
    /// (`Power2`, `status`, `_Power`); an empty payload or `?` is a query.
    pub fn command(&mut self, via: Via, name: &str, payload: &str) -> Effects {
        let mut out = Effects::default();
        if !self.online {
            return out;
        }
        let (silent, name) = match name.strip_prefix('_') {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let upper = name.to_ascii_uppercase();
        let command = upper.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits = &upper[command.len()..];
        let index: Option<usize> = if digits.is_empty() {
            None
        } else {
            digits.parse().ok()
        };
        let payload = payload.trim_start();
        let payload = if payload == "?" { "" } else { payload };
        // Settings that identify the device are not changed through a group topic.
        let protected = matches!(
            command,
            "TOPIC" | "BUTTONTOPIC" | "SWITCHTOPIC" | "MQTTCLIENT" | "HOSTNAME"
        );
        let payload = if via == Via::Group && protected {
            ""
        } else {
            payload
        };
        // A minimal build (since 11.0.0.4) keeps only what it needs to get the full image.
        let minimal_keeps = [
            "UPGRADE",
            "UPLOAD",
            "OTAURL",
            "SERIALLOG",
            "WEBLOG",
            "RESTART",
        ];
        if self.version.contains("(minimal)") && !minimal_keeps.contains(&command) {
            self.reply(via, command, json!({"Command": "Unknown"}), &mut out);
            return out;
        }

        match command {
            "POWER" => self.cmd_power(via, index, payload, &mut out),
            "STATE" => self.reply(via, "STATE", self.state(), &mut out),
            "STATUS" => self.cmd_status(via, index, payload, &mut out),
            "BACKLOG" => return self.cmd_backlog(via, index.unwrap_or(1), payload),
            "DIMMER" if self.dimmer.is_some() => {
                if let Ok(level) = payload.parse::<u8>() {
                    let level = level.min(100);
                    self.dimmer = Some(level);
                    let last = self.power.len();
                    self.power[last - 1] = level > 0;
                }
                let key = self.power_key(self.power.len());
                let body = json!({ key: self.state_word(*self.power.last().unwrap_or(&false)), "Dimmer": self.dimmer });
                self.reply(via, "DIMMER", body, &mut out);
            }
            "OTAURL" if self.ota => {
                match payload {
                    "" => {}
                    "1" => self.ota_url = DEFAULT_OTA_URL.into(),
                    url => self.ota_url = url.chars().take(100).collect(),
                }
                self.reply(via, "OTAURL", json!({"OtaUrl": self.ota_url}), &mut out);
            }
            "UPGRADE" | "UPLOAD" if self.ota => self.cmd_upgrade(via, payload, &mut out),
            "FILEDOWNLOAD" => self.cmd_file_download(via, payload, &mut out),
            "FILEUPLOAD" => self.cmd_file_upload(via, payload, &mut out),
            "DELAY" => {}
            _ if matches!(
                self.setting(via, command, index, payload, &mut out),
                Handled::Yes
            ) => {}
            _ => {
                let topic = if self.so(4) { "COMMAND" } else { "RESULT" };
                out.publish.push(Pub {
                    topic: self.stat(via, topic),
                    payload: json!({"Command": "Unknown"}).to_string(),
                    retain: false,
                });
            }
        }
        if silent {
            out.publish.clear();
        }
        out
    }

    /// `Upgrade 1` downloads from OtaUrl; `Upgrade <version>` only when that is newer than the
    /// running one. The download starts after a three-second countdown (scaled down here).
    fn cmd_upgrade(&mut self, via: Via, payload: &str, out: &mut Effects) {
        let current = self
            .version
            .split('(')
            .next()
            .unwrap_or_default()
            .to_string();
        let go = match payload {
            "1" => true,
            v if v.len() >= 3 => version_numbers(v) > version_numbers(&current),
            _ => false,
        };
        if !go {
            let body = json!({"Upgrade": format!("1 or >{current} to upgrade")});
            return self.reply(via, "UPGRADE", body, out);
        }
        let body = json!({"Upgrade": format!("Version {current} from {}", self.ota_url)});
        self.reply(via, "UPGRADE", body, out);
        out.fetch = Some((Duration::from_millis(150), self.ota_url.clone()));
    }

    /// The download is over: `image` is the file's bytes or the HTTP client's error text. The
    /// verdict always goes to `stat/<topic>/UPGRADE`; success restarts the device.
    pub fn downloaded(&mut self, image: Result<Vec<u8>, String>) -> Effects {
        let mut out = Effects::default();
        let verdict = match image.map(|bytes| image_version(&bytes)) {
            Ok(Some(version)) => {
                let minimal = self.ota_minimal && !self.version.contains("(minimal)");
                self.next_version = Some(if minimal {
                    format!("{version}(minimal)")
                } else {
                    format!("{version}(tasmota)")
                });
                out.restart = Some(Duration::from_millis(150));
                "Successful. Restarting".to_string()
            }
            Ok(None) => "Failed Wrong Magic Byte".to_string(),
            Err(why) => format!("Failed {why}"),
        };
        out.publish.push(Pub {
            topic: self.own(Prefix::Stat, "UPGRADE"),
            payload: json!({"Upgrade": verdict}).to_string(),
            retain: false,
        });
        out
    }

    /// A restart: the new image runs, if one came; a minimal build fetches the full image.
    pub fn reboot(&mut self) -> Effects {
        let mut out = Effects::default();
        self.boot = Instant::now();
        self.transfer = transfer::Session::Closed;
        self.restart_reason = "Software/System restart";
        self.restart_flag = false;
        self.boot_settings();
        if let Some(version) = self.next_version.take() {
            if version.contains("(minimal)") {
                // `OTA: Propagating upload`: the minimal build fetches the full image itself.
                out.fetch = Some((Duration::from_millis(150), self.ota_url.clone()));
            }
            self.version = version;
        }
        out
    }

    /// `{"FileDownload":"..."}` / `{"FileUpload":"..."}` on the plain stat topic of the command's
    /// own name (never RESULT, whatever SetOption4 says).
    fn file_status(&self, via: Via, upload: bool, text: &str, out: &mut Effects) {
        let (key, suffix) = if upload {
            ("FileUpload", "FILEUPLOAD")
        } else {
            ("FileDownload", "FILEDOWNLOAD")
        };
        self.file_reply(via, suffix, json!({ key: text }), out);
    }

    fn file_reply(&self, via: Via, suffix: &str, body: Value, out: &mut Effects) {
        let via = if via == Via::Group { Via::Own } else { via };
        out.publish.push(Pub {
            topic: self.stat(via, suffix),
            payload: body.to_string(),
            retain: false,
        });
    }

    /// StatusFWR's `Hardware` for the chip family.
    fn hardware(&self) -> &'static str {
        match self.chip {
            1 => "ESP32-D0WD-V3",
            2 => "ESP32-S3",
            3 => "ESP32-S2",
            4 => "ESP32-C3",
            _ => "ESP8266EX",
        }
    }

    /// The settings this simulator keeps in the image, firmware names as keys.
    fn settings_text(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Topic", self.topic.clone()),
            ("MqttClient", self.mqtt_client.clone()),
            ("FullTopic", self.topics.full_topic.clone()),
            ("Prefix1", self.topics.prefixes[0].clone()),
            ("Prefix2", self.topics.prefixes[1].clone()),
            ("Prefix3", self.topics.prefixes[2].clone()),
            ("GroupTopic", self.group_topics.join(",")),
            ("DeviceName", self.device_name.clone()),
            ("FriendlyName", self.friendly_names.join(",")),
            ("TelePeriod", self.tele_period.to_string()),
            ("SetOption4", u8::from(self.so(4)).to_string()),
            ("SetOption19", u8::from(self.so(19)).to_string()),
            ("SetOption26", u8::from(self.so(26)).to_string()),
            ("PowerRetain", u8::from(self.power_retain).to_string()),
            ("MqttPassword", self.mqtt_password.clone()),
        ]
    }

    /// Takes over settings from a restored image (the firmware copies bytes 16.. over its own).
    fn apply_settings(&mut self, settings: &[(String, String)]) {
        for (key, value) in settings {
            let flag = || value == "1";
            match key.as_str() {
                "Topic" if !value.is_empty() => self.topic = value.clone(),
                "MqttClient" if !value.is_empty() => self.mqtt_client = value.clone(),
                "FullTopic" if !value.is_empty() => self.topics.full_topic = value.clone(),
                "Prefix1" => self.topics.prefixes[0] = value.clone(),
                "Prefix2" => self.topics.prefixes[1] = value.clone(),
                "Prefix3" => self.topics.prefixes[2] = value.clone(),
                "GroupTopic" => {
                    self.group_topics = value
                        .split(',')
                        .filter(|g| !g.is_empty())
                        .map(String::from)
                        .collect()
                }
                "DeviceName" => self.device_name = value.clone(),
                "FriendlyName" => {
                    self.friendly_names = value.split(',').map(String::from).collect()
                }
                "TelePeriod" => self.tele_period = value.parse().unwrap_or(self.tele_period),
                "SetOption4" => self.store.set_bit(4, flag()),
                "SetOption19" => self.store.set_bit(19, flag()),
                "SetOption26" => self.store.set_bit(26, flag()),
                "PowerRetain" => self.power_retain = flag(),
                "MqttPassword" => self.mqtt_password = value.clone(),
                _ => {}
            }
        }
    }

    /// The image of this device's settings, as a download hands it out.
    pub fn settings_image(&self) -> Vec<u8> {
        transfer::image(&self.version, self.chip, &self.settings_text())
    }

    /// The session-opening checks of `MqttFileValidate`: 5 on a group topic, 1 for a wrong or
    /// missing password, 3 for a type other than 1 or 2.
    fn validate(&self, via: Via, request: &serde_json::Map<String, Value>) -> Result<u8, u8> {
        if via == Via::Group {
            return Err(5);
        }
        // The firmware's JSON parser matches keys without regard to case.
        let get = |key: &str| {
            request
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        };
        if get("Password").and_then(Value::as_str) != Some(self.mqtt_password.as_str()) {
            return Err(1);
        }
        match get("Type").and_then(Value::as_u64) {
            Some(kind @ (1 | 2)) => Ok(kind as u8),
            _ => Err(3),
        }
    }

    fn cmd_file_download(&mut self, via: Via, payload: &str, out: &mut Effects) {
        if payload == "0" {
            self.transfer = transfer::Session::Closed;
            self.file_status(via, false, "Aborted", out);
            return;
        }
        if let Ok(Value::Object(request)) = serde_json::from_str::<Value>(payload) {
            match self.validate(via, &request) {
                Err(code) => self.file_status(via, false, &format!("Error {code}"), out),
                Ok(2) => {
                    // The Id comes from the low byte of the clock, made odd.
                    let id = (self.boot.elapsed().subsec_nanos() as u8) | 1;
                    let binary = request
                        .iter()
                        .any(|(k, v)| k.eq_ignore_ascii_case("Binary") && v.as_u64() == Some(1));
                    let data = self.settings_image();
                    self.file_status(via, false, "Started", out);
                    let host: String = self
                        .hostname
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    let version = self.version.split('(').next().unwrap_or_default();
                    let header = json!({"File": format!("Config_{host}_{version}.dmp"), "Id": id, "Type": 2, "Size": data.len()});
                    self.file_reply(via, "FILEDOWNLOAD", header, out);
                    self.transfer = transfer::Session::Download {
                        id,
                        data,
                        sent: 0,
                        binary,
                        md5_sent: false,
                    };
                }
                Ok(_) => self.file_status(via, false, "Error 3", out),
            }
            return;
        }
        // Anything else asks for the next chunk of the open session.
        let transfer::Session::Download {
            id,
            data,
            sent,
            binary,
            md5_sent,
        } = &mut self.transfer
        else {
            self.file_status(via, false, "Error 1", out);
            return;
        };
        let (id, binary) = (*id, *binary);
        if *md5_sent {
            self.transfer = transfer::Session::Closed;
            self.file_status(via, false, "Done", out);
        } else if *sent < data.len() {
            let chunk = if binary {
                data.len()
            } else {
                transfer::download_chunk()
            };
            let end = (*sent + chunk).min(data.len());
            let piece = data[*sent..end].to_vec();
            *sent = end;
            let topic = self.stat(
                if via == Via::Group { Via::Own } else { via },
                "FILEDOWNLOAD",
            );
            if binary {
                // Raw bytes on the same topic; a client knows them by not being JSON.
                out.binary.push((topic, piece));
            } else {
                let payload = json!({"Id": id, "Data": transfer::base64(&piece)}).to_string();
                out.publish.push(Pub {
                    topic,
                    payload,
                    retain: false,
                });
            }
        } else {
            let md5 = transfer::md5_hex(data);
            *md5_sent = true;
            self.file_reply(via, "FILEDOWNLOAD", json!({"Id": id, "Md5": md5}), out);
            // The firmware sends Done right after the MD5.
            self.transfer = transfer::Session::Closed;
            self.file_status(via, false, "Done", out);
        }
    }

    fn cmd_file_upload(&mut self, via: Via, payload: &str, out: &mut Effects) {
        if payload == "0" {
            self.transfer = transfer::Session::Closed;
            self.file_status(via, true, "Aborted", out);
            return;
        }
        let Ok(Value::Object(request)) = serde_json::from_str::<Value>(payload) else {
            // Text that is not JSON: its Id is 0, another than the session's.
            self.transfer = transfer::Session::Closed;
            self.file_status(via, true, "Aborted", out);
            return;
        };
        let get = |key: &str| {
            request
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let id = get("Id").and_then(|v| v.as_u64()).unwrap_or(0);
        let max = transfer::upload_max(format!("{}FileUpload", self.own(Prefix::Cmnd, "")).len());
        if get("Password").is_some() || get("File").is_some() {
            // Opening a session.
            let kind = match self.validate(via, &request) {
                Ok(kind) => kind,
                Err(code) => return self.file_status(via, true, &format!("Error {code}"), out),
            };
            let size = get("Size").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
            if !(1..=255).contains(&id) {
                return self.file_status(via, true, "Aborted", out);
            }
            if kind == 1 || size > transfer::SETTINGS_SIZE || size == 0 {
                // No room for an image next to the sketch; a settings file is at most 4096.
                return self.file_status(via, true, "Error 2", out);
            }
            self.transfer = transfer::Session::Upload {
                id: id as u8,
                size,
                data: Vec::new(),
                complete: false,
            };
            self.file_status(via, true, "Started", out);
            self.file_reply(via, "FILEUPLOAD", json!({"Id": id, "MaxSize": max}), out);
            return;
        }
        let transfer::Session::Upload {
            id: open,
            size,
            data,
            complete,
            ..
        } = &mut self.transfer
        else {
            return self.file_status(via, true, "Aborted", out);
        };
        if id != u64::from(*open) {
            self.transfer = transfer::Session::Closed;
            return self.file_status(via, true, "Aborted", out);
        }
        let open = *open;
        if let Some(chunk) = get("Data").and_then(|v| v.as_str().map(String::from)) {
            let Some(bytes) = transfer::unbase64(&chunk) else {
                self.transfer = transfer::Session::Closed;
                return self.file_status(via, true, "Failed", out);
            };
            data.extend_from_slice(&bytes);
            *complete = data.len() >= *size;
            self.file_reply(via, "FILEUPLOAD", json!({"Id": open, "MaxSize": max}), out);
        } else if let Some(md5) = get("Md5").and_then(|v| v.as_str().map(String::from)) {
            let received = std::mem::take(data);
            self.transfer = transfer::Session::Closed;
            if !md5.eq_ignore_ascii_case(&transfer::md5_hex(&received)) {
                return self.file_status(via, true, "MD5 mismatch", out);
            }
            match transfer::restore(&received, self.chip) {
                Some(settings) => {
                    self.apply_settings(&settings);
                    self.file_status(via, true, "Done", out);
                    out.restart = Some(Duration::from_millis(300));
                }
                None => self.file_status(via, true, "Failed", out),
            }
        }
    }

    /// A binary chunk (`FileUpload301`): the raw bytes of the open session.
    fn upload_binary(&mut self, via: Via, payload: &[u8], out: &mut Effects) {
        let max =
            transfer::upload_max(format!("{}FileUpload301", self.own(Prefix::Cmnd, "")).len());
        if let transfer::Session::Upload {
            id,
            size,
            data,
            complete,
            ..
        } = &mut self.transfer
        {
            data.extend_from_slice(payload);
            *complete = data.len() >= *size;
            let id = *id;
            self.file_reply(via, "FILEUPLOAD", json!({"Id": id, "MaxSize": max}), out);
        }
    }

    fn cmd_power(&mut self, via: Via, index: Option<usize>, payload: &str, out: &mut Effects) {
        let index = index.unwrap_or(1);
        if index > self.power.len() {
            self.reply(via, "POWER", json!({"Command": "Error"}), out);
            return;
        }
        let outputs: Vec<usize> = if index == 0 {
            (1..=self.power.len()).collect()
        } else {
            vec![index]
        };
        for i in outputs {
            match state_number(payload) {
                Some(action @ (0 | 1)) => self.power[i - 1] = action == 1,
                Some(2) => self.power[i - 1] = !self.power[i - 1],
                Some(action @ (3 | 4)) => {
                    let key = self.power_key(i);
                    let what = if action == 3 { "Blink ON" } else { "Blink OFF" };
                    self.reply(via, &key, json!({ key.clone(): what }), out);
                    continue;
                }
                _ => {}
            }
            self.publish_power(via, i, out);
        }
    }

    fn cmd_status(&mut self, via: Via, index: Option<usize>, payload: &str, out: &mut Effects) {
        // `Status0` (index 0): one merged STATUS0.
        if index == Some(0) {
            let mut merged = Map::new();
            for n in [0, 1, 2, 3, 4, 5, 6, 7, 10, 11] {
                if let Some((_, Value::Object(section))) = self.status_section(n) {
                    merged.extend(section);
                }
            }
            out.publish.push(Pub {
                topic: self.stat(via, "STATUS0"),
                payload: Value::Object(merged).to_string(),
                retain: false,
            });
            return;
        }
        let sections: Vec<u8> = match payload {
            "" => vec![0],
            "0" => vec![0, 1, 2, 3, 4, 5, 6, 7, 10, 11],
            n => match n.parse::<u8>() {
                Ok(n @ 1..=13) => vec![n],
                _ => vec![u8::MAX],
            },
        };
        for n in sections {
            match self.status_section(n) {
                Some((suffix, body)) => out.publish.push(Pub {
                    topic: self.stat(via, &suffix),
                    payload: body.to_string(),
                    retain: false,
                }),
                None => self.reply(via, "STATUS", json!({"Command": "Error"}), out),
            }
        }
    }

    /// Splits the items and schedules them 200 ms apart (SetOption34), none apart for
    /// Backlog0/2; Backlog2/3 run without replies; `Delay N` waits N tenths of a second.
    fn cmd_backlog(&mut self, via: Via, variant: usize, payload: &str) -> Effects {
        let mut out = Effects::default();
        if payload.is_empty() {
            self.reply(via, "BACKLOG", json!({"Backlog": "Empty"}), &mut out);
            return out;
        }
        // Backlog0/2 (no spacing) came with 9.4.0 and Backlog2/3 (no replies) later: an older
        // build reads the digit as an index it ignores, a plain Backlog.
        let variant = if self.at_least(&[9, 4]) { variant } else { 1 };
        let spacing = if matches!(variant, 0 | 2) {
            Duration::ZERO
        } else {
            Duration::from_millis(200)
        };
        let silent = matches!(variant, 2 | 3);
        // One queue: a Backlog that comes while another runs is appended to it.
        let now = Instant::now();
        let mut at = self.backlog_until.saturating_duration_since(now);
        // MAX_BACKLOG before 14.2; a list without a count check since.
        let most = if self.at_least(&[14, 2]) {
            usize::MAX
        } else {
            30
        };
        for item in grammar::backlog(payload).into_iter().take(most) {
            let (name, rest) = item.split_once(char::is_whitespace).unwrap_or((&item, ""));
            if name.eq_ignore_ascii_case("Delay") {
                at += Duration::from_millis(
                    100 * rest.trim().parse::<u64>().unwrap_or(0).min(36_000),
                );
                continue;
            }
            let name = if silent {
                format!("_{name}")
            } else {
                name.to_string()
            };
            out.later.push((at, via, name, rest.trim().to_string()));
            at += spacing;
        }
        self.backlog_until = now + at;
        out
    }
}

/// The version a simulator image announces: its first line is `TASMOTA-SIM <version>`.
fn image_version(bytes: &[u8]) -> Option<String> {
    let first = bytes.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.trim();
    let version = line.strip_prefix("TASMOTA-SIM ")?.trim();
    (!version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .then(|| version.to_string())
}

/// The firmware's GetStateNumber: the words a power command understands.
fn state_number(word: &str) -> Option<u8> {
    match word.to_ascii_uppercase().as_str() {
        "0" | "OFF" | "FALSE" | "STOP" | "DOWN" => Some(0),
        "1" | "ON" | "TRUE" | "START" => Some(1),
        "2" | "TOGGLE" => Some(2),
        "3" | "BLINK" => Some(3),
        "4" | "BLINKOFF" => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (topic, payload, retained) of a file in tests/fixtures/tasmota-payloads.
    fn fixture(name: &str) -> (String, String, bool) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tasmota-payloads")
            .join(format!("{name}.json"));
        let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        (
            json["topic"].as_str().unwrap().into(),
            json["payload"].as_str().unwrap().into(),
            json["retained"].as_bool().unwrap(),
        )
    }

    fn published(effects: &Effects, topic: &str) -> Vec<Pub> {
        effects
            .publish
            .iter()
            .filter(|p| p.topic == topic)
            .cloned()
            .collect()
    }

    fn assert_fixture(p: &Pub, name: &str) {
        let (topic, payload, retained) = fixture(name);
        assert_eq!(
            (p.topic.as_str(), p.payload.as_str(), p.retain),
            (topic.as_str(), payload.as_str(), retained),
            "{name}"
        );
    }

    /// The keys of a JSON object, in order, recursing into objects.
    fn shape(value: &Value) -> Vec<String> {
        let mut keys = Vec::new();
        if let Value::Object(map) = value {
            for (k, v) in map {
                keys.push(k.clone());
                keys.extend(shape(v).into_iter().map(|inner| format!("{k}.{inner}")));
            }
        }
        keys
    }

    fn device(mac: &str, version: &str, relays: usize) -> Firmware {
        let mut d = Firmware::new(mac);
        d.version = version.into();
        d.power = vec![false; relays];
        d
    }

    #[test]
    fn discovery_config_is_byte_for_byte_the_firmware_s() {
        let mut plug = device("48551917E7AE", "13.1.0.1", 1);
        plug.ip = "172.19.13.2".into();
        plug.device_name = "plug-geschirrspueler".into();
        plug.friendly_names = vec!["Geschirrspüler".into()];
        plug.hostname = "tasmota-17E7AE-1966".into();
        plug.module = "Nous A1T".into();
        assert_fixture(
            &plug.discovery()[0],
            "discovery-config-v13.1.0.1-nous-a1t-plug",
        );

        let mut board = device("84CCA8852612", "10.0.0", 4);
        board.ip = "192.168.X.Y".into();
        board.friendly_names = vec!["Tasmota".into()];
        board.hostname = "tasmota-852612-1554".into();
        board.module = "4CH Relay".into();
        assert_fixture(&board.discovery()[0], "discovery-config-v10.0.0-4ch-relay");

        let mut generic = device("E0980680FF6D", "13.3.0.1", 0);
        generic.ip = "192.168.2.196".into();
        generic.hostname = "tasmota-80FF6D-8045".into();
        assert_fixture(
            &generic.discovery()[0],
            "discovery-config-v13.3.0.1-generic-no-relays",
        );

        // The ESP32 capture prints shutter tilts it has no shutters for and lacks the battery
        // and deep-sleep flags the ESP8266 13.x builds send; all else matches.
        let mut esp32 = device("3C71BFF01A7C", "13.2.0.1", 3);
        esp32.topic = "thermostat".into();
        esp32.ip = "192.168.2.8".into();
        esp32.device_name = "thermostat".into();
        esp32.friendly_names = vec!["heating".into(), "motion".into(), "display".into()];
        esp32.hostname = "thermostat-6780".into();
        esp32.module = "ESP32-DevKit".into();
        let mut ours: Value = serde_json::from_str(&esp32.discovery()[0].payload).unwrap();
        ours.as_object_mut().unwrap().shift_remove("bat");
        ours.as_object_mut().unwrap().shift_remove("dslp");
        let mut theirs: Value = serde_json::from_str(
            &fixture("discovery-config-v13.2.0.1-esp32-3relays-custom-topic").1,
        )
        .unwrap();
        theirs["sht"] = json!([]);
        assert_eq!(ours, theirs);

        let mut off = plug.clone();
        off.store.set_bit(19, true);
        assert!(
            off.discovery().is_empty(),
            "SetOption19 1 turns discovery off"
        );
        assert!(
            device("A0B765000001", "8.5.0", 1).discovery().is_empty(),
            "no native discovery before 9.1"
        );
    }

    #[test]
    fn info1_in_each_version_s_shape() {
        let mut old = device("5CCF7F15568C", "7.0.0.3", 1);
        old.topic = "wemos2".into();
        old.group_topics = vec!["sonoffs".into()];
        assert_fixture(
            &published(&old.on_connect(), "tele/wemos2/INFO1")[0],
            "info1-v7.0.0.3-unwrapped",
        );

        let mut topic_first = device("DC4F22ABBD20", "8.1.0.2(1e06976-tasmota)", 1);
        topic_first.topic = "kitchen_left_lighting".into();
        topic_first.module = "Sonoff Basic".into();
        topic_first.mqtt_client = "kitchen_left_lighting".into();
        topic_first.group_topics = vec!["sonoffs".into()];
        topic_first.topics.full_topic = "%topic%/%prefix%/".into();
        assert_fixture(
            &published(
                &topic_first.on_connect(),
                "kitchen_left_lighting/tele/INFO1",
            )[0],
            "info1-v8.1.0.2-fulltopic-topic-first-custom-mqttclient",
        );

        let mut wrapped = device("5CCF7F4AA248", "9.5.0", 1);
        wrapped.topic = "badkamer".into();
        assert_fixture(
            &published(&wrapped.on_connect(), "tele/badkamer/INFO1")[0],
            "info1-v9.5.0-wrapped",
        );
    }

    #[test]
    fn connect_sequence_and_power_replies() {
        let mut d = device("5CCF7F15568C", "7.0.0.3", 2);
        d.topic = "wemos2".into();
        let boot = d.on_connect();
        assert_fixture(
            &published(&boot, "tele/wemos2/LWT")[0],
            "lwt-online-v7.0.0.3",
        );
        assert_fixture(
            &published(&boot, "cmnd/wemos2/POWER")[0],
            "cmnd-power-empty-on-connect-v7.0.0.3",
        );
        assert_fixture(
            &published(&boot, "stat/wemos2/RESULT")[0],
            "result-power1-v7.0.0.3-two-relays",
        );
        assert_fixture(
            &published(&boot, "stat/wemos2/POWER1")[0],
            "stat-power1-plaintext-v7.0.0.3",
        );

        // SetOption4 with PowerRetain: JSON and plain text on one topic, the plain one retained.
        let mut so4 = device("5CCF7F000001", "9.5.0", 1);
        so4.topic = "demo-sensor".into();
        so4.store.set_bit(4, true);
        so4.power_retain = true;
        let out = so4.command(Via::Own, "Power", "on");
        assert_fixture(&out.publish[0], "so4-stat-power-json-v9.5.0");
        assert_fixture(&out.publish[1], "so4-stat-power-plaintext-retained-v9.5.0");
    }

    #[test]
    fn unknown_commands_and_bad_indexes() {
        let mut d = device("5CCF7F000002", "13.1.0.1", 1);
        d.topic = "<TOPIC>".into();
        let out = d.command(Via::Own, "Frobnicate", "");
        assert_fixture(&out.publish[0], "result-unknown-command");
        let out = d.command(Via::Own, "Power3", "on");
        assert_eq!(out.publish[0].payload, r#"{"Command":"Error"}"#);
        d.store.set_bit(4, true);
        assert_eq!(
            d.command(Via::Own, "Frobnicate", "").publish[0].topic,
            "stat/<TOPIC>/COMMAND"
        );
        assert_eq!(
            d.command(Via::Own, "Status", "9").publish[0].topic,
            "stat/<TOPIC>/STATUS"
        );
    }

    #[test]
    fn status_shapes_follow_the_captures() {
        let (_, payload, _) = fixture("status-abbrev-v8.5.0-two-relays");
        let mut d = device("60019449C88D", "8.5.0", 2);
        d.friendly_names = vec!["Tasmota".into(), "Tasmota2".into()];
        let out = d.command(Via::Own, "Status", "");
        assert_eq!(out.publish[0].topic, "stat/tasmota_49C88D/STATUS");
        let ours: Value = serde_json::from_str(&out.publish[0].payload).unwrap();
        assert_eq!(
            ours,
            serde_json::from_str::<Value>(&payload).unwrap(),
            "same values too, for the defaults"
        );

        let (_, payload, _) = fixture("status5-net-v8.5.0");
        let ours: Value =
            serde_json::from_str(&d.command(Via::Own, "Status", "5").publish[0].payload).unwrap();
        assert_eq!(
            shape(&ours),
            shape(&serde_json::from_str(&payload).unwrap())
        );

        let (_, payload, _) = fixture("status0-single-message-v14.4.1-nspanel-custom-fulltopic");
        let theirs: Value = serde_json::from_str(&payload).unwrap();
        let mut v14 = device("A0B76554C070", "14.4.1", 2);
        v14.topic = "ns_panel4".into();
        v14.topics.full_topic = "nspanel/%topic%/%prefix%/".into();
        let out = v14.command(Via::Own, "Status0", "");
        assert_eq!(out.publish[0].topic, "nspanel/ns_panel4/stat/STATUS0");
        let ours: Value = serde_json::from_str(&out.publish[0].payload).unwrap();
        let top = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(top(&ours), top(&theirs));
        assert_eq!(shape(&ours["Status"]), shape(&theirs["Status"]));
        assert_eq!(ours["Status"]["Power"], json!("00"));
        assert_eq!(shape(&ours["StatusMQT"]), shape(&theirs["StatusMQT"]));

        // Status 0: one message per section in firmware order, STATUS11 last.
        let out = v14.command(Via::Own, "Status", "0");
        let suffixes: Vec<&str> = out
            .publish
            .iter()
            .map(|p| p.topic.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(
            suffixes,
            [
                "STATUS", "STATUS1", "STATUS2", "STATUS3", "STATUS4", "STATUS5", "STATUS6",
                "STATUS7", "STATUS10", "STATUS11"
            ]
        );
    }

    #[test]
    fn state_shapes_follow_the_captures() {
        let (_, payload, _) = fixture("state-v9.5.0-single-relay");
        let d = device("5CCF7F4AA248", "9.5.0", 1);
        assert_eq!(
            shape(&d.state()),
            shape(&serde_json::from_str(&payload).unwrap())
        );

        let (_, payload, _) = fixture("status11-sts-v8.5.0-two-relays-dimmer");
        let mut light = device("60019449C88D", "8.5.0", 2);
        light.dimmer = Some(0);
        let ours: Value =
            serde_json::from_str(&light.command(Via::Own, "Status", "11").publish[0].payload)
                .unwrap();
        assert_eq!(
            shape(&ours),
            shape(&serde_json::from_str(&payload).unwrap())
        );
    }

    #[test]
    fn fallback_and_group_routes() {
        let mut d = device("A0B7653D5E26", "13.1.0.1", 1);
        d.topics.prefixes[Prefix::Stat as usize] = "status".into();
        let subs: Vec<String> = d
            .subscriptions()
            .into_iter()
            .map(|(base, _)| base)
            .collect();
        assert_eq!(
            subs,
            [
                "cmnd/tasmota_3D5E26/",
                "cmnd/tasmotas/",
                "cmnd/DVES_3D5E26_fb/"
            ]
        );
        let out = d.command(Via::Fallback, "Power", "on");
        assert_eq!(
            out.publish[0].topic, "stat/DVES_3D5E26_fb/RESULT",
            "the fallback answers with the built-in word"
        );
        let out = d.command(Via::Own, "Power", "on");
        assert_eq!(out.publish[0].topic, "status/tasmota_3D5E26/RESULT");
        // no %topic% in the FullTopic: no group or fallback subscriptions
        d.topics.full_topic = "fixed/%prefix%/".into();
        assert_eq!(d.subscriptions().len(), 1);
    }

    #[test]
    fn power_naming_and_words() {
        let mut single = device("A0B765000003", "13.1.0.1", 1);
        assert_eq!(
            single.command(Via::Own, "Power1", "TOGGLE").publish[0].payload,
            r#"{"POWER":"ON"}"#
        );
        single.store.set_bit(26, true);
        assert_eq!(
            single.command(Via::Own, "power", "off").publish[0].payload,
            r#"{"POWER1":"OFF"}"#
        );
        single.state_text = ["AUS", "AN", "UM", "HALT"].map(String::from);
        let out = single.command(Via::Own, "Power", "1");
        assert_eq!(out.publish[1].payload, "AN");
        assert_eq!(
            single.command(Via::Own, "Power", "blink").publish[0].payload,
            r#"{"POWER1":"Blink ON"}"#
        );
        let mut multi = device("A0B765000004", "13.1.0.1", 3);
        let out = multi.command(Via::Own, "Power0", "on");
        assert_eq!(
            out.publish.len(),
            6,
            "each output publishes its JSON and its plain text"
        );
        assert_eq!(multi.power, [true, true, true]);
        assert!(
            multi.command(Via::Own, "_Power2", "off").publish.is_empty(),
            "_Cmd runs silently"
        );
        assert_eq!(multi.power, [true, false, true]);
    }

    #[test]
    fn backlog_schedules_items_like_the_firmware() {
        let mut d = device("A0B765000005", "13.1.0.1", 1);
        let out = d.command(
            Via::Own,
            "Backlog",
            "Power on; Delay 10; Power off; FullTopic",
        );
        let plan: Vec<(u128, &str, &str)> = out
            .later
            .iter()
            .map(|(t, _, c, p)| (t.as_millis(), c.as_str(), p.as_str()))
            .collect();
        assert_eq!(
            plan,
            [
                (0, "Power", "on"),
                (1200, "Power", "off"),
                (1400, "FullTopic", "")
            ]
        );
        // A second Backlog joins the queue behind the first.
        let out = d.command(Via::Own, "Backlog", "Power on");
        assert!(
            out.later[0].0 >= Duration::from_millis(1500),
            "{:?}",
            out.later[0].0
        );
        let mut d = device("A0B765000006", "13.1.0.1", 1);
        let out = d.command(Via::Own, "Backlog2", "Power on; Power off");
        assert!(
            out.later
                .iter()
                .all(|(t, _, c, _)| t.is_zero() && c.starts_with('_'))
        );
    }

    /// The replies of one command on a device's FILEDOWNLOAD/FILEUPLOAD topic, as JSON.
    fn file_replies(d: &mut Firmware, via: Via, name: &str, payload: &str) -> Vec<Value> {
        d.command(via, name, payload)
            .publish
            .iter()
            .map(|p| {
                assert!(p.topic.ends_with(&name.to_ascii_uppercase()), "{}", p.topic);
                serde_json::from_str(&p.payload).unwrap()
            })
            .collect()
    }

    #[test]
    fn file_download_speaks_the_driver_s_sequence() {
        let mut d = device("A0B765000001", "14.3.0", 1);
        d.mqtt_password = "pw".into();
        d.store.set_bit(4, true); // replies never move to RESULT, nor to other topics
        let start = file_replies(
            &mut d,
            Via::Own,
            "FileDownload",
            r#"{"Password":"pw","Type":2}"#,
        );
        assert_eq!(start[0], json!({"FileDownload": "Started"}));
        let header = start[1].as_object().unwrap();
        assert_eq!(
            header.keys().collect::<Vec<_>>(),
            ["File", "Id", "Type", "Size"]
        );
        assert_eq!(header["File"], "Config_tasmota_000001_0001_14.3.0.dmp");
        assert_eq!(
            (header["Type"].as_u64(), header["Size"].as_u64()),
            (Some(2), Some(4096))
        );
        let id = header["Id"].as_u64().unwrap();
        assert_eq!(id % 2, 1, "download ids are odd");
        let mut data = Vec::new();
        let mut replies;
        loop {
            replies = file_replies(&mut d, Via::Own, "FileDownload", "?");
            let chunk = replies[0].as_object().unwrap();
            if chunk.contains_key("Md5") {
                break;
            }
            assert_eq!(chunk.keys().collect::<Vec<_>>(), ["Id", "Data"]);
            let bytes = transfer::unbase64(chunk["Data"].as_str().unwrap()).unwrap();
            assert!(bytes.len() <= 760);
            data.extend(bytes);
        }
        assert_eq!(data.len(), 4096);
        assert_eq!(
            replies[0],
            json!({"Id": id, "Md5": transfer::md5_hex(&data)})
        );
        assert_eq!(replies[1], json!({"FileDownload": "Done"}));
        assert_eq!(data, d.settings_image());

        // Every refusal, by number.
        for (via, payload, answer) in [
            (Via::Own, r#"{"Password":"no","Type":2}"#, "Error 1"),
            (Via::Own, r#"{"Type":2}"#, "Error 1"),
            (Via::Group, r#"{"Password":"pw","Type":2}"#, "Error 5"),
            (Via::Own, r#"{"Password":"pw","Type":7}"#, "Error 3"),
            (Via::Own, "0", "Aborted"),
        ] {
            assert_eq!(
                file_replies(&mut d, via, "FileDownload", payload),
                [json!({"FileDownload": answer})],
                "{payload}"
            );
        }
    }

    #[test]
    fn file_upload_checks_md5_crc_and_chip_then_restarts() {
        let source = device("A0B765000002", "13.1.0.1", 2);
        let mut image = source.settings_image();
        let mut d = device("A0B765000003", "14.3.0", 1);
        let open = |d: &mut Firmware, size: usize| {
            file_replies(
                d,
                Via::Own,
                "FileUpload",
                &format!(r#"{{"Password":"","File":"x.dmp","Id":42,"Type":2,"Size":{size}}}"#),
            )
        };
        let started = open(&mut d, image.len());
        assert_eq!(started[0], json!({"FileUpload": "Started"}));
        let max = started[1]["MaxSize"].as_u64().unwrap() as usize;
        assert_eq!(started[1]["Id"], 42);
        assert!((500..900).contains(&max), "{max}");
        for chunk in image.chunks(max) {
            let ack = file_replies(
                &mut d,
                Via::Own,
                "FileUpload",
                &json!({"Id": 42, "Data": transfer::base64(chunk)}).to_string(),
            );
            assert_eq!(ack, [json!({"Id": 42, "MaxSize": max})]);
        }
        let effects = d.command(
            Via::Own,
            "FileUpload",
            &json!({"Id": 42, "Md5": transfer::md5_hex(&image)}).to_string(),
        );
        assert_eq!(effects.publish[0].payload, r#"{"FileUpload":"Done"}"#);
        assert!(effects.restart.is_some());
        assert_eq!(d.power.len(), 1, "outputs are hardware, not settings");
        assert_eq!(
            d.topic, source.topic,
            "the restored settings are the device's now"
        );

        // A wrong MD5, another chip, a file too large, a chunk of another session.
        let mut d = device("A0B765000004", "14.3.0", 1);
        open(&mut d, image.len());
        file_replies(
            &mut d,
            Via::Own,
            "FileUpload",
            &json!({"Id": 42, "Data": transfer::base64(&image)}).to_string(),
        );
        let mismatch = file_replies(
            &mut d,
            Via::Own,
            "FileUpload",
            r#"{"Id":42,"Md5":"00000000000000000000000000000000"}"#,
        );
        assert_eq!(mismatch, [json!({"FileUpload": "MD5 mismatch"})]);
        d.chip = 1;
        open(&mut d, image.len());
        file_replies(
            &mut d,
            Via::Own,
            "FileUpload",
            &json!({"Id": 42, "Data": transfer::base64(&image)}).to_string(),
        );
        let failed = file_replies(
            &mut d,
            Via::Own,
            "FileUpload",
            &json!({"Id": 42, "Md5": transfer::md5_hex(&image)}).to_string(),
        );
        assert_eq!(failed, [json!({"FileUpload": "Failed"})]);
        assert_eq!(open(&mut d, 5000), [json!({"FileUpload": "Error 2"})]);
        open(&mut d, image.len());
        let other = file_replies(&mut d, Via::Own, "FileUpload", r#"{"Id":7,"Data":"AA=="}"#);
        assert_eq!(other, [json!({"FileUpload": "Aborted"})]);
        // A binary chunk on index 301 is raw bytes; on 201 it is text (and not JSON).
        open(&mut d, image.len());
        let effects = d.command_bytes(Via::Own, "FileUpload301", &image);
        assert_eq!(effects.publish.len(), 1);
        image[0] ^= 0;
        let effects = d.command_bytes(Via::Own, "FileUpload201", &image[..10]);
        assert_eq!(effects.publish[0].payload, r#"{"FileUpload":"Aborted"}"#);
    }
}
