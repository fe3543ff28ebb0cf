//! `tasctl watch`: a Tasmota-aware live tail of stat/tele (and cmnd) traffic.
//!
//! Subscribes with the narrowest filters the grammar derives for what was asked, reads every
//! message back to its device (profile name, topic, prefix, suffix) through the inverse
//! grammar, and prints it as it comes: a line for people, or one JSON object per line. Ends
//! with 0 at `--count`, `--for`, Ctrl-C or a closed stdout; rides out broker restarts.

use std::fmt;
use std::time::Duration;

use anyhow::{Result, bail};
use colored::Colorize;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::clock;
use crate::directory::Directory;
use crate::error::{self, BrokerError};
use crate::json;
use crate::mqtt::{self, Session};
use crate::output::{self, Output, escape};
use crate::settings::Settings;
use crate::target::{self, Target};
use crate::topic::Class;

/// What to watch, as the command line said.
pub struct Request {
    pub targets: Vec<String>,
    pub classes: Vec<Class>,
    pub only: Vec<String>,
    pub raw: Vec<String>,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
}

/// One message as shown: the contract's JSON line.
#[derive(Serialize)]
pub struct Line<'a> {
    pub time: String,
    pub device: Option<&'a str>,
    pub topic: &'a str,
    pub prefix: Option<Class>,
    pub suffix: Option<&'a str>,
    pub mqtt_topic: &'a str,
    pub retained: bool,
    pub payload: Payload<'a>,
    /// Width to pad the device column to, for people.
    #[serde(skip)]
    pub width: usize,
}

/// A payload as shown: JSON when it is JSON, a string when it is text, `{"base64": ...}`
/// otherwise. One-line JSON is passed through as it came, without being rebuilt.
pub enum Payload<'a> {
    Json(&'a RawValue),
    /// JSON spread over several lines, made compact so that a JSON line stays one line.
    Compacted(String),
    Text(&'a str),
    Binary(String),
}

pub fn payload(bytes: &[u8]) -> Payload<'_> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Payload::Binary(base64(bytes));
    };
    match serde_json::from_str::<&RawValue>(text) {
        // Nesting deeper than JSON readers accept (serde_json, jq) is passed on as text, and
        // so is JSON with an escape strict readers refuse (a lone surrogate).
        Ok(_) if nested_deeper_than(bytes, 128) || !json::safe(text) => Payload::Text(text),
        // A newline in valid JSON is whitespace between tokens: pretty printing.
        Ok(raw) if !bytes.contains(&b'\n') && !bytes.contains(&b'\r') => Payload::Json(raw),
        Ok(_) => Payload::Compacted(json::compact(text)),
        Err(_) => Payload::Text(text),
    }
}

/// Does valid JSON nest arrays and objects deeper than `limit`?
fn nested_deeper_than(json: &[u8], limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

impl Serialize for Payload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Payload::Json(raw) => raw.serialize(s),
            Payload::Compacted(text) => serde_json::from_str::<&RawValue>(text)
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
            Payload::Text(text) => s.serialize_str(text),
            Payload::Binary(b64) => {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("base64", b64)?;
                map.end()
            }
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = clock::local_time_of_day();
        write!(f, "{} ", time.dimmed())?;
        match (self.prefix, self.suffix) {
            (Some(prefix), Some(suffix)) => {
                let name = escape(self.device.unwrap_or(self.topic));
                let pad = self.width.saturating_sub(output::width(&name));
                let suffix = escape(suffix);
                let suffix_pad = 8usize.saturating_sub(output::width(&suffix));
                write!(
                    f,
                    "{}{} {} {}{} ",
                    name.cyan(),
                    " ".repeat(pad),
                    prefix.to_string().dimmed(),
                    suffix.bold(),
                    " ".repeat(suffix_pad)
                )?;
            }
            _ => write!(f, "{} ", escape(self.mqtt_topic).cyan())?,
        }
        let text = match &self.payload {
            Payload::Json(raw) => escape(raw.get().trim()).into_owned(),
            Payload::Compacted(text) => escape(text).into_owned(),
            Payload::Text(text) => escape(text).into_owned(),
            Payload::Binary(b64) => format!("<binary, base64 {b64}>"),
        };
        let suffix = self.suffix.unwrap_or_default();
        let power = suffix.starts_with("POWER") || (suffix == "RESULT" && text.contains("\"POWER"));
        let shown = match (suffix, text.as_str()) {
            ("LWT", "Online") => text.green().bold().to_string(),
            ("LWT", "Offline") => text.red().bold().to_string(),
            _ if power => text.yellow().bold().to_string(),
            _ => text,
        };
        write!(f, "{shown}")?;
        if self.retained {
            write!(f, " {}", "(retained)".dimmed())?;
        }
        writeln!(f)
    }
}

