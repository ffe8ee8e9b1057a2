//! Daemons started detached (own process group, so a Ctrl-C at the terminal
//! that ran local-up does not reach them), with a log file and a pid file
//! each, and stopped again by the recorded pid only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// One started daemon.
#[derive(Debug, Clone)]
pub struct Process {
    pub name: String,
    pub pid: u32,
    pub log: PathBuf,
}

impl Process {
    /// Starts `binary` with `args`, output to `DIR/logs/NAME.log`, pid to `DIR/run/NAME.pid`.
    pub fn spawn(dir: &Path, name: &str, binary: &Path, args: &[String]) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt as _;
        if !binary.is_file() {
            bail!("{} not found: build it first (cargo build --release --workspace --bins)", binary.display());
        }
        let log = dir.join("logs").join(format!("{name}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id();
        // The child is reaped by whoever outlives it; this process does not wait on it.
        drop(child);
        let pid_file = dir.join("run").join(format!("{name}.pid"));
        std::fs::write(&pid_file, pid.to_string()).with_context(|| format!("writing {}", pid_file.display()))?;
        Ok(Process { name: name.to_owned(), pid, log })
    }

    pub fn is_alive(&self) -> bool {
        alive(self.pid)
    }
}

/// Fails, quoting the end of its log, when one of `processes` has exited.
pub fn check_alive(processes: &[Process]) -> anyhow::Result<()> {
    for p in processes {
        if !p.is_alive() {
            let log = std::fs::read_to_string(&p.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect();
            bail!("{} (pid {}) exited; last lines of {}:\n{}", p.name, p.pid, p.log.display(), tail.join("\n"));
        }
    }
    Ok(())
}

/// Every `(name, pid)` recorded under `DIR/run`.
pub fn recorded(dir: &Path) -> Vec<(String, u32)> {
    let Ok(entries) = std::fs::read_dir(dir.join("run")) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".pid")) else {
            continue;
        };
        if let Some(pid) = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse().ok()) {
            out.push((name.to_owned(), pid));
        }
    }
    out.sort();
    out
}

/// The recorded processes still running.
pub fn running(dir: &Path) -> Vec<(String, u32)> {
    recorded(dir).into_iter().filter(|(_, pid)| alive(*pid)).collect()
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped) counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// SIGTERM, wait up to `grace`, then SIGKILL. Returns whether it was running.
pub fn stop(pid: u32, grace: Duration) -> bool {
    if !alive(pid) {
        return false;
    }
    signal(pid, rustix::process::Signal::TERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    signal(pid, rustix::process::Signal::KILL);
    true
}

/// Sends `sig` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}
