//! `tasctl top [TARGET...]`: the fleet, live, in a full-screen terminal view you can act from.
//!
//! The model keeps one row per device (never a message history): who it is, online, its
//! outputs, its main reading with a short trend, Wi-Fi, uptime, firmware, when it was last
//! heard, and a pending toggle. It learns the roster from the profile, retained discovery and
//! LWTs, and keeps it live from STATE, SENSOR, RESULT, POWER, LWT and INFO traffic read back
//! through the device directory. The view is redrawn on a timer (and at once after a key),
//! never per message. `space`/`1`-`8` toggle an output and wait for the device's confirmation
//! like `power toggle` (and say `rejected` or `no response` as the CLI does); `enter` shows
//! the device's full status in a view that takes every key while it is open (it scrolls;
//! nothing acts on a device behind it); `/` filters; `s` sorts; `q`/Ctrl-C quits, and the
//! terminal is given back on every way out (a panic, SIGTERM). At any width from 80 columns
//! nothing is cut without a sign: the name and power columns always show (a value too long
//! ends in `…`), a less important column that does not fit is left out whole, and the key help
//! is shortened to fit its line. Memory is one row per device with the last reply per status
//! section, whatever a device sends.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use ratatui::crossterm::event::{
    Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use ratatui::layout::{Constraint, Layout as Split, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Paragraph, Row as TableRow, Table, TableState,
};
use ratatui::{Frame, Terminal};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::ask::json_object;
use super::discover;
use crate::directory::Directory;
use crate::mqtt::Session;
use crate::output::escape;
use crate::profile::{Device, Profile};
use crate::readings;
use crate::settings::Settings;
use crate::target::Target;
use crate::topic::{self, Class, Vars};

/// How many values of the main reading a row keeps for its trend.
const HISTORY: usize = 24;

/// One device, as the view shows it.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub name: String,
    pub topic: String,
    pub online: Option<bool>,
    /// `POWER1` → `ON`, in the device's order.
    pub power: Vec<(String, String)>,
    /// The reading people look at first: label, value, unit.
    pub reading: Option<(String, String, String)>,
    pub history: VecDeque<f64>,
    pub rssi: Option<String>,
    pub uptime: Option<String>,
    pub firmware: Option<String>,
    pub last: Option<Instant>,
    /// A toggle sent: the output and when it stops waiting for the device.
    pub pending: Option<(usize, Instant)>,
    /// What went wrong with the last action.
    pub note: Option<String>,
    /// The full status, once asked for: the last reply per status message (`STATUS`,
    /// `STATUS0` ... `STATUS13`), never more, whatever keys a device invents.
    pub status: std::collections::BTreeMap<u8, Map<String, Value>>,
}

/// The status messages a row keeps, by number (`STATUS` is 255, shown first): the firmware
/// sends `STATUS`, `STATUS0` ... `STATUS13`; anything else is not kept.
fn status_slot(suffix: &str) -> Option<u8> {
    match suffix.strip_prefix("STATUS")? {
        "" => Some(0),
        n => n.parse::<u8>().ok().filter(|n| *n <= 13).map(|n| n + 1),
    }
}

/// The sort orders `s` cycles through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Online,
    Rssi,
    LastHeard,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Name => Sort::Online,
            Sort::Online => Sort::Rssi,
            Sort::Rssi => Sort::LastHeard,
            Sort::LastHeard => Sort::Name,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Online => "online",
            Sort::Rssi => "rssi",
            Sort::LastHeard => "last heard",
        }
    }
}

/// The rows, kept up to date from the traffic; one per device.
pub struct Model {
    directory: Directory,
    rows: Vec<Row>,
    /// Show only these (a TARGET list); `None`: everyone.
    only: Option<Vec<usize>>,
    wait: Duration,
}

impl Model {
    pub fn new(profile: &Profile, wait: Duration) -> Model {
        let directory = Directory::from_profile(profile);
        let rows = profile
            .devices
            .values()
            .map(|d| Row {
                name: d.name.clone().unwrap_or_else(|| d.topic.clone()),
                topic: d.topic.clone(),
                ..Row::default()
            })
            .collect();
        Model {
            directory,
            rows,
            only: None,
            wait,
        }
    }

    /// Limits the view to these devices.
    pub fn restrict(&mut self, devices: &[Device]) {
        let mut only = Vec::new();
        for d in devices {
            let index = self.index_of(d);
            only.push(index);
        }
        self.only = Some(only);
    }

