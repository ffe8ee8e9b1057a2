//! `kubectl exec`, `attach` and `port-forward` end to end: the real kubectl
//! 1.33 → the real apiserver → the kubelet's `/exec`, `/attach`,
//! `/portForward` → containerd's streaming server. containerd's streaming
//! server listens on the loopback of the node's network namespace, so the
//! apiserver, the kubelet and kubectl all run inside it.
//!
//! Needs root and: apt-get install -y containerd runc containernetworking-plugins busybox-static gcc libc6-dev curl util-linux

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::pod;
use common::runtime_node::{NetnsApiserver, NetnsDaemon, RuntimeNode};

/// A node with containerd, the apiserver and the kubelet in one namespace.
/// Fields drop in order: the kubelet, the apiserver, then containerd and the namespace.
struct Node {
    kubelet: NetnsDaemon,
    api: NetnsApiserver,
    runtime: RuntimeNode,
    name: String,
}

fn node(index: u8) -> Node {
    let runtime = RuntimeNode::start(index);
    let root: PathBuf = runtime.dir.join("kubelet");
    std::fs::create_dir_all(&root).unwrap();
    let api = runtime.apiserver();
    let name = format!("stream-node-{index}");
    let kubelet = runtime.kubelet(&api, &name, &root, &[]);
    Node { kubelet, api, runtime, name }
}

impl Node {
    fn run_pod(&self, builder: common::PodBuilder) {
        let p = builder.on_node(&self.name).grace(1).build();
        let name = p.metadata.name.clone().unwrap();
        self.api.create(&serde_json::to_value(&p).unwrap());
        self.api.wait_running(&name, Duration::from_secs(60));
    }

    /// `curl` inside the namespace; `(http code, body)`.
    fn curl(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["curl", "-sk", "-m", "10", "-w", "\n%{http_code}"];
        all.extend_from_slice(args);
        let out = self.runtime.in_netns(&all);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (code.to_owned(), body.to_owned())
    }
}

/// Output of a kubectl run, with what it printed on failure.
fn output(cmd: &mut Command, stdin: Option<&str>) -> std::process::Output {
    let mut child = cmd
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kubectl");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    wait_output(child, Duration::from_secs(60))
}

/// Waits for a child with a deadline (a hang fails the test instead of wedging it).
fn wait_output(mut child: Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("waiting for kubectl").is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "kubectl hung for {limit:?}; stdout: {} stderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Reads `child`'s stdout lines on a thread; the receiver gets each line.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(rx: &mpsc::Receiver<String>, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if pred(&line) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {what} within {limit:?}; saw {seen:?}"),
        }
    }
}

