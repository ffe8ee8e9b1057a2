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

/// True when `r` is a row of this built-in table (not a resource the
/// apiserver added at run time, such as a custom resource).
pub fn is_builtin(r: &ResourceInfo) -> bool {
    RESOURCES.as_ptr_range().contains(&std::ptr::from_ref(r)) || lookup(r.group, r.version, r.plural).is_some()
}

/// The resource served at `group`/`version` under `plural`.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The built-in core (`v1`) resource `plural`; panics when there is none,
/// which is a programming error, never bad input.
pub fn core(plural: &str) -> &'static ResourceInfo {
    lookup("", "v1", plural).unwrap_or_else(|| panic!("{plural} is not a built-in core resource"))
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
mod tests;
