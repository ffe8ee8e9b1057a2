//! The admission stage: mutation and validation before the store.

use rustkube_api::defaulting;
use serde_json::Value;

use crate::meta;
use crate::namespace_cache::Lookup;
use crate::request::RequestInfo;
use crate::resource_store::Target;
use crate::state::AppState;
use crate::status::ApiError;

/// NamespaceLifecycle: objects may only be created in a namespace that exists
/// and is not being deleted.
pub async fn namespace_lifecycle(state: &AppState, namespace: &str, info: &RequestInfo) -> Result<(), ApiError> {
    let terminating = match state.namespaces.lookup(namespace) {
        Lookup::Active => false,
        Lookup::Terminating => true,
        Lookup::Unknown => {
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
