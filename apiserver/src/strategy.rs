//! Per-resource behaviour of the generic store, as upstream's
//! `rest.RESTCreateStrategy` / `RESTUpdateStrategy` / deletion strategies:
//! what create and update may set, when generation moves, what the status
//! subresource may change, and how deletion proceeds (finalizers, graceful
//! pod deletion, namespaces).

use rustkube_api::registry::{self, ResourceInfo};
use serde_json::{Value, json};

use crate::meta;
use crate::resource_store::DeleteOptions;
use crate::status::ApiError;

/// Resources whose `metadata.generation` tracks spec changes (custom resources included).
fn tracks_generation(r: &ResourceInfo) -> bool {
    !registry::is_builtin(r)
        || matches!(
            (r.group, r.plural),
            ("apps", _)
                | ("batch", _)
                | ("", "replicationcontrollers")
                | ("autoscaling", "horizontalpodautoscalers")
                | ("policy", "poddisruptionbudgets")
                | ("networking.k8s.io", "ingresses" | "networkpolicies")
                | ("apiextensions.k8s.io", "customresourcedefinitions")
                | ("admissionregistration.k8s.io", _)
        ) && r.plural != "controllerrevisions"
}

fn has_status(r: &ResourceInfo) -> bool {
    r.subresource("status").is_some()
}

/// Namespaces that always exist and may not be deleted.
pub const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// Drops metadata collections that are empty: Go's `omitempty` never stores them.
fn drop_empty_metadata(obj: &mut Value) {
    let meta = meta::meta_mut(obj);
    for field in ["labels", "annotations", "finalizers", "ownerReferences", "managedFields"] {
        let empty = match meta.get(field) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Null) => true,
            _ => false,
        };
        if empty {
            meta.remove(field);
        }
    }
}

pub fn prepare_for_create(r: &ResourceInfo, obj: &mut Value) {
    drop_empty_metadata(obj);
    let kind = r.kind;
    let api_version = r.api_version();
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!(api_version));
        map.insert("kind".into(), json!(kind));
    }
    let track = tracks_generation(r);
    let meta = meta::meta_mut(obj);
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
    for field in ["deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"] {
        meta.remove(field);
    }
    if track {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    rustkube_api::defaulting::prepare_for_create(r.group, r.kind, obj);
    if r.group.is_empty() && r.plural == "namespaces" {
        let spec = obj.as_object_mut().expect("object").entry("spec").or_insert_with(|| json!({}));
        if spec.get("finalizers").is_none() {
            spec["finalizers"] = json!(["kubernetes"]);
        }
        obj["status"] = json!({ "phase": "Active" });
    }
}

/// Carries over what an update may not change and applies the status split.
pub fn prepare_for_update(
    r: &ResourceInfo,
    subresource: Option<&str>,
    new: &mut Value,
    old: &Value,
) -> Result<(), ApiError> {
    if !new.is_object() {
        return Err(ApiError::bad_request("the body of the request must be a JSON object"));
    }
    new["apiVersion"] = json!(r.api_version());
    new["kind"] = json!(r.kind);
    match subresource {
        Some("status") => {
            // Only status may change; everything else comes from the stored object,
            // except annotations on the kinds whose upstream status strategies let
            // them through (the deployment controller writes its revision
            // annotation with UpdateStatus).
            let status = new.get("status").cloned();
            let rv = meta::meta_str(new, "resourceVersion").map(str::to_owned);
            let annotations =
                status_may_set_annotations(r).then(|| new.pointer("/metadata/annotations").cloned()).flatten();
            *new = old.clone();
            if let Some(a) = annotations {
                meta::meta_mut(new).insert("annotations".into(), a);
            }
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            set_rv(new, rv);
            return Ok(());
        }
        Some("finalize") => {
            // Namespaces: only spec.finalizers may change.
            let finalizers = new.get("spec").and_then(|s| s.get("finalizers")).cloned();
            let rv = meta::meta_str(new, "resourceVersion").map(str::to_owned);
            *new = old.clone();
            new["spec"]["finalizers"] = finalizers.unwrap_or_else(|| json!([]));
            set_rv(new, rv);
            return Ok(());
        }
        _ => {}
    }
    drop_empty_metadata(new);
    // Immutable metadata.
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    {
        let meta = meta::meta_mut(new);
        for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
            match old_meta.get(field) {
                Some(v) => {
                    meta.insert(field.into(), v.clone());
                }
                None => {
                    meta.remove(field);
                }
            }
        }
        if let Some(ns) = old_meta.get("namespace") {
            meta.insert("namespace".into(), ns.clone());
        }
    }
    if r.group.is_empty() && r.plural == "services" {
        keep_service_allocations(new, old);
    }
    if has_status(r) && subresource.is_none() {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    // Custom resources without a status subresource count status changes too.
    let changed = if !registry::is_builtin(r) && !has_status(r) {
        let body = |o: &Value| {
            let mut o = o.clone();
            if let Some(m) = o.as_object_mut() {
                m.remove("metadata");
            }
            o
        };
        body(new) != body(old)
    } else {
        meta::spec_part(new) != meta::spec_part(old)
    };
    if tracks_generation(r) && changed {
        let g = meta::generation(old) + 1;
        meta::meta_mut(new).insert("generation".into(), json!(g));
    }
    Ok(())
}

