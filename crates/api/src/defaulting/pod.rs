//! Pod, pod template and PodSpec defaults (upstream `core/v1` `SetDefaults_Pod`,
//! `SetDefaults_PodSpec`, the volume, container and probe defaulters, and where the
//! generated code calls them).

use serde_json::{Value, json};

use super::{
    Object, default_int, default_resource_list, default_str, default_value, each_object, ensure_object, is_absent,
    is_zero_int, object_mut, str_of,
};

/// Default mode of files projected from secrets, config maps and the downward API (0644).
const DEFAULT_FILE_MODE: i64 = 0o644;

/// The fields of `VolumeSource`, one of which a volume sets.
pub(crate) const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `SetObjectDefaults_Pod`: the pod-only defaults, then the PodSpec ones.
pub(crate) fn default_pod(pod: &mut Object) {
    let Some(spec) = ensure_object(pod, "spec") else {
        return;
    };
    // Requests default to limits on a Pod only, never on a template: a template's
    // resources are still subject to LimitRange admission when pods are created.
    for key in ["containers", "initContainers"] {
        for container in each_object(spec, key) {
            requests_from_limits(container);
        }
    }
    default_value(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for key in ["containers", "initContainers"] {
            for container in each_object(spec, key) {
                for port in each_object(container, "ports") {
                    if is_zero_int(port.get("hostPort"))
                        && let Some(container_port) = port.get("containerPort").cloned()
                    {
                        port.insert("hostPort".into(), container_port);
                    }
                }
            }
        }
    }
    default_pod_spec(spec);
}

/// Defaults of a `PodTemplateSpec` as embedded in workloads and `PodTemplate`.
pub(crate) fn default_pod_template_spec(template: &mut Object) {
    if let Some(spec) = ensure_object(template, "spec") {
        default_pod_spec(spec);
    }
}

/// `SetDefaults_PodSpec` plus the volume and container defaulters the generated
/// code runs on every embedded PodSpec.
pub(crate) fn default_pod_spec(spec: &mut Object) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_value(spec, "securityContext", json!({}));
    default_value(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    service_account_alias(spec);
    for volume in each_object(spec, "volumes") {
        default_volume(volume);
    }
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for container in each_object(spec, key) {
            default_container(container);
        }
    }
    default_resource_list(spec.get_mut("overhead"));
}

/// `serviceAccount` is the deprecated alias of `serviceAccountName`, as in
/// upstream's v1 conversion: the alias fills an unset name, the name wins when
/// both are given, and the alias always reads back as the name.
fn service_account_alias(spec: &mut Object) {
    let non_empty = |key: &str| spec.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(name) = non_empty("serviceAccountName").or_else(|| non_empty("serviceAccount")) {
        spec.insert("serviceAccountName".into(), json!(name));
        spec.insert("serviceAccount".into(), json!(name));
    }
}

/// A pod's container requests default to its limits, resource by resource.
fn requests_from_limits(container: &mut Object) {
    let Some(resources) = object_mut(container, "resources") else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if limits.is_empty() {
        return;
    }
    let Some(requests) = ensure_object(resources, "requests") else {
        return;
    };
    for (name, quantity) in limits {
        requests.entry(name).or_insert(quantity);
    }
}

