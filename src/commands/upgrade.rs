//! `tasctl upgrade TARGET... (--url URL | --serve FILE) [--version V] [--canary N] [--batch N]`:
//! firmware over MQTT, each device followed to the end and verified.
//!
//! Per device: `Status 2` for the version it runs (a device already at V is not touched),
//! `OtaUrl` when a URL is given, `Upgrade V` (or `Upgrade 1`), then the accepted reply, the
//! final verdict on `stat/<topic>/UPGRADE` (`Successful. Restarting` or `Failed ...`), the
//! restart (the LWT offline and online, twice when a minimal build comes first), `INFO1` with
//! the new version, and `Status 2` to confirm it (sent only after INFO1: before, the device
//! does not hear commands yet). A minimal build reported in between is not success.

use std::fmt;
use std::time::Duration;

use anyhow::Result;
use colored::Colorize;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::ask::{is_rejection, json_object};
use crate::engine::{self, Conversation, End, Heard, Outbox, Plan};
use crate::mqtt::Session;
use crate::output::{Output, escape};
use crate::profile::{Device, Profile};
use crate::report::{DeviceResult, Results, Verdict};
use crate::topic::Class;

/// What an upgrade run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The image's URL to set as OtaUrl first; `None` keeps the device's own.
    pub url: Option<String>,
    /// Upgrade only to this version, and check the device runs it after.
    pub version: Option<String>,
    /// Upgrade this many first and stop if any fails.
    pub canary: usize,
    /// At most this many upgrading at once.
    pub batch: usize,
    /// The bound on each device, from its first command to its confirmed version.
    pub limit: Duration,
}

#[derive(Debug, Default, Serialize)]
pub struct UpgradeData {
    pub from: Option<String>,
    pub to: Option<String>,
    pub seconds: Option<f64>,
    /// It already ran the version asked for, and was not touched.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Asked `Status 2`.
    Checking,
    /// It answered and runs an older version: ready for its turn.
    Checked,
    /// Sent `OtaUrl`.
    SettingUrl,
    /// Sent `Upgrade`.
    Asking,
    /// Accepted: the device is downloading.
    Downloading,
    /// `Successful. Restarting`: waiting for it to come back (INFO1).
    Restarting,
    /// Back on a full build: asked `Status 2`.
    Confirming,
    Finished,
}

impl Stage {
    fn words(self) -> &'static str {
        match self {
            Stage::Checking => "checking",
            Stage::Checked => "waiting for its turn",
            Stage::SettingUrl | Stage::Asking => "asking",
            Stage::Downloading => "downloading",
            Stage::Restarting => "restarting",
            Stage::Confirming => "confirming",
            Stage::Finished => "done",
        }
    }
}

/// Does a version string name a minimal build (`14.3.0(minimal)`, `15.2.0(release-minimal)`)?
fn is_minimal(version: &str) -> bool {
    version
        .split_once('(')
        .is_some_and(|(_, image)| image.to_ascii_lowercase().contains("minimal"))
}

/// How long a device has to answer the first `Status 2`, within the upgrade's own bound.
const CHECK_WITHIN: Duration = Duration::from_secs(30);

/// The version number in `14.3.0(tasmota)`, comparable.
fn numbers(version: &str) -> Vec<u32> {
    version
        .split('(')
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|p| p.trim().parse().unwrap_or(0))
        .collect()
}

fn plain(version: &str) -> String {
    version
        .split('(')
        .next()
        .unwrap_or(version)
        .trim()
        .to_string()
}

pub struct Upgrade {
    options: Options,
    stage: Stage,
    started: Instant,
    from: Option<String>,
    to: Option<String>,
    went_offline: bool,
    /// How long it took, from its turn to its verdict.
    took: Option<Duration>,
    minimal_seen: bool,
    already: bool,
    result: Option<(Verdict, String)>,
    bar: Option<indicatif::ProgressBar>,
}

