//! The root CA certificate publisher, as upstream's
//! `pkg/controller/certificates/rootcacertpublisher`: keeps a ConfigMap
//! `kube-root-ca.crt` holding the cluster's root CA bundle (`ca.crt`) in
//! every namespace that is not being deleted, restoring it when it is
//! changed or deleted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;

use crate::claim::{is_conflict, is_not_found};
use crate::controller::{Action, ControllerContext, ControllerRun, Reconciler};
use crate::informer::{Change, Informer};
use crate::queue::WorkQueue;
use crate::serviceaccount::{is_namespace_gone_or_terminating, is_terminating, queue_live_namespaces};

/// The ConfigMap published in every namespace.
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
/// Its one data key.
pub const CA_KEY: &str = "ca.crt";
pub const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
/// Upstream's description of the ConfigMap, word for word.
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// Errors finding the root CA to publish.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("error parsing root-ca-file at {}: {source}", path.display())]
    RootCaFileReadFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("error parsing root-ca-file at {}: data does not contain any valid PEM certificates", path.display())]
    RootCaFileInvalid { path: PathBuf },
    #[error(
        "no root CA to publish: --root-ca-file is not set and the controller-manager's client configuration \
         trusts no certificate authority (set --root-ca-file or certificate-authority(-data) in the kubeconfig)"
    )]
    NoRootCa,
}

/// Errors of one sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("creating configmap {namespace}/{ROOT_CA_CONFIG_MAP}: {source}")]
    CreateFailed {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating configmap {namespace}/{ROOT_CA_CONFIG_MAP}: {source}")]
    UpdateFailed {
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

/// The root CA bundle to publish, as upstream's
/// `getKubeAPIServerCAFileContents`: the contents of `--root-ca-file` when
/// set (it must hold a PEM certificate), else the certificate authorities the
/// controller-manager's own client trusts (`client_ca`, DER, as kube-rs
/// resolved them from the kubeconfig or the in-cluster configuration).
pub fn load_root_ca(root_ca_file: Option<&Path>, client_ca: &[Vec<u8>]) -> Result<String, CaError> {
    if let Some(path) = root_ca_file {
        let bytes =
            std::fs::read(path).map_err(|source| CaError::RootCaFileReadFailed { path: path.to_owned(), source })?;
        let has_certificate =
            pem::parse_many(&bytes).is_ok_and(|blocks| blocks.iter().any(|b| b.tag() == "CERTIFICATE"));
        return String::from_utf8(bytes)
            .ok()
            .filter(|_| has_certificate)
            .ok_or_else(|| CaError::RootCaFileInvalid { path: path.to_owned() });
    }
    if client_ca.is_empty() {
        return Err(CaError::NoRootCa);
    }
    let blocks: Vec<pem::Pem> = client_ca.iter().map(|der| pem::Pem::new("CERTIFICATE", der.clone())).collect();
    Ok(pem::encode_many_config(&blocks, pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF)))
}

/// The data the ConfigMap must hold, exactly.
fn desired_data(root_ca: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(CA_KEY.to_owned(), root_ca.to_owned())])
}

/// Whether `cm` already publishes `root_ca` as upstream wants: data exactly
/// `{ca.crt}` and a non-empty description annotation.
pub fn is_published(cm: &ConfigMap, root_ca: &str) -> bool {
    let data = cm.data.as_ref().is_some_and(|d| *d == desired_data(root_ca));
    let annotated =
        cm.metadata.annotations.as_ref().and_then(|a| a.get(DESCRIPTION_ANNOTATION)).is_some_and(|v| !v.is_empty());
    data && annotated
}

/// The controller.
pub struct RootCaPublisher {
    client: kube::Client,
    root_ca: String,
    namespaces: Informer<Namespace>,
    config_maps: Informer<ConfigMap>,
    queue: WorkQueue,
}

impl std::fmt::Debug for RootCaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootCaPublisher").finish_non_exhaustive()
    }
}

/// Constructs the `root-ca-certificate-publisher-controller`.
pub fn new_controller(ctx: &ControllerContext) -> Result<ControllerRun, String> {
    let root_ca = load_root_ca(ctx.options.root_ca_file.as_deref(), &ctx.client_ca).map_err(|err| err.to_string())?;
    let controller = Arc::new(RootCaPublisher {
        client: ctx.client.clone(),
        root_ca,
        namespaces: ctx.informers.informer::<Namespace>(),
        // Only the published ConfigMaps: caching every ConfigMap's data would
        // cost far more than this controller needs.
        config_maps: ctx.informers.filtered_informer::<ConfigMap>(&format!("metadata.name={ROOT_CA_CONFIG_MAP}")),
        queue: WorkQueue::new("root_ca_cert_publisher", ctx.queue_metrics.clone()),
    });
    queue_live_namespaces(&controller.namespaces, controller.queue.clone());
    let queue = controller.queue.clone();
    controller.config_maps.add_handler(move |change| {
        let (Change::Added(cm) | Change::Updated { new: cm, .. } | Change::Deleted(cm)) = change;
        if cm.metadata.name.as_deref() == Some(ROOT_CA_CONFIG_MAP)
            && let Some(namespace) = cm.metadata.namespace.clone()
        {
            queue.add(namespace);
        }
    });
    let stop = ctx.stop.clone();
    Ok(Box::pin(async move {
        controller.namespaces.wait_synced().await;
        controller.config_maps.wait_synced().await;
        let queue = controller.queue.clone();
        // Upstream runs this controller with one worker.
        crate::controller::run_workers(controller, queue, 1, stop).await;
    }))
}

