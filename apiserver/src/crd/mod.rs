//! Custom resources: the resources CustomResourceDefinitions add at run time.
//!
//! A [`CustomResources`] keeps a [`Catalog`] built from a list+watch of the
//! stored CRDs: for every served version a [`ResourceInfo`] (so requests,
//! discovery and the generic store treat custom resources like built-in
//! ones), plus what only custom resources have — a structural schema, printer
//! columns and scale paths. Names are accepted first come, first served within
//! a group, as upstream's naming controller does.
//!
//! A small controller keeps each CRD's status (accepted names, the
//! NamesAccepted / Established / Terminating conditions, storedVersions) and,
//! when a CRD is deleted, deletes its custom resources before releasing the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer.
//!
//! `ResourceInfo` rows hold `&'static` strings; the rows of custom resources
//! are interned (deduplicated, then leaked), so memory grows with the number of
//! distinct CRD versions ever served, not with the number of updates.

pub mod schema;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use rustkube_api::registry::{self, ResourceInfo, Subresource};
use rustkube_api::validation::{ErrorList, FieldError};
use rustkube_storage::{EventType, ListOptions};
use serde_json::{Value, json};

use crate::meta;
use crate::printers::custom::PrinterColumn;
use crate::resource_store::{DeleteOptions, ResourceStore, Target};
use crate::status::ApiError;

pub const GROUP: &str = "apiextensions.k8s.io";
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";
const CRD_PREFIX: &str = "/registry/apiextensions.k8s.io/customresourcedefinitions/";

/// True for the CustomResourceDefinition resource itself.
pub fn is_crd(r: &ResourceInfo) -> bool {
    r.group == GROUP && r.plural == "customresourcedefinitions"
}

fn crd_resource() -> &'static ResourceInfo {
    registry::lookup(GROUP, "v1", "customresourcedefinitions").expect("CRDs are a built-in resource")
}

/// Where the scale subresource reads and writes replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// One served version of one custom resource.
#[derive(Debug)]
pub struct CustomVersion {
    pub info: &'static ResourceInfo,
    pub crd_name: String,
    pub storage_version: String,
    /// `schema.openAPIV3Schema`; `None` only for legacy CRDs without one.
    pub schema: Option<Value>,
    pub columns: Vec<PrinterColumn>,
    pub scale: Option<ScalePaths>,
    /// The CRD is being deleted: no new objects.
    pub terminating: bool,
    pub deprecation_warning: Option<String>,
}

/// A custom API group as `/apis` lists it: versions in priority order.
#[derive(Clone, Debug)]
pub struct CustomGroup {
    pub name: &'static str,
    pub versions: Vec<&'static str>,
}

/// A CRD as the catalog saw it, for the status controller.
#[derive(Clone, Debug)]
struct Seen {
    object: Value,
    /// Why its names were refused, if they were.
    conflict: Option<String>,
    /// The resource in its storage version (served or not), for cleanup.
    storage: Option<&'static ResourceInfo>,
}

/// Everything custom resources add, at one storage revision.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The last CRD storage revision this catalog reflects.
    pub revision: i64,
    versions: Vec<Arc<CustomVersion>>,
    groups: Vec<CustomGroup>,
    crds: Vec<Seen>,
}

impl Catalog {
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<CustomVersion>> {
        self.versions.iter().find(|v| v.info.group == group && v.info.version == version && v.info.plural == plural)
    }

    /// The custom version behind a request's resource row, if it is one.
    pub fn of(&self, info: &ResourceInfo) -> Option<&Arc<CustomVersion>> {
        self.versions.iter().find(|v| std::ptr::eq(v.info, info))
    }

    pub fn resources_in<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
        self.versions.iter().filter(move |v| v.info.group == group && v.info.version == version).map(|v| v.info)
    }

    /// Custom groups, by name.
    pub fn groups(&self) -> &[CustomGroup] {
        &self.groups
    }
}

/// The live catalog of one apiserver.
#[derive(Debug)]
pub struct CustomResources {
    tx: tokio::sync::watch::Sender<Arc<Catalog>>,
}

