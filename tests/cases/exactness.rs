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
