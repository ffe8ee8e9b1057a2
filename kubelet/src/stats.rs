//! The node's and its pods' resource usage, read once per request and
//! rendered as `/stats/summary` (upstream's `stats/v1alpha1` Summary JSON) or
//! as `/metrics/resource` (upstream's resource metrics in the Prometheus text
//! format, what metrics-server scrapes). The node's figures come from /proc
//! (`/proc/stat`, `/proc/meminfo`, `/proc/uptime`) and statvfs of
//! `--root-dir`; pods' and containers' from CRI `ListContainerStats`, and
//! containers' start times from the pods' statuses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use crate::pod_workers::Workers;
use crate::runtime::{ContainerStats, SharedRuntime};

/// `USER_HZ`: the unit of /proc/stat.
const CLOCK_TICK_NANOS: u64 = 10_000_000;

/// The content type of `/metrics/resource`: the Prometheus text format, as upstream serves it.
pub const RESOURCE_METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The previous node CPU sample, for `usageNanoCores`.
#[derive(Debug, Default)]
pub struct CpuSampler {
    last: Mutex<Option<(Instant, u64)>>,
}

impl CpuSampler {
    /// `(usageCoreNanoSeconds, usageNanoCores since the previous call)`.
    fn sample(&self) -> Option<(u64, Option<u64>)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let total = cpu_busy_nanos(&stat)?;
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let rate = last.and_then(|(at, prev)| {
            let dt = now.duration_since(at).as_nanos();
            (dt > 0).then(|| u64::try_from(u128::from(total.saturating_sub(prev)) * 1_000_000_000 / dt).unwrap_or(0))
        });
        *last = Some((now, total));
        Some((total, rate))
    }
}

/// Busy CPU time of all cores (user, nice, system, irq, softirq, steal) in nanoseconds.
fn cpu_busy_nanos(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let busy = [0usize, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum::<u64>();
    Some(busy.saturating_mul(CLOCK_TICK_NANOS))
}

fn meminfo(meminfo: &str, field: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
}

/// The node and its pods at one instant: what both endpoints render, so the
/// two never disagree about a scrape.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    node_name: String,
    /// When the figures were read; every figure is stamped with it.
    time: jiff::Timestamp,
    node: NodeUsage,
    /// Sorted by namespace and name.
    pods: Vec<PodUsage>,
    /// Why the runtime's container stats are missing, when they are.
    runtime_error: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct NodeUsage {
    /// Busy CPU time of all cores since boot.
    cpu_usage_core_nanos: Option<u64>,
    /// CPU use since the previous sample.
    cpu_usage_nano_cores: Option<u64>,
    memory: Option<NodeMemory>,
    /// The filesystem holding `--root-dir`.
    fs: Option<FsUsage>,
    boot_time: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, Copy, Default)]
struct NodeMemory {
    available_bytes: u64,
    usage_bytes: u64,
    working_set_bytes: u64,
    rss_bytes: Option<u64>,
}

