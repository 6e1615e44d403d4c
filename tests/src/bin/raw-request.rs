//! One raw request to netconfd as whoever runs it, for tests/tests/security.rs
//! (the test process is root; this runs under `setpriv` as someone else).
//!
//! `raw-request SOCKET REQUEST` sends the REQUEST line and prints the final
//! reply line.
//!
//! `raw-request SOCKET REQUEST PROGRAM [ARGS...]` is a local attacker's trick
//! against a daemon that judges its clients after connect(): it connects,
//! then forks. The parent execs PROGRAM (a setuid-root program: from then on
//! the PID that connected runs as root). The child waits until it does (euid
//! 0 in `/proc/PPID/status`), sends REQUEST on the connection made before the
//! exec, prints the final reply line, and kills the parent.
//!
//! `raw-request SOCKET --hold N [REQUEST]` opens N connections, sends
//! REQUEST (a `ping` by default) on each and reads the first line of the
//! answer, prints `ok=A busy=B other=C` (a `monitor`'s greeting counts as
//! ok), then holds them open, reading nothing more, until its standard
//! input ends: how a test fills the daemon's client slots, or its outboxes,
//! as some user.
//!
//! Exit status 0 once a reply was printed, 2 if PROGRAM never ran as root (a
//! `nosuid` mount, say), 1 on any other failure; with PROGRAM that is the
//! child's, and the caller sees PROGRAM's (killed).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [socket, request, exec_first @ ..] = args.as_slice() else {
        eprintln!("usage: raw-request SOCKET REQUEST [PROGRAM [ARGS...]]");
        return ExitCode::from(1);
    };
    if request == "--hold" {
        let count = exec_first.first().and_then(|n| n.parse().ok()).unwrap_or(0);
        let request = exec_first
            .get(1)
            .map_or(r#"{"version":1,"id":1,"op":"ping"}"#, String::as_str);
        return hold(socket, count, request);
    }
    let stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("raw-request: {socket}: {e}");
            return ExitCode::from(1);
        }
    };
    let Some((program, program_args)) = exec_first.split_first() else {
        return report(exchange(stream, request));
    };
    // SAFETY: this program has one thread; the child only uses the stream
    // it inherits and std's plain I/O.
    match unsafe { libc::fork() } {
        -1 => {
            eprintln!("raw-request: fork: {}", std::io::Error::last_os_error());
            ExitCode::from(1)
        }
        0 => finish_after_exec(stream, request),
        _ => {
            // The child keeps its copy of the connection; the daemon took
            // the credentials of this process, which now becomes PROGRAM.
            let e = std::process::Command::new(program)
                .args(program_args)
                .exec();
            eprintln!("raw-request: {program}: {e}");
            ExitCode::from(1)
        }
    }
}

fn finish_after_exec(stream: UnixStream, request: &str) -> ExitCode {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let started = Instant::now();
    while effective_uid(parent) != Some(0) {
        if started.elapsed() > Duration::from_secs(20) {
            eprintln!("raw-request: the setuid program never ran as root");
            kill(parent);
            return ExitCode::from(2);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let outcome = exchange(stream, request);
    kill(parent);
    report(outcome)
}

fn report(outcome: std::io::Result<String>) -> ExitCode {
    match outcome {
        Ok(reply) => {
            println!("{reply}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("raw-request: {e}");
            ExitCode::from(1)
        }
    }
}

/// Sends `request` and returns the first reply line that is not progress.
fn exchange(mut stream: UnixStream, request: &str) -> std::io::Result<String> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    let mut lines = BufReader::new(stream).lines();
    loop {
        let line = lines.next().ok_or(std::io::ErrorKind::UnexpectedEof)??;
        if !line.contains(r#""type":"progress""#) {
            return Ok(line);
        }
    }
}

fn hold(socket: &str, count: usize, request: &str) -> ExitCode {
    let (mut ok, mut busy, mut other) = (0, 0, 0);
    let mut held = Vec::new();
    for _ in 0..count {
        let Ok(mut stream) = UnixStream::connect(socket) else {
            other += 1;
            continue;
        };
        // A refused client may find the connection closed before it writes.
        let _ = stream.write_all(format!("{request}\n").as_bytes());
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        let mut first = String::new();
        let _ = BufReader::new(&stream).read_line(&mut first);
        if first.contains(r#""code":"busy""#) {
            busy += 1;
        } else if first.contains(r#""type":"ok""#) || first.contains(r#""step":"monitor""#) {
            ok += 1;
        } else {
            other += 1;
        }
        held.push(stream);
    }
    println!("ok={ok} busy={busy} other={other}");
    let _ = std::io::stdout().flush();
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    ExitCode::SUCCESS
}

fn effective_uid(pid: libc::pid_t) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

fn kill(pid: libc::pid_t) {
    // SAFETY: kill has no memory-safety preconditions; `pid` is our parent,
    // whose real uid is ours.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}
