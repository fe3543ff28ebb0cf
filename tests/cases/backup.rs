//! backup and restore over MQTT only: against simulated devices that hold real settings images,
//! and against scripted devices for the faults (silence mid-transfer, a repeated or lost chunk,
//! a wrong MD5, a broker that goes away).

use std::time::Duration;

use base64::Engine as _;
use md5::Digest as _;
use serde_json::{Value, json};

use crate::support::{Broker, Env, ScriptedDevice, Sim, json, row, stderr, stdout};

const FLEET: &str = r#"
[[device]]
Topic = "plug"
Mac = "A0B765000011"
MqttPassword = "plug-secret"
Sensor = "ENERGY"
[[device]]
Topic = "board"
Mac = "A0B765000012"
Relays = 4
Chip = "ESP32"
Version = "13.1.0.1"
[[device]]
Topic = "locked"
Mac = "A0B765000013"
MqttPassword = "unknown-to-us"
[[device]]
Topic = "fan"
Mac = "A0B765000014"
Online = false
"#;

fn profile(env: &Env) -> String {
    let pw = env.dir.path().join("plug-password");
    std::fs::write(&pw, "plug-secret\n").unwrap();
    format!(
        r#"
[devices]
plug = {{ topic = "plug", mac = "A0B765000011", device_password_file = {pw:?} }}
board = "board"
locked = "locked"
fan = "fan"

[groups]
upstairs = {{ group_topic = "upstairs", members = ["plug", "board"] }}
"#
    )
}

fn tasctl(env: &Env, broker: &Broker, args: &[&str]) -> std::process::Output {
    env.tasctl()
        .args(["--broker", &broker.url()])
        .args(args)
        .output()
        .unwrap()
}

fn dumps(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for mac in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(mac.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.path().extension().is_some_and(|e| e == "dmp") {
                files.push(f.path());
            }
        }
    }
    files.sort();
    files
}