fn set_rv(obj: &mut Value, rv: Option<String>) {
    let meta = meta::meta_mut(obj);
    match rv {
        Some(rv) => meta.insert("resourceVersion".into(), json!(rv)),
        None => meta.remove("resourceVersion"),
    };
}

/// An object marked for deletion whose finalizers are all gone is removed
/// (pods only once their grace period has been confirmed as zero).
pub fn ready_to_remove(r: &ResourceInfo, obj: &Value) -> bool {
    if !meta::is_deleting(obj) || !meta::finalizers(obj).is_empty() {
        return false;
    }
    if r.group.is_empty() && r.plural == "namespaces" {
        return obj
            .get("spec")
            .and_then(|s| s.get("finalizers"))
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty());
    }
    if r.group.is_empty() && r.plural == "pods" {
        return grace_of(obj) == Some(0);
    }
    true
}

fn grace_of(obj: &Value) -> Option<i64> {
    obj.get("metadata")?.get("deletionGracePeriodSeconds")?.as_i64()
}

#[derive(Debug)]
pub enum DeletePlan {
    /// Remove from storage now.
    Remove,
    /// Keep, marked with this deletion state.
    Mark(Value),
}

pub fn plan_delete(r: &ResourceInfo, obj: &Value, opts: &DeleteOptions) -> Result<DeletePlan, ApiError> {
    let is_namespace = r.group.is_empty() && r.plural == "namespaces";
    let is_pod = r.group.is_empty() && r.plural == "pods";
    let name = meta::name(obj);
    if is_namespace && PROTECTED_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(format!(
            "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
        )));
    }
    let mut finalizers = meta::finalizers(obj);
    // A CRD stays until its custom resources are gone (crate::crd cleans up).
    if crate::crd::is_crd(r) && !finalizers.iter().any(|f| f == crate::crd::CLEANUP_FINALIZER) {
        finalizers.push(crate::crd::CLEANUP_FINALIZER.into());
    }
    match opts.propagation_policy.as_deref() {
        None | Some("Background") => {}
        Some("Orphan") => {
            if !finalizers.iter().any(|f| f == "orphan") {
                finalizers.push("orphan".into());
            }
            finalizers.retain(|f| f != "foregroundDeletion");
        }
        Some("Foreground") => {
            if !finalizers.iter().any(|f| f == "foregroundDeletion") {
                finalizers.push("foregroundDeletion".into());
            }
            finalizers.retain(|f| f != "orphan");
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            )));
        }
    }
    // Graceful deletion: pods that are bound to a node wait for the kubelet.
    let grace = if is_pod {
        let requested = opts
            .grace_period_seconds
            .or_else(|| obj.get("spec").and_then(|s| s.get("terminationGracePeriodSeconds")).and_then(Value::as_i64));
        let scheduled =
            obj.get("spec").and_then(|s| s.get("nodeName")).and_then(Value::as_str).is_some_and(|n| !n.is_empty());
        let phase = obj.get("status").and_then(|s| s.get("phase")).and_then(Value::as_str).unwrap_or("");
        if !scheduled || matches!(phase, "Succeeded" | "Failed") { 0 } else { requested.unwrap_or(30).max(0) }
    } else {
        0
    };
    let already = meta::is_deleting(obj);
    if finalizers.is_empty() && grace == 0 && !is_namespace {
        return Ok(DeletePlan::Remove);
    }
    if is_namespace && already && ready_to_remove(r, obj) {
        return Ok(DeletePlan::Remove);
    }
    let mut marked = obj.clone();
    meta::set_finalizers(&mut marked, &finalizers);
    {
        let m = meta::meta_mut(&mut marked);
        let current_grace = m.get("deletionGracePeriodSeconds").and_then(Value::as_i64);
        // A shorter grace period may replace a longer one; never lengthen it.
        if !already || current_grace.is_none_or(|g| grace < g) {
            m.insert("deletionTimestamp".into(), json!(meta::rfc3339_after(grace)));
            m.insert("deletionGracePeriodSeconds".into(), json!(grace));
        }
    }
    if is_pod && grace == 0 && finalizers.is_empty() {
        return Ok(DeletePlan::Remove);
    }
    if is_namespace {
        marked["status"]["phase"] = json!("Terminating");
    }
    if !already && tracks_generation(r) {
        let g = meta::generation(obj) + 1;
        meta::meta_mut(&mut marked).insert("generation".into(), json!(g));
    }
    Ok(DeletePlan::Mark(marked))
}

