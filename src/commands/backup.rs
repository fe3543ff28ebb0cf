//! `tasctl backup TARGET... [--dir DIR] [--keep N]`: every device's settings, saved through
//! the firmware's MQTT file transfer (`FileDownload`, type 2), no HTTP.
//!
//! One conversation per device, all at once over the one connection, one transfer per device
//! (the firmware holds a single session): `Status 5` for the MAC when the profile does not
//! know it, then `{"Password":...,"Type":2}`, `Started`, the header (Id, Size), a chunk per
//! request, the MD5, `Done`. Every reply is bounded; a transfer that ends early is aborted on
//! the device (`FileDownload 0`). The file and its sidecar are written atomically, mode 0600,
//! the moment the MD5 checks out: `DIR/<MAC>/<UTC>_<Topic>_<version>.dmp` and `.json`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine as _;
use colored::Colorize;
use md5::Digest as _;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::ask::json_object;
use crate::engine::{self, Conversation, End, Heard, Outbox, Plan};
use crate::mqtt::Session;
use crate::output::{Output, escape};
use crate::profile::{Device, Profile};
use crate::report::{DeviceResult, Results, Verdict};
use crate::topic::{self, Class};
use crate::values::Secret;

/// Where and how backups are kept.
#[derive(Debug, Clone)]
pub struct Options {
    pub dir: PathBuf,
    /// Keep the newest N backups per MAC.
    pub keep: Option<usize>,
    /// The bound on each reply (the firmware's own scripts allow 5 s).
    pub per_reply: Duration,
}

#[derive(Debug, Default, Serialize)]
pub struct BackupData {
    pub file: Option<String>,
    pub size: Option<usize>,
    pub md5: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Asked `Status 5` for the MAC and the host name.
    Mac,
    /// Sent the opening request: `Started` and the header come next.
    Opening,
    /// Asking chunk after chunk.
    Chunks,
    /// The MD5 checked out: `Done` comes next.
    Md5,
    Finished,
}

pub struct Backup {
    device: Device,
    password: Secret,
    options: Options,
    mac: Option<String>,
    /// As the device reports it (Status 5).
    hostname: Option<String>,
    stage: Stage,
    id: Option<u64>,
    size: usize,
    data: Vec<u8>,
    deadline: Instant,
    heard: bool,
    result: Option<(Verdict, String)>,
    saved: BackupData,
    bar: Option<indicatif::ProgressBar>,
}

impl Backup {
    fn new(device: Device, password: Secret, options: Options, out: Option<&Output>) -> Backup {
        let bar = out.and_then(|o| o.bar(device.name.as_deref().unwrap_or(&device.topic), 4096));
        Backup {
            mac: device.mac.clone(),
            hostname: None,
            device,
            password,
            deadline: Instant::now() + options.per_reply,
            options,
            stage: Stage::Mac,
            id: None,
            size: 0,
            data: Vec::new(),
            heard: false,
            result: None,
            saved: BackupData::default(),
            bar,
        }
    }

    fn open(&mut self, out: &mut Outbox) {
        let request = json!({"Password": self.password.expose(), "Type": 2});
        let shown = json!({"Password": "********", "Type": 2});
        out.secret_command("FileDownload", request.to_string(), shown.to_string());
        self.stage = Stage::Opening;
        self.deadline = Instant::now() + self.options.per_reply;
    }

    /// One chunk request; a device that sends empty chunks or more than it announced cannot
    /// make the transfer go on forever: every chunk must bring at least one byte.
    fn next_chunk(&mut self, out: &mut Outbox) {
        // Anything but `0` asks for the next chunk; the firmware's scripts send `?`.
        out.command("FileDownload", "?");
        self.deadline = Instant::now() + self.options.per_reply;
    }

    /// Ends the transfer with this verdict; an open session is aborted on the device.
    fn fail(&mut self, verdict: Verdict, why: String, out: &mut Outbox) {
        if matches!(self.stage, Stage::Opening | Stage::Chunks | Stage::Md5) {
            out.command("FileDownload", "0");
        }
        self.stage = Stage::Finished;
        if let Some(bar) = &self.bar {
            bar.abandon_with_message(why.clone());
        }
        self.result = Some((verdict, why));
    }

    /// The checked bytes, written where they belong.
    fn save(&mut self) -> Result<()> {
        let mac = self.mac.clone().unwrap_or_else(|| "unknown-mac".into());
        let dump = crate::dump::check(&self.data).ok();
        let version = dump
            .as_ref()
            .map(|d| d.version.clone())
            .unwrap_or_else(|| "unknown".into());
        let time = chrono::Utc::now();
        let safe_topic: String = self
            .device
            .topic
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = format!("{}_{safe_topic}_{version}", time.format("%Y%m%dT%H%M%SZ"));
        let folder = self.options.dir.join(&mac);
        let file = folder.join(format!("{stem}.dmp"));
        let md5 = format!("{:x}", md5::Md5::digest(&self.data));
        crate::files::write_new(&file, &self.data, 0o600)
            .with_context(|| format!("cannot save the backup of `{}`", self.device.topic))?;
        let sidecar = json!({
            "mac": mac,
            "topic": self.device.topic,
            "hostname": self.hostname.clone().or_else(|| self.device.hostname.clone()),
            "version": version,
            "chip": dump.as_ref().map(|d| crate::dump::chip_name(d.chip)),
            "size": self.data.len(),
            "md5": md5,
            "time": time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "device": self.device.name,
        });
        crate::files::write_new(
            &folder.join(format!("{stem}.json")),
            format!("{sidecar:#}\n").as_bytes(),
            0o600,
        )?;
        if let Some(keep) = self.options.keep {
            prune(&folder, keep, &file)?;
        }
        self.saved = BackupData {
            file: Some(file.display().to_string()),
            size: Some(self.data.len()),
            md5: Some(md5),
            version: Some(version),
        };
        Ok(())
    }
}

