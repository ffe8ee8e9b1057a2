//! kube-rs (client and runtime) against the real kube-apiserver: typed CRUD,
//! a watcher that survives a 410 Gone, and raw error statuses.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Config};
use support::{Apiserver, Backend};

async fn client(s: &Apiserver) -> Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(s.kubeconfig()).unwrap();
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    // kube-rs retries 429/503 for minutes by default; these tests want the first answer.
    config.default_retry = false;
    Client::try_from(config).unwrap()
}

fn cm(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "metadata": { "name": name, "labels": { "app": "kube-rs" } },
        "data": { "v": value },
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_crud_conflict_and_not_found() {
    let s = Apiserver::start(&[]);
    let c = client(&s).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let created = cms.create(&PostParams::default(), &cm("a", "1")).await.unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    let got = cms.get("a").await.unwrap();
    assert_eq!(got.data.unwrap()["v"], "1");
    let mut stale = created.clone();
    let patched =
        cms.patch("a", &PatchParams::default(), &Patch::Merge(serde_json::json!({"data": {"v": "2"}}))).await.unwrap();
    assert_eq!(patched.data.unwrap()["v"], "2");
    stale.data = Some([("v".to_owned(), "3".to_owned())].into());
    match cms.replace("a", &PostParams::default(), &stale).await {
        Err(kube::Error::Api(status)) => assert_eq!((status.code, status.reason.as_str()), (409, "Conflict")),
        other => panic!("stale replace must be a 409 Conflict, got {other:?}"),
    }
    let list = cms.list(&ListParams::default().labels("app=kube-rs")).await.unwrap();
    assert_eq!(list.items.len(), 1);
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    match cms.get("a").await {
        Err(kube::Error::Api(status)) => assert_eq!((status.code, status.reason.as_str()), (404, "NotFound")),
        other => panic!("expected 404, got {other:?}"),
    }
    let deploys: Api<Deployment> = Api::namespaced(c, "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "d" },
        "spec": { "selector": { "matchLabels": { "a": "b" } },
                  "template": { "metadata": { "labels": { "a": "b" } },
                                "spec": { "containers": [{ "name": "c", "image": "busybox" }] } } }
    }))
    .unwrap();
    let d = deploys.create(&PostParams::default(), &d).await.unwrap();
    let spec = d.spec.unwrap();
    assert_eq!(
        (spec.replicas, spec.revision_history_limit, spec.progress_deadline_seconds),
        (Some(1), Some(10), Some(600))
    );
    let scale = deploys.get_scale("d").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(1));
}

/// A watcher that falls behind compaction gets 410 Gone, relists and carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_survives_410_gone() {
    let mut s = Apiserver::start_on(Backend::Etcd, &[]);
    let c = client(&s).await;
    let cms: Api<ConfigMap> = Api::namespaced(c, "default");
    let before = cms.create(&PostParams::default(), &cm("before", "1")).await.unwrap();
    let old_rv = before.metadata.resource_version.clone().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch = tokio::spawn(async move {
        let mut stream = watcher(cms, watcher::Config::default()).default_backoff().boxed();
        while let Some(item) = stream.next().await {
            if let Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) = item {
                let _ = tx.send(o.metadata.name.clone().unwrap_or_default());
            }
        }
    });
    wait_for(&mut rx, "before").await;
    // Stop the apiserver, write and compact behind its back, start it again on the same port.
    s.restart_with(|etcd_endpoint| async move {
        let store = rustkube_storage::etcd::EtcdStore::connect(&[etcd_endpoint]).await.unwrap();
        use rustkube_storage::Store;
        let key = "/registry/configmaps/default/behind-the-back";
        let obj = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "behind-the-back", "namespace": "default", "uid": "x", "creationTimestamp": "2026-01-01T00:00:00Z"}});
        store.create(key, serde_json::to_vec(&obj).unwrap().into()).await.unwrap();
        // A second change, so that compacting removes history the watcher still needs.
        store.update(key, serde_json::to_vec(&obj).unwrap().into(), None).await.unwrap();
        let rev = store.current_revision().await.unwrap();
        store.compact(rev).await.unwrap();
    })
    .await;
    // The old version is gone: a raw watch from it is an ERROR event with a 410 Status.
    let raw = s.ok(
        "1.33",
        &[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old_rv}&timeoutSeconds=5"),
        ],
    );
    assert!(raw.contains(r#""type":"ERROR""#) && raw.contains(r#""code":410"#), "410 Gone expected: {raw}");
    wait_for(&mut rx, "behind-the-back").await;
    watch.abort();
}

async fn wait_for(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, name: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(n)) if n == name => return,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("watcher ended before seeing {name}"),
            Err(_) => panic!("watcher did not see {name} within 60s"),
        }
    }
}