impl Reconciler for RootCaPublisher {
    type Error = Error;

    /// `namespace` is a namespace's name.
    async fn reconcile(&self, namespace: &str) -> Result<Action, Error> {
        let Some(ns) = self.namespaces.get("", namespace) else { return Ok(Action::Done) };
        if is_terminating(&ns) {
            return Ok(Action::Done);
        }
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let Some(cached) = self.config_maps.get(namespace, ROOT_CA_CONFIG_MAP) else {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(ROOT_CA_CONFIG_MAP.to_owned()),
                    namespace: Some(namespace.to_owned()),
                    annotations: Some(BTreeMap::from([(DESCRIPTION_ANNOTATION.to_owned(), DESCRIPTION.to_owned())])),
                    ..Default::default()
                },
                data: Some(desired_data(&self.root_ca)),
                ..Default::default()
            };
            return match api.create(&PostParams::default(), &cm).await {
                Ok(_) => {
                    tracing::info!(namespace, name = ROOT_CA_CONFIG_MAP, "published root CA configmap");
                    Ok(Action::Done)
                }
                // Don't retry a create in a namespace that is gone or terminating.
                Err(err) if is_namespace_gone_or_terminating(&err) => Ok(Action::Done),
                // AlreadyExists (the cache is behind) is a conflict: retried quietly.
                Err(source) => Err(Error::CreateFailed { namespace: namespace.to_owned(), source }),
            };
        };
        if is_published(&cached, &self.root_ca) {
            return Ok(Action::Done);
        }
        // Never change the cached object: update a copy, with its resourceVersion.
        let mut cm = (*cached).clone();
        cm.data = Some(desired_data(&self.root_ca));
        cm.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(DESCRIPTION_ANNOTATION.to_owned(), DESCRIPTION.to_owned());
        match api.replace(ROOT_CA_CONFIG_MAP, &PostParams::default(), &cm).await {
            Ok(_) => {
                tracing::info!(namespace, name = ROOT_CA_CONFIG_MAP, "restored root CA configmap");
                Ok(Action::Done)
            }
            // Deleted meanwhile: its delete event queues the namespace again.
            Err(err) if is_not_found(&err) => Ok(Action::Done),
            Err(source) => Err(Error::UpdateFailed { namespace: namespace.to_owned(), source }),
        }
    }

    fn is_conflict(err: &Error) -> bool {
        match err {
            Error::CreateFailed { source, .. } | Error::UpdateFailed { source, .. } => is_conflict(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";

    fn config_map(data: &[(&str, &str)], annotated: bool) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(ROOT_CA_CONFIG_MAP.into()),
                annotations: annotated
                    .then(|| BTreeMap::from([(DESCRIPTION_ANNOTATION.to_owned(), DESCRIPTION.to_owned())])),
                ..Default::default()
            },
            data: Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn published_means_exactly_the_ca_and_the_annotation() {
        assert!(is_published(&config_map(&[(CA_KEY, PEM)], true), PEM));
        assert!(!is_published(&config_map(&[(CA_KEY, "tampered")], true), PEM), "wrong ca.crt");
        assert!(!is_published(&config_map(&[(CA_KEY, PEM), ("extra", "x")], true), PEM), "extra keys");
        assert!(!is_published(&config_map(&[(CA_KEY, PEM)], false), PEM), "missing annotation");
        assert!(!is_published(&config_map(&[], true), PEM), "no data");
    }

    #[test]
    fn root_ca_file_wins_and_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("ca.crt");
        std::fs::write(&good, PEM).unwrap();
        assert_eq!(load_root_ca(Some(&good), &[b"other".to_vec()]).unwrap(), PEM, "the file's contents, as given");

        for bad in ["garbage", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"] {
            let path = dir.path().join("bad.crt");
            std::fs::write(&path, bad).unwrap();
            let err = load_root_ca(Some(&path), &[]).unwrap_err().to_string();
            assert!(
                err.starts_with("error parsing root-ca-file at ")
                    && err.ends_with("data does not contain any valid PEM certificates"),
                "{err}"
            );
        }
        let err = load_root_ca(Some(&dir.path().join("nope.crt")), &[]).unwrap_err().to_string();
        assert!(err.contains("nope.crt"), "names the missing file: {err}");
    }

    #[test]
    fn the_client_ca_is_the_fallback_as_pem() {
        let der = pem::parse(PEM).unwrap().contents().to_vec();
        assert_eq!(load_root_ca(None, std::slice::from_ref(&der)).unwrap(), PEM);
        let both = load_root_ca(None, &[der.clone(), der]).unwrap();
        assert_eq!(pem::parse_many(&both).unwrap().len(), 2, "every trusted CA: {both}");
        let err = load_root_ca(None, &[]).unwrap_err().to_string();
        assert!(err.starts_with("no root CA to publish: --root-ca-file is not set"), "{err}");
    }
}
