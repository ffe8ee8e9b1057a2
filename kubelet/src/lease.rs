//! The node heartbeat: a Lease named after the node in `kube-node-lease`,
//! owned by the Node, renewed every quarter of its duration (10 s for the
//! default 40 s), as upstream's `nodelease` controller.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::PostParams;

/// The namespace of node leases.
pub const NAMESPACE: &str = "kube-node-lease";

/// Errors renewing the lease.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("renewing lease {NAMESPACE}/{node}: {source}")]
    RenewFailed {
        node: String,
        #[source]
        source: kube::Error,
    },
}

/// Renews one node's Lease.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    leases: Api<Lease>,
    nodes: Api<Node>,
    node: String,
    duration_seconds: i32,
}

impl Heartbeat {
    pub fn new(client: kube::Client, node: &str, duration_seconds: i32) -> Self {
        Heartbeat {
            leases: Api::namespaced(client.clone(), NAMESPACE),
            nodes: Api::all(client),
            node: node.to_owned(),
            duration_seconds,
        }
    }

    /// How often the lease is renewed.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.duration_seconds).unwrap_or(40) * 250)
    }

    async fn owner(&self) -> Option<OwnerReference> {
        let node = self.nodes.get_opt(&self.node).await.ok().flatten()?;
        Some(OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: self.node.clone(),
            uid: node.metadata.uid?,
            ..Default::default()
        })
    }

    /// Creates or renews the lease once.
    pub async fn renew(&self) -> Result<Lease, Error> {
        let err = |source| Error::RenewFailed { node: self.node.clone(), source };
        let now = MicroTime(jiff::Timestamp::now());
        match self.leases.get_opt(&self.node).await.map_err(err)? {
            Some(mut lease) => {
                let spec = lease.spec.get_or_insert_with(Default::default);
                spec.holder_identity = Some(self.node.clone());
                spec.lease_duration_seconds = Some(self.duration_seconds);
                spec.renew_time = Some(now);
                if lease.metadata.owner_references.as_ref().is_none_or(|o| o.is_empty()) {
                    lease.metadata.owner_references = self.owner().await.map(|o| vec![o]);
                }
                self.leases.replace(&self.node, &PostParams::default(), &lease).await.map_err(err)
            }
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.node.clone()),
                        namespace: Some(NAMESPACE.into()),
                        owner_references: self.owner().await.map(|o| vec![o]),
                        ..Default::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.node.clone()),
                        lease_duration_seconds: Some(self.duration_seconds),
                        renew_time: Some(now),
                        ..Default::default()
                    }),
                };
                self.leases.create(&PostParams::default(), &lease).await.map_err(err)
            }
        }
    }

    /// Renews every interval until `shutdown`; retries failures with backoff
    /// from 200 ms up to the interval, as upstream.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let wait = match self.renew().await {
                Ok(_) => {
                    backoff = Duration::from_millis(200);
                    self.interval()
                }
                Err(e) => {
                    tracing::warn!(error = %e, "failed to update lease, will retry");
                    let w = backoff;
                    backoff = (backoff * 2).min(self.interval());
                    w
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
