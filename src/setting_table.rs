//! The settings `config` knows: one entry per firmware setting (tasmota-settings.md §2), with
//! its canonical name and aliases, how it is read, how a value is written, normalised and
//! compared, whether writing it restarts the device (always, or only on a change), whether it
//! changes how tasctl reaches the device, and its valid range. Knowledge as data: a setting is
//! an entry here, and the code that walks the entries stays small.
//!
//! A name not in the table is still allowed when the device answers it with the plain
//! `{"Name":value}` shape: it is compared as text, and `diff` says so.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// How a setting's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Its command with an empty payload (always the indexed form: `FriendlyName1`).
    Query,
    /// From `Status 3`: a SetOption bit or byte (never one query per option).
    SetOptionBits,
    /// From `Status 3`: an empty `TelePeriod` would publish telemetry at once.
    StatusTelePeriod,
    /// From this `Status` section, the resolved value (`Hostname` in Status 5, `MqttClient` in
    /// Status 6): the plain query answers the stored mask (`%s-%04d`, `DVES_%06X`).
    Status(u8),
}

/// What a value is, which decides how it is written and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ON/OFF: the device answers in its StateText, takes 0/1.
    Switch,
    /// A whole number; out of range the firmware keeps the old value silently.
    Number { min: i64, max: i64 },
    /// Text of at most this many characters; `0`/`1` mean clear/default to the firmware.
    Text { max: usize },
    /// 0, or 10..3600; `1` means 300, 2..9 mean 10.
    TelePeriod,
    /// `+01:00`, a number of hours, or 99; compared in minutes.
    Timezone,
    /// `{"Sleep":{"50":{"Active":"50"}}}`: the stored value is the key.
    Sleep,
    /// `{"PulseTime1":{"Set":0,"Remaining":0}}`: the raw `Set`.
    PulseTime,
    /// `{"Rule1":{"State":"ON","Once":"OFF","StopOnError":"OFF","Rules":"..."}}`, or flat.
    Rule,
    /// `{"Timer1":{"Enable":1,"Time":"06:00","Days":"0111110",...}}`: the keys given.
    Timer,
    /// `{"NAME":...,"GPIO":[...],"FLAG":0,"BASE":18}`: the keys given.
    Template,
    /// `{"Module":{"18":"Generic"}}`: the number.
    Module,
    /// Four topics compacted toward index 1: compared as a set.
    GroupTopic,
    /// Degrees, stored as millionths: compared to 1e-6.
    Coordinate,
    /// `0.0.0.0 (192.168.1.50)` for index 1: the part before the blank.
    IpAddress,
    /// `Active for Admin ...` 2, `... User ...` 1, `OFF` 0.
    Webserver,
    /// `{"TimeStd":{"Hemisphere":0,"Week":0,...}}`: the keys given.
    TimeRule,
    /// `{"GPIO4":{"640":"I2C SDA"}}`: the number.
    Gpio,
}

/// Whether writing a setting restarts the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    Never,
    /// On every write, even of the value it already has.
    Always,
    /// Only when the value changes (`Topic`, `FullTopic`).
    OnChange,
    /// When set to 0 (SetOption55, SetOption115).
    WhenZero,
}

/// Whether a setting changes how tasctl reaches the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Keeps,
    /// Its address (`Topic`, `FullTopic`, `Prefix<n>`): `apply` needs `--force` and follows it.
    Address,
    /// It takes the device off this broker or off Wi-Fi: `apply` refuses it.
    Away,
}

/// One setting, or a family of indexed ones (`FriendlyName1`..`8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The firmware's spelling, without the index.
    pub name: &'static str,
    /// The indexes the family has; `None` for a setting without one.
    pub indexes: Option<(u16, u16)>,
    /// Other names the firmware takes (`FN` for `FriendlyName`).
    pub aliases: &'static [&'static str],
    pub read: Read,
    pub kind: Kind,
    pub restart: Restart,
    pub reach: Reach,
    /// What it is, for the README's table.
    pub about: &'static str,
}

const fn e(
    name: &'static str,
    indexes: Option<(u16, u16)>,
    kind: Kind,
    restart: Restart,
    about: &'static str,
) -> Entry {
    Entry {
        name,
        indexes,
        aliases: &[],
        read: Read::Query,
        kind,
        restart,
        reach: Reach::Keeps,
        about,
    }
}

const SWITCH: Kind = Kind::Switch;
const fn num(min: i64, max: i64) -> Kind {
    Kind::Number { min, max }
}
const fn text(max: usize) -> Kind {
    Kind::Text { max }
}
use Restart::{Always, Never, OnChange};

