//! The Node object: registration (labels, taints, addresses, capacity and
//! allocatable from the machine minus reservations) and the status loop that
//! posts conditions on change and at least every report interval, as
//! upstream's `kubelet_node_status.go`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus, NodeSystemInfo, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use rustkube_api::quantity::{Format, Quantity};

use crate::machine::MachineInfo;
use crate::options::Config;
use crate::runtime::SharedRuntime;

/// The kubelet version reported in nodeInfo.
pub const KUBELET_VERSION: &str = "v1.33.0";

/// Errors of node registration and status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("registering node {node}: {source}")]
    RegisterFailed {
        node: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating status of node {node}: {source}")]
    StatusUpdateFailed {
        node: String,
        #[source]
        source: kube::Error,
    },
}

/// What the status of this node is computed from.
#[derive(Debug, Clone)]
pub struct NodeFacts {
    pub name: String,
    pub ip: IpAddr,
    pub hostname: String,
    pub machine: MachineInfo,
    pub runtime_version: String,
    pub kubelet_port: u16,
    pub runtime_ready: Result<(), String>,
    pub pressure: crate::machine::Pressure,
}

/// The labels a kubelet always puts on its Node, plus `--node-labels`.
pub fn labels(config: &Config, arch: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_owned(), config.node_name.clone()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("kubernetes.io/arch".to_owned(), arch.to_owned()),
        ("beta.kubernetes.io/os".to_owned(), "linux".to_owned()),
        ("beta.kubernetes.io/arch".to_owned(), arch.to_owned()),
    ]);
    labels.extend(config.node_labels.clone());
    labels
}

fn q(s: String) -> K8sQuantity {
    K8sQuantity(s)
}

/// `(capacity, allocatable)`: allocatable is capacity minus kube-reserved,
/// system-reserved and the hard eviction thresholds (memory.available 100Mi,
/// nodefs.available 10%), never below zero.
pub fn resources(config: &Config, m: &MachineInfo) -> (BTreeMap<String, K8sQuantity>, BTreeMap<String, K8sQuantity>) {
    let mem = Quantity::from_value(i64::try_from(m.memory_bytes / 1024 * 1024).unwrap_or(i64::MAX), Format::BinarySI);
    let fs =
        Quantity::from_value(i64::try_from(m.filesystem_bytes / 1024 * 1024).unwrap_or(i64::MAX), Format::BinarySI);
    let capacity: BTreeMap<String, Quantity> = BTreeMap::from([
        ("cpu".to_owned(), Quantity::from_value(i64::try_from(m.cores).unwrap_or(1), Format::DecimalSI)),
        ("memory".to_owned(), mem),
        ("ephemeral-storage".to_owned(), fs.clone()),
        ("pods".to_owned(), Quantity::from_value(i64::from(config.max_pods), Format::DecimalSI)),
        ("hugepages-1Gi".to_owned(), Quantity::from_value(0, Format::DecimalSI)),
        ("hugepages-2Mi".to_owned(), Quantity::from_value(0, Format::DecimalSI)),
    ]);
    let mut eviction: BTreeMap<String, Quantity> = BTreeMap::new();
    for t in &config.eviction_hard {
        let (resource, capacity) = match t.signal {
            crate::eviction::Signal::MemoryAvailable => ("memory", m.memory_bytes),
            crate::eviction::Signal::NodeFsAvailable => ("ephemeral-storage", m.filesystem_bytes),
            _ => continue,
        };
        let minimum = t.minimum(i64::try_from(capacity).unwrap_or(i64::MAX));
        eviction.insert(resource.into(), Quantity::from_value(minimum, Format::DecimalSI));
    }
    let mut allocatable = BTreeMap::new();
    for (name, cap) in &capacity {
        let mut value = cap.clone();
        for reserved in [&config.kube_reserved, &config.system_reserved, &eviction] {
            if let Some(r) = reserved.get(name) {
                value = value.checked_sub(r).unwrap_or_else(|| Quantity::from_value(0, cap.format()));
            }
        }
        if value.sign() < 0 {
            value = Quantity::from_value(0, cap.format());
        }
        allocatable.insert(name.clone(), q(value.to_canonical_string()));
    }
    (capacity.into_iter().map(|(k, v)| (k, q(v.to_canonical_string()))).collect(), allocatable)
}

