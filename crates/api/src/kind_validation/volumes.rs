//! Pod volumes (upstream `ValidateVolumes`, `validateVolumeSource` and the source
//! validators) and the persistent volume claim spec they share with PVCs.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    DownwardAPIVolumeFile, KeyToPath, ObjectFieldSelector, ResourceFieldSelector, Volume,
};

use super::formats::{validate_local_descending_path, validate_local_non_reserved_path, validate_path_no_backsteps};
use super::resources::parse_quantity;
use super::{opt_str, required};
use crate::validation::{
    ErrorList, FieldError, NameRule, child_path, index_path, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
};

/// Upstream `fileModeErrorMsg`.
const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const MORE_THAN_ONE: &str = "may not specify more than 1 volume type";

/// What a container may do with a volume of this name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VolumeInfo {
    /// Backed by a claim (`persistentVolumeClaim` or `ephemeral`): usable as a block device.
    pub claim: bool,
}

/// `ValidateVolumes`: names unique DNS labels, exactly one valid source each. Returns
/// the volumes without errors, by name, for the mount checks.
pub(crate) fn validate_volumes(
    volumes: &[Volume],
    pod_name: Option<&str>,
    path: &str,
) -> (BTreeMap<String, VolumeInfo>, ErrorList) {
    let mut errs = ErrorList::new();
    let mut valid = BTreeMap::new();
    let mut names = BTreeSet::new();
    let pod_name = pod_name.filter(|n| !n.is_empty());
    let created_claims: BTreeSet<String> = match pod_name {
        Some(pod) => volumes.iter().filter(|v| v.ephemeral.is_some()).map(|v| format!("{pod}-{}", v.name)).collect(),
        None => BTreeSet::new(),
    };
    for (i, volume) in volumes.iter().enumerate() {
        let volume_path = index_path(path, i);
        let name_path = child_path(&volume_path, "name");
        let mut volume_errs = validate_volume_source(volume, &volume_path, pod_name);
        if volume.name.is_empty() {
            volume_errs.push(FieldError::required(&name_path, ""));
        } else {
            volume_errs.extend(dns_label(&volume.name, &name_path));
        }
        if names.contains(&volume.name) {
            volume_errs.push(FieldError::duplicate(&name_path, &volume.name));
        }
        if volume_errs.is_empty() {
            names.insert(volume.name.clone());
            let claim = volume.persistent_volume_claim.is_some() || volume.ephemeral.is_some();
            valid.insert(volume.name.clone(), VolumeInfo { claim });
        } else {
            errs.extend(volume_errs);
        }
        if let Some(claim) = &volume.persistent_volume_claim
            && created_claims.contains(&claim.claim_name)
        {
            errs.push(FieldError::invalid(
                child_path(&child_path(&volume_path, "persistentVolumeClaim"), "claimName"),
                &claim.claim_name,
                "must not reference a PVC that gets created for an ephemeral volume",
            ));
        }
    }
    (valid, errs)
}

/// `ValidateDNS1123Label`.
pub(crate) fn dns_label(value: &str, path: &str) -> ErrorList {
    is_dns1123_label(value).into_iter().map(|m| FieldError::invalid(path, value, m)).collect()
}

/// `ValidateDNS1123Subdomain`.
pub(crate) fn dns_subdomain(value: &str, path: &str) -> ErrorList {
    is_dns1123_subdomain(value).into_iter().map(|m| FieldError::invalid(path, value, m)).collect()
}

/// Counts the sources in upstream's order; a second one is forbidden, the first
/// one validated.
struct SourceCounter<'a> {
    path: &'a str,
    count: usize,
    errs: ErrorList,
}

impl SourceCounter<'_> {
    /// Registers a present source; `true` when it is the first and should be validated.
    fn first(&mut self, present: bool, forbidden_field: &str) -> bool {
        if !present {
            return false;
        }
        if self.count > 0 {
            self.errs.push(FieldError::forbidden(child_path(self.path, forbidden_field), MORE_THAN_ONE));
            return false;
        }
        self.count += 1;
        true
    }
}