impl Default for CustomResources {
    fn default() -> Self {
        CustomResources { tx: tokio::sync::watch::Sender::new(Arc::new(Catalog::default())) }
    }
}

impl CustomResources {
    /// Starts watching stored CRDs and the CRD status/cleanup controller.
    pub fn spawn(store: ResourceStore) -> Self {
        let this = CustomResources::default();
        tokio::spawn(watch_crds(store.clone(), this.tx.clone()));
        tokio::spawn(control(store, this.tx.subscribe()));
        this
    }

    pub fn snapshot(&self) -> Arc<Catalog> {
        Arc::clone(&self.tx.borrow())
    }

    /// Waits (a few seconds at most) until the catalog reflects CRD writes up
    /// to `revision`, so a custom resource can be used right after its CRD is
    /// written to this server.
    pub async fn caught_up(&self, revision: i64) {
        let mut rx = self.tx.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|c| c.revision >= revision)).await;
    }
}

async fn watch_crds(store: ResourceStore, tx: tokio::sync::watch::Sender<Arc<Catalog>>) {
    let storage = Arc::clone(store.storage());
    let mut backoff = Duration::from_millis(100);
    loop {
        let result: rustkube_storage::Result<()> = async {
            let list = storage.list(&ListOptions { prefix: CRD_PREFIX.to_owned(), ..Default::default() }).await?;
            let mut crds: BTreeMap<String, Value> = BTreeMap::new();
            for kv in &list.items {
                if let Ok(obj) = crate::resource_store::decode(kv) {
                    crds.insert(kv.key.clone(), obj);
                }
            }
            let mut revision = list.revision;
            tx.send_replace(Arc::new(build(&crds, revision)));
            let mut watch = storage.watch(CRD_PREFIX, list.revision).await?;
            while let Some(event) = watch.next().await {
                let event = event?;
                match event.event_type {
                    EventType::Deleted => {
                        crds.remove(&event.kv.key);
                    }
                    _ => {
                        if let Ok(obj) = crate::resource_store::decode(&event.kv) {
                            crds.insert(event.kv.key.clone(), obj);
                        }
                    }
                }
                revision = revision.max(event.kv.mod_revision);
                tx.send_replace(Arc::new(build(&crds, revision)));
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(err) => tracing::warn!(error = %err, "custom resource definition watch interrupted; relisting"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

// ---- interning -------------------------------------------------------------------------

fn interned<T: ?Sized + Eq + Hash + 'static>(
    set: &'static OnceLock<Mutex<HashSet<&'static T>>>,
    value: &T,
    leak: impl FnOnce() -> &'static T,
) -> &'static T {
    let mut set = set.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = set.get(value) {
        return found;
    }
    let leaked = leak();
    set.insert(leaked);
    leaked
}

fn intern(s: &str) -> &'static str {
    static SET: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    interned(&SET, s, || Box::leak(s.to_owned().into_boxed_str()))
}

fn intern_strs(v: Vec<&'static str>) -> &'static [&'static str] {
    static SET: OnceLock<Mutex<HashSet<&'static [&'static str]>>> = OnceLock::new();
    interned(&SET, v.as_slice(), || Box::leak(v.clone().into_boxed_slice()))
}

fn intern_subresources(v: Vec<Subresource>) -> &'static [Subresource] {
    static SET: OnceLock<Mutex<HashSet<&'static [Subresource]>>> = OnceLock::new();
    interned(&SET, v.as_slice(), || Box::leak(v.clone().into_boxed_slice()))
}

fn intern_info(info: ResourceInfo) -> &'static ResourceInfo {
    static SET: OnceLock<Mutex<HashSet<&'static ResourceInfo>>> = OnceLock::new();
    interned(&SET, &info, || Box::leak(Box::new(info)))
}

// ---- building the catalog --------------------------------------------------------------

