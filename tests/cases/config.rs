//! `config diff|apply|show` against simulated devices and against a second, independent device
//! written here from tasmota-settings.md: the drift a mixed fleet shows, what reaches the
//! broker (read-only queries for diff; only what differs, under the firmware's limits, for
//! apply), restarts followed, values compared as the firmware means them, and address changes
//! followed with the profile updated.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::{Broker, Env, Recorder, ScriptedDevice, Seen, Sim, json, row, stderr, stdout};

const FLEET: &str = r#"
[[device]]
Topic = "plug"
Commands = ["TelePeriod 60", "Timezone 1"]
[[device]]
Topic = "swapped"
FullTopic = "%topic%/%prefix%/"
Commands = ["PowerOnState 0"]
[[device]]
Topic = "so4"
SetOption4 = 1
Commands = ["SetOption53 1", "FriendlyName1 Hall"]
[[device]]
Topic = "old"
Version = "9.3.1"
Commands = ["Rule1 ON Power1#State=1 DO Backlog Power2 1; Delay 10 ENDON", "Rule1 1"]
[[device]]
Topic = "gone"
Online = false
"#;

const PROFILE: &str = r#"
[settings]
TelePeriod = 60
Timezone = 1
SetOption53 = 1

[groups.hall]
members = ["so4"]
settings = { FriendlyName1 = "Hall", PowerOnState = 0 }

[devices]
plug = "plug"
swapped = { topic = "swapped", full_topic = "%topic%/%prefix%/", settings = { PowerOnState = 0 } }
so4 = "so4"
old = { topic = "old", settings = { Rule1 = { rules = "ON Power1#State=1 DO Backlog Power2 1; Delay 10 ENDON", enabled = true } } }
gone = "gone"
"#;

fn config(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .args(["--broker", &broker.url(), "-w", "3s", "config"])
        .args(args)
        .output()
        .unwrap()
}

/// The drift of a row as {setting: (device, wanted)}.
fn drift(row: &Value) -> BTreeMap<String, (Value, Value)> {
    row["drift"]
        .as_array()
        .unwrap_or_else(|| panic!("no drift in {row}"))
        .iter()
        .map(|d| {
            (
                d["setting"].as_str().unwrap().to_string(),
                (d["device"].clone(), d["wanted"].clone()),
            )
        })
        .collect()
}

/// The commands that reached the broker: (command topic's last level, payload).
fn commands(seen: &[Seen]) -> Vec<(String, String)> {
    seen.iter()
        .filter(|s| s.topic.starts_with("cmnd/") || s.topic.contains("/cmnd/"))
        .map(|s| {
            (
                s.topic.rsplit('/').next().unwrap().to_string(),
                String::from_utf8_lossy(&s.payload).into_owned(),
            )
        })
        .collect()
}

/// Every command a read-only run may send: `Backlog0` of empty-payload queries and `Status 3`.
fn assert_only_queries(sent: &[(String, String)]) {
    assert!(!sent.is_empty(), "something must have been asked");
    for (name, payload) in sent {
        assert_eq!(name, "Backlog0", "only batched queries: {name} {payload}");
        for item in payload.split(';').map(str::trim) {
            assert!(
                matches!(item, "Status 3" | "Status 5" | "Status 6") || !item.contains(' '),
                "`{item}` is not a plain query"
            );
            assert!(!item.is_empty(), "an empty Backlog item clears the queue");
            for acting in [
                "TelePeriod",
                "Backlog",
                "SaveData",
                "Restart",
                "Power",
                "State",
            ] {
                assert!(
                    !item.eq_ignore_ascii_case(acting),
                    "`{item}` acts, it is not a query"
                );
            }
        }
    }
}