    fn index_of(&mut self, device: &Device) -> usize {
        if let Some(i) = self.directory.find(&device.topic, &device.layout) {
            return i;
        }
        let i = self.directory.add(device.clone());
        self.rows.push(Row {
            name: device.name.clone().unwrap_or_else(|| device.topic.clone()),
            topic: device.topic.clone(),
            ..Row::default()
        });
        i
    }

    #[cfg(test)]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Takes in one message; a retained one is what the broker kept, not news from the device.
    pub fn hear(&mut self, mqtt_topic: &str, payload: &[u8], retained: bool, now: Instant) {
        if let Some(rest) = mqtt_topic.strip_prefix(topic::DISCOVERY_PREFIX) {
            if let Some(mac) = rest.strip_suffix("/config")
                && let Ok(found) = discover::from_config(mac, payload)
            {
                let device = found.device();
                let known = self.directory.find(&device.topic, &device.layout).is_some();
                let index = self.index_of(&device);
                self.directory.add_layout(&device.layout);
                let row = &mut self.rows[index];
                if !known {
                    row.name = found.name.clone();
                }
                if row.firmware.is_none() {
                    row.firmware = found.firmware.clone();
                }
            }
            return;
        }
        let Some(hit) = self.directory.lookup(mqtt_topic) else {
            return;
        };
        let (class, suffix) = (hit.class, hit.suffix.to_string());
        let index = match hit.device {
            Some(i) => i,
            None => {
                let layout = self
                    .directory
                    .layout(hit.layout.unwrap_or_default())
                    .clone();
                let device = Device::unnamed(hit.topic, layout);
                self.index_of(&device)
            }
        };
        if class == Class::Cmnd {
            return;
        }
        let lwt_online = self.directory.device(index).lwt_online().to_string();
        let row = &mut self.rows[index];
        if suffix == "LWT" {
            row.online = Some(payload == lwt_online.as_bytes());
            return;
        }
        if !retained {
            row.last = Some(now);
            row.online = Some(true);
        }
        let Some(object) = json_object(payload) else {
            // The plain-text power publication: `stat/<topic>/POWER2` `ON`.
            if suffix.starts_with("POWER") {
                set_power(row, &suffix, &String::from_utf8_lossy(payload));
            }
            return;
        };
        // A refusal while a toggle waits: that output does not exist (`8` on a 4-relay board).
        if super::ask::is_rejection(&object) {
            if let Some((n, _)) = row.pending.take()
                && class == Class::Stat
            {
                row.note = Some(format!("output {n}: rejected"));
            }
            return;
        }
        match suffix.as_str() {
            s if s.starts_with("STATUS") => {
                if let Some(Value::Object(sts)) = object.get("StatusSTS") {
                    take_state(row, sts);
                }
                if let Some(Value::Object(sns)) = object.get("StatusSNS") {
                    take_sensors(row, sns);
                }
                if let Some(v) = object
                    .get("StatusFWR")
                    .and_then(|f| f.get("Version"))
                    .and_then(Value::as_str)
                {
                    row.firmware = Some(v.split('(').next().unwrap_or(v).to_string());
                }
                if let Some(slot) = status_slot(s) {
                    row.status.insert(slot, object);
                }
            }
            "SENSOR" => take_sensors(row, &object),
            s if s.starts_with("INFO") => {
                let info = object
                    .get("Info1")
                    .and_then(Value::as_object)
                    .unwrap_or(&object);
                if let Some(v) = info.get("Version").and_then(Value::as_str) {
                    row.firmware = Some(v.split('(').next().unwrap_or(v).to_string());
                }
            }
            // STATE, RESULT, POWER with SetOption4: whatever state it carries.
            _ => take_state(row, &object),
        }
    }

    /// A toggle of output `n` (1-based) of the device at `index`: the command to publish.
    pub fn toggle(&mut self, index: usize, n: usize, now: Instant) -> Option<String> {
        let device = self.directory.device(index).clone();
        let row = &mut self.rows[index];
        let name = if n == 1 && row.power.len() <= 1 {
            "Power".to_string()
        } else {
            format!("Power{n}")
        };
        let topic = device
            .layout
            .topic(Class::Cmnd, &device.vars(), &name)
            .ok()?;
        row.pending = Some((n, now + self.wait));
        row.note = None;
        Some(topic)
    }

    /// The command topic that asks the device at `index` for its full status.
    pub fn status_topic(&self, index: usize) -> Option<String> {
        let device = self.directory.device(index);
        device
            .layout
            .topic(Class::Cmnd, &device.vars(), "Status")
            .ok()
    }

    /// Toggles that got no confirmation in time.
    pub fn expire(&mut self, now: Instant) {
        let wait = crate::output::duration(self.wait);
        for row in &mut self.rows {
            if let Some((n, deadline)) = row.pending
                && deadline <= now
            {
                row.pending = None;
                row.note = Some(format!("output {n}: no response within {wait}"));
            }
        }
    }

