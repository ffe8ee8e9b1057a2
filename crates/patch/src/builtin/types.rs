//! Patch metadata of the API types that built-in kinds share, from the `patchStrategy` and
//! `patchMergeKey` struct tags of k8s.io/api v1.33.
//!
//! Only fields with a tag, or leading to one, are listed. Notably untagged (so replaced whole):
//! `tolerations`, `envFrom`, `resizePolicy`, `readinessGates`, `NodeSpec.taints`,
//! `Endpoints.subsets`, `ServiceAccount.imagePullSecrets`, `volumeClaimTemplates`,
//! `containerStatuses`.

use crate::schema::{Field, Schema};

/// `metav1.ObjectMeta`.
pub(crate) static OBJECT_META: Schema =
    Schema::new("ObjectMeta", &[Field::merge_by("ownerReferences", "uid"), Field::merge_set("finalizers")]);

/// The `metadata` field every kind has.
pub(crate) const METADATA: Field = Field::object("metadata", &OBJECT_META);

/// `core/v1.Container` and `core/v1.EphemeralContainer` (whose common fields are inlined).
pub(crate) static CONTAINER: Schema = Schema::new(
    "Container",
    &[
        Field::merge_by("ports", "containerPort"),
        Field::merge_by("env", "name"),
        Field::merge_by("volumeMounts", "mountPath"),
        Field::merge_by("volumeDevices", "devicePath"),
    ],
);

static PVC_TEMPLATE: Schema = Schema::new("PersistentVolumeClaimTemplate", &[METADATA]);

static EPHEMERAL_VOLUME_SOURCE: Schema =
    Schema::new("EphemeralVolumeSource", &[Field::object("volumeClaimTemplate", &PVC_TEMPLATE)]);

/// `core/v1.Volume`.
static VOLUME: Schema = Schema::new("Volume", &[Field::object("ephemeral", &EPHEMERAL_VOLUME_SOURCE)]);

/// `core/v1.PodSpec`.
pub(crate) static POD_SPEC: Schema = Schema::new(
    "PodSpec",
    &[
        Field::merge_by("volumes", "name").items(&VOLUME).retaining_keys(),
        Field::merge_by("initContainers", "name").items(&CONTAINER),
        Field::merge_by("containers", "name").items(&CONTAINER),
        Field::merge_by("ephemeralContainers", "name").items(&CONTAINER),
        Field::merge_by("imagePullSecrets", "name"),
        Field::merge_by("hostAliases", "ip"),
        Field::merge_by("topologySpreadConstraints", "topologyKey"),
        Field::merge_by("schedulingGates", "name"),
        Field::merge_by("resourceClaims", "name").retaining_keys(),
    ],
);

/// `core/v1.PodStatus`.
pub(crate) static POD_STATUS: Schema = Schema::new(
    "PodStatus",
    &[
        Field::merge_by("conditions", "type"),
        Field::merge_by("podIPs", "ip"),
        Field::merge_by("hostIPs", "ip"),
        Field::merge_by("resourceClaimStatuses", "name").retaining_keys(),
    ],
);

/// `core/v1.PodTemplateSpec`.
pub(crate) static POD_TEMPLATE_SPEC: Schema =
    Schema::new("PodTemplateSpec", &[METADATA, Field::object("spec", &POD_SPEC)]);

/// The `template` field of workload specs.
pub(crate) const TEMPLATE: Field = Field::object("template", &POD_TEMPLATE_SPEC);

/// Specs whose only tagged descendants are under `template`: ReplicationController, ReplicaSet,
/// StatefulSet, DaemonSet, Job.
pub(crate) static TEMPLATED_SPEC: Schema = Schema::new("TemplatedSpec", &[TEMPLATE]);

/// `apps/v1.DeploymentSpec`.
pub(crate) static DEPLOYMENT_SPEC: Schema = Schema::new("DeploymentSpec", &[TEMPLATE, Field::retain_keys("strategy")]);

/// `batch/v1.JobTemplateSpec`.
pub(crate) static JOB_TEMPLATE_SPEC: Schema =
    Schema::new("JobTemplateSpec", &[METADATA, Field::object("spec", &TEMPLATED_SPEC)]);

/// `batch/v1.CronJobSpec`.
pub(crate) static CRON_JOB_SPEC: Schema =
    Schema::new("CronJobSpec", &[Field::object("jobTemplate", &JOB_TEMPLATE_SPEC)]);

/// Status types whose only tag is `conditions` merged by `type`: ReplicationController, Service,
/// Namespace, PersistentVolumeClaim, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
/// HorizontalPodAutoscaler (autoscaling/v2), PodDisruptionBudget, APIService.
pub(crate) static CONDITIONS_STATUS: Schema = Schema::new("Status", &[Field::merge_by("conditions", "type")]);

/// The `status` field of kinds whose status only has merging `conditions`.
pub(crate) const CONDITIONS: Field = Field::object("status", &CONDITIONS_STATUS);

/// `core/v1.ServiceSpec`.
pub(crate) static SERVICE_SPEC: Schema = Schema::new("ServiceSpec", &[Field::merge_by("ports", "port")]);

/// `core/v1.NodeSpec`.
pub(crate) static NODE_SPEC: Schema = Schema::new("NodeSpec", &[Field::merge_set("podCIDRs")]);

/// `core/v1.NodeStatus`.
pub(crate) static NODE_STATUS: Schema =
    Schema::new("NodeStatus", &[Field::merge_by("conditions", "type"), Field::merge_by("addresses", "type")]);

/// `policy/v1.PodDisruptionBudgetSpec`.
pub(crate) static PDB_SPEC: Schema = Schema::new("PodDisruptionBudgetSpec", &[Field::replace("selector")]);

/// `storage/v1.CSINodeSpec`.
pub(crate) static CSI_NODE_SPEC: Schema = Schema::new("CSINodeSpec", &[Field::merge_by("drivers", "name")]);

/// `admissionregistration/v1.ValidatingWebhook` and `MutatingWebhook`.
static WEBHOOK: Schema = Schema::new("Webhook", &[Field::merge_by("matchConditions", "name")]);

/// The `webhooks` field of the webhook configuration kinds.
pub(crate) const WEBHOOKS: Field = Field::merge_by("webhooks", "name").items(&WEBHOOK);

/// `admissionregistration/v1.ValidatingAdmissionPolicySpec`.
pub(crate) static ADMISSION_POLICY_SPEC: Schema = Schema::new(
    "ValidatingAdmissionPolicySpec",
    &[Field::merge_by("matchConditions", "name"), Field::merge_by("variables", "name")],
);

/// `resource/v1beta1.ResourceClaimStatus`.
pub(crate) static RESOURCE_CLAIM_STATUS: Schema =
    Schema::new("ResourceClaimStatus", &[Field::merge_by("reservedFor", "uid")]);

/// `resource/v1beta1.ResourceClaimTemplateSpec`.
pub(crate) static RESOURCE_CLAIM_TEMPLATE_SPEC: Schema = Schema::new("ResourceClaimTemplateSpec", &[METADATA]);
