//! Fleet correctness, on mosquitto and on aedes: `all` and groups reach every layout, discover
//! does not depend on a broker's delivery order, custom LWT words, Ctrl-C keeps the answers,
//! devices without outputs, and a simulator that rides out a broker restart.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::support::{Broker, Env, Running, Sim, json, row, stderr, stdout};

/// Devices of every layout, one offline, one without outputs, one with its own LWT words.
const FLEET: &str = r#"
[[device]]
Topic = "plug"
Mac = "A0B765000001"
[[device]]
Topic = "lamp"
Mac = "A0B765000002"
FullTopic = "%topic%/%prefix%/"
GroupTopic = ["tasmotas", "downstairs"]
[[device]]
Topic = "board"
Mac = "A0B765000003"
Relays = 2
FullTopic = "home/%prefix%/%topic%/"
GroupTopic = ["tasmotas", "downstairs"]
[[device]]
Topic = "sensor"
Mac = "A0B765000004"
Relays = 0
Sensor = "AM2301"
[[device]]
Topic = "fan"
Mac = "A0B765000005"
Online = false
[[device]]
Topic = "pump"
Mac = "A0B765000006"
LwtOnline = "Up"
LwtOffline = "Down"
Online = false
[[device]]
Topic = "hall"
Mac = "A0B765000007"
GroupTopic = ["tasmotas", "downstairs"]
"#;

const PROFILE: &str = r#"
[devices]
plug = { topic = "plug", mac = "A0B765000001" }
lamp = { topic = "lamp", full_topic = "%topic%/%prefix%/", mac = "A0B765000002" }
board = { topic = "board", full_topic = "home/%prefix%/%topic%/", relays = 2 }
sensor = "sensor"
fan = "fan"
pump = { topic = "pump", lwt = { online = "Up", offline = "Down" } }

[groups]
downstairs = { group_topic = "downstairs", members = ["lamp", "board", "fan"] }
"#;

fn run(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .arg("--broker")
        .arg(broker.url())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn all_and_groups_reach_every_layout_and_name_only_the_offline() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        let _sim = Sim::scenario(&broker, &env, FLEET);
        let out = run(
            &env,
            &broker,
            &["power", "toggle", "all", "--json", "-w", "2s"],
        );
        let kind = broker.kind;
        assert_eq!(out.status.code(), Some(4), "{kind:?}: {}", stderr(&out));
        let report = json(&out);
        for name in ["plug", "lamp", "board"] {
            assert_eq!(
                row(&report, name)["ok"],
                true,
                "{kind:?} {name}: {report:#}"
            );
            assert_eq!(row(&report, name)["power"].as_object().unwrap().len(), 1);
        }
        // Without outputs: reported as such, not a failure.
        let sensor = row(&report, "sensor");
        assert_eq!(
            (&sensor["ok"], &sensor["outputs"]),
            (&true.into(), &0.into())
        );
        // Offline, in the firmware's words and in the device's own.
        assert_eq!(
            row(&report, "fan")["error"],
            "no response; offline (LWT), so not waited for"
        );
        assert_eq!(
            row(&report, "pump")["error"],
            "no response; offline (LWT), so not waited for",
            "{kind:?}: custom LWT words"
        );

        // A GroupTopic group of mixed layouts: one publish per layout, the offline one named.
        let started = Instant::now();
        let out = run(&env, &broker, &["power", "on", "downstairs", "-w", "5s"]);
        assert_eq!(out.status.code(), Some(4), "{kind:?}: {}", stderr(&out));
        let text = stdout(&out);
        for line in [
            "lamp   ON",
            "board  ON",
            "fan    no response; offline (LWT), so not waited for",
        ] {
            assert!(text.contains(line), "{kind:?}: `{line}` in\n{text}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{kind:?}: the offline member is not waited for"
        );

        // With no device in the profile, `all` is whoever answers within the wait, every
        // layout the firmware's defaults reach.
        let bare = Env::new();
        let out = run(
            &bare,
            &broker,
            &["power", "get", "all", "--json", "-w", "1s"],
        );
        assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stderr(&out));
        let report = json(&out);
        for topic in ["plug", "hall", "sensor"] {
            assert_eq!(row(&report, topic)["device"], serde_json::Value::Null);
            assert_eq!(row(&report, topic)["ok"], true, "{kind:?}: {report:#}");
        }

        // Devices without outputs do not fail a fleet command, also with --relay all.
        let out = run(
            &env,
            &broker,
            &[
                "power", "get", "all", "--relay", "all", "--json", "-w", "2s",
            ],
        );
        let report = json(&out);
        assert_eq!(row(&report, "sensor")["outputs"], 0, "{kind:?}: {report:#}");
        assert_eq!(row(&report, "sensor")["ok"], true);
    }
}

