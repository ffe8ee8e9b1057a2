//! Defaulting of built-in kinds as kube-apiserver applies it when it decodes a request body.
//!
//! Follows upstream's `pkg/apis/<group>/<version>/defaults.go` and the generated
//! `zz_generated.defaults.go` (which decides *where* each `SetDefaults_*` runs) for
//! Kubernetes 1.33 with its default feature gates. Defaults work on the JSON the
//! apiserver stores, so fields this crate does not model survive untouched.
//!
//! Go semantics are kept: a string field is unset when absent, `null` or `""`, an
//! integer value field when absent, `null` or `0`, a pointer field when absent or
//! `null`. Go value structs (`pod.spec`, `deployment.spec.strategy`, …) always exist
//! upstream, so their defaults are applied even when the JSON leaves them out; pointer
//! structs (`securityContext`, probes, `rc.spec.template`, …) only when present. A
//! value of the wrong JSON type is left alone: defaulting never fails and never
//! panics, decoding reports the type error.
//!
//! [`apply_defaults`] runs on every decode (create and update). Strategy steps that
//! upstream performs only on create (`PrepareForCreate`) and that validation relies
//! on are in [`prepare_for_create`].

use serde_json::{Map, Value, json};

mod admission;
mod apps;
mod autoscaling;
mod batch;
mod core;
mod networking;
mod pod;
mod rbac;
mod storage;

#[cfg(test)]
mod tests;

/// A JSON object.
pub(crate) type Object = Map<String, Value>;

/// Applies the defaults of `group`/`kind` (core group `""`) to `obj` in place.
///
/// Unknown kinds, and objects that are not JSON objects, are left untouched. The
/// version is read from `obj["apiVersion"]` where a group's versions default
/// differently (`autoscaling/v1` and `autoscaling/v2`).
pub fn apply_defaults(group: &str, kind: &str, obj: &mut Value) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("", "Pod") => pod::default_pod(o),
        ("", "PodTemplate") => {
            if let Some(template) = ensure_object(o, "template") {
                pod::default_pod_template_spec(template);
            }
        }
        ("", "ReplicationController") => core::default_replication_controller(o),
        ("", "Service") => core::default_service(o),
        ("", "Namespace") => core::default_namespace(o),
        ("", "Secret") => core::default_secret(o),
        ("", "PersistentVolume") => core::default_persistent_volume(o),
        ("", "PersistentVolumeClaim") => core::default_persistent_volume_claim(o),
        ("", "Endpoints") => core::default_endpoints(o),
        ("", "Node") => core::default_node(o),
        ("", "LimitRange") => core::default_limit_range(o),
        ("", "ResourceQuota") => core::default_resource_quota(o),
        ("apps", "Deployment") => apps::default_deployment(o),
        ("apps", "ReplicaSet") => apps::default_replica_set(o),
        ("apps", "DaemonSet") => apps::default_daemon_set(o),
        ("apps", "StatefulSet") => apps::default_stateful_set(o),
        ("batch", "Job") => batch::default_job(o),
        ("batch", "CronJob") => batch::default_cron_job(o),
        ("networking.k8s.io", "NetworkPolicy") => networking::default_network_policy(o),
        ("networking.k8s.io", "IngressClass") => networking::default_ingress_class(o),
        ("discovery.k8s.io", "EndpointSlice") => networking::default_endpoint_slice(o),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => rbac::default_binding(o),
        ("storage.k8s.io", "StorageClass") => storage::default_storage_class(o),
        ("storage.k8s.io", "CSIDriver") => storage::default_csi_driver(o),
        ("scheduling.k8s.io", "PriorityClass") => {
            default_value(o, "preemptionPolicy", json!("PreemptLowerPriority"));
        }
        ("autoscaling", "HorizontalPodAutoscaler") => autoscaling::default_horizontal_pod_autoscaler(o),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => {
            admission::default_webhook_configuration(o, false);
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => {
            admission::default_webhook_configuration(o, true);
        }
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => admission::default_admission_policy(o),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
            admission::default_admission_policy_binding(o);
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            admission::default_custom_resource_definition(o);
        }
        _ => {}
    }
}