/// The table. SetOptions are one family whose bits and bytes differ by index (see
/// `setoption`).
pub const TABLE: &[Entry] = &[
    Entry {
        aliases: &["SO"],
        read: Read::SetOptionBits,
        ..e(
            "SetOption",
            Some((0, 177)),
            SWITCH,
            Never,
            "SetOption0-31 and 50-177 ON/OFF, 32-49 a number (read from Status 3)",
        )
    },
    Entry {
        read: Read::StatusTelePeriod,
        ..e(
            "TelePeriod",
            None,
            Kind::TelePeriod,
            Never,
            "telemetry period: 0, or 10..3600 s (1 = 300; read from Status 3)",
        )
    },
    e("Sleep", None, Kind::Sleep, Never, "sleep 0..250 ms"),
    e(
        "Timezone",
        None,
        Kind::Timezone,
        Never,
        "-13..+14 with minutes, or 99",
    ),
    e(
        "TimeStd",
        None,
        Kind::TimeRule,
        Never,
        "the standard time rule (Hemisphere, Week, Month, Day, Hour, Offset)",
    ),
    e(
        "TimeDst",
        None,
        Kind::TimeRule,
        Never,
        "the daylight saving time rule",
    ),
    e("NtpServer", Some((1, 3)), text(32), Never, "NTP servers"),
    e("PowerRetain", None, SWITCH, Never, "retain the power state"),
    e(
        "ButtonRetain",
        None,
        SWITCH,
        Never,
        "retain button commands",
    ),
    e(
        "SwitchRetain",
        None,
        SWITCH,
        Never,
        "retain switch commands",
    ),
    e("SensorRetain", None, SWITCH, Never, "retain SENSOR"),
    e("InfoRetain", None, SWITCH, Never, "retain INFO1-3"),
    e("StateRetain", None, SWITCH, Never, "retain STATE"),
    e("StatusRetain", None, SWITCH, Never, "retain STATUS"),
    e(
        "PowerOnState",
        None,
        num(0, 5),
        Never,
        "power at boot 0..5 (4 switches every output on at once)",
    ),
    e(
        "PulseTime",
        Some((1, 32)),
        Kind::PulseTime,
        Never,
        "pulse time, raw 0..65535 (1..111 tenths of a second, then seconds + 100)",
    ),
    e("LedState", None, num(0, 8), Never, "LED mode 0..8"),
    e(
        "SwitchMode",
        Some((1, 28)),
        num(0, 15),
        Never,
        "switch mode",
    ),
    Entry {
        aliases: &["FN"],
        ..e(
            "FriendlyName",
            Some((1, 8)),
            text(32),
            Never,
            "friendly names",
        )
    },
    e("DeviceName", None, text(32), Never, "device name"),
    e(
        "GroupTopic",
        Some((1, 4)),
        Kind::GroupTopic,
        Always,
        "group topics (compared as a set; every write restarts)",
    ),
    Entry {
        reach: Reach::Address,
        ..e(
            "Topic",
            None,
            text(32),
            OnChange,
            "topic (--force; restarts when it changes)",
        )
    },
    Entry {
        reach: Reach::Address,
        ..e(
            "FullTopic",
            None,
            text(100),
            OnChange,
            "full topic (--force; restarts when it changes)",
        )
    },
    Entry {
        reach: Reach::Address,
        ..e(
            "Prefix",
            Some((1, 3)),
            text(10),
            Always,
            "cmnd/stat/tele prefixes (--force; every write restarts)",
        )
    },
    Entry {
        reach: Reach::Away,
        ..e(
            "MqttHost",
            None,
            text(32),
            Always,
            "MQTT broker host (apply refuses: the device would leave)",
        )
    },
    Entry {
        reach: Reach::Away,
        ..e(
            "MqttPort",
            None,
            num(1, 65535),
            Always,
            "MQTT broker port (apply refuses)",
        )
    },
    Entry {
        reach: Reach::Away,
        ..e(
            "MqttUser",
            None,
            text(32),
            Always,
            "MQTT user (apply refuses)",
        )
    },
    Entry {
        reach: Reach::Away,
        read: Read::Status(6),
        ..e(
            "MqttClient",
            None,
            text(32),
            Always,
            "MQTT client id (apply refuses; read from Status 6)",
        )
    },
    Entry {
        reach: Reach::Away,
        ..e(
            "SSId",
            Some((1, 2)),
            text(32),
            Always,
            "Wi-Fi network names (apply refuses)",
        )
    },
    Entry {
        reach: Reach::Away,
        ..e(
            "WifiConfig",
            None,
            num(0, 7),
            Never,
            "Wi-Fi configuration mode (apply refuses)",
        )
    },
    Entry {
        read: Read::Status(5),
        ..e(
            "Hostname",
            None,
            text(32),
            Always,
            "host name (every write restarts; read from Status 5)",
        )
    },
    e(
        "Module",
        None,
        Kind::Module,
        Always,
        "module number (every write restarts)",
    ),
    e(
        "Template",
        None,
        Kind::Template,
        Never,
        "user template (NAME, GPIO, FLAG, BASE; restarts under Module 0)",
    ),
    e(
        "GPIO",
        Some((0, 39)),
        Kind::Gpio,
        Always,
        "a GPIO's component number (every write restarts)",
    ),
    e(
        "Rule",
        Some((1, 3)),
        Kind::Rule,
        Never,
        "rule sets (rules, enabled, once, stop_on_error)",
    ),
    e(
        "Timer",
        Some((1, 16)),
        Kind::Timer,
        Never,
        "timers (only the keys given are compared and set)",
    ),
    e("Timers", None, SWITCH, Never, "all timers on or off"),
    e(
        "Latitude",
        None,
        Kind::Coordinate,
        Never,
        "latitude in degrees",
    ),
    e(
        "Longitude",
        None,
        Kind::Coordinate,
        Never,
        "longitude in degrees",
    ),
    e(
        "Webserver",
        None,
        Kind::Webserver,
        Never,
        "web server 0 off, 1 user, 2 admin",
    ),
    e(
        "IPAddress",
        Some((1, 5)),
        Kind::IpAddress,
        Never,
        "static address, gateway, mask, DNS (0.0.0.0 for DHCP)",
    ),
    e(
        "StateText",
        Some((1, 4)),
        text(10),
        Never,
        "OFF, ON, TOGGLE, HOLD words",
    ),
    e(
        "LedPower",
        Some((1, 4)),
        SWITCH,
        Never,
        "LED power (it rewrites LedState)",
    ),
    e(
        "Interlock",
        None,
        SWITCH,
        Never,
        "relay interlock on or off",
    ),
];

/// SetOption synonyms the firmware takes (reply key without an index): name → option.
const SYNONYMS: &[(&str, u16)] = &[
    ("MqttJSONOnly", 90),
    ("MqttTLS", 103),
    ("MqttNoRetain", 104),
    ("WhiteBlend", 105),
    ("WifiNoSleep", 127),
    ("MqttTLSFingerprint", 132),
    ("DiscoverOff", 19),
    ("DiscoverButton", 73),
    ("ChannelRemap", 37),
    ("MultiPWM", 68),
    ("AlexaCTRange", 82),
    ("PowerOnFade", 91),
    ("PWMCT", 92),
];

/// Commands that act instead of holding a value: refused in a profile.
const ACTIONS: &[&str] = &[
    "Backlog",
    "SaveData",
    "SerialSend",
    "Restart",
    "Reset",
    "Upgrade",
    "Upload",
    "OtaUrl",
    "WifiScan",
    "WifiTest",
    "I2CScan",
    "Delay",
    "Status",
    "State",
    "Power",
    "Event",
    "Publish",
    "WebSend",
    "WebQuery",
    "Ping",
];

/// Write-only secrets: they cannot be read back to compare.
const SECRETS: &[&str] = &["MqttPassword", "WebPassword", "Password"];

/// Names that mean "all" without an index: refused, the indexed name suggested.
const NEED_INDEX: &[&str] = &[
    "FriendlyName",
    "NtpServer",
    "GroupTopic",
    "Prefix",
    "SSId",
    "IPAddress",
    "StateText",
];

