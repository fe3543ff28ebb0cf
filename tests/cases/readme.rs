//! Every `console` example of the README, run as written against the embedded playground just
//! after the quick start, and compared with the output the README shows. Each section (a `##`
//! or `###` heading) gets a fresh playground and a profile made by `tasctl discover --save`,
//! except a section whose first example is itself a `tasctl discover`: that one starts from
//! no profile, as the quick start does. A `$ ` line is a command; the lines up to the next one
//! are what it prints (stdout and stderr, as on a terminal); `echo $?` gives the exit code of
//! the command before it. Digits and runs of spaces are compared loosely (times, sizes,
//! alignment); the words, the rows and their order are not.

use std::path::Path;
use std::process::Command;

use crate::support::{Env, stderr};

struct Example {
    section: String,
    line: usize,
    command: String,
    expected: String,
}

/// The README's console examples, in order.
fn examples(readme: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut section = String::new();
    let mut in_console = false;
    let mut in_other_block = false;
    for (number, line) in readme.lines().enumerate() {
        if in_console || in_other_block {
            if line.starts_with("```") {
                in_console = false;
                in_other_block = false;
            } else if in_console {
                if let Some(command) = line.strip_prefix("$ ") {
                    examples.push(Example {
                        section: section.clone(),
                        line: number + 1,
                        command: command.to_string(),
                        expected: String::new(),
                    });
                } else {
                    let example = examples
                        .last_mut()
                        .expect("a console block should start with a `$ ` line");
                    example.expected.push_str(line);
                    example.expected.push('\n');
                }
            }
        } else if line.starts_with("```console") {
            in_console = true;
        } else if line.starts_with("```") {
            in_other_block = true;
        } else if line.starts_with("## ") || line.starts_with("### ") {
            section = line.to_string();
        }
    }
    examples
}

/// What is compared: digit runs as one `0`, runs of blanks as one space, no trailing blanks,
/// no trailing empty lines.
fn loosely(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut last = ' ';
        for c in line.trim_end().chars() {
            let c = match c {
                '0'..='9' => '0',
                ' ' | '\t' => ' ',
                other => other,
            };
            if (c == '0' || c == ' ') && c == last {
                continue;
            }
            out.push(c);
            last = c;
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A shell in which `tasctl` is this build, HOME is the environment's own (shown as
/// `/home/me`) and the broker is the playground.
fn shell(env: &Env, broker: &str, script: &str) -> Command {
    let bin = Path::new(assert_cmd::cargo::cargo_bin!("tasctl"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .current_dir(env.dir.path())
        .env("PATH", path)
        .env("HOME", env.dir.path())
        .env("XDG_CONFIG_HOME", env.dir.path().join(".config"))
        .env("TASCTL_BROKER", broker)
        .env("NO_COLOR", "1")
        .env_remove("TASCTL_PROFILE")
        .env_remove("TASCTL_USERNAME")
        .env_remove("TASCTL_PASSWORD")
        .env_remove("CLICOLOR_FORCE");
    cmd
}

#[test]
fn the_readme_parses_into_examples() {
    let text =
        "## A\n```sh\n$ not this\n```\n### B\n```console\n$ tasctl x\nout 1\n\n$ echo $?\n4\n```\n";
    let found = examples(text);
    assert_eq!(found.len(), 2);
    assert_eq!(
        (
            found[0].section.as_str(),
            found[0].command.as_str(),
            found[0].expected.as_str()
        ),
        ("### B", "tasctl x", "out 1\n\n")
    );
    assert_eq!(found[1].expected, "4\n");
    assert_eq!(loosely("a  12.5 s \nb\n\n"), "a 0.0 s\nb\n");
}

#[test]
fn every_console_example_of_the_readme_runs_as_shown() {
    if !crate::support::tool_available("jq") {
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md should be readable");
    let examples = examples(&readme);
    assert!(examples.len() >= 25, "{} examples", examples.len());
    let mut failures = Vec::new();
    let mut current: Option<(String, Env, crate::cases::playground::Playground)> = None;
    let mut exit = 0;
    for example in &examples {
        if current.as_ref().map(|(s, ..)| s) != Some(&example.section) {
            drop(current.take()); // stop the previous playground first
            let env = Env::new();
            // The firmware file the upgrade example serves (the playground takes any file).
            std::fs::write(
                env.dir.path().join("tasmota-14.5.0.bin.gz"),
                "TASMOTA-SIM\n",
            )
            .unwrap();
            let playground = crate::cases::playground::Playground::start(&env);
            let broker = format!("mqtt://127.0.0.1:{}", playground.port);
            if !example.command.starts_with("tasctl discover") {
                let out = shell(&env, &broker, "tasctl discover --save")
                    .output()
                    .unwrap();
                assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            }
            current = Some((example.section.clone(), env, playground));
        }
        let (_, env, playground) = current.as_ref().unwrap();
        let broker = format!("mqtt://127.0.0.1:{}", playground.port);
        let script = format!("(exit {exit}); {} 2>&1", example.command);
        let out = shell(env, &broker, &script).output().unwrap();
        exit = out.status.code().unwrap_or(-1);
        let home = env.dir.path().display().to_string();
        let shown = String::from_utf8_lossy(&out.stdout).replace(&home, "/home/me");
        if loosely(&shown) != loosely(&example.expected) {
            failures.push(format!(
                "README.md:{} `{}` printed\n{}\ninstead of\n{}",
                example.line, example.command, shown, example.expected
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}
