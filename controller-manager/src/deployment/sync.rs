//! Syncing one deployment: claiming its replica sets, finding or creating
//! the new one (and its revision), proportional scaling, history cleanup
//! and status, as upstream's `sync.go`.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::PostParams;
use rustkube_api::label_selector::LabelSelector;

use super::util::*;
use super::{DeploymentController, Error, Family};
use crate::claim::{controller_ref, is_conflict};
use crate::controller::Action;
use crate::events::NORMAL;

impl DeploymentController {
    /// The replica sets `d` controls after adopting and releasing.
    pub(super) async fn claim_replica_sets(
        &self,
        d: &Deployment,
        selector: &LabelSelector,
    ) -> Result<Vec<ReplicaSet>, Error> {
        let namespace = d.namespace().unwrap_or_default();
        let candidates = self.replica_sets(&namespace);
        let api = self.deployment_api(&namespace);
        let name = d.name_any();
        let uid = d.metadata.uid.clone();
        let recheck = || async move {
            let fresh = api.get_opt(&name).await?;
            Ok(fresh.is_some_and(|f| f.metadata.uid == uid && f.metadata.deletion_timestamp.is_none()))
        };
        let claimed = crate::claim::claim(
            &self.rs_api(&namespace),
            d,
            candidates,
            |rs: &ReplicaSet| selector.matches_opt(rs.metadata.labels.as_ref()),
            recheck,
        )
        .await?;
        Ok(claimed.into_iter().map(Arc::unwrap_or_clone).collect())
    }

    /// Upstream's `syncDeployment` after the claim.
    pub(super) async fn sync_deployment(
        &self,
        original: &Deployment,
        mut d: Deployment,
        rss: Vec<ReplicaSet>,
    ) -> Result<Action, Error> {
        if d.metadata.deletion_timestamp.is_some() {
            let mut family = self.family(&mut d, rss, false).await?;
            self.sync_deployment_status(original, &mut d, &mut family).await?;
            return Ok(Action::Done);
        }
        self.check_paused_conditions(&mut d);
        if is_paused(&d) {
            return self.sync_scaling(original, d, rss).await;
        }
        if Self::is_scaling_event(&d, &rss) {
            return self.sync_scaling(original, d, rss).await;
        }
        if is_recreate(&d) {
            self.rollout_recreate(original, d, rss).await
        } else {
            self.rollout_rolling(original, d, rss).await
        }
    }

    /// Whether the deployment's replicas changed since its active replica sets were annotated.
    fn is_scaling_event(d: &Deployment, rss: &[ReplicaSet]) -> bool {
        rss.iter()
            .filter(|rs| rs_replicas(rs) > 0)
            .any(|rs| desired_replicas_annotation(rs).is_some_and(|desired| desired != replicas(d)))
    }

    /// Sorts `rss` into old and new, creating the new one when asked, and syncs the revision.
    pub(super) async fn family(&self, d: &mut Deployment, rss: Vec<ReplicaSet>, create: bool) -> Result<Family, Error> {
        let mut family = Family { new: find_new(d, &rss), rss };
        self.sync_new_replica_set(d, &mut family, create).await?;
        Ok(family)
    }

