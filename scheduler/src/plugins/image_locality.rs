//! `ImageLocality`: prefers nodes that already have the pod's images,
//! weighted by image size and by how widely the image is spread.

use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{CycleState, MAX_NODE_SCORE, Plugin, ScorePlugin};
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub const NAME: &str = "ImageLocality";
const MB: i64 = 1024 * 1024;
const MIN_THRESHOLD: i64 = 23 * MB;
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// The plugin.
#[derive(Debug)]
pub struct ImageLocality;

/// upstream `calculatePriority`: the summed scaled sizes clamped and mapped to 0-100.
pub fn priority(sum: i64, containers: usize) -> i64 {
    let max = MAX_CONTAINER_THRESHOLD * containers.max(1) as i64;
    let s = sum.clamp(MIN_THRESHOLD, max);
    MAX_NODE_SCORE * (s - MIN_THRESHOLD) / (max - MIN_THRESHOLD)
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(self: Arc<Self>) -> Option<Arc<dyn ScorePlugin>> {
        Some(self)
    }
}

impl ScorePlugin for ImageLocality {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, cache: &Cache) -> i64 {
        if node.images.is_empty() {
            return priority(0, pod.images.len());
        }
        let total = cache.num_nodes().max(1) as f64;
        let mut sum = 0i64;
        for n in &pod.normalized_images {
            if let Some(size) = node.images.get(n) {
                sum += (*size as f64 * (cache.image_spread(n) as f64 / total)) as i64;
            }
        }
        priority(sum, pod.images.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_images_score_zero_and_large_ones_scale() {
        assert_eq!(priority(0, 1), 0);
        assert_eq!(priority(10 * MB, 1), 0);
        assert_eq!(priority(1000 * MB, 1), 100);
        assert_eq!(priority(MIN_THRESHOLD + (MAX_CONTAINER_THRESHOLD - MIN_THRESHOLD) / 2, 1), 50);
    }
}
