//! Settings: the resolved, clap-free view of what the program needs.
//!
//! The only place where precedence lives: command-line flag (clap has already merged its
//! `TASCTL_*` environment variable into it), then the profile file, then the built-in default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::{ColorWhen, GlobalArgs};
use crate::profile::{self, Profile};
pub use crate::values::{BrokerUrl, Color, Secret};

pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the password comes from; a file is read only when a connection needs it.
#[derive(Debug, Clone, Default)]
pub enum Password {
    #[default]
    None,
    Given(Secret),
    File(PathBuf),
    /// A user name and no password: asked on the terminal (without echo) when connecting.
    Prompt,
}

/// What the MQTT connection needs.
#[derive(Debug, Clone)]
pub struct Broker {
    pub url: BrokerUrl,
    pub username: Option<String>,
    pub password: Password,
    pub connect_timeout: Duration,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// What the prompt was answered, once: a run asks at most once.
    pub asked: std::sync::Arc<std::sync::Mutex<Option<Secret>>>,
}

impl Broker {
    /// The password, reading `password_file` now if that is where it lives, or asking on the
    /// terminal (once per run).
    pub fn password(&self) -> Result<Option<Secret>> {
        match &self.password {
            Password::None => Ok(None),
            Password::Prompt => {
                let mut asked = self.asked.lock().expect("the prompt is never poisoned");
                if let Some(secret) = asked.as_ref() {
                    return Ok(Some(secret.clone()));
                }
                let user = self.username.as_deref().unwrap_or_default();
                let secret =
                    crate::prompt::password(&format!("Password for {user} at {}: ", self.url))?;
                *asked = Some(secret.clone());
                Ok(Some(secret))
            }
            Password::Given(secret) => Ok(Some(secret.clone())),
            Password::File(path) => {
                let bytes = crate::files::read_small(path, "password file")
                    .context("the password file is set by `password_file` in the profile")?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    anyhow::anyhow!("the password file {} is not UTF-8 text", path.display())
                })?;
                Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
            }
        }
    }
}

pub fn color(when: ColorWhen) -> Color {
    match when {
        ColorWhen::Auto => Color::Auto,
        ColorWhen::Always => Color::Always,
        ColorWhen::Never => Color::Never,
    }
}

#[derive(Debug)]
pub struct Settings {
    pub broker: Broker,
    pub wait: Duration,
    /// The wait as the flag or the profile set it, for commands with defaults of their own
    /// (a restore waits 60 s for the device to come back).
    pub wait_given: Option<Duration>,
    /// `TASCTL_DEVICE_PASSWORD`.
    pub device_password: Option<Secret>,
    pub qos: u8,
    pub profile: Profile,
    pub profile_path: PathBuf,
    /// Things worth telling the user that do not stop the command.
    pub warnings: Vec<String>,
}

/// What the environment says: the `TASCTL_*` variables, read once, in one place.
#[derive(Debug, Default, Clone)]
pub struct Environment {
    pub broker: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub profile: Option<PathBuf>,
    /// The devices' own MQTT password, for file transfers.
    pub device_password: Option<Secret>,
}

impl Environment {
    pub fn read() -> Environment {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            broker: var("TASCTL_BROKER"),
            username: var("TASCTL_USERNAME"),
            password: var("TASCTL_PASSWORD").map(Secret::new),
            profile: std::env::var_os("TASCTL_PROFILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            device_password: var("TASCTL_DEVICE_PASSWORD").map(Secret::new),
        }
    }
}

/// The profile the flag or `TASCTL_PROFILE` names, else the default one, and whether it was
/// named.
pub fn profile_path(args: &GlobalArgs, env: &Environment) -> Result<(PathBuf, bool)> {
    profile::path(args.profile.as_deref().or(env.profile.as_deref()))
}

/// Resolves the settings: flag > environment > profile > default.
pub fn resolve(args: &GlobalArgs) -> Result<Settings> {
    let env = Environment::read();
    let (profile_path, explicit) = profile_path(args, &env)?;
    let profile = profile::load(&profile_path, explicit)?;
    resolve_with(args, &env, profile, profile_path)
}

/// `resolve` for a command that will write the profile: a missing one, even one the user
/// named, is the empty profile it is about to create.
pub fn resolve_for_writing(args: &GlobalArgs) -> Result<Settings> {
    let env = Environment::read();
    let (profile_path, _) = profile_path(args, &env)?;
    let profile = profile::load(&profile_path, false)?;
    resolve_with(args, &env, profile, profile_path)
}

