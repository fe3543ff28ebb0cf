//! Authentication against a mosquitto that lets no one in without a password: each source of
//! the password works, refusals say why (exit 3), and the password never shows.

use std::io::Write;
use std::time::Duration;

use crate::support::{Broker, Env, stderr, stdout};

const SECRET: &str = "s3cr3t@Pa55";

/// A broker with a password file made by mosquitto_passwd and no anonymous access.
fn locked_broker() -> Option<(Broker, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passwd");
    let made = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&file)
        .args(["ev3", SECRET])
        .status();
    match made {
        Ok(s) if s.success() => {}
        _ if std::env::var_os("CI").is_some() => {
            panic!("mosquitto_passwd is needed (it comes with the mosquitto package)")
        }
        _ => {
            crate::support::skipped("mosquitto_passwd", "it comes with mosquitto");
            return None;
        }
    }
    let broker = Broker::start_with(&format!(
        "allow_anonymous false\npassword_file {}",
        file.display()
    ))?;
    Some((broker, dir))
}

/// Runs tasctl against the broker; the command publishes to a silent topic, so a connection
/// that got through ends with exit 4 (no answer), one that did not with exit 3.
fn run(broker: &Broker, env: &Env, extra: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = env.tasctl();
    cmd.args(["--broker", &broker.url(), "-v", "-w", "100ms"])
        .args(extra)
        .args(["power", "on", "nobody"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(SECRET), "the password leaked:\n{all}");
    out
}

#[test]
fn every_password_source_and_every_refusal() {
    let Some((broker, _passwords)) = locked_broker() else {
        return;
    };
    let env = Env::new();
    // the environment
    let out = run(
        &broker,
        &env,
        &["-u", "ev3"],
        &[("TASCTL_PASSWORD", SECRET)],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // the URL, where the password's `@` is written `%40`
    let encoded = SECRET.replace('@', "%40");
    let url = format!("mqtt://ev3:{encoded}@127.0.0.1:{}", broker.port);
    let out = env
        .tasctl()
        .args([
            "--broker", &url, "-v", "-w", "100ms", "power", "on", "nobody",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(SECRET) && !all.contains(&encoded), "{all}");
    // a password file named by the profile
    let pw = env.dir.path().join("pw");
    std::fs::write(&pw, format!("{SECRET}\n")).unwrap();
    let profiled = Env::with_profile(&format!(
        "[broker]\nusername = \"ev3\"\npassword_file = {:?}\n",
        pw.display().to_string()
    ));
    let out = run(&broker, &profiled, &[], &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));

    // refusals, with the reason in words
    let out = run(
        &broker,
        &env,
        &["-u", "ev3"],
        &[("TASCTL_PASSWORD", "wrong")],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out)
            .contains("refused the connection: not authorised: a wrong user name or password"),
        "{}",
        stderr(&out)
    );
    // a user name and no password, with no terminal to ask on: said so, and how to give one
    let out = run(&broker, &env, &["-u", "ev3"], &[]);
    assert_eq!(out.status.code(), Some(3));
    for words in [
        "no password was given",
        "TASCTL_PASSWORD",
        "password_file",
        "-P",
    ] {
        assert!(stderr(&out).contains(words), "{words}: {}", stderr(&out));
    }
    let out = run(&broker, &env, &[], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("it wants a user name and password"),
        "{}",
        stderr(&out)
    );
    // a password file that is not there is a local failure
    let missing =
        Env::with_profile("[broker]\nusername = \"ev3\"\npassword_file = \"/nonexistent/pw\"\n");
    let out = run(&broker, &missing, &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read the password file /nonexistent/pw"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_profile_password_others_can_read_is_warned_about() {
    let env = Env::with_profile(&format!(
        "[broker]\npassword = \"{SECRET}\"\nusername = \"ev3\"\n"
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(env.profile(), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let port = crate::support::free_port();
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
    if cfg!(unix) {
        assert!(
            err.contains("holds a password and others can read it") && err.contains("chmod 600"),
            "{err}"
        );
    }
    assert!(!err.contains(SECRET), "{err}");

    // A password inside a URL, in `[broker]` or a named broker, counts too; so does a
    // `discover --save` that would write to such a profile.
    #[cfg(unix)]
    for text in [
        format!("[broker]\nurl = \"mqtt://ev3:{SECRET}@127.0.0.1:9\"\n"),
        format!("[brokers.cabin]\nurl = \"mqtt://ev3:{SECRET}@127.0.0.1:9\"\n"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(env.profile(), &text).unwrap();
        std::fs::set_permissions(env.profile(), std::fs::Permissions::from_mode(0o644)).unwrap();
        for args in [
            &["power", "on", "x"][..],
            &["discover", "--save", "-w", "200ms"][..],
        ] {
            let out = env
                .tasctl()
                .args(["--broker", &format!("mqtt://127.0.0.1:{port}")])
                .args(args)
                .output()
                .unwrap();
            let err = stderr(&out);
            assert!(
                err.contains("holds a password and others can read it"),
                "{args:?} {text}: {err}"
            );
            assert!(!err.contains(SECRET), "{err}");
        }
    }
}

#[test]
fn the_password_is_asked_on_a_terminal_and_never_elsewhere() {
    let Some((broker, _dir)) = locked_broker() else {
        return;
    };
    if !crate::support::tool_available("script") {
        return;
    }
    // Not a terminal: no prompt, the broker refuses (3).
    let env = Env::new();
    let out = env
        .tasctl()
        .args(["--broker", &broker.url(), "-u", "ev3", "publish", "t", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // A terminal (a pseudo-terminal by `script`): asked without echo, then accepted.
    let command = format!(
        "exec {} --color never --broker {} -u ev3 publish t x",
        assert_cmd::cargo::cargo_bin!("tasctl").display(),
        broker.url()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qfc", &command, "/dev/null"])
        .env_remove("TASCTL_PASSWORD")
        .env("HOME", env.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 1024];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut chunk) {
            if n == 0 {
                break;
            }
            keep.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    // Type the password only once it is asked for (echo is off by then).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains("Password for") {
        assert!(std::time::Instant::now() < deadline, "no prompt");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    use std::io::Write;
    stdin.write_all(format!("{SECRET}\n").as_bytes()).unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(status.success(), "{text}");
    assert!(text.contains("Password for ev3 at"), "{text}");
    assert!(text.contains("published 1 bytes to t"), "{text}");
    assert!(!text.contains(SECRET), "no echo: {text}");
}

/// The password prompt under a real pseudo-terminal: after Ctrl-C typed at it, SIGINT, SIGTERM
/// or SIGHUP, the run ends with 130 within a second and the terminal has echo and line mode
/// back; a run asks once, and a dry run not at all.
#[test]
#[cfg(unix)]
fn the_password_prompt_gives_the_terminal_back() {
    if !crate::support::tool_available("script") {
        return;
    }
    let tasctl = assert_cmd::cargo::cargo_bin!("tasctl")
        .display()
        .to_string();
    let env = Env::new();
    let dir = env.dir.path().display().to_string();
    std::fs::write(env.dir.path().join("empty.toml"), "").unwrap();
    // Runs `args` under a pseudo-terminal, then reports its exit code and the terminal modes;
    // what the terminal shows is read as bytes (the prompt ends in no line feed).
    let run = |marker: &str, args: &str| {
        let shell = format!(
            "cd {dir}; {tasctl} --color never -b mqtt://127.0.0.1:9 -u {marker} {args}; echo \"rc=$?\"; stty -a"
        );
        let mut child = std::process::Command::new("script")
            .args(["-qfc", &shell, "/dev/null"])
            .env_remove("TASCTL_PASSWORD")
            .env("TASCTL_PROFILE", env.dir.path().join("empty.toml"))
            .env("HOME", env.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = seen.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut chunk) {
                if n == 0 {
                    break;
                }
                keep.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        (child, seen)
    };
    type Seen = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;
    let read_until = |seen: &Seen, text: &str| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
            if now.contains(text) {
                return now;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no `{text}` in:\n{now}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let modes_back = |seen: &str| {
        let words: Vec<&str> = seen.split_whitespace().collect();
        assert!(
            words.contains(&"echo") && words.contains(&"icanon"),
            "{seen}"
        );
    };
    // The pid of the tasctl run with this marker (a user name no other run has).
    let pid_of = |marker: &str| -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                if comm.trim() == "tasctl" && String::from_utf8_lossy(&cmdline).contains(marker) {
                    return entry.file_name().to_string_lossy().into_owned();
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no tasctl for {marker}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    // Ctrl-C typed at the prompt.
    let marker = format!("ctrlc{}", std::process::id());
    let (mut child, lines) = run(&marker, "power on x");
    read_until(&lines, "Password for");
    child.stdin.as_mut().unwrap().write_all(b"\x03").unwrap();
    let seen = read_until(&lines, "rc=");
    assert!(seen.contains("rc=130"), "{seen}");
    modes_back(&read_until(&lines, "icanon"));
    child.wait().unwrap();

    // Signals from outside.
    for signal in ["INT", "TERM", "HUP"] {
        let marker = format!("sig{signal}{}", std::process::id());
        let (mut child, lines) = run(&marker, "power on x");
        read_until(&lines, "Password for");
        let pid = pid_of(&marker);
        let sent = std::time::Instant::now();
        std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        let seen = read_until(&lines, "rc=");
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "{signal}: {:?}",
            sent.elapsed()
        );
        assert!(seen.contains("rc=130"), "{signal}: {seen}");
        modes_back(&read_until(&lines, "icanon"));
        child.wait().unwrap();
    }

    // A backup asks once (the device password falls back to the broker's), a dry run never.
    let marker = format!("once{}", std::process::id());
    let (mut child, lines) = run(&marker, "backup x");
    let first = read_until(&lines, "Password for");
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"secret\r")
        .unwrap();
    let _ = first;
    let seen = read_until(&lines, "rc=");
    assert!(seen.contains("rc=3"), "it went on to connect: {seen}");
    assert_eq!(seen.matches("Password for").count(), 1, "{seen}");
    child.wait().unwrap();
    let marker = format!("dry{}", std::process::id());
    let (mut child, lines) = run(&marker, "backup x --dry-run");
    let seen = read_until(&lines, "rc=");
    assert!(
        seen.contains("rc=0") && !seen.contains("Password for"),
        "{seen}"
    );
    child.wait().unwrap();
}
