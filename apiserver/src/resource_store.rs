//! The generic registry store: create, read, update, delete, list and watch
//! for every resource, with per-resource behaviour from [`crate::strategy`].
//! Objects are stored as JSON without `resourceVersion`; it is set from the
//! storage revision on every read, as upstream's etcd3 store does.

use std::sync::Arc;

use bytes::Bytes;
use rustkube_api::registry::ResourceInfo;
use rustkube_storage::{KeyValue, ListOptions, Revision, Store};
use serde_json::{Value, json};

use crate::meta;
use crate::status::{ApiError, Qualified, from_storage};
use crate::strategy;

/// Where one request points.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub resource: &'static ResourceInfo,
    pub namespace: Option<&'a str>,
}

impl Target<'_> {
    pub fn qualified(&self) -> Qualified<'static> {
        Qualified { group: self.resource.group, resource: self.resource.plural }
    }

    fn key(&self, name: &str) -> Result<String, ApiError> {
        self.resource
            .storage_key(self.namespace, name)
            .ok_or_else(|| ApiError::bad_request(format!("invalid resource name {name:?}")))
    }

    /// The storage prefix for a list: one namespace or all of them.
    pub fn prefix(&self) -> Result<String, ApiError> {
        let base = self.resource.storage_prefix().ok_or_else(ApiError::method_not_allowed)?;
        Ok(match self.namespace {
            Some(ns) if self.resource.namespaced => format!("{base}{ns}/"),
            _ => base,
        })
    }
}

/// Options of a delete request (`metav1.DeleteOptions`).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub propagation_policy: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
}

/// The outcome of a delete: gone now, or marked and still present.
#[derive(Debug)]
pub enum Deleted {
    Now(Value),
    Pending(Value),
}

#[derive(Debug, Clone)]
pub struct ResourceStore {
    storage: Arc<dyn Store>,
}

/// Decodes a stored object and stamps its resourceVersion.
pub fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {} is not JSON: {e}", kv.key)))?;
    meta::meta_mut(&mut obj).insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
    Ok(obj)
}

/// Decodes a stored object into the shape of the requested version.
pub fn decode_for(r: &ResourceInfo, kv: &KeyValue) -> Result<Value, ApiError> {
    let obj = decode(kv)?;
    Ok(if crate::conversion::needed(r) { crate::conversion::from_storage(r, obj) } else { obj })
}

/// Encodes a request-version object in the storage version's shape.
fn encode_for(r: &ResourceInfo, obj: &Value) -> Result<Bytes, ApiError> {
    if crate::conversion::needed(r) {
        return encode(&crate::conversion::to_storage(r, obj.clone()));
    }
    encode(obj)
}

fn encode(obj: &Value) -> Result<Bytes, ApiError> {
    let mut obj = obj.clone();
    meta::meta_mut(&mut obj).remove("resourceVersion");
    serde_json::to_vec(&obj).map(Bytes::from).map_err(|e| ApiError::internal(e.to_string()))
}

pub fn parse_rv(rv: &str) -> Result<Revision, ApiError> {
    rv.parse::<Revision>()
        .ok()
        .filter(|r| *r >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("invalid resource version: {rv:?}")))
}

const CONFLICT_RETRIES: usize = 16;

impl ResourceStore {
    pub fn new(storage: Arc<dyn Store>) -> Self {
        ResourceStore { storage }
    }

    pub fn storage(&self) -> &Arc<dyn Store> {
        &self.storage
    }

    async fn get_kv(&self, t: Target<'_>, name: &str) -> Result<KeyValue, ApiError> {
        let key = t.key(name)?;
        self.storage.get(&key).await.map_err(|e| from_storage(e, t.qualified(), name))
    }

    pub async fn get(&self, t: Target<'_>, name: &str) -> Result<Value, ApiError> {
        decode_for(t.resource, &self.get_kv(t, name).await?)
    }

    /// Creates an object after the kind's create validation.
    pub async fn create(&self, t: Target<'_>, obj: Value, dry_run: bool) -> Result<Value, ApiError> {
        self.create_checked(t, obj, dry_run, true).await
    }