/// `validateVolumeSource`.
fn validate_volume_source(v: &Volume, path: &str, pod_name: Option<&str>) -> ErrorList {
    let mut c = SourceCounter { path, count: 0, errs: ErrorList::new() };
    let child = |name: &str| child_path(path, name);
    let mut errs = ErrorList::new();
    if let Some(empty_dir) = &v.empty_dir {
        c.count += 1;
        if let Some(limit) = &empty_dir.size_limit
            && crate::Quantity::parse(limit.0.trim()).is_ok_and(|q| q.sign() < 0)
        {
            errs.push(FieldError::forbidden(
                child_path(&child("emptyDir"), "sizeLimit"),
                "SizeLimit field must be a valid resource quantity",
            ));
        }
    }
    if c.first(v.host_path.is_some(), "hostPath")
        && let Some(s) = &v.host_path
    {
        errs.extend(validate_host_path(&s.path, s.type_.as_deref(), &child("hostPath")));
    }
    if c.first(v.git_repo.is_some(), "gitRepo")
        && let Some(s) = &v.git_repo
    {
        let p = child("gitRepo");
        errs.extend(required(&s.repository, &child_path(&p, "repository")));
        errs.extend(validate_local_descending_path(opt_str(&s.directory), &child_path(&p, "directory")));
    }
    if c.first(v.gce_persistent_disk.is_some(), "gcePersistentDisk")
        && let Some(s) = &v.gce_persistent_disk
    {
        let p = child("persistentDisk");
        errs.extend(required(&s.pd_name, &child_path(&p, "pdName")));
        errs.extend(partition(s.partition, &child_path(&p, "partition")));
    }
    if c.first(v.aws_elastic_block_store.is_some(), "awsElasticBlockStore")
        && let Some(s) = &v.aws_elastic_block_store
    {
        let p = child("awsElasticBlockStore");
        errs.extend(required(&s.volume_id, &child_path(&p, "volumeID")));
        errs.extend(partition(s.partition, &child_path(&p, "partition")));
    }
    if c.first(v.secret.is_some(), "secret")
        && let Some(s) = &v.secret
    {
        let p = child("secret");
        errs.extend(required(opt_str(&s.secret_name), &child_path(&p, "secretName")));
        errs.extend(file_mode(s.default_mode, &child_path(&p, "defaultMode")));
        errs.extend(key_to_paths(s.items.as_deref(), &child_path(&p, "items")));
    }
    if c.first(v.nfs.is_some(), "nfs")
        && let Some(s) = &v.nfs
    {
        let p = child("nfs");
        errs.extend(required(&s.server, &child_path(&p, "server")));
        errs.extend(required(&s.path, &child_path(&p, "path")));
        if !s.path.starts_with('/') {
            errs.push(FieldError::invalid(child_path(&p, "path"), &s.path, "must be an absolute path"));
        }
    }
    if c.first(v.iscsi.is_some(), "iscsi")
        && let Some(s) = &v.iscsi
    {
        let p = child("iscsi");
        errs.extend(required(&s.target_portal, &child_path(&p, "targetPortal")));
        errs.extend(required(&s.iqn, &child_path(&p, "iqn")));
        if !(0..=255).contains(&s.lun) {
            errs.push(FieldError::invalid(child_path(&p, "lun"), s.lun, super::formats::inclusive_range_error(0, 255)));
        }
    }
    if c.first(v.glusterfs.is_some(), "glusterfs")
        && let Some(s) = &v.glusterfs
    {
        let p = child("glusterfs");
        errs.extend(required(&s.endpoints, &child_path(&p, "endpoints")));
        errs.extend(required(&s.path, &child_path(&p, "path")));
    }
    if c.first(v.flocker.is_some(), "flocker")
        && let Some(s) = &v.flocker
    {
        let p = child("flocker");
        let (name, uuid) = (opt_str(&s.dataset_name), opt_str(&s.dataset_uuid));
        if name.is_empty() && uuid.is_empty() {
            errs.push(FieldError::required(&p, "one of datasetName and datasetUUID is required"));
        }
        if !name.is_empty() && !uuid.is_empty() {
            errs.push(FieldError::invalid(
                &p,
                "resource",
                "datasetName and datasetUUID can not be specified simultaneously",
            ));
        }
        if name.contains('/') {
            errs.push(FieldError::invalid(child_path(&p, "datasetName"), name, "must not contain '/'"));
        }
    }
    if c.first(v.persistent_volume_claim.is_some(), "persistentVolumeClaim")
        && let Some(s) = &v.persistent_volume_claim
    {
        errs.extend(required(&s.claim_name, &child_path(&child("persistentVolumeClaim"), "claimName")));
    }
    if c.first(v.rbd.is_some(), "rbd")
        && let Some(s) = &v.rbd
    {
        let p = child("rbd");
        if s.monitors.is_empty() {
            errs.push(FieldError::required(child_path(&p, "monitors"), ""));
        }
        errs.extend(required(&s.image, &child_path(&p, "image")));
    }
    if c.first(v.cinder.is_some(), "cinder")
        && let Some(s) = &v.cinder
    {
        errs.extend(required(&s.volume_id, &child_path(&child("cinder"), "volumeID")));
    }
    if c.first(v.cephfs.is_some(), "cephFS")
        && let Some(s) = &v.cephfs
        && s.monitors.is_empty()
    {
        errs.push(FieldError::required(child_path(&child("cephfs"), "monitors"), ""));
    }
    if c.first(v.quobyte.is_some(), "quobyte")
        && let Some(s) = &v.quobyte
    {
        let p = child("quobyte");
        if s.registry.is_empty() {
            errs.push(FieldError::required(
                child_path(&p, "registry"),
                "must be a host:port pair or multiple pairs separated by commas",
            ));
        }
        errs.extend(required(&s.volume, &child_path(&p, "volume")));
    }
    if c.first(v.downward_api.is_some(), "downwarAPI")
        && let Some(s) = &v.downward_api
    {
        let p = child("downwardAPI");
        errs.extend(file_mode(s.default_mode, &child_path(&p, "defaultMode")));
        for file in s.items.iter().flatten() {
            errs.extend(downward_api_file(file, &p));
        }
    }
    if c.first(v.fc.is_some(), "fc")
        && let Some(s) = &v.fc
    {
        let p = child("fc");
        let (wwns, wwids) = (s.target_wwns.as_deref().unwrap_or_default(), s.wwids.as_deref().unwrap_or_default());
        if wwns.is_empty() && wwids.is_empty() {
            errs.push(FieldError::required(
                child_path(&p, "targetWWNs"),
                "must specify either targetWWNs or wwids, but not both",
            ));
        }
    }
    if c.first(v.flex_volume.is_some(), "flexVolume")
        && let Some(s) = &v.flex_volume
    {
        errs.extend(required(&s.driver, &child_path(&child("flexVolume"), "driver")));
    }
    if c.first(v.config_map.is_some(), "configMap")
        && let Some(s) = &v.config_map
    {
        let p = child("configMap");
        errs.extend(required(&s.name, &child_path(&p, "name")));
        errs.extend(file_mode(s.default_mode, &child_path(&p, "defaultMode")));
        errs.extend(key_to_paths(s.items.as_deref(), &child_path(&p, "items")));
    }
    if c.first(v.azure_file.is_some(), "azureFile")
        && let Some(s) = &v.azure_file
    {
        let p = child("azureFile");
        errs.extend(required(&s.secret_name, &child_path(&p, "secretName")));
        errs.extend(required(&s.share_name, &child_path(&p, "shareName")));
    }
    if c.first(v.vsphere_volume.is_some(), "vsphereVolume")
        && let Some(s) = &v.vsphere_volume
    {
        errs.extend(required(&s.volume_path, &child_path(&child("vsphereVolume"), "volumePath")));
    }
    if c.first(v.photon_persistent_disk.is_some(), "photonPersistentDisk")
        && let Some(s) = &v.photon_persistent_disk
    {
        errs.extend(required(&s.pd_id, &child_path(&child("photonPersistentDisk"), "pdID")));
    }
    if c.first(v.portworx_volume.is_some(), "portworxVolume")
        && let Some(s) = &v.portworx_volume
    {
        errs.extend(required(&s.volume_id, &child_path(&child("portworxVolume"), "volumeID")));
    }
    if c.first(v.azure_disk.is_some(), "azureDisk")
        && let Some(s) = &v.azure_disk
    {
        let p = child("azureDisk");
        errs.extend(required(&s.disk_name, &child_path(&p, "diskName")));
        errs.extend(required(&s.disk_uri, &child_path(&p, "diskURI")));
    }
    if c.first(v.storageos.is_some(), "storageos")
        && let Some(s) = &v.storageos
    {
        let p = child("storageos");
        let name = opt_str(&s.volume_name);
        if name.is_empty() {
            errs.push(FieldError::required(child_path(&p, "volumeName"), ""));
        } else {
            errs.extend(dns_label(name, &child_path(&p, "volumeName")));
        }
    }
    if c.first(v.projected.is_some(), "projected")
        && let Some(s) = &v.projected
    {
        let p = child("projected");
        errs.extend(file_mode(s.default_mode, &child_path(&p, "defaultMode")));
        errs.extend(projection_sources(s.sources.as_deref().unwrap_or_default(), &p));
    }
    if c.first(v.scale_io.is_some(), "scaleIO")
        && let Some(s) = &v.scale_io
    {
        let p = child("scaleIO");
        errs.extend(required(&s.gateway, &child_path(&p, "gateway")));
        errs.extend(required(&s.system, &child_path(&p, "system")));
        errs.extend(required(opt_str(&s.volume_name), &child_path(&p, "volumeName")));
    }
    if c.first(v.csi.is_some(), "csi")
        && let Some(s) = &v.csi
    {
        let p = child("csi");
        errs.extend(validate_csi_driver_name(&s.driver, &child_path(&p, "driver")));
        if let Some(secret) = &s.node_publish_secret_ref {
            let name = &secret.name;
            if name.is_empty() {
                errs.push(FieldError::required(child_path(&child_path(&p, "nodePublishSecretRef"), "name"), ""));
            } else {
                for msg in NameRule::Dns1123Subdomain.check(name, false) {
                    errs.push(FieldError::invalid(child_path(&p, "name"), name, msg));
                }
            }
        }
    }
    if c.first(v.ephemeral.is_some(), "ephemeral")
        && let Some(s) = &v.ephemeral
    {
        let p = child("ephemeral");
        match &s.volume_claim_template {
            None => errs.push(FieldError::required(child_path(&p, "volumeClaimTemplate"), "")),
            Some(template) => errs.extend(super::persistent_volumes::validate_claim_template(
                template,
                &child_path(&p, "volumeClaimTemplate"),
            )),
        }
        if let Some(pod) = pod_name.filter(|_| !v.name.is_empty()) {
            let claim_name = format!("{pod}-{}", v.name);
            for msg in is_dns1123_subdomain(&claim_name) {
                errs.push(FieldError::invalid(
                    child("name"),
                    &v.name,
                    format!("PVC name {}: {msg}", crate::validation::go_quote(&claim_name)),
                ));
            }
        }
    }
    if c.count == 0 {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    let mut all = c.errs;
    // Upstream appends each source's errors as it goes; the "more than one" errors
    // of later sources come after the first source's own errors.
    all.splice(0..0, errs);
    all
}

/// `validateHostPathVolumeSource` (shared with persistent volumes).
pub(crate) fn validate_host_path(host_path: &str, host_path_type: Option<&str>, path: &str) -> ErrorList {
    if host_path.is_empty() {
        return vec![FieldError::required(child_path(path, "path"), "")];
    }
    let mut errs = validate_path_no_backsteps(host_path, &child_path(path, "path"));
    const TYPES: [&str; 8] =
        ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"];
    if let Some(t) = host_path_type
        && !TYPES.contains(&t)
    {
        errs.push(FieldError::not_supported(child_path(path, "type"), t, &TYPES));
    }
    errs
}

/// `ValidateCSIDriverName`.
pub(crate) fn validate_csi_driver_name(driver: &str, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if driver.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
    if driver.len() > 63 {
        errs.push(FieldError::too_long(path, 63));
    }
    for msg in is_dns1123_subdomain(&driver.to_lowercase()) {
        errs.push(FieldError::invalid(path, driver, msg));
    }
    errs
}

fn partition(value: Option<i32>, path: &str) -> Option<FieldError> {
    let value = value.unwrap_or(0);
    (!(0..=255).contains(&value))
        .then(|| FieldError::invalid(path, value, super::formats::inclusive_range_error(1, 255)))
}

fn file_mode(mode: Option<i32>, path: &str) -> Option<FieldError> {
    mode.filter(|m| !(0..=0o777).contains(m)).map(|m| FieldError::invalid(path, m, FILE_MODE_ERROR))
}

/// `validateKeyToPath` for each item.
fn key_to_paths(items: Option<&[KeyToPath]>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, item) in items.unwrap_or_default().iter().enumerate() {
        errs.extend(key_to_path(item, &index_path(path, i)));
    }
    errs
}

