//! tofu where people meet it first: its shell completion, typed into a real bash on a real
//! terminal (tmux), and its man pages, rendered by man. Both are generated from the clap
//! declaration by `cargo xtask codegen`, whose check keeps them current.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::progress::Tmux;
use crate::support::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The committed script is what `tofu completions bash` prints; typed into bash, `tofu fe`
/// TAB completes to `tofu fetch`, and `--via` TAB TAB lists the forms a vantage takes.
#[test]
fn bash_completes_commands_and_vantage_points() {
    let w = World::new();
    let committed = std::fs::read_to_string(repo().join("completions/tofu.bash")).unwrap();
    let out = w.tofu(&["completions", "bash"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), committed);

    let tofu = Path::new(env!("CARGO_BIN_EXE_tofu"));
    let script = w.path("shell.sh");
    std::fs::write(
        &script,
        format!(
            "export HOME='{home}' PATH='{bin}':\"$PATH\" PS1='$ '\n\
             cd '{dir}'\n\
             exec bash --norc --noprofile -i\n",
            home = w.home().display(),
            bin = tofu.parent().unwrap().display(),
            dir = w.dir.path().display(),
        ),
    )
    .unwrap();
    let bash = Tmux::start(&w, &script);
    // The pane drops trailing blanks: the prompt `$ ` shows as `$`.
    bash.wait_for(false, "prompt", |p| p.lines().any(|l| l == "$"));
    let completion = repo().join("completions/tofu.bash");
    bash.send(&[&format!("source '{}'", completion.display()), "Enter"]);
    bash.send(&["tofu fe", "Tab"]);
    bash.wait_for(false, "tofu fetch", |p| {
        p.lines().any(|l| l.ends_with("$ tofu fetch"))
    });

    bash.send(&["C-u", "tofu fetch --via ", "Tab", "Tab"]);
    let pane = bash.wait_for(false, "the forms of --via", |p| {
        p.contains("socks5h://") && p.contains("iface:")
    });
    for form in ["direct", "tor:", "socks5://"] {
        assert!(pane.contains(form), "{form}: {pane}");
    }
}

/// Every page renders with man, warnings on, and says what its command is.
#[test]
fn every_man_page_renders_without_a_warning() {
    let man = tofu_testkit::require_program("man", "man-db");
    let dir = repo().join("docs/man");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert!(pages.len() >= 9, "{pages:?}");
    for page in pages {
        let name = page.file_stem().unwrap().to_str().unwrap().to_owned();
        let out = Command::new(&man)
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "")
            .args(["--warnings", "-l"])
            .arg(&page)
            .output()
            .unwrap();
        assert_exit(&out, 0);
        assert_eq!(stderr(&out), "", "{name}: man warned");
        let text = stdout(&out);
        assert!(text.contains(&format!("{name}(1)")), "{name}: {text}");
        assert!(text.contains("SYNOPSIS"), "{name}: {text}");
    }
}
