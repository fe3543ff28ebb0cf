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
    // power and status say it the same way, alone or in a table
    for args in [
        &["-w", "300ms", "power", "on", "nobody"][..],
        &["-w", "300ms", "status", "nobody"],
    ] {
        let out = run(&env, &broker, args);
        assert_eq!(
            (out.status.code(), stdout(&out)),
            (
                Some(4),
                "nobody  no response within 300ms; `nobody` is not a name in the profile, so it was taken as a Topic\n"
                    .to_string()
            ),
            "{args:?}"
        );
    }
    let out = run(&env, &broker, &["-w", "300ms", "status", "lamp", "nobody"]);
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("nobody  ") && l.contains("  no response within 300ms")),
        "{}",
        stdout(&out)
    );
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

#[test]
fn dry_run_shows_every_publish_and_contacts_no_broker() {
    // Nothing listens on this port: a command that connected would fail with exit 3.
    let nowhere = format!("mqtt://127.0.0.1:{}", crate::support::free_port());
    let env = Env::with_profile(
        r#"[defaults]
device_password_file = "secret"
[devices]
plug = { topic = "living_plug", mac = "A0B765000032" }
lamp = { topic = "kitchen_lamp", full_topic = "%topic%/%prefix%/" }
"#,
    );
    std::fs::write(env.dir.path().join("secret"), "hunter2\n").unwrap();
    let dry = |args: &[&str]| {
        // --dry-run goes after the subcommand, before a `--` (after it, it is a payload word)
        let mut args = args.to_vec();
        let at = args.iter().position(|a| *a == "--").unwrap_or(args.len());
        args.insert(at, "--dry-run");
        let out = env
            .tasctl()
            .current_dir(env.dir.path())
            .args(["--broker", &nowhere])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("dry run: nothing was published"),
            "{}",
            stderr(&out)
        );
        out
    };

    // `all`: one group publish per layout, every profile device expected.
    let out = dry(&["power", "on", "all"]);
    let text = stdout(&out);
    for line in [
        "cmnd/tasmotas/Power  ON",
        "tasmotas/cmnd/Power  ON",
        "would wait for lamp, plug, whoever answers on all (tasmotas) (at most 2s)",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }

    // send to several: each device's own layout
    let out = dry(&[
        "--json",
        "send",
        "lamp",
        "plug",
        "--no-wait",
        "--",
        "Backlog",
        "Power",
        "on;",
        "Delay",
        "5",
    ]);
    let report = json(&out);
    let published: Vec<(String, String)> = report["publish"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap().to_string(),
                p["payload"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        published,
        [
            (
                "kitchen_lamp/cmnd/Backlog".into(),
                "Power on; Delay 5".into()
            ),
            (
                "cmnd/living_plug/Backlog".into(),
                "Power on; Delay 5".into()
            ),
        ]
    );
    assert_eq!(report["expect"], serde_json::json!(["lamp", "plug"]));
    assert!(
        report["subscribe"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("kitchen_lamp/stat/+"))
    );

    // a backup shows its first request (Status 5: the MAC and host name), no password
    let out = dry(&["backup", "plug"]);
    let text = stdout(&out);
    assert!(text.contains("cmnd/living_plug/Status  5"), "{text}");
    assert!(!text.contains("Password"), "{text}");
    assert!(
        text.contains("then each device sends its settings"),
        "{text}"
    );
    assert!(!text.contains("hunter2") && !stderr(&out).contains("hunter2"));

    // an upgrade names the URL it would hand out; a retained publish says so
    let image = env.dir.path().join("fw.bin");
    std::fs::write(&image, "TASMOTA-SIM 14.5.0\n").unwrap();
    let out = dry(&[
        "upgrade",
        "plug",
        "--serve",
        image.to_str().unwrap(),
        "--serve-address",
        "127.0.0.1:8080",
        "--version",
        "14.5.0",
    ]);
    assert!(
        stdout(&out).contains("OtaUrl http://127.0.0.1:8080/fw.bin, Upgrade 14.5.0"),
        "{}",
        stdout(&out)
    );
    let out = dry(&["publish", "--retain", "home/garage/door", "closed"]);
    assert!(
        stdout(&out).contains("home/garage/door  closed  (retained)"),
        "{}",
        stdout(&out)
    );
    // read asks Status 10 and 11; status Status 0
    let out = dry(&["read", "plug"]);
    assert!(stdout(&out).contains("cmnd/living_plug/Status  10\ncmnd/living_plug/Status  11\n"));

    // bad input is still refused under --dry-run
    let out = env
        .tasctl()
        .args(["--broker", &nowhere, "power", "on", "a/+", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
