//! Upstream's Go markers that kube-openapi turns into vendor extensions and k8s-openapi's
//! schemas do not carry: `patchStrategy`/`patchMergeKey` (what kubectl's client-side apply
//! reads to build a strategic merge patch) and `listType`/`listMapKey`/`mapType`/`structType`
//! (what server-side apply clients read).
//!
//! [`MARKERS`] is generated, not written by hand: it is every such marker in the doc comments
//! the k8s-pb 0.8.0 crate keeps from k8s.io/api v1.33's `generated.proto` (`/// +patchStrategy=merge`
//! above each field), matched to the properties of the definitions this module builds (a Rust
//! field `host_ipc` is the property whose name, lowercased, is `hostipc`). A Go-embedded
//! struct's markers are listed under the type that embeds it (`EphemeralContainer` gets
//! `EphemeralContainerCommon`'s), as its fields are inlined there in JSON. To regenerate for a
//! new Kubernetes version, redo that match against the matching k8s-pb release; the
//! `every_marker_names_an_existing_property` test catches entries that no longer fit.

use serde_json::Value;

/// The vendor extensions kube-openapi derives from `markers`, a property's (or type's) marker
/// list as written in the Go source: `patchStrategy=merge patchMergeKey=name listType=map`.
pub(super) fn extensions(markers: &str) -> Vec<(&'static str, Value)> {
    let mut extensions = Vec::new();
    let mut map_keys = Vec::new();
    for marker in markers.split_whitespace() {
        let Some((name, value)) = marker.split_once('=') else { continue };
        let extension = match name {
            "patchStrategy" => "x-kubernetes-patch-strategy",
            "patchMergeKey" => "x-kubernetes-patch-merge-key",
            "listType" => "x-kubernetes-list-type",
            "mapType" | "structType" => "x-kubernetes-map-type",
            "listMapKey" => {
                map_keys.push(Value::from(value));
                continue;
            }
            _ => continue,
        };
        extensions.push((extension, Value::from(value)));
    }
    if !map_keys.is_empty() {
        extensions.push(("x-kubernetes-list-map-keys", Value::Array(map_keys)));
    }
    extensions
}

/// Markers by definition, then by property; the property `""` holds the type's own markers.
pub(super) type DefinitionMarkers = (&'static str, &'static [(&'static str, &'static str)]);

