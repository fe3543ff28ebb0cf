//! `upgrade --serve FILE`: a small HTTP/1.1 server inside tasctl for the firmware image, for
//! devices on networks with no internet. GET and HEAD of the one file (any other path is 404),
//! with Content-Length, any number of downloads at once, each fetch told on `--verbose`.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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

/// Reads the image and starts listening on `listen`; the URL uses `advertise` for the host
/// when `listen` is a wildcard address.
pub async fn start(
    file: &Path,
    listen: SocketAddr,
    advertise: Option<IpAddr>,
    out: &Output,
) -> Result<Server> {
    let bytes =
        std::fs::read(file).with_context(|| format!("cannot read the image {}", file.display()))?;
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
    out.trace(format_args!(
        "serving {} at {url}",
        escape(&file.display().to_string())
    ));
    let image = Arc::new(bytes);
    let path = format!("/{}", file_name(file));
    let out = out.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let (image, path, out) = (image.clone(), path.clone(), out.clone());
            tokio::spawn(async move {
                let _ = answer(stream, peer, &image, &path, &out).await;
            });
        }
    });
    Ok(Server { url, task })
}

/// One request: the image for GET/HEAD of its path, 404 for other paths, 405 else.
async fn answer(
    mut stream: TcpStream,
    peer: SocketAddr,
    image: &[u8],
    path: &str,
    out: &Output,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
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
    stream.write_all(header.as_bytes()).await?;
    if method == "GET" {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}
