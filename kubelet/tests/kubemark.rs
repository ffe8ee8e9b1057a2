//! Many simulated kubelets in one `kubemark` process against the real apiserver.

mod common;

use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::ListParams;
use rustkube_harness::Daemon;

const NODES: usize = 20;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_hosts_many_ready_nodes_that_run_pods() {
    let api = apiserver();
    let client = api.client().await;
    let root = tempfile::tempdir().unwrap();
    let args = vec![
        format!("--kubeconfig={}", api.kubeconfig().display()),
        format!("--nodes={NODES}"),
        "--name=hollow".to_owned(),
        format!("--root-dir={}", root.path().display()),
    ];
    let started = Instant::now();
    let fleet = tokio::task::block_in_place(|| Daemon::start("kubemark", &args));
    let nodes: Api<Node> = Api::all(client.clone());
    wait_for(Duration::from_secs(30), &format!("{NODES} Ready nodes"), || {
        let nodes = nodes.clone();
        async move {
            let list = nodes.list(&ListParams::default()).await.map_err(|e| e.to_string())?;
            let ready = list
                .items
                .iter()
                .filter(|n| {
                    n.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                })
                .count();
            if ready == NODES { Ok(()) } else { Err(format!("{ready} ready")) }
        }
    })
    .await;
    let ready_after = started.elapsed();
    for i in 0..NODES {
        pod(&format!("p{i}")).on_node(&format!("hollow-{i}")).create(&client).await;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    wait_for(Duration::from_secs(30), "every pod Running", || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default()).await.map_err(|e| e.to_string())?;
            let running = list
                .items
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
                .count();
            if running == NODES { Ok(()) } else { Err(format!("{running} running")) }
        }
    })
    .await;
    let rss = rss_kib(fleet.pid());
    eprintln!(
        "kubemark: {NODES} nodes Ready in {ready_after:?}; RSS {rss} KiB total, {} KiB per node",
        rss / NODES as u64
    );
    assert!(rss > 0, "RSS of the kubemark process readable");
}
