//! Patch schemas of the built-in kinds, looked up by API group and kind.

mod types;

use types::{
    ADMISSION_POLICY_SPEC, CONDITIONS, CRON_JOB_SPEC, CSI_NODE_SPEC, DEPLOYMENT_SPEC, METADATA, NODE_SPEC, NODE_STATUS,
    PDB_SPEC, POD_SPEC, POD_STATUS, POD_TEMPLATE_SPEC, RESOURCE_CLAIM_STATUS, RESOURCE_CLAIM_TEMPLATE_SPEC,
    SERVICE_SPEC, TEMPLATED_SPEC, WEBHOOKS,
};

use crate::schema::{Field, Schema};

/// Kinds whose only merging fields are in `metadata` (`ownerReferences`, `finalizers`).
static METADATA_ONLY: Schema = Schema::new("ObjectMetaOnly", &[METADATA]);

static POD: Schema =
    Schema::new("Pod", &[METADATA, Field::object("spec", &POD_SPEC), Field::object("status", &POD_STATUS)]);
static POD_TEMPLATE: Schema = Schema::new("PodTemplate", &[METADATA, Field::object("template", &POD_TEMPLATE_SPEC)]);
/// ReplicationController, ReplicaSet, StatefulSet, DaemonSet, Job.
static TEMPLATED_WORKLOAD: Schema =
    Schema::new("TemplatedWorkload", &[METADATA, Field::object("spec", &TEMPLATED_SPEC), CONDITIONS]);
static DEPLOYMENT: Schema = Schema::new("Deployment", &[METADATA, Field::object("spec", &DEPLOYMENT_SPEC), CONDITIONS]);
static CRON_JOB: Schema = Schema::new("CronJob", &[METADATA, Field::object("spec", &CRON_JOB_SPEC)]);
static SERVICE: Schema = Schema::new("Service", &[METADATA, Field::object("spec", &SERVICE_SPEC), CONDITIONS]);
static NODE: Schema =
    Schema::new("Node", &[METADATA, Field::object("spec", &NODE_SPEC), Field::object("status", &NODE_STATUS)]);
/// Namespace, PersistentVolumeClaim, HorizontalPodAutoscaler, APIService.
static WITH_STATUS_CONDITIONS: Schema = Schema::new("WithStatusConditions", &[METADATA, CONDITIONS]);
static COMPONENT_STATUS: Schema = Schema::new("ComponentStatus", &[METADATA, Field::merge_by("conditions", "type")]);
static SERVICE_ACCOUNT: Schema = Schema::new("ServiceAccount", &[METADATA, Field::merge_by("secrets", "name")]);
static POD_DISRUPTION_BUDGET: Schema =
    Schema::new("PodDisruptionBudget", &[METADATA, Field::object("spec", &PDB_SPEC), CONDITIONS]);
static CSI_NODE: Schema = Schema::new("CSINode", &[METADATA, Field::object("spec", &CSI_NODE_SPEC)]);
static WEBHOOK_CONFIGURATION: Schema = Schema::new("WebhookConfiguration", &[METADATA, WEBHOOKS]);
static ADMISSION_POLICY: Schema =
    Schema::new("ValidatingAdmissionPolicy", &[METADATA, Field::object("spec", &ADMISSION_POLICY_SPEC)]);
static RESOURCE_CLAIM: Schema =
    Schema::new("ResourceClaim", &[METADATA, Field::object("status", &RESOURCE_CLAIM_STATUS)]);
static RESOURCE_CLAIM_TEMPLATE: Schema =
    Schema::new("ResourceClaimTemplate", &[METADATA, Field::object("spec", &RESOURCE_CLAIM_TEMPLATE_SPEC)]);

/// The patch schema of a built-in kind, or `None` for a custom resource (which upstream does not
/// accept strategic merge patches for). `group` is `""` (or `"core"`) for the core group; the
/// version does not matter, as no built-in kind changes its patch tags between versions.
pub fn schema_for(group: &str, kind: &str) -> Option<&'static Schema> {
    let schema: &'static Schema = match (group, kind) {
        ("" | "core", kind) => match kind {
            "Pod" => &POD,
            "PodTemplate" => &POD_TEMPLATE,
            "ReplicationController" => &TEMPLATED_WORKLOAD,
            "Service" => &SERVICE,
            "Node" => &NODE,
            "Namespace" | "PersistentVolumeClaim" => &WITH_STATUS_CONDITIONS,
            "ServiceAccount" => &SERVICE_ACCOUNT,
            "ComponentStatus" => &COMPONENT_STATUS,
            "ConfigMap" | "Secret" | "Endpoints" | "Event" | "LimitRange" | "ResourceQuota" | "PersistentVolume"
            | "Binding" => &METADATA_ONLY,
            _ => return None,
        },
        ("apps", "Deployment") => &DEPLOYMENT,
        ("apps", "ReplicaSet" | "StatefulSet" | "DaemonSet") | ("batch", "Job") => &TEMPLATED_WORKLOAD,
        ("apps", "ControllerRevision") => &METADATA_ONLY,
        ("batch", "CronJob") => &CRON_JOB,
        ("autoscaling", "HorizontalPodAutoscaler") | ("apiregistration.k8s.io", "APIService") => {
            &WITH_STATUS_CONDITIONS
        }
        ("autoscaling", "Scale") | ("policy", "Eviction") => &METADATA_ONLY,
        ("policy", "PodDisruptionBudget") => &POD_DISRUPTION_BUDGET,
        ("storage.k8s.io", "CSINode") => &CSI_NODE,
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration") => {
            &WEBHOOK_CONFIGURATION
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => &ADMISSION_POLICY,
        ("resource.k8s.io", "ResourceClaim") => &RESOURCE_CLAIM,
        ("resource.k8s.io", "ResourceClaimTemplate") => &RESOURCE_CLAIM_TEMPLATE,
        ("networking.k8s.io", "Ingress" | "IngressClass" | "NetworkPolicy" | "IPAddress" | "ServiceCIDR")
        | ("rbac.authorization.k8s.io", "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding")
        | ("coordination.k8s.io", "Lease" | "LeaseCandidate")
        | ("discovery.k8s.io", "EndpointSlice")
        | (
            "storage.k8s.io",
            "StorageClass" | "VolumeAttachment" | "CSIDriver" | "CSIStorageCapacity" | "VolumeAttributesClass",
        )
        | ("scheduling.k8s.io", "PriorityClass")
        | ("node.k8s.io", "RuntimeClass")
        | ("apiextensions.k8s.io", "CustomResourceDefinition")
        | (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicyBinding" | "MutatingAdmissionPolicy" | "MutatingAdmissionPolicyBinding",
        )
        | ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle")
        | ("events.k8s.io", "Event")
        | ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration")
        | ("resource.k8s.io", "DeviceClass" | "ResourceSlice")
        | ("internal.apiserver.k8s.io", "StorageVersion")
        | ("storagemigration.k8s.io", "StorageVersionMigration") => &METADATA_ONLY,
        _ => return None,
    };
    Some(schema)
}
