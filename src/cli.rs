//! The command line as clap sees it: the only module with clap types.
//!
//! Conventions: every option a profile may also set is an `Option` with no clap default, so
//! that `settings` can tell "the user typed it" from "nothing was said" and apply precedence in
//! one place. Doc comments are the user-facing help; each command's help ends with examples.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::values::{BrokerUrl, parse_duration};

const EXIT_CODES: &str = "\
Exit codes:
  0  every target answered as asked
  1  bad input or a local failure (profile, wildcard target, missing password file, I/O)
  2  usage error
  3  the broker could not be reached, refused the connection, or TLS failed
  4  at least one target gave no answer within the wait
  5  at least one device rejected the command (config apply: a value not kept)
  6  config diff: a device differs from the profile's settings (every device answered)
  130  interrupted (Ctrl-C)";

/// Control and watch Tasmota devices over MQTT.
///
/// TARGET words name devices: a device or group name from the profile, `all` (the firmware
/// GroupTopic), or any other word as a device's Topic verbatim (`tasmota_1A2B3C`).
#[derive(Debug, Parser)]
#[command(name = "tasctl", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, before or after the subcommand.
#[derive(Debug, Default, Args)]
pub struct GlobalArgs {
    /// Broker URL (mqtt://[user@]host[:port] or mqtts://...) or the NAME of a [brokers.NAME]
    /// table of the profile; also TASCTL_BROKER [default: the profile's [broker], else
    /// mqtt://localhost:1883]
    #[arg(
        short,
        long,
        value_name = "URL|NAME",
        value_parser = BrokerUrlParser,
        global = true,
        help_heading = "MQTT connection",
        add = ArgValueCandidates::new(broker_names)
    )]
    pub broker: Option<BrokerUrl>,

    /// User name for the broker; also TASCTL_USERNAME
    #[arg(short, long, global = true, help_heading = "MQTT connection")]
    pub username: Option<String>,

    /// Password for the broker; prefer the TASCTL_PASSWORD variable or `password_file` in the
    /// profile, which keep it out of the process list and shell history (asked for on a
    /// terminal when a user name is set and no password is)
    #[arg(short = 'P', long, global = true, help_heading = "MQTT connection")]
    pub password: Option<String>,

    /// How long to wait for the broker to accept the connection [default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, global = true, help_heading = "MQTT connection")]
    pub connect_timeout: Option<Duration>,

    /// QoS of what tasctl publishes and subscribes [default: 0]
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=2), global = true, help_heading = "MQTT connection")]
    pub qos: Option<u8>,

    /// Profile file; also TASCTL_PROFILE [default: <config dir>/tasctl/profile.toml]
    #[arg(
        long,
        value_name = "PATH",
        global = true,
        help_heading = "Global options"
    )]
    pub profile: Option<PathBuf>,

    /// How long to wait for devices to answer, like 500ms, 2s, 1m [default: 2s]
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration, global = true, help_heading = "Global options")]
    pub wait: Option<Duration>,

    /// Print JSON on stdout instead of text
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// When to colour the output
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "auto",
        global = true,
        help_heading = "Global options"
    )]
    pub color: ColorWhen,

    /// Trace the MQTT exchange on stderr (never shows a password)
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub verbose: bool,
}

/// Parses `--broker` (and `TASCTL_BROKER`) with errors that never show a password: clap's own
/// "invalid value" message would quote the whole URL.
#[derive(Clone)]
struct BrokerUrlParser;

impl clap::builder::TypedValueParser for BrokerUrlParser {
    type Value = BrokerUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<BrokerUrl, clap::Error> {
        use clap::error::ErrorKind;
        let fail = |message: String| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid value for --broker: {message}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| fail("the broker URL is not UTF-8".into()))?;
        text.parse().map_err(|e| fail(format!("{e:#}")))
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Switch or read an output and wait for the device to confirm
    #[command(after_help = "Examples:
  tasctl power on living
  tasctl power toggle kitchen --relay 2
  tasctl power get all --json
  tasctl power toggle all --dry-run     # what would be published, to whom")]
    Power(PowerArgs),

    /// Ask devices for their status (`Status N`) and gather every reply
    #[command(after_help = "Examples:
  tasctl status living
  tasctl status kitchen garage --section 11
  tasctl status all --json | jq '.[].status.StatusNET.IPAddress'")]
    Status(StatusArgs),

    /// Send any firmware command and print the reply
    #[command(after_help = "Examples:
  tasctl send living Dimmer 50
  tasctl send kitchen Backlog 'Power1 on; Delay 10; Power1 off'
  tasctl send living FullTopic
  tasctl send living -- Rule1 '-on Power1#State do Power2 %value% endon'
  tasctl send kitchen living -- Power off         # several targets before --
  tasctl send downstairs --dry-run -- Power off   # options go before --")]
    Send(SendArgs),

    /// Read every sensor, energy and state value of devices, for people and for cron
    #[command(after_help = "Examples:
  tasctl read balcony-sensor
  tasctl read all --format prom --output /var/lib/node_exporter/textfile/tasmota.prom
  tasctl read all --format influx | curl --data-binary @- 'http://influx:8086/write?db=home'
  tasctl read plug --format csv >> energy.csv")]
    Read(ReadArgs),