impl NodeMemory {
    /// From `/proc/meminfo`; the working set is what is not available.
    fn parse(text: &str) -> Option<Self> {
        let total = meminfo(text, "MemTotal:")?;
        let free = meminfo(text, "MemFree:")?;
        let available = meminfo(text, "MemAvailable:")?;
        Some(NodeMemory {
            available_bytes: available,
            usage_bytes: total.saturating_sub(free),
            working_set_bytes: total.saturating_sub(available),
            rss_bytes: meminfo(text, "AnonPages:"),
        })
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct FsUsage {
    available_bytes: u64,
    capacity_bytes: u64,
    used_bytes: u64,
    inodes_free: u64,
    inodes: u64,
}

/// statvfs of `dir`, or of its nearest existing ancestor.
fn fs_usage(dir: &Path) -> Option<FsUsage> {
    let mut dir = dir.to_path_buf();
    while !dir.exists() && dir.pop() {}
    let s = rustix::fs::statvfs(&dir).ok()?;
    Some(FsUsage {
        available_bytes: s.f_bavail.saturating_mul(s.f_frsize),
        capacity_bytes: s.f_blocks.saturating_mul(s.f_frsize),
        used_bytes: s.f_blocks.saturating_sub(s.f_bfree).saturating_mul(s.f_frsize),
        inodes_free: s.f_ffree,
        inodes: s.f_files,
    })
}

#[derive(Debug, Clone, Default)]
struct PodUsage {
    name: String,
    namespace: String,
    uid: String,
    start_time: Option<Time>,
    /// One per container name.
    containers: Vec<ContainerUsage>,
}

impl PodUsage {
    /// Of `pod`, from the runtime's `stats` of all containers. Where the
    /// runtime still lists an older attempt of a container, the attempt the
    /// pod's status names is kept, so each container is one series.
    fn of(pod: &Pod, stats: &[ContainerStats]) -> Self {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let statuses: Vec<&ContainerStatus> = pod
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten().chain(s.init_container_statuses.iter().flatten()))
            .collect();
        let mut containers: Vec<ContainerUsage> = Vec::new();
        for s in stats.iter().filter(|s| s.pod_uid == uid) {
            let status = statuses.iter().find(|c| c.name == s.name && names_attempt(c, &s.id));
            let usage = ContainerUsage {
                stats: s.clone(),
                start_time: status.and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.clone()),
            };
            match containers.iter_mut().find(|c| c.stats.name == s.name) {
                Some(seen) if status.is_some() => *seen = usage,
                Some(_) => {}
                None => containers.push(usage),
            }
        }
        PodUsage {
            name: pod.metadata.name.clone().unwrap_or_default(),
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            uid,
            start_time: pod.status.as_ref().and_then(|s| s.start_time.clone()),
            containers,
        }
    }

    fn cpu_usage_core_nanos(&self) -> u64 {
        self.containers.iter().map(|c| c.stats.cpu_usage_core_nanos).sum()
    }

    /// Only when every container has a rate: a partial sum would understate the pod.
    fn cpu_usage_nano_cores(&self) -> Option<u64> {
        self.containers.iter().map(|c| c.stats.cpu_usage_nano_cores).sum()
    }

    fn memory_working_set_bytes(&self) -> u64 {
        self.containers.iter().map(|c| c.stats.memory_working_set_bytes).sum()
    }
}

/// Whether `status` is of the container attempt with runtime id `id`
/// (its `containerID` is `<runtime>://<id>`).
fn names_attempt(status: &ContainerStatus, id: &str) -> bool {
    status.container_id.as_deref().and_then(|c| c.split_once("://")).is_some_and(|(_, c)| c == id)
}

#[derive(Debug, Clone, Default)]
struct ContainerUsage {
    stats: ContainerStats,
    /// `state.running.startedAt` of the container's status, when it is running.
    start_time: Option<Time>,
}

/// Reads the node's and its pods' usage now.
pub async fn gather(
    node_name: &str,
    root_dir: &Path,
    runtime: &SharedRuntime,
    workers: &Workers,
    cpu: &CpuSampler,
) -> Usage {
    let time = jiff::Timestamp::now();
    let (cpu_usage_core_nanos, cpu_usage_nano_cores) = match cpu.sample() {
        Some((total, rate)) => (Some(total), rate),
        None => (None, None),
    };
    let boot_time = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .and_then(|up| time.checked_sub(jiff::SignedDuration::from_secs_f64(up)).ok());
    let node = NodeUsage {
        cpu_usage_core_nanos,
        cpu_usage_nano_cores,
        memory: NodeMemory::parse(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default()),
        fs: fs_usage(root_dir),
        boot_time,
    };
    let (stats, runtime_error) = match runtime.container_stats().await {
        Ok(stats) => (stats, None),
        Err(e) => {
            tracing::warn!(error = %e, "listing container stats failed");
            (Vec::new(), Some(e.to_string()))
        }
    };
    let mut pods: Vec<PodUsage> = workers.pods().iter().map(|p| PodUsage::of(p, &stats)).collect();
    pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Usage { node_name: node_name.to_owned(), time, node, pods, runtime_error }
}