/// A setting named in a profile, resolved: the entry (if the table has it), the index, and
/// the firmware's own spelling (`SetOption19`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub entry: Option<&'static Entry>,
    pub index: Option<u16>,
    /// The firmware's spelling with the index: the key it replies with.
    pub canonical: String,
}

impl Name {
    /// The command that reads it (`FriendlyName1`, `GroupTopic1`), for a `Read::Query` setting.
    pub fn query(&self) -> String {
        self.canonical.clone()
    }

    pub fn kind(&self) -> Kind {
        self.entry
            .map_or(Kind::Text { max: 255 }, |e| match (e.name, self.index) {
                ("SetOption", Some(n)) => setoption(n).0,
                _ => e.kind,
            })
    }

    pub fn read(&self) -> Read {
        self.entry.map_or(Read::Query, |e| e.read)
    }

    pub fn reach(&self) -> Reach {
        match (self.entry.map(|e| e.name), self.index) {
            (Some("SetOption"), Some(3)) => Reach::Away, // MQTT off: refused when set to 0
            _ => self.entry.map_or(Reach::Keeps, |e| e.reach),
        }
    }

    pub fn restart(&self) -> Restart {
        match (self.entry.map(|e| e.name), self.index) {
            (Some("SetOption"), Some(n)) => setoption(n).1,
            _ => self.entry.map_or(Restart::Never, |e| e.restart),
        }
    }
}

/// A SetOption's kind and restart rule (support_command.ino `CmndSetoptionBase`).
fn setoption(n: u16) -> (Kind, Restart) {
    let kind = match n {
        32 | 33 | 45 => num(1, 250),
        32..=49 => num(0, 255),
        _ => SWITCH,
    };
    let restart = match n {
        3 | 15 | 37 | 68 | 75 | 85 | 88 | 97 | 102 | 103 | 104 | 106 | 107 | 132 | 151 | 152
        | 153 => Always,
        55 | 115 => Restart::WhenZero,
        _ => Never,
    };
    (kind, restart)
}

/// SetOptions whose writes the firmware refuses (another command holds them).
const SETOPTION_REFUSED: &[(u16, &str)] = &[
    (5, "PowerRetain"),
    (6, "ButtonRetain"),
    (7, "SwitchRetain"),
    (9, "SensorRetain"),
    (14, "Interlock"),
    (22, "(nothing: it is read-only)"),
    (23, "Rule<n> 0/1"),
    (25, "(nothing: it is read-only)"),
    (27, "(nothing: it is read-only)"),
];

/// Resolves a profile key: the firmware's spelling, any case, an alias (`SO19`, `FN1`) or a
/// SetOption synonym; refuses actions, secrets and an unindexed "all" name.
pub fn resolve(key: &str) -> Result<Name, String> {
    let upper = key.to_ascii_uppercase();
    let stem = upper.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &upper[stem.len()..];
    let index: Option<u16> = if digits.is_empty() {
        None
    } else {
        Some(
            digits
                .parse()
                .map_err(|_| format!("`{key}`: an index too large"))?,
        )
    };
    if let Some(action) = ACTIONS.iter().find(|a| a.eq_ignore_ascii_case(stem)) {
        return Err(format!(
            "`{key}` is a command that acts ({action}), not a setting a device holds; it has no place in settings"
        ));
    }
    if let Some(secret) = SECRETS.iter().find(|s| s.eq_ignore_ascii_case(stem)) {
        return Err(format!(
            "`{key}`: {secret} is write-only (the device never tells it), so tasctl cannot compare it; set it once by hand"
        ));
    }
    if let Some((name, n)) = SYNONYMS
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(&upper))
    {
        let _ = name;
        return resolve(&format!("SetOption{n}"));
    }
    let entry = TABLE.iter().find(|e| {
        e.name.eq_ignore_ascii_case(stem) || e.aliases.iter().any(|a| a.eq_ignore_ascii_case(stem))
    });
    let Some(entry) = entry else {
        // Not in the table: allowed, compared as text, in the spelling given.
        check_word(key)?;
        return Ok(Name {
            entry: None,
            index,
            canonical: key.to_string(),
        });
    };
    match (entry.indexes, index) {
        (None, Some(_)) => Err(format!("`{key}`: {} takes no index", entry.name)),
        (Some(_), None) if NEED_INDEX.contains(&entry.name) => Err(format!(
            "`{key}` without an index means all of them to the firmware; name one: `{}1`",
            entry.name
        )),
        (Some((lo, _)), None) => Err(format!("`{key}` needs an index: `{}{lo}`", entry.name)),
        (Some((lo, hi)), Some(i)) if i < lo || i > hi => {
            Err(format!("`{key}`: {} goes from {lo} to {hi}", entry.name))
        }
        (_, Some(i)) if entry.name == "SetOption" => {
            if let Some((_, instead)) = SETOPTION_REFUSED.iter().find(|(n, _)| *n == i) {
                return Err(format!(
                    "`{key}`: the firmware refuses to write SetOption{i}; use {instead}"
                ));
            }
            Ok(Name {
                entry: Some(entry),
                index,
                canonical: format!("SetOption{i}"),
            })
        }
        (_, Some(i)) => Ok(Name {
            entry: Some(entry),
            index,
            canonical: format!("{}{i}", entry.name),
        }),
        (None, None) => Ok(Name {
            entry: Some(entry),
            index: None,
            canonical: entry.name.to_string(),
        }),
    }
}

fn check_word(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 32
        && key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("`{key}` is not a firmware command name"))
    }
}

/// A value, normalised so that two that mean the same to the firmware are equal.
#[derive(Debug, Clone, PartialEq)]
pub enum Canon {
    Bool(bool),
    Int(i64),
    Text(String),
    /// Millionths of a degree.
    Micro(i64),
    /// A timezone in minutes; 99 is its own value.
    Minutes(i64),
    Set(BTreeSet<String>),
    /// The keys given (Timer, Template, Rule, TimeStd), each normalised.
    Map(BTreeMap<String, Canon>),
}

