//! Defaults of `admissionregistration.k8s.io/v1` and `apiextensions.k8s.io/v1`
//! (upstream `admissionregistration/v1/defaults.go`,
//! `apiextensions-apiserver/pkg/apis/apiextensions/v1/defaults.go`).

use serde_json::{Value, json};

use super::{Object, default_str, default_value, each_object, ensure_object, is_empty_str, object_mut, str_of};

/// `SetDefaults_{Validating,Mutating}Webhook`, `SetDefaults_Rule` and
/// `SetDefaults_ServiceReference` on every webhook of a configuration.
pub(crate) fn default_webhook_configuration(config: &mut Object, mutating: bool) {
    for webhook in each_object(config, "webhooks") {
        default_value(webhook, "failurePolicy", json!("Fail"));
        default_value(webhook, "matchPolicy", json!("Equivalent"));
        default_value(webhook, "namespaceSelector", json!({}));
        default_value(webhook, "objectSelector", json!({}));
        default_value(webhook, "timeoutSeconds", json!(10));
        if mutating {
            default_value(webhook, "reinvocationPolicy", json!("Never"));
        }
        for rule in each_object(webhook, "rules") {
            default_value(rule, "scope", json!("*"));
        }
        default_service_port(webhook.get_mut("clientConfig"));
    }
}

/// `SetDefaults_ValidatingAdmissionPolicySpec` and its match resources.
pub(crate) fn default_admission_policy(policy: &mut Object) {
    let Some(spec) = ensure_object(policy, "spec") else {
        return;
    };
    default_value(spec, "failurePolicy", json!("Fail"));
    if let Some(constraints) = object_mut(spec, "matchConstraints") {
        default_match_resources(constraints);
    }
}

/// `SetDefaults_ValidatingAdmissionPolicyBindingSpec`'s match resources.
pub(crate) fn default_admission_policy_binding(binding: &mut Object) {
    let resources = object_mut(binding, "spec").and_then(|s| object_mut(s, "matchResources"));
    if let Some(resources) = resources {
        default_match_resources(resources);
    }
}

/// `SetDefaults_MatchResources` and `SetDefaults_NamedRuleWithOperations`.
fn default_match_resources(resources: &mut Object) {
    default_value(resources, "matchPolicy", json!("Equivalent"));
    default_value(resources, "namespaceSelector", json!({}));
    default_value(resources, "objectSelector", json!({}));
    for key in ["resourceRules", "excludeResourceRules"] {
        for rule in each_object(resources, key) {
            default_value(rule, "scope", json!("*"));
        }
    }
}

/// A webhook client config's service port defaults to 443.
fn default_service_port(client_config: Option<&mut Value>) {
    let service = client_config.and_then(Value::as_object_mut).and_then(|c| object_mut(c, "service"));
    if let Some(service) = service {
        default_value(service, "port", json!(443));
    }
}

/// `SetDefaults_CustomResourceDefinition`: singular and list kind from the kind,
/// conversion `None`, webhook conversion port 443, and the storage version recorded.
pub(crate) fn default_custom_resource_definition(crd: &mut Object) {
    let Some(spec) = ensure_object(crd, "spec") else {
        return;
    };
    if let Some(names) = ensure_object(spec, "names") {
        let kind = str_of(names, "kind").to_string();
        default_str(names, "singular", &kind.to_lowercase());
        if is_empty_str(names.get("listKind")) && !kind.is_empty() {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    default_value(spec, "conversion", json!({"strategy": "None"}));
    if let Some(conversion) = object_mut(spec, "conversion")
        && str_of(conversion, "strategy") == "Webhook"
    {
        let client_config = object_mut(conversion, "webhook").and_then(|w| w.get_mut("clientConfig"));
        default_service_port(client_config);
    }
    let storage_version = spec
        .get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name").cloned());
    if let Some(status) = ensure_object(crd, "status")
        && super::is_empty_collection(status.get("storedVersions"))
        && let Some(name) = storage_version
    {
        status.insert("storedVersions".into(), Value::Array(vec![name]));
    }
}
