//! What `deploy/local-up.sh` and `deploy/local-down.sh` promise about a
//! cluster's life: a second up on a running cluster refuses, down after a
//! crash (the launcher gone, everything it started still there) stops every
//! process and removes every namespace, mount and shim, up works again, and
//! `--apply deploy/examples/web.yaml` (the README's main-job command) ends
//! with the example's pods Running in real containers.

use std::time::Duration;

use rustkube_harness::{Cluster, eventually};

const SLEEPER: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  terminationGracePeriodSeconds: 1
  nodeSelector: {kubernetes.io/hostname: node-0}
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
"#;

fn processes_naming(dir: &std::path::Path) -> Vec<String> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).ok()?).replace('\0', " ");
            (cmd.contains(&needle) && rustkube_local_cluster::process::alive(pid)).then(|| format!("{pid}: {cmd}"))
        })
        .collect()
}

#[test]
fn up_refuses_twice_down_after_a_crash_removes_everything_and_up_works_again() {
    let mut c = Cluster::builder().nodes(1).fake_nodes(1).start();
    c.ok_stdin(&["apply", "-f", "-"], SLEEPER);
    c.ok(&["wait", "--for=condition=Ready", "pod/sleeper", "--timeout=60s"]);
    let namespaces = c.started().topology.as_ref().expect("a topology").namespaces();

    // A second up on the same directory while it runs.
    let spec = c.spec().clone();
    let second = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(rustkube_local_cluster::up(&spec, &|_| {})).map(|_| ()).map_err(|e| format!("{e:#}"))
    })
    .join()
    .unwrap();
    let err = second.expect_err("a second up must refuse");
    assert!(err.contains("already running"), "{err}");

    // The launcher "crashed": nothing was stopped. Down from the records alone.
    let done = c.down();
    assert!(!done.iter().any(|d| d.starts_with("FAILED")), "down: {done:?}");
    assert!(done.iter().any(|d| d.contains("container and shim")), "the pod's container and shim killed: {done:?}");
    let left = processes_naming(c.dir());
    assert!(left.is_empty(), "no process of the cluster left: {left:#?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&c.dir().display().to_string()), "no mount under the cluster dir left");
    for ns in &namespaces {
        assert!(!std::path::Path::new("/run/netns").join(ns).exists(), "namespace {ns} removed");
    }
    assert!(down_again_is_a_no_op(&mut c));

    // Up again on the same state: the pod runs again in a fresh container.
    c.up();
    eventually("the pod Running again after up", Duration::from_secs(60), || {
        let phase = c.ok(&["get", "pod", "sleeper", "-o", "jsonpath={.status.phase}"]);
        if phase == "Running" { Ok(()) } else { Err(phase) }
    });

    // The README's `local-up.sh --apply deploy/examples/web.yaml`, on the containerd node.
    c.ok(&["cordon", "fake-node-0"]);
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/examples/web.yaml");
    c.apply_files(&[example]);
    let placed = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={range .items[*]}{.status.phase} {.status.containerStatuses[0].containerID}{\"\\n\"}{end}",
    ]);
    let lines: Vec<&str> = placed.lines().collect();
    assert_eq!(lines.len(), 2, "the example's two pods: {placed}");
    for line in lines {
        let (phase, id) = line.split_once(' ').unwrap_or_default();
        assert_eq!(phase, "Running", "{placed}");
        assert!(id.starts_with("containerd://"), "a real container: {placed}");
    }
    // A later `kubectl apply` of the same file merges with what --apply recorded.
    let file = format!("{}/../../deploy/examples/web.yaml", env!("CARGO_MANIFEST_DIR"));
    let out = c.kubectl("1.33", &["apply", "-f", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("last-applied-configuration"), "kubectl apply: {stderr}");
}

fn down_again_is_a_no_op(c: &mut Cluster) -> bool {
    let done = c.down();
    assert!(done.is_empty(), "a second down has nothing to do: {done:?}");
    true
}
