//! The admission stage: mutation and validation before the store.

use rustkube_api::defaulting;
use serde_json::Value;

use crate::meta;
use crate::name_cache::PriorityClassInfo;
use crate::request::RequestInfo;
use crate::resource_store::Target;
use crate::state::AppState;
use crate::status::ApiError;

/// NamespaceLifecycle: objects may only be created in a namespace that exists
/// and is not being deleted.
pub async fn namespace_lifecycle(state: &AppState, namespace: &str, info: &RequestInfo) -> Result<(), ApiError> {
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
        return Err(ApiError::forbidden(format!(
            "{} is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
            info.resource.plural
        )));
    }
    Ok(())
}

/// Priority: a pod's `priorityClassName` (or the global default class)
/// becomes `spec.priority` and `spec.preemptionPolicy`, as upstream's
/// Priority admission plugin does; an unknown class is refused, and so is a
/// `spec.priority` that disagrees with the class.
pub async fn priority(state: &AppState, info: &RequestInfo, pod: &mut Value) -> Result<(), ApiError> {
    if !(info.resource.group.is_empty() && info.resource.plural == "pods" && info.subresource.is_none()) {
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
