//! top end to end: under a pseudo-terminal (util-linux `script`), a key toggles a relay and the
//! device's own state changes; not on a terminal, a pointer to watch.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Broker, Env, Sim, json, stderr};

#[test]
fn not_on_a_terminal_it_points_to_watch() {
    let out = Env::new().tasctl().arg("top").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("tasctl watch"), "{}", stderr(&out));
}

#[test]
fn under_a_pseudo_terminal_a_key_switches_a_relay() {
    if !crate::support::tool_available("script") {
        return;
    }
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile("[devices]\nalpha = \"alpha\"\nbeta = \"beta\"\n");
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"alpha\"\n[[device]]\nTopic = \"beta\"\nOnline = false\n",
    );
    let top = format!(
        "stty rows 12 cols 120; exec {} --broker {} top",
        assert_cmd::cargo::cargo_bin!("tasctl").display(),
        broker.url()
    );
    let mut child = Command::new("script")
        .args(["-qfc", &top, "/dev/null"])
        .env("TASCTL_PROFILE", env.profile())
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // What the terminal got: frames are cursor moves, not lines, so read raw bytes.
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
    let mut stdin = child.stdin.take().unwrap();
    // The first frame with alpha known online.
    let screen = || String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !(screen().contains("alpha") && screen().contains("yes")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no frame with alpha online:\n{}",
            screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let screen = screen();
    // Drawn by cursor moves between words: look for the words.
    for word in ["tasctl", "devices,", "beta", "no", "ONLINE", "q", "quit"] {
        assert!(screen.contains(word), "{word} in {screen}");
    }
    // alpha is the first row: space toggles its first output.
    stdin.write_all(b" ").unwrap();
    stdin.flush().unwrap();
    let power = || {
        let out = env
            .tasctl()
            .args(["--broker", &broker.url(), "--json", "power", "get", "alpha"])
            .output()
            .unwrap();
        json(&out)[0]["power"]["POWER"].clone()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while power() != "ON" {
        assert!(
            std::time::Instant::now() < deadline,
            "the relay did not switch"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stdin.write_all(b"q").unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "top ends with 0 on q");
}
