//! The password prompt: asked on the terminal without echo, and the terminal always given back.
//!
//! Raw mode (crossterm) rather than echo-off line mode: Ctrl-C typed at the prompt is then a
//! key, not a signal that interrupts a blocking read, so it ends the run with 130 like every
//! other interrupt. Signals sent from outside (SIGINT, SIGTERM, SIGHUP) are heard through
//! `signal` while the prompt polls for keys, so the terminal is restored and the run ends
//! within a tenth of a second; a forced exit restores it too.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;

use crate::values::Secret;

/// Leaves raw mode; safe to call when it was never entered.
fn restore() {
    let _ = terminal::disable_raw_mode();
}

/// Asks for a password on the terminal (the prompt on stderr), without echo.
pub fn password(prompt: &str) -> Result<Secret> {
    crate::signal::listen();
    crate::signal::before_forced_exit(restore);
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{prompt}");
    let _ = stderr.flush();
    terminal::enable_raw_mode().context("cannot read the password from the terminal")?;
    let typed = read_line();
    restore();
    let _ = writeln!(stderr);
    typed
}

/// The keys up to Enter; Ctrl-C, Ctrl-D on an empty line, or a signal end the run.
fn read_line() -> Result<Secret> {
    let mut text = String::new();
    loop {
        if crate::signal::is_interrupted() {
            return Err(crate::error::Interrupted.into());
        }
        if !event::poll(Duration::from_millis(50)).context("cannot read the terminal")? {
            continue;
        }
        let Event::Key(key) = event::read().context("cannot read the terminal")? else {
            continue;
        };
        if key.kind == KeyEventKind::Release {
            continue;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => return Err(crate::error::Interrupted.into()),
            KeyCode::Char('d') if ctrl && text.is_empty() => {
                return Err(crate::error::Interrupted.into());
            }
            KeyCode::Char('u') if ctrl => text.clear(),
            // Enter, and a line feed as a script or another terminal may send it (Ctrl-J).
            KeyCode::Enter | KeyCode::Char('\n' | '\r') => return Ok(Secret::new(text)),
            KeyCode::Char('j') if ctrl => return Ok(Secret::new(text)),
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !ctrl => text.push(c),
            _ => {}
        }
    }
}
