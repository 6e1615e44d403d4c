//! Running a phase's commands and scripts: ifupdown's `doit` (commands
//! through `/bin/sh -c`) and Debian's `run-parts` (scripts executed directly),
//! with a timeout per step, output streamed line by line, and exactly the
//! environment given, duplicates and order included.

use super::{Phase, Step};
use std::ffi::{CString, OsStr};
use std::fmt;
use std::io;
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::{sleep, sleep_until, Instant};

/// The shell of option lines, as ifupdown's `execle("/bin/sh", ...)`.
const SHELL: &str = "/bin/sh";
/// After SIGTERM, how long a timed-out step's process group has before the
/// SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);
/// How often the grace period checks whether the step's process is gone.
const GRACE_POLL: Duration = Duration::from_millis(10);
/// After a step's process exited, how long we keep forwarding output that
/// is still in the pipes. A step may leave a daemon behind that holds the
/// pipes open; ifupdown waits only for the process, and so do we.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(100);
/// Longer lines are passed on in pieces of this size, so that a runaway
/// script cannot make us buffer without bound.
const MAX_LINE: usize = 16 * 1024;
/// Debian's run-parts sets this umask before it runs the scripts.
const SCRIPT_UMASK: libc::mode_t = 0o022;

/// Which output a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of a step's output, without its newline (invalid UTF-8 replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// The command line (without a leading `-`) or the script path.
    pub step: String,
    pub stream: Stream,
    pub line: String,
}

/// How a step's process ended, when it did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Status::Exited(code) => write!(f, "exited with status {code}"),
            Status::Signaled(sig) => match signal_name(sig) {
                Some(name) => write!(f, "was killed by signal {sig} ({name})"),
                None => write!(f, "was killed by signal {sig}"),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// An option line (`pre-up`, `up`, `down`, `post-down`).
    Command,
    /// An `if-*.d` script.
    Script,
}

/// Which step an error is about, worded for the admin:
/// "pre-up command `false`", "post-up script /etc/network/if-up.d/foo".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLabel {
    /// From the environment's `PHASE`.
    pub phase: Option<Phase>,
    pub kind: StepKind,
    /// The command line (without a leading `-`) or the script path.
    pub text: String,
}

impl fmt::Display for StepLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.phase {
            Some(phase) => write!(f, "{phase} ")?,
            None => f.write_str("hook ")?,
        }
        match self.kind {
            StepKind::Command => write!(f, "command `{}`", self.text),
            StepKind::Script => write!(f, "script {}", self.text),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// "pre-up command `false` exited with status 1"
    #[error("{step} {status}")]
    Failed { step: StepLabel, status: Status },
    /// "post-up script /etc/network/if-up.d/slow timed out after 30s and was killed"
    #[error("{step} timed out after {} and was killed", fmt_duration(.after))]
    TimedOut { step: StepLabel, after: Duration },
    /// "pre-up command `x` could not be started: an environment variable
    /// contains a NUL byte"
    #[error("{step} could not be started: {source}")]
    Spawn {
        step: StepLabel,
        #[source]
        source: io::Error,
    },
    /// The process could not be waited for (someone else reaped it).
    #[error("{step} could not be waited for: {source}")]
    Wait {
        step: StepLabel,
        #[source]
        source: io::Error,
    },
}

impl HookError {
    /// The step that failed.
    pub fn step(&self) -> &StepLabel {
        match self {
            HookError::Failed { step, .. }
            | HookError::TimedOut { step, .. }
            | HookError::Spawn { step, .. }
            | HookError::Wait { step, .. } => step,
        }
    }
}

