//! tasctl: control and watch Tasmota devices over MQTT.
//!
//! `main` is an error funnel: parse the command line, run the command, map the result to an
//! exit code, print an error exactly once. A closed stdout counts as success.

mod cli;
mod clock;
mod commands;
mod error;
mod files;
mod json;
mod mqtt;
mod output;
mod profile;
mod settings;
mod signal;
mod simulate;
mod target;
mod tls;
mod topic;
mod values;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::complete_if_asked();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) if error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tasctl: {err:#}");
            ExitCode::from(error::exit_code(&err))
        }
    }
}
