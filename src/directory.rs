//! The device directory: which device an incoming topic belongs to, with its class and suffix.
//!
//! Built from the profile (and from what a command learns, such as an answering member of an
//! open group), for every layout in use. A known device is found by its exact base topic in a
//! hash map (`stat/kitchen/`); an unknown one by matching the layouts' templates backwards.
//! Nothing else in tasctl reads a topic back.

use std::collections::HashMap;

use crate::profile::{Device, Profile};
use crate::topic::{self, Class, Layout, Matcher};

/// What an incoming topic turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The directory's index of a known device; `None` for a device only a layout matched.
    pub device: Option<usize>,
    /// The device's topic: the known device's, or the one read from the MQTT topic.
    pub topic: &'a str,
    pub class: Class,
    pub suffix: &'a str,
    /// The layout that read an unknown device (an index into `layouts`).
    pub layout: Option<usize>,
}

/// A base topic's owner. Without `%prefix%` stat and tele share one base; the suffix tells
/// which it is.
#[derive(Debug, Clone, Copy)]
struct Entry {
    device: usize,
    class: Option<Class>,
}

#[derive(Debug, Default)]
pub struct Directory {
    devices: Vec<Device>,
    bases: HashMap<String, Entry>,
    layouts: Vec<(Layout, Matcher)>,
}

impl Directory {
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Every device of the profile (and its fallback topic), and every layout it uses.
    pub fn from_profile(profile: &Profile) -> Directory {
        let mut directory = Directory::new();
        for device in profile.devices.values() {
            directory.add(device.clone());
        }
        for layout in profile.layouts() {
            directory.add_layout(layout);
        }
        directory
    }

    /// Adds a device, known by its base topics from now on; returns its index.
    pub fn add(&mut self, device: Device) -> usize {
        let index = self.devices.len();
        let mut fallback = None;
        if let Some(fb) = device.fallback.as_deref().filter(|fb| *fb != device.topic) {
            fallback = Some(Device {
                topic: fb.to_string(),
                layout: Layout::fallback(),
                ..device.clone()
            });
        }
        for d in std::iter::once(&device).chain(fallback.as_ref()) {
            let bases: Vec<(Class, String)> = Class::ALL
                .into_iter()
                .filter_map(|class| Some((class, d.layout.base(class, &d.vars()).ok()?)))
                .collect();
            for (class, base) in &bases {
                let shared = bases.iter().any(|(c, b)| c != class && b == base);
                let entry = Entry {
                    device: index,
                    class: (!shared || *class == Class::Cmnd).then_some(*class),
                };
                self.bases.entry(base.clone()).or_insert(entry);
            }
        }
        self.devices.push(device);
        index
    }

    /// Reads unknown devices of this layout too.
    pub fn add_layout(&mut self, layout: &Layout) {
        if !self.layouts.iter().any(|(l, _)| l == layout) {
            self.layouts.push((layout.clone(), layout.matcher()));
        }
    }

    /// Forgets the layouts: only known devices are read.
    pub fn clear_layouts(&mut self) {
        self.layouts.clear();
    }

    pub fn device(&self, index: usize) -> &Device {
        &self.devices[index]
    }

    pub fn layout(&self, index: usize) -> &Layout {
        &self.layouts[index].0
    }

    /// The device, class and suffix of an incoming topic: exact base first, then the layouts.
    pub fn lookup<'a>(&'a self, mqtt_topic: &'a str) -> Option<Hit<'a>> {
        let (base, suffix) = topic::split_last(mqtt_topic)?;
        if suffix.is_empty() {
            return None;
        }
        if let Some(entry) = self.bases.get(base) {
            let device = &self.devices[entry.device];
            return Some(Hit {
                device: Some(entry.device),
                topic: &device.topic,
                class: entry.class.unwrap_or_else(|| Class::of_suffix(suffix)),
                suffix,
                layout: None,
            });
        }
        self.layouts
            .iter()
            .enumerate()
            .find_map(|(i, (_, matcher))| {
                let parsed = matcher.parse(mqtt_topic)?;
                Some(Hit {
                    device: None,
                    topic: parsed.topic,
                    class: parsed.class,
                    suffix: parsed.suffix,
                    layout: Some(i),
                })
            })
    }

    /// A profile device with this topic and layout, for naming a device a layout matched.
    pub fn find(&self, topic: &str, layout: &Layout) -> Option<usize> {
        let vars = topic::Vars {
            topic,
            ..topic::Vars::default()
        };
        let base = layout.base(Class::Stat, &vars).ok()?;
        self.bases.get(&base).map(|e| e.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn profile() -> Profile {
        crate::profile::parse(
            r#"
            [devices]
            plug = "plug"
            lamp = { topic = "kitchen/lamp", full_topic = "%topic%/%prefix%/", prefix = { stat = "status" } }
            bare = { topic = "bare", full_topic = "%topic%/" }
            garage = { topic = "garage", fallback = "DVES_1_fb" }
            "#,
            Path::new("p.toml"),
        )
        .unwrap()
    }

    fn read(d: &Directory, topic: &str) -> Option<(Option<String>, String, Class, String)> {
        let hit = d.lookup(topic)?;
        Some((
            hit.device.and_then(|i| d.device(i).name.clone()),
            hit.topic.to_string(),
            hit.class,
            hit.suffix.to_string(),
        ))
    }

    #[test]
    fn known_devices_by_base_unknown_by_layout() {
        let d = Directory::from_profile(&profile());
        let s = |x: &str| x.to_string();
        assert_eq!(
            read(&d, "stat/plug/RESULT"),
            Some((Some(s("plug")), s("plug"), Class::Stat, s("RESULT")))
        );
        assert_eq!(
            read(&d, "kitchen/lamp/status/POWER"),
            Some((Some(s("lamp")), s("kitchen/lamp"), Class::Stat, s("POWER")))
        );
        // no %prefix%: one base for stat and tele, told apart by the suffix
        assert_eq!(read(&d, "bare/LWT").unwrap().2, Class::Tele);
        assert_eq!(read(&d, "bare/RESULT").unwrap().2, Class::Stat);
        assert_eq!(read(&d, "bare/cmnd/POWER").unwrap().2, Class::Cmnd);
        // the fallback topic is the same device
        assert_eq!(
            read(&d, "stat/DVES_1_fb/RESULT").unwrap().0,
            Some(s("garage"))
        );
        // an unknown device of a known layout
        assert_eq!(
            read(&d, "tele/tasmota_1/LWT"),
            Some((None, s("tasmota_1"), Class::Tele, s("LWT")))
        );
        let mut default_only = Directory::new();
        default_only.add_layout(&Layout::default());
        assert_eq!(read(&default_only, "zigbee2mqtt/bridge/state"), None);
        assert_eq!(
            d.find("plug", &Layout::default()),
            d.lookup("stat/plug/X").unwrap().device
        );
    }
}
