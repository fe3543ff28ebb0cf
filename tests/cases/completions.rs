//! The committed completion scripts in `completions/` are what `tasctl completions` prints.

use crate::support::{Env, stderr, stdout};

const FILES: [(&str, &str); 5] = [
    ("bash", "tasctl.bash"),
    ("zsh", "_tasctl"),
    ("fish", "tasctl.fish"),
    ("powershell", "_tasctl.ps1"),
    ("elvish", "tasctl.elv"),
];

#[test]
fn committed_completions_are_fresh() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    for (shell, file) in FILES {
        let out = Env::new()
            .tasctl()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("tasctl"), "{shell}");
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &script).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == script,
            "completions/{file} is stale or missing; regenerate all with:\n  UPDATE_COMPLETIONS=1 cargo test --test cli completions"
        );
        assert!(
            !script.contains("target/debug"),
            "{shell} must call tasctl from PATH"
        );
    }
}

/// Runs the committed bash script as bash would: source it, set COMP_WORDS and COMP_CWORD,
/// call the completion function, print COMPREPLY. `tasctl` is found on PATH.
fn bash_complete(env: &Env, words: &[&str]) -> Vec<String> {
    let bin_dir = assert_cmd::cargo::cargo_bin!("tasctl")
        .parent()
        .unwrap()
        .to_path_buf();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/tasctl.bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; _clap_complete_tasctl tasctl '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words[cword],
        words[cword - 1],
    );
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .env("PATH", path)
        .env("TASCTL_PROFILE", env.profile())
        .output()
        .expect("bash should run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
        .lines()
        .map(String::from)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_names_from_the_profile() {
    if !crate::support::tool_available("bash") {
        return;
    }
    let env = Env::with_profile(
        "[devices]\nliving = \"a\"\nlivingroom_lamp = \"b\"\nkitchen = \"k\"\n[groups]\nlights = [\"living\"]\n",
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "power", "on", "liv"]),
        ["living", "livingroom_lamp"]
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "status", "l"]),
        ["living", "livingroom_lamp", "lights"]
    );
    assert_eq!(bash_complete(&env, &["tasctl", "send", "k"]), ["kitchen"]);
    assert_eq!(
        bash_complete(&env, &["tasctl", "power", "on", "a"]),
        ["all"]
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "profile", "remove", "ki"]),
        ["kitchen"]
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "power", "on", "x", "--relay", ""]),
        ["1", "2", "3", "4", "5", "6", "7", "8", "all"]
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "status", "x", "--section", "1"]),
        ["1", "10", "11", "12", "13"]
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "watch", "--prefix", ""]),
        ["stat", "tele", "cmnd"]
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "watch", "--only", "S"]),
        ["STATE", "SENSOR", "STATUS"]
    );
    assert_eq!(
        bash_complete(&env, &["tasctl", "send", "kitchen", "Ba"]),
        ["Backlog"]
    );
    assert_eq!(bash_complete(&env, &["tasctl", "po"]), ["power"]);
    let actions = bash_complete(&env, &["tasctl", "power", ""]);
    assert_eq!(
        actions[..6],
        ["on", "off", "toggle", "blink", "blinkoff", "get"],
        "then the options: {actions:?}"
    );
}

#[test]
fn help_groups_the_global_options_and_hides_what_does_not_apply() {
    let help = |args: &[&str]| {
        let out = Env::new()
            .tasctl()
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        stdout(&out)
    };
    let power = help(&["power"]);
    let global = power
        .find("Global options:")
        .expect("a Global options heading");
    assert!(power[global..].contains("-w, --wait <DURATION>"), "{power}");
    assert!(power.contains("MQTT connection:"), "{power}");
    assert!(
        !power[..global].contains("--json"),
        "--json sits under its heading: {power}"
    );
    // watch waits for no answer: no --wait in its help, and it is still accepted
    let watch = help(&["watch"]);
    assert!(!watch.contains("--wait"), "{watch}");
    assert!(!help(&["publish"]).contains("--wait"));
    let out = Env::new()
        .tasctl()
        .args(["watch", "-w", "1s", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn committed_man_page_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/tasctl.1");
    let out = Env::new().tasctl().arg("manpage").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.starts_with(".TH TASCTL 1 "),
        "{}",
        &page[..200.min(page.len())]
    );
    // the usual sections, in the usual order
    let mut at = 0;
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH COMMANDS",
        ".SH OPTIONS",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH \"EXIT STATUS\"",
        ".SH EXAMPLES",
        ".SH \"SEE ALSO\"",
    ] {
        let found = page[at..]
            .find(section)
            .unwrap_or_else(|| panic!("{section} missing or out of order"));
        at += found;
    }
    for command in [
        "power",
        "status",
        "send",
        "read",
        "backup",
        "restore",
        "upgrade",
        "retained",
        "retained clean",
        "top",
        "publish",
        "watch",
        "discover",
        "profile add",
        "profile group add",
        "profile group remove",
        "completions",
        "simulate",
    ] {
        let heading = format!(".SS \"tasctl {}", command.replace('-', "\\-"));
        assert!(
            page.contains(&heading),
            "{command} missing from the man page"
        );
    }
    // no other page is referred to as if it existed: SEE ALSO names no page(N)
    let see_also = &page[page.find(".SH \"SEE ALSO\"").unwrap()..];
    assert!(
        !see_also.contains("(1)") && !see_also.contains("(8)"),
        "{see_also}"
    );
    // groff reads it without a warning
    if crate::support::tool_available("groff") {
        use std::io::Write;
        let mut groff = std::process::Command::new("groff")
            .args(["-ww", "-z", "-man"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("groff runs");
        groff
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = groff.wait_with_output().unwrap();
        assert!(
            out.stderr.is_empty(),
            "groff: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if std::env::var_os("UPDATE_COMPLETIONS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &page).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "man/tasctl.1 is stale or missing; regenerate it with:\n  UPDATE_COMPLETIONS=1 cargo test --test cli completions"
    );
}
