//! The built-in resources of Kubernetes 1.33 that the apiserver serves, as discovery publishes them.
//!
//! Each row is one (group, version, resource). Group, version, kind, plural and scope
//! come from `k8s-openapi`'s [`Resource`] constants, so they cannot drift from the typed
//! objects. The rest (singular, short names, verbs, subresources, categories and the etcd
//! key segment) is written by hand from upstream: `api/discovery/*.json`,
//! `pkg/registry/*/storage/storage.go`, `test/integration/etcd/data.go` and
//! `SpecialDefaultResourcePrefixes` in `pkg/kubeapiserver/default_storage_factory_builder.go`.
//!
//! [`all`] lists rows in discovery order: the core group first, then the named groups in
//! the order `/apis` lists them, each group's versions preferred first, and resources
//! alphabetically within a version. Lookups scan this short table; it has fewer than 60 rows.

use std::fmt;

use k8s_openapi::api::{
    admissionregistration::v1 as admissionregistration, apps::v1 as apps, authentication::v1 as authentication,
    authorization::v1 as authorization, autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling_v2,
    batch::v1 as batch, certificates::v1 as certificates, coordination::v1 as coordination, core::v1 as core,
    discovery::v1 as discovery, events::v1 as events, networking::v1 as networking, node::v1 as node,
    policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};

/// The verbs of a resource kept in storage with the full generic REST surface.
pub const STANDARD_VERBS: &[&str] =
    &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
/// Namespaces: as [`STANDARD_VERBS`] less `deletecollection`.
pub const NAMESPACE_VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
/// Verbs-only resources (bindings, reviews) and create-only subresources (eviction, token).
pub const CREATE_VERBS: &[&str] = &["create"];
/// Read-only computed lists (componentstatuses).
pub const READ_VERBS: &[&str] = &["get", "list"];
/// `status`, `scale`, `approval`, `ephemeralcontainers` and `resize` subresources.
pub const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
/// `proxy` subresources of pods, services and nodes.
pub const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];
/// Streaming connect subresources: `attach`, `exec`, `portforward`.
pub const CONNECT_VERBS: &[&str] = &["create", "get"];
/// `pods/log`.
pub const GET_VERBS: &[&str] = &["get"];
/// `namespaces/finalize`.
pub const UPDATE_VERBS: &[&str] = &["update"];

/// Root of every key the apiserver writes.
pub const STORAGE_ROOT: &str = "/registry";
/// Versions of the core group, as `/api` lists them.
pub const CORE_VERSIONS: &[&str] = &["v1"];

/// A subresource of a [`ResourceInfo`], such as `pods/status` or `deployments/scale`.
///
/// `group` and `version` are always filled in (the core group is `""`); discovery's
/// legacy format leaves them out when they equal the parent's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subresource {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

impl Subresource {
    /// True when `verb` may be used on this subresource.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

/// One served (group, version, resource) as discovery publishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub subresources: &'static [Subresource],
    pub categories: &'static [&'static str],
    /// The segment after `/registry/` under which objects are kept, or `None` for
    /// resources that are never stored (bindings, reviews, componentstatuses).
    /// Resources served in several groups or versions share one segment.
    pub storage_segment: Option<&'static str>,
}

/// A group and version, e.g. `apps/v1`; the core group is `""`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct GroupVersion {
    pub group: &'static str,
    pub version: &'static str,
}

impl GroupVersion {
    /// The `apiVersion` string: `"v1"` for the core group, `"apps/v1"` otherwise.
    pub fn api_version(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for GroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() { f.write_str(self.version) } else { write!(f, "{}/{}", self.group, self.version) }
    }
}

/// A named API group as `/apis` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApiGroup {
    pub name: &'static str,
    /// Served versions, preferred first.
    pub versions: &'static [&'static str],
    pub preferred_version: &'static str,
}

impl ResourceInfo {
    /// The `apiVersion` string: `"v1"` for the core group, `"apps/v1"` otherwise.
    pub fn api_version(&self) -> String {
        self.group_version().api_version()
    }

    pub fn group_version(&self) -> GroupVersion {
        GroupVersion { group: self.group, version: self.version }
    }

    /// True when `verb` may be used on the resource itself (not its subresources).
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// True when this row is the version a client picks for its resource: the group's
    /// preferred version, or the only version serving the resource.
    pub fn is_preferred_version(&self) -> bool {
        let preferred = preferred_version(self.group).unwrap_or(self.version);
        self.version == preferred || lookup(self.group, preferred, self.plural).is_none()
    }

    /// `"/registry/<segment>/"`, the prefix every key of this resource starts with.
    pub fn storage_prefix(&self) -> Option<String> {
        self.storage_segment.map(|segment| format!("{STORAGE_ROOT}/{segment}/"))
    }

    /// `/registry/<segment>/<namespace>/<name>`, or `/registry/<segment>/<name>` for a
    /// cluster-scoped resource (whose `namespace` is ignored, as upstream's
    /// `NoNamespaceKeyFunc` does).
    ///
    /// `None` when the resource is not stored, when a namespaced resource is given no
    /// namespace, or when the name or namespace is not a valid path segment (empty,
    /// `.`, `..`, or containing `/` or `%`), as upstream's `NamespaceKeyFunc` refuses.
    pub fn storage_key(&self, namespace: Option<&str>, name: &str) -> Option<String> {
        let prefix = self.storage_prefix()?;
        if !is_path_segment(name) {
            return None;
        }
        if !self.namespaced {
            return Some(format!("{prefix}{name}"));
        }
        let namespace = namespace.filter(|ns| is_path_segment(ns))?;
        Some(format!("{prefix}{namespace}/{name}"))
    }
}

