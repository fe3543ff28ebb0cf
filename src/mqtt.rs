//! The one shared async MQTT client: a `Session` over rumqttc on the current-thread runtime.
//!
//! `connect` returns only after ConnAck and turns every way of failing into a `BrokerError`
//! (exit 3) that names the broker and says what to try. Afterwards a command drives the event
//! loop itself: `subscribe` waits for the SubAck, `publish` never blocks the one task that
//! polls, `recv` yields the next incoming message. No spawned tasks, no sleeps. rumqttc's types
//! stay in this module. Prints nothing itself; the `--verbose` trace goes through `Output` and
//! never shows a password.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use bytes::Bytes;
use rumqttc::{
    AsyncClient, ClientError, ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill,
    MqttOptions, Outgoing, Packet, QoS, SubscribeFilter, SubscribeReasonCode, TlsConfiguration,
    Transport,
};

use crate::error::BrokerError;
use crate::output::{Output, escape};
use crate::settings::Broker;

/// A message as it arrived.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub retain: bool,
}

/// How to connect, beyond the broker settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// A fixed client id (a persistent session, a simulated device); else a unique one.
    pub client_id: Option<String>,
    pub clean_session: bool,
    /// The last will: topic, payload, retained.
    pub will: Option<(String, String, bool)>,
    pub qos: u8,
    /// Where the `--verbose` trace goes; `None`, no trace.
    pub trace: Option<Output>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_id: None,
            clean_session: true,
            will: None,
            qos: 0,
            trace: None,
        }
    }
}

/// One turn of the event loop in flight; it owns the loop and gives it back with the event.
type Poll = Pin<Box<dyn Future<Output = (EventLoop, Result<Event, ConnectionError>)> + Send>>;

/// The largest message tasctl publishes: brokers commonly refuse more, and a device's buffer
/// is far smaller.
pub const MAX_PAYLOAD: usize = 1024 * 1024;

pub struct Session {
    client: AsyncClient,
    /// The event loop when no turn is in flight; `poll` holds it otherwise.
    eventloop: Option<EventLoop>,
    /// A turn of the event loop that a `select!` left half done: the next wait resumes it, so
    /// nothing rumqttc was in the middle of is dropped.
    poll: Option<Poll>,
    inbox: VecDeque<Message>,
    qos: QoS,
    trace: Option<Output>,
    /// `host:port`, for messages.
    address: String,
    /// QoS 1/2 publishes not yet acknowledged.
    unacked: usize,
    connect_timeout: Duration,
}

pub fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn unique_client_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("tasctl-{}-{nanos:08x}", std::process::id())
}

