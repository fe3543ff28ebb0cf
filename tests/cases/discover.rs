//! `tasctl discover` through the built binary: native discovery in every captured shape, LWT-only
//! devices probed, offline and deleted devices, `--save` twice, and a saved device switched.

use serde_json::{Value, json};

use crate::support::{Broker, Env, Sim, json, publish, stderr, stdout};

fn discover(broker: &Broker, env: &Env, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .args(["--broker", &broker.url(), "discover"])
        .args(args)
        .output()
        .unwrap()
}

fn by_topic<'a>(report: &'a Value, topic: &str) -> &'a Value {
    report
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["topic"] == topic)
        .unwrap_or_else(|| panic!("{topic} not in {report:#}"))
}

/// The payload of a capture in tests/fixtures/tasmota-payloads, published retained on its own topic.
fn publish_fixture(broker: &Broker, name: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tasmota-payloads")
        .join(format!("{name}.json"));
    let capture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    publish(
        broker,
        capture["topic"].as_str().unwrap(),
        capture["payload"].as_str().unwrap().as_bytes(),
        true,
    );
}

#[test]
fn every_captured_discovery_shape() {
    for broker in Broker::all() {
        for name in [
            "discovery-config-v10.0.0-4ch-relay",
            "discovery-config-v13.1.0.1-nous-a1t-plug",
            "discovery-config-v13.2.0.1-esp32-3relays-custom-topic",
            "discovery-config-v13.3.0.1-generic-no-relays",
            "discovery-sensors-v13.2.0.1-esp32-switches-htu21",
            "lwt-online-v7.0.0.3",
        ] {
            publish_fixture(&broker, name);
        }
        publish(&broker, "tele/tasmota_17E7AE/LWT", b"Online", true);
        publish(&broker, "tele/thermostat/LWT", b"Offline", true);
        let out = discover(&broker, &Env::new(), &["--json", "-w", "1s"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report = json(&out);
        assert_eq!(
            by_topic(&report, "tasmota_17E7AE"),
            &json!({"name": "geschirrspüler", "topic": "tasmota_17E7AE", "full_topic": "%prefix%/%topic%/",
                "prefix": {"cmnd": "cmnd", "stat": "stat", "tele": "tele"}, "hostname": "tasmota-17E7AE-1966",
                "ip": "172.19.13.2", "mac": "48551917E7AE", "model": "Nous A1T", "firmware": "13.1.0.1",
                "relays": 1, "online": true, "source": "discovery"})
        );
        assert_eq!(by_topic(&report, "tasmota_852612")["relays"], 4);
        assert_eq!(
            by_topic(&report, "tasmota_852612")["online"],
            json!(null),
            "no LWT seen: not told"
        );
        assert_eq!(by_topic(&report, "thermostat")["online"], false);
        assert_eq!(by_topic(&report, "tasmota_80FF6D")["relays"], 0);
        // the 7.0.0.3 device has only its LWT and does not answer: listed from the LWT
        assert_eq!(by_topic(&report, "wemos2")["source"], "lwt");
        assert_eq!(
            report.as_array().unwrap().len(),
            5,
            "the sensors message is not a device"
        );
    }
}

#[test]
fn lwt_only_devices_are_asked_and_deleted_ones_are_gone() {
    for broker in Broker::all() {
        let env = Env::new();
        let _sim = Sim::scenario(
            &broker,
            &env,
            r#"
        [[device]]
        Topic = "kitchen_lamp"
        FullTopic = "%topic%/%prefix%/"
        Version = "8.5.0"
        Mac = "60019449C805"
        DeviceName = "Kitchen Lamp"
        Relays = 2
        [[device]]
        Topic = "attic_fan"
        Online = false
        [[device]]
        Topic = "gone"
        Mac = "A0B765000099"
        "#,
        );
        // a device removed with SetOption19 1 (empty retained config) and its LWT cleared
        publish(&broker, "tasmota/discovery/A0B765000099/config", b"", true);
        publish(&broker, "tele/gone/LWT", b"", true);
        // a malformed config is reported, not fatal
        publish(
            &broker,
            "tasmota/discovery/A0B765000098/config",
            b"{not json",
            true,
        );
        let out = discover(&broker, &env, &["--json", "-w", "3s"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("skipping tasmota/discovery/A0B765000098/config"),
            "{}",
            stderr(&out)
        );
        let report = json(&out);
        let lamp = by_topic(&report, "kitchen_lamp");
        assert_eq!(
            (
                lamp["source"].clone(),
                lamp["full_topic"].clone(),
                lamp["name"].clone(),
                lamp["mac"].clone(),
                lamp["firmware"].clone(),
                lamp["relays"].clone(),
                lamp["online"].clone()
            ),
            (
                json!("lwt"),
                json!("%topic%/%prefix%/"),
                json!("kitchen-lamp"),
                json!("60019449C805"),
                json!("8.5.0"),
                json!(2),
                json!(true)
            )
        );
        assert_eq!(
            by_topic(&report, "attic_fan")["online"],
            false,
            "offline devices are listed too"
        );
        assert!(
            report
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["topic"] != "gone")
        );
    }
}

#[test]
fn save_twice_then_switch_a_custom_fulltopic_device_by_name() {
    for broker in Broker::all() {
        let env =
            Env::with_profile("# my house\n[devices]\nporch = \"porch_light\"  # by the door\n");
        let _sim = Sim::scenario(
            &broker,
            &env,
            r#"
        [[device]]
        Topic = "kitchen_lamp"
        FullTopic = "%topic%/%prefix%/"
        Version = "8.5.0"
        Mac = "60019449C805"
        DeviceName = "Kitchen Lamp"
        [[device]]
        Topic = "porch_light"
        Mac = "A0B765000010"
        DeviceName = "Porch"
        [[device]]
        Topic = "plug_a"
        DeviceName = "Plug"
        Mac = "A0B7650000A1"
        [[device]]
        Topic = "plug_b"
        DeviceName = "Plug"
        Mac = "A0B7650000B2"
        "#,
        );
        let out = discover(&broker, &env, &["--save"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(
                "3 added (kitchen-lamp, plug, plug-0000b2), 1 updated (porch), 0 unchanged"
            ),
            "{}",
            stderr(&out)
        );
        let text = env.read_profile();
        assert!(
            text.starts_with("# my house\n") && text.contains("# by the door"),
            "{text}"
        );
        assert!(text.contains(r#"kitchen-lamp = { topic = "kitchen_lamp", full_topic = "%topic%/%prefix%/", mac = "60019449C805" }"#), "{text}");
        assert!(
            text.contains(
                r#"porch = { topic = "porch_light", mac = "A0B765000010" }  # by the door"#
            ),
            "{text}"
        );

        let out = discover(&broker, &env, &["--save"]);
        assert!(
            stderr(&out).contains("0 added, 0 updated, 4 unchanged"),
            "{}",
            stderr(&out)
        );
        assert_eq!(env.read_profile(), text, "saving again changes nothing");

        let out = env
            .tasctl()
            .args(["--broker", &broker.url(), "power", "on", "kitchen-lamp"])
            .output()
            .unwrap();
        assert_eq!(
            (out.status.code(), stdout(&out)),
            (Some(0), "kitchen-lamp  ON\n".to_string()),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_thousand_devices_are_listed_completely() {
    for broker in Broker::all() {
        let _sim = Sim::start(&broker, &["--devices", "1000", "--fleet"]);
        let out = discover(&broker, &Env::new(), &["--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report = json(&out);
        let devices = report.as_array().unwrap();
        assert_eq!(devices.len(), 1000);
        assert!(
            devices
                .iter()
                .all(|d| d["source"] == "discovery" && d["online"] == true)
        );
    }
}

#[test]
fn a_broadcast_finds_devices_that_left_nothing_retained() {
    for broker in Broker::all() {
        let env = Env::new();
        let _sim = Sim::scenario(
            &broker,
            &env,
            r#"
        [[device]]
        Topic = "quiet_plug"
        Mac = "A0B7650000C1"
        SetOption19 = 1
        [[device]]
        Topic = "quiet_lamp"
        Mac = "A0B7650000C2"
        FullTopic = "%topic%/%prefix%/"
        SetOption19 = 1
        [[device]]
        Topic = "loud_plug"
        Mac = "A0B7650000C3"
        "#,
        );
        // no discovery, and their LWTs cleared: nothing retained says they exist
        publish(&broker, "tele/quiet_plug/LWT", b"", true);
        publish(&broker, "quiet_lamp/tele/LWT", b"", true);
        let out = discover(&broker, &env, &["--json", "-w", "1s"]);
        let topics: Vec<_> = json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["topic"].clone())
            .collect();
        assert_eq!(topics, [json!("loud_plug")]);

        let out = discover(&broker, &env, &["--json", "--broadcast", "-w", "3s"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report = json(&out);
        assert_eq!(
            report.as_array().unwrap().len(),
            3,
            "the known device is merged, not repeated: {report:#}"
        );
        let plug = by_topic(&report, "quiet_plug");
        assert_eq!(
            (
                plug["source"].clone(),
                plug["mac"].clone(),
                plug["online"].clone()
            ),
            (json!("status"), json!("A0B7650000C1"), json!(true)),
            "{:?}: {report:#}",
            broker.kind
        );
        let lamp = by_topic(&report, "quiet_lamp");
        assert_eq!(
            (lamp["source"].clone(), lamp["full_topic"].clone()),
            (json!("status"), json!("%topic%/%prefix%/"))
        );
        assert_eq!(by_topic(&report, "loud_plug")["source"], "discovery");
    }
}