    /// Save devices' settings over MQTT (FileDownload), each into a file of its own
    #[command(after_help = "Examples:
  tasctl backup all
  tasctl backup living-room-plug garage-door --dir ~/tasmota-backups
  tasctl backup all --keep 30 --json

Files: DIR/<MAC>/<UTC time>_<Topic>_<version>.dmp and a .json sidecar, mode 0600 (they hold
the device's Wi-Fi and MQTT passwords). The device's own MQTT password comes from
--device-password-file, TASCTL_DEVICE_PASSWORD, the profile's device_password_file, else the
broker password.")]
    Backup(BackupArgs),

    /// Send a settings file back to a device (FileUpload) and follow it through its restart
    #[command(after_help = "Examples:
  tasctl restore living-room-plug tasmota-backups/5CCF7F1A2B01/20261201T101500Z_living_plug_14.3.0.dmp
  tasctl restore spare-plug old-plug.dmp --force    # another device's settings, identity and all

A file for another chip family is always refused; a file whose sidecar names another MAC is
refused unless --force.")]
    Restore(RestoreArgs),

    /// Upgrade firmware over MQTT (OtaUrl, Upgrade), following each device until it runs the
    /// new version
    #[command(after_help = "Examples:
  tasctl upgrade all --url http://ota.tasmota.com/tasmota/release/tasmota.bin.gz --version 14.4.1
  tasctl upgrade all --serve tasmota-14.4.1.bin.gz --version 14.4.1 --canary 1
  tasctl upgrade garage-door --serve tasmota.bin.gz --serve-address 192.168.1.5:8266

A device already at --version is not touched, so a rerun picks up where Ctrl-C stopped.")]
    Upgrade(UpgradeArgs),

    /// Fleet settings as code: what the profile says each device should be set to, its
    /// drift (`diff`), convergence (`apply`), and a device's settings as TOML (`show`)
    #[command(after_help = "Examples:
  tasctl config diff                         # every device with settings in the profile
  tasctl config diff heaters --json
  tasctl config apply --dry-run              # reads the devices, prints what it would send
  tasctl config apply --canary 1 --batch 5
  tasctl config show garage-door             # its settings as a TOML line for the profile
  tasctl config show garage-door TelePeriod Rule1

The profile holds the settings: [settings] for every device, `settings = {...}` in a group
(its listed members) or a device; the later layer wins. `diff` exits 6 when a device
differs, 4 when one is silent.")]
    Config(ConfigArgs),

    /// List what the broker keeps (retained) for Tasmota devices, classed; `clean` clears it
    #[command(after_help = "Examples:
  tasctl retained
  tasctl retained --json | jq '.[] | select(.class == \"ghost-command\")'
  tasctl retained clean                      # shows what it would clear, changes nothing
  tasctl retained clean --class ghost-command --yes
  tasctl retained clean --yes --fix          # also turns PowerRetain & co. off on the devices

Classes: live, stale-lwt, orphan-discovery, ghost-command, retained-state. A live device's
LWT and discovery config are never cleared.")]
    Retained(RetainedArgs),

    /// The fleet, live, in a full-screen terminal view you can act from
    #[command(
        after_help = "Keys: arrows or j/k move, space toggles the first output, 1-8 toggle that
output (confirmed like `power toggle`), enter shows the full status, / filters by name,
s changes the sort (name, online, RSSI, last heard), q or Ctrl-C quits.

Examples:
  tasctl top
  tasctl top downstairs garage-door"
    )]
    Top(TopArgs),

    /// Publish one message to any topic (acknowledged at QoS 1 and 2)
    #[command(after_help = "Examples:
  tasctl publish octoPrint/event/PrintDone '{\"name\":\"benchy.gcode\"}'
  tasctl publish --qos 1 --retain home/garage/door closed
  tasctl publish --retain cmnd/plug/POWER          # clears a retained message")]
    Publish(PublishArgs),

    /// Tail live stat/tele traffic, by device name
    #[command(after_help = "Examples:
  tasctl watch
  tasctl watch living --only POWER --only RESULT
  tasctl watch --json | jq -c 'select(.suffix == \"SENSOR\")'")]
    Watch(WatchArgs),

    /// Find the devices on the broker
    #[command(after_help = "Examples:
  tasctl discover
  tasctl discover --save
  tasctl discover --broadcast --wait 3s --json")]
    Discover(DiscoverArgs),

    /// Read and edit the profile
    #[command(
        subcommand,
        after_help = "Examples:
  tasctl profile list
  tasctl profile add living my_house_living_room
  $EDITOR \"$(tasctl profile path)\""
    )]
    Profile(ProfileCommand),

    /// Print a shell completion script
    #[command(after_help = "Examples:
  tasctl completions bash > ~/.local/share/bash-completion/completions/tasctl
  tasctl completions zsh > ~/.zfunc/_tasctl
  tasctl completions fish > ~/.config/fish/completions/tasctl.fish")]
    Completions {
        /// The shell to write the script for
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff)
    #[command(after_help = "Example:
  tasctl manpage | man -l -")]
    Manpage,

    /// Run virtual Tasmota devices that answer like the firmware
    #[command(after_help = "Examples:
  tasctl simulate
  tasctl simulate --devices 500 --fleet
  tasctl simulate --scenario fleet.toml
  tasctl simulate --embedded --listen 127.0.0.1:1883")]
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct PowerArgs {
    /// What to do with the output: the firmware's words in any case, or 1, 0, 2
    #[arg(ignore_case = true)]
    pub action: PowerAction,

    /// Devices or groups
    #[arg(required = true, value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub targets: Vec<String>,

    /// Which output: a number (Power2) or `all` (Power0) [default: the first]
    #[arg(short, long, value_name = "N|all", value_parser = parse_relay, add = ArgValueCandidates::new(relay_values))]
    pub relay: Option<Relay>,

    #[command(flatten)]
    pub dry: DryRunArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PowerAction {
    #[value(alias = "1")]
    On,
    #[value(alias = "0")]
    Off,
    #[value(alias = "2")]
    Toggle,
    Blink,
    Blinkoff,
    Get,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    One(u8),
    All,
}

fn parse_relay(text: &str) -> Result<Relay, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(Relay::All);
    }
    match text.parse::<u8>() {
        Ok(n) if (1..=32).contains(&n) => Ok(Relay::One(n)),
        _ => Err("expected an output number from 1 to 32, or `all`".into()),
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Devices or groups
    #[arg(required = true, value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub targets: Vec<String>,

    /// Which section: 0 for all, or 1-13 (11 is the live state)
    #[arg(short, long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=13), add = ArgValueCandidates::new(section_values))]
    pub section: u8,

    #[command(flatten)]
    pub dry: DryRunArg,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// TARGET COMMAND [PAYLOAD]...: a device or group, the firmware command (Power2, Dimmer,
    /// Backlog, FullTopic, ...) and its parameter words, joined with single spaces (none is a
    /// query). For several targets: TARGET... -- COMMAND [PAYLOAD]...
    #[arg(
        required = true,
        value_name = "WORDS",
        allow_negative_numbers = true,
        add = ArgValueCandidates::new(send_words)
    )]
    pub words: Vec<String>,

    /// After `--`: the command and its parameter words, for the TARGET... in front
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    /// Return once the command is published, without waiting for a reply
    #[arg(long)]
    pub no_wait: bool,

    #[command(flatten)]
    pub dry: DryRunArg,
}

