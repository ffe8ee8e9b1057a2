//! The scheduling framework (upstream `framework/interface.go`): one trait per
//! extension point, the status plugins answer with, and the per-cycle state
//! plugins share between their PreFilter/PreScore and Filter/Score calls.

pub mod registry;
pub mod runtime;

use std::any::Any;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::cache::Cache;
use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub use runtime::Framework;

/// The highest score a Score plugin gives a node (after normalisation).
pub const MAX_NODE_SCORE: i64 = 100;

/// How an extension point answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    Success,
    /// An internal problem; the pod is retried with backoff.
    Error,
    /// The node does not fit now; preemption may help.
    Unschedulable,
    /// The node cannot fit whatever is preempted.
    UnschedulableAndUnresolvable,
    /// The plugin has nothing to do for this pod (its Filter/Score are skipped).
    Skip,
}

/// A status's reasons: one kept inline (the common case: a plugin's constant,
/// so rejecting a node allocates nothing) or several.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Reasons {
    #[default]
    None,
    One(Cow<'static, str>),
    Many(Vec<Cow<'static, str>>),
}

impl std::ops::Deref for Reasons {
    type Target = [Cow<'static, str>];
    fn deref(&self) -> &Self::Target {
        match self {
            Reasons::None => &[],
            Reasons::One(r) => std::slice::from_ref(r),
            Reasons::Many(v) => v,
        }
    }
}

impl PartialEq<Vec<&str>> for Reasons {
    fn eq(&self, other: &Vec<&str>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl From<Vec<String>> for Reasons {
    fn from(mut v: Vec<String>) -> Self {
        match v.len() {
            0 => Reasons::None,
            1 => Reasons::One(Cow::Owned(v.remove(0))),
            _ => Reasons::Many(v.into_iter().map(Cow::Owned).collect()),
        }
    }
}

/// A plugin's answer with its reasons (upstream `framework.Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    /// Reasons; usually a plugin's constant, so rejecting a node allocates no string.
    pub reasons: Reasons,
    /// The plugin that answered (set by the runtime).
    pub plugin: &'static str,
}

impl Status {
    pub fn success() -> Self {
        Status { code: Code::Success, reasons: Reasons::None, plugin: "" }
    }
    pub fn skip() -> Self {
        Status { code: Code::Skip, reasons: Reasons::None, plugin: "" }
    }
    pub fn unschedulable(reason: impl Into<Cow<'static, str>>) -> Self {
        Status { code: Code::Unschedulable, reasons: Reasons::One(reason.into()), plugin: "" }
    }
    pub fn unresolvable(reason: impl Into<Cow<'static, str>>) -> Self {
        Status { code: Code::UnschedulableAndUnresolvable, reasons: Reasons::One(reason.into()), plugin: "" }
    }
    pub fn error(reason: impl Into<Cow<'static, str>>) -> Self {
        Status { code: Code::Error, reasons: Reasons::One(reason.into()), plugin: "" }
    }
    pub fn with_reasons(code: Code, reasons: Vec<String>) -> Self {
        Status { code, reasons: reasons.into(), plugin: "" }
    }
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }
    pub fn is_rejected(&self) -> bool {
        matches!(self.code, Code::Unschedulable | Code::UnschedulableAndUnresolvable)
    }
    /// Reasons joined as upstream's `Status.Message()`.
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

/// Data plugins keep for one scheduling cycle, keyed by plugin name (a short
/// list: Filter reads it for every node, and a scan beats hashing the name).
#[derive(Default)]
pub struct CycleState {
    data: Vec<(&'static str, Box<dyn Any + Send + Sync>)>,
    /// Plugins whose PreFilter said Skip.
    pub skip_filter: HashSet<&'static str>,
    /// `skip_filter` by position in the framework's Filter list, set after PreFilter.
    pub(crate) filter_skip: Vec<bool>,
    /// Positions of the Filters that run, the selective ones first, set after PreFilter.
    pub(crate) filter_order: Option<Vec<usize>>,
    /// Plugins whose PreScore said Skip.
    pub skip_score: HashSet<&'static str>,
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleState").field("keys", &self.data.iter().map(|(k, _)| k).collect::<Vec<_>>()).finish()
    }
}

impl CycleState {
    fn position(&self, key: &str) -> Option<usize> {
        self.data.iter().position(|(k, _)| std::ptr::eq(*k, key) || *k == key)
    }
    pub fn write<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        match self.position(key) {
            Some(i) => self.data[i].1 = Box::new(value),
            None => self.data.push((key, Box::new(value))),
        }
    }
    pub fn read<T: Any + Send + Sync>(&self, key: &'static str) -> Option<&T> {
        self.position(key).and_then(|i| self.data[i].1.downcast_ref())
    }
    pub fn read_mut<T: Any + Send + Sync>(&mut self, key: &'static str) -> Option<&mut T> {
        self.position(key).and_then(|i| self.data[i].1.downcast_mut())
    }
}

/// Every plugin: a name, and which extension points it implements.
pub trait Plugin: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn as_pre_filter(self: Arc<Self>) -> Option<Arc<dyn PreFilterPlugin>> {
        None
    }
    fn as_filter(self: Arc<Self>) -> Option<Arc<dyn FilterPlugin>> {
        None
    }
    fn as_post_filter(self: Arc<Self>) -> Option<Arc<dyn PostFilterPlugin>> {
        None
    }
    fn as_pre_score(self: Arc<Self>) -> Option<Arc<dyn PreScorePlugin>> {
        None
    }
    fn as_score(self: Arc<Self>) -> Option<Arc<dyn ScorePlugin>> {
        None
    }
    fn as_reserve(self: Arc<Self>) -> Option<Arc<dyn ReservePlugin>> {
        None
    }
    fn as_bind(self: Arc<Self>) -> Option<Arc<dyn BindPlugin>> {
        None
    }
}

/// Runs once per cycle before any Filter; may reject the pod outright.
pub trait PreFilterPlugin: Plugin {
    fn pre_filter(&self, state: &mut CycleState, pod: &PodInfo, cache: &Cache) -> Status;
}

/// Decides whether `pod` can run on `node`.
pub trait FilterPlugin: Plugin {
    fn filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status;
}

/// What a PostFilter achieved: a node the pod is nominated to.
#[derive(Debug, Clone, Default)]
pub struct PostFilterResult {
    pub nominated_node: Option<String>,
    /// Pods to delete to make room.
    pub victims: Vec<Arc<PodInfo>>,
}

/// Runs when no node fits (preemption).
pub trait PostFilterPlugin: Plugin {
    fn post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        cache: &Cache,
        fwk: &Framework,
        statuses: &HashMap<String, Status>,
    ) -> (PostFilterResult, Status);
}

/// Runs once per cycle over the feasible nodes before scoring.
pub trait PreScorePlugin: Plugin {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, nodes: &[&NodeInfo], cache: &Cache) -> Status;
}

/// Ranks a feasible node; `normalize` maps raw scores to 0..=MAX_NODE_SCORE.
pub trait ScorePlugin: Plugin {
    fn score(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo, cache: &Cache) -> i64;
    fn normalize(&self, _state: &CycleState, _pod: &PodInfo, _scores: &mut [i64]) {}
}

/// Claims resources for the chosen node before binding.
pub trait ReservePlugin: Plugin {
    fn reserve(&self, state: &CycleState, pod: &PodInfo, node: &str) -> Status;
    fn unreserve(&self, state: &CycleState, pod: &PodInfo, node: &str);
}

/// Writes the decision (`pods/binding`).
#[async_trait::async_trait]
pub trait BindPlugin: Plugin {
    async fn bind(&self, pod: &PodInfo, node: &str) -> Status;
}

/// upstream `DefaultNormalizeScore`: scales to 0..=max by the highest score, optionally reversed.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        *s = MAX_NODE_SCORE * *s / max;
        if reverse {
            *s = MAX_NODE_SCORE - *s;
        }
    }
}
