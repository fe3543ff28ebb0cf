//! Value types that the command line, the profile and the settings share: the broker URL
//! (shown and refused without its password), the password secret, durations, and the colour
//! choice. A leaf: it imports nothing from the rest of tasctl.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

/// `mqtt://[user[:password]@]host[:port]` or `mqtts://...`.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Written as a bare word (no scheme, user or port): it may name a `[brokers.NAME]` table.
    pub bare: bool,
}

impl BrokerUrl {
    /// The word, when the URL was a bare word that may be a broker's name in the profile.
    pub fn name(&self) -> Option<&str> {
        self.bare.then_some(self.host.as_str())
    }
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
        // The user name and password as RFC 3986 writes them: `%40` is an `@` in a password.
        let decode = |part: &str| -> Result<String> {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| {
                    anyhow::anyhow!(
                        "the user name or password in the broker URL is not UTF-8 once decoded"
                    )
                })
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(decode(user)?), Some(Secret(decode(pass)?))),
                None => (Some(decode(u)?), None),
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
            Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).with_context(|| {
                format!(
                    "invalid port in the broker URL `{}`: give a number from 1 to 65535",
                    redact(text)
                )
            })?,
        };
        let bare = !text.contains(':') && !text.contains('@') && !text.contains('/');
        Ok(BrokerUrl {
            tls,
            host: host.to_string(),
            port,
            username: username.filter(|u| !u.is_empty()),
            password,
            bare,
        })
    }
}

/// The URL text with any password replaced, for error messages: whatever stands between the
/// scheme (or the start) and the last `@` after a `:`.
pub fn redact(text: &str) -> String {
    let Some(at) = text.rfind('@') else {
        return text.to_string();
    };
    let start = match text.find("://") {
        Some(s) if s < at => s + 3,
        _ => 0,
    };
    match text[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &text[..start + colon], &text[at..]),
        None => text.to_string(),
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

/// Parses durations as people write them (humantime: `500ms`, `2s`, `1m30s`, `2sec`, `1h`), a
/// decimal with a unit (`1.5s`), or a bare number of seconds (`2`, `0.5`). Zero is refused:
/// nothing can be waited for in no time.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a duration; write it like 500ms, 2s, 1m30s or 2");
    let decimal = |number: &str, scale: f64| {
        number
            .parse::<f64>()
            .ok()
            .filter(|v| {
                v.is_finite() && *v >= 0.0 && number.starts_with(|c: char| c.is_ascii_digit())
            })
            .and_then(|v| Duration::try_from_secs_f64(v * scale).ok())
    };
    let duration = match humantime::parse_duration(text) {
        Ok(d) => d,
        Err(_) => {
            let unit_at = text
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(text.len());
            let (number, unit) = text.split_at(unit_at);
            let scale = match unit {
                "" | "s" | "sec" => 1.0,
                "ms" => 0.001,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                _ => return Err(bad()),
            };
            decimal(number, scale).ok_or_else(bad)?
        }
    };
    if duration.is_zero() {
        return Err(format!("`{text}` is no time at all; give at least 1ms"));
    }
    if duration > Duration::from_secs(365 * 86400) {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(duration)
}
/// Colour: forced on or off, or left to the terminal, `NO_COLOR` and `CLICOLOR_FORCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // RFC 3986 userinfo: `%40` is an `@`, `%3A` a `:`
        let u: BrokerUrl = "mqtt://me%40home:p%40ss%3Aword@x".parse().unwrap();
        assert_eq!(u.username.as_deref(), Some("me@home"));
        assert_eq!(u.password.as_ref().map(Secret::expose), Some("p@ss:word"));
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
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2sec"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        for bad in [
            "",
            "s",
            "2 fortnights",
            "-1s",
            "1e400s",
            "0",
            "0s",
            "0ms",
            "nan",
            "inf",
            ".5s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redaction_of_any_shape() {
        for (text, shown) in [
            ("mqtt://alice:hunter2@host", "mqtt://alice:***@host"),
            ("alice:hunter2@mqtt://host", "alice:***@mqtt://host"),
            ("alice:hunter2@host:1883", "alice:***@host:1883"),
            ("mqtt://a:p@ss@host", "mqtt://a:***@host"),
            ("mqtt://alice@host", "mqtt://alice@host"),
            ("@", "@"),
            (":@://", ":***@://"),
        ] {
            assert_eq!(redact(text), shown, "{text}");
        }
        for text in [
            "alice:hunter2@mqtt://host",
            "ftp://alice:hunter2@host",
            "mqtt://alice:hunter2@host:http",
            "mqtt://alice:hunter2@",
            "mqtt://alice:hunter2@host/path",
        ] {
            let err = format!("{:#}", text.parse::<BrokerUrl>().unwrap_err());
            assert!(!err.contains("hunter2"), "{text}: {err}");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn no_url_panics_or_leaks(user in "[a-z:@/]{0,8}", host in "\\PC{0,20}") {
                let text = format!("{user}:zzsecretzz@{host}");
                let _ = redact(&text);
                if let Err(e) = text.parse::<BrokerUrl>() {
                    let shown = format!("{e:#}");
                    prop_assert!(!shown.contains("zzsecretzz"), "{}", shown);
                }
                let _ = parse_duration(&host);
            }
        }
    }
}
