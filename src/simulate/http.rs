//! The simulated device's OTA download: an HTTP/1.1 GET of its `OtaUrl`, with the error words
//! of the ESP8266 HTTP update client (`Wrong HTTP Code 404`, `Connection Failed`).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Images are small in the simulator; a real one is about 600 KB.
const MAX_IMAGE: usize = 8 * 1024 * 1024;

/// GETs `url` (`http://host[:port]/path`), at most `limit` long in all.
pub async fn get(url: &str, limit: Duration) -> Result<Vec<u8>, String> {
    match tokio::time::timeout(limit, fetch(url)).await {
        Ok(result) => result,
        Err(_) => Err("read Timeout".into()),
    }
}

async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "Wrong URL: this build has no HTTPS client".to_string())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .map_err(|_| "Connection Failed".to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: ESP8266-http-Update\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|_| "Connection Lost".to_string())?;
    let mut response = Vec::new();
    stream
        .take(MAX_IMAGE as u64 + 64 * 1024)
        .read_to_end(&mut response)
        .await
        .map_err(|_| "Connection Lost".to_string())?;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "Wrong HTTP Code 0".to_string())?;
    let head = String::from_utf8_lossy(&response[..head_end]);
    let code: u16 = head
        .lines()
        .next()
        .and_then(|status| status.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if code != 200 {
        return Err(format!("Wrong HTTP Code {code}"));
    }
    Ok(response[head_end + 4..].to_vec())
}