/// The precedence rules on their own, for a profile already loaded.
pub fn resolve_with(
    args: &GlobalArgs,
    env: &Environment,
    profile: Profile,
    profile_path: PathBuf,
) -> Result<Settings> {
    let GlobalArgs {
        broker,
        username,
        password,
        connect_timeout,
        qos,
        profile: _,
        wait,
        // Output is decided before the profile is read: see commands::run.
        json: _,
        color: _,
        verbose: _,
    } = args;
    let mut warnings = Vec::new();
    if profile.holds_password()
        && let Some(warning) = readable_by_others(&profile_path)
    {
        warnings.push(warning);
    }
    // The broker: the flag, else TASCTL_BROKER, either a URL or the name of [brokers.NAME].
    let given = match (broker, &env.broker) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(text)) => Some(
            text.parse::<BrokerUrl>()
                .map_err(|e| anyhow::anyhow!("TASCTL_BROKER: {e:#}"))?,
        ),
        (None, None) => None,
    };
    let word = given.as_ref().and_then(|u| u.name());
    let named = word.and_then(|name| profile.brokers.get(name));
    // A bare word close to a broker name is a typo, not a host: say so before any DNS lookup.
    if let Some(word) = word
        && named.is_none()
        && let Some(near) =
            crate::profile::nearest(word, profile.brokers.keys().map(String::as_str))
    {
        anyhow::bail!(
            "`{word}` is not a broker name in the profile; did you mean `{near}`? (for a host called `{word}`, write mqtt://{word})"
        );
    }
    let file = named.unwrap_or(&profile.broker);
    let url = match (named, given, &file.url) {
        (Some(section), _, _) => section.url.clone().unwrap_or_default(),
        (None, Some(url), _) => url,
        (None, None, Some(url)) => url.clone(),
        (None, None, None) => BrokerUrl::default(),
    };
    let username = username
        .clone()
        .or_else(|| env.username.clone())
        .or_else(|| url.username.clone())
        .or_else(|| file.username.clone());
    let password = if let Some(p) = password {
        Password::Given(Secret::new(p.clone()))
    } else if let Some(p) = &env.password {
        Password::Given(p.clone())
    } else if let Some(p) = &url.password {
        Password::Given(p.clone())
    } else if let Some(p) = &file.password {
        Password::Given(p.clone())
    } else if let Some(path) = &file.password_file {
        Password::File(path.clone())
    } else if username.is_some()
        && std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        Password::Prompt
    } else {
        Password::None
    };
    Ok(Settings {
        broker: Broker {
            url,
            username,
            password,
            connect_timeout: connect_timeout
                .or(file.connect_timeout)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            ca_file: file.ca_file.clone(),
            client_cert: file.client_cert.clone(),
            client_key: file.client_key.clone(),
            asked: Default::default(),
        },
        wait: wait.or(profile.defaults.wait).unwrap_or(DEFAULT_WAIT),
        wait_given: wait.or(profile.defaults.wait),
        qos: qos.or(profile.defaults.qos).unwrap_or(0),
        device_password: env.device_password.clone(),
        profile,
        profile_path,
        warnings,
    })
}