    /// The rows to show, in order: those matching `filter` (a part of the name or topic).
    pub fn visible(&self, filter: &str, sort: Sort) -> Vec<usize> {
        let filter = filter.to_lowercase();
        let mut shown: Vec<usize> = match &self.only {
            Some(only) => only.clone(),
            None => (0..self.rows.len()).collect(),
        };
        shown.retain(|&i| {
            let row = &self.rows[i];
            filter.is_empty()
                || row.name.to_lowercase().contains(&filter)
                || row.topic.to_lowercase().contains(&filter)
        });
        let rssi = |r: &Row| {
            r.rssi
                .as_deref()
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(-1)
        };
        shown.sort_by(|&a, &b| {
            let (x, y) = (&self.rows[a], &self.rows[b]);
            let by_name = x.name.to_lowercase().cmp(&y.name.to_lowercase());
            match sort {
                Sort::Name => by_name,
                Sort::Online => y
                    .online
                    .unwrap_or(false)
                    .cmp(&x.online.unwrap_or(false))
                    .then(by_name),
                Sort::Rssi => rssi(y).cmp(&rssi(x)).then(by_name),
                Sort::LastHeard => y.last.cmp(&x.last).then(by_name),
            }
        });
        shown
    }

    /// The filters that bring in what the view shows.
    fn filters(&self, profile: &Profile) -> Vec<String> {
        let mut filters = vec![format!("{}+/config", topic::DISCOVERY_PREFIX)];
        for layout in profile.layouts() {
            filters.push(layout.all_filter(Class::Stat));
            filters.push(layout.all_filter(Class::Tele));
        }
        for i in 0..self.rows.len() {
            let d = self.directory.device(i);
            for class in [Class::Stat, Class::Tele] {
                if let Ok(f) = d.layout.device_filter(class, &d.vars()) {
                    filters.push(f);
                }
            }
        }
        filters
    }
}

fn set_power(row: &mut Row, key: &str, state: &str) {
    let key = if key == "POWER" { "POWER1" } else { key };
    match row.power.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = state.to_string(),
        None => {
            row.power.push((key.to_string(), state.to_string()));
            row.power
                .sort_by_key(|(k, _)| k[5..].parse::<u32>().unwrap_or(0));
        }
    }
    if let Some((n, _)) = row.pending
        && key == format!("POWER{n}")
    {
        row.pending = None;
    }
}

fn take_state(row: &mut Row, state: &Map<String, Value>) {
    for (key, value) in state {
        let index = key
            .strip_prefix("POWER")
            .filter(|i| i.chars().all(|c| c.is_ascii_digit()));
        if let (Some(_), Some(text)) = (index, value.as_str()) {
            set_power(row, key, text);
        }
    }
    if let Some(rssi) = state.get("Wifi").and_then(|w| w.get("RSSI")) {
        row.rssi = Some(rssi.to_string());
    }
    if let Some(Value::String(uptime)) = state.get("Uptime") {
        row.uptime = Some(uptime.clone());
    }
}

fn take_sensors(row: &mut Row, sensors: &Map<String, Value>) {
    let units = readings::Units::of(sensors);
    let all = readings::of_value(sensors);
    let main = all
        .iter()
        .find(|r| {
            r.path
                .first()
                .is_some_and(|s| s.eq_ignore_ascii_case("ENERGY"))
                && r.leaf() == "Power"
        })
        .or_else(|| all.iter().find(|r| r.leaf() == "Temperature"))
        .or_else(|| all.first());
    if let Some(r) = main {
        row.reading = Some((
            r.leaf().to_string(),
            r.value.clone(),
            r.unit(&units).to_string(),
        ));
        if let Ok(v) = r.value.parse::<f64>() {
            if row.history.len() == HISTORY {
                row.history.pop_front();
            }
            row.history.push_back(v);
        }
    }
}

/// A trend in eight block characters.
fn sparkline(values: &VecDeque<f64>) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() {
        return String::new();
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    values
        .iter()
        .rev()
        .take(8)
        .rev()
        .map(|&v| {
            let step = if hi > lo {
                ((v - lo) / (hi - lo) * 7.0).round() as usize
            } else {
                3
            };
            BLOCKS[step.min(7)]
        })
        .collect()
}

/// How long ago, in a few characters.
fn ago(last: Option<Instant>, now: Instant) -> String {
    let Some(last) = last else {
        return "-".into();
    };
    let secs = now.saturating_duration_since(last).as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}

