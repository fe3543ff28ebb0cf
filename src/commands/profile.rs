//! `tasctl profile list|path|add|remove|group`: read and edit the profile file.
//!
//! `path` works on the file itself, so they still help when the profile
//! does not parse; `list` shows the validated profile.

use std::fmt;

use anyhow::Result;

use crate::error;
use crate::output::{Output, table};
use crate::profile::{self, Listing};

/// What to do with the profile.
pub enum Request {
    Path,
    List,
    Add(profile::NewDevice),
    Remove {
        name: String,
    },
    GroupAdd {
        name: String,
        members: Vec<String>,
        group_topic: Option<String>,
    },
    GroupRemove {
        name: String,
        members: Vec<String>,
    },
}

/// `given`: the profile named by flag or environment, if any.
pub fn run(request: Request, given: Option<&std::path::Path>, out: &Output) -> Result<u8> {
    let (path, explicit) = profile::path(given)?;
    match request {
        Request::Path => {
            if out.json() {
                out.text(&format!("{}\n", serde_json::json!({ "path": path })))?;
            } else {
                out.text(&format!("{}\n", path.display()))?;
            }
        }
        Request::List => {
            let profile = profile::load(&path, explicit)?;
            out.emit(&Listing::new(&profile))?;
        }
        Request::Add(new) => {
            profile::add(&path, &new)?;
            out.note(&format!(
                "added device `{}` ({} `{}`) to {}",
                new.name,
                if new.fallback { "fallback" } else { "topic" },
                new.topic,
                path.display()
            ));
        }
        Request::Remove { name } => {
            let kind = profile::remove(&path, &name)?;
            out.note(&format!("removed {kind} `{name}` from {}", path.display()));
        }
        Request::GroupAdd {
            name,
            members,
            group_topic,
        } => {
            let change = profile::group_add(&path, &name, &members, group_topic.as_deref())?;
            out.note(&group_note(change, &name, &path));
        }
        Request::GroupRemove { name, members } => {
            let change = profile::group_remove(&path, &name, &members)?;
            out.note(&group_note(change, &name, &path));
        }
    }
    Ok(error::OK)
}

fn group_note(change: profile::GroupChange, name: &str, path: &std::path::Path) -> String {
    let path = path.display();
    match change {
        profile::GroupChange::Created => format!("added group `{name}` to {path}"),
        profile::GroupChange::Changed => format!("changed group `{name}` in {path}"),
        profile::GroupChange::Unchanged => {
            format!("group `{name}` in {path} is already so; nothing changed")
        }
        profile::GroupChange::Removed => format!("removed group `{name}` from {path}"),
    }
}

fn or_dash(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.devices.is_empty() && self.groups.is_empty() && self.brokers.is_empty() {
            return writeln!(
                f,
                "no devices or groups; add one with `tasctl profile add NAME TOPIC` or `tasctl discover --save`"
            );
        }
        if !self.devices.is_empty() {
            let rows: Vec<[String; 5]> = self
                .devices
                .iter()
                .map(|d| {
                    let topic = match (&d.topic, &d.fallback) {
                        (Some(t), _) => t.clone(),
                        (None, Some(fb)) => format!("{fb} (fallback)"),
                        (None, None) => "-".into(),
                    };
                    let full_topic = d.full_topic.clone().unwrap_or_else(|| "-".into());
                    let relays = d.relays.map_or("-".into(), |r| r.to_string());
                    [
                        d.name.clone(),
                        topic,
                        full_topic,
                        relays,
                        or_dash(&d.mac).to_string(),
                    ]
                })
                .collect();
            table(f, ["DEVICE", "TOPIC", "FULLTOPIC", "RELAYS", "MAC"], &rows)?;
        }
        if !self.groups.is_empty() {
            if !self.devices.is_empty() {
                writeln!(f)?;
            }
            let rows: Vec<[String; 3]> = self
                .groups
                .iter()
                .map(|g| {
                    let kind = g
                        .group_topic
                        .as_ref()
                        .map_or("list".into(), |t| format!("GroupTopic {t}"));
                    let members = g
                        .members
                        .as_ref()
                        .map_or("(whoever answers)".into(), |m| m.join(", "));
                    [g.name.clone(), kind, members]
                })
                .collect();
            table(f, ["GROUP", "KIND", "MEMBERS"], &rows)?;
        }
        if !self.brokers.is_empty() {
            writeln!(f)?;
            let rows: Vec<[String; 2]> = self
                .brokers
                .iter()
                .map(|b| [b.name.clone(), b.url.clone().unwrap_or_else(|| "-".into())])
                .collect();
            table(f, ["BROKER", "URL"], &rows)?;
        }
        Ok(())
    }
}
