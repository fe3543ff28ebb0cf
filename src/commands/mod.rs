//! Dispatch: one function per command. Commands return typed reports; `Output` prints them,
//! and the report picks the exit code.

mod ask;
mod backup;
mod config;
mod discover;
mod power;
mod profile;
mod publish;
mod read;
mod restore;
mod retained;
mod send;
mod status;
mod top;
mod upgrade;
mod watch;

use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::{
    Cli, Command, ConfigAction, GlobalArgs, GroupCommand, PowerAction, ProfileCommand, ReadFormat,
    Relay, RetainedAction, RetainedClass, WatchPrefix,
};
use crate::engine;
use crate::error;
use crate::mqtt::{self, Session};
use crate::output::{self, Output};
use crate::settings::{self, Settings};
use crate::simulate;
use crate::target;
use crate::topic::Class;

/// Runs the command and returns its exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let Cli { global, command } = cli;
    let out = Output::new(global.json, settings::color(global.color), global.verbose);
    let result = dispatch(command, global, &out);
    out.trace(format_args!("done"));
    result
}

fn dispatch(command: Command, global: GlobalArgs, out: &Output) -> Result<u8> {
    let out = out.clone();
    match command {
        // Special modes first: no profile, no connection.
        Command::Completions { shell } => {
            out.text(&crate::cli::completion_script(shell))?;
            Ok(error::OK)
        }
        Command::Profile(cmd) => {
            let request = match cmd {
                ProfileCommand::Path => profile::Request::Path,
                ProfileCommand::List => profile::Request::List,
                ProfileCommand::Add(a) => profile::Request::Add(crate::profile::NewDevice {
                    name: a.name,
                    topic: a.topic,
                    fallback: a.fallback,
                    full_topic: a.full_topic,
                    prefix: a.prefix,
                    hostname: a.hostname,
                    mac: a.mac,
                    relays: a.relays,
                    force: a.force,
                }),
                ProfileCommand::Group(GroupCommand::Add {
                    name,
                    members,
                    group_topic,
                }) => profile::Request::GroupAdd {
                    name,
                    members,
                    group_topic,
                },
                ProfileCommand::Group(GroupCommand::Remove { name, members }) => {
                    profile::Request::GroupRemove { name, members }
                }
                ProfileCommand::Remove { name } => profile::Request::Remove { name },
            };
            let env = settings::Environment::read();
            profile::run(
                request,
                global.profile.as_deref().or(env.profile.as_deref()),
                &out,
            )
        }
        Command::Power(args) => {
            let settings = resolve(&global, &out)?;
            let targets = target::resolve(&args.targets, &settings.profile)?;
            warn_shared(&targets, &out);
            let action = match args.action {
                PowerAction::On => power::Action::On,
                PowerAction::Off => power::Action::Off,
                PowerAction::Toggle => power::Action::Toggle,
                PowerAction::Blink => power::Action::Blink,
                PowerAction::Blinkoff => power::Action::Blinkoff,
                PowerAction::Get => power::Action::Get,
            };
            let relay = args.relay.map(|r| match r {
                Relay::One(n) => power::Relay::One(n),
                Relay::All => power::Relay::All,
            });
            let plan = power::plan(&settings, &targets, action, relay)?;
            if args.dry.dry_run {
                return dry(&out, engine::dry_run(plan, None)?.sharing(&targets));
            }
            let report = connected(&settings, &out, async |s, session| {
                power::run(s, session, plan, action, relay).await
            })?;
            out.emit(&report)?;
            Ok(report.exit_code())
        }
        Command::Status(args) => {
            let settings = resolve(&global, &out)?;
            let targets = target::resolve(&args.targets, &settings.profile)?;
            warn_shared(&targets, &out);
            let plan = status::plan(&settings, &targets, args.section)?;
            if args.dry.dry_run {
                return dry(&out, engine::dry_run(plan, None)?.sharing(&targets));
            }
            let report = connected(&settings, &out, async |s, session| {
                status::run(s, session, plan, args.section).await
            })?;
            out.emit(&report)?;
            Ok(report.exit_code())
        }
        Command::Send(args) => {
            let settings = resolve(&global, &out)?;
            let (words, command, payload) = args.split().map_err(anyhow::Error::msg)?;
            let targets = target::resolve(&words, &settings.profile)?;
            warn_shared(&targets, &out);
            let payload = payload.join(" ");
            let plan = send::plan(&settings, &targets, &command, &payload)?;
            if args.dry.dry_run {
                return dry(&out, engine::dry_run(plan, None)?.sharing(&targets));
            }
            let report = connected(&settings, &out, async |s, session| {
                send::run(s, session, plan, &targets, &command, &payload, args.no_wait).await
            })?;
            out.emit(&report)?;
            Ok(report.exit_code())
        }
        Command::Read(args) => {
            let settings = resolve(&global, &out)?;
            let targets = target::resolve(&args.targets, &settings.profile)?;
            warn_shared(&targets, &out);
            let format = match (args.format, global.json) {
                (Some(ReadFormat::Table), _) => read::Format::Table,
                (Some(ReadFormat::Json), _) | (None, true) => read::Format::Json,
                (Some(ReadFormat::Csv), _) => read::Format::Csv {
                    header: !args.no_header,
                },
                (Some(ReadFormat::Influx), _) => read::Format::Influx,
                (Some(ReadFormat::Prom), _) => read::Format::Prom,
                (None, false) => read::Format::Table,
            };
            if let Some(file) = &args.output {
                crate::files::check_writable(file)?;
            }
            let plan = read::plan(&settings, &targets)?;
            if args.dry.dry_run {
                return dry(&out, engine::dry_run(plan, None)?.sharing(&targets));
            }
            // With the broker out of reach, a Prometheus textfile still says every expected
            // device is down, rather than keeping the last values up.
            let down = (format == read::Format::Prom && args.output.is_some())
                .then(|| read::unreachable(&plan, "the broker could not be reached"));
            let report = match connected(&settings, &out, async |s, session| {
                read::run(s, session, plan).await
            }) {
                Err(e) if error::exit_code(&e) == error::BROKER && down.is_some() => {
                    let down = down.expect("checked");
                    read::deliver(
                        &read::render(&down, format, &mut 0)?,
                        args.output.as_deref(),
                        &out,
                    )?;
                    return Err(e);
                }
                result => result?,
            };
            let mut skipped = 0;
            let text = read::render(&report, format, &mut skipped)?;
            if skipped > 0 {
                out.trace(format_args!(
                    "{skipped} value(s) left out: not a finite number (nan, inf, 1e400)"
                ));
            }
            read::deliver(&text, args.output.as_deref(), &out)?;
            Ok(report.exit_code())
        }
        Command::Backup(args) => {
            let settings = resolve(&global, &out)?;
            let targets = target::resolve(&args.targets, &settings.profile)?;
            let devices = target::devices(&targets)?;
            let parties = devices
                .into_iter()
                .map(|d| {
                    let pw = settings.device_password(
                        args.password.device_password_file.as_deref(),
                        &d,
                        !args.dry.dry_run,
                    )?;
                    Ok((d, pw))
                })
                .collect::<Result<Vec<_>>>()?;
            let options = backup::Options {
                dir: args
                    .dir
                    .or_else(|| settings.profile.backup_dir.clone())
                    .unwrap_or_else(|| "tasmota-backups".into()),
                keep: args.keep.map(|k| k as usize),
                per_reply: settings.wait_given.unwrap_or(Duration::from_secs(5)),
            };
            if args.dry.dry_run {
                let plan = backup::plan(parties, &options, None);
                return dry(&out, engine::dry_run(plan, Some(backup::THEN.into()))?);
            }
            // Found before any transfer, not after every one.
            crate::files::check_dir_writable(&options.dir)?;
            let plan = backup::plan(parties, &options, Some(&out));
            let report = connected(&settings, &out, async |s, session| {
                backup::run(session, plan, &s.profile).await
            })?;
            out.emit(&report)?;
            Ok(report.exit_code())
        }
        Command::Restore(args) => {
            let settings = resolve(&global, &out)?;
            let targets = target::resolve(std::slice::from_ref(&args.target), &settings.profile)?;
            let device = restore::device(&targets)?;
            let (path, chosen) = restore::pick(&args.files)?;
            if let Some(chosen) = chosen {
                out.note(&chosen);
            }
            let file = restore::read(&path)?;
            let password = settings.device_password(
                args.password.device_password_file.as_deref(),
                &device,
                !args.dry.dry_run,
            )?;
            let conversation = restore::Restore::new(
                file,
                password,
                args.force,
                Duration::from_secs(5).min(settings.wait_given.unwrap_or(Duration::from_secs(5))),
                settings.wait_given.unwrap_or(Duration::from_secs(60)),
            );
            let plan = restore::plan(device, conversation);
            if args.dry.dry_run {
                return dry(&out, engine::dry_run(plan, Some(restore::THEN.into()))?);
            }
            let report = connected(&settings, &out, async |s, session| {
                restore::run(session, plan, &s.profile).await
            })?;
            out.emit(&report)?;
            Ok(report.exit_code())
        }
        Command::Upgrade(args) => {
            let settings = resolve(&global, &out)?;
            let targets = target::resolve(&args.targets, &settings.profile)?;
            let devices = target::devices(&targets)?;
            if let Some(v) = &args.version
                && (v.len() < 3 || !v.chars().all(|c| c.is_ascii_digit() || c == '.'))
            {
                anyhow::bail!("--version `{v}` is not a firmware version like 14.4.1");
            }
            if let Some(url) = &args.url {
                crate::serve::check_url_fits(url)?;
            }
            if let Some(file) = &args.serve {
                crate::files::check_file(file, "image", crate::serve::IMAGE_LIMIT)?;
            }
            let listen: std::net::SocketAddr = match &args.serve_address {
                Some(a) => std::net::ToSocketAddrs::to_socket_addrs(a.as_str())
                    .ok()
                    .and_then(|mut addrs| addrs.next())
                    .with_context(|| format!("--serve-address `{a}` is not HOST:PORT"))?,
                None => "0.0.0.0:8266".parse().expect("a valid address"),
            };
            let options = upgrade::Options {
                url: args.url.clone(),
                version: args.version.clone(),
                canary: args.canary.unwrap_or(0),
                batch: usize::from(args.batch),
                limit: settings.wait_given.unwrap_or(Duration::from_secs(300)),
            };
            // This machine's address toward the broker, for the URL the devices are given.
            let toward = args.serve.as_ref().and_then(|_| {
                crate::serve::address_toward(&settings.broker.url.host, settings.broker.url.port)
            });
            if let Some(file) = &args.serve {
                // The longest the URL can be once the port is bound.
                let mut widest = listen;
                if widest.port() == 0 {
                    widest.set_port(u16::MAX);
                }
                crate::serve::check_url_fits(&crate::serve::url(file, widest, toward))?;
            }
            if args.dry.dry_run {
                let mut options = options;
                if let Some(file) = &args.serve {
                    options.url = Some(crate::serve::url(file, listen, toward));
                }
                let then = upgrade::then(&options);
                let plan = upgrade::plan(&devices, &options, None);
                return dry(&out, engine::dry_run(plan, Some(then))?);
            }
            let report = connected(&settings, &out, async |s, session| {
                let mut options = options;
                let _server = match &args.serve {
                    Some(file) => {
                        let server = crate::serve::start(file, listen, toward, &out).await?;
                        options.url = Some(server.url.clone());
                        Some(server)
                    }
                    None => None,
                };
                upgrade::run(session, devices, &options, &s.profile, &out).await
            })?;
            out.emit(&report)?;
            Ok(report.exit_code())
        }
        Command::Config(args) => {
            let settings = resolve(&global, &out)?;
            let (targets, mode, canary, batch, asked) = match args.action {
                ConfigAction::Diff { targets } => (targets, config::Mode::Diff, 0, 1, Vec::new()),
                ConfigAction::Apply {
                    targets,
                    canary,
                    batch,
                    force,
                    dry_run,
                } => (
                    targets,
                    config::Mode::Apply { dry_run, force },
                    canary.unwrap_or(0),
                    usize::from(batch),
                    Vec::new(),
                ),
                ConfigAction::Show { target, settings } => {
                    (vec![target], config::Mode::Show, 0, 1, settings)
                }
            };
            let named = !targets.is_empty();
            let resolved = target::resolve(&targets, &settings.profile)?;
            let mut devices = config::devices(&settings.profile, &resolved, named)?;
            match mode {
                config::Mode::Show => {
                    for (_, wanted) in &mut devices {
                        *wanted = config::show_names(&asked, wanted)?;
                    }
                }
                config::Mode::Apply { force, .. } => config::check_apply(&devices, force)?,
                config::Mode::Diff => {}
            }
            let options = config::Options {
                mode,
                canary,
                batch,
                // --wait bounds a silent device; a restart gets at least a minute.
                wait: settings.wait,
                restart_wait: settings.wait.max(Duration::from_secs(60)),
            };
            let report = connected(&settings, &out, async |s, session| {
                config::run(
                    session,
                    devices,
                    &options,
                    &s.profile,
                    &s.profile_path,
                    &out,
                )
                .await
            })?;
            out.emit(&report)?;
            Ok(config::exit_code(&report, mode))
        }
        Command::Retained(args) => {
            let settings = resolve(&global, &out)?;
            let report = connected(&settings, &out, async |s, session| {
                let report = retained::scan(s, session, &out).await?;
                match args.action {
                    None => Ok(report),
                    Some(RetainedAction::Clean { classes, yes, fix }) => {
                        let classes: Vec<retained::Kind> = classes
                            .iter()
                            .map(|c| match c {
                                RetainedClass::StaleLwt => retained::Kind::StaleLwt,
                                RetainedClass::OrphanDiscovery => retained::Kind::OrphanDiscovery,
                                RetainedClass::GhostCommand => retained::Kind::GhostCommand,
                                RetainedClass::RetainedState => retained::Kind::RetainedState,
                                RetainedClass::Offline => retained::Kind::Offline,
                            })
                            .collect();
                        if yes {
                            retained::clean(s, session, report, &classes, fix).await
                        } else {
                            Ok(retained::dry_run(report, &classes))
                        }
                    }
                }
            })?;
            out.emit(&report)?;
            Ok(report.exit_code())
        }
        Command::Top(args) => {
            top::check_terminal()?;
            let settings = resolve(&global, &out)?;
            let targets = target::resolve(&args.targets, &settings.profile)?;
            // q is how top ends: 0, also on Ctrl-C or SIGTERM.
            crate::signal::on_interrupt(error::OK, Duration::from_millis(900));
            connected(&settings, &out, async |s, session| {
                top::run(s, session, &targets).await
            })
        }
        Command::Publish(args) => {
            let settings = resolve(&global, &out)?;
            let payload = args.payload.unwrap_or_default().into_bytes();
            publish::check(&args.topic, &payload)?;
            if args.dry.dry_run {
                return dry(&out, publish::dry_run(&args.topic, &payload, args.retain));
            }
            let report = connected(&settings, &out, async |s, session| {
                publish::run(session, &args.topic, payload, s.qos, args.retain).await
            })?;
            out.emit(&report)?;
            Ok(error::OK)
        }
        Command::Watch(args) => {
            let settings = resolve(&global, &out)?;
            let classes = if args.prefix.is_empty() {
                vec![Class::Stat, Class::Tele]
            } else {
                args.prefix
                    .iter()
                    .map(|p| match p {
                        WatchPrefix::Stat => Class::Stat,
                        WatchPrefix::Tele => Class::Tele,
                        WatchPrefix::Cmnd => Class::Cmnd,
                    })
                    .collect()
            };
            let mut options = session_options(&settings, &out);
            if let Some(name) = &args.session {
                let (client_id, qos) = watch::session_options(name)?;
                options = mqtt::Options {
                    client_id: Some(client_id),
                    clean_session: false,
                    qos,
                    ..options
                };
            }
            let request = watch::Request {
                targets: args.targets,
                classes,
                only: args.only,
                raw: args.topic,
                count: args.count,
                duration: args.duration,
            };
            // Ctrl-C is how a watch ends: 0, also when the grace period runs out.
            crate::signal::on_interrupt(error::OK, Duration::from_millis(900));
            with_session(&settings, options, async |s, session| {
                watch::run(s, session, request, &out).await
            })
        }
        Command::Discover(args) => {
            let settings = if args.save {
                let settings = settings::resolve_for_writing(&global)?;
                crate::files::check_writable(&settings.profile_path)?;
                for warning in &settings.warnings {
                    out.warn(warning);
                }
                settings
            } else {
                resolve(&global, &out)?
            };
            let report = connected(&settings, &out, async |s, session| {
                discover::run(s, session, args.broadcast, &out).await
            })?;
            out.emit(&report)?;
            if args.save {
                let found: Vec<_> = report.0.iter().map(discover::Found::for_profile).collect();
                // A broker given by flag or environment (a URL, not a profile's broker name).
                let given = global.broker.is_some() || std::env::var_os("TASCTL_BROKER").is_some();
                let named = settings.profile.brokers.values().any(|b| {
                    b.url.as_ref().map(ToString::to_string) == Some(settings.broker.url.to_string())
                });
                let broker = (given && !named).then(|| settings.broker.url.to_string());
                let saved =
                    crate::profile::save(&settings.profile_path, &found, broker.as_deref())?;
                for (topic, why) in &saved.skipped {
                    out.warn(&format!(
                        "not saved: the device on topic `{}`: {why}",
                        output::escape(topic)
                    ));
                }
                let list = |names: &[String]| {
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", names.join(", "))
                    }
                };
                out.note(&format!(
                    "saved to {}: {} added{}, {} updated{}, {} unchanged",
                    settings.profile_path.display(),
                    saved.added.len(),
                    list(&saved.added),
                    saved.updated.len(),
                    list(&saved.updated),
                    saved.unchanged.len()
                ));
                if let Some(url) = &saved.broker {
                    out.note(&format!(
                        "and the broker they were found on, as `[broker] url = \"{url}\"`: commands without --broker or TASCTL_BROKER (cron) use it"
                    ));
                }
            }
            Ok(error::OK)
        }
        Command::Manpage => {
            out.text(&crate::cli::man_page())?;
            Ok(error::OK)
        }
        Command::Simulate(args) => {
            // The devices come from the scenario; the profile only lends broker settings.
            let settings = settings::resolve_for_writing(&global)?;
            let request = simulate::Request {
                devices: args.devices,
                scenario: args.scenario,
                fleet: args.fleet,
                embedded: args.embedded,
                listen: args.listen,
                flood: args.flood.unwrap_or(0),
                clean: args.clean || (args.devices.is_some() && !args.no_clean),
            };
            // Ctrl-C stops the devices; saying goodbye for thousands takes a moment.
            crate::signal::on_interrupt(error::OK, Duration::from_secs(5));
            let runtime = runtime()?;
            runtime.block_on(simulate::run(&settings, request, &out))?;
            Ok(error::OK)
        }
    }
}