impl Upgrade {
    fn new(device: &Device, options: Options, out: Option<&Output>) -> Upgrade {
        let bar = out.and_then(|o| o.bar(device.name.as_deref().unwrap_or(&device.topic), 5));
        if let Some(bar) = &bar {
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix:20} {bar:20} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
        }
        Upgrade {
            options,
            stage: Stage::Checking,
            started: Instant::now(),
            from: None,
            to: None,
            went_offline: false,
            took: None,
            minimal_seen: false,
            already: false,
            result: None,
            bar,
        }
    }

    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        if let Some(bar) = &self.bar {
            let step = match stage {
                Stage::Checking | Stage::Checked | Stage::SettingUrl | Stage::Asking => 1,
                Stage::Downloading => 2,
                Stage::Restarting => 3,
                Stage::Confirming => 4,
                Stage::Finished => 5,
            };
            bar.set_position(step);
            bar.set_message(stage.words());
        }
    }

    fn finish(&mut self, verdict: Verdict, why: impl Into<String>) {
        let why = why.into();
        if let Some(bar) = &self.bar {
            let words = if verdict == Verdict::Ok {
                "verified".to_string()
            } else {
                why.clone()
            };
            bar.finish_with_message(words);
        }
        self.enter(Stage::Finished);
        self.took = Some(self.started.elapsed());
        self.result = Some((verdict, why));
    }

    fn ask(&mut self, out: &mut Outbox) {
        let payload = self.options.version.clone().unwrap_or_else(|| "1".into());
        out.command("Upgrade", payload);
        self.enter(Stage::Asking);
    }
}

impl Upgrade {
    /// Its turn: `OtaUrl` (when a URL is given), then `Upgrade`.
    fn begin(&mut self, out: &mut Outbox) {
        self.started = Instant::now();
        match &self.options.url {
            Some(url) => {
                out.command("OtaUrl", url.clone());
                self.enter(Stage::SettingUrl);
            }
            None => self.ask(out),
        }
    }

    /// A restart is known by the device's fresh `INFO1` (a commanded restart is a clean
    /// disconnect: no Offline LWT comes). A minimal build on the way knows only `Upgrade`,
    /// `Upload`, `OtaUrl`, `SerialLog` and `Restart`: it is asked nothing, and fetches the full
    /// image itself; the full build is asked `Status 2`.
    fn restarted(&mut self, version: &str, out: &mut Outbox) {
        if is_minimal(version) {
            self.minimal_seen = true;
            if let Some(bar) = &self.bar {
                bar.set_message("minimal build, restarting again");
            }
            self.enter(Stage::Restarting);
            return;
        }
        self.to = Some(plain(version));
        out.command("Status", "2");
        self.enter(Stage::Confirming);
    }
}

impl Conversation for Upgrade {
    fn start(&mut self, out: &mut Outbox) {
        if self.stage == Stage::Checked {
            self.begin(out);
        } else {
            out.command("Status", "2");
        }
    }

    fn hear(&mut self, heard: &Heard, out: &mut Outbox) {
        if heard.retained || self.stage == Stage::Finished {
            return;
        }
        let Some(reply) = json_object(heard.payload) else {
            return;
        };
        let text = |key: &str| reply.get(key).and_then(Value::as_str).map(String::from);
        let fwr = reply
            .get("StatusFWR")
            .and_then(|f| f.get("Version"))
            .and_then(Value::as_str)
            .map(String::from);
        match (self.stage, heard.class) {
            (Stage::Checking, Class::Stat) if heard.suffix == "STATUS2" || is_rejection(&reply) => {
                if let Some(v) = fwr {
                    self.from = Some(plain(&v));
                }
                if let (Some(from), Some(target)) = (&self.from, &self.options.version)
                    && numbers(from) >= numbers(target)
                {
                    self.already = true;
                    self.to = Some(from.clone());
                    return self.finish(Verdict::Ok, "");
                }
                self.enter(Stage::Checked);
            }
            (Stage::SettingUrl, Class::Stat) if reply.contains_key("OtaUrl") => self.ask(out),
            (Stage::SettingUrl | Stage::Asking, Class::Stat) if is_rejection(&reply) => {
                self.finish(
                    Verdict::Rejected,
                    "refused: this build has no OTA upgrade (`Upgrade` is unknown)",
                );
            }
            (Stage::Asking | Stage::Downloading | Stage::Restarting, Class::Stat)
                if reply.contains_key("Upgrade") =>
            {
                let words = text("Upgrade").unwrap_or_default();
                if words.starts_with("Version ") {
                    self.enter(Stage::Downloading);
                } else if words.starts_with("1 or >") {
                    self.already = true;
                    self.to = self.from.clone();
                    self.finish(Verdict::Ok, "");
                } else if words.starts_with("Successful") {
                    self.enter(Stage::Restarting);
                } else if words.starts_with("Failed") {
                    self.finish(
                        Verdict::Rejected,
                        format!("the device says: {}", escape(&words)),
                    );
                }
            }
            (Stage::Downloading | Stage::Restarting | Stage::Confirming, Class::Tele)
                if heard.suffix == "INFO1" =>
            {
                let info = reply
                    .get("Info1")
                    .and_then(Value::as_object)
                    .unwrap_or(&reply);
                let version = info
                    .get("Version")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                self.restarted(&version, out);
            }
            // Asked while on a minimal build after all: it knows no Status; its next INFO1
            // tells when the full build runs.
            (Stage::Confirming, Class::Stat)
                if is_rejection(&reply) && matches!(heard.suffix, "RESULT" | "STATUS") =>
            {
                self.minimal_seen = true;
                self.enter(Stage::Restarting);
            }
            (Stage::Confirming, Class::Stat) if heard.suffix == "STATUS2" => {
                let version = fwr.unwrap_or_default();
                if is_minimal(&version) {
                    self.minimal_seen = true;
                    self.enter(Stage::Restarting);
                    return;
                }
                let to = plain(&version);
                self.to = Some(to.clone());
                match &self.options.version {
                    Some(target) if numbers(&to) != numbers(target) => self.finish(
                        Verdict::Rejected,
                        format!("came back on {to}, not {target}"),
                    ),
                    _ => self.finish(Verdict::Ok, ""),
                }
            }
            _ => {}
        }
    }