fn invalid(r: &ResourceInfo, obj: &Value, errors: &[rustkube_api::validation::FieldError]) -> ApiError {
    let name = meta::meta_str(obj, "name")
        .filter(|n| !n.is_empty())
        .or_else(|| meta::meta_str(obj, "generateName"))
        .unwrap_or("");
    ApiError::invalid(r.kind, r.group, name, errors)
}

/// Upstream's create validation of the kind (ObjectMeta included).
pub fn validate_create(r: &ResourceInfo, obj: &Value) -> Result<(), ApiError> {
    let mut errors = if registry::is_builtin(r) {
        rustkube_api::kind_validation::validate_create(r.group, r.kind, obj)
    } else {
        rustkube_api::kind_validation::validate_metadata_create(r, obj)
    };
    if crate::crd::is_crd(r) {
        errors.extend(crate::crd::validate_definition(obj));
    }
    if errors.is_empty() { Ok(()) } else { Err(invalid(r, obj, &errors)) }
}

/// Upstream's update validation: the main resource, or `/status`.
/// Kinds whose upstream status strategy resets only spec (and labels), not
/// the rest of the metadata; newer kinds reset all metadata
/// (`ResetObjectMetaForStatus`).
fn status_may_set_annotations(r: &ResourceInfo) -> bool {
    matches!(
        (r.group, r.plural),
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
            | ("", "pods" | "replicationcontrollers")
            | ("batch", "jobs" | "cronjobs")
    )
}

pub fn validate_update(r: &ResourceInfo, subresource: Option<&str>, new: &Value, old: &Value) -> Result<(), ApiError> {
    let builtin = registry::is_builtin(r);
    let mut errors = match subresource {
        None if builtin => rustkube_api::kind_validation::validate_update(r.group, r.kind, new, old),
        Some("status") if builtin => rustkube_api::kind_validation::validate_status_update(r.group, r.kind, new, old),
        None | Some("status") => rustkube_api::kind_validation::validate_metadata_update(r, new, old),
        Some(_) => Vec::new(),
    };
    if crate::crd::is_crd(r) && subresource.is_none() {
        errors.extend(crate::crd::validate_definition(new));
    }
    if errors.is_empty() { Ok(()) } else { Err(invalid(r, new, &errors)) }
}

/// An update that omits the allocated ClusterIP or node ports keeps them (as upstream).
fn keep_service_allocations(new: &mut Value, old: &Value) {
    let Some(old_spec) = old.get("spec") else { return };
    if !new.get("spec").is_some_and(Value::is_object) {
        return;
    }
    for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
        let missing = new["spec"].get(field).is_none_or(|v| v.is_null() || v == "");
        if missing && let Some(v) = old_spec.get(field) {
            new["spec"][field] = v.clone();
        }
    }
    let old_ports: Vec<Value> = old_spec.get("ports").and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(ports) = new["spec"].get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut() {
            if port.get("nodePort").is_some_and(|p| p.as_u64().unwrap_or(0) > 0) {
                continue;
            }
            let matching = old_ports
                .iter()
                .find(|o| o.get("port") == port.get("port") && o.get("protocol") == port.get("protocol"));
            if let Some(np) = matching.and_then(|o| o.get("nodePort")) {
                port["nodePort"] = np.clone();
            }
        }
    }
}