/// pods/eviction honours a PodDisruptionBudget (429) and deletes the pod otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_respects_disruption_budgets() {
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    let s = Apiserver::start(&[]);
    let c = client(&s).await;
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "p", "labels": { "app": "db" } },
        "spec": { "containers": [{ "name": "c", "image": "busybox" }] }
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(c, "default");
    let pdb: PodDisruptionBudget = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "db" },
        "spec": { "minAvailable": 1, "selector": { "matchLabels": { "app": "db" } } }
    }))
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    match pods.evict("p", &Default::default()).await {
        Err(kube::Error::Api(status)) => assert_eq!((status.code, status.reason.as_str()), (429, "TooManyRequests")),
        other => panic!("eviction against an exhausted budget must be 429, got {other:?}"),
    }
    assert!(pods.get("p").await.is_ok(), "the pod is still there");
    pdbs.delete("db", &DeleteParams::default()).await.unwrap();
    pods.evict("p", &Default::default()).await.unwrap();
    assert!(pods.get_opt("p").await.unwrap().is_none(), "an unscheduled pod is deleted at once");
}

/// An event recorded through events.k8s.io/v1 is a core/v1 Event to kubectl, and back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_api_and_core_events_are_one_collection() {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use k8s_openapi::api::events::v1::Event;
    let s = Apiserver::start(&[]);
    let c = client(&s).await;
    let events: Api<Event> = Api::namespaced(c.clone(), "default");
    let ev: Event = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "pulled.1" },
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": { "kind": "Pod", "name": "web-0", "namespace": "default" },
        "reason": "Pulled", "note": "image pulled", "type": "Normal", "action": "Pull",
        "reportingController": "kubelet", "reportingInstance": "node-1"
    }))
    .unwrap();
    events.create(&PostParams::default(), &ev).await.unwrap();
    let core: Api<CoreEvent> = Api::namespaced(c, "default");
    let got = core.get("pulled.1").await.unwrap();
    assert_eq!(got.message.as_deref(), Some("image pulled"));
    assert_eq!(got.involved_object.name.as_deref(), Some("web-0"));
    assert_eq!(got.reporting_component.as_deref(), Some("kubelet"));
    let by_field = core.list(&ListParams::default().fields("involvedObject.name=web-0")).await.unwrap();
    assert_eq!(by_field.items.len(), 1, "kubectl describe's field selector finds it");
    let back = events.get("pulled.1").await.unwrap();
    assert_eq!(back.note.as_deref(), Some("image pulled"));
    let table = s.ok("1.33", &["get", "events", "-n", "default"]);
    assert!(table.contains("Pulled") && table.contains("image pulled") && table.contains("pod/web-0"), "{table}");
}

