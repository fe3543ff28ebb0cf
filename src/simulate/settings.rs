//! The firmware's settings commands, as the simulator plays them (tasmota-settings.md §1-§5):
//! how each one parses its payload (base-0 numbers, the state words), what it keeps, what it
//! silently ignores, how it normalises (Timezone, TelePeriod, GroupTopic compaction, Timer
//! days, rule flags), the exact reply shape per firmware generation, and which writes flag a
//! restart (always, or only on a change). The restart itself waits until the Backlog queue is
//! empty, as `restart_flag && CommandsReady()` does.
//!
//! Written from the firmware's description, not from the client's `setting_table`: the two
//! disagreeing shows up as a failed test instead of hiding on both sides.

use serde_json::{Map, Value, json};

use super::firmware::{Effects, Firmware, Pub, Via};
use super::grammar;

/// `Settings->flag` (SO0-31), then flag3..flag6 (SO50-81, 82-113, 114-145, 146-177).
const DEFAULT_FLAGS: [u32; 5] = [0x0000_8009, 0x0000_0080, 0x0000_6000, 0x0000_4000, 0];
/// `Settings->param[]` (SO32-49), as a 14.4 device reports it in Status 3.
const DEFAULT_PARAMS: [u8; 18] = [
    0x28, 0x05, 0xC8, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x3C, 0x5A, 0x0A, 0x19, 0x28, 0x00, 0x00,
    0x00, 0x00,
];
/// `NTP_SERVER1`..`3` (my_user_config.h).
const NTP_DEFAULTS: [&str; 3] = [
    "2.pool.ntp.org",
    "2.europe.pool.ntp.org",
    "2.nl.pool.ntp.org",
];
/// The rule buffer: 511 characters and the terminator (uncompressed).
const RULE_SIZE: usize = 512;
/// ESP8266 templates: GPIO 0-5, 9, 10, 12-16 and A0.
const TEMPLATE_PINS: usize = 14;
/// `MAX_SWITCH_OPTION`.
const SWITCH_OPTIONS: i64 = 16;

/// SetOption synonyms and the option each is (`D_SO_*`); their replies have no index.
const SYNONYMS: &[(&str, u16)] = &[
    ("MQTTJSONONLY", 90),
    ("MQTTTLS", 103),
    ("MQTTNORETAIN", 104),
    ("WHITEBLEND", 105),
    ("WIFINOSLEEP", 127),
    ("MQTTTLSFINGERPRINT", 132),
    ("DISCOVEROFF", 19),
    ("DISCOVERBUTTON", 73),
    ("CHANNELREMAP", 37),
    ("MULTIPWM", 68),
    ("ALEXACTRANGE", 82),
    ("POWERONFADE", 91),
    ("PWMCT", 92),
];

/// The spelling each synonym replies with.
fn synonym_key(upper: &str) -> &'static str {
    match upper {
        "MQTTJSONONLY" => "MqttJSONOnly",
        "MQTTTLS" => "MqttTLS",
        "MQTTNORETAIN" => "MqttNoRetain",
        "WHITEBLEND" => "WhiteBlend",
        "WIFINOSLEEP" => "WifiNoSleep",
        "MQTTTLSFINGERPRINT" => "MqttTLSFingerprint",
        "DISCOVEROFF" => "DiscoverOff",
        "DISCOVERBUTTON" => "DiscoverButton",
        "CHANNELREMAP" => "ChannelRemap",
        "MULTIPWM" => "MultiPWM",
        "ALEXACTRANGE" => "AlexaCTRange",
        "POWERONFADE" => "PowerOnFade",
        _ => "PWMCT",
    }
}

/// One rule set.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub text: String,
    pub enabled: bool,
    pub once: bool,
    pub stop_on_error: bool,
}

/// One timer as `Settings->timer[]` holds it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer {
    pub enable: bool,
    pub mode: u8,
    /// Minutes after midnight (sunrise/sunset modes: + 12 h for a negative offset).
    pub time: u16,
    pub window: u8,
    /// Bit 0 Sunday .. bit 6 Saturday.
    pub days: u8,
    pub repeat: bool,
    /// The output index from 0.
    pub device: u8,
    pub action: u8,
}

/// The user template.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub gpio: Vec<u16>,
    pub flag: u16,
    pub base: u16,
}

/// What the firmware keeps beyond the topics and names `Firmware` has.
#[derive(Debug, Clone)]
pub struct Store {
    pub flags: [u32; 5],
    pub params: [u8; 18],
    pub sleep: u8,
    /// Minutes east of UTC; 99 is "use TimeStd/TimeDst".
    pub timezone: i16,
    pub time_std: [i64; 6],
    pub time_dst: [i64; 6],
    pub ntp: [String; 3],
    /// Button, Switch, Sensor, Info, State, Status retain.
    pub retains: [bool; 6],
    pub power_on_state: u8,
    pub pulse_time: [u16; 32],
    pub led_state: u8,
    pub switch_mode: [u8; 28],
    pub rules: [RuleSet; 3],
    pub timers: [Timer; 16],
    pub timers_on: bool,
    /// Millionths of a degree.
    pub latitude: i64,
    pub longitude: i64,
    pub webserver: u8,
    pub ip: [String; 5],
    pub interlock: bool,
    pub interlock_groups: String,
    pub module: u16,
    pub template: Template,
    /// GPIO pin → component.
    pub gpio: Vec<(u8, u16)>,
    pub mqtt_host: String,
    pub mqtt_port: u16,
    pub mqtt_user: String,
    pub ssid: [String; 2],
    pub wifi_config: u8,
    /// The stored forms of Topic, MqttClient and Hostname when they are masks (`tasmota_%06X`,
    /// `DVES_%06X`, `%s-%04d`): their queries answer the mask, not the resolved name.
    pub topic_mask: Option<String>,
    pub client_mask: Option<String>,
    pub hostname_mask: Option<String>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            flags: DEFAULT_FLAGS,
            params: DEFAULT_PARAMS,
            sleep: 50,
            timezone: 99,
            time_std: [0, 0, 10, 1, 3, 60],
            time_dst: [0, 0, 3, 1, 2, 120],
            ntp: NTP_DEFAULTS.map(String::from),
            retains: [false; 6],
            power_on_state: 3,
            pulse_time: [0; 32],
            led_state: 1,
            switch_mode: [0; 28],
            rules: Default::default(),
            timers: [Timer {
                days: 0x7F,
                ..Timer::default()
            }; 16],
            timers_on: true,
            latitude: 48_858_360,
            longitude: 2_294_442,
            webserver: 2,
            ip: [
                "0.0.0.0",
                "192.168.1.1",
                "255.255.255.0",
                "192.168.1.1",
                "0.0.0.0",
            ]
            .map(String::from),
            interlock: false,
            interlock_groups: String::new(),
            module: 18,
            template: Template {
                name: "Generic".into(),
                gpio: vec![1; TEMPLATE_PINS],
                flag: 0,
                base: 18,
            },
            gpio: [0u8, 1, 2, 3, 4, 5, 9, 10, 12, 13, 14, 15, 16]
                .into_iter()
                .map(|p| (p, 0))
                .collect(),
            mqtt_host: "192.168.1.2".into(),
            mqtt_port: 1883,
            mqtt_user: "DVES_USER".into(),
            ssid: ["tasctl-sim".into(), String::new()],
            wifi_config: 4,
            topic_mask: Some("tasmota_%06X".into()),
            client_mask: Some("DVES_%06X".into()),
            hostname_mask: Some("%s-%04d".into()),
        }
    }
}

