//! The README's playground: `tasctl simulate --embedded` on a fresh machine, and the tour of
//! commands against it, as the README gives them. Needs no mosquitto.

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::{Env, stderr, stdout};

pub struct Playground {
    child: Child,
    pub port: u16,
}

impl Playground {
    pub fn start(env: &Env) -> Playground {
        let port = crate::support::free_port();
        let mut child = env
            .command()
            .args([
                "simulate",
                "--embedded",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = crate::support::lines_of(child.stdout.take().unwrap());
        let first = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the playground should get ready");
        assert_eq!(
            first,
            format!(
                "simulating 6 devices on mqtt://127.0.0.1:{port} (embedded broker) (Ctrl-C to stop)"
            )
        );
        Playground { child, port }
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_readme_tour_against_the_embedded_playground() {
    let env = Env::new();
    let playground = Playground::start(&env);
    let broker = format!("mqtt://127.0.0.1:{}", playground.port);
    let tasctl = |args: &[&str]| {
        env.tasctl()
            .env("TASCTL_BROKER", &broker)
            .args(args)
            .output()
            .unwrap()
    };

    let out = tasctl(&["discover", "--save"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    for row in [
        "attic-fan         attic_fan       Sonoff Basic  13.3.0.1",
        "garage-door       garage_board    4CH Relay     13.1.0.1",
        "kitchen-lamp      kitchen_lamp    -             8.5.0",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    assert!(stderr(&out).contains("6 added (attic-fan, balcony-sensor, bedroom-bulb, garage-door, kitchen-lamp, living-room-plug)"), "{}", stderr(&out));

    let out = tasctl(&["power", "toggle", "garage-door", "--relay", "2"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(0), "garage-door  ON\n".to_string()),
        "{}",
        stderr(&out)
    );
    let out = tasctl(&["power", "on", "kitchen-lamp"]);
    assert_eq!(
        stdout(&out),
        "kitchen-lamp  ON\n",
        "the topic-first lamp, by the name discover gave it"
    );

    let out = tasctl(&["status", "living-room-plug"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(
            "living-room-plug (living_plug)\n  power     OFF\n  firmware  14.3.0(tasmota)\n"
        ),
        "{}",
        stdout(&out)
    );

    let out = tasctl(&["power", "on", "attic-fan", "-w", "300ms"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (
            Some(4),
            "attic-fan  no response; offline (LWT), so not waited for\n".to_string()
        )
    );

    let out = tasctl(&["watch", "--json", "-n", "6"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lwts: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lwts.iter()
            .all(|l| l["suffix"] == "LWT" && l["retained"] == true),
        "{lwts:?}"
    );
    assert!(
        lwts.iter()
            .any(|l| l["device"] == "attic-fan" && l["payload"] == "Offline"),
        "{lwts:?}"
    );

    // a second playground on the same address refuses clearly
    let out = env
        .tasctl()
        .args([
            "simulate",
            "--embedded",
            "--listen",
            &format!("127.0.0.1:{}", playground.port),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is taken: a broker is probably running there already"),
        "{}",
        stderr(&out)
    );
}