impl Session {
    /// Connects and waits for the broker's ConnAck, at most the connect timeout.
    pub async fn connect(broker: &Broker, options: Options) -> Result<Session> {
        let url = &broker.url;
        let address = if url.host.contains(':') {
            format!("[{}]:{}", url.host, url.port)
        } else {
            format!("{}:{}", url.host, url.port)
        };
        let client_id = options.client_id.clone().unwrap_or_else(unique_client_id);
        let mut mqtt = MqttOptions::new(client_id, url.host.clone(), url.port);
        mqtt.set_keep_alive(Duration::from_secs(30))
            .set_clean_session(options.clean_session)
            .set_max_packet_size(64 * 1024 * 1024, 1024 * 1024);
        let mut no_password = false;
        if let Some(user) = &broker.username {
            let password = broker.password()?;
            no_password = password.is_none();
            mqtt.set_credentials(
                user.clone(),
                password.as_ref().map_or("", |p| p.expose()).to_string(),
            );
        } else if broker.password()?.is_some() {
            bail!(
                "a password is set but no user name; add --username, TASCTL_USERNAME or `[broker] username`"
            );
        }
        if url.tls {
            let config = crate::tls::client_config(crate::tls::Files {
                ca_file: broker.ca_file.as_deref(),
                client_cert: broker.client_cert.as_deref(),
                client_key: broker.client_key.as_deref(),
            })?;
            mqtt.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
        }
        if let Some((topic, payload, retain)) = &options.will {
            mqtt.set_last_will(LastWill::new(
                topic.clone(),
                payload.clone(),
                QoS::AtLeastOnce,
                *retain,
            ));
        }
        // A small channel: `send` polls the event loop whenever it is full, and a large one
        // would be allocated (megabytes) up front.
        let (client, mut eventloop) = AsyncClient::new(mqtt, 64);
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        network.set_connection_timeout(broker.connect_timeout.as_secs().max(1) + 1);
        eventloop.set_network_options(network);

        let timeout = broker.connect_timeout;
        // A broker answers CONNECT at once; when nothing came after a second, a second plain
        // connection listens for a server that speaks first (SSH, SMTP), which MQTT never does.
        let probe = async {
            tokio::time::sleep(PROBE_AFTER).await;
            speaks_first(&url.host, url.port).await
        };
        let connack = tokio::time::timeout(timeout, async {
            tokio::select! {
                event = eventloop.poll() => Ok(event),
                Some(banner) = probe => Err(banner),
            }
        })
        .await;
        let fail = |what: String| anyhow!(BrokerError(what));
        let connack = match connack {
            Ok(Err(banner)) => {
                return Err(fail(not_mqtt(
                    &address,
                    &format!("speaks first (`{banner}`)"),
                )));
            }
            Ok(Ok(event)) => Ok(event),
            Err(elapsed) => Err(elapsed),
        };
        match connack {
            Err(_) => {
                return Err(fail(format!(
                    "the broker at {address} did not answer within {}; is it an MQTT broker, and is the port right? (--connect-timeout to wait longer)",
                    crate::output::duration(timeout)
                )));
            }
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {}
            Ok(Ok(_)) => {
                return Err(fail(not_mqtt(
                    &address,
                    "answered, but not as an MQTT broker does",
                )));
            }
            Ok(Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::NotAuthorized | ConnectReturnCode::BadUserNamePassword,
            ))) if no_password => {
                return Err(fail(format!(
                    "the broker at {address} refused user `{}`: no password was given (and none can be asked: this is not a terminal); give it with TASCTL_PASSWORD, `password_file` in the profile's [broker], or -P",
                    broker.username.as_deref().unwrap_or_default()
                )));
            }
            Ok(Err(e)) => return Err(fail(connect_error(&address, e, broker.username.is_some()))),
        }
        if let Some(out) = &options.trace {
            out.trace(format_args!("connected to {url}"));
        }
        Ok(Session {
            client,
            eventloop: Some(eventloop),
            poll: None,
            inbox: VecDeque::new(),
            qos: qos(options.qos),
            trace: options.trace.filter(Output::verbose),
            address,
            unacked: 0,
            connect_timeout: timeout,
        })
    }

    /// The next event of the connection. Cancel-safe: a turn interrupted by a `select!` stays
    /// in `self.poll` and is resumed by the next call.
    async fn next_event(&mut self) -> Result<Event, ConnectionError> {
        let turn = match self.poll.as_mut() {
            Some(turn) => turn,
            None => {
                let mut eventloop = self
                    .eventloop
                    .take()
                    .expect("the event loop is here when no turn is in flight");
                self.poll.insert(Box::pin(async move {
                    let event = eventloop.poll().await;
                    (eventloop, event)
                }))
            }
        };
        let (eventloop, event) = turn.as_mut().await;
        self.poll = None;
        self.eventloop = Some(eventloop);
        event
    }

    /// Polls the event loop once. An incoming message goes to the inbox for `recv` (moved, not
    /// copied) and `None` comes back; any other event is returned.
    async fn poll_once(&mut self) -> Result<Option<Event>> {
        let event = self.next_event().await.map_err(|e| {
            anyhow!(BrokerError(format!(
                "lost the connection to the broker at {}: {}",
                self.address,
                why_lost(&e)
            )))
        })?;
        match event {
            Event::Incoming(Packet::Publish(p)) => {
                if let Some(out) = &self.trace {
                    out.trace(format_args!(
                        "<- {} {}",
                        escape(&p.topic),
                        escape(&String::from_utf8_lossy(&p.payload))
                    ));
                }
                self.inbox.push_back(Message {
                    topic: p.topic,
                    payload: p.payload,
                    retain: p.retain,
                });
                return Ok(None);
            }
            Event::Incoming(Packet::PubAck(_)) | Event::Incoming(Packet::PubComp(_)) => {
                self.unacked = self.unacked.saturating_sub(1);
            }
            Event::Incoming(Packet::Disconnect) => {
                bail!(BrokerError(format!(
                    "the broker at {} closed the connection",
                    self.address
                )));
            }
            _ => {}
        }
        Ok(Some(event))
    }

    /// Subscribes to every filter at once and returns when the broker acknowledged them, at
    /// most the connect timeout later.
    pub async fn subscribe(&mut self, filters: &[String]) -> Result<()> {
        if filters.is_empty() {
            return Ok(());
        }
        for f in filters {
            check_filter(f)?;
        }
        let unique = narrowest(filters);
        if let Some(out) = &self.trace {
            for f in &unique {
                out.trace(format_args!("-> SUBSCRIBE {}", escape(f)));
            }
        }
        let bound = self.connect_timeout;
        let address = self.address.clone();
        let acknowledged = async {
            // One SUBSCRIBE packet per chunk keeps each under any broker's size limit.
            let mut pending = 0;
            for chunk in unique.chunks(256) {
                let batch: Vec<SubscribeFilter> = chunk
                    .iter()
                    .map(|f| SubscribeFilter::new((*f).clone(), self.qos))
                    .collect();
                self.send(|c| c.try_subscribe_many(batch.clone())).await?;
                pending += 1;
            }
            while pending > 0 {
                if let Some(Event::Incoming(Packet::SubAck(ack))) = self.poll_once().await? {
                    pending -= 1;
                    if ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, SubscribeReasonCode::Failure))
                    {
                        bail!(BrokerError(format!(
                            "the broker at {address} refused a subscription (an ACL may forbid reading these topics)"
                        )));
                    }
                }
            }
            Ok(())
        };
        match tokio::time::timeout(bound, acknowledged).await {
            Ok(result) => result,
            Err(_) => Err(anyhow!(BrokerError(format!(
                "the broker at {address} did not acknowledge the subscription within {} (--connect-timeout to wait longer)",
                crate::output::duration(bound)
            )))),
        }
    }

    /// Queues a request without ever waiting on the channel from the task that drains it: when
    /// the channel is full, the event loop runs until there is room.
    async fn send(
        &mut self,
        mut request: impl FnMut(&AsyncClient) -> Result<(), ClientError>,
    ) -> Result<()> {
        // The channel holds 64 requests and turns of the loop take them out; a flood of
        // incoming messages can take many turns first. Topics were checked before (no
        // wildcard, which rumqttc would also refuse this way), so a request still refused
        // after the connect timeout of turns is a client that has stopped.
        let until = tokio::time::Instant::now() + self.connect_timeout;
        while tokio::time::Instant::now() < until {
            match request(&self.client) {
                Ok(()) => return Ok(()),
                Err(ClientError::TryRequest(_)) => {
                    self.poll_once().await?;
                }
                Err(e) => {
                    return Err(anyhow!(BrokerError(format!(
                        "cannot send to the broker at {}: {e}",
                        self.address
                    ))));
                }
            }
        }
        bail!("the MQTT client refused a request (an invalid topic or filter?)")
    }

    /// Publishes (never retained unless asked; a retained `cmnd` would be re-executed by the
    /// device at every reconnect). A topic or payload no broker takes is refused here.
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: impl Into<Bytes>,
        retain: bool,
    ) -> Result<()> {
        let payload: Bytes = payload.into();
        check_message(topic, payload.len())?;
        if let Some(out) = &self.trace {
            out.trace(format_args!(
                "-> {} {}",
                escape(topic),
                escape(&masked(&payload))
            ));
        }
        let qos = self.qos;
        self.send(|c| c.try_publish(topic, qos, retain, payload.clone()))
            .await?;
        if qos != QoS::AtMostOnce {
            self.unacked += 1;
        }
        Ok(())
    }

    /// The next incoming message. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Message> {
        loop {
            if let Some(message) = self.inbox.pop_front() {
                return Ok(message);
            }
            self.poll_once().await?;
        }
    }

    /// `host:port` of the broker.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// After a lost connection: tries again with growing pauses (100 ms doubling to 5 s) until
    /// the broker accepts, then subscribes to `filters` again (a clean session forgets them).
    /// Runs until it succeeds; the caller decides when to give up (Ctrl-C, a deadline).
    pub async fn reconnect(&mut self, filters: &[String]) -> Result<()> {
        let mut pause = Duration::from_millis(100);
        loop {
            match tokio::time::timeout(self.connect_timeout, self.next_event()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
                Ok(Ok(_)) => continue,
                Ok(Err(_)) | Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
        // What arrived before the break is still news: the inbox keeps it.
        self.unacked = 0;
        self.subscribe(filters).await
    }

    /// Waits until what was published has left (and, at QoS 1/2, was acknowledged), then says
    /// goodbye to the broker; all of it within the connect timeout.
    pub async fn disconnect(&mut self) -> Result<()> {
        let bound = self.connect_timeout;
        let address = self.address.clone();
        let goodbye = async {
            while self.unacked > 0 {
                self.poll_once().await?;
            }
            self.send(|c| c.try_disconnect()).await?;
            loop {
                match self.next_event().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                    Ok(_) => {}
                    // Something queued before the goodbye could not be sent.
                    Err(e) => bail!(BrokerError(format!(
                        "lost the connection to the broker at {address} before everything was sent: {}",
                        why_lost(&e)
                    ))),
                }
            }
        };
        match tokio::time::timeout(bound, goodbye).await {
            Ok(result) => result,
            Err(_) if self.unacked > 0 => Err(anyhow!(BrokerError(format!(
                "the broker at {address} did not acknowledge {} within {}",
                crate::output::count(self.unacked, "message", "messages"),
                crate::output::duration(bound)
            )))),
            Err(_) => Err(anyhow!(BrokerError(format!(
                "the broker at {address} did not take the goodbye within {}",
                crate::output::duration(bound)
            )))),
        }
    }
}

