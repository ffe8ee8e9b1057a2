//! Defaults of `storage.k8s.io` (upstream `storage/v1/defaults.go`).

use serde_json::json;

use super::{Object, default_value, ensure_object, is_empty_collection};

/// `SetDefaults_StorageClass`: volumes are deleted with their claim and bound at once.
pub(crate) fn default_storage_class(class: &mut Object) {
    default_value(class, "reclaimPolicy", json!("Delete"));
    default_value(class, "volumeBindingMode", json!("Immediate"));
}

/// `SetDefaults_CSIDriver` with 1.33's default feature gates.
pub(crate) fn default_csi_driver(driver: &mut Object) {
    let Some(spec) = ensure_object(driver, "spec") else {
        return;
    };
    default_value(spec, "attachRequired", json!(true));
    default_value(spec, "podInfoOnMount", json!(false));
    default_value(spec, "storageCapacity", json!(false));
    default_value(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
    if is_empty_collection(spec.get("volumeLifecycleModes")) {
        spec.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
    }
    default_value(spec, "requiresRepublish", json!(false));
    default_value(spec, "seLinuxMount", json!(false));
}