/// Is this a backup tasctl wrote: its own name (`<UTC>_<topic>_<version>.dmp`) with its
/// sidecar beside it? Nothing else in a backup folder is ever removed.
fn ours(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let stamped = name.len() > 17
        && name.bytes().take(16).enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        })
        && name.as_bytes()[16] == b'_';
    stamped
        && name.ends_with(".dmp")
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
        && std::fs::symlink_metadata(path.with_extension("json")).is_ok_and(|m| m.is_file())
}

/// Keeps the newest `keep` backups tasctl wrote in one MAC's folder (by their time-stamped
/// names), always including the one just written; the user's own files are never touched.
fn prune(folder: &Path, keep: usize, written: &Path) -> Result<()> {
    let mut dumps: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p != written && ours(p))
        .collect();
    dumps.sort();
    // The one just written is always kept, and counts as one of `keep`.
    let old = dumps.len().saturating_sub(keep.saturating_sub(1));
    for dump in &dumps[..old] {
        std::fs::remove_file(dump).with_context(|| format!("cannot remove {}", dump.display()))?;
        let _ = std::fs::remove_file(dump.with_extension("json"));
    }
    Ok(())
}

impl Conversation for Backup {
    fn start(&mut self, out: &mut Outbox) {
        // Status 5 for the MAC (the folder) and the host name (the sidecar), even when the
        // profile knows the MAC: the device's own word is what the file belongs to.
        out.command("Status", "5");
    }

