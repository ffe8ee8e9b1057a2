//! A real kube-apiserver with the scheduler running in-process against it,
//! and helpers to create nodes and pods and wait for outcomes.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use rustkube_harness::Apiserver;
use rustkube_scheduler::Options;
use rustkube_scheduler::testing::{NodeBuilder, PodBuilder};

/// An apiserver plus an in-process scheduler; both stop on drop.
pub struct Cluster {
    pub apiserver: Apiserver,
    pub client: kube::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Cluster {
    /// Starts both; `config` is an optional KubeSchedulerConfiguration YAML.
    pub async fn start(config: Option<&str>) -> Cluster {
        let apiserver = tokio::task::block_in_place(|| Apiserver::start(&[]));
        let client = apiserver.client().await;
        let mut args = vec![
            "kube-scheduler".to_string(),
            format!("--kubeconfig={}", apiserver.kubeconfig().display()),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
            "--bind-address=127.0.0.1".into(),
        ];
        if let Some(yaml) = config {
            let path = apiserver.dir.path().join("scheduler-config.yaml");
            std::fs::write(&path, yaml).unwrap();
            args.push(format!("--config={}", path.display()));
        }
        let cfg = Options::try_parse_from_args(&args).into_config().expect("scheduler config");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(rustkube_scheduler::run(cfg, async move {
            let _ = rx.await;
        }));
        Cluster { apiserver, client, stop: Some(tx), task: Some(task) }
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Creates a node with its status (allocatable, images) as a kubelet registers it.
    pub async fn node(&self, b: NodeBuilder) {
        let node = b.build();
        let api: Api<Node> = Api::all(self.client.clone());
        let name = node.metadata.name.clone().unwrap();
        let status = node.status.clone();
        api.create(&PostParams::default(), &node).await.expect("creating node");
        let patch = serde_json::json!({ "status": status });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("setting node status");
    }

    /// Creates a pod (the builder's fake uid dropped).
    pub async fn pod(&self, b: PodBuilder) {
        let mut pod = b.build();
        pod.metadata.uid = None;
        let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        Api::<Pod>::namespaced(self.client.clone(), &ns)
            .create(&PostParams::default(), &pod)
            .await
            .expect("creating pod");
    }

    /// Creates PriorityClass `p<value>` (if missing); returns its name.
    pub async fn priority_class(&self, value: i32) -> String {
        use k8s_openapi::api::scheduling::v1::PriorityClass;
        let name = format!("p{value}");
        let api: Api<PriorityClass> = Api::all(self.client.clone());
        if api.get_opt(&name).await.expect("reading priority class").is_none() {
            let pc: PriorityClass =
                serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "value": value})).unwrap();
            api.create(&PostParams::default(), &pc).await.expect("creating priority class");
        }
        name
    }

    /// Waits until the pod is bound; returns the node.
    pub async fn bound(&self, ns: &str, name: &str) -> String {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pod = api.get(name).await.expect("reading pod");
            if let Some(n) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
                return n;
            }
            assert!(
                Instant::now() < deadline,
                "pod {ns}/{name} not bound within 20s; events: {:?}",
                self.event_notes(ns, name).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Notes of the pod's events as `reason: note`.
    pub async fn event_notes(&self, ns: &str, name: &str) -> Vec<String> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), ns);
        let list = api.list(&ListParams::default()).await.expect("listing events");
        list.items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| format!("{}: {}", e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
    }

    /// Waits for an event with `reason` on the pod; returns its note.
    pub async fn event(&self, ns: &str, name: &str, reason: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let prefix = format!("{reason}: ");
            if let Some(n) = self.event_notes(ns, name).await.into_iter().find(|n| n.starts_with(&prefix)) {
                return n[prefix.len()..].to_owned();
            }
            assert!(Instant::now() < deadline, "no {reason} event for {ns}/{name} within 20s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for an event with `reason` whose note contains `needle`; returns the note.
    pub async fn event_containing(&self, ns: &str, name: &str, reason: &str, needle: &str) -> String {
        self.event_where(ns, name, reason, |n| n.contains(needle)).await
    }

    /// Waits for an event with `reason` whose note satisfies `pred` (the scheduler may
    /// report earlier attempts, made before its watches delivered every node).
    pub async fn event_where(&self, ns: &str, name: &str, reason: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        let prefix = format!("{reason}: ");
        loop {
            let notes = self.event_notes(ns, name).await;
            if let Some(n) = notes.iter().filter_map(|n| n.strip_prefix(&prefix)).find(|n| pred(n)) {
                return n.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no matching {reason} event for {ns}/{name} within 20s; events: {notes:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the pod's PodScheduled=False condition; returns (reason, message).
    pub async fn unschedulable_condition(&self, ns: &str, name: &str, message: &str) -> (String, String) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pod = api.get(name).await.expect("reading pod");
            let cond = pod
                .status
                .and_then(|s| s.conditions)
                .and_then(|cs| cs.into_iter().find(|c| c.type_ == "PodScheduled" && c.status == "False"));
            if let Some(c) = cond.filter(|c| c.message.as_deref() == Some(message)) {
                return (c.reason.unwrap_or_default(), c.message.unwrap_or_default());
            }
            assert!(
                Instant::now() < deadline,
                "pod {ns}/{name} has no PodScheduled=False condition with {message:?} within 20s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts the pod is still unbound.
    pub async fn assert_pending(&self, ns: &str, name: &str) {
        let pod = Api::<Pod>::namespaced(self.client.clone(), ns).get(name).await.expect("reading pod");
        assert!(
            pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none(),
            "pod {ns}/{name} should be pending but is on {:?}",
            pod.spec.and_then(|s| s.node_name)
        );
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let r = tokio::time::timeout(Duration::from_secs(10), t).await.expect("scheduler stops within 10s");
            r.expect("scheduler task").expect("scheduler returned an error");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Parsing helper so tests can build options from a Vec<String>.
pub trait ParseArgs {
    fn try_parse_from_args(args: &[String]) -> Self;
}

impl ParseArgs for Options {
    fn try_parse_from_args(args: &[String]) -> Self {
        <Options as clap::Parser>::try_parse_from(args).expect("valid scheduler flags")
    }
}
