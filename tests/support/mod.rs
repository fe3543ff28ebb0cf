//! Test support: a real mosquitto per test on a free loopback port, a recorder that subscribes
//! and counts what reaches the broker, and `tasctl()` with a hermetic environment.
//!
//! When mosquitto is missing a test is skipped with a note, unless `CI` is set: then it fails,
//! so CI can never pass without having talked to a broker.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// Where mosquitto is: on PATH, else Debian's /usr/sbin.
fn mosquitto_path() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("mosquitto"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([
            "/usr/sbin/mosquitto".into(),
            "/usr/local/sbin/mosquitto".into(),
        ])
        .find(|p| p.is_file())
}

/// Which MQTT broker a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mosquitto,
    /// aedes (Node.js), a second independent implementation: it delivers retained messages
    /// after later live ones, which MQTT allows.
    Aedes,
}

/// A broker process on 127.0.0.1, killed on drop.
pub struct Broker {
    child: Child,
    pub port: u16,
    pub kind: Kind,
    dir: tempfile::TempDir,
    exe: PathBuf,
}

/// Where the aedes test server is, with its node_modules installed.
fn aedes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aedes")
}

/// Starts aedes (`node tests/aedes/server.js PORT`) and waits for its ready line; its stdin
/// stays open, and closing it (the child dropped) stops the server.
fn spawn_aedes(port: u16, deny_clear: Option<&str>) -> Option<Child> {
    let mut command = Command::new("node");
    if let Some(prefix) = deny_clear {
        command.env("AEDES_DENY_CLEAR", prefix);
    }
    let mut child = command
        .arg(aedes_dir().join("server.js"))
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let lines = lines_of(child.stdout.take().expect("stdout is piped"));
    match lines.recv_timeout(Duration::from_secs(20)) {
        Ok(line) if line.starts_with("aedes listening") => Some(child),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

impl Broker {
    /// Starts a broker; `None` (test skipped) when mosquitto is missing outside CI.
    pub fn start() -> Option<Broker> {
        Broker::start_with("")
    }

    /// Starts a broker of this kind; `None` (test skipped) when it is missing outside CI.
    pub fn start_kind(kind: Kind) -> Option<Broker> {
        match kind {
            Kind::Mosquitto => Broker::start(),
            Kind::Aedes => Broker::start_aedes(),
        }
    }

    /// Every broker of the test matrix that can be had: mosquitto and aedes.
    pub fn all() -> Vec<Broker> {
        [Kind::Mosquitto, Kind::Aedes]
            .into_iter()
            .filter_map(Broker::start_kind)
            .collect()
    }

    fn start_aedes() -> Option<Broker> {
        Broker::start_aedes_denying(None)
    }

    /// aedes with an ACL that refuses clearing retained messages under `prefix` (it closes the
    /// connection of a client that tries).
    pub fn start_aedes_denying(deny_clear: Option<&str>) -> Option<Broker> {
        let installed = aedes_dir().join("node_modules/aedes").is_dir();
        let node = Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed || !node {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "aedes is not installed, and CI is set: install Node.js and run `npm ci --prefix tests/aedes`"
                );
            }
            skipped("aedes", "run `npm ci --prefix tests/aedes` (needs Node.js)");
            return None;
        }
        for _attempt in 0..5 {
            let port = free_port();
            if let Some(child) = spawn_aedes(port, deny_clear) {
                return Some(Broker {
                    child,
                    port,
                    kind: Kind::Aedes,
                    dir: tempfile::tempdir().expect("should be able to create a temp dir"),
                    exe: PathBuf::from("node"),
                });
            }
        }
        panic!("aedes would not start");
    }

    /// Starts a broker with extra configuration lines; `{dir}` in them is its own temp dir.
    pub fn start_with(extra: &str) -> Option<Broker> {
        let Some(exe) = mosquitto_path() else {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "mosquitto is not installed, and CI is set: install it (apt-get install -y mosquitto)"
                );
            }
            skipped("mosquitto", "apt-get install mosquitto");
            return None;
        };
        let dir = tempfile::tempdir().expect("should be able to create a temp dir");
        let extra = extra.replace("{dir}", &dir.path().display().to_string());
        for _attempt in 0..5 {
            let port = free_port();
            let conf = dir.path().join("mosquitto.conf");
            // `user root`: started as root, mosquitto would drop to a user who cannot read or
            // write the test's files (it ignores the line when not run as root).
            std::fs::write(
                &conf,
                format!(
                    "user root\nlistener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n{extra}\n"
                ),
            )
            .expect("should be able to write mosquitto.conf");
            if let Some(child) = spawn_ready(&exe, &conf) {
                return Some(Broker {
                    child,
                    port,
                    kind: Kind::Mosquitto,
                    dir,
                    exe,
                });
            }
            eprintln!("mosquitto did not start on port {port}; trying another port");
        }
        panic!("mosquitto would not start");
    }

    /// Kills the broker and starts it again on the same port with the same configuration.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Stops the broker cleanly (SIGTERM): a persistent one saves its sessions first.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// Starts the stopped broker again, same port, same configuration.
    pub fn start_again(&mut self) {
        let conf = self.dir.path().join("mosquitto.conf");
        for _attempt in 0..50 {
            let child = match self.kind {
                Kind::Mosquitto => spawn_ready(&self.exe, &conf),
                Kind::Aedes => spawn_aedes(self.port, None),
            };
            if let Some(child) = child {
                self.child = child;
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{:?} would not start again on port {}",
            self.kind, self.port
        );
    }

    /// Kills the broker, for tests of what happens without one.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts mosquitto and waits for "running" (or a failure) on its log, not for a fixed time.
fn spawn_ready(exe: &Path, conf: &Path) -> Option<Child> {
    let mut child = Command::new(exe)
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("should be able to start mosquitto");
    let log = lines_of(child.stderr.take().expect("stderr is piped"));
    loop {
        match log.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.contains(" running") => return Some(child),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A loopback port nothing listens on (until someone binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("should be able to find a free port")
}

/// A message as the recorder saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// A subscriber on its own connection that keeps every message it receives.
pub struct Recorder {
    client: Client,
    seen: Arc<Mutex<Vec<Seen>>>,
    rx: mpsc::Receiver<Seen>,
    marker: String,
}

impl Recorder {
    /// Subscribes to `filter` and returns once the broker acknowledged the subscription.
    pub fn start(broker: &Broker, filter: &str) -> Recorder {
        let id = format!("recorder-{}", unique());
        let mut options = MqttOptions::new(&id, "127.0.0.1", broker.port);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut connection) = Client::new(options, 100);
        client
            .subscribe(filter, QoS::AtMostOnce)
            .expect("should be able to subscribe");
        client
            .subscribe(format!("tasctl-test/{id}"), QoS::AtMostOnce)
            .expect("should be able to subscribe");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let (ack_tx, ack_rx) = mpsc::channel();
        let keep = seen.clone();
        std::thread::spawn(move || {
            let mut acks = 0;
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        acks += 1;
                        if acks == 2 {
                            let _ = ack_tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let seen = Seen {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        };
                        keep.lock().unwrap().push(seen.clone());
                        if tx.send(seen).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        ack_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the broker should acknowledge the recorder's subscription");
        Recorder {
            client,
            seen,
            rx,
            marker: format!("tasctl-test/{id}"),
        }
    }

    /// Everything received before a marker published now: what reached the broker up to this
    /// point (a broker delivers one publisher's messages in order). The marker is left out.
    pub fn drain(&self) -> Vec<Seen> {
        self.client
            .publish(&self.marker, QoS::AtMostOnce, false, "marker")
            .expect("should be able to publish the marker");
        let mut out = Vec::new();
        loop {
            let seen = self
                .rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the marker should come back");
            if seen.topic == self.marker {
                return out;
            }
            out.push(seen);
        }
    }

    /// Waits for the next message whose topic is `topic`.
    pub fn wait_for(&self, topic: &str) -> Seen {
        loop {
            let seen = self
                .rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no message on {topic}"));
            if seen.topic == topic {
                return seen;
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A hermetic environment for one test: its own HOME, config dir and profile path.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("should be able to create a temp dir"),
        }
    }

    /// An environment with this profile text.
    pub fn with_profile(text: &str) -> Env {
        let env = Env::new();
        std::fs::write(env.profile(), text).expect("should be able to write the profile");
        env
    }

    pub fn profile(&self) -> PathBuf {
        self.dir.path().join("profile.toml")
    }

    pub fn read_profile(&self) -> String {
        std::fs::read_to_string(self.profile()).expect("the profile should exist")
    }

    /// `tasctl` with this environment, colour off and no TASCTL_* from the outside. The profile
    /// is named by TASCTL_PROFILE once a test wrote one; before, the default path (in this
    /// environment's own config dir) is used.
    pub fn tasctl(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.command());
        cmd.timeout(Duration::from_secs(60));
        cmd
    }

    /// The same as a plain `std::process::Command`, for processes that run alongside a test.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tasctl"));
        for var in [
            "TASCTL_BROKER",
            "TASCTL_USERNAME",
            "TASCTL_PASSWORD",
            "NO_COLOR",
            "CLICOLOR_FORCE",
        ] {
            cmd.env_remove(var);
        }
        if self.profile().exists() {
            cmd.env("TASCTL_PROFILE", self.profile());
        } else {
            cmd.env_remove("TASCTL_PROFILE");
        }
        cmd.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .arg("--color")
            .arg("never");
        cmd
    }
}

/// The command's stdout as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The command's stderr as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Skips the test (returns) when no broker can be had outside CI.
#[macro_export]
macro_rules! broker {
    () => {
        match $crate::support::Broker::start() {
            Some(broker) => broker,
            None => return,
        }
    };
}

/// A `tasctl simulate` process, started on a broker and killed on drop.
pub struct Sim {
    child: Child,
}

impl Sim {
    /// Runs the scenario text and returns once the simulator says its devices are ready.
    pub fn scenario(broker: &Broker, env: &Env, text: &str) -> Sim {
        let path = env.dir.path().join("scenario.toml");
        std::fs::write(&path, text).expect("should be able to write the scenario");
        Sim::start(
            broker,
            &["--scenario", path.to_str().expect("a UTF-8 temp path")],
        )
    }

    /// Runs `tasctl simulate ARGS` and waits for its ready line.
    pub fn start(broker: &Broker, args: &[&str]) -> Sim {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("tasctl"))
            .args(["--color", "never", "--broker", &broker.url(), "simulate"])
            .args(args)
            .env_remove("TASCTL_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("should be able to start tasctl simulate");
        let lines = lines_of(child.stdout.take().expect("stdout is piped"));
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with("simulating") => Sim { child },
            other => {
                let _ = child.kill();
                let output = child
                    .wait_with_output()
                    .expect("should be able to wait for the simulator");
                panic!(
                    "the simulator did not get ready: {other:?}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses stdout as JSON.
pub fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr: {}",
            stdout(output),
            stderr(output)
        )
    })
}

/// The result row for one device (by profile name, else topic) of a `--json` report.
pub fn row<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|r| r["device"] == name || (r["device"].is_null() && r["topic"] == name))
        .unwrap_or_else(|| panic!("no row for {name} in {report:#}"))
}

/// A tasctl process running beside the test, its output read line by line as it comes.
pub struct Running {
    child: Option<Child>,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

/// The lines a child process writes, as they come. The pipe is drained to its end even after
/// the receiver is gone, so the child never blocks on a full pipe.
pub fn lines_of(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("should be able to start tasctl");
        let stdout = lines_of(child.stdout.take().expect("piped"));
        let stderr = lines_of(child.stderr.take().expect("piped"));
        Running {
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// Like `spawn`, but hands stdout to the caller as a raw pipe.
    pub fn spawn_raw(mut cmd: Command) -> (Running, std::process::ChildStdout) {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("should be able to start tasctl");
        let out = child.stdout.take().expect("piped");
        let stderr = lines_of(child.stderr.take().expect("piped"));
        let (_tx, stdout) = mpsc::channel();
        (
            Running {
                child: Some(child),
                stdout,
                stderr,
            },
            out,
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Waits for a stderr line containing `needle`.
    pub fn wait_stderr(&self, needle: &str) -> String {
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("no `{needle}` on stderr: {e}"),
            }
        }
    }

    /// The next stdout line.
    pub fn line(&self) -> String {
        self.stdout
            .recv_timeout(Duration::from_secs(20))
            .expect("a line on stdout")
    }

    /// Sends SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the exit: the code, the rest of stdout, all of stderr not yet read.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        let (tx, rx) = mpsc::channel();
        let mut child = self.child.take().expect("running");
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("tasctl should exit")
            .expect("wait");
        let rest: Vec<String> =
            std::iter::from_fn(|| self.stdout.recv_timeout(Duration::from_secs(5)).ok()).collect();
        let err: Vec<String> =
            std::iter::from_fn(|| self.stderr.recv_timeout(Duration::from_millis(500)).ok())
                .collect();
        (status.code(), rest, err.join("\n"))
    }

    /// Peak and current resident memory in KiB, from /proc.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("/proc status");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Publishes one message from a fresh connection and waits until the broker has it.
pub fn publish(broker: &Broker, topic: &str, payload: &[u8], retain: bool) {
    let mut options = MqttOptions::new(format!("publisher-{}", unique()), "127.0.0.1", broker.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(64 << 20, 64 << 20);
    let (client, mut connection) = Client::new(options, 10);
    client
        .publish(topic, QoS::AtLeastOnce, retain, payload.to_vec())
        .expect("publish");
    for event in connection.iter() {
        match event {
            Ok(Event::Incoming(Packet::PubAck(_))) => break,
            Ok(_) => {}
            Err(e) => panic!("cannot publish to the test broker: {e}"),
        }
    }
    let _ = client.disconnect();
    for event in connection.iter() {
        if event.is_err() {
            break;
        }
    }
}

/// A broker that speaks just enough MQTT to accept a connection and then withholds what a test
/// names: SUBACKs, PUBACKs. It answers CONNECT with CONNACK and PINGREQ with PINGRESP, and
/// counts the PUBLISH packets it got. For the hang cases a real broker cannot play.
pub struct MuteBroker {
    pub port: u16,
    pub publishes: Arc<Mutex<usize>>,
}

impl MuteBroker {
    pub fn start(suback: bool, puback: bool) -> MuteBroker {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let publishes = Arc::new(Mutex::new(0));
        let count = publishes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let count = count.clone();
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().expect("clone");
                    let mut read_packet = || -> Option<(u8, Vec<u8>)> {
                        let mut header = [0u8; 1];
                        stream.read_exact(&mut header).ok()?;
                        let (mut len, mut shift) = (0usize, 0);
                        loop {
                            let mut b = [0u8; 1];
                            stream.read_exact(&mut b).ok()?;
                            len |= usize::from(b[0] & 0x7f) << shift;
                            shift += 7;
                            if b[0] & 0x80 == 0 {
                                break;
                            }
                        }
                        let mut body = vec![0u8; len];
                        stream.read_exact(&mut body).ok()?;
                        Some((header[0], body))
                    };
                    let mut replies: Vec<Vec<u8>> = Vec::new();
                    while let Some((header, body)) = read_packet() {
                        match header >> 4 {
                            1 => replies.push(vec![0x20, 2, 0, 0]),
                            8 if suback => {
                                // packet id, then one granted QoS 0 per filter (approximately)
                                let id = [body[0], body[1]];
                                replies.push(vec![0x90, 3, id[0], id[1], 0]);
                            }
                            3 => {
                                *count.lock().unwrap() += 1;
                                let qos = (header >> 1) & 3;
                                if qos > 0 && puback {
                                    let topic_len =
                                        usize::from(body[0]) << 8 | usize::from(body[1]);
                                    let id = &body[2 + topic_len..4 + topic_len];
                                    replies.push(vec![0x40, 2, id[0], id[1]]);
                                }
                            }
                            12 => replies.push(vec![0xd0, 0]),
                            14 => return,
                            _ => {}
                        }
                        for r in replies.drain(..) {
                            if writer.write_all(&r).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        MuteBroker { port, publishes }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

/// A device scripted by the test, for faults no firmware makes on purpose: it subscribes to
/// `cmnd/<topic>/#` and answers each command with what `script` returns (topic, payload).
/// Every command it got is kept, in order.
/// Commands as a scripted device got them: (last topic level, payload).
type Heard = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

pub struct ScriptedDevice {
    client: Client,
    pub heard: Heard,
}

impl ScriptedDevice {
    pub fn start(
        broker: &Broker,
        topic: &str,
        mut script: impl FnMut(&str, &[u8]) -> Vec<(String, Vec<u8>)> + Send + 'static,
    ) -> ScriptedDevice {
        let mut options =
            MqttOptions::new(format!("scripted-{}", unique()), "127.0.0.1", broker.port);
        options.set_keep_alive(Duration::from_secs(30));
        let (client, mut connection) = Client::new(options, 100);
        client
            .subscribe(format!("cmnd/{topic}/#"), QoS::AtMostOnce)
            .expect("should be able to subscribe");
        let heard = Arc::new(Mutex::new(Vec::new()));
        let keep = heard.clone();
        let replier = client.clone();
        let (ack_tx, ack_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let name = p.topic.rsplit('/').next().unwrap_or_default().to_string();
                        keep.lock()
                            .unwrap()
                            .push((name.clone(), p.payload.to_vec()));
                        for (topic, payload) in script(&name, &p.payload) {
                            let _ = replier.publish(topic, QoS::AtMostOnce, false, payload);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        ack_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the scripted device should be subscribed");
        ScriptedDevice { client, heard }
    }

    /// The commands it got: (name, payload as text).
    pub fn commands(&self) -> Vec<(String, String)> {
        self.heard
            .lock()
            .unwrap()
            .iter()
            .map(|(n, p)| (n.clone(), String::from_utf8_lossy(p).into_owned()))
            .collect()
    }
}

impl Drop for ScriptedDevice {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
}

/// Whether an outside tool (jq, promtool) can be run. Missing: a note and false locally, a
/// failure when CI is set (`.ci/run` installs it).
pub fn tool_available(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is not installed, and CI is set"
        );
        let how = match tool {
            "promtool" => "apt-get install prometheus".to_string(),
            "groff" => "apt-get install groff-base".to_string(),
            "script" => "apt-get install bsdutils".to_string(),
            other => format!("apt-get install {other}"),
        };
        skipped(tool, &how);
    }
    found
}

/// Records that the running test skips checks for want of `what` (a broker, a checker), and
/// how to get it. cargo swallows a test's own notes: under `tests/report-skips` (cargo's runner,
/// `.cargo/config.toml`) the line goes to the file it names and the run ends with one summary;
/// without it, each missing tool is said once, straight to stderr.
pub fn skipped(what: &str, how: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let line = skip_line(what, how, &test);
    if let Some(path) = std::env::var_os("TASCTL_SKIPS") {
        let file = std::fs::OpenOptions::new().append(true).open(path);
        if let Ok(mut file) = file {
            let _ = file.write_all(line.as_bytes());
            return;
        }
    }
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|w| w == what) {
        said.push(what.to_string());
        // Not eprintln!: the test harness would capture it.
        let _ = std::io::stderr().write_all(
            format!("note: {what} is missing ({how}): the tests that need it skip those checks\n")
                .as_bytes(),
        );
    }
}

/// One record for `tests/report-skips`: what, how to get it, the test; tab-separated.
pub fn skip_line(what: &str, how: &str, test: &str) -> String {
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    format!("{}\t{}\t{}\n", clean(what), clean(how), clean(test))
}
