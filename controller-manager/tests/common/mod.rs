//! Shared fixtures of the controller-manager integration tests: the real
//! apiserver, the real kube-controller-manager binary, object builders and
//! bounded waits.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{Container, Namespace, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use rustkube_harness::{Apiserver, Daemon};

/// A real apiserver and a controller manager against it.
pub struct Cluster {
    pub apiserver: Apiserver,
    pub cm: Option<Daemon>,
    pub client: Client,
}

pub fn cm_args(apiserver: &Apiserver, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        format!("--kubeconfig={}", apiserver.kubeconfig().display()),
        "--bind-address=127.0.0.1".to_owned(),
        "--secure-port=0".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    if !extra.iter().any(|a| a.starts_with("--leader-elect")) {
        args.push("--leader-elect=false".to_owned());
    }
    args
}

/// Starts a controller manager binary against `apiserver`.
pub fn start_cm(apiserver: &Apiserver, extra: &[&str]) -> Daemon {
    tokio::task::block_in_place(|| Daemon::start("kube-controller-manager", &cm_args(apiserver, extra)))
}

impl Cluster {
    /// Starts the apiserver and a controller manager with `extra` flags.
    pub async fn start(extra: &[&str]) -> Self {
        let apiserver = tokio::task::block_in_place(|| Apiserver::start(&[]));
        let client = apiserver.client().await;
        let cm = Some(start_cm(&apiserver, extra));
        Cluster { apiserver, cm, client }
    }

    pub fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub async fn namespace(&self, name: &str) {
        let ns =
            Namespace { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("creating namespace");
    }

    /// Controller-manager logs, for assertion messages.
    pub fn cm_logs(&self) -> String {
        self.cm.as_ref().map(|d| d.log_tail()).unwrap_or_default()
    }
}

/// Polls `check` every 50 ms until it yields `Some`, panicking with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn template(l: &[(&str, &str)], image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels(l)), ..Default::default() }),
        spec: Some(PodSpec {
            containers: vec![Container { name: "c".into(), image: Some(image.into()), ..Default::default() }],
            ..Default::default()
        }),
    }
}

pub fn replicaset(name: &str, replicas: i32, l: &[(&str, &str)]) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            selector: LabelSelector { match_labels: Some(labels(l)), ..Default::default() },
            template: Some(template(l, "busybox")),
            ..Default::default()
        }),
        status: None,
    }
}

pub fn deployment(name: &str, replicas: i32, l: &[(&str, &str)]) -> Deployment {
    Deployment {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector { match_labels: Some(labels(l)), ..Default::default() },
            template: template(l, "busybox:1"),
            ..Default::default()
        }),
        status: None,
    }
}

pub fn bare_pod(name: &str, l: &[(&str, &str)]) -> Pod {
    Pod {
        metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels(l)), ..Default::default() },
        spec: template(l, "busybox").spec,
        status: None,
    }
}

/// Pods in `namespace` matching `selector` that are not being deleted.
pub async fn live_pods(client: &Client, namespace: &str, selector: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

/// Marks `pod` Running and Ready through the status subresource, as a kubelet would.
pub async fn make_ready(client: &Client, pod: &Pod) -> bool {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let mut p = pod.clone();
    let now = Time(jiff::Timestamp::now());
    p.status = Some(PodStatus {
        phase: Some("Running".into()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            last_transition_time: Some(now),
            ..Default::default()
        }]),
        ..Default::default()
    });
    api.replace_status(&pod.name_any(), &PostParams::default(), &p).await.is_ok()
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn controller_uid(pod_meta: &ObjectMeta) -> Option<String> {
    pod_meta.owner_references.as_ref()?.iter().find(|r| r.controller == Some(true)).map(|r| r.uid.clone())
}

/// A stand-in kubelet: marks pods of `namespace` Ready while `enabled` and
/// `filter` accepts them, until dropped.
pub struct FakeKubelet {
    pub enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeKubelet {
    pub fn start(client: &Client, namespace: &str, filter: fn(&Pod) -> bool) -> Self {
        let enabled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = enabled.clone();
        let client = client.clone();
        let namespace = namespace.to_owned();
        let task = tokio::spawn(async move {
            loop {
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    for p in live_pods(&client, &namespace, "").await {
                        if !is_ready(&p) && filter(&p) {
                            make_ready(&client, &p).await;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        FakeKubelet { enabled, task }
    }

    pub fn set(&self, on: bool) {
        self.enabled.store(on, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn any_pod(_: &Pod) -> bool {
    true
}

pub fn image_of(p: &Pod) -> String {
    p.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default()
}

/// Waits until the deployment's rollout is complete as `kubectl rollout status` judges it.
pub async fn wait_rolled_out(client: &Client, namespace: &str, name: &str, timeout: Duration) -> Deployment {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    wait_for(timeout, &format!("deployment {name} rolled out"), || async {
        let d = api.get(name).await.ok()?;
        let want = d.spec.as_ref()?.replicas.unwrap_or(1);
        let s = d.status.clone()?;
        (s.observed_generation >= d.metadata.generation
            && s.updated_replicas.unwrap_or(0) == want
            && s.replicas.unwrap_or(0) == want
            && s.available_replicas.unwrap_or(0) == want)
            .then_some(d)
    })
    .await
}

/// Replica sets in `namespace`.
pub async fn replica_sets(client: &Client, namespace: &str) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default()).await.map(|l| l.items).unwrap_or_default()
}
