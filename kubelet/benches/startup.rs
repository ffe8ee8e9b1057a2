//! Pod startup latency against the floor of `ctr run`, measured in the same run.
//!
//! Starts a real containerd in a network namespace of its own (as the
//! containerd tests do), the release kube-apiserver and a release kubelet,
//! then, interleaved, times `ctr run --rm` of busybox (the floor) and pod
//! create → Running of the same image (seen through a watch); then 30 pods
//! created at once. Needs root and the packages of tests/containerd.rs.
//!
//!   cargo bench -p rustkube-kubelet --bench startup        (ROUNDS=N to change the sample count)
//!
//! BENCH_TRACE=1 prints the kubelet's log of the timed pods and keeps
//! containerd's log; RK_CONTAINERD_DEBUG=1 makes that log name every CRI call.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use rustkube_kubelet::runtime::cri::CriRuntime;
use rustkube_kubelet::runtime::{Runtime, SandboxState};
use rustkube_kubelet::spec;

const NODE: &str = "bench-node";
const IMAGE: &str = "docker.io/library/busybox:latest";
/// containerd's metrics address, inside the node's network namespace.
const METRICS: &str = "127.0.0.1:1338";

fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(30);
    let node = common::runtime_node::RuntimeNode::start_with_metrics(40, Some(METRICS));
    let root = node.dir.join("kubelet");
    std::fs::create_dir_all(&root).expect("kubelet root");
    let api = rustkube_harness::Apiserver::start(&[]);
    // BENCH_KUBELET_ARGS: more kubelet flags, space-separated (to compare settings).
    let extra = std::env::var("BENCH_KUBELET_ARGS").unwrap_or_default();
    let kubelet = rustkube_harness::Daemon::start(
        "kubelet",
        &[
            format!("--kubeconfig={}", api.kubeconfig().display()),
            format!("--hostname-override={NODE}"),
            format!("--container-runtime-endpoint={}", node.endpoint()),
            format!("--root-dir={}", root.display()),
            "--address=127.0.0.1".to_owned(),
            "--port=0".to_owned(),
            "--healthz-port=0".to_owned(),
            "--node-ip=127.0.0.1".to_owned(),
            common::TEST_EVICTION_HARD.to_owned(),
            common::TEST_IMAGE_GC_OFF.to_owned(),
        ]
        .into_iter()
        .chain(extra.split_whitespace().map(str::to_owned))
        .collect::<Vec<_>>(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = api.client().await;
        wait_node_ready(&client).await;
        // Warm-up: first sandbox (bridge creation), first container, caches.
        let _ = start_pods(&client, "warm", 1).await;
        delete_all(&client).await;
        let _ = ctr_run(&node, "warm");

        let cri = CriRuntime::connect(&node.socket).await.expect("a CRI client");
        let (_, warm) = cri_pod(&cri, &root, "warm").await;
        cri_remove(&cri, [warm]).await;
        let (mut raw_phases, mut kubelet_phases) = (Timings::new(), Timings::new());
        // CPU time (ms) each process spent over the timed rounds: (raw CRI rounds, kubelet rounds).
        let pids = [
            ("containerd", node.containerd_pid().expect("containerd runs")),
            ("kubelet", kubelet.pid()),
            ("kube-apiserver", api.pid()),
        ];
        let mut cpu = [(0.0, 0.0); 3];
        let mut floor = Vec::new();
        let mut cri_floor = Vec::new();
        let mut single = Vec::new();
        // Every timed run starts on a quiet node: the previous one's teardown
        // (the kubelet stops a deleted pod after the API forgets it; containerd
        // reaps shims and collects garbage after a removal) would otherwise
        // overlap it and slow whichever measure comes next.
        for i in 0..rounds {
            settle(&cri).await;
            floor.push(ctr_run(&node, &format!("floor-{i}")));
            settle(&cri).await;
            let before = containerd_timings(&node);
            let cpu0 = pids.map(|(_, pid)| cpu_ms(pid));
            let (took, id) = cri_pod(&cri, &root, &format!("cri-{i}")).await;
            for (sum, (pid, at)) in cpu.iter_mut().zip(pids.iter().map(|p| p.1).zip(cpu0)) {
                sum.0 += cpu_ms(pid) - at;
            }
            accumulate(&mut raw_phases, &before, &containerd_timings(&node));
            cri_remove(&cri, [id]).await;
            cri_floor.push(took);
            settle(&cri).await;
            let before = containerd_timings(&node);
            let cpu0 = pids.map(|(_, pid)| cpu_ms(pid));
            let (lat, _) = start_pods(&client, &format!("one-{i}"), 1).await;
            for (sum, (pid, at)) in cpu.iter_mut().zip(pids.iter().map(|p| p.1).zip(cpu0)) {
                sum.1 += cpu_ms(pid) - at;
            }
            accumulate(&mut kubelet_phases, &before, &containerd_timings(&node));
            single.extend(lat);
            delete_all(&client).await;
        }
        settle(&cri).await;
        let t0 = Instant::now();
        let names: Vec<String> = (0..30).map(|i| format!("cri-burst-{i}")).collect();
        let raw = names.iter().map(|name| cri_pod(&cri, &root, name));
        let (raw_burst, ids): (Vec<Duration>, Vec<String>) =
            futures_util::future::join_all(raw).await.into_iter().unzip();
        let raw_all = t0.elapsed();
        cri_remove(&cri, ids).await;
        settle(&cri).await;
        let (burst, all_running) = start_pods(&client, "burst", 30).await;
        delete_all(&client).await;

        let (f50, fmin) = (percentile(&floor, 50), percentile(&floor, 0));
        let (c50, c99) = (percentile(&cri_floor, 50), percentile(&cri_floor, 99));
        let (s50, s99) = (percentile(&single, 50), percentile(&single, 99));
        let (b50, b99) = (percentile(&burst, 50), percentile(&burst, 99));
        let version = Command::new("containerd").arg("--version").output().map(|o| o.stdout).unwrap_or_default();
        let version = String::from_utf8_lossy(&version);
        let version = version.split_whitespace().nth(2).unwrap_or("?");
        println!("kubelet pod startup (image present), containerd {version}, {rounds} rounds interleaved");
        println!("| measure | p50 | p99 | ratio to floor p50 | target |");
        println!("|---|---|---|---|---|");
        println!("| floor: `ctr run --rm busybox true` | {} | min {} | 1.00× | |", ms(f50), ms(fmin));
        println!(
            "| raw CRI: RunPodSandbox + CreateContainer + StartContainer | {} | {} | {:.2}× | |",
            ms(c50),
            ms(c99),
            c50.as_secs_f64() / f50.as_secs_f64()
        );
        println!(
            "| 1 pod create → Running | {} | {} | {:.2}× | < 1.3× |",
            ms(s50),
            ms(s99),
            s50.as_secs_f64() / f50.as_secs_f64()
        );
        println!(
            "| raw CRI, 30 pods at once: each / all started | {} | {} | all in {} | |",
            ms(percentile(&raw_burst, 50)),
            ms(percentile(&raw_burst, 99)),
            ms(raw_all)
        );
        println!(
            "| 30 pods at once, each create → Running | {} | {} | {:.2}× | all Running < 5 s: {} |",
            ms(b50),
            ms(b99),
            b50.as_secs_f64() / f50.as_secs_f64(),
            if all_running < Duration::from_secs(5) { "yes" } else { "no" }
        );
        println!("| 30 pods at once, first create → all Running | {} | | | < 5 s |", ms(all_running));
        println!(
            "kubelet + apiserver overhead over the raw CRI calls for one pod: p50 {} ({:.2}× the raw CRI p50)",
            ms(s50.saturating_sub(c50)),
            s50.as_secs_f64() / c50.as_secs_f64()
        );
        for (whose, phases) in [("the raw CRI pods", &raw_phases), ("the kubelet's pods", &kubelet_phases)] {
            println!(
                "containerd's own time per call, mean over {whose}: {}",
                phase_means(phases)
                    .iter()
                    .map(|(what, mean)| format!("{what} {mean:.1} ms"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        println!(
            "CPU time per timed start, mean (raw CRI pod / kubelet pod): {}",
            pids.iter()
                .zip(cpu)
                .map(|((name, _), (raw, kubelet))| format!(
                    "{name} {:.1} / {:.1} ms",
                    raw / rounds as f64,
                    kubelet / rounds as f64
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    });
    if std::env::var_os("BENCH_TRACE").is_some() {
        for line in kubelet.logs().lines().filter(|l| l.contains("one-")) {
            eprintln!("{line}");
        }
        // With RK_CONTAINERD_DEBUG=1 as well, this holds every CRI call, timestamped.
        let kept = std::env::temp_dir().join("rk-bench-containerd.log");
        if std::fs::copy(node.dir.join("containerd.log"), &kept).is_ok() {
            eprintln!("containerd's log: {}", kept.display());
        }
    }
    drop(kubelet);
    drop(api);
    drop(node);
}

/// containerd's CRI and CNI timing histograms: (sum of seconds, count) by
/// metric name and labels.
type Timings = HashMap<String, (f64, f64)>;

/// The histograms now, from containerd's Prometheus endpoint.
fn containerd_timings(node: &common::runtime_node::RuntimeNode) -> Timings {
    let out = node.in_netns(&["curl", "-sf", &format!("http://{METRICS}/v1/metrics")]);
    assert!(out.status.success(), "reading containerd's metrics at {METRICS} failed");
    let mut timings = Timings::new();
    for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("containerd_cri_")) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let (name, labels) = series.split_once('{').map_or((series, ""), |(n, l)| (n, l));
        if let Some(base) = name.strip_suffix("_sum") {
            timings.entry(format!("{base}{{{labels}")).or_default().0 = value;
        } else if let Some(base) = name.strip_suffix("_count") {
            timings.entry(format!("{base}{{{labels}")).or_default().1 = value;
        }
    }
    timings
}

/// Adds what containerd timed between two readings to `sum`.
fn accumulate(sum: &mut Timings, before: &Timings, after: &Timings) {
    for (series, (s1, c1)) in after {
        let (s0, c0) = before.get(series).copied().unwrap_or_default();
        let entry = sum.entry(series.clone()).or_default();
        entry.0 += s1 - s0;
        entry.1 += c1 - c0;
    }
}

/// Mean milliseconds per call of each phase of a pod's start in `timings`.
fn phase_means(timings: &Timings) -> Vec<(&'static str, f64)> {
    const PHASES: [(&str, &str); 5] = [
        ("RunPodSandbox", "containerd_cri_sandbox_runtime_create_seconds{"),
        ("of which the pod network (netns + CNI)", "containerd_cri_sandbox_create_network_seconds{"),
        (
            "of which the CNI plugins",
            "containerd_cri_network_plugin_operations_duration_seconds_seconds{operation_type=\"set_up_pod\"",
        ),
        ("CreateContainer", "containerd_cri_container_create_seconds{"),
        ("StartContainer", "containerd_cri_container_start_seconds{"),
    ];
    PHASES
        .iter()
        .map(|(what, prefix)| {
            let (seconds, calls) = timings
                .iter()
                .filter(|(series, _)| series.starts_with(prefix))
                .fold((0.0, 0.0), |(s, c), (_, (s1, c1))| (s + s1, c + c1));
            (*what, if calls > 0.0 { seconds / calls * 1000.0 } else { f64::NAN })
        })
        .collect()
}

/// CPU time process `pid` has used so far, user and system, in ms (the
/// kernel's per-process count, which keeps the time of threads that have
/// exited; in clock ticks, so only a mean over many rounds is meaningful).
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: u64 = fields.get(11..13).map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum()).unwrap_or(0);
    // USER_HZ is 100 on every Linux architecture this runs on.
    ticks as f64 * 10.0
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// The `p`th percentile (nearest rank) of `samples`.
fn percentile(samples: &[Duration], p: usize) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * s.len()).div_ceil(100).clamp(1, s.len());
    s[rank - 1]
}

/// The CRI calls a kubelet makes to start a one-container pod, made
/// directly (the same sandbox and container configuration the kubelet
/// builds): the floor of what any kubelet can do on this containerd.
/// Returns the time taken and the sandbox, for [`cri_remove`].
async fn cri_pod(cri: &CriRuntime, root: &std::path::Path, name: &str) -> (Duration, String) {
    let mut pod = common::pod(name).on_node(NODE).image(IMAGE).command(&["sleep", "3600"]).build();
    pod.metadata.uid = Some(format!("00000000-0000-4000-8000-{:012x}", rand_suffix()));
    let sandbox = spec::sandbox_config(&pod, 0, root, &[], "cluster.local");
    let container = pod.spec.as_ref().unwrap().containers[0].clone();
    let config = spec::container_config(&pod, &container, 0, vec![], vec!["sleep".into(), "3600".into()], vec![]);
    std::fs::create_dir_all(std::path::Path::new(&sandbox.log_directory).join(&container.name)).expect("log dir");
    let t0 = Instant::now();
    let id = cri.run_pod_sandbox(&sandbox).await.expect("RunPodSandbox");
    let cid = cri.create_container(&id, &config, &sandbox).await.expect("CreateContainer");
    cri.start_container(&cid).await.expect("StartContainer");
    (t0.elapsed(), id)
}

/// Stops and removes sandboxes made by [`cri_pod`], untimed.
async fn cri_remove(cri: &CriRuntime, ids: impl IntoIterator<Item = String>) {
    for id in ids {
        let _ = cri.stop_pod_sandbox(&id).await;
        let _ = cri.remove_pod_sandbox(&id).await;
    }
}

fn rand_suffix() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    u64::try_from(nanos & 0xffff_ffff_ffff).unwrap_or(0)
}

