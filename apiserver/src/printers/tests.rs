//! Table-driven tests per kind against upstream's rendering, plus a no-panic sweep over malformed objects.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{cells, columns, human_duration, quantity};

/// The fixed server time every test renders against.
fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

/// An RFC 3339 timestamp `secs` seconds before [`now`].
fn ago(secs: i64) -> String {
    Timestamp::from_second(now().as_second() - secs).unwrap().to_string()
}

/// Sets `path` (dotted object keys) in `obj`, creating intermediate objects.
fn set(obj: &mut Value, path: &str, value: Value) {
    let mut cur = obj;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let map = cur.as_object_mut().unwrap();
        if keys.peek().is_none() {
            map.insert(key.to_string(), value);
            return;
        }
        cur = map.entry(key.to_string()).or_insert_with(|| json!({}));
    }
}

/// A generic object fixture: a name, created ten minutes ago, plus whatever the test sets.
#[derive(Debug, Clone)]
struct Obj(Value);

fn obj(name: &str) -> Obj {
    Obj(json!({"metadata": {"name": name, "creationTimestamp": ago(600)}}))
}

impl Obj {
    fn with(mut self, path: &str, value: Value) -> Self {
        set(&mut self.0, path, value);
        self
    }

    fn deleting(self) -> Self {
        self.with("metadata.deletionTimestamp", json!(ago(5)))
    }

    fn condition(mut self, path: &str, type_: &str, status: &str) -> Self {
        let mut conditions = super::fields::arr(&self.0, path).to_vec();
        conditions.push(json!({"type": type_, "status": status}));
        set(&mut self.0, path, Value::Array(conditions));
        self
    }
}

/// Asserts a row's cells, and that the row has one cell per column.
#[track_caller]
fn check(group: &str, plural: &str, o: &Value, expected: Value) {
    let got = cells(group, plural, o, now());
    assert_eq!(Value::Array(got.clone()), expected, "cells of {group}/{plural}");
    assert_eq!(got.len(), columns(group, plural).len(), "one cell per column of {group}/{plural}");
}

/// Asserts the column names and which of them are wide-only.
#[track_caller]
fn check_columns(group: &str, plural: &str, expected: &[(&str, i32)]) {
    let got: Vec<(&str, i32)> = columns(group, plural).iter().map(|c| (c.name, c.priority)).collect();
    assert_eq!(got, expected, "columns of {group}/{plural}");
}

// ---------------------------------------------------------------------------------------------------------
// Pods

/// A container status fixture.
#[derive(Debug, Clone)]
struct Status(Value);

fn running() -> Status {
    Status(json!({"state": {"running": {"startedAt": ago(300)}}, "ready": false, "restartCount": 0}))
}

fn waiting(reason: &str) -> Status {
    Status(json!({"state": {"waiting": {"reason": reason}}, "ready": false, "restartCount": 0}))
}

fn terminated(reason: &str, exit_code: i64) -> Status {
    Status(json!({"state": {"terminated": {"reason": reason, "exitCode": exit_code}}, "restartCount": 0}))
}

impl Status {
    fn ready(mut self) -> Self {
        set(&mut self.0, "ready", json!(true));
        self
    }

    fn started(mut self) -> Self {
        set(&mut self.0, "started", json!(true));
        self
    }

    fn signal(mut self, signal: i64) -> Self {
        set(&mut self.0, "state.terminated.signal", json!(signal));
        self
    }

    /// `count` restarts, the last one having finished `secs` seconds ago.
    fn restarts(mut self, count: i64, secs: i64) -> Self {
        set(&mut self.0, "restartCount", json!(count));
        set(&mut self.0, "lastState.terminated.finishedAt", json!(ago(secs)));
        self
    }
}

/// A pod fixture: running phase, no containers until added.
#[derive(Debug, Clone)]
struct Pod(Obj);

fn pod(name: &str) -> Pod {
    Pod(obj(name).with("spec.containers", json!([])).with("status.phase", json!("Running")))
}

impl Pod {
    fn push(mut self, list: &str, item: Value) -> Self {
        let mut items = super::fields::arr(&self.0.0, list).to_vec();
        items.push(item);
        self.0 = self.0.with(list, Value::Array(items));
        self
    }

    fn container(self, status: Status) -> Self {
        let name = format!("c{}", super::fields::arr(&self.0.0, "spec.containers").len());
        let mut status = status.0;
        set(&mut status, "name", json!(name));
        self.push("spec.containers", json!({"name": name, "image": "img"})).push("status.containerStatuses", status)
    }

    fn init_container(self, status: Status) -> Self {
        self.init(status, json!(null))
    }

    fn sidecar(self, status: Status) -> Self {
        self.init(status, json!("Always"))
    }

    fn init(self, status: Status, restart_policy: Value) -> Self {
        let name = format!("i{}", super::fields::arr(&self.0.0, "spec.initContainers").len());
        let mut status = status.0;
        set(&mut status, "name", json!(name));
        self.push("spec.initContainers", json!({"name": name, "restartPolicy": restart_policy}))
            .push("status.initContainerStatuses", status)
    }

    fn phase(self, phase: &str) -> Self {
        Pod(self.0.with("status.phase", json!(phase)))
    }

    fn condition(self, type_: &str, status: &str) -> Self {
        Pod(self.0.condition("status.conditions", type_, status))
    }

    fn with(self, path: &str, value: Value) -> Self {
        Pod(self.0.with(path, value))
    }

    fn deleting(self) -> Self {
        Pod(self.0.deleting())
    }

    fn build(self) -> Value {
        self.0.0
    }
}

/// The default-column cells of a pod: NAME READY STATUS RESTARTS AGE.
#[track_caller]
fn check_pod(p: Pod, ready: &str, status: &str, restarts: &str) {
    let got = cells("", "pods", &p.build(), now());
    assert_eq!(got[..5], [json!("web"), json!(ready), json!(status), json!(restarts), json!("10m")]);
}

#[test]
fn pod_columns_match_upstream() {
    check_columns(
        "",
        "pods",
        &[
            ("Name", 0),
            ("Ready", 0),
            ("Status", 0),
            ("Restarts", 0),
            ("Age", 0),
            ("IP", 1),
            ("Node", 1),
            ("Nominated Node", 1),
            ("Readiness Gates", 1),
        ],
    );
    assert_eq!(columns("", "pods")[0].format, "name");
    assert_eq!(columns("", "pods")[3].type_, "string");
}

#[test]
fn pod_running_and_ready() {
    check_pod(pod("web").container(running().ready()).condition("Ready", "True"), "1/1", "Running", "0");
    check_pod(pod("web").container(running().ready()).container(running()), "1/2", "Running", "0");
}

#[test]
fn pod_restarts_show_when_the_last_one_happened() {
    check_pod(pod("web").container(running().ready().restarts(3, 300)), "1/1", "Running", "3 (5m ago)");
    // The latest termination across containers counts, and restarts add up.
    check_pod(
        pod("web").container(running().ready().restarts(1, 7200)).container(running().ready().restarts(2, 90)),
        "2/2",
        "Running",
        "3 (90s ago)",
    );
    // Restarts without a recorded termination print the bare count.
    let no_time = Status(json!({"state": {"running": {}}, "ready": true, "restartCount": 4}));
    check_pod(pod("web").container(no_time), "1/1", "Running", "4");
}

#[test]
fn pod_waiting_and_terminated_reasons() {
    check_pod(
        pod("web").container(waiting("CrashLoopBackOff").restarts(5, 30)),
        "0/1",
        "CrashLoopBackOff",
        "5 (30s ago)",
    );
    check_pod(pod("web").container(waiting("ErrImagePull")), "0/1", "ErrImagePull", "0");
    check_pod(pod("web").container(waiting("ContainerCreating")).phase("Pending"), "0/1", "ContainerCreating", "0");
    check_pod(pod("web").container(terminated("OOMKilled", 137)), "0/1", "OOMKilled", "0");
    check_pod(pod("web").container(terminated("", 2)), "0/1", "ExitCode:2", "0");
    check_pod(pod("web").container(terminated("", 0).signal(9)), "0/1", "Signal:9", "0");
    check_pod(pod("web").container(terminated("Completed", 0)).phase("Succeeded"), "0/1", "Completed", "0");
    check_pod(pod("web").container(terminated("Error", 1)).phase("Failed"), "0/1", "Error", "0");
}