fn key_to_path(item: &KeyToPath, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    errs.extend(required(&item.key, &child_path(path, "key")));
    errs.extend(required(&item.path, &child_path(path, "path")));
    errs.extend(validate_local_non_reserved_path(&item.path, &child_path(path, "path")));
    errs.extend(file_mode(item.mode, &child_path(path, "mode")));
    errs
}

/// Field paths a downward API volume file may project.
const VOLUME_FIELD_PATHS: &[&str] =
    &["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"];
/// Resources a `resourceFieldRef` may name, besides the huge page prefixes.
const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// `validateDownwardAPIVolumeFile`; errors of the item sit at the volume's path, as upstream.
fn downward_api_file(file: &DownwardAPIVolumeFile, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    errs.extend(required(&file.path, &child_path(path, "path")));
    errs.extend(validate_local_non_reserved_path(&file.path, &child_path(path, "path")));
    if let Some(field_ref) = &file.field_ref {
        errs.extend(validate_object_field_selector(field_ref, VOLUME_FIELD_PATHS, &child_path(path, "fieldRef")));
        if file.resource_field_ref.is_some() {
            errs.push(FieldError::invalid(
                path,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ));
        }
    } else if let Some(resource_ref) = &file.resource_field_ref {
        errs.extend(validate_resource_field_selector(resource_ref, &child_path(path, "resourceFieldRef"), true));
    } else {
        errs.push(FieldError::required(path, "one of fieldRef and resourceFieldRef is required"));
    }
    errs.extend(file_mode(file.mode, &child_path(path, "mode")));
    errs
}

