//! `VolumeRestrictions`: a `ReadWriteOncePod` claim may be used by one pod only.

use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{CycleState, Plugin, PreFilterPlugin, Status};
use crate::pod_info::PodInfo;

pub const NAME: &str = "VolumeRestrictions";
pub const ERR_REASON_RWOP_CONFLICT: &str =
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";

/// The plugin.
#[derive(Debug)]
pub struct VolumeRestrictions;

impl Plugin for VolumeRestrictions {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_filter(self: Arc<Self>) -> Option<Arc<dyn PreFilterPlugin>> {
        Some(self)
    }
}

impl PreFilterPlugin for VolumeRestrictions {
    fn pre_filter(&self, _: &mut CycleState, pod: &PodInfo, cache: &Cache) -> Status {
        if pod.pvc_names.is_empty() {
            return Status::skip();
        }
        for claim in &pod.pvc_names {
            let Some(pvc) = cache.objects.pvcs.get(&format!("{}/{claim}", pod.namespace)) else { continue };
            let rwop = pvc
                .spec
                .as_ref()
                .and_then(|s| s.access_modes.as_ref())
                .is_some_and(|m| m.iter().any(|m| m == "ReadWriteOncePod"));
            if rwop
                && cache
                    .pods()
                    .any(|p| p.key != pod.key && p.namespace == pod.namespace && p.pvc_names.iter().any(|c| c == claim))
            {
                return Status::unresolvable(ERR_REASON_RWOP_CONFLICT);
            }
        }
        Status::success()
    }
}