/// What the user is doing in the view.
pub struct View {
    pub selected: usize,
    pub filter: String,
    pub editing: bool,
    pub sort: Sort,
    /// A device whose full status is shown: while it is, every key goes to it.
    pub detail: Option<usize>,
    /// How far the status view is scrolled, in lines.
    pub scroll: usize,
}

impl Default for View {
    fn default() -> Self {
        View {
            selected: 0,
            filter: String::new(),
            editing: false,
            sort: Sort::Name,
            detail: None,
            scroll: 0,
        }
    }
}

/// A column of the table: heading, priority (0 always shows), and its width.
struct Column {
    heading: &'static str,
    /// Lower shows first when the screen is narrow; 0 is never left out.
    rank: u8,
    width: u16,
}

/// The columns, in screen order, with the widths their contents need (name and power within
/// bounds, a value longer ends in `…`).
fn columns(name: u16, power: u16, reading: u16) -> [Column; 9] {
    let c = |heading, rank, width| Column {
        heading,
        rank,
        width,
    };
    [
        c("NAME", 0, name),
        c("ONLINE", 1, 6),
        c("POWER", 0, power),
        c("READING", 2, reading),
        c("TREND", 7, 8),
        c("RSSI", 4, 4),
        c("UPTIME", 6, 11),
        c("FIRMWARE", 5, 9),
        c("HEARD", 3, 5),
    ]
}

/// Which columns fit `width` (one blank between columns), by rank: the rest are left out whole.
fn fitting(columns: &[Column], width: u16) -> Vec<bool> {
    let mut shown: Vec<bool> = columns.iter().map(|c| c.rank == 0).collect();
    let used = |shown: &[bool]| -> u16 {
        let cols: Vec<u16> = columns
            .iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .map(|(c, _)| c.width)
            .collect();
        cols.iter().sum::<u16>() + cols.len().saturating_sub(1) as u16
    };
    let mut ranks: Vec<u8> = columns.iter().map(|c| c.rank).filter(|r| *r > 0).collect();
    ranks.sort_unstable();
    for rank in ranks {
        let mut tried = shown.clone();
        for (i, c) in columns.iter().enumerate() {
            if c.rank == rank {
                tried[i] = true;
            }
        }
        if used(&tried) <= width {
            shown = tried;
        }
    }
    shown
}

/// `text` in at most `width` columns: whole, or cut with `…` as its last character.
fn fit(text: &str, width: u16) -> String {
    let width = usize::from(width);
    if crate::output::width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if crate::output::width(&out) + crate::output::width(&c.to_string()) + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// The key help that fits `width`: the full words, else shorter ones.
fn help(width: u16) -> &'static str {
    const HELP: [&str; 3] = [
        "↑↓/jk move · space toggle · 1-8 output · enter status · / filter · s sort · q quit",
        "↑↓ move · space toggle · 1-8 output · enter status · / filter · s sort · q quit",
        "↑↓ move · spc toggle · 1-8 out · ⏎ status · / find · s sort · q quit",
    ];
    HELP.iter()
        .find(|h| crate::output::width(h) <= usize::from(width))
        .copied()
        .unwrap_or(HELP[2])
}

/// What the status view shows for a row: each section in the order the firmware numbers them
/// (a heading: `true`), each value on its line.
fn detail_lines(row: &Row) -> Vec<(bool, String)> {
    let mut lines = Vec::new();
    if row.status.is_empty() {
        lines.push((false, "asking for its status ...".to_string()));
    }
    for object in row.status.values() {
        for (section, value) in object {
            lines.push((true, escape(section).into_owned()));
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        let v = v.as_str().map_or_else(|| v.to_string(), String::from);
                        lines.push((false, format!("  {:<16} {}", escape(k), escape(&v))));
                    }
                }
                other => lines.push((false, format!("  {}", escape(&other.to_string())))),
            }
        }
    }
    lines
}

