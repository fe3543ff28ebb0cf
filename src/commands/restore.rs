//! `tasctl restore TARGET FILE [--force]`: a settings file sent back over MQTT
//! (`FileUpload`, type 2), then the device followed through its restart.
//!
//! Before anything is sent: the file is a valid dump (4096 bytes, CRC32 after de-obfuscation),
//! its chip family is the device's (always; the firmware would refuse it), and its sidecar's
//! MAC is the device's (unless `--force`: a restored identity on another device makes two
//! devices kick each other off the broker). Then: the opening request, chunks of the
//! device's `MaxSize` as compact JSON, the MD5, the verdict (`Done`, `MD5 mismatch`,
//! `Failed`, `Error n`), the LWT going offline and online, `INFO1`, and `Status 2` for the
//! version it runs.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use colored::Colorize;
use md5::Digest as _;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::ask::json_object;
use crate::dump;
use crate::engine::{self, Conversation, End, Heard, Outbox, Plan};
use crate::mqtt::Session;
use crate::output::escape;
use crate::profile::{Device, Profile};
use crate::report::{DeviceResult, Results, Verdict};
use crate::topic::{self, Class};
use crate::values::Secret;

/// A settings file, read and checked.
#[derive(Debug, Clone)]
pub struct File {
    pub path: std::path::PathBuf,
    pub bytes: Vec<u8>,
    pub name: String,
    pub dump: dump::Dump,
    /// The MAC its sidecar names, if it has one.
    pub mac: Option<String>,
}

/// The largest settings file: 4096 bytes today, more on file-system builds with driver
/// settings; 64 KiB is far beyond any.
pub const DUMP_LIMIT: u64 = 64 * 1024;

/// The time stamp `tasctl backup` puts at the start of its file names, `20261204T221500Z`.
fn time_in_name(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    let stamp = name.get(..16)?;
    let ok = stamp.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    (ok && name[16..].starts_with('_')).then_some(stamp)
}

/// The file FILE... names: itself; in a MAC folder, the newest backup tasctl wrote there; of
/// several files (a shell glob), the newest by the time in its name (sidecars are skipped).
/// With a choice made, the second value says which and among how many.
pub fn pick(paths: &[std::path::PathBuf]) -> Result<(std::path::PathBuf, Option<String>)> {
    let candidates: Vec<std::path::PathBuf> = match paths {
        [one] if one.is_dir() => {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(one)
                .with_context(|| format!("cannot list the folder {}", one.display()))?
            {
                let path = entry?.path();
                if path.extension().is_some_and(|x| x == "dmp") && time_in_name(&path).is_some() {
                    found.push(path);
                }
            }
            if found.is_empty() {
                bail!(
                    "{} holds no backup written by `tasctl backup` (`<time>_<topic>_<version>.dmp`); name the file",
                    one.display()
                );
            }
            found
        }
        [one] => return Ok((one.clone(), None)),
        many => {
            let files: Vec<_> = many
                .iter()
                .filter(|p| p.extension().is_none_or(|x| x != "json"))
                .cloned()
                .collect();
            if let Some(dir) = files.iter().find(|p| p.is_dir()) {
                bail!("{} is a folder; give one folder, or files", dir.display());
            }
            if let Some(odd) = files.iter().find(|p| time_in_name(p).is_none()) {
                bail!(
                    "cannot tell which of the {} files is the newest: {} has no time in its name (`tasctl backup` names them `<time>_<topic>_<version>.dmp`); name one file",
                    files.len(),
                    odd.display()
                );
            }
            if files.is_empty() {
                bail!("no settings file (.dmp) among the files given");
            }
            files
        }
    };
    let count = candidates.len();
    let newest = candidates
        .into_iter()
        .max_by(|a, b| time_in_name(a).cmp(&time_in_name(b)).then(a.cmp(b)))
        .expect("at least one candidate");
    let note = (count > 1).then(|| {
        format!(
            "restoring {}, the newest of {count} backups",
            newest.display()
        )
    });
    Ok((newest, note))
}