/// How messages are read back to devices, and which are shown.
struct Reader {
    directory: Directory,
    classes: Vec<Class>,
    only: Vec<String>,
    raw: Vec<String>,
}

/// What a message turned out to be, borrowing from the reader and the topic.
struct Reading<'a> {
    device: Option<&'a str>,
    topic: &'a str,
    class: Option<Class>,
    suffix: Option<&'a str>,
}

impl Reader {
    fn read<'a>(&'a self, mqtt_topic: &'a str) -> Option<Reading<'a>> {
        let device = self.directory.lookup(mqtt_topic).map(|hit| Reading {
            device: hit
                .device
                .and_then(|i| self.directory.device(i).name.as_deref()),
            topic: hit.topic,
            class: Some(hit.class),
            suffix: Some(hit.suffix),
        });
        let reading = match device {
            Some(r) if r.class.is_some_and(|c| self.classes.contains(&c)) => r,
            _ if self.raw.iter().any(|f| mqtt::filter_matches(f, mqtt_topic)) => Reading {
                device: None,
                topic: mqtt_topic,
                class: None,
                suffix: None,
            },
            _ => return None,
        };
        if self.only.is_empty() {
            return Some(reading);
        }
        let suffix = reading
            .suffix
            .unwrap_or_else(|| mqtt_topic.rsplit('/').next().unwrap_or_default());
        self.only
            .iter()
            .any(|o| only_matches(o, suffix))
            .then_some(reading)
    }
}

/// `--only WORD`: the suffix WORD, or WORD followed by digits as the firmware numbers its
/// outputs and sensors (`POWER` shows `POWER`, `POWER1` ... `POWER32`), in any case.
fn only_matches(word: &str, suffix: &str) -> bool {
    suffix.len() >= word.len()
        && suffix.is_char_boundary(word.len())
        && suffix[..word.len()].eq_ignore_ascii_case(word)
        && suffix[word.len()..].bytes().all(|b| b.is_ascii_digit())
}

/// The subscriptions and the reader for a request; a TARGET that is no profile name is
/// watched as a topic, with a warning (it is most often a typo).
fn plan(settings: &Settings, request: &Request, out: &Output) -> Result<(Vec<String>, Reader)> {
    for filter in &request.raw {
        mqtt::check_filter(filter)?;
    }
    let profile = &settings.profile;
    let mut directory = Directory::from_profile(profile);
    let mut filters = Vec::new();
    if request.targets.is_empty() && request.raw.is_empty() {
        for layout in profile.layouts() {
            filters.extend(request.classes.iter().map(|&c| layout.all_filter(c)));
        }
        // A layout-wide filter cannot reach a multi-level topic in the middle of a path
        // (`kitchen/lamp/stat/...` under `+/stat/+`): such devices get their own filter.
        let wide = filters.clone();
        for device in profile.devices.values() {
            for &class in &request.classes {
                let own = device.layout.device_filter(class, &device.vars())?;
                if !wide.iter().any(|w| mqtt::filter_covers(w, &own)) {
                    filters.push(own);
                }
            }
        }
    } else {
        // Only what was asked for is read through the layouts.
        directory.clear_layouts();
    }
    for t in target::resolve(&request.targets, profile)? {
        let devices = match t {
            Target::Device(d) => vec![d],
            Target::Group(g) => match g.members {
                Some(members) if !g.open => members,
                _ => {
                    for layout in &g.layouts {
                        filters.extend(request.classes.iter().map(|&c| layout.all_filter(c)));
                        directory.add_layout(layout);
                    }
                    continue;
                }
            },
        };
        for d in devices {
            for &class in &request.classes {
                filters.push(d.layout.device_filter(class, &d.vars())?);
            }
            if d.name.is_none() {
                let hint = profile
                    .nearest_name(&d.topic)
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                out.warn(&format!(
                    "`{}` is not a name in the profile; watching it as a Topic{hint}",
                    escape(&d.topic)
                ));
                directory.add(d);
            }
        }
    }
    filters.extend(request.raw.iter().cloned());
    let reader = Reader {
        directory,
        classes: request.classes.clone(),
        only: request.only.clone(),
        raw: request.raw.clone(),
    };
    Ok((filters, reader))
}

