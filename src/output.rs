//! Output: the only module that writes to stdout and stderr.
//!
//! Reports implement `Serialize` (for `--json`) and `Display` (for people, coloured through
//! `colored`, which this module switches on or off once). Data goes to stdout; diagnostics
//! (errors, warnings, notes, progress, the `--verbose` trace) to stderr, so `tasctl ... --json |
//! jq` always sees clean JSON. Both writers can be swapped for memory, so every render is a
//! unit test.

use std::borrow::Cow;
use std::fmt::{self, Display};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex};

use colored::Colorize;
use serde::Serialize;

use crate::values::Color;

type Writer = Box<dyn Write + Send>;

/// Where output goes; cheap to clone (the MQTT session and the simulator's hosts keep one for
/// their traces and warnings).
#[derive(Clone)]
pub struct Output {
    inner: Arc<Inner>,
}

struct Inner {
    json: bool,
    verbose: bool,
    /// Lines of a stream wait here until `flush`: a burst costs one write, not one per line.
    stdout: Mutex<BufWriter<Writer>>,
    stderr: Mutex<Writer>,
    /// Progress lines and bars only where a person watches.
    stderr_terminal: bool,
    /// The progress bars of a run (one per device), drawn together on stderr.
    bars: Mutex<Option<indicatif::MultiProgress>>,
    /// When the run started, for the times of the `--verbose` trace.
    started: std::time::Instant,
    /// The progress line of a scan (`progress`), among the bars.
    spinner: Mutex<Option<indicatif::ProgressBar>>,
}

/// What a captured `Output` wrote, for tests.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Output(json: {})", self.inner.json)
    }
}

