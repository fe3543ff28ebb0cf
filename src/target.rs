//! TARGET words → what to publish to and whom to expect answers from.
//!
//! Order (the contract): a device name, a group name, `all` (the profile's group topic), else
//! the word is a device's Topic verbatim. A word that would put `+`, `#` or NUL into a topic is
//! refused here, before anything is published.

use anyhow::{Result, anyhow};

use crate::profile::{Device, Group, Profile};
use crate::topic::{self, Layout};

/// One publish's worth of target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// One device, on its own topic.
    Device(Device),
    /// A firmware GroupTopic: one publish, each member answers on its own topic.
    Group(GroupTarget),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupTarget {
    /// The profile name, or `all`.
    pub name: String,
    pub group_topic: String,
    /// Who should answer, when the profile says; otherwise whoever answers in time.
    pub members: Option<Vec<Device>>,
    /// The layouts (FullTopic and prefixes) the group command is published under: a device
    /// listens for its group on its own layout (`<group>/cmnd/...` for `%topic%/%prefix%/`).
    pub layouts: Vec<Layout>,
    /// Devices that are not members may answer too, and are reported (`all`, and every
    /// GroupTopic group: whoever subscribes to the group topic hears it).
    pub open: bool,
    /// Profile devices that are not members but hear this group topic all the same: it is the
    /// fleet-wide one (the profile's `group_topic`), which every device listens to unless it
    /// was changed on the device.
    pub shared: Vec<String>,
}

impl GroupTarget {
    /// Can this member hear the group topic? Only with `%topic%` in its FullTopic (the firmware
    /// subscribes to groups only then) and reached on its own topic, not a fallback one whose
    /// real layout is unknown.
    pub fn reaches(device: &Device) -> bool {
        device.layout.template.has_topic() && device.fallback.as_deref() != Some(&device.topic)
    }
}

/// Every distinct layout of these devices that a group publish can reach, in order.
fn layouts<'a>(devices: impl IntoIterator<Item = &'a Device>) -> Vec<Layout> {
    let mut layouts: Vec<Layout> = Vec::new();
    for d in devices {
        if GroupTarget::reaches(d) && !layouts.contains(&d.layout) {
            layouts.push(d.layout.clone());
        }
    }
    layouts
}

/// Resolves every word; list groups expand to their members. A device named twice is kept once.
pub fn resolve(words: &[String], profile: &Profile) -> Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |t: Target| {
        if seen.insert(t.clone()) {
            targets.push(t);
        }
    };
    for word in words {
        if let Some(device) = profile.devices.get(word) {
            push(Target::Device(device.clone()));
        } else if let Some(group) = profile.groups.get(word) {
            match group {
                Group::List(members) => {
                    for m in members {
                        push(Target::Device(profile.devices[m].clone()));
                    }
                }
                Group::Firmware {
                    group_topic,
                    members,
                } => {
                    let members: Option<Vec<Device>> = members
                        .as_ref()
                        .map(|m| m.iter().map(|n| profile.devices[n].clone()).collect());
                    // Without members, every layout the profile uses may hear it.
                    let layouts = match &members {
                        Some(m) => layouts(m),
                        None => profile.layouts().into_iter().cloned().collect(),
                    };
                    let shared = match &members {
                        Some(m) if *group_topic == profile.defaults.group_topic => profile
                            .devices
                            .iter()
                            .filter(|(_, d)| !m.contains(d) && layouts.contains(&d.layout))
                            .map(|(name, _)| name.clone())
                            .collect(),
                        _ => Vec::new(),
                    };
                    push(Target::Group(GroupTarget {
                        name: word.clone(),
                        group_topic: group_topic.clone(),
                        members,
                        layouts,
                        open: true,
                        shared,
                    }))
                }
            }
        } else if word == "all" {
            // Every device of the profile is expected; others that answer are reported too.
            let members: Vec<Device> = profile.devices.values().cloned().collect();
            let mut layouts = vec![profile.defaults.layout.clone()];
            for l in self::layouts(&members) {
                if !layouts.contains(&l) {
                    layouts.push(l);
                }
            }
            push(Target::Group(GroupTarget {
                name: "all".into(),
                group_topic: profile.defaults.group_topic.clone(),
                members: (!members.is_empty()).then_some(members),
                layouts,
                open: true,
                shared: Vec::new(),
            }));
        } else {
            push(Target::Device(raw(word, profile)?));
        }
    }
    Ok(targets)
}

