//! The order of one phase, from ifupdown 0.8.41's execute.c
//! (`iface_preup`, `iface_postup`, `iface_predown`, `iface_postdown`).

use super::parts::{scan, Part};
use super::{Phase, Step};
use netconf_interfaces::Variables;
use std::path::Path;

/// What one phase runs, in Debian's order:
///
/// * pre-up: the `pre-up` lines, then `if-pre-up.d`;
/// * post-up: [`Step::Method`], the `up` lines (`post-up` is stored as `up`),
///   then `if-up.d`;
/// * pre-down: `if-down.d`, then the `down` lines (`pre-down` is stored as
///   `down`);
/// * post-down: [`Step::Method`], `if-post-down.d`, then the `post-down`
///   lines.
///
/// Lines keep the stanza's order. `hooks_root` holds the `if-*.d`
/// directories (normally `/etc/network`); scripts are left out when
/// `run_scripts` is false (`--no-scripts`, or a `no-scripts` pattern matching
/// the logical name). Besides what [`run_parts`](super::run_parts) lists,
/// dangling symlinks and fifos/sockets/devices in the directory are planned
/// as scripts too: running them fails, which makes the phase fail there
/// (unless errors are ignored) as Debian's `run-parts` makes it fail. (For a
/// fifo run-parts still runs one more script before it stops; we stop at
/// once.)
pub fn plan(vars: &Variables, phase: Phase, hooks_root: &Path, run_scripts: bool) -> Vec<Step> {
    let commands = || {
        vars.0
            .iter()
            .filter(|v| v.name == phase.option())
            .map(|v| Step::Command(v.value.clone()))
    };
    let scripts = || {
        let parts = if run_scripts {
            scan(&hooks_root.join(phase.scripts_dir()))
        } else {
            Vec::new()
        };
        parts.into_iter().map(|part| match part {
            Part::Run(path) | Part::Broken(path) => Step::Script(path),
        })
    };

    let mut steps = Vec::new();
    match phase {
        Phase::PreUp => {
            steps.extend(commands());
            steps.extend(scripts());
        }
        Phase::PostUp => {
            steps.push(Step::Method);
            steps.extend(commands());
            steps.extend(scripts());
        }
        Phase::PreDown => {
            steps.extend(scripts());
            steps.extend(commands());
        }
        Phase::PostDown => {
            steps.push(Step::Method);
            steps.extend(scripts());
            steps.extend(commands());
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use netconf_interfaces::Variable;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn vars() -> Variables {
        let lines = [
            ("address", "198.51.100.7"),
            ("pre-up", "p1"),
            ("up", "u1"),
            ("down", "d1"),
            ("post-down", "pd1"),
            ("pre-up", "p2"),
            ("up", "u2 (was post-up)"),
            ("down", "d2 (was pre-down)"),
            ("post-down", "pd2"),
        ];
        Variables(
            lines
                .iter()
                .map(|(n, v)| Variable {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        )
    }

    fn root() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for phase in Phase::ALL {
            let dir = tmp.path().join(phase.scripts_dir());
            fs::create_dir(&dir).unwrap();
            for name in ["20b", "10a", "skip.sh"] {
                let path = dir.join(name);
                fs::write(&path, "#!/bin/sh\n").unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        tmp
    }

    fn cmd(s: &str) -> Step {
        Step::Command(s.into())
    }

    fn script(root: &Path, dir: &str, name: &str) -> Step {
        Step::Script(root.join(dir).join(name))
    }

    #[test]
    fn order_of_each_phase() {
        let tmp = root();
        let r = tmp.path();
        let v = vars();
        assert_eq!(
            plan(&v, Phase::PreUp, r, true),
            [
                cmd("p1"),
                cmd("p2"),
                script(r, "if-pre-up.d", "10a"),
                script(r, "if-pre-up.d", "20b"),
            ]
        );
        assert_eq!(
            plan(&v, Phase::PostUp, r, true),
            [
                Step::Method,
                cmd("u1"),
                cmd("u2 (was post-up)"),
                script(r, "if-up.d", "10a"),
                script(r, "if-up.d", "20b"),
            ]
        );
        assert_eq!(
            plan(&v, Phase::PreDown, r, true),
            [
                script(r, "if-down.d", "10a"),
                script(r, "if-down.d", "20b"),
                cmd("d1"),
                cmd("d2 (was pre-down)"),
            ]
        );
        assert_eq!(
            plan(&v, Phase::PostDown, r, true),
            [
                Step::Method,
                script(r, "if-post-down.d", "10a"),
                script(r, "if-post-down.d", "20b"),
                cmd("pd1"),
                cmd("pd2"),
            ]
        );
    }

    #[test]
    fn no_scripts_and_missing_directories() {
        let tmp = root();
        let v = vars();
        assert_eq!(
            plan(&v, Phase::PreDown, tmp.path(), false),
            [cmd("d1"), cmd("d2 (was pre-down)")]
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            plan(&v, Phase::PostDown, empty.path(), true),
            [Step::Method, cmd("pd1"), cmd("pd2")]
        );
    }

    #[test]
    fn meta_stanza_runs_only_scripts() {
        let tmp = root();
        let r = tmp.path();
        let none = Variables::default();
        assert_eq!(
            plan(&none, Phase::PreUp, r, true),
            [
                script(r, "if-pre-up.d", "10a"),
                script(r, "if-pre-up.d", "20b")
            ]
        );
        assert_eq!(
            plan(&none, Phase::PostUp, r, true)[0],
            Step::Method,
            "the method (none) still has its place"
        );
    }

    #[test]
    fn dangling_links_are_planned_so_that_they_fail() {
        let tmp = root();
        let dir = tmp.path().join("if-up.d");
        std::os::unix::fs::symlink("/nonexistent/x", dir.join("15gone")).unwrap();
        let steps = plan(&Variables::default(), Phase::PostUp, tmp.path(), true);
        let scripts: Vec<PathBuf> = steps
            .into_iter()
            .filter_map(|s| match s {
                Step::Script(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(
            scripts,
            [dir.join("10a"), dir.join("15gone"), dir.join("20b")]
        );
    }
}
