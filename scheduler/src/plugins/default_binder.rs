//! `DefaultBinder`: writes the decision as a `v1.Binding` to the pod's
//! `binding` subresource.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::PostParams;

use crate::framework::{BindPlugin, Plugin, Status};
use crate::pod_info::PodInfo;

pub const NAME: &str = "DefaultBinder";

/// The plugin; without a client it skips (in-process benchmarks bind nothing).
#[derive(Clone)]
pub struct DefaultBinder {
    client: Option<kube::Client>,
}

impl std::fmt::Debug for DefaultBinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultBinder").finish()
    }
}

impl DefaultBinder {
    pub fn new(client: Option<kube::Client>) -> Self {
        DefaultBinder { client }
    }
}

/// The Binding upstream posts for `pod` → `node`.
pub fn binding(pod: &PodInfo, node: &str) -> Binding {
    Binding {
        metadata: ObjectMeta {
            name: Some(pod.name.clone()),
            namespace: Some(pod.namespace.clone()),
            uid: (!pod.uid.is_empty()).then(|| pod.uid.clone()),
            ..Default::default()
        },
        target: ObjectReference { kind: Some("Node".into()), name: Some(node.into()), ..Default::default() },
    }
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_bind(self: Arc<Self>) -> Option<Arc<dyn BindPlugin>> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl BindPlugin for DefaultBinder {
    async fn bind(&self, pod: &PodInfo, node: &str) -> Status {
        let Some(client) = &self.client else { return Status::success() };
        let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace);
        let body = binding(pod, node);
        match api
            .create_subresource::<Binding, serde_json::Value>("binding", &pod.name, &PostParams::default(), &body)
            .await
        {
            Ok(_) => Status::success(),
            Err(e) => Status::error(format!("binding rejected: {e}")),
        }
    }
}
