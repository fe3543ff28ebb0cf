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
        json!([{"device": "plug", "topic": "plug", "ok": true, "file": plug_file.to_str().unwrap(), "version": "14.3.0"}])
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
pub(crate) fn scripted(
    broker: &Broker,
    size: usize,
    chunk: impl FnMut(usize, &[u8]) -> Option<Vec<Value>> + Send + 'static,
) -> ScriptedDevice {
    scripted_announcing(broker, size as u64, size, chunk)
}

/// `scripted`, with a header that announces `announced` bytes whatever it holds.
pub(crate) fn scripted_announcing(
    broker: &Broker,
    announced: u64,
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
                reply(
                    json!({"File": "Config_odd_14.3.0.dmp", "Id": 7, "Type": 2, "Size": announced}),
                ),
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

pub(crate) fn b64(bytes: &[u8]) -> String {
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

/// A device that lies: empty chunks forever, a size no settings file has, or none at all. The
/// transfer ends, is aborted on the device, and leaves no file.
#[test]
fn a_lying_device_cannot_keep_a_backup_going_or_fill_memory() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let dir = env.dir.path().join("b");
    let endless = |_: usize, _: &[u8]| Some(vec![json!({"Id": 7, "Data": ""})]);
    let streaming = |_: usize, data: &[u8]| Some(vec![json!({"Id": 7, "Data": b64(&data[..760])})]);
    let cases: Vec<(&str, u64, Script, &str)> = vec![
        (
            "empty chunks forever",
            4096,
            Box::new(endless),
            "empty chunk",
        ),
        (
            "4 GiB announced",
            4_294_967_296,
            Box::new(streaming),
            "4294967296 bytes; refused",
        ),
        (
            "nothing announced",
            0,
            Box::new(streaming),
            "0 bytes; refused",
        ),
    ];
    for (what, announced, script, words) in cases {
        let device = scripted_announcing(&broker, announced, 4096, script);
        let out = tasctl(
            &env,
            &broker,
            &[
                "-w",
                "5s",
                "--json",
                "backup",
                "odd",
                "--dir",
                dir.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(5), "{what}: {}", stderr(&out));
        let error = row(&json(&out), "odd")["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(error.contains(words), "{what}: {error}");
        std::thread::sleep(Duration::from_millis(100));
        let commands = device.commands();
        assert!(commands.len() < 10, "{what}: {} requests", commands.len());
        assert_eq!(
            commands.last(),
            Some(&("FileDownload".to_string(), "0".to_string())),
            "{what}: aborted on the device"
        );
        assert!(dumps(&dir).is_empty(), "{what}: no file");
    }
}

/// Ctrl-C in the middle of a transfer: exit 130, and the device's session is closed with
/// `FileDownload 0` before tasctl leaves.
#[test]
fn ctrl_c_mid_transfer_aborts_it_on_the_device() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let device = scripted(&broker, 1520, |n, data| {
        (n == 1).then(|| vec![json!({"Id": 7, "Data": b64(&data[..760])})])
    });
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "-w",
        "30s",
        "backup",
        "odd",
        "--dir",
    ])
    .arg(env.dir.path().join("b"));
    let running = crate::support::Running::spawn(cmd);
    running.wait_stderr("<- stat/odd/FILEDOWNLOAD {\"Id\":7,\"Data\"");
    running.interrupt();
    let (code, _, err) = running.finish();
    assert_eq!(code, Some(130), "{err}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        device.commands().last(),
        Some(&("FileDownload".to_string(), "0".to_string())),
        "{:?}",
        device.commands()
    );
}

