//! Output: the only module that writes to stdout.
//!
//! Reports implement `Serialize` (for `--json`) and `Display` (for people, coloured through
//! `colored`, which this module switches on or off once). Data goes to stdout, diagnostics to
//! stderr, so `tasctl ... --json | jq` always sees clean JSON.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::{self, Display};
use std::io::{self, BufWriter, Stdout, Write};

use colored::Colorize;
use serde::Serialize;

use crate::values::Color;

pub struct Output {
    json: bool,
    /// Lines of a stream wait here until `flush`: a burst costs one write, not one per line.
    stream: RefCell<Option<BufWriter<Stdout>>>,
}

impl Output {
    /// Decides colour once: `always`/`never` override; `auto` colours a terminal on stdout,
    /// unless `NO_COLOR` is set to something (no-color.org: an empty value does not count) or
    /// `CLICOLOR=0`, and `CLICOLOR_FORCE` (not empty, not 0) colours anything. JSON is never
    /// coloured.
    pub fn new(json: bool, color: Color) -> Output {
        let on = match color {
            _ if json => false,
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
                if var("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                    true
                } else if var("NO_COLOR").is_some() || var("CLICOLOR").is_some_and(|v| v == "0") {
                    false
                } else {
                    std::io::IsTerminal::is_terminal(&io::stdout())
                }
            }
        };
        colored::control::set_override(on);
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

/// Text from the network or a file made safe for a terminal: control characters (ESC, newlines,
/// DEL, C1 codes) are shown escaped (`\e`, `\n`, `\u{7f}`) instead of acting on the terminal.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// How many columns text takes on a terminal (wide characters take two).
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// Pads `text` with spaces to `columns` terminal columns.
pub fn pad(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

/// A left-aligned table with a bold header; the last column is not padded. Cells are escaped
/// (they often hold what devices sent) and measured in terminal columns.
pub fn table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: [&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let rows: Vec<[Cow<'_, str>; N]> = rows
        .iter()
        .map(|row| std::array::from_fn(|i| escape(&row[i])))
        .collect();
    let mut widths = header.map(width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: [&str; N], bold: bool| -> fmt::Result {
        for (i, cell) in cells.iter().enumerate() {
            let shown = if bold {
                cell.bold().to_string()
            } else {
                (*cell).to_string()
            };
            if i + 1 == N {
                writeln!(f, "{shown}")?;
            } else {
                let padding = widths[i].saturating_sub(width(cell));
                write!(f, "{shown}{}  ", " ".repeat(padding))?;
            }
        }
        Ok(())
    };
    line(f, header, true)?;
    for row in &rows {
        line(f, std::array::from_fn(|i| row[i].as_ref()), false)?;
    }
    Ok(())
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
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape("plain ü"), "plain ü");
        assert_eq!(escape("\u{1b}]0;pwned\u{7}"), "\\e]0;pwned\\u{7}");
        assert_eq!(escape("a\nb\u{7f}\u{9b}"), "a\\nb\\u{7f}\\u{9b}");
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("Geschirrspüler"), 14);
        assert_eq!(width("台所"), 4);
        assert_eq!(pad("台所", 6), "台所  ");
    }

    struct T(Vec<[String; 2]>);
    impl fmt::Display for T {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            table(f, ["NAME", "X"], &self.0)
        }
    }

    #[test]
    fn tables_align_wide_and_hostile_cells() {
        colored::control::set_override(false);
        let t = T(vec![
            ["台所".into(), "1".into()],
            ["\u{1b}[2J".into(), "2".into()],
        ]);
        assert_eq!(t.to_string(), "NAME   X\n台所   1\n\\e[2J  2\n");
    }
}