#[test]
fn discover_lists_every_device_once_with_its_state_on_every_broker() {
    for broker in Broker::all() {
        let env = Env::new();
        let _sim = Sim::scenario(&broker, &env, FLEET);
        for attempt in 0..3 {
            let out = run(&env, &broker, &["discover", "--json"]);
            let kind = broker.kind;
            assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stderr(&out));
            let found = json(&out);
            let found = found.as_array().unwrap();
            let macs: Vec<&str> = found.iter().filter_map(|d| d["mac"].as_str()).collect();
            let unique: HashSet<&&str> = macs.iter().collect();
            assert_eq!(macs.len(), unique.len(), "{kind:?} #{attempt}: a MAC twice");
            assert_eq!(found.len(), 7, "{kind:?} #{attempt}: {found:#?}");
            for d in found {
                let offline = ["fan", "pump"].contains(&d["topic"].as_str().unwrap());
                assert_eq!(
                    d["online"],
                    serde_json::Value::Bool(!offline),
                    "{kind:?} #{attempt}: {d}"
                );
            }
        }
        // --save writes the device's own LWT words.
        let env = Env::with_profile("");
        let out = run(&env, &broker, &["discover", "--save"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = env.read_profile();
        assert!(
            text.contains(r#"lwt = { online = "Up", offline = "Down" }"#),
            "{text}"
        );
    }
}

#[test]
fn discover_on_the_embedded_broker_is_complete_in_repeated_runs() {
    let port = crate::support::free_port();
    let sim = Running::spawn({
        let mut cmd = Env::new().command();
        cmd.args([
            "simulate",
            "--embedded",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]);
        cmd
    });
    let ready = sim.line();
    assert!(ready.starts_with("simulating"), "{ready}");
    let url = format!("mqtt://127.0.0.1:{port}");
    for attempt in 0..3 {
        let out = Env::new()
            .tasctl()
            .args(["--broker", &url, "discover", "--json"])
            .output()
            .unwrap();
        let found = json(&out);
        assert_eq!(found.as_array().unwrap().len(), 6, "#{attempt}: {found:#}");
    }
    sim.interrupt();
    let (code, _, err) = sim.finish();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn ctrl_c_keeps_the_answers_that_arrived() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        let _sim = Sim::scenario(&broker, &env, FLEET);
        for json_flag in [false, true] {
            let mut cmd = env.command();
            cmd.args([
                "--broker",
                &broker.url(),
                "-v",
                "power",
                "on",
                "plug",
                "nobody",
                "-w",
                "1h",
            ]);
            if json_flag {
                cmd.arg("--json");
            }
            let running = Running::spawn(cmd);
            running.wait_stderr("<- stat/plug/POWER");
            let pressed = Instant::now();
            running.interrupt();
            let (code, lines, err) = running.finish();
            assert_eq!(code, Some(130), "{err}");
            assert!(pressed.elapsed() < Duration::from_millis(1500));
            let text = lines.join("\n");
            if json_flag {
                let report: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(row(&report, "plug")["power"]["POWER"], "ON");
                assert_eq!(row(&report, "nobody")["error"], "interrupted");
            } else {
                assert!(text.contains("plug    ON"), "{text}");
                assert!(text.contains("nobody  interrupted"), "{text}");
            }
        }
    }
}

#[test]
fn the_simulator_rides_out_a_broker_restart() {
    for mut broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        let _sim = Sim::scenario(&broker, &env, FLEET);
        broker.restart();
        // The devices reconnect with growing pauses: give them the time a person would.
        let out = run(&env, &broker, &["power", "on", "plug", "lamp", "-w", "10s"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{:?}: {}",
            broker.kind,
            stderr(&out)
        );
        // Their LWT is back online, so discover sees them online.
        let out = run(&env, &broker, &["discover", "--json"]);
        let found = json(&out);
        let plug = found
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["topic"] == "plug")
            .cloned();
        assert_eq!(
            plug.unwrap()["online"],
            true,
            "{:?}: {found:#}",
            broker.kind
        );
    }
}

#[test]
fn a_persistent_watch_session_gets_what_came_while_it_was_away() {
    for broker in Broker::all() {
        let env = Env::with_profile("[devices]\nplug = \"plug\"\n");
        let name = format!("fleet-{}", std::process::id());
        // The first run makes the session, then goes away.
        let first = run(
            &env,
            &broker,
            &["watch", "--session", &name, "--for", "200ms"],
        );
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        crate::support::publish(&broker, "stat/plug/POWER", b"ON", false);
        // The next run gets it, although it was sent while nobody watched.
        let second = run(
            &env,
            &broker,
            &[
                "watch",
                "--session",
                &name,
                "--json",
                "-n",
                "1",
                "--for",
                "5s",
            ],
        );
        assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
        let line: serde_json::Value = serde_json::from_str(stdout(&second).trim()).unwrap();
        assert_eq!(
            (&line["device"], &line["suffix"], &line["payload"]),
            (&"plug".into(), &"POWER".into(), &"ON".into()),
            "{:?}",
            broker.kind
        );
    }
}