/// Draws one frame of the model.
pub fn draw(frame: &mut Frame, model: &Model, view: &View, now: Instant) {
    let [body, footer] =
        Split::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(frame.area());
    let shown = model.visible(&view.filter, view.sort);
    let online = shown
        .iter()
        .filter(|&&i| model.rows[i].online == Some(true))
        .count();
    // Each row's cells as text first: the widths follow what there is to show.
    let texts: Vec<[String; 9]> = shown
        .iter()
        .map(|&i| {
            let r = &model.rows[i];
            let online = match r.online {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            };
            let power = match (&r.note, r.pending) {
                (_, Some((n, _))) => format!("output {n}: pending"),
                (Some(note), None) => note.clone(),
                (None, None) if r.power.is_empty() => "-".into(),
                (None, None) => r
                    .power
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            let reading = r
                .reading
                .as_ref()
                .map(|(k, v, u)| format!("{k} {v}{}{u}", if u.is_empty() { "" } else { " " }))
                .unwrap_or_default();
            [
                escape(&r.name).into_owned(),
                online.to_string(),
                escape(&power).into_owned(),
                escape(&reading).into_owned(),
                sparkline(&r.history),
                r.rssi.clone().unwrap_or_else(|| "-".into()),
                escape(r.uptime.as_deref().unwrap_or("-")).into_owned(),
                escape(r.firmware.as_deref().unwrap_or("-")).into_owned(),
                ago(r.last, now),
            ]
        })
        .collect();
    let widest = |i: usize, heading: &str| {
        texts
            .iter()
            .map(|t| crate::output::width(&t[i]))
            .chain([crate::output::width(heading)])
            .max()
            .unwrap_or(0) as u16
    };
    let inner = body.width.saturating_sub(3);
    let name_width = widest(0, "NAME").clamp(8, 24);
    let power_width = widest(2, "POWER").clamp(5, 24);
    let reading_width = widest(3, "READING").clamp(7, 24);
    let columns = columns(name_width, power_width, reading_width);
    let shown_columns = fitting(&columns, inner);
    let header = TableRow::new(
        columns
            .iter()
            .zip(&shown_columns)
            .filter(|(_, s)| **s)
            .map(|(c, _)| Cell::from(c.heading)),
    )
    .style(Style::default().add_modifier(Modifier::BOLD));
    let rows: Vec<TableRow> = texts
        .iter()
        .zip(&shown)
        .map(|(text, &i)| {
            let cells = columns
                .iter()
                .zip(&shown_columns)
                .enumerate()
                .filter(|(_, (_, s))| **s)
                .map(|(k, (c, _))| {
                    let cell = Cell::from(fit(&text[k], c.width));
                    match (k, model.rows[i].online) {
                        (1, Some(true)) => cell.style(Style::default().fg(Color::Green)),
                        (1, Some(false)) => cell.style(Style::default().fg(Color::Red)),
                        _ => cell,
                    }
                });
            TableRow::new(cells.collect::<Vec<_>>())
        })
        .collect();
    let widths: Vec<Constraint> = columns
        .iter()
        .zip(&shown_columns)
        .filter(|(_, s)| **s)
        .map(|(c, _)| Constraint::Length(c.width))
        .collect();
    let title = format!(
        " tasctl top: {}, {online} online, sorted by {} ",
        crate::output::count(shown.len(), "device", "devices"),
        view.sort.word()
    );
    let table = Table::new(rows, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default();
    if !shown.is_empty() {
        state.select(Some(view.selected.min(shown.len() - 1)));
    }
    frame.render_stateful_widget(table, body, &mut state);
    let help = if view.editing {
        format!(
            "filter: {}█  (enter to keep, esc to clear)",
            escape(&view.filter)
        )
    } else {
        help(footer.width).to_string()
    };
    frame.render_widget(Paragraph::new(help), footer);
    if let Some(i) = view.detail {
        let area = centered(body, 90, 90);
        let row = &model.rows[i];
        let inner = area.width.saturating_sub(2);
        let lines: Vec<Line> = detail_lines(row)
            .into_iter()
            .map(|(heading, text)| {
                let line = Line::from(fit(&text, inner));
                if heading {
                    line.style(Style::default().add_modifier(Modifier::BOLD))
                } else {
                    line
                }
            })
            .collect();
        let visible = usize::from(area.height.saturating_sub(2));
        let scroll = view.scroll.min(lines.len().saturating_sub(visible));
        let more = if scroll + visible < lines.len() {
            " · ↓ more"
        } else {
            ""
        };
        let title = format!(
            " {} ({}) · ↑↓ PgUp/PgDn scroll · esc close{more} ",
            escape(&row.name),
            escape(&row.topic)
        );
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((scroll.min(usize::from(u16::MAX)) as u16, 0))
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(fit(&title, area.width.saturating_sub(2))),
                ),
            area,
        );
    }
}

fn centered(area: Rect, width_percent: u16, height_percent: u16) -> Rect {
    let w = area.width * width_percent / 100;
    let h = area.height * height_percent / 100;
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Refuses to start without a terminal: a pipe gets `watch` instead.
pub fn check_terminal() -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "`tasctl top` needs a terminal; to follow the fleet from a script or a pipe, use `tasctl watch` (or `tasctl watch --json`)"
        );
    }
    Ok(())
}