/// Kubernetes version priority: GA before beta before alpha, higher numbers
/// first; anything else after, alphabetically (upstream's `CompareKubeAwareVersionStrings`).
fn version_key(v: &str) -> (u8, i64, i64, String) {
    let parsed = v.strip_prefix('v').and_then(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: i64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0u8, -major, 0i64));
        }
        for (label, rank) in [("beta", 1u8), ("alpha", 2u8)] {
            if let Some(n) = tail.strip_prefix(label) {
                let minor: i64 = if n.is_empty() { 0 } else { n.parse().ok()? };
                return Some((rank, -major, -minor));
            }
        }
        None
    });
    match parsed {
        Some((rank, major, minor)) => (rank, major, minor, String::new()),
        None => (3, 0, 0, v.to_owned()),
    }
}

/// The names a CRD asks for, with upstream's defaults.
#[derive(Clone, Debug, PartialEq)]
struct Names {
    plural: String,
    singular: String,
    kind: String,
    list_kind: String,
    short_names: Vec<String>,
    categories: Vec<String>,
}

fn names_of(crd: &Value) -> Names {
    let n = crd.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let s = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let list = |k: &str| -> Vec<String> {
        n.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let kind = s("kind");
    Names {
        plural: s("plural"),
        singular: match s("singular") {
            x if x.is_empty() => kind.to_ascii_lowercase(),
            x => x,
        },
        list_kind: match s("listKind") {
            x if x.is_empty() => format!("{kind}List"),
            x => x,
        },
        kind,
        short_names: list("shortNames"),
        categories: list("categories"),
    }
}

fn scale_paths(version: &Value) -> Option<ScalePaths> {
    let scale = version.pointer("/subresources/scale")?;
    let s = |k: &str| scale.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(ScalePaths {
        spec_replicas: s("specReplicasPath")?,
        status_replicas: s("statusReplicasPath")?,
        label_selector: s("labelSelectorPath"),
    })
}

fn build(crds: &BTreeMap<String, Value>, revision: i64) -> Catalog {
    let mut ordered: Vec<&Value> = crds.values().collect();
    // CRDs whose names were already accepted keep them; newcomers queue by age.
    ordered.sort_by_key(|c| {
        let accepted = c
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(|x| x["type"] == "NamesAccepted" && x["status"] == "True"));
        (!accepted, meta::meta_str(c, "creationTimestamp").unwrap_or("").to_owned(), meta::name(c).to_owned())
    });
    let mut resources_taken: HashMap<String, HashSet<String>> = HashMap::new();
    let mut kinds_taken: HashMap<String, HashSet<String>> = HashMap::new();
    let mut catalog = Catalog { revision, ..Default::default() };
    let mut group_versions: BTreeMap<&'static str, HashSet<&'static str>> = BTreeMap::new();
    for crd in ordered {
        let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("").to_owned();
        let names = names_of(crd);
        let resources = resources_taken.entry(group.clone()).or_default();
        let kinds = kinds_taken.entry(group.clone()).or_default();
        let mut conflict = None;
        for r in std::iter::once(&names.plural).chain(std::iter::once(&names.singular)).chain(&names.short_names) {
            if resources.contains(r) {
                conflict = Some(format!("{r:?} is already in use"));
            }
        }
        for k in [&names.kind, &names.list_kind] {
            if kinds.contains(k) {
                conflict = Some(format!("{k:?} is already in use"));
            }
        }
        if names.plural.is_empty() || names.kind.is_empty() || group.is_empty() {
            conflict = Some("names are incomplete".to_owned());
        }
        if registry::preferred_version(&group).is_some() {
            conflict = Some(format!("group {group:?} is served by the apiserver itself"));
        }
        let versions: Vec<Value> = crd.pointer("/spec/versions").and_then(Value::as_array).cloned().unwrap_or_default();
        let storage_version = versions
            .iter()
            .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .and_then(|v| v.get("name").and_then(Value::as_str))
            .unwrap_or("")
            .to_owned();
        let namespaced = crd.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster");
        let terminating = meta::is_deleting(crd);
        let mut storage_info = None;
        if conflict.is_none() {
            resources.insert(names.plural.clone());
            resources.insert(names.singular.clone());
            resources.extend(names.short_names.iter().cloned());
            kinds.insert(names.kind.clone());
            kinds.insert(names.list_kind.clone());
            let group_s = intern(&group);
            for v in &versions {
                let Some(vname) = v.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) else { continue };
                let vname = intern(vname);
                let kind = intern(&names.kind);
                let mut subresources = Vec::new();
                if v.pointer("/subresources/status").is_some() {
                    subresources.push(Subresource {
                        name: "status",
                        group: group_s,
                        version: vname,
                        kind,
                        verbs: registry::STATUS_VERBS,
                    });
                }
                let scale = scale_paths(v);
                if scale.is_some() {
                    subresources.push(Subresource {
                        name: "scale",
                        group: "autoscaling",
                        version: "v1",
                        kind: "Scale",
                        verbs: registry::STATUS_VERBS,
                    });
                }
                let info = intern_info(ResourceInfo {
                    group: group_s,
                    version: vname,
                    kind,
                    plural: intern(&names.plural),
                    singular: intern(&names.singular),
                    short_names: intern_strs(names.short_names.iter().map(|s| intern(s)).collect()),
                    namespaced,
                    verbs: registry::STANDARD_VERBS,
                    subresources: intern_subresources(subresources),
                    categories: intern_strs(names.categories.iter().map(|s| intern(s)).collect()),
                    storage_segment: Some(intern(&format!("{group}/{}", names.plural))),
                });
                if vname == storage_version {
                    storage_info = Some(info);
                }
                if v.get("served").and_then(Value::as_bool) != Some(true) {
                    continue;
                }
                group_versions.entry(group_s).or_default().insert(vname);
                catalog.versions.push(Arc::new(CustomVersion {
                    info,
                    crd_name: meta::name(crd).to_owned(),
                    storage_version: storage_version.clone(),
                    schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                    columns: PrinterColumn::of_version(v),
                    scale,
                    terminating,
                    deprecation_warning: (v.get("deprecated").and_then(Value::as_bool) == Some(true)).then(|| {
                        v.get("deprecationWarning")
                            .and_then(Value::as_str)
                            .map_or_else(|| format!("{group}/{vname} {} is deprecated", names.kind), str::to_owned)
                    }),
                }));
            }
        }
        catalog.crds.push(Seen { object: crd.clone(), conflict, storage: storage_info });
    }
    catalog.groups = group_versions
        .into_iter()
        .map(|(name, versions)| {
            let mut versions: Vec<&'static str> = versions.into_iter().collect();
            versions.sort_by_key(|v| version_key(v));
            CustomGroup { name, versions }
        })
        .collect();
    catalog
}