    fn hear(&mut self, heard: &Heard, out: &mut Outbox) {
        if heard.class != Class::Stat || heard.retained || self.stage == Stage::Finished {
            return;
        }
        if self.stage == Stage::Mac && heard.suffix == "STATUS5" {
            self.heard = true;
            let net = json_object(heard.payload)
                .and_then(|mut o| o.remove("StatusNET"))
                .unwrap_or_default();
            self.hostname = net
                .get("Hostname")
                .and_then(Value::as_str)
                .map(String::from);
            let mac = net
                .get("Mac")
                .and_then(Value::as_str)
                .and_then(topic::normalize_mac)
                .or_else(|| self.mac.clone());
            match mac {
                Some(mac) => {
                    self.mac = Some(mac);
                    self.open(out);
                }
                None => self.fail(
                    Verdict::Rejected,
                    "did not tell its MAC (Status 5)".into(),
                    out,
                ),
            }
            return;
        }
        if heard.suffix != "FILEDOWNLOAD" {
            return;
        }
        self.heard = true;
        let Some(reply) = json_object(heard.payload) else {
            return self.fail(
                Verdict::Rejected,
                "sent a chunk that is not JSON (binary mode was not asked for)".into(),
                out,
            );
        };
        if let Some(status) = reply.get("FileDownload").and_then(Value::as_str) {
            match (status, self.stage) {
                ("Started", _) => {}
                ("Done", Stage::Md5) => {
                    self.stage = Stage::Finished;
                    match self.save() {
                        Ok(()) => {
                            if let Some(bar) = &self.bar {
                                bar.finish_with_message("saved");
                            }
                            self.result = Some((Verdict::Ok, String::new()));
                        }
                        Err(e) => self.fail(Verdict::Failed, format!("{e:#}"), out),
                    }
                }
                ("Error 1", _) => self.fail(Verdict::Rejected, "the device refused: Error 1 (a wrong device password; see --device-password-file)".into(), out),
                (text, _) => self.fail(Verdict::Rejected, format!("the device answered `{text}`"), out),
            }
            return;
        }
        let id = reply.get("Id").and_then(Value::as_u64);
        if let (Some(size), Stage::Opening) =
            (reply.get("Size").and_then(Value::as_u64), self.stage)
        {
            if size == 0 || size > super::restore::DUMP_LIMIT {
                return self.fail(
                    Verdict::Rejected,
                    format!(
                        "announced a settings file of {size} bytes; refused (a settings file has 1 byte to 64 KiB, 4096 today)"
                    ),
                    out,
                );
            }
            self.id = id;
            self.size = size as usize;
            if let Some(bar) = &self.bar {
                bar.set_length(size);
            }
            self.stage = Stage::Chunks;
            return self.next_chunk(out);
        }
        if self.stage != Stage::Chunks || id != self.id {
            return self.fail(
                Verdict::Rejected,
                format!("sent a reply of another transfer (Id {id:?})"),
                out,
            );
        }
        if let Some(data) = reply.get("Data").and_then(Value::as_str) {
            match base64::engine::general_purpose::STANDARD.decode(data) {
                Ok(bytes) if bytes.is_empty() => self.fail(
                    Verdict::Rejected,
                    "sent an empty chunk (a transfer that makes no progress is ended)".into(),
                    out,
                ),
                Ok(bytes) if self.data.len() + bytes.len() <= self.size => {
                    self.data.extend_from_slice(&bytes);
                    if let Some(bar) = &self.bar {
                        bar.set_position(self.data.len() as u64);
                    }
                    self.next_chunk(out);
                }
                Ok(_) => self.fail(
                    Verdict::Rejected,
                    "sent more than it announced (a chunk came twice?)".into(),
                    out,
                ),
                Err(_) => self.fail(
                    Verdict::Rejected,
                    "sent a chunk that is not base64".into(),
                    out,
                ),
            }
        } else if let Some(md5) = reply.get("Md5").and_then(Value::as_str) {
            let ours = format!("{:x}", md5::Md5::digest(&self.data));
            if self.data.len() != self.size {
                self.fail(
                    Verdict::Rejected,
                    format!(
                        "ended after {} of {} bytes (a chunk was lost?)",
                        self.data.len(),
                        self.size
                    ),
                    out,
                );
            } else if !md5.eq_ignore_ascii_case(&ours) {
                self.fail(
                    Verdict::Rejected,
                    "the download does not match its MD5".into(),
                    out,
                );
            } else {
                self.stage = Stage::Md5;
                self.deadline = Instant::now() + self.options.per_reply;
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        (self.stage != Stage::Finished).then_some(self.deadline)
    }

    fn expire(&mut self, out: &mut Outbox) {
        let wait = crate::output::duration(self.options.per_reply);
        let why = if !self.heard {
            format!("no response within {wait}")
        } else {
            format!("stopped answering mid-transfer (nothing for {wait})")
        };
        self.fail(Verdict::Silent, why, out);
    }

    fn done(&self) -> bool {
        self.stage == Stage::Finished
    }

    fn abort(&mut self, out: &mut Outbox) {
        if matches!(self.stage, Stage::Opening | Stage::Chunks | Stage::Md5) {
            out.command("FileDownload", "0");
        }
    }
}

/// One transfer per device; `out` shows progress bars (none in a dry run).
pub fn plan(
    parties: Vec<(Device, Secret)>,
    options: &Options,
    out: Option<&Output>,
) -> Plan<Backup> {
    Plan {
        parties: parties
            .into_iter()
            .map(|(device, password)| {
                let backup = Backup::new(device.clone(), password, options.clone(), out);
                (device, backup)
            })
            .collect(),
        ..Plan::default()
    }
}

/// What a dry run says follows the first step.
pub const THEN: &str = "each device sends its settings in chunks (FileDownload), checked by MD5, saved under the backup directory";

pub async fn run(
    session: &mut Session,
    plan: Plan<Backup>,
    profile: &Profile,
) -> Result<Results<BackupData>> {
    // No open group: nobody joins a backup.
    let outcome = engine::run(session, plan, profile, |_| None).await?;
    let interrupted = outcome.end == End::Interrupted;
    let mut rows = Vec::new();
    for party in outcome.parties {
        let mut backup = party.conversation;
        let (mut verdict, mut error) = backup
            .result
            .take()
            .unwrap_or((Verdict::Silent, "no response".into()));
        if interrupted && backup.stage != Stage::Finished {
            (verdict, error) = (Verdict::Interrupted, "interrupted".into());
        }
        if verdict == Verdict::Silent && party.lwt.as_deref() == Some(party.device.lwt_offline()) {
            error.push_str("; offline (LWT)");
        }
        if let Some(bar) = &backup.bar {
            bar.finish_and_clear();
        }
        rows.push(DeviceResult {
            device: party.device.name.clone(),
            topic: party.device.topic.clone(),
            ok: verdict == Verdict::Ok,
            data: backup.saved,
            error: (verdict != Verdict::Ok).then_some(error),
            member: true,
            verdict,
        });
    }
    Ok(Results(rows))
}

impl fmt::Display for Results<BackupData> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 4]> = self
            .0
            .iter()
            .map(|r| match (&r.error, &r.data.file) {
                (None, Some(file)) => [
                    r.label().to_string(),
                    file.clone(),
                    r.data.size.map_or_else(String::new, |s| s.to_string()),
                    r.data.version.clone().unwrap_or_default(),
                ],
                (error, _) => [
                    r.label().to_string(),
                    error.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                ],
            })
            .collect();
        crate::output::table(f, ["DEVICE", "FILE", "SIZE", "VERSION"], &rows)?;
        let failed = self.0.iter().filter(|r| !r.ok).count();
        if failed > 0 {
            writeln!(
                f,
                "{}",
                escape(&format!(
                    "{} not saved",
                    crate::output::count(failed, "device", "devices")
                ))
                .red()
            )?;
        }
        Ok(())
    }
}