pub async fn run(
    settings: &Settings,
    session: &mut Session,
    request: Request,
    out: &Output,
) -> Result<u8> {
    let (filters, reader) = plan(settings, &request, out)?;
    // The name column grows to the longest name seen, so columns line up as far as they can.
    let mut width = settings
        .profile
        .devices
        .keys()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    session.subscribe(&filters).await?;
    if out.verbose() || out.interactive() {
        let shown: Vec<String> = mqtt::narrowest(&filters)
            .into_iter()
            .map(|f| crate::output::escape(f).into_owned())
            .collect();
        out.note(&format!("watching {} (Ctrl-C to stop)", shown.join(" ")));
    }
    let deadline = request.duration.map(|d| Instant::now() + d);
    let mut shown = 0u64;
    if request.count == Some(0) {
        return Ok(error::OK);
    }
    loop {
        // A message already at hand is taken at once; before waiting, what was shown is sent.
        let message = match now_or_never(session.recv()) {
            Some(_) if crate::signal::is_interrupted() => break,
            Some(m) => m,
            None => {
                out.flush()?;
                tokio::select! {
                    m = session.recv() => m,
                    _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => break,
                    _ = crate::signal::interrupted() => break,
                }
            }
        };
        let message = match message {
            Ok(m) => m,
            Err(e) if e.is::<BrokerError>() => {
                out.note(&format!("{e:#}; reconnecting"));
                tokio::select! {
                    r = session.reconnect(&filters) => r?,
                    _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => break,
                    _ = crate::signal::interrupted() => break,
                }
                out.note(&format!("reconnected to {}", session.address()));
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(reading) = reader.read(&message.topic) else {
            continue;
        };
        let name = reading.device.unwrap_or(reading.topic);
        if name.len() > width {
            width = width.max(name.chars().count());
        }
        let line = Line {
            time: if out.json() {
                clock::utc_millis()
            } else {
                String::new()
            },
            device: reading.device,
            topic: reading.topic,
            prefix: reading.class,
            suffix: reading.suffix,
            mqtt_topic: &message.topic,
            retained: message.retain,
            payload: payload(&message.payload),
            width,
        };
        out.stream(&line)?;
        shown += 1;
        if request.count.is_some_and(|n| shown >= n) {
            break;
        }
    }
    out.flush()?;
    Ok(error::OK)
}

/// Polls a future once: its output if it is ready now, else `None` (and the future is dropped;
/// `Session::recv` loses nothing that way, the message stays in the event loop).
fn now_or_never<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// The contract's persistent session: client id `tasctl-NAME`, clean session off, QoS 1.
pub fn session_options(name: &str) -> Result<(String, u8)> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() || name.len() > 64 || !name.chars().all(plain) {
        bail!(
            "a session name is a plain word of up to 64 letters, digits, - and _, not `{}`",
            crate::output::escape(name)
        );
    }
    Ok((format!("tasctl-{name}"), 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> String {
        serde_json::to_string(&payload(bytes)).unwrap()
    }

    #[test]
    fn payloads() {
        assert_eq!(
            json(br#"{"POWER":"ON","Dimmer":5}"#),
            r#"{"POWER":"ON","Dimmer":5}"#,
            "as it came"
        );
        assert_eq!(
            json(b"{\n  \"POWER\": \"ON\"\n}"),
            r#"{"POWER":"ON"}"#,
            "pretty JSON made one line"
        );
        assert_eq!(json(b"ON"), r#""ON""#);
        assert_eq!(json(b"12"), "12");
        assert_eq!(json(b""), r#""""#);
        assert_eq!(json(b"line\nbreak"), r#""line\nbreak""#);
        assert_eq!(json(&[0xff, 0x00, 0x10]), r#"{"base64":"/wAQ"}"#);
        let deep = "[".repeat(10_000);
        assert_eq!(
            json(deep.as_bytes()),
            format!("{:?}", deep),
            "not JSON: kept as text"
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            json(deep.as_bytes()),
            format!("{:?}", deep),
            "too deep for JSON readers: kept as text"
        );
        let fine = format!(r#"{{"a":"[[[[{}"}}"#, "[".repeat(300));
        assert_eq!(
            json(fine.as_bytes()),
            fine,
            "brackets inside strings are not nesting"
        );
    }

    #[test]
    fn base64_like_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_payload_becomes_one_json_line(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                let line = serde_json::to_string(&payload(&bytes)).unwrap();
                prop_assert!(!line.contains('\n'));
                prop_assert!(serde_json::from_str::<serde_json::Value>(&line).is_ok());
            }
        }
    }
}
