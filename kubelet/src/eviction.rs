//! The eviction manager, as upstream's `pkg/kubelet/eviction`: hard
//! thresholds (`--eviction-hard`) on node signals (memory, the kubelet's
//! filesystem, PIDs) drive the MemoryPressure / DiskPressure / PIDPressure
//! conditions, and while one is crossed the kubelet evicts one pod per
//! monitoring period, ranked as upstream (usage above requests first, then
//! lower priority, then larger usage above requests).
//!
//! Observed here: `memory.available` is `MemAvailable` of /proc/meminfo;
//! `nodefs.*` and `imagefs.*` are statvfs of the kubelet's root directory (the
//! image filesystem is taken to be the same as the node filesystem);
//! `pid.available` is `kernel.pid_max` minus the processes running.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use rustkube_api::quantity::{Format, Quantity};

use crate::pod_worker::Context;
use crate::pod_workers::Workers;

/// Upstream's default `--eviction-hard` on Linux.
pub const DEFAULT_EVICTION_HARD: &str =
    "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%";

/// Upstream's eviction manager monitoring period.
pub const MONITORING_PERIOD: Duration = Duration::from_secs(10);

/// The pod status reason of an evicted pod.
pub const REASON: &str = "Evicted";

/// A node signal an eviction threshold is set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    MemoryAvailable,
    NodeFsAvailable,
    NodeFsInodesFree,
    ImageFsAvailable,
    ImageFsInodesFree,
    PidAvailable,
}

/// The node condition a signal drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Memory,
    Disk,
    Pid,
}

impl Signal {
    pub const ALL: [Signal; 6] = [
        Signal::MemoryAvailable,
        Signal::NodeFsAvailable,
        Signal::NodeFsInodesFree,
        Signal::ImageFsAvailable,
        Signal::ImageFsInodesFree,
        Signal::PidAvailable,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Signal::MemoryAvailable => "memory.available",
            Signal::NodeFsAvailable => "nodefs.available",
            Signal::NodeFsInodesFree => "nodefs.inodesFree",
            Signal::ImageFsAvailable => "imagefs.available",
            Signal::ImageFsInodesFree => "imagefs.inodesFree",
            Signal::PidAvailable => "pid.available",
        }
    }

    /// The resource the kubelet reclaims when the signal's threshold is met.
    pub fn resource(self) -> &'static str {
        match self {
            Signal::MemoryAvailable => "memory",
            Signal::NodeFsAvailable | Signal::ImageFsAvailable => "ephemeral-storage",
            Signal::NodeFsInodesFree | Signal::ImageFsInodesFree => "inodes",
            Signal::PidAvailable => "pids",
        }
    }

    pub fn condition(self) -> Condition {
        match self {
            Signal::MemoryAvailable => Condition::Memory,
            Signal::PidAvailable => Condition::Pid,
            _ => Condition::Disk,
        }
    }

    fn format(self) -> Format {
        match self {
            Signal::MemoryAvailable | Signal::NodeFsAvailable | Signal::ImageFsAvailable => Format::BinarySI,
            _ => Format::DecimalSI,
        }
    }
}

/// A threshold's value: an absolute quantity, or a fraction of capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Quantity(i64),
    Percentage(f64),
}

/// `signal < value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    pub signal: Signal,
    pub value: Value,
}

impl Threshold {
    /// The minimum available amount, given the signal's capacity.
    pub fn minimum(&self, capacity: i64) -> i64 {
        match self.value {
            Value::Quantity(q) => q,
            // Upstream rounds the same way (int64 of the float product).
            Value::Percentage(p) => (capacity as f64 * p) as i64,
        }
    }
}

/// Parses `--eviction-hard`: `signal<quantity` or `signal<percent%`, comma-separated; empty disables.
pub fn parse(s: &str) -> Result<Vec<Threshold>, String> {
    let mut out: Vec<Threshold> = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, value) = item
            .split_once('<')
            .ok_or_else(|| format!("{item:?}: expected signal<quantity (only the < operator is supported)"))?;
        let signal = Signal::ALL
            .into_iter()
            .find(|s| s.name() == name.trim())
            .ok_or_else(|| format!("unsupported eviction signal {:?}", name.trim()))?;
        let value = value.trim();
        let value = if let Some(p) = value.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| format!("invalid percentage {value:?}"))?;
            if !(0.0..=100.0).contains(&p) || p.is_nan() {
                return Err(format!("eviction percentage threshold {name} must be >= 0% and <= 100%: {value}"));
            }
            Value::Percentage(p / 100.0)
        } else {
            let q = Quantity::parse(value).map_err(|e| format!("invalid quantity {value:?}: {e}"))?;
            if q.sign() < 0 {
                return Err(format!("eviction threshold {name} must be positive: {value}"));
            }
            Value::Quantity(q.value())
        };
        if out.iter().any(|t| t.signal == signal) {
            return Err(format!("found duplicate eviction threshold for signal {}", signal.name()));
        }
        out.push(Threshold { signal, value });
    }
    Ok(out)
}

