//! Shared helpers of the kubelet's integration tests: a real apiserver, a
//! kubelet child process, pod builders and waits with deadlines.
#![allow(dead_code)]

pub mod grpc_health;
pub mod runtime_node;

use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;
use rustkube_harness::{Apiserver, Daemon};

/// Starts the real kube-apiserver (blocking work off the async runtime).
pub fn apiserver() -> Apiserver {
    tokio::task::block_in_place(|| Apiserver::start(&[]))
}

/// The hard eviction thresholds of test kubelets on a real runtime: only
/// memory, so a build machine's nearly full disk does not evict every test pod.
pub const TEST_EVICTION_HARD: &str = "--eviction-hard=memory.available<100Mi";

/// No image garbage collection on test kubelets with a real runtime: test
/// images are imported, not pulled, and a nearly full build disk must not
/// collect them (kind turns image GC off the same way).
pub const TEST_IMAGE_GC_OFF: &str = "--image-gc-high-threshold=100";

/// The flags of a test kubelet for `node` on `endpoint`, then `extra`: on
/// loopback with OS-chosen ports, fast status updates, and with a real runtime
/// [`TEST_EVICTION_HARD`] and [`TEST_IMAGE_GC_OFF`] unless `extra` sets them.
pub fn kubelet_args(
    kubeconfig: &std::path::Path,
    node: &str,
    endpoint: &str,
    root: &std::path::Path,
    extra: &[&str],
) -> Vec<String> {
    let mut args = vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--hostname-override={node}"),
        format!("--container-runtime-endpoint={endpoint}"),
        format!("--root-dir={}", root.display()),
        "--address=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        "--healthz-port=0".to_owned(),
        "--node-ip=127.0.0.1".to_owned(),
        "--node-status-update-frequency=1s".to_owned(),
    ];
    if !endpoint.starts_with("fake://") && !extra.iter().any(|a| a.starts_with("--eviction-hard")) {
        args.push(TEST_EVICTION_HARD.to_owned());
    }
    if !endpoint.starts_with("fake://") && !extra.iter().any(|a| a.starts_with("--image-gc-high-threshold")) {
        args.push(TEST_IMAGE_GC_OFF.to_owned());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Starts a kubelet for `node` against `api` with `endpoint` and extra flags.
pub fn kubelet(api: &Apiserver, node: &str, endpoint: &str, root: &std::path::Path, extra: &[&str]) -> Daemon {
    let extra: Vec<&str> = std::iter::once("--node-lease-duration-seconds=4").chain(extra.iter().copied()).collect();
    let args = kubelet_args(&api.kubeconfig(), node, endpoint, root, &extra);
    tokio::task::block_in_place(|| Daemon::start("kubelet", &args))
}

/// Polls `check` every 100 ms until it gives `Some`, failing after `limit` with `what` and the last value seen.
pub async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) => {
                assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}; last seen: {last}");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A pod builder: `pod("a").on_node("n1").image("busybox").command(&["sh", "-c", "…"])`.
#[derive(Debug, Clone)]
pub struct PodBuilder {
    value: serde_json::Value,
}

pub fn pod(name: &str) -> PodBuilder {
    PodBuilder {
        value: serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "main", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent"}]},
        }),
    }
}

