//! One DaemonSet sync: settle the revision, make each eligible node run
//! exactly one pod and others none, roll old pods within maxUnavailable /
//! maxSurge (unless OnDelete), and write status.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use rustkube_api::label_selector::LabelSelector;

use super::placement::{node_of, pin_to_node, should_run};
use super::{DaemonSetController, Error};
use crate::cached_pod::CachedPod;
use crate::claim::{controller_of, controller_ref, is_conflict, is_not_found};
use crate::controller::Action;
use crate::deployment::util::scaled_value;
use crate::events::NORMAL;
use crate::informer::split_key;
use crate::statefulset::revision::{REVISION_HASH_LABEL, revision_name, stores, template_data};

fn hash_of(pod: &CachedPod) -> &str {
    pod.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).map(String::as_str).unwrap_or("")
}

fn terminal(pod: &CachedPod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed" | "Succeeded"))
}

impl DaemonSetController {
    /// The pods API, decoding responses as `P` (`Pod`, or `CachedPod` for claims).
    fn pods_api<P>(&self, ns: &str) -> Api<P>
    where
        P: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), ns)
    }

    /// The revision of the current template (created when new); returns its hash.
    async fn revision(&self, ds: &DaemonSet) -> Result<String, Error> {
        let ns = ds.namespace().unwrap_or_default();
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let template = ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        let data = template_data(&template);
        let owned: Vec<Arc<ControllerRevision>> = self
            .revisions
            .list_namespace(&ns)
            .into_iter()
            .filter(|r| controller_of(&r.metadata).is_some_and(|o| o.uid == uid))
            .collect();
        let prefix = format!("{}-", ds.name_any());
        let hash = |r: &ControllerRevision| r.name_any().strip_prefix(&prefix).unwrap_or_default().to_owned();
        let max = owned.iter().map(|r| r.revision).max().unwrap_or(0);
        let api: Api<ControllerRevision> = Api::namespaced(self.client.clone(), &ns);
        if let Some(existing) = owned.iter().find(|r| stores(r, &data)) {
            if existing.revision != max {
                let mut copy = (**existing).clone();
                copy.revision = max + 1;
                api.replace(&copy.name_any(), &PostParams::default(), &copy).await.map_err(|source| {
                    Error::ApiFailed { action: "updating", kind: "ControllerRevision", name: copy.name_any(), source }
                })?;
            }
            return Ok(hash(existing));
        }
        let name = revision_name(&ds.name_any(), &data, ds.status.as_ref().and_then(|s| s.collision_count));
        let rev = ControllerRevision {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                labels: ds.spec.as_ref().and_then(|s| s.selector.match_labels.clone()),
                owner_references: Some(vec![controller_ref(ds)]),
                ..Default::default()
            },
            data: Some(RawExtension(data)),
            revision: max + 1,
        };
        match api.create(&PostParams::default(), &rev).await {
            Ok(r) => Ok(hash(&r)),
            Err(err) if is_conflict(&err) => Ok(name.strip_prefix(&prefix).unwrap_or_default().to_owned()),
            Err(source) => Err(Error::ApiFailed { action: "creating", kind: "ControllerRevision", name, source }),
        }
    }

    pub(super) async fn sync(&self, key: &str) -> Result<Action, Error> {
        let (ns, name) = split_key(key);
        let Some(cached) = self.sets.get(ns, name) else { return Ok(Action::Done) };
        let ds = (*cached).clone();
        if ds.metadata.deletion_timestamp.is_some() {
            return Ok(Action::Done);
        }
        let spec = ds.spec.clone().unwrap_or_default();
        let selector = LabelSelector::from_meta(Some(&spec.selector)).unwrap_or_else(|_| LabelSelector::nothing());
        let api: Api<DaemonSet> = Api::namespaced(self.client.clone(), ns);
        let uid = ds.metadata.uid.clone();
        let recheck = || async move {
            let fresh = api.get_opt(name).await?;
            Ok(fresh.is_some_and(|f| f.metadata.uid == uid && f.metadata.deletion_timestamp.is_none()))
        };
        let pods = crate::claim::claim(
            &self.pods_api(ns),
            &ds,
            self.pods.list_namespace(ns),
            |p: &CachedPod| !selector.is_everything() && selector.matches_opt(p.metadata.labels.as_ref()),
            recheck,
        )
        .await?;
        let hash = self.revision(&ds).await?;
        let template_spec = spec.template.spec.clone().unwrap_or_default();
        let nodes = self.nodes.list();
        let eligible: HashMap<String, bool> =
            nodes.iter().map(|n| (n.name_any(), should_run(&template_spec, n))).collect();
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let now = jiff::Timestamp::now();
        let available = |p: &CachedPod| crate::pods::is_available(p, min_ready, now);

        let mut by_node: HashMap<String, Vec<Arc<CachedPod>>> = HashMap::new();
        let mut to_delete: Vec<Arc<CachedPod>> = Vec::new();
        let mut to_create: Vec<String> = Vec::new();
        for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            match node_of(pod) {
                Some(node) if eligible.get(&node) == Some(&true) && !terminal(pod) => {
                    by_node.entry(node).or_default().push(Arc::clone(pod))
                }
                _ => to_delete.push(Arc::clone(pod)),
            }
        }
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let on_delete = strategy.type_.as_deref() == Some("OnDelete");
        let desired = i32::try_from(eligible.values().filter(|e| **e).count()).unwrap_or(0);
        let ru = strategy.rolling_update.clone().unwrap_or_default();
        let max_surge = if on_delete { 0 } else { scaled_value(ru.max_surge.as_ref(), "0", desired, true) };
        let max_unavailable = if on_delete {
            0
        } else {
            scaled_value(ru.max_unavailable.as_ref(), "1", desired, true).max(i32::from(max_surge == 0))
        };

        let mut unavailable = 0;
        let mut old_nodes: Vec<(String, Arc<CachedPod>, bool)> = Vec::new();
        let mut surging = 0;
        for (node, ok) in &eligible {
            if !ok {
                continue;
            }
            let mut on_node = by_node.remove(node).unwrap_or_default();
            on_node.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
            if on_node.is_empty() {
                to_create.push(node.clone());
                unavailable += 1;
                continue;
            }
            let new = on_node.iter().find(|p| hash_of(p) == hash).cloned();
            let old: Vec<Arc<CachedPod>> = on_node.iter().filter(|p| hash_of(p) != hash).cloned().collect();
            match (new, old.first().cloned()) {
                (Some(new), Some(_)) if !on_delete => {
                    // A surge pair: drop the old pods once the new one is available.
                    surging += 1;
                    if available(&new) {
                        to_delete.extend(old);
                    }
                    if !available(&new) {
                        unavailable += 1;
                    }
                }
                (Some(new), _) => {
                    to_delete.extend(on_node.into_iter().filter(|p| p.metadata.uid != new.metadata.uid));
                    if !available(&new) {
                        unavailable += 1;
                    }
                }
                (None, Some(oldest)) => {
                    to_delete.extend(old.into_iter().skip(1));
                    let ok = available(&oldest);
                    if !ok {
                        unavailable += 1;
                    }
                    if !on_delete {
                        old_nodes.push((node.clone(), oldest, ok));
                    }
                }
                (None, None) => {}
            }
        }
        // Rolling update of nodes still on an old revision.
        old_nodes.sort_by_key(|(_, _, ok)| *ok);
        let mut budget = max_unavailable - unavailable;
        let mut surge_budget = max_surge - surging;
        for (node, pod, ok) in old_nodes {
            if max_surge > 0 {
                if surge_budget > 0 {
                    to_create.push(node);
                    surge_budget -= 1;
                }
                continue;
            }
            if !ok {
                to_delete.push(pod);
            } else if budget > 0 {
                to_delete.push(pod);
                budget -= 1;
            }
        }

        for pod in &to_delete {
            let dp = DeleteParams {
                preconditions: Some(kube::api::Preconditions { uid: pod.uid(), resource_version: None }),
                ..Default::default()
            };
            match self.pods_api::<CachedPod>(ns).delete(&pod.name_any(), &dp).await {
                Ok(_) => {
                    self.recorder.event(&ds, NORMAL, "SuccessfulDelete", format!("Deleted pod: {}", pod.name_any()))
                }
                Err(err) if is_not_found(&err) => {}
                Err(source) => {
                    return Err(Error::ApiFailed { action: "deleting", kind: "Pod", name: pod.name_any(), source });
                }
            }
        }
        for node in &to_create {
            let mut pod = crate::pods::pod_from_template(&spec.template, ns, &ds.name_any(), controller_ref(&ds));
            let labels = pod.metadata.labels.get_or_insert_with(Default::default);
            labels.insert(REVISION_HASH_LABEL.to_owned(), hash.clone());
            labels.insert("pod-template-generation".to_owned(), ds.metadata.generation.unwrap_or(0).to_string());
            pin_to_node(pod.spec.get_or_insert_with(Default::default), node);
            match self.pods_api(ns).create(&PostParams::default(), &pod).await {
                Ok(p) => self.recorder.event(&ds, NORMAL, "SuccessfulCreate", format!("Created pod: {}", p.name_any())),
                Err(source) => {
                    return Err(Error::ApiFailed {
                        action: "creating",
                        kind: "Pod",
                        name: format!("for node {node}"),
                        source,
                    });
                }
            }
        }
        self.update_status(&ds, &hash, &eligible, desired).await?;
        Ok(Action::Done)
    }

    async fn update_status(
        &self,
        ds: &DaemonSet,
        hash: &str,
        eligible: &HashMap<String, bool>,
        desired: i32,
    ) -> Result<(), Error> {
        let ns = ds.namespace().unwrap_or_default();
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let pods: Vec<Arc<CachedPod>> = self
            .pods
            .list_namespace(&ns)
            .into_iter()
            .filter(|p| {
                controller_of(&p.metadata).is_some_and(|r| r.uid == uid) && p.metadata.deletion_timestamp.is_none()
            })
            .collect();
        let min_ready = ds.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let now = jiff::Timestamp::now();
        let mut scheduled = std::collections::HashSet::new();
        let (mut misscheduled, mut ready, mut available, mut updated) = (0, 0, 0, 0);
        for p in &pods {
            let Some(node) = node_of(p) else { continue };
            if eligible.get(&node) != Some(&true) {
                misscheduled += 1;
                continue;
            }
            if !scheduled.insert(node) {
                continue;
            }
            if crate::pods::is_ready(p) {
                ready += 1;
            }
            if crate::pods::is_available(p, min_ready, now) {
                available += 1;
            }
            if hash_of(p) == hash {
                updated += 1;
            }
        }
        let current = i32::try_from(scheduled.len()).unwrap_or(0);
        let old = ds.status.clone().unwrap_or_default();
        let status = DaemonSetStatus {
            current_number_scheduled: current,
            desired_number_scheduled: desired,
            number_misscheduled: misscheduled,
            number_ready: ready,
            number_available: Some(available),
            number_unavailable: Some((desired - available).max(0)),
            updated_number_scheduled: Some(updated),
            observed_generation: ds.metadata.generation,
            collision_count: old.collision_count,
            conditions: old.conditions.clone(),
        };
        if Some(&status) == ds.status.as_ref() {
            return Ok(());
        }
        let mut copy = ds.clone();
        copy.status = Some(status);
        match Api::<DaemonSet>::namespaced(self.client.clone(), &ns)
            .replace_status(&ds.name_any(), &PostParams::default(), &copy)
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(source) => {
                Err(Error::ApiFailed { action: "updating status of", kind: "DaemonSet", name: ds.name_any(), source })
            }
        }
    }
}