/// Kills a child on drop (a kubectl left streaming).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn kubectl_exec_runs_commands_with_stdin_a_terminal_and_exit_codes() {
    let n = node(21);
    n.run_pod(pod("shell").command(&["sleep", "3600"]));

    // Plain exec: stdout back.
    let out = output(n.api.kubectl("1.33").args(["exec", "shell", "--", "cat", "/etc/hostname"]), None);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kubectl exec failed: {stderr}");
    assert_eq!(stdout, "shell\n", "the pod's hostname file through exec");

    // stdin reaches the command; stderr comes back separately.
    let out = output(
        n.api.kubectl("1.33").args(["exec", "-i", "shell", "--", "sh", "-c", "read x; echo got $x; echo oops >&2"]),
        Some("hello\n"),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kubectl exec -i failed: {stderr}");
    assert_eq!(stdout, "got hello\n");
    assert!(stderr.contains("oops"), "stderr of the command on kubectl's stderr: {stderr:?}");

    // The command's exit code is kubectl's.
    let out = output(n.api.kubectl("1.33").args(["exec", "shell", "--", "sh", "-c", "exit 3"]), None);
    assert_eq!(out.status.code(), Some(3), "exit code passed through: {:?}", text(&out));

    // A terminal: kubectl in a pty made by script(1).
    let kubectl = n.api.kubectl("1.33");
    let mut line = vec![kubectl.get_program().to_string_lossy().into_owned()];
    line.extend(kubectl.get_args().map(|a| a.to_string_lossy().into_owned()));
    line.extend(["exec", "-it", "shell", "--", "sh", "-c", "'tty; echo tty-ok; exit 0'"].map(str::to_owned));
    let mut script = Command::new("script");
    script.args(["-qec", &line.join(" "), "/dev/null"]);
    let out = output(&mut script, Some(""));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kubectl exec -it failed: {stdout} {stderr}");
    assert!(stdout.contains("/dev/pts/") && stdout.contains("tty-ok"), "a terminal in the container: {stdout:?}");

    // Its usage in /stats/summary, from containerd's container stats.
    let (code, body) = n.curl(&[&format!("https://127.0.0.1:{}/stats/summary", n.kubelet.port())]);
    assert_eq!(code, "200", "{body}");
    let summary: serde_json::Value = serde_json::from_str(&body).expect("a JSON summary");
    let shell = summary["pods"].as_array().and_then(|p| p.iter().find(|p| p["podRef"]["name"] == "shell").cloned());
    let shell = shell.unwrap_or_else(|| panic!("pod shell in {summary}"));
    let container = &shell["containers"][0];
    assert_eq!(container["name"], "main");
    assert!(container["memory"]["workingSetBytes"].as_u64().is_some_and(|b| b > 0), "memory in use: {shell}");
    assert!(container["cpu"]["usageCoreNanoSeconds"].as_u64().is_some_and(|n| n > 0), "cpu time used: {shell}");

    // The same usage as upstream's resource metrics, what metrics-server scrapes.
    let (code, body) = n.curl(&[&format!("https://127.0.0.1:{}/metrics/resource", n.kubelet.port())]);
    assert_eq!(code, "200", "{body}");
    let main = r#"{container="main",namespace="default",pod="shell"}"#;
    let value = |series: &str| -> Option<f64> {
        body.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
    };
    let memory = value(&format!("container_memory_working_set_bytes{main}"));
    assert!(memory.is_some_and(|b| b > 0.0), "main's working set in use: {body}");
    let started = value(&format!("container_start_time_seconds{main}"));
    assert!(started.is_some_and(|s| s > 0.0), "main's start time: {body}");

    // The kubelet API itself: upgrade required, unknown pod and container.
    let port = n.kubelet.port().to_string();
    let url = |path: &str| format!("https://127.0.0.1:{port}{path}");
    let (code, body) = n.curl(&[&url("/exec/default/shell/main?command=ls&output=1")]);
    assert_eq!(code, "400", "{body}");
    assert!(body.contains("Upgrade request required"), "{body}");
    let upgrade = ["-H", "Connection: Upgrade", "-H", "Upgrade: SPDY/3.1"];
    let (code, body) =
        n.curl(&[&upgrade[..], &[url("/exec/default/nobody/main?command=ls&output=1").as_str()]].concat());
    assert_eq!((code.as_str(), body.contains("pod does not exist")), ("404", true), "{body}");
    let (code, body) =
        n.curl(&[&upgrade[..], &[url("/exec/default/shell/other?command=ls&output=1").as_str()]].concat());
    assert_eq!((code.as_str(), body.contains(r#"container not found (\"other\")"#)), ("404", true), "{body}");
    let (code, body) = n.curl(&[&upgrade[..], &[url("/exec/default/shell/main?command=ls").as_str()]].concat());
    assert_eq!(code, "400", "{body}");
    assert!(body.contains("you must specify at least 1 of stdin, stdout, stderr"), "{body}");
}

#[test]
fn kubectl_attach_streams_output_and_stdin_of_the_main_process() {
    let n = node(22);
    n.run_pod(pod("ticker").command(&["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]));
    let mut child = n
        .api
        .kubectl("1.33")
        .args(["attach", "ticker"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kubectl attach");
    let lines = lines_of(&mut child);
    let _attached = Killed(child);
    wait_line(&lines, "a tick from the running process", Duration::from_secs(20), |l| l.starts_with("tick "));

    n.run_pod(
        pod("reader")
            .restart_policy("Never")
            .container_field("stdin", serde_json::json!(true))
            .container_field("stdinOnce", serde_json::json!(true))
            .command(&["sh", "-c", "read x; echo got $x"]),
    );
    let out = output(n.api.kubectl("1.33").args(["attach", "-i", "reader"]), Some("hello\n"));
    let (stdout, stderr) = text(&out);
    assert!(stdout.contains("got hello"), "the attached process read kubectl's stdin: {stdout:?} {stderr:?}");
}

#[test]
fn kubectl_port_forward_reaches_a_port_in_the_pod() {
    let n = node(23);
    n.run_pod(pod("web").command(&[
        "sh",
        "-c",
        "mkdir -p /www && echo hello-through-port-forward > /www/index.html && exec httpd -f -p 8080 -h /www",
    ]));
    let mut child = n
        .api
        .kubectl("1.33")
        .args(["port-forward", "pod/web", ":8080"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kubectl port-forward");
    let lines = lines_of(&mut child);
    let _forwarding = Killed(child);
    let line = wait_line(&lines, "Forwarding from 127.0.0.1:PORT", Duration::from_secs(20), |l| {
        l.starts_with("Forwarding from 127.0.0.1:")
    });
    let local = line
        .trim_start_matches("Forwarding from 127.0.0.1:")
        .split_whitespace()
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("a local port in {line:?}"));
    // Two connections: each is a new stream pair over the one upgraded connection.
    for attempt in 0..2 {
        let (code, body) = n.curl(&[&format!("http://127.0.0.1:{local}/")]);
        assert_eq!((code.as_str(), body.as_str()), ("200", "hello-through-port-forward\n"), "request {attempt}");
    }
}