#[test]
fn pod_completed_with_a_running_container_is_running_or_not_ready() {
    // Statuses are walked last to first, so the first container's reason wins.
    let p = pod("web").container(terminated("Completed", 0)).container(running().ready());
    check_pod(p.clone().condition("Ready", "True"), "1/2", "Running", "0");
    check_pod(p, "1/2", "NotReady", "0");
}

#[test]
fn pod_init_containers() {
    let app = || waiting("PodInitializing");
    check_pod(pod("web").init_container(running()).container(app()).phase("Pending"), "0/1", "Init:0/1", "0");
    check_pod(
        pod("web").init_container(terminated("Completed", 0)).init_container(running()).container(app()),
        "0/1",
        "Init:1/2",
        "0",
    );
    check_pod(
        pod("web").init_container(waiting("CrashLoopBackOff").restarts(2, 60)).container(app()),
        "0/1",
        "Init:CrashLoopBackOff",
        "2 (60s ago)",
    );
    check_pod(pod("web").init_container(terminated("Error", 1)).container(app()), "0/1", "Init:Error", "0");
    check_pod(pod("web").init_container(terminated("", 3)).container(app()), "0/1", "Init:ExitCode:3", "0");
    check_pod(pod("web").init_container(terminated("", 1).signal(15)).container(app()), "0/1", "Init:Signal:15", "0");
    // A waiting reason of PodInitializing on an init container reads as progress, not a failure.
    check_pod(pod("web").init_container(waiting("PodInitializing")).container(app()), "0/1", "Init:0/1", "0");
    // All init containers done: the app container's state shows.
    check_pod(
        pod("web").init_container(terminated("Completed", 0)).container(app()).phase("Pending"),
        "0/1",
        "PodInitializing",
        "0",
    );
}

#[test]
fn pod_sidecars_count_towards_ready_and_restarts() {
    let p = pod("web").sidecar(running().ready().started().restarts(2, 120)).container(running().ready());
    check_pod(p, "2/2", "Running", "2 (2m ago)");
    // A sidecar that has not started holds initialization back.
    check_pod(pod("web").sidecar(running()).container(waiting("PodInitializing")), "0/2", "Init:0/1", "0");
    // Once the pod is initialized, only sidecar restarts carry over from the init phase.
    let p = pod("web")
        .init_container(terminated("Completed", 0).restarts(4, 600))
        .container(running().ready())
        .condition("Initialized", "True");
    check_pod(p, "1/1", "Running", "0");
}

#[test]
fn pod_terminating_unknown_and_gated() {
    check_pod(pod("web").container(running().ready()).deleting(), "1/1", "Terminating", "0");
    // Terminal pods keep their phase while being deleted.
    check_pod(pod("web").container(terminated("Completed", 0)).phase("Succeeded").deleting(), "0/1", "Completed", "0");
    check_pod(
        pod("web").container(running().ready()).with("status.reason", json!("NodeLost")).deleting(),
        "1/1",
        "Unknown",
        "0",
    );
    check_pod(pod("web").with("status.reason", json!("Evicted")).phase("Failed"), "0/0", "Evicted", "0");
    let gated = pod("web")
        .phase("Pending")
        .with("status.conditions", json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]));
    check_pod(gated, "0/0", "SchedulingGated", "0");
}

#[test]
fn pod_wide_cells() {
    let p = pod("web")
        .container(running().ready())
        .with("status.podIP", json!("10.0.0.7"))
        .with("spec.nodeName", json!("n1"))
        .with("spec.readinessGates", json!([{"conditionType": "lb/ready"}, {"conditionType": "other"}]))
        .condition("lb/ready", "True");
    check("", "pods", &p.build(), json!(["web", "1/1", "Running", "0", "10m", "10.0.0.7", "n1", "<none>", "1/2"]));
    let bare =
        pod("web").with("status.podIPs", json!([{"ip": "fd00::1"}])).with("status.nominatedNodeName", json!("n2"));
    check("", "pods", &bare.build(), json!(["web", "0/0", "Running", "0", "10m", "fd00::1", "<none>", "n2", "<none>"]));
}

// ---------------------------------------------------------------------------------------------------------
// Workloads

fn template(containers: &[(&str, &str)]) -> Value {
    let containers: Vec<Value> = containers.iter().map(|(n, i)| json!({"name": n, "image": i})).collect();
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}})
}

fn app_selector() -> Value {
    json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]})
}

#[test]
fn deployment_row() {
    check_columns(
        "apps",
        "deployments",
        &[
            ("Name", 0),
            ("Ready", 0),
            ("Up-to-date", 0),
            ("Available", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1),
        ],
    );
    let d = obj("web")
        .with("spec.replicas", json!(3))
        .with("spec.selector", app_selector())
        .with("spec.template", template(&[("nginx", "nginx:1"), ("side", "busybox")]))
        .with("status", json!({"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}));
    check(
        "apps",
        "deployments",
        &d.0,
        json!(["web", "2/3", 3, 2, "10m", "nginx,side", "nginx:1,busybox", "app=web,tier in (a,b)"]),
    );
    // Deployments print the bare selector: "" when unset, "<invalid>" when broken.
    let bare = obj("web");
    check("apps", "deployments", &bare.0, json!(["web", "0/0", 0, 0, "10m", "", "", ""]));
    let broken = obj("web").with("spec.selector", json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}));
    assert_eq!(cells("apps", "deployments", &broken.0, now())[7], json!("<invalid>"));
}

#[test]
fn replica_set_and_replication_controller_rows() {
    let rs = obj("web-123")
        .with("spec.replicas", json!(2))
        .with("spec.selector", json!({"matchLabels": {"app": "web"}}))
        .with("spec.template", template(&[("nginx", "nginx")]))
        .with("status", json!({"replicas": 2, "readyReplicas": 1}));
    check("apps", "replicasets", &rs.0, json!(["web-123", 2, 2, 1, "10m", "nginx", "nginx", "app=web"]));
    let empty_selector = obj("x").with("spec.selector", json!({}));
    assert_eq!(cells("apps", "replicasets", &empty_selector.0, now())[7], json!("<none>"));
    let bad = obj("x").with("spec.selector", json!({"matchLabels": {"app": "not valid!"}}));
    assert_eq!(cells("apps", "replicasets", &bad.0, now())[7], json!("<error>"));

    let rc = obj("web")
        .with("spec.replicas", json!(1))
        .with("spec.selector", json!({"b": "2", "a": "1"}))
        .with("spec.template", template(&[("nginx", "nginx")]))
        .with("status", json!({"replicas": 1, "readyReplicas": 1}));
    check("", "replicationcontrollers", &rc.0, json!(["web", 1, 1, 1, "10m", "nginx", "nginx", "a=1,b=2"]));
}

#[test]
fn stateful_set_and_daemon_set_rows() {
    let sts = obj("db")
        .with("spec.replicas", json!(3))
        .with("spec.template", template(&[("pg", "postgres")]))
        .with("status.readyReplicas", json!(1));
    check("apps", "statefulsets", &sts.0, json!(["db", "1/3", "10m", "pg", "postgres"]));

    let mut t = template(&[("agent", "agent:2")]);
    set(&mut t, "spec.nodeSelector", json!({"kubernetes.io/os": "linux"}));
    let ds = obj("agent").with("spec.template", t).with("spec.selector", json!({"matchLabels": {"app": "agent"}})).with(
        "status",
        json!({"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2}),
    );
    check(
        "apps",
        "daemonsets",
        &ds.0,
        json!(["agent", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "10m", "agent", "agent:2", "app=agent"]),
    );
    let bare = obj("agent");
    check("apps", "daemonsets", &bare.0, json!(["agent", 0, 0, 0, 0, 0, "<none>", "10m", "", "", "<none>"]));
}

#[test]
fn controller_revision_row() {
    let owner = |api_version: &str, kind: &str| {
        obj("web-abc").with("revision", json!(4)).with(
            "metadata.ownerReferences",
            json!([{"apiVersion": "v1", "kind": "Pod", "name": "other"}, {"apiVersion": api_version, "kind": kind, "name": "web", "controller": true}]),
        )
    };
    check(
        "apps",
        "controllerrevisions",
        &owner("apps/v1", "StatefulSet").0,
        json!(["web-abc", "statefulset.apps/web", 4, "10m"]),
    );
    check("apps", "controllerrevisions", &owner("v1", "Pod").0, json!(["web-abc", "pod/web", 4, "10m"]));
    check("apps", "controllerrevisions", &obj("x").0, json!(["x", "<none>", 0, "10m"]));
}

#[test]
fn job_rows() {
    check_columns(
        "batch",
        "jobs",
        &[
            ("Name", 0),
            ("Status", 0),
            ("Completions", 0),
            ("Duration", 0),
            ("Age", 0),
            ("Containers", 1),
            ("Images", 1),
            ("Selector", 1),
        ],
    );
    let job = obj("pi")
        .with("spec.completions", json!(1))
        .with("spec.template", template(&[("pi", "perl")]))
        .with("spec.selector", json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}}))
        .with("status", json!({"succeeded": 1, "startTime": ago(600), "completionTime": ago(540)}))
        .condition("status.conditions", "Complete", "True");
    check(
        "batch",
        "jobs",
        &job.0,
        json!(["pi", "Complete", "1/1", "60s", "10m", "pi", "perl", "batch.kubernetes.io/controller-uid=abc"]),
    );

    let status = |j: Obj| cells("batch", "jobs", &j.0, now())[1].clone();
    assert_eq!(status(obj("j")), json!("Running"));
    assert_eq!(status(obj("j").condition("status.conditions", "Failed", "True")), json!("Failed"));
    assert_eq!(status(obj("j").deleting()), json!("Terminating"));
    assert_eq!(status(obj("j").condition("status.conditions", "Suspended", "True")), json!("Suspended"));
    assert_eq!(status(obj("j").condition("status.conditions", "FailureTarget", "True")), json!("FailureTarget"));
    assert_eq!(status(obj("j").condition("status.conditions", "Complete", "False")), json!("Running"));

    let parallel = obj("j").with("spec.parallelism", json!(3)).with("status.startTime", json!(ago(190)));
    let got = cells("batch", "jobs", &parallel.0, now());
    assert_eq!((&got[2], &got[3]), (&json!("0/1 of 3"), &json!("3m10s")));
    assert_eq!(cells("batch", "jobs", &obj("j").0, now())[2..4], [json!("0/1"), json!("")]);
}