impl SendArgs {
    /// (targets, command, payload words): `TARGET COMMAND [PAYLOAD]...`, or with `--`,
    /// `TARGET... -- COMMAND [PAYLOAD]...`.
    pub fn split(&self) -> Result<(Vec<String>, String, Vec<String>), String> {
        match self.command.split_first() {
            Some((command, payload)) => Ok((self.words.clone(), command.clone(), payload.to_vec())),
            None => match self.words.as_slice() {
                [target, command, payload @ ..] => {
                    Ok((vec![target.clone()], command.clone(), payload.to_vec()))
                }
                _ => Err("send needs a TARGET and a COMMAND (for several targets: send TARGET... -- COMMAND [PAYLOAD]...)".into()),
            },
        }
    }
}

/// `--dry-run`, on every command that publishes.
#[derive(Debug, Args)]
pub struct DryRunArg {
    /// Print each topic and payload it would publish and what it would wait for; publish
    /// nothing and contact no broker
    #[arg(long)]
    pub dry_run: bool,
}

/// Where a device's own MQTT password comes from, for file transfers.
#[derive(Debug, Args)]
pub struct DevicePasswordArgs {
    /// A file holding the devices' own MQTT password (MqttPassword), which file transfers present
    #[arg(long, value_name = "FILE")]
    pub device_password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Devices or groups (a group stands for its members)
    #[arg(required = true, value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub targets: Vec<String>,

    /// Where backups go [default: the profile's [backup] dir, else ./tasmota-backups]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Keep only the newest N backups of each device
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,

    #[command(flatten)]
    pub password: DevicePasswordArgs,

    #[command(flatten)]
    pub dry: DryRunArg,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The device
    #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub target: String,

    /// The settings file (.dmp) to send; a MAC folder of backups or several files (a shell
    /// glob) restore the newest by the time in its name
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Restore a file whose sidecar names another device (or has no sidecar)
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub password: DevicePasswordArgs,

    #[command(flatten)]
    pub dry: DryRunArg,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("image").required(true).args(["url", "serve"]))]
pub struct UpgradeArgs {
    /// Devices or groups (a group stands for its members)
    #[arg(required = true, value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub targets: Vec<String>,

    /// The image's URL, set as each device's OtaUrl
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Serve this image file from tasctl itself (HTTP) while the upgrade runs
    #[arg(long, value_name = "FILE")]
    pub serve: Option<PathBuf>,

