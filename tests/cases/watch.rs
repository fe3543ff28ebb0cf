//! `tasctl watch` through the built binary: names for every layout, filters, raw topics, the
//! JSON line shape, binary and retained payloads, ending well, reconnecting, and a flood.

use std::io::{BufRead, BufReader};

use serde_json::{Value, json};

use crate::support::{Broker, Env, Running, Sim, publish, stderr};

const PROFILE: &str = r#"
[devices]
living = "my_house_living_room"
lamp = { topic = "kitchen/lamp", full_topic = "%topic%/%prefix%/", prefix = { stat = "status" } }
porch = { topic = "porch", full_topic = "%prefix%/%hostname%/", hostname = "porch-host" }
shed = { topic = "shed", full_topic = "home/%id%/%prefix%/", mac = "A0B765549A3B" }
nspanel = { topic = "ns_panel4", full_topic = "nspanel/%topic%/%prefix%/" }
"#;

/// Starts `tasctl watch ARGS --json -v` and returns once it has subscribed.
fn watch(broker: &Broker, env: &Env, args: &[&str]) -> Running {
    let mut cmd = env.command();
    cmd.args(["--broker", &broker.url(), "watch", "--json", "-v"])
        .args(args);
    let running = Running::spawn(cmd);
    running.wait_stderr("tasctl: watching");
    running
}

fn lines(running: Running) -> Vec<Value> {
    let (code, rest, err) = running.finish();
    assert_eq!(code, Some(0), "{err}");
    rest.iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// (device, topic, prefix, suffix) of a JSON line.
fn who(line: &Value) -> (Value, Value, Value, Value) {
    (
        line["device"].clone(),
        line["topic"].clone(),
        line["prefix"].clone(),
        line["suffix"].clone(),
    )
}

#[test]
fn every_layout_is_read_back_to_its_device() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        let running = watch(&broker, &env, &["-n", "7"]);
        for (topic, payload) in [
            ("stat/my_house_living_room/POWER", "ON"),
            ("kitchen/lamp/status/RESULT", r#"{"POWER":"OFF"}"#),
            ("tele/porch-host/LWT", "Online"),
            ("home/A0B765549A3B/tele/STATE", r#"{"POWER":"ON"}"#),
            ("nspanel/ns_panel4/stat/STATUS0", r#"{"Status":{}}"#),
            ("stat/tasmota_1A2B3C/RESULT", r#"{"POWER":"ON"}"#),
            ("cmnd/my_house_living_room/POWER", "ON"),
            ("tele/unknown/thing/LWT", "Offline"),
        ] {
            publish(&broker, topic, payload.as_bytes(), false);
        }
        let got: Vec<_> = lines(running).iter().map(who).collect();
        let expected = [
            (
                json!("living"),
                json!("my_house_living_room"),
                json!("stat"),
                json!("POWER"),
            ),
            (
                json!("lamp"),
                json!("kitchen/lamp"),
                json!("stat"),
                json!("RESULT"),
            ),
            (json!("porch"), json!("porch"), json!("tele"), json!("LWT")),
            (json!("shed"), json!("shed"), json!("tele"), json!("STATE")),
            (
                json!("nspanel"),
                json!("ns_panel4"),
                json!("stat"),
                json!("STATUS0"),
            ),
            (
                json!(null),
                json!("tasmota_1A2B3C"),
                json!("stat"),
                json!("RESULT"),
            ),
            // cmnd is not shown by default; a multi-level unknown topic is read on the default layout
            (
                json!(null),
                json!("unknown/thing"),
                json!("tele"),
                json!("LWT"),
            ),
        ];
        assert_eq!(got, expected);
    }
}

#[test]
fn the_json_line_has_the_contract_shape() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        publish(&broker, "tele/my_house_living_room/LWT", b"Online", true);
        let running = watch(&broker, &env, &["-n", "3"]);
        publish(
            &broker,
            "stat/my_house_living_room/RESULT",
            br#"{"POWER":"ON"}"#,
            false,
        );
        publish(
            &broker,
            "tele/my_house_living_room/SENSOR",
            &[0xff, 0xfe, 0x00, 0x41],
            false,
        );
        let got = lines(running);
        let time = got[0]["time"].as_str().unwrap();
        assert!(
            time.len() == 24 && time.ends_with('Z') && time.as_bytes()[19] == b'.',
            "UTC with milliseconds: {time}"
        );
        let mut first = got[0].clone();
        first.as_object_mut().unwrap().remove("time");
        assert_eq!(
            first,
            json!({"device": "living", "topic": "my_house_living_room", "prefix": "tele", "suffix": "LWT",
               "mqtt_topic": "tele/my_house_living_room/LWT", "retained": true, "payload": "Online"})
        );
        assert_eq!(
            got[1]["payload"],
            json!({"POWER": "ON"}),
            "JSON payloads stay JSON"
        );
        assert_eq!(got[1]["retained"], false);
        assert_eq!(
            got[2]["payload"],
            json!({"base64": "//4AQQ=="}),
            "not UTF-8"
        );
    }
}

/// `--only POWER` is every output as the firmware numbers them: POWER, POWER1 ... POWER32, in
/// any case, and nothing that merely starts with the word (`POWERONSTATE`, `POWER1X`).
#[test]
fn only_takes_the_numbered_outputs_too() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        let running = watch(
            &broker,
            &env,
            &["--only", "POWER", "-n", "3", "--for", "10s"],
        );
        for (suffix, payload) in [
            ("POWERONSTATE", "3"),
            ("POWER", "ON"),
            ("POWER1X", "ON"),
            ("POWER1", "OFF"),
            ("RESULT", r#"{"POWER3":"ON"}"#),
            ("power3", "ON"),
        ] {
            let topic = format!("stat/my_house_living_room/{suffix}");
            publish(&broker, &topic, payload.as_bytes(), false);
        }
        let got: Vec<_> = lines(running).iter().map(|l| l["suffix"].clone()).collect();
        assert_eq!(got, [json!("POWER"), json!("POWER1"), json!("power3")]);
    }
}