#[test]
fn cron_job_rows() {
    let mut job_template = json!({"spec": {"template": template(&[("hello", "busybox")])}});
    set(&mut job_template, "spec.selector", json!(null));
    let cj = obj("hello")
        .with("spec.schedule", json!("*/1 * * * *"))
        .with("spec.suspend", json!(false))
        .with("spec.jobTemplate", job_template)
        .with("status.active", json!([{"name": "hello-1"}]))
        .with("status.lastScheduleTime", json!(ago(45)));
    check(
        "batch",
        "cronjobs",
        &cj.0,
        json!(["hello", "*/1 * * * *", "<none>", "False", 1, "45s", "10m", "hello", "busybox", "<none>"]),
    );
    let bare = obj("c").with("spec.timeZone", json!("Etc/UTC"));
    check("batch", "cronjobs", &bare.0, json!(["c", "", "Etc/UTC", "<unset>", 0, "<none>", "10m", "", "", "<none>"]));
}

// ---------------------------------------------------------------------------------------------------------
// Services and networking

#[test]
fn service_rows() {
    check_columns(
        "",
        "services",
        &[("Name", 0), ("Type", 0), ("Cluster-IP", 0), ("External-IP", 0), ("Port(s)", 0), ("Age", 0), ("Selector", 1)],
    );
    let svc = |type_: &str| {
        obj("web")
            .with("spec.type", json!(type_))
            .with("spec.clusterIP", json!("10.96.0.10"))
            .with("spec.clusterIPs", json!(["10.96.0.10"]))
            .with(
                "spec.ports",
                json!([{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443, "protocol": "TCP"}]),
            )
            .with("spec.selector", json!({"app": "web"}))
    };
    check(
        "",
        "services",
        &svc("ClusterIP").0,
        json!(["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,443:30443/TCP", "10m", "app=web"]),
    );
    let with_external = svc("NodePort").with("spec.externalIPs", json!(["1.2.3.4", "5.6.7.8"]));
    assert_eq!(cells("", "services", &with_external.0, now())[3], json!("1.2.3.4,5.6.7.8"));
    assert_eq!(cells("", "services", &svc("LoadBalancer").0, now())[3], json!("<pending>"));
    let lb = svc("LoadBalancer").with(
        "status.loadBalancer.ingress",
        json!([{"ip": "203.0.113.9"}, {"hostname": "a-very-long-load-balancer-name.example.com"}, {"ip": "203.0.113.9"}]),
    );
    // Never clipped: the server always prints wide.
    assert_eq!(cells("", "services", &lb.0, now())[3], json!("203.0.113.9,a-very-long-load-balancer-name.example.com"));
    let lb_and_external = lb.with("spec.externalIPs", json!(["1.1.1.1"]));
    assert_eq!(
        cells("", "services", &lb_and_external.0, now())[3],
        json!("203.0.113.9,a-very-long-load-balancer-name.example.com,1.1.1.1")
    );
    let external_name =
        obj("db").with("spec.type", json!("ExternalName")).with("spec.externalName", json!("db.example.com"));
    check(
        "",
        "services",
        &external_name.0,
        json!(["db", "ExternalName", "<none>", "db.example.com", "<none>", "10m", "<none>"]),
    );
    let headless = svc("ClusterIP").with("spec.clusterIPs", json!(["None"]));
    assert_eq!(cells("", "services", &headless.0, now())[2], json!("None"));
    assert_eq!(cells("", "services", &obj("x").0, now())[3], json!("<unknown>"));
}

#[test]
fn endpoints_rows() {
    let ep = obj("web").with(
        "subsets",
        json!([
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]},
            {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 8080}]}
        ]),
    );
    check("", "endpoints", &ep.0, json!(["web", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...", "10m"]));
    let headless = obj("h").with(
        "subsets",
        json!([{"addresses": [{"ip": "10.0.0.1"}]}, {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 53}]}]),
    );
    check("", "endpoints", &headless.0, json!(["h", "10.0.0.1,[fd00::1]:53", "10m"]));
    check("", "endpoints", &obj("e").0, json!(["e", "<none>", "10m"]));
}