    /// Where the image server listens, and the address given to devices unless it is 0.0.0.0
    /// (`--listen` as for `simulate --embedded`) [default: 0.0.0.0:8266]
    #[arg(
        long,
        visible_alias = "listen",
        value_name = "HOST:PORT",
        requires = "serve"
    )]
    pub serve_address: Option<String>,

    /// The version to upgrade to: devices already there are not touched, and each device must
    /// come back on it
    #[arg(long, value_name = "V")]
    pub version: Option<String>,

    /// Upgrade this many devices first, and stop if any of them fails
    #[arg(long, value_name = "N")]
    pub canary: Option<usize>,

    /// At most this many devices upgrading at the same time
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub batch: u16,

    #[command(flatten)]
    pub dry: DryRunArg,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Where devices differ from the settings the profile asks of them (read-only queries)
    Diff {
        /// Devices or groups [default: every device with settings]
        #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
        targets: Vec<String>,
    },
    /// Send only what differs, in as few Backlogs as the firmware takes, then read it back
    Apply {
        /// Devices or groups [default: every device with settings]
        #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
        targets: Vec<String>,

        /// Apply to this many devices first (the first that answer), and stop if one fails
        #[arg(long, value_name = "N")]
        canary: Option<usize>,

        /// At most this many devices restarting at the same time (changes that need no
        /// restart go to every device at once)
        #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
        batch: u16,

        /// Also change how tasctl reaches a device (Topic, FullTopic, Prefix<n>), following it
        /// to its new address and updating the profile
        #[arg(long)]
        force: bool,

        /// Read the devices (read-only queries) and print what would be sent; change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// A device's current values as a `settings = {...}` line for the profile
    Show {
        /// The device
        #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
        target: String,

        /// Which settings [default: those the profile asks of it, else a common set]
        #[arg(value_name = "SETTING")]
        settings: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct RetainedArgs {
    #[command(subcommand)]
    pub action: Option<RetainedAction>,
}

#[derive(Debug, Subcommand)]
pub enum RetainedAction {
    /// Clear retained debris (stale LWTs, orphan discovery, ghost commands; or the classes named); prints only, unless --yes
    Clean {
        /// Only messages of this class (repeatable) [default: stale-lwt, orphan-discovery, ghost-command]
        #[arg(long = "class", value_name = "CLASS")]
        classes: Vec<RetainedClass>,

        /// Clear them (without it, only show what would be cleared)
        #[arg(long)]
        yes: bool,

        /// Also turn off, on each device, the setting that keeps its state retained (PowerRetain 0, ...)
        #[arg(long, requires = "yes")]
        fix: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetainedClass {
    StaleLwt,
    OrphanDiscovery,
    GhostCommand,
    RetainedState,
    Offline,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The MQTT topic (no wildcards)
    pub topic: String,

    /// The message; none is an empty message (with --retain: clears the retained one)
    #[arg(allow_hyphen_values = true)]
    pub payload: Option<String>,

    /// Ask the broker to keep it for later subscribers
    #[arg(long)]
    pub retain: bool,

    #[command(flatten)]
    pub dry: DryRunArg,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Show only these devices or groups [default: every device]
    #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub targets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Devices or groups
    #[arg(required = true, value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub targets: Vec<String>,

    /// How to write the readings [default: table; json with --json]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<ReadFormat>,

    /// Write to this file atomically instead of stdout (for node_exporter's textfile collector)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// CSV without its header line, for appending to a file with >>
    #[arg(long)]
    pub no_header: bool,

    #[command(flatten)]
    pub dry: DryRunArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadFormat {
    /// readings with units, for people
    Table,
    /// the rows as JSON
    Json,
    /// time,device,topic,sensor,key,channel,value
    Csv,
    /// InfluxDB line protocol, the firmware's own InfluxDB schema
    Influx,
    /// Prometheus text exposition (node_exporter textfile collector)
    Prom,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Devices or groups to watch [default: every device]
    #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_names))]
    pub targets: Vec<String>,

    /// Message classes to show [default: stat and tele]
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Vec<WatchPrefix>,

    /// Only these suffixes, any case; a word also takes its numbered forms (POWER: POWER1 ... POWER32)
    #[arg(long, value_name = "SUFFIX", add = ArgValueCandidates::new(suffix_values))]
    pub only: Vec<String>,

    /// Raw MQTT filters to watch as well
    #[arg(long, value_name = "FILTER")]
    pub topic: Vec<String>,

    /// Stop after this many messages
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    /// Stop after this long
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Keep a persistent session under this name, so nothing is lost between runs
    #[arg(long, value_name = "NAME")]
    pub session: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchPrefix {
    Stat,
    Tele,
    Cmnd,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Add what was found to the profile, keeping its comments
    #[arg(long)]
    pub save: bool,

    /// Also ask every device on the group topics (`Status 5`): finds live devices that leave
    /// no retained trace, and always takes the whole --wait
    #[arg(long)]
    pub broadcast: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the devices and groups
    #[command(after_help = "Examples:
  tasctl profile list
  tasctl profile list --json | jq -r '.devices[].name'")]
    List,
    /// Print the profile's path
    #[command(after_help = "Examples:
  tasctl profile path
  TASCTL_PROFILE=~/lab.toml tasctl profile path")]
    Path,
    /// Add a device: NAME = TOPIC, with its layout when it is not the profile's default
    #[command(after_help = "Examples:
  tasctl profile add living my_house_living_room
  tasctl profile add lamp kitchen_lamp --full-topic '%topic%/%prefix%/'
  tasctl profile add board garage_board --relays 4 --mac 84:CC:A8:A1:00:02
  tasctl profile add porch DVES_A1B2C3_fb --fallback")]
    Add(ProfileAddArgs),
    /// Make a group, add members to it, or take them out
    #[command(subcommand)]
    Group(GroupCommand),
    /// Remove a device or group
    #[command(after_help = "Example:
  tasctl profile remove porch")]
    Remove {
        /// The device or group name
        #[arg(add = ArgValueCandidates::new(profile_names))]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ProfileAddArgs {
    /// The name to use in commands
    pub name: String,
    /// The device's Topic (its fallback topic with --fallback)
    pub topic: String,
    /// Its FullTopic, when not the profile's default
    #[arg(long, value_name = "TEMPLATE")]
    pub full_topic: Option<String>,
    /// A prefix that differs from the profile's default (repeatable)
    #[arg(long, value_name = "CLASS=WORD", value_parser = class_word)]
    pub prefix: Vec<(String, String)>,
    /// Its host name, for a FullTopic with %hostname%
    #[arg(long)]
    pub hostname: Option<String>,
    /// Its MAC (12 hex digits, colons allowed), for %id% and for discover --save to match it
    #[arg(long)]
    pub mac: Option<String>,
    /// How many outputs it has (1 to 32)
    #[arg(long, value_name = "N")]
    pub relays: Option<u8>,
    /// TOPIC is the device's fallback topic (DVES_XXXXXX_fb)
    #[arg(long)]
    pub fallback: bool,
    /// Add it even though another device has the same topic
    #[arg(long)]
    pub force: bool,
}

/// `cmnd=cmd`: a prefix class and its word.
fn class_word(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((class @ ("cmnd" | "stat" | "tele"), word)) => Ok((class.into(), word.into())),
        _ => Err("expected CLASS=WORD, CLASS one of cmnd, stat, tele (like stat=status)".into()),
    }
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Make a group, or add members to one; --group-topic makes it a firmware GroupTopic group
    #[command(after_help = "Examples:
  tasctl profile group add lights living kitchen          # one publish per member
  tasctl profile group add downstairs living kitchen --group-topic downstairs
  tasctl profile group add downstairs porch               # one more member")]
    Add {
        /// The group's name
        #[arg(add = ArgValueCandidates::new(profile_names))]
        name: String,
        /// Device names from the profile
        #[arg(add = ArgValueCandidates::new(profile_names))]
        members: Vec<String>,
        /// The GroupTopic the members listen on (set with `GroupTopic2 downstairs` on each)
        #[arg(long, value_name = "TOPIC")]
        group_topic: Option<String>,
    },
    /// Take members out of a group, or without members remove the group (not its devices)
    #[command(after_help = "Examples:
  tasctl profile group remove downstairs porch
  tasctl profile group remove lights")]
    Remove {
        /// The group's name
        #[arg(add = ArgValueCandidates::new(profile_names))]
        name: String,
        /// The members to take out
        #[arg(add = ArgValueCandidates::new(profile_names))]
        members: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// How many default devices to run
    #[arg(long, value_name = "N")]
    pub devices: Option<usize>,

    /// A TOML file describing the devices
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Put every device on one connection (for hundreds or thousands of devices)
    #[arg(long)]
    pub fleet: bool,

    /// Once ready, publish this many STATE telemetry messages as fast as possible (load tests)
    #[arg(long, value_name = "N")]
    pub flood: Option<u64>,

    /// Run an MQTT broker inside the process (for trying tasctl out)
    #[arg(long)]
    pub embedded: bool,

    /// Where the embedded broker listens
    #[arg(long, value_name = "ADDR", requires = "embedded")]
    pub listen: Option<String>,

    /// When stopping, clear every retained message the devices published (the default with
    /// --devices N, so a load test leaves no fake devices behind)
    #[arg(long, conflicts_with = "no_clean")]
    pub clean: bool,

    /// When stopping, leave the devices' retained messages (their LWT says Offline)
    #[arg(long)]
    pub no_clean: bool,
}

/// The command line as parsed, helped and completed: `wait` (devices' answers) is hidden
/// where no device is asked and waited for.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let wait = cmd
        .get_arguments()
        .find(|a| a.get_id() == "wait")
        .cloned()
        .expect("the global --wait");
    // A command's own copy of a global argument stops clap from adding the global one.
    for name in [
        "watch",
        "publish",
        "profile",
        "simulate",
        "completions",
        "manpage",
    ] {
        cmd = cmd.mut_subcommand(name, |sub| sub.arg(wait.clone().hide(true)));
    }
    cmd
}

/// Parses the command line (exits with clap's message and code 2 on a usage error).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some((kind, message)) = contradiction(&cli) {
        // As clap reports its own usage errors: the message, the usage line, exit 2.
        let root = command();
        let mut cmd = matches
            .subcommand_name()
            .and_then(|sub| {
                let found = root.find_subcommand(sub)?.clone();
                Some(found.bin_name(format!("tasctl {sub}")))
            })
            .unwrap_or(root);
        cmd.error(kind, message).exit();
    }
    cli
}

/// What clap cannot say by itself: a `send` without a command, flags that contradict each
/// other or mean nothing for the command.
fn contradiction(cli: &Cli) -> Option<(clap::error::ErrorKind, String)> {
    use clap::error::ErrorKind;
    match &cli.command {
        Command::Send(args) => args
            .split()
            .err()
            .map(|e| (ErrorKind::MissingRequiredArgument, e)),
        Command::Read(args) => match args.format {
            Some(format) if cli.global.json && format != ReadFormat::Json => Some((
                ErrorKind::ArgumentConflict,
                format!(
                    "--json and --format {} contradict each other (--json is --format json); give one",
                    format.to_possible_value().map_or_else(String::new, |v| v.get_name().to_string())
                ),
            )),
            _ => None,
        },
        Command::Top(_) if cli.global.json => Some((
            ErrorKind::ArgumentConflict,
            "top is a screen and prints no JSON; for JSON use `tasctl status --json`, `tasctl read --json` or `tasctl watch --json`".into(),
        )),
        _ => None,
    }
}

/// The environment variable through which the shell asks `tasctl` for completions.
const COMPLETE_VAR: &str = "COMPLETE";

/// Answers the shell's completion request (`COMPLETE=bash tasctl ...`) and exits; returns at
/// once, having done nothing, when there is no request.
pub fn complete_if_asked() {
    clap_complete::CompleteEnv::with_factory(command)
        .var(COMPLETE_VAR)
        .bin("tasctl")
        .completer("tasctl")
        .complete();
}

/// The completion script for `shell`, as `tasctl completions SHELL` prints it and as
/// `completions/` keeps it: it calls `tasctl` from PATH for every completion, so names come
/// from the profile as it is at that moment.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let completer: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &Bash,
        clap_complete::Shell::Elvish => &Elvish,
        clap_complete::Shell::Fish => &Fish,
        clap_complete::Shell::PowerShell => &Powershell,
        _ => &Zsh,
    };
    let mut buf = Vec::new();
    completer
        .write_registration(COMPLETE_VAR, "tasctl", "tasctl", "tasctl", &mut buf)
        .expect("writing to memory should not fail");
    String::from_utf8(buf).expect("clap_complete should write UTF-8")
}

/// The man page (roff), one page with the usual sections: NAME, SYNOPSIS, DESCRIPTION,
/// COMMANDS (each command's synopsis, options and examples), OPTIONS, ENVIRONMENT, FILES,
/// EXIT STATUS, EXAMPLES, SEE ALSO. Everything but the fixed sections comes from the command
/// line's own help, so the page and `--help` cannot disagree.
pub fn man_page() -> String {
    let cmd = command();
    let mut page = String::new();
    let version = cmd.get_version().unwrap_or_default();
    page.push_str(&format!(
        ".TH TASCTL 1 \"\" \"tasctl {version}\" \"User Commands\"\n"
    ));
    page.push_str(".SH NAME\ntasctl \\- control and watch Tasmota devices over MQTT\n");
    page.push_str(".SH SYNOPSIS\n.B tasctl\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...\n");
    page.push_str(".SH DESCRIPTION\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        paragraphs(&mut page, &about.to_string());
    }
    page.push_str(".SH COMMANDS\n");
    let mut commands = Vec::new();
    for sub in cmd.get_subcommands() {
        runnable(sub, "tasctl", &mut commands);
    }
    {
        for (name, command) in commands {
            let usage = command.clone().bin_name(&name).render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ").trim();
            page.push_str(&format!(".SS \"{}\"\n", roff(usage)));
            if let Some(about) = command.get_long_about().or(command.get_about()) {
                paragraphs(&mut page, &about.to_string());
            }
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_id() == "help" || arg.get_id() == "version" {
                    continue;
                }
                option(&mut page, arg);
            }
            if let Some(examples) = command.get_after_help() {
                page.push_str(".PP\n.nf\n");
                for line in examples.to_string().lines() {
                    page.push_str(&roff(line));
                    page.push('\n');
                }
                page.push_str(".fi\n");
            }
        }
    }
    page.push_str(".SH OPTIONS\nThese go before or after the command.\n");
    let mut headings: Vec<Option<&str>> = Vec::new();
    for arg in cmd.get_arguments() {
        if !headings.contains(&arg.get_help_heading()) {
            headings.push(arg.get_help_heading());
        }
    }
    for heading in headings {
        page.push_str(&format!(".SS \"{}\"\n", heading.unwrap_or("Other options")));
        for arg in cmd
            .get_arguments()
            .filter(|a| a.get_help_heading() == heading && !a.is_hide_set())
        {
            option(&mut page, arg);
        }
    }
    page.push_str(MAN_TAIL);
    page.push_str(".SH \"EXIT STATUS\"\n");
    for line in EXIT_CODES.lines().skip(1) {
        if let Some((code, meaning)) = line.trim().split_once("  ") {
            page.push_str(&format!(".TP\n.B {code}\n{}\n", roff(meaning.trim())));
        }
    }
    page.push_str(MAN_EXAMPLES);
    page
}

/// The commands a user can run, with their full names: `tasctl profile group add`, and
/// `tasctl retained` beside `tasctl retained clean`.
fn runnable<'a>(
    command: &'a clap::Command,
    parent: &str,
    out: &mut Vec<(String, &'a clap::Command)>,
) {
    let name = format!("{parent} {}", command.get_name());
    if !command.has_subcommands() || !command.is_subcommand_required_set() {
        out.push((name.clone(), command));
    }
    for sub in command.get_subcommands() {
        runnable(sub, &name, out);
    }
}

/// ENVIRONMENT and FILES: what the command line's help cannot list.
const MAN_TAIL: &str = r#".SH ENVIRONMENT
.TP
.B TASCTL_BROKER
The broker URL, or the NAME of a [brokers.NAME] table of the profile (below \-\-broker).
.TP
.B TASCTL_USERNAME
The user name for the broker (below \-\-username).
.TP
.B TASCTL_PASSWORD
The password for the broker; keeps it out of the process list and shell history.
.TP
.B TASCTL_PROFILE
The profile file (below \-\-profile).
.TP
.B TASCTL_DEVICE_PASSWORD
The devices' own MQTT password (MqttPassword), which backup and restore present.
.TP
.B NO_COLOR\fR, \fBCLICOLOR_FORCE
Colour off, or on even when not on a terminal (below \-\-color).
.SH FILES
.TP
.I ~/.config/tasctl/profile.toml
The profile (the platform's configuration directory; \fBtasctl profile path\fR prints it):
brokers, defaults, devices and groups. Written atomically under a lock.
.TP
.I ./tasmota-backups/<MAC>/
Where \fBtasctl backup\fR writes settings files, unless \-\-dir or the profile's [backup] dir
says otherwise.
"#;

/// EXAMPLES and SEE ALSO.
const MAN_EXAMPLES: &str = r#".SH EXAMPLES
.nf
tasctl discover \-\-save                  # name the devices found on the broker
tasctl power toggle kitchen\-lamp        # switch one, and see it confirmed
tasctl power on all \-\-dry\-run           # what would be published, to whom
tasctl status all \-\-json | jq \(aq.[] | {device, ok}\(aq
tasctl read all \-\-format prom \-\-output /var/lib/node_exporter/textfile/tasmota.prom
tasctl watch \-\-only POWER
tasctl backup all \-\-dir ~/tasmota\-backups
.fi
.SH "SEE ALSO"
The README of tasctl, and the Tasmota MQTT documentation at
.UR https://tasmota.github.io/docs/MQTT/
.UE .
"#;

/// One option or argument as a `.TP` item: its flags and value, then its help.
fn option(page: &mut String, arg: &clap::Arg) {
    let takes_values = arg.get_action().takes_values();
    let value = match arg.get_value_names() {
        Some(names) if takes_values => names
            .iter()
            .map(|n| format!("<{n}>"))
            .collect::<Vec<_>>()
            .join(" "),
        None if takes_values => format!("<{}>", arg.get_id().as_str().to_uppercase()),
        _ => String::new(),
    };
    let mut flags = Vec::new();
    if let Some(short) = arg.get_short() {
        flags.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        flags.push(format!("--{long}"));
    }
    let head = if flags.is_empty() {
        let many = matches!(arg.get_num_args(), Some(r) if r.max_values() > 1);
        format!("{value}{}", if many { "..." } else { "" })
    } else if value.is_empty() {
        flags.join(", ")
    } else {
        format!("{} {value}", flags.join(", "))
    };
    page.push_str(&format!(".TP\n\\fB{}\\fR\n", roff(&head)));
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let values: Vec<String> = if takes_values {
        arg.get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect()
    } else {
        Vec::new()
    };
    let values = if values.is_empty() {
        String::new()
    } else {
        format!(" [possible values: {}]", values.join(", "))
    };
    page.push_str(&roff(&format!("{help}{values}")));
    page.push('\n');
}

/// Text as roff paragraphs.
fn paragraphs(page: &mut String, text: &str) {
    for paragraph in text.split("\n\n") {
        page.push_str(".PP\n");
        page.push_str(&roff(&paragraph.replace('\n', " ")));
        page.push('\n');
    }
}

/// Escapes text for roff: backslashes and hyphens, and a leading `.` or `'` that would start
/// a request.
fn roff(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\e")
        .replace('-', "\\-")
        .replace('\'', "\\(aq");
    if escaped.starts_with('.') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The profile's device and group names, with what each is, for completing a name.
fn profile_names() -> Vec<CompletionCandidate> {
    let given = std::env::var_os("TASCTL_PROFILE").map(PathBuf::from);
    let Ok((path, explicit)) = crate::profile::path(given.as_deref()) else {
        return Vec::new();
    };
    let Ok(profile) = crate::profile::load(&path, explicit) else {
        return Vec::new();
    };
    let devices = profile.devices.iter().map(|(name, d)| {
        CompletionCandidate::new(name).help(Some(format!("device {}", d.topic).into()))
    });
    let groups = profile
        .groups
        .keys()
        .map(|name| CompletionCandidate::new(name).help(Some("group".into())));
    devices.chain(groups).collect()
}

/// The profile's named brokers, for `--broker`.
fn broker_names() -> Vec<CompletionCandidate> {
    let given = std::env::var_os("TASCTL_PROFILE").map(PathBuf::from);
    let Ok((path, explicit)) = crate::profile::path(given.as_deref()) else {
        return Vec::new();
    };
    let Ok(profile) = crate::profile::load(&path, explicit) else {
        return Vec::new();
    };
    profile
        .brokers
        .iter()
        .map(|(name, b)| {
            let url = b.url.as_ref().map(ToString::to_string).unwrap_or_default();
            CompletionCandidate::new(name).help(Some(url.into()))
        })
        .collect()
}

/// `send` words: the first is a target, the next a firmware command.
/// The suffixes Tasmota publishes, for `watch --only`.
fn suffix_values() -> Vec<CompletionCandidate> {
    [
        ("POWER", "stat: an output's state (POWER1, POWER2, ...)"),
        ("RESULT", "stat: the reply to a command"),
        ("STATE", "tele: periodic state"),
        ("SENSOR", "tele: periodic sensor readings"),
        ("LWT", "tele: Online or Offline"),
        ("INFO1", "tele: module and version after a restart"),
        ("INFO2", "tele: web server and IP after a restart"),
        ("INFO3", "tele: the restart reason"),
        ("STATUS", "stat: Status replies (STATUS1 ... STATUS11)"),
        ("UPGRADE", "stat: an OTA upgrade's verdict"),
        ("MARGINS", "tele: power limits crossed"),
    ]
    .into_iter()
    .map(|(s, help)| CompletionCandidate::new(s).help(Some(help.into())))
    .collect()
}

fn send_words() -> Vec<CompletionCandidate> {
    // Which word is being completed is not told to a candidate function: offer both the
    // targets and the commands people send most.
    let mut words = target_names();
    for (command, help) in [
        ("Power", "switch or read output 1 (Power2 for the second)"),
        ("Status", "Status 0: everything; 1-13: one section"),
        ("State", "power, Wi-Fi, uptime"),
        (
            "Backlog",
            "several commands: Backlog Power on; Delay 10; Power off",
        ),
        ("Dimmer", "0-100"),
        ("Color", "a colour"),
        ("CT", "colour temperature"),
        ("FullTopic", "read or set the FullTopic"),
        ("Topic", "read or set the Topic"),
        ("GroupTopic", "read or set the GroupTopic"),
        ("FriendlyName", "read or set a name"),
        ("TelePeriod", "telemetry period in seconds"),
        ("Rule1", "a rule"),
        ("Restart", "Restart 1"),
        ("Timezone", "read or set the time zone"),
        ("SetOption", "SetOption<n> 0|1"),
    ] {
        words.push(CompletionCandidate::new(command).help(Some(help.into())));
    }
    words
}

/// TARGET words: the profile's names and `all`.
fn target_names() -> Vec<CompletionCandidate> {
    let mut names = profile_names();
    names.push(CompletionCandidate::new("all").help(Some("every device (the group topic)".into())));
    names
}

fn relay_values() -> Vec<CompletionCandidate> {
    let mut values: Vec<CompletionCandidate> = (1..=8)
        .map(|n| CompletionCandidate::new(n.to_string()))
        .collect();
    values.push(CompletionCandidate::new("all").help(Some("every output (Power0)".into())));
    values
}

fn section_values() -> Vec<CompletionCandidate> {
    let names = [
        (0, "everything"),
        (1, "StatusPRM: parameters, uptime"),
        (2, "StatusFWR: firmware"),
        (3, "StatusLOG: logging"),
        (4, "StatusMEM: memory"),
        (5, "StatusNET: network"),
        (6, "StatusMQT: MQTT"),
        (7, "StatusTIM: time"),
        (8, "StatusSNS: sensors (old)"),
        (9, "StatusPTH: power thresholds"),
        (10, "StatusSNS: sensors"),
        (11, "StatusSTS: state"),
        (12, "StatusSTK: crash dump"),
        (13, "StatusSHT: shutters"),
    ];
    names
        .iter()
        .map(|(n, help)| CompletionCandidate::new(n.to_string()).help(Some((*help).into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after() {
        let a = Cli::try_parse_from(["tasctl", "--json", "-w", "3s", "power", "on", "x"]).unwrap();
        let b = Cli::try_parse_from(["tasctl", "power", "on", "x", "--json", "-w", "3s"]).unwrap();
        assert!(a.global.json && b.global.json);
        assert_eq!(a.global.wait, Some(Duration::from_secs(3)));
        assert_eq!(b.global.wait, Some(Duration::from_secs(3)));
    }

    #[test]
    fn send_one_target_or_several_before_the_double_dash() {
        let split = |words: &[&str]| {
            let cli = Cli::try_parse_from([&["tasctl", "send"][..], words].concat()).unwrap();
            let json = cli.global.json;
            let Command::Send(args) = cli.command else {
                panic!()
            };
            (args.split().unwrap(), json)
        };
        let s = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(
            split(&["x", "Dimmer", "-10", "--json"]),
            ((s(&["x"]), "Dimmer".into(), s(&["-10"])), true)
        );
        assert_eq!(
            split(&["a", "b", "--", "Power", "on"]).0,
            (s(&["a", "b"]), "Power".into(), s(&["on"]))
        );
        assert_eq!(
            split(&["a", "--", "Rule1", "-on x do y endon"]).0,
            (s(&["a"]), "Rule1".into(), s(&["-on x do y endon"]))
        );
        let cli = Cli::try_parse_from(["tasctl", "send", "x"]).unwrap();
        let Command::Send(args) = cli.command else {
            panic!()
        };
        assert!(args.split().is_err());
    }

    #[test]
    fn power_words_as_the_firmware_takes_them() {
        for (word, action) in [
            ("ON", PowerAction::On),
            ("On", PowerAction::On),
            ("1", PowerAction::On),
            ("off", PowerAction::Off),
            ("0", PowerAction::Off),
            ("Toggle", PowerAction::Toggle),
            ("2", PowerAction::Toggle),
            ("BLINKOFF", PowerAction::Blinkoff),
        ] {
            let cli = Cli::try_parse_from(["tasctl", "power", word, "x"]).unwrap();
            let Command::Power(args) = cli.command else {
                panic!()
            };
            assert_eq!(args.action, action, "{word}");
        }
        assert!(Cli::try_parse_from(["tasctl", "power", "3", "x"]).is_err());
    }

    #[test]
    fn relay_values() {
        assert_eq!(parse_relay("all"), Ok(Relay::All));
        assert_eq!(parse_relay("2"), Ok(Relay::One(2)));
        assert!(parse_relay("0").is_err());
        assert!(parse_relay("33").is_err());
    }
}
