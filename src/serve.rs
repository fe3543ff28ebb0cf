//! `upgrade --serve FILE`: a small HTTP/1.1 server inside tasctl for the firmware image, for
//! devices on networks with no internet. GET and HEAD of the one file (any other path is 404),
//! with Content-Length, each fetch told on `--verbose`.
//!
//! It listens on the LAN during an upgrade, so whoever connects is bounded: at most
//! `MAX_CONNECTIONS` at once (a new one pushes out the oldest that has not sent its request),
//! `HEAD_TIMEOUT` to send the request, `WRITE_TIMEOUT` per piece of the answer, and an accept
//! error (out of descriptors) is waited out, never retried in a spin. Hand-written rather than
//! a server crate: it serves one file from memory, and the bounds above are the whole of what
//! it needs (hyper would bring a second HTTP stack for one GET).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::output::{Output, escape};

/// The server, running on the current runtime until dropped.
pub struct Server {
    /// The URL devices are given.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The address a device would reach us at: the local address of a route toward the broker
/// (a UDP "connection" sends nothing, it only picks the route).
pub fn address_toward(host: &str, port: u16) -> Option<IpAddr> {
    let target = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .ok()?
        .next()?;
    let bind: SocketAddr = if target.is_ipv6() {
        "[::]:0".parse().ok()?
    } else {
        "0.0.0.0:0".parse().ok()?
    };
    let socket = std::net::UdpSocket::bind(bind).ok()?;
    socket.connect(target).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// The file's name as served: letters, digits and `._-` only.
fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "firmware.bin".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The URL devices are given for `file` served at `at`: `advertise` for the host when `at` is
/// a wildcard address.
pub fn url(file: &Path, at: SocketAddr, advertise: Option<IpAddr>) -> String {
    let host = if at.ip().is_unspecified() {
        advertise.unwrap_or(at.ip())
    } else {
        at.ip()
    };
    let host = match host {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    format!("http://{host}:{}/{}", at.port(), file_name(file))
}

/// The firmware keeps at most this much of `OtaUrl`, and cuts the rest silently.
const OTA_URL_MAX: usize = 100;

/// Refuses a URL the firmware's `OtaUrl` cannot hold, before anything is sent.
pub fn check_url_fits(url: &str) -> Result<()> {
    if url.len() > OTA_URL_MAX {
        bail!(
            "the image's URL `{}` has {} characters, and the firmware's OtaUrl holds {OTA_URL_MAX}; use a shorter file name (or --url)",
            escape(url),
            url.len()
        );
    }
    Ok(())
}

/// The largest image served: no ESP's flash holds more.
pub const IMAGE_LIMIT: u64 = 16 * 1024 * 1024;

/// Reads the image and starts listening on `listen`; the URL uses `advertise` for the host
/// when `listen` is a wildcard address.
pub async fn start(
    file: &Path,
    listen: SocketAddr,
    advertise: Option<IpAddr>,
    out: &Output,
) -> Result<Server> {
    let bytes = crate::files::read_bounded(file, "image", IMAGE_LIMIT)?;
    if bytes.is_empty() {
        bail!("the image {} is empty", file.display());
    }
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!(
            "cannot serve the image on {listen} (in use? --serve-address HOST:PORT picks another)"
        )
    })?;
    let bound = listener.local_addr()?;
    let url = url(file, bound, advertise);
    check_url_fits(&url)?;
    out.trace(format_args!(
        "serving {} at {url}",
        escape(&file.display().to_string())
    ));
    let image = Arc::new(bytes);
    let path = format!("/{}", file_name(file));
    let out = out.clone();
    let task = tokio::spawn(async move {
        let waiting = Arc::new(Waiting::default());
        let mut next = 0u64;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                // Out of descriptors, most often: wait for connections to end.
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            next += 1;
            let Some(pushed_out) = waiting.admit(next) else {
                // Every slot serves a download: this one is turned away.
                continue;
            };
            let (image, path, out, waiting) =
                (image.clone(), path.clone(), out.clone(), waiting.clone());
            let id = next;
            tokio::spawn(async move {
                // Served (its sender dropped) it can no longer be pushed out.
                let pushed_out = async {
                    if pushed_out.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                let pushed = tokio::select! {
                    _ = answer(stream, peer, &image, &path, &out, || waiting.started(id)) => false,
                    () = pushed_out => true,
                };
                waiting.ended(id, pushed);
            });
        }
    });
    Ok(Server { url, task })
}

/// At most this many connections at once.
const MAX_CONNECTIONS: usize = 64;
/// A client has this long to send its request (a device sends it at once).
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Each piece of an answer must leave within this time.
const WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// The pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The open connections: those still waiting for their request head can be pushed out, the
/// oldest first, by a newcomer when every slot is taken.
#[derive(Default)]
struct Waiting {
    /// How many are open, and those still waiting for their request, oldest first.
    state: Mutex<(usize, VecDeque<Pushable>)>,
}

/// A connection that has not sent its request: its id, and how to push it out.
type Pushable = (u64, oneshot::Sender<()>);

impl Waiting {
    /// Takes in connection `id`; the receiver fires when a newcomer pushes it out. `None`:
    /// no slot (every one is serving a download).
    fn admit(&self, id: u64) -> Option<oneshot::Receiver<()>> {
        let mut state = self
            .state
            .lock()
            .expect("the connection list is never poisoned");
        let (open, waiting) = &mut *state;
        if *open >= MAX_CONNECTIONS {
            let (_, oldest) = waiting.pop_front()?;
            let _ = oldest.send(());
            *open -= 1;
        }
        *open += 1;
        let (tx, rx) = oneshot::channel();
        waiting.push_back((id, tx));
        Some(rx)
    }