    /// Creates a system object the server itself owns (e.g. the `kubernetes`
    /// Endpoints, which may point at a loopback address), skipping validation
    /// as upstream's endpoint reconciler writes storage directly.
    pub async fn create_system(&self, t: Target<'_>, obj: Value) -> Result<Value, ApiError> {
        self.create_checked(t, obj, false, false).await
    }

    async fn create_checked(
        &self,
        t: Target<'_>,
        mut obj: Value,
        dry_run: bool,
        validate: bool,
    ) -> Result<Value, ApiError> {
        if let Some(rv) = meta::meta_str(&obj, "resourceVersion").filter(|rv| !rv.is_empty()) {
            let _ = rv;
            return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
        }
        strategy::prepare_for_create(t.resource, &mut obj);
        if validate {
            strategy::validate_create(t.resource, &obj)?;
        }
        let generate = meta::meta_str(&obj, "generateName").map(str::to_owned).filter(|g| !g.is_empty());
        let explicit = !meta::name(&obj).is_empty();
        for _ in 0..8 {
            if !explicit && let Some(prefix) = &generate {
                let name = format!("{prefix}{}", meta::generate_suffix());
                meta::meta_mut(&mut obj).insert("name".into(), json!(name));
            }
            let name = meta::name(&obj).to_owned();
            let key = t.key(&name)?;
            if dry_run {
                return match self.storage.get(&key).await {
                    Ok(_) => Err(ApiError::already_exists(t.qualified(), &name)),
                    Err(e) if e.is_not_found() => Ok(obj),
                    Err(e) => Err(from_storage(e, t.qualified(), &name)),
                };
            }
            match self.storage.create(&key, encode_for(t.resource, &obj)?).await {
                Ok(kv) => {
                    meta::meta_mut(&mut obj).insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
                    return Ok(obj);
                }
                Err(rustkube_storage::Error::AlreadyExists { .. }) if !explicit && generate.is_some() => continue,
                Err(e) => return Err(from_storage(e, t.qualified(), &name)),
            }
        }
        Err(ApiError::new(500, "AlreadyExists", "failed to generate a unique name after 8 attempts"))
    }

    /// Read-modify-write of one object. `mutate` gets the current object and
    /// returns the new one (or an error); a storage conflict re-reads and calls
    /// it again unless `mutate` pinned a resourceVersion (then 409).
    pub async fn update_with<F>(
        &self,
        t: Target<'_>,
        name: &str,
        subresource: Option<&str>,
        dry_run: bool,
        mutate: F,
    ) -> Result<Value, ApiError>
    where
        F: FnMut(&Value) -> Result<Value, ApiError> + Send,
    {
        self.update_checked(t, name, subresource, dry_run, true, mutate).await
    }

