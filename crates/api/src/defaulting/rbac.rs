//! Defaults of `rbac.authorization.k8s.io` (upstream `rbac/v1/defaults.go`).

use serde_json::json;

use super::{Object, default_str, each_object, ensure_object, is_empty_str, str_of};

/// The RBAC API group, the default of `roleRef.apiGroup` and of user and group subjects.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// `SetDefaults_RoleBinding`, `SetDefaults_ClusterRoleBinding` and `SetDefaults_Subject`.
pub(crate) fn default_binding(binding: &mut Object) {
    if let Some(role_ref) = ensure_object(binding, "roleRef") {
        default_str(role_ref, "apiGroup", RBAC_GROUP);
    }
    for subject in each_object(binding, "subjects") {
        if is_empty_str(subject.get("apiGroup")) {
            match str_of(subject, "kind") {
                "ServiceAccount" => {
                    subject.insert("apiGroup".into(), json!(""));
                }
                "User" | "Group" => {
                    subject.insert("apiGroup".into(), json!(RBAC_GROUP));
                }
                _ => {}
            }
        }
    }
}