impl Store {
    /// A SetOption bit (0-31, 50-177).
    pub fn bit(&self, n: u16) -> bool {
        match Store::place(n) {
            Some((word, bit)) => self.flags[word] >> bit & 1 == 1,
            None => false,
        }
    }

    pub fn set_bit(&mut self, n: u16, on: bool) {
        if let Some((word, bit)) = Store::place(n) {
            if on {
                self.flags[word] |= 1 << bit;
            } else {
                self.flags[word] &= !(1 << bit);
            }
        }
    }

    /// Which flag word and bit an option is (`SetoptionDecode`).
    fn place(n: u16) -> Option<(usize, u16)> {
        match n {
            0..=31 => Some((0, n)),
            50..=177 => Some((usize::from((n - 50) / 32) + 1, (n - 50) % 32)),
            _ => None,
        }
    }

    /// Status 3's `SetOption` array.
    pub fn status3(&self) -> Value {
        let params: String = self.params.iter().map(|b| format!("{b:02X}")).collect();
        json!([
            format!("{:08X}", self.flags[0]),
            params,
            format!("{:08X}", self.flags[1]),
            format!("{:08X}", self.flags[2]),
            format!("{:08X}", self.flags[3]),
            format!("{:08X}", self.flags[4]),
        ])
    }
}

/// `strtol(data, &p, 0)` and `GetStateNumber`: a payload as the firmware reads it as a number.
/// `None` for an empty payload (a query); -99 for text that is no number.
pub fn number(payload: &str) -> Option<i64> {
    if payload.is_empty() {
        return None;
    }
    let word = match payload.to_ascii_uppercase().as_str() {
        "OFF" | "FALSE" | "STOP" | "DOWN" => Some(0),
        "ON" | "TRUE" | "START" | "USER" => Some(1),
        "TOGGLE" | "ADMIN" => Some(2),
        "BLINK" => Some(3),
        "BLINKOFF" => Some(4),
        "UP" => Some(100),
        "ALL" => Some(255),
        _ => None,
    };
    if word.is_some() {
        return word;
    }
    let t = payload.trim_start();
    let (sign, t) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let (radix, digits) = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, hex)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return Some(if radix == 8 { 0 } else { -99 });
    }
    i64::from_str_radix(&digits[..end], radix)
        .ok()
        .map(|n| sign * n)
        .or(Some(-99))
}