/// Before anything is published: a group on the fleet-wide group topic reaches profile devices
/// that are not its members, and they act on the command too.
fn warn_shared(targets: &[target::Target], out: &Output) {
    for target in targets {
        if let target::Target::Group(g) = target
            && !g.shared.is_empty()
        {
            out.warn(&format!(
                "`{}` publishes on `{}`, the fleet-wide group topic every device listens to unless changed on it: {} {} not {} but will act on it too",
                output::escape(&g.name),
                output::escape(&g.group_topic),
                output::escape(&g.shared.join(", ")),
                if g.shared.len() == 1 { "is" } else { "are" },
                if g.shared.len() == 1 { "a member" } else { "members" },
            ));
        }
    }
}

/// Resolves the settings, telling the user about anything worth a warning.
fn resolve(global: &GlobalArgs, out: &Output) -> Result<Settings> {
    let settings = settings::resolve(global)?;
    for warning in &settings.warnings {
        out.warn(warning);
    }
    Ok(settings)
}

/// How a command connects unless it says otherwise.
fn session_options(settings: &Settings, out: &Output) -> mqtt::Options {
    mqtt::Options {
        qos: settings.qos,
        trace: Some(out.clone()),
        ..mqtt::Options::default()
    }
}

/// Runs `work` on one connection on a current-thread runtime, then disconnects cleanly.
/// `--dry-run`: the report of what would be done, and a note that nothing was.
fn dry(out: &Output, report: engine::DryRun) -> Result<u8> {
    out.emit(&report)?;
    out.note("dry run: nothing was published, and no broker was contacted");
    Ok(error::OK)
}

fn connected<T>(
    settings: &Settings,
    out: &Output,
    work: impl AsyncFnOnce(&Settings, &mut Session) -> Result<T>,
) -> Result<T> {
    with_session(settings, session_options(settings, out), work)
}

/// `connected`, with connection options of the caller's choosing.
fn with_session<T>(
    settings: &Settings,
    options: mqtt::Options,
    work: impl AsyncFnOnce(&Settings, &mut Session) -> Result<T>,
) -> Result<T> {
    runtime()?.block_on(async {
        crate::signal::listen();
        let mut session = tokio::select! {
            s = Session::connect(&settings.broker, options) => s?,
            _ = crate::signal::interrupted() => return Err(error::Interrupted.into()),
        };
        let result = work(settings, &mut session).await?;
        // After Ctrl-C the goodbye is still said, but not waited for beyond the grace period.
        session.disconnect().await?;
        Ok(result)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
