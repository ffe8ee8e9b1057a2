//! A daemon of this workspace run as a child process: stderr captured, the
//! port it reports (`listening on ADDR`) read back, killed on drop, its log
//! printed when the test panics.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running daemon owned by the test.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    addr: Option<String>,
}

impl Daemon {
    /// Starts workspace binary `name` with `args` and waits (up to 30 s) for
    /// its `listening on ADDR` line.
    pub fn start(name: &str, args: &[String]) -> Self {
        Self::spawn(binary_path(name), name, args, true)
    }

    /// Starts it without waiting for a `listening on` line.
    pub fn start_quiet(name: &str, args: &[String]) -> Self {
        Self::spawn(binary_path(name), name, args, false)
    }

    fn spawn(path: PathBuf, name: &str, args: &[String], wait_listening: bool) -> Self {
        let mut child = Command::new(&path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", path.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
                log2.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let mut daemon = Daemon { name: name.to_owned(), child, log, addr: None };
        if wait_listening {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(addr) => daemon.addr = Some(addr),
                Err(_) => panic!("{name} did not report `listening on` within 30s:\n{}", daemon.logs()),
            }
        }
        daemon
    }

    /// The address from the `listening on` line.
    pub fn addr(&self) -> Option<&str> {
        self.addr.as_deref()
    }

    /// The port from the `listening on` line.
    pub fn port(&self) -> u16 {
        self.addr.as_deref().and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse().ok()).expect("a reported port")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait up to `grace` before SIGKILL; returns the exit code if it exited by itself.
    pub fn terminate(&mut self, grace: Duration) -> Option<i32> {
        rustkube_local_cluster::process::signal(self.child.id(), rustix::process::Signal::TERM);
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
        None
    }

    /// Every log line so far.
    pub fn logs(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }

    /// The last 30 log lines.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log[log.len().saturating_sub(30)..].join("\n")
    }
}

fn binary_path(name: &str) -> PathBuf {
    crate::binaries::binary(name)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.logs());
        }
    }
}
