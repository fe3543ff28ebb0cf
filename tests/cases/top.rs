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

/// `top` under a pseudo-terminal of a given size, its screen read back by a terminal emulator
/// (the vt100 crate), keys typed as a person would.
struct Tui {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    rows: u16,
    cols: u16,
}

impl Tui {
    fn start(env: &Env, broker: &Broker, rows: u16, cols: u16) -> Tui {
        let top = format!(
            "stty rows {rows} cols {cols}; exec {} --broker {} top",
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
        let stdin = child.stdin.take().unwrap();
        Tui {
            child,
            stdin,
            seen,
            rows,
            cols,
        }
    }

    /// The screen as a terminal of this size shows it now, line by line.
    fn screen(&self) -> Vec<String> {
        let mut parser = vt100::Parser::new(self.rows, self.cols, 0);
        parser.process(&self.seen.lock().unwrap());
        parser
            .screen()
            .rows(0, self.cols)
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    /// Waits (at most 15 s) until the screen satisfies `ready`, and returns it.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if ready(&screen.join("\n")) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}; the screen:\n{}",
                screen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, keys: &[u8]) {
        self.stdin.write_all(keys).unwrap();
        self.stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }

    fn quit(mut self) {
        self.keys(b"q");
        assert!(self.child.wait().unwrap().success(), "top ends with 0 on q");
    }
}

/// The status view is modal and scrolls; at 80x24 and 120x40 no column is cut without a sign,
/// every relay of a 4-relay board shows, the key help fits, and an output the board does not
/// have is reported in the CLI's words.
#[test]
fn the_status_view_owns_the_keys_and_nothing_is_cut() {
    if !crate::support::tool_available("script") {
        return;
    }
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile(
        "[devices]\nalpha = \"alpha\"\nboard = { topic = \"garage_board\", relays = 4 }\nliving-room-plug = \"living_plug\"\n",
    );
    let _sim = Sim::scenario(
        &broker,
        &env,
        "[[device]]\nTopic = \"alpha\"\n[[device]]\nTopic = \"garage_board\"\nRelays = 4\nVersion = \"13.1.0.1\"\n[[device]]\nTopic = \"living_plug\"\nSensor = \"ENERGY\"\n",
    );
    let power = |name: &str| {
        let out = env
            .tasctl()
            .args(["--broker", &broker.url(), "--json", "power", "get", name])
            .output()
            .unwrap();
        json(&out)[0]["power"].clone()
    };
    for (rows, cols) in [(24u16, 80u16), (40, 120)] {
        let before = (power("alpha"), power("board"), power("living-room-plug"));
        let mut tui = Tui::start(&env, &broker, rows, cols);
        let screen = tui.wait_for("every device shown with its firmware", |s| {
            s.contains("living-room-plug")
                && s.contains("13.1.0.1")
                && s.contains("OFF OFF OFF OFF")
        });
        for line in &screen {
            assert!(line.chars().count() <= usize::from(cols), "{line}");
        }
        let header = screen.iter().find(|l| l.contains("NAME")).unwrap();
        for word in header
            .trim_matches(|c| c == '│' || c == ' ')
            .split_whitespace()
        {
            assert!(
                [
                    "NAME", "ONLINE", "POWER", "READING", "TREND", "RSSI", "UPTIME", "FIRMWARE",
                    "HEARD"
                ]
                .contains(&word),
                "{cols}x{rows}: `{word}` is a cut column in {header}"
            );
        }
        let board = screen.iter().find(|l| l.contains("board")).unwrap();
        assert!(board.contains("OFF OFF OFF OFF"), "every relay: {board}");
        let help = &screen[usize::from(rows) - 1];
        assert!(
            help.ends_with("q quit"),
            "{cols}x{rows}: the key help fits: {help}"
        );

        // Select the plug (third row), open its status, then try to act behind the view.
        tui.keys(b"jj\r");
        tui.wait_for("the status view", |s| {
            s.contains("esc close") && s.contains("DeviceName")
        });
        tui.keys(b"k ");
        let scrolled_from = tui.screen().join("\n");
        tui.keys(b"\x1b[6~"); // PgDn
        let scrolled = tui.screen().join("\n");
        assert_ne!(scrolled_from, scrolled, "PgDn scrolls the status view");
        assert!(
            scrolled.contains("esc close"),
            "still open after PgDn:\n{scrolled}"
        );
        assert_eq!(
            (power("alpha"), power("board"), power("living-room-plug")),
            before,
            "nothing acted on a device while the status view was open"
        );
        tui.keys(b"\x1b");
        tui.wait_for("the status view closed", |s| !s.contains("esc close"));

        // `8` on the 4-relay board: the device refuses, the row says `rejected`.
        tui.keys(b"k8");
        tui.wait_for("the refusal in the CLI's word", |s| {
            s.contains("output 8: rejected")
        });
        tui.quit();
    }
}
