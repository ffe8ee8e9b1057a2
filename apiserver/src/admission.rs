//! The admission stage: mutation and validation before the store.

use rustkube_api::defaulting;
use serde_json::Value;

use crate::meta;
use crate::name_cache::PriorityClassInfo;
use crate::request::RequestInfo;
use crate::resource_store::Target;
use crate::state::AppState;
use crate::status::{ApiError, Qualified};

/// The admission plugins this apiserver implements, each on unless
/// `--disable-admission-plugins` names it (upstream's default-on plugins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plugins {
    pub namespace_lifecycle: bool,
    pub service_account: bool,
    pub priority: bool,
}

impl Plugins {
    /// The set `--enable-admission-plugins` / `--disable-admission-plugins` select.
    /// A plugin in both lists is an error, as upstream.
    pub fn select(enable: &[String], disable: &[String]) -> Result<Self, String> {
        if let Some(both) = enable.iter().find(|p| !p.is_empty() && disable.contains(p)) {
            return Err(format!("{both} is in both --enable-admission-plugins and --disable-admission-plugins"));
        }
        let on = |name: &str| !disable.iter().any(|p| p == name);
        Ok(Plugins {
            namespace_lifecycle: on("NamespaceLifecycle"),
            service_account: on("ServiceAccount"),
            priority: on("Priority"),
        })
    }
}

impl Default for Plugins {
    fn default() -> Self {
        Plugins { namespace_lifecycle: true, service_account: true, priority: true }
    }
}

/// NamespaceLifecycle: objects may only be created in a namespace that exists
/// and is not being deleted.
pub async fn namespace_lifecycle(
    state: &AppState,
    namespace: &str,
    name: &str,
    info: &RequestInfo,
) -> Result<(), ApiError> {
    if !state.admission.namespace_lifecycle {
        return Ok(());
    }
    let terminating = match state.namespaces.get(namespace) {
        Some(terminating) => terminating,
        None => {
            let ns_resource =
                rustkube_api::registry::lookup("", "v1", "namespaces").expect("namespaces are registered");
            let ns = state.store.get(Target { resource: ns_resource, namespace: None }, namespace).await?;
            meta::is_deleting(&ns)
        }
    };
    if terminating {
        let q = Qualified { group: info.resource.group, resource: info.resource.plural };
        let mut error = ApiError::forbidden_for(
            q,
            name,
            format!("unable to create new content in namespace {namespace} because it is being terminated"),
        );
        // Upstream's cause, which clients (controllers creating in the namespace) look for.
        if let Some(details) = error.details.as_mut() {
            details["causes"] = serde_json::json!([{
                "reason": "NamespaceTerminating",
                "message": format!("namespace {namespace} is being terminated"),
                "field": "metadata.namespace",
            }]);
        }
        return Err(error);
    }
    Ok(())
}