/// The sidecar names the host the device reports; the device password never shows in `-v`;
/// `--keep` removes only tasctl's own older backups; a symlink planted at the next file's
/// name is replaced, never followed; an unwritable folder is found before any transfer.
#[test]
#[cfg(unix)]
fn backups_trust_neither_the_folder_nor_the_profile() {
    use std::os::unix::fs::PermissionsExt;
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    std::fs::write(env.profile(), profile(&env)).unwrap();
    let _sim = Sim::scenario(&broker, &env, FLEET);
    let dir = env.dir.path().join("backups");
    let folder = dir.join("A0B765000011");
    std::fs::create_dir_all(&folder).unwrap();
    // The user's own files, an older backup of tasctl's, and one of its names without sidecar.
    for name in [
        "0-first-config.dmp",
        "my-golden.dmp",
        "20200101T000000Z_plug_9.9.9.dmp",
    ] {
        std::fs::write(folder.join(name), "mine").unwrap();
    }
    std::fs::write(folder.join("20210101T000000Z_plug_14.3.0.dmp"), "old").unwrap();
    std::fs::write(folder.join("20210101T000000Z_plug_14.3.0.json"), "{}").unwrap();
    // Symlinks planted at the names the next seconds would give, pointing at a victim.
    let victim = env.dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for ahead in 0..6 {
        let stamp = chrono_stamp(now + ahead);
        for ext in ["dmp", "json"] {
            let _ = std::os::unix::fs::symlink(
                &victim,
                folder.join(format!("{stamp}_plug_14.3.0.{ext}")),
            );
        }
    }

    let out = tasctl(
        &env,
        &broker,
        &[
            "-v",
            "--json",
            "backup",
            "plug",
            "--keep",
            "1",
            "--dir",
            dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("plug-secret"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#""Password":"****""#),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let file = std::path::PathBuf::from(row(&json(&out), "plug")["file"].as_str().unwrap());
    let meta = std::fs::symlink_metadata(&file).unwrap();
    assert!(meta.is_file() && meta.permissions().mode() & 0o777 == 0o600);
    let sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(sidecar["hostname"], "tasmota-000011-0017", "{sidecar}");
    for kept in [
        "0-first-config.dmp",
        "my-golden.dmp",
        "20200101T000000Z_plug_9.9.9.dmp",
    ] {
        assert!(folder.join(kept).exists(), "{kept} was the user's");
    }
    assert!(!folder.join("20210101T000000Z_plug_14.3.0.dmp").exists());
    assert!(!folder.join("20210101T000000Z_plug_14.3.0.json").exists());

    // A folder that cannot be written: said before anything is asked of a device.
    let device = scripted(&broker, 1520, |_, _| None);
    let blocked = env.dir.path().join("a-file");
    std::fs::write(&blocked, "").unwrap();
    let out = tasctl(
        &env,
        &broker,
        &["backup", "odd", "--dir", blocked.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot write backups to"),
        "{}",
        stderr(&out)
    );
    assert!(device.commands().is_empty(), "{:?}", device.commands());
}

/// `yyyymmddThhmmssZ` for a Unix time, as backup names carry it.
fn chrono_stamp(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// `restore` takes a MAC folder, or several files as a glob gives them, and restores the
/// newest by the time in its name, saying which.
#[test]
fn restore_from_a_folder_or_a_glob_takes_the_newest() {
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
        &["--json", "backup", "plug", "--dir", dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let newest = std::path::PathBuf::from(row(&json(&out), "plug")["file"].as_str().unwrap());
    let folder = newest.parent().unwrap().to_path_buf();
    // Two older backups of the same device (the nightly `--keep 30` recipe keeps many).
    for old in [
        "20240101T000000Z_plug_14.3.0",
        "20250101T000000Z_plug_14.3.0",
    ] {
        std::fs::copy(&newest, folder.join(format!("{old}.dmp"))).unwrap();
        std::fs::copy(
            newest.with_extension("json"),
            folder.join(format!("{old}.json")),
        )
        .unwrap();
    }
    let out = tasctl(
        &env,
        &broker,
        &["--json", "restore", "plug", folder.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(row(&json(&out), "plug")["file"], newest.to_str().unwrap());
    assert!(
        stderr(&out).contains(&format!(
            "restoring {}, the newest of 3 backups",
            newest.display()
        )),
        "{}",
        stderr(&out)
    );
    // A glob: every file in the folder, sidecars included, in the shell's order.
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files.reverse();
    let mut args = vec!["--json", "restore", "plug"];
    args.extend(files.iter().map(String::as_str));
    let out = tasctl(&env, &broker, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(row(&json(&out), "plug")["file"], newest.to_str().unwrap());
    // Files whose age cannot be told: refused, naming one.
    let mine = env.dir.path().join("mine.dmp");
    std::fs::copy(&newest, &mine).unwrap();
    let out = tasctl(
        &env,
        &broker,
        &[
            "restore",
            "plug",
            mine.to_str().unwrap(),
            newest.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has no time in its name"),
        "{}",
        stderr(&out)
    );
}