#[test]
fn prefix_only_and_raw_topic_filters() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        // --prefix cmnd and --only POWER: one of the three
        let running = watch(
            &broker,
            &env,
            &["living", "--prefix", "cmnd", "--only", "power", "-n", "1"],
        );
        publish(&broker, "cmnd/my_house_living_room/Dimmer", b"10", false);
        publish(&broker, "stat/my_house_living_room/POWER", b"ON", false);
        publish(&broker, "cmnd/my_house_living_room/POWER", b"OFF", false);
        let got = lines(running);
        assert_eq!(
            (got[0]["prefix"].clone(), got[0]["payload"].clone()),
            (json!("cmnd"), json!("OFF"))
        );

        // --topic alone: only those filters, nothing read as a device
        let running = watch(&broker, &env, &["--topic", "zigbee2mqtt/+", "-n", "1"]);
        publish(&broker, "stat/my_house_living_room/POWER", b"ON", false);
        publish(&broker, "zigbee2mqtt/bulb", br#"{"state":"ON"}"#, false);
        let got = lines(running);
        assert_eq!(
            (who(&got[0]), got[0]["mqtt_topic"].clone()),
            (
                (
                    json!(null),
                    json!("zigbee2mqtt/bulb"),
                    json!(null),
                    json!(null)
                ),
                json!("zigbee2mqtt/bulb")
            )
        );

        // a TARGET and --topic: both
        let running = watch(&broker, &env, &["lamp", "--topic", "other/#", "-n", "2"]);
        publish(&broker, "stat/my_house_living_room/POWER", b"ON", false);
        publish(&broker, "kitchen/lamp/status/POWER", b"ON", false);
        publish(&broker, "other/x", b"1", false);
        let got: Vec<_> = lines(running)
            .iter()
            .map(|l| l["mqtt_topic"].clone())
            .collect();
        assert_eq!(got, [json!("kitchen/lamp/status/POWER"), json!("other/x")]);

        // a bad raw filter is refused before connecting
        let out = env
            .tasctl()
            .args(["--broker", &broker.url(), "watch", "--topic", "a/#/b"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("`#` must be a whole level and the last one"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn human_lines_show_names_and_retained() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        publish(&broker, "tele/my_house_living_room/LWT", b"Online", true);
        let out = env
            .tasctl()
            .args(["--broker", &broker.url(), "watch", "-n", "1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8(out.stdout).unwrap();
        // "10:00:00.123 living   tele LWT      Online (retained)"
        assert_eq!(
            &text[12..],
            " living   tele LWT      Online (retained)\n",
            "{text}"
        );
    }
}

#[test]
fn for_count_ctrl_c_and_a_closed_stdout_all_end_with_0() {
    for broker in Broker::all() {
        let env = Env::with_profile(PROFILE);
        let out = env
            .tasctl()
            .args(["--broker", &broker.url(), "watch", "--for", "200ms"])
            .output()
            .unwrap();
        assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));

        let running = watch(&broker, &env, &[]);
        running.interrupt();
        let (code, _, err) = running.finish();
        assert_eq!(code, Some(0), "Ctrl-C is how a watch ends: {err}");

        // `tasctl watch | head -1`
        let mut cmd = env.command();
        cmd.args(["--broker", &broker.url(), "watch", "-v"]);
        let (running, stdout) = Running::spawn_raw(cmd);
        running.wait_stderr("tasctl: watching");
        publish(&broker, "stat/my_house_living_room/POWER", b"ON", false);
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).unwrap(); // head read one line, then closed the pipe
        assert!(first.contains("living"), "{first}");
        publish(&broker, "stat/my_house_living_room/POWER", b"OFF", false);
        let (code, _, err) = running.finish();
        assert_eq!(code, Some(0), "{err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{err}"
        );
    }
}

#[test]
fn a_restarted_broker_is_ridden_out() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(PROFILE);
    let running = watch(&broker, &env, &["-n", "2"]);
    publish(&broker, "stat/my_house_living_room/POWER", b"ON", false);
    assert!(running.line().contains("\"payload\":\"ON\""));
    broker.restart();
    running.wait_stderr("lost the connection");
    running.wait_stderr("reconnected");
    publish(&broker, "stat/my_house_living_room/POWER", b"OFF", false);
    let got = lines(running);
    assert_eq!(
        got[0]["payload"], "OFF",
        "a message published after the restart arrives"
    );
}