#[test]
fn diff_of_a_mixed_fleet_reads_only_and_names_each_drift() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(PROFILE);
    let _sim = Sim::scenario(&broker, &env, FLEET);
    let witness = Recorder::start(&broker, "#");
    witness.drain();

    let out = config(&env, &broker, &["diff", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "gone is offline: {}",
        stderr(&out)
    );
    let report = json(&out);
    // plug: TelePeriod and Timezone already set (`Timezone 1` is "+01:00").
    assert_eq!(
        drift(row(&report, "plug")),
        BTreeMap::from([("SetOption53".into(), (json!(false), json!(true)))])
    );
    // swapped (topic first): PowerOnState set, the rest not.
    assert_eq!(
        drift(row(&report, "swapped")),
        BTreeMap::from([
            ("SetOption53".into(), (json!(false), json!(true))),
            ("TelePeriod".into(), (json!(300), json!(60))),
            ("Timezone".into(), (json!(99), json!("+01:00"))),
        ])
    );
    // so4 replies on stat/so4/<COMMAND>; its group asks what it has.
    let so4 = drift(row(&report, "so4"));
    assert_eq!(
        so4.keys().collect::<Vec<_>>(),
        ["PowerOnState", "TelePeriod", "Timezone"]
    );
    assert_eq!(so4["PowerOnState"], (json!(3), json!(0)));
    // old (9.3.1): the flat Rule reply compares equal, rule text and all.
    let old = drift(row(&report, "old"));
    assert!(!old.contains_key("Rule1"), "{old:?}");
    assert_eq!(old.len(), 3, "{old:?}");
    let gone = row(&report, "gone");
    assert_eq!(gone["ok"], false);
    assert!(
        gone["error"].as_str().unwrap().contains("offline"),
        "{gone}"
    );
    for name in ["plug", "swapped", "so4", "old"] {
        assert_eq!(row(&report, name)["in_sync"], false, "{name}");
        assert_eq!(row(&report, name)["ok"], true, "{name}");
    }
    assert_only_queries(&commands(&witness.drain()));

    // Without the silent device, the drift alone decides: 6.
    let out = config(&env, &broker, &["diff", "plug", "swapped", "so4", "old"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("SetOption53") && text.contains("wanted ON"),
        "{text}"
    );
}

#[test]
fn apply_converges_then_finds_nothing_to_send() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(PROFILE);
    let _sim = Sim::scenario(&broker, &env, FLEET);
    let witness = Recorder::start(&broker, "#");
    witness.drain();
    let targets = ["plug", "swapped", "so4", "old"];

    let out = config(
        &env,
        &broker,
        &[&["apply", "--json"][..], &targets].concat(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report = json(&out);
    let applied = |name: &str| -> Vec<String> {
        row(&report, name)["applied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(applied("plug"), ["SetOption53"]);
    assert_eq!(applied("so4"), ["PowerOnState", "TelePeriod", "Timezone"]);
    for name in targets {
        assert_eq!(row(&report, name)["in_sync"], true, "{name}");
        assert_eq!(row(&report, name)["drift"], json!([]), "{name}");
    }
    // Plain decimals, only what differed, and the device's own answers confirm it.
    let sent = commands(&witness.drain());
    let writes: Vec<&(String, String)> = sent.iter().filter(|(n, _)| n != "Backlog0").collect();
    assert!(
        writes.contains(&&("Backlog".to_string(), "SetOption53 1".to_string())),
        "{writes:?}"
    );
    assert!(
        !writes
            .iter()
            .any(|(_, p)| p.contains("Rule1") || p.contains("FriendlyName")),
        "settings in sync are never sent: {writes:?}"
    );

    // A second apply right after sends no setting.
    let out = config(
        &env,
        &broker,
        &[&["apply", "--json"][..], &targets].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in targets {
        assert_eq!(row(&json(&out), name)["applied"], json!([]), "{name}");
    }
    assert_only_queries(&commands(&witness.drain()));
    let out = config(&env, &broker, &[&["diff"][..], &targets].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn restart_settings_go_together_and_the_device_is_followed_through_one_restart() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        r#"
[devices.lamp]
topic = "lamp"
settings = { Hostname = "lamp-host", GroupTopic1 = "lights", GroupTopic2 = "kitchen", SetOption55 = 0, FriendlyName1 = "Lamp", Module = 18 }
"#,
    );
    // Module 18 is already set: Module restarts on any write, so it must never be sent.
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"lamp\"\nCommands = [\"SetOption55 1\"]\n",
    );
    let witness = Recorder::start(&broker, "#");
    witness.drain();
    let out = config(&env, &broker, &["apply", "lamp", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report = json(&out);
    assert_eq!(row(&report, "lamp")["in_sync"], true);
    let seen = witness.drain();
    let infos = seen.iter().filter(|s| s.topic == "tele/lamp/INFO1").count();
    assert_eq!(infos, 1, "one restart, confirmed by its INFO1");
    let lwts: Vec<String> = seen
        .iter()
        .filter(|s| s.topic == "tele/lamp/LWT")
        .map(|s| String::from_utf8_lossy(&s.payload).into_owned())
        .collect();
    assert_eq!(lwts, ["Online"], "a commanded restart sends no Offline");
    let sent = commands(&seen);
    let writes: Vec<&(String, String)> = sent.iter().filter(|(n, _)| n != "Backlog0").collect();
    assert!(
        !writes.iter().any(|(_, p)| p.contains("Module")),
        "{writes:?}"
    );
    // The restart-causing ones in one message, after the plain one.
    let last = writes.iter().rev().find(|(n, _)| n == "Backlog").unwrap();
    for s in [
        "Hostname lamp-host",
        "GroupTopic1 kitchen",
        "GroupTopic2 lights",
        "SetOption55 0",
    ] {
        assert!(last.1.contains(s), "{s} in {last:?}");
    }
    assert!(!last.1.contains("FriendlyName1"), "{last:?}");
    // The values were read back after the restart: the read after INFO1.
    let info_at = seen
        .iter()
        .position(|s| s.topic == "tele/lamp/INFO1")
        .unwrap();
    assert!(
        seen[info_at..]
            .iter()
            .any(|s| s.topic == "cmnd/lamp/Backlog0"),
        "read back after the restart"
    );
}

#[test]
fn values_compare_as_the_firmware_means_them() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        r#"
[devices.board]
topic = "board"
relays = 2
settings = { TelePeriod = 1, Timezone = 1, Rule1 = { rules = "ON Power1#State=1 DO Backlog Power2 1; Delay 10; Power2 0 ENDON", enabled = true }, Timer1 = { Enable = 1, Time = "6:30", Days = "-MTWTF-", Output = 2, Action = 1 }, PulseTime2 = 113, SO19 = 0, FN2 = "Pump" }
"#,
    );
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"board\"\nRelays = 2\nCommands = [\"Timezone +01:00\"]\n",
    );
    let witness = Recorder::start(&broker, "#");
    witness.drain();
    let out = config(&env, &broker, &["diff", "--json"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let found = drift(row(&json(&out), "board"));
    // TelePeriod 1 is 300 (the default the device has), Timezone 1 is "+01:00".
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        ["FriendlyName2", "PulseTime2", "Rule1", "Timer1"],
        "{found:?}"
    );
    let out = config(&env, &broker, &["apply"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let sent = commands(&witness.drain());
    // The rule text with its `;` went on its own message, never inside a Backlog.
    assert!(
        sent.contains(&(
            "Rule1".into(),
            "ON Power1#State=1 DO Backlog Power2 1; Delay 10; Power2 0 ENDON".into()
        )),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .filter(|(n, _)| n.starts_with("Backlog"))
            .all(|(_, p)| !p.contains("ENDON"))
    );
    assert!(
        sent.iter().any(|(_, p)| p.contains(r#""Days":"0111110""#)),
        "{sent:?}"
    );
    let out = config(&env, &broker, &["diff"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_value_the_firmware_ignores_is_named_with_the_value_it_kept() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        "[devices.plug]\ntopic = \"plug\"\nsettings = { TelePeriod = 5000, PowerOnState = 1 }\n",
    );
    let _sim = Sim::scenario(&broker, &env, "[[device]]\nTopic = \"plug\"\n");
    let out = config(&env, &broker, &["diff", "--json"]);
    assert_eq!(out.status.code(), Some(6));
    let report = json(&out);
    let tele = row(&report, "plug")["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["setting"] == "TelePeriod")
        .unwrap()
        .clone();
    assert!(tele["note"].as_str().unwrap().contains("ignores"), "{tele}");
    let out = config(&env, &broker, &["apply", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let plug = row(&json(&out), "plug").clone();
    let error = plug["error"].as_str().unwrap();
    assert!(error.contains("TelePeriod kept 300"), "{error}");
    assert!(
        !error.contains("PowerOnState"),
        "PowerOnState 1 was kept: {error}"
    );
}

#[test]
fn forty_settings_go_out_in_several_messages_under_the_limit() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let mut settings: Vec<String> = (1..=32)
        .map(|i| format!("PulseTime{i} = {}", 100 + i))
        .collect();
    settings.extend((1..=8).map(|i| format!("FriendlyName{i} = \"{}{i}\"", "n".repeat(30))));
    let env = Env::with_profile(&format!(
        "[devices.big]\ntopic = \"a_rather_long_topic_for_one_device\"\nsettings = {{ {} }}\n",
        settings.join(", ")
    ));
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"a_rather_long_topic_for_one_device\"\nVersion = \"13.1.0\"\n",
    );
    let witness = Recorder::start(&broker, "#");
    witness.drain();
    let out = config(&env, &broker, &["apply", "--json", "-w", "10s"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(
        row(&json(&out), "big")["applied"].as_array().unwrap().len(),
        40
    );
    let seen = witness.drain();
    let backlogs: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.topic.ends_with("/Backlog"))
        .collect();
    assert!(backlogs.len() >= 2, "{} messages", backlogs.len());
    for b in &backlogs {
        assert!(
            b.topic.len() + b.payload.len() < 1200,
            "{} bytes",
            b.payload.len()
        );
        let items = String::from_utf8_lossy(&b.payload).split("; ").count();
        assert!(items <= 30, "{items} commands in one Backlog");
    }
}

#[test]
fn topic_needs_force_and_is_followed_with_the_profile_updated() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        "# my devices\n[devices]\n# the desk lamp\ndesk = { topic = \"desk\", settings = { Topic = \"desk_lamp\", FriendlyName1 = \"Desk\" } }\n",
    );
    let _sim = Sim::scenario(&broker, &env, "[[device]]\nTopic = \"desk\"\n");
    let witness = Recorder::start(&broker, "#");
    witness.drain();
    let out = config(&env, &broker, &["apply"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert!(
        commands(&witness.drain()).is_empty(),
        "nothing sent without --force"
    );

    let out = config(&env, &broker, &["apply", "--force"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let profile = env.read_profile();
    assert!(profile.contains("topic = \"desk_lamp\""), "{profile}");
    assert!(
        profile.contains("# the desk lamp"),
        "comments kept: {profile}"
    );
    let out = env
        .tasctl()
        .args(["--broker", &broker.url(), "power", "on", "desk"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = config(&env, &broker, &["diff"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn away_settings_are_refused_before_anything_is_sent() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        "[devices.plug]\ntopic = \"plug\"\nsettings = { MqttHost = \"10.0.0.9\", TelePeriod = 60 }\n",
    );
    let _sim = Sim::scenario(&broker, &env, "[[device]]\nTopic = \"plug\"\n");
    let witness = Recorder::start(&broker, "#");
    witness.drain();
    for force in [false, true] {
        let args: &[&str] = if force {
            &["apply", "--force"]
        } else {
            &["apply"]
        };
        let out = config(&env, &broker, args);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("off this broker"), "{}", stderr(&out));
    }
    assert!(commands(&witness.drain()).is_empty());
    // diff still reports it.
    let out = config(&env, &broker, &["diff", "--json"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(drift(row(&json(&out), "plug")).contains_key("MqttHost"));
}

#[test]
fn show_output_pasted_into_the_profile_diffs_in_sync() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile("[devices]\ngolden = \"golden\"\ncopy = \"copy\"\n");
    let _sim = Sim::scenario(
        &broker,
        &env,
        r#"
[[device]]
Topic = "golden"
Commands = ["TelePeriod 120", "Timezone -3:30", "SetOption53 1", "Rule2 ON Time#Minute=60 DO Power 2 ENDON", "Rule2 5", "Timer3 {\"Enable\":1,\"Time\":\"22:15\",\"Days\":\"SM-----\",\"Action\":0}", "GroupTopic2 upstairs", "PulseTime1 20", "Latitude 52.520008", "Sleep 100", "NtpServer2 time.example.org"]
[[device]]
Topic = "copy"
"#,
    );
    let names = [
        "TelePeriod",
        "Timezone",
        "SO53",
        "Rule2",
        "Timer3",
        "GroupTopic1",
        "GroupTopic2",
        "PulseTime1",
        "Latitude",
        "Sleep",
        "NtpServer2",
        "PowerOnState",
        "FriendlyName1",
    ];
    let out = config(&env, &broker, &[&["show", "golden"][..], &names].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("settings = {"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("SetOption53 = true"),
        "the firmware's spelling: {line}"
    );
    // Paste it as a group's settings for both devices.
    std::fs::write(
        env.profile(),
        format!("[devices]\ngolden = \"golden\"\ncopy = \"copy\"\n\n[groups.pair]\nmembers = [\"golden\", \"copy\"]\n{line}\n"),
    )
    .unwrap();
    let out = config(&env, &broker, &["diff", "golden"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let out = config(&env, &broker, &["apply", "copy"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let out = config(&env, &broker, &["diff"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn profile_settings_are_checked_at_load_with_where() {
    let env = Env::new();
    for (text, words) in [
        ("[settings]\nBacklog = \"Power 1\"\n", ":2:"),
        ("[settings]\nBacklog = \"Power 1\"\n", "acts"),
        ("[settings]\nMqttPassword = \"x\"\n", "write-only"),
        ("[settings]\nFriendlyName = \"x\"\n", "FriendlyName1"),
        ("[settings]\nTelePeriod = \"often\"\n", "TelePeriod"),
        (
            "[devices]\na = \"a\"\n[groups.one]\nmembers = [\"a\"]\nsettings = { PowerOnState = 0 }\n[groups.two]\nmembers = [\"a\"]\nsettings = { PowerOnState = 1 }\n",
            "one",
        ),
        (
            "[devices]\na = \"a\"\n[groups.one]\nmembers = [\"a\"]\nsettings = { PowerOnState = 0 }\n[groups.two]\nmembers = [\"a\"]\nsettings = { PowerOnState = 1 }\n",
            "two",
        ),
    ] {
        std::fs::write(env.profile(), text).unwrap();
        let out = env.tasctl().args(["config", "diff"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(stderr(&out).contains(words), "{words}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    // An unknown name is allowed, compared as text, and said so.
    std::fs::write(
        env.profile(),
        "[devices]\na = \"a\"\n[devices.b]\ntopic = \"b\"\nsettings = { MyBerryOption = 3 }\n",
    )
    .unwrap();
    let out = env
        .tasctl()
        .args(["profile", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = json(&out);
    let b = listing["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "b")
        .unwrap();
    assert_eq!(b["settings"]["MyBerryOption"], 3, "{b}");
}

/// A second device, written here from tasmota-settings.md and nothing else: Backlog split on
/// `;` (all replies at once), empty payload reads, `Status 3`, and the 9.3.1 flat Rule reply.
fn raw_device(broker: &Broker) -> ScriptedDevice {
    let mut values: BTreeMap<String, String> = BTreeMap::from([
        ("TelePeriod".into(), "300".into()),
        ("PowerOnState".into(), "3".into()),
        ("FriendlyName1".into(), "Tasmota".into()),
        ("Rule1".into(), String::new()),
        ("Rule1State".into(), "OFF".into()),
    ]);
    let mut so53 = false;
    ScriptedDevice::start(broker, "raw", move |name, payload| {
        let payload = String::from_utf8_lossy(payload).into_owned();
        let items: Vec<(String, String)> = if name.to_ascii_uppercase().starts_with("BACKLOG") {
            payload
                .split(';')
                .map(|i| i.trim())
                .filter(|i| !i.is_empty())
                .map(|i| {
                    let (c, p) = i.split_once(' ').unwrap_or((i, ""));
                    (c.to_string(), p.trim().to_string())
                })
                .collect()
        } else {
            vec![(name.to_string(), payload.trim().to_string())]
        };
        let mut replies = Vec::new();
        for (command, p) in items {
            let reply = match command.to_ascii_uppercase().as_str() {
                "STATUS" if p == "3" => {
                    let flag3 = if so53 { 0x88 } else { 0x80 };
                    let tele = &values["TelePeriod"];
                    replies.push((
                        "stat/raw/STATUS3".to_string(),
                        format!(r#"{{"StatusLOG":{{"SerialLog":2,"TelePeriod":{tele},"SetOption":["00008009","2805C80001000600003C5A0A192800000000","{flag3:08X}","00006000","00004000","00000000"]}}}}"#).into_bytes(),
                    ));
                    continue;
                }
                "SETOPTION53" => {
                    if !p.is_empty() {
                        so53 = p == "1";
                    }
                    format!(r#"{{"SetOption53":"{}"}}"#, if so53 { "ON" } else { "OFF" })
                }
                "TELEPERIOD" => {
                    if let Ok(v) = p.parse::<u32>() {
                        let v = match v {
                            1 => 300,
                            2..=9 => 10,
                            v if v > 3600 => values["TelePeriod"].parse().unwrap(),
                            v => v,
                        };
                        values.insert("TelePeriod".into(), v.to_string());
                    }
                    format!(r#"{{"TelePeriod":{}}}"#, values["TelePeriod"])
                }
                "POWERONSTATE" => {
                    if let Ok(v @ 0..=5) = p.parse::<u8>() {
                        values.insert("PowerOnState".into(), v.to_string());
                    }
                    format!(r#"{{"PowerOnState":{}}}"#, values["PowerOnState"])
                }
                "FRIENDLYNAME1" => {
                    if !p.is_empty() {
                        values.insert("FriendlyName1".into(), p.clone());
                    }
                    json!({"FriendlyName1": values["FriendlyName1"]}).to_string()
                }
                "RULE1" => {
                    match p.as_str() {
                        "" => {}
                        "0" => {
                            values.insert("Rule1State".into(), "OFF".into());
                        }
                        "1" => {
                            values.insert("Rule1State".into(), "ON".into());
                        }
                        text => {
                            values.insert("Rule1".into(), text.to_string());
                        }
                    }
                    // 9.3.1: flat, no Length.
                    json!({"Rule1": values["Rule1State"], "Once": "OFF", "StopOnError": "OFF", "Free": 511 - values["Rule1"].len(), "Rules": values["Rule1"]}).to_string()
                }
                _ => r#"{"Command":"Unknown"}"#.to_string(),
            };
            replies.push(("stat/raw/RESULT".to_string(), reply.into_bytes()));
        }
        replies
    })
}

#[test]
fn against_a_second_device_implementation() {
    for broker in Broker::all() {
        let env = Env::with_profile(
            r#"
[devices.raw]
topic = "raw"
settings = { TelePeriod = 2, PowerOnState = 0, SO53 = 1, FN1 = "Raw one", Rule1 = { rules = "ON System#Boot DO Backlog Power 1; Delay 5 ENDON", enabled = true } }
"#,
        );
        let device = raw_device(&broker);
        let out = config(&env, &broker, &["diff", "--json"]);
        assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
        let found = drift(row(&json(&out), "raw"));
        assert_eq!(found.len(), 5, "{found:?}");
        assert_eq!(found["TelePeriod"], (json!(300), json!(10)), "2 is 10");
        let queries = device.commands();
        assert_only_queries(&queries);
        let out = config(&env, &broker, &["apply"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        let out = config(&env, &broker, &["diff"]);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let writes: Vec<(String, String)> = device
            .commands()
            .into_iter()
            .filter(|(n, _)| n != "Backlog0")
            .collect();
        assert!(
            writes.contains(&(
                "Rule1".into(),
                "ON System#Boot DO Backlog Power 1; Delay 5 ENDON".into()
            )),
            "{writes:?}"
        );
        assert!(
            writes
                .iter()
                .any(|(n, p)| n == "Backlog" && p.contains("TelePeriod 2")),
            "{writes:?}"
        );
    }
}

#[test]
fn group_edits_keep_a_group_s_settings() {
    let env = Env::with_profile(
        "[devices]\nbath = \"bath\"\nhall = \"hall\"\n\n# the heaters\n[groups.heaters]\nmembers = [\"bath\"]\nsettings = { PowerOnState = 0, PulseTime1 = 0 }\n",
    );
    let out = env
        .tasctl()
        .args(["profile", "group", "add", "heaters", "hall"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = env.read_profile();
    assert!(
        text.contains("settings = { PowerOnState = 0, PulseTime1 = 0 }"),
        "{text}"
    );
    assert!(text.contains("# the heaters"), "{text}");
    let out = env
        .tasctl()
        .args(["profile", "list", "--json"])
        .output()
        .unwrap();
    let listing = json(&out);
    for device in listing["devices"].as_array().unwrap() {
        assert_eq!(device["settings"]["PowerOnState"], 0, "{device}");
    }
}

#[test]
fn a_failing_canary_stops_the_rest() {
    let Some(broker) = Broker::start() else {
        return;
    };
    // The first device in target order keeps its TelePeriod (an old build that clamps
    // nothing: 5000 is out of range everywhere), so it fails as canary.
    let env = Env::with_profile(
        "[settings]\nPowerOnState = 0\n[devices]\nfirst = { topic = \"first\", settings = { TelePeriod = 5000 } }\nsecond = \"second\"\nthird = \"third\"\n",
    );
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"first\"\n[[device]]\nTopic = \"second\"\n[[device]]\nTopic = \"third\"\n",
    );
    let out = config(
        &env,
        &broker,
        &[
            "apply", "first", "second", "third", "--canary", "1", "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let report = json(&out);
    assert!(
        row(&report, "first")["error"]
            .as_str()
            .unwrap()
            .contains("kept 300")
    );
    for name in ["second", "third"] {
        let r = row(&report, name);
        assert_eq!(r["ok"], false, "{r}");
        assert!(r["error"].as_str().unwrap().contains("canary"), "{r}");
    }
    // Nothing was changed on them.
    let out = config(&env, &broker, &["diff", "second", "third"]);
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
}

/// Topic, Hostname and MqttClient answer their stored masks (`tasmota_%06X`, `%s-%04d`,
/// `DVES_%06X`): tasctl compares what they resolve to, shows that, and refuses a mask in the
/// profile, which every device would resolve differently.
#[test]
fn masks_compare_as_the_names_they_resolve_to() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile("[devices]\nplain = \"tasmota_000001\"\n");
    let _sim = Sim::scenario(&broker, &env, "[[device]]\nMac = \"02A5C7000001\"\n");
    let out = config(
        &env,
        &broker,
        &["show", "plain", "Topic", "Hostname", "MqttClient"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text.lines().find(|l| l.starts_with("settings = ")).unwrap();
    assert_eq!(
        line,
        r#"settings = { Hostname = "tasmota-000001-0001", MqttClient = "DVES_000001", Topic = "tasmota_000001" }"#
    );
    std::fs::write(
        env.profile(),
        format!("[devices.plain]\ntopic = \"tasmota_000001\"\n{line}\n"),
    )
    .unwrap();
    let out = config(&env, &broker, &["diff"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    std::fs::write(
        env.profile(),
        "[devices.plain]\ntopic = \"tasmota_000001\"\nsettings = { Topic = \"tasmota_%06X\" }\n",
    )
    .unwrap();
    let out = config(&env, &broker, &["diff"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a mask"), "{}", stderr(&out));
}

/// Ctrl-C in the middle of an apply: it stops sending, says what was done (the device
/// interrupted, the devices not started), and exits 130.
#[test]
fn ctrl_c_stops_an_apply_and_says_what_was_done() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let settings: Vec<String> = (1..=32)
        .map(|i| format!("PulseTime{i} = {}", 200 + i))
        .collect();
    // second's GroupTopic differs: its change restarts it, so it waits until first is done.
    let env = Env::with_profile(&format!(
        "[settings]\n{}\n[devices]\nfirst = \"first\"\nsecond = {{ topic = \"second\", settings = {{ GroupTopic1 = \"tasmotas\" }} }}\n",
        settings.join("\n")
    ));
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"first\"\nVersion = \"13.1.0\"\n[[device]]\nTopic = \"second\"\nVersion = \"13.1.0\"\nGroupTopic = [\"other\"]\n",
    );
    let witness = Recorder::start(&broker, "cmnd/#");
    witness.drain();
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "-w",
        "20s",
        "config",
        "apply",
        "--batch",
        "1",
    ]);
    let running = crate::support::Running::spawn(cmd);
    running.wait_stderr("-> cmnd/first/Backlog ");
    running.interrupt();
    let (code, lines, err) = running.finish();
    assert_eq!(code, Some(130), "{err}");
    let text = lines.join("\n");
    assert!(
        text.contains("first") && text.contains("interrupted"),
        "{text}\n{err}"
    );
    assert!(
        text.contains("second") && text.contains("not started"),
        "{text}"
    );
    // Nothing more was sent after the interrupt.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let later: Vec<String> = witness
        .drain()
        .iter()
        .map(|s| s.topic.clone())
        .filter(|t| t.ends_with("/Backlog") && t.contains("second"))
        .collect();
    assert!(later.is_empty(), "second was not started: {later:?}");
}

/// Firmware before 9.4 has no Backlog0: it takes the digit for an index and spaces the
/// queries 200 ms apart. A device that keeps answering is read to the end; --wait bounds only
/// its silence.
#[test]
fn an_old_device_that_spaces_its_answers_is_read_to_the_end() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let settings: Vec<String> = (1..=16).map(|i| format!("PulseTime{i} = 0")).collect();
    let env = Env::with_profile(&format!(
        "[devices.old]\ntopic = \"old\"\nsettings = {{ {} }}\n",
        settings.join(", ")
    ));
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"old\"\nVersion = \"8.5.0\"\n",
    );
    let started = std::time::Instant::now();
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "-w",
            "1s",
            "config",
            "diff",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(row(&json(&out), "old")["in_sync"], true);
    assert!(
        started.elapsed() > std::time::Duration::from_millis(2500),
        "the device spaced its 16 answers 200 ms apart"
    );
}
