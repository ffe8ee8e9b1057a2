//! `/stats/summary`: node and pod CPU, memory and filesystem usage in
//! upstream's `stats/v1alpha1` Summary shape. The node's figures come from
//! /proc (`/proc/stat`, `/proc/meminfo`) and statvfs of `--root-dir`; pods'
//! and containers' from CRI `ListContainerStats`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};

use crate::pod_workers::Workers;
use crate::runtime::SharedRuntime;

/// `USER_HZ`: the unit of /proc/stat.
const CLOCK_TICK_NANOS: u64 = 10_000_000;

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

fn fs_stats(dir: &Path, time: &str) -> Value {
    let mut dir = dir.to_path_buf();
    while !dir.exists() && dir.pop() {}
    match rustix::fs::statvfs(&dir) {
        Ok(s) => json!({
            "time": time,
            "availableBytes": s.f_bavail.saturating_mul(s.f_frsize),
            "capacityBytes": s.f_blocks.saturating_mul(s.f_frsize),
            "usedBytes": s.f_blocks.saturating_sub(s.f_bfree).saturating_mul(s.f_frsize),
            "inodesFree": s.f_ffree,
            "inodes": s.f_files,
            "inodesUsed": s.f_files.saturating_sub(s.f_ffree),
        }),
        Err(_) => json!({ "time": time }),
    }
}

/// The summary now.
pub async fn summary(
    node_name: &str,
    root_dir: &Path,
    runtime: &SharedRuntime,
    workers: &Workers,
    cpu: &CpuSampler,
) -> Value {
    let time = jiff::Timestamp::now().to_string();
    let mut node_cpu = json!({ "time": time });
    if let Some((total, rate)) = cpu.sample() {
        node_cpu["usageCoreNanoSeconds"] = json!(total);
        if let Some(rate) = rate {
            node_cpu["usageNanoCores"] = json!(rate);
        }
    }
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mut node_memory = json!({ "time": time });
    if let (Some(total), Some(free), Some(available)) =
        (meminfo(&mem, "MemTotal:"), meminfo(&mem, "MemFree:"), meminfo(&mem, "MemAvailable:"))
    {
        node_memory["availableBytes"] = json!(available);
        node_memory["usageBytes"] = json!(total.saturating_sub(free));
        node_memory["workingSetBytes"] = json!(total.saturating_sub(available));
        if let Some(rss) = meminfo(&mem, "AnonPages:") {
            node_memory["rssBytes"] = json!(rss);
        }
    }
    let boot = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .and_then(|up| jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs_f64(up)).ok());
    let fs = fs_stats(root_dir, &time);
    let stats = runtime.container_stats().await.unwrap_or_default();
    let mut pods: Vec<Value> = Vec::new();
    for pod in workers.pods() {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let mine: Vec<_> = stats.iter().filter(|s| s.pod_uid == uid).collect();
        let containers: Vec<Value> = mine
            .iter()
            .map(|s| {
                let mut cpu = json!({ "time": time, "usageCoreNanoSeconds": s.cpu_usage_core_nanos });
                if let Some(n) = s.cpu_usage_nano_cores {
                    cpu["usageNanoCores"] = json!(n);
                }
                json!({
                    "name": s.name,
                    "cpu": cpu,
                    "memory": { "time": time, "workingSetBytes": s.memory_working_set_bytes },
                    "rootfs": { "time": time, "usedBytes": s.writable_layer_bytes },
                })
            })
            .collect();
        let sum = |f: &dyn Fn(&crate::runtime::ContainerStats) -> u64| mine.iter().map(|s| f(s)).sum::<u64>();
        let mut pod_cpu = json!({ "time": time, "usageCoreNanoSeconds": sum(&|s| s.cpu_usage_core_nanos) });
        if mine.iter().all(|s| s.cpu_usage_nano_cores.is_some()) {
            pod_cpu["usageNanoCores"] = json!(sum(&|s| s.cpu_usage_nano_cores.unwrap_or(0)));
        }
        let mut entry = json!({
            "podRef": { "name": pod.metadata.name, "namespace": pod.metadata.namespace, "uid": uid },
            "containers": containers,
            "cpu": pod_cpu,
            "memory": { "time": time, "workingSetBytes": sum(&|s| s.memory_working_set_bytes) },
        });
        if let Some(start) = pod.status.as_ref().and_then(|s| s.start_time.as_ref()) {
            entry["startTime"] = json!(start);
        }
        pods.push(entry);
    }
    pods.sort_by_key(|p| (p["podRef"]["namespace"].to_string(), p["podRef"]["name"].to_string()));
    let mut node = json!({
        "nodeName": node_name,
        "cpu": node_cpu,
        "memory": node_memory,
        "fs": fs,
        "runtime": { "imageFs": fs },
    });
    if let Some(boot) = boot {
        node["startTime"] = json!(boot.to_string());
    }
    json!({ "node": node, "pods": pods })
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
}
