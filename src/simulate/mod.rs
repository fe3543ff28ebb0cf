//! `tasctl simulate`: virtual Tasmota devices on a broker, for trying tasctl, testing
//! automations, and our own tests and benchmarks.
//!
//! Apart from the commands: devices are built from a scenario (`scenario.rs`), behave as
//! `firmware.rs` says, and are hosted here, each on its own connection with its own will, or
//! all on one connection (`--fleet`) for hundreds or thousands of devices. The ready line is
//! printed once the broker has processed every subscription and retained message.

mod embedded;
pub mod firmware;
pub mod grammar;
mod http;
pub mod scenario;
mod settings;
pub mod transfer;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::mqtt::{self, Session};
use crate::output::Output;
use crate::settings::Settings;
use firmware::{Effects, Firmware, Via};

/// What to simulate, as the command line said.
pub struct Request {
    pub devices: Option<usize>,
    pub scenario: Option<PathBuf>,
    pub fleet: bool,
    pub embedded: bool,
    /// Where the embedded broker listens.
    pub listen: Option<String>,
    /// STATE messages to publish as fast as possible once ready.
    pub flood: u64,
    /// Clear every retained message the devices published when stopping.
    pub clean: bool,
}

/// The devices being simulated: printed once they are all on the broker.
#[derive(Serialize)]
pub struct Ready {
    pub broker: String,
    pub devices: Vec<ReadyDevice>,
}

#[derive(Serialize)]
pub struct ReadyDevice {
    pub name: String,
    pub topic: String,
    pub full_topic: String,
    pub mac: String,
    pub outputs: usize,
    pub firmware: String,
    pub online: bool,
}

impl fmt::Display for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulating {} on {} (Ctrl-C to stop)",
            crate::output::count(self.devices.len(), "device", "devices"),
            self.broker
        )?;
        if self.devices.len() > 50 {
            return Ok(());
        }
        let rows: Vec<[String; 6]> = self
            .devices
            .iter()
            .map(|d| {
                let state = if d.online { "online" } else { "offline" };
                [
                    d.name.clone(),
                    d.topic.clone(),
                    d.full_topic.clone(),
                    d.outputs.to_string(),
                    d.firmware.clone(),
                    state.into(),
                ]
            })
            .collect();
        crate::output::table(
            f,
            [
                "DEVICE",
                "TOPIC",
                "FULLTOPIC",
                "OUTPUTS",
                "FIRMWARE",
                "STATE",
            ],
            &rows,
        )
    }
}

/// The most devices one simulator runs: the generated MACs have 24 bits of their own, and
/// more would only exhaust memory.
const MAX_DEVICES: usize = 100_000;

/// Which devices the request asks for.
pub fn devices(request: &Request) -> Result<Vec<Firmware>> {
    match (&request.scenario, request.devices) {
        (Some(_), Some(_)) => bail!("give either --devices or --scenario, not both"),
        (Some(path), None) => scenario::load(path),
        (None, Some(0)) => bail!("--devices 0 simulates nothing; give at least 1"),
        (None, Some(n)) if n > MAX_DEVICES => bail!(
            "--devices {n} is more than tasctl simulates ({MAX_DEVICES}); run several simulators for more"
        ),
        (None, Some(n)) => Ok(scenario::defaults(n)),
        (None, None) => scenario::parse(
            scenario::DEFAULT_FLEET,
            std::path::Path::new("default-fleet.toml"),
        ),
    }
}

