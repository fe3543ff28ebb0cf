//! The playground broker: rumqttd inside the process, for `tasctl simulate --embedded`.
//!
//! For trying tasctl and for tests only; everything else talks to a real broker. rumqttd
//! keeps retained messages and sends last wills, which is what the simulated devices' LWTs
//! and native discovery need.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Where the embedded broker listens unless `--listen` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:1883";

/// Parses `--listen`: `HOST:PORT`, or a bare port on loopback.
pub fn listen_address(text: Option<&str>) -> Result<SocketAddr> {
    let text = text.unwrap_or(DEFAULT_LISTEN);
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    // A host name (`localhost:1883`): its first address.
    std::net::ToSocketAddrs::to_socket_addrs(text)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .with_context(|| {
            format!("--listen `{text}` is not an address; write it like 127.0.0.1:1883 or localhost:1883")
        })
}

/// Starts the broker on its own threads and returns once it accepts connections.
pub fn start(listen: SocketAddr, out: crate::output::Output) -> Result<()> {
    match TcpListener::bind(listen) {
        Ok(probe) => drop(probe),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "{listen} is taken: a broker is probably running there already; use it with plain `tasctl simulate --broker mqtt://{listen}`, or pick another address with --listen"
        ),
        Err(e) => bail!("cannot listen on {listen}: {e}"),
    }
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        max_payload_size: 1024 * 1024,
        max_inflight_count: 500,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "tasctl-playground".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_000,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("playground".to_string(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                out.warn(&format!("the embedded broker stopped: {e}"));
            }
        })
        .context("cannot start the embedded broker")?;
    // rumqttd signals nothing when its listener is up: try to connect, for at most 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            bail!("the embedded broker did not start listening on {listen}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
