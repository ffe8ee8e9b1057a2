//! One StatefulSet sync, as upstream's `defaultStatefulSetControl`: settle
//! the revisions, create missing pods (and their claims) in ordinal order,
//! remove condemned pods highest ordinal first, then roll pods onto the
//! update revision from the highest ordinal down to the partition, one at a
//! time; OrderedReady waits for each pod to be Running and Ready before the
//! next step.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use rustkube_api::label_selector::LabelSelector;

use super::revision::{REVISION_HASH_LABEL, revision_data, revision_name, stores};
use super::{Error, StatefulSetController};
use crate::cached_pod::CachedPod;
use crate::claim::{controller_of, controller_ref, is_conflict, is_not_found};
use crate::controller::Action;
use crate::events::NORMAL;
use crate::informer::split_key;

const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

fn api_err(action: &'static str, kind: &'static str, name: &str) -> impl FnOnce(kube::Error) -> Error {
    let name = name.to_owned();
    move |source| Error::ApiFailed { action, kind, name, source }
}

/// The ordinal of `pod` if it is a member `SET-N` of the set.
fn ordinal(set: &str, pod: &CachedPod) -> Option<i32> {
    pod.metadata.name.as_deref()?.strip_prefix(set)?.strip_prefix('-')?.parse().ok().filter(|o: &i32| *o >= 0)
}

fn running_and_ready(pod: &CachedPod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") && crate::pods::is_ready(pod)
}

fn terminal(pod: &CachedPod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed" | "Succeeded"))
}

fn revision_of(pod: &CachedPod) -> &str {
    pod.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).map(String::as_str).unwrap_or("")
}

