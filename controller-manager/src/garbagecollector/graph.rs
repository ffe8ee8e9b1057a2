//! The ownership graph, as upstream's `GraphBuilder`: one node per object
//! seen by any informer (identity, owners, deletion state) and the reverse
//! edges owner → dependents, which may point at owners not (yet) seen.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// Which object a node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// What the collector knows of one object.
#[derive(Debug, Clone)]
pub struct Node {
    pub identity: Identity,
    pub owners: Vec<OwnerReference>,
    pub being_deleted: bool,
    /// Deleting with `foregroundDeletion`: dependents go first.
    pub deleting_dependents: bool,
    pub orphan_finalizer: bool,
}

impl Node {
    pub fn from_meta(api_version: &str, kind: &str, meta: &ObjectMeta) -> Self {
        let finalizers = meta.finalizers.as_deref().unwrap_or_default();
        let being_deleted = meta.deletion_timestamp.is_some();
        Node {
            identity: Identity {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                namespace: meta.namespace.clone().unwrap_or_default(),
                name: meta.name.clone().unwrap_or_default(),
                uid: meta.uid.clone().unwrap_or_default(),
            },
            owners: meta.owner_references.clone().unwrap_or_default(),
            being_deleted,
            deleting_dependents: being_deleted && finalizers.iter().any(|f| f == FOREGROUND),
            orphan_finalizer: being_deleted && finalizers.iter().any(|f| f == ORPHAN),
        }
    }
}

/// What processing an event asks the collector to look at.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Work {
    pub attempt_to_delete: Vec<String>,
    pub attempt_to_orphan: Vec<String>,
}

/// Nodes by uid plus owner → dependents edges.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The uids of objects naming `uid` as an owner.
    pub fn dependents(&self, uid: &str) -> Vec<String> {
        self.dependents.get(uid).map(|d| d.iter().cloned().collect()).unwrap_or_default()
    }

    /// Dependents whose reference to `uid` has blockOwnerDeletion set.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<Node> {
        self.dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|d| self.nodes.get(d))
            .filter(|n| n.owners.iter().any(|o| o.uid == uid && o.block_owner_deletion == Some(true)))
            .cloned()
            .collect()
    }

    fn unlink(&mut self, owner: &str, dependent: &str) {
        if let Some(set) = self.dependents.get_mut(owner) {
            set.remove(dependent);
            if set.is_empty() {
                self.dependents.remove(owner);
            }
        }
    }

    /// Records an added or updated object.
    pub fn upsert(&mut self, node: Node) -> Work {
        let mut work = Work::default();
        let uid = node.identity.uid.clone();
        if uid.is_empty() {
            return work;
        }
        let old = self.nodes.remove(&uid);
        let old_owners: HashSet<String> = old.iter().flat_map(|n| n.owners.iter().map(|o| o.uid.clone())).collect();
        let new_owners: HashSet<String> = node.owners.iter().map(|o| o.uid.clone()).collect();
        for removed in old_owners.difference(&new_owners) {
            self.unlink(removed, &uid);
            // An owner waiting for its dependents may now be free to go.
            if self.nodes.get(removed).is_some_and(|o| o.deleting_dependents) {
                work.attempt_to_delete.push(removed.clone());
            }
        }
        for added in new_owners.difference(&old_owners) {
            self.dependents.entry(added.clone()).or_default().insert(uid.clone());
        }
        // A dependent whose owner was never seen may be dangling.
        if node.owners.iter().any(|o| !self.nodes.contains_key(&o.uid)) {
            work.attempt_to_delete.push(uid.clone());
        }
        // A dependent of an owner deleting in the foreground must go.
        if node.owners.iter().any(|o| self.nodes.get(&o.uid).is_some_and(|n| n.deleting_dependents)) {
            work.attempt_to_delete.push(uid.clone());
        }
        if node.deleting_dependents {
            work.attempt_to_delete.push(uid.clone());
        }
        if node.orphan_finalizer {
            work.attempt_to_orphan.push(uid.clone());
        }
        self.nodes.insert(uid, node);
        work
    }

    /// Records a deleted object: its dependents may now be dangling, and an
    /// owner deleting in the foreground may be unblocked.
    pub fn remove(&mut self, uid: &str) -> Work {
        let mut work = Work::default();
        let Some(node) = self.nodes.remove(uid) else { return work };
        for owner in &node.owners {
            self.unlink(&owner.uid, uid);
            if self.nodes.get(&owner.uid).is_some_and(|o| o.deleting_dependents) {
                work.attempt_to_delete.push(owner.uid.clone());
            }
        }
        work.attempt_to_delete.extend(self.dependents(uid));
        work
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(uid: &str, owners: &[(&str, bool)]) -> ObjectMeta {
        ObjectMeta {
            name: Some(uid.into()),
            namespace: Some("ns".into()),
            uid: Some(uid.into()),
            owner_references: Some(
                owners
                    .iter()
                    .map(|(u, block)| OwnerReference {
                        api_version: "v1".into(),
                        kind: "X".into(),
                        name: u.to_string(),
                        uid: u.to_string(),
                        block_owner_deletion: Some(*block),
                        controller: Some(true),
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn deleting_an_owner_queues_its_dependents() {
        let mut g = Graph::default();
        g.upsert(Node::from_meta("v1", "X", &meta("owner", &[])));
        let w = g.upsert(Node::from_meta("v1", "X", &meta("dep", &[("owner", true)])));
        assert!(w.attempt_to_delete.is_empty(), "owner is known, nothing to check: {w:?}");
        let w = g.remove("owner");
        assert_eq!(w.attempt_to_delete, vec!["dep".to_owned()]);
    }

    #[test]
    fn unseen_owner_makes_the_dependent_suspect() {
        let mut g = Graph::default();
        let w = g.upsert(Node::from_meta("v1", "X", &meta("dep", &[("ghost", false)])));
        assert_eq!(w.attempt_to_delete, vec!["dep".to_owned()]);
    }

    #[test]
    fn foreground_owner_is_requeued_when_a_blocking_dependent_goes() {
        let mut g = Graph::default();
        let mut m = meta("owner", &[]);
        m.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()));
        m.finalizers = Some(vec![FOREGROUND.into()]);
        g.upsert(Node::from_meta("v1", "X", &meta("dep", &[("owner", true)])));
        let w = g.upsert(Node::from_meta("v1", "X", &m));
        assert_eq!(w.attempt_to_delete, vec!["owner".to_owned()]);
        assert_eq!(g.blocking_dependents("owner").len(), 1);
        let w = g.remove("dep");
        assert_eq!(w.attempt_to_delete, vec!["owner".to_owned()]);
        assert!(g.blocking_dependents("owner").is_empty());
    }
}
