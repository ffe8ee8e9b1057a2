//! Emptying a namespace being deleted, as upstream's
//! `namespacedResourcesDeleter`: deletecollection (or list and delete) for
//! every namespaced resource, then count what remains and which finalizers
//! hold it, and set the deletion conditions accordingly.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use kube::api::{Api, DeleteParams, ListParams, PostParams, PropagationPolicy};

use super::{Error, FINALIZER, NamespaceController};
use crate::claim::is_not_found;
use crate::controller::Action;
use crate::deployment::util::now_time;

/// How long to wait before looking again while content remains.
const REMAINING_RECHECK: Duration = Duration::from_secs(2);

fn condition(type_: &str, status: &str, reason: &str, message: String) -> NamespaceCondition {
    NamespaceCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_transition_time: Some(now_time()),
    }
}

/// Merges `new` into `existing`, keeping transition times of unchanged conditions.
fn merge_conditions(existing: &[NamespaceCondition], new: Vec<NamespaceCondition>) -> Vec<NamespaceCondition> {
    let mut out: Vec<NamespaceCondition> =
        existing.iter().filter(|c| !new.iter().any(|n| n.type_ == c.type_)).cloned().collect();
    for mut n in new {
        if let Some(old) = existing.iter().find(|c| c.type_ == n.type_)
            && old.status == n.status
            && old.reason == n.reason
            && old.message == n.message
        {
            n.last_transition_time = old.last_transition_time.clone();
        }
        out.push(n);
    }
    out.sort_by(|a, b| a.type_.cmp(&b.type_));
    out
}

impl NamespaceController {
    pub(super) async fn delete_namespace(&self, name: &str) -> Result<Action, Error> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns = match api.get_opt(name).await {
            Ok(Some(ns)) => ns,
            Ok(None) => return Ok(Action::Done),
            Err(source) => return Err(Error::GetFailed { name: name.to_owned(), source }),
        };
        if ns.metadata.deletion_timestamp.is_none() {
            return Ok(Action::Done);
        }
        let finalizers = ns.spec.as_ref().and_then(|s| s.finalizers.clone()).unwrap_or_default();
        if !finalizers.iter().any(|f| f == FINALIZER) {
            return Ok(Action::Done);
        }

        let resources = match crate::discovery::discover(&self.client).await {
            Ok(r) => r,
            Err(err) => {
                let cond = condition(
                    "NamespaceDeletionDiscoveryFailure",
                    "True",
                    "DiscoveryFailed",
                    format!("Discovery failed for some groups, 1 failing: {err}"),
                );
                self.update_conditions(&ns, vec![cond]).await?;
                return Err(err.into());
            }
        };
        let namespaced: Vec<_> = resources
            .preferred()
            .filter(|r| r.namespaced && r.supports("delete") && r.supports("list"))
            .cloned()
            .collect();

        // Delete everything.
        let mut failures = Vec::new();
        let background = DeleteParams { propagation_policy: Some(PropagationPolicy::Background), ..Default::default() };
        for r in &namespaced {
            let dapi = r.api(&self.client, name);
            if r.supports("deletecollection") {
                match dapi.delete_collection(&background, &ListParams::default()).await {
                    Ok(_) => continue,
                    Err(err) if is_not_found(&err) => continue,
                    Err(err) if matches!(&err, kube::Error::Api(s) if s.code == 405) => {}
                    Err(err) => {
                        failures.push(format!("{}.{}: {err}", r.api.plural, r.api.group));
                        continue;
                    }
                }
            }
            match dapi.list(&ListParams::default()).await {
                Ok(list) => {
                    for item in list.items {
                        let item_name = item.metadata.name.clone().unwrap_or_default();
                        if item.metadata.deletion_timestamp.is_some() {
                            continue;
                        }
                        if let Err(err) = dapi.delete(&item_name, &background).await
                            && !is_not_found(&err)
                        {
                            failures.push(format!("{}.{} {item_name}: {err}", r.api.plural, r.api.group));
                        }
                    }
                }
                Err(err) if is_not_found(&err) => {}
                Err(err) => failures.push(format!("{}.{}: {err}", r.api.plural, r.api.group)),
            }
        }

