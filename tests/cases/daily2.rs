//! Daily use, part 2 (issue 28): errors that say what to do next, words in their number,
//! usage contradictions as usage errors, and recipes that work as written.

use crate::support::{Broker, Env, Sim, stderr, stdout};

#[test]
fn usage_contradictions_are_usage_errors() {
    let env = Env::new();
    for (args, words) in [
        (&["send", "dev"][..], "needs a TARGET and a COMMAND"),
        (
            &["read", "x", "--format", "table", "--json"][..],
            "contradict",
        ),
        (&["--json", "top"][..], "prints no JSON"),
    ] {
        let out = env.tasctl().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(words), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("Usage: tasctl"), "{}", stderr(&out));
    }
    // --json with the JSON format agrees with itself.
    let out = env
        .tasctl()
        .args(["read", "x", "--format", "json", "--json", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn counts_take_the_word_in_its_number() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("one.toml"),
        "[[device]]\nTopic = \"solo\"\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tasctl"))
        .args([
            "--color",
            "never",
            "--broker",
            &broker.url(),
            "simulate",
            "--scenario",
        ])
        .arg(env.dir.path().join("one.toml"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = crate::support::lines_of(child.stdout.take().unwrap());
    let first = lines
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.starts_with("simulating 1 device on "), "{first}");
    // A failed upgrade of one device: "1 device not upgraded".
    let _sim = Sim::scenario(&broker, &env, "[[device]]\nTopic = \"plug\"\nOta = false\n");
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "upgrade",
            "plug",
            "--url",
            "http://127.0.0.1:9/x.bin",
        ])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("1 device not upgraded"), "{text}");
    assert!(!text.contains("device(s)"), "{text}");
}

#[test]
fn upgrade_takes_listen_as_simulate_does() {
    let env = Env::new();
    let image = env.dir.path().join("image.bin");
    std::fs::write(&image, "TASMOTA-SIM 14.5.0\n").unwrap();
    let out = env
        .tasctl()
        .args(["upgrade", "tasmota_123456", "--dry-run", "--serve"])
        .arg(&image)
        .args(["--listen", "127.0.0.1:18266"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("http://127.0.0.1:18266/"),
        "{}",
        stdout(&out)
    );
}

/// A server on a loopback port that answers every connection with `banner` (and reads what
/// comes), like a web server or an SSH daemon where a broker was expected.
fn fake_server(banner: &'static [u8], close: bool) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.write_all(banner);
                let mut buf = [0u8; 512];
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(300)));
                let _ = stream.read(&mut buf);
                if !close {
                    std::thread::sleep(std::time::Duration::from_secs(10));
                }
            });
        }
    });
    port
}

#[test]
fn a_port_that_does_not_speak_mqtt_is_named_so() {
    let env = Env::new();
    for (banner, close) in [
        (
            &b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..],
            true,
        ),
        (&b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"[..], false),
        (&b""[..], true),
    ] {
        let port = fake_server(banner, close);
        let started = std::time::Instant::now();
        let out = env
            .tasctl()
            .args([
                "--broker",
                &format!("mqtt://127.0.0.1:{port}"),
                "power",
                "on",
                "x",
            ])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("not an MQTT broker"), "{err}");
        assert!(err.contains("check the host and the port"), "{err}");
        for internal in [
            "Mqtt state",
            "serialization",
            "ConnAck",
            "PubAck",
            "Io error",
        ] {
            assert!(!err.contains(internal), "{internal} in {err}");
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(6),
            "within the connect timeout"
        );
    }
}

#[test]
fn a_mistyped_broker_name_gets_the_nearest_one() {
    let env = Env::with_profile("[brokers.cabin]\nurl = \"mqtt://127.0.0.1:9\"\n");
    for (args, vars) in [
        (&["-b", "cabn", "power", "on", "x"][..], &[][..]),
        (&["power", "on", "x"][..], &[("TASCTL_BROKER", "cabn")][..]),
    ] {
        let mut cmd = env.tasctl();
        cmd.args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let started = std::time::Instant::now();
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("did you mean `cabin`?"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("mqtt://cabn"), "{}", stderr(&out));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "no lookup was tried"
        );
    }
    // The name itself selects it (here: nothing listens, exit 3).
    let out = env
        .tasctl()
        .args(["-b", "cabin", "power", "on", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("127.0.0.1:9"), "{}", stderr(&out));
}