impl Settings {
    /// A device's own MQTT password, which file transfers present: `--device-password-file`,
    /// then `TASCTL_DEVICE_PASSWORD`, then the profile's `device_password_file` (the device's,
    /// then `[defaults]`), then the broker password, else empty (the firmware's default).
    pub fn device_password(
        &self,
        flag_file: Option<&Path>,
        device: &crate::profile::Device,
        ask: bool,
    ) -> Result<Secret> {
        let env = self.device_password.as_ref();
        let read = |path: &Path| -> Result<Secret> {
            let bytes = crate::files::read_small(path, "device password file")?;
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "the device password file {} is not UTF-8 text",
                    path.display()
                )
            })?;
            Ok(Secret::new(text.trim_end_matches(['\r', '\n'])))
        };
        if let Some(path) = flag_file {
            return read(path);
        }
        if let Some(secret) = env {
            return Ok(secret.clone());
        }
        let profile_file = device.device_password_file.as_ref().or(self
            .profile
            .defaults
            .device_password_file
            .as_ref());
        if let Some(path) = profile_file {
            return read(path);
        }
        // A run that connects to nothing (`--dry-run`) asks nobody for a password it would
        // not use.
        if !ask && matches!(self.broker.password, Password::Prompt) {
            return Ok(Secret::new(String::new()));
        }
        Ok(self
            .broker
            .password()?
            .unwrap_or_else(|| Secret::new(String::new())))
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "the profile {} holds a password and others can read it; run `chmod 600 {}` or move the password to `password_file` or TASCTL_PASSWORD",
            path.display(),
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        profile::parse(text, Path::new("test.toml")).unwrap()
    }

    fn settings(args: GlobalArgs, text: &str) -> Settings {
        with_env(args, &Environment::default(), text)
    }

    fn with_env(args: GlobalArgs, env: &Environment, text: &str) -> Settings {
        resolve_with(
            &args,
            env,
            profile(text),
            PathBuf::from("/nonexistent/profile.toml"),
        )
        .unwrap()
    }

    #[test]
    fn flag_then_environment_then_profile_and_named_brokers() {
        let text = r#"
            [broker]
            url = "mqtt://home-broker"
            [brokers.cabin]
            url = "mqtt://cabin-broker:1884"
            username = "cabin-user"
        "#;
        let env = Environment {
            broker: Some("cabin".into()),
            username: Some("env-user".into()),
            ..Environment::default()
        };
        let s = with_env(GlobalArgs::default(), &env, text);
        assert_eq!(
            (s.broker.url.host.as_str(), s.broker.url.port),
            ("cabin-broker", 1884)
        );
        assert_eq!(
            s.broker.username.as_deref(),
            Some("env-user"),
            "the environment beats the profile"
        );
        let args = GlobalArgs {
            broker: Some("mqtt://flag-host".parse().unwrap()),
            ..GlobalArgs::default()
        };
        let s = with_env(args, &env, text);
        assert_eq!(
            s.broker.url.host, "flag-host",
            "the flag beats the environment"
        );
        // A bare word that names no broker is a host.
        let args = GlobalArgs {
            broker: Some("nas".parse().unwrap()),
            ..GlobalArgs::default()
        };
        assert_eq!(
            with_env(args, &Environment::default(), text)
                .broker
                .url
                .host,
            "nas"
        );
        assert_eq!(
            settings(GlobalArgs::default(), text).broker.url.host,
            "home-broker"
        );
        let env = Environment {
            broker: Some("mqtt://a:hunter2@:0".into()),
            ..Environment::default()
        };
        let err = resolve_with(
            &GlobalArgs::default(),
            &env,
            profile(""),
            PathBuf::from("p"),
        )
        .unwrap_err();
        assert!(!format!("{err:#}").contains("hunter2"));
    }

    #[test]
    fn defaults_apply_when_nothing_is_said() {
        let s = settings(GlobalArgs::default(), "");
        assert_eq!(s.broker.url, BrokerUrl::default());
        assert_eq!(s.broker.url.to_string(), "mqtt://localhost:1883");
        assert_eq!(s.wait, DEFAULT_WAIT);
        assert_eq!(s.broker.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(s.qos, 0);
        assert!(s.broker.username.is_none());
        assert!(matches!(s.broker.password, Password::None));
    }

    const PROFILE: &str = r#"
        [broker]
        url = "mqtt://profile-host:1884"
        username = "profile-user"
        password_file = "/run/secrets/mqtt"
        connect_timeout = "7s"
        [defaults]
        wait = "3s"
        qos = 1
    "#;

    #[test]
    fn profile_beats_defaults() {
        let s = settings(GlobalArgs::default(), PROFILE);
        assert_eq!(s.broker.url.host, "profile-host");
        assert_eq!(s.broker.username.as_deref(), Some("profile-user"));
        assert!(
            matches!(&s.broker.password, Password::File(p) if p == Path::new("/run/secrets/mqtt"))
        );
        assert_eq!(s.broker.connect_timeout, Duration::from_secs(7));
        assert_eq!(s.wait, Duration::from_secs(3));
        assert_eq!(s.qos, 1);
    }

    #[test]
    fn flags_beat_the_profile() {
        let args = GlobalArgs {
            broker: Some("mqtt://flag-host".parse().unwrap()),
            username: Some("flag-user".into()),
            password: Some("flag-pass".into()),
            connect_timeout: Some(Duration::from_secs(1)),
            qos: Some(2),
            wait: Some(Duration::from_millis(250)),
            ..GlobalArgs::default()
        };
        let s = settings(args, PROFILE);
        assert_eq!(s.broker.url.host, "flag-host");
        assert_eq!(s.broker.username.as_deref(), Some("flag-user"));
        assert_eq!(s.broker.password().unwrap().unwrap().expose(), "flag-pass");
        assert_eq!(s.broker.connect_timeout, Duration::from_secs(1));
        assert_eq!(s.qos, 2);
        assert_eq!(s.wait, Duration::from_millis(250));
    }

    #[test]
    fn url_credentials_beat_the_profile_but_not_flags() {
        let args = GlobalArgs {
            broker: Some("mqtt://url-user:url-pass@h".parse().unwrap()),
            ..GlobalArgs::default()
        };
        let s = settings(args, PROFILE);
        assert_eq!(s.broker.username.as_deref(), Some("url-user"));
        assert_eq!(s.broker.password().unwrap().unwrap().expose(), "url-pass");
        let args = GlobalArgs {
            broker: Some("mqtt://url-user:url-pass@h".parse().unwrap()),
            username: Some("flag-user".into()),
            password: Some("flag-pass".into()),
            ..GlobalArgs::default()
        };
        let s = settings(args, PROFILE);
        assert_eq!(s.broker.username.as_deref(), Some("flag-user"));
        assert_eq!(s.broker.password().unwrap().unwrap().expose(), "flag-pass");
    }

    #[test]
    fn password_file_is_read_when_asked_and_errors_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let text = format!(
            "[broker]\npassword_file = {:?}\n",
            file.display().to_string()
        );
        let s = settings(GlobalArgs::default(), &text);
        assert_eq!(s.broker.password().unwrap().unwrap().expose(), "from-file");
        std::fs::remove_file(&file).unwrap();
        let err = format!("{:#}", s.broker.password().unwrap_err());
        assert!(
            err.contains("password file") && err.contains(&file.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let args = GlobalArgs {
            password: Some("hunter2".into()),
            ..GlobalArgs::default()
        };
        let s = settings(
            args,
            "[broker]\nurl = \"mqtt://u:hunter3@h\"\npassword = \"hunter4\"",
        );
        let debug = format!("{s:?}");
        for secret in ["hunter2", "hunter3", "hunter4"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}
