//! Adoption and release of controlled objects, as upstream's
//! `ControllerRefManager`: a controller claims the objects it controls that
//! still match its selector, adopts matching orphans (adding a controller
//! ownerReference with `blockOwnerDeletion`) and releases objects it controls
//! that stopped matching. Patches carry the object's uid and resourceVersion,
//! so they never apply to a different or changed object.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

/// Errors claiming objects.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("adopting {kind} {namespace}/{name}: {source}")]
    AdoptFailed {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("releasing {kind} {namespace}/{name}: {source}")]
    ReleaseFailed {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("checking whether {kind} {namespace}/{name} may adopt: {source}")]
    RecheckFailed {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// The controlling ownerReference of an object, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.as_deref().unwrap_or_default().iter().find(|r| r.controller == Some(true))
}

/// A controller ownerReference naming `owner`, blocking its deletion as upstream's.
pub fn controller_ref<O: Resource<DynamicType = ()>>(owner: &O) -> OwnerReference {
    OwnerReference {
        api_version: O::api_version(&()).into_owned(),
        kind: O::kind(&()).into_owned(),
        name: owner.name_any(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Whether `err` is a 404 from the API.
pub fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404)
}

/// Whether `err` is a 409 from the API.
pub fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 409)
}

/// Whether `err` is NamespaceLifecycle refusing new content in a namespace
/// being deleted: a 403 with the `NamespaceTerminating` cause (or, from
/// servers that give no cause, upstream's message).
pub fn is_namespace_terminating(err: &kube::Error) -> bool {
    let kube::Error::Api(status) = err else { return false };
    status.code == 403
        && (status.details.as_ref().is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
            || status.message.contains("because it is being terminated"))
}

/// Claims `candidates` for `owner`: returns those it now controls.
/// `matches` is the owner's selector; `can_adopt` re-reads the owner live
/// (it must still exist with the same uid and not be deleting) before the
/// first adoption.
pub async fn claim<K, O, M, F, Fut>(
    api: &Api<K>,
    owner: &O,
    candidates: Vec<Arc<K>>,
    matches: M,
    can_adopt: F,
) -> Result<Vec<Arc<K>>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    O: Resource<DynamicType = ()>,
    M: Fn(&K) -> bool,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<bool, kube::Error>>,
{
    let owner_uid = owner.meta().uid.clone().unwrap_or_default();
    let owner_deleting = owner.meta().deletion_timestamp.is_some();
    let mut can_adopt = Some(can_adopt);
    let mut adoption_allowed: Option<bool> = None;
    let mut claimed = Vec::new();
    for obj in candidates {
        let meta = obj.meta();
        match controller_of(meta) {
            Some(r) if r.uid != owner_uid => continue,
            Some(_) => {
                if matches(&obj) {
                    claimed.push(obj);
                } else if !owner_deleting && meta.deletion_timestamp.is_none() {
                    release(api, &obj, &owner_uid).await?;
                }
            }
            None => {
                if owner_deleting || meta.deletion_timestamp.is_some() || !matches(&obj) {
                    continue;
                }
                if owner.meta().namespace.is_some() && meta.namespace != owner.meta().namespace {
                    continue;
                }
                if adoption_allowed.is_none() {
                    let check = can_adopt.take().map(|f| f());
                    let allowed = match check {
                        Some(fut) => fut.await.map_err(|source| Error::RecheckFailed {
                            kind: O::kind(&()).into_owned(),
                            namespace: owner.namespace().unwrap_or_default(),
                            name: owner.name_any(),
                            source,
                        })?,
                        None => false,
                    };
                    adoption_allowed = Some(allowed);
                }
                if adoption_allowed != Some(true) {
                    continue;
                }
                if let Some(adopted) = adopt(api, owner, &obj).await? {
                    claimed.push(Arc::new(adopted));
                }
            }
        }
    }
    Ok(claimed)
}

async fn adopt<K, O>(api: &Api<K>, owner: &O, obj: &K) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    O: Resource<DynamicType = ()>,
{
    let mut refs = obj.meta().owner_references.clone().unwrap_or_default();
    refs.push(controller_ref(owner));
    let patch = serde_json::json!({
        "metadata": {
            "ownerReferences": refs,
            "uid": obj.meta().uid,
            "resourceVersion": obj.meta().resource_version,
        }
    });
    match api.patch(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(adopted) => {
            tracing::info!(kind = %K::kind(&()), namespace = %obj.namespace().unwrap_or_default(), name = %obj.name_any(), owner = %owner.name_any(), "adopted");
            Ok(Some(adopted))
        }
        Err(err) if is_not_found(&err) => Ok(None),
        Err(source) => Err(Error::AdoptFailed {
            kind: K::kind(&()).into_owned(),
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
            source,
        }),
    }
}

async fn release<K>(api: &Api<K>, obj: &K, owner_uid: &str) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let refs: Vec<OwnerReference> =
        obj.meta().owner_references.clone().unwrap_or_default().into_iter().filter(|r| r.uid != owner_uid).collect();
    let patch = serde_json::json!({
        "metadata": {
            "ownerReferences": refs,
            "uid": obj.meta().uid,
            "resourceVersion": obj.meta().resource_version,
        }
    });
    match api.patch(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => {
            tracing::info!(kind = %K::kind(&()), namespace = %obj.namespace().unwrap_or_default(), name = %obj.name_any(), "released");
            Ok(())
        }
        Err(err) if is_not_found(&err) => Ok(()),
        Err(source) => Err(Error::ReleaseFailed {
            kind: K::kind(&()).into_owned(),
            namespace: obj.namespace().unwrap_or_default(),
            name: obj.name_any(),
            source,
        }),
    }
}
