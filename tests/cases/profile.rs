//! `tasctl profile ...` through the binary: listing, editing with comments kept, paths, errors.

use crate::support::{Env, stderr, stdout};

const PROFILE: &str = r#"# my devices
[devices]
living = "my_house_living_room"   # the lamp by the sofa
kitchen = { topic = "kitchen_plug", full_topic = "home/%prefix%/%topic%/", relays = 2 }
garage = { fallback = "DVES_A1B2C3_fb" }

[groups]
downstairs = { group_topic = "downstairs", members = ["living", "kitchen"] }
# every light in the house
lights = ["living", "kitchen"]   # no dimmers
"#;

#[test]
fn list_json_has_the_contract_shape() {
    let env = Env::with_profile(PROFILE);
    let out = env
        .tasctl()
        .args(["profile", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let expected = serde_json::json!({
        "devices": [
            {"name": "garage", "topic": null, "full_topic": null, "prefix": null, "fallback": "DVES_A1B2C3_fb", "mac": null, "hostname": null, "relays": null},
            {"name": "kitchen", "topic": "kitchen_plug", "full_topic": "home/%prefix%/%topic%/", "prefix": null, "fallback": null, "mac": null, "hostname": null, "relays": 2},
            {"name": "living", "topic": "my_house_living_room", "full_topic": null, "prefix": null, "fallback": null, "mac": null, "hostname": null, "relays": null},
        ],
        "groups": [
            {"name": "downstairs", "group_topic": "downstairs", "members": ["living", "kitchen"]},
            {"name": "lights", "group_topic": null, "members": ["living", "kitchen"]},
        ],
        "brokers": []
    });
    assert_eq!(json, expected);
}

#[test]
fn list_for_people() {
    let env = Env::with_profile(PROFILE);
    let out = env.tasctl().args(["profile", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.lines().next().unwrap().starts_with("DEVICE"), "{text}");
    assert!(
        text.contains("garage   DVES_A1B2C3_fb (fallback)"),
        "{text}"
    );
    assert!(text.contains("kitchen  kitchen_plug"), "{text}");
    assert!(
        text.contains("downstairs  GroupTopic downstairs  living, kitchen"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colour with --color never: {text:?}"
    );
}

#[test]
fn add_then_remove_keeps_comments_and_layout() {
    let env = Env::with_profile(PROFILE);
    let out = env
        .tasctl()
        .args(["profile", "add", "porch", "tasmota_1A2B3C"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("added device `porch`"));
    let text = env.read_profile();
    assert!(text.starts_with("# my devices\n"));
    assert!(text.contains("living = \"my_house_living_room\"   # the lamp by the sofa"));
    assert!(text.contains("porch = \"tasmota_1A2B3C\""));

    let out = env
        .tasctl()
        .args(["profile", "list", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(
        json["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "porch" && d["topic"] == "tasmota_1A2B3C")
    );

    let out = env
        .tasctl()
        .args(["profile", "remove", "porch"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        env.read_profile(),
        PROFILE,
        "removing what was added gives back the file byte for byte"
    );
}

/// Each edit fails (exit 1) with its message, and the profile is left as it was.
fn all_refused(env: &Env, cases: &[(&[&str], &str)]) {
    for (args, expected) in cases {
        let out = env.tasctl().args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(
        env.read_profile(),
        PROFILE,
        "a refused edit changes nothing"
    );
}

#[test]
fn edits_that_would_break_things_are_refused() {
    let env = Env::with_profile(PROFILE);
    let cases: [(&[&str], &str); 4] = [
        (&["profile", "add", "living", "x"], "already a device"),
        (&["profile", "add", "x", "a/#"], "wildcard `#`"),
        (&["profile", "remove", "kitchen"], "member of group"),
        (&["profile", "remove", "livng"], "did you mean `living`?"),
    ];
    all_refused(&env, &cases);
}

#[test]
fn devices_with_a_layout_and_groups_are_added_and_taken_out_keeping_comments() {
    let env = Env::with_profile(PROFILE);
    let run = |args: &[&str]| {
        let out = env.tasctl().args(args).output().unwrap();
        (out.status.code(), stderr(&out))
    };
    for args in [
        &[
            "profile",
            "add",
            "porch",
            "porch_light",
            "--full-topic",
            "%topic%/%prefix%/",
            "--prefix",
            "stat=status",
            "--mac",
            "84:cc:a8:a1:00:02",
            "--relays",
            "2",
        ][..],
        &["profile", "add", "shed", "DVES_D4E5F6_fb", "--fallback"],
        &[
            "profile",
            "group",
            "add",
            "outside",
            "porch",
            "shed",
            "--group-topic",
            "outside",
        ],
        &["profile", "group", "add", "lights", "porch"],
    ] {
        let (code, err) = run(args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
    }
    let text = env.read_profile();
    assert!(text.starts_with("# my devices\n"), "{text}");
    assert!(
        text.contains(r#"porch = { topic = "porch_light", full_topic = "%topic%/%prefix%/", prefix = { stat = "status" }, mac = "84CCA8A10002", relays = 2 }"#),
        "{text}"
    );
    assert!(
        text.contains(r#"shed = { fallback = "DVES_D4E5F6_fb" }"#),
        "{text}"
    );
    assert!(
        text.contains(r#"outside = { group_topic = "outside", members = ["porch", "shed"] }"#),
        "{text}"
    );
    assert!(
        text.contains("# every light in the house\nlights = [\"living\", \"kitchen\", \"porch\"]   # no dimmers\n"),
        "an existing list group gets the member, its comments kept: {text}"
    );
    assert_eq!(
        run(&["profile", "group", "remove", "lights", "porch"]).0,
        Some(0)
    );
    assert!(
        env.read_profile().contains(
            "# every light in the house\nlights = [\"living\", \"kitchen\"]   # no dimmers\n"
        ),
        "{}",
        env.read_profile()
    );

    // the profile reads them back as written
    let out = env
        .tasctl()
        .args(["profile", "list", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let porch = json["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "porch")
        .unwrap();
    assert_eq!(porch["prefix"]["stat"], "status");
    assert_eq!(porch["relays"], 2);

    // taken out again, one member, then the group; the devices stay
    assert_eq!(
        run(&["profile", "group", "remove", "outside", "shed"]).0,
        Some(0)
    );
    assert!(
        env.read_profile()
            .contains(r#"outside = { group_topic = "outside", members = ["porch"] }"#)
    );
    let (code, err) = run(&["profile", "group", "remove", "outside"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("removed group `outside`"), "{err}");
    assert!(!env.read_profile().contains("outside ="));
    assert!(env.read_profile().contains("shed = "));
}

#[test]
fn profile_edits_are_checked_like_the_profile_itself() {
    let env = Env::with_profile(PROFILE);
    let cases: [(&[&str], &str); 9] = [
        (
            &["profile", "add", "twin", "my_house_living_room"],
            "device `living` already has the topic `my_house_living_room`",
        ),
        (&["profile", "add", "lights", "x"], "already a group"),
        (&["profile", "add", "x y", "x"], "cannot add `x y`"),
        (
            &[
                "profile",
                "add",
                "x",
                "t",
                "--full-topic",
                "%hostname%/%prefix%/",
            ],
            "%hostname%",
        ),
        (
            &["profile", "add", "x", "t", "--mac", "12:34"],
            "not 12 hex digits",
        ),
        (
            &["profile", "add", "x", "t", "--relays", "40"],
            "1 to 32 outputs",
        ),
        (
            &["profile", "group", "add", "g", "livng"],
            "did you mean `living`?",
        ),
        (
            &["profile", "group", "add", "living", "kitchen"],
            "is a device",
        ),
        (
            &["profile", "group", "remove", "lights", "porch"],
            "not a member of group `lights`",
        ),
    ];
    all_refused(&env, &cases);
    let out = env
        .tasctl()
        .args(["profile", "add", "twin", "my_house_living_room", "--force"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn path_follows_flag_then_environment_then_config_dir() {
    let env = Env::with_profile("");
    let out = env.tasctl().args(["profile", "path"]).output().unwrap();
    assert_eq!(
        stdout(&out).trim(),
        env.profile().display().to_string(),
        "environment"
    );
    let out = env
        .tasctl()
        .args(["profile", "path", "--profile", "/elsewhere/p.toml"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).trim(),
        "/elsewhere/p.toml",
        "the flag beats the environment"
    );
    let out = env
        .tasctl()
        .env_remove("TASCTL_PROFILE")
        .args(["profile", "path"])
        .output()
        .unwrap();
    if cfg!(target_os = "linux") {
        let default = env.dir.path().join("config/tasctl/profile.toml");
        assert_eq!(
            stdout(&out).trim(),
            default.display().to_string(),
            "the config dir"
        );
    }
}

#[test]
fn a_missing_default_profile_is_empty_but_a_named_one_is_an_error() {
    let env = Env::new();
    let out = env.tasctl().args(["profile", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("no devices or groups"));
    let missing = env.dir.path().join("missing.toml");
    let out = env
        .tasctl()
        .env("TASCTL_PROFILE", &missing)
        .args(["profile", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn a_malformed_profile_names_file_line_and_column() {
    let env = Env::with_profile(
        "[devices]\nliving = \"x\"\nkitchen = { topic = \"k\", fulltopic = \"%topic%/\" }\n",
    );
    let out = env.tasctl().args(["profile", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let expected = format!("tasctl: {}:3:", env.profile().display());
    assert!(err.starts_with(&expected), "{err}");
    assert!(
        err.contains("unknown field `fulltopic`") && err.contains("did you mean `full_topic`?"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
}

#[test]
fn colour_follows_the_flag_then_the_environment() {
    let env = Env::with_profile(PROFILE);
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("tasctl"));
        cmd.env("TASCTL_PROFILE", env.profile())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.args(["profile", "list"]).args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap().contains('\x1b')
    };
    assert!(!run(&[], &[]), "auto: not a terminal, no colour");
    assert!(
        run(&[], &[("CLICOLOR_FORCE", "1")]),
        "auto honours CLICOLOR_FORCE"
    );
    assert!(
        run(&["--color", "always"], &[("NO_COLOR", "1")]),
        "the flag beats NO_COLOR"
    );
    assert!(
        !run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]),
        "the flag beats CLICOLOR_FORCE"
    );
    assert!(
        !run(&["--json", "--color", "always"], &[]),
        "JSON is never coloured"
    );
}

#[test]
fn named_brokers_are_listed_and_chosen_by_name() {
    let Some(broker) = crate::support::Broker::start() else {
        return;
    };
    let env = Env::with_profile(&format!(
        "[broker]\nurl = \"mqtt://127.0.0.1:1\"\n[brokers.cabin]\nurl = \"{}\"\n",
        broker.url()
    ));
    let listed = env
        .tasctl()
        .args(["profile", "list", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(json["brokers"][1]["name"], "cabin");
    let recorder = crate::support::Recorder::start(&broker, "cabin/#");
    for how in ["flag", "env"] {
        let mut cmd = env.tasctl();
        if how == "flag" {
            cmd.args(["--broker", "cabin"]);
        } else {
            cmd.env("TASCTL_BROKER", "cabin");
        }
        let out = cmd.args(["publish", "cabin/hello", how]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{how}: {}", stderr(&out));
    }
    let seen: Vec<String> = recorder
        .drain()
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
        .collect();
    assert_eq!(seen, ["flag", "env"]);
    // The default [broker] is unreachable here: without a name, that is where tasctl goes.
    let out = env
        .tasctl()
        .args(["publish", "cabin/hello", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    // With TASCTL_BROKER set, a usage error does not show --broker as if it were required.
    let out = env
        .tasctl()
        .env("TASCTL_BROKER", "cabin")
        .args(["power", "sideways", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("--broker <"), "{}", stderr(&out));
}