/// `(available, capacity)` per signal, as observed now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations(pub HashMap<Signal, (i64, i64)>);

/// Reads the node's signals; those that cannot be read are left out.
pub fn observe(root_dir: &Path) -> Observations {
    let mut obs = HashMap::new();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> Option<i64> {
        let line = meminfo.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<i64>().ok().map(|kib| kib.saturating_mul(1024))
    };
    if let (Some(available), Some(total)) = (field("MemAvailable:"), field("MemTotal:")) {
        obs.insert(Signal::MemoryAvailable, (available, total));
    }
    let mut dir = root_dir.to_path_buf();
    while !dir.exists() && dir.pop() {}
    if let Ok(fs) = rustix::fs::statvfs(&dir) {
        let bytes = |blocks: u64| i64::try_from(blocks.saturating_mul(fs.f_frsize)).unwrap_or(i64::MAX);
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let space = (bytes(fs.f_bavail), bytes(fs.f_blocks));
        obs.insert(Signal::NodeFsAvailable, space);
        obs.insert(Signal::ImageFsAvailable, space);
        if fs.f_files > 0 {
            let inodes = (count(fs.f_favail), count(fs.f_files));
            obs.insert(Signal::NodeFsInodesFree, inodes);
            obs.insert(Signal::ImageFsInodesFree, inodes);
        }
    }
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").ok().and_then(|s| s.trim().parse::<i64>().ok());
    let running = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().nth(3)?.split_once('/')?.1.parse::<i64>().ok());
    if let (Some(max), Some(running)) = (pid_max, running) {
        obs.insert(Signal::PidAvailable, (max - running, max));
    }
    Observations(obs)
}

/// A threshold that is met, with what was observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Met {
    pub threshold: Threshold,
    pub minimum: i64,
    pub available: i64,
}

/// The thresholds met by `obs`, in the order given.
pub fn met(thresholds: &[Threshold], obs: &Observations) -> Vec<Met> {
    thresholds
        .iter()
        .filter_map(|t| {
            let (available, capacity) = *obs.0.get(&t.signal)?;
            let minimum = t.minimum(capacity);
            (available < minimum).then_some(Met { threshold: *t, minimum, available })
        })
        .collect()
}

/// The node pressure conditions `met` implies.
pub fn pressure(met: &[Met]) -> crate::machine::Pressure {
    let has = |c: Condition| met.iter().any(|m| m.threshold.signal.condition() == c);
    crate::machine::Pressure { memory: has(Condition::Memory), disk: has(Condition::Disk), pid: has(Condition::Pid) }
}

/// A pod that may be evicted, with its usage and request of the starved resource.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub pod: Pod,
    /// Usage by container name.
    pub usage: HashMap<String, i64>,
}

impl Candidate {
    fn priority(&self) -> i32 {
        self.pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
    }

    fn request(&self, resource: &str) -> i64 {
        self.pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get(resource))
            .filter_map(|q| Quantity::parse(&q.0).ok())
            .map(|q| q.value())
            .sum()
    }

    fn total_usage(&self) -> i64 {
        self.usage.values().sum()
    }
}

/// Upstream's ranking: pods using more than they request first, then lower
/// priority, then larger usage above request.
pub fn rank(candidates: &mut [Candidate], resource: &str) {
    candidates.sort_by(|a, b| {
        let over = |c: &Candidate| c.total_usage() > c.request(resource);
        let above = |c: &Candidate| c.total_usage() - c.request(resource);
        over(b).cmp(&over(a)).then(a.priority().cmp(&b.priority())).then(above(b).cmp(&above(a)))
    });
}

