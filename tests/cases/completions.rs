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