impl Output {
    /// Decides colour once: `always`/`never` override; `auto` colours a terminal on stdout,
    /// unless `NO_COLOR` is set to something (no-color.org: an empty value does not count) or
    /// `CLICOLOR=0`, and `CLICOLOR_FORCE` (not empty, not 0) colours anything. JSON is never
    /// coloured.
    pub fn new(json: bool, color: Color, verbose: bool) -> Output {
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
                    io::stdout().is_terminal()
                }
            }
        };
        colored::control::set_override(on);
        Output::with_writers(
            json,
            verbose,
            Box::new(io::stdout()),
            Box::new(io::stderr()),
            io::stderr().is_terminal(),
        )
    }

    fn with_writers(
        json: bool,
        verbose: bool,
        stdout: Writer,
        stderr: Writer,
        stderr_terminal: bool,
    ) -> Output {
        Output {
            inner: Arc::new(Inner {
                json,
                verbose,
                stdout: Mutex::new(BufWriter::with_capacity(64 * 1024, stdout)),
                stderr: Mutex::new(stderr),
                stderr_terminal,
                bars: Mutex::new(None),
                spinner: Mutex::new(None),
                started: std::time::Instant::now(),
            }),
        }
    }

    /// An output into memory: (output, its stdout, its stderr).
    #[cfg(test)]
    pub fn capture(json: bool) -> (Output, Captured, Captured) {
        colored::control::set_override(false);
        let (out, err) = (Captured::default(), Captured::default());
        let output = Output::with_writers(
            json,
            true,
            Box::new(out.clone()),
            Box::new(err.clone()),
            false,
        );
        (output, out, err)
    }

    pub fn json(&self) -> bool {
        self.inner.json
    }

    pub fn verbose(&self) -> bool {
        self.inner.verbose
    }

    /// Is a person watching stderr (for progress)?
    pub fn interactive(&self) -> bool {
        self.inner.stderr_terminal
    }

    fn stdout(&self) -> std::sync::MutexGuard<'_, BufWriter<Writer>> {
        self.inner
            .stdout
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stderr(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.inner
            .stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes one report: JSON on one line, or its human form.
    pub fn emit<R: Serialize + Display>(&self, report: &R) -> io::Result<()> {
        let mut out = self.stdout();
        if self.inner.json {
            serde_json::to_writer(&mut *out, report)?;
            out.write_all(b"\n")?;
        } else {
            write!(out, "{report}")?;
        }
        out.flush()
    }

    /// Writes one item of a stream (NDJSON under `--json`) without flushing: call `flush`
    /// before waiting for the next item, so that nothing is ever held back.
    pub fn stream<R: Serialize + Display>(&self, item: &R) -> io::Result<()> {
        let mut out = self.stdout();
        if self.inner.json {
            serde_json::to_writer(&mut *out, item)?;
            out.write_all(b"\n")
        } else {
            write!(out, "{item}")
        }
    }

    /// Sends what the stream holds.
    pub fn flush(&self) -> io::Result<()> {
        self.stdout().flush()
    }

    /// Writes plain text that has no JSON form (a path, a completion script).
    pub fn text(&self, text: &str) -> io::Result<()> {
        let mut out = self.stdout();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// A line on stderr for something worth knowing that does not stop the command.
    pub fn warn(&self, message: &str) {
        self.line(format_args!("tasctl: warning: {message}"));
    }

    /// A line on stderr: what happened, beside the data (`saved to ...`, `watching ...`).
    pub fn note(&self, message: &str) {
        self.line(format_args!("tasctl: {message}"));
    }

    /// A line of the `--verbose` trace (never a password: callers pass no secrets), with the
    /// time since the start: `tasctl: [12.345 ms] <- stat/plug/RESULT ...`.
    pub fn trace(&self, message: fmt::Arguments<'_>) {
        if self.inner.verbose {
            let ms = self.inner.started.elapsed().as_secs_f64() * 1000.0;
            self.line(format_args!("tasctl: [{ms:.3} ms] {message}"));
        }
    }

    /// One line on stderr, above the progress bars when there are any.
    fn line(&self, text: fmt::Arguments<'_>) {
        let write = || {
            let _ = writeln!(self.stderr(), "{text}");
        };
        let bars = self
            .inner
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match bars.as_ref() {
            Some(multi) => multi.suspend(write),
            None => write(),
        }
    }

    /// A progress bar for one device, on a terminal only (never under `--json`): `len` steps,
    /// the label in front, the message after.
    pub fn bar(&self, label: &str, len: u64) -> Option<indicatif::ProgressBar> {
        if !self.inner.stderr_terminal || self.inner.json {
            return None;
        }
        let bar = self.among_bars(indicatif::ProgressBar::new(len));
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:20} {bar:30} {bytes:>9}/{total_bytes:9} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(escape(label).into_owned());
        Some(bar)
    }

    /// `bar`, drawn with the run's other bars.
    fn among_bars(&self, bar: indicatif::ProgressBar) -> indicatif::ProgressBar {
        let mut bars = self
            .inner
            .bars
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bars.get_or_insert_with(indicatif::MultiProgress::new)
            .add(bar)
    }

    /// A progress line that replaces itself (a spinner), on a terminal only; `None` clears it.
    pub fn progress(&self, line: Option<&str>) {
        if !self.inner.stderr_terminal {
            return;
        }
        let mut spinner = self
            .inner
            .spinner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (line, spinner.as_ref()) {
            (Some(line), Some(bar)) => bar.set_message(escape(line).into_owned()),
            (Some(line), None) => {
                let bar = self.among_bars(indicatif::ProgressBar::new_spinner());
                bar.set_style(
                    indicatif::ProgressStyle::with_template("tasctl: {spinner} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_message(escape(line).into_owned());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                *spinner = Some(bar);
            }
            (None, _) => {
                if let Some(bar) = spinner.take() {
                    bar.finish_and_clear();
                }
            }
        }
    }
}

/// The one line for an error that ends the run; under `--json` also a JSON object on stdout,
/// so a pipeline always gets JSON.
pub fn fatal(err: &anyhow::Error, code: u8, json: bool) {
    let message = format!("{err:#}");
    if json {
        let object = serde_json::json!({ "error": message, "code": code });
        let _ = writeln!(io::stdout(), "{object}");
    }
    let _ = writeln!(io::stderr(), "tasctl: {message}");
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
        // Empty cells at the end of a row leave no trailing blanks.
        let last = cells.iter().rposition(|c| !c.is_empty()).unwrap_or(0);
        for (i, cell) in cells.iter().enumerate().take(last + 1) {
            let shown = if bold {
                cell.bold().to_string()
            } else {
                (*cell).to_string()
            };
            if i == last {
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

/// `1 device`, `2 devices`: a count with the word in its number (`many` for irregular ones).
pub fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
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