/// Reads FILE and its sidecar (`FILE` with `.json`), refusing what no device would take.
pub fn read(path: &Path) -> Result<File> {
    let bytes = crate::files::read_bounded(path, "settings file", DUMP_LIMIT)?;
    let dump = dump::check(&bytes).with_context(|| format!("cannot restore {}", path.display()))?;
    let sidecar = path.with_extension("json");
    let mac = if std::fs::symlink_metadata(&sidecar).is_ok() {
        let text = crate::files::read_small(&sidecar, "sidecar")?;
        serde_json::from_slice::<Value>(&text)
            .ok()
            .and_then(|v| v.get("mac")?.as_str().and_then(topic::normalize_mac))
    } else {
        None
    };
    Ok(File {
        path: path.to_path_buf(),
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "settings.dmp".into()),
        bytes,
        dump,
        mac,
    })
}

#[derive(Debug, Default, Serialize)]
pub struct RestoreData {
    /// The file restored.
    pub file: String,
    /// The version the device runs once it is back.
    pub version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Asked Status 5 (MAC) and Status 2 (hardware).
    Checking,
    /// Sent the opening request; `Started` and `MaxSize` come next.
    Opening,
    Sending,
    /// Sent the MD5; the verdict comes next.
    Verdict,
    /// `Done`: waiting for the restart (offline, online, INFO1).
    Restarting,
    /// Back: asked `Status 2` for the version.
    Version,
    Finished,
}

pub struct Restore {
    file: File,
    password: Secret,
    force: bool,
    per_reply: Duration,
    back_within: Duration,
    stage: Stage,
    mac: Option<String>,
    chip: Option<u8>,
    id: u8,
    sent: usize,
    deadline: Instant,
    went_offline: bool,
    heard: bool,
    version: Option<String>,
    result: Option<(Verdict, String)>,
}

impl Restore {
    pub fn new(
        file: File,
        password: Secret,
        force: bool,
        per_reply: Duration,
        back_within: Duration,
    ) -> Restore {
        // An even Id between 2 and 254, from the clock, as the firmware's scripts choose it.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Restore {
            file,
            password,
            force,
            per_reply,
            back_within,
            stage: Stage::Checking,
            mac: None,
            chip: None,
            id: 2 + ((nanos / 2) % 127) as u8 * 2,
            sent: 0,
            deadline: Instant::now() + per_reply,
            went_offline: false,
            heard: false,
            version: None,
            result: None,
        }
    }

    fn finish(&mut self, verdict: Verdict, why: impl Into<String>, out: &mut Outbox) {
        if matches!(self.stage, Stage::Opening | Stage::Sending | Stage::Verdict)
            && verdict != Verdict::Ok
        {
            out.command("FileUpload", "0");
        }
        self.stage = Stage::Finished;
        self.result = Some((verdict, why.into()));
    }

    /// With the device's MAC and chip known: refuse or start the upload.
    fn checked(&mut self, out: &mut Outbox) {
        let (Some(mac), Some(chip)) = (&self.mac, self.chip) else {
            return;
        };
        if !self.force {
            match &self.file.mac {
                Some(file_mac) if file_mac != mac => {
                    let why = format!(
                        "refused: the file is the backup of {file_mac}, the device is {mac} (--force restores it anyway, identity and all)"
                    );
                    return self.finish(Verdict::Failed, why, out);
                }
                None => {
                    let why = "refused: the file has no sidecar (.json) naming its device's MAC (--force restores it anyway)";
                    return self.finish(Verdict::Failed, why, out);
                }
                _ => {}
            }
        }
        if chip != self.file.dump.chip {
            let why = format!(
                "refused: the file is for {}, the device is {}",
                dump::chip_name(self.file.dump.chip),
                dump::chip_name(chip)
            );
            return self.finish(Verdict::Failed, why, out);
        }
        let request = json!({
            "Password": self.password.expose(),
            "File": self.file.name,
            "Id": self.id,
            "Type": 2,
            "Size": self.file.bytes.len(),
        });
        out.command("FileUpload", request.to_string());
        self.stage = Stage::Opening;
        self.deadline = Instant::now() + self.per_reply;
    }

    /// The next chunk, at most `max` raw bytes, as compact JSON (the device's buffer is sized
    /// for that form), or the MD5 once every byte is out.
    fn send_next(&mut self, max: usize, out: &mut Outbox) {
        if self.sent < self.file.bytes.len() {
            let end = (self.sent + max.max(1)).min(self.file.bytes.len());
            let data =
                base64::engine::general_purpose::STANDARD.encode(&self.file.bytes[self.sent..end]);
            out.command(
                "FileUpload",
                json!({"Id": self.id, "Data": data}).to_string(),
            );
            self.sent = end;
            self.stage = Stage::Sending;
        } else {
            let md5 = format!("{:x}", md5::Md5::digest(&self.file.bytes));
            out.command("FileUpload", json!({"Id": self.id, "Md5": md5}).to_string());
            self.stage = Stage::Verdict;
        }
        self.deadline = Instant::now() + self.per_reply;
    }
}