/// A payload as the `--verbose` trace shows it: a JSON request's `Password` (a device's
/// `MqttPassword` in `FileDownload`/`FileUpload`) as `****`.
fn masked(payload: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(payload) {
        let mut hidden = false;
        for (key, value) in object.iter_mut() {
            if key.eq_ignore_ascii_case("password") {
                *value = serde_json::Value::String("****".into());
                hidden = true;
            }
        }
        if hidden {
            return serde_json::Value::Object(object).to_string();
        }
    }
    String::from_utf8_lossy(payload).into_owned()
}

/// Refuses a message no broker takes, before anything is sent: a topic that is empty, holds a
/// wildcard or NUL, or is longer than MQTT allows; a payload over `MAX_PAYLOAD`.
pub fn check_message(topic: &str, payload_len: usize) -> Result<()> {
    if topic.is_empty() {
        bail!("refusing to publish to an empty topic");
    }
    if let Err(e) = crate::topic::check_topic_word(topic) {
        bail!("refusing to publish to `{}`: {e}", escape(topic));
    }
    if topic.len() > usize::from(u16::MAX) {
        bail!(
            "refusing to publish to a topic of {} bytes: MQTT allows at most 65535",
            topic.len()
        );
    }
    if payload_len > MAX_PAYLOAD {
        bail!(
            "refusing to publish {payload_len} bytes to `{}`: more than the 1 MiB a broker is known to take",
            escape(topic)
        );
    }
    Ok(())
}