/// Runs `steps` in order, skipping [`Step::Method`] (the caller splits the
/// plan around it):
///
/// * a command with `/bin/sh -c LINE` (argv\[0\] `/bin/sh`); a script
///   with no arguments, argv\[0\] its path and umask 022, as run-parts
///   runs it;
/// * the environment is exactly `env`, entry for entry (nothing inherited).
///   Commands get it as it is. Scripts get it as `/bin/sh` passes it on,
///   because Debian starts `run-parts` through `/bin/sh -c`: without names
///   that are no shell identifiers (`IFUPDOWN_eth0.5`, `IFUPDOWN_--all`),
///   duplicates merged, in the shell's order, with `PWD` added;
/// * standard input is `/dev/null`; each output line goes to `on_output` as
///   soon as it is read;
/// * each step runs in a process group of its own; when it runs longer than
///   `timeout`, the group gets SIGTERM, then SIGKILL after a short grace.
///   A step is over when its process has exited: what it left running in
///   the background is left alone, as ifupdown leaves it;
/// * the first failure ends the run, unless `ignore_errors` (what `ifdown`
///   and `--ignore-errors` do in Debian; then failures are only logged) or
///   the command starts with `-` (ifupdown's "ignore this one's status").
///
/// Error messages name the phase from the environment's `PHASE`. A script
/// that cannot be executed fails like any other (the shell says why on
/// stderr and exits 126 or 127), as run-parts counts it a failure.
pub async fn run_steps(
    steps: &[Step],
    env: &[(String, String)],
    timeout: Duration,
    ignore_errors: bool,
    mut on_output: impl FnMut(OutputLine),
) -> Result<(), HookError> {
    // The shell sees the last of duplicate entries; so do we.
    let phase = env
        .iter()
        .rev()
        .find(|(name, _)| name == "PHASE")
        .and_then(|(_, value)| value.parse().ok());

    for step in steps {
        let (label, program, ignore_status) = match step {
            Step::Method => continue,
            Step::Command(line) => {
                // doit(): a leading `-` ignores the status and is not run.
                let (ignore, line) = match line.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, line.as_str()),
                };
                let label = StepLabel {
                    phase,
                    kind: StepKind::Command,
                    text: line.to_string(),
                };
                let argv = vec![
                    SHELL.as_bytes().to_vec(),
                    b"-c".to_vec(),
                    line.as_bytes().to_vec(),
                ];
                (label, Program { argv, umask: None }, ignore)
            }
            Step::Script(path) => {
                let label = StepLabel {
                    phase,
                    kind: StepKind::Script,
                    text: path.display().to_string(),
                };
                // Debian's scripts get the environment through the shell
                // that ifupdown starts run-parts with, so the same shell
                // hands it on here. `exec` keeps the script's argv[0] its
                // path and its arguments none, as run-parts' execv does.
                let mut script = path.as_os_str().as_bytes().to_vec();
                if !script.contains(&b'/') || script.starts_with(b"-") {
                    // execv would take it relative to the cwd, where exec
                    // would search PATH or see an option.
                    script.splice(0..0, *b"./");
                }
                let argv = vec![
                    SHELL.as_bytes().to_vec(),
                    b"-c".to_vec(),
                    b"exec \"$0\"".to_vec(),
                    script,
                ];
                let program = Program {
                    argv,
                    umask: Some(SCRIPT_UMASK),
                };
                (label, program, false)
            }
        };

        tracing::debug!(step = %label, "running hook");
        match run_one(&label, program, env, timeout, &mut on_output).await {
            Ok(()) => {}
            Err(e) if ignore_status || ignore_errors => {
                tracing::warn!("{e} (ignored)");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What to execute: argv\[0\] is also the path.
struct Program {
    argv: Vec<Vec<u8>>,
    umask: Option<libc::mode_t>,
}

/// Everything `execve` needs, prepared before the fork so that the child
/// only makes async-signal-safe calls.
struct Exec {
    argv: Vec<CString>,
    // Kept alive for the pointers below.
    _env: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    env_ptrs: Vec<*const c_char>,
    umask: Option<libc::mode_t>,
}

// SAFETY: the raw pointers point into the CStrings owned by the same value,
// which are never changed after construction; sharing them is sharing
// immutable data.
unsafe impl Send for Exec {}
// SAFETY: as above.
unsafe impl Sync for Exec {}

impl Exec {
    fn new(program: Program, env: &[(String, String)]) -> io::Result<Exec> {
        let nul = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{what} contains a NUL byte"),
            )
        };
        let argv = program
            .argv
            .into_iter()
            .map(CString::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| nul("the command line"))?;
        let env = env
            .iter()
            .map(|(name, value)| CString::new(format!("{name}={value}")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| nul("an environment variable"))?;
        let argv_ptrs = argv
            .iter()
            .map(|a| a.as_ptr())
            .chain([std::ptr::null()])
            .collect();
        let env_ptrs = env
            .iter()
            .map(|e| e.as_ptr())
            .chain([std::ptr::null()])
            .collect();
        Ok(Exec {
            argv,
            _env: env,
            argv_ptrs,
            env_ptrs,
            umask: program.umask,
        })
    }

    /// Replaces the (forked) process; returns only on failure.
    fn exec(&self) -> io::Error {
        // SAFETY: sigemptyset, sigprocmask, signal, umask and execve are
        // async-signal-safe; the sigset is a local; every pointer refers to
        // a NUL-terminated string owned by self, and both arrays end with a
        // null pointer.
        unsafe {
            // Hooks start with no signal blocked and SIGPIPE at its default,
            // whatever the daemon did with them (std resets these too; this
            // does not depend on it).
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            if let Some(mask) = self.umask {
                libc::umask(mask);
            }
            libc::execve(
                self.argv_ptrs[0],
                self.argv_ptrs.as_ptr(),
                self.env_ptrs.as_ptr(),
            );
        }
        io::Error::last_os_error()
    }
}

/// Kills a step's process group if the step is abandoned (its future
/// dropped) before its process was reaped. While the group leader is not
/// reaped its pid cannot be reused, so the signal reaches only the group.
struct GroupGuard {
    pgid: libc::pid_t,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            kill_group(self.pgid, libc::SIGKILL);
        }
    }
}

