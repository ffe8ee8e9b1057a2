//! Pod status from what the runtime reports, as upstream's
//! `generateAPIPodStatus`: container statuses, phase, conditions, IPs and
//! QoS class.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::runtime::{self, ContainerState as RtState};

/// What the kubelet knows about one container of the pod.
#[derive(Debug, Clone, Default)]
pub struct ContainerView {
    /// The newest instance in the current sandbox.
    pub current: Option<runtime::ContainerStatus>,
    /// The instance before it, for `lastState`.
    pub previous: Option<runtime::ContainerStatus>,
    /// How many times it was restarted.
    pub restart_count: i32,
    /// Why it is waiting instead of running (ErrImagePull, CrashLoopBackOff, …).
    pub waiting: Option<(String, String)>,
    /// Readiness probe result (true when there is no probe).
    pub ready: bool,
    /// Startup probe result (true when there is no probe).
    pub started: bool,
}

/// The inputs of a pod status.
#[derive(Debug, Clone, Default)]
pub struct PodView {
    pub sandbox_ready: bool,
    pub pod_ips: Vec<String>,
    pub host_ip: String,
    /// `containerd://` or `fake://`.
    pub id_scheme: String,
    pub containers: HashMap<String, ContainerView>,
}

fn time_from_nanos(n: i64) -> Option<Time> {
    if n <= 0 {
        return None;
    }
    jiff::Timestamp::from_nanosecond(i128::from(n)).ok().map(Time)
}

fn terminated(c: &runtime::ContainerStatus, scheme: &str) -> ContainerStateTerminated {
    let reason = if !c.reason.is_empty() {
        c.reason.clone()
    } else if c.exit_code == 0 {
        "Completed".into()
    } else {
        "Error".into()
    };
    ContainerStateTerminated {
        exit_code: c.exit_code,
        reason: Some(reason),
        message: (!c.message.is_empty()).then(|| c.message.clone()),
        started_at: time_from_nanos(c.started_at),
        finished_at: time_from_nanos(c.finished_at),
        container_id: Some(format!("{scheme}{}", c.id)),
        signal: None,
    }
}

fn waiting(reason: &str, message: Option<&str>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.to_owned()), message: message.map(str::to_owned) }),
        ..Default::default()
    }
}

/// The status of one container; `default_waiting` is the reason shown before it exists.
fn container_status(
    spec: &Container,
    view: Option<&ContainerView>,
    scheme: &str,
    default_waiting: &str,
) -> ContainerStatus {
    let mut status = ContainerStatus {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        ready: false,
        started: Some(false),
        restart_count: 0,
        state: Some(waiting(default_waiting, None)),
        ..Default::default()
    };
    let Some(view) = view else { return status };
    status.restart_count = view.restart_count;
    if let Some(c) = &view.current {
        status.container_id = Some(format!("{scheme}{}", c.id));
        status.image_id = c.image_ref.clone();
        match c.state {
            RtState::Running => {
                status.state = Some(ContainerState {
                    running: Some(ContainerStateRunning { started_at: time_from_nanos(c.started_at) }),
                    ..Default::default()
                });
                status.ready = view.ready && view.started;
                status.started = Some(view.started);
            }
            RtState::Exited => {
                status.state = Some(ContainerState { terminated: Some(terminated(c, scheme)), ..Default::default() });
            }
            RtState::Created | RtState::Unknown => status.state = Some(waiting("ContainerCreating", None)),
        }
    }
    if let Some((reason, message)) = &view.waiting {
        // The container is waiting to be (re)started: its last run becomes lastState.
        if let Some(c) = view.current.as_ref().filter(|c| c.state == RtState::Exited) {
            status.last_state = Some(ContainerState { terminated: Some(terminated(c, scheme)), ..Default::default() });
        }
        status.state = Some(waiting(reason, Some(message.as_str()).filter(|m| !m.is_empty())));
        status.ready = false;
        status.started = Some(false);
    } else if status.last_state.is_none()
        && let Some(p) = view.previous.as_ref().filter(|p| p.state == RtState::Exited)
    {
        status.last_state = Some(ContainerState { terminated: Some(terminated(p, scheme)), ..Default::default() });
    }
    if status.image_id.is_empty()
        && let Some(p) = &view.previous
    {
        status.image_id = p.image_ref.clone();
    }
    status
}

