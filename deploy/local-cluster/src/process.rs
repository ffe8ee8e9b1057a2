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
    /// How it was started, so it can be started again the same way.
    pub launch: Launch,
}

/// A daemon's command line and the network namespace it runs in.
#[derive(Debug, Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub args: Vec<String>,
    /// Entered with `nsenter --net` (network namespace only: `ip netns exec`
    /// would also remount /sys, hiding the cgroup mounts runc needs).
    pub netns: Option<String>,
}

impl Process {
    /// Starts `binary` with `args`, output to `DIR/logs/NAME.log`, pid to `DIR/run/NAME.pid`.
    pub fn spawn(dir: &Path, name: &str, binary: &Path, args: &[String]) -> anyhow::Result<Self> {
        Self::spawn_in(dir, name, binary, args, None)
    }

    /// As [`Process::spawn`], inside network namespace `netns` when given.
    pub fn spawn_in(
        dir: &Path,
        name: &str,
        binary: &Path,
        args: &[String],
        netns: Option<&str>,
    ) -> anyhow::Result<Self> {
        let launch = Launch { binary: binary.to_owned(), args: args.to_vec(), netns: netns.map(str::to_owned) };
        start(dir, name, launch, false)
    }

    /// Starts it again with the same command line, appending to its log.
    pub fn restart(&self, dir: &Path) -> anyhow::Result<Self> {
        start(dir, &self.name, self.launch.clone(), true)
    }

    pub fn is_alive(&self) -> bool {
        alive(self.pid)
    }
}

fn start(dir: &Path, name: &str, launch: Launch, append: bool) -> anyhow::Result<Process> {
    use std::os::unix::process::CommandExt as _;
    if !launch.binary.is_file() {
        bail!("{} not found: build it first (cargo build --release --workspace --bins)", launch.binary.display());
    }
    let log = dir.join("logs").join(format!("{name}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&log)
        .with_context(|| format!("creating {}", log.display()))?;
    let mut command = match &launch.netns {
        Some(netns) => {
            // nsenter enters the namespace and execs the daemon: the pid stays the daemon's.
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={}", crate::netns::path(netns).display())).arg(&launch.binary);
            c
        }
        None => Command::new(&launch.binary),
    };
    let child = command
        .args(&launch.args)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", launch.binary.display()))?;
    let pid = child.id();
    // The child is reaped by whoever outlives it; this process does not wait on it.
    drop(child);
    let pid_file = dir.join("run").join(format!("{name}.pid"));
    std::fs::write(&pid_file, pid.to_string()).with_context(|| format!("writing {}", pid_file.display()))?;
    Ok(Process { name: name.to_owned(), pid, log, launch })
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

/// Polls `check` every 25 ms until it gives `Ok`, failing early when one of
/// `processes` exits, or after `limit` with the last failure `check` described.
pub async fn poll_while_alive<T, F, Fut>(processes: &[Process], limit: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        check_alive(processes)?;
        match check().await {
            Ok(v) => return Ok(v),
            Err(last) if std::time::Instant::now() > deadline => bail!("{last}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
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

/// The recorded processes still running (and still ours: see [`is_ours`]).
pub fn running(dir: &Path) -> Vec<(String, u32)> {
    recorded(dir).into_iter().filter(|(_, pid)| is_ours(*pid, dir)).collect()
}

/// Whether `pid` runs and its command line names `dir`: every daemon started
/// here gets a path under the cluster's directory, so a recorded pid the
/// kernel has since given to another program is never signalled.
pub fn is_ours(pid: u32, dir: &Path) -> bool {
    let needle = dir.display().to_string();
    alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| String::from_utf8_lossy(arg).contains(&needle)))
}

/// Whether `pid` runs: some thread of it is neither a zombie nor dead. (A
/// multi-threaded process's leader turns zombie while its other threads may
/// still be exiting and holding its files, such as a listening socket.)
pub fn alive(pid: u32) -> bool {
    let state = |stat: &str| stat.rsplit(')').next().and_then(|rest| rest.trim_start().chars().next());
    let running = |stat_path: std::path::PathBuf| {
        std::fs::read_to_string(stat_path).ok().is_some_and(|stat| !matches!(state(&stat), Some('Z' | 'X') | None))
    };
    match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(tasks) => tasks.flatten().any(|t| running(t.path().join("stat"))),
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
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Sends `sig` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_alive_until_it_exits_and_a_zombie_is_not() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        assert!(alive(child.id()), "a sleeping process is alive");
        signal(child.id(), rustix::process::Signal::KILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        // Not reaped yet: a zombie, which counts as gone.
        while alive(child.id()) {
            assert!(Instant::now() < deadline, "a killed process stops counting as alive");
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.wait();
        assert!(!alive(child.id()));
    }

    #[test]
    fn only_processes_naming_the_dir_are_ours() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log");
        std::fs::write(&file, "").unwrap();
        let mut mine = Command::new("tail").arg("-f").arg(&file).stdout(Stdio::null()).spawn().unwrap();
        let mut other = Command::new("sleep").arg("30").spawn().unwrap();
        // Until it has exec'd, a child's command line is still this test's.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !is_ours(mine.id(), dir.path()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (ours, others) = (is_ours(mine.id(), dir.path()), is_ours(other.id(), dir.path()));
        for c in [&mut mine, &mut other] {
            let _ = c.kill();
            let _ = c.wait();
        }
        assert!(ours, "a process naming the dir is ours");
        assert!(!others, "a process not naming the dir is never ours");
    }
}