#[test]
fn endpoint_slice_rows() {
    let eps = obj("web-abc")
        .with("addressType", json!("IPv4"))
        .with("ports", json!([{"port": 80, "name": "http"}, {"name": "named"}, {}]))
        .with("endpoints", json!([{"addresses": ["10.0.0.1", "10.0.0.2"]}, {"addresses": ["10.0.0.3", "10.0.0.4"]}]));
    check(
        "discovery.k8s.io",
        "endpointslices",
        &eps.0,
        json!(["web-abc", "IPv4", "80,named,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "10m"]),
    );
    check("discovery.k8s.io", "endpointslices", &obj("e").0, json!(["e", "", "<unset>", "<unset>", "10m"]));
}

#[test]
fn ingress_rows() {
    let ing = obj("web")
        .with("spec.ingressClassName", json!("nginx"))
        .with("spec.rules", json!([{"host": "a.com"}, {}, {"host": "b.com"}, {"host": "c.com"}, {"host": "d.com"}]))
        .with("spec.tls", json!([{"hosts": ["a.com"]}]))
        .with("status.loadBalancer.ingress", json!([{"ip": "192.0.2.1"}]));
    check(
        "networking.k8s.io",
        "ingresses",
        &ing.0,
        json!(["web", "nginx", "a.com,b.com,c.com + 2 more...", "192.0.2.1", "80, 443", "10m"]),
    );
    check("networking.k8s.io", "ingresses", &obj("i").0, json!(["i", "<none>", "*", "", "80", "10m"]));

    let class = obj("nginx")
        .with("spec.controller", json!("k8s.io/ingress-nginx"))
        .with("spec.parameters", json!({"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}));
    check(
        "networking.k8s.io",
        "ingressclasses",
        &class.0,
        json!(["nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/p", "10m"]),
    );
    check("networking.k8s.io", "ingressclasses", &obj("c").0, json!(["c", "", "<none>", "10m"]));
}

#[test]
fn network_policy_rows() {
    let np = obj("deny").with(
        "spec.podSelector",
        json!({"matchLabels": {"role": "db"}, "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev"]}, {"key": "legacy", "operator": "DoesNotExist"}, {"key": "app", "operator": "Exists"}]}),
    );
    check("networking.k8s.io", "networkpolicies", &np.0, json!(["deny", "app,env notin (dev),!legacy,role=db", "10m"]));
    let all = obj("all").with("spec.podSelector", json!({}));
    check("networking.k8s.io", "networkpolicies", &all.0, json!(["all", "<none>", "10m"]));
}

// ---------------------------------------------------------------------------------------------------------
// Nodes, namespaces, events

#[test]
fn node_rows() {
    check_columns(
        "",
        "nodes",
        &[
            ("Name", 0),
            ("Status", 0),
            ("Roles", 0),
            ("Age", 0),
            ("Version", 0),
            ("Internal-IP", 1),
            ("External-IP", 1),
            ("OS-Image", 1),
            ("Kernel-Version", 1),
            ("Container-Runtime", 1),
        ],
    );
    let node = obj("n1")
        .with(
            "metadata.labels",
            json!({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "", "kubernetes.io/role": "master", "other": "x"}),
        )
        .with("spec.unschedulable", json!(true))
        .with("status.addresses", json!([{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "172.18.0.2"}]))
        .with(
            "status.nodeInfo",
            json!({"kubeletVersion": "v1.33.0", "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://2.0.0"}),
        )
        .condition("status.conditions", "MemoryPressure", "False")
        .condition("status.conditions", "Ready", "True");
    check(
        "",
        "nodes",
        &node.0,
        json!([
            "n1",
            "Ready,SchedulingDisabled",
            "control-plane,master",
            "10m",
            "v1.33.0",
            "172.18.0.2",
            "<none>",
            "Debian GNU/Linux 12",
            "6.1.0",
            "containerd://2.0.0"
        ]),
    );
    let not_ready = obj("n2").condition("status.conditions", "Ready", "Unknown");
    check(
        "",
        "nodes",
        &not_ready.0,
        json!(["n2", "NotReady", "<none>", "10m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"]),
    );
    assert_eq!(cells("", "nodes", &obj("n3").0, now())[1], json!("Unknown"));
}

#[test]
fn namespace_row() {
    check(
        "",
        "namespaces",
        &obj("kube-system").with("status.phase", json!("Active")).0,
        json!(["kube-system", "Active", "10m"]),
    );
    check(
        "",
        "namespaces",
        &obj("gone").with("status.phase", json!("Terminating")).0,
        json!(["gone", "Terminating", "10m"]),
    );
}

#[test]
fn core_event_rows() {
    check_columns(
        "",
        "events",
        &[
            ("Last Seen", 0),
            ("Type", 0),
            ("Reason", 0),
            ("Object", 0),
            ("Subobject", 1),
            ("Source", 1),
            ("Message", 0),
            ("First Seen", 1),
            ("Count", 1),
            ("Name", 1),
        ],
    );
    let ev = obj("web.17c")
        .with("involvedObject", json!({"kind": "Pod", "name": "web", "fieldPath": "spec.containers{nginx}"}))
        .with("type", json!("Normal"))
        .with("reason", json!("Pulled"))
        .with("message", json!("  Successfully pulled image  \n"))
        .with("source", json!({"component": "kubelet", "host": "n1"}))
        .with("firstTimestamp", json!(ago(3600)))
        .with("lastTimestamp", json!(ago(120)))
        .with("count", json!(4));
    check(
        "",
        "events",
        &ev.0,
        json!([
            "2m",
            "Normal",
            "Pulled",
            "pod/web",
            "spec.containers{nginx}",
            "kubelet, n1",
            "Successfully pulled image",
            "60m",
            4,
            "web.17c"
        ]),
    );
    // New-style events: eventTime, series and reporting fields stand in for the deprecated ones.
    let series = obj("e2")
        .with("involvedObject", json!({"kind": "Node"}))
        .with("eventTime", json!("2024-05-01T11:00:00.000000Z"))
        .with("series", json!({"count": 7, "lastObservedTime": "2024-05-01T11:59:30.123456Z"}))
        .with("reportingComponent", json!("scheduler"));
    check("", "events", &series.0, json!(["29s", "", "", "node", "", "scheduler", "", "60m", 7, "e2"]));
    let singleton = obj("e3").with("eventTime", json!(ago(5))).with("reportingInstance", json!("i-1"));
    check("", "events", &singleton.0, json!(["5s", "", "", "", "", ", i-1", "", "5s", 1, "e3"]));
    check("", "events", &obj("e4").0, json!(["<unknown>", "", "", "", "", "", "", "<unknown>", 1, "e4"]));
}

#[test]
fn events_k8s_io_rows_use_the_v1_field_names() {
    assert_eq!(columns("events.k8s.io", "events"), columns("", "events"));
    let ev = obj("web.17c")
        .with("regarding", json!({"kind": "Deployment", "name": "web"}))
        .with("note", json!("Scaled up replica set web-1 to 3"))
        .with("type", json!("Normal"))
        .with("reason", json!("ScalingReplicaSet"))
        .with("reportingController", json!("deployment-controller"))
        .with("deprecatedSource", json!({"component": "legacy"}))
        .with("deprecatedFirstTimestamp", json!(ago(900)))
        .with("deprecatedLastTimestamp", json!(ago(60)))
        .with("deprecatedCount", json!(2));
    check(
        "events.k8s.io",
        "events",
        &ev.0,
        json!([
            "60s",
            "Normal",
            "ScalingReplicaSet",
            "deployment/web",
            "",
            "legacy",
            "Scaled up replica set web-1 to 3",
            "15m",
            2,
            "web.17c"
        ]),
    );
}

// ---------------------------------------------------------------------------------------------------------
// Configuration and storage

#[test]
fn config_map_secret_and_service_account_rows() {
    let cm = obj("cfg").with("data", json!({"a": "1", "b": "2"})).with("binaryData", json!({"c": "AA=="}));
    check("", "configmaps", &cm.0, json!(["cfg", 3, "10m"]));
    let secret =
        obj("tls").with("type", json!("kubernetes.io/tls")).with("data", json!({"tls.crt": "", "tls.key": ""}));
    check("", "secrets", &secret.0, json!(["tls", "kubernetes.io/tls", 2, "10m"]));
    check("", "serviceaccounts", &obj("default").0, json!(["default", 0, "10m"]));
    check("", "serviceaccounts", &obj("sa").with("secrets", json!([{"name": "tok"}])).0, json!(["sa", 1, "10m"]));
}

#[test]
fn persistent_volume_rows() {
    let pv = obj("pv1")
        .with("spec.capacity.storage", json!("1024Mi"))
        .with("spec.accessModes", json!(["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"]))
        .with("spec.persistentVolumeReclaimPolicy", json!("Retain"))
        .with("spec.claimRef", json!({"namespace": "default", "name": "data"}))
        .with("spec.storageClassName", json!("fast"))
        .with("spec.volumeMode", json!("Filesystem"))
        .with("status.phase", json!("Bound"));
    check(
        "",
        "persistentvolumes",
        &pv.0,
        json!(["pv1", "1Gi", "RWO,RWX", "Retain", "Bound", "default/data", "fast", "<unset>", "", "10m", "Filesystem"]),
    );
    let legacy = obj("pv2")
        .with("metadata.annotations", json!({"volume.beta.kubernetes.io/storage-class": "old"}))
        .with("spec.storageClassName", json!("new"))
        .deleting();
    check(
        "",
        "persistentvolumes",
        &legacy.0,
        json!(["pv2", "0", "", "", "Terminating", "", "old", "<unset>", "", "10m", "<unset>"]),
    );
}

#[test]
fn persistent_volume_claim_rows() {
    let pvc = obj("data")
        .with("spec.volumeName", json!("pv1"))
        .with("spec.storageClassName", json!("fast"))
        .with("spec.resources.requests.storage", json!("5Gi"))
        .with("spec.volumeAttributesClassName", json!("gold"))
        .with(
            "status",
            json!({"phase": "Bound", "capacity": {"storage": "1.5Gi"}, "accessModes": ["ReadWriteOncePod"]}),
        );
    check(
        "",
        "persistentvolumeclaims",
        &pvc.0,
        json!(["data", "Bound", "pv1", "1536Mi", "RWOP", "fast", "gold", "10m", "<unset>"]),
    );
    // Unbound claims show neither capacity nor access modes.
    let pending = obj("p").with("spec.resources.requests.storage", json!("1Gi")).with("status.phase", json!("Pending"));
    check(
        "",
        "persistentvolumeclaims",
        &pending.0,
        json!(["p", "Pending", "", "", "", "", "<unset>", "10m", "<unset>"]),
    );
}

#[test]
fn storage_class_rows() {
    let sc = obj("standard")
        .with("metadata.annotations", json!({"storageclass.kubernetes.io/is-default-class": "true"}))
        .with("provisioner", json!("rancher.io/local-path"))
        .with("volumeBindingMode", json!("WaitForFirstConsumer"))
        .with("allowVolumeExpansion", json!(true));
    check(
        "storage.k8s.io",
        "storageclasses",
        &sc.0,
        json!(["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", true, "10m"]),
    );
    let plain = obj("slow").with("reclaimPolicy", json!("Retain"));
    check("storage.k8s.io", "storageclasses", &plain.0, json!(["slow", "", "Retain", "Immediate", false, "10m"]));
}

#[test]
fn csi_and_attachment_rows() {
    let driver = obj("csi.example.com")
        .with("spec.attachRequired", json!(false))
        .with("spec.tokenRequests", json!([{"audience": "a"}, {"audience": "b"}]))
        .with("spec.volumeLifecycleModes", json!(["Persistent", "Ephemeral"]));
    check(
        "storage.k8s.io",
        "csidrivers",
        &driver.0,
        json!(["csi.example.com", false, false, false, "a,b", false, "Persistent,Ephemeral", "10m"]),
    );
    check(
        "storage.k8s.io",
        "csidrivers",
        &obj("d").0,
        json!(["d", true, false, false, "<unset>", false, "<none>", "10m"]),
    );
    let node = obj("n1").with("spec.drivers", json!([{"name": "a"}, {"name": "b"}]));
    check("storage.k8s.io", "csinodes", &node.0, json!(["n1", 2, "10m"]));
    let va = obj("csi-123")
        .with(
            "spec",
            json!({"attacher": "csi.example.com", "nodeName": "n1", "source": {"persistentVolumeName": "pv1"}}),
        )
        .with("status.attached", json!(true));
    check(
        "storage.k8s.io",
        "volumeattachments",
        &va.0,
        json!(["csi-123", "csi.example.com", "pv1", "n1", true, "10m"]),
    );
    let cap = obj("cap").with("storageClassName", json!("fast")).with("capacity", json!("2000Mi"));
    check("storage.k8s.io", "csistoragecapacities", &cap.0, json!(["cap", "fast", "2000Mi"]));
    check("storage.k8s.io", "csistoragecapacities", &obj("c").0, json!(["c", "", "<unset>"]));
}

#[test]
fn resource_quota_rows() {
    let quota = obj("q").with(
        "status",
        json!({
            "hard": {"pods": "10", "limits.memory": "2Gi", "requests.cpu": "1", "limits.cpu": "2"},
            "used": {"pods": "3", "limits.memory": "512Mi", "requests.cpu": "500m"}
        }),
    );
    check(
        "",
        "resourcequotas",
        &quota.0,
        json!(["q", "pods: 3/10, requests.cpu: 500m/1", "limits.cpu: 0/2, limits.memory: 512Mi/2Gi", "10m"]),
    );
}

// ---------------------------------------------------------------------------------------------------------
// Policy, autoscaling, coordination, scheduling, RBAC, certificates, node, admission

#[test]
fn pod_disruption_budget_rows() {
    let pdb = obj("web").with("spec.minAvailable", json!(2)).with("status.disruptionsAllowed", json!(1));
    check("policy", "poddisruptionbudgets", &pdb.0, json!(["web", "2", "N/A", 1, "10m"]));
    let pct = obj("web").with("spec.maxUnavailable", json!("25%"));
    check("policy", "poddisruptionbudgets", &pct.0, json!(["web", "N/A", "25%", 0, "10m"]));
}

#[test]
fn horizontal_pod_autoscaler_v2_rows() {
    let hpa = obj("web")
        .with("apiVersion", json!("autoscaling/v2"))
        .with("spec.scaleTargetRef", json!({"kind": "Deployment", "name": "web"}))
        .with("spec.minReplicas", json!(1))
        .with("spec.maxReplicas", json!(10))
        .with(
            "spec.metrics",
            json!([
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1024Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}
            ]),
        )
        .with(
            "status",
            json!({"currentReplicas": 3, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "450m"}}}
            ]}),
        );
    check(
        "autoscaling",
        "horizontalpodautoscalers",
        &hpa.0,
        json!(["web", "Deployment/web", "cpu: 45%/80%, memory: <unknown>/1Gi + 1 more...", "1", 10, 3, "10m"]),
    );

    let one = |spec: Value, status: Value| {
        let o = obj("h").with("spec.metrics", json!([spec])).with("status.currentMetrics", json!([status]));
        cells("autoscaling", "horizontalpodautoscalers", &o.0, now())[2].clone()
    };
    assert_eq!(
        one(
            json!({"type": "Pods", "pods": {"target": {"averageValue": "100"}}}),
            json!({"pods": {"current": {"averageValue": "50"}}})
        ),
        json!("50/100")
    );
    assert_eq!(
        one(json!({"type": "External", "external": {"target": {"averageValue": "30"}}}), json!({})),
        json!("<unknown>/30 (avg)")
    );
    assert_eq!(
        one(
            json!({"type": "Object", "object": {"target": {"value": "2k"}}}),
            json!({"object": {"current": {"value": "1500"}}})
        ),
        json!("1500/2k")
    );
    assert_eq!(
        one(
            json!({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {}}}),
            json!({})
        ),
        json!("cpu: <unknown>/<auto>")
    );
    assert_eq!(one(json!({"type": "Weird"}), json!({})), json!("<unknown type>"));
    check("autoscaling", "horizontalpodautoscalers", &obj("h").0, json!(["h", "/", "<none>", "<unset>", 0, 0, "10m"]));
}