/// JSON text `48.858360`: six decimals, unquoted, as the firmware prints coordinates.
fn six_decimals(micro: i64) -> Value {
    let sign = if micro < 0 { "-" } else { "" };
    let text = format!(
        "{sign}{}.{:06}",
        micro.abs() / 1_000_000,
        micro.abs() % 1_000_000
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn timer_json(t: &Timer, outputs: usize) -> Value {
    let mut o = Map::new();
    o.insert("Enable".into(), json!(u8::from(t.enable)));
    o.insert("Mode".into(), json!(t.mode));
    let shown = if t.mode != 0 && t.time >= 12 * 60 {
        let m = t.time - 12 * 60;
        format!("-{:02}:{:02}", m / 60, m % 60)
    } else {
        format!("{:02}:{:02}", t.time / 60, t.time % 60)
    };
    o.insert("Time".into(), json!(shown));
    o.insert("Window".into(), json!(t.window));
    let days: String = (0..7)
        .map(|d| if t.days >> d & 1 == 1 { '1' } else { '0' })
        .collect();
    o.insert("Days".into(), json!(days));
    o.insert("Repeat".into(), json!(u8::from(t.repeat)));
    if outputs > 0 {
        o.insert("Output".into(), json!(t.device + 1));
    }
    o.insert("Action".into(), json!(t.action));
    Value::Object(o)
}

/// What a setting command did, for the caller.
pub enum Handled {
    /// Not a setting this module plays.
    No,
    Yes,
}

impl Firmware {
    /// A SetOption as the rest of the simulator asks it.
    pub fn so(&self, n: u16) -> bool {
        self.store.bit(n)
    }

    /// The device's ON/OFF words (`GetStateText`).
    fn on_off(&self, on: bool) -> String {
        self.state_text[usize::from(on)].clone()
    }

    /// Flags a restart: it happens once the Backlog queue is empty.
    fn flag_restart(&mut self) {
        self.restart_flag = true;
    }

    /// The settings commands (`command` is the received name, uppercased, index cut off).
    /// Replies go through `reply`, so SetOption4 and the fallback route apply.
    #[allow(clippy::too_many_lines)]
    pub fn setting(
        &mut self,
        via: Via,
        command: &str,
        index: Option<usize>,
        payload: &str,
        out: &mut Effects,
    ) -> Handled {
        let given = index.is_some();
        let i = index.unwrap_or(1);
        let n = number(payload);
        let outputs = self.power.len();
        let body = match command {
            "SETOPTION" | "SO" => {
                return self.cmd_setoption(via, command, index, payload, None, out);
            }
            c if SYNONYMS.iter().any(|(s, _)| *s == c) => {
                let option = SYNONYMS.iter().find(|(s, _)| *s == c).map(|(_, o)| *o);
                return self.cmd_setoption(
                    via,
                    command,
                    option.map(usize::from),
                    payload,
                    Some(synonym_key(c)),
                    out,
                );
            }
            "TELEPERIOD" => {
                match n {
                    None => out.publish.extend(self.telemetry()), // a query forces STATE and SENSOR
                    Some(0) => self.tele_period = 0,
                    Some(1) => self.tele_period = 300,
                    Some(2..=9) => self.tele_period = 10,
                    Some(p @ 10..=3600) => self.tele_period = p as u32,
                    Some(_) => {} // out of range: kept, silently
                }
                json!({"TelePeriod": self.tele_period})
            }
            "SLEEP" => {
                if let Some(v @ 0..=250) = n {
                    self.store.sleep = v as u8;
                }
                let s = self.store.sleep.to_string();
                json!({"Sleep": { s.clone(): {"Active": s} }})
            }
            "TIMEZONE" => {
                if !payload.is_empty() {
                    self.set_timezone(payload);
                }
                match self.store.timezone {
                    99 => json!({"Timezone": 99}),
                    m => {
                        let sign = if m < 0 { '-' } else { '+' };
                        json!({"Timezone": format!("{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)})
                    }
                }
            }
            "TIMESTD" | "TIMEDST" => {
                let dst = command == "TIMEDST";
                if !payload.is_empty() {
                    let rule = if dst {
                        &mut self.store.time_dst
                    } else {
                        &mut self.store.time_std
                    };
                    if payload.trim() == "0" {
                        *rule = if dst {
                            [0, 0, 3, 1, 2, 120]
                        } else {
                            [0, 0, 10, 1, 3, 60]
                        };
                    } else {
                        for (slot, field) in rule.iter_mut().zip(payload.split(',')) {
                            if let Ok(v) = field.trim().parse::<i64>() {
                                *slot = v;
                            }
                        }
                    }
                }
                let r = if dst {
                    self.store.time_dst
                } else {
                    self.store.time_std
                };
                let key = if dst { "TimeDst" } else { "TimeStd" };
                json!({ key: {"Hemisphere": r[0], "Week": r[1], "Month": r[2], "Day": r[3], "Hour": r[4], "Offset": r[5]} })
            }
            "NTPSERVER" => {
                if !given || !(1..=3).contains(&i) {
                    if given {
                        json!({"Command": "Error"})
                    } else {
                        json!({"NtpServer1": self.store.ntp[0], "NtpServer2": self.store.ntp[1], "NtpServer3": self.store.ntp[2]})
                    }
                } else {
                    match payload {
                        "" => {}
                        "0" => self.store.ntp[i - 1].clear(),
                        "1" => self.store.ntp[i - 1] = NTP_DEFAULTS[i - 1].into(),
                        text => self.store.ntp[i - 1] = text.replace(',', "."),
                    }
                    json!({ format!("NtpServer{i}"): self.store.ntp[i - 1] })
                }
            }
            "POWERRETAIN" => {
                match n {
                    Some(0) => self.power_retain = false,
                    Some(1) => self.power_retain = true,
                    _ => {}
                }
                json!({"PowerRetain": self.on_off(self.power_retain)})
            }
            "BUTTONRETAIN" | "SWITCHRETAIN" | "SENSORRETAIN" | "INFORETAIN" | "STATERETAIN"
            | "STATUSRETAIN" => {
                let names = [
                    "ButtonRetain",
                    "SwitchRetain",
                    "SensorRetain",
                    "InfoRetain",
                    "StateRetain",
                    "StatusRetain",
                ];
                let slot = names
                    .iter()
                    .position(|s| s.eq_ignore_ascii_case(command))
                    .unwrap_or(0);
                match n {
                    Some(0) => self.store.retains[slot] = false,
                    Some(1) => self.store.retains[slot] = true,
                    _ => {}
                }
                json!({ names[slot]: self.on_off(self.store.retains[slot]) })
            }
            "POWERONSTATE" => {
                if let Some(v @ 0..=5) = n {
                    self.store.power_on_state = v as u8;
                    if v == 4 {
                        self.power.iter_mut().for_each(|p| *p = true);
                    }
                }
                json!({"PowerOnState": self.store.power_on_state})
            }
            "PULSETIME" => {
                if !given && payload.is_empty() {
                    let set: Vec<u16> = self.store.pulse_time.to_vec();
                    json!({"PulseTime": {"Set": set, "Remaining": vec![0; 32]}})
                } else if !(1..=32).contains(&i) {
                    json!({"Command": "Error"})
                } else {
                    if let Some(v @ 0..=65535) = n {
                        self.store.pulse_time[i - 1] = v as u16;
                    }
                    json!({ format!("PulseTime{i}"): {"Set": self.store.pulse_time[i - 1], "Remaining": 0} })
                }
            }
            "LEDSTATE" => {
                if let Some(v @ 0..=8) = n {
                    self.store.led_state = v as u8;
                }
                json!({"LedState": self.store.led_state})
            }
            "LEDPOWER" => {
                match n {
                    Some(0) => self.store.led_state = 0,
                    Some(1) => self.store.led_state = 8,
                    Some(2) => self.store.led_state = if self.store.led_state == 0 { 8 } else { 0 },
                    _ => {}
                }
                // Without a LedLink GPIO the index is forced to 1.
                json!({"LedPower1": self.on_off(self.store.led_state != 0)})
            }
            "SWITCHMODE" => {
                if given && i == 0 {
                    json!({"SwitchMode": self.store.switch_mode.to_vec()})
                } else if !(1..=28).contains(&i) {
                    json!({"Command": "Error"})
                } else {
                    if let Some(v) = n.filter(|v| (0..SWITCH_OPTIONS).contains(v)) {
                        self.store.switch_mode[i - 1] = v as u8;
                    }
                    json!({ format!("SwitchMode{i}"): self.store.switch_mode[i - 1] })
                }
            }
            "FRIENDLYNAME" | "FN" => {
                if !given && payload.is_empty() {
                    let mut o = Map::new();
                    for k in 1..=8 {
                        o.insert(
                            format!("FriendlyName{k}"),
                            json!(self.friendly_names.get(k - 1).cloned().unwrap_or_default()),
                        );
                    }
                    Value::Object(o)
                } else if !(1..=8).contains(&i) {
                    json!({"Command": "Error"})
                } else {
                    if self.friendly_names.len() < 8 {
                        self.friendly_names.resize(8, String::new());
                    }
                    match payload {
                        "" => {}
                        "1" => {
                            self.friendly_names[i - 1] = if i == 1 {
                                "Tasmota".into()
                            } else {
                                format!("Tasmota{i}")
                            }
                        }
                        p if p.starts_with('"') => self.friendly_names[i - 1].clear(),
                        p => self.friendly_names[i - 1] = p.to_string(),
                    }
                    json!({ format!("FriendlyName{i}"): self.friendly_names[i - 1] })
                }
            }
            "DEVICENAME" => {
                if via != Via::Group || payload.is_empty() {
                    match payload {
                        "" => {}
                        "1" => {
                            self.device_name =
                                self.friendly_names.first().cloned().unwrap_or_default()
                        }
                        p if p.starts_with('"') => self.device_name.clear(),
                        p => self.device_name = p.to_string(),
                    }
                }
                json!({"DeviceName": self.device_name})
            }
            "GROUPTOPIC" => {
                if (1..=4).contains(&i) {
                    if !payload.is_empty() {
                        self.set_group_topic(i, payload);
                        self.flag_restart();
                    }
                    let mut o = Map::new();
                    for k in 0..4 {
                        o.insert(
                            format!("GroupTopic{}", k + 1),
                            json!(self.group_topics.get(k).cloned().unwrap_or_default()),
                        );
                    }
                    Value::Object(o)
                } else {
                    json!({"Command": "Error"})
                }
            }
            "TOPIC" => {
                // The stored form: a mask (`tasmota_%06X`) is answered as such and resolved at
                // the next boot.
                let shown = |d: &Firmware| {
                    d.store
                        .topic_mask
                        .clone()
                        .or_else(|| d.pending_topic.clone())
                        .unwrap_or_else(|| d.topic.clone())
                };
                if !payload.is_empty() && via != Via::Group {
                    let stored = match payload {
                        "1" => "tasmota_%06X".to_string(),
                        p => p.replace(['+', '#', ' '], "_"),
                    };
                    if stored != shown(self) {
                        self.leave_lwt(out);
                        self.pending_topic = Some(grammar::resolve_mask(&stored, &self.mac));
                        self.store.topic_mask = stored.contains('%').then_some(stored);
                        self.flag_restart();
                    }
                }
                json!({"Topic": shown(self)})
            }
            "FULLTOPIC" => {
                if !payload.is_empty() && via != Via::Group {
                    let mut new = match payload {
                        "1" => grammar::DEFAULT_FULL_TOPIC.to_string(),
                        p => p.replace(['+', '#', ' '], ""),
                    };
                    if !new.ends_with('/') {
                        new.push('/');
                    }
                    if new != self.topics.full_topic {
                        self.leave_lwt(out);
                        // Read on every publish: replies move at once, subscriptions at boot.
                        self.topics.full_topic = new;
                        self.flag_restart();
                    }
                }
                json!({"FullTopic": self.topics.full_topic})
            }
            "PREFIX" => {
                if given && (1..=3).contains(&i) {
                    if !payload.is_empty() {
                        self.topics.prefixes[i - 1] = match payload {
                            "1" => grammar::PREFIXES[i - 1].to_string(),
                            p => p.replace(['+', '#', ' ', '/'], ""),
                        };
                        self.flag_restart();
                    }
                    json!({ format!("Prefix{i}"): self.prefix_text(i - 1) })
                } else {
                    json!({"Prefix1": self.prefix_text(0), "Prefix2": self.prefix_text(1), "Prefix3": self.prefix_text(2)})
                }
            }
            "MQTTHOST" | "MQTTUSER" | "MQTTCLIENT" => {
                let protected = command == "MQTTCLIENT" && via == Via::Group;
                if !payload.is_empty() && !protected {
                    let slot = match command {
                        "MQTTHOST" => &mut self.store.mqtt_host,
                        "MQTTUSER" => &mut self.store.mqtt_user,
                        _ => &mut self.mqtt_client,
                    };
                    *slot = match payload {
                        "0" => String::new(),
                        "1" if command == "MQTTUSER" => "DVES_USER".into(),
                        "1" if command == "MQTTCLIENT" => grammar::default_mqtt_client(&self.mac),
                        p => p.to_string(),
                    };
                    if command == "MQTTCLIENT" {
                        self.store.client_mask = match payload {
                            "1" => Some("DVES_%06X".into()),
                            p if p.contains('%') => Some(p.to_string()),
                            _ => None,
                        };
                        self.mqtt_client = grammar::resolve_mask(&self.mqtt_client, &self.mac);
                    }
                    self.flag_restart();
                }
                match command {
                    "MQTTHOST" => json!({"MqttHost": self.store.mqtt_host}),
                    "MQTTUSER" => json!({"MqttUser": self.store.mqtt_user}),
                    _ => {
                        let shown = self.store.client_mask.clone();
                        json!({"MqttClient": shown.unwrap_or_else(|| self.mqtt_client.clone())})
                    }
                }
            }
            "MQTTPORT" => {
                if let Some(p) = n {
                    self.store.mqtt_port = if p == 1 {
                        1883
                    } else {
                        p.clamp(1, 65535) as u16
                    };
                    self.flag_restart();
                }
                json!({"MqttPort": self.store.mqtt_port})
            }
            "SSID" => {
                if !given {
                    json!({"SSId1": self.store.ssid[0], "SSId2": self.store.ssid[1]})
                } else if !(1..=2).contains(&i) {
                    json!({"Command": "Error"})
                } else {
                    if !payload.is_empty() {
                        self.store.ssid[i - 1] = if payload == "0" {
                            String::new()
                        } else {
                            payload.to_string()
                        };
                        self.flag_restart();
                    }
                    json!({ format!("SSId{i}"): self.store.ssid[i - 1] })
                }
            }
            "WIFICONFIG" => {
                if let Some(v @ 0..=7) = n {
                    self.store.wifi_config = match v {
                        1 | 3 => 2,
                        v => v as u8,
                    };
                }
                let texts = [
                    "Restart",
                    "",
                    "WifiManager",
                    "",
                    "Retry",
                    "Wait",
                    "Serial",
                    "ManagerRst",
                ];
                let k = self.store.wifi_config;
                json!({"WifiConfig": { k.to_string(): texts[usize::from(k)] }})
            }
            "HOSTNAME" => {
                if !payload.is_empty() && via != Via::Group {
                    if payload.contains('%') || payload == "1" {
                        self.hostname = self.default_hostname();
                        self.store.hostname_mask = Some("%s-%04d".into());
                    } else {
                        self.hostname = payload.to_string();
                        self.store.hostname_mask = None;
                    }
                    self.flag_restart();
                }
                let shown = self.store.hostname_mask.clone();
                json!({"Hostname": shown.unwrap_or_else(|| self.hostname.clone())})
            }
            "MODULE" => {
                if let Some(m) = n.filter(|m| *m == 0 || (1..=90).contains(m)) {
                    self.store.module = m as u16;
                    self.module = self.module_name();
                    self.flag_restart();
                }
                json!({"Module": { self.store.module.to_string(): self.module_name() }})
            }
            "TEMPLATE" => {
                if let Some(Value::Object(t)) = payload
                    .starts_with('{')
                    .then(|| serde_json::from_str(payload).ok())
                    .flatten()
                {
                    self.set_template(&t);
                    if self.store.module == 0 {
                        self.flag_restart();
                    }
                } else if !payload.is_empty() {
                    // `Template <n>`: copies a module into the user template.
                    self.store.template.name = self.module_name();
                }
                let t = &self.store.template;
                json!({"NAME": t.name, "GPIO": t.gpio, "FLAG": t.flag, "BASE": t.base})
            }
            "GPIO" => {
                let pin = index.unwrap_or(255);
                if pin == 255 || !given {
                    let mut o = Map::new();
                    for (p, c) in &self.store.gpio {
                        o.insert(
                            format!("GPIO{p}"),
                            json!({ c.to_string(): component_name(*c) }),
                        );
                    }
                    Value::Object(o)
                } else if let Some(slot) = self
                    .store
                    .gpio
                    .iter()
                    .position(|(p, _)| usize::from(*p) == pin)
                {
                    if let Some(c) = n.filter(|c| (0..=8192).contains(c)) {
                        // A component used on another pin leaves that pin.
                        if c != 0 {
                            for (_, other) in self.store.gpio.iter_mut() {
                                if i64::from(*other) == c {
                                    *other = 0;
                                }
                            }
                        }
                        self.store.gpio[slot].1 = c as u16;
                        self.flag_restart();
                    }
                    let c = self.store.gpio[slot].1;
                    json!({ format!("GPIO{pin}"): { c.to_string(): component_name(c) } })
                } else {
                    json!({"Command": "Error"})
                }
            }
            "RULE" => {
                if !(1..=3).contains(&i) {
                    json!({"Command": "Error"})
                } else {
                    self.set_rule(i - 1, payload);
                    self.rule_reply(i - 1)
                }
            }
            "TIMER" => {
                if !(1..=16).contains(&i) {
                    json!({"Command": "Error"})
                } else {
                    self.set_timer(i - 1, payload);
                    json!({ format!("Timer{i}"): timer_json(&self.store.timers[i - 1], outputs) })
                }
            }
            "TIMERS" => {
                match n {
                    Some(0) => self.store.timers_on = false,
                    Some(1) => self.store.timers_on = true,
                    Some(2) => self.store.timers_on = !self.store.timers_on,
                    _ => {}
                }
                let mut o = Map::new();
                o.insert("Timers".into(), json!(self.on_off(self.store.timers_on)));
                for (k, t) in self.store.timers.iter().enumerate() {
                    o.insert(format!("Timer{}", k + 1), timer_json(t, outputs));
                }
                Value::Object(o)
            }
            "LATITUDE" | "LONGITUDE" => {
                let slot = if command == "LATITUDE" {
                    &mut self.store.latitude
                } else {
                    &mut self.store.longitude
                };
                if let Ok(f) = payload.trim().parse::<f32>() {
                    // (int)(CharToFloat(s)*1000000), in the firmware's 32-bit float: truncated.
                    *slot = i64::from((f * 1_000_000.0) as i32);
                }
                let key = if command == "LATITUDE" {
                    "Latitude"
                } else {
                    "Longitude"
                };
                json!({ key: six_decimals(*slot) })
            }
            "WEBSERVER" => {
                if let Some(v @ 0..=2) = n {
                    self.store.webserver = v as u8;
                }
                match self.store.webserver {
                    0 => json!({"Webserver": "OFF"}),
                    w => {
                        json!({"Webserver": format!("Active for {} on {} with IP address {}", if w == 2 { "Admin" } else { "User" }, self.hostname, self.ip)})
                    }
                }
            }
            "IPADDRESS" => {
                let shown = |k: usize, ip: &[String; 5], current: &str| {
                    if k == 0 {
                        format!("{} ({current})", ip[0])
                    } else {
                        ip[k].clone()
                    }
                };
                if !given {
                    let mut o = Map::new();
                    for k in 0..5 {
                        o.insert(
                            format!("IPAddress{}", k + 1),
                            json!(shown(k, &self.store.ip, &self.ip)),
                        );
                    }
                    Value::Object(o)
                } else if !(1..=5).contains(&i) {
                    json!({"Command": "Error"})
                } else {
                    if payload.parse::<std::net::Ipv4Addr>().is_ok() {
                        self.store.ip[i - 1] = payload.to_string();
                    }
                    json!({ format!("IPAddress{i}"): shown(i - 1, &self.store.ip, &self.ip) })
                }
            }
            "STATETEXT" => {
                if given && (1..=4).contains(&i) {
                    if !payload.is_empty() {
                        self.state_text[i - 1] =
                            payload.replace(' ', "_").chars().take(10).collect();
                    }
                    json!({ format!("StateText{i}"): self.state_text[i - 1] })
                } else {
                    json!({"StateText1": self.state_text[0], "StateText2": self.state_text[1], "StateText3": self.state_text[2], "StateText4": self.state_text[3]})
                }
            }
            "INTERLOCK" => {
                if payload.contains([',', ' ']) {
                    self.store.interlock_groups =
                        payload.split_whitespace().collect::<Vec<_>>().join(" ");
                } else {
                    match n {
                        Some(0) => self.store.interlock = false,
                        Some(1) => self.store.interlock = true,
                        _ => {}
                    }
                }
                if outputs > 1 {
                    let groups = if self.store.interlock_groups.is_empty() {
                        (1..=outputs)
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    } else {
                        self.store.interlock_groups.clone()
                    };
                    json!({"Interlock": self.on_off(self.store.interlock), "Groups": groups})
                } else {
                    json!({"Interlock": self.on_off(self.store.interlock)})
                }
            }
            _ => return Handled::No,
        };
        self.reply(via, command, body, out);
        Handled::Yes
    }

    /// `CmndSetoptionBase`: bits answer in the StateText words, bytes as numbers; refused
    /// writes and out-of-range bits leave the preset `{"Command":"Error"}`.
    fn cmd_setoption(
        &mut self,
        via: Via,
        command: &str,
        index: Option<usize>,
        payload: &str,
        synonym: Option<&'static str>,
        out: &mut Effects,
    ) -> Handled {
        let Some(o) = index
            .and_then(|i| u16::try_from(i).ok())
            .filter(|o| *o <= 177)
        else {
            self.reply(via, command, json!({"Command": "Error"}), out);
            return Handled::Yes;
        };
        let key = synonym.map_or_else(|| format!("SetOption{o}"), String::from);
        let n = number(payload);
        let error = json!({"Command": "Error"});
        let body = if (32..=49).contains(&o) {
            let slot = usize::from(o - 32);
            let (min, max) = if matches!(o, 32 | 33 | 45) {
                (1, 250)
            } else {
                (0, 255)
            };
            if let Some(v) = n.filter(|v| (min..=max).contains(v)) {
                let changed = self.store.params[slot] != v as u8;
                self.store.params[slot] = v as u8;
                if o == 37 && changed {
                    self.flag_restart();
                }
            }
            json!({ key: self.store.params[slot] })
        } else {
            match n {
                None => json!({ key: self.on_off(self.store.bit(o)) }),
                Some(_) if matches!(o, 5 | 6 | 7 | 9 | 14 | 22 | 23 | 25 | 27) => error,
                Some(v @ 0..=1) => {
                    self.store.set_bit(o, v == 1);
                    let restarts = match o {
                        3 | 15 | 68 | 75 | 85 | 88 | 97 | 102 | 103 | 104 | 106 | 107 | 132
                        | 151 | 152 | 153 => true,
                        55 | 115 => v == 0,
                        _ => false,
                    };
                    if restarts {
                        self.flag_restart();
                    }
                    json!({ key: self.on_off(self.store.bit(o)) })
                }
                Some(_) => error,
            }
        };
        self.reply(via, command, body, out);
        Handled::Yes
    }

    /// `CmndTimezone`: `+hh:mm`, `-h`, `h`; 15 and above are 99; below -13 ignored.
    fn set_timezone(&mut self, payload: &str) {
        let t = payload.trim();
        let (h, m) = t.split_once(':').unwrap_or((t, "0"));
        let Ok(hours) = h.trim().parse::<i64>() else {
            return;
        };
        if hours >= 15 {
            self.store.timezone = 99;
            return;
        }
        if hours < -13 {
            return;
        }
        let minutes = m.trim().parse::<i64>().unwrap_or(0).clamp(0, 59);
        let total = hours.abs() * 60 + minutes;
        self.store.timezone = (if h.trim().starts_with('-') {
            -total
        } else {
            total
        }) as i16;
    }

    /// `CmndGroupTopic`: store, then compact toward index 1, dedupe, a value equal to the
    /// Topic replaced by the default, and `tasmotas` when all are empty.
    fn set_group_topic(&mut self, index: usize, payload: &str) {
        let mut slots: Vec<String> = (0..4)
            .map(|k| self.group_topics.get(k).cloned().unwrap_or_default())
            .collect();
        let value = match payload {
            "0" => String::new(),
            "1" => grammar::DEFAULT_GROUP_TOPIC.to_string(),
            p if p.starts_with('"') => String::new(),
            p => p.replace(['+', '#', ' '], "_"),
        };
        let value = if value == self.topic {
            grammar::DEFAULT_GROUP_TOPIC.to_string()
        } else {
            value
        };
        slots[index - 1] = value;
        let mut kept: Vec<String> = Vec::new();
        for s in slots {
            if !s.is_empty() && !kept.contains(&s) {
                kept.push(s);
            }
        }
        if kept.is_empty() {
            kept.push(grammar::DEFAULT_GROUP_TOPIC.into());
        }
        self.group_topics = kept;
    }

    /// A Topic or FullTopic change clears the retained LWT on the old topic (SetOption10 0).
    fn leave_lwt(&self, out: &mut Effects) {
        out.publish.push(Pub {
            topic: self.lwt_topic(),
            payload: String::new(),
            retain: true,
        });
    }

    fn prefix_text(&self, k: usize) -> String {
        match self.topics.prefixes[k].as_str() {
            "" => grammar::PREFIXES[k].to_string(),
            w => w.to_string(),
        }
    }

    fn default_hostname(&self) -> String {
        let chip = u32::from_str_radix(&self.mac[6..], 16).unwrap_or(0) & 0x1FFF;
        format!("{}-{chip:04}", self.topic.replace('_', "-"))
    }

    fn module_name(&self) -> String {
        match self.store.module {
            0 => self.store.template.name.clone(),
            1 => "Sonoff Basic".into(),
            18 => "Generic".into(),
            m => format!("Module {m}"),
        }
    }

    /// `Template {json}`: only the keys given; a shorter GPIO list overwrites the leading
    /// pins; BASE 0 or out of range becomes 18.
    fn set_template(&mut self, t: &Map<String, Value>) {
        let template = &mut self.store.template;
        if let Some(name) = t.get("NAME").and_then(Value::as_str) {
            template.name = name.chars().take(60).collect();
        }
        if let Some(pins) = t.get("GPIO").and_then(Value::as_array) {
            for (slot, v) in template.gpio.iter_mut().zip(pins) {
                match v.as_u64() {
                    Some(p) => *slot = p.min(u64::from(u16::MAX)) as u16,
                    None => break,
                }
            }
        }
        if let Some(f) = t.get("FLAG").and_then(Value::as_u64) {
            template.flag = f.min(u64::from(u16::MAX)) as u16;
        }
        if let Some(b) = t.get("BASE").and_then(Value::as_u64) {
            template.base = if b == 0 || b > 90 { 18 } else { b as u16 };
        }
    }

    /// `CmndRule`: 0/1/2 state, 4/5/6 once, 8/9/10 stop-on-error (off/on/toggle); `"` clears;
    /// `+text` appends with a space; other text replaces it verbatim (leading blanks gone). A
    /// text that does not fit the buffer leaves the old one.
    fn set_rule(&mut self, k: usize, payload: &str) {
        let rule = &mut self.store.rules[k];
        let flag = |b: &mut bool, v: i64| match v % 4 {
            0 => *b = false,
            1 => *b = true,
            _ => *b = !*b,
        };
        match number(payload) {
            None => {}
            Some(v @ 0..=2) => flag(&mut rule.enabled, v),
            Some(v @ 4..=6) => flag(&mut rule.once, v),
            Some(v @ 8..=10) => flag(&mut rule.stop_on_error, v),
            Some(_) if payload.starts_with('"') => rule.text.clear(),
            Some(_) => {
                let text = match payload.strip_prefix('+') {
                    Some(rest) => format!("{} {rest}", rule.text),
                    None => payload.to_string(),
                };
                if text.len() < RULE_SIZE {
                    rule.text = text;
                }
            }
        }
    }

    /// The rule reply: nested since 9.5, flat before.
    fn rule_reply(&self, k: usize) -> Value {
        let r = &self.store.rules[k];
        let key = format!("Rule{}", k + 1);
        let free = RULE_SIZE - 1 - r.text.len();
        if self.at_least(&[9, 5]) {
            json!({ key: {"State": self.on_off(r.enabled), "Once": self.on_off(r.once), "StopOnError": self.on_off(r.stop_on_error), "Length": r.text.len(), "Free": free, "Rules": r.text} })
        } else {
            json!({ key: self.on_off(r.enabled), "Once": self.on_off(r.once), "StopOnError": self.on_off(r.stop_on_error), "Free": free, "Rules": r.text })
        }
    }

    /// `CmndTimer`: `0` clears, `<n>` copies timer n, a JSON object changes the keys it has.
    fn set_timer(&mut self, k: usize, payload: &str) {
        let outputs = self.power.len();
        if payload.is_empty() {
            return;
        }
        if !payload.starts_with('{') {
            match number(payload) {
                Some(0) => self.store.timers[k] = Timer::default(),
                Some(n @ 1..=16) => self.store.timers[k] = self.store.timers[n as usize - 1],
                _ => {}
            }
            return;
        }
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(payload) else {
            return;
        };
        let t = &mut self.store.timers[k];
        let int = |key: &str| {
            o.get(key).and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
        };
        if let Some(v) = int("Enable").or_else(|| int("Arm")) {
            t.enable = v != 0;
        }
        if let Some(v) = int("Mode") {
            t.mode = (v & 3) as u8;
        }
        if let Some(time) = o.get("Time").and_then(Value::as_str) {
            let (neg, rest) = match time.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, time),
            };
            if let Some((h, m)) = rest.split_once(':') {
                let h = number(h.trim()).unwrap_or(0).clamp(0, 23);
                let m = number(m.trim()).unwrap_or(0).clamp(0, 59);
                let h = if neg && t.mode != 0 { h + 12 } else { h };
                t.time = (h * 60 + m) as u16;
            }
        }
        if let Some(v) = int("Window") {
            t.window = (v & 0x0F) as u8;
        }
        if let Some(days) = o.get("Days").and_then(Value::as_str) {
            t.days = days
                .chars()
                .take(7)
                .enumerate()
                .filter(|(_, c)| *c != '0' && *c != '-')
                .fold(0, |acc, (d, _)| acc | 1 << d);
        }
        if let Some(v) = int("Repeat") {
            t.repeat = v != 0;
        }
        if let Some(v) = int("Output") {
            let device = ((v - 1) & 0x0F) as u8;
            t.device = if usize::from(device) >= outputs {
                0
            } else {
                device
            };
        }
        if let Some(v) = int("Action") {
            t.action = (v & 3) as u8;
        }
    }

    /// The boot side of the settings: a pending Topic takes effect, and discovery builds turn
    /// SetOption19 off again (`TasDiscoverInit`).
    /// A scenario's commands: their settings are in place from the start (no restart due).
    pub fn boot_settings_keeping_options(&mut self) {
        if let Some(topic) = self.pending_topic.take() {
            self.topic = topic;
        }
        self.restart_flag = false;
    }

    pub fn boot_settings(&mut self) {
        if let Some(topic) = self.pending_topic.take() {
            self.topic = topic;
        }
        if self.at_least(&[9, 1]) {
            self.store.set_bit(19, false);
        }
    }
}

/// A few component names, as `GPIO` replies show them.
fn component_name(c: u16) -> &'static str {
    match c {
        0 => "None",
        1 => "User",
        32 => "Button1",
        160 => "Switch1",
        224 => "Relay1",
        288 => "Led1",
        320 => "LedLink",
        608 => "I2C SCL",
        640 => "I2C SDA",
        _ => "Component",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_as_strtol_base_0() {
        assert_eq!(number(""), None);
        assert_eq!(number("60"), Some(60));
        assert_eq!(number("060"), Some(48), "octal, as the firmware reads it");
        assert_eq!(number("0x1F"), Some(31));
        assert_eq!(number("on"), Some(1));
        assert_eq!(number("Toggle"), Some(2));
        assert_eq!(number("abc"), Some(-99));
        assert_eq!(number("-3"), Some(-3));
        assert_eq!(number("0"), Some(0));
    }

    fn device(version: &str) -> Firmware {
        let mut d = Firmware::new("A0B765000042");
        d.version = version.into();
        d
    }

    /// Sends one command and returns its one reply as JSON.
    fn ask(d: &mut Firmware, name: &str, payload: &str) -> Value {
        let out = d.command(Via::Own, name, payload);
        let replies: Vec<&Pub> = out
            .publish
            .iter()
            .filter(|p| p.topic.contains("/stat/") || p.topic.starts_with("stat/"))
            .collect();
        assert_eq!(replies.len(), 1, "{name} {payload}: {:?}", out.publish);
        serde_json::from_str(&replies[0].payload).unwrap()
    }

    /// The reply shapes and normalisation of tasmota-settings.md §2 and §5.
    #[test]
    fn replies_follow_tasmota_settings_md() {
        let mut d = device("14.3.0");
        assert_eq!(ask(&mut d, "Timezone", "1"), json!({"Timezone": "+01:00"}));
        assert_eq!(
            ask(&mut d, "timezone", "-3:30"),
            json!({"Timezone": "-03:30"})
        );
        assert_eq!(ask(&mut d, "Timezone", "20"), json!({"Timezone": 99}));
        assert_eq!(
            ask(&mut d, "Timezone", "-14"),
            json!({"Timezone": 99}),
            "ignored"
        );
        assert_eq!(ask(&mut d, "TelePeriod", "1"), json!({"TelePeriod": 300}));
        assert_eq!(ask(&mut d, "TelePeriod", "5"), json!({"TelePeriod": 10}));
        assert_eq!(
            ask(&mut d, "TelePeriod", "060"),
            json!({"TelePeriod": 48}),
            "octal"
        );
        assert_eq!(
            ask(&mut d, "TelePeriod", "5000"),
            json!({"TelePeriod": 48}),
            "kept"
        );
        assert_eq!(
            ask(&mut d, "Sleep", "300"),
            json!({"Sleep": {"50": {"Active": "50"}}})
        );
        assert_eq!(ask(&mut d, "PowerOnState", "9"), json!({"PowerOnState": 3}));
        assert_eq!(ask(&mut d, "SO53", "1"), json!({"SetOption53": "ON"}));
        assert_eq!(ask(&mut d, "SetOption5", "1"), json!({"Command": "Error"}));
        assert_eq!(ask(&mut d, "SetOption19", "2"), json!({"Command": "Error"}));
        assert_eq!(
            ask(&mut d, "SetOption32", "0"),
            json!({"SetOption32": 40}),
            "1..250"
        );
        assert_eq!(
            ask(&mut d, "MqttNoRetain", ""),
            json!({"MqttNoRetain": "OFF"})
        );
        assert_eq!(ask(&mut d, "FN2", "Pump"), json!({"FriendlyName2": "Pump"}));
        assert_eq!(ask(&mut d, "PulseTime1", "113")["PulseTime1"]["Set"], 113);
        assert_eq!(ask(&mut d, "LedPower", "1"), json!({"LedPower1": "ON"}));
        assert_eq!(
            ask(&mut d, "LedState", ""),
            json!({"LedState": 8}),
            "LedPower rewrites it"
        );
        // tasmota-settings.md §5: stored as truncated millionths, so 2.294442 may read back
        // 2.294441; printed with six decimals.
        let out = d.command(Via::Own, "Longitude", "2.294442");
        assert!(
            out.publish[0].payload.contains(":2.29444"),
            "{:?}",
            out.publish
        );
        let v = ask(&mut d, "Longitude", "")["Longitude"].as_f64().unwrap();
        assert!((v * 1e6 - 2_294_442.0).abs() <= 1.0, "{v}");
        let out = d.command(Via::Own, "Latitude", "48");
        assert!(
            out.publish[0].payload.contains(":48.000000"),
            "{:?}",
            out.publish
        );
        let ip = ask(&mut d, "IPAddress1", "");
        assert!(
            ip["IPAddress1"].as_str().unwrap().starts_with("0.0.0.0 ("),
            "{ip}"
        );
        // GroupTopic: compaction toward 1, duplicates dropped, all four always shown.
        assert_eq!(
            ask(&mut d, "GroupTopic3", "upstairs"),
            json!({"GroupTopic1": "tasmotas", "GroupTopic2": "upstairs", "GroupTopic3": "", "GroupTopic4": ""})
        );
        assert_eq!(ask(&mut d, "GroupTopic2", "tasmotas")["GroupTopic2"], "");
        assert!(d.restart_flag, "GroupTopic restarts on every write");
        // Timers: days normalised, output forced to 1 beyond the relays.
        let t = ask(
            &mut d,
            "Timer1",
            r#"{"Enable":1,"Time":"6:5","Days":"--TW--S","Output":3}"#,
        );
        assert_eq!(t["Timer1"]["Days"], "0011001");
        assert_eq!(t["Timer1"]["Time"], "06:05");
        assert_eq!(t["Timer1"]["Output"], 1);
        // Rules: the text verbatim, flags by number, `+` appends with a space.
        let r = ask(&mut d, "Rule1", "ON Power1#State DO Backlog a; b ENDON");
        assert_eq!(
            r["Rule1"]["State"], "OFF",
            "setting the text does not enable it"
        );
        assert_eq!(ask(&mut d, "Rule1", "on")["Rule1"]["State"], "ON");
        let r = ask(&mut d, "Rule1", "+ ON x DO y ENDON");
        assert_eq!(
            r["Rule1"]["Rules"],
            "ON Power1#State DO Backlog a; b ENDON  ON x DO y ENDON"
        );
        // An older build answers flat.
        let mut old = device("9.3.1");
        let r = ask(&mut old, "Rule1", "");
        assert_eq!(r["Rule1"], "OFF");
        assert!(r.get("Rules").is_some() && r.get("Length").is_none(), "{r}");
        // Custom StateText words in the replies.
        ask(&mut d, "StateText2", "AN");
        assert_eq!(
            ask(&mut d, "PowerRetain", "1"),
            json!({"PowerRetain": "AN"})
        );
    }

    #[test]
    fn restarts_as_the_firmware_flags_them() {
        let mut d = device("14.3.0");
        for (name, payload, restarts) in [
            ("FriendlyName1", "x", false),
            ("TelePeriod", "60", false),
            ("Hostname", "h", true),
            ("SetOption55", "1", false),
            ("SetOption55", "0", true),
            ("Module", "18", true),
            ("Topic", "tasmota_%06X", false),
            ("Topic", "moved", true),
        ] {
            d.restart_flag = false;
            d.command(Via::Own, name, payload);
            assert_eq!(d.restart_flag, restarts, "{name} {payload}");
        }
        assert_eq!(d.topic, "tasmota_000042", "a new Topic waits for the boot");
        d.store.set_bit(19, true);
        d.reboot();
        assert_eq!(d.topic, "moved");
        assert!(!d.so(19), "discovery builds turn SetOption19 off at boot");
    }

    /// tasmota-settings.md §5: Topic, MqttClient and Hostname answer the stored mask.
    #[test]
    fn masks_are_answered_as_stored() {
        let mut d = device("14.3.0");
        assert_eq!(ask(&mut d, "Topic", ""), json!({"Topic": "tasmota_%06X"}));
        assert_eq!(
            ask(&mut d, "MqttClient", ""),
            json!({"MqttClient": "DVES_%06X"})
        );
        assert_eq!(ask(&mut d, "Hostname", ""), json!({"Hostname": "%s-%04d"}));
        assert_eq!(d.topic, "tasmota_000042", "resolved for the topics");
        assert_eq!(ask(&mut d, "Hostname", "lamp"), json!({"Hostname": "lamp"}));
        assert_eq!(ask(&mut d, "Topic", "lamp"), json!({"Topic": "lamp"}));
    }

    #[test]
    fn status3_bits_are_where_the_firmware_puts_them() {
        let mut s = Store::default();
        s.set_bit(4, true);
        s.set_bit(114, true);
        s.set_bit(53, true);
        let v = s.status3();
        assert_eq!(v[0], "00008019");
        assert_eq!(v[2], "00000088");
        assert_eq!(v[4], "00004001");
        assert_eq!(v[1], "2805C80001000600003C5A0A192800000000");
    }
}