/// A GroupTopic group on the fleet-wide `tasmotas` switches every device that listens to it:
/// all of them are reported (members first, the others as not members), the run warns before
/// publishing, `--dry-run` names the profile devices outside the group, and only the members
/// decide the exit code.
#[test]
fn a_group_topic_shared_with_non_members_reports_everyone_it_switched() {
    const SHARED: &str = r#"
[[device]]
Topic = "porch"
[[device]]
Topic = "hallway"
[[device]]
Topic = "kitchen"
[[device]]
Topic = "heater"
[[device]]
Topic = "attic"
Online = false
"#;
    const PROFILE: &str = r#"
[devices]
porch = "porch"
hallway = "hallway"
kitchen = "kitchen"
heater = "heater"
attic = "attic"

[groups]
lights = { group_topic = "tasmotas", members = ["porch", "hallway"] }
"#;
    for broker in Broker::all() {
        let kind = broker.kind;
        let env = Env::with_profile(PROFILE);
        let _sim = Sim::scenario(&broker, &env, SHARED);
        // A second, independent device on the same group topic, not in the profile.
        let stranger =
            crate::support::ScriptedDevice::start(&broker, "tasmotas", |name, payload| {
                if name.eq_ignore_ascii_case("power") && payload.eq_ignore_ascii_case(b"off") {
                    vec![(
                        "stat/stranger/RESULT".into(),
                        br#"{"POWER":"OFF"}"#.to_vec(),
                    )]
                } else {
                    Vec::new()
                }
            });

        let dry = run(&env, &broker, &["power", "off", "lights", "--dry-run"]);
        assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
        let text = stdout(&dry);
        let line = text
            .lines()
            .find(|l| l.starts_with("also heard by (not members, same group topic): "))
            .unwrap_or_else(|| panic!("{kind:?}: {text}"));
        for name in ["kitchen", "heater", "attic"] {
            assert!(line.contains(name), "{kind:?}: {line}");
        }
        assert!(
            !line.contains("porch") && !line.contains("hallway"),
            "{line}"
        );
        assert!(
            stderr(&dry).contains("fleet-wide group topic"),
            "{}",
            stderr(&dry)
        );

        let out = run(
            &env,
            &broker,
            &["power", "off", "lights", "--json", "-w", "2s"],
        );
        assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("`lights` publishes on `tasmotas`") && err.contains("kitchen"),
            "{kind:?}: {err}"
        );
        let report = json(&out);
        let rows = report.as_array().unwrap();
        let names: Vec<(String, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r["device"]
                        .as_str()
                        .unwrap_or(r["topic"].as_str().unwrap())
                        .to_string(),
                    r.get("member").is_none(),
                )
            })
            .collect();
        assert_eq!(
            &names[..2],
            [("porch".into(), true), ("hallway".into(), true)],
            "{kind:?}: {report:#}"
        );
        let mut others: Vec<&str> = names[2..]
            .iter()
            .map(|(n, m)| {
                assert!(!m, "{kind:?}: {n} is not a member: {report:#}");
                n.as_str()
            })
            .collect();
        others.sort();
        assert_eq!(
            others,
            ["heater", "kitchen", "stranger"],
            "{kind:?}: {report:#}"
        );
        for r in rows {
            assert_eq!(r["power"]["POWER"], "OFF", "{kind:?}: {r}");
            if r.get("member").is_some() {
                assert_eq!(r["member"], false);
            }
        }
        assert_eq!(
            stranger.commands()[0],
            ("Power".to_string(), "OFF".to_string())
        );

        // For people: the members, then the others under their own heading.
        let out = run(&env, &broker, &["power", "on", "lights", "-w", "2s"]);
        let text = stdout(&out);
        let heading = text
            .find("also answered (not a member):")
            .unwrap_or_else(|| panic!("{kind:?}: {text}"));
        assert!(
            text.find("porch").unwrap() < heading && text.find("hallway").unwrap() < heading,
            "{text}"
        );
        assert!(
            text.find("kitchen").unwrap() > heading && text.find("heater").unwrap() > heading,
            "{text}"
        );

        // A member silent: 4, whatever the others did.
        let out = run(
            &env,
            &broker,
            &[
                "send", "--json", "-w", "1s", "porch", "attic", "--", "Power", "ON",
            ],
        );
        assert_eq!(out.status.code(), Some(4), "{kind:?}: {}", stderr(&out));
    }
}
