//! power, status and send through the built binary, against mosquitto and simulated devices
//! that answer like the firmware: every reply shape, every target kind, exit codes 0/3/4/5.

use serde_json::json;

use crate::broker;
use crate::support::{Broker, Env, Recorder, Running, Sim, json, publish, row, stderr, stdout};

const SCENARIO: &str = r#"
[[device]]
Topic = "plug"
[[device]]
Topic = "so26"
SetOption26 = 1
[[device]]
Topic = "so4"
SetOption4 = 1
[[device]]
Topic = "triple"
Relays = 3
[[device]]
Topic = "german"
StateText = ["AUS", "AN", "UM", "HALT"]
[[device]]
Topic = "kitchen/lamp"
FullTopic = "%topic%/%prefix%/"
Prefix2 = "status"
[[device]]
Topic = "porch"
FullTopic = "%prefix%/%hostname%/"
Hostname = "porch-host"
[[device]]
Topic = "shed"
Mac = "A0B765549A3B"
FullTopic = "home/%id%/%prefix%/"
[[device]]
Topic = "hall"
GroupTopic = ["tasmotas", "downstairs"]
[[device]]
Topic = "attic"
Online = false
[[device]]
Topic = "hidden_topic"
MqttClient = "DVES_FB0001"
"#;

const PROFILE: &str = r#"
[devices]
plug = "plug"
so26 = "so26"
so4 = "so4"
triple = { topic = "triple", relays = 3 }
german = "german"
lamp = { topic = "kitchen/lamp", full_topic = "%topic%/%prefix%/", prefix = { stat = "status" } }
porch = { topic = "porch", full_topic = "%prefix%/%hostname%/", hostname = "porch-host" }
shed = { topic = "shed", full_topic = "home/%id%/%prefix%/", mac = "A0:B7:65:54:9A:3B" }
hall = "hall"
attic = "attic"
hidden = { fallback = "DVES_FB0001_fb" }

[groups]
downstairs = { group_topic = "downstairs", members = ["hall", "plug"] }
pair = ["plug", "so4"]
"#;

/// A broker, the scenario's devices, and a profile naming them.
fn world() -> Option<(Broker, Sim, Env)> {
    let broker = Broker::start()?;
    let env = Env::with_profile(PROFILE);
    let sim = Sim::scenario(&broker, &env, SCENARIO);
    Some((broker, sim, env))
}