/// Gives the terminal back: cooked mode, the main screen, the cursor.
fn restore_terminal() {
    use ratatui::crossterm::{cursor, execute, terminal};
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

pub async fn run(settings: &Settings, session: &mut Session, targets: &[Target]) -> Result<u8> {
    use ratatui::crossterm::{execute, terminal};
    let profile = &settings.profile;
    let mut model = Model::new(profile, settings.wait);
    if !targets.is_empty() {
        model.restrict(&crate::target::devices(targets)?);
    }
    session.subscribe(&model.filters(profile)).await?;
    // Ask every device for its state now, rather than wait for its telemetry period.
    for layout in profile.layouts() {
        let vars = Vars {
            topic: &profile.defaults.group_topic,
            ..Vars::default()
        };
        if let Ok(t) = layout.topic(Class::Cmnd, &vars, "State") {
            session.publish(&t, "", false).await?;
        }
    }

    terminal::enable_raw_mode().context("cannot set up the terminal")?;
    execute!(std::io::stdout(), terminal::EnterAlternateScreen)
        .context("cannot set up the terminal")?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    crate::signal::before_forced_exit(restore_terminal);
    let result = serve(session, &mut model).await;
    restore_terminal();
    result
}

async fn serve(session: &mut Session, model: &mut Model) -> Result<u8> {
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    // No `Terminal::clear`: it asks the terminal where its cursor is, which not every
    // terminal answers; the alternate screen starts empty anyway.
    let mut terminal = Terminal::new(backend).context("cannot draw on the terminal")?;
    let mut view = View::default();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let mut redraw = false;
        tokio::select! {
            message = session.recv() => {
                let message = message?;
                model.hear(&message.topic, &message.payload, message.retain, Instant::now());
            }
            event = events.next() => {
                let Some(Ok(event)) = event else { return Ok(crate::error::OK) };
                if let Event::Key(key) = event {
                    if key.kind != KeyEventKind::Press {
                        continue;
                    }
                    match act(key, model, &mut view, session).await? {
                        Act::Quit => return Ok(crate::error::OK),
                        Act::Continue => redraw = true,
                    }
                } else {
                    redraw = true;
                }
            }
            _ = tick.tick() => {
                model.expire(Instant::now());
                redraw = true;
            }
            _ = crate::signal::interrupted() => return Ok(crate::error::OK),
        }
        if redraw {
            let now = Instant::now();
            terminal.draw(|f| draw(f, model, &view, now))?;
        }
    }
}

enum Act {
    Quit,
    Continue,
}