impl Usage {
    /// Upstream's `stats/v1alpha1` Summary (`/stats/summary`).
    pub fn summary(&self) -> Value {
        let time = self.time.to_string();
        let mut node_cpu = json!({ "time": time });
        if let Some(total) = self.node.cpu_usage_core_nanos {
            node_cpu["usageCoreNanoSeconds"] = json!(total);
        }
        if let Some(rate) = self.node.cpu_usage_nano_cores {
            node_cpu["usageNanoCores"] = json!(rate);
        }
        let mut node_memory = json!({ "time": time });
        if let Some(m) = self.node.memory {
            node_memory["availableBytes"] = json!(m.available_bytes);
            node_memory["usageBytes"] = json!(m.usage_bytes);
            node_memory["workingSetBytes"] = json!(m.working_set_bytes);
            if let Some(rss) = m.rss_bytes {
                node_memory["rssBytes"] = json!(rss);
            }
        }
        let fs = match self.node.fs {
            Some(fs) => json!({
                "time": time,
                "availableBytes": fs.available_bytes,
                "capacityBytes": fs.capacity_bytes,
                "usedBytes": fs.used_bytes,
                "inodesFree": fs.inodes_free,
                "inodes": fs.inodes,
                "inodesUsed": fs.inodes.saturating_sub(fs.inodes_free),
            }),
            None => json!({ "time": time }),
        };
        let pods: Vec<Value> = self.pods.iter().map(|pod| pod_summary(pod, &time)).collect();
        let mut node = json!({
            "nodeName": self.node_name,
            "cpu": node_cpu,
            "memory": node_memory,
            "fs": fs,
            "runtime": { "imageFs": fs },
        });
        if let Some(boot) = self.node.boot_time {
            node["startTime"] = json!(boot.to_string());
        }
        json!({ "node": node, "pods": pods })
    }

    /// Upstream's resource metrics (`/metrics/resource`) in the Prometheus
    /// text format. As upstream, usage samples carry the time they were read
    /// (in milliseconds) and a failed read of the runtime's stats leaves only
    /// `resource_scrape_error 1`. Upstream's deprecated `scrape_error` twin is
    /// hidden since v1.30, so this v1.33 kubelet does not serve it; nor the
    /// swap metrics, which the summary has no figures for.
    pub fn resource_metrics(&self) -> String {
        let mut out = Exposition::default();
        if self.runtime_error.is_none() {
            let at = Some(self.time.as_millisecond());
            if let Some(nanos) = self.node.cpu_usage_core_nanos {
                out.add(&NODE_CPU_USAGE, &[], seconds(nanos), at);
            }
            if let Some(m) = self.node.memory {
                out.add(&NODE_MEMORY_WORKING_SET, &[], m.working_set_bytes as f64, at);
            }
            for pod in &self.pods {
                let (namespace, name) = (pod.namespace.as_str(), pod.name.as_str());
                for c in &pod.containers {
                    let labels = [c.stats.name.as_str(), namespace, name];
                    if let Some(start) = c.start_time.as_ref().filter(|t| t.0.as_second() > 0) {
                        // A start time is not a reading, so it carries no timestamp (as upstream).
                        out.add(&CONTAINER_START_TIME, &labels, start.0.as_nanosecond() as f64 / 1e9, None);
                    }
                    out.add(&CONTAINER_CPU_USAGE, &labels, seconds(c.stats.cpu_usage_core_nanos), at);
                    out.add(&CONTAINER_MEMORY_WORKING_SET, &labels, c.stats.memory_working_set_bytes as f64, at);
                }
                out.add(&POD_CPU_USAGE, &[namespace, name], seconds(pod.cpu_usage_core_nanos()), at);
                out.add(&POD_MEMORY_WORKING_SET, &[namespace, name], pod.memory_working_set_bytes() as f64, at);
            }
        }
        let failed = if self.runtime_error.is_some() { 1.0 } else { 0.0 };
        out.add(&RESOURCE_SCRAPE_ERROR, &[], failed, None);
        out.render()
    }
}