/// The template a revision stores.
fn template_of(rev: &ControllerRevision) -> Option<k8s_openapi::api::core::v1::PodTemplateSpec> {
    let RawExtension(data) = rev.data.as_ref()?;
    let mut t = data.get("spec")?.get("template")?.clone();
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

impl StatefulSetController {
    /// The pods API, decoding responses as `P` (`Pod`, or `CachedPod` for claims).
    fn pods_api<P>(&self, ns: &str) -> Api<P>
    where
        P: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), ns)
    }

    pub(super) async fn sync(&self, key: &str) -> Result<Action, Error> {
        let (ns, name) = split_key(key);
        let Some(cached) = self.sets.get(ns, name) else { return Ok(Action::Done) };
        let set = (*cached).clone();
        let spec = set.spec.clone().unwrap_or_default();
        let selector = LabelSelector::from_meta(Some(&spec.selector)).unwrap_or_else(|_| LabelSelector::nothing());
        let sets_api: Api<StatefulSet> = Api::namespaced(self.client.clone(), ns);
        let uid = set.metadata.uid.clone();
        let recheck = || async move {
            let fresh = sets_api.get_opt(name).await?;
            Ok(fresh.is_some_and(|f| f.metadata.uid == uid && f.metadata.deletion_timestamp.is_none()))
        };
        let pods = crate::claim::claim(
            &self.pods_api(ns),
            &set,
            self.pods.list_namespace(ns),
            |p: &CachedPod| {
                !selector.is_everything()
                    && selector.matches_opt(p.metadata.labels.as_ref())
                    && ordinal(name, p).is_some()
            },
            recheck,
        )
        .await?;
        let (current, update) = self.revisions(&set).await?;
        if set.metadata.deletion_timestamp.is_none() {
            self.update_pods(&set, &pods, &current, &update).await?;
        }
        self.update_status(&set, &current, &update).await?;
        Ok(Action::Done)
    }

    /// The current and update revisions, creating the update revision when new.
    async fn revisions(&self, set: &StatefulSet) -> Result<(ControllerRevision, ControllerRevision), Error> {
        let ns = set.namespace().unwrap_or_default();
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let owned: Vec<Arc<ControllerRevision>> = self
            .revisions
            .list_namespace(&ns)
            .into_iter()
            .filter(|r| controller_of(&r.metadata).is_some_and(|o| o.uid == uid))
            .collect();
        let data = revision_data(set);
        let max = owned.iter().map(|r| r.revision).max().unwrap_or(0);
        let api: Api<ControllerRevision> = Api::namespaced(self.client.clone(), &ns);
        let status = set.status.clone().unwrap_or_default();
        let update = match owned.iter().find(|r| stores(r, &data)) {
            Some(existing) if existing.revision == max => (**existing).clone(),
            Some(existing) => {
                // Rolling back to an older template: it becomes the newest revision.
                let mut copy = (**existing).clone();
                copy.revision = max + 1;
                api.replace(&copy.name_any(), &PostParams::default(), &copy).await.map_err(api_err(
                    "updating",
                    "ControllerRevision",
                    &copy.name_any(),
                ))?
            }
            None => {
                let rev = ControllerRevision {
                    metadata: ObjectMeta {
                        name: Some(revision_name(&set.name_any(), &data, status.collision_count)),
                        namespace: Some(ns.clone()),
                        labels: set.spec.as_ref().and_then(|s| s.selector.match_labels.clone()),
                        owner_references: Some(vec![controller_ref(set)]),
                        ..Default::default()
                    },
                    data: Some(RawExtension(data.clone())),
                    revision: max + 1,
                };
                match api.create(&PostParams::default(), &rev).await {
                    Ok(r) => r,
                    Err(err) if is_conflict(&err) => {
                        let existing = api.get(&rev.name_any()).await.map_err(api_err(
                            "getting",
                            "ControllerRevision",
                            &rev.name_any(),
                        ))?;
                        if !stores(&existing, &data) {
                            // A hash collision: bump collisionCount and try again next sync.
                            let mut copy = set.clone();
                            let st = copy.status.get_or_insert_with(Default::default);
                            st.collision_count = Some(st.collision_count.unwrap_or(0) + 1);
                            Api::<StatefulSet>::namespaced(self.client.clone(), &ns)
                                .replace_status(&set.name_any(), &PostParams::default(), &copy)
                                .await
                                .map_err(api_err("updating status of", "StatefulSet", &set.name_any()))?;
                        }
                        existing
                    }
                    Err(source) => {
                        return Err(Error::ApiFailed {
                            action: "creating",
                            kind: "ControllerRevision",
                            name: rev.name_any(),
                            source,
                        });
                    }
                }
            }
        };
        let current = status
            .current_revision
            .as_deref()
            .and_then(|n| owned.iter().find(|r| r.metadata.name.as_deref() == Some(n)))
            .map(|r| (**r).clone())
            .unwrap_or_else(|| update.clone());
        self.truncate_history(set, &owned, &current, &update).await;
        Ok((current, update))
    }

    async fn truncate_history(
        &self,
        set: &StatefulSet,
        owned: &[Arc<ControllerRevision>],
        current: &ControllerRevision,
        update: &ControllerRevision,
    ) {
        let limit = usize::try_from(set.spec.as_ref().and_then(|s| s.revision_history_limit).unwrap_or(10).max(0))
            .unwrap_or(10);
        let live: Vec<String> = self
            .pods
            .list_namespace(&set.namespace().unwrap_or_default())
            .iter()
            .map(|p| revision_of(p).to_owned())
            .collect();
        let mut history: Vec<&Arc<ControllerRevision>> = owned
            .iter()
            .filter(|r| r.metadata.name != current.metadata.name && r.metadata.name != update.metadata.name)
            .filter(|r| !live.iter().any(|l| Some(l) == r.metadata.name.as_ref()))
            .collect();
        if history.len() <= limit {
            return;
        }
        history.sort_by_key(|r| r.revision);
        let api: Api<ControllerRevision> = Api::namespaced(self.client.clone(), &set.namespace().unwrap_or_default());
        for r in history.into_iter().take(history_len_excess(owned.len(), limit)) {
            let _ = api.delete(&r.name_any(), &DeleteParams::default()).await;
        }
    }

    /// A pod for ordinal `ord` from `revision`'s template.
    fn new_pod(&self, set: &StatefulSet, revision: &ControllerRevision, ord: i32) -> Pod {
        let ns = set.namespace().unwrap_or_default();
        let template =
            template_of(revision).unwrap_or_else(|| set.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default());
        let name = format!("{}-{ord}", set.name_any());
        let mut pod = crate::pods::pod_from_template(&template, &ns, &set.name_any(), controller_ref(set));
        pod.metadata.generate_name = None;
        pod.metadata.name = Some(name.clone());
        let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
        labels.insert(POD_NAME_LABEL.to_owned(), name.clone());
        labels.insert(POD_INDEX_LABEL.to_owned(), ord.to_string());
        labels.insert(REVISION_HASH_LABEL.to_owned(), revision.name_any());
        let spec = pod.spec.get_or_insert_with(Default::default);
        spec.hostname = Some(name.clone());
        spec.subdomain = set.spec.as_ref().and_then(|s| s.service_name.clone()).filter(|s| !s.is_empty());
        for claim in set.spec.as_ref().and_then(|s| s.volume_claim_templates.clone()).unwrap_or_default() {
            let claim_name = claim.metadata.name.clone().unwrap_or_default();
            let volumes = spec.volumes.get_or_insert_with(Vec::new);
            volumes.retain(|v| v.name != claim_name);
            volumes.push(Volume {
                name: claim_name.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: format!("{claim_name}-{name}"),
                    read_only: None,
                }),
                ..Default::default()
            });
        }
        pod
    }

    /// Creates the claims of `pod` that do not exist yet.
    async fn create_claims(&self, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
        let ns = set.namespace().unwrap_or_default();
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), &ns);
        let delete_with_set = set
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
            .and_then(|p| p.when_deleted.as_deref())
            == Some("Delete");
        for template in set.spec.as_ref().and_then(|s| s.volume_claim_templates.clone()).unwrap_or_default() {
            let name = format!("{}-{}", template.metadata.name.clone().unwrap_or_default(), pod.name_any());
            if api.get_opt(&name).await.map_err(api_err("getting", "PersistentVolumeClaim", &name))?.is_some() {
                continue;
            }
            let mut labels = template.metadata.labels.clone().unwrap_or_default();
            labels.extend(set.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default());
            let owners = delete_with_set.then(|| {
                vec![OwnerReference { controller: Some(true), block_owner_deletion: Some(true), ..controller_ref(set) }]
            });
            let claim = PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    owner_references: owners,
                    ..Default::default()
                },
                spec: template.spec.clone(),
                status: None,
            };
            match api.create(&PostParams::default(), &claim).await {
                Ok(_) => self.recorder.event(
                    set,
                    NORMAL,
                    "SuccessfulCreate",
                    format!("create Claim {name} Pod {} in StatefulSet {} success", pod.name_any(), set.name_any()),
                ),
                Err(err) if is_conflict(&err) => {}
                Err(source) => {
                    return Err(Error::ApiFailed { action: "creating", kind: "PersistentVolumeClaim", name, source });
                }
            }
        }
        Ok(())
    }

    /// Gives the claims of a condemned pod to the pod when `whenScaled: Delete`.
    async fn release_claims_on_scale_down(&self, set: &StatefulSet, pod: &CachedPod) {
        let when_scaled = set
            .spec
            .as_ref()
            .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
            .and_then(|p| p.when_scaled.as_deref());
        if when_scaled != Some("Delete") {
            return;
        }
        let api: Api<PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &set.namespace().unwrap_or_default());
        for template in set.spec.as_ref().and_then(|s| s.volume_claim_templates.clone()).unwrap_or_default() {
            let name = format!("{}-{}", template.metadata.name.clone().unwrap_or_default(), pod.name_any());
            let owner = OwnerReference {
                api_version: "v1".into(),
                kind: "Pod".into(),
                name: pod.name_any(),
                uid: pod.uid().unwrap_or_default(),
                controller: Some(false),
                block_owner_deletion: Some(true),
            };
            let patch = serde_json::json!({"metadata": {"ownerReferences": [owner]}});
            let _ = api.patch(&name, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch)).await;
        }
    }

    async fn create_pod(&self, set: &StatefulSet, pod: &Pod) -> Result<(), Error> {
        self.create_claims(set, pod).await?;
        match self.pods_api(&set.namespace().unwrap_or_default()).create(&PostParams::default(), pod).await {
            Ok(_) => {
                self.recorder.event(
                    set,
                    NORMAL,
                    "SuccessfulCreate",
                    format!("create Pod {} in StatefulSet {} successful", pod.name_any(), set.name_any()),
                );
                Ok(())
            }
            Err(err) if is_conflict(&err) => Ok(()),
            Err(source) => Err(Error::ApiFailed { action: "creating", kind: "Pod", name: pod.name_any(), source }),
        }
    }

    async fn delete_pod(&self, set: &StatefulSet, pod: &CachedPod) -> Result<(), Error> {
        let dp = DeleteParams {
            preconditions: Some(kube::api::Preconditions { uid: pod.uid(), resource_version: None }),
            ..Default::default()
        };
        match self.pods_api::<CachedPod>(&set.namespace().unwrap_or_default()).delete(&pod.name_any(), &dp).await {
            Ok(_) => {
                self.recorder.event(
                    set,
                    NORMAL,
                    "SuccessfulDelete",
                    format!("delete Pod {} in StatefulSet {} successful", pod.name_any(), set.name_any()),
                );
                Ok(())
            }
            Err(err) if is_not_found(&err) => Ok(()),
            Err(source) => Err(Error::ApiFailed { action: "deleting", kind: "Pod", name: pod.name_any(), source }),
        }
    }

    async fn update_pods(
        &self,
        set: &StatefulSet,
        pods: &[Arc<CachedPod>],
        current: &ControllerRevision,
        update: &ControllerRevision,
    ) -> Result<(), Error> {
        let spec = set.spec.clone().unwrap_or_default();
        let replicas = spec.replicas.unwrap_or(1).max(0);
        let ordered = spec.pod_management_policy.as_deref() != Some("Parallel");
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let on_delete = strategy.type_.as_deref() == Some("OnDelete");
        let partition = strategy.rolling_update.as_ref().and_then(|r| r.partition).unwrap_or(0);
        let name = set.name_any();
        let mut members: BTreeMap<i32, Arc<CachedPod>> = BTreeMap::new();
        let mut condemned: Vec<(i32, Arc<CachedPod>)> = Vec::new();
        for p in pods {
            let Some(o) = ordinal(&name, p) else { continue };
            if o < replicas {
                members.insert(o, Arc::clone(p));
            } else {
                condemned.push((o, Arc::clone(p)));
            }
        }
        condemned.sort_by_key(|c| std::cmp::Reverse(c.0));

        // Create, replace and wait, lowest ordinal first.
        for ord in 0..replicas {
            match members.get(&ord) {
                None => {
                    // Ordinals below the partition keep the current revision (or update under OnDelete).
                    let rev = if !on_delete && ord < partition { current } else { update };
                    let rev = if on_delete && current.metadata.name != update.metadata.name { current } else { rev };
                    let pod = self.new_pod(set, rev, ord);
                    self.create_pod(set, &pod).await?;
                    if ordered {
                        return Ok(());
                    }
                }
                Some(pod) if terminal(pod) && pod.metadata.deletion_timestamp.is_none() => {
                    self.delete_pod(set, pod).await?;
                    if ordered {
                        return Ok(());
                    }
                }
                Some(pod) if ordered && (pod.metadata.deletion_timestamp.is_some() || !running_and_ready(pod)) => {
                    return Ok(());
                }
                Some(_) => {}
            }
        }
        // Scale down, highest ordinal first.
        for (_, pod) in &condemned {
            if pod.metadata.deletion_timestamp.is_some() {
                if ordered {
                    return Ok(());
                }
                continue;
            }
            self.release_claims_on_scale_down(set, pod).await;
            self.delete_pod(set, pod).await?;
            if ordered {
                return Ok(());
            }
        }
        if on_delete {
            return Ok(());
        }
        // Rolling update: highest ordinal first, down to the partition, one at a time.
        let update_name = update.name_any();
        for ord in (partition..replicas).rev() {
            let Some(pod) = members.get(&ord) else { return Ok(()) };
            if revision_of(pod) != update_name {
                if pod.metadata.deletion_timestamp.is_none() {
                    self.delete_pod(set, pod).await?;
                }
                return Ok(());
            }
            if !running_and_ready(pod) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn update_status(
        &self,
        set: &StatefulSet,
        current: &ControllerRevision,
        update: &ControllerRevision,
    ) -> Result<(), Error> {
        let ns = set.namespace().unwrap_or_default();
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let pods: Vec<Arc<CachedPod>> = self
            .pods
            .list_namespace(&ns)
            .into_iter()
            .filter(|p| {
                controller_of(&p.metadata).is_some_and(|r| r.uid == uid) && ordinal(&set.name_any(), p).is_some()
            })
            .collect();
        let min_ready = set.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
        let now = jiff::Timestamp::now();
        let count = |f: &dyn Fn(&CachedPod) -> bool| i32::try_from(pods.iter().filter(|p| f(p)).count()).unwrap_or(0);
        let replicas = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let old = set.status.clone().unwrap_or_default();
        let mut status = StatefulSetStatus {
            observed_generation: set.metadata.generation,
            replicas: count(&|p| p.metadata.deletion_timestamp.is_none()),
            ready_replicas: Some(count(&|p| running_and_ready(p))),
            available_replicas: Some(count(&|p| running_and_ready(p) && crate::pods::is_available(p, min_ready, now))),
            current_replicas: Some(count(&|p| revision_of(p) == current.name_any())),
            updated_replicas: Some(count(&|p| revision_of(p) == update.name_any())),
            current_revision: Some(current.name_any()),
            update_revision: Some(update.name_any()),
            collision_count: old.collision_count,
            conditions: old.conditions.clone(),
        };
        // The rollout is complete once every replica is updated and ready.
        if status.updated_replicas == Some(replicas)
            && status.ready_replicas == Some(replicas)
            && status.replicas == replicas
        {
            status.current_revision = status.update_revision.clone();
            status.current_replicas = status.updated_replicas;
        }
        if Some(&status) == set.status.as_ref() {
            return Ok(());
        }
        let mut copy = set.clone();
        copy.status = Some(status);
        match Api::<StatefulSet>::namespaced(self.client.clone(), &ns)
            .replace_status(&set.name_any(), &PostParams::default(), &copy)
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(source) => Err(Error::ApiFailed {
                action: "updating status of",
                kind: "StatefulSet",
                name: set.name_any(),
                source,
            }),
        }
    }
}

fn history_len_excess(total: usize, limit: usize) -> usize {
    total.saturating_sub(limit)
}
