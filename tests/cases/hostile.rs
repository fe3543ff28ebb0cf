//! Hostile files, devices and clients: what is not a regular file is refused at once, never
//! read until memory runs out; the image server outlasts idle connections; a URL the firmware
//! would cut is refused before anything is sent.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::support::{Broker, Env, ScriptedDevice, Sim, json, row, stderr};

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Runs tasctl with `args` (and `envs`); a run that blocks is killed after 10 s and fails.
fn quick(env: &Env, envs: &[(&str, &Path)], args: &[&str]) -> std::process::Output {
    let mut cmd = env.tasctl();
    cmd.timeout(Duration::from_secs(10));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.args(args).output().unwrap()
}

fn refused(out: &std::process::Output, words: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(stderr(out).contains(words), "`{words}` in {}", stderr(out));
}

#[test]
#[cfg(unix)]
fn files_that_are_not_files_are_refused_at_once() {
    let env = Env::new();
    let dir = env.dir.path();
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let nowhere = "mqtt://127.0.0.1:9";

    // A profile that is a FIFO.
    let out = quick(
        &env,
        &[("TASCTL_PROFILE", &fifo)],
        &["power", "on", "x", "--dry-run"],
    );
    refused(&out, "not a regular file");

    // A password file and a device password file that are FIFOs (even for a dry run).
    let profile = dir.join("p.toml");
    std::fs::write(
        &profile,
        format!("[broker]\nurl = \"{nowhere}\"\nusername = \"u\"\npassword_file = {fifo:?}\n"),
    )
    .unwrap();
    let out = quick(&env, &[("TASCTL_PROFILE", &profile)], &["power", "on", "x"]);
    refused(&out, "not a regular file");
    let out = quick(
        &env,
        &[],
        &[
            "-b",
            nowhere,
            "backup",
            "x",
            "--dry-run",
            "--device-password-file",
            fifo.to_str().unwrap(),
        ],
    );
    refused(&out, "not a regular file");

    // A settings file that is a FIFO, or /dev/zero.
    let out = quick(
        &env,
        &[],
        &["-b", nowhere, "restore", "x", fifo.to_str().unwrap()],
    );
    refused(&out, "not a regular file");
    let out = quick(&env, &[], &["-b", nowhere, "restore", "x", "/dev/zero"]);
    refused(&out, "not a regular file");

    // An image that is /dev/zero or a FIFO, found before connecting.
    for image in [Path::new("/dev/zero"), fifo.as_path()] {
        let out = quick(
            &env,
            &[],
            &[
                "-b",
                nowhere,
                "upgrade",
                "x",
                "--serve",
                image.to_str().unwrap(),
            ],
        );
        refused(&out, "not a regular file");
    }

    // A scenario that is a FIFO.
    let out = quick(
        &env,
        &[],
        &[
            "-b",
            nowhere,
            "simulate",
            "--scenario",
            fifo.to_str().unwrap(),
        ],
    );
    refused(&out, "not a regular file");
}

/// A sidecar that is a FIFO or a link to /dev/zero: refused, never read.
#[test]
#[cfg(unix)]
fn a_sidecar_that_is_not_a_file_is_refused() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile("[devices]\nplug = { topic = \"plug\" }\n");
    let _sim = Sim::scenario(&broker, &env, "[[device]]\nTopic = \"plug\"\n");
    let dir = env.dir.path().join("b");
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "--json",
            "backup",
            "plug",
            "--dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = std::path::PathBuf::from(row(&json(&out), "plug")["file"].as_str().unwrap());
    let sidecar = file.with_extension("json");
    std::fs::remove_file(&sidecar).unwrap();
    mkfifo(&sidecar);
    let out = quick(
        &env,
        &[],
        &[
            "--broker",
            &broker.url(),
            "restore",
            "plug",
            file.to_str().unwrap(),
        ],
    );
    refused(&out, "not a regular file");
    std::fs::remove_file(&sidecar).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &sidecar).unwrap();
    let out = quick(
        &env,
        &[],
        &[
            "--broker",
            &broker.url(),
            "restore",
            "plug",
            file.to_str().unwrap(),
        ],
    );
    refused(&out, "not a regular file");
}

/// An image whose URL would be cut by the firmware's 100-character OtaUrl: refused before
/// anything is published.
#[test]
fn an_image_url_the_firmware_would_cut_is_refused_first() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let device = ScriptedDevice::start(&broker, "dev", |_, _| Vec::new());
    let image = env
        .dir
        .path()
        .join(format!("tasmota-{}.bin", "x".repeat(100)));
    std::fs::write(&image, "TASMOTA-SIM 15.0.0\n").unwrap();
    let out = quick(
        &env,
        &[],
        &[
            "--broker",
            &broker.url(),
            "upgrade",
            "dev",
            "--serve",
            image.to_str().unwrap(),
        ],
    );
    refused(&out, "OtaUrl holds 100");
    std::thread::sleep(Duration::from_millis(100));
    assert!(device.commands().is_empty(), "{:?}", device.commands());
}