fn pod_summary(pod: &PodUsage, time: &str) -> Value {
    let containers: Vec<Value> = pod
        .containers
        .iter()
        .map(|c| {
            let s = &c.stats;
            let mut cpu = json!({ "time": time, "usageCoreNanoSeconds": s.cpu_usage_core_nanos });
            if let Some(n) = s.cpu_usage_nano_cores {
                cpu["usageNanoCores"] = json!(n);
            }
            let mut entry = json!({
                "name": s.name,
                "cpu": cpu,
                "memory": { "time": time, "workingSetBytes": s.memory_working_set_bytes },
                "rootfs": { "time": time, "usedBytes": s.writable_layer_bytes },
            });
            if let Some(start) = &c.start_time {
                entry["startTime"] = json!(start);
            }
            entry
        })
        .collect();
    let mut cpu = json!({ "time": time, "usageCoreNanoSeconds": pod.cpu_usage_core_nanos() });
    if let Some(n) = pod.cpu_usage_nano_cores() {
        cpu["usageNanoCores"] = json!(n);
    }
    let mut entry = json!({
        "podRef": { "name": pod.name, "namespace": pod.namespace, "uid": pod.uid },
        "containers": containers,
        "cpu": cpu,
        "memory": { "time": time, "workingSetBytes": pod.memory_working_set_bytes() },
    });
    if let Some(start) = &pod.start_time {
        entry["startTime"] = json!(start);
    }
    entry
}

fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// One metric family of `/metrics/resource`, as upstream declares it.
#[derive(Debug)]
struct Metric {
    name: &'static str,
    /// Upstream's help text, led by the stability level upstream's registry adds.
    help: &'static str,
    kind: &'static str,
    /// In the order they are exposed (sorted, as upstream's registry sorts them).
    labels: &'static [&'static str],
}

const CONTAINER_LABELS: &[&str] = &["container", "namespace", "pod"];
const POD_LABELS: &[&str] = &["namespace", "pod"];

const NODE_CPU_USAGE: Metric = Metric {
    name: "node_cpu_usage_seconds_total",
    help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds",
    kind: "counter",
    labels: &[],
};
const NODE_MEMORY_WORKING_SET: Metric = Metric {
    name: "node_memory_working_set_bytes",
    help: "[STABLE] Current working set of the node in bytes",
    kind: "gauge",
    labels: &[],
};
const CONTAINER_CPU_USAGE: Metric = Metric {
    name: "container_cpu_usage_seconds_total",
    help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds",
    kind: "counter",
    labels: CONTAINER_LABELS,
};
const CONTAINER_MEMORY_WORKING_SET: Metric = Metric {
    name: "container_memory_working_set_bytes",
    help: "[STABLE] Current working set of the container in bytes",
    kind: "gauge",
    labels: CONTAINER_LABELS,
};
const CONTAINER_START_TIME: Metric = Metric {
    name: "container_start_time_seconds",
    help: "[STABLE] Start time of the container since unix epoch in seconds",
    kind: "gauge",
    labels: CONTAINER_LABELS,
};
const POD_CPU_USAGE: Metric = Metric {
    name: "pod_cpu_usage_seconds_total",
    help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds",
    kind: "counter",
    labels: POD_LABELS,
};
const POD_MEMORY_WORKING_SET: Metric = Metric {
    name: "pod_memory_working_set_bytes",
    help: "[STABLE] Current working set of the pod in bytes",
    kind: "gauge",
    labels: POD_LABELS,
};
const RESOURCE_SCRAPE_ERROR: Metric = Metric {
    name: "resource_scrape_error",
    help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
    kind: "gauge",
    labels: &[],
};

#[derive(Debug)]
struct Sample {
    /// Values of the metric's labels, in its order.
    labels: Vec<String>,
    value: f64,
    timestamp_ms: Option<i64>,
}