fn condition(type_: &str, ok_status: bool, reason: &str, message: &str, now: &Time) -> NodeCondition {
    NodeCondition {
        type_: type_.to_owned(),
        status: if ok_status { "True" } else { "False" }.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// The status this node should have now; transition times are carried over
/// from `previous` for conditions whose status did not change.
pub fn status(config: &Config, facts: &NodeFacts, previous: Option<&NodeStatus>) -> NodeStatus {
    let now = Time(jiff::Timestamp::now());
    let (capacity, allocatable) = resources(config, &facts.machine);
    let ready = match &facts.runtime_ready {
        Ok(()) => condition("Ready", true, "KubeletReady", "kubelet is posting ready status", &now),
        Err(why) => condition("Ready", false, "KubeletNotReady", why, &now),
    };
    let memory = if facts.pressure.memory {
        condition(
            "MemoryPressure",
            true,
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
            &now,
        )
    } else {
        condition(
            "MemoryPressure",
            false,
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            &now,
        )
    };
    let disk = if facts.pressure.disk {
        condition("DiskPressure", true, "KubeletHasDiskPressure", "kubelet has disk pressure", &now)
    } else {
        condition("DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure", &now)
    };
    let mut conditions = vec![
        memory,
        disk,
        if facts.pressure.pid {
            condition("PIDPressure", true, "KubeletHasInsufficientPID", "kubelet has insufficient PID available", &now)
        } else {
            condition("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available", &now)
        },
        ready,
    ];
    if let Some(prev) = previous.and_then(|p| p.conditions.as_ref()) {
        for c in &mut conditions {
            if let Some(old) = prev.iter().find(|o| o.type_ == c.type_ && o.status == c.status) {
                c.last_transition_time = old.last_transition_time.clone();
            }
        }
    }
    NodeStatus {
        capacity: Some(capacity),
        allocatable: Some(allocatable),
        conditions: Some(conditions),
        addresses: Some(vec![
            NodeAddress { type_: "InternalIP".into(), address: facts.ip.to_string() },
            NodeAddress { type_: "Hostname".into(), address: facts.hostname.clone() },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: i32::from(facts.kubelet_port) }),
        }),
        node_info: Some(NodeSystemInfo {
            machine_id: facts.machine.machine_id.clone(),
            system_uuid: facts.machine.system_uuid.clone(),
            boot_id: facts.machine.boot_id.clone(),
            kernel_version: facts.machine.kernel_version.clone(),
            os_image: facts.machine.os_image.clone(),
            container_runtime_version: facts.runtime_version.clone(),
            kubelet_version: KUBELET_VERSION.into(),
            kube_proxy_version: KUBELET_VERSION.into(),
            operating_system: "linux".into(),
            architecture: facts.machine.architecture.clone(),
            swap: None,
        }),
        ..Default::default()
    }
}

/// Whether two statuses differ in more than heartbeat times.
pub fn changed(a: &NodeStatus, b: &NodeStatus) -> bool {
    let strip = |s: &NodeStatus| {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_heartbeat_time = None;
        }
        s.images = None;
        s.volumes_in_use = None;
        s.volumes_attached = None;
        s.config = None;
        s.phase = None;
        s.runtime_handlers = None;
        s.features = None;
        s
    };
    strip(a) != strip(b)
}

/// The Node object registered for this kubelet.
pub fn node_object(config: &Config, facts: &NodeFacts) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(config.node_name.clone()),
            labels: Some(labels(config, &facts.machine.architecture)),
            annotations: Some(BTreeMap::from([(
                "volumes.kubernetes.io/controller-managed-attach-detach".to_owned(),
                "true".to_owned(),
            )])),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: (!config.taints.is_empty()).then(|| config.taints.clone()),
            ..Default::default()
        }),
        status: Some(status(config, facts, None)),
    }
}