/// `SetDefaults_Volume` and the defaulters of each volume source.
fn default_volume(volume: &mut Object) {
    // A volume without any source is an emptyDir.
    if VOLUME_SOURCES.iter().all(|source| is_absent(volume.get(*source))) {
        volume.insert("emptyDir".into(), json!({}));
    }
    if let Some(host_path) = object_mut(volume, "hostPath") {
        default_value(host_path, "type", json!(""));
    }
    if let Some(secret) = object_mut(volume, "secret") {
        default_value(secret, "defaultMode", json!(DEFAULT_FILE_MODE));
    }
    if let Some(config_map) = object_mut(volume, "configMap") {
        default_value(config_map, "defaultMode", json!(DEFAULT_FILE_MODE));
    }
    if let Some(downward) = object_mut(volume, "downwardAPI") {
        default_value(downward, "defaultMode", json!(DEFAULT_FILE_MODE));
        for item in each_object(downward, "items") {
            default_field_ref(item.get_mut("fieldRef"));
        }
    }
    if let Some(projected) = object_mut(volume, "projected") {
        default_value(projected, "defaultMode", json!(DEFAULT_FILE_MODE));
        for source in each_object(projected, "sources") {
            if let Some(downward) = object_mut(source, "downwardAPI") {
                for item in each_object(downward, "items") {
                    default_field_ref(item.get_mut("fieldRef"));
                }
            }
            if let Some(token) = object_mut(source, "serviceAccountToken") {
                default_value(token, "expirationSeconds", json!(3600));
            }
        }
    }
    if let Some(iscsi) = object_mut(volume, "iscsi") {
        default_str(iscsi, "iscsiInterface", "default");
    }
    if let Some(rbd) = object_mut(volume, "rbd") {
        default_rbd(rbd);
    }
    if let Some(azure_disk) = object_mut(volume, "azureDisk") {
        default_azure_disk(azure_disk);
    }
    if let Some(scale_io) = object_mut(volume, "scaleIO") {
        default_str(scale_io, "storageMode", "ThinProvisioned");
        default_str(scale_io, "fsType", "xfs");
    }
    if let Some(ephemeral) = object_mut(volume, "ephemeral")
        && let Some(template) = object_mut(ephemeral, "volumeClaimTemplate")
        && let Some(claim_spec) = ensure_object(template, "spec")
    {
        default_claim_spec(claim_spec);
    }
}

/// RBD defaults shared by the volume and persistent-volume sources.
pub(crate) fn default_rbd(rbd: &mut Object) {
    default_str(rbd, "pool", "rbd");
    default_str(rbd, "user", "admin");
    default_str(rbd, "keyring", "/etc/ceph/keyring");
}

/// `SetDefaults_AzureDiskVolumeSource`.
pub(crate) fn default_azure_disk(disk: &mut Object) {
    default_value(disk, "cachingMode", json!("ReadWrite"));
    default_value(disk, "kind", json!("Shared"));
    default_value(disk, "fsType", json!("ext4"));
    default_value(disk, "readOnly", json!(false));
}

/// `SetDefaults_PersistentVolumeClaimSpec` and its resource lists.
pub(crate) fn default_claim_spec(spec: &mut Object) {
    default_value(spec, "volumeMode", json!("Filesystem"));
    if let Some(resources) = object_mut(spec, "resources") {
        default_resource_list(resources.get_mut("limits"));
        default_resource_list(resources.get_mut("requests"));
    }
}

/// `SetDefaults_ObjectFieldSelector`: `apiVersion` defaults to `v1`.
fn default_field_ref(field_ref: Option<&mut Value>) {
    if let Some(field_ref) = field_ref.and_then(Value::as_object_mut) {
        default_str(field_ref, "apiVersion", "v1");
    }
}