    async fn sync_new_replica_set(&self, d: &mut Deployment, family: &mut Family, create: bool) -> Result<(), Error> {
        let old: Vec<ReplicaSet> = family.old().cloned().collect();
        let new_revision = max_revision(&old) + 1;
        if let Some(i) = family.new {
            let existing = &family.rss[i];
            let mut copy = existing.clone();
            let annotations_updated = set_new_rs_annotations(d, &mut copy, new_revision, true);
            let min_ready = min_ready_seconds(d);
            let spec = copy.spec.get_or_insert_with(Default::default);
            let min_ready_changed = spec.min_ready_seconds.unwrap_or(0) != min_ready;
            if annotations_updated || min_ready_changed {
                spec.min_ready_seconds = Some(min_ready);
                family.rss[i] = self.update_rs(&copy).await?;
            }
            let revision = family.rss[i].annotations().get(REVISION).cloned().unwrap_or_default();
            set_deployment_revision(d, &revision);
            let has_deadline = progress_deadline(d).is_some();
            let status = d.status.get_or_insert_with(Default::default);
            if has_deadline && condition(status, "Progressing").is_none() {
                let msg = format!("Found new replica set {:?}", family.rss[i].name_any());
                set_condition(status, new_condition("Progressing", "True", FOUND_NEW_RS, msg));
            }
            return Ok(());
        }
        if !create {
            return Ok(());
        }
        let namespace = d.namespace().unwrap_or_default();
        let collision_count = d.status.as_ref().and_then(|s| s.collision_count);
        let mut tmpl = template(d);
        let hash = compute_hash(&tmpl, collision_count);
        tmpl.metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(POD_TEMPLATE_HASH.to_owned(), hash.clone());
        let mut selector = d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        selector.match_labels.get_or_insert_with(Default::default).insert(POD_TEMPLATE_HASH.to_owned(), hash.clone());
        let name = format!("{}-{hash}", d.name_any());
        let mut new_rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                owner_references: Some(vec![controller_ref(d)]),
                labels: tmpl.metadata.as_ref().and_then(|m| m.labels.clone()),
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: Some(min_ready_seconds(d)),
                selector,
                template: Some(tmpl),
            }),
            status: None,
        };
        let mut all: Vec<ReplicaSet> = family.rss.clone();
        all.push(new_rs.clone());
        let new_replicas = new_rs_new_replicas(d, &all, all.len() - 1);
        new_rs.spec.get_or_insert_with(Default::default).replicas = Some(new_replicas);
        set_new_rs_annotations(d, &mut new_rs, new_revision, false);

        let api = self.rs_api(&namespace);
        let (created, already_existed) = match api.create(&PostParams::default(), &new_rs).await {
            Ok(rs) => (rs, false),
            Err(err) if is_conflict(&err) => {
                // AlreadyExists: ours if it carries our template, else a hash collision.
                let existing = api
                    .get_opt(&name)
                    .await
                    .map_err(|source| Error::CreateReplicaSetFailed { name: name.clone(), source })?;
                let ours = existing.as_ref().is_some_and(|rs| {
                    crate::claim::controller_of(&rs.metadata).is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref())
                        && rs
                            .spec
                            .as_ref()
                            .and_then(|s| s.template.as_ref())
                            .is_some_and(|t| equal_ignore_hash(t, &template(d)))
                });
                match existing {
                    Some(rs) if ours => (rs, true),
                    _ => {
                        let status = d.status.get_or_insert_with(Default::default);
                        let count = status.collision_count.unwrap_or(0).saturating_add(1);
                        status.collision_count = Some(count);
                        let dapi = self.deployment_api(&namespace);
                        dapi.replace_status(&d.name_any(), &PostParams::default(), d)
                            .await
                            .map_err(|source| Error::UpdateStatusFailed { name: d.name_any(), source })?;
                        return Err(Error::HashCollision { name, count });
                    }
                }
            }
            Err(source) => {
                if progress_deadline(d).is_some() {
                    let status = d.status.get_or_insert_with(Default::default);
                    let msg = format!("Failed to create new replica set {name:?}: {source}");
                    set_condition(status, new_condition("Progressing", "False", FAILED_RS_CREATE, msg));
                    let dapi = self.deployment_api(&namespace);
                    let _ = dapi.replace_status(&d.name_any(), &PostParams::default(), d).await;
                }
                return Err(Error::CreateReplicaSetFailed { name, source });
            }
        };
        self.remember(&created);
        if !already_existed && new_replicas > 0 {
            self.recorder.event(
                d,
                NORMAL,
                "ScalingReplicaSet",
                format!("Scaled up replica set {} to {new_replicas}", created.name_any()),
            );
        }
        set_deployment_revision(d, &new_revision.to_string());
        if !already_existed && progress_deadline(d).is_some() {
            let status = d.status.get_or_insert_with(Default::default);
            let msg = format!("Created new replica set {:?}", created.name_any());
            set_condition(status, new_condition("Progressing", "True", NEW_RS_CREATED, msg));
        }
        family.rss.push(created);
        family.new = Some(family.rss.len() - 1);
        Ok(())
    }

    /// Scales `family.rss[i]` to `new_scale` and refreshes its annotations; true when the size changed.
    pub(super) async fn scale_rs(
        &self,
        d: &Deployment,
        family: &mut Family,
        i: usize,
        new_scale: i32,
    ) -> Result<bool, Error> {
        let rs = &family.rss[i];
        let old_scale = rs_replicas(rs);
        let size_changed = old_scale != new_scale;
        let max = replicas(d) + max_surge(d);
        if !size_changed && !replicas_annotations_need_update(rs, replicas(d), max) {
            return Ok(false);
        }
        let mut copy = rs.clone();
        copy.spec.get_or_insert_with(Default::default).replicas = Some(new_scale);
        set_replicas_annotations(&mut copy, replicas(d), max);
        family.rss[i] = self.update_rs(&copy).await?;
        if size_changed {
            let op = if new_scale > old_scale { "up" } else { "down" };
            self.recorder.event(
                d,
                NORMAL,
                "ScalingReplicaSet",
                format!("Scaled {op} replica set {} to {new_scale} from {old_scale}", copy.name_any()),
            );
        }
        Ok(size_changed)
    }

    /// Scales only when the size differs.
    pub(super) async fn scale_rs_and_record(
        &self,
        d: &Deployment,
        family: &mut Family,
        i: usize,
        new_scale: i32,
    ) -> Result<bool, Error> {
        if rs_replicas(&family.rss[i]) == new_scale {
            return Ok(false);
        }
        self.scale_rs(d, family, i, new_scale).await
    }

    /// Upstream's `sync`: scaling (paused or a replicas change) without a rollout.
    async fn sync_scaling(
        &self,
        original: &Deployment,
        mut d: Deployment,
        rss: Vec<ReplicaSet>,
    ) -> Result<Action, Error> {
        let mut family = self.family(&mut d, rss, false).await?;
        self.scale(&d, &mut family).await?;
        if is_paused(&d) {
            self.cleanup(&d, &family).await?;
        }
        self.sync_deployment_status(original, &mut d, &mut family).await?;
        Ok(Action::Done)
    }

    /// Proportional scaling, as upstream's `scale`.
    async fn scale(&self, d: &Deployment, family: &mut Family) -> Result<(), Error> {
        let want = replicas(d);
        if let Some(i) = find_active_or_latest(family) {
            if rs_replicas(&family.rss[i]) != want {
                self.scale_rs_and_record(d, family, i, want).await?;
            }
            return Ok(());
        }
        if is_saturated(d, family.new_rs()) {
            for i in family.old_indices() {
                if rs_replicas(&family.rss[i]) > 0 {
                    self.scale_rs_and_record(d, family, i, 0).await?;
                }
            }
            return Ok(());
        }
        if is_recreate(d) {
            return Ok(());
        }
        let mut active: Vec<usize> = (0..family.rss.len()).filter(|i| rs_replicas(&family.rss[*i]) > 0).collect();
        let current = sum_replicas(active.iter().map(|i| &family.rss[*i]));
        let allowed = if want > 0 { want + max_surge(d) } else { 0 };
        let to_add = allowed - current;
        if to_add > 0 {
            active.sort_by(|a, b| by_size_newer(&family.rss[*a], &family.rss[*b]));
        } else {
            active.sort_by(|a, b| by_size_older(&family.rss[*a], &family.rss[*b]));
        }
        let mut added = 0;
        let mut sizes: Vec<i32> = Vec::with_capacity(active.len());
        for &i in &active {
            let rs = &family.rss[i];
            if to_add != 0 {
                let p = proportion(rs, d, to_add, added);
                sizes.push(rs_replicas(rs) + p);
                added += p;
            } else {
                sizes.push(rs_replicas(rs));
            }
        }
        if to_add != added && !sizes.is_empty() {
            sizes[0] = (sizes[0] + to_add - added).max(0);
        }
        for (&i, &size) in active.iter().zip(&sizes) {
            self.scale_rs(d, family, i, size).await?;
        }
        Ok(())
    }

    /// Deletes the oldest unused replica sets beyond `revisionHistoryLimit`.
    pub(super) async fn cleanup(&self, d: &Deployment, family: &Family) -> Result<(), Error> {
        let Some(limit) = d.spec.as_ref().and_then(|s| s.revision_history_limit) else { return Ok(()) };
        let mut cleanable: Vec<&ReplicaSet> =
            family.old().filter(|rs| rs.metadata.deletion_timestamp.is_none()).collect();
        let diff = i64::try_from(cleanable.len()).unwrap_or(0) - i64::from(limit);
        if diff <= 0 {
            return Ok(());
        }
        cleanable.sort_by(|a, b| by_revision(a, b));
        for rs in cleanable.into_iter().take(usize::try_from(diff).unwrap_or(0)) {
            let observed = rs.status.as_ref().and_then(|s| s.observed_generation).unwrap_or(0);
            if rs_status_replicas(rs) != 0 || rs_replicas(rs) != 0 || rs.metadata.generation.unwrap_or(0) > observed {
                continue;
            }
            tracing::info!(deployment = %d.name_any(), replicaset = %rs.name_any(), "cleaning up old replica set");
            self.delete_rs(rs).await?;
            if let Some(uid) = &rs.metadata.uid {
                self.forget_written(uid);
            }
        }
        Ok(())
    }

    /// Writes the status `family` implies (and whatever else changed on `d`).
    pub(super) async fn sync_deployment_status(
        &self,
        original: &Deployment,
        d: &mut Deployment,
        family: &mut Family,
    ) -> Result<(), Error> {
        let status = calculate_status(d, family);
        d.status = Some(status);
        self.write(original, d).await
    }
}