fn kill_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions. ESRCH (the group is
    // already gone) is fine.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Whether the process has exited, without reaping it (so its pid, which
/// is also the group id, stays reserved).
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value; waitid writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: info is a valid, writable siginfo_t.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is valid to read after waitid for a child.
    rc == 0 && unsafe { info.si_pid() } != 0
}

async fn run_one(
    label: &StepLabel,
    program: Program,
    env: &[(String, String)],
    timeout: Duration,
    on_output: &mut dyn FnMut(OutputLine),
) -> Result<(), HookError> {
    let spawn_error = |source| HookError::Spawn {
        step: label.clone(),
        source,
    };
    let exec = Exec::new(program, env).map_err(spawn_error)?;
    let mut cmd = Command::new(OsStr::from_bytes(exec.argv[0].as_bytes()));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // std's Command keeps the environment in a sorted map, which would
    // drop duplicates and lose Debian's order; so we exec ourselves, after
    // std has set up stdio and the process group. If execve fails, spawn()
    // returns its error.
    // SAFETY: the closure only calls async-signal-safe functions on memory
    // prepared before the fork.
    unsafe {
        cmd.pre_exec(move || Err(exec.exec()));
    }
    let mut child = cmd.spawn().map_err(spawn_error)?;
    let Some(pid) = child.id() else {
        // id() is None only once the child was reaped, which we did not do.
        return Err(HookError::Wait {
            step: label.clone(),
            source: io::Error::other("the process was reaped by someone else"),
        });
    };
    let pid = pid as libc::pid_t;
    // Declared after `child`, so dropped before it: the group is killed
    // while the leader still holds the group id.
    let mut group = GroupGuard {
        pgid: pid,
        armed: true,
    };

    let mut out = Pipe::new(child.stdout.take(), Stream::Stdout);
    let mut err = Pipe::new(child.stderr.take(), Stream::Stderr);
    let mut emit = |stream, line| {
        on_output(OutputLine {
            step: label.text.clone(),
            stream,
            line,
        })
    };

    let deadline = Instant::now() + timeout;
    let waited = loop {
        tokio::select! {
            n = out.read(), if out.is_open() => out.forward(n, &mut emit),
            n = err.read(), if err.is_open() => err.forward(n, &mut emit),
            status = child.wait() => break Some(status),
            () = sleep_until(deadline) => break None,
        }
    };

    let status = match waited {
        Some(status) => {
            group.armed = false;
            status
        }
        None => {
            kill_group(pid, libc::SIGTERM);
            let grace_end = Instant::now() + KILL_GRACE;
            while !has_exited(pid) && Instant::now() < grace_end {
                tokio::select! {
                    n = out.read(), if out.is_open() => out.forward(n, &mut emit),
                    n = err.read(), if err.is_open() => err.forward(n, &mut emit),
                    () = sleep(GRACE_POLL) => {}
                }
            }
            // Whatever is left of the group, the leader included, goes now;
            // the unreaped leader keeps the group id from being reused.
            kill_group(pid, libc::SIGKILL);
            let reaped = child.wait().await;
            group.armed = false;
            drain(&mut out, &mut err, &mut emit, label).await;
            if let Err(source) = reaped {
                return Err(HookError::Wait {
                    step: label.clone(),
                    source,
                });
            }
            return Err(HookError::TimedOut {
                step: label.clone(),
                after: timeout,
            });
        }
    };
    drain(&mut out, &mut err, &mut emit, label).await;

    let status = status.map_err(|source| HookError::Wait {
        step: label.clone(),
        source,
    })?;
    let status = match (status.code(), status.signal()) {
        (Some(0), _) => return Ok(()),
        (Some(code), _) => Status::Exited(code),
        (None, Some(sig)) => Status::Signaled(sig),
        // wait() reports neither only for stopped processes, which it
        // does not ask about.
        (None, None) => Status::Exited(status.into_raw()),
    };
    Err(HookError::Failed {
        step: label.clone(),
        status,
    })
}