    /// [`ResourceStore::update_with`] for a system object the server owns (the
    /// `kubernetes` Endpoints), skipping validation as [`ResourceStore::create_system`] does.
    pub async fn update_system_with<F>(&self, t: Target<'_>, name: &str, mutate: F) -> Result<Value, ApiError>
    where
        F: FnMut(&Value) -> Result<Value, ApiError> + Send,
    {
        self.update_checked(t, name, None, false, false, mutate).await
    }

    async fn update_checked<F>(
        &self,
        t: Target<'_>,
        name: &str,
        subresource: Option<&str>,
        dry_run: bool,
        validate: bool,
        mut mutate: F,
    ) -> Result<Value, ApiError>
    where
        F: FnMut(&Value) -> Result<Value, ApiError> + Send,
    {
        let key = t.key(name)?;
        for _ in 0..CONFLICT_RETRIES {
            let kv = match self.storage.get(&key).await {
                Ok(kv) => kv,
                Err(e) => return Err(from_storage(e, t.qualified(), name)),
            };
            let old = decode_for(t.resource, &kv)?;
            let mut new = mutate(&old)?;
            // A resourceVersion in the new object is a precondition.
            let pinned = match meta::meta_str(&new, "resourceVersion").filter(|rv| !rv.is_empty()) {
                Some(rv) => {
                    if parse_rv(rv)? != kv.mod_revision {
                        return Err(ApiError::modified(t.qualified(), name));
                    }
                    true
                }
                None => false,
            };
            strategy::prepare_for_update(t.resource, subresource, &mut new, &old)?;
            // An unconditional update is validated as if it named the current version.
            meta::meta_mut(&mut new).insert("resourceVersion".into(), json!(kv.mod_revision.to_string()));
            if validate {
                strategy::validate_update(t.resource, subresource, &new, &old)?;
            }
            if meta::name(&new) != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({name})",
                    meta::name(&new)
                )));
            }
            if dry_run {
                return Ok(new);
            }
            // Removing the last finalizer of an object being deleted deletes it.
            if strategy::ready_to_remove(t.resource, &new) {
                return match self.storage.delete(&key, Some(kv.mod_revision)).await {
                    Ok(_) => Ok(new),
                    Err(e) if e.is_conflict() && !pinned => continue,
                    Err(e) => Err(from_storage(e, t.qualified(), name)),
                };
            }
            if meta::spec_part(&new) == meta::spec_part(&old) && strip_rv(&new) == strip_rv(&old) {
                return Ok(old); // no-op update: no new revision, as upstream
            }
            match self.storage.update(&key, encode_for(t.resource, &new)?, Some(kv.mod_revision)).await {
                Ok(stored) => {
                    meta::meta_mut(&mut new).insert("resourceVersion".into(), json!(stored.mod_revision.to_string()));
                    return Ok(new);
                }
                Err(e) if e.is_conflict() && !pinned => continue,
                Err(e) => return Err(from_storage(e, t.qualified(), name)),
            }
        }
        Err(ApiError::modified(t.qualified(), name))
    }

    pub async fn delete(&self, t: Target<'_>, name: &str, opts: &DeleteOptions) -> Result<Deleted, ApiError> {
        let key = t.key(name)?;
        for _ in 0..CONFLICT_RETRIES {
            let kv = self.storage.get(&key).await.map_err(|e| from_storage(e, t.qualified(), name))?;
            let obj = decode_for(t.resource, &kv)?;
            if let Some(uid) = &opts.precondition_uid {
                let actual = meta::meta_str(&obj, "uid").unwrap_or("");
                if uid != actual {
                    return Err(ApiError::conflict(
                        t.qualified(),
                        name,
                        &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"),
                    ));
                }
            }
            if let Some(rv) = &opts.precondition_resource_version
                && parse_rv(rv)? != kv.mod_revision
            {
                return Err(ApiError::conflict(
                    t.qualified(),
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        kv.mod_revision
                    ),
                ));
            }
            match strategy::plan_delete(t.resource, &obj, opts)? {
                strategy::DeletePlan::Remove => {
                    if opts.dry_run {
                        return Ok(Deleted::Now(obj));
                    }
                    match self.storage.delete(&key, Some(kv.mod_revision)).await {
                        Ok(_) => return Ok(Deleted::Now(obj)),
                        Err(e) if e.is_conflict() => continue,
                        Err(e) => return Err(from_storage(e, t.qualified(), name)),
                    }
                }
                strategy::DeletePlan::Mark(mut marked) => {
                    if opts.dry_run || marked == obj {
                        return Ok(Deleted::Pending(marked));
                    }
                    match self.storage.update(&key, encode_for(t.resource, &marked)?, Some(kv.mod_revision)).await {
                        Ok(stored) => {
                            meta::meta_mut(&mut marked)
                                .insert("resourceVersion".into(), json!(stored.mod_revision.to_string()));
                            return Ok(Deleted::Pending(marked));
                        }
                        Err(e) if e.is_conflict() => continue,
                        Err(e) => return Err(from_storage(e, t.qualified(), name)),
                    }
                }
            }
        }
        Err(ApiError::modified(t.qualified(), name))
    }

    /// One page of raw objects under the target.
    pub async fn list_page(
        &self,
        t: Target<'_>,
        opts: &ListOptions,
    ) -> Result<(Vec<Value>, rustkube_storage::ListResult), ApiError> {
        let res = self.storage.list(opts).await.map_err(|e| match e {
            rustkube_storage::Error::Compacted { .. } => ApiError::gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ),
            other => from_storage(other, t.qualified(), ""),
        })?;
        let items = res.items.iter().map(|kv| decode_for(t.resource, kv)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, res))
    }
}

fn strip_rv(obj: &Value) -> Value {
    let mut o = obj.clone();
    meta::meta_mut(&mut o).remove("resourceVersion");
    o
}
