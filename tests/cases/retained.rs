//! retained, on mosquitto and aedes: every class of debris beside live devices of several
//! layouts, a dry run that changes nothing, a clean that leaves only what live devices need,
//! and a device that no longer switches on at its next boot.

use crate::support::{Broker, Env, Sim, json, publish, stderr, stdout};

const FLEET: &str = r#"
[[device]]
Topic = "plug"
Mac = "A0B765000021"
[[device]]
Topic = "lamp"
Mac = "A0B765000022"
FullTopic = "%topic%/%prefix%/"
PowerRetain = 1
[[device]]
Topic = "fan"
Mac = "A0B765000023"
Online = false
"#;

fn run(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .args(["--broker", &broker.url(), "-w", "1s"])
        .args(args)
        .output()
        .unwrap()
}

/// (class, topic) of each item of a `--json` report.
fn classes(out: &std::process::Output) -> Vec<(String, String)> {
    json(out)
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["class"].as_str().unwrap().to_string(),
                i["topic"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_class_of_debris_found_and_cleaned_safely() {
    for broker in Broker::all() {
        let kind = broker.kind;
        // A ghost that switches the plug on whenever it connects.
        publish(&broker, "cmnd/plug/POWER", b"ON", true);
        let env = Env::with_profile(
            "[devices]\nplug = { topic = \"plug\", mac = \"A0B765000021\" }\nlamp = { topic = \"lamp\", full_topic = \"%topic%/%prefix%/\" }\n",
        );
        let sim = Sim::scenario(&broker, &env, FLEET);
        let power = |env: &Env| {
            let out = run(env, &broker, &["--json", "power", "get", "plug"]);
            json(&out)[0]["power"]["POWER"].clone()
        };
        assert_eq!(
            power(&env),
            "ON",
            "{kind:?}: the retained command ran at connect"
        );
        // Debris: a renamed device's LWT, a removed device's discovery, a button's retained command.
        publish(&broker, "tele/old_name/LWT", b"Online", true);
        publish(
            &broker,
            "tasmota/discovery/A0B7650000FF/config",
            br#"{"t":"removed","mac":"A0B7650000FF","ft":"%prefix%/%topic%/","tp":["cmnd","stat","tele"]}"#,
            true,
        );
        publish(&broker, "cmnd/stairs_button/POWER", b"TOGGLE", true);
        // The lamp keeps its power retained (PowerRetain 1): switch it once.
        let out = run(&env, &broker, &["send", "lamp", "Power", "on"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

        let out = run(&env, &broker, &["--json", "retained"]);
        assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stderr(&out));
        let found = classes(&out);
        for expected in [
            ("live", "tele/plug/LWT"),
            ("live", "tasmota/discovery/A0B765000021/config"),
            ("live", "lamp/tele/LWT"),
            ("live", "tasmota/discovery/A0B765000022/config"),
            ("stale-lwt", "tele/old_name/LWT"),
            ("stale-lwt", "tele/fan/LWT"),
            ("orphan-discovery", "tasmota/discovery/A0B7650000FF/config"),
            ("ghost-command", "cmnd/plug/POWER"),
            ("ghost-command", "cmnd/stairs_button/POWER"),
            ("retained-state", "lamp/stat/POWER"),
        ] {
            let expected = (expected.0.to_string(), expected.1.to_string());
            assert!(
                found.contains(&expected),
                "{kind:?}: {expected:?} in {found:#?}"
            );
        }

        // The dry run prints and changes nothing.
        let out = run(&env, &broker, &["retained", "clean"]);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            stdout(&out).contains("nothing was changed"),
            "{}",
            stdout(&out)
        );
        assert_eq!(
            classes(&run(&env, &broker, &["--json", "retained"])).len(),
            found.len()
        );

        // Clean every class: only what belongs to live devices is left; PowerRetain is
        // turned off.
        let out = run(
            &env,
            &broker,
            &[
                "--json",
                "retained",
                "clean",
                "--yes",
                "--fix",
                "--class",
                "stale-lwt",
                "--class",
                "orphan-discovery",
                "--class",
                "ghost-command",
                "--class",
                "retained-state",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stdout(&out));
        let cleaned = json(&out);
        assert!(
            cleaned
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["cleared"] == true),
            "{cleaned:#}"
        );
        let fixed: Vec<&str> = cleaned
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["fixed"].as_str())
            .collect();
        assert_eq!(fixed, ["PowerRetain OFF"], "{kind:?}");
        let left = classes(&run(&env, &broker, &["--json", "retained"]));
        assert!(
            left.iter().all(|(class, _)| class == "live"),
            "{kind:?}: {left:#?}"
        );
        assert!(
            left.contains(&("live".into(), "tele/plug/LWT".into())),
            "live LWTs stay: {left:#?}"
        );

        // The plug reboots and no longer switches on.
        drop(sim);
        let env = Env::with_profile("[devices]\nplug = \"plug\"\n");
        let _sim = Sim::scenario(&broker, &env, FLEET);
        assert_eq!(power(&env), "OFF", "{kind:?}: no ghost at boot");
    }
}

/// What a real fleet keeps: a live device with PowerRetain, a profile device that is only
/// switched off, a ghost on the group topic, someone else's `tele/` and `stat/` messages, and a
/// device that comes back between the scan and the clear. A plain `clean --yes` clears only
/// debris, names the group ghost for what it is, and keeps everything a device still uses.
#[test]
fn clean_clears_debris_and_nothing_a_device_still_uses() {
    for broker in Broker::all() {
        let kind = broker.kind;
        let env = Env::with_profile("[devices]\nheater = \"heater_plug\"\nshed = \"shed_lamp\"\n");
        let _sim = Sim::scenario(
            &broker,
            &env,
            "[[device]]\nTopic = \"heater_plug\"\nPowerRetain = 1\nSensor = \"AM2301\"\n",
        );
        let out = run(&env, &broker, &["send", "heater", "Power", "on"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        publish(
            &broker,
            "tele/heater_plug/STATE",
            br#"{"POWER":"ON"}"#,
            true,
        );
        // The shed lamp is switched off: its LWT says so, nothing answers.
        publish(&broker, "tele/shed_lamp/LWT", b"Offline", true);
        // A ghost on the group topic, and someone else's messages.
        publish(&broker, "cmnd/tasmotas/POWER", b"OFF", true);
        publish(&broker, "tele/weather_station/forecast", b"rain", true);
        publish(&broker, "stat/printer/progress", b"42", true);
        // A device that answers only the third time it is asked (the listing asks once, the
        // clean's scan once more): back between the clean's scan and its clear.
        let mut asked = 0;
        let _returning =
            crate::support::ScriptedDevice::start(&broker, "returning", move |name, _| {
                if name != "State" {
                    return Vec::new();
                }
                asked += 1;
                if asked < 3 {
                    return Vec::new();
                }
                vec![(
                    "stat/returning/RESULT".into(),
                    br#"{"POWER":"ON","UptimeSec":1}"#.to_vec(),
                )]
            });
        publish(&broker, "tele/returning/LWT", b"Offline", true);

        let out = run(&env, &broker, &["--json", "retained"]);
        let found = classes(&out);
        for expected in [
            ("retained-state", "stat/heater_plug/POWER"),
            ("retained-state", "tele/heater_plug/STATE"),
            ("offline", "tele/shed_lamp/LWT"),
            ("ghost-command", "cmnd/tasmotas/POWER"),
            ("stale-lwt", "tele/returning/LWT"),
        ] {
            let expected = (expected.0.to_string(), expected.1.to_string());
            assert!(
                found.contains(&expected),
                "{kind:?}: {expected:?} in {found:#?}"
            );
        }
        for foreign in ["tele/weather_station/forecast", "stat/printer/progress"] {
            assert!(
                !found.iter().any(|(_, t)| t == foreign),
                "{kind:?}: {foreign} is not Tasmota's"
            );
        }
        let ghost = json(&out)
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["topic"] == "cmnd/tasmotas/POWER")
            .unwrap()["why"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(ghost.contains("every device of that group"), "{ghost}");

        let out = run(&env, &broker, &["--json", "retained", "clean", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stdout(&out));
        let report = json(&out);
        let item = |topic: &str| {
            report
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["topic"] == topic)
                .cloned()
        };
        assert_eq!(
            item("cmnd/tasmotas/POWER").unwrap()["cleared"],
            true,
            "{report:#}"
        );
        let kept = item("tele/returning/LWT").unwrap_or_else(|| panic!("{kind:?}: {report:#}"));
        assert_eq!(kept["class"], "live", "{kind:?}: {kept}");
        let left = classes(&run(&env, &broker, &["--json", "retained"]));
        for stays in [
            "stat/heater_plug/POWER",
            "tele/heater_plug/STATE",
            "tele/shed_lamp/LWT",
            "tele/returning/LWT",
        ] {
            assert!(
                left.iter().any(|(_, t)| t == stays),
                "{kind:?}: {stays} stays: {left:#?}"
            );
        }
        assert!(
            !left.iter().any(|(_, t)| t == "cmnd/tasmotas/POWER"),
            "{left:#?}"
        );
    }
}

/// A broker whose ACL refuses a clear by closing the connection: the run goes on, and says per
/// message what was cleared and what was refused.
#[test]
fn a_refused_clear_is_reported_per_message() {
    let Some(broker) = Broker::start_aedes_denying(Some("tele/guarded")) else {
        return;
    };
    let env = Env::new();
    publish(&broker, "tele/guarded/LWT", b"Offline", true);
    publish(&broker, "tele/gone/LWT", b"Offline", true);
    let out = run(&env, &broker, &["--json", "retained", "clean", "--yes"]);
    let report = json(&out);
    let item = |topic: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["topic"] == topic)
            .cloned()
            .unwrap_or_else(|| panic!("{topic} in {report:#}"))
    };
    assert_eq!(item("tele/gone/LWT")["cleared"], true, "{report:#}");
    let guarded = item("tele/guarded/LWT");
    assert_eq!(guarded["cleared"], false, "{report:#}");
    assert!(
        guarded["refused"]
            .as_str()
            .unwrap()
            .contains("closed the connection"),
        "{guarded}"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