/// Forwards what the pipes still hold after the process exited, then hands
/// pipes that are still open (a background process of the step holds them)
/// to a task that reads them to the end, so that such a process never dies
/// of SIGPIPE: under ifupdown it would have kept writing to ifup's output.
async fn drain<O, E>(
    out: &mut Pipe<O>,
    err: &mut Pipe<E>,
    emit: &mut impl FnMut(Stream, String),
    label: &StepLabel,
) where
    O: AsyncRead + Unpin + Send + 'static,
    E: AsyncRead + Unpin + Send + 'static,
{
    let until = Instant::now() + DRAIN_AFTER_EXIT;
    while out.is_open() || err.is_open() {
        tokio::select! {
            n = out.read(), if out.is_open() => out.forward(n, emit),
            n = err.read(), if err.is_open() => err.forward(n, emit),
            () = sleep_until(until) => break,
        }
    }
    if let Some(line) = out.rest() {
        emit(Stream::Stdout, line);
    }
    if let Some(line) = err.rest() {
        emit(Stream::Stderr, line);
    }
    out.detach(label);
    err.detach(label);
}

/// One output pipe of a step, split into lines.
struct Pipe<R> {
    reader: Option<R>,
    buf: Vec<u8>,
    stream: Stream,
}

impl<R: AsyncRead + Unpin + Send + 'static> Pipe<R> {
    fn new(reader: Option<R>, stream: Stream) -> Self {
        Pipe {
            reader,
            buf: Vec::new(),
            stream,
        }
    }

    fn is_open(&self) -> bool {
        self.reader.is_some()
    }

    /// Reads what is there into the buffer. Cancel-safe: the only await is
    /// a cancel-safe read, and its bytes are stored right after it.
    async fn read(&mut self) -> io::Result<usize> {
        let Some(reader) = self.reader.as_mut() else {
            return std::future::pending().await;
        };
        let mut chunk = [0u8; 4096];
        let n = reader.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Passes the complete lines after a read on to `emit`.
    fn forward(&mut self, read: io::Result<usize>, emit: &mut impl FnMut(Stream, String)) {
        let stream = self.stream;
        for line in self.lines(read) {
            emit(stream, line);
        }
    }

    /// The complete lines after a read; at the end of the stream (or on a
    /// read error) also the unterminated rest.
    fn lines(&mut self, read: io::Result<usize>) -> std::vec::IntoIter<String> {
        let mut lines = Vec::new();
        while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            lines.push(String::from_utf8_lossy(&line[..nl]).into_owned());
        }
        while self.buf.len() >= MAX_LINE {
            let piece: Vec<u8> = self.buf.drain(..MAX_LINE).collect();
            lines.push(String::from_utf8_lossy(&piece).into_owned());
        }
        if !matches!(read, Ok(n) if n > 0) {
            if let Err(e) = read {
                tracing::debug!(stream = ?self.stream, "reading hook output failed: {e}");
            }
            self.reader = None;
            lines.extend(self.rest());
        }
        lines.into_iter()
    }

    /// What is buffered without a newline yet.
    fn rest(&mut self) -> Option<String> {
        (!self.buf.is_empty()).then(|| {
            let rest = std::mem::take(&mut self.buf);
            String::from_utf8_lossy(&rest).into_owned()
        })
    }

    /// Reads the rest of the stream in the background, logging it.
    fn detach(&mut self, label: &StepLabel) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut pipe = Pipe::new(Some(reader), self.stream);
        let step = label.to_string();
        runtime.spawn(async move {
            while pipe.is_open() {
                let n = pipe.read().await;
                for line in pipe.lines(n) {
                    tracing::debug!(step = %step, stream = ?pipe.stream, "{line}");
                }
            }
        });
    }
}