#[test]
fn simulate_without_a_broker_prints_no_devices_and_points_to_embedded() {
    let env = Env::new();
    let port = crate::support::free_port();
    let out = env
        .tasctl()
        .args(["-b", &format!("mqtt://127.0.0.1:{port}"), "simulate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "",
        "no device table before the devices are on a broker"
    );
    assert!(
        stderr(&out).contains("tasctl simulate --embedded"),
        "{}",
        stderr(&out)
    );
}

/// The README's crontab, run as cron runs it: `env -i` with only HOME and the crontab's PATH,
/// no TASCTL_BROKER, after a `discover --save` that was given the broker by the environment.
#[test]
fn the_readme_crontab_works_as_written() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"plug\"\nSensor = \"ENERGY\"\n",
    );
    let home = env.dir.path();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tasctl"))
        .args(["discover", "--save"])
        .env_clear()
        .env("HOME", home)
        .env("TASCTL_BROKER", broker.url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("[broker] url"), "{}", stderr(&out));

    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let recipes = &readme[readme.find("## Recipes").unwrap()..];
    let block = &recipes[recipes.find("```sh\n").unwrap() + 6..];
    let block = &block[..block.find("```").unwrap()];
    let path = block
        .lines()
        .find_map(|l| l.strip_prefix("PATH="))
        .expect("the crontab sets PATH")
        .replace("/home/me", &home.display().to_string());
    let job = block
        .lines()
        .find(|l| l.contains("--format prom"))
        .expect("the Prometheus job");
    // The five schedule fields, then the command.
    let command: String = job.split_whitespace().skip(5).collect::<Vec<_>>().join(" ");
    let target = home.join("tasmota.prom");
    let command = command.replace(
        "/var/lib/node_exporter/textfile/tasmota.prom",
        &target.display().to_string(),
    );
    // tasctl where `cargo install` puts it.
    let bin = home.join(".cargo/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin!("tasctl"), bin.join("tasctl"))
        .unwrap();
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &command])
        .env_clear()
        .env("HOME", home)
        .env("PATH", &path)
        .env("SHELL", "/bin/sh")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "`{command}` with PATH={path}: {}",
        stderr(&out)
    );
    let prom = std::fs::read_to_string(&target).unwrap();
    assert!(prom.contains("tasmota_up{"), "{prom}");
    assert!(prom.contains("tasmota_power_watts"), "{prom}");
}

/// The runner's summary, from the records the tests write: one line per missing tool, with
/// how many tests skipped checks for it.
#[test]
fn skipped_checks_are_summed_up_once_in_words() {
    let env = Env::new();
    let records = env.dir.path().join("records");
    let mut text = String::new();
    for (what, how, test) in [
        ("aedes", "run `npm ci --prefix tests/aedes`", "cases::a"),
        ("aedes", "run `npm ci --prefix tests/aedes`", "cases::b"),
        ("aedes", "run `npm ci --prefix tests/aedes`", "cases::b"),
        ("promtool", "install promtool", "cases::c"),
    ] {
        text.push_str(&crate::support::skip_line(what, how, test));
    }
    std::fs::write(&records, text).unwrap();
    // A stand-in for a test binary: it appends the records to the file the runner names.
    let script = format!("cat {} >> \"$TASCTL_SKIPS\"; exit 7", records.display());
    let out =
        std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/report-skips"))
            .args(["sh", "-c", &script])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(7), "the binary's exit code is kept");
    let err = stderr(&out);
    assert!(err.contains("note: 2 tests skipped checks because aedes is missing: run `npm ci --prefix tests/aedes`."), "{err}");
    assert!(
        err.contains("note: 1 test skipped checks because promtool is missing"),
        "{err}"
    );
    assert_eq!(err.matches("aedes is missing").count(), 1, "{err}");
    // Nothing skipped: nothing said.
    let out =
        std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/report-skips"))
            .arg("true")
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
}

/// A failed sensor writes a bare `nan` (not JSON): the device still answered, and `status`
/// says so instead of calling it silent.
#[test]
fn a_status_reply_with_nan_is_still_an_answer() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let _device = crate::support::ScriptedDevice::start(&broker, "bath", |name, _| {
        if name.eq_ignore_ascii_case("status") {
            vec![(
                "stat/bath/STATUS10".to_string(),
                br#"{"StatusSNS":{"Time":"2026-12-05T01:00:00","SI7021":{"Temperature":nan,"Humidity":nan},"TempUnit":"C"}}"#.to_vec(),
            )]
        } else {
            Vec::new()
        }
    });
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "-w",
            "1s",
            "status",
            "bath",
            "--section",
            "10",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report = crate::support::json(&out);
    assert_eq!(report[0]["ok"], true, "{report}");
}