/// Priority: a pod's `priorityClassName` (or the global default class)
/// becomes `spec.priority` and `spec.preemptionPolicy`, as upstream's
/// Priority admission plugin does; an unknown class is refused, and so is a
/// `spec.priority` that disagrees with the class.
pub async fn priority(state: &AppState, info: &RequestInfo, pod: &mut Value) -> Result<(), ApiError> {
    if !state.admission.priority || !is_pod(info) {
        return Ok(());
    }
    let classes = rustkube_api::registry::lookup("scheduling.k8s.io", "v1", "priorityclasses")
        .expect("priorityclasses are registered");
    let t = Target { resource: classes, namespace: None };
    let name = meta::name(pod).to_owned();
    let requested = pod.pointer("/spec/priorityClassName").and_then(Value::as_str).unwrap_or("").to_owned();
    // The class that applies, if any, and its name.
    let class: Option<(String, PriorityClassInfo)> = if requested.is_empty() {
        match state.priority_classes.find(|c| c.global_default) {
            Ok(found) => found,
            Err(()) => {
                let prefix = t.prefix()?;
                let (items, _) =
                    state.store.list_page(t, &rustkube_storage::ListOptions { prefix, ..Default::default() }).await?;
                items
                    .iter()
                    .filter_map(|c| Some((meta::name(c).to_owned(), PriorityClassInfo::of(c)?)))
                    .find(|(_, c)| c.global_default)
            }
        }
    } else if let Some(c) = state.priority_classes.get(&requested) {
        Some((requested.clone(), c))
    } else {
        match state.store.get(t, &requested).await {
            Ok(c) => PriorityClassInfo::of(&c).map(|c| (requested.clone(), c)),
            Err(e) if e.code == 404 => {
                return Err(ApiError::forbidden(format!(
                    "pods \"{name}\" is forbidden: no PriorityClass with name {requested} was found"
                )));
            }
            Err(e) => return Err(e),
        }
    };
    let value = class.as_ref().map_or(0, |(_, c)| c.value);
    if let Some(given) = pod.pointer("/spec/priority").and_then(Value::as_i64)
        && given != value
    {
        return Err(ApiError::forbidden(format!(
            "pods \"{name}\" is forbidden: the integer value of priority ({given}) must not be provided in pod spec; \
             priority admission controller computed {value} from the given PriorityClass name"
        )));
    }
    if !pod.get("spec").is_some_and(Value::is_object) {
        return Ok(());
    }
    pod["spec"]["priority"] = serde_json::json!(value);
    if let Some((class_name, c)) = &class {
        if requested.is_empty() {
            pod["spec"]["priorityClassName"] = serde_json::json!(class_name);
        }
        if pod.pointer("/spec/preemptionPolicy").is_none_or(Value::is_null) {
            pod["spec"]["preemptionPolicy"] = serde_json::json!(c.preemption_policy);
        }
    }
    Ok(())
}

fn is_pod(info: &RequestInfo) -> bool {
    info.resource.group.is_empty() && info.resource.plural == "pods" && info.subresource.is_none()
}

/// Where every container finds its service-account token, CA and namespace.
const API_ACCESS_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The prefix of the projected volume that holds them.
const API_ACCESS_VOLUME: &str = "kube-api-access";
/// Mirror pods (the API's copy of a static pod) carry this annotation.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// ServiceAccount, on pod create as upstream's plugin: the pod runs as
/// `spec.serviceAccountName` (`default` when unset), which must exist; unless
/// the pod or the account turns `automountServiceAccountToken` off, every
/// container without its own mount at the token path gets the
/// `kube-api-access-*` projected volume (a bound token, `kube-root-ca.crt` and
/// the namespace); an account's imagePullSecrets fill a pod that names none.
/// Mirror pods are left as they are and may not name an account.
pub async fn service_account(state: &AppState, info: &RequestInfo, pod: &mut Value) -> Result<(), ApiError> {
    if !state.admission.service_account || !is_pod(info) || !pod.get("spec").is_some_and(Value::is_object) {
        return Ok(());
    }
    let name = match meta::name(pod) {
        "" => meta::meta_str(pod, "generateName").unwrap_or_default().to_owned(),
        name => name.to_owned(),
    };
    let q = Qualified { group: "", resource: "pods" };
    let forbidden = |why: String| ApiError::forbidden_for(q, &name, why);
    let account = pod.pointer("/spec/serviceAccountName").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mirror = pod.pointer("/metadata/annotations").and_then(|a| a.get(MIRROR_ANNOTATION)).is_some();
    if mirror {
        if !account.is_empty() {
            return Err(forbidden("a mirror pod may not reference service accounts".into()));
        }
        return Ok(());
    }
    let account = if account.is_empty() { "default".to_owned() } else { account };
    let namespace = info.namespace.clone().unwrap_or_default();
    let target = Target { resource: rustkube_api::registry::core("serviceaccounts"), namespace: Some(&namespace) };
    let sa = match state.store.get(target, &account).await {
        Ok(sa) => sa,
        Err(e) if e.code == 404 => {
            return Err(forbidden(format!(
                "error looking up service account {namespace}/{account}: serviceaccount \"{account}\" not found"
            )));
        }
        Err(e) => return Err(e),
    };
    let spec = &mut pod["spec"];
    spec["serviceAccountName"] = serde_json::json!(account);
    spec["serviceAccount"] = serde_json::json!(account);
    let automount = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        .or_else(|| sa.get("automountServiceAccountToken").and_then(Value::as_bool))
        .unwrap_or(true);
    if automount {
        mount_api_access(spec);
    }
    let pull_secrets_given = spec.get("imagePullSecrets").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
    if !pull_secrets_given
        && let Some(secrets) = sa.get("imagePullSecrets").and_then(Value::as_array).filter(|s| !s.is_empty())
    {
        let refs: Vec<Value> = secrets
            .iter()
            .filter_map(|s| s.get("name").and_then(Value::as_str))
            .map(|n| serde_json::json!({ "name": n }))
            .collect();
        spec["imagePullSecrets"] = Value::Array(refs);
    }
    Ok(())
}