// ---- CRD validation --------------------------------------------------------------------

/// Upstream's CRD validation, for the parts clients rely on.
pub fn validate_definition(crd: &Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = meta::name(crd);
    let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
    let names = names_of(crd);
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else if !group.contains('.') {
        errs.push(FieldError::invalid("spec.group", group, "should be a domain with at least one dot"));
    }
    if names.plural.is_empty() {
        errs.push(FieldError::required("spec.names.plural", ""));
    } else if names.plural != names.plural.to_ascii_lowercase() {
        errs.push(FieldError::invalid(
            "spec.names.plural",
            names.plural.as_str(),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
        ));
    }
    if names.kind.is_empty() {
        errs.push(FieldError::required("spec.names.kind", ""));
    }
    if !names.plural.is_empty() && !group.is_empty() && name != format!("{}.{group}", names.plural) {
        errs.push(FieldError::invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group"));
    }
    match crd.pointer("/spec/scope").and_then(Value::as_str) {
        Some("Namespaced" | "Cluster") => {}
        Some(other) => errs.push(FieldError::not_supported("spec.scope", other, &["Cluster", "Namespaced"])),
        None => errs.push(FieldError::required("spec.scope", "")),
    }
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array).cloned().unwrap_or_default();
    if versions.is_empty() {
        errs.push(FieldError::invalid_value_omitted(
            "spec.versions",
            "must have exactly one version marked as storage version",
        ));
    }
    let storage = versions.iter().filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true)).count();
    if !versions.is_empty() && storage != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            storage.to_string().as_str(),
            "must have exactly one version marked as storage version",
        ));
    }
    if !versions.is_empty() && !versions.iter().any(|v| v.get("served").and_then(Value::as_bool) == Some(true)) {
        errs.push(FieldError::invalid_value_omitted("spec.versions", "must have at least one served version"));
    }
    let mut seen = HashSet::new();
    for (i, v) in versions.iter().enumerate() {
        let vname = v.get("name").and_then(Value::as_str).unwrap_or("");
        if vname.is_empty() {
            errs.push(FieldError::required(format!("spec.versions[{i}].name"), ""));
        } else if !seen.insert(vname) {
            errs.push(FieldError::duplicate(format!("spec.versions[{i}].name"), vname));
        }
        match v.pointer("/schema/openAPIV3Schema") {
            Some(s) => errs.extend(schema::schema_errors(s, &format!("spec.versions[{i}].schema.openAPIV3Schema"))),
            None => errs.push(FieldError::required(
                format!("spec.versions[{i}].schema.openAPIV3Schema"),
                "schemas are required",
            )),
        }
        if let Some(scale) = v.pointer("/subresources/scale") {
            for key in ["specReplicasPath", "statusReplicasPath"] {
                if scale.get(key).and_then(Value::as_str).is_none_or(|p| !p.starts_with('.')) {
                    errs.push(FieldError::invalid_value_omitted(
                        format!("spec.versions[{i}].subresources.scale.{key}"),
                        "must be a simple json path starting with .",
                    ));
                }
            }
        }
    }
    errs
}

