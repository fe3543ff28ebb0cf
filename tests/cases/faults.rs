//! Broker faults and hostile input: never a hang, never a panic, nothing lost.

use std::time::Duration;

use serde_json::json;

use crate::broker;
use crate::support::{Broker, Env, Running, publish, stderr};

#[test]
fn a_broker_that_accepts_but_never_answers_times_out_with_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // accept and hold the connections, say nothing
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let out = Env::new()
        .tasctl()
        .args([
            "--broker",
            &format!("mqtt://127.0.0.1:{port}"),
            "--connect-timeout",
            "500ms",
            "power",
            "on",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains(&format!(
            "the broker at 127.0.0.1:{port} did not answer within 500ms"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broker_killed_mid_command_ends_it_with_3() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "-w",
        "60s",
        "power",
        "on",
        "nobody",
    ]);
    let running = Running::spawn(cmd);
    running.wait_stderr("-> cmnd/nobody/Power ON");
    broker.stop();
    let (code, _, err) = running.finish();
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "lost the connection to the broker at 127.0.0.1:{}",
            broker.port
        )),
        "{err}"
    );
}

#[test]
fn a_persistent_session_loses_nothing_across_a_broker_restart() {
    let Some(mut broker) =
        Broker::start_with("persistence true\npersistence_location {dir}/\nautosave_interval 0")
    else {
        return;
    };
    let env = Env::new();
    let watch = |broker: &Broker, count: &str| {
        let mut cmd = env.command();
        cmd.args([
            "--broker",
            &broker.url(),
            "--json",
            "-v",
            "watch",
            "--session",
            "kitchen-log",
            "-n",
            count,
        ]);
        let running = Running::spawn(cmd);
        running.wait_stderr("tasctl: watching");
        running
    };
    let topic = "stat/tasmota_ABCDEF/POWER";
    // the first run makes the session, then ends
    let running = watch(&broker, "1");
    publish(&broker, topic, b"1", false);
    assert_eq!(running.finish().0, Some(0));
    // while no watch runs: messages, and a broker restart
    publish(&broker, topic, b"2", false);
    broker.terminate();
    broker.start_again();
    publish(&broker, topic, b"3", false);
    // the next run gets both, then what comes live
    let running = watch(&broker, "3");
    publish(&broker, topic, b"4", false);
    let (code, lines, err) = running.finish();
    assert_eq!(code, Some(0), "{err}");
    let payloads: Vec<_> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["payload"].clone())
        .collect();
    assert_eq!(payloads, [json!(2), json!(3), json!(4)]);
}

#[test]
fn hostile_payloads_and_topics_are_shown_not_fatal() {
    let broker = broker!();
    let env = Env::new();
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "--json",
        "-v",
        "watch",
        "-n",
        "4",
    ]);
    let running = Running::spawn(cmd);
    running.wait_stderr("tasctl: watching");
    let huge = vec![0xAB_u8; 2 * 1024 * 1024];
    publish(&broker, "tele/big/SENSOR", &huge, false);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    publish(&broker, "tele/deep/SENSOR", deep.as_bytes(), false);
    publish(&broker, "stat/кухня/POWER", "ВКЛ".as_bytes(), false);
    publish(&broker, "stat/ok/POWER", b"ON", false);
    let (code, lines, err) = running.finish();
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0]["payload"]["base64"].as_str().unwrap().len(),
        huge.len().div_ceil(3) * 4
    );
    assert_eq!(
        lines[1]["payload"].as_str().unwrap().len(),
        deep.len(),
        "too deep for JSON: shown as text"
    );
    assert_eq!(
        (lines[2]["topic"].clone(), lines[2]["payload"].clone()),
        (json!("кухня"), json!("ВКЛ"))
    );
    assert_eq!(lines[3]["topic"], "ok");
}

#[test]
fn replies_that_are_not_what_they_seem_are_not_fatal() {
    let broker = broker!();
    let env = Env::new();
    // a device that answers with garbage, binary and a huge reply
    let mut cmd = env.command();
    cmd.args([
        "--broker",
        &broker.url(),
        "-v",
        "-w",
        "1s",
        "--json",
        "send",
        "odd",
        "Status",
        "0",
    ]);
    let running = Running::spawn(cmd);
    running.wait_stderr("-> cmnd/odd/Status 0");
    publish(&broker, "stat/odd/STATUS", b"{\"Status\":", false);
    publish(&broker, "stat/odd/STATUS1", &[0xff, 0xfe], false);
    publish(
        &broker,
        "stat/odd/RESULT",
        "[".repeat(50_000).as_bytes(),
        false,
    );
    let (code, lines, err) = running.finish();
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&lines.join("\n")).unwrap();
    assert_eq!(report[0]["ok"], true);
    assert_eq!(
        report[0]["response"].as_str().unwrap().len(),
        50_000,
        "the RESULT, kept as text"
    );
}

#[test]
fn tasctl_never_leaves_a_retained_command() {
    let broker = broker!();
    let env = Env::new();
    for args in [
        vec!["power", "on", "x"],
        vec!["power", "off", "all"],
        vec!["status", "x"],
        vec!["send", "x", "Power", "on", "--no-wait"],
        vec!["discover"],
    ] {
        env.tasctl()
            .args(["--broker", &broker.url(), "-w", "100ms"])
            .args(&args)
            .output()
            .unwrap();
    }
    // a retained message would be delivered to a new subscriber at once
    let recorder = crate::support::Recorder::start(&broker, "#");
    let retained: Vec<_> = recorder.drain().into_iter().filter(|m| m.retain).collect();
    assert_eq!(
        retained,
        vec![],
        "a retained cmnd is re-executed by the device at every reconnect"
    );
}