/// Samples by family, rendered in the Prometheus text format (version 0.0.4).
/// prometheus-client cannot stamp samples with their time and writes
/// OpenMetrics, hence this small writer.
#[derive(Debug, Default)]
struct Exposition {
    families: BTreeMap<&'static str, (&'static Metric, Vec<Sample>)>,
}

impl Exposition {
    fn add(&mut self, metric: &'static Metric, labels: &[&str], value: f64, timestamp_ms: Option<i64>) {
        debug_assert_eq!(labels.len(), metric.labels.len(), "label values of {}", metric.name);
        let sample = Sample { labels: labels.iter().map(|&l| l.to_owned()).collect(), value, timestamp_ms };
        self.families.entry(metric.name).or_insert_with(|| (metric, Vec::new())).1.push(sample);
    }

    /// Families by name, samples by label values, as upstream's registry orders them.
    fn render(self) -> String {
        let mut out = String::new();
        for (metric, mut samples) in self.families.into_values() {
            samples.sort_by(|a, b| a.labels.cmp(&b.labels));
            let _ = writeln!(out, "# HELP {} {}", metric.name, metric.help);
            let _ = writeln!(out, "# TYPE {} {}", metric.name, metric.kind);
            for s in samples {
                out.push_str(metric.name);
                if !s.labels.is_empty() {
                    out.push('{');
                    for (i, (name, value)) in metric.labels.iter().zip(&s.labels).enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{name}=\"{}\"", escape_label_value(value));
                    }
                    out.push('}');
                }
                let _ = write!(out, " {}", s.value);
                if let Some(ms) = s.timestamp_ms {
                    let _ = write!(out, " {ms}");
                }
                out.push('\n');
            }
        }
        out
    }
}