/// autoscaling/v1 and v2 serve one collection of HorizontalPodAutoscalers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_v1_and_v2_are_one_collection() {
    use k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler as HpaV1;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler as HpaV2;
    let s = Apiserver::start(&[]);
    let c = client(&s).await;
    let v1: Api<HpaV1> = Api::namespaced(c.clone(), "default");
    let v2: Api<HpaV2> = Api::namespaced(c, "default");
    let old: HpaV1 = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "old" },
        "spec": { "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "web" },
                  "maxReplicas": 4, "targetCPUUtilizationPercentage": 70 }
    }))
    .unwrap();
    v1.create(&PostParams::default(), &old).await.unwrap();
    let seen = v2.get("old").await.unwrap();
    let metric = &seen.spec.as_ref().unwrap().metrics.as_ref().unwrap()[0];
    assert_eq!(metric.resource.as_ref().unwrap().target.average_utilization, Some(70), "v1 target is a v2 cpu metric");
    let new: HpaV2 = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "new" },
        "spec": { "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "web" }, "maxReplicas": 4,
                  "metrics": [{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 60 } } }] }
    }))
    .unwrap();
    v2.create(&PostParams::default(), &new).await.unwrap();
    assert_eq!(v1.get("new").await.unwrap().spec.unwrap().target_cpu_utilization_percentage, Some(60));
    assert_eq!(v1.list(&ListParams::default()).await.unwrap().items.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_gets_a_bookmark_before_its_timeout() {
    use kube::api::{WatchEvent, WatchParams};
    let s = tokio::task::block_in_place(|| Apiserver::start(&[]));
    let api: Api<ConfigMap> = Api::namespaced(client(&s).await, "default");
    let created = api.create(&PostParams::default(), &cm("bookmarked", "1")).await.unwrap();
    let created_rv: i64 = created.metadata.resource_version.unwrap().parse().unwrap();
    // Upstream sends a bookmark 2 s before a watch's deadline (or every minute).
    let params = WatchParams::default().timeout(4);
    assert!(params.bookmarks, "kube-rs asks for bookmarks by default");
    let started = std::time::Instant::now();
    let mut stream = api.watch(&params, "0").await.unwrap().boxed();
    let mut bookmark_rv = None;
    while let Some(ev) =
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("watch ended by its timeout")
    {
        if let WatchEvent::Bookmark(bm) = ev.unwrap() {
            bookmark_rv = Some(bm.metadata.resource_version.parse::<i64>().unwrap());
            break;
        }
    }
    let rv = bookmark_rv.expect("a BOOKMARK event before the watch timed out");
    assert!(rv >= created_rv, "bookmark at {rv} must not be older than the last seen change {created_rv}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bookmark arrived before the deadline: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_assigns_the_node_once_and_marks_the_pod_scheduled() {
    use k8s_openapi::api::core::v1::Pod;
    let s = tokio::task::block_in_place(|| Apiserver::start(&[]));
    let pods: Api<Pod> = Api::namespaced(client(&s).await, "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "unbound" },
        "spec": { "containers": [{ "name": "c", "image": "busybox" }] },
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let binding = |node: &str| {
        serde_json::json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": { "name": "unbound", "annotations": { "scheduled-by": "test" } },
            "target": { "apiVersion": "v1", "kind": "Node", "name": node },
        })
    };
    pods.create_subresource::<_, serde_json::Value>("binding", "unbound", &PostParams::default(), &binding("node-a"))
        .await
        .expect("the first binding is accepted");
    let bound = pods.get("unbound").await.unwrap();
    assert_eq!(bound.spec.as_ref().unwrap().node_name.as_deref(), Some("node-a"));
    assert_eq!(bound.metadata.annotations.unwrap().get("scheduled-by").map(String::as_str), Some("test"));
    let conditions = bound.status.unwrap().conditions.unwrap_or_default();
    assert!(
        conditions.iter().any(|c| c.type_ == "PodScheduled" && c.status == "True"),
        "PodScheduled=True expected: {conditions:?}"
    );
    let again = pods
        .create_subresource::<_, serde_json::Value>("binding", "unbound", &PostParams::default(), &binding("node-b"))
        .await;
    match again {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 409, "a second binding conflicts: {s:?}"),
        other => panic!("a second binding must be refused with 409, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_status_updates_carry_annotations_but_not_spec() {
    let s = tokio::task::block_in_place(|| Apiserver::start(&[]));
    let deployments: Api<Deployment> = Api::namespaced(client(&s).await, "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "rev", "labels": { "app": "rev" } },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app": "rev" } },
            "template": { "metadata": { "labels": { "app": "rev" } },
                          "spec": { "containers": [{ "name": "c", "image": "busybox" }] } },
        },
    }))
    .unwrap();
    let mut current = deployments.create(&PostParams::default(), &d).await.unwrap();
    current.metadata.annotations = Some([("deployment.kubernetes.io/revision".to_owned(), "1".to_owned())].into());
    current.metadata.labels = Some([("app".to_owned(), "changed".to_owned())].into());
    current.spec.as_mut().unwrap().replicas = Some(7);
    current.status = Some(Default::default());
    current.status.as_mut().unwrap().observed_generation = Some(1);
    let updated = deployments.replace_status("rev", &PostParams::default(), &current).await.unwrap();
    let annotations = updated.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("deployment.kubernetes.io/revision").map(String::as_str), Some("1"));
    assert_eq!(updated.metadata.labels.unwrap().get("app").map(String::as_str), Some("rev"), "labels stay");
    assert_eq!(updated.spec.unwrap().replicas, Some(1), "spec stays");
    assert_eq!(updated.status.unwrap().observed_generation, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_admission_resolves_classes_and_refuses_unknown_or_forged_ones() {
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::scheduling::v1::PriorityClass;
    let s = tokio::task::block_in_place(|| Apiserver::start(&[]));
    let c = client(&s).await;
    let classes: Api<PriorityClass> = Api::all(c.clone());
    let system = classes.get("system-cluster-critical").await.expect("system classes exist at start");
    assert_eq!(system.value, 2_000_000_000);
    let pods: Api<Pod> = Api::namespaced(c, "default");
    let pod = |name: &str, class: Option<&str>, priority: Option<i64>| -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": { "name": name },
            "spec": { "priorityClassName": class, "priority": priority,
                      "containers": [{ "name": "c", "image": "busybox" }] },
        }))
        .unwrap()
    };
    let plain = pods.create(&PostParams::default(), &pod("plain", None, None)).await.unwrap();
    assert_eq!(plain.spec.unwrap().priority, Some(0), "no class, no default: priority 0");

    let critical =
        pods.create(&PostParams::default(), &pod("critical", Some("system-node-critical"), None)).await.unwrap();
    let spec = critical.spec.unwrap();
    assert_eq!((spec.priority, spec.preemption_policy.as_deref()), (Some(2_000_001_000), Some("PreemptLowerPriority")));

    match pods.create(&PostParams::default(), &pod("ghost", Some("no-such-class"), None)).await {
        Err(kube::Error::Api(e)) => {
            assert_eq!(e.code, 403);
            assert!(e.message.contains("no PriorityClass with name no-such-class was found"), "{}", e.message);
        }
        other => panic!("an unknown class must be refused: {other:?}"),
    }
    match pods.create(&PostParams::default(), &pod("forged", None, Some(1_000_000))).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 403, "{}", e.message),
        other => panic!("a forged priority must be refused: {other:?}"),
    }

    let default: PriorityClass = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "everyone" }, "value": 500, "globalDefault": true,
    }))
    .unwrap();
    classes.create(&PostParams::default(), &default).await.unwrap();
    // The admission cache follows the new class within moments.
    let mut got = None;
    for i in 0..50 {
        let p = pods.create(&PostParams::default(), &pod(&format!("later-{i}"), None, None)).await.unwrap();
        let spec = p.spec.unwrap();
        if spec.priority == Some(500) {
            got = spec.priority_class_name;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(got.as_deref(), Some("everyone"), "the global default class applies to pods without a class");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_points_the_kubernetes_service_back_at_this_server() {
    use k8s_openapi::api::core::v1::{Endpoints, Service};
    let mut s = Apiserver::start(&[]);
    let c = client(&s).await;
    let eps: Api<Endpoints> = Api::namespaced(c.clone(), "default");
    let svcs: Api<Service> = Api::namespaced(c.clone(), "default");
    // Someone (or a previous run on another port) left them pointing elsewhere.
    eps.patch(
        "kubernetes",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "subsets": [{ "addresses": [{ "ip": "10.0.0.9" }], "ports": [{ "name": "https", "port": 1, "protocol": "TCP" }] }] })),
    )
    .await
    .unwrap();
    svcs.patch(
        "kubernetes",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": { "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": 1 }] } })),
    )
    .await
    .unwrap();
    s.restart_with(|_| async {}).await;
    let c = client(&s).await;
    let ep: Endpoints = Api::namespaced(c.clone(), "default").get("kubernetes").await.unwrap();
    let subset = &ep.subsets.unwrap()[0];
    assert_eq!(subset.ports.as_ref().unwrap()[0].port, i32::from(s.port));
    assert_eq!(subset.addresses.as_ref().unwrap()[0].ip, "127.0.0.1");
    let svc: Service = Api::namespaced(c, "default").get("kubernetes").await.unwrap();
    let target = svc.spec.unwrap().ports.unwrap()[0].target_port.clone().unwrap();
    assert_eq!(target, k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i32::from(s.port)));
}