/// `validateObjectFieldSelector` against the allowed `expressions`.
pub(crate) fn validate_object_field_selector(
    selector: &ObjectFieldSelector,
    expressions: &[&str],
    path: &str,
) -> ErrorList {
    let api_version = opt_str(&selector.api_version);
    if api_version.is_empty() {
        return vec![FieldError::required(child_path(path, "apiVersion"), "")];
    }
    let field_path = selector.field_path.as_str();
    if field_path.is_empty() {
        return vec![FieldError::required(child_path(path, "fieldPath"), "")];
    }
    let internal = match convert_downward_api_field_label(api_version, field_path) {
        Ok(internal) => internal,
        Err(e) => {
            return vec![FieldError::invalid(
                child_path(path, "fieldPath"),
                field_path,
                format!("error converting fieldPath: {e}"),
            )];
        }
    };
    if let Some((base, subscript)) = split_subscripted_path(&internal) {
        let (value, errs_for) = match base {
            "metadata.annotations" => (subscript.to_lowercase(), true),
            "metadata.labels" => (subscript.to_string(), true),
            _ => (String::new(), false),
        };
        if !errs_for {
            return vec![FieldError::invalid(path, base, "does not support subscript")];
        }
        return is_qualified_name(&value).into_iter().map(|m| FieldError::invalid(path, &value, m)).collect();
    }
    if !expressions.contains(&internal.as_str()) {
        return vec![FieldError::not_supported(child_path(path, "fieldPath"), &internal, expressions)];
    }
    Vec::new()
}