/// Create-only strategy steps (upstream `PrepareForCreate`) that [`apply_defaults`]
/// must not repeat on update, and that create validation expects to have run.
///
/// * `Namespace`: `status.phase` becomes `Active` and `spec.finalizers` gains
///   `kubernetes` (the namespace controller removes it later, so re-adding it on
///   every decode would be wrong).
/// * `Job` without `spec.manualSelector: true`: the selector is generated from
///   `metadata.uid` (`batch.kubernetes.io/controller-uid`) and the template gets the
///   `controller-uid`, `job-name` labels and their `batch.kubernetes.io/` twins.
///   Call it after the uid is assigned; without a uid nothing is generated.
///
/// Other kinds are left untouched.
pub fn prepare_for_create(group: &str, kind: &str, obj: &mut Value) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    match (group, kind) {
        ("", "Namespace") => core::prepare_namespace_for_create(o),
        ("batch", "Job") => batch::generate_job_selector(o),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// JSON helpers with Go's zero-value semantics
// ---------------------------------------------------------------------------

/// Whether a Go pointer (or any field) is unset: absent or `null`.
pub(crate) fn is_absent(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Whether a Go string value field is unset: absent, `null` or `""`.
pub(crate) fn is_empty_str(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// Whether a Go integer value field is unset: absent, `null` or `0`.
pub(crate) fn is_zero_int(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

/// Whether a Go slice or map is empty: absent, `null`, `[]` or `{}`.
pub(crate) fn is_empty_collection(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

/// The string under `key`, `""` when absent or not a string.
pub(crate) fn str_of<'a>(o: &'a Object, key: &str) -> &'a str {
    o.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Sets a pointer field that is absent or `null`.
pub(crate) fn default_value(o: &mut Object, key: &str, value: Value) {
    if is_absent(o.get(key)) {
        o.insert(key.to_string(), value);
    }
}

/// Sets a string value field that is absent, `null` or `""`.
pub(crate) fn default_str(o: &mut Object, key: &str, value: &str) {
    if is_empty_str(o.get(key)) {
        o.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// Sets an integer value field that is absent, `null` or `0`.
pub(crate) fn default_int(o: &mut Object, key: &str, value: i64) {
    if is_zero_int(o.get(key)) {
        o.insert(key.to_string(), Value::from(value));
    }
}

/// The object under `key`, created as `{}` when absent or `null` (a Go value
/// struct always exists); `None` when `key` holds something else.
pub(crate) fn ensure_object<'a>(o: &'a mut Object, key: &str) -> Option<&'a mut Object> {
    if is_absent(o.get(key)) {
        o.insert(key.to_string(), Value::Object(Object::new()));
    }
    o.get_mut(key).and_then(Value::as_object_mut)
}

/// The object under `key` when present (a Go pointer struct).
pub(crate) fn object_mut<'a>(o: &'a mut Object, key: &str) -> Option<&'a mut Object> {
    o.get_mut(key).and_then(Value::as_object_mut)
}

/// The object elements of the array under `key`; other elements are skipped.
pub(crate) fn each_object<'a>(o: &'a mut Object, key: &str) -> impl Iterator<Item = &'a mut Object> {
    o.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten().filter_map(Value::as_object_mut)
}

/// Upstream `SetDefaults_ResourceList`: every quantity rounded up to milli precision
/// and, because Go re-encodes what it decoded, written in canonical form (`1000m`
/// becomes `"1"`, a JSON number becomes a string). Unparsable values are left alone.
pub(crate) fn default_resource_list(list: Option<&mut Value>) {
    let Some(list) = list.and_then(Value::as_object_mut) else {
        return;
    };
    for value in list.values_mut() {
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        let Ok(mut q) = crate::Quantity::parse(&text) else {
            continue;
        };
        let milli = q.milli_value();
        // Saturated values are far beyond any real amount; leave their precision alone.
        if milli != i64::MAX && milli != i64::MIN {
            let rounded = crate::Quantity::from_milli(milli, q.format());
            if rounded != q {
                q = rounded;
            }
        }
        *value = Value::String(q.to_canonical_string());
    }
}
