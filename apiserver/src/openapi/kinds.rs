//! The typed schema behind every kind the apiserver serves: which k8s-openapi type answers a
//! (group, version, kind), so its `JsonSchema` impl can be added to a document.

use std::borrow::Cow;

use k8s_openapi::Resource;
use k8s_openapi::api::{
    admissionregistration::v1 as admissionregistration, apps::v1 as apps, authentication::v1 as authentication,
    authorization::v1 as authorization, autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling_v2,
    batch::v1 as batch, certificates::v1 as certificates, coordination::v1 as coordination, core::v1 as core,
    discovery::v1 as discovery, events::v1 as events, networking::v1 as networking, node::v1 as node,
    policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A kind and the type whose schema describes it.
#[derive(Clone, Copy, Debug)]
pub(super) struct TypedKind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Adds the type (and every type it reaches) to the generator's definitions.
    pub add: fn(&mut SchemaGenerator) -> Schema,
    /// The upstream definition name, such as `io.k8s.api.core.v1.Pod`.
    pub definition: fn() -> Cow<'static, str>,
}

const fn typed<T: Resource + JsonSchema>() -> TypedKind {
    TypedKind {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        add: SchemaGenerator::subschema_for::<T>,
        definition: T::schema_name,
    }
}

/// The type of `group`/`version`/`kind`, or `None` for a kind no k8s-openapi type models (the
/// options of connect subresources such as `PodExecOptions`).
pub(super) fn lookup(group: &str, version: &str, kind: &str) -> Option<&'static TypedKind> {
    KINDS.iter().find(|k| k.group == group && k.version == version && k.kind == kind)
}

/// Every kind of the registry, and the kinds its subresources answer with.
pub(super) static KINDS: &[TypedKind] = &[
    typed::<core::Binding>(),
    typed::<core::ComponentStatus>(),
    typed::<core::ConfigMap>(),
    typed::<core::Endpoints>(),
    typed::<core::Event>(),
    typed::<core::LimitRange>(),
    typed::<core::Namespace>(),
    typed::<core::Node>(),
    typed::<core::PersistentVolumeClaim>(),
    typed::<core::PersistentVolume>(),
    typed::<core::Pod>(),
    typed::<core::PodTemplate>(),
    typed::<core::ReplicationController>(),
    typed::<core::ResourceQuota>(),
    typed::<core::Secret>(),
    typed::<core::ServiceAccount>(),
    typed::<core::Service>(),
    typed::<apps::ControllerRevision>(),
    typed::<apps::DaemonSet>(),
    typed::<apps::Deployment>(),
    typed::<apps::ReplicaSet>(),
    typed::<apps::StatefulSet>(),
    typed::<events::Event>(),
    typed::<authentication::SelfSubjectReview>(),
    typed::<authentication::TokenReview>(),
    typed::<authentication::TokenRequest>(),
    typed::<authorization::LocalSubjectAccessReview>(),
    typed::<authorization::SelfSubjectAccessReview>(),
    typed::<authorization::SelfSubjectRulesReview>(),
    typed::<authorization::SubjectAccessReview>(),
    typed::<autoscaling_v2::HorizontalPodAutoscaler>(),
    typed::<autoscaling_v1::HorizontalPodAutoscaler>(),
    typed::<autoscaling_v1::Scale>(),
    typed::<batch::CronJob>(),
    typed::<batch::Job>(),
    typed::<certificates::CertificateSigningRequest>(),
    typed::<networking::IngressClass>(),
    typed::<networking::Ingress>(),
    typed::<networking::IPAddress>(),
    typed::<networking::NetworkPolicy>(),
    typed::<networking::ServiceCIDR>(),
    typed::<policy::PodDisruptionBudget>(),
    typed::<policy::Eviction>(),
    typed::<rbac::ClusterRoleBinding>(),
    typed::<rbac::ClusterRole>(),
    typed::<rbac::RoleBinding>(),
    typed::<rbac::Role>(),
    typed::<storage::CSIDriver>(),
    typed::<storage::CSINode>(),
    typed::<storage::CSIStorageCapacity>(),
    typed::<storage::StorageClass>(),
    typed::<storage::VolumeAttachment>(),
    typed::<admissionregistration::MutatingWebhookConfiguration>(),
    typed::<admissionregistration::ValidatingAdmissionPolicy>(),
    typed::<admissionregistration::ValidatingAdmissionPolicyBinding>(),
    typed::<admissionregistration::ValidatingWebhookConfiguration>(),
    typed::<apiextensions::CustomResourceDefinition>(),
    typed::<scheduling::PriorityClass>(),
    typed::<coordination::Lease>(),
    typed::<node::RuntimeClass>(),
    typed::<discovery::EndpointSlice>(),
];

/// A meta type every group-version document carries (request and response bodies shared by all
/// resources).
#[derive(Clone, Copy, Debug)]
pub(super) struct MetaType {
    pub add: fn(&mut SchemaGenerator) -> Schema,
    pub definition: fn() -> Cow<'static, str>,
    /// Which group-versions upstream tags the definition with.
    pub tagged: MetaTag,
}

/// How a [`MetaType`]'s `x-kubernetes-group-version-kind` is filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MetaTag {
    /// Not tagged (`Patch`).
    None,
    /// Tagged as kind `K` of the core group only (`Status`, `APIResourceList`).
    Core(&'static str),
    /// Tagged as kind `K` of every served group-version (`DeleteOptions`, `WatchEvent`).
    EveryGroupVersion(&'static str),
}

const fn meta_type<T: JsonSchema>(tagged: MetaTag) -> MetaType {
    MetaType { add: SchemaGenerator::subschema_for::<T>, definition: T::schema_name, tagged }
}

pub(super) static META_TYPES: &[MetaType] = &[
    meta_type::<meta::APIResourceList>(MetaTag::Core("APIResourceList")),
    meta_type::<meta::DeleteOptions>(MetaTag::EveryGroupVersion("DeleteOptions")),
    meta_type::<meta::Patch>(MetaTag::None),
    meta_type::<meta::Status>(MetaTag::Core("Status")),
    meta_type::<meta::WatchEvent<core::Pod>>(MetaTag::EveryGroupVersion("WatchEvent")),
];
