//! Dispatch: one function per command. Commands return typed reports; `Output` prints them,
//! and the report picks the exit code.

mod profile;

use anyhow::{Result, bail};

use crate::cli::{Cli, Command};
use crate::error;
use crate::output::{self, Output};
use crate::settings;

/// Runs the command and returns its exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let Cli { global, command } = cli;
    let out = Output::new(global.json, settings::color(global.color));
    match command {
        // Special modes first: no profile, no connection.
        Command::Completions { shell } => {
            out.text(&crate::cli::completion_script(shell))?;
            Ok(error::OK)
        }
        Command::Profile(cmd) => profile::run(cmd, &global, &out),
        Command::Power(args) => not_built_after("power", &global, &args.targets),
        Command::Status(args) => not_built_after("status", &global, &args.targets),
        Command::Send(args) => not_built_after("send", &global, std::slice::from_ref(&args.target)),
        Command::Watch(_) => not_built("watch"),
        Command::Discover(_) => not_built("discover"),
        Command::Manpage => not_built("manpage"),
        Command::Simulate(_) => not_built("simulate"),
    }
}

/// Resolves the settings, telling the user about anything worth a warning.
fn resolve(global: &crate::cli::GlobalArgs) -> Result<settings::Settings> {
    let settings = settings::resolve(global)?;
    for warning in &settings.warnings {
        output::warn(warning);
    }
    Ok(settings)
}

/// Checks the settings and targets as the real command will, then says it is not built.
fn not_built_after(command: &str, global: &crate::cli::GlobalArgs, words: &[String]) -> Result<u8> {
    let settings = resolve(global)?;
    crate::target::resolve(words, &settings.profile)?;
    not_built(command)
}

fn not_built(command: &str) -> Result<u8> {
    bail!("`tasctl {command}` is not built yet in this version; see `tasctl --help` for what is")
}
