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
}

impl Broker {
    /// The password, reading `password_file` now if that is where it lives.
    pub fn password(&self) -> Result<Option<Secret>> {
        match &self.password {
            Password::None => Ok(None),
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
    pub qos: u8,
    pub profile: Profile,
    pub profile_path: PathBuf,
    /// Things worth telling the user that do not stop the command.
    pub warnings: Vec<String>,
}

/// Resolves the settings: flag (or its environment variable) > profile > default.
pub fn resolve(args: &GlobalArgs) -> Result<Settings> {
    let (profile_path, explicit) = profile::path(args.profile.as_deref())?;
    let profile = profile::load(&profile_path, explicit)?;
    resolve_with(args, profile, profile_path)
}

/// `resolve` for a command that will write the profile: a missing one, even one the user
/// named, is the empty profile it is about to create.
pub fn resolve_for_writing(args: &GlobalArgs) -> Result<Settings> {
    let (profile_path, _) = profile::path(args.profile.as_deref())?;
    let profile = profile::load(&profile_path, false)?;
    resolve_with(args, profile, profile_path)
}

/// The precedence rules on their own, for a profile already loaded.
pub fn resolve_with(
    args: &GlobalArgs,
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
    let file = &profile.broker;

    let url = match (broker, &file.url) {
        (Some(url), _) => url.clone(),
        (None, Some(url)) => url.clone(),
        (None, None) => BrokerUrl::default(),
    };
    let username = username
        .clone()
        .or_else(|| url.username.clone())
        .or_else(|| file.username.clone());
    let password = if let Some(p) = password {
        Password::Given(Secret::new(p.clone()))
    } else if let Some(p) = &url.password {
        Password::Given(p.clone())
    } else if let Some(p) = &file.password {
        if let Some(warning) = readable_by_others(&profile_path) {
            warnings.push(warning);
        }
        Password::Given(p.clone())
    } else if let Some(path) = &file.password_file {
        Password::File(path.clone())
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
        },
        wait: wait.or(profile.defaults.wait).unwrap_or(DEFAULT_WAIT),
        wait_given: wait.or(profile.defaults.wait),
        qos: qos.or(profile.defaults.qos).unwrap_or(0),
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
        env: Option<&Secret>,
        device: &crate::profile::Device,
    ) -> Result<Secret> {
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
        resolve_with(
            &args,
            profile(text),
            PathBuf::from("/nonexistent/profile.toml"),
        )
        .unwrap()
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