/// Wall time of `ctr run --rm` of the image, in the node's namespace.
fn ctr_run(node: &common::runtime_node::RuntimeNode, id: &str) -> Duration {
    let socket = node.socket.display().to_string();
    let t0 = Instant::now();
    let out =
        node.in_netns(&["ctr", "-a", &socket, "-n", "k8s.io", "run", "--rm", IMAGE, &format!("bench-{id}"), "true"]);
    let took = t0.elapsed();
    assert!(out.status.success(), "ctr run failed: {}", String::from_utf8_lossy(&out.stderr));
    took
}

async fn wait_node_ready(client: &kube::Client) {
    let nodes: Api<Node> = Api::all(client.clone());
    common::wait_for(Duration::from_secs(30), "the node Ready", || {
        let nodes = nodes.clone();
        async move {
            let n = nodes.get_opt(NODE).await.map_err(|e| e.to_string())?.ok_or("not registered")?;
            let ready = n
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            if ready { Ok(()) } else { Err("not Ready".into()) }
        }
    })
    .await;
}

/// Creates `count` pods at once; returns each one's create → Running time and first create → all Running.
async fn start_pods(client: &kube::Client, prefix: &str, count: usize) -> (Vec<Duration>, Duration) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let config = watcher::Config::default().labels(&format!("bench={prefix}"));
    let mut events = watcher(pods.clone(), config).boxed();
    // The watch is established (initial list done) before anything is created.
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(Ok(watcher::Event::InitDone))) => break,
            Ok(Some(Ok(_))) => {}
            other => panic!("starting the pod watch: {other:?}"),
        }
    }
    let t0 = Instant::now();
    let mut created: HashMap<String, Instant> = HashMap::new();
    let creates = (0..count).map(|i| {
        let pods = pods.clone();
        let name = format!("{prefix}-{i}");
        let mut pod = common::pod(&name).on_node(NODE).image(IMAGE).grace(0).command(&["sleep", "3600"]).build();
        pod.metadata.labels = Some([("bench".to_owned(), prefix.to_owned())].into());
        async move {
            let at = Instant::now();
            if std::env::var_os("BENCH_TRACE").is_some() {
                eprintln!("{} bench: creating {name}", jiff::Timestamp::now());
            }
            pods.create(&PostParams::default(), &pod).await.expect("creating a pod");
            (name, at)
        }
    });
    for (name, at) in futures_util::future::join_all(creates).await {
        created.insert(name, at);
    }
    let mut running: HashMap<String, Instant> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while running.len() < count {
        let event = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Ok(e))) => e,
            other => panic!("waiting for {count} pods Running ({} so far): {other:?}", running.len()),
        };
        if let watcher::Event::Apply(p) = event {
            let name = p.metadata.name.clone().unwrap_or_default();
            if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                if std::env::var_os("BENCH_TRACE").is_some() && !running.contains_key(&name) {
                    eprintln!("{} bench: {name} Running", jiff::Timestamp::now());
                }
                running.entry(name).or_insert_with(Instant::now);
            }
        }
    }
    let latencies = running.iter().map(|(name, at)| at.duration_since(created[name])).collect();
    let all = running.values().max().map(|m| m.duration_since(t0)).unwrap_or_default();
    (latencies, all)
}

/// Deletes every pod (grace 0) and waits until they and their sandboxes are gone.
/// Waits until no pod sandbox is ready (the kubelet has stopped every deleted
/// pod), then a little longer for containerd's shim reaping and garbage collection.
async fn settle(cri: &CriRuntime) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sandboxes = cri.list_pod_sandboxes().await.expect("ListPodSandbox");
        if !sandboxes.iter().any(|s| s.state == SandboxState::Ready) {
            break;
        }
        assert!(Instant::now() < deadline, "pod sandboxes still ready after 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn delete_all(client: &kube::Client) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let dp = DeleteParams::default().grace_period(0);
    let _ = pods.delete_collection(&dp, &ListParams::default()).await;
    common::wait_for(Duration::from_secs(60), "all bench pods gone", || {
        let pods = pods.clone();
        async move {
            let left = pods.list(&ListParams::default()).await.map_err(|e| e.to_string())?.items.len();
            if left == 0 { Ok(()) } else { Err(format!("{left} left")) }
        }
    })
    .await;
}
