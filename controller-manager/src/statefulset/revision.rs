//! StatefulSet revisions, as upstream's `controller/history`: each pod
//! template is stored in a ControllerRevision named `SET-HASH` whose data is
//! the template patch; the hash (FNV-32a, safe-encoded, as the deployment
//! controller's) is the pods' `controller-revision-hash` label.

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;

/// The pod label naming the revision a pod was made from.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// The revision data of `set`: its template as a replacing patch.
pub fn revision_data(set: &StatefulSet) -> serde_json::Value {
    template_data(&set.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default())
}

/// Revision data for a pod template: `{"spec":{"template":{…,"$patch":"replace"}}}`.
pub fn template_data(template: &k8s_openapi::api::core::v1::PodTemplateSpec) -> serde_json::Value {
    let mut template = serde_json::to_value(template).unwrap_or_default();
    if let Some(map) = template.as_object_mut() {
        map.insert("$patch".to_owned(), serde_json::json!("replace"));
    }
    serde_json::json!({ "spec": { "template": template } })
}

/// `SET-HASH` for `data` and the collision count.
pub fn revision_name(set_name: &str, data: &serde_json::Value, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(data).unwrap_or_default();
    if let Some(c) = collision_count {
        bytes.extend_from_slice(&u64::from(c.unsigned_abs()).to_le_bytes());
    }
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let encoded: String = hash.to_string().bytes().map(|b| SAFE[usize::from(b) % SAFE.len()] as char).collect();
    format!("{set_name}-{encoded}")
}

/// Whether `revision` stores `data`.
pub fn stores(revision: &ControllerRevision, data: &serde_json::Value) -> bool {
    revision.data.as_ref().is_some_and(|RawExtension(d)| d == data)
}