/// Registers the node: creates it, or when it exists makes sure the default
/// labels are present. Returns the Node as stored.
pub async fn register(api: &Api<Node>, config: &Config, facts: &NodeFacts) -> Result<Node, Error> {
    let node = node_object(config, facts);
    let err = |source| Error::RegisterFailed { node: config.node_name.clone(), source };
    match api.create(&PostParams::default(), &node).await {
        Ok(created) => {
            tracing::info!(node = %config.node_name, "successfully registered node");
            Ok(created)
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let patch = serde_json::json!({ "metadata": { "labels": labels(config, &facts.machine.architecture) } });
            let existing =
                api.patch(&config.node_name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(err)?;
            tracing::info!(node = %config.node_name, "node was previously registered");
            Ok(existing)
        }
        Err(e) => Err(err(e)),
    }
}

/// The `NoSchedule` taints of the pressure conditions.
pub const PRESSURE_TAINTS: [&str; 3] =
    ["node.kubernetes.io/memory-pressure", "node.kubernetes.io/disk-pressure", "node.kubernetes.io/pid-pressure"];

/// The node's taints with the pressure taints matching `pressure`.
pub fn pressure_taints(existing: &[Taint], pressure: crate::machine::Pressure) -> Vec<Taint> {
    let mut taints: Vec<Taint> =
        existing.iter().filter(|t| !PRESSURE_TAINTS.contains(&t.key.as_str())).cloned().collect();
    for (key, on) in PRESSURE_TAINTS.iter().zip([pressure.memory, pressure.disk, pressure.pid]) {
        if on {
            taints.push(Taint { key: (*key).to_owned(), effect: "NoSchedule".into(), value: None, time_added: None });
        }
    }
    taints
}

/// Keeps the pressure taints (`node.kubernetes.io/memory-pressure:NoSchedule`
/// and friends) in line with the conditions. Upstream's node lifecycle
/// controller does this (TaintNodesByCondition); this controller-manager
/// does not, so the kubelet keeps its own node's.
pub async fn sync_pressure_taints(
    api: &Api<Node>,
    name: &str,
    pressure: crate::machine::Pressure,
) -> Result<(), Error> {
    let err = |source| Error::StatusUpdateFailed { node: name.to_owned(), source };
    let node = api.get(name).await.map_err(err)?;
    let existing = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let wanted = pressure_taints(&existing, pressure);
    if wanted == existing {
        return Ok(());
    }
    tracing::info!(node = name, ?pressure, "updating the node's pressure taints");
    let patch = serde_json::json!({
        "metadata": { "resourceVersion": node.metadata.resource_version },
        "spec": { "taints": if wanted.is_empty() { serde_json::Value::Null } else { serde_json::json!(wanted) } },
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(err)?;
    Ok(())
}

/// Posts `status` through `nodes/NAME/status`.
pub async fn post_status(api: &Api<Node>, name: &str, status: &NodeStatus) -> Result<Node, Error> {
    let patch = serde_json::json!({ "status": status });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::StatusUpdateFailed { node: name.to_owned(), source })
}

/// Keeps the node's status current until `shutdown`: computes it every
/// update interval, posts it when it changed or the report interval passed.
pub async fn status_loop(
    api: Api<Node>,
    config: Config,
    mut facts: NodeFacts,
    runtime: SharedRuntime,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut last_posted: Option<(NodeStatus, Instant)> = None;
    let mut taints_applied: Option<crate::machine::Pressure> = None;
    loop {
        facts.runtime_ready = match tokio::time::timeout(Duration::from_secs(10), runtime.version()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("container runtime is down: {e}")),
            Err(_) => Err("container runtime is down: version call timed out".into()),
        };
        let met = crate::eviction::met(&config.eviction_hard, &crate::eviction::observe(&config.root_dir));
        facts.pressure = crate::eviction::pressure(&met);
        if taints_applied != Some(facts.pressure) {
            match sync_pressure_taints(&api, &config.node_name, facts.pressure).await {
                Ok(()) => taints_applied = Some(facts.pressure),
                Err(e) => tracing::warn!(error = %e, "error updating the node's pressure taints, will retry"),
            }
        }
        let next = status(&config, &facts, last_posted.as_ref().map(|(s, _)| s));
        let due = match &last_posted {
            None => true,
            Some((prev, at)) => changed(prev, &next) || at.elapsed() >= config.node_status_report_frequency,
        };
        let mut retry = false;
        if due {
            match post_status(&api, &config.node_name, &next).await {
                Ok(_) => {
                    tracing::debug!(node = %config.node_name, "posted node status");
                    last_posted = Some((next, Instant::now()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "error updating node status, will retry");
                    retry = true;
                }
            }
        }
        let wait = if retry { Duration::from_secs(1) } else { config.node_status_update_frequency };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn facts() -> NodeFacts {
        NodeFacts {
            name: "n1".into(),
            ip: "10.0.0.5".parse().unwrap(),
            hostname: "n1".into(),
            machine: MachineInfo {
                cores: 4,
                memory_bytes: 8 << 30,
                filesystem_bytes: 100 << 30,
                kernel_version: "6.1.0".into(),
                os_image: "Debian".into(),
                machine_id: "m".into(),
                system_uuid: "s".into(),
                boot_id: "b".into(),
                architecture: "amd64".into(),
            },
            runtime_version: "fake://0.1.0".into(),
            kubelet_port: 10250,
            runtime_ready: Ok(()),
            pressure: Default::default(),
        }
    }

    #[test]
    fn allocatable_subtracts_reservations_and_eviction_thresholds() {
        let mut config = Config::fake("n1", None, PathBuf::from("/tmp"));
        config.eviction_hard = crate::eviction::parse(crate::eviction::DEFAULT_EVICTION_HARD).unwrap();
        config.kube_reserved = crate::options::parse_reserved("kube-reserved", "cpu=500m,memory=1Gi").unwrap();
        config.system_reserved = crate::options::parse_reserved("system-reserved", "cpu=500m").unwrap();
        let (cap, alloc) = resources(&config, &facts().machine);
        assert_eq!(cap["cpu"].0, "4");
        assert_eq!(cap["memory"].0, "8Gi");
        assert_eq!(cap["pods"].0, "110");
        assert_eq!(alloc["cpu"].0, "3");
        let mem: Quantity = alloc["memory"].0.parse().unwrap();
        assert_eq!(mem.value(), (8i64 << 30) - (1 << 30) - (100 << 20));
        let eph: Quantity = alloc["ephemeral-storage"].0.parse().unwrap();
        assert_eq!(eph.value(), (100i64 << 30) - (100i64 << 30) / 10);
    }

    #[test]
    fn ready_condition_and_transition_times() {
        let config = Config::fake("n1", None, PathBuf::from("/tmp"));
        let first = status(&config, &facts(), None);
        let ready = first.conditions.as_ref().unwrap().iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("True", Some("KubeletReady")));
        assert_eq!(ready.message.as_deref(), Some("kubelet is posting ready status"));
        let second = status(&config, &facts(), Some(&first));
        assert!(!changed(&first, &second), "only heartbeat times moved");
        let mut down = facts();
        down.runtime_ready = Err("container runtime is down".into());
        let third = status(&config, &down, Some(&second));
        assert!(changed(&second, &third));
        let mut pressed = facts();
        pressed.pressure.memory = true;
        let s = status(&config, &pressed, None);
        let mp = s.conditions.unwrap().into_iter().find(|c| c.type_ == "MemoryPressure").unwrap();
        assert_eq!((mp.status.as_str(), mp.reason.as_deref()), ("True", Some("KubeletHasInsufficientMemory")));
        let node = node_object(&config, &facts());
        assert_eq!(node.metadata.labels.unwrap()["kubernetes.io/hostname"], "n1");
        assert_eq!(first.daemon_endpoints.unwrap().kubelet_endpoint.unwrap().port, 10250);
    }
}