/// The built-in image server under a crowd of idle connections and a descriptor limit: a
/// device's GET (with bare LF line ends) still gets the whole image.
#[test]
#[cfg(unix)]
fn the_image_server_outlasts_idle_connections() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let _silent = ScriptedDevice::start(&broker, "dev", |_, _| Vec::new());
    let image = env.dir.path().join("fw.bin");
    let body = format!("TASMOTA-SIM 15.0.0\n{}", "y".repeat(100_000));
    std::fs::write(&image, &body).unwrap();
    let port = crate::support::free_port();
    let mut cmd = std::process::Command::new("sh");
    let tasctl = env.command();
    let program = tasctl.get_program().to_owned();
    cmd.arg("-c")
        .arg("ulimit -n 128 && exec \"$@\"")
        .arg("sh")
        .arg(program)
        .args(tasctl.get_args())
        .args([
            "--broker",
            &broker.url(),
            "-v",
            "-w",
            "60s",
            "upgrade",
            "dev",
            "--serve",
        ])
        .arg(&image)
        .args(["--serve-address", &format!("127.0.0.1:{port}")]);
    for (k, v) in tasctl.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let running = crate::support::Running::spawn(cmd);
    running.wait_stderr("serving");
    let idle: Vec<std::net::TcpStream> = (0..150)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(idle.len() >= 100, "{} idle connections", idle.len());
    let mut device = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    device
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    device
        .write_all(b"GET /fw.bin HTTP/1.0\nHost: x\n\n")
        .unwrap();
    let mut answer = Vec::new();
    device.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 200 OK"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(
        text.ends_with(&body),
        "the whole image: {} bytes",
        answer.len()
    );
    drop(idle);
    running.interrupt();
    let _ = running.finish();
}

/// What the first version's hostile cases left open: an empty group, a huge line in an error,
/// scenarios the firmware could not run, a reply too large for any broker, a device whose
/// Topic holds a wildcard.
#[test]
fn the_last_hostile_cases_of_the_first_version() {
    let env = Env::new();
    let nowhere = "mqtt://127.0.0.1:9";
    let profile = env.dir.path().join("p.toml");
    // An empty list group targets nothing: refused at load.
    std::fs::write(&profile, "[devices]\na = \"a\"\n[groups]\ng = []\n").unwrap();
    let out = quick(
        &env,
        &[("TASCTL_PROFILE", &profile)],
        &["power", "on", "a", "--dry-run"],
    );
    refused(&out, "lists no devices");
    // A 10 MB key in an error: the message stays short.
    let mut text = String::from("[broker]\n");
    text.push_str(&"x".repeat(10_000_000));
    text.push_str(" = 1\n");
    std::fs::write(&profile, text).unwrap();
    let out = quick(
        &env,
        &[("TASCTL_PROFILE", &profile)],
        &["power", "on", "a", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.len() < 5_000,
        "{} bytes of error",
        out.stderr.len()
    );
    // Scenarios the firmware could not run: refused before anything starts.
    for (scenario, words) in [
        (
            "[[device]]\nTopic = \"a\"\nFullTopic = \"%prefix%/%bogus%/\"\n",
            "no token `%bogus%`",
        ),
        (
            "[[device]]\nTopic = \"a\"\nHostname = \"x+y\"\n",
            "Hostname `x+y`",
        ),
    ] {
        let path = env.dir.path().join("s.toml");
        std::fs::write(&path, scenario).unwrap();
        let out = quick(
            &env,
            &[],
            &[
                "-b",
                nowhere,
                "simulate",
                "--scenario",
                path.to_str().unwrap(),
            ],
        );
        refused(&out, words);
    }
}

#[test]
fn a_reply_too_large_or_a_wildcard_topic_harms_nobody_else() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    // A 1.1 MB DeviceName makes its discovery message larger than any broker takes: that
    // message is left out, the simulator and the other device go on.
    let _sim = Sim::scenario(
        &broker,
        &env,
        &format!(
            "[[device]]\nTopic = \"huge\"\nDeviceName = \"{}\"\n[[device]]\nTopic = \"fine\"\n",
            "n".repeat(1_100_000)
        ),
    );
    for device in ["huge", "fine"] {
        let out = quick(
            &env,
            &[],
            &["--broker", &broker.url(), "--json", "power", "on", device],
        );
        assert_eq!(out.status.code(), Some(0), "{device}: {}", stderr(&out));
    }
    // A device that reports Topic `evil+topic` is skipped by discover, and said so.
    crate::support::publish(
        &broker,
        "tasmota/discovery/A0B7650000EE/config",
        br#"{"t":"evil+topic","mac":"A0B7650000EE","ft":"%prefix%/%topic%/","tp":["cmnd","stat","tele"],"dn":"Evil"}"#,
        true,
    );
    let out = quick(
        &env,
        &[],
        &["--broker", &broker.url(), "--json", "-w", "1s", "discover"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found = json(&out);
    assert!(
        !found
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["topic"] == "evil+topic"),
        "{found:#}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("skipping") && err.contains("evil+topic"),
        "{err}"
    );
}