/// `SetDefaults_Container` and the defaulters of ports, env, resources, probes and
/// lifecycle hooks (the same for init, regular and ephemeral containers).
fn default_container(container: &mut Object) {
    if super::is_empty_str(container.get("imagePullPolicy")) {
        let policy = match image_tag(str_of(container, "image")).as_deref() {
            Some("latest") => "Always",
            _ => "IfNotPresent",
        };
        container.insert("imagePullPolicy".into(), json!(policy));
    }
    default_str(container, "terminationMessagePath", "/dev/termination-log");
    default_str(container, "terminationMessagePolicy", "File");
    for port in each_object(container, "ports") {
        default_str(port, "protocol", "TCP");
    }
    for env in each_object(container, "env") {
        if let Some(value_from) = object_mut(env, "valueFrom") {
            default_field_ref(value_from.get_mut("fieldRef"));
        }
    }
    if let Some(resources) = object_mut(container, "resources") {
        default_resource_list(resources.get_mut("limits"));
        default_resource_list(resources.get_mut("requests"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = object_mut(container, probe) {
            default_probe(probe);
        }
    }
    if let Some(lifecycle) = object_mut(container, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(http_get) = object_mut(lifecycle, hook).and_then(|h| object_mut(h, "httpGet")) {
                default_http_get(http_get);
            }
        }
    }
}

/// `SetDefaults_Probe` and its handler's defaults.
fn default_probe(probe: &mut Object) {
    default_int(probe, "timeoutSeconds", 1);
    default_int(probe, "periodSeconds", 10);
    default_int(probe, "successThreshold", 1);
    default_int(probe, "failureThreshold", 3);
    if let Some(http_get) = object_mut(probe, "httpGet") {
        default_http_get(http_get);
    }
    if let Some(grpc) = object_mut(probe, "grpc") {
        default_value(grpc, "service", json!(""));
    }
}

/// `SetDefaults_HTTPGetAction`.
fn default_http_get(http_get: &mut Object) {
    default_str(http_get, "path", "/");
    default_str(http_get, "scheme", "HTTP");
}

/// The tag an image reference pulls, as upstream's `parsers.ParseImageName`: the
/// explicit tag, `latest` when there is neither tag nor digest, `None` for a
/// digest-only or unparsable reference.
pub(crate) fn image_tag(image: &str) -> Option<String> {
    let reference = ImageReference::parse(image)?;
    match (reference.tag, reference.digest) {
        (Some(tag), _) => Some(tag.to_string()),
        (None, None) => Some("latest".to_string()),
        (None, Some(_)) => None,
    }
}

/// The parts of a docker reference `[domain/]path[:tag][@digest]` that decide the
/// pull policy, checked against the grammar of `github.com/distribution/reference`.
#[derive(Debug)]
struct ImageReference<'a> {
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

impl<'a> ImageReference<'a> {
    fn parse(s: &'a str) -> Option<Self> {
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (s, None),
        };
        if let Some(digest) = digest
            && !is_digest(digest)
        {
            return None;
        }
        // A tag follows the last ':' that comes after the last '/' (a ':' before it
        // separates a registry port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag
            && !is_tag(tag)
        {
            return None;
        }
        if name.is_empty() || name.len() > 255 || !is_name(name) {
            return None;
        }
        Some(ImageReference { tag, digest })
    }
}

/// `[domain/]component(/component)*`, where the first part is a domain when it has a
/// '.' or ':', is `localhost`, or has an upper-case letter (as `splitDockerDomain`).
fn is_name(name: &str) -> bool {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    if let Some(domain) = domain
        && !is_domain(domain)
    {
        return false;
    }
    // A bare 64-hex-digit name is reserved for image ids.
    if domain.is_none() && path.len() == 64 && path.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return false;
    }
    path.split('/').all(is_path_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let b = component.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let ok = separator == "." || separator == "_" || separator == "__" || separator.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A registry host: dot-separated labels of letters, digits and inner '-', or a
/// bracketed IPv6 address, with an optional `:port`.
fn is_domain(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return false;
        };
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after.strip_prefix(':') {
            Some(port) => ("", Some(port)),
            None if after.is_empty() => ("", None),
            None => return false,
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    host.is_empty() && domain.starts_with('[')
        || !host.is_empty()
            && host.split('.').all(|label| {
                let b = label.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            })
}

/// `[\w][\w.-]{0,127}`
fn is_tag(tag: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = tag.as_bytes();
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `algorithm:hex` with an algorithm of letters and digits joined by `[-_+.]` and
/// at least 32 hex digits.
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['-', '_', '+', '.']).all(|part| {
            part.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
                && part.bytes().all(|c| c.is_ascii_alphanumeric())
        });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}