/// Upstream's `path.IsValidPathSegmentName`, plus non-empty.
fn is_path_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '%'])
}

/// Every served resource, in discovery order.
pub fn all() -> &'static [ResourceInfo] {
    RESOURCES
}

/// The resource served at `group`/`version` under `plural`.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of `kind` served at `group`/`version`.
pub fn lookup_kind(group: &str, version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// The named (non-core) groups in the order `/apis` lists them.
pub fn groups() -> &'static [ApiGroup] {
    GROUPS
}

/// The preferred version of `group` (`"v1"` for the core group `""`).
pub fn preferred_version(group: &str) -> Option<&'static str> {
    if group.is_empty() {
        return CORE_VERSIONS.first().copied();
    }
    GROUPS.iter().find(|g| g.name == group).map(|g| g.preferred_version)
}

/// Resources served at `group`/`version`, in discovery order.
pub fn resources_in(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceInfo> {
    RESOURCES.iter().filter(move |r| r.group == group && r.version == version)
}

/// Resources in `category` (such as `all` or `api-extensions`), each in its preferred
/// version only, in discovery order: what `kubectl get <category>` expands to.
pub fn in_category(category: &str) -> impl Iterator<Item = &'static ResourceInfo> {
    RESOURCES.iter().filter(move |r| r.categories.contains(&category) && r.is_preferred_version())
}

/// Resolves a kubectl-style resource argument: a plural, singular, short name or kind
/// (all case-insensitive), optionally qualified by group (`deployments.apps`,
/// `deploy.apps`) or by version and group (`deployments.v1.apps`).
///
/// Returns every matching row once, in discovery order, so the preferred group and
/// version come first (`hpa` gives `autoscaling/v2` before `autoscaling/v1`, `ev` the
/// core events before `events.k8s.io`). As kubectl's shortcut expander does, a full
/// name wins over a short name, and a short name may name its group by a prefix
/// (`hpa.autoscal`). Categories are not expanded here; see [`in_category`].
pub fn resolve(arg: &str) -> Vec<&'static ResourceInfo> {
    let arg = arg.trim().to_ascii_lowercase();
    if arg.is_empty() {
        return Vec::new();
    }
    // As schema.ParseResourceArg: with two dots or more try resource.version.group
    // first, then fall back to resource.group.
    let mut parts = arg.splitn(3, '.');
    if let (Some(resource), Some(version), Some(group)) = (parts.next(), parts.next(), parts.next()) {
        let found = matching(resource, |r| r.group == group && r.version == version);
        if !found.is_empty() {
            return found;
        }
    }
    match arg.split_once('.') {
        Some((resource, group)) => {
            let found = matching(resource, |r| r.group == group);
            if !found.is_empty() {
                return found;
            }
            by_short_name(resource, |r| r.group.starts_with(group))
        }
        None => matching(&arg, |_| true),
    }
}

/// Rows passing `filter` named `name` (lowercase) by plural, singular or kind, or failing
/// that by short name.
fn matching(name: &str, filter: impl Fn(&ResourceInfo) -> bool) -> Vec<&'static ResourceInfo> {
    let found: Vec<_> = RESOURCES
        .iter()
        .filter(|r| filter(r))
        .filter(|r| r.plural == name || r.singular == name || r.kind.eq_ignore_ascii_case(name))
        .collect();
    if found.is_empty() { by_short_name(name, filter) } else { found }
}

fn by_short_name(name: &str, filter: impl Fn(&ResourceInfo) -> bool) -> Vec<&'static ResourceInfo> {
    RESOURCES.iter().filter(|r| filter(r) && r.short_names.contains(&name)).collect()
}

// ---------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------

/// Scope of a k8s-openapi resource as a constant, so rows can be built in const context.
trait Scope {
    const NAMESPACED: bool;
}

impl Scope for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl Scope for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// A row for `T` with group, version, kind, plural and scope from k8s-openapi, the
/// standard verbs, and nothing stored until [`ResourceInfo::stored_at`] says where.
const fn served<T>(singular: &'static str) -> ResourceInfo
where
    T: Resource,
    T::Scope: Scope,
{
    ResourceInfo {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        plural: T::URL_PATH_SEGMENT,
        singular,
        short_names: &[],
        namespaced: <T::Scope as Scope>::NAMESPACED,
        verbs: STANDARD_VERBS,
        subresources: &[],
        categories: &[],
        storage_segment: None,
    }
}

/// Builders used only by the table below.
impl ResourceInfo {
    const fn short_names(self, short_names: &'static [&'static str]) -> Self {
        Self { short_names, ..self }
    }

    const fn verbs(self, verbs: &'static [&'static str]) -> Self {
        Self { verbs, ..self }
    }

    const fn subresources(self, subresources: &'static [Subresource]) -> Self {
        Self { subresources, ..self }
    }

    const fn categories(self, categories: &'static [&'static str]) -> Self {
        Self { categories, ..self }
    }

    const fn stored_at(self, segment: &'static str) -> Self {
        Self { storage_segment: Some(segment), ..self }
    }
}