    /// Connection `id` sent its request: it is served, and no longer pushed out.
    fn started(&self, id: u64) {
        let mut state = self
            .state
            .lock()
            .expect("the connection list is never poisoned");
        state.1.retain(|(i, _)| *i != id);
    }

    /// Connection `id` is closed; a pushed-out one was already taken off the count.
    fn ended(&self, id: u64, pushed_out: bool) {
        let mut state = self
            .state
            .lock()
            .expect("the connection list is never poisoned");
        let (open, waiting) = &mut *state;
        waiting.retain(|(i, _)| *i != id);
        if !pushed_out {
            *open = open.saturating_sub(1);
        }
    }
}

/// The request head: up to the empty line (CRLF or a bare LF, as some clients send), at most
/// 8 KiB; `None` when the client closed first.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") || head.len() >= 8192 {
            return Ok(Some(head));
        }
        // One byte past the head is never read: the request has no body.
        let want = if head.ends_with(b"\n") || head.ends_with(b"\r") {
            1
        } else {
            buf.len().min(8192 - head.len())
        };
        let n = stream.peek(&mut buf[..want]).await?;
        if n == 0 {
            return Ok(None);
        }
        // Take bytes up to and including the first LF seen, so the end is never passed.
        let take = buf[..n]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(n, |i| i + 1);
        let n = stream.read(&mut buf[..take]).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
}

/// One request: the image for GET/HEAD of its path, 404 for other paths, 405 else.
async fn answer(
    mut stream: TcpStream,
    peer: SocketAddr,
    image: &[u8],
    path: &str,
    out: &Output,
    started: impl FnOnce(),
) -> std::io::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        _ => return Ok(()),
    };
    started();
    let line = String::from_utf8_lossy(&head);
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let status = match (method, target == path) {
        ("GET" | "HEAD", true) => "200 OK",
        ("GET" | "HEAD", false) => "404 Not Found",
        _ => "405 Method Not Allowed",
    };
    out.trace(format_args!(
        "{peer} {} {} -> {status}",
        escape(method),
        escape(target)
    ));
    let body: &[u8] = if status.starts_with("200") {
        image
    } else {
        b""
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let pieces = std::iter::once(header.as_bytes()).chain(
        (method == "GET")
            .then(|| body.chunks(16 * 1024))
            .into_iter()
            .flatten(),
    );
    for piece in pieces {
        match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(piece)).await {
            Ok(result) => result?,
            Err(_) => return Ok(()),
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.shutdown()).await;
    Ok(())
}
