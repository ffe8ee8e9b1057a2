//! Validation tests: each case names the upstream behaviour it checks, and error
//! strings are compared with upstream's rendering (`field: Type: value: detail`).

use serde_json::{Value, json};

use super::{validate_create, validate_status_update, validate_update};
use crate::defaulting::{apply_defaults, prepare_for_create};
use crate::validation::ErrorList;

mod batch;
mod cluster;
mod pod;
mod robustness;
mod service;
mod workloads;

/// The rendered messages of a list, as a 422 response lists its causes.
fn messages(errs: &ErrorList) -> Vec<String> {
    errs.iter().map(ToString::to_string).collect()
}

/// `obj` defaulted as the apiserver does before validating.
fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    apply_defaults(group, kind, &mut obj);
    obj
}

fn create_errors(group: &str, kind: &str, obj: &Value) -> Vec<String> {
    messages(&validate_create(group, kind, obj))
}

fn update_errors(group: &str, kind: &str, new: &Value, old: &Value) -> Vec<String> {
    messages(&validate_update(group, kind, new, old))
}

fn status_errors(group: &str, kind: &str, new: &Value, old: &Value) -> Vec<String> {
    messages(&validate_status_update(group, kind, new, old))
}

/// Sets the value at a JSON pointer, creating objects on the way.
fn set(obj: &mut Value, pointer: &str, value: Value) {
    let mut current = obj;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        if let Ok(index) = part.parse::<usize>() {
            let array = current.as_array_mut().expect("array on the path");
            while array.len() <= index {
                array.push(json!({}));
            }
            if last {
                array[index] = value;
                return;
            }
            current = &mut array[index];
        } else {
            let object = current.as_object_mut().expect("object on the path");
            if last {
                object.insert((*part).to_string(), value);
                return;
            }
            current = object.entry((*part).to_string()).or_insert_with(|| json!({}));
        }
    }
}

/// Removes the value at a JSON pointer.
fn remove(obj: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer with a parent");
    if let Some(object) = obj.pointer_mut(parent).and_then(Value::as_object_mut) {
        object.remove(key);
    }
}

/// A table case: a change to a valid object and the errors it must produce
/// (every listed message present; an empty list means valid).
struct Case {
    behaviour: &'static str,
    change: fn(&mut Value),
    expected: &'static [&'static str],
}

/// Runs create cases against `base()`.
fn run_create_cases(group: &str, kind: &str, base: impl Fn() -> Value, cases: &[Case]) {
    assert_eq!(create_errors(group, kind, &base()), Vec::<String>::new(), "the base {kind} is valid");
    for case in cases {
        let mut obj = base();
        (case.change)(&mut obj);
        let got = create_errors(group, kind, &obj);
        check(case, &got);
    }
}

/// Runs update cases: `base()` is the stored object, the change makes the new one.
fn run_update_cases(group: &str, kind: &str, base: impl Fn() -> Value, cases: &[Case]) {
    for case in cases {
        let old = base();
        let mut new = old.clone();
        (case.change)(&mut new);
        let got = update_errors(group, kind, &new, &old);
        check(case, &got);
    }
}

fn check(case: &Case, got: &[String]) {
    if case.expected.is_empty() {
        assert!(got.is_empty(), "{}: expected no errors, got {got:#?}", case.behaviour);
    }
    for want in case.expected {
        assert!(got.iter().any(|g| g == want), "{}: expected {want:?} among {got:#?}", case.behaviour);
    }
}

/// Object metadata of a stored object, as updates carry it.
fn stored_meta(name: &str, namespace: Option<&str>) -> Value {
    let mut meta = json!({
        "name": name,
        "uid": "6f2b1c4e-0000-4000-8000-000000000001",
        "resourceVersion": "10",
        "creationTimestamp": "2024-01-01T00:00:00Z",
    });
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    meta
}

#[test]
fn unknown_and_virtual_kinds_are_not_validated() {
    let junk = json!({"metadata": {"name": "NOT VALID"}});
    assert!(validate_create("example.com", "Widget", &junk).is_empty());
    assert!(validate_create("", "Binding", &junk).is_empty(), "bindings are not stored");
    assert!(validate_update("authentication.k8s.io", "TokenReview", &junk, &junk).is_empty());
}

#[test]
fn kinds_without_own_rules_get_object_meta_with_their_name_rule_and_scope() {
    let cases = [
        (
            "networking.k8s.io",
            "NetworkPolicy",
            json!({"metadata": {"name": "Bad_Name", "namespace": "default"}}),
            "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        ("networking.k8s.io", "Ingress", json!({"metadata": {"name": "web"}}), "metadata.namespace: Required value"),
        (
            "storage.k8s.io",
            "StorageClass",
            json!({"metadata": {"name": "fast", "namespace": "default"}}),
            "metadata.namespace: Forbidden: not allowed on this type",
        ),
        (
            "policy",
            "PodDisruptionBudget",
            json!({"metadata": {"namespace": "default"}}),
            "metadata.name: Required value: name or generateName is required",
        ),
        (
            "",
            "Event",
            json!({"metadata": {"name": "e", "namespace": "default", "finalizers": ["custom"]}}),
            "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
        ),
    ];
    for (group, kind, obj, want) in cases {
        let got = create_errors(group, kind, &obj);
        assert!(got.iter().any(|g| g == want), "{kind}: expected {want:?} among {got:#?}");
    }
    let generated = json!({"metadata": {"generateName": "web-", "namespace": "default"}});
    assert!(
        create_errors("networking.k8s.io", "NetworkPolicy", &generated).is_empty(),
        "generateName stands in for the name"
    );
}

#[test]
fn malformed_bodies_give_a_single_decode_error() {
    let got =
        create_errors("", "Pod", &json!({"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": "nope"}}));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with(": Invalid value: unable to decode Pod: "), "{got:?}");
}