/// A subresource answering with `T` (e.g. `scale` with autoscaling/v1 `Scale`).
const fn sub<T: Resource>(name: &'static str, verbs: &'static [&'static str]) -> Subresource {
    Subresource { name, group: T::GROUP, version: T::VERSION, kind: T::KIND, verbs }
}

/// The `status` subresource of `T`.
const fn status<T: Resource>() -> Subresource {
    sub::<T>("status", STATUS_VERBS)
}

/// A connect subresource of `Parent` whose kind is an options type k8s-openapi does not
/// model as a resource (`PodExecOptions`, `NodeProxyOptions`, ...).
const fn connect<Parent: Resource>(
    name: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource { name, group: Parent::GROUP, version: Parent::VERSION, kind, verbs }
}

const ALL: &[&str] = &["all"];
const API_EXTENSIONS: &[&str] = &["api-extensions"];

static RESOURCES: &[ResourceInfo] = &[
    // -- core/v1 ------------------------------------------------------------------------
    served::<core::Binding>("binding").verbs(CREATE_VERBS),
    served::<core::ComponentStatus>("componentstatus").short_names(&["cs"]).verbs(READ_VERBS),
    served::<core::ConfigMap>("configmap").short_names(&["cm"]).stored_at("configmaps"),
    served::<core::Endpoints>("endpoints").short_names(&["ep"]).stored_at("services/endpoints"),
    served::<core::Event>("event").short_names(&["ev"]).stored_at("events"),
    served::<core::LimitRange>("limitrange").short_names(&["limits"]).stored_at("limitranges"),
    served::<core::Namespace>("namespace")
        .short_names(&["ns"])
        .verbs(NAMESPACE_VERBS)
        .subresources(&[sub::<core::Namespace>("finalize", UPDATE_VERBS), status::<core::Namespace>()])
        .stored_at("namespaces"),
    served::<core::Node>("node")
        .short_names(&["no"])
        .subresources(&[connect::<core::Node>("proxy", "NodeProxyOptions", PROXY_VERBS), status::<core::Node>()])
        .stored_at("minions"),
    served::<core::PersistentVolumeClaim>("persistentvolumeclaim")
        .short_names(&["pvc"])
        .subresources(&[status::<core::PersistentVolumeClaim>()])
        .stored_at("persistentvolumeclaims"),
    served::<core::PersistentVolume>("persistentvolume")
        .short_names(&["pv"])
        .subresources(&[status::<core::PersistentVolume>()])
        .stored_at("persistentvolumes"),
    served::<core::Pod>("pod")
        .short_names(&["po"])
        .categories(ALL)
        .subresources(&[
            connect::<core::Pod>("attach", "PodAttachOptions", CONNECT_VERBS),
            sub::<core::Binding>("binding", CREATE_VERBS),
            sub::<core::Pod>("ephemeralcontainers", STATUS_VERBS),
            sub::<policy::Eviction>("eviction", CREATE_VERBS),
            connect::<core::Pod>("exec", "PodExecOptions", CONNECT_VERBS),
            sub::<core::Pod>("log", GET_VERBS),
            connect::<core::Pod>("portforward", "PodPortForwardOptions", CONNECT_VERBS),
            connect::<core::Pod>("proxy", "PodProxyOptions", PROXY_VERBS),
            sub::<core::Pod>("resize", STATUS_VERBS),
            status::<core::Pod>(),
        ])
        .stored_at("pods"),
    served::<core::PodTemplate>("podtemplate").stored_at("podtemplates"),
    served::<core::ReplicationController>("replicationcontroller")
        .short_names(&["rc"])
        .categories(ALL)
        .subresources(&[sub::<autoscaling_v1::Scale>("scale", STATUS_VERBS), status::<core::ReplicationController>()])
        .stored_at("controllers"),
    served::<core::ResourceQuota>("resourcequota")
        .short_names(&["quota"])
        .subresources(&[status::<core::ResourceQuota>()])
        .stored_at("resourcequotas"),
    served::<core::Secret>("secret").stored_at("secrets"),
    served::<core::ServiceAccount>("serviceaccount")
        .short_names(&["sa"])
        .subresources(&[sub::<authentication::TokenRequest>("token", CREATE_VERBS)])
        .stored_at("serviceaccounts"),
    served::<core::Service>("service")
        .short_names(&["svc"])
        .categories(ALL)
        .subresources(&[
            connect::<core::Service>("proxy", "ServiceProxyOptions", PROXY_VERBS),
            status::<core::Service>(),
        ])
        .stored_at("services/specs"),
    // -- apps/v1 ------------------------------------------------------------------------
    served::<apps::ControllerRevision>("controllerrevision").stored_at("controllerrevisions"),
    served::<apps::DaemonSet>("daemonset")
        .short_names(&["ds"])
        .categories(ALL)
        .subresources(&[status::<apps::DaemonSet>()])
        .stored_at("daemonsets"),
    served::<apps::Deployment>("deployment")
        .short_names(&["deploy"])
        .categories(ALL)
        .subresources(&[sub::<autoscaling_v1::Scale>("scale", STATUS_VERBS), status::<apps::Deployment>()])
        .stored_at("deployments"),
    served::<apps::ReplicaSet>("replicaset")
        .short_names(&["rs"])
        .categories(ALL)
        .subresources(&[sub::<autoscaling_v1::Scale>("scale", STATUS_VERBS), status::<apps::ReplicaSet>()])
        .stored_at("replicasets"),
    served::<apps::StatefulSet>("statefulset")
        .short_names(&["sts"])
        .categories(ALL)
        .subresources(&[sub::<autoscaling_v1::Scale>("scale", STATUS_VERBS), status::<apps::StatefulSet>()])
        .stored_at("statefulsets"),
    // -- events.k8s.io/v1 (kept with core events) ---------------------------------------
    served::<events::Event>("event").short_names(&["ev"]).stored_at("events"),
    // -- authentication.k8s.io/v1 -------------------------------------------------------
    served::<authentication::SelfSubjectReview>("selfsubjectreview").verbs(CREATE_VERBS),
    served::<authentication::TokenReview>("tokenreview").verbs(CREATE_VERBS),
    // -- authorization.k8s.io/v1 --------------------------------------------------------
    served::<authorization::LocalSubjectAccessReview>("localsubjectaccessreview").verbs(CREATE_VERBS),
    served::<authorization::SelfSubjectAccessReview>("selfsubjectaccessreview").verbs(CREATE_VERBS),
    served::<authorization::SelfSubjectRulesReview>("selfsubjectrulesreview").verbs(CREATE_VERBS),
    served::<authorization::SubjectAccessReview>("subjectaccessreview").verbs(CREATE_VERBS),
    // -- autoscaling/v2, then v1 (one stored resource) ----------------------------------
    served::<autoscaling_v2::HorizontalPodAutoscaler>("horizontalpodautoscaler")
        .short_names(&["hpa"])
        .categories(ALL)
        .subresources(&[status::<autoscaling_v2::HorizontalPodAutoscaler>()])
        .stored_at("horizontalpodautoscalers"),
    served::<autoscaling_v1::HorizontalPodAutoscaler>("horizontalpodautoscaler")
        .short_names(&["hpa"])
        .categories(ALL)
        .subresources(&[status::<autoscaling_v1::HorizontalPodAutoscaler>()])
        .stored_at("horizontalpodautoscalers"),
    // -- batch/v1 -----------------------------------------------------------------------
    served::<batch::CronJob>("cronjob")
        .short_names(&["cj"])
        .categories(ALL)
        .subresources(&[status::<batch::CronJob>()])
        .stored_at("cronjobs"),
    served::<batch::Job>("job").categories(ALL).subresources(&[status::<batch::Job>()]).stored_at("jobs"),
    // -- certificates.k8s.io/v1 ---------------------------------------------------------
    served::<certificates::CertificateSigningRequest>("certificatesigningrequest")
        .short_names(&["csr"])
        .subresources(&[
            sub::<certificates::CertificateSigningRequest>("approval", STATUS_VERBS),
            status::<certificates::CertificateSigningRequest>(),
        ])
        .stored_at("certificatesigningrequests"),
    // -- networking.k8s.io/v1 -----------------------------------------------------------
    served::<networking::IngressClass>("ingressclass").stored_at("ingressclasses"),
    served::<networking::Ingress>("ingress")
        .short_names(&["ing"])
        .subresources(&[status::<networking::Ingress>()])
        .stored_at("ingress"),
    served::<networking::IPAddress>("ipaddress").short_names(&["ip"]).stored_at("ipaddresses"),
    served::<networking::NetworkPolicy>("networkpolicy").short_names(&["netpol"]).stored_at("networkpolicies"),
    served::<networking::ServiceCIDR>("servicecidr")
        .subresources(&[status::<networking::ServiceCIDR>()])
        .stored_at("servicecidrs"),
    // -- policy/v1 ----------------------------------------------------------------------
    served::<policy::PodDisruptionBudget>("poddisruptionbudget")
        .short_names(&["pdb"])
        .subresources(&[status::<policy::PodDisruptionBudget>()])
        .stored_at("poddisruptionbudgets"),
    // -- rbac.authorization.k8s.io/v1 ---------------------------------------------------
    served::<rbac::ClusterRoleBinding>("clusterrolebinding").stored_at("clusterrolebindings"),
    served::<rbac::ClusterRole>("clusterrole").stored_at("clusterroles"),
    served::<rbac::RoleBinding>("rolebinding").stored_at("rolebindings"),
    served::<rbac::Role>("role").stored_at("roles"),
    // -- storage.k8s.io/v1 --------------------------------------------------------------
    served::<storage::CSIDriver>("csidriver").stored_at("csidrivers"),
    served::<storage::CSINode>("csinode").stored_at("csinodes"),
    served::<storage::CSIStorageCapacity>("csistoragecapacity").stored_at("csistoragecapacities"),
    served::<storage::StorageClass>("storageclass").short_names(&["sc"]).stored_at("storageclasses"),
    served::<storage::VolumeAttachment>("volumeattachment")
        .subresources(&[status::<storage::VolumeAttachment>()])
        .stored_at("volumeattachments"),
    // -- admissionregistration.k8s.io/v1 ------------------------------------------------
    served::<admissionregistration::MutatingWebhookConfiguration>("mutatingwebhookconfiguration")
        .categories(API_EXTENSIONS)
        .stored_at("mutatingwebhookconfigurations"),
    served::<admissionregistration::ValidatingAdmissionPolicy>("validatingadmissionpolicy")
        .categories(API_EXTENSIONS)
        .subresources(&[status::<admissionregistration::ValidatingAdmissionPolicy>()])
        .stored_at("validatingadmissionpolicies"),
    served::<admissionregistration::ValidatingAdmissionPolicyBinding>("validatingadmissionpolicybinding")
        .categories(API_EXTENSIONS)
        .stored_at("validatingadmissionpolicybindings"),
    served::<admissionregistration::ValidatingWebhookConfiguration>("validatingwebhookconfiguration")
        .categories(API_EXTENSIONS)
        .stored_at("validatingwebhookconfigurations"),
    // -- apiextensions.k8s.io/v1 (the only group-qualified segment) ---------------------
    served::<apiextensions::CustomResourceDefinition>("customresourcedefinition")
        .short_names(&["crd", "crds"])
        .categories(API_EXTENSIONS)
        .subresources(&[status::<apiextensions::CustomResourceDefinition>()])
        .stored_at("apiextensions.k8s.io/customresourcedefinitions"),
    // -- scheduling.k8s.io/v1 -----------------------------------------------------------
    served::<scheduling::PriorityClass>("priorityclass").short_names(&["pc"]).stored_at("priorityclasses"),
    // -- coordination.k8s.io/v1 ---------------------------------------------------------
    served::<coordination::Lease>("lease").stored_at("leases"),
    // -- node.k8s.io/v1 -----------------------------------------------------------------
    served::<node::RuntimeClass>("runtimeclass").stored_at("runtimeclasses"),
    // -- discovery.k8s.io/v1 ------------------------------------------------------------
    served::<discovery::EndpointSlice>("endpointslice").stored_at("endpointslices"),
];

/// Named groups in `/apis` order: descending `GroupPriorityMinimum` of upstream's
/// `apiVersionPriorities`, ties broken by APIService name (admissionregistration before
/// apiextensions). Only the versions this registry serves are listed, preferred first.
static GROUPS: &[ApiGroup] = &[
    group("apps", &["v1"]),
    group("events.k8s.io", &["v1"]),
    group("authentication.k8s.io", &["v1"]),
    group("authorization.k8s.io", &["v1"]),
    group("autoscaling", &["v2", "v1"]),
    group("batch", &["v1"]),
    group("certificates.k8s.io", &["v1"]),
    group("networking.k8s.io", &["v1"]),
    group("policy", &["v1"]),
    group("rbac.authorization.k8s.io", &["v1"]),
    group("storage.k8s.io", &["v1"]),
    group("admissionregistration.k8s.io", &["v1"]),
    group("apiextensions.k8s.io", &["v1"]),
    group("scheduling.k8s.io", &["v1"]),
    group("coordination.k8s.io", &["v1"]),
    group("node.k8s.io", &["v1"]),
    group("discovery.k8s.io", &["v1"]),
];

/// A group whose preferred version is the first of `versions`.
const fn group(name: &'static str, versions: &'static [&'static str]) -> ApiGroup {
    ApiGroup { name, versions, preferred_version: versions[0] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    /// Asserts `T` is served exactly as k8s-openapi describes it.
    fn expect<T>() -> &'static ResourceInfo
    where
        T: Resource,
        T::Scope: Scope,
    {
        let info = lookup(T::GROUP, T::VERSION, T::URL_PATH_SEGMENT)
            .unwrap_or_else(|| panic!("expected {} to be served", T::API_VERSION));
        assert_eq!(info.kind, T::KIND, "kind of {}", info.plural);
        assert_eq!(info.api_version(), T::API_VERSION, "apiVersion of {}", info.plural);
        assert_eq!(info.namespaced, <T::Scope as Scope>::NAMESPACED, "scope of {}", info.plural);
        assert_eq!(lookup_kind(T::GROUP, T::VERSION, T::KIND), Some(info));
        info
    }

    #[test]
    fn every_row_agrees_with_k8s_openapi_and_nothing_else_is_served() {
        let served: HashSet<*const ResourceInfo> = [
            expect::<core::Binding>(),
            expect::<core::ComponentStatus>(),
            expect::<core::ConfigMap>(),
            expect::<core::Endpoints>(),
            expect::<core::Event>(),
            expect::<core::LimitRange>(),
            expect::<core::Namespace>(),
            expect::<core::Node>(),
            expect::<core::PersistentVolumeClaim>(),
            expect::<core::PersistentVolume>(),
            expect::<core::Pod>(),
            expect::<core::PodTemplate>(),
            expect::<core::ReplicationController>(),
            expect::<core::ResourceQuota>(),
            expect::<core::Secret>(),
            expect::<core::ServiceAccount>(),
            expect::<core::Service>(),
            expect::<apps::ControllerRevision>(),
            expect::<apps::DaemonSet>(),
            expect::<apps::Deployment>(),
            expect::<apps::ReplicaSet>(),
            expect::<apps::StatefulSet>(),
            expect::<events::Event>(),
            expect::<authentication::SelfSubjectReview>(),
            expect::<authentication::TokenReview>(),
            expect::<authorization::LocalSubjectAccessReview>(),
            expect::<authorization::SelfSubjectAccessReview>(),
            expect::<authorization::SelfSubjectRulesReview>(),
            expect::<authorization::SubjectAccessReview>(),
            expect::<autoscaling_v1::HorizontalPodAutoscaler>(),
            expect::<autoscaling_v2::HorizontalPodAutoscaler>(),
            expect::<batch::CronJob>(),
            expect::<batch::Job>(),
            expect::<certificates::CertificateSigningRequest>(),
            expect::<networking::IngressClass>(),
            expect::<networking::Ingress>(),
            expect::<networking::IPAddress>(),
            expect::<networking::NetworkPolicy>(),
            expect::<networking::ServiceCIDR>(),
            expect::<policy::PodDisruptionBudget>(),
            expect::<rbac::ClusterRoleBinding>(),
            expect::<rbac::ClusterRole>(),
            expect::<rbac::RoleBinding>(),
            expect::<rbac::Role>(),
            expect::<storage::CSIDriver>(),
            expect::<storage::CSINode>(),
            expect::<storage::CSIStorageCapacity>(),
            expect::<storage::StorageClass>(),
            expect::<storage::VolumeAttachment>(),
            expect::<admissionregistration::MutatingWebhookConfiguration>(),
            expect::<admissionregistration::ValidatingAdmissionPolicy>(),
            expect::<admissionregistration::ValidatingAdmissionPolicyBinding>(),
            expect::<admissionregistration::ValidatingWebhookConfiguration>(),
            expect::<apiextensions::CustomResourceDefinition>(),
            expect::<scheduling::PriorityClass>(),
            expect::<coordination::Lease>(),
            expect::<node::RuntimeClass>(),
            expect::<discovery::EndpointSlice>(),
        ]
        .into_iter()
        .map(|r| r as *const _)
        .collect();
        assert_eq!(served.len(), all().len(), "every row is one of the expected types");
    }

    #[test]
    fn no_duplicate_group_version_plural() {
        let mut seen = HashSet::new();
        for r in all() {
            assert!(seen.insert((r.group, r.version, r.plural)), "duplicate {}/{}", r.api_version(), r.plural);
        }
    }

    #[test]
    fn singular_is_lowercase_kind_for_every_builtin() {
        for r in all() {
            assert_eq!(r.singular, r.kind.to_ascii_lowercase(), "singular of {}", r.plural);
        }
    }

    #[test]
    fn short_names_name_one_resource_and_never_shadow_a_name() {
        let mut owner: HashMap<&str, &str> = HashMap::new();
        for r in all() {
            for &short in r.short_names {
                let plural = *owner.entry(short).or_insert(r.plural);
                assert_eq!(plural, r.plural, "short name {short} names both {plural} and {}", r.plural);
                assert!(
                    all().iter().all(|o| o.plural != short && o.singular != short),
                    "short name {short} shadows a resource name"
                );
            }
        }
    }

    #[test]
    fn subresources_are_unique_sorted_and_fully_qualified() {
        for r in all() {
            let names: Vec<_> = r.subresources.iter().map(|s| s.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names, sorted, "subresources of {} sorted and unique", r.plural);
            for s in r.subresources {
                assert!(!s.version.is_empty() && !s.kind.is_empty() && !s.verbs.is_empty());
                if s.name == "status" {
                    assert_eq!((s.group, s.version, s.kind), (r.group, r.version, r.kind));
                    assert_eq!(s.verbs, STATUS_VERBS);
                }
            }
        }
    }

    #[test]
    fn pods_serve_every_upstream_subresource() {
        let pods = lookup("", "v1", "pods").unwrap();
        let names: Vec<_> = pods.subresources.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "attach",
                "binding",
                "ephemeralcontainers",
                "eviction",
                "exec",
                "log",
                "portforward",
                "proxy",
                "resize",
                "status"
            ]
        );
        let eviction = pods.subresource("eviction").unwrap();
        assert_eq!((eviction.group, eviction.version, eviction.kind), ("policy", "v1", "Eviction"));
        assert_eq!(eviction.verbs, CREATE_VERBS);
        assert_eq!(pods.subresource("exec").unwrap().kind, "PodExecOptions");
        assert_eq!(pods.subresource("binding").unwrap().kind, "Binding");
        assert_eq!(pods.subresource("log").unwrap().verbs, ["get"]);
        assert!(pods.subresource("resize").unwrap().supports("patch"));
        assert!(pods.subresource("scale").is_none());
    }

    #[test]
    fn scalable_workloads_answer_with_autoscaling_v1_scale() {
        for (group, plural) in
            [("", "replicationcontrollers"), ("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets")]
        {
            let scale = lookup(group, "v1", plural).unwrap().subresource("scale").unwrap();
            assert_eq!((scale.group, scale.version, scale.kind), ("autoscaling", "v1", "Scale"), "{plural}/scale");
            assert_eq!(scale.verbs, STATUS_VERBS);
        }
        assert!(lookup("apps", "v1", "daemonsets").unwrap().subresource("scale").is_none());
    }

    #[test]
    fn other_quirky_subresources() {
        let token = lookup("", "v1", "serviceaccounts").unwrap().subresource("token").unwrap();
        assert_eq!((token.group, token.kind, token.verbs), ("authentication.k8s.io", "TokenRequest", CREATE_VERBS));
        let finalize = lookup("", "v1", "namespaces").unwrap().subresource("finalize").unwrap();
        assert_eq!((finalize.kind, finalize.verbs), ("Namespace", UPDATE_VERBS));
        let approval =
            lookup("certificates.k8s.io", "v1", "certificatesigningrequests").unwrap().subresource("approval").unwrap();
        assert_eq!(approval.kind, "CertificateSigningRequest");
        assert_eq!(lookup("", "v1", "nodes").unwrap().subresource("proxy").unwrap().kind, "NodeProxyOptions");
        assert_eq!(lookup("", "v1", "services").unwrap().subresource("proxy").unwrap().verbs, PROXY_VERBS);
    }

    #[test]
    fn verbs_only_resources_have_no_storage_and_stored_ones_can_be_watched() {
        for r in all() {
            assert_eq!(r.storage_segment.is_some(), r.supports("watch"), "storage of {}", r.plural);
        }
        for plural in ["bindings", "componentstatuses"] {
            assert_eq!(lookup("", "v1", plural).unwrap().storage_prefix(), None);
        }
        let review = lookup("authorization.k8s.io", "v1", "subjectaccessreviews").unwrap();
        assert_eq!(review.verbs, CREATE_VERBS);
        assert_eq!(review.storage_key(None, "x"), None);
        assert!(!lookup("", "v1", "namespaces").unwrap().supports("deletecollection"));
        assert_eq!(lookup("", "v1", "componentstatuses").unwrap().verbs, READ_VERBS);
    }

    #[test]
    fn storage_prefixes_follow_upstream_quirks() {
        let prefix = |g, v, p| lookup(g, v, p).unwrap().storage_prefix().unwrap();
        assert_eq!(prefix("", "v1", "nodes"), "/registry/minions/");
        assert_eq!(prefix("", "v1", "services"), "/registry/services/specs/");
        assert_eq!(prefix("", "v1", "endpoints"), "/registry/services/endpoints/");
        assert_eq!(prefix("", "v1", "replicationcontrollers"), "/registry/controllers/");
        assert_eq!(prefix("networking.k8s.io", "v1", "ingresses"), "/registry/ingress/");
        assert_eq!(
            prefix("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
            "/registry/apiextensions.k8s.io/customresourcedefinitions/"
        );
        assert_eq!(prefix("apps", "v1", "deployments"), "/registry/deployments/");
        assert_eq!(prefix("", "v1", "events"), prefix("events.k8s.io", "v1", "events"));
        assert_eq!(
            prefix("autoscaling", "v1", "horizontalpodautoscalers"),
            prefix("autoscaling", "v2", "horizontalpodautoscalers")
        );
    }

    #[test]
    fn storage_keys_match_upstream_etcd_paths() {
        let key = |g, v, p, ns, name| lookup(g, v, p).unwrap().storage_key(ns, name);
        assert_eq!(key("", "v1", "pods", Some("default"), "pod1").as_deref(), Some("/registry/pods/default/pod1"));
        assert_eq!(key("", "v1", "nodes", None, "node1").as_deref(), Some("/registry/minions/node1"));
        assert_eq!(key("", "v1", "namespaces", Some("ignored"), "ns1").as_deref(), Some("/registry/namespaces/ns1"));
        assert_eq!(
            key("events.k8s.io", "v1", "events", Some("ns"), "event3").as_deref(),
            Some("/registry/events/ns/event3")
        );
        assert_eq!(key("", "v1", "pods", None, "pod1"), None, "namespaced key needs a namespace");
        assert_eq!(key("", "v1", "pods", Some(""), "pod1"), None);
        for bad in ["", ".", "..", "a/b", "a%2f"] {
            assert_eq!(key("", "v1", "configmaps", Some("ns"), bad), None, "name {bad:?}");
        }
    }

    #[test]
    fn resolve_finds_kubectl_names() {
        let first = |arg: &str| {
            let r = resolve(arg).first().copied().unwrap_or_else(|| panic!("{arg} resolves"));
            format!("{}/{}", r.api_version(), r.plural)
        };
        for (arg, want) in [
            ("po", "v1/pods"),
            ("pods", "v1/pods"),
            ("pod", "v1/pods"),
            ("Pod", "v1/pods"),
            ("PODS", "v1/pods"),
            ("svc", "v1/services"),
            ("cm", "v1/configmaps"),
            ("ns", "v1/namespaces"),
            ("no", "v1/nodes"),
            ("sa", "v1/serviceaccounts"),
            ("ep", "v1/endpoints"),
            ("Endpoints", "v1/endpoints"),
            ("pv", "v1/persistentvolumes"),
            ("pvc", "v1/persistentvolumeclaims"),
            ("quota", "v1/resourcequotas"),
            ("limits", "v1/limitranges"),
            ("rc", "v1/replicationcontrollers"),
            ("cs", "v1/componentstatuses"),
            ("ev", "v1/events"),
            ("deploy", "apps/v1/deployments"),
            ("deployments.apps", "apps/v1/deployments"),
            ("deploy.apps", "apps/v1/deployments"),
            ("deployments.v1.apps", "apps/v1/deployments"),
            ("Deployment", "apps/v1/deployments"),
            ("rs", "apps/v1/replicasets"),
            ("ds", "apps/v1/daemonsets"),
            ("sts", "apps/v1/statefulsets"),
            ("hpa", "autoscaling/v2/horizontalpodautoscalers"),
            ("hpa.v1.autoscaling", "autoscaling/v1/horizontalpodautoscalers"),
            ("hpa.autoscal", "autoscaling/v2/horizontalpodautoscalers"),
            ("cj", "batch/v1/cronjobs"),
            ("jobs", "batch/v1/jobs"),
            ("csr", "certificates.k8s.io/v1/certificatesigningrequests"),
            ("crd", "apiextensions.k8s.io/v1/customresourcedefinitions"),
            ("crds", "apiextensions.k8s.io/v1/customresourcedefinitions"),
            ("netpol", "networking.k8s.io/v1/networkpolicies"),
            ("ing", "networking.k8s.io/v1/ingresses"),
            ("ingresses.networking.k8s.io", "networking.k8s.io/v1/ingresses"),
            ("ip", "networking.k8s.io/v1/ipaddresses"),
            ("pdb", "policy/v1/poddisruptionbudgets"),
            ("pc", "scheduling.k8s.io/v1/priorityclasses"),
            ("sc", "storage.k8s.io/v1/storageclasses"),
            ("events.events.k8s.io", "events.k8s.io/v1/events"),
            ("ev.events.k8s.io", "events.k8s.io/v1/events"),
            ("clusterroles.rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1/clusterroles"),
        ] {
            assert_eq!(first(arg), want, "resolve({arg})");
        }
    }

    #[test]
    fn resolve_lists_every_match_once_preferred_first() {
        let hpa: Vec<_> = resolve("hpa").iter().map(|r| r.version).collect();
        assert_eq!(hpa, ["v2", "v1"]);
        let events: Vec<_> = resolve("events").iter().map(|r| r.group).collect();
        assert_eq!(events, ["", "events.k8s.io"]);
        assert!(resolve("nope").is_empty());
        assert!(resolve("").is_empty());
        assert!(resolve("deployments.v2.apps").is_empty());
        assert!(resolve("pods.apps").is_empty());
    }

    #[test]
    fn all_category_is_what_kubectl_get_all_shows() {
        let names: Vec<_> = in_category("all").map(|r| format!("{}/{}", r.api_version(), r.plural)).collect();
        assert_eq!(
            names,
            [
                "v1/pods",
                "v1/replicationcontrollers",
                "v1/services",
                "apps/v1/daemonsets",
                "apps/v1/deployments",
                "apps/v1/replicasets",
                "apps/v1/statefulsets",
                "autoscaling/v2/horizontalpodautoscalers",
                "batch/v1/cronjobs",
                "batch/v1/jobs",
            ]
        );
        let extensions: Vec<_> = in_category("api-extensions").map(|r| r.plural).collect();
        assert_eq!(
            extensions,
            [
                "mutatingwebhookconfigurations",
                "validatingadmissionpolicies",
                "validatingadmissionpolicybindings",
                "validatingwebhookconfigurations",
                "customresourcedefinitions",
            ]
        );
    }

    #[test]
    fn groups_agree_with_the_table_and_its_order() {
        assert_eq!(groups().first().map(|g| g.name), Some("apps"));
        // Group order in the table (core first) is the order of groups().
        let mut table_order: Vec<&str> = Vec::new();
        for r in all() {
            if table_order.last() != Some(&r.group) {
                assert!(!table_order.contains(&r.group), "rows of {} are contiguous", r.group);
                table_order.push(r.group);
            }
        }
        let listed: Vec<_> = std::iter::once("").chain(groups().iter().map(|g| g.name)).collect();
        assert_eq!(table_order, listed);
        for g in groups() {
            assert_eq!(g.versions.first(), Some(&g.preferred_version), "{} preferred first", g.name);
            let table_versions: Vec<_> =
                all().iter().filter(|r| r.group == g.name).map(|r| r.version).fold(Vec::new(), |mut v, x| {
                    if v.last() != Some(&x) {
                        v.push(x);
                    }
                    v
                });
            assert_eq!(table_versions, g.versions, "versions of {}", g.name);
            for v in g.versions {
                assert!(resources_in(g.name, v).next().is_some(), "{}/{v} serves something", g.name);
            }
        }
        assert_eq!(preferred_version(""), Some("v1"));
        assert_eq!(preferred_version("autoscaling"), Some("v2"));
        assert_eq!(preferred_version("extensions"), None);
    }

    #[test]
    fn resources_within_a_version_are_alphabetical() {
        for gv in all().iter().map(ResourceInfo::group_version).collect::<HashSet<_>>() {
            let plurals: Vec<_> = resources_in(gv.group, gv.version).map(|r| r.plural).collect();
            let mut sorted = plurals.clone();
            sorted.sort_unstable();
            assert_eq!(plurals, sorted, "resources of {gv}");
        }
    }

    #[test]
    fn group_version_formats_like_api_version() {
        assert_eq!(lookup("", "v1", "pods").unwrap().api_version(), "v1");
        assert_eq!(lookup("apps", "v1", "deployments").unwrap().group_version().to_string(), "apps/v1");
        assert_eq!(GroupVersion { group: "batch", version: "v1" }.api_version(), "batch/v1");
        assert_eq!(resources_in("", "v1").count(), 17);
        assert_eq!(resources_in("authorization.k8s.io", "v1").count(), 4);
    }
}
