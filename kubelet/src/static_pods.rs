//! Static pods from `--pod-manifest-path`: every manifest (YAML or JSON, one
//! Pod each) becomes a mirror pod in the API named `<name>-<node>`, bound to
//! this node and annotated as upstream (`kubernetes.io/config.source=file`,
//! `kubernetes.io/config.hash`, `kubernetes.io/config.mirror`), which the pod
//! workers then run. The directory is re-read every 20 s, as upstream;
//! changed manifests replace their mirror pod, removed ones delete it.
//!
//! Unlike upstream, the static pod runs through its mirror pod, so it needs
//! the apiserver to start (and a deleted mirror pod is recreated, restarting it).

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

/// Annotations upstream puts on static and mirror pods.
pub const SOURCE: &str = "kubernetes.io/config.source";
pub const HASH: &str = "kubernetes.io/config.hash";
pub const MIRROR: &str = "kubernetes.io/config.mirror";

/// How often the manifest directory is read.
pub const PERIOD: Duration = Duration::from_secs(20);

/// Errors reading one manifest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading manifest {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("decoding manifest {path}: {message}")]
    Decode { path: String, message: String },
}

/// The mirror pods the manifests in `dir` describe, by `namespace/name`.
pub fn load(dir: &Path, node: &str) -> (BTreeMap<String, Pod>, Vec<Error>) {
    let mut pods = BTreeMap::new();
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return (pods, errors) };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")) {
            continue;
        }
        match load_one(&path, node) {
            Ok(pod) => {
                let key = format!(
                    "{}/{}",
                    pod.metadata.namespace.as_deref().unwrap_or("default"),
                    pod.metadata.name.as_deref().unwrap_or("")
                );
                pods.insert(key, pod);
            }
            Err(e) => errors.push(e),
        }
    }
    (pods, errors)
}

fn load_one(path: &Path, node: &str) -> Result<Pod, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: shown.clone(), source })?;
    let decode = |message: String| Error::Decode { path: shown.clone(), message };
    let value: serde_json::Value = serde_yaml::from_str(&text).map_err(|e| decode(e.to_string()))?;
    if value.get("kind").and_then(|k| k.as_str()).is_some_and(|k| k != "Pod") {
        return Err(decode("only kind Pod is supported".into()));
    }
    let mut pod: Pod = serde_json::from_value(value).map_err(|e| decode(e.to_string()))?;
    let base = pod
        .metadata
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| decode("metadata.name is required".into()))?;
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    node.hash(&mut hasher);
    let hash = format!("{:016x}", hasher.finish());
    pod.metadata.name = Some(format!("{base}-{node}"));
    pod.metadata.namespace =
        Some(pod.metadata.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into()));
    pod.metadata.uid = None;
    pod.metadata.resource_version = None;
    let annotations = pod.metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(SOURCE.into(), "file".into());
    annotations.insert(HASH.into(), hash.clone());
    annotations.insert(MIRROR.into(), hash);
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.node_name = Some(node.to_owned());
    pod.status = None;
    Ok(pod)
}

/// Keeps mirror pods in line with the manifests until `shutdown`.
pub async fn run(client: kube::Client, dir: PathBuf, node: String, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let all: Api<Pod> = Api::all(client.clone());
    let mut reported: HashMap<String, String> = HashMap::new();
    loop {
        let (wanted, errors) = load(&dir, &node);
        for e in errors {
            let text = e.to_string();
            if !reported.contains_key(&text) {
                tracing::warn!(error = %text, "could not load static pod manifest");
                reported.insert(text.clone(), text);
            }
        }
        let existing = all
            .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        let mirrors: HashMap<String, Pod> = existing
            .into_iter()
            .filter(|p| p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(MIRROR)))
            .map(|p| {
                (
                    format!(
                        "{}/{}",
                        p.metadata.namespace.clone().unwrap_or_default(),
                        p.metadata.name.clone().unwrap_or_default()
                    ),
                    p,
                )
            })
            .collect();
        for (key, pod) in &wanted {
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            let name = pod.metadata.name.clone().unwrap_or_default();
            let want_hash = pod.metadata.annotations.as_ref().and_then(|a| a.get(HASH)).cloned();
            match mirrors.get(key) {
                Some(m) if m.metadata.annotations.as_ref().and_then(|a| a.get(HASH)).cloned() == want_hash => {}
                Some(m) if m.metadata.deletion_timestamp.is_some() => {}
                Some(_) => {
                    tracing::info!(pod = %key, "static pod manifest changed, replacing its mirror pod");
                    let _ = api.delete(&name, &DeleteParams::default()).await;
                }
                None => match api.create(&PostParams::default(), pod).await {
                    Ok(_) => tracing::info!(pod = %key, "created mirror pod for static pod"),
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => tracing::warn!(pod = %key, error = %e, "failed creating a mirror pod"),
                },
            }
        }
        for (key, m) in &mirrors {
            if !wanted.contains_key(key) && m.metadata.deletion_timestamp.is_none() {
                let api: Api<Pod> =
                    Api::namespaced(client.clone(), m.metadata.namespace.as_deref().unwrap_or("default"));
                tracing::info!(pod = %key, "static pod manifest removed, deleting its mirror pod");
                let _ = api.delete(m.metadata.name.as_deref().unwrap_or(""), &DeleteParams::default()).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(PERIOD) => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_become_mirror_pods_bound_to_the_node() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("web.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("broken.json"), "{").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let (pods, errors) = load(dir.path(), "n1");
        assert_eq!(errors.len(), 1, "the broken manifest is reported");
        let pod = &pods["default/web-n1"];
        assert_eq!(pod.spec.as_ref().unwrap().node_name.as_deref(), Some("n1"));
        let a = pod.metadata.annotations.as_ref().unwrap();
        assert_eq!(a[SOURCE], "file");
        assert_eq!(a[HASH], a[MIRROR]);
    }
}
