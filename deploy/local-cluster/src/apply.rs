//! `local-up --apply FILE`: creates the objects of a YAML file (as
//! `kubectl apply -f` would for new objects; existing ones are left alone) and waits until
//! every Deployment in it has all its pods Running and Ready, so one command
//! ends with a workload running on real containers.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde::Deserialize as _;

/// Creates every object of `path`; returns the Deployments among them as `(namespace, name)`.
pub async fn create_all(
    client: &kube::Client,
    path: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut deployments = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value = serde_yaml::Value::deserialize(doc).with_context(|| format!("parsing {}", path.display()))?;
        if value.is_null() {
            continue;
        }
        let mut obj: DynamicObject =
            serde_yaml::from_value(value).with_context(|| format!("an object of {}", path.display()))?;
        // As `kubectl apply` records it, so a later `kubectl apply -f` of the same file merges cleanly.
        let applied = serde_json::to_string(&obj)?;
        obj.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert("kubectl.kubernetes.io/last-applied-configuration".to_owned(), format!("{applied}\n"));
        let types =
            obj.types.clone().with_context(|| format!("an object of {} has no apiVersion/kind", path.display()))?;
        let gvk = GroupVersionKind::try_from(&types).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .with_context(|| format!("the apiserver does not serve {}/{}", types.api_version, types.kind))?;
        let name = obj.metadata.name.clone().unwrap_or_default();
        let namespace = obj.metadata.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Namespaced => Api::namespaced_with(client.clone(), &namespace, &resource),
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        let what = format!("{}/{}", resource.plural, name);
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => progress(&format!("created {what}")),
            Err(kube::Error::Api(status)) if status.code == 409 => progress(&format!("{what} exists already")),
            Err(err) => return Err(err).with_context(|| format!("creating {what}")),
        }
        if types.kind == "Deployment" && resource.group == "apps" {
            deployments.push((namespace, name));
        }
    }
    Ok(deployments)
}

/// Waits until Deployment `namespace/name` has every replica updated and
/// available and each of its pods Running and Ready; returns a summary line.
pub async fn wait_deployment(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    limit: Duration,
) -> anyhow::Result<String> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + limit;
    loop {
        let d = deployments.get(name).await?;
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = d.status.clone().unwrap_or_default();
        let selector = d
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.clone())
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let list = pods.list(&ListParams::default().labels(&selector)).await?;
        let running: Vec<&Pod> = list
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .collect();
        if status.updated_replicas == Some(want)
            && status.available_replicas == Some(want)
            && i32::try_from(running.len()).ok() == Some(want)
        {
            let placed: Vec<String> = running
                .iter()
                .map(|p| {
                    let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
                    let runtime = p
                        .status
                        .as_ref()
                        .and_then(|s| s.container_statuses.as_ref())
                        .and_then(|cs| cs.first())
                        .and_then(|c| c.container_id.as_deref())
                        .and_then(|id| id.split_once("://").map(|(scheme, _)| scheme.to_owned()))
                        .unwrap_or_default();
                    format!("{} on {node} ({runtime})", p.metadata.name.as_deref().unwrap_or_default())
                })
                .collect();
            return Ok(format!("deployment/{name}: {want}/{want} pods Running and Ready: {}", placed.join(", ")));
        }
        if Instant::now() > deadline {
            let waiting: Vec<String> = list
                .items
                .iter()
                .filter_map(|p| {
                    let cs = p.status.as_ref()?.container_statuses.as_ref()?.first()?;
                    let reason = cs.state.as_ref()?.waiting.as_ref()?.reason.clone()?;
                    Some(format!("{}: {reason}", p.metadata.name.as_deref().unwrap_or_default()))
                })
                .collect();
            bail!(
                "deployment/{name} not ready within {limit:?}: {} of {want} pods Running and Ready {waiting:?}",
                running.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