impl PodBuilder {
    pub fn on_node(mut self, node: &str) -> Self {
        self.value["spec"]["nodeName"] = node.into();
        self
    }
    pub fn image(mut self, image: &str) -> Self {
        self.value["spec"]["containers"][0]["image"] = image.into();
        self
    }
    pub fn command(mut self, cmd: &[&str]) -> Self {
        self.value["spec"]["containers"][0]["command"] = serde_json::json!(cmd);
        self
    }
    pub fn env(mut self, name: &str, value: &str) -> Self {
        let c = &mut self.value["spec"]["containers"][0];
        if c["env"].is_null() {
            c["env"] = serde_json::json!([]);
        }
        c["env"].as_array_mut().unwrap().push(serde_json::json!({"name": name, "value": value}));
        self
    }
    pub fn restart_policy(mut self, policy: &str) -> Self {
        self.value["spec"]["restartPolicy"] = policy.into();
        self
    }
    pub fn grace(mut self, secs: i64) -> Self {
        self.value["spec"]["terminationGracePeriodSeconds"] = secs.into();
        self
    }
    pub fn init_container(mut self, name: &str, cmd: &[&str]) -> Self {
        let image = self.value["spec"]["containers"][0]["image"].clone();
        self.value["spec"]["initContainers"] = serde_json::json!([
            {"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "command": cmd}
        ]);
        self
    }
    /// Sets a field of the first container (`readinessProbe`, `volumeMounts`…).
    pub fn container_field(mut self, key: &str, value: serde_json::Value) -> Self {
        self.value["spec"]["containers"][0][key] = value;
        self
    }
    /// Sets a field of the pod spec (`hostNetwork`, `volumes`…).
    pub fn spec_field(mut self, key: &str, value: serde_json::Value) -> Self {
        self.value["spec"][key] = value;
        self
    }
    pub fn build(self) -> Pod {
        serde_json::from_value(self.value).expect("a valid pod")
    }
    pub async fn create(self, client: &kube::Client) -> Pod {
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        pods.create(&PostParams::default(), &self.build()).await.expect("creating the pod")
    }
}

/// The pod's condition `type_` status, if present.
pub fn condition(pod: &Pod, type_: &str) -> Option<String> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == type_).map(|c| c.status.clone())
}

/// A short summary of a pod's status for failure messages.
pub fn summary(pod: &Pod) -> String {
    serde_json::to_string(&pod.status).unwrap_or_default()
}

/// Waits until `name` has the phase `phase`.
pub async fn wait_phase(client: &kube::Client, name: &str, phase: &str, limit: Duration) -> Pod {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    wait_for(limit, &format!("pod {name} in phase {phase}"), || {
        let pods = pods.clone();
        async move {
            let p = pods.get(name).await.map_err(|e| e.to_string())?;
            if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) { Ok(p) } else { Err(summary(&p)) }
        }
    })
    .await
}

/// Deletes `name` with its default grace and waits until it is gone from the API.
pub async fn delete_and_wait_gone(client: &kube::Client, name: &str, limit: Duration) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.delete(name, &Default::default()).await.expect("deleting the pod");
    wait_for(limit, &format!("pod {name} gone after graceful deletion"), || {
        let pods = pods.clone();
        async move {
            match pods.get_opt(name).await.map_err(|e| e.to_string())? {
                None => Ok(()),
                Some(p) => {
                    Err(format!("still there: deletionTimestamp={:?} {}", p.metadata.deletion_timestamp, summary(&p)))
                }
            }
        }
    })
    .await
}

/// Waits until the first container of `name` has shown waiting reason
/// `first` and then shows `then`; returns the reasons seen in order. Watches
/// the pod, so short-lived states are not missed.
pub async fn wait_waiting_reasons(
    client: &kube::Client,
    name: &str,
    first: &str,
    then: &str,
    limit: Duration,
) -> Vec<String> {
    use futures_util::StreamExt;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let config = kube::runtime::watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = kube::runtime::watcher(pods, config).boxed();
    let mut seen: Vec<String> = Vec::new();
    let mut last = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let event = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(Ok(e))) => e,
            Ok(Some(Err(e))) => panic!("watching pod {name}: {e}"),
            Ok(None) => panic!("the watch of pod {name} ended"),
            Err(_) => {
                panic!("timed out after {limit:?} waiting for {name}: {first} then {then}; seen {seen:?}; last {last}")
            }
        };
        let pod = match event {
            kube::runtime::watcher::Event::Apply(p) | kube::runtime::watcher::Event::InitApply(p) => p,
            _ => continue,
        };
        last = summary(&pod);
        let reason = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.first())
            .and_then(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
        if let Some(r) = reason
            && seen.last() != Some(&r)
        {
            seen.push(r);
        }
        if seen.iter().any(|r| r == first) && seen.last().map(String::as_str) == Some(then) {
            return seen;
        }
    }
}