#[test]
fn horizontal_pod_autoscaler_v1_rows() {
    let hpa = obj("web")
        .with("apiVersion", json!("autoscaling/v1"))
        .with("spec", json!({"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70}))
        .with("status", json!({"currentReplicas": 2, "currentCPUUtilizationPercentage": 12}));
    check(
        "autoscaling",
        "horizontalpodautoscalers",
        &hpa.0,
        json!(["web", "Deployment/web", "cpu: 12%/70%", "2", 5, 2, "10m"]),
    );
    let unmeasured = obj("w").with("spec.targetCPUUtilizationPercentage", json!(50));
    assert_eq!(cells("autoscaling", "horizontalpodautoscalers", &unmeasured.0, now())[2], json!("cpu: <unknown>/50%"));
    let no_target = obj("w").with("apiVersion", json!("autoscaling/v1"));
    assert_eq!(cells("autoscaling", "horizontalpodautoscalers", &no_target.0, now())[2], json!("<none>"));
}

#[test]
fn lease_priority_class_and_runtime_class_rows() {
    check(
        "coordination.k8s.io",
        "leases",
        &obj("kube-scheduler").with("spec.holderIdentity", json!("cp_1")).0,
        json!(["kube-scheduler", "cp_1", "10m"]),
    );
    check("coordination.k8s.io", "leases", &obj("l").0, json!(["l", "", "10m"]));
    let pc = obj("system-node-critical")
        .with("value", json!(2000001000))
        .with("preemptionPolicy", json!("PreemptLowerPriority"));
    check(
        "scheduling.k8s.io",
        "priorityclasses",
        &pc.0,
        json!(["system-node-critical", 2000001000, false, "10m", "PreemptLowerPriority"]),
    );
    check(
        "node.k8s.io",
        "runtimeclasses",
        &obj("gvisor").with("handler", json!("runsc")).0,
        json!(["gvisor", "runsc", "10m"]),
    );
}

#[test]
fn role_binding_rows() {
    let rb = obj("read")
        .with("roleRef", json!({"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"}))
        .with(
            "subjects",
            json!([
                {"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                {"kind": "Group", "name": "devs"},
                {"kind": "ServiceAccount", "namespace": "ci", "name": "runner"},
                {"kind": "Robot", "name": "r2"}
            ]),
        );
    check(
        "rbac.authorization.k8s.io",
        "rolebindings",
        &rb.0,
        json!(["read", "ClusterRole/view", "10m", "alice, bob", "devs", "ci/runner"]),
    );
    check(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        &rb.0,
        json!(["read", "ClusterRole/view", "10m", "alice, bob", "devs", "ci/runner"]),
    );
    assert_eq!(
        columns("rbac.authorization.k8s.io", "clusterrolebindings")[3].description,
        "Users in the clusterRoleBinding"
    );
}

#[test]
fn certificate_signing_request_rows() {
    check_columns(
        "certificates.k8s.io",
        "certificatesigningrequests",
        &[("Name", 0), ("Age", 0), ("SignerName", 0), ("Requestor", 0), ("RequestedDuration", 0), ("Condition", 0)],
    );
    let csr = obj("csr-1")
        .with("spec", json!({"signerName": "kubernetes.io/kube-apiserver-client", "username": "alice", "expirationSeconds": 86400}))
        .with("status.certificate", json!("LS0t"))
        .condition("status.conditions", "Approved", "True");
    check(
        "certificates.k8s.io",
        "certificatesigningrequests",
        &csr.0,
        json!(["csr-1", "10m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Approved,Issued"]),
    );
    let denied = obj("csr-2")
        .condition("status.conditions", "Approved", "True")
        .condition("status.conditions", "Denied", "True")
        .condition("status.conditions", "Failed", "True");
    check(
        "certificates.k8s.io",
        "certificatesigningrequests",
        &denied.0,
        json!(["csr-2", "10m", "<none>", "", "<none>", "Denied,Failed"]),
    );
    assert_eq!(cells("certificates.k8s.io", "certificatesigningrequests", &obj("c").0, now())[5], json!("Pending"));
}

#[test]
fn admission_rows() {
    let hook = obj("h").with("webhooks", json!([{"name": "a"}, {"name": "b"}]));
    check("admissionregistration.k8s.io", "mutatingwebhookconfigurations", &hook.0, json!(["h", 2, "10m"]));
    check("admissionregistration.k8s.io", "validatingwebhookconfigurations", &obj("v").0, json!(["v", 0, "10m"]));
    let policy = obj("p")
        .with("spec.validations", json!([{"expression": "true"}]))
        .with("spec.paramKind", json!({"apiVersion": "v1", "kind": "ConfigMap"}));
    check(
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        &policy.0,
        json!(["p", 1, "v1/ConfigMap", "10m"]),
    );
    let binding = |param: Value| {
        let o = obj("b").with("spec.policyName", json!("p")).with("spec.paramRef", param);
        cells("admissionregistration.k8s.io", "validatingadmissionpolicybindings", &o.0, now())[2].clone()
    };
    assert_eq!(binding(json!({"name": "cfg", "namespace": "ns"})), json!("ns/cfg"));
    assert_eq!(binding(json!({"name": "cfg"})), json!("*/cfg"));
    assert_eq!(binding(json!(null)), json!("<unset>"));
}

#[test]
fn flow_control_and_api_service_rows() {
    let fs = obj("exempt")
        .with("spec", json!({"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 1, "distinguisherMethod": {"type": "ByUser"}}))
        .condition("status.conditions", "Dangling", "False");
    check(
        "flowcontrol.apiserver.k8s.io",
        "flowschemas",
        &fs.0,
        json!(["exempt", "exempt", 1, "ByUser", "10m", "False"]),
    );
    check("flowcontrol.apiserver.k8s.io", "flowschemas", &obj("f").0, json!(["f", "", 0, "<none>", "10m", "?"]));
    let pl = obj("global-default").with(
        "spec",
        json!({"type": "Limited", "limited": {"nominalConcurrencyShares": 20, "limitResponse": {"type": "Queue", "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}),
    );
    check(
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
        &pl.0,
        json!(["global-default", "Limited", 20, 128, 6, 50, "10m"]),
    );
    let exempt = obj("exempt").with("spec.type", json!("Exempt"));
    check(
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
        &exempt.0,
        json!(["exempt", "Exempt", "<none>", "<none>", "<none>", "<none>", "10m"]),
    );

    let local = obj("v1.apps").condition("status.conditions", "Available", "True");
    check("apiregistration.k8s.io", "apiservices", &local.0, json!(["v1.apps", "Local", "True", "10m"]));
    let remote = obj("v1beta1.metrics.k8s.io")
        .with("spec.service", json!({"namespace": "kube-system", "name": "metrics-server"}))
        .with("status.conditions", json!([{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]));
    check(
        "apiregistration.k8s.io",
        "apiservices",
        &remote.0,
        json!(["v1beta1.metrics.k8s.io", "kube-system/metrics-server", "False (MissingEndpoints)", "10m"]),
    );
}

#[test]
fn dynamic_resource_allocation_rows() {
    check("resource.k8s.io", "deviceclasses", &obj("gpu").0, json!(["gpu", "10m"]));
    check("resource.k8s.io", "resourceclaims", &obj("c").0, json!(["c", "pending", "10m"]));
    let reserved =
        obj("c").with("status.allocation", json!({})).with("status.reservedFor", json!([{"name": "p"}])).deleting();
    check("resource.k8s.io", "resourceclaims", &reserved.0, json!(["c", "deleted,allocated,reserved", "10m"]));
    let slice = obj("s").with("spec", json!({"nodeName": "n1", "driver": "gpu.example.com", "pool": {"name": "n1"}}));
    check("resource.k8s.io", "resourceslices", &slice.0, json!(["s", "n1", "gpu.example.com", "n1", "10m"]));
}

// ---------------------------------------------------------------------------------------------------------
// Default table and kinds that use it

#[test]
fn kinds_without_a_printer_get_the_default_table() {
    for (group, plural) in [
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("", "limitranges"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("example.com", "widgets"),
    ] {
        let cols = columns(group, plural);
        assert_eq!(
            cols.iter().map(|c| (c.name, c.type_, c.format)).collect::<Vec<_>>(),
            [("Name", "string", "name"), ("Created At", "date", "")]
        );
        let o = obj("x").with("metadata.creationTimestamp", json!("2024-03-04T05:06:07.891Z"));
        check(group, plural, &o.0, json!(["x", "2024-03-04T05:06:07Z"]));
        check(group, plural, &json!({}), json!(["", "0001-01-01T00:00:00Z"]));
    }
}

#[test]
fn pod_templates_row() {
    let pt = obj("tmpl").with("template", template(&[("a", "img-a"), ("b", "img-b")]));
    check("", "podtemplates", &pt.0, json!(["tmpl", "a,b", "img-a,img-b", "app=web"]));
    check("", "podtemplates", &obj("t").0, json!(["t", "", "", "<none>"]));
}

#[test]
fn component_status_row() {
    let cs = obj("etcd-0").with("conditions", json!([{"type": "Healthy", "status": "True", "message": "ok"}]));
    check("", "componentstatuses", &cs.0, json!(["etcd-0", "Healthy", "ok", ""]));
    check("", "componentstatuses", &obj("x").0, json!(["x", "Unknown", "", ""]));
}

#[test]
fn networking_misc_rows() {
    let cidr = obj("kubernetes").with("spec.cidrs", json!(["10.96.0.0/16", "fd00::/108"]));
    check("networking.k8s.io", "servicecidrs", &cidr.0, json!(["kubernetes", "10.96.0.0/16,fd00::/108", "10m"]));
    let ip = obj("10.96.0.1").with(
        "spec.parentRef",
        json!({"group": "", "resource": "services", "namespace": "default", "name": "kubernetes"}),
    );
    check("networking.k8s.io", "ipaddresses", &ip.0, json!(["10.96.0.1", "services/default/kubernetes"]));
    let vac = obj("gold").with("driverName", json!("csi.example.com"));
    check("storage.k8s.io", "volumeattributesclasses", &vac.0, json!(["gold", "csi.example.com", "10m"]));
}

// ---------------------------------------------------------------------------------------------------------
// Ages, durations, quantities

#[test]
fn age_is_unknown_when_unset_and_invalid_in_the_future() {
    let cell = |created: Value| {
        cells("", "namespaces", &json!({"metadata": {"creationTimestamp": created}}), now())[2].clone()
    };
    assert_eq!(cell(json!(null)), json!("<unknown>"));
    assert_eq!(cell(json!("not a time")), json!("<unknown>"));
    assert_eq!(cell(json!("0001-01-01T00:00:00Z")), json!("<unknown>"));
    assert_eq!(cell(json!(ago(-1))), json!("0s"));
    assert_eq!(cell(json!(ago(-60))), json!("<invalid>"));
    assert_eq!(cell(json!(ago(3 * 86400 + 7200))), json!("3d2h"));
    assert_eq!(cell(json!("1700-01-01T00:00:00Z")), json!("292y"), "Go durations saturate at ~292 years");
}

#[test]
fn human_duration_matches_upstream() {
    const S: u64 = 1;
    const M: u64 = 60;
    const H: u64 = 3600;
    const D: u64 = 24 * H;
    let secs = |s: u64| Duration::from_secs(s);
    let less_ms = |s: u64| Duration::from_secs(s) - Duration::from_millis(1);
    let cases = [
        (secs(S), "1s"),
        (secs(70 * S), "70s"),
        (secs(190 * S), "3m10s"),
        (secs(70 * M), "70m"),
        (secs(47 * H), "47h"),
        (secs(49 * H), "2d1h"),
        (secs((8 * 24 + 2) * H), "8d"),
        (secs(367 * D), "367d"),
        (secs((365 * 2 * 24 + 25) * H), "2y1d"),
        (secs((365 * 8 * 24 + 2) * H), "8y"),
        (secs(0), "0s"),
        (less_ms(1), "0s"),
        (less_ms(2 * M), "119s"),
        (secs(2 * M), "2m"),
        (secs(2 * M + 1), "2m1s"),
        (less_ms(10 * M), "9m59s"),
        (secs(10 * M), "10m"),
        (secs(10 * M + 1), "10m"),
        (less_ms(3 * H), "179m"),
        (secs(3 * H), "3h"),
        (secs(3 * H + M), "3h1m"),
        (less_ms(8 * H), "7h59m"),
        (secs(8 * H), "8h"),
        (secs(8 * H + 59 * M), "8h"),
        (less_ms(2 * D), "47h"),
        (secs(2 * D), "2d"),
        (secs(2 * D + H), "2d1h"),
        (less_ms(8 * D), "7d23h"),
        (secs(8 * D), "8d"),
        (secs(8 * D + 23 * H), "8d"),
        (less_ms(2 * 365 * D), "729d"),
        (secs(2 * 365 * D), "2y"),
        (secs(2 * 365 * D + 23 * H + 59 * M), "2y"),
        (less_ms(2 * 365 * D + D), "2y"),
        (secs(2 * 365 * D + D), "2y1d"),
        (secs(3 * 365 * D), "3y"),
        (secs(7 * 365 * D), "7y"),
        (less_ms(8 * 365 * D), "7y364d"),
        (secs(8 * 365 * D), "8y"),
        (secs(8 * 365 * D + 364 * D), "8y"),
        (secs(9 * 365 * D), "9y"),
        (Duration::MAX, "292y"),
    ];
    for (d, want) in cases {
        assert_eq!(human_duration(d), want, "human_duration({d:?})");
    }
}

#[test]
fn negative_durations_tolerate_two_seconds_of_skew() {
    use super::duration::human_duration_nanos;
    assert_eq!(human_duration_nanos(-2_000_000_000), "<invalid>");
    assert_eq!(human_duration_nanos(-2_000_000_000 + 1), "0s");
}

#[test]
fn quantities_print_canonically() {
    let cases = [
        (json!("1Gi"), "1Gi"),
        (json!("1024Mi"), "1Gi"),
        (json!("1.5Gi"), "1536Mi"),
        (json!("0.5Gi"), "512Mi"),
        (json!("0.5Ki"), "512"),
        (json!("1.5Ki"), "1536"),
        (json!("100Ki"), "100Ki"),
        (json!("500m"), "500m"),
        (json!("1000m"), "1"),
        (json!("1.5"), "1500m"),
        (json!("0.1"), "100m"),
        (json!("2000"), "2k"),
        (json!("1500"), "1500"),
        (json!("1000000"), "1M"),
        (json!("10G"), "10G"),
        (json!("1e3"), "1e3"),
        (json!("12e6"), "12e6"),
        (json!("100u"), "100u"),
        (json!("0.0000000001"), "1n"),
        (json!("-1Gi"), "-1Gi"),
        (json!("0"), "0"),
        (json!("0Gi"), "0"),
        (json!(5), "5"),
        (json!(null), "0"),
        (json!("junk"), "junk"),
    ];
    for (input, want) in cases {
        assert_eq!(quantity::format_value(Some(&input)), want, "quantity {input}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Robustness

/// Every resource with a printer, each with a realistic object.
fn realistic_objects() -> Vec<(&'static str, &'static str, Value)> {
    let rich_pod = pod("web")
        .sidecar(running().ready().started().restarts(1, 30))
        .init_container(terminated("Completed", 0))
        .container(running().ready().restarts(2, 60))
        .container(waiting("CrashLoopBackOff"))
        .with("spec.readinessGates", json!([{"conditionType": "x"}]))
        .condition("Ready", "False")
        .deleting()
        .build();
    let workload = obj("w")
        .with("spec.replicas", json!(2))
        .with("spec.selector", app_selector())
        .with("spec.template", template(&[("a", "b")]))
        .with("spec.jobTemplate.spec.template", template(&[("a", "b")]))
        .with("status", json!({"replicas": 1, "readyReplicas": 1, "conditions": [{"type": "Complete", "status": "True"}], "startTime": ago(9)}))
        .0;
    vec![
        ("", "pods", rich_pod),
        ("", "podtemplates", obj("t").with("template", template(&[("a", "b")])).0),
        ("", "replicationcontrollers", workload.clone()),
        ("", "services", obj("s").with("spec", json!({"type": "LoadBalancer", "ports": [{"port": 1, "nodePort": 2, "protocol": "UDP"}], "externalIPs": ["1.1.1.1"]})).0),
        ("", "endpoints", obj("e").with("subsets", json!([{"addresses": [{"ip": "1.1.1.1"}], "ports": [{"port": 1}]}])).0),
        ("", "nodes", obj("n").with("metadata.labels", json!({"node-role.kubernetes.io/worker": ""})).condition("status.conditions", "Ready", "True").0),
        ("", "namespaces", obj("n").with("status.phase", json!("Active")).0),
        ("", "events", obj("e").with("involvedObject", json!({"kind": "Pod", "name": "p"})).with("series", json!({"count": 2})).0),
        ("events.k8s.io", "events", obj("e").with("regarding", json!({"kind": "Pod", "name": "p"})).0),
        ("", "configmaps", obj("c").with("data", json!({"a": "b"})).0),
        ("", "secrets", obj("s").with("data", json!({"a": "b"})).0),
        ("", "serviceaccounts", obj("s").with("secrets", json!([{}])).0),
        ("", "persistentvolumes", obj("p").with("spec.capacity.storage", json!("1Gi")).with("spec.claimRef", json!({"name": "c"})).0),
        ("", "persistentvolumeclaims", obj("p").with("spec.volumeName", json!("v")).with("status.capacity.storage", json!("1Gi")).0),
        ("", "resourcequotas", obj("q").with("status.hard", json!({"cpu": "1"})).with("status.used", json!({"cpu": "1"})).0),
        ("", "componentstatuses", obj("c").with("conditions", json!([{"type": "Healthy", "status": "False"}])).0),
        ("apps", "replicasets", workload.clone()),
        ("apps", "deployments", workload.clone()),
        ("apps", "statefulsets", workload.clone()),
        ("apps", "daemonsets", workload.clone()),
        ("apps", "controllerrevisions", obj("r").with("metadata.ownerReferences", json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "d", "controller": true}])).0),
        ("batch", "jobs", workload.clone()),
        ("batch", "cronjobs", workload.clone().as_object().cloned().map(Value::Object).unwrap()),
        ("networking.k8s.io", "ingresses", obj("i").with("spec.rules", json!([{"host": "a"}])).with("spec.tls", json!([{}])).0),
        ("networking.k8s.io", "ingressclasses", obj("i").with("spec.parameters", json!({"kind": "K", "name": "n"})).0),
        ("networking.k8s.io", "networkpolicies", obj("n").with("spec.podSelector", app_selector()).0),
        ("networking.k8s.io", "servicecidrs", obj("s").with("spec.cidrs", json!(["10.0.0.0/8"])).0),
        ("networking.k8s.io", "ipaddresses", obj("i").with("spec.parentRef", json!({"resource": "services", "name": "s"})).0),
        ("discovery.k8s.io", "endpointslices", obj("e").with("ports", json!([{"port": 1}])).with("endpoints", json!([{"addresses": ["a"]}])).0),
        ("storage.k8s.io", "storageclasses", obj("s").with("provisioner", json!("p")).0),
        ("storage.k8s.io", "csidrivers", obj("c").with("spec.tokenRequests", json!([{"audience": "a"}])).0),
        ("storage.k8s.io", "csinodes", obj("c").with("spec.drivers", json!([{}])).0),
        ("storage.k8s.io", "volumeattachments", obj("v").with("spec.source.persistentVolumeName", json!("p")).0),
        ("storage.k8s.io", "csistoragecapacities", obj("c").with("capacity", json!("1Gi")).0),
        ("storage.k8s.io", "volumeattributesclasses", obj("v").with("driverName", json!("d")).0),
        ("policy", "poddisruptionbudgets", obj("p").with("spec.minAvailable", json!("50%")).0),
        ("autoscaling", "horizontalpodautoscalers", obj("h").with("spec.metrics", json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"averageUtilization": 1}}}])).0),
        ("coordination.k8s.io", "leases", obj("l").with("spec.holderIdentity", json!("h")).0),
        ("scheduling.k8s.io", "priorityclasses", obj("p").with("value", json!(1)).0),
        ("rbac.authorization.k8s.io", "rolebindings", obj("r").with("subjects", json!([{"kind": "User", "name": "u"}])).0),
        ("rbac.authorization.k8s.io", "clusterrolebindings", obj("r").with("roleRef", json!({"kind": "ClusterRole", "name": "c"})).0),
        ("certificates.k8s.io", "certificatesigningrequests", obj("c").with("spec.expirationSeconds", json!(600)).0),
        ("node.k8s.io", "runtimeclasses", obj("r").with("handler", json!("h")).0),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", obj("m").with("webhooks", json!([{}])).0),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations", obj("v").with("webhooks", json!([{}])).0),
        ("admissionregistration.k8s.io", "validatingadmissionpolicies", obj("v").with("spec.paramKind", json!({})).0),
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings", obj("v").with("spec.paramRef", json!({"selector": {}})).0),
        ("flowcontrol.apiserver.k8s.io", "flowschemas", obj("f").with("spec.distinguisherMethod", json!({"type": "ByUser"})).0),
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", obj("p").with("spec.limited.limitResponse.queuing", json!({"queues": 1})).0),
        ("apiregistration.k8s.io", "apiservices", obj("a").with("spec.service", json!({"name": "s"})).0),
        ("resource.k8s.io", "deviceclasses", obj("d").0),
        ("resource.k8s.io", "resourceclaimtemplates", obj("d").0),
        ("resource.k8s.io", "resourceclaims", obj("c").with("status.allocation", json!({})).0),
        ("resource.k8s.io", "resourceslices", obj("s").with("spec.pool.name", json!("p")).0),
        ("rbac.authorization.k8s.io", "roles", obj("r").0),
        ("apiextensions.k8s.io", "customresourcedefinitions", obj("c").0),
    ]
}

/// Every way to break one spot of `v`: each object value, array element and the root replaced by a value
/// of another shape.
fn mutations(v: &Value) -> Vec<Value> {
    let replacements = [
        json!(null),
        json!("junk"),
        json!(-7),
        json!(1.5),
        json!(true),
        json!([]),
        json!({}),
        json!([null, 1, "x", {}]),
    ];
    let mut out: Vec<Value> = replacements.to_vec();
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                for mutated in mutations(child) {
                    let mut copy = map.clone();
                    copy.insert(key.clone(), mutated);
                    out.push(Value::Object(copy));
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                for mutated in mutations(child) {
                    let mut copy = items.clone();
                    copy[i] = mutated;
                    out.push(Value::Array(copy));
                }
            }
        }
        _ => {}
    }
    out
}

#[test]
fn every_printer_has_one_cell_per_column() {
    for (group, plural, o) in realistic_objects() {
        let (cols, row) = (columns(group, plural), cells(group, plural, &o, now()));
        assert_eq!(row.len(), cols.len(), "{group}/{plural}");
        assert!(cols.iter().any(|c| c.format == "name"), "{group}/{plural} has a name column");
        assert!(cols.iter().all(|c| ["string", "integer", "number", "boolean", "date"].contains(&c.type_)));
        assert!(cols.iter().all(|c| c.priority == 0 || c.priority == 1));
        assert!(
            row.iter().all(|c| c.is_string() || c.is_i64() || c.is_u64() || c.is_boolean()),
            "{group}/{plural}: {row:?}"
        );
    }
}

#[test]
fn malformed_objects_never_panic() {
    let odd_shapes = [
        json!({}),
        json!(null),
        json!([]),
        json!("pod"),
        json!(42),
        json!({"metadata": null, "spec": null, "status": null}),
        json!({"metadata": "x", "spec": [], "status": 5, "subsets": {}, "data": "x"}),
        json!({
            "metadata": {"name": 5, "creationTimestamp": "garbage", "labels": {"a": 1}, "deletionTimestamp": 7, "ownerReferences": [{"controller": true, "apiVersion": "a/b/c"}]},
            "spec": {"containers": "x", "replicas": "3", "selector": {"matchExpressions": [{"operator": "In"}]}, "ports": [null, 1, {"port": "x"}], "capacity": {"storage": "1Qi"}},
            "status": {"conditions": [1, null, {"type": 5}], "containerStatuses": [{"state": {"waiting": "x"}}, {"restartCount": 1e300}]}
        }),
    ];
    for (group, plural, o) in realistic_objects() {
        let expected = columns(group, plural).len();
        for shape in odd_shapes.iter().cloned().chain(mutations(&o)) {
            let row = cells(group, plural, &shape, now());
            assert_eq!(row.len(), expected, "{group}/{plural} with {shape}");
        }
    }
}