impl Conversation for Restore {
    fn start(&mut self, out: &mut Outbox) {
        out.command("Status", "5");
        out.command("Status", "2");
    }

    fn hear(&mut self, heard: &Heard, out: &mut Outbox) {
        if heard.retained || self.stage == Stage::Finished {
            return;
        }
        let Some(reply) = json_object(heard.payload) else {
            return;
        };
        match (self.stage, heard.class, heard.suffix) {
            (Stage::Checking, Class::Stat, "STATUS5") => {
                self.heard = true;
                self.mac = reply
                    .get("StatusNET")
                    .and_then(|n| n.get("Mac"))
                    .and_then(Value::as_str)
                    .and_then(topic::normalize_mac);
                self.checked(out);
            }
            (Stage::Checking, Class::Stat, "STATUS2") => {
                self.heard = true;
                let hardware = reply
                    .get("StatusFWR")
                    .and_then(|f| f.get("Hardware"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match dump::chip_of_hardware(hardware) {
                    Some(chip) => self.chip = Some(chip),
                    None => {
                        let why = format!(
                            "refused: cannot tell the device's chip from `{}`",
                            escape(hardware)
                        );
                        return self.finish(Verdict::Failed, why, out);
                    }
                }
                self.checked(out);
            }
            (Stage::Opening | Stage::Sending | Stage::Verdict, Class::Stat, "FILEUPLOAD") => {
                self.heard = true;
                if let Some(status) = reply.get("FileUpload").and_then(Value::as_str) {
                    match status {
                        "Started" => {}
                        "Done" if self.stage == Stage::Verdict => {
                            self.stage = Stage::Restarting;
                            self.deadline = Instant::now() + self.back_within;
                        }
                        "Error 1" => self.finish(Verdict::Rejected, "the device refused: Error 1 (a wrong device password; see --device-password-file)", out),
                        other => self.finish(Verdict::Rejected, format!("the device refused: {other}"), out),
                    }
                } else if let Some(max) = reply.get("MaxSize").and_then(Value::as_u64) {
                    if reply.get("Id").and_then(Value::as_u64) != Some(u64::from(self.id)) {
                        return self.finish(
                            Verdict::Rejected,
                            "the device answered for another transfer",
                            out,
                        );
                    }
                    self.send_next(max as usize, out);
                }
            }
            // After `Done`: the device announces itself again; INFO1 carries its version.
            (Stage::Restarting, Class::Tele, "INFO1") => {
                let info = reply
                    .get("Info1")
                    .and_then(Value::as_object)
                    .unwrap_or(&reply);
                self.version = info
                    .get("Version")
                    .and_then(Value::as_str)
                    .map(|v| v.split('(').next().unwrap_or(v).to_string());
                // Commands are heard again only once INFO1 is out: confirm with Status 2.
                out.command("Status", "2");
                self.stage = Stage::Version;
                self.deadline = Instant::now() + self.per_reply;
            }
            (Stage::Version, Class::Stat, "STATUS2") => {
                if let Some(v) = reply
                    .get("StatusFWR")
                    .and_then(|f| f.get("Version"))
                    .and_then(Value::as_str)
                {
                    self.version = Some(v.split('(').next().unwrap_or(v).to_string());
                }
                self.finish(Verdict::Ok, "", out);
            }
            _ => {}
        }
    }

    fn online(&mut self, online: bool, _retained: bool, _out: &mut Outbox) {
        if self.stage == Stage::Restarting && !online {
            self.went_offline = true;
        }
    }

    fn deadline(&self) -> Option<Instant> {
        (self.stage != Stage::Finished).then_some(self.deadline)
    }

    fn expire(&mut self, out: &mut Outbox) {
        let why = match self.stage {
            Stage::Checking if !self.heard => format!(
                "no response within {}",
                crate::output::duration(self.per_reply)
            ),
            Stage::Checking => "did not tell its MAC and hardware".to_string(),
            Stage::Restarting | Stage::Version => format!(
                "restored, but not back online within {}{}",
                crate::output::duration(self.back_within),
                if self.went_offline {
                    " (it went offline)"
                } else {
                    ""
                }
            ),
            _ => "stopped answering mid-transfer".to_string(),
        };
        self.finish(Verdict::Silent, why, out);
    }

    fn done(&self) -> bool {
        self.stage == Stage::Finished
    }

    /// A restore expects the device to go away and come back.
    fn gives_up_when_offline(&self) -> bool {
        !matches!(self.stage, Stage::Restarting | Stage::Version)
    }

    fn abort(&mut self, out: &mut Outbox) {
        if matches!(self.stage, Stage::Opening | Stage::Sending | Stage::Verdict) {
            out.command("FileUpload", "0");
        }
    }
}

/// One device, its restart followed on its telemetry.
pub fn plan(device: Device, restore: Restore) -> Plan<Restore> {
    Plan {
        parties: vec![(device, restore)],
        telemetry: true,
        ..Plan::default()
    }
}

/// What a dry run says follows the first step.
pub const THEN: &str = "the file goes in chunks of the device's MaxSize (FileUpload), then the device restarts and its version is checked";

pub async fn run(
    session: &mut Session,
    plan: Plan<Restore>,
    profile: &Profile,
) -> Result<Results<RestoreData>> {
    let outcome = engine::run(session, plan, profile, |_| None).await?;
    let interrupted = outcome.end == End::Interrupted;
    let rows = outcome
        .parties
        .into_iter()
        .map(|party| {
            let offline = party.offline();
            let mut restore = party.conversation;
            let (mut verdict, mut error) = restore
                .result
                .take()
                .unwrap_or((Verdict::Silent, "no response".into()));
            if interrupted && restore.stage != Stage::Finished {
                (verdict, error) = (Verdict::Interrupted, "interrupted".into());
            }
            if verdict == Verdict::Silent && offline && restore.stage == Stage::Checking {
                error.push_str("; offline (LWT)");
            }
            DeviceResult {
                device: party.device.name.clone(),
                topic: party.device.topic.clone(),
                ok: verdict == Verdict::Ok,
                data: RestoreData {
                    file: restore.file.path.display().to_string(),
                    version: restore.version,
                },
                error: (verdict != Verdict::Ok).then_some(error),
                member: true,
                verdict,
            }
        })
        .collect();
    Ok(Results(rows))
}

/// The one device a restore goes to: a group is refused.
pub fn device(targets: &[crate::target::Target]) -> Result<Device> {
    match targets {
        [crate::target::Target::Device(d)] => Ok(d.clone()),
        [crate::target::Target::Group(g)] => bail!(
            "`{}` is a group; a restore goes to one device (the firmware refuses file transfers on a group topic, and one file is one device's settings)",
            g.name
        ),
        _ => bail!("a restore goes to exactly one device"),
    }
}

impl fmt::Display for Results<RestoreData> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.0 {
            let name = escape(r.label());
            match (&r.error, &r.data.version) {
                (None, Some(v)) => writeln!(f, "{name}  restored, back online on {}", escape(v))?,
                (None, None) => writeln!(f, "{name}  restored, back online")?,
                (Some(e), _) => writeln!(f, "{name}  {}", escape(e).red())?,
            }
        }
        Ok(())
    }
}