// ---- custom resource admission ---------------------------------------------------------

/// Prunes, defaults and validates a custom resource against its version's
/// schema; returns the `fieldValidation` warnings (or its Strict error).
pub fn admit(
    version: &CustomVersion,
    mode: crate::field_validation::Mode,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    let Some(schema) = &version.schema else { return Ok(Vec::new()) };
    let unknown = schema::prune_and_default(schema, obj);
    let mut warnings = crate::field_validation::verdict(mode, version.info.version, version.info.kind, &unknown)?;
    let errors = schema::validate(schema, obj);
    if !errors.is_empty() {
        let name = meta::meta_str(obj, "name")
            .filter(|n| !n.is_empty())
            .or_else(|| meta::meta_str(obj, "generateName"))
            .unwrap_or("");
        return Err(ApiError::invalid(version.info.kind, version.info.group, name, &errors));
    }
    if let Some(w) = &version.deprecation_warning {
        warnings.push(w.clone());
    }
    Ok(warnings)
}

// ---- the status and cleanup controller ------------------------------------------------

fn condition(type_: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({ "type": type_, "status": if status { "True" } else { "False" }, "reason": reason, "message": message })
}

/// The status a CRD should have, keeping transition times of unchanged conditions.
fn desired_status(seen: &Seen) -> Value {
    let crd = &seen.object;
    let old = crd.get("status").cloned().unwrap_or_else(|| json!({}));
    let names = names_of(crd);
    let mut status = old.clone();
    if !status.is_object() {
        status = json!({});
    }
    let mut conditions = Vec::new();
    match &seen.conflict {
        None => {
            let mut accepted = json!({ "plural": names.plural, "singular": names.singular, "kind": names.kind, "listKind": names.list_kind });
            if !names.short_names.is_empty() {
                accepted["shortNames"] = json!(names.short_names);
            }
            if !names.categories.is_empty() {
                accepted["categories"] = json!(names.categories);
            }
            status["acceptedNames"] = accepted;
            conditions.push(condition("NamesAccepted", true, "NoConflicts", "no conflicts found"));
            conditions.push(condition(
                "Established",
                true,
                "InitialNamesAccepted",
                "the initial names have been accepted",
            ));
        }
        Some(why) => {
            if status.get("acceptedNames").is_none() {
                status["acceptedNames"] = json!({ "plural": "", "kind": "" });
            }
            conditions.push(condition("NamesAccepted", false, "NameConflict", why));
            conditions.push(condition("Established", false, "NotAccepted", "not all names are accepted"));
        }
    }
    if meta::is_deleting(crd) {
        conditions.push(condition(
            "Terminating",
            true,
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        ));
    }
    let now = meta::now_rfc3339();
    let old_conditions = old.get("conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    for c in &mut conditions {
        let previous = old_conditions.iter().find(|o| o.get("type") == c.get("type"));
        let time = match previous {
            Some(p) if p.get("status") == c.get("status") => {
                p.get("lastTransitionTime").cloned().unwrap_or_else(|| json!(now))
            }
            _ => json!(now),
        };
        c["lastTransitionTime"] = time;
    }
    status["conditions"] = json!(conditions);
    let mut stored: Vec<Value> = old.get("storedVersions").and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(storage) = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v.get("storage").and_then(Value::as_bool) == Some(true)))
        .and_then(|v| v.get("name").cloned())
        && !stored.contains(&storage)
    {
        stored.push(storage);
    }
    status["storedVersions"] = json!(stored);
    status
}