/// The pod's QoS class, as upstream's `ComputePodQOS`.
pub fn qos_class(pod: &Pod) -> String {
    let Some(spec) = &pod.spec else { return "BestEffort".into() };
    let mut requests: BTreeMap<&str, bool> = BTreeMap::new();
    let mut limits: BTreeMap<&str, bool> = BTreeMap::new();
    let mut guaranteed = true;
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        let r = c.resources.clone().unwrap_or_default();
        let req = r.requests.unwrap_or_default();
        let lim = r.limits.unwrap_or_default();
        for name in ["cpu", "memory"] {
            let rq = req.get(name).filter(|q| !is_zero(&q.0));
            let lq = lim.get(name).filter(|q| !is_zero(&q.0));
            if rq.is_some() {
                requests.insert(name, true);
            }
            if lq.is_some() {
                limits.insert(name, true);
            }
            match (rq, lq) {
                (_, None) => guaranteed = false,
                (Some(r), Some(l)) if parse(&r.0) != parse(&l.0) => guaranteed = false,
                _ => {}
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort".into();
    }
    if guaranteed && limits.len() == 2 { "Guaranteed".into() } else { "Burstable".into() }
}

fn parse(s: &str) -> Option<rustkube_api::quantity::Quantity> {
    rustkube_api::quantity::Quantity::parse(s).ok()
}

fn is_zero(s: &str) -> bool {
    parse(s).is_some_and(|q| q.is_zero())
}

/// The pod phase from its container statuses, as upstream's `getPhase`.
pub fn phase(pod: &Pod, init: &[ContainerStatus], app: &[ContainerStatus]) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let mut pending_init = false;
    for s in init {
        let st = s.state.clone().unwrap_or_default();
        if let Some(t) = &st.terminated {
            if t.exit_code != 0 {
                if policy == "Never" {
                    return "Failed".into();
                }
                pending_init = true;
            }
        } else {
            pending_init = true;
            if let Some(w) = &st.waiting
                && s.last_state.as_ref().and_then(|l| l.terminated.as_ref()).is_some_and(|t| t.exit_code != 0)
                && policy == "Never"
                && w.reason.is_some()
            {
                return "Failed".into();
            }
        }
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in app {
        let st = s.state.clone().unwrap_or_default();
        if st.running.is_some() {
            running += 1;
        } else if let Some(t) = &st.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if s.last_state.as_ref().and_then(|l| l.terminated.as_ref()).is_some() {
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    if pending_init {
        return "Pending".into();
    }
    if waiting > 0 {
        return "Pending".into();
    }
    if running > 0 {
        return "Running".into();
    }
    if stopped > 0 {
        if policy == "Always" {
            return "Running".into();
        }
        if stopped == succeeded {
            return "Succeeded".into();
        }
        if policy == "Never" {
            return "Failed".into();
        }
        return "Running".into();
    }
    "Pending".into()
}

fn cond(type_: &str, ok: bool, reason: Option<&str>, message: Option<String>) -> PodCondition {
    PodCondition {
        type_: type_.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: reason.map(str::to_owned),
        message,
        last_probe_time: None,
        last_transition_time: None,
        observed_generation: None,
    }
}

/// The whole status of `pod` from `view`.
pub fn generate(pod: &Pod, view: &PodView) -> PodStatus {
    let spec = pod.spec.clone().unwrap_or_default();
    let old = pod.status.clone().unwrap_or_default();
    let inits: Vec<ContainerStatus> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| container_status(c, view.containers.get(&c.name), &view.id_scheme, "PodInitializing"))
        .collect();
    let inits_done =
        inits.iter().all(|s| s.state.as_ref().and_then(|st| st.terminated.as_ref()).is_some_and(|t| t.exit_code == 0));
    let app_default = if inits_done { "ContainerCreating" } else { "PodInitializing" };
    let apps: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| container_status(c, view.containers.get(&c.name), &view.id_scheme, app_default))
        .collect();
    let phase = phase(pod, &inits, &apps);
    let terminal = phase == "Succeeded" || phase == "Failed";

    let incomplete: Vec<&str> = inits
        .iter()
        .filter(|s| s.state.as_ref().and_then(|st| st.terminated.as_ref()).is_none_or(|t| t.exit_code != 0))
        .map(|s| s.name.as_str())
        .collect();
    let unready: Vec<&str> = apps.iter().filter(|s| !s.ready).map(|s| s.name.as_str()).collect();
    let initialized = if incomplete.is_empty() {
        cond("Initialized", true, None, None)
    } else {
        cond(
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(format!("containers with incomplete status: [{}]", incomplete.join(" "))),
        )
    };
    let ready_cond = |type_: &str| {
        if phase == "Succeeded" {
            cond(type_, false, Some("PodCompleted"), None)
        } else if unready.is_empty() && !terminal {
            cond(type_, true, None, None)
        } else {
            cond(
                type_,
                false,
                Some("ContainersNotReady"),
                Some(format!("containers with unready status: [{}]", unready.join(" "))),
            )
        }
    };
    let containers_ready = ready_cond("ContainersReady");
    let mut ready = ready_cond("Ready");
    // Readiness gates: Ready also needs every gate's condition True, as upstream's GeneratePodReadyCondition.
    if ready.status == "True" {
        let mut unready_gates = Vec::new();
        for gate in spec.readiness_gates.iter().flatten() {
            match old.conditions.iter().flatten().find(|c| c.type_ == gate.condition_type) {
                None => unready_gates.push(format!(
                    "corresponding condition of pod readiness gate \"{}\" does not exist.",
                    gate.condition_type
                )),
                Some(c) if c.status != "True" => unready_gates.push(format!(
                    "the status of pod readiness gate \"{}\" is not \"True\", but {}",
                    gate.condition_type, c.status
                )),
                Some(_) => {}
            }
        }
        if !unready_gates.is_empty() {
            ready = cond("Ready", false, Some("ReadinessGatesNotReady"), Some(unready_gates.join(", ")));
        }
    }
    let mut conditions =
        vec![cond("PodReadyToStartContainers", view.sandbox_ready, None, None), initialized, ready, containers_ready];
    match old.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled") {
        Some(c) => conditions.push(c.clone()),
        None => conditions.push(cond("PodScheduled", true, None, None)),
    }
    // Conditions the kubelet does not own (readiness gates, DisruptionTarget…) are kept.
    for c in old.conditions.iter().flatten() {
        if !conditions.iter().any(|n| n.type_ == c.type_) {
            conditions.push(c.clone());
        }
    }
    // Whole seconds, as the API stores times: the posted status then equals
    // what comes back, and the next sync does not post it again.
    let now = Time(
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap_or_else(|_| jiff::Timestamp::now()),
    );
    for c in &mut conditions {
        let prev = old.conditions.iter().flatten().find(|o| o.type_ == c.type_);
        c.last_transition_time = match prev {
            Some(p) if p.status == c.status => p.last_transition_time.clone().or_else(|| Some(now.clone())),
            _ => Some(now.clone()),
        };
    }
    let pod_ips = if spec.host_network.unwrap_or(false) { vec![view.host_ip.clone()] } else { view.pod_ips.clone() };
    PodStatus {
        phase: Some(phase),
        conditions: Some(conditions),
        host_ip: Some(view.host_ip.clone()).filter(|s| !s.is_empty()),
        host_ips: Some(vec![HostIP { ip: view.host_ip.clone() }]).filter(|_| !view.host_ip.is_empty()),
        pod_ip: pod_ips.first().cloned().or_else(|| old.pod_ip.clone()),
        pod_ips: if pod_ips.is_empty() {
            old.pod_ips.clone()
        } else {
            Some(pod_ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect())
        },
        start_time: old.start_time.clone().or(Some(now)),
        qos_class: Some(qos_class(pod)),
        init_container_statuses: (!inits.is_empty()).then_some(inits),
        container_statuses: Some(apps),
        ..Default::default()
    }
}