/// Upstream's critical pods: static and mirror pods and system-critical priorities are never evicted.
pub fn is_critical(pod: &Pod) -> bool {
    let annotations = pod.metadata.annotations.as_ref();
    let static_or_mirror = annotations.is_some_and(|a| {
        a.contains_key("kubernetes.io/config.mirror")
            || a.get("kubernetes.io/config.source").is_some_and(|s| s != "api")
    });
    let priority = pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
    static_or_mirror || priority >= 2_000_000_000
}

fn quantity(v: i64, signal: Signal) -> String {
    Quantity::from_value(v, signal.format()).to_canonical_string()
}

/// Upstream's eviction message: the starved resource, the threshold and what
/// is available, and each container using more than it requests.
pub fn message(met: &Met, candidate: &Candidate) -> String {
    let signal = met.threshold.signal;
    let resource = signal.resource();
    let mut m = format!("The node was low on resource: {resource}. ");
    m.push_str(&format!(
        "Threshold quantity: {}, available: {}. ",
        quantity(met.minimum, signal),
        quantity(met.available, signal)
    ));
    for c in candidate.pod.spec.iter().flat_map(|s| s.containers.iter()) {
        let Some(&usage) = candidate.usage.get(&c.name) else { continue };
        let request = c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref()?.get(resource))
            .and_then(|q| Quantity::parse(&q.0).ok())
            .map(|q| q.value())
            .unwrap_or(0);
        if usage > request {
            m.push_str(&format!(
                "Container {} was using {}, request is {}, has larger consumption of {resource}. ",
                c.name,
                quantity(usage, signal),
                quantity(request, signal)
            ));
        }
    }
    m
}