impl Canon {
    /// For people and JSON: `ON`, `300`, `"+01:00"`, `{Enable=1, Time="06:30"}`.
    pub fn show(&self) -> String {
        match self {
            Canon::Bool(b) => if *b { "ON" } else { "OFF" }.into(),
            Canon::Int(n) => n.to_string(),
            Canon::Text(t) => format!("{t:?}"),
            Canon::Micro(m) => trim_decimal(&format!("{:.6}", *m as f64 / 1e6)),
            Canon::Minutes(99) => "99".into(),
            Canon::Minutes(m) => {
                let sign = if *m < 0 { '-' } else { '+' };
                format!("\"{sign}{:02}:{:02}\"", m.abs() / 60, m.abs() % 60)
            }
            Canon::Set(s) => format!(
                "[{}]",
                s.iter()
                    .map(|t| format!("{t:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Canon::Map(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{k} = {}", v.show()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// As JSON for `--json`: on/off as `true`/`false`, numbers as numbers, a timezone as
    /// `"+01:00"` (or `99`), a set as an array, a table as an object.
    pub fn to_json(&self) -> Value {
        match self {
            Canon::Bool(b) => Value::Bool(*b),
            Canon::Int(n) => Value::from(*n),
            Canon::Text(t) => Value::String(t.clone()),
            Canon::Micro(_) => serde_json::from_str(&self.show()).unwrap_or(Value::Null),
            Canon::Minutes(99) => Value::from(99),
            Canon::Minutes(_) => Value::String(self.show().trim_matches('"').to_string()),
            Canon::Set(s) => Value::Array(s.iter().map(|t| Value::String(t.clone())).collect()),
            Canon::Map(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// Does the device's value satisfy the wanted one? For a map, only the wanted keys count.
    pub fn satisfies(&self, wanted: &Canon) -> bool {
        match (self, wanted) {
            (Canon::Map(have), Canon::Map(want)) => want
                .iter()
                .all(|(k, w)| have.get(k).is_some_and(|h| h.satisfies(w))),
            (Canon::Micro(a), Canon::Micro(b)) => (a - b).abs() <= 1,
            (a, b) => a == b,
        }
    }
}

fn trim_decimal(text: &str) -> String {
    let t = text.trim_end_matches('0').trim_end_matches('.');
    t.to_string()
}

/// The wanted value from the profile: checked for its type and range, normalised. A value the
/// firmware would ignore or clamp gives the second field, a note.
pub fn wanted(name: &Name, value: &toml::Value) -> Result<(Canon, Option<String>), String> {
    let key = &name.canonical;
    let bad = |what: &str| Err(format!("`{key}` wants {what}"));
    match name.kind() {
        Kind::Switch => match value {
            toml::Value::Boolean(b) => Ok((Canon::Bool(*b), None)),
            toml::Value::Integer(0) => Ok((Canon::Bool(false), None)),
            toml::Value::Integer(1) => Ok((Canon::Bool(true), None)),
            toml::Value::String(s) if s.eq_ignore_ascii_case("on") => Ok((Canon::Bool(true), None)),
            toml::Value::String(s) if s.eq_ignore_ascii_case("off") => {
                Ok((Canon::Bool(false), None))
            }
            _ => bad("true/false (or 1/0, \"on\"/\"off\")"),
        },
        Kind::Number { min, max } => {
            match value {
                toml::Value::Integer(n) => {
                    let note = (*n < min || *n > max).then(|| {
                    format!("the firmware ignores {key} {n} (it takes {min}..{max}) and keeps its value")
                });
                    Ok((Canon::Int(*n), note))
                }
                toml::Value::Boolean(b) if min == 0 => Ok((Canon::Int(i64::from(*b)), None)),
                _ => bad(&format!("a whole number {min}..{max}")),
            }
        }
        Kind::PulseTime => match value {
            toml::Value::Integer(n) if (0..=65535).contains(n) => Ok((Canon::Int(*n), None)),
            _ => bad("the raw PulseTime number 0..65535"),
        },
        Kind::Sleep => match value {
            toml::Value::Integer(n) => Ok((
                Canon::Int(*n),
                (!(0..=250).contains(n)).then(|| {
                    format!("the firmware ignores Sleep {n} (it takes 0..250) and keeps its value")
                }),
            )),
            _ => bad("a number of milliseconds 0..250"),
        },
        Kind::Module => match value {
            toml::Value::Integer(n) if *n >= 0 => Ok((Canon::Int(*n), None)),
            _ => bad("a module number"),
        },
        Kind::Gpio => match value {
            toml::Value::Integer(n) if *n >= 0 => Ok((Canon::Int(*n), None)),
            _ => bad("a component number"),
        },
        Kind::Webserver => match value {
            toml::Value::Integer(n @ 0..=2) => Ok((Canon::Int(*n), None)),
            toml::Value::Boolean(b) => Ok((Canon::Int(if *b { 2 } else { 0 }), None)),
            _ => bad("0 (off), 1 (user) or 2 (admin)"),
        },
        Kind::TelePeriod => match value {
            toml::Value::Integer(n) => {
                let (stored, note) = match *n {
                    0 => (0, None),
                    1 => (300, Some("TelePeriod 1 means the default, 300".to_string())),
                    2..=9 => (
                        10,
                        Some(format!("the firmware stores TelePeriod {n} as 10")),
                    ),
                    10..=3600 => (*n, None),
                    _ => (
                        *n,
                        Some(format!(
                            "the firmware ignores TelePeriod {n} (it takes 0 or 10..3600) and keeps its value"
                        )),
                    ),
                };
                Ok((Canon::Int(stored), note))
            }
            _ => bad("a number of seconds: 0, or 10..3600"),
        },
        Kind::Timezone => {
            let minutes = match value {
                toml::Value::Integer(99) => Some(99),
                toml::Value::Integer(h) if (15..=98).contains(h) => Some(99),
                toml::Value::Integer(h) if (-13..=14).contains(h) => Some(h * 60),
                toml::Value::Float(h) if (-13.0..=14.99).contains(h) => {
                    Some((h * 60.0).round() as i64)
                }
                toml::Value::String(s) => timezone_text(s),
                _ => None,
            };
            match minutes {
                Some(m) => Ok((Canon::Minutes(m), None)),
                None => bad("hours -13..14, \"+HH:MM\", or 99"),
            }
        }
        Kind::Coordinate => match value {
            toml::Value::Float(f) => Ok((Canon::Micro((f * 1e6) as i64), None)),
            toml::Value::Integer(n) => Ok((Canon::Micro(n * 1_000_000), None)),
            _ => bad("degrees"),
        },
        Kind::GroupTopic => match value {
            toml::Value::String(s) if !s.is_empty() && !s.contains(['+', '#', ' ', '/']) => {
                Ok((Canon::Text(s.clone()), None))
            }
            _ => bad("a topic word"),
        },
        Kind::Text { max } => match value {
            toml::Value::String(s) if s == "0" || s == "1" => Err(format!(
                "`{key}` = \"{s}\" means clear/reset to the firmware; it cannot hold the text \"{s}\""
            )),
            toml::Value::String(s) if s.chars().count() > max => {
                bad(&format!("at most {max} characters"))
            }
            toml::Value::String(s) if s.contains(['\n', '\r', ';']) => {
                bad("text without line breaks or `;`")
            }
            toml::Value::String(s)
                if s.contains('%')
                    && matches!(
                        name.entry.map(|e| e.name),
                        Some("Topic" | "Hostname" | "MqttClient")
                    ) =>
            {
                Err(format!(
                    "`{key}` = \"{s}\" is a mask each device resolves for itself (from its MAC); write the name itself, as `config show` prints it"
                ))
            }
            toml::Value::String(s) => Ok((Canon::Text(normalise_text(name, s)), None)),
            toml::Value::Integer(n) if name.entry.is_none() => {
                Ok((Canon::Text(n.to_string()), None))
            }
            toml::Value::Boolean(b) if name.entry.is_none() => {
                Ok((Canon::Text(if *b { "ON" } else { "OFF" }.into()), None))
            }
            _ => bad("text"),
        },
        Kind::IpAddress => match value {
            toml::Value::String(s) => Ok((Canon::Text(s.clone()), None)),
            _ => bad("an address"),
        },
        Kind::Rule => match value {
            toml::Value::Table(t) => {
                let mut map = BTreeMap::new();
                for (k, v) in t {
                    let canon = match (k.as_str(), v) {
                        ("rules", toml::Value::String(s)) => {
                            Canon::Text(s.trim_start().to_string())
                        }
                        ("enabled" | "once" | "stop_on_error", toml::Value::Boolean(b)) => {
                            Canon::Bool(*b)
                        }
                        _ => {
                            return bad(
                                "a table { rules = \"...\", enabled = true, once = false, stop_on_error = false }",
                            );
                        }
                    };
                    map.insert(k.clone(), canon);
                }
                Ok((Canon::Map(map), None))
            }
            toml::Value::String(s) => Ok((
                Canon::Map(BTreeMap::from([(
                    "rules".into(),
                    Canon::Text(s.trim_start().into()),
                )])),
                None,
            )),
            _ => bad("a table { rules = \"...\", enabled = true }"),
        },
        Kind::Timer => match value {
            toml::Value::Table(t) => {
                let mut map = BTreeMap::new();
                for (k, v) in t {
                    let canon = match (k.as_str(), v) {
                        (
                            "Enable" | "Window" | "Repeat" | "Output" | "Action" | "Mode",
                            toml::Value::Integer(n),
                        ) => Canon::Int(*n),
                        ("Enable" | "Repeat", toml::Value::Boolean(b)) => Canon::Int(i64::from(*b)),
                        ("Time", toml::Value::String(s)) => match timer_time(s) {
                            Some(t) => Canon::Text(t),
                            None => return bad("Time as \"HH:MM\""),
                        },
                        ("Days", toml::Value::String(s)) => match days(s) {
                            Some(d) => Canon::Text(d),
                            None => {
                                return bad("Days as seven characters, Sunday first (\"-MTWTF-\")");
                            }
                        },
                        _ => {
                            return bad(
                                "a table with Enable, Mode, Time, Window, Days, Repeat, Output, Action",
                            );
                        }
                    };
                    map.insert(k.clone(), canon);
                }
                Ok((Canon::Map(map), None))
            }
            _ => bad(
                "a table such as { Enable = 1, Time = \"06:30\", Days = \"-MTWTF-\", Output = 1, Action = 1 }",
            ),
        },
        Kind::Template => match value {
            toml::Value::Table(t) => {
                let mut map = BTreeMap::new();
                for (k, v) in t {
                    let canon = match (k.as_str(), v) {
                        ("NAME", toml::Value::String(s)) => Canon::Text(s.clone()),
                        ("FLAG" | "BASE", toml::Value::Integer(n)) => Canon::Int(*n),
                        ("GPIO", toml::Value::Array(items)) => {
                            let mut pins = Vec::new();
                            for item in items {
                                match item.as_integer() {
                                    Some(n) => pins.push(n.to_string()),
                                    None => return bad("GPIO as a list of numbers"),
                                }
                            }
                            Canon::Text(pins.join(","))
                        }
                        _ => return bad("a table { NAME, GPIO, FLAG, BASE }"),
                    };
                    map.insert(k.clone(), canon);
                }
                Ok((Canon::Map(map), None))
            }
            _ => bad("a table { NAME = \"...\", GPIO = [...], FLAG = 0, BASE = 18 }"),
        },
        Kind::TimeRule => match value {
            toml::Value::Table(t) => {
                let mut map = BTreeMap::new();
                for (k, v) in t {
                    match (k.as_str(), v.as_integer()) {
                        ("Hemisphere" | "Week" | "Month" | "Day" | "Hour" | "Offset", Some(n)) => {
                            map.insert(k.clone(), Canon::Int(n));
                        }
                        _ => return bad("a table of Hemisphere, Week, Month, Day, Hour, Offset"),
                    }
                }
                Ok((Canon::Map(map), None))
            }
            _ => bad("a table of Hemisphere, Week, Month, Day, Hour, Offset"),
        },
    }
}

/// What the firmware does to text before storing it.
fn normalise_text(name: &Name, text: &str) -> String {
    match name.entry.map(|e| e.name) {
        Some("StateText") => text.replace(' ', "_"),
        Some("Topic") => text.replace(['+', '#', ' '], "_"),
        Some("FullTopic") => text.replace(['+', '#', ' '], ""),
        _ => text.to_string(),
    }
}

/// `+01:00`, `-3:30`, `1` → minutes.
fn timezone_text(text: &str) -> Option<i64> {
    let t = text.trim();
    if t == "99" {
        return Some(99);
    }
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if h >= 15 {
        return Some(99);
    }
    (h <= 14 && (0..60).contains(&m)).then_some(sign * (h * 60 + m))
}

/// `6:5` → `06:05`, as the firmware stores a timer's time.
fn timer_time(text: &str) -> Option<String> {
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (u32, u32) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    Some(format!("{neg}{:02}:{:02}", h.min(23), m.min(59)))
}

/// `-MTWTF-` → `0111110`: seven characters, Sunday first, `0` or `-` off.
fn days(text: &str) -> Option<String> {
    (text.chars().count() == 7).then(|| {
        text.chars()
            .map(|c| if c == '0' || c == '-' { '0' } else { '1' })
            .collect()
    })
}

/// The value a device reports for `name`, from one reply object, if it holds it. `on`/`off`
/// are the device's own StateText words.
pub fn from_reply(name: &Name, reply: &Map<String, Value>, on_off: (&str, &str)) -> Option<Canon> {
    let key = &name.canonical;
    let switch = |v: &Value| match v {
        Value::String(s) if s.eq_ignore_ascii_case(on_off.0) || s.eq_ignore_ascii_case("ON") => {
            Some(Canon::Bool(true))
        }
        Value::String(s) if s.eq_ignore_ascii_case(on_off.1) || s.eq_ignore_ascii_case("OFF") => {
            Some(Canon::Bool(false))
        }
        Value::Number(n) => n.as_i64().map(|n| Canon::Bool(n != 0)),
        _ => None,
    };
    let int = |v: &Value| match v {
        Value::Number(n) => n.as_i64().map(Canon::Int),
        Value::String(s) => s.trim().parse().ok().map(Canon::Int),
        _ => None,
    };
    match name.kind() {
        Kind::Template => {
            let mut map = BTreeMap::new();
            map.insert(
                "NAME".into(),
                Canon::Text(reply.get("NAME")?.as_str()?.to_string()),
            );
            let gpio: Vec<String> = reply
                .get("GPIO")?
                .as_array()?
                .iter()
                .map(|v| v.to_string())
                .collect();
            map.insert("GPIO".into(), Canon::Text(gpio.join(",")));
            for k in ["FLAG", "BASE"] {
                if let Some(n) = reply.get(k).and_then(Value::as_i64) {
                    map.insert(k.into(), Canon::Int(n));
                }
            }
            return Some(Canon::Map(map));
        }
        Kind::Rule => {
            let value = reply.get(key)?;
            let object = match value {
                Value::Object(o) => o.clone(),
                // Before 9.5: flat, `{"Rule1":"ON","Once":"OFF","StopOnError":"OFF","Rules":...}`.
                Value::String(state) => {
                    let mut o = reply.clone();
                    o.insert("State".into(), Value::String(state.clone()));
                    o
                }
                _ => return None,
            };
            let mut map = BTreeMap::new();
            map.insert(
                "rules".into(),
                Canon::Text(object.get("Rules")?.as_str()?.to_string()),
            );
            for (k, field) in [
                ("enabled", "State"),
                ("once", "Once"),
                ("stop_on_error", "StopOnError"),
            ] {
                if let Some(Canon::Bool(b)) = object.get(field).and_then(switch) {
                    map.insert(k.into(), Canon::Bool(b));
                }
            }
            return Some(Canon::Map(map));
        }
        _ => {}
    }
    let value = reply.get(key)?;
    match name.kind() {
        Kind::Switch => switch(value),
        Kind::Number { .. } | Kind::TelePeriod | Kind::PulseTime
            if matches!(value, Value::Object(_)) =>
        {
            value.get("Set").and_then(int)
        }
        Kind::Number { .. } | Kind::TelePeriod | Kind::PulseTime => int(value),
        Kind::Sleep => match value {
            Value::Object(o) => o.keys().next()?.parse().ok().map(Canon::Int),
            // Older builds: "50 (Active 50)".
            Value::String(s) => s.split_whitespace().next()?.parse().ok().map(Canon::Int),
            other => int(other),
        },
        Kind::Module | Kind::Gpio => match value {
            Value::Object(o) => o.keys().next()?.parse().ok().map(Canon::Int),
            Value::String(s) => s.split_whitespace().next()?.parse().ok().map(Canon::Int),
            other => int(other),
        },
        Kind::Timezone => match value {
            Value::Number(n) => n
                .as_i64()
                .map(|n| Canon::Minutes(if n >= 15 { 99 } else { n * 60 })),
            Value::String(s) => timezone_text(s).map(Canon::Minutes),
            _ => None,
        },
        Kind::Coordinate => value
            .as_f64()
            .map(|f| Canon::Micro((f * 1e6).round() as i64)),
        Kind::Webserver => match value.as_str() {
            Some(s) if s.eq_ignore_ascii_case("OFF") => Some(Canon::Int(0)),
            Some(s) if s.contains(" Admin ") => Some(Canon::Int(2)),
            Some(s) if s.contains(" User ") => Some(Canon::Int(1)),
            _ => int(value),
        },
        Kind::IpAddress => value
            .as_str()
            .map(|s| Canon::Text(s.split_whitespace().next().unwrap_or("").to_string())),
        Kind::Timer => {
            let object = value.as_object()?;
            let mut map = BTreeMap::new();
            for (k, v) in object {
                let canon = match v {
                    Value::Number(n) => Canon::Int(n.as_i64()?),
                    Value::String(s) => Canon::Text(s.clone()),
                    _ => continue,
                };
                map.insert(k.clone(), canon);
            }
            Some(Canon::Map(map))
        }
        Kind::TimeRule => {
            let object = value.as_object()?;
            Some(Canon::Map(
                object
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), Canon::Int(v.as_i64()?))))
                    .collect(),
            ))
        }
        Kind::GroupTopic => None, // read as a set: see `group_topics`
        Kind::Text { .. } => match value {
            Value::String(s) => Some(Canon::Text(s.clone())),
            Value::Number(n) => Some(Canon::Text(n.to_string())),
            _ => None,
        },
        Kind::Template | Kind::Rule => None,
    }
}

/// The group topics a reply lists (`GroupTopic1`..`4`), empty ones left out.
pub fn group_topics(reply: &Map<String, Value>) -> Option<BTreeSet<String>> {
    let mut set = BTreeSet::new();
    let mut any = false;
    for i in 1..=4 {
        if let Some(v) = reply.get(&format!("GroupTopic{i}")) {
            any = true;
            if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
                set.insert(s.to_string());
            }
        }
    }
    any.then_some(set)
}

/// A SetOption's value from `Status 3`'s `SetOption` array: bits of flag, flag3..6; bytes of
/// the parameter string (support_command.ino `CmndStatus` 3).
pub fn from_status3(n: u16, status: &Map<String, Value>) -> Option<Canon> {
    let words: Vec<&str> = status
        .get("SetOption")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let bit = |word: &str, bit: u16| {
        u32::from_str_radix(word, 16)
            .ok()
            .map(|w| Canon::Bool(w >> bit & 1 == 1))
    };
    match n {
        0..=31 => bit(words.first()?, n),
        32..=49 => {
            let params = words.get(1)?;
            let at = usize::from(n - 32) * 2;
            u8::from_str_radix(params.get(at..at + 2)?, 16)
                .ok()
                .map(|b| Canon::Int(i64::from(b)))
        }
        50..=81 => bit(words.get(2)?, n - 50),
        82..=113 => bit(words.get(3)?, n - 82),
        114..=145 => bit(words.get(4)?, n - 114),
        146..=177 => bit(words.get(5)?, n - 146),
        _ => None,
    }
}

/// The payload that sets `wanted` (plain decimals, no leading zeros), as the firmware reads
/// it; `None` when it has to go out on its own message (rule text).
pub fn payload(name: &Name, wanted: &toml::Value) -> String {
    match (name.kind(), wanted) {
        (Kind::Switch, toml::Value::Boolean(b)) => u8::from(*b).to_string(),
        (Kind::Switch, toml::Value::String(s)) => if s.eq_ignore_ascii_case("on") {
            "1"
        } else {
            "0"
        }
        .into(),
        (Kind::Webserver, toml::Value::Boolean(b)) => if *b { "2" } else { "0" }.into(),
        (Kind::Timezone, toml::Value::String(s)) => s.clone(),
        (Kind::Coordinate, v) => v.to_string(),
        (Kind::Timer | Kind::TimeRule | Kind::Template, toml::Value::Table(t)) => {
            let mut object = Map::new();
            for (k, v) in t {
                let json = match (k.as_str(), v) {
                    ("Days", toml::Value::String(s)) => {
                        Value::String(days(s).unwrap_or_else(|| s.clone()))
                    }
                    (_, toml::Value::Boolean(b)) => Value::from(u8::from(*b)),
                    (_, other) => serde_json::to_value(other).unwrap_or(Value::Null),
                };
                object.insert(k.clone(), json);
            }
            Value::Object(object).to_string()
        }
        (_, toml::Value::String(s)) => s.clone(),
        (_, toml::Value::Integer(n)) => n.to_string(),
        (_, toml::Value::Boolean(b)) => u8::from(*b).to_string(),
        (_, other) => other.to_string(),
    }
}

/// The commands that set a rule: its text on its own message (a `;` in it would split a
/// Backlog), then its flags.
pub fn rule_commands(name: &Name, wanted: &toml::Value) -> (Option<String>, Vec<String>) {
    let key = &name.canonical;
    let table = match wanted {
        toml::Value::Table(t) => t.clone(),
        toml::Value::String(s) => {
            let mut t = toml::Table::new();
            t.insert("rules".into(), toml::Value::String(s.clone()));
            t
        }
        _ => return (None, Vec::new()),
    };
    let text = table
        .get("rules")
        .and_then(toml::Value::as_str)
        .map(String::from);
    let mut flags = Vec::new();
    for (field, off, on) in [("enabled", 0, 1), ("once", 4, 5), ("stop_on_error", 8, 9)] {
        if let Some(b) = table.get(field).and_then(toml::Value::as_bool) {
            flags.push(format!("{key} {}", if b { on } else { off }));
        }
    }
    (text, flags)
}

/// A device value back as profile TOML, for `config show`.
pub fn to_toml(canon: &Canon, name: &Name) -> toml::Value {
    match canon {
        Canon::Bool(b) => toml::Value::Boolean(*b),
        Canon::Int(n) => toml::Value::Integer(*n),
        Canon::Text(t) if name.kind() == Kind::Template => toml::Value::String(t.clone()),
        Canon::Text(t) => toml::Value::String(t.clone()),
        Canon::Micro(m) => toml::Value::Float(*m as f64 / 1e6),
        Canon::Minutes(99) => toml::Value::Integer(99),
        Canon::Minutes(m) => {
            let sign = if *m < 0 { '-' } else { '+' };
            toml::Value::String(format!("{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60))
        }
        Canon::Set(s) => {
            toml::Value::Array(s.iter().map(|t| toml::Value::String(t.clone())).collect())
        }
        Canon::Map(m) => {
            let mut t = toml::Table::new();
            for (k, v) in m {
                let value = match (k.as_str(), v) {
                    ("GPIO", Canon::Text(list)) => toml::Value::Array(
                        list.split(',')
                            .filter_map(|p| p.parse::<i64>().ok())
                            .map(toml::Value::Integer)
                            .collect(),
                    ),
                    (_, other) => to_toml(other, name),
                };
                t.insert(k.clone(), value);
            }
            toml::Value::Table(t)
        }
    }
}

/// The settings `config show` prints when the profile asks none of a device.
pub const SHOW_DEFAULT: &[&str] = &[
    "TelePeriod",
    "PowerOnState",
    "Timezone",
    "NtpServer1",
    "FriendlyName1",
    "DeviceName",
    "PowerRetain",
    "SetOption4",
    "SetOption19",
    "LedState",
];

/// One row of the README's table: name (with indexes and aliases), how it is read, whether
/// writing it restarts the device, what `apply` does about reachability, and what it is.
#[cfg(test)]
fn readme_row(e: &Entry) -> String {
    let name = match e.indexes {
        Some((a, b)) => format!("`{}{a}`..`{}{b}`", e.name, e.name),
        None => format!("`{}`", e.name),
    };
    let aliases = if e.aliases.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            e.aliases
                .iter()
                .map(|a| format!("`{a}<n>`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let read = match e.read {
        Read::Query => "empty payload".to_string(),
        Read::SetOptionBits | Read::StatusTelePeriod => "`Status 3`".to_string(),
        Read::Status(n) => format!("`Status {n}`"),
    };
    let restart = match (e.name, e.restart) {
        ("SetOption", _) => {
            "some (3, 15, 37, 68, 75, 85, 88, 97, 102-104, 106, 107, 132, 151-153; 55 and 115 when 0)"
        }
        ("Template", _) => "under `Module 0`",
        (_, Restart::Always) => "every write",
        (_, Restart::OnChange) => "on a change",
        (_, Restart::WhenZero) => "when 0",
        (_, Restart::Never) => "no",
    };
    let reach = match e.reach {
        Reach::Keeps => "",
        Reach::Address => "`--force`, followed",
        Reach::Away => "refused",
    };
    format!(
        "| {name}{aliases} | {read} | {restart} | {reach} | {} |",
        e.about
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(key: &str) -> Name {
        resolve(key).unwrap()
    }

    /// The README's table of settings is this table, row for row.
    #[test]
    fn the_readme_lists_every_setting() {
        let expected: Vec<String> = TABLE.iter().map(readme_row).collect();
        if std::env::var_os("PRINT_ROWS").is_some() {
            println!("{}", expected.join("\n"));
        }
        let readme = include_str!("../README.md");
        let start = readme
            .find("<!-- settings:start -->")
            .expect("the table's start");
        let end = readme
            .find("<!-- settings:end -->")
            .expect("the table's end");
        let rows: Vec<&str> = readme[start..end]
            .lines()
            .filter(|l| l.starts_with("| `"))
            .collect();
        assert_eq!(rows, expected, "README.md's table of settings");
        // `config show`'s default set, as the README lists it.
        let listed = format!("else `{}`)", SHOW_DEFAULT.join(" "));
        let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&listed), "README.md lists {listed}");
    }

    #[test]
    fn names_aliases_and_refusals() {
        assert_eq!(name("so19").canonical, "SetOption19");
        assert_eq!(name("FN1").canonical, "FriendlyName1");
        assert_eq!(name("teleperiod").canonical, "TelePeriod");
        assert_eq!(name("MqttNoRetain").canonical, "SetOption104");
        assert_eq!(
            name("MyBerryThing").entry,
            None,
            "not in the table: compared as text"
        );
        for (bad, words) in [
            ("Backlog", "acts"),
            ("SaveData", "acts"),
            ("MqttPassword", "write-only"),
            ("Password1", "write-only"),
            ("FriendlyName", "`FriendlyName1`"),
            ("NtpServer", "`NtpServer1`"),
            ("GroupTopic", "`GroupTopic1`"),
            ("PulseTime", "needs an index"),
            ("FriendlyName9", "from 1 to 8"),
            ("SetOption5", "PowerRetain"),
            ("TelePeriod2", "takes no index"),
        ] {
            let err = resolve(bad).unwrap_err();
            assert!(err.contains(words), "{bad}: {err}");
        }
    }

    #[test]
    fn values_compare_as_the_firmware_means_them() {
        let w = |key: &str, v: toml::Value| wanted(&name(key), &v).unwrap();
        assert_eq!(w("TelePeriod", 1.into()).0, Canon::Int(300));
        assert_eq!(w("TelePeriod", 5.into()).0, Canon::Int(10));
        assert!(w("TelePeriod", 5000.into()).1.unwrap().contains("ignores"));
        assert_eq!(w("Timezone", 1.into()).0, Canon::Minutes(60));
        assert_eq!(w("Timezone", "+01:00".into()).0, Canon::Minutes(60));
        assert_eq!(w("Timezone", "-3:30".into()).0, Canon::Minutes(-210));
        assert_eq!(w("Timezone", 20.into()).0, Canon::Minutes(99));
        let timer: toml::Value = toml::from_str::<toml::Table>(
            "t = { Days = \"-MTWTF-\", Time = \"6:30\" }",
        )
        .unwrap()["t"]
            .clone();
        let (canon, _) = w("Timer1", timer);
        let reply: Map<String, Value> = serde_json::from_str(
            r#"{"Timer1":{"Enable":1,"Mode":0,"Time":"06:30","Window":0,"Days":"0111110","Repeat":1,"Output":1,"Action":1}}"#,
        )
        .unwrap();
        let device = from_reply(&name("Timer1"), &reply, ("ON", "OFF")).unwrap();
        assert!(device.satisfies(&canon), "{device:?} {canon:?}");
        // rules: nested (9.5+) and flat (older) replies
        let rule = w("Rule1", toml::Value::Table(toml::from_str("rules = \"ON Power1#State=1 DO Backlog Delay 1; Power2 1 ENDON\"\nenabled = true").unwrap()));
        for reply in [
            r#"{"Rule1":{"State":"ON","Once":"OFF","StopOnError":"OFF","Length":54,"Free":457,"Rules":"ON Power1#State=1 DO Backlog Delay 1; Power2 1 ENDON"}}"#,
            r#"{"Rule1":"ON","Once":"OFF","StopOnError":"OFF","Free":322,"Rules":"ON Power1#State=1 DO Backlog Delay 1; Power2 1 ENDON"}"#,
        ] {
            let reply: Map<String, Value> = serde_json::from_str(reply).unwrap();
            let device = from_reply(&name("Rule1"), &reply, ("ON", "OFF")).unwrap();
            assert!(device.satisfies(&rule.0), "{reply:?}");
        }
        // a custom StateText still reads as on
        let reply: Map<String, Value> = serde_json::from_str(r#"{"PowerRetain":"AN"}"#).unwrap();
        assert_eq!(
            from_reply(&name("PowerRetain"), &reply, ("AN", "AUS")),
            Some(Canon::Bool(true))
        );
        // Status 3: SetOption4 (bit 4 of flag), 32 (first param byte), 114 (bit 0 of flag5)
        let status: Map<String, Value> = serde_json::from_str(
            r#"{"SetOption":["00000010","2805C80001","00000000","00000000","00000001","00000000"]}"#,
        )
        .unwrap();
        assert_eq!(from_status3(4, &status), Some(Canon::Bool(true)));
        assert_eq!(from_status3(32, &status), Some(Canon::Int(0x28)));
        assert_eq!(from_status3(114, &status), Some(Canon::Bool(true)));
        assert_eq!(from_status3(19, &status), Some(Canon::Bool(false)));
    }
}