/// The pod conditions the kubelet owns; others (PodScheduled, readiness
/// gates, DisruptionTarget…) belong to other writers and are kept as they are.
pub const KUBELET_CONDITIONS: [&str; 4] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"];

/// `(type, status)` of the pod's readiness-gate conditions (which other
/// writers set and the kubelet's Ready condition waits on).
pub fn readiness_gate_conditions(pod: &Pod) -> Vec<(String, String)> {
    let gates = pod.spec.as_ref().and_then(|s| s.readiness_gates.as_ref());
    let gated = |type_: &str| gates.into_iter().flatten().any(|g| g.condition_type == type_);
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| gated(&c.type_))
        .map(|c| (c.type_.clone(), c.status.clone()))
        .collect()
}

/// Whether two statuses say the same thing.
pub fn same(a: &PodStatus, b: &PodStatus) -> bool {
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(policy: &str, inits: &[&str], apps: &[&str]) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u"},
            "spec": {
                "restartPolicy": policy,
                "initContainers": inits.iter().map(|n| serde_json::json!({"name": n, "image": "busybox"})).collect::<Vec<_>>(),
                "containers": apps.iter().map(|n| serde_json::json!({"name": n, "image": "busybox"})).collect::<Vec<_>>(),
            }
        }))
        .unwrap()
    }

    fn rt(name: &str, state: RtState, exit: i32) -> runtime::ContainerStatus {
        runtime::ContainerStatus {
            id: format!("id-{name}"),
            sandbox_id: "s".into(),
            name: name.into(),
            attempt: 0,
            state,
            created_at: 1,
            started_at: 1_000_000_000,
            finished_at: if state == RtState::Exited { 2_000_000_000 } else { 0 },
            exit_code: exit,
            reason: String::new(),
            message: String::new(),
            image: "busybox".into(),
            image_ref: "sha256:abc".into(),
            labels: Default::default(),
        }
    }

    type Entry<'a> = (&'a str, Option<runtime::ContainerStatus>, Option<(&'a str, &'a str)>);

    fn view(entries: &[Entry<'_>]) -> PodView {
        PodView {
            sandbox_ready: true,
            pod_ips: vec!["10.244.0.2".into()],
            host_ip: "10.0.0.1".into(),
            id_scheme: "containerd://".into(),
            containers: entries
                .iter()
                .map(|(n, c, w)| {
                    (
                        n.to_string(),
                        ContainerView {
                            current: c.clone(),
                            waiting: w.map(|(r, m)| (r.to_owned(), m.to_owned())),
                            ready: true,
                            started: true,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        }
    }

    fn condition(s: &PodStatus, t: &str) -> PodCondition {
        s.conditions.as_ref().unwrap().iter().find(|c| c.type_ == t).cloned().unwrap()
    }

    #[test]
    fn running_pod_is_ready() {
        let p = pod("Always", &[], &["a"]);
        let s = generate(&p, &view(&[("a", Some(rt("a", RtState::Running, 0)), None)]));
        assert_eq!(s.phase.as_deref(), Some("Running"));
        assert_eq!(condition(&s, "Ready").status, "True");
        assert_eq!(condition(&s, "PodScheduled").status, "True");
        assert_eq!(s.pod_ip.as_deref(), Some("10.244.0.2"));
        assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
        let cs = &s.container_statuses.unwrap()[0];
        assert!(cs.ready);
        assert_eq!(cs.container_id.as_deref(), Some("containerd://id-a"));
    }

    #[test]
    fn completed_pod_succeeds_or_fails_by_exit_code() {
        let p = pod("Never", &[], &["a"]);
        let s = generate(&p, &view(&[("a", Some(rt("a", RtState::Exited, 0)), None)]));
        assert_eq!(s.phase.as_deref(), Some("Succeeded"));
        assert_eq!(condition(&s, "Ready").reason.as_deref(), Some("PodCompleted"));
        let s = generate(&p, &view(&[("a", Some(rt("a", RtState::Exited, 3)), None)]));
        assert_eq!(s.phase.as_deref(), Some("Failed"));
        let t = s.container_statuses.unwrap()[0].state.clone().unwrap().terminated.unwrap();
        assert_eq!((t.exit_code, t.reason.as_deref()), (3, Some("Error")));
    }

    #[test]
    fn crash_loop_is_waiting_with_last_state_and_running_phase() {
        let p = pod("Always", &[], &["a"]);
        let s = generate(
            &p,
            &view(&[(
                "a",
                Some(rt("a", RtState::Exited, 1)),
                Some(("CrashLoopBackOff", "back-off 10s restarting failed container=a pod=p_default(u)")),
            )]),
        );
        assert_eq!(s.phase.as_deref(), Some("Running"));
        let cs = &s.container_statuses.unwrap()[0];
        assert_eq!(cs.state.clone().unwrap().waiting.unwrap().reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(cs.last_state.clone().unwrap().terminated.unwrap().exit_code, 1);
        assert_eq!(
            condition(&generate(&p, &view(&[("a", None, Some(("ErrImagePull", "x")))])), "Ready").status,
            "False"
        );
    }

    #[test]
    fn init_containers_gate_the_app_containers() {
        let p = pod("Always", &["i"], &["a"]);
        let s = generate(&p, &view(&[("i", Some(rt("i", RtState::Running, 0)), None)]));
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        let init = condition(&s, "Initialized");
        assert_eq!(init.message.as_deref(), Some("containers with incomplete status: [i]"));
        let cs = &s.container_statuses.unwrap()[0];
        assert_eq!(cs.state.clone().unwrap().waiting.unwrap().reason.as_deref(), Some("PodInitializing"));
        let p = pod("Never", &["i"], &["a"]);
        let s = generate(&p, &view(&[("i", Some(rt("i", RtState::Exited, 2)), None)]));
        assert_eq!(s.phase.as_deref(), Some("Failed"), "a failed init container fails a Never pod");
    }

    #[test]
    fn readiness_gates_hold_ready_back_until_their_condition_is_true() {
        let mut p = pod("Always", &[], &["a"]);
        p.spec.as_mut().unwrap().readiness_gates =
            Some(vec![k8s_openapi::api::core::v1::PodReadinessGate { condition_type: "example.com/lb".into() }]);
        let v = view(&[("a", Some(rt("a", RtState::Running, 0)), None)]);
        let s = generate(&p, &v);
        let ready = condition(&s, "Ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("ReadinessGatesNotReady")));
        assert_eq!(
            ready.message.as_deref(),
            Some("corresponding condition of pod readiness gate \"example.com/lb\" does not exist.")
        );
        assert_eq!(condition(&s, "ContainersReady").status, "True");
        let mut status = s.clone();
        status.conditions.as_mut().unwrap().push(cond("example.com/lb", true, None, None));
        p.status = Some(status);
        let s = generate(&p, &v);
        assert_eq!(condition(&s, "Ready").status, "True", "the gate's condition is True");
        assert_eq!(condition(&s, "example.com/lb").status, "True", "conditions the kubelet does not own are kept");
    }

    #[test]
    fn qos_classes() {
        let mut p = pod("Always", &[], &["a"]);
        assert_eq!(qos_class(&p), "BestEffort");
        let c = &mut p.spec.as_mut().unwrap().containers[0];
        c.resources =
            Some(serde_json::from_value(serde_json::json!({"limits": {"cpu": "1", "memory": "1Gi"}})).unwrap());
        assert_eq!(qos_class(&p), "Guaranteed");
        let c = &mut p.spec.as_mut().unwrap().containers[0];
        c.resources = Some(serde_json::from_value(serde_json::json!({"requests": {"cpu": "1"}})).unwrap());
        assert_eq!(qos_class(&p), "Burstable");
    }
}