/// A label value as the text format quotes it: backslash, double quote and
/// line feed escaped.
fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str(r#"\""#),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_busy_time_sums_the_busy_columns() {
        let stat = "cpu  100 5 50 1000 7 3 2 1 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n";
        assert_eq!(
            cpu_busy_nanos(stat),
            Some((100 + 5 + 50 + 3 + 2 + 1) * CLOCK_TICK_NANOS),
            "idle and iowait left out"
        );
        let sampler = CpuSampler::default();
        let (first, rate) = sampler.sample().expect("this machine's /proc/stat");
        assert!(first > 0 && rate.is_none(), "no rate from one sample");
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(sampler.sample().unwrap().1.is_some());
    }

    /// 2021-06-22T21:11:18.302091597Z.
    const NOW_NANOS: i128 = 1_624_396_278_302_091_597;

    fn at(seconds: i64) -> Time {
        Time(jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn container(name: &str, cpu_nanos: u64, memory_bytes: u64) -> ContainerUsage {
        let stats = ContainerStats {
            name: name.into(),
            cpu_usage_core_nanos: cpu_nanos,
            memory_working_set_bytes: memory_bytes,
            ..Default::default()
        };
        ContainerUsage { stats, start_time: None }
    }

    /// Node `n1` and pod `default/web` with a started `main` and a `sidecar` without a start time.
    fn usage() -> Usage {
        let main = ContainerUsage { start_time: Some(at(1_624_396_248)), ..container("main", 2_500_000_000, 4096) };
        Usage {
            node_name: "n1".into(),
            time: jiff::Timestamp::from_nanosecond(NOW_NANOS).unwrap(),
            node: NodeUsage {
                cpu_usage_core_nanos: Some(10_000_000_000),
                memory: Some(NodeMemory { working_set_bytes: 1000, ..Default::default() }),
                ..Default::default()
            },
            pods: vec![PodUsage {
                name: "web".into(),
                namespace: "default".into(),
                uid: "u1".into(),
                start_time: None,
                containers: vec![container("sidecar", 500_000_000, 1024), main],
            }],
            runtime_error: None,
        }
    }

    #[test]
    fn resource_metrics_are_upstreams_families_labels_and_timestamps() {
        let want = r#"# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="main",namespace="default",pod="web"} 2.5 1624396278302
container_cpu_usage_seconds_total{container="sidecar",namespace="default",pod="web"} 0.5 1624396278302
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="main",namespace="default",pod="web"} 4096 1624396278302
container_memory_working_set_bytes{container="sidecar",namespace="default",pod="web"} 1024 1624396278302
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="main",namespace="default",pod="web"} 1624396248
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 10 1624396278302
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1000 1624396278302
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="default",pod="web"} 3 1624396278302
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="default",pod="web"} 5120 1624396278302
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
"#;
        assert_eq!(usage().resource_metrics(), want);
    }

    #[test]
    fn a_container_without_a_start_time_has_no_start_time_sample() {
        let text = usage().resource_metrics();
        let starts: Vec<&str> = text.lines().filter(|l| l.starts_with("container_start_time_seconds{")).collect();
        assert_eq!(starts.len(), 1, "only main has started: {text}");
        assert!(starts[0].contains(r#"container="main""#), "{text}");
        assert!(text.contains(r#"container_memory_working_set_bytes{container="sidecar""#), "its usage still: {text}");

        let mut none_started = usage();
        none_started.pods[0].containers.iter_mut().for_each(|c| c.start_time = None);
        let text = none_started.resource_metrics();
        assert!(!text.contains("container_start_time_seconds"), "no family without samples: {text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
        let mut odd = usage();
        odd.pods[0].namespace = "ns\"1\\\n".into();
        let text = odd.resource_metrics();
        assert!(
            text.contains(r#"pod_memory_working_set_bytes{namespace="ns\"1\\\n",pod="web"} 5120 "#),
            "backslash, quote and newline escaped: {text}"
        );
    }

    #[test]
    fn a_failed_runtime_read_leaves_only_the_scrape_error() {
        let mut failed = usage();
        failed.runtime_error = Some("ListContainerStats: unavailable".into());
        assert_eq!(
            failed.resource_metrics(),
            "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n\
             # TYPE resource_scrape_error gauge\n\
             resource_scrape_error 1\n"
        );
    }

    fn status(name: &str, id: &str, started: Option<i64>) -> ContainerStatus {
        use k8s_openapi::api::core::v1::{ContainerState, ContainerStateRunning};
        ContainerStatus {
            name: name.into(),
            container_id: Some(format!("containerd://{id}")),
            state: started.map(|s| ContainerState {
                running: Some(ContainerStateRunning { started_at: Some(at(s)) }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn stats(pod_uid: &str, name: &str, id: &str) -> ContainerStats {
        ContainerStats { id: id.into(), name: name.into(), pod_uid: pod_uid.into(), ..Default::default() }
    }

    #[test]
    fn pod_usage_keeps_the_attempt_its_status_names_with_its_start_time() {
        let mut pod = Pod::default();
        pod.metadata.name = Some("web".into());
        pod.metadata.namespace = Some("default".into());
        pod.metadata.uid = Some("u1".into());
        pod.status = Some(k8s_openapi::api::core::v1::PodStatus {
            container_statuses: Some(vec![status("main", "new", Some(1_700_000_000)), status("side", "s1", None)]),
            ..Default::default()
        });
        let all = [
            stats("u1", "main", "old"),
            stats("u1", "main", "new"),
            stats("u2", "main", "x"),
            stats("u1", "side", "s1"),
        ];
        let usage = PodUsage::of(&pod, &all);
        let got: Vec<_> =
            usage.containers.iter().map(|c| (c.stats.id.as_str(), c.start_time.as_ref().map(|t| t.0))).collect();
        assert_eq!(
            got,
            [("new", Some(at(1_700_000_000).0)), ("s1", None)],
            "one entry per container, the current attempt, started only when running"
        );

        let summary = Usage { pods: vec![usage], ..Default::default() }.summary();
        let main = &summary["pods"][0]["containers"][0];
        assert_eq!(main["startTime"], "2023-11-14T22:13:20Z", "{main}");
        assert!(summary["pods"][0]["containers"][1].get("startTime").is_none(), "{summary}");
    }
}
