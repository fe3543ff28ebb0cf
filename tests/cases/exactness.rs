//! Fleet exactness: each command acts on exactly the devices the user picked and says exactly
//! what happened, against the simulator and against devices the test plays itself.

use std::time::{Duration, Instant};

use crate::support::{Broker, Env, ScriptedDevice, json, row, stderr};

fn run(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .arg("--broker")
        .arg(broker.url())
        .args(args)
        .output()
        .unwrap()
}

/// A device slower to publish than tasctl is to start: the previous command's reply arrives
/// first. For an explicit ON/OFF the contrary state is not the answer while one that agrees
/// may still come; only if none comes is it reported (the device overrode the command).
#[test]
fn a_late_reply_to_the_previous_command_is_not_taken_as_this_ones() {
    for broker in Broker::all() {
        let kind = broker.kind;
        let env = Env::new();
        let mut state = "ON".to_string();
        let _slow = ScriptedDevice::start(&broker, "slowplug", move |name, payload| {
            if !name.eq_ignore_ascii_case("power1") {
                return Vec::new();
            }
            let asked = String::from_utf8_lossy(payload).to_uppercase();
            // The late one first: what it said to the command before.
            let late = format!(r#"{{"POWER1":"{state}"}}"#);
            if asked == "ON" || asked == "OFF" {
                state = asked;
            }
            let now = format!(r#"{{"POWER1":"{state}"}}"#);
            vec![
                ("stat/slowplug/RESULT".into(), late.into_bytes()),
                ("stat/slowplug/RESULT".into(), now.into_bytes()),
            ]
        });
        let out = run(
            &env,
            &broker,
            &["power", "off", "slowplug", "-r", "1", "--json"],
        );
        assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stderr(&out));
        assert_eq!(json(&out)[0]["power"]["POWER1"], "OFF", "{kind:?}");
        let out = run(
            &env,
            &broker,
            &["power", "on", "slowplug", "-r", "1", "--json"],
        );
        assert_eq!(json(&out)[0]["power"]["POWER1"], "ON", "{kind:?}");

        // A device that overrides the command (an interlock, a rule): its state is reported,
        // once the wait has shown nothing else comes.
        let _stubborn = ScriptedDevice::start(&broker, "stubborn", |name, _| {
            if name.eq_ignore_ascii_case("power") {
                vec![(
                    "stat/stubborn/RESULT".into(),
                    br#"{"POWER":"OFF"}"#.to_vec(),
                )]
            } else {
                Vec::new()
            }
        });
        let started = Instant::now();
        let out = run(
            &env,
            &broker,
            &["power", "on", "stubborn", "--json", "-w", "1s"],
        );
        assert_eq!(out.status.code(), Some(0), "{kind:?}: {}", stderr(&out));
        let report = json(&out);
        assert_eq!(row(&report, "stubborn")["power"]["POWER"], "OFF");
        assert!(started.elapsed() >= Duration::from_millis(900));
    }
}

/// A Prometheus textfile written while the broker is down says every expected device is down
/// (`tasmota_up 0`), never the old values; the exit code is still 3.
#[test]
fn a_prom_file_goes_down_with_the_broker() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile("[devices]\nplug = \"plug\"\nlamp = \"lamp\"\n");
    let _sim = crate::support::Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"plug\"\n[[device]]\nTopic = \"lamp\"\n",
    );
    let file = env.dir.path().join("tasmota.prom");
    let out = run(
        &env,
        &broker,
        &[
            "read",
            "all",
            "--format",
            "prom",
            "--output",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = std::fs::read_to_string(&file).unwrap();
    assert!(
        before.contains(r#"tasmota_up{device="plug",topic="plug"} 1"#),
        "{before}"
    );
    let url = broker.url();
    broker.stop();
    let out = env
        .tasctl()
        .args([
            "--broker",
            &url,
            "--connect-timeout",
            "1s",
            "read",
            "all",
            "--format",
            "prom",
            "--output",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let after = std::fs::read_to_string(&file).unwrap();
    for device in ["plug", "lamp"] {
        assert!(
            after.contains(&format!(
                r#"tasmota_up{{device="{device}",topic="{device}"}} 0"#
            )),
            "{after}"
        );
    }
    assert_eq!(
        after.lines().filter(|l| !l.starts_with('#')).count(),
        2,
        "{after}"
    );
    if crate::support::tool_available("promtool") {
        let check = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}