async fn act(
    key: KeyEvent,
    model: &mut Model,
    view: &mut View,
    session: &mut Session,
) -> Result<Act> {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c {
        return Ok(Act::Quit);
    }
    // The status view takes every key while it is open: nothing acts on a device behind it.
    if let Some(i) = view.detail {
        let lines = detail_lines(&model.rows[i]).len();
        let page = 10;
        match key.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => {
                view.detail = None;
                view.scroll = 0;
            }
            KeyCode::Down | KeyCode::Char('j') => view.scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => view.scroll = view.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => view.scroll += page,
            KeyCode::PageUp => view.scroll = view.scroll.saturating_sub(page),
            KeyCode::Home => view.scroll = 0,
            KeyCode::End => view.scroll = lines,
            _ => {}
        }
        view.scroll = view.scroll.min(lines.saturating_sub(1));
        return Ok(Act::Continue);
    }
    if view.editing {
        match key.code {
            KeyCode::Enter => view.editing = false,
            KeyCode::Esc => {
                view.editing = false;
                view.filter.clear();
            }
            KeyCode::Backspace => {
                view.filter.pop();
            }
            KeyCode::Char(c) => {
                view.filter.push(c);
                view.selected = 0;
            }
            _ => {}
        }
        return Ok(Act::Continue);
    }
    let shown = model.visible(&view.filter, view.sort);
    let current = shown
        .get(view.selected.min(shown.len().saturating_sub(1)))
        .copied();
    match key.code {
        KeyCode::Char('q') => return Ok(Act::Quit),
        KeyCode::Down | KeyCode::Char('j') => {
            view.selected = (view.selected + 1).min(shown.len().saturating_sub(1))
        }
        KeyCode::Up | KeyCode::Char('k') => view.selected = view.selected.saturating_sub(1),
        KeyCode::Char('/') => view.editing = true,
        KeyCode::Char('s') => view.sort = view.sort.next(),
        KeyCode::Enter => {
            if let Some(i) = current
                && let Some(topic) = model.status_topic(i)
            {
                session.publish(&topic, "0", false).await?;
                view.detail = Some(i);
                view.scroll = 0;
            }
        }
        KeyCode::Char(c @ (' ' | '1'..='8')) => {
            let n = if c == ' ' {
                1
            } else {
                c as usize - '0' as usize
            };
            if let Some(i) = current
                && let Some(topic) = model.toggle(i, n, Instant::now())
            {
                session.publish(&topic, "TOGGLE", false).await?;
            }
        }
        _ => {}
    }
    Ok(Act::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;

    fn profile() -> Profile {
        crate::profile::parse(
            r#"
            [devices]
            plug = "plug"
            lamp = { topic = "lamp", full_topic = "%topic%/%prefix%/" }
            sensor = "balcony"
            "#,
            std::path::Path::new("p.toml"),
        )
        .unwrap()
    }

    fn screen(model: &Model, view: &View, now: Instant, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, model, view, now)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn the_model_follows_the_traffic_one_row_per_device() {
        let mut model = Model::new(&profile(), Duration::from_secs(2));
        let now = Instant::now();
        model.hear("tele/plug/LWT", b"Online", false, now);
        model.hear(
            "tele/plug/STATE",
            br#"{"Uptime":"1T02:03:04","POWER":"ON","Wifi":{"RSSI":76}}"#,
            false,
            now,
        );
        model.hear(
            "tele/plug/SENSOR",
            br#"{"ENERGY":{"Total":1.5,"Power":60}}"#,
            false,
            now,
        );
        model.hear(
            "lamp/stat/RESULT",
            br#"{"POWER1":"OFF","POWER2":"ON"}"#,
            false,
            now,
        );
        model.hear("lamp/tele/LWT", b"Online", false, now);
        model.hear("tele/balcony/LWT", b"Offline", false, now);
        model.hear(
            "tele/balcony/SENSOR",
            br#"{"AM2301":{"Temperature":21.5,"Humidity":40},"TempUnit":"C"}"#,
            false,
            now,
        );
        model.hear(
            "tele/balcony/SENSOR",
            br#"{"AM2301":{"Temperature":22.5,"Humidity":40},"TempUnit":"C"}"#,
            false,
            now,
        );
        model.hear(
            "tasmota/discovery/A0B765000009/config",
            br#"{"t":"newcomer","fn":["New Plug"],"sw":"14.3.0","mac":"A0B765000009"}"#,
            false,
            now,
        );
        model.hear("stat/newcomer/POWER", b"OFF", false, now);
        model.hear("zigbee2mqtt/bridge/state", b"online", false, now);
        assert_eq!(model.rows().len(), 4, "one row per device, nothing else");
        let later = now + Duration::from_secs(75);
        let lines = screen(&model, &View::default(), later, 110, 9);
        assert_eq!(
            lines[0],
            "┌ tasctl top: 4 devices, 4 online, sorted by name ───────────────────────────────────────────────────────────┐"
        );
        assert_eq!(
            &lines[1..6],
            [
                "│NAME     ONLINE POWER  READING             TREND    RSSI UPTIME      FIRMWARE  HEARD                        │",
                "│lamp     yes    OFF ON                              -    -           -         1m                           │",
                "│New Plug yes    OFF                                 -    -           14.3.0    1m                           │",
                "│plug     yes    ON     Power 60 W          ▄        76   1T02:03:04  -         1m                           │",
                "│sensor   yes    -      Temperature 22.5 °C ▁█       -    -           -         1m                           │",
            ]
        );
        assert!(
            lines[8].starts_with("↑↓/jk move · space toggle"),
            "{}",
            lines[8]
        );
    }

    #[test]
    fn a_toggle_is_pending_until_confirmed_and_says_so_when_not() {
        let mut model = Model::new(&profile(), Duration::from_secs(2));
        let now = Instant::now();
        model.hear(
            "lamp/stat/RESULT",
            br#"{"POWER1":"OFF","POWER2":"ON"}"#,
            false,
            now,
        );
        let lamp = model.visible("", Sort::Name)[0];
        assert_eq!(
            model.toggle(lamp, 2, now).as_deref(),
            Some("lamp/cmnd/Power2")
        );
        assert_eq!(model.rows()[lamp].pending.map(|p| p.0), Some(2));
        model.hear("lamp/stat/POWER2", b"OFF", false, now);
        assert_eq!(model.rows()[lamp].pending, None, "confirmed");
        model.toggle(lamp, 1, now);
        model.expire(now + Duration::from_secs(3));
        assert_eq!(
            model.rows()[lamp].note.as_deref(),
            Some("output 1: no response within 2s")
        );
    }

    #[test]
    fn at_80_columns_nothing_is_cut_without_a_sign() {
        let profile = crate::profile::parse(
            r#"
            [devices]
            board = { topic = "garage_board", relays = 4 }
            a-very-long-device-name-for-the-hallway-ceiling = "hall"
            "#,
            std::path::Path::new("p.toml"),
        )
        .unwrap();
        let mut model = Model::new(&profile, Duration::from_secs(2));
        let now = Instant::now();
        model.hear(
            "stat/garage_board/RESULT",
            br#"{"POWER1":"ON","POWER2":"OFF","POWER3":"ON","POWER4":"OFF","Wifi":{"RSSI":70},"Uptime":"0T01:00:00"}"#,
            false,
            now,
        );
        model.hear(
            "tele/garage_board/INFO1",
            br#"{"Info1":{"Version":"13.1.0.1(tasmota)"}}"#,
            false,
            now,
        );
        let lines = screen(&model, &View::default(), now, 80, 24);
        let all = lines.join("\n");
        assert!(all.contains("ON OFF ON OFF"), "every relay shows:\n{all}");
        assert!(
            all.contains("a-very-long-device-name…"),
            "a long name ends in …:\n{all}"
        );
        assert!(lines.iter().all(|l| crate::output::width(l) <= 80), "{all}");
        assert_eq!(lines[23], help(80), "the key help fits");
        assert!(lines[23].ends_with("q quit"), "{}", lines[23]);
        // A column is there whole or not at all: every header word is complete.
        let header = &lines[1];
        for word in header.trim_matches('│').split_whitespace() {
            assert!(
                [
                    "NAME", "ONLINE", "POWER", "READING", "TREND", "RSSI", "UPTIME", "FIRMWARE",
                    "HEARD"
                ]
                .contains(&word),
                "`{word}` in {header}"
            );
        }
        assert!(
            !header.contains("TREND"),
            "the least important column gives way: {header}"
        );
        // `8` on a 4-relay board: the device refuses, and the row says so in the CLI's word.
        let board = model.visible("", Sort::Name)[1];
        model.toggle(board, 8, now);
        model.hear(
            "stat/garage_board/RESULT",
            br#"{"Command":"Error"}"#,
            false,
            now,
        );
        assert_eq!(
            model.rows()[board].note.as_deref(),
            Some("output 8: rejected")
        );
    }

    #[test]
    fn the_status_view_scrolls_and_keeps_one_reply_per_section() {
        let mut model = Model::new(&profile(), Duration::from_secs(2));
        let now = Instant::now();
        for n in 0..30_000 {
            let body = format!(r#"{{"StatusX{n}":{{"k":1}}}}"#);
            model.hear("stat/plug/STATUS5", body.as_bytes(), false, now);
        }
        let plug = model.visible("", Sort::Name)[1];
        assert_eq!(
            model.rows()[plug].status.len(),
            1,
            "the last reply of STATUS5 only"
        );
        model.hear("stat/plug/STATUS77", br#"{"Junk":{}}"#, false, now);
        assert_eq!(
            model.rows()[plug].status.len(),
            1,
            "no STATUS77 in the firmware"
        );
        let mut sections = String::from("{");
        for n in 0..40 {
            sections.push_str(&format!(r#""Status{n}":{{"Value":{n}}},"#));
        }
        sections.push_str(r#""Last":{"Value":"end"}}"#);
        model.hear("stat/plug/STATUS0", sections.as_bytes(), false, now);
        let mut view = View {
            detail: Some(plug),
            ..View::default()
        };
        let first = screen(&model, &view, now, 80, 24).join("\n");
        assert!(
            first.contains("Status0") && !first.contains("Last"),
            "{first}"
        );
        assert!(first.contains("↓ more"), "{first}");
        view.scroll = 200;
        let last = screen(&model, &view, now, 80, 24).join("\n");
        assert!(last.contains("Last") && last.contains("end"), "{last}");
    }

    #[test]
    fn filter_and_sort() {
        let mut model = Model::new(&profile(), Duration::from_secs(2));
        let now = Instant::now();
        model.hear("tele/plug/STATE", br#"{"Wifi":{"RSSI":40}}"#, false, now);
        model.hear("lamp/tele/STATE", br#"{"Wifi":{"RSSI":90}}"#, false, now);
        let names = |v: Vec<usize>| {
            v.iter()
                .map(|&i| model.rows()[i].name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(model.visible("", Sort::Rssi)),
            ["lamp", "plug", "sensor"]
        );
        assert_eq!(names(model.visible("PL", Sort::Name)), ["plug"]);
        assert_eq!(
            names(model.visible("balc", Sort::Name)),
            ["sensor"],
            "the topic matches too"
        );
        assert_eq!(sparkline(&VecDeque::from([1.0, 2.0, 3.0])), "▁▅█");
    }
}
