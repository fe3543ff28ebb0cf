//! tasctl: control and watch Tasmota devices over MQTT.
//!
//! `main` is an error funnel: parse the command line, run the command, map the result to an
//! exit code, report an error exactly once (through `output`). A closed stdout counts as
//! success.

mod cli;
mod clock;
mod commands;
mod directory;
mod dump;
mod engine;
mod error;
mod files;
#[cfg(test)]
mod grammar_agreement;
mod json;
mod lenient;
mod mqtt;
mod output;
mod profile;
mod prompt;
mod readings;
mod report;
mod serve;
mod setting_table;
mod settings;
mod signal;
mod simulate;
mod target;
mod tls;
mod topic;
mod values;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::complete_if_asked();
    let cli = cli::parse();
    let json = cli.global.json;
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) if error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let code = error::exit_code(&err);
            output::fatal(&err, code, json);
            ExitCode::from(code)
        }
    }
}
