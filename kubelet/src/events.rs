//! Events about pods (Pulling, Pulled, Created, Started, Killing, BackOff,
//! Failed) and about the node (image GC), posted in the background so a slow apiserver never stalls a sync.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::Api;
use kube::api::PostParams;

/// Posts events as `kubelet` on one node.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    node: String,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("node", &self.node).finish_non_exhaustive()
    }
}

impl Recorder {
    pub fn new(client: kube::Client, node: &str) -> Self {
        Recorder { client, node: node.to_owned() }
    }

    /// Records an event about `pod` (and `field_path`, e.g. `spec.containers{web}`).
    pub fn pod(&self, pod: &Pod, field_path: Option<String>, type_: &str, reason: &str, message: String) {
        let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let involved = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: pod.metadata.name.clone(),
            namespace: Some(namespace.clone()),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            field_path,
        };
        self.post(&namespace, involved, type_, reason, message);
    }

    /// Records an event about this node (in `default`, with the node name as
    /// its uid, as upstream's kubelet does).
    pub fn node(&self, type_: &str, reason: &str, message: String) {
        let involved = ObjectReference {
            kind: Some("Node".into()),
            name: Some(self.node.clone()),
            uid: Some(self.node.clone()),
            ..Default::default()
        };
        self.post("default", involved, type_, reason, message);
    }

    fn post(&self, namespace: &str, involved: ObjectReference, type_: &str, reason: &str, message: String) {
        let now = jiff::Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", involved.name.as_deref().unwrap_or_default(), now.as_nanosecond())),
                namespace: Some(namespace.to_owned()),
                ..Default::default()
            },
            involved_object: involved,
            reason: Some(reason.to_owned()),
            message: Some(message),
            type_: Some(type_.to_owned()),
            source: Some(EventSource { component: Some("kubelet".into()), host: Some(self.node.clone()) }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            count: Some(1),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.node.clone()),
            action: None,
            related: None,
            series: None,
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &event).await {
                tracing::debug!(error = %e, reason = ?event.reason, "could not record event");
            }
        });
    }
}
