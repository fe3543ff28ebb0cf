//! Measurements of the hostile cases for BENCHMARKS.md, run by `bench/run.sh` (`cargo test
//! --release -- --ignored bench_`): each prints `BENCH <name> <value>` lines and asserts only
//! that the case ran as the hostile tests expect, never a time.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Broker, Env, ScriptedDevice};

/// Runs tasctl under `/usr/bin/time`: (exit code, seconds, peak RSS in KiB).
fn timed(env: &Env, args: &[&str]) -> (Option<i32>, f64, u64) {
    let tasctl = env.command();
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "TIME %e %M"])
        .arg(tasctl.get_program())
        .args(args);
    for (k, v) in tasctl.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .rev()
        .find(|l| l.starts_with("TIME "))
        .expect("time's line");
    let mut parts = line.split_whitespace().skip(1);
    let secs = parts.next().unwrap().parse().unwrap();
    let kib = parts.next().unwrap().parse().unwrap();
    (out.status.code(), secs, kib)
}

fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "a benchmark: bench/run.sh runs it"]
fn bench_backup_of_a_lying_device() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let dir = env.dir.path().join("b");
    for (name, announced) in [("empty-chunks", 4096u64), ("4GiB-announced", 4_294_967_296)] {
        let _device =
            crate::cases::backup::scripted_announcing(&broker, announced, 4096, move |_, data| {
                let chunk = if announced == 4096 {
                    String::new()
                } else {
                    crate::cases::backup::b64(&data[..760])
                };
                Some(vec![json!({"Id": 7, "Data": chunk})])
            });
        let url = broker.url();
        let (code, secs, kib) = timed(
            &env,
            &[
                "--broker",
                &url,
                "-w",
                "5s",
                "backup",
                "odd",
                "--dir",
                dir.to_str().unwrap(),
            ],
        );
        assert_eq!(code, Some(5), "{name}: refused");
        println!("BENCH backup-liar-{name}-seconds {secs}");
        println!("BENCH backup-liar-{name}-rss-kib {kib}");
    }
}

#[test]
#[ignore = "a benchmark: bench/run.sh runs it"]
fn bench_serve_under_500_idle_connections() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::new();
    let _silent = ScriptedDevice::start(&broker, "dev", |_, _| Vec::new());
    let image = env.dir.path().join("fw.bin");
    let body = format!("TASMOTA-SIM 15.0.0\n{}", "y".repeat(600_000));
    std::fs::write(&image, &body).unwrap();
    let port = crate::support::free_port();
    let mut cmd = env.command();
    cmd.args([
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
    .args(["--listen", &format!("127.0.0.1:{port}")]);
    let running = crate::support::Running::spawn(cmd);
    running.wait_stderr("serving");
    let idle: Vec<std::net::TcpStream> = (0..500)
        .filter_map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    let started = Instant::now();
    let mut device = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    device
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    device
        .write_all(b"GET /fw.bin HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    device.read_to_end(&mut answer).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(
        String::from_utf8_lossy(&answer).ends_with(&body),
        "the whole image"
    );
    let kib = vm_hwm(running.pid());
    println!("BENCH serve-500-idle-connections {}", idle.len());
    println!("BENCH serve-500-idle-download-seconds {secs:.3}");
    println!("BENCH serve-500-idle-rss-kib {kib}");
    drop(idle);
    running.interrupt();
    let _ = running.finish();
}

#[test]
#[ignore = "a benchmark: bench/run.sh runs it"]
fn bench_top_under_30000_distinct_keys() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let env = Env::with_profile("[devices]\ndev = \"dev\"\n");
    // top in a pseudo-terminal, as a person runs it.
    let tasctl = env.command();
    let line = format!(
        "stty rows 50 cols 160; exec {} --broker {} top",
        tasctl.get_program().to_string_lossy(),
        broker.url()
    );
    let mut script = Command::new("script");
    script.args(["-qfc", &line, "/dev/null"]);
    for (k, v) in tasctl.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pid = String::from_utf8(
        Command::new("pgrep")
            .args(["-n", "-f", &format!("{} top", broker.url())])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse::<u32>()
    .expect("top's pid");
    let before = vm_hwm(pid);
    // A device that invents a key in every message: 30 000 of them, then its state.
    let mut options = rumqttc::MqttOptions::new("inventor", "127.0.0.1", broker.port);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut connection) = rumqttc::Client::new(options, 1000);
    let sender = std::thread::spawn(move || {
        for i in 0..30_000 {
            let payload =
                format!(r#"{{"Time":"2026-12-05T00:00:00","Sensor{i}":{{"Value{i}":{i}}}}}"#);
            client
                .publish("tele/dev/SENSOR", rumqttc::QoS::AtMostOnce, false, payload)
                .unwrap();
            if i % 3 == 0 {
                let status = format!(r#"{{"StatusSNS":{{"Key{i}":{i}}}}}"#);
                client
                    .publish(
                        format!("stat/dev/STATUS{}", 10 + i % 1000),
                        rumqttc::QoS::AtMostOnce,
                        false,
                        status,
                    )
                    .unwrap();
            }
        }
        client.disconnect().unwrap();
    });
    for event in connection.iter() {
        if event.is_err() {
            break;
        }
    }
    sender.join().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let after = vm_hwm(pid);
    println!("BENCH top-30000-keys-rss-before-kib {before}");
    println!("BENCH top-30000-keys-rss-after-kib {after}");
    let _ = child.stdin.as_mut().unwrap().write_all(b"q");
    let _ = child.wait();
}
