//! `NodeResourcesBalancedAllocation`: prefers nodes where CPU and memory
//! would be used in similar proportions: `(1 - stddev of the fractions) * 100`.

use std::sync::Arc;

use serde::Deserialize;

use crate::cache::Cache;
use crate::framework::{CycleState, MAX_NODE_SCORE, Plugin, ScorePlugin};
use crate::node_info::NodeInfo;
use crate::plugins::node_resources_fit::{ResourceSpec, requested_and_allocatable};
use crate::pod_info::PodInfo;

pub const NAME: &str = "NodeResourcesBalancedAllocation";

#[derive(Debug, Default, Deserialize)]
struct Args {
    #[serde(default)]
    resources: Option<Vec<ResourceSpec>>,
}

/// The plugin.
#[derive(Debug)]
pub struct BalancedAllocation {
    pub resources: Vec<String>,
}

impl BalancedAllocation {
    pub fn from_args(args: Option<&serde_json::Value>) -> Result<Self, String> {
        let args: Args = match args {
            Some(v) if !v.is_null() => serde_json::from_value(v.clone()).map_err(|e| e.to_string())?,
            _ => Args::default(),
        };
        let resources = args
            .resources
            .map(|r| r.into_iter().map(|r| r.name).collect())
            .unwrap_or_else(|| vec!["cpu".to_owned(), "memory".to_owned()]);
        Ok(BalancedAllocation { resources })
    }
}

/// Score from the used fractions (each capped at 1).
pub fn balanced_score(fractions: &[f64]) -> i64 {
    if fractions.is_empty() {
        return 0;
    }
    let std = if fractions.len() == 2 {
        (fractions[0] - fractions[1]).abs() / 2.0
    } else {
        let mean = fractions.iter().sum::<f64>() / fractions.len() as f64;
        (fractions.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / fractions.len() as f64).sqrt()
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_score(self: Arc<Self>) -> Option<Arc<dyn ScorePlugin>> {
        Some(self)
    }
}

impl ScorePlugin for BalancedAllocation {
    fn score(&self, _: &CycleState, pod: &PodInfo, node: &NodeInfo, _: &Cache) -> i64 {
        let mut fractions = Vec::with_capacity(self.resources.len());
        for r in &self.resources {
            let (req, alloc) = requested_and_allocatable(pod, node, r);
            if alloc == 0 {
                continue;
            }
            fractions.push((req as f64 / alloc as f64).min(1.0));
        }
        balanced_score(&fractions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_fractions_score_highest() {
        assert_eq!(balanced_score(&[0.5, 0.5]), 100);
        assert_eq!(balanced_score(&[0.2, 0.6]), 80);
        assert_eq!(balanced_score(&[1.0, 0.0]), 50);
    }
}
