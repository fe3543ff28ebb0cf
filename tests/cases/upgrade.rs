//! upgrade against simulated devices that download their image by HTTP and restart as the
//! firmware does: served from tasctl itself, from a URL, with canaries, batches, a minimal build
//! on the way, and every way it goes wrong.

use std::time::{Duration, Instant};

use crate::support::{Broker, Env, ScriptedDevice, Sim, free_port, json, row, stderr, stdout};

const FLEET: &str = r#"
[[device]]
Topic = "plug"
Version = "14.3.0"
[[device]]
Topic = "board"
Version = "13.1.0.1"
Relays = 4
[[device]]
Topic = "small"
Version = "12.5.0"
OtaMinimal = true
[[device]]
Topic = "fan"
Online = false
"#;

const PROFILE: &str = r#"
[devices]
plug = "plug"
board = { topic = "board", relays = 4 }
small = "small"
fan = "fan"
"#;

fn image(env: &Env, version: &str) -> String {
    let path = env.dir.path().join(format!("tasmota-{version}.bin.gz"));
    std::fs::write(
        &path,
        format!("TASMOTA-SIM {version}\n\u{1f}\u{8b} the rest of an image\n"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn upgrade(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .args(["--broker", &broker.url(), "upgrade"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_fleet_upgraded_from_tasctl_s_own_server_and_verified() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(PROFILE);
    let _sim = Sim::scenario(&broker, &env, FLEET);
    let file = image(&env, "14.5.0");
    let address = format!("127.0.0.1:{}", free_port());
    let out = upgrade(
        &env,
        &broker,
        &[
            "all",
            "--serve",
            &file,
            "--serve-address",
            &address,
            "--version",
            "14.5.0",
            "--json",
            "-w",
            "20s",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "fan is offline: {}",
        stderr(&out)
    );
    let report = json(&out);
    for (name, from) in [
        ("plug", "14.3.0"),
        ("board", "13.1.0.1"),
        ("small", "12.5.0"),
    ] {
        let r = row(&report, name);
        assert_eq!(
            (&r["ok"], &r["from"], &r["to"]),
            (&true.into(), &from.into(), &"14.5.0".into()),
            "{name}: {report:#}"
        );
        assert!(r["seconds"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(row(&report, "fan")["error"], "no response; offline (LWT)");
    // The devices really run it: status says so.
    let status = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "--json",
            "status",
            "small",
            "--section",
            "2",
        ])
        .output()
        .unwrap();
    let version = json(&status)[0]["status"]["StatusFWR"]["Version"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        version, "14.5.0(tasmota)",
        "the minimal build was only a stop on the way"
    );

    // A rerun touches nobody: resumable.
    let started = Instant::now();
    let out = upgrade(
        &env,
        &broker,
        &[
            "plug",
            "board",
            "--serve",
            &file,
            "--serve-address",
            &address,
            "--version",
            "14.5.0",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        json(&out)
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["already"] == true)
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn failures_canaries_and_batches() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        r#"
[devices]
a = "a"
b = "b"
c = "c"
d = "d"
old = "old"
"#,
    );
    let _sim = Sim::scenario(
        &broker,
        &env,
        r#"
[[device]]
Topic = "a"
Version = "14.3.0"
[[device]]
Topic = "b"
Version = "14.3.0"
[[device]]
Topic = "c"
Version = "14.3.0"
[[device]]
Topic = "d"
Version = "14.3.0"
[[device]]
Topic = "old"
Version = "9.1.0"
Ota = false
"#,
    );
    // A URL that answers 404: every device says Failed and stays on its version (5).
    let address = format!("127.0.0.1:{}", free_port());
    let file = image(&env, "14.5.0");
    let out = upgrade(
        &env,
        &broker,
        &[
            "a",
            "--url",
            "http://127.0.0.1:9/none.bin",
            "--json",
            "-w",
            "10s",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let error = row(&json(&out), "a")["error"].as_str().unwrap().to_string();
    assert!(error.starts_with("the device says: Failed"), "{error}");

    // A wrong image (not a Tasmota image for this device): Failed.
    let junk = env.dir.path().join("junk.bin");
    std::fs::write(&junk, "<html>not an image</html>").unwrap();
    let out = upgrade(
        &env,
        &broker,
        &[
            "a",
            "--serve",
            junk.to_str().unwrap(),
            "--serve-address",
            &address,
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(
        row(&json(&out), "a")["error"]
            .as_str()
            .unwrap()
            .contains("Failed")
    );

    // A build without OTA refuses.
    let out = upgrade(
        &env,
        &broker,
        &[
            "old",
            "--serve",
            &file,
            "--serve-address",
            &address,
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(5));
    assert!(
        row(&json(&out), "old")["error"]
            .as_str()
            .unwrap()
            .contains("no OTA"),
        "{}",
        stdout(&out)
    );

    // An image of another version than asked: the device comes back on it, which is a failure.
    let other = image(&env, "14.4.0");
    let out = upgrade(
        &env,
        &broker,
        &[
            "a",
            "--serve",
            &other,
            "--serve-address",
            &address,
            "--version",
            "14.5.0",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    assert_eq!(
        row(&json(&out), "a")["error"],
        "came back on 14.4.0, not 14.5.0"
    );

    // A canary that fails stops the rest; nobody else is touched.
    let out = upgrade(
        &env,
        &broker,
        &[
            "old",
            "b",
            "c",
            "--serve",
            &file,
            "--serve-address",
            &address,
            "--version",
            "14.5.0",
            "--canary",
            "1",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    let report = json(&out);
    for name in ["b", "c"] {
        assert_eq!(
            row(&report, name)["error"],
            "not upgraded: a canary failed",
            "{report:#}"
        );
    }
    // A good canary, then batches of one: everyone upgraded, one at a time.
    let out = upgrade(
        &env,
        &broker,
        &[
            "b",
            "c",
            "d",
            "--serve",
            &file,
            "--serve-address",
            &address,
            "--version",
            "14.5.0",
            "--canary",
            "1",
            "--batch",
            "1",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = json(&out);
    let mut seconds: Vec<f64> = ["b", "c", "d"]
        .iter()
        .map(|n| row(&report, n)["seconds"].as_f64().unwrap())
        .collect();
    seconds.sort_by(f64::total_cmp);
    assert!(seconds.iter().all(|s| *s > 0.0));
}

#[test]
fn a_device_that_never_comes_back_and_bad_input() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    // It accepts, says Successful, and is never heard of again.
    let _device = ScriptedDevice::start(&broker, "ghost", |name, _| {
        let result = |body: &str| ("stat/ghost/RESULT".to_string(), body.as_bytes().to_vec());
        match name {
            "Status" => vec![(
                "stat/ghost/STATUS2".into(),
                br#"{"StatusFWR":{"Version":"14.3.0(tasmota)","Hardware":"ESP8266EX"}}"#.to_vec(),
            )],
            "OtaUrl" => vec![result(r#"{"OtaUrl":"http://x/y.bin"}"#)],
            "Upgrade" => vec![
                result(r#"{"Upgrade":"Version 14.3.0 from http://x/y.bin"}"#),
                (
                    "stat/ghost/UPGRADE".into(),
                    br#"{"Upgrade":"Successful. Restarting"}"#.to_vec(),
                ),
            ],
            _ => Vec::new(),
        }
    });
    let started = Instant::now();
    let out = upgrade(
        &env,
        &broker,
        &["ghost", "--url", "http://x/y.bin", "-w", "1500ms", "--json"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        row(&json(&out), "ghost")["error"],
        "did not come back within 1.5s"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // An image that does not exist, a server address in use: refused before anything is sent.
    let out = upgrade(
        &env,
        &broker,
        &["ghost", "--serve", "/nonexistent/tasmota.bin"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = busy.local_addr().unwrap().to_string();
    let file = image(&env, "14.5.0");
    let out = upgrade(
        &env,
        &broker,
        &["ghost", "--serve", &file, "--serve-address", &taken],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("in use?"), "{}", stderr(&out));
    let out = upgrade(&env, &broker, &["ghost"]);
    assert_eq!(out.status.code(), Some(2), "--url or --serve is required");
    let out = upgrade(
        &env,
        &broker,
        &["ghost", "--url", "http://x/y", "--version", "latest"],
    );
    assert_eq!(out.status.code(), Some(1));
}

/// `--canary 1` when the first device is offline: the canary is the first device that is
/// online and answers; the offline one is reported, and blocks nobody.
#[test]
fn canaries_are_chosen_among_the_devices_that_answer() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(PROFILE);
    let _sim = Sim::scenario(&broker, &env, FLEET);
    let file = image(&env, "14.5.0");
    let address = format!("127.0.0.1:{}", free_port());
    let recorder = crate::support::Recorder::start(&broker, "cmnd/+/Upgrade");
    let out = upgrade(
        &env,
        &broker,
        &[
            "fan",
            "plug",
            "board",
            "--serve",
            &file,
            "--serve-address",
            &address,
            "--canary",
            "1",
            "--version",
            "14.5.0",
            "--json",
            "-w",
            "20s",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(
        row(&report, "fan")["error"],
        "no response; offline (LWT)",
        "{report:#}"
    );
    for name in ["plug", "board"] {
        assert_eq!(row(&report, name)["ok"], true, "{name}: {report:#}");
        assert_eq!(row(&report, name)["to"], "14.5.0");
    }
    let asked: Vec<String> = recorder.drain().into_iter().map(|s| s.topic).collect();
    assert_eq!(
        asked,
        ["cmnd/plug/Upgrade", "cmnd/board/Upgrade"],
        "the canary first"
    );
}

/// `--batch 2` is a sliding window: a device waits for a free place, not for a whole wave.
/// The first device never finishes; the third starts as soon as the second is done.
#[test]
fn batches_slide() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(PROFILE);
    let _sim = Sim::scenario(&broker, &env, FLEET);
    // A device that accepts and then says nothing more (a download that hangs).
    let _stuck = ScriptedDevice::start(&broker, "stuck", |name, _| match name {
        "Status" => vec![(
            "stat/stuck/STATUS2".into(),
            br#"{"StatusFWR":{"Version":"14.3.0(tasmota)","Hardware":"ESP8266EX"}}"#.to_vec(),
        )],
        "Upgrade" => vec![(
            "stat/stuck/RESULT".into(),
            br#"{"Upgrade":"Version 14.3.0 from http://x/y.bin"}"#.to_vec(),
        )],
        _ => Vec::new(),
    });
    let address = format!("127.0.0.1:{}", free_port());
    let file = image(&env, "14.5.0");
    let recorder = crate::support::Recorder::start(&broker, "cmnd/board/Upgrade");
    let started = Instant::now();
    let mut cmd = env.command();
    cmd.args(["--broker", &broker.url(), "upgrade"]).args([
        "stuck",
        "plug",
        "board",
        "--serve",
        &file,
        "--serve-address",
        &address,
        "--batch",
        "2",
        "--json",
        "-w",
        "8s",
    ]);
    let running = crate::support::Running::spawn(cmd);
    recorder.wait_for("cmnd/board/Upgrade");
    // With waves, board would have waited for the stuck device's whole 8 s.
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "board started after {waited:?}"
    );
    let (code, rest, err) = running.finish();
    assert_eq!(code, Some(4), "{err}");
    let report: serde_json::Value = serde_json::from_str(&rest.concat()).unwrap();
    assert_eq!(row(&report, "board")["ok"], true, "{report:#}");
    let seconds = row(&report, "board")["seconds"].as_f64().unwrap();
    assert!(seconds < 4.0, "board's time is its own: {seconds}");
}

/// A device that passes through a minimal build, played by the test: the minimal image knows
/// only the OTA commands (anything else: `Unknown`), and its commanded restarts send no Offline
/// LWT. Named `(release-minimal)` in its INFO1, it is asked nothing; named as a plain version
/// (a build tasctl cannot tell), its `Unknown` sends tasctl back to waiting. Either way the
/// full build's INFO1 is followed to the end.
#[test]
fn a_minimal_build_on_the_way_is_followed_to_the_full_one() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let Some(broker) = Broker::start() else {
        return;
    };
    for minimal_name in ["15.0.0(release-minimal)", "15.0.0"] {
        let env = Env::new();
        let minimal = Arc::new(AtomicBool::new(false));
        let unknown = Arc::new(AtomicUsize::new(0));
        let (on_minimal, unknowns) = (minimal.clone(), unknown.clone());
        let mut upgraded = false;
        let _device = ScriptedDevice::start(&broker, "tiny", move |name, _| {
            let msg = |suffix: &str, body: &str| {
                (format!("stat/tiny/{suffix}"), body.as_bytes().to_vec())
            };
            match name {
                "Status" if on_minimal.load(Ordering::SeqCst) => {
                    unknowns.fetch_add(1, Ordering::SeqCst);
                    vec![msg("RESULT", r#"{"Command":"Unknown"}"#)]
                }
                "Status" => {
                    let version = if upgraded {
                        "15.0.0(tasmota)"
                    } else {
                        "14.3.0(tasmota)"
                    };
                    let body = format!(
                        r#"{{"StatusFWR":{{"Version":"{version}","Hardware":"ESP8266EX"}}}}"#
                    );
                    vec![msg("STATUS2", &body)]
                }
                "OtaUrl" => vec![msg("RESULT", r#"{"OtaUrl":"http://x/tasmota.bin.gz"}"#)],
                "Upgrade" => {
                    upgraded = true;
                    on_minimal.store(true, Ordering::SeqCst);
                    vec![
                        msg("RESULT", r#"{"Upgrade":"Version 14.3.0 from http://x/tasmota.bin.gz"}"#),
                        msg("UPGRADE", r#"{"Upgrade":"Successful. Restarting"}"#),
                        (
                            "tele/tiny/INFO1".into(),
                            format!(r#"{{"Info1":{{"Module":"Sonoff Basic","Version":"{minimal_name}"}}}}"#)
                                .into_bytes(),
                        ),
                    ]
                }
                _ => Vec::new(),
            }
        });
        let mut cmd = env.command();
        cmd.args([
            "--broker",
            &broker.url(),
            "--json",
            "-v",
            "-w",
            "10s",
            "upgrade",
            "tiny",
            "--url",
            "http://x/tasmota.bin.gz",
        ]);
        let running = crate::support::Running::spawn(cmd);
        running.wait_stderr("<- tele/tiny/INFO1");
        // The minimal build fetches the full image itself and restarts: a clean disconnect,
        // then the full build's INFO1.
        std::thread::sleep(Duration::from_millis(300));
        minimal.store(false, Ordering::SeqCst);
        crate::support::publish(
            &broker,
            "tele/tiny/INFO1",
            br#"{"Info1":{"Module":"Sonoff Basic","Version":"15.0.0(tasmota)"}}"#,
            false,
        );
        let (code, rest, err) = running.finish();
        assert_eq!(code, Some(0), "{minimal_name}: {err}");
        assert!(rest.concat().contains(r#""to":"15.0.0""#), "{rest:?}");
        let expected_unknown = usize::from(minimal_name == "15.0.0");
        assert_eq!(
            unknown.load(Ordering::SeqCst),
            expected_unknown,
            "{minimal_name}: {err}"
        );
    }
}