/// Adds the `kube-api-access-*` volume mount to every init and app container
/// that has nothing at the token path, and the volume itself if one needed it
/// and the pod has none yet.
fn mount_api_access(spec: &mut Value) {
    let volumes = spec.get("volumes").and_then(Value::as_array);
    let existing = volumes.and_then(|v| {
        v.iter()
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .find(|n| n.starts_with(&format!("{API_ACCESS_VOLUME}-")))
            .map(str::to_owned)
    });
    let volume_name = existing.clone().unwrap_or_else(|| format!("{API_ACCESS_VOLUME}-{}", meta::generate_suffix()));
    let mount = serde_json::json!({ "name": volume_name, "readOnly": true, "mountPath": API_ACCESS_MOUNT_PATH });
    let mut needed = false;
    for key in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(key).and_then(Value::as_array_mut) else { continue };
        for container in containers.iter_mut().filter(|c| c.is_object()) {
            let mounted = container.get("volumeMounts").and_then(Value::as_array).is_some_and(|m| {
                m.iter().any(|m| m.get("mountPath").and_then(Value::as_str) == Some(API_ACCESS_MOUNT_PATH))
            });
            if mounted {
                continue;
            }
            match container.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                Some(mounts) => mounts.push(mount.clone()),
                None => container["volumeMounts"] = Value::Array(vec![mount.clone()]),
            }
            needed = true;
        }
    }
    if existing.is_some() || !needed {
        return;
    }
    let volume = serde_json::json!({
        "name": volume_name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                { "serviceAccountToken": { "expirationSeconds": 3607, "path": "token" } },
                { "configMap": { "name": "kube-root-ca.crt", "items": [{ "key": "ca.crt", "path": "ca.crt" }] } },
                { "downwardAPI": { "items": [{ "path": "namespace", "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.namespace" } }] } },
            ],
        },
    });
    match spec.get_mut("volumes").and_then(Value::as_array_mut) {
        Some(volumes) => volumes.push(volume),
        None => spec["volumes"] = Value::Array(vec![volume]),
    }
}

/// Mutating admission for a create: upstream's defaulting of the kind.
/// (Validation runs in the store, after the create strategy has set uid and timestamps.)
pub fn admit_create(_state: &AppState, info: &RequestInfo, obj: &mut Value) -> Result<(), ApiError> {
    defaulting::apply_defaults(info.resource.group, info.resource.kind, obj);
    Ok(())
}

/// Mutating admission for an update: defaults apply to the new object too.
pub fn admit_update(_state: &AppState, info: &RequestInfo, new: &mut Value, _old: &Value) -> Result<(), ApiError> {
    if matches!(info.subresource.as_deref(), None | Some("status")) {
        defaulting::apply_defaults(info.resource.group, info.resource.kind, new);
    }
    Ok(())
}

/// Resources whose PUT creates a missing object, as upstream's strategies allow.
pub fn allow_create_on_update(info: &RequestInfo) -> bool {
    info.subresource.is_none()
        && matches!((info.resource.group, info.resource.plural), ("", "endpoints") | ("coordination.k8s.io", "leases"))
}