/// `podshelper.ConvertDownwardAPIFieldLabel` for v1.
fn convert_downward_api_field_label(version: &str, label: &str) -> Result<String, String> {
    if version != "v1" {
        return Err(format!("unsupported pod version: {version}"));
    }
    if let Some((base, _)) = split_subscripted_path(label) {
        return match base {
            "metadata.annotations" | "metadata.labels" => Ok(label.to_string()),
            _ => Err(format!("field label does not support subscript: {label}")),
        };
    }
    match label {
        "metadata.annotations"
        | "metadata.labels"
        | "metadata.name"
        | "metadata.namespace"
        | "metadata.uid"
        | "spec.nodeName"
        | "spec.restartPolicy"
        | "spec.serviceAccountName"
        | "spec.schedulerName"
        | "status.phase"
        | "status.hostIP"
        | "status.hostIPs"
        | "status.podIP"
        | "status.podIPs" => Ok(label.to_string()),
        "spec.host" => Ok("spec.nodeName".to_string()),
        _ => Err(format!("field label not supported: {label}")),
    }
}

/// `fieldpath.SplitMaybeSubscriptedPath`: `metadata.labels['key']` → (`metadata.labels`, `key`).
fn split_subscripted_path(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (base, subscript) = inner.split_once("['")?;
    (!base.is_empty()).then_some((base, subscript))
}

