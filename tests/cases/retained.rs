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

        // Clean: only what belongs to live devices is left; PowerRetain is turned off.
        let out = run(
            &env,
            &broker,
            &["--json", "retained", "clean", "--yes", "--fix"],
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