/// The new replica set: the oldest whose template equals the deployment's.
pub(super) fn find_new(d: &Deployment, rss: &[ReplicaSet]) -> Option<usize> {
    let t = template(d);
    let mut idx: Vec<usize> = (0..rss.len()).collect();
    idx.sort_by(|a, b| by_creation(&rss[*a], &rss[*b]));
    idx.into_iter()
        .find(|i| rss[*i].spec.as_ref().and_then(|s| s.template.as_ref()).is_some_and(|rt| equal_ignore_hash(rt, &t)))
}

/// How big the new replica set may be now, as upstream's `NewRSNewReplicas`.
pub(super) fn new_rs_new_replicas(d: &Deployment, all: &[ReplicaSet], new: usize) -> i32 {
    let want = replicas(d);
    if is_recreate(d) {
        return want;
    }
    let current = sum_replicas(all);
    let max_total = want + max_surge(d);
    let new_size = rs_replicas(&all[new]);
    if current >= max_total {
        return new_size;
    }
    let up = (max_total - current).min(want - new_size);
    new_size + up.max(0)
}

fn find_active_or_latest(family: &Family) -> Option<usize> {
    if family.rss.is_empty() {
        return None;
    }
    let active: Vec<usize> = (0..family.rss.len()).filter(|i| rs_replicas(&family.rss[*i]) > 0).collect();
    match active.len() {
        0 => family.new.or_else(|| {
            let mut old = family.old_indices();
            old.sort_by(|a, b| by_creation(&family.rss[*b], &family.rss[*a]));
            old.first().copied()
        }),
        1 => Some(active[0]),
        _ => None,
    }
}

