//! Settings: the resolved, clap-free view of what the program needs.
//!
//! The only place where precedence lives: command-line flag (clap has already merged its
//! `TASCTL_*` environment variable into it), then the profile file, then the built-in default.
//! Also the small value types the command line and the profile share: the broker URL,
//! durations and the password secret.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::cli::{ColorWhen, GlobalArgs};
use crate::profile::{self, Profile};

pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `mqtt://[user[:password]@]host[:port]` or `mqtts://...`.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl Default for BrokerUrl {
    fn default() -> Self {
        "mqtt://localhost:1883"
            .parse()
            .expect("the default broker URL should parse")
    }
}

impl FromStr for BrokerUrl {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let (tls, rest) = if let Some(rest) = text.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("mqtt://") {
            (false, rest)
        } else if text.contains("://") {
            bail!(
                "unsupported scheme in `{}`: use mqtt:// or mqtts://",
                redact(text)
            );
        } else {
            (false, text) // a bare host[:port] is friendly and unambiguous
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(user.to_string()), Some(Secret(pass.to_string()))),
                None => (Some(u.to_string()), None),
            },
        };
        let default_port = if tls { 8883 } else { 1883 };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .context("unclosed `[` in the broker address")?;
            match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None if after.is_empty() => (host, None),
                None => bail!("unexpected `{after}` after the IPv6 address"),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        ensure!(
            !host.is_empty(),
            "the broker URL `{}` has no host",
            redact(text)
        );
        ensure!(
            !host.contains('/'),
            "the broker URL `{}` has a path; give only host and port",
            redact(text)
        );
        let port = match port {
            None => default_port,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .with_context(|| format!("invalid port `{p}` in the broker URL"))?,
        };
        Ok(BrokerUrl {
            tls,
            host: host.to_string(),
            port,
            username: username.filter(|u| !u.is_empty()),
            password,
        })
    }
}

/// The URL text with any password replaced, for error messages.
fn redact(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(s), Some(at)) if text[s + 3..at].contains(':') => {
            let colon = s + 3 + text[s + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &text[..colon], &text[at..])
        }
        _ => text.to_string(),
    }
}

/// Shown without the password, so it can go into errors and traces.
impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://")?;
        if let Some(user) = &self.username {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BrokerUrl({self})")
    }
}

/// A password: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Parses `500ms`, `2s`, `1m`, `1h`, `1.5s`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write it like 500ms, 2s or 1m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    if !seconds.is_finite() || seconds > 365.0 * 86400.0 {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

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
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "cannot read the password file {} (set by `password_file` in the profile)",
                        path.display()
                    )
                })?;
                Ok(Some(Secret(
                    text.trim_end_matches(['\r', '\n']).to_string(),
                )))
            }
        }
    }
}

/// Colour: forced on or off, or left to the terminal, `NO_COLOR` and `CLICOLOR_FORCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
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
    pub qos: u8,
    pub verbose: bool,
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
        verbose,
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
        Password::Given(Secret(p.clone()))
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
        qos: qos.or(profile.defaults.qos).unwrap_or(0),
        verbose: *verbose,
        profile,
        profile_path,
        warnings,
    })
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
    fn broker_urls() {
        let u: BrokerUrl = "mqtt://192.168.1.10".parse().unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (false, "192.168.1.10", 1883)
        );
        let u: BrokerUrl = "mqtts://ev3:s3cret@broker.example:8884/".parse().unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (true, "broker.example", 8884)
        );
        assert_eq!(u.username.as_deref(), Some("ev3"));
        assert_eq!(u.password.as_ref().map(Secret::expose), Some("s3cret"));
        assert_eq!(u.to_string(), "mqtts://ev3@broker.example:8884");
        assert!(!format!("{u:?}").contains("s3cret"));
        let u: BrokerUrl = "mqtts://[::1]".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.to_string()),
            ("::1", 8883, "mqtts://[::1]:8883".into())
        );
        let u: BrokerUrl = "localhost:1884".parse().unwrap();
        assert_eq!(u.port, 1884);
        for bad in [
            "http://x",
            "mqtt://",
            "mqtt://x:0",
            "mqtt://x:99999",
            "mqtt://x/path",
            "mqtt://[::1",
        ] {
            assert!(bad.parse::<BrokerUrl>().is_err(), "{bad}");
        }
        let err = "ftp://u:hunter2@x"
            .parse::<BrokerUrl>()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        for bad in ["", "s", "2 weeks", "-1s", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
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
