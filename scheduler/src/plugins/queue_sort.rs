//! `PrioritySort` and `SchedulingGates`: their behaviour lives in the
//! scheduling queue (ordering by priority then age; gated pods wait), so
//! here they are only names a profile may list.

use crate::framework::Plugin;

pub const PRIORITY_SORT: &str = "PrioritySort";
pub const SCHEDULING_GATES: &str = "SchedulingGates";

/// A plugin implemented by the queue.
#[derive(Debug)]
pub struct QueuePlugin(pub &'static str);

impl Plugin for QueuePlugin {
    fn name(&self) -> &'static str {
        self.0
    }
}
