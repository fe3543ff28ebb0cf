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
