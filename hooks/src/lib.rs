//! Hooks: the `pre-up`/`up`/`down`/`post-down` option lines of a stanza and
//! the `/etc/network/if-*.d` scripts, run exactly as Debian's ifupdown 0.8.41
//! runs them, so that every package's hook script keeps working unchanged.
//!
//! Three layers, each usable alone:
//!
//! * [`environment`]: the environment ifupdown's `set_environ` builds for one
//!   phase of one stanza (`IF_<OPTION>`, `IFACE`, `LOGICAL`, `ADDRFAM`,
//!   `METHOD`, `MODE`, `PHASE`, `VERBOSITY`, `PATH`, `CLASS`, `IFUPDOWN_*`),
//!   entry for entry and in the same order; [`meta_context`] for the `--all`
//!   calls.
//! * [`plan`]: what one phase runs, in ifupdown's order (`execute.c`), as
//!   data; [`run_parts`] is the script selection of Debian's `run-parts`.
//! * [`run_steps`]: runs a plan's commands and scripts with that
//!   environment, streaming their output and bounding each with a timeout.
//!   Commands get the list as it is (ifupdown `execle`s `/bin/sh -c LINE`
//!   with it); scripts get it as `/bin/sh` passes it on, because ifupdown
//!   starts `run-parts` through `/bin/sh -c`, and so do we start each script.
//!
//! Where the provider's own work (ifupdown's method commands) belongs, a plan
//! holds [`Step::Method`]; the caller runs the steps before it, does its work,
//! then runs the steps after it. Per `execute.c`:
//!
//! | phase | steps | env |
//! |---|---|---|
//! | pre-up | `pre-up` lines, `if-pre-up.d` | `MODE=start PHASE=pre-up` |
//! | post-up | **method**, `up` (and `post-up`) lines, `if-up.d` | `MODE=start PHASE=post-up` |
//! | pre-down | `if-down.d`, `down` (and `pre-down`) lines | `MODE=stop PHASE=pre-down` |
//! | post-down | **method**, `if-post-down.d`, `post-down` lines | `MODE=stop PHASE=post-down` |
//!
//! (ifupdown runs its method's down commands before it switches the
//! environment to `post-down`, so those commands see `PHASE=pre-down`; hooks
//! are not affected.) Debian's `ifdown` always ignores failures (`main.c` sets
//! `ignore_failures` for it), and `ifup --ignore-errors` does the same: pass
//! `ignore_errors` to [`run_steps`] accordingly.
//!
//! Deliberate differences from Debian: a missing `if-*.d` directory runs
//! nothing (Debian's `run-parts` fails, and with it the phase); each step
//! gets a timeout and a process group of its own (Debian's hooks share
//! ifup's); standard input is `/dev/null`, and output goes to the caller line
//! by line instead of to ifup's terminal. Hooks inherit the caller's working
//! directory (scripts see it as `PWD`), as they inherit ifup's in Debian: a
//! daemon running in `/` matches `networking.service`.

mod env;
mod parts;
mod plan;
mod run;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use env::{environment, meta_context, option_variable, HOOK_PATH};
pub use parts::run_parts;
pub use plan::plan;
pub use run::{run_steps, HookError, OutputLine, Status, StepKind, StepLabel, Stream};

/// `MODE`: whether the interface is being brought up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Start,
    Stop,
}

impl Mode {
    /// The value of `MODE`, as ifupdown spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Start => "start",
            Mode::Stop => "stop",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `PHASE`: one of ifupdown's four hook points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    PreUp,
    PostUp,
    PreDown,
    PostDown,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::PreUp, Phase::PostUp, Phase::PreDown, Phase::PostDown];

    /// The value of `PHASE`, as ifupdown spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::PreUp => "pre-up",
            Phase::PostUp => "post-up",
            Phase::PreDown => "pre-down",
            Phase::PostDown => "post-down",
        }
    }

    /// The mode this phase belongs to.
    pub fn mode(self) -> Mode {
        match self {
            Phase::PreUp | Phase::PostUp => Mode::Start,
            Phase::PreDown | Phase::PostDown => Mode::Stop,
        }
    }

    /// The option whose lines this phase runs. The parser stores `post-up`
    /// as `up` and `pre-down` as `down`, as ifupdown does.
    pub fn option(self) -> &'static str {
        match self {
            Phase::PreUp => "pre-up",
            Phase::PostUp => "up",
            Phase::PreDown => "down",
            Phase::PostDown => "post-down",
        }
    }

    /// The script directory of this phase, relative to the hooks root
    /// (normally `/etc/network`). There is no `if-post-up.d` nor
    /// `if-pre-down.d`: ifupdown names the directories after the options.
    pub fn scripts_dir(self) -> &'static str {
        match self {
            Phase::PreUp => "if-pre-up.d",
            Phase::PostUp => "if-up.d",
            Phase::PreDown => "if-down.d",
            Phase::PostDown => "if-post-down.d",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = UnknownPhase;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPhase(s.to_string()))
    }
}

/// A string that names none of the four phases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hook phase `{0}` (expected pre-up, post-up, pre-down or post-down)")]
pub struct UnknownPhase(pub String);

/// Who the hooks run for: what ifupdown keeps in its `interface_defn` (and
/// globals) and puts into the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookContext {
    /// The physical interface (`IFACE`); `--all` for the meta calls.
    pub iface: String,
    /// The logical interface, the stanza's name (`LOGICAL`); the class for
    /// the meta calls.
    pub logical: String,
    /// `ADDRFAM`: `inet`, `inet6`, `ipx`, `can`, or `meta`.
    pub family: String,
    /// `METHOD`: the stanza's method (`none` for the meta calls).
    pub method: String,
    /// `-v`: `VERBOSITY=1`.
    pub verbose: bool,
    /// `CLASS`: `Some(class)` with `--allow=CLASS`, `Some("auto")` with `-a`
    /// alone, `None` otherwise (then there is no `CLASS` at all).
    pub class: Option<String>,
}

/// One thing a phase does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An option line (`pre-up`, `up`, `down`, `post-down`), run with
    /// `/bin/sh -c`. A leading `-` means "ignore its failure", as in ifupdown.
    Command(String),
    /// An executable from an `if-*.d` directory, run with no arguments.
    Script(PathBuf),
    /// Where the provider's own work goes: first in `post-up` (before the
    /// `up` lines) and first in `post-down` (after all of `pre-down`).
    Method,
}
