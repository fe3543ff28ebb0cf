//! Output: the only module that writes to stdout.
//!
//! Reports implement `Serialize` (for `--json`) and `Display` (for people, coloured through
//! `colored`, which this module switches on or off once). Data goes to stdout, diagnostics to
//! stderr, so `tasctl ... --json | jq` always sees clean JSON.

use std::cell::RefCell;
use std::fmt::Display;
use std::io::{self, BufWriter, Stdout, Write};

use serde::Serialize;

use crate::settings::Color;

pub struct Output {
    json: bool,
    /// Lines of a stream wait here until `flush`: a burst costs one write, not one per line.
    stream: RefCell<Option<BufWriter<Stdout>>>,
}

impl Output {
    /// Decides colour once: `always`/`never` override, `auto` leaves it to colored's own rules
    /// (a terminal on stdout, `NO_COLOR`, `CLICOLOR_FORCE`). JSON is never coloured.
    pub fn new(json: bool, color: Color) -> Output {
        match color {
            Color::Always if !json => colored::control::set_override(true),
            Color::Never => colored::control::set_override(false),
            _ if json => colored::control::set_override(false),
            _ => {}
        }
        Output {
            json,
            stream: RefCell::new(None),
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// Writes one report: JSON on one line, or its human form.
    pub fn emit<R: Serialize + Display>(&self, report: &R) -> io::Result<()> {
        let mut out = io::stdout().lock();
        if self.json {
            serde_json::to_writer(&mut out, report)?;
            out.write_all(b"\n")?;
        } else {
            write!(out, "{report}")?;
        }
        out.flush()
    }

    /// Writes one item of a stream (NDJSON under `--json`) without flushing: call `flush`
    /// before waiting for the next item, so that nothing is ever held back.
    pub fn stream<R: Serialize + Display>(&self, item: &R) -> io::Result<()> {
        let mut stream = self.stream.borrow_mut();
        let out = stream.get_or_insert_with(|| BufWriter::with_capacity(64 * 1024, io::stdout()));
        if self.json {
            serde_json::to_writer(&mut *out, item)?;
            out.write_all(b"\n")
        } else {
            write!(out, "{item}")
        }
    }

    /// Sends what the stream holds.
    pub fn flush(&self) -> io::Result<()> {
        match self.stream.borrow_mut().as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }

    /// Writes plain text that has no JSON form (a path, a completion script).
    pub fn text(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// A line on stderr: warnings and notes, also under `--json`.
pub fn warn(message: &str) {
    eprintln!("tasctl: warning: {message}");
}

/// A duration the way users write them: `500ms`, `2s`, `1.5s`, `2m`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}