/// Does an MQTT topic filter (`stat/+/POWER`, `tele/#`) match this topic?
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut levels = topic.split('/');
    for part in filter.split('/') {
        match (part, levels.next()) {
            ("#", _) => return !topic.starts_with('$') || !filter.starts_with('#'),
            ("+", Some(_)) => {}
            (part, Some(level)) if part == level => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

/// The filters without those another one covers: a message matching two subscriptions would
/// be delivered twice. Linear in the number of filters: each filter's possible coverers (each
/// level itself or `+`, possibly cut short by `#`) are looked up, not every other filter.
pub fn narrowest(filters: &[String]) -> Vec<&String> {
    let all: HashSet<&str> = filters.iter().map(String::as_str).collect();
    let mut seen = HashSet::with_capacity(filters.len());
    filters
        .iter()
        .filter(|f| seen.insert(f.as_str()) && !covered_by_another(f, &all))
        .collect()
}

/// Is `f` covered by a filter in `all` other than itself?
fn covered_by_another(f: &str, all: &HashSet<&str>) -> bool {
    let levels: Vec<&str> = f.split('/').collect();
    if levels.len() > 12 {
        // Too many combinations to list: compare with each.
        return all.iter().any(|g| *g != f && filter_covers(g, f));
    }
    let mut found = false;
    coverers(&levels, 0, &mut String::new(), &mut |g| {
        found |= g != f && all.contains(g);
    });
    found
}

/// Calls `visit` with every filter that covers the filter of `levels`, built on `prefix`
/// (which holds `depth` levels already).
fn coverers(levels: &[&str], depth: usize, prefix: &mut String, visit: &mut dyn FnMut(&str)) {
    let mark = prefix.len();
    let separate = |prefix: &mut String| {
        if depth > 0 {
            prefix.push('/');
        }
    };
    // `#` here covers this level and every one below (and the level above itself).
    separate(prefix);
    prefix.push('#');
    visit(prefix);
    prefix.truncate(mark);
    let Some((first, rest)) = levels.split_first() else {
        visit(prefix);
        return;
    };
    let options: &[&str] = match *first {
        "#" => &[],
        "+" => &["+"],
        level => &[level, "+"],
    };
    for option in options {
        separate(prefix);
        prefix.push_str(option);
        coverers(rest, depth + 1, prefix, visit);
        prefix.truncate(mark);
    }
}

/// Does filter `g` match every topic filter `f` matches?
pub fn filter_covers(g: &str, f: &str) -> bool {
    let mut f_levels = f.split('/');
    for part in g.split('/') {
        match (part, f_levels.next()) {
            ("#", _) => return true,
            ("+", Some(level)) if level != "#" => {}
            (part, Some(level)) if part == level => {}
            _ => return false,
        }
    }
    f_levels.next().is_none()
}

/// Refuses a filter the broker would reject: `#` not last or not a whole level, `+` not a
/// whole level.
pub fn check_filter(filter: &str) -> Result<()> {
    if filter.is_empty() || filter.contains('\0') {
        bail!("`{}` is not an MQTT topic filter", filter.escape_default());
    }
    let parts: Vec<&str> = filter.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if part.contains('#') && (*part != "#" || i + 1 != parts.len()) {
            bail!(
                "in the filter `{filter}`, `#` must be a whole level and the last one (like `tele/#`)"
            );
        }
        if part.contains('+') && *part != "+" {
            bail!("in the filter `{filter}`, `+` must be a whole level (like `stat/+/POWER`)");
        }
    }
    Ok(())
}

/// How long a CONNECT may go unanswered before tasctl checks whether the server speaks first.
const PROBE_AFTER: Duration = Duration::from_secs(1);

/// The first line a server sends before it is spoken to, escaped and cut short; `None` when
/// it says nothing within a second (as an MQTT broker does) or cannot be reached.
async fn speaks_first(host: &str, port: u16) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let wait = Duration::from_secs(1);
    let mut stream = tokio::time::timeout(wait, tokio::net::TcpStream::connect((host, port)))
        .await
        .ok()?
        .ok()?;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(wait, stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let line = String::from_utf8_lossy(&buf[..n]);
    let line = line.lines().next().unwrap_or_default().trim();
    (n > 0).then(|| escape(&line.chars().take(40).collect::<String>()).into_owned())
}

/// Why an established connection ended, in words (no library internals).
fn why_lost(e: &ConnectionError) -> String {
    use rumqttc::StateError;
    match e {
        ConnectionError::Io(io) | ConnectionError::MqttState(StateError::Io(io)) => match io.kind()
        {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe => "the broker closed the connection".into(),
            _ => io.to_string(),
        },
        ConnectionError::MqttState(StateError::ConnectionAborted) => {
            "the broker closed the connection".into()
        }
        ConnectionError::MqttState(StateError::AwaitPingResp) | ConnectionError::NetworkTimeout => {
            "the broker stopped answering".into()
        }
        ConnectionError::MqttState(StateError::Deserialization(_)) => {
            "the broker sent something that is not MQTT".into()
        }
        ConnectionError::MqttState(_) | ConnectionError::NotConnAck(_) => {
            "the broker broke the MQTT protocol".into()
        }
        ConnectionError::ConnectionRefused(_) => "the broker refused the connection".into(),
        ConnectionError::Tls(tls) => format!("TLS failed ({tls})"),
        ConnectionError::FlushTimeout => "the broker stopped reading".into(),
        ConnectionError::RequestsDone => "the connection was closed".into(),
    }
}

/// Words for a server at the broker's address that does not speak MQTT (a web server, SSH).
fn not_mqtt(address: &str, what: &str) -> String {
    format!(
        "the server at {address} {what}: it is not an MQTT broker; check the host and the port (--broker mqtt://HOST:PORT; MQTT is usually 1883, or 8883 with mqtts://)"
    )
}

/// Words for a failed connection attempt. Library internals never reach the user.
fn connect_error(address: &str, e: ConnectionError, with_credentials: bool) -> String {
    use rumqttc::StateError;
    let closed = |io: &std::io::Error| {
        matches!(
            io.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
        )
    };
    match e {
        ConnectionError::NotConnAck(_)
        | ConnectionError::MqttState(
            StateError::Deserialization(_) | StateError::WrongPacket | StateError::Unsolicited(_),
        ) => not_mqtt(address, "answered, but not as an MQTT broker does"),
        ConnectionError::MqttState(StateError::Io(io)) | ConnectionError::Io(io) if closed(&io) => {
            not_mqtt(address, "closed the connection without an MQTT answer")
        }
        ConnectionError::MqttState(StateError::ConnectionAborted) => {
            not_mqtt(address, "closed the connection without an MQTT answer")
        }
        ConnectionError::MqttState(StateError::Io(io)) => {
            format!("cannot connect to {address}: {io}")
        }
        ConnectionError::MqttState(_) => not_mqtt(address, "did not follow the MQTT handshake"),
        ConnectionError::ConnectionRefused(code) => {
            let why = match code {
                ConnectReturnCode::RefusedProtocolVersion => {
                    "it does not speak MQTT 3.1.1 (bad protocol version)"
                }
                ConnectReturnCode::BadClientId => "it rejected the client identifier",
                ConnectReturnCode::ServiceUnavailable => "the server is unavailable",
                ConnectReturnCode::BadUserNamePassword => {
                    "bad user name or password; check --username and TASCTL_PASSWORD (or the profile's password_file)"
                }
                // mosquitto answers a wrong password this way too
                ConnectReturnCode::NotAuthorized if with_credentials => {
                    "not authorised: a wrong user name or password, or a user this broker does not let in; check --username and TASCTL_PASSWORD (or the profile's password_file)"
                }
                ConnectReturnCode::NotAuthorized => {
                    "not authorised: it wants a user name and password; give --username and set TASCTL_PASSWORD (or `[broker] username` and `password_file` in the profile)"
                }
                ConnectReturnCode::Success => "no reason given",
            };
            format!("the broker at {address} refused the connection: {why}")
        }
        ConnectionError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "cannot connect to {address}: connection refused; is the broker (mosquitto) running, and is this the right host and port? (--broker URL)"
        ),
        ConnectionError::Io(io)
            if io.to_string().contains("lookup") || io.to_string().contains("resolve") =>
        {
            format!("cannot connect to {address}: the host name does not resolve ({io})")
        }
        ConnectionError::Io(io) => format!("cannot connect to {address}: {io}"),
        ConnectionError::Tls(tls) => {
            let hint = if tls.to_string().contains("UnknownIssuer") {
                "; the server's certificate is not signed by a CA tasctl trusts: name its CA with `[broker] ca_file`"
            } else if tls.to_string().contains("NotValidForName") {
                "; the server's certificate is for another name: connect by the name it was issued for"
            } else {
                ""
            };
            format!("TLS with {address} failed: {tls}{hint}")
        }
        ConnectionError::NetworkTimeout => {
            format!(
                "the broker at {address} did not answer in time; is the host reachable and the port right?"
            )
        }
        ConnectionError::FlushTimeout => format!(
            "cannot connect to {address}: it stopped reading what tasctl sent; is it an MQTT broker, and is the port right?"
        ),
        ConnectionError::RequestsDone => {
            format!("cannot connect to {address}: the connection was closed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_never_show_a_device_password() {
        assert_eq!(
            masked(br#"{"Password":"hunter2","Type":2}"#),
            r#"{"Password":"****","Type":2}"#
        );
        assert_eq!(masked(b"ON"), "ON");
        assert_eq!(masked(br#"{"Id":3}"#), r#"{"Id":3}"#);
    }

    #[test]
    fn filters() {
        for (filter, topic, matches) in [
            ("tele/#", "tele/x/LWT", true),
            ("tele/#", "tele", true),
            ("stat/+/POWER", "stat/x/POWER", true),
            ("stat/+/POWER", "stat/x/y/POWER", false),
            ("+/stat/+", "kitchen/stat/RESULT", true),
            ("#", "$SYS/broker/uptime", false),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
        ] {
            assert_eq!(filter_matches(filter, topic), matches, "{filter} {topic}");
        }
        for (g, f, covers) in [
            ("tele/#", "tele/+/+", true),
            ("tele/+/+", "tele/#", false),
            ("tele/#", "tele/#", true),
            ("+/stat/+", "kitchen/stat/+", true),
            ("stat/+/+", "stat/kitchen/lamp/+", false),
            ("stat/x/+", "stat/x/POWER", true),
        ] {
            assert_eq!(filter_covers(g, f), covers, "{g} covers {f}");
        }
        let filters: Vec<String> = [
            "tele/#",
            "tele/+/+",
            "tele/x/LWT",
            "stat/x/+",
            "stat/x/POWER",
            "stat/x/POWER",
            "+/stat/+",
            "kitchen/stat/+",
            "a",
            "a/#",
            "/a",
            "+/a",
            "+/+/+/+",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let brute: Vec<&String> = filters
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                !filters
                    .iter()
                    .enumerate()
                    .any(|(j, g)| filter_covers(g, f) && (g != *f || j < *i))
            })
            .map(|(_, f)| f)
            .collect();
        assert_eq!(narrowest(&filters), brute);
        assert!(check_filter("stat/+/POWER").is_ok());
        for bad in ["", "a/#/b", "a#", "a/b+", "x\0"] {
            assert!(check_filter(bad).is_err(), "{bad:?}");
        }
    }
}