#[test]
fn a_flood_of_100000_is_shown_completely_in_flat_memory() {
    // An unbounded queue per client: a slow (debug-built) reader then sees every message
    // instead of what mosquitto would drop for it.
    let Some(broker) = Broker::start_with("max_queued_messages 0") else {
        return;
    };
    let env = Env::new();
    let scenario = (1..=10)
        .map(|i| format!("[[device]]\nTopic = \"flood{i}\"\nTelePeriod = 0\n"))
        .collect::<String>();
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "watch",
        "--json",
        "-v",
        "--only",
        "STATE",
        "--for",
        "60s",
    ]);
    let (running, stdout) = Running::spawn_raw(cmd);
    running.wait_stderr("tasctl: watching");
    let path = env.dir.path().join("flood.toml");
    std::fs::write(&path, scenario).unwrap();
    let _sim = Sim::start(
        &broker,
        &[
            "--scenario",
            path.to_str().unwrap(),
            "--fleet",
            "--flood",
            "100000",
        ],
    );
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    let mut rss_at_10k = 0;
    for n in 1..=100_000 {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "watch ended after {n} lines"
        );
        if n == 10_000 {
            rss_at_10k = running.memory_kib().1;
        }
    }
    let (peak, now) = running.memory_kib();
    assert!(
        now < rss_at_10k + 4 * 1024,
        "memory grew from {rss_at_10k} KiB to {now} KiB"
    );
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
    running.interrupt();
    drop(reader);
    let (code, _, _) = running.finish();
    assert_eq!(code, Some(0));
}