/// `validateContainerResourceFieldSelector`; `volume` requires a container name.
pub(crate) fn validate_resource_field_selector(
    selector: &ResourceFieldSelector,
    path: &str,
    volume: bool,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let container = opt_str(&selector.container_name);
    if volume && container.is_empty() {
        errs.push(FieldError::required(child_path(path, "containerName"), ""));
    } else if selector.resource.is_empty() {
        errs.push(FieldError::required(child_path(path, "resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&selector.resource.as_str())
        && !selector.resource.starts_with("limits.hugepages-")
        && !selector.resource.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::not_supported(child_path(path, "resource"), &selector.resource, RESOURCE_FIELD_PATHS));
    }
    if let Some(divisor) = &selector.divisor {
        let mut parse_errs = ErrorList::new();
        if let Some(q) = parse_quantity(divisor, &child_path(path, "divisor"), &mut parse_errs) {
            errs.extend(validate_divisor(&selector.resource, &q, path));
        }
        errs.extend(parse_errs);
    }
    errs
}

/// `validateContainerResourceDivisor`.
fn validate_divisor(resource: &str, divisor: &crate::Quantity, path: &str) -> ErrorList {
    if divisor.is_zero() {
        return Vec::new();
    }
    const SIZES: [&str; 13] = ["1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"];
    let text = divisor.to_canonical_string();
    let field = child_path(path, "divisor");
    let mut errs = ErrorList::new();
    let sizes_ok = SIZES.contains(&text.as_str());
    match resource {
        "limits.cpu" | "requests.cpu" if text != "1m" && text != "1" => {
            errs.push(FieldError::invalid(&field, resource, "only divisor's values 1m and 1 are supported with the cpu resource"));
        }
        "limits.memory" | "requests.memory" if !sizes_ok => errs.push(FieldError::invalid(
            &field,
            resource,
            "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
        )),
        "limits.ephemeral-storage" | "requests.ephemeral-storage" if !sizes_ok => errs.push(FieldError::invalid(
            &field,
            resource,
            "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource",
        )),
        _ => {}
    }
    if (resource.starts_with("requests.hugepages-") || resource.starts_with("limits.hugepages-")) && !sizes_ok {
        errs.push(FieldError::invalid(
            &field,
            resource,
            "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the hugepages resource",
        ));
    }
    errs
}

/// `validateProjectionSources`.
fn projection_sources(sources: &[k8s_openapi::api::core::v1::VolumeProjection], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut all_paths = BTreeSet::new();
    let sources_path = child_path(path, "sources");
    for (i, source) in sources.iter().enumerate() {
        let mut count = 0;
        let source_path = index_path(&sources_path, i);
        if let Some(secret) = &source.secret {
            count += 1;
            let p = child_path(&source_path, "secret");
            errs.extend(required(secret.name.as_str(), &child_path(&p, "name")));
            let items_path = child_path(&p, "items");
            for (j, item) in secret.items.iter().flatten().enumerate() {
                errs.extend(key_to_path(item, &index_path(&items_path, j)));
                if !item.path.is_empty() && !all_paths.insert(item.path.clone()) {
                    errs.push(FieldError::invalid(path, secret.name.as_str(), "conflicting duplicate paths"));
                }
            }
        }
        if let Some(config_map) = &source.config_map {
            count += 1;
            let p = child_path(&source_path, "configMap");
            errs.extend(required(config_map.name.as_str(), &child_path(&p, "name")));
            let items_path = child_path(&p, "items");
            for (j, item) in config_map.items.iter().flatten().enumerate() {
                errs.extend(key_to_path(item, &index_path(&items_path, j)));
                if !item.path.is_empty() && !all_paths.insert(item.path.clone()) {
                    errs.push(FieldError::invalid(path, config_map.name.as_str(), "conflicting duplicate paths"));
                }
            }
        }
        if let Some(downward) = &source.downward_api {
            count += 1;
            let p = child_path(&source_path, "downwardAPI");
            for file in downward.items.iter().flatten() {
                errs.extend(downward_api_file(file, &p));
                if !file.path.is_empty() && !all_paths.insert(file.path.clone()) {
                    errs.push(FieldError::invalid(path, &file.path, "conflicting duplicate paths"));
                }
            }
        }
        if let Some(token) = &source.service_account_token {
            count += 1;
            let p = child_path(&source_path, "serviceAccountToken");
            let expiration = token.expiration_seconds.unwrap_or(0);
            if expiration < 600 {
                errs.push(FieldError::invalid(
                    child_path(&p, "expirationSeconds"),
                    expiration,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if expiration > 1 << 32 {
                errs.push(FieldError::invalid(
                    child_path(&p, "expirationSeconds"),
                    expiration,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            if token.path.is_empty() {
                errs.push(FieldError::required(child_path(path, "path"), ""));
            } else {
                errs.extend(validate_local_non_reserved_path(&token.path, &child_path(path, "path")));
            }
        }
        if let Some(bundle) = &source.cluster_trust_bundle {
            count += 1;
            let p = child_path(&source_path, "clusterTrustBundlePEM");
            if bundle.name.is_none() && bundle.signer_name.is_none() {
                errs.push(FieldError::required(&p, "either name or signerName must be specified"));
            }
            errs.extend(required(&bundle.path, &child_path(&p, "path")));
            errs.extend(validate_local_non_reserved_path(&bundle.path, &child_path(&p, "path")));
            if !all_paths.insert(bundle.path.clone()) {
                errs.push(FieldError::invalid(path, &bundle.path, "conflicting duplicate paths"));
            }
        }
        if count > 1 {
            errs.push(FieldError::forbidden(&source_path, MORE_THAN_ONE));
        }
    }
    errs
}
