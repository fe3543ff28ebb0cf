//! `tasctl profile list|path|add|remove`: read and edit the profile file.
//!
//! `path`, `add` and `remove` work on the file itself, so they still help when the profile
//! does not parse; `list` shows the validated profile.

use std::fmt;

use anyhow::Result;
use colored::Colorize;

use crate::cli::{GlobalArgs, ProfileCommand};
use crate::error;
use crate::output::Output;
use crate::profile::{self, Listing};

pub fn run(cmd: ProfileCommand, global: &GlobalArgs, out: &Output) -> Result<u8> {
    let (path, explicit) = profile::path(global.profile.as_deref())?;
    match cmd {
        ProfileCommand::Path => {
            if out.json() {
                out.text(&format!("{}\n", serde_json::json!({ "path": path })))?;
            } else {
                out.text(&format!("{}\n", path.display()))?;
            }
        }
        ProfileCommand::List => {
            let profile = profile::load(&path, explicit)?;
            out.emit(&Listing::new(&profile))?;
        }
        ProfileCommand::Add { name, topic } => {
            profile::add(&path, &name, &topic)?;
            eprintln!(
                "added device `{name}` (topic `{topic}`) to {}",
                path.display()
            );
        }
        ProfileCommand::Remove { name } => {
            let kind = profile::remove(&path, &name)?;
            eprintln!("removed {kind} `{name}` from {}", path.display());
        }
    }
    Ok(error::OK)
}

fn or_dash(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.devices.is_empty() && self.groups.is_empty() {
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
        Ok(())
    }
}

/// How many columns text takes on a terminal: colour escapes take none.
fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// A left-aligned table with a bold header; the last column is not padded.
pub fn table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: [&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let mut widths = header.map(visible_width);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(visible_width(cell));
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: Vec<String>| -> fmt::Result {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                writeln!(f, "{cell}")?;
            } else {
                let pad = widths[i].saturating_sub(visible_width(cell));
                write!(f, "{cell}{}  ", " ".repeat(pad))?;
            }
        }
        Ok(())
    };
    line(f, header.iter().map(|h| h.bold().to_string()).collect())?;
    for row in rows {
        line(f, row.to_vec())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_takes_no_width() {
        assert_eq!(visible_width("\u{1b}[1mDEVICE\u{1b}[0m"), 6);
        assert_eq!(visible_width("Geschirrspüler"), 14);
    }
}
