//! Daily use: the small things a person at a shell expects, each through the built binary.

use crate::support::{Broker, Env, Recorder, Running, Sim, json, row, stderr, stdout};

const FLEET: &str = r#"
[[device]]
Topic = "kitchen_lamp"
DeviceName = "Kitchen Lamp"
Mac = "A0B765000031"
[[device]]
Topic = "living_plug"
DeviceName = "Living Plug"
Mac = "A0B765000032"
"#;

fn run(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .args(["--broker", &broker.url()])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn send_to_several_targets_and_failures_in_one_format() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile("[devices]\nlamp = \"kitchen_lamp\"\nplug = \"living_plug\"\n");
    let _sim = Sim::scenario(&broker, &env, FLEET);
    let out = run(
        &env,
        &broker,
        &["--json", "send", "lamp", "plug", "--", "Power", "on"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    for name in ["lamp", "plug"] {
        assert_eq!(
            row(&report, name)["response"],
            serde_json::json!({"POWER": "ON"})
        );
    }
    // A failure sits where a reply would: `name  message`.
    let out = run(
        &env,
        &broker,
        &["-w", "300ms", "send", "lamp", "nobody", "--", "Power"],
    );
    assert_eq!(out.status.code(), Some(4));
    let text = stdout(&out);
    assert!(text.contains("lamp    {\"POWER\":\"ON\"}"), "{text}");
    assert!(text.contains("nobody  no response within 300ms"), "{text}");
    // The single-target form still works, also with a payload that looks like a flag.
    let out = run(&env, &broker, &["send", "lamp", "Power", "off"]);
    assert_eq!(stdout(&out), "{\"POWER\":\"OFF\"}\n");
}

#[test]
fn names_and_suggestions_people_can_use() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        "[devices]\nkitchen-lamp = { topic = \"kitchen_lamp\", mac = \"A0B765000031\" }\n",
    );
    let _sim = Sim::scenario(&broker, &env, FLEET);
    // discover --json names each device as the profile does, or as --save would.
    let found = json(&run(&env, &broker, &["--json", "discover"]));
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kitchen-lamp", "living-plug"]);
    // Those names work as targets as they are.
    let out = run(&env, &broker, &["power", "on", "kitchen-lamp"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A part of a name is suggested.
    let out = run(&env, &broker, &["-w", "200ms", "power", "on", "lamp"]);
    assert!(
        stdout(&out).contains("did you mean `kitchen-lamp`?"),
        "{}",
        stdout(&out)
    );
    // watch warns about a word that is no name.
    let out = run(&env, &broker, &["watch", "lamp", "--for", "100ms"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("`lamp` is not a name in the profile; watching it as a Topic (did you mean `kitchen-lamp`?)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn profile_durations_and_json_errors() {
    let env = Env::with_profile("[defaults]\nwait = 2\n[broker]\nurl = \"mqtt://127.0.0.1:1\"\n");
    let out = env
        .tasctl()
        .args(["--json", "power", "on", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["code"], 3);
    assert!(
        error["error"].as_str().unwrap().contains("127.0.0.1:1"),
        "{error}"
    );
    let out = env
        .tasctl()
        .args(["--json", "power", "on", "a+b"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["code"], 1);
}

#[test]
fn the_simulator_leaves_nothing_behind_and_listens_by_name() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let mut cmd = Env::new().command();
    cmd.args(["--broker", &broker.url(), "simulate", "--devices", "3"]);
    let sim = Running::spawn(cmd);
    assert!(sim.line().starts_with("simulating 3 devices"));
    sim.interrupt();
    let (code, _, err) = sim.finish();
    assert_eq!(code, Some(0), "{err}");
    // Nothing retained is left: a recorder that subscribes now gets nothing.
    let recorder = Recorder::start(&broker, "#");
    let left: Vec<String> = recorder
        .drain()
        .into_iter()
        .filter(|m| m.retain)
        .map(|m| m.topic)
        .collect();
    assert!(left.is_empty(), "{left:?}");

    let port = crate::support::free_port();
    let mut cmd = Env::new().command();
    cmd.args([
        "simulate",
        "--embedded",
        "--listen",
        &format!("localhost:{port}"),
    ]);
    let sim = Running::spawn(cmd);
    assert!(sim.line().starts_with("simulating"));
}