#[rustfmt::skip]
pub(super) static MARKERS: &[DefinitionMarkers] = &[
    ("io.k8s.api.admissionregistration.v1.MatchResources", &[
        ("", "structType=atomic"),
        ("excludeResourceRules", "listType=atomic"),
        ("resourceRules", "listType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.MutatingWebhook", &[
        ("admissionReviewVersions", "listType=atomic"),
        ("matchConditions", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("rules", "listType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration", &[
        ("webhooks", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", &[
        ("", "structType=atomic"),
        ("apiGroups", "listType=atomic"),
        ("apiVersions", "listType=atomic"),
        ("operations", "listType=atomic"),
        ("resourceNames", "listType=atomic"),
        ("resources", "listType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.ParamKind", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.ParamRef", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.RuleWithOperations", &[
        ("apiGroups", "listType=atomic"),
        ("apiVersions", "listType=atomic"),
        ("operations", "listType=atomic"),
        ("resources", "listType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.TypeChecking", &[
        ("expressionWarnings", "listType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec", &[
        ("validationActions", "listType=set"),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicySpec", &[
        ("auditAnnotations", "listType=atomic"),
        ("matchConditions", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("validations", "listType=atomic"),
        ("variables", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingWebhook", &[
        ("admissionReviewVersions", "listType=atomic"),
        ("matchConditions", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("rules", "listType=atomic"),
    ]),
    ("io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", &[
        ("webhooks", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.admissionregistration.v1.Variable", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.apps.v1.DaemonSetStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.apps.v1.DeploymentSpec", &[
        ("strategy", "patchStrategy=retainKeys"),
    ]),
    ("io.k8s.api.apps.v1.DeploymentStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.apps.v1.ReplicaSetStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.apps.v1.StatefulSetSpec", &[
        ("volumeClaimTemplates", "listType=atomic"),
    ]),
    ("io.k8s.api.apps.v1.StatefulSetStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.authentication.v1.TokenRequestSpec", &[
        ("audiences", "listType=atomic"),
    ]),
    ("io.k8s.api.authentication.v1.TokenReviewSpec", &[
        ("audiences", "listType=atomic"),
    ]),
    ("io.k8s.api.authentication.v1.TokenReviewStatus", &[
        ("audiences", "listType=atomic"),
    ]),
    ("io.k8s.api.authentication.v1.UserInfo", &[
        ("groups", "listType=atomic"),
    ]),
    ("io.k8s.api.authorization.v1.NonResourceRule", &[
        ("nonResourceURLs", "listType=atomic"),
        ("verbs", "listType=atomic"),
    ]),
    ("io.k8s.api.authorization.v1.ResourceRule", &[
        ("apiGroups", "listType=atomic"),
        ("resourceNames", "listType=atomic"),
        ("resources", "listType=atomic"),
        ("verbs", "listType=atomic"),
    ]),
    ("io.k8s.api.authorization.v1.SubjectAccessReviewSpec", &[
        ("groups", "listType=atomic"),
    ]),
    ("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", &[
        ("nonResourceRules", "listType=atomic"),
        ("resourceRules", "listType=atomic"),
    ]),
    ("io.k8s.api.autoscaling.v1.CrossVersionObjectReference", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.autoscaling.v2.HPAScalingRules", &[
        ("policies", "listType=atomic"),
    ]),
    ("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", &[
        ("metrics", "listType=atomic"),
    ]),
    ("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
        ("currentMetrics", "listType=atomic"),
    ]),
    ("io.k8s.api.batch.v1.CronJobStatus", &[
        ("active", "listType=atomic"),
    ]),
    ("io.k8s.api.batch.v1.JobStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=atomic"),
    ]),
    ("io.k8s.api.batch.v1.PodFailurePolicy", &[
        ("rules", "listType=atomic"),
    ]),
    ("io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement", &[
        ("values", "listType=set"),
    ]),
    ("io.k8s.api.batch.v1.PodFailurePolicyRule", &[
        ("onPodConditions", "listType=atomic"),
    ]),
    ("io.k8s.api.batch.v1.SuccessPolicy", &[
        ("rules", "listType=atomic"),
    ]),
    ("io.k8s.api.batch.v1.UncountedTerminatedPods", &[
        ("failed", "listType=set"),
        ("succeeded", "listType=set"),
    ]),
    ("io.k8s.api.certificates.v1.CertificateSigningRequestSpec", &[
        ("groups", "listType=atomic"),
        ("request", "listType=atomic"),
        ("usages", "listType=atomic"),
    ]),
    ("io.k8s.api.certificates.v1.CertificateSigningRequestStatus", &[
        ("certificate", "listType=atomic"),
        ("conditions", "listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.core.v1.Capabilities", &[
        ("add", "listType=atomic"),
        ("drop", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.CephFSPersistentVolumeSource", &[
        ("monitors", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.CephFSVolumeSource", &[
        ("monitors", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ComponentStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.core.v1.ConfigMapKeySelector", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ConfigMapProjection", &[
        ("items", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ConfigMapVolumeSource", &[
        ("items", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.Container", &[
        ("args", "listType=atomic"),
        ("command", "listType=atomic"),
        ("env", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("envFrom", "listType=atomic"),
        ("ports", "patchMergeKey=containerPort patchStrategy=merge \
            listType=map listMapKey=containerPort listMapKey=protocol"),
        ("resizePolicy", "listType=atomic"),
        ("volumeDevices", "patchMergeKey=devicePath patchStrategy=merge listType=map listMapKey=devicePath"),
        ("volumeMounts", "patchMergeKey=mountPath patchStrategy=merge listType=map listMapKey=mountPath"),
    ]),
    ("io.k8s.api.core.v1.ContainerImage", &[
        ("names", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ContainerStatus", &[
        ("allocatedResourcesStatus", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("volumeMounts", "patchMergeKey=mountPath patchStrategy=merge listType=map listMapKey=mountPath"),
    ]),
    ("io.k8s.api.core.v1.DownwardAPIProjection", &[
        ("items", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.DownwardAPIVolumeSource", &[
        ("items", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.EndpointAddress", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.EndpointPort", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.EndpointSubset", &[
        ("addresses", "listType=atomic"),
        ("notReadyAddresses", "listType=atomic"),
        ("ports", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.Endpoints", &[
        ("subsets", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.EphemeralContainer", &[
        ("args", "listType=atomic"),
        ("command", "listType=atomic"),
        ("env", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("envFrom", "listType=atomic"),
        ("ports", "patchMergeKey=containerPort patchStrategy=merge \
            listType=map listMapKey=containerPort listMapKey=protocol"),
        ("resizePolicy", "listType=atomic"),
        ("volumeDevices", "patchMergeKey=devicePath patchStrategy=merge listType=map listMapKey=devicePath"),
        ("volumeMounts", "patchMergeKey=mountPath patchStrategy=merge listType=map listMapKey=mountPath"),
    ]),
    ("io.k8s.api.core.v1.ExecAction", &[
        ("command", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.FCVolumeSource", &[
        ("targetWWNs", "listType=atomic"),
        ("wwids", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.HTTPGetAction", &[
        ("httpHeaders", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.HostAlias", &[
        ("hostnames", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ISCSIPersistentVolumeSource", &[
        ("portals", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ISCSIVolumeSource", &[
        ("portals", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.LimitRangeSpec", &[
        ("limits", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.LinuxContainerUser", &[
        ("supplementalGroups", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.LoadBalancerIngress", &[
        ("ports", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.LoadBalancerStatus", &[
        ("ingress", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.LocalObjectReference", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.NamespaceSpec", &[
        ("finalizers", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.NamespaceStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.core.v1.NodeSelector", &[
        ("", "structType=atomic"),
        ("nodeSelectorTerms", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.NodeSelectorRequirement", &[
        ("values", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.NodeSelectorTerm", &[
        ("", "structType=atomic"),
        ("matchExpressions", "listType=atomic"),
        ("matchFields", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.NodeSpec", &[
        ("podCIDRs", "patchStrategy=merge listType=set"),
        ("taints", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.NodeStatus", &[
        ("addresses", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
        ("images", "listType=atomic"),
        ("runtimeHandlers", "listType=atomic"),
        ("volumesAttached", "listType=atomic"),
        ("volumesInUse", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ObjectFieldSelector", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ObjectReference", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PersistentVolumeClaimSpec", &[
        ("accessModes", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PersistentVolumeClaimStatus", &[
        ("accessModes", "listType=atomic"),
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.core.v1.PersistentVolumeSpec", &[
        ("accessModes", "listType=atomic"),
        ("claimRef", "structType=granular"),
        ("mountOptions", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PodAffinity", &[
        ("requiredDuringSchedulingIgnoredDuringExecution", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PodAffinityTerm", &[
        ("matchLabelKeys", "listType=atomic"),
        ("mismatchLabelKeys", "listType=atomic"),
        ("namespaces", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PodAntiAffinity", &[
        ("requiredDuringSchedulingIgnoredDuringExecution", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PodDNSConfig", &[
        ("nameservers", "listType=atomic"),
        ("options", "listType=atomic"),
        ("searches", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PodSecurityContext", &[
        ("supplementalGroups", "listType=atomic"),
        ("sysctls", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.PodSpec", &[
        ("containers", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("ephemeralContainers", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("hostAliases", "patchMergeKey=ip patchStrategy=merge listType=map listMapKey=ip"),
        ("imagePullSecrets", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("initContainers", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("readinessGates", "listType=atomic"),
        ("resourceClaims", "patchMergeKey=name patchStrategy=merge,retainKeys listType=map listMapKey=name"),
        ("schedulingGates", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
        ("tolerations", "listType=atomic"),
        ("topologySpreadConstraints", "patchMergeKey=topologyKey patchStrategy=merge \
            listType=map listMapKey=topologyKey listMapKey=whenUnsatisfiable"),
        ("volumes", "patchMergeKey=name patchStrategy=merge,retainKeys listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.core.v1.PodStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
        ("containerStatuses", "listType=atomic"),
        ("ephemeralContainerStatuses", "listType=atomic"),
        ("hostIPs", "patchStrategy=merge patchMergeKey=ip listType=atomic"),
        ("initContainerStatuses", "listType=atomic"),
        ("podIPs", "patchStrategy=merge patchMergeKey=ip listType=map listMapKey=ip"),
        ("resourceClaimStatuses", "patchMergeKey=name patchStrategy=merge,retainKeys listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.core.v1.ProjectedVolumeSource", &[
        ("sources", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.RBDPersistentVolumeSource", &[
        ("monitors", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.RBDVolumeSource", &[
        ("monitors", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ReplicationControllerStatus", &[
        ("conditions", "patchMergeKey=type patchStrategy=merge listType=map listMapKey=type"),
    ]),
    ("io.k8s.api.core.v1.ResourceFieldSelector", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ResourceQuotaSpec", &[
        ("scopes", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ResourceRequirements", &[
        ("claims", "listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.core.v1.ResourceStatus", &[
        ("resources", "listType=map listMapKey=resourceID"),
    ]),
    ("io.k8s.api.core.v1.ScopeSelector", &[
        ("", "structType=atomic"),
        ("matchExpressions", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ScopedResourceSelectorRequirement", &[
        ("values", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.SecretKeySelector", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.SecretProjection", &[
        ("items", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.SecretReference", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.core.v1.SecretVolumeSource", &[
        ("items", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.ServiceAccount", &[
        ("imagePullSecrets", "listType=atomic"),
        ("secrets", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.core.v1.ServiceSpec", &[
        ("clusterIPs", "listType=atomic"),
        ("externalIPs", "listType=atomic"),
        ("ipFamilies", "listType=atomic"),
        ("loadBalancerSourceRanges", "listType=atomic"),
        ("ports", "patchMergeKey=port patchStrategy=merge listType=map listMapKey=port listMapKey=protocol"),
    ]),
    ("io.k8s.api.core.v1.TopologySelectorLabelRequirement", &[
        ("values", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.TopologySelectorTerm", &[
        ("", "structType=atomic"),
        ("matchLabelExpressions", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.TopologySpreadConstraint", &[
        ("matchLabelKeys", "listType=atomic"),
    ]),
    ("io.k8s.api.core.v1.TypedLocalObjectReference", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.discovery.v1.Endpoint", &[
        ("addresses", "listType=set"),
    ]),
    ("io.k8s.api.discovery.v1.EndpointHints", &[
        ("forNodes", "listType=atomic"),
        ("forZones", "listType=atomic"),
    ]),
    ("io.k8s.api.discovery.v1.EndpointPort", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.discovery.v1.EndpointSlice", &[
        ("endpoints", "listType=atomic"),
        ("ports", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.HTTPIngressRuleValue", &[
        ("paths", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.IPBlock", &[
        ("except", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.IngressLoadBalancerIngress", &[
        ("ports", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.IngressLoadBalancerStatus", &[
        ("ingress", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.IngressSpec", &[
        ("rules", "listType=atomic"),
        ("tls", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.IngressTLS", &[
        ("hosts", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.NetworkPolicyEgressRule", &[
        ("ports", "listType=atomic"),
        ("to", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.NetworkPolicyIngressRule", &[
        ("from", "listType=atomic"),
        ("ports", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.NetworkPolicySpec", &[
        ("egress", "listType=atomic"),
        ("ingress", "listType=atomic"),
        ("policyTypes", "listType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.ServiceBackendPort", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.networking.v1.ServiceCIDRSpec", &[
        ("cidrs", "listType=atomic"),
    ]),
    ("io.k8s.api.node.v1.Scheduling", &[
        ("tolerations", "listType=atomic"),
    ]),
    ("io.k8s.api.rbac.v1.ClusterRole", &[
        ("rules", "listType=atomic"),
    ]),
    ("io.k8s.api.rbac.v1.ClusterRoleBinding", &[
        ("subjects", "listType=atomic"),
    ]),
    ("io.k8s.api.rbac.v1.PolicyRule", &[
        ("apiGroups", "listType=atomic"),
        ("nonResourceURLs", "listType=atomic"),
        ("resourceNames", "listType=atomic"),
        ("resources", "listType=atomic"),
        ("verbs", "listType=atomic"),
    ]),
    ("io.k8s.api.rbac.v1.Role", &[
        ("rules", "listType=atomic"),
    ]),
    ("io.k8s.api.rbac.v1.RoleBinding", &[
        ("subjects", "listType=atomic"),
    ]),
    ("io.k8s.api.rbac.v1.RoleRef", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.rbac.v1.Subject", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.api.storage.v1.CSIDriverSpec", &[
        ("tokenRequests", "listType=atomic"),
        ("volumeLifecycleModes", "listType=set"),
    ]),
    ("io.k8s.api.storage.v1.CSINodeDriver", &[
        ("topologyKeys", "listType=atomic"),
    ]),
    ("io.k8s.api.storage.v1.CSINodeSpec", &[
        ("drivers", "patchMergeKey=name patchStrategy=merge listType=map listMapKey=name"),
    ]),
    ("io.k8s.api.storage.v1.StorageClass", &[
        ("allowedTopologies", "listType=atomic"),
        ("mountOptions", "listType=atomic"),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames", &[
        ("categories", "listType=atomic"),
        ("shortNames", "listType=atomic"),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec", &[
        ("versions", "listType=atomic"),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus", &[
        ("conditions", "listType=map listMapKey=type"),
        ("storedVersions", "listType=atomic"),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion", &[
        ("additionalPrinterColumns", "listType=atomic"),
        ("selectableFields", "listType=atomic"),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", &[
        ("allOf", "listType=atomic"),
        ("anyOf", "listType=atomic"),
        ("enum", "listType=atomic"),
        ("oneOf", "listType=atomic"),
        ("required", "listType=atomic"),
        ("x-kubernetes-list-map-keys", "listType=atomic"),
        ("x-kubernetes-validations", "patchMergeKey=rule patchStrategy=merge listType=map listMapKey=rule"),
    ]),
    ("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion", &[
        ("conversionReviewVersions", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", &[
        ("categories", "listType=atomic"),
        ("shortNames", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", &[
        ("resources", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", &[
        ("dryRun", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement", &[
        ("values", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", &[
        ("", "structType=atomic"),
        ("matchExpressions", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", &[
        ("values", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", &[
        ("finalizers", "patchStrategy=merge listType=set"),
        ("managedFields", "listType=atomic"),
        ("ownerReferences", "patchMergeKey=uid patchStrategy=merge listType=map listMapKey=uid"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", &[
        ("", "structType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", &[
        ("details", "listType=atomic"),
    ]),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", &[
        ("causes", "listType=atomic"),
    ]),
];