fn tasctl(broker: &Broker, env: &Env, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .arg("--broker")
        .arg(broker.url())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn power_reads_every_reply_shape_the_firmware_sends() {
    let Some((broker, _sim, env)) = world() else {
        return;
    };
    let recorder = Recorder::start(&broker, "#");
    let out = tasctl(
        &broker,
        &env,
        &[
            "power", "on", "plug", "so26", "so4", "german", "lamp", "porch", "shed", "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report.as_array().unwrap().len(), 7);
    assert_eq!(
        row(&report, "plug"),
        &json!({"device": "plug", "topic": "plug", "ok": true, "power": {"POWER": "ON"}})
    );
    assert_eq!(
        row(&report, "so26")["power"],
        json!({"POWER1": "ON"}),
        "SetOption26 names the single output POWER1"
    );
    assert_eq!(
        row(&report, "so4")["power"],
        json!({"POWER": "ON"}),
        "SetOption4 answers on stat/so4/POWER"
    );
    assert_eq!(
        row(&report, "german")["power"],
        json!({"POWER": "AN"}),
        "custom state texts as sent"
    );
    for name in ["lamp", "porch", "shed"] {
        assert_eq!(
            row(&report, name)["power"],
            json!({"POWER": "ON"}),
            "{name}"
        );
    }
    // what reached the broker: the firmware's topics for each layout, nothing retained
    let seen = recorder.drain();
    for topic in [
        "cmnd/plug/Power",
        "kitchen/lamp/cmnd/Power",
        "cmnd/porch-host/Power",
        "home/A0B765549A3B/cmnd/Power",
    ] {
        let m = seen
            .iter()
            .find(|m| m.topic == topic)
            .unwrap_or_else(|| panic!("nothing on {topic}"));
        assert_eq!(m.payload, b"ON");
    }
    assert!(
        seen.iter()
            .filter(|m| m.topic.contains("cmnd"))
            .all(|m| !m.retain),
        "a retained cmnd would re-run at every reconnect"
    );
    // and the devices really changed
    let out = tasctl(&broker, &env, &["power", "get", "plug", "german"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "plug    ON\ngerman  AN\n");
}

#[test]
fn relays_by_number_all_and_out_of_range() {
    let Some((broker, _sim, env)) = world() else {
        return;
    };
    let out = tasctl(
        &broker,
        &env,
        &["power", "on", "triple", "--relay", "2", "--json"],
    );
    assert_eq!(row(&json(&out), "triple")["power"], json!({"POWER2": "ON"}));
    let out = tasctl(
        &broker,
        &env,
        &["power", "toggle", "triple", "-r", "all", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        row(&json(&out), "triple")["power"],
        json!({"POWER1": "ON", "POWER2": "OFF", "POWER3": "ON"})
    );
    let out = tasctl(
        &broker,
        &env,
        &["power", "get", "triple", "plug", "--relay", "5", "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "a relay the device lacks is a rejection"
    );
    let report = json(&out);
    assert_eq!(row(&report, "triple")["ok"], false);
    assert_eq!(
        row(&report, "triple")["error"],
        r#"rejected the command: {"Command":"Error"}"#
    );
    let out = tasctl(&broker, &env, &["power", "blink", "plug", "--json"]);
    assert_eq!(
        row(&json(&out), "plug")["power"],
        json!({"POWER": "Blink ON"})
    );
}

#[test]
fn status_gathers_and_merges_the_series() {
    let Some((broker, _sim, env)) = world() else {
        return;
    };
    let out = tasctl(&broker, &env, &["status", "plug", "lamp", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    for name in ["plug", "lamp"] {
        let keys: Vec<&String> = row(&report, name)["status"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            keys,
            [
                "Status",
                "StatusPRM",
                "StatusFWR",
                "StatusLOG",
                "StatusMEM",
                "StatusNET",
                "StatusMQT",
                "StatusTIM",
                "StatusSNS",
                "StatusSTS"
            ],
            "{name}"
        );
    }
    assert_eq!(
        row(&report, "lamp")["status"]["Status"]["Topic"],
        "kitchen/lamp"
    );
    let out = tasctl(
        &broker,
        &env,
        &["status", "triple", "--section", "11", "--json"],
    );
    let report = json(&out);
    let status = &row(&report, "triple")["status"];
    assert_eq!(
        status.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["StatusSTS"]
    );
    let out = tasctl(&broker, &env, &["status", "plug", "--section", "9"]);
    assert_eq!(out.status.code(), Some(5), "no energy section on a plug");
    let out = tasctl(&broker, &env, &["status", "plug"]);
    let text = stdout(&out);
    assert!(
        text.starts_with("plug (plug)\n")
            && text.contains("  firmware  14.3.0(tasmota)")
            && text.contains("  wifi      -60 dBm (80%)"),
        "{text}"
    );
}

#[test]
fn send_any_command_and_read_the_reply() {
    let Some((broker, _sim, env)) = world() else {
        return;
    };
    let out = tasctl(&broker, &env, &["send", "plug", "FullTopic"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "{\"FullTopic\":\"%prefix%/%topic%/\"}\n".into())
    );
    let out = tasctl(
        &broker,
        &env,
        &["send", "so4", "FriendlyName1", "Hall", "Lamp", "--json"],
    );
    assert_eq!(
        row(&json(&out), "so4")["response"],
        json!({"FriendlyName1": "Hall Lamp"}),
        "payload words joined, SetOption4 topic"
    );
    let out = tasctl(&broker, &env, &["send", "plug", "Dimmer", "50", "--json"]);
    assert_eq!(out.status.code(), Some(5), "no light, no Dimmer");
    assert_eq!(
        row(&json(&out), "plug")["response"],
        json!({"Command": "Unknown"})
    );
    let out = tasctl(
        &broker,
        &env,
        &[
            "send",
            "plug",
            "Backlog",
            "Power on; Delay 1; Power off; FullTopic",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        row(&json(&out), "plug")["response"],
        json!([{"POWER": "ON"}, {"POWER": "OFF"}, {"FullTopic": "%prefix%/%topic%/"}])
    );
    let recorder = Recorder::start(&broker, "cmnd/#");
    let out = tasctl(
        &broker,
        &env,
        &["send", "german", "Power", "on", "--no-wait", "--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json(&out),
        json!([{"device": "german", "topic": "german", "ok": true, "response": null}])
    );
    let seen = recorder.drain();
    assert_eq!(
        (seen[0].topic.as_str(), seen[0].payload.as_slice()),
        ("cmnd/german/Power", b"on".as_slice())
    );
}

#[test]
fn every_kind_of_target() {
    let Some((broker, _sim, env)) = world() else {
        return;
    };
    // a firmware GroupTopic: one publish, members answer on their own topics; silent ones named
    let recorder = Recorder::start(&broker, "cmnd/#");
    let out = tasctl(
        &broker,
        &env,
        &["power", "on", "downstairs", "--json", "-w", "1s"],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "plug is not in the firmware group"
    );
    let report = json(&out);
    assert_eq!(row(&report, "hall")["ok"], true);
    assert_eq!(row(&report, "plug")["error"], "no response within 1s");
    let published: Vec<String> = recorder.drain().into_iter().map(|m| m.topic).collect();
    assert_eq!(
        published,
        ["cmnd/downstairs/Power"],
        "one publish for the group"
    );
    // a list group: one publish per member
    let out = tasctl(&broker, &env, &["power", "off", "pair", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out).as_array().unwrap().len(), 2);
    // all: every device of the profile is expected, whatever its layout (a group publish per
    // layout, a direct one for those that cannot hear a group); the offline one is named
    let recorder = Recorder::start(&broker, "#");
    let out = tasctl(
        &broker,
        &env,
        &["power", "get", "all", "--json", "-w", "1s"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report = json(&out);
    for name in [
        "plug", "so26", "so4", "triple", "german", "hall", "lamp", "porch", "shed", "hidden",
    ] {
        assert_eq!(row(&report, name)["ok"], true, "{name}: {report:#}");
    }
    assert_eq!(
        row(&report, "attic")["error"],
        "no response; offline (LWT), so not waited for"
    );
    let commands: Vec<String> = recorder
        .drain()
        .into_iter()
        .filter(|m| m.topic.contains("cmnd") && !m.retain && m.payload.is_empty())
        .map(|m| m.topic)
        .filter(|t| t.ends_with("/Power"))
        .collect();
    for expected in [
        "cmnd/tasmotas/Power",
        "tasmotas/cmnd/Power",
        "cmnd/porch-host/Power",
        "home/A0B765549A3B/cmnd/Power",
        "cmnd/DVES_FB0001_fb/Power",
    ] {
        assert!(
            commands.iter().any(|t| t == expected),
            "{expected} in {commands:?}"
        );
    }
    assert!(
        !commands.iter().any(|t| t == "cmnd/plug/Power"),
        "a device the group reaches is not asked twice: {commands:?}"
    );
    // the fallback topic: literal cmnd/stat, the device's own topic unknown to us
    let out = tasctl(&broker, &env, &["power", "on", "hidden", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        json(&out),
        json!([{"device": "hidden", "topic": "DVES_FB0001_fb", "ok": true, "power": {"POWER": "ON"}}])
    );
    // a raw topic, no profile at all
    let bare = Env::new();
    let out = bare
        .tasctl()
        .args(["--broker", &broker.url(), "power", "on", "triple", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        json(&out),
        json!([{"device": null, "topic": "triple", "ok": true, "power": {"POWER1": "ON"}}])
    );
}

#[test]
fn silence_is_reported_per_device_with_the_lwt_and_a_suggestion() {
    let Some((broker, _sim, env)) = world() else {
        return;
    };
    let out = tasctl(
        &broker,
        &env,
        &[
            "power", "on", "attic", "plug", "plgu", "--json", "-w", "500ms",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    let report = json(&out);
    assert_eq!(
        row(&report, "plug")["ok"],
        true,
        "the others are still reported"
    );
    assert_eq!(
        row(&report, "attic")["error"],
        "no response within 500ms; offline (LWT)"
    );
    let raw = row(&report, "plgu")["error"].as_str().unwrap();
    assert!(
        raw.contains("not a name in the profile") && raw.contains("did you mean `plug`?"),
        "{raw}"
    );
    let out = tasctl(&broker, &env, &["power", "on", "attic", "-w", "300ms"]);
    assert_eq!(
        stdout(&out),
        "attic  no response; offline (LWT), so not waited for\n"
    );
}

#[test]
fn an_unreachable_broker_exits_3_naming_it() {
    let env = Env::new();
    let port = crate::support::free_port();
    let out = env
        .tasctl()
        .args([
            "--broker",
            &format!("mqtt://127.0.0.1:{port}"),
            "power",
            "on",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("connection refused"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_group_command_to_500_devices_on_one_connection() {
    let broker = broker!();
    let _sim = Sim::start(&broker, &["--devices", "500", "--fleet"]);
    let env = Env::new();
    let out = tasctl(&broker, &env, &["power", "on", "all", "--json", "-w", "2s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let rows = report.as_array().unwrap();
    assert_eq!(rows.len(), 500);
    assert!(
        rows.iter()
            .all(|r| r["ok"] == true && r["power"] == json!({"POWER": "ON"}))
    );
    // with members listed, it ends as soon as all 500 have answered
    let members: Vec<String> = (1..=500).map(|i| format!("\"d{i}\"")).collect();
    let devices: String = (1..=500)
        .map(|i| format!("d{i} = \"tasmota_{i:06X}\"\n"))
        .collect();
    let env = Env::with_profile(&format!(
        "[devices]\n{devices}[groups]\nfleet = {{ group_topic = \"tasmotas\", members = [{}] }}\n",
        members.join(", ")
    ));
    let out = tasctl(
        &broker,
        &env,
        &["power", "off", "fleet", "--json", "-w", "30s"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out).as_array().unwrap().len(), 500);
}

#[test]
fn ctrl_c_ends_a_waiting_command_with_130() {
    let broker = broker!();
    let env = Env::new();
    // a silent device and a wait of a minute: only Ctrl-C can end these in time
    publish(&broker, "tele/legacy/LWT", b"Online", true);
    for (args, trace) in [
        (vec!["power", "on", "nobody"], "-> cmnd/nobody/Power ON"),
        (vec!["status", "nobody"], "-> cmnd/nobody/Status 0"),
        (vec!["discover"], "-> cmnd/legacy/Status 0"),
    ] {
        let mut cmd = env.command();
        cmd.args(["--broker", &broker.url(), "-v", "-w", "60s"])
            .args(&args);
        let running = Running::spawn(cmd);
        running.wait_stderr(trace);
        running.interrupt();
        let (code, _, err) = running.finish();
        assert_eq!(code, Some(130), "{args:?}: {err}");
    }
}
