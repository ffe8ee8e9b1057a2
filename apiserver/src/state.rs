//! Shared state of one running apiserver.

use crate::allocator::Allocator;
use crate::resource_store::ResourceStore;
use crate::watch_cache::WatchCache;

#[derive(Debug)]
pub struct AppState {
    pub store: ResourceStore,
    /// One storage watch per resource, shared by every client watch.
    pub watch_cache: WatchCache,
    /// Service ClusterIPs and NodePorts.
    pub allocator: Allocator,
    /// `host:port` clients reach this server at (for discovery's serverAddressByClientCIDRs).
    pub advertise: String,
    /// How connect subresources (logs, exec, port-forward, node proxy) reach kubelets.
    pub kubelet: Option<crate::kubelet_client::KubeletClient>,
    /// Namespaces and whether they are terminating, for NamespaceLifecycle.
    pub namespaces: crate::name_cache::NameCache<bool>,
    /// PriorityClasses, for Priority admission.
    pub priority_classes: crate::name_cache::NameCache<crate::name_cache::PriorityClassInfo>,
    /// Custom resources served from CustomResourceDefinitions.
    pub custom: crate::crd::CustomResources,
    /// Signs TokenRequest tokens and authenticates bearer tokens (`None`: no signing key).
    pub tokens: Option<crate::service_account_token::TokenIssuer>,
    /// Which admission plugins run.
    pub admission: crate::admission::Plugins,
}