/// Runs the devices until Ctrl-C; calls `ready` once they are all on the broker.
pub async fn run(settings: &Settings, request: Request, out: &Output) -> Result<()> {
    let mut broker = settings.broker.clone();
    if request.embedded {
        let listen = embedded::listen_address(request.listen.as_deref())?;
        embedded::start(listen, out.clone())?;
        broker.url = format!("mqtt://{listen}").parse()?;
    }
    crate::signal::listen();
    let devices = devices(&request)?;
    let report = Ready {
        broker: if request.embedded {
            format!("{} (embedded broker)", broker.url)
        } else {
            broker.url.to_string()
        },
        devices: devices
            .iter()
            .map(|d| ReadyDevice {
                name: d.device_name.clone(),
                topic: d.topic.clone(),
                full_topic: d.topics.full_topic.clone(),
                mac: d.mac.clone(),
                outputs: d.power.len(),
                firmware: d.version.clone(),
                online: d.online,
            })
            .collect(),
    };
    let groups: Vec<Vec<Firmware>> = if request.fleet {
        vec![devices]
    } else {
        devices.into_iter().map(|d| vec![d]).collect()
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut hosts = JoinSet::new();
    let mut readies = Vec::with_capacity(groups.len());
    let hosts_count = groups.len() as u64;
    for (i, group) in groups.into_iter().enumerate() {
        let (tx, rx) = oneshot::channel();
        readies.push(rx);
        let mut host = Host::new(&broker, out.clone(), group, request.fleet);
        host.clean = request.clean;
        // The flood is shared out over the hosts, the remainder to the first.
        host.flood = request.flood / hosts_count
            + if i == 0 {
                request.flood % hosts_count
            } else {
                0
            };
        hosts.spawn(host.run(stop_rx.clone(), tx));
    }
    // Every host on the broker, or the first failure: nothing is printed before the devices
    // are really there.
    let all_ready = async {
        for rx in readies {
            if rx.await.is_err() {
                return false;
            }
        }
        true
    };
    let hint = |e: anyhow::Error| {
        if !request.embedded && e.chain().any(|c| c.is::<crate::error::BrokerError>()) {
            anyhow::anyhow!(crate::error::BrokerError(format!(
                "{e:#}; to try tasctl without a broker, run `tasctl simulate --embedded`"
            )))
        } else {
            e
        }
    };
    tokio::select! {
        ready = all_ready => if !ready {
            let failure = hosts.join_next().await.map(host_failed);
            return Err(hint(failure.unwrap_or_else(|| anyhow::anyhow!("a simulated device stopped"))));
        },
        Some(result) = hosts.join_next() => return Err(hint(host_failed(result))),
        _ = crate::signal::interrupted() => return Ok(()),
    }
    out.emit(&report)?;
    tokio::select! {
        Some(result) = hosts.join_next() => return Err(host_failed(result)),
        _ = crate::signal::interrupted() => {}
    }
    let _ = stop_tx.send(true);
    while hosts.join_next().await.is_some() {}
    Ok(())
}

fn host_failed(result: Result<Result<()>, tokio::task::JoinError>) -> anyhow::Error {
    match result {
        Ok(Err(e)) => e,
        Ok(Ok(())) => anyhow!("a simulated device stopped unexpectedly"),
        Err(e) => anyhow!("a simulated device failed: {e}"),
    }
}

/// How long after its last queued command a device restarts for a setting (1-2 s on the
/// device, `Every250mSeconds`; shorter here).
const RESTART_AFTER: Duration = Duration::from_millis(300);

enum Timer {
    Command(Via, String, String),
    Telemetry,
    /// The device restarts (a clean disconnect: no will fires).
    Restart,
    /// The device is back.
    Boot,
    /// An OTA download from this URL.
    Fetch(String),
}

/// One connection and the devices on it.
struct Host {
    broker: crate::settings::Broker,
    devices: Vec<Firmware>,
    fleet: bool,
    out: Output,
    routes: HashMap<String, Vec<(usize, Via)>>,
    timers: BTreeMap<(Instant, u64), (usize, Timer)>,
    sequence: u64,
    flood: u64,
    /// Told once, when the broker first has every device.
    ready: Option<oneshot::Sender<()>>,
    /// Clear the devices' retained messages when stopping.
    clean: bool,
    /// How often our marker came back.
    markers: u32,
}

impl Host {
    fn new(
        broker: &crate::settings::Broker,
        out: Output,
        devices: Vec<Firmware>,
        fleet: bool,
    ) -> Host {
        Host {
            broker: broker.clone(),
            devices,
            fleet,
            out,
            routes: HashMap::new(),
            timers: BTreeMap::new(),
            sequence: 0,
            flood: 0,
            ready: None,
            clean: false,
            markers: 0,
        }
    }

    fn schedule(&mut self, after: Duration, device: usize, timer: Timer) {
        self.sequence += 1;
        self.timers
            .insert((Instant::now() + after, self.sequence), (device, timer));
    }

    async fn apply(
        &mut self,
        session: &mut Session,
        device: usize,
        effects: Effects,
    ) -> Result<()> {
        for p in effects.publish {
            // A reply no broker takes (a 1.1 MB DeviceName) is this reply's problem, not the
            // whole simulator's: it is left out, with a word on stderr.
            if let Err(e) = mqtt::check_message(&p.topic, p.payload.len()) {
                self.out
                    .warn(&format!("device {}: {e:#}; not sent", device + 1));
                continue;
            }
            session.publish(&p.topic, p.payload, p.retain).await?;
        }
        for (topic, bytes) in effects.binary {
            session.publish(&topic, bytes, false).await?;
        }
        for (after, via, command, payload) in effects.later {
            self.schedule(after, device, Timer::Command(via, command, payload));
        }
        if let Some(after) = effects.restart {
            self.schedule(after, device, Timer::Restart);
        }
        // A setting asked for a restart: once the Backlog queue is empty, 1-2 s later on the
        // device (here a moment), by a clean disconnect.
        let queued = self
            .timers
            .values()
            .any(|(d, t)| *d == device && matches!(t, Timer::Command(..)));
        if self.devices[device].restart_flag && !queued {
            self.devices[device].restart_flag = false;
            self.schedule(RESTART_AFTER, device, Timer::Restart);
        }
        if let Some((after, url)) = effects.fetch {
            self.schedule(after, device, Timer::Fetch(url));
        }
        Ok(())
    }

    /// The OTA download, blocking like the firmware's (the rest of this connection waits).
    async fn fetch(&mut self, session: &mut Session, device: usize, url: &str) -> Result<()> {
        let image = http::get(url, Duration::from_secs(10)).await;
        let effects = self.devices[device].downloaded(image);
        self.apply(session, device, effects).await
    }

    /// A commanded restart as the broker and the network see it: the firmware disconnects
    /// cleanly (`EspRestart` → `MqttDisconnect`), so no will fires and no `Offline` LWT
    /// appears; the device hears nothing until, after a moment, it connects again with its
    /// connect messages and the settings it now has.
    async fn restart(&mut self, _session: &mut Session, device: usize) -> Result<()> {
        for targets in self.routes.values_mut() {
            targets.retain(|(i, _)| *i != device);
        }
        self.schedule(Duration::from_millis(200), device, Timer::Boot);
        Ok(())
    }

    /// The device is back: new uptime, its connect messages, subscriptions for its (maybe new)
    /// topics.
    async fn boot(&mut self, session: &mut Session, device: usize) -> Result<()> {
        let rebooted = self.devices[device].reboot();
        for targets in self.routes.values_mut() {
            targets.retain(|(i, _)| *i != device);
        }
        let mut filters = Vec::new();
        for (base, via) in self.devices[device].subscriptions() {
            let entry = self.routes.entry(base.clone()).or_default();
            if entry.is_empty() {
                filters.push(format!("{base}#"));
            }
            entry.push((device, via));
        }
        session.subscribe(&filters).await?;
        let effects = self.devices[device].on_connect();
        self.apply(session, device, effects).await?;
        self.apply(session, device, rebooted).await
    }

    /// Publishes the flood: each online device's STATE in turn, rendered once.
    async fn publish_flood(&mut self, session: &mut Session) -> Result<()> {
        let messages: Vec<(String, String)> = self
            .devices
            .iter()
            .filter(|d| d.online)
            .filter_map(|d| d.telemetry().into_iter().next())
            .map(|p| (p.topic, p.payload))
            .collect();
        if messages.is_empty() {
            return Ok(());
        }
        for i in 0..self.flood {
            let (topic, payload) = &messages[i as usize % messages.len()];
            session.publish(topic, payload.clone(), false).await?;
        }
        Ok(())
    }

    /// Connects like the firmware: client id and will, the connect messages, then the
    /// subscriptions, then a marker to ourselves: when it comes back, the broker has handled
    /// everything before it.
    async fn connect(&mut self, marker: &str) -> Result<Session> {
        // One device per connection: its MqttClient as client id and its LWT as will.
        let options = match (self.fleet, self.devices.first()) {
            (false, Some(d)) if d.online => mqtt::Options {
                client_id: Some(d.mqtt_client.clone()),
                will: Some((d.lwt_topic(), d.lwt_offline.clone(), true)),
                trace: Some(self.out.clone()),
                ..mqtt::Options::default()
            },
            _ => mqtt::Options {
                trace: Some(self.out.clone()),
                ..mqtt::Options::default()
            },
        };
        let mut session = Session::connect(&self.broker, options).await?;
        // The firmware publishes its connect messages before it subscribes, so it never hears
        // its own empty cmnd/<topic>/POWER.
        let mut filters = Vec::new();
        self.routes.clear();
        for i in 0..self.devices.len() {
            let device = &self.devices[i];
            if device.online {
                let effects = device.on_connect();
                for (base, via) in device.subscriptions() {
                    filters.push(format!("{base}#"));
                    self.routes.entry(base).or_default().push((i, via));
                }
                self.apply(&mut session, i, effects).await?;
            } else {
                for p in device.retained(false) {
                    session.publish(&p.topic, p.payload, p.retain).await?;
                }
            }
        }
        // A message to ourselves after everything else: when it comes back, the broker has
        // handled every subscription and retained message before it.
        filters.push(marker.to_string());
        session.subscribe(&filters).await?;
        session.publish(marker, "", false).await?;
        Ok(session)
    }

    /// Runs the devices until `stop`. A lost connection (a broker restart, another client
    /// taking the client id, an oversized message) is followed by a reconnect with growing
    /// pauses, as the firmware does; it touches no other connection of the simulator.
    async fn run(
        mut self,
        mut stop: watch::Receiver<bool>,
        ready: oneshot::Sender<()>,
    ) -> Result<()> {
        let marker = format!(
            "tasctl/simulate/ready/{}-{}",
            std::process::id(),
            self.devices.first().map_or("", |d| d.mac.as_str())
        );
        let mut session = self.connect(&marker).await?;
        self.ready = Some(ready);
        loop {
            match self.serve(&mut session, &mut stop, &marker).await {
                Ok(()) => break,
                Err(e) if e.chain().any(|c| c.is::<crate::error::BrokerError>()) => {
                    let who = self.devices.first().map_or("", |d| d.topic.as_str());
                    self.out.warn(&format!(
                        "simulate: {} lost its connection ({e:#}); reconnecting",
                        if self.fleet { "the fleet" } else { who }
                    ));
                    let mut pause = Duration::from_millis(100);
                    session = loop {
                        tokio::select! {
                            _ = stop.changed() => return Ok(()),
                            connected = self.connect(&marker) => if let Ok(session) = connected {
                                break session;
                            },
                        }
                        tokio::select! {
                            _ = stop.changed() => return Ok(()),
                            _ = tokio::time::sleep(pause) => {}
                        }
                        pause = (pause * 2).min(Duration::from_secs(5));
                    };
                }
                Err(e) => return Err(e),
            }
        }
        if self.clean {
            // Leave nothing behind: every retained message the devices published is cleared.
            for device in &self.devices {
                for topic in device.retained_topics() {
                    session.publish(&topic, Vec::<u8>::new(), true).await?;
                }
            }
        } else {
            // Going away: say so on each LWT, as the broker would for a device that vanished.
            for device in self.devices.iter().filter(|d| d.online) {
                session
                    .publish(&device.lwt_topic(), device.lwt_offline.clone(), true)
                    .await?;
            }
        }
        session.disconnect().await
    }

    /// The first time the broker has everything: say so, start the telemetry, run the flood.
    async fn on_ready(
        &mut self,
        session: &mut Session,
        ready: oneshot::Sender<()>,
        marker: &str,
    ) -> Result<()> {
        let _ = ready.send(());
        for i in 0..self.devices.len() {
            let period = self.devices[i].tele_period;
            if self.devices[i].online && period > 0 {
                let first = Duration::from_secs(u64::from(period).min(5));
                self.schedule(first, i, Timer::Telemetry);
            }
        }
        if self.flood > 0 {
            self.publish_flood(session).await?;
            // The marker again: when it is back, the broker has the flood.
            session.publish(marker, "", false).await?;
        }
        Ok(())
    }

    /// Answers commands and runs timers on one connection until `stop` or a failure.
    async fn serve(
        &mut self,
        session: &mut Session,
        stop: &mut watch::Receiver<bool>,
        marker: &str,
    ) -> Result<()> {
        loop {
            let next = self.timers.keys().next().map(|(at, _)| *at);
            tokio::select! {
                message = session.recv() => {
                    let message = message?;
                    if message.topic == marker {
                        self.markers += 1;
                        if let Some(ready) = self.ready.take() {
                            self.on_ready(session, ready, marker).await?;
                        } else if self.markers == 2 && self.flood > 0 {
                            self.out.note(&format!("simulate: {} flood messages published", self.flood));
                        }
                        continue;
                    }
                    // PubSubClient's buffer holds the whole packet: a bigger one is dropped
                    // unread (MqttDataHandler, MQTT_MAX_PACKET_SIZE).
                    if 5 + message.topic.len() + message.payload.len() > transfer::PACKET_SIZE {
                        self.out.trace(format_args!("simulate: {} bytes on {} dropped (over the device's 1200-byte buffer)", message.payload.len(), crate::output::escape(&message.topic)));
                        continue;
                    }
                    let Some(slash) = message.topic.rfind('/') else { continue };
                    let (base, name) = message.topic.split_at(slash + 1);
                    let Some(targets) = self.routes.get(base).cloned() else { continue };
                    for (i, via) in targets {
                        let effects = self.devices[i].command_bytes(via, name, &message.payload);
                        self.apply(session, i, effects).await?;
                    }
                }
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    let Some((_, (i, timer))) = self.timers.pop_first() else { continue };
                    match timer {
                        Timer::Command(via, command, payload) => {
                            let effects = self.devices[i].command(via, &command, &payload);
                            self.apply(session, i, effects).await?;
                        }
                        Timer::Restart => self.restart(session, i).await?,
                        Timer::Boot => self.boot(session, i).await?,
                        Timer::Fetch(url) => self.fetch(session, i, &url).await?,
                        Timer::Telemetry => {
                            let period = self.devices[i].tele_period;
                            if period > 0 {
                                for p in self.devices[i].telemetry() {
                                    session.publish(&p.topic, p.payload, p.retain).await?;
                                }
                                self.schedule(Duration::from_secs(u64::from(period)), i, Timer::Telemetry);
                            }
                        }
                    }
                }
                _ = stop.changed() => return Ok(()),
            }
        }
    }
}