fn same_ignoring_times(a: &Value, b: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(cs) = v.get_mut("conditions").and_then(Value::as_array_mut) {
            for c in cs {
                if let Some(m) = c.as_object_mut() {
                    m.remove("lastTransitionTime");
                }
            }
        }
        v
    }
    strip(a) == strip(b)
}

async fn control(store: ResourceStore, mut rx: tokio::sync::watch::Receiver<Arc<Catalog>>) {
    loop {
        let catalog = Arc::clone(&rx.borrow_and_update());
        let mut pending_cleanup = false;
        for seen in &catalog.crds {
            if let Err(e) = reconcile(&store, seen, &mut pending_cleanup).await {
                tracing::warn!(crd = meta::name(&seen.object), error = %e.message, "custom resource definition not reconciled yet");
                pending_cleanup = true;
            }
        }
        // Level-triggered: wake on any CRD change, and retry while cleanups are pending.
        let wait = if pending_cleanup { Duration::from_secs(1) } else { Duration::from_secs(60) };
        if let Ok(Err(_)) = tokio::time::timeout(wait, rx.changed()).await {
            return; // the catalog is gone: the server is stopping
        }
    }
}

async fn reconcile(store: &ResourceStore, seen: &Seen, pending: &mut bool) -> Result<(), ApiError> {
    let crd = &seen.object;
    let name = meta::name(crd).to_owned();
    let t = Target { resource: crd_resource(), namespace: None };
    let desired = desired_status(seen);
    if !same_ignoring_times(crd.get("status").unwrap_or(&Value::Null), &desired) {
        let uid = meta::meta_str(crd, "uid").map(str::to_owned);
        let result = store
            .update_with(t, &name, Some("status"), false, |old| {
                if meta::meta_str(old, "uid").map(str::to_owned) != uid {
                    return Err(ApiError::conflict(t.qualified(), &name, "the object was replaced"));
                }
                let mut new = old.clone();
                new["status"] = desired.clone();
                meta::meta_mut(&mut new).remove("resourceVersion");
                Ok(new)
            })
            .await;
        match result {
            Ok(_) => {}
            Err(e) if e.code == 404 || e.code == 409 => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    if !meta::is_deleting(crd) || !meta::finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(());
    }
    // Delete every instance, then release the CRD.
    let mut remaining = 0usize;
    if let Some(resource) = seen.storage {
        let all = Target { resource, namespace: None };
        let prefix = all.prefix()?;
        let (items, _) = store.list_page(all, &ListOptions { prefix: prefix.clone(), ..Default::default() }).await?;
        for item in &items {
            let target = Target { resource, namespace: meta::meta_str(item, "namespace") };
            match store.delete(target, meta::name(item), &DeleteOptions::default()).await {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let (left, _) = store.list_page(all, &ListOptions { prefix, ..Default::default() }).await?;
        remaining = left.len();
    }
    if remaining > 0 {
        *pending = true;
        return Ok(());
    }
    let result = store
        .update_with(t, &name, None, false, |old| {
            let mut new = old.clone();
            let finalizers: Vec<String> =
                meta::finalizers(old).into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
            meta::set_finalizers(&mut new, &finalizers);
            meta::meta_mut(&mut new).remove("resourceVersion");
            Ok(new)
        })
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str, group: &str, plural: &str, kind: &str, created: &str) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": { "name": name, "creationTimestamp": created, "uid": name },
            "spec": {
                "group": group, "scope": "Namespaced",
                "names": { "plural": plural, "kind": kind, "shortNames": ["wd"] },
                "versions": [
                    { "name": "v1", "served": true, "storage": true, "schema": { "openAPIV3Schema": { "type": "object" } },
                      "subresources": { "status": {}, "scale": { "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas" } } },
                    { "name": "v1beta1", "served": true, "storage": false, "schema": { "openAPIV3Schema": { "type": "object" } } },
                    { "name": "v2alpha1", "served": false, "storage": false, "schema": { "openAPIV3Schema": { "type": "object" } } }
                ]
            }
        })
    }

    #[test]
    fn served_versions_become_resources_and_conflicting_names_are_refused() {
        let mut crds = BTreeMap::new();
        crds.insert("a".into(), crd("widgets.example.com", "example.com", "widgets", "Widget", "2026-01-01T00:00:00Z"));
        crds.insert("b".into(), crd("gadgets.example.com", "example.com", "gadgets", "Gadget", "2026-01-02T00:00:00Z"));
        let catalog = build(&crds, 7);
        assert_eq!(catalog.revision, 7);
        let w = catalog.lookup("example.com", "v1", "widgets").expect("widgets served");
        assert_eq!((w.info.kind, w.info.singular, w.info.namespaced), ("Widget", "widget", true));
        assert_eq!(w.info.storage_key(Some("ns"), "x").as_deref(), Some("/registry/example.com/widgets/ns/x"));
        assert!(w.info.subresource("status").is_some() && w.info.subresource("scale").is_some());
        assert!(catalog.lookup("example.com", "v1beta1", "widgets").unwrap().info.subresource("status").is_none());
        assert!(catalog.lookup("example.com", "v2alpha1", "widgets").is_none(), "not served");
        // The later CRD reuses the short name "wd": refused as a whole.
        assert!(catalog.lookup("example.com", "v1", "gadgets").is_none());
        let gadget = catalog.crds.iter().find(|s| meta::name(&s.object) == "gadgets.example.com").unwrap();
        assert!(gadget.conflict.as_deref().unwrap().contains("\"wd\""));
        assert_eq!(desired_status(gadget)["conditions"][1]["status"], "False");
        let widget = catalog.crds.iter().find(|s| meta::name(&s.object) == "widgets.example.com").unwrap();
        let status = desired_status(widget);
        assert_eq!(status["acceptedNames"]["listKind"], "WidgetList");
        assert_eq!(status["storedVersions"], json!(["v1"]));
        assert_eq!(catalog.groups()[0].versions, vec!["v1", "v1beta1"]);
        // Interning: rebuilding yields the very same rows.
        let again = build(&crds, 8);
        assert!(std::ptr::eq(again.lookup("example.com", "v1", "widgets").unwrap().info, w.info));
        assert!(!registry::is_builtin(w.info));
    }

    #[test]
    fn version_priority_is_kube_aware() {
        let mut v = vec!["v1alpha1", "v2", "foo", "v1", "v1beta2", "v10", "v1beta1", "v2beta1"];
        v.sort_by_key(|x| version_key(x));
        assert_eq!(v, vec!["v10", "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn definitions_are_validated() {
        let good = crd("widgets.example.com", "example.com", "widgets", "Widget", "");
        assert!(validate_definition(&good).is_empty(), "{:?}", validate_definition(&good));
        let mut bad = good.clone();
        bad["metadata"]["name"] = json!("wrong.example.com");
        bad["spec"]["versions"][1]["storage"] = json!(true);
        bad["spec"]["scope"] = json!("Galaxy");
        let errs: Vec<String> = validate_definition(&bad).iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 3, "{errs:#?}");
    }
}