        // Count what is left and what holds it.
        let mut remaining: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_finalizer: BTreeMap<String, usize> = BTreeMap::new();
        for r in &namespaced {
            let Ok(list) = r.api(&self.client, name).list(&ListParams::default()).await else { continue };
            if list.items.is_empty() {
                continue;
            }
            remaining.insert(format!("{}.{}", r.api.plural, r.api.group), list.items.len());
            for item in &list.items {
                for f in item.metadata.finalizers.iter().flatten() {
                    *by_finalizer.entry(f.clone()).or_default() += 1;
                }
            }
        }

        let mut conds = vec![
            condition(
                "NamespaceDeletionDiscoveryFailure",
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered".into(),
            ),
            condition(
                "NamespaceDeletionGroupVersionParsingFailure",
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed".into(),
            ),
        ];
        conds.push(if failures.is_empty() {
            condition(
                "NamespaceDeletionContentFailure",
                "False",
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization".into(),
            )
        } else {
            condition(
                "NamespaceDeletionContentFailure",
                "True",
                "ContentDeletionFailed",
                format!("Failed to delete all resource types, {} remaining: {}", failures.len(), failures.join(", ")),
            )
        });
        conds.push(if remaining.is_empty() {
            condition("NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed".into())
        } else {
            let parts: Vec<String> = remaining.iter().map(|(r, n)| format!("{r} has {n} resource instances")).collect();
            condition(
                "NamespaceContentRemaining",
                "True",
                "SomeResourcesRemain",
                format!("Some resources are remaining: {}", parts.join(", ")),
            )
        });
        conds.push(if by_finalizer.is_empty() {
            condition(
                "NamespaceFinalizersRemaining",
                "False",
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished".into(),
            )
        } else {
            let parts: Vec<String> =
                by_finalizer.iter().map(|(f, n)| format!("{f} in {n} resource instances")).collect();
            condition(
                "NamespaceFinalizersRemaining",
                "True",
                "SomeFinalizersRemain",
                format!("Some content in the namespace has finalizers remaining: {}", parts.join(", ")),
            )
        });
        let ns = self.update_conditions(&ns, conds).await?;

        if !failures.is_empty() {
            return Err(Error::ContentDeletionFailed { name: name.to_owned(), message: failures.join(", ") });
        }
        if !remaining.is_empty() {
            tracing::debug!(namespace = name, ?remaining, "content remains, checking again later");
            return Ok(Action::RequeueAfter(REMAINING_RECHECK));
        }
        self.finalize(&ns).await?;
        Ok(Action::Done)
    }

    async fn update_conditions(&self, ns: &Namespace, conds: Vec<NamespaceCondition>) -> Result<Namespace, Error> {
        let name = ns.metadata.name.clone().unwrap_or_default();
        let existing = ns.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
        let mut sorted_existing = existing.clone();
        sorted_existing.sort_by(|a, b| a.type_.cmp(&b.type_));
        let merged = merge_conditions(&existing, conds);
        if merged == sorted_existing {
            return Ok(ns.clone());
        }
        let mut copy = ns.clone();
        copy.status.get_or_insert_with(Default::default).conditions = Some(merged);
        let api: Api<Namespace> = Api::all(self.client.clone());
        api.replace_status(&name, &PostParams::default(), &copy)
            .await
            .map_err(|source| Error::UpdateStatusFailed { name, source })
    }

    /// Removes the `kubernetes` finalizer through `namespaces/NAME/finalize`.
    async fn finalize(&self, ns: &Namespace) -> Result<(), Error> {
        let name = ns.metadata.name.clone().unwrap_or_default();
        let mut copy = ns.clone();
        let spec = copy.spec.get_or_insert_with(Default::default);
        spec.finalizers =
            Some(spec.finalizers.take().unwrap_or_default().into_iter().filter(|f| f != FINALIZER).collect());
        let api: Api<Namespace> = Api::all(self.client.clone());
        match api.replace_subresource("finalize", &name, &PostParams::default(), &copy).await {
            Ok(_) => {
                tracing::info!(namespace = %name, "namespace finalized");
                Ok(())
            }
            Err(err) if is_not_found(&err) => Ok(()),
            Err(source) => Err(Error::FinalizeFailed { name, source }),
        }
    }
}