/// Runs the eviction manager until `shutdown`: every period (the node status
/// update frequency, at most [`MONITORING_PERIOD`]) observes the signals and,
/// when a hard threshold is met, evicts the first-ranked pod.
pub async fn run(ctx: Arc<Context>, workers: Workers, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let period = ctx.config.node_status_update_frequency.min(MONITORING_PERIOD).max(Duration::from_millis(100));
    loop {
        let obs = observe(&ctx.config.root_dir);
        let met = met(&ctx.config.eviction_hard, &obs);
        if let Some(first) = met.first() {
            tracing::info!(
                signal = first.threshold.signal.name(),
                available = first.available,
                minimum = first.minimum,
                "eviction manager: attempting to reclaim"
            );
            evict_one(&ctx, &workers, first).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn evict_one(ctx: &Arc<Context>, workers: &Workers, met: &Met) {
    let resource = met.threshold.signal.resource();
    let stats = match ctx.runtime.container_stats().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "eviction manager: no container stats, cannot rank pods");
            return;
        }
    };
    let mut candidates: Vec<Candidate> = workers
        .pods()
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")))
        .filter(|p| !ctx.is_evicted(p.metadata.uid.as_deref().unwrap_or_default()))
        .map(|pod| {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let usage = stats
                .iter()
                .filter(|s| s.pod_uid == uid)
                .map(|s| {
                    let used = match resource {
                        "memory" => s.memory_working_set_bytes,
                        "ephemeral-storage" => s.writable_layer_bytes,
                        _ => 0,
                    };
                    (s.name.clone(), i64::try_from(used).unwrap_or(i64::MAX))
                })
                .collect();
            Candidate { pod, usage }
        })
        .collect();
    rank(&mut candidates, resource);
    for c in candidates {
        if is_critical(&c.pod) {
            tracing::info!(pod = ?c.pod.metadata.name, "eviction manager: cannot evict a critical pod");
            continue;
        }
        let msg = message(met, &c);
        let uid = c.pod.metadata.uid.clone().unwrap_or_default();
        tracing::info!(pod = ?c.pod.metadata.name, namespace = ?c.pod.metadata.namespace, message = %msg, "eviction manager: evicting pod");
        ctx.recorder.pod(&c.pod, None, "Warning", REASON, msg.clone());
        ctx.request_eviction(&uid, msg);
        workers.wake_pod(&uid);
        // One pod per monitoring period, as upstream.
        return;
    }
    tracing::info!("eviction manager: unable to evict any pods from the node");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, priority: i32, memory_request: Option<&str>) -> Pod {
        let mut c = serde_json::json!({"name": "main", "image": "busybox"});
        if let Some(r) = memory_request {
            c["resources"] = serde_json::json!({"requests": {"memory": r}});
        }
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "uid": name},
            "spec": {"priority": priority, "containers": [c]},
        }))
        .unwrap()
    }

    fn candidate(name: &str, priority: i32, request: Option<&str>, usage: i64) -> Candidate {
        Candidate { pod: pod(name, priority, request), usage: [("main".to_owned(), usage)].into() }
    }

    #[test]
    fn parses_upstream_defaults_and_rejects_bad_thresholds() {
        let t = parse(DEFAULT_EVICTION_HARD).unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(t[0], Threshold { signal: Signal::MemoryAvailable, value: Value::Quantity(100 << 20) });
        assert_eq!(t[1], Threshold { signal: Signal::NodeFsAvailable, value: Value::Percentage(0.10) });
        assert_eq!(t[3].signal, Signal::NodeFsInodesFree);
        assert!(parse("").unwrap().is_empty(), "an empty flag disables hard eviction");
        assert!(parse("memory.available<1000Ti").is_ok());
        assert!(parse("memory.available>1Gi").unwrap_err().contains("< operator"));
        assert!(parse("cpu.available<1").unwrap_err().contains("unsupported eviction signal"));
        assert!(parse("nodefs.available<120%").unwrap_err().contains("<= 100%"));
        assert!(parse("memory.available<lots").unwrap_err().contains("invalid quantity"));
        assert!(parse("memory.available<1Gi,memory.available<2Gi").unwrap_err().contains("duplicate"));
    }

    #[test]
    fn thresholds_are_met_below_the_minimum_and_drive_the_conditions() {
        let t = parse("memory.available<100Mi,nodefs.available<10%,pid.available<100").unwrap();
        let obs = |mem: i64, fs: (i64, i64), pids: i64| {
            Observations(
                [
                    (Signal::MemoryAvailable, (mem, 1 << 34)),
                    (Signal::NodeFsAvailable, fs),
                    (Signal::PidAvailable, (pids, 4_194_304)),
                ]
                .into(),
            )
        };
        assert!(met(&t, &obs(1 << 30, (50, 100), 10_000)).is_empty());
        let m = met(&t, &obs(50 << 20, (9, 100), 10_000));
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].minimum, m[0].available), (100 << 20, 50 << 20));
        assert_eq!((m[1].minimum, m[1].available), (10, 9), "10% of the capacity");
        assert_eq!(pressure(&m), crate::machine::Pressure { memory: true, disk: true, pid: false });
        assert!(pressure(&met(&t, &obs(1 << 30, (50, 100), 5))).pid);
        let this_machine = observe(Path::new("/nonexistent/kubelet"));
        assert!(
            this_machine.0.contains_key(&Signal::MemoryAvailable)
                && this_machine.0.contains_key(&Signal::NodeFsAvailable)
        );
        assert_eq!(met(&parse("memory.available<1000Ti").unwrap(), &this_machine).len(), 1);
    }

    #[test]
    fn pods_over_their_requests_go_first_then_lower_priority_then_larger_usage() {
        let mut c = vec![
            candidate("within-low-priority", -10, Some("1Gi"), 10 << 20),
            candidate("over-high-priority", 1000, Some("10Mi"), 20 << 20),
            candidate("over-low-priority-small", 0, None, 5 << 20),
            candidate("over-low-priority-big", 0, None, 50 << 20),
        ];
        rank(&mut c, "memory");
        let names: Vec<_> = c.iter().map(|c| c.pod.metadata.name.clone().unwrap()).collect();
        assert_eq!(
            names,
            ["over-low-priority-big", "over-low-priority-small", "over-high-priority", "within-low-priority"]
        );
    }

    #[test]
    fn eviction_message_reads_as_upstream() {
        let t = Threshold { signal: Signal::MemoryAvailable, value: Value::Quantity(100 << 20) };
        let m = Met { threshold: t, minimum: 100 << 20, available: 50 << 20 };
        assert_eq!(
            message(&m, &candidate("p", 0, Some("10Mi"), 20 << 20)),
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. \
             Container main was using 20Mi, request is 10Mi, has larger consumption of memory. "
        );
        assert_eq!(
            message(&m, &candidate("p", 0, Some("1Gi"), 20 << 20)),
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "
        );
    }

    #[test]
    fn static_mirror_and_system_critical_pods_are_critical() {
        assert!(!is_critical(&pod("p", 0, None)));
        assert!(is_critical(&pod("p", 2_000_001_000, None)));
        let mut mirror = pod("m", 0, None);
        mirror.metadata.annotations = Some([("kubernetes.io/config.mirror".to_owned(), "x".to_owned())].into());
        assert!(is_critical(&mirror));
    }
}