    fn online(&mut self, online: bool, _retained: bool, _out: &mut Outbox) {
        if !online && matches!(self.stage, Stage::Downloading | Stage::Restarting) {
            self.went_offline = true;
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.stage {
            Stage::Finished | Stage::Checked => None,
            Stage::Checking => Some(self.started + self.options.limit.min(CHECK_WITHIN)),
            _ => Some(self.started + self.options.limit),
        }
    }

    fn expire(&mut self, _out: &mut Outbox) {
        let limit = crate::output::duration(self.options.limit);
        let why = match self.stage {
            Stage::Checking => format!(
                "no response within {}",
                crate::output::duration(self.options.limit.min(CHECK_WITHIN))
            ),
            Stage::Restarting if self.minimal_seen => {
                format!("stuck on the minimal build (not back on a full build within {limit})")
            }
            Stage::Restarting | Stage::Confirming => format!("did not come back within {limit}"),
            stage => format!("no verdict within {limit} (it was {})", stage.words()),
        };
        self.finish(Verdict::Silent, why);
    }

    /// Done for this run: finished, or checked and waiting for its turn in the next.
    fn done(&self) -> bool {
        matches!(self.stage, Stage::Finished | Stage::Checked)
    }

    /// Once asked, an upgrading device is expected to go away and come back.
    fn gives_up_when_offline(&self) -> bool {
        self.stage == Stage::Checking
    }
}

/// Every device asked for its version at once; `out` shows progress bars (none in a dry
/// run).
pub fn plan(devices: &[Device], options: &Options, out: Option<&Output>) -> Plan<Upgrade> {
    Plan {
        parties: devices
            .iter()
            .map(|d| (d.clone(), Upgrade::new(d, options.clone(), out)))
            .collect(),
        telemetry: true,
        ..Plan::default()
    }
}

/// What a dry run says follows the first step.
pub fn then(options: &Options) -> String {
    let url = options.url.as_deref().unwrap_or("-");
    let version = options.version.as_deref().unwrap_or("1");
    let canary = match options.canary {
        0 => String::new(),
        n => format!(
            "{} first, then ",
            crate::output::count(n, "canary device", "canary devices")
        ),
    };
    format!(
        "{canary}{} at a time: OtaUrl {url}, Upgrade {version}, the restart followed until the device runs the new version",
        options.batch.max(1)
    )
}

/// Upgrades the devices: every one asked its version first (an offline or silent device is
/// reported, never a canary), then the canaries among those that answered (stopping if one
/// fails), then the rest, `batch` at a time in a sliding window; Ctrl-C starts nothing new and
/// reports where each device is.
pub async fn run(
    session: &mut Session,
    devices: Vec<Device>,
    options: &Options,
    profile: &Profile,
    out: &Output,
) -> Result<Results<UpgradeData>> {
    let count = devices.len();
    let mut rows: Vec<Option<DeviceResult<UpgradeData>>> = (0..count).map(|_| None).collect();
    // Who answers, and on which version.
    let checked = engine::run(session, plan(&devices, options, Some(out)), profile, |_| {
        None
    })
    .await?;
    let mut interrupted = checked.end == End::Interrupted;
    let mut ready = Vec::new();
    for (i, party) in checked.parties.into_iter().enumerate() {
        if party.conversation.stage == Stage::Checked && !interrupted {
            ready.push((i, party.device, party.conversation));
        } else {
            let offline = party.offline();
            rows[i] = Some(row(party.device, party.conversation, offline, interrupted));
        }
    }
    let canaries = options.canary.min(ready.len());
    let rest = ready.split_off(canaries);
    let mut stop: Option<&'static str> = interrupted.then_some("not started: interrupted");
    for (turn, wave) in [ready, rest].into_iter().enumerate() {
        if wave.is_empty() {
            continue;
        }
        if let Some(why) = stop {
            for (i, device, _) in wave {
                rows[i] = Some(skipped(&device, why));
            }
            continue;
        }
        let (order, parties): (Vec<usize>, Vec<(Device, Upgrade)>) =
            wave.into_iter().map(|(i, d, u)| (i, (d, u))).unzip();
        let plan = Plan {
            parties,
            telemetry: true,
            window: Some(options.batch.max(1)),
            ..Plan::default()
        };
        let outcome = engine::run(session, plan, profile, |_| None).await?;
        interrupted = outcome.end == End::Interrupted;
        let mut failed = false;
        for (i, party) in order.into_iter().zip(outcome.parties) {
            let offline = party.offline();
            let result = if party.started {
                row(party.device, party.conversation, offline, interrupted)
            } else {
                skipped(&party.device, "not started: interrupted")
            };
            failed |= !result.ok;
            rows[i] = Some(result);
        }
        if interrupted {
            stop = Some("not started: interrupted");
        } else if turn == 0 && canaries > 0 && failed {
            stop = Some("not upgraded: a canary failed");
        }
    }
    Ok(Results(rows.into_iter().flatten().collect()))
}

/// The row for a device whose conversation ended (or was interrupted).
fn row(
    device: Device,
    mut upgrade: Upgrade,
    offline: bool,
    interrupted: bool,
) -> DeviceResult<UpgradeData> {
    let (mut verdict, mut error) = upgrade
        .result
        .take()
        .unwrap_or((Verdict::Silent, "no response".into()));
    if interrupted && upgrade.stage != Stage::Finished {
        verdict = Verdict::Interrupted;
        error = format!("interrupted while {}", upgrade.stage.words());
    }
    if verdict == Verdict::Silent && offline && upgrade.stage == Stage::Checking {
        error = "no response; offline (LWT)".into();
    }
    if let Some(bar) = &upgrade.bar {
        bar.finish_and_clear();
    }
    DeviceResult {
        device: device.name.clone(),
        topic: device.topic.clone(),
        ok: verdict == Verdict::Ok,
        data: UpgradeData {
            from: upgrade.from.clone(),
            to: upgrade.to.clone(),
            seconds: upgrade
                .took
                .filter(|_| !upgrade.already && verdict == Verdict::Ok)
                .map(|took| (took.as_millis() as f64 / 100.0).round() / 10.0),
            already: upgrade.already,
        },
        error: (verdict != Verdict::Ok).then_some(error),
        member: true,
        verdict,
    }
}

fn skipped(device: &Device, why: &str) -> DeviceResult<UpgradeData> {
    DeviceResult {
        device: device.name.clone(),
        topic: device.topic.clone(),
        ok: false,
        data: UpgradeData::default(),
        error: Some(why.to_string()),
        member: true,
        verdict: if why.contains("interrupted") {
            Verdict::Interrupted
        } else {
            Verdict::Skipped
        },
    }
}

impl fmt::Display for Results<UpgradeData> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .0
            .iter()
            .map(|r| {
                let result = match (&r.error, r.data.already) {
                    (Some(e), _) => e.clone(),
                    (None, true) => "already at this version".into(),
                    (None, false) => "verified".into(),
                };
                [
                    r.label().to_string(),
                    r.data.from.clone().unwrap_or_else(|| "-".into()),
                    r.data.to.clone().unwrap_or_else(|| "-".into()),
                    r.data
                        .seconds
                        .map_or_else(|| "-".into(), |s| format!("{s}s")),
                    result,
                ]
            })
            .collect();
        crate::output::table(f, ["DEVICE", "FROM", "TO", "TIME", "RESULT"], &rows)?;
        let failed = self.0.iter().filter(|r| !r.ok).count();
        if failed > 0 {
            let failed = crate::output::count(failed, "device", "devices");
            writeln!(f, "{}", format!("{failed} not upgraded").red())?;
        }
        Ok(())
    }
}