fn fmt_duration(d: &Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HOOK_PATH;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::time::Instant as StdInstant;

    const LONG: Duration = Duration::from_secs(20);

    fn env(phase: Option<&str>) -> Vec<(String, String)> {
        let mut env = vec![("PATH".to_string(), HOOK_PATH.to_string())];
        if let Some(phase) = phase {
            env.push(("PHASE".into(), phase.into()));
        }
        env
    }

    fn cmd(s: &str) -> Step {
        Step::Command(s.into())
    }

    /// Runs the steps, returning the result and the output as
    /// (stream, line) pairs.
    async fn run(
        steps: &[Step],
        env: &[(String, String)],
        timeout: Duration,
        ignore_errors: bool,
    ) -> (Result<(), HookError>, Vec<(Stream, String)>) {
        let mut lines = Vec::new();
        let result = run_steps(steps, env, timeout, ignore_errors, |l| {
            lines.push((l.stream, l.line))
        })
        .await;
        (result, lines)
    }

    fn out(lines: &[&str]) -> Vec<(Stream, String)> {
        lines
            .iter()
            .map(|l| (Stream::Stdout, l.to_string()))
            .collect()
    }

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Whether the process is gone (or a zombie nobody reaped yet, as under
    /// a PID 1 that does not reap), waiting up to two seconds.
    fn gone(pid: &str) -> bool {
        let deadline = StdInstant::now() + Duration::from_secs(2);
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit(')').next().map(|r| r.trim().to_string()));
            match state {
                None => return true,
                Some(s) if s.starts_with('Z') => return true,
                Some(_) if StdInstant::now() > deadline => return false,
                Some(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn odd_env() -> Vec<(String, String)> {
        [
            ("B", "2"),
            ("A", "1"),
            ("A", "x=y\nz"),
            ("IFUPDOWN_--all", "pre-up"),
            ("PATH", HOOK_PATH),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
    }

    #[tokio::test]
    async fn commands_get_exactly_the_given_environment() {
        // The shell's own initial environment, as execve got it: duplicates,
        // order and names that are no identifiers survive. (`; :` keeps the
        // shell from exec'ing tr in its place.)
        let (r, lines) = run(
            &[cmd("tr '\\0' '\\n' < /proc/$$/environ; :")],
            &odd_env(),
            LONG,
            false,
        )
        .await;
        r.unwrap();
        let path = format!("PATH={HOOK_PATH}");
        assert_eq!(
            lines,
            out(&["B=2", "A=1", "A=x=y", "z", "IFUPDOWN_--all=pre-up", &path])
        );
    }

    #[tokio::test]
    async fn scripts_get_the_environment_as_sh_passes_it_on() {
        let tmp = tempfile::tempdir().unwrap();
        let s = script(tmp.path(), "dump", "tr '\\0' '\\n' < /proc/$$/environ");
        let (r, lines) = run(&[Step::Script(s)], &odd_env(), LONG, false).await;
        r.unwrap();
        let mut lines: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
        lines.sort();
        let cwd = std::env::current_dir().unwrap();
        let mut expected = vec![
            "A=x=y".to_string(),
            "B=2".to_string(),
            format!("PATH={HOOK_PATH}"),
            format!("PWD={}", cwd.display()),
            "z".to_string(),
        ];
        expected.sort();
        assert_eq!(lines, expected);
    }

    #[tokio::test]
    async fn commands_go_through_bin_sh_and_scripts_get_umask_022() {
        let tmp = tempfile::tempdir().unwrap();
        let s = script(tmp.path(), "show", "echo \"$0 $#\"; umask");
        let (r, lines) = run(
            &[
                cmd("echo \"$0\" \"$1\"; readlink /proc/self/fd/0"),
                Step::Script(s.clone()),
            ],
            &env(None),
            LONG,
            false,
        )
        .await;
        r.unwrap();
        assert_eq!(
            lines,
            out(&[
                "/bin/sh ",
                "/dev/null",
                &format!("{} 0", s.display()),
                "0022"
            ])
        );
    }

    #[tokio::test]
    async fn first_failure_stops_the_run() {
        let steps = [cmd("echo one"), cmd("exit 3"), cmd("echo never")];
        let (r, lines) = run(&steps, &env(Some("pre-up")), LONG, false).await;
        let e = r.unwrap_err();
        assert!(matches!(
            e,
            HookError::Failed {
                status: Status::Exited(3),
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "pre-up command `exit 3` exited with status 3"
        );
        assert_eq!(e.step().text, "exit 3");
        assert_eq!(lines, out(&["one"]));
    }

    #[tokio::test]
    async fn ignore_errors_runs_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let steps = [
            cmd("echo one"),
            cmd("exit 3"),
            Step::Script(tmp.path().join("missing")),
            cmd("sleep 5"),
            cmd("echo two"),
        ];
        let (r, lines) = run(
            &steps,
            &env(Some("post-down")),
            Duration::from_millis(200),
            true,
        )
        .await;
        r.unwrap();
        let stdout: Vec<_> = lines
            .into_iter()
            .filter(|(s, _)| *s == Stream::Stdout)
            .collect();
        assert_eq!(stdout, out(&["one", "two"]));
    }

    #[tokio::test]
    async fn a_leading_dash_ignores_that_command_only() {
        let mut seen = Vec::new();
        let r = run_steps(
            &[cmd("-echo x; false"), cmd("echo after"), cmd("false")],
            &env(Some("post-up")),
            LONG,
            false,
            |l| seen.push((l.step, l.line)),
        )
        .await;
        assert_eq!(
            r.unwrap_err().to_string(),
            "post-up command `false` exited with status 1"
        );
        assert_eq!(
            seen,
            [
                ("echo x; false".to_string(), "x".to_string()),
                ("echo after".to_string(), "after".to_string())
            ]
        );
    }

    #[tokio::test]
    async fn signals_spawn_errors_and_method_steps() {
        let (r, _) = run(&[cmd("kill -TERM $$")], &env(None), LONG, false).await;
        assert_eq!(
            r.unwrap_err().to_string(),
            "hook command `kill -TERM $$` was killed by signal 15 (SIGTERM)"
        );

        let (r, lines) = run(
            &[Step::Script("/nonexistent/hook".into())],
            &env(Some("pre-down")),
            LONG,
            false,
        )
        .await;
        assert_eq!(
            r.unwrap_err().to_string(),
            "pre-down script /nonexistent/hook exited with status 127"
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].0, Stream::Stderr);
        assert!(lines[0].1.contains("/nonexistent/hook"), "{lines:?}");

        let mut nul = env(None);
        nul.push(("X".into(), "a\0b".into()));
        let (r, _) = run(&[cmd("true")], &nul, LONG, false).await;
        let e = r.unwrap_err();
        assert!(matches!(e, HookError::Spawn { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "hook command `true` could not be started: an environment variable contains a NUL byte"
        );

        let (r, lines) = run(&[Step::Method], &env(None), LONG, false).await;
        r.unwrap();
        assert!(lines.is_empty());
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let tmp = tempfile::tempdir().unwrap();
        let pidfile = tmp.path().join("pid");
        let line = format!("sleep 100 & echo $! > {}; sleep 100", pidfile.display());
        let started = StdInstant::now();
        let (r, _) = run(
            &[cmd(&line)],
            &env(Some("post-up")),
            Duration::from_millis(300),
            false,
        )
        .await;
        let e = r.unwrap_err();
        assert!(matches!(e, HookError::TimedOut { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("post-up command `{line}` timed out after 300ms and was killed")
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "SIGTERM was enough"
        );
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(gone(pid.trim()), "the background sleep survived");
    }

    #[tokio::test]
    async fn timeout_escalates_to_sigkill() {
        let tmp = tempfile::tempdir().unwrap();
        let pidfile = tmp.path().join("pid");
        let line = format!(
            "trap '' TERM; sleep 100 & echo $! > {}; while :; do sleep 1; done",
            pidfile.display()
        );
        let started = StdInstant::now();
        let (r, _) = run(&[cmd(&line)], &env(None), Duration::from_millis(200), false).await;
        assert!(matches!(r, Err(HookError::TimedOut { .. })), "{r:?}");
        let took = started.elapsed();
        assert!(
            took >= KILL_GRACE && took < KILL_GRACE + Duration::from_secs(3),
            "{took:?}"
        );
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(gone(pid.trim()), "the background sleep survived");
    }

    #[tokio::test]
    async fn background_processes_are_left_alone() {
        // ifupdown waits for the command, not for what it started.
        let started = StdInstant::now();
        let (r, lines) = run(&[cmd("sleep 30 & echo $!")], &env(None), LONG, false).await;
        r.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid = &lines[0].1;
        assert!(!gone_now(pid), "the background process was killed");
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid.parse().unwrap(), libc::SIGKILL) };
    }

    fn gone_now(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit(')').next().unwrap_or("").trim().starts_with('Z'))
            .unwrap_or(true)
    }

    #[tokio::test]
    async fn output_is_streamed_in_order() {
        let mut seen = Vec::new();
        let r = run_steps(
            &[
                cmd("echo a; sleep 0.3; echo b >&2; sleep 0.3; printf c"),
                cmd("echo d"),
            ],
            &env(None),
            LONG,
            false,
            |l| seen.push((l.stream, l.line, StdInstant::now())),
        )
        .await;
        r.unwrap();
        let lines: Vec<_> = seen.iter().map(|(s, l, _)| (*s, l.as_str())).collect();
        assert_eq!(
            lines,
            [
                (Stream::Stdout, "a"),
                (Stream::Stderr, "b"),
                (Stream::Stdout, "c"),
                (Stream::Stdout, "d")
            ]
        );
        // Each line arrived when it was written, not when the step ended.
        assert!(seen[1].2 - seen[0].2 >= Duration::from_millis(250));
        assert!(seen[2].2 - seen[1].2 >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn long_lines_come_in_pieces() {
        let (r, lines) = run(
            &[cmd("head -c 20000 /dev/zero | tr '\\0' x; echo; echo end")],
            &env(None),
            LONG,
            false,
        )
        .await;
        r.unwrap();
        let lens: Vec<_> = lines.iter().map(|(_, l)| l.len()).collect();
        assert_eq!(lens, [MAX_LINE, 20000 - MAX_LINE, 3]);
    }

    #[tokio::test]
    async fn hooks_start_with_no_signal_blocked() {
        // SAFETY: plain signal-mask calls on this (test) thread.
        let old = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            old
        };
        let (r, lines) = run(
            &[cmd("grep SigBlk /proc/self/status")],
            &env(None),
            LONG,
            false,
        )
        .await;
        // SAFETY: restores the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        r.unwrap();
        assert_eq!(lines, out(&["SigBlk:\t0000000000000000"]));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(&Duration::from_secs(30)), "30s");
        assert_eq!(fmt_duration(&Duration::from_millis(300)), "300ms");
        assert_eq!(fmt_duration(&Duration::from_millis(1500)), "1.5s");
    }
}
