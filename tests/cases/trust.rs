//! Trust: nothing the user owns is lost, no input panics or hangs, secrets stay secret, and
//! what reaches a terminal or a JSON reader is safe. Each case was seen failing before.

use std::time::{Duration, Instant};

use crate::broker;
use crate::support::{
    Broker, Env, MuteBroker, Recorder, Running, Sim, json, publish, stderr, stdout,
};

/// A profile with `n` devices.
fn big_profile(n: usize) -> String {
    let mut text = String::from("# my devices\n[devices]\n");
    for i in 0..n {
        text.push_str(&format!("dev{i} = \"tasmota_{i:06X}\" # comment {i}\n"));
    }
    text
}

#[test]
fn concurrent_profile_writers_lose_nothing() {
    let env = Env::with_profile(&big_profile(2000));
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|who| {
            let mut commands: Vec<_> = (0..20)
                .map(|i| {
                    let mut cmd = env.command();
                    cmd.args([
                        "profile",
                        "add",
                        &format!("{who}{i}"),
                        &format!("t_{who}{i}"),
                    ]);
                    cmd
                })
                .collect();
            std::thread::spawn(move || {
                for cmd in &mut commands {
                    let out = cmd.output().unwrap();
                    assert!(out.status.success(), "{}", stderr(&out));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let text = env.read_profile();
    for who in ["a", "b"] {
        for i in 0..20 {
            assert!(
                text.contains(&format!("{who}{i} = \"t_{who}{i}\"")),
                "{who}{i} was lost"
            );
        }
    }
    assert!(text.contains("dev1999 = \"tasmota_0007CF\" # comment 1999"));
    assert!(text.starts_with("# my devices\n"));
}

#[test]
fn a_killed_writer_never_leaves_a_short_profile() {
    let env = Env::with_profile(&big_profile(3000));
    let whole = env.read_profile();
    for i in 0..25u64 {
        let mut child = env
            .command()
            .args(["profile", "add", &format!("k{i}"), &format!("t_k{i}")])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a different moment each time, from at once to after the write.
        std::thread::sleep(Duration::from_micros(i * 1500));
        let _ = child.kill();
        let _ = child.wait();
        let text = env.read_profile();
        assert!(
            text.len() >= whole.len() && text.starts_with(&whole[..whole.len() - 1]),
            "after kill {i} the profile is {} bytes, was {}",
            text.len(),
            whole.len()
        );
        let listed = env
            .tasctl()
            .args(["profile", "list", "--json"])
            .output()
            .unwrap();
        assert!(listed.status.success(), "{}", stderr(&listed));
    }
    let leftovers: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    // A kill between create and rename may leave a temporary file, never a damaged profile.
    assert!(leftovers.len() <= 25, "{leftovers:?}");
}

#[test]
#[cfg(unix)]
fn a_symlinked_profile_stays_a_link_and_odd_paths_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let dotfiles = env.dir.path().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::write(dotfiles.join("tasctl.toml"), "[devices]\nold = \"o\"\n").unwrap();
    std::fs::set_permissions(
        dotfiles.join("tasctl.toml"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::os::unix::fs::symlink("dotfiles/tasctl.toml", env.profile()).unwrap();
    let out = env
        .tasctl()
        .args(["profile", "add", "new", "n"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = std::fs::symlink_metadata(env.profile()).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    let real = std::fs::read_to_string(dotfiles.join("tasctl.toml")).unwrap();
    assert!(
        real.contains("old = \"o\"") && real.contains("new = \"n\""),
        "{real}"
    );
    let mode = std::fs::metadata(dotfiles.join("tasctl.toml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);

    // A new profile is private from its first byte.
    let fresh = Env::new();
    let path = fresh.dir.path().join("p.toml");
    let out = fresh
        .tasctl()
        .args([
            "--profile",
            path.to_str().unwrap(),
            "profile",
            "add",
            "x",
            "y",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    for odd in ["/dev/null", env.dir.path().to_str().unwrap()] {
        let out = Env::new()
            .tasctl()
            .args(["--profile", odd, "profile", "add", "x", "y"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{odd}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("not a regular file"),
            "{}",
            stderr(&out)
        );
        let out = Env::new()
            .tasctl()
            .args([
                "--profile",
                odd,
                "discover",
                "--save",
                "-b",
                "mqtt://127.0.0.1:1",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{odd}: {}", stderr(&out));
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn hostile_urls_never_panic_nor_show_the_password() {
    for url in [
        "alice:hunter2@mqtt://host",
        "mqtt://alice:hunter2@",
        "ftp://alice:hunter2@host",
        "mqtt://alice:hunter2@host:99999",
        "mqtt://alice:hunter2@[::1",
        "mqtt://alice:hunter2@host/path",
        ":@",
        "@@@:::",
    ] {
        for how in ["flag", "env"] {
            let mut cmd = Env::new().tasctl();
            if how == "flag" {
                cmd.args(["--broker", url]);
            } else {
                cmd.env("TASCTL_BROKER", url);
            }
            let out = cmd.args(["power", "on", "x"]).output().unwrap();
            let code = out.status.code();
            assert!(
                matches!(code, Some(1..=3)),
                "{url} ({how}): {code:?} {}",
                stderr(&out)
            );
            assert!(
                !stderr(&out).contains("hunter2") && !stdout(&out).contains("hunter2"),
                "{url}: {}",
                stderr(&out)
            );
            assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        }
    }
}

#[test]
fn secret_files_are_read_only_when_small_and_regular() {
    let env = Env::with_profile(
        "[broker]\nusername = \"u\"\npassword_file = \"/dev/zero\"\nurl = \"mqtt://127.0.0.1:1\"\n",
    );
    let started = Instant::now();
    let out = env.tasctl().args(["power", "on", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let env =
        Env::with_profile("[broker]\nurl = \"mqtts://127.0.0.1:1\"\nca_file = \"/dev/zero\"\n");
    let out = env.tasctl().args(["power", "on", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn wildcards_and_oversized_input_are_refused_before_publishing() {
    let broker = broker!();
    let recorder = Recorder::start(&broker, "#");
    let env = Env::new();
    // More than 1 MiB in all, in words the kernel passes (each under 128 KiB).
    let word = "x".repeat(100_000);
    let mut big_send = vec!["send", "dev", "Rule1", "--no-wait"];
    big_send.extend(std::iter::repeat_n(word.as_str(), 11));
    let mut big_wait = big_send.clone();
    big_wait.retain(|w| *w != "--no-wait");
    let long_target = "t".repeat(70_000);
    let cases: Vec<Vec<&str>> = vec![
        vec!["send", "dev", "Po+wer", "on"],
        vec!["send", "dev", "Po#wer"],
        big_send,
        big_wait,
        vec!["power", "on", &long_target],
        vec!["power", "on", "/"],
        vec!["power", "on", "a//b"],
        vec!["watch", "--session", "a b"],
        vec!["watch", "--session", &long_target],
    ];
    for args in cases {
        let started = Instant::now();
        let out = env
            .tasctl()
            .args(["--broker", &broker.url()])
            .args(&args)
            .output()
            .unwrap();
        let shown: Vec<&str> = args.iter().map(|a| &a[..a.len().min(20)]).collect();
        assert_eq!(out.status.code(), Some(1), "{shown:?}: {}", stderr(&out));
        assert!(started.elapsed() < Duration::from_secs(5), "{shown:?}");
    }
    let seen = recorder.drain();
    assert!(
        seen.iter().all(|m| !m.topic.starts_with("cmnd/")),
        "published: {:?}",
        seen.iter().map(|m| &m.topic).collect::<Vec<_>>()
    );
}

/// Starts `tasctl ARGS` against `url`, waits for its connection, presses Ctrl-C after
/// `after`, and returns the exit code and how long the exit took after the signal.
fn interrupt(url: &str, args: &[&str], after: Duration) -> (Option<i32>, Duration, String) {
    let env = Env::new();
    let mut cmd = env.command();
    cmd.args(["--broker", url, "-v"]).args(args);
    let running = Running::spawn(cmd);
    running.wait_stderr("connected to");
    std::thread::sleep(after);
    let pressed = Instant::now();
    running.interrupt();
    let (code, _, err) = running.finish();
    (code, pressed.elapsed(), err)
}

#[test]
fn a_broker_that_withholds_acks_is_bounded_and_ctrl_c_ends_it() {
    // No PUBACK: the goodbye waits at most the connect timeout, then exit 3.
    let mute = MuteBroker::start(true, false);
    let started = Instant::now();
    let out = Env::new()
        .tasctl()
        .args([
            "--broker",
            &mute.url(),
            "--qos",
            "1",
            "--connect-timeout",
            "1s",
        ])
        .args(["send", "dev", "Power", "on", "--no-wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not acknowledge"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(*mute.publishes.lock().unwrap(), 1);

    // No SUBACK: at most the connect timeout.
    let mute = MuteBroker::start(false, false);
    let started = Instant::now();
    let out = Env::new()
        .tasctl()
        .args(["--broker", &mute.url(), "--connect-timeout", "1s"])
        .args(["power", "on", "dev", "-w", "1m"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not acknowledge the subscription"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    // Ctrl-C while waiting for either: 130 within a second.
    let (code, took, err) = interrupt(
        &mute.url(),
        &["--connect-timeout", "1m", "power", "on", "dev"],
        Duration::from_millis(200),
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let mute = MuteBroker::start(true, false);
    let (code, took, err) = interrupt(
        &mute.url(),
        &[
            "--connect-timeout",
            "1m",
            "--qos",
            "1",
            "send",
            "dev",
            "Power",
            "--no-wait",
        ],
        Duration::from_millis(200),
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn watch_blocked_on_a_full_pipe_still_hears_ctrl_c() {
    let broker = broker!();
    let env = Env::new();
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "watch",
        "--topic",
        "flood/#",
    ]);
    let (running, stdout_pipe) = Running::spawn_raw(cmd);
    running.wait_stderr("tasctl: watching");
    // Fill the pipe nobody reads, then some.
    let payload = vec![b'x'; 64 * 1024];
    for i in 0..8 {
        publish(&broker, &format!("flood/{i}"), &payload, false);
    }
    std::thread::sleep(Duration::from_millis(300));
    let pressed = Instant::now();
    running.interrupt();
    let (code, _, err) = running.finish();
    assert_eq!(code, Some(0), "{err}");
    assert!(pressed.elapsed() < Duration::from_millis(1500));
    drop(stdout_pipe);
}

#[test]
fn device_strings_reach_the_terminal_escaped() {
    let broker = broker!();
    let env = Env::new();
    let sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"evil\"\nFriendlyName = [\"\\u001b]0;pwned\\u0007\"]\nDeviceName = \"\\u001b[2J\"\n",
    );
    let watch = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "watch",
            "-n",
            "1",
            "--prefix",
            "tele",
        ])
        .args(["--only", "LWT"])
        .output()
        .unwrap();
    assert!(watch.status.success(), "{}", stderr(&watch));
    let discovered = env
        .tasctl()
        .args(["--broker", &broker.url(), "discover"])
        .output()
        .unwrap();
    publish(
        &broker,
        "stat/evil/RESULT",
        b"{\"x\":\"\x1b[31mred\"}",
        true,
    );
    let watched = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "watch",
            "--topic",
            "stat/evil/RESULT",
            "--for",
            "300ms",
        ])
        .output()
        .unwrap();
    let sent = env
        .tasctl()
        .args(["--broker", &broker.url(), "send", "evil", "FriendlyName1"])
        .output()
        .unwrap();
    for out in [&discovered, &sent, &watched] {
        assert!(out.status.success(), "{}", stderr(out));
        assert!(
            !stdout(out).contains('\u{1b}'),
            "raw ESC in {:?}",
            stdout(out)
        );
        assert!(
            !stdout(out).contains('\u{7}'),
            "raw BEL in {:?}",
            stdout(out)
        );
    }
    // A JSON reply is shown as compact JSON, whose escapes are already harmless.
    assert!(
        stdout(&sent).contains(r"\u001b]0;pwned\u0007"),
        "{}",
        stdout(&sent)
    );
    assert!(
        stdout(&watched).contains(r"\e[31mred"),
        "{}",
        stdout(&watched)
    );
    drop(sim);
}

#[test]
fn every_json_line_is_valid_with_the_device_s_digits() {
    let broker = broker!();
    let env = Env::new();
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "--json",
        "watch",
        "--topic",
        "odd/#",
        "-n",
        "3",
    ]);
    let running = Running::spawn(cmd);
    running.wait_stderr("tasctl: watching");
    publish(&broker, "odd/1", br#"{"s":"\ud800"}"#, false);
    publish(
        &broker,
        "odd/2",
        b"{\n  \"n\": 123456789012345678901234567890,\n  \"f\": 45.0\n}",
        false,
    );
    publish(&broker, "odd/3", b"\xff\xfe", false);
    let lines: Vec<String> = (0..3).map(|_| running.line()).collect();
    let (code, _, err) = running.finish();
    assert_eq!(code, Some(0), "{err}");
    for line in &lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(parsed.is_object());
    }
    assert!(
        lines[0].contains(r#""payload":"{\"s\":\"\\ud800\"}""#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(r#""payload":{"n":123456789012345678901234567890,"f":45.0}"#),
        "{}",
        lines[1]
    );
    if crate::support::tool_available("jq") {
        use std::io::Write;
        let mut jq = std::process::Command::new("jq")
            .args(["-c", "."])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("jq runs");
        jq.stdin
            .take()
            .unwrap()
            .write_all(lines.join("\n").as_bytes())
            .unwrap();
        let out = jq.wait_with_output().unwrap();
        assert!(out.status.success(), "jq refused a line");
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    }
}

#[test]
fn one_malformed_discovery_config_does_not_stop_the_others_being_saved() {
    let broker = broker!();
    let good = r#"{"ip":"10.0.0.2","dn":"Good","fn":["Good Plug"],"hn":"good","mac":"A0B765000001","md":"Plug","t":"good_plug","ft":"%prefix%/%topic%/","tp":["cmnd","stat","tele"],"rl":[1],"sw":"13.1.0"}"#;
    publish(
        &broker,
        "tasmota/discovery/A0B765000001/config",
        good.as_bytes(),
        true,
    );
    for (mac, body) in [
        ("ab", r#"{"t":"short_mac"}"#),
        ("A0B765000002", r#"{"t":"","mac":"A0B765000002"}"#),
        ("A0B765000003", r#"{"t":"evil+topic","mac":"A0B765000003"}"#),
        (
            "A0B765000004",
            r#"{"t":"needs_host","ft":"%prefix%/%hostname%/","mac":"A0B765000004"}"#,
        ),
        ("A0B765000005", "not json"),
    ] {
        publish(
            &broker,
            &format!("tasmota/discovery/{mac}/config"),
            body.as_bytes(),
            true,
        );
    }
    let env = Env::with_profile("");
    let out = env
        .tasctl()
        .args(["--broker", &broker.url(), "discover", "--save"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = env.read_profile();
    assert!(
        text.contains("good-plug = { topic = \"good_plug\""),
        "{text}"
    );
    assert!(
        !text.contains("evil") && !text.contains("needs_host"),
        "{text}"
    );
    assert!(stderr(&out).contains("needs_host"), "{}", stderr(&out));
}

#[test]
fn bad_profiles_are_refused_where_they_are_wrong() {
    for (text, line, words) in [
        (
            "[devices]\nx = { fallback = \"\" }\n",
            2,
            "may not be empty",
        ),
        ("[defaults]\ngroup_topic = \"\"\n", 2, "group_topic"),
        ("[defaults]\nfull_topic = \"\"\n", 2, "no FullTopic"),
        (
            "[devices]\nx = { topic = \"t\", full_topic = \"/\" }\n",
            2,
            "no FullTopic",
        ),
        (
            "[devices]\nx = { topic = \"t\", hostname = \"a+b\" }\n",
            2,
            "wildcard",
        ),
        (
            "[devices]\nx = \"t\"\n[groups]\nx = [\"x\"]\n",
            4,
            "same name",
        ),
        (
            "[groups]\ng = { group_topic = \"\" }\n",
            2,
            "may not be empty",
        ),
    ] {
        let env = Env::with_profile(text);
        let out = env.tasctl().args(["profile", "list"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = stderr(&out);
        let at = format!("profile.toml:{line}:");
        assert!(err.contains(&at) && err.contains(words), "{text:?}: {err}");
    }
}

#[test]
fn bad_scenarios_are_refused() {
    let broker = broker!();
    let env = Env::new();
    for (text, words) in [
        (
            "[[device]]\nMac = \"A0B765000001\"\n[[device]]\nMac = \"a0:b7:65:00:00:01\"\nTopic = \"x\"\n",
            "both have the Mac",
        ),
        (
            "[[device]]\nMqttClient = \"c\"\n[[device]]\nMqttClient = \"c\"\nTopic = \"x\"\n",
            "both have the MqttClient",
        ),
        ("[[device]]\nTopic = \"\"\n", "Topic may not be empty"),
    ] {
        let path = env.dir.path().join("s.toml");
        std::fs::write(&path, text).unwrap();
        let out = env
            .tasctl()
            .args(["--broker", &broker.url(), "simulate", "--scenario"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(stderr(&out).contains(words), "{}", stderr(&out));
    }
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "simulate",
            "--devices",
            "18446744073709551615",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn the_simulator_survives_group_topic_0_and_a_stolen_client_id() {
    let broker = broker!();
    let env = Env::new();
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"one\"\nMqttClient = \"victim\"\n[[device]]\nTopic = \"two\"\n",
    );
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "--json",
            "send",
            "one",
            "GroupTopic0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    // Another client takes the device's client id: the broker kicks the device off.
    let lwt = crate::support::Recorder::start(&broker, "tele/one/LWT");
    let mut options = rumqttc::MqttOptions::new("victim", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut connection) = rumqttc::Client::new(options, 10);
    for event in connection.iter() {
        if matches!(
            event,
            Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)))
        ) {
            break;
        }
    }
    let _ = client.disconnect();
    for event in connection.iter() {
        if event.is_err() {
            break;
        }
    }
    // The kicked device says Offline (its will), then Online once it has reconnected.
    let mut kicked = false;
    loop {
        let seen = lwt.wait_for("tele/one/LWT");
        match (seen.payload.as_slice(), kicked) {
            (b"Offline", _) => kicked = true,
            (b"Online", true) => break,
            _ => {}
        }
    }
    // Both devices still answer: the kicked one has reconnected, the other never noticed.
    let out = env
        .tasctl()
        .args([
            "--broker",
            &broker.url(),
            "--json",
            "-w",
            "5s",
            "power",
            "on",
            "one",
            "two",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report.as_array().unwrap().len(), 2);
}

#[test]
fn colour_rules_follow_no_color_org() {
    let env = Env::with_profile("[devices]\nx = \"t\"\n");
    let coloured = |vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tasctl"));
        cmd.env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            .env("TASCTL_PROFILE", env.profile())
            .args(["profile", "list"]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        stdout(&cmd.output().unwrap()).contains('\u{1b}')
    };
    assert!(coloured(&[("CLICOLOR_FORCE", "1")]));
    assert!(
        coloured(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]),
        "an empty NO_COLOR counts as unset"
    );
    assert!(!coloured(&[("NO_COLOR", "1")]));
    assert!(!coloured(&[]), "not a terminal");
}

#[test]
fn zero_durations_are_refused() {
    for args in [
        ["--connect-timeout", "0", "power", "on", "x"],
        ["-w", "0", "power", "on", "x"],
        ["-w", "0ms", "power", "on", "x"],
    ] {
        let out = Env::new().tasctl().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("no time at all"), "{}", stderr(&out));
    }
}

#[test]
fn a_broker_that_vanishes_during_a_wait_is_not_a_panic() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "--qos",
        "1",
        "status",
        "nobody",
        "-w",
        "30s",
    ]);
    let running = Running::spawn(cmd);
    running.wait_stderr("connected to");
    broker.stop();
    let (code, _, err) = running.finish();
    assert_eq!(code, Some(3), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
