//! Resource amounts as the scheduler counts them (upstream `framework.Resource`):
//! milli-CPU, bytes and counts as integers, parsed once from quantities.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use rustkube_api::Quantity;

/// CPU request assumed for scoring when a container sets none (upstream `DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory request assumed for scoring when a container sets none (upstream `DefaultMemoryRequest`).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

pub const CPU: &str = "cpu";
pub const MEMORY: &str = "memory";
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
pub const PODS: &str = "pods";

/// An amount of every resource the scheduler tracks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub allowed_pod_number: i64,
    /// Extended and other named resources (`example.com/gpu`, `hugepages-2Mi`).
    pub scalar: BTreeMap<String, i64>,
}

impl Resource {
    /// Parses a resource list; entries that are not quantities are skipped
    /// and named in the second value, so one junk entry never hides the rest.
    pub fn from_list(list: Option<&BTreeMap<String, ApiQuantity>>) -> (Resource, Vec<String>) {
        let mut out = Resource::default();
        let mut bad = Vec::new();
        for (name, q) in list.into_iter().flatten() {
            match Quantity::try_from(q) {
                Ok(q) => out.set(name, &q),
                Err(_) => bad.push(format!("{name}={:?}", q.0)),
            }
        }
        (out, bad)
    }

    fn set(&mut self, name: &str, q: &Quantity) {
        match name {
            CPU => self.milli_cpu = q.milli_value(),
            MEMORY => self.memory = q.value(),
            EPHEMERAL_STORAGE => self.ephemeral_storage = q.value(),
            PODS => self.allowed_pod_number = q.value(),
            other => {
                self.scalar.insert(other.to_owned(), q.value());
            }
        }
    }

    /// The amount of the named resource.
    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.milli_cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.allowed_pod_number,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }

    pub fn add(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.saturating_add(other.milli_cpu);
        self.memory = self.memory.saturating_add(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_add(other.ephemeral_storage);
        self.allowed_pod_number = self.allowed_pod_number.saturating_add(other.allowed_pod_number);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    pub fn sub(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.saturating_sub(other.ephemeral_storage);
        self.allowed_pod_number = self.allowed_pod_number.saturating_sub(other.allowed_pod_number);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = e.saturating_sub(*v);
        }
    }

    /// Raises every amount to at least `other`'s.
    pub fn set_max(&mut self, other: &Resource) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        self.allowed_pod_number = self.allowed_pod_number.max(other.allowed_pod_number);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }

    /// Whether nothing at all is requested.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0 && self.memory == 0 && self.ephemeral_storage == 0 && self.scalar.values().all(|v| *v == 0)
    }
}

/// What a pod asks for: its effective requests (upstream `PodRequests`) and
/// the non-zero variant used for scoring, plus any unparseable quantities.
#[derive(Debug, Clone, Default)]
pub struct PodRequests {
    pub requests: Resource,
    /// Requests with upstream's defaults for unset CPU and memory (for scoring).
    pub non_zero: Resource,
    pub invalid: Vec<String>,
}

fn container_requests(c: &Container, invalid: &mut Vec<String>) -> (Resource, Resource) {
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let (r, bad) = Resource::from_list(requests);
    invalid.extend(bad.into_iter().map(|b| format!("container {}: {b}", c.name)));
    let mut nz = r.clone();
    let has = |name: &str| requests.is_some_and(|m| m.contains_key(name));
    if !has(CPU) {
        nz.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
    }
    if !has(MEMORY) {
        nz.memory = DEFAULT_MEMORY_REQUEST;
    }
    (r, nz)
}

/// Computes a pod's requests: the sum of its containers, at least the largest
/// init container (with the restartable sidecars started before it), sidecars
/// added throughout, plus the pod overhead.
pub fn pod_requests(spec: &PodSpec) -> PodRequests {
    let mut invalid = Vec::new();
    let mut reqs = Resource::default();
    let mut nz = Resource::default();
    for c in &spec.containers {
        let (r, n) = container_requests(c, &mut invalid);
        reqs.add(&r);
        nz.add(&n);
    }
    let mut sidecars = Resource::default();
    let mut sidecars_nz = Resource::default();
    let mut init_max = Resource::default();
    let mut init_max_nz = Resource::default();
    for c in spec.init_containers.iter().flatten() {
        let (r, n) = container_requests(c, &mut invalid);
        if c.restart_policy.as_deref() == Some("Always") {
            reqs.add(&r);
            nz.add(&n);
            sidecars.add(&r);
            sidecars_nz.add(&n);
            init_max.set_max(&sidecars);
            init_max_nz.set_max(&sidecars_nz);
        } else {
            let mut t = r;
            t.add(&sidecars);
            init_max.set_max(&t);
            let mut tn = n;
            tn.add(&sidecars_nz);
            init_max_nz.set_max(&tn);
        }
    }
    reqs.set_max(&init_max);
    nz.set_max(&init_max_nz);
    if let Some(overhead) = &spec.overhead {
        let (o, bad) = Resource::from_list(Some(overhead));
        invalid.extend(bad.into_iter().map(|b| format!("overhead: {b}")));
        reqs.add(&o);
        nz.add(&o);
    }
    PodRequests { requests: reqs, non_zero: nz, invalid }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::pod;

    #[test]
    fn requests_take_the_larger_of_containers_and_init_containers_plus_overhead() {
        let p = pod("a").req("cpu", "100m").req("memory", "1Gi").init_req("cpu", "500m").overhead("cpu", "10m").build();
        let r = pod_requests(p.spec.as_ref().unwrap());
        assert_eq!(r.requests.milli_cpu, 510, "init container dominates CPU, overhead added");
        assert_eq!(r.requests.memory, 1 << 30, "memory from the app container");
    }

    #[test]
    fn restartable_sidecars_add_to_app_requests() {
        let p = pod("a").req("cpu", "100m").sidecar_req("cpu", "200m").build();
        let r = pod_requests(p.spec.as_ref().unwrap());
        assert_eq!(r.requests.milli_cpu, 300);
    }

    #[test]
    fn non_zero_requests_default_unset_cpu_and_memory() {
        let p = pod("a").build();
        let r = pod_requests(p.spec.as_ref().unwrap());
        assert_eq!(r.requests.milli_cpu, 0);
        assert_eq!(r.non_zero.milli_cpu, DEFAULT_MILLI_CPU_REQUEST);
        assert_eq!(r.non_zero.memory, DEFAULT_MEMORY_REQUEST);
    }

    #[test]
    fn junk_quantities_are_reported_not_fatal() {
        let mut list = BTreeMap::new();
        list.insert("cpu".to_owned(), ApiQuantity("lots".into()));
        list.insert("memory".to_owned(), ApiQuantity("1Gi".into()));
        let (r, bad) = Resource::from_list(Some(&list));
        assert_eq!(r.memory, 1 << 30);
        assert_eq!(bad.len(), 1, "{bad:?}");
    }
}