/// The devices of these targets, for commands that talk to each device on its own topic
/// (file transfers, upgrades): groups expanded to their members, no device twice.
pub fn devices(targets: &[Target]) -> Result<Vec<Device>> {
    let mut devices = Vec::new();
    for target in targets {
        match target {
            Target::Device(d) => devices.push(d.clone()),
            Target::Group(g) => match &g.members {
                Some(members) => devices.extend(members.iter().cloned()),
                None => anyhow::bail!(
                    "`{}` has no members in the profile, and file transfers only work device by device; name the devices (`tasctl discover --save` adds them)",
                    g.name
                ),
            },
        }
    }
    let mut seen = std::collections::HashSet::new();
    devices.retain(|d| seen.insert((d.topic.clone(), d.layout.clone())));
    Ok(devices)
}

/// A word taken as a Topic verbatim, with the profile's default layout.
fn raw(word: &str, profile: &Profile) -> Result<Device> {
    if word.is_empty() {
        return Err(anyhow!("an empty TARGET names no device"));
    }
    crate::profile::check_word(word).map_err(|e| {
        anyhow!(
            "refusing TARGET `{}`: {e}; a target names one device or group, never a pattern",
            word.escape_default()
        )
    })?;
    let device = Device::unnamed(word, profile.defaults.layout.clone());
    device
        .layout
        .base(topic::Class::Cmnd, &device.vars())
        .map_err(|e| anyhow!("cannot use `{word}` as a topic: {e}"))?;
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn profile() -> Profile {
        crate::profile::parse(
            r#"
            [defaults]
            group_topic = "house"
            [devices]
            living = "my_house_living_room"
            kitchen = { topic = "kitchen_plug", relays = 2 }
            [groups]
            downstairs = { group_topic = "downstairs", members = ["living", "kitchen"] }
            lights = ["living", "kitchen"]
            upstairs = ["kitchen"]
            "#,
            Path::new("p.toml"),
        )
        .unwrap()
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    fn topics(targets: &[Target]) -> Vec<String> {
        targets
            .iter()
            .map(|t| match t {
                Target::Device(d) => d.topic.clone(),
                Target::Group(g) => format!("group:{}", g.group_topic),
            })
            .collect()
    }

    #[test]
    fn resolution_order() {
        let p = profile();
        // a list group expands to its members
        assert_eq!(
            topics(&resolve(&words(&["lights"]), &p).unwrap()),
            ["my_house_living_room", "kitchen_plug"]
        );
        // a list group expands, without repeats
        assert_eq!(
            topics(&resolve(&words(&["upstairs", "kitchen"]), &p).unwrap()),
            ["kitchen_plug"]
        );
        // a firmware group stays one target with its members
        let t = resolve(&words(&["downstairs"]), &p).unwrap();
        let Target::Group(g) = &t[0] else {
            panic!("{t:?}")
        };
        assert_eq!(g.group_topic, "downstairs");
        assert_eq!(g.members.as_ref().unwrap().len(), 2);
        // all = the profile's group topic, no members known
        let t = resolve(&words(&["all"]), &p).unwrap();
        let Target::Group(g) = &t[0] else {
            panic!("{t:?}")
        };
        assert_eq!(g.group_topic, "house");
        assert_eq!(g.members.as_ref().unwrap().len(), 2, "every profile device");
        assert!(g.open);
        // anything else is a topic verbatim, without a name
        let t = resolve(&words(&["tasmota_1A2B3C", "kitchen/lamp"]), &p).unwrap();
        assert_eq!(topics(&t), ["tasmota_1A2B3C", "kitchen/lamp"]);
        assert!(matches!(&t[0], Target::Device(d) if d.name.is_none()));
    }

    #[test]
    fn a_group_on_the_fleet_wide_topic_names_who_else_hears_it() {
        let p = crate::profile::parse(
            r#"
            [devices]
            a = "a"
            b = "b"
            c = { topic = "c", full_topic = "%topic%/%prefix%/" }
            [groups]
            fleet = { group_topic = "tasmotas", members = ["a"] }
            own = { group_topic = "lights", members = ["a"] }
            "#,
            Path::new("p.toml"),
        )
        .unwrap();
        let shared = |word: &str| match &resolve(&words(&[word]), &p).unwrap()[0] {
            Target::Group(g) => (g.open, g.shared.clone()),
            t => panic!("{t:?}"),
        };
        // c listens under another layout, where this group is not published
        assert_eq!(shared("fleet"), (true, vec!["b".to_string()]));
        assert_eq!(shared("own"), (true, vec![]));
    }

    #[test]
    fn all_works_without_a_profile() {
        let t = resolve(&words(&["all"]), &Profile::default()).unwrap();
        assert!(matches!(&t[0], Target::Group(g) if g.group_topic == "tasmotas"));
    }

    #[test]
    fn wildcards_are_refused() {
        for bad in ["+", "stat/#", "a+b", "x\0y", ""] {
            assert!(resolve(&words(&[bad]), &profile()).is_err(), "{bad:?}");
        }
        let err = resolve(&words(&["kitchen/+"]), &profile())
            .unwrap_err()
            .to_string();
        assert!(err.contains("wildcard `+`"), "{err}");
    }
}
