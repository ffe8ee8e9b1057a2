//! Objects that exist from the first start: the system namespaces, the
//! `kubernetes` Service with its Endpoints, and the system PriorityClasses.

use std::net::IpAddr;

use rustkube_api::registry;
use serde_json::{Value, json};

use crate::resource_store::{ResourceStore, Target};

pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Upstream's built-in PriorityClasses: (name, value, description).
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i64, &str)] = &[
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

async fn ensure(
    store: &ResourceStore,
    plural: &str,
    namespace: Option<&str>,
    obj: serde_json::Value,
) -> anyhow::Result<()> {
    ensure_in(store, "", plural, namespace, obj).await
}

async fn ensure_in(
    store: &ResourceStore,
    group: &str,
    plural: &str,
    namespace: Option<&str>,
    obj: serde_json::Value,
) -> anyhow::Result<()> {
    let version = registry::preferred_version(group).unwrap_or("v1");
    let resource = registry::lookup(group, version, plural).expect("built-in resource");
    match store.create_system(Target { resource, namespace }, obj).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 => Ok(()),
        Err(e) => Err(anyhow::anyhow!("bootstrap {plural}: {}", e.message)),
    }
}

async fn reconcile_kubernetes_service(store: &ResourceStore, subsets: &Value, port: u16) -> anyhow::Result<()> {
    let endpoints = registry::lookup("", "v1", "endpoints").expect("built-in resource");
    let target = Target { resource: endpoints, namespace: Some("default") };
    store
        .update_system_with(target, "kubernetes", |old| {
            let mut new = old.clone();
            new["subsets"] = subsets.clone();
            crate::meta::meta_mut(&mut new).remove("resourceVersion");
            Ok(new)
        })
        .await
        .map_err(|e| anyhow::anyhow!("reconciling the kubernetes endpoints: {}", e.message))?;
    let services = registry::lookup("", "v1", "services").expect("built-in resource");
    let target = Target { resource: services, namespace: Some("default") };
    store
        .update_with(target, "kubernetes", None, false, |old| {
            let mut new = old.clone();
            if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter(|p| p["name"] == "https") {
                    p["targetPort"] = json!(port);
                }
            }
            crate::meta::meta_mut(&mut new).remove("resourceVersion");
            Ok(new)
        })
        .await
        .map_err(|e| anyhow::anyhow!("reconciling the kubernetes service: {}", e.message))?;
    Ok(())
}

pub async fn run(store: &ResourceStore, service_ip: IpAddr, endpoint_ip: IpAddr, port: u16) -> anyhow::Result<()> {
    for ns in SYSTEM_NAMESPACES {
        ensure(store, "namespaces", None, json!({ "metadata": { "name": ns } })).await?;
    }
    ensure(
        store,
        "services",
        Some("default"),
        json!({
            "metadata": { "name": "kubernetes", "namespace": "default",
                          "labels": { "component": "apiserver", "provider": "kubernetes" } },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": service_ip.to_string(),
                "clusterIPs": [service_ip.to_string()],
                "ipFamilies": [if service_ip.is_ipv4() { "IPv4" } else { "IPv6" }],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "None",
                "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": port }],
            },
        }),
    )
    .await?;
    let subsets = json!([{
        "addresses": [{ "ip": endpoint_ip.to_string() }],
        "ports": [{ "name": "https", "port": port, "protocol": "TCP" }],
    }]);
    ensure(
        store,
        "endpoints",
        Some("default"),
        json!({
            "metadata": { "name": "kubernetes", "namespace": "default",
                          "labels": { "endpointslice.kubernetes.io/skip-mirror": "true" } },
            "subsets": subsets,
        }),
    )
    .await?;
    // A restart on another address or port: point both at this server, as
    // upstream's endpoint reconciler does on every start.
    reconcile_kubernetes_service(store, &subsets, port).await?;
    for (name, value, description) in SYSTEM_PRIORITY_CLASSES {
        ensure_in(
            store,
            "scheduling.k8s.io",
            "priorityclasses",
            None,
            json!({
                "metadata": { "name": name },
                "value": value,
                "description": description,
                "preemptionPolicy": "PreemptLowerPriority",
            }),
        )
        .await?;
    }
    Ok(())
}