#[test]
#[cfg(unix)]
fn backup_a_fleet_restore_one_and_get_the_same_bytes_back() {
    use std::os::unix::fs::PermissionsExt;
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    std::fs::write(env.profile(), profile(&env)).unwrap();
    let _sim = Sim::scenario(&broker, &env, FLEET);
    let dir = env.dir.path().join("backups");
    let out = tasctl(
        &env,
        &broker,
        &["backup", "all", "--dir", dir.to_str().unwrap(), "--json"],
    );
    // `locked` has a password we do not know (5); `fan` is offline (4): the highest wins.
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let report = json(&out);
    for name in ["plug", "board"] {
        let r = row(&report, name);
        assert_eq!(r["ok"], true, "{name}: {report:#}");
        assert_eq!(r["size"], 4096);
        let file = std::path::PathBuf::from(r["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            format!("{:x}", md5::Md5::digest(&bytes)),
            r["md5"].as_str().unwrap()
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let sidecar: Value =
            serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap())
                .unwrap();
        assert_eq!(sidecar["topic"], name);
        assert_eq!(sidecar["md5"], r["md5"]);
        assert_eq!(sidecar["device"], name);
        for key in ["mac", "hostname", "version", "chip", "size", "time"] {
            assert!(sidecar.get(key).is_some(), "{key} in {sidecar}");
        }
    }
    assert_eq!(row(&report, "board")["version"], "13.1.0.1");
    let board_file = row(&report, "board")["file"].as_str().unwrap().to_string();
    assert!(board_file.contains("/A0B765000012/"), "{board_file}");
    assert!(board_file.ends_with("_board_13.1.0.1.dmp"), "{board_file}");
    assert!(
        row(&report, "locked")["error"]
            .as_str()
            .unwrap()
            .contains("Error 1"),
        "{report:#}"
    );
    assert!(
        row(&report, "fan")["error"]
            .as_str()
            .unwrap()
            .contains("offline (LWT)")
    );

    // A group stands for its members; --keep 1 leaves one backup per MAC.
    std::thread::sleep(Duration::from_millis(1100)); // a new second: a new file name
    let out = tasctl(
        &env,
        &broker,
        &[
            "backup",
            "upstairs",
            "--dir",
            dir.to_str().unwrap(),
            "--keep",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(dumps(&dir).len(), 2, "{:?}", dumps(&dir));

    // Restore the plug's own backup: it restarts and comes back; a new backup is identical.
    let plug_file = dumps(&dir)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("A0B765000011"))
        .unwrap();
    let out = tasctl(
        &env,
        &broker,
        &["restore", "plug", plug_file.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        json(&out),
        json!([{"device": "plug", "topic": "plug", "ok": true, "version": "14.3.0"}])
    );
    let again = env.dir.path().join("again");
    let out = tasctl(
        &env,
        &broker,
        &["backup", "plug", "--dir", again.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&dumps(&again)[0]).unwrap(),
        std::fs::read(&plug_file).unwrap()
    );

    // Refusals: another device's file, another chip, a group, not a dump, truncated.
    let out = tasctl(
        &env,
        &broker,
        &["restore", "board", plug_file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("the file is the backup of A0B765000011"),
        "{}",
        stdout(&out)
    );
    let out = tasctl(
        &env,
        &broker,
        &["restore", "board", plug_file.to_str().unwrap(), "--force"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("the file is for ESP8266, the device is ESP32"),
        "{}",
        stdout(&out)
    );
    let out = tasctl(
        &env,
        &broker,
        &["restore", "upstairs", plug_file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a group"), "{}", stderr(&out));
    let junk = env.dir.path().join("junk.dmp");
    std::fs::write(&junk, vec![0u8; 4096]).unwrap();
    let out = tasctl(&env, &broker, &["restore", "plug", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CRC32"), "{}", stderr(&out));
    let short = env.dir.path().join("short.dmp");
    std::fs::write(&short, &std::fs::read(&plug_file).unwrap()[..1000]).unwrap();
    let out = tasctl(&env, &broker, &["restore", "plug", short.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));

    // A folder that cannot be written: that device fails (1), the others are saved.
    let blocked = env.dir.path().join("blocked");
    std::fs::create_dir_all(&blocked).unwrap();
    std::fs::write(
        blocked.join("A0B765000011"),
        "a file where the folder would go",
    )
    .unwrap();
    let out = tasctl(
        &env,
        &broker,
        &[
            "backup",
            "plug",
            "board",
            "--dir",
            blocked.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(row(&report, "board")["ok"], true);
    assert!(
        row(&report, "plug")["error"]
            .as_str()
            .unwrap()
            .contains("cannot"),
        "{report:#}"
    );
}

/// A device that opens a download of `size` bytes and then behaves as `chunk` says for the
/// n-th chunk request (`None`: silence).
fn scripted(
    broker: &Broker,
    size: usize,
    mut chunk: impl FnMut(usize, &[u8]) -> Option<Vec<Value>> + Send + 'static,
) -> ScriptedDevice {
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let mut n = 0;
    ScriptedDevice::start(broker, "odd", move |name, payload| {
        let reply = |v: Value| {
            (
                "stat/odd/FILEDOWNLOAD".to_string(),
                v.to_string().into_bytes(),
            )
        };
        match (name, payload) {
            ("Status", _) => vec![(
                "stat/odd/STATUS5".into(),
                br#"{"StatusNET":{"Mac":"A0:B7:65:00:00:99"}}"#.to_vec(),
            )],
            ("FileDownload", b"0") => vec![reply(json!({"FileDownload": "Aborted"}))],
            ("FileDownload", p) if p.starts_with(b"{") => vec![
                reply(json!({"FileDownload": "Started"})),
                reply(json!({"File": "Config_odd_14.3.0.dmp", "Id": 7, "Type": 2, "Size": size})),
            ],
            ("FileDownload", _) => {
                n += 1;
                chunk(n, &data)
                    .unwrap_or_default()
                    .into_iter()
                    .map(reply)
                    .collect()
            }
            _ => Vec::new(),
        }
    })
}

/// How a scripted device answers the n-th chunk request, given its data.
type Script = Box<dyn FnMut(usize, &[u8]) -> Option<Vec<Value>> + Send>;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn transfers_that_go_wrong_are_aborted_and_leave_no_file() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let dir = env.dir.path().join("b");
    let cases: Vec<(&str, Script, i32, &str)> = vec![
        (
            "silent after the first chunk",
            Box::new(|n, data| (n == 1).then(|| vec![json!({"Id": 7, "Data": b64(&data[..760])})])),
            4,
            "stopped answering mid-transfer",
        ),
        (
            "a chunk twice",
            Box::new(|n, data| {
                let piece = |k: usize| json!({"Id": 7, "Data": b64(&data[k * 760..((k + 1) * 760).min(data.len())])});
                Some(if n == 1 {
                    vec![piece(0), piece(0)]
                } else {
                    vec![piece(n - 1)]
                })
            }),
            5,
            "",
        ),
        (
            "a lost chunk",
            Box::new(|n, data| {
                Some(match n {
                    1 => vec![json!({"Id": 7, "Data": b64(&data[..760])})],
                    _ => vec![json!({"Id": 7, "Md5": format!("{:x}", md5::Md5::digest(data))})],
                })
            }),
            5,
            "ended after 760 of 1520 bytes",
        ),
        (
            "a wrong MD5",
            Box::new(|n, data| {
                Some(match n {
                    1 => vec![json!({"Id": 7, "Data": b64(&data[..760])})],
                    2 => vec![json!({"Id": 7, "Data": b64(&data[760..])})],
                    _ => vec![json!({"Id": 7, "Md5": "0123456789abcdef0123456789abcdef"})],
                })
            }),
            5,
            "does not match its MD5",
        ),
    ];
    for (what, script, code, words) in cases {
        let device = scripted(&broker, 1520, script);
        let out = env
            .tasctl()
            .args([
                "--broker",
                &broker.url(),
                "-w",
                "500ms",
                "--json",
                "backup",
                "odd",
            ])
            .arg("--dir")
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{what}: {}", stdout(&out));
        let error = row(&json(&out), "odd")["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(error.contains(words), "{what}: {error}");
        std::thread::sleep(Duration::from_millis(100));
        let commands = device.commands();
        assert_eq!(
            commands.last(),
            Some(&("FileDownload".to_string(), "0".to_string())),
            "{what}: the transfer is aborted on the device: {commands:?}"
        );
        assert!(dumps(&dir).is_empty(), "{what}: no file left behind");
    }
}

#[test]
fn a_broker_that_goes_away_mid_transfer_leaves_no_file() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let dir = env.dir.path().join("b");
    let _device = scripted(&broker, 1520, |_, _| None);
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "-w",
        "30s",
        "backup",
        "odd",
    ])
    .arg("--dir")
    .arg(&dir);
    let running = crate::support::Running::spawn(cmd);
    running.wait_stderr("<- stat/odd/FILEDOWNLOAD {\"File\"");
    broker.stop();
    let (code, _, err) = running.finish();
    assert_eq!(code, Some(3), "{err}");
    assert!(dumps(&dir).is_empty());
}