fn is_saturated(d: &Deployment, new: Option<&ReplicaSet>) -> bool {
    let Some(rs) = new else { return false };
    let want = replicas(d);
    desired_replicas_annotation(rs) == Some(want) && rs_replicas(rs) == want && rs_available(rs) == want
}

fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = replica_set_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
}

fn replica_set_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    if replicas(d) == 0 {
        return -rs_replicas(rs);
    }
    let deployment_replicas = replicas(d) + max_surge(d);
    let annotated =
        max_replicas_annotation(rs).unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
    if annotated == 0 {
        return 0;
    }
    let new_size = f64::from(rs_replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
    // Bounded by i32 inputs, so the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let rounded = new_size.round() as i32;
    rounded - rs_replicas(rs)
}

/// The status `family` implies, as upstream's `calculateStatus`.
pub(super) fn calculate_status(d: &Deployment, family: &Family) -> DeploymentStatus {
    let available: i32 = family.rss.iter().map(rs_available).sum();
    let total = sum_replicas(&family.rss);
    let old = d.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: nz(family.rss.iter().map(rs_status_replicas).sum()),
        updated_replicas: nz(family.new_rs().map(rs_status_replicas).unwrap_or(0)),
        ready_replicas: nz(family.rss.iter().map(rs_ready).sum()),
        available_replicas: nz(available),
        unavailable_replicas: nz((total - available).max(0)),
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        terminating_replicas: old.terminating_replicas,
    };
    if available >= replicas(d) - max_unavailable(d) {
        set_condition(
            &mut status,
            new_condition("Available", "True", MIN_AVAILABLE, "Deployment has minimum availability.".into()),
        );
    } else {
        set_condition(
            &mut status,
            new_condition(
                "Available",
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.".into(),
            ),
        );
    }
    status
}
