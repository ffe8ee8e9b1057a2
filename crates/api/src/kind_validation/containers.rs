//! Containers of a PodSpec (upstream `validateContainers`, `validateInitContainers`,
//! `validateEphemeralContainers`, `validateContainerCommon`): names, images, ports,
//! env, mounts and devices; probes, hooks and security contexts have their modules.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvFromSource, EnvVar, EphemeralContainer, VolumeDevice, VolumeMount,
};

use super::formats::{
    is_config_map_key, is_relaxed_env_var_name, is_valid_port_name, is_valid_port_num, validate_local_descending_path,
    validate_path_no_backsteps,
};
use super::probes::{validate_lifecycle, validate_probes};
use super::resources::validate_resource_requirements;
use super::security_context::validate_security_context;
use super::volumes::{VolumeInfo, dns_label, validate_object_field_selector, validate_resource_field_selector};
use super::{opt_str, render};
use crate::validation::{ErrorList, FieldError, NameRule, child_path, index_path};

/// Field paths an environment variable may take from the downward API.
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

/// What container validation needs to know about the pod around it.
pub(crate) struct PodContext<'a> {
    pub volumes: &'a BTreeMap<String, VolumeInfo>,
    pub claim_names: &'a BTreeSet<String>,
    pub grace_period: Option<i64>,
    pub restart_policy: &'a str,
    pub host_users: bool,
}

/// `validateContainers`: at least one, names unique, probes and hooks valid, no
/// per-container restart policy, host ports not shared.
pub(crate) fn validate_containers(containers: &[Container], ctx: &PodContext<'_>, path: &str) -> ErrorList {
    if containers.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let mut errs = ErrorList::new();
    let mut names = BTreeSet::new();
    for (i, container) in containers.iter().enumerate() {
        let p = index_path(path, i);
        errs.extend(validate_container_common(container, ctx, &p));
        if !names.insert(container.name.as_str()) {
            errs.push(FieldError::duplicate(child_path(&p, "name"), &container.name));
        }
        if let Some(lifecycle) = &container.lifecycle {
            errs.extend(validate_lifecycle(lifecycle, ctx.grace_period, &child_path(&p, "lifecycle")));
        }
        errs.extend(validate_probes(container, ctx.grace_period, &p));
        if container.restart_policy.is_some() {
            errs.push(FieldError::forbidden(child_path(&p, "restartPolicy"), "may not be set for non-init containers"));
        }
    }
    errs.extend(host_port_conflicts(containers.iter(), path));
    errs
}

/// `validateInitContainers`: names unique across init and regular containers; probes
/// and hooks only on restartable (sidecar) init containers.
pub(crate) fn validate_init_containers(
    containers: &[Container],
    regular: &[Container],
    ctx: &PodContext<'_>,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names: BTreeSet<&str> = regular.iter().map(|c| c.name.as_str()).collect();
    for (i, container) in containers.iter().enumerate() {
        let p = index_path(path, i);
        errs.extend(validate_container_common(container, ctx, &p));
        let mut restart_always = false;
        if let Some(policy) = &container.restart_policy {
            if policy == "Always" {
                restart_always = true;
            } else {
                errs.push(FieldError::not_supported(child_path(&p, "restartPolicy"), policy, &["Always"]));
            }
        }
        if names.contains(container.name.as_str()) {
            errs.push(FieldError::duplicate(child_path(&p, "name"), &container.name));
        } else if !container.name.is_empty() {
            names.insert(&container.name);
        }
        errs.extend(host_port_conflicts(std::iter::once(container), path));
        if restart_always {
            if let Some(lifecycle) = &container.lifecycle {
                errs.extend(validate_lifecycle(lifecycle, ctx.grace_period, &child_path(&p, "lifecycle")));
            }
            errs.extend(validate_probes(container, ctx.grace_period, &p));
        } else {
            let probes = [
                ("lifecycle", container.lifecycle.is_some()),
                ("livenessProbe", container.liveness_probe.is_some()),
                ("readinessProbe", container.readiness_probe.is_some()),
                ("startupProbe", container.startup_probe.is_some()),
            ];
            for (field, set) in probes {
                if set {
                    errs.push(FieldError::forbidden(
                        child_path(&p, field),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
        if let Some(policy) = container.resize_policy.as_ref().filter(|p| !p.is_empty()) {
            errs.push(FieldError::invalid(
                child_path(&p, "resizePolicy"),
                render::json(policy),
                "must not be set for init containers",
            ));
        }
    }
    errs
}

/// `validateEphemeralContainers`: common checks, names unique across every kind of
/// container, a target among the others, and only the fields ephemeral containers allow.
pub(crate) fn validate_ephemeral_containers(
    ephemeral: &[EphemeralContainer],
    containers: &[Container],
    init: &[Container],
    ctx: &PodContext<'_>,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let others: BTreeSet<&str> = containers.iter().chain(init).map(|c| c.name.as_str()).collect();
    let mut all = others.clone();
    for (i, ec) in ephemeral.iter().enumerate() {
        let p = index_path(path, i);
        let container = as_container(ec);
        errs.extend(validate_container_common(&container, ctx, &p));
        errs.extend(validate_container_only_for_pod(&container, &p));
        if !all.insert(ec.name.as_str()) {
            errs.push(FieldError::duplicate(child_path(&p, "name"), &ec.name));
        }
        if let Some(target) = ec.target_container_name.as_deref().filter(|t| !t.is_empty())
            && !others.contains(target)
        {
            errs.push(FieldError::not_found(child_path(&p, "targetContainerName"), target));
        }
        let disallowed = [
            ("ports", ec.ports.as_ref().is_some_and(|v| !v.is_empty())),
            (
                "resources",
                ec.resources.as_ref().is_some_and(|r| r.limits.is_some() || r.requests.is_some() || r.claims.is_some()),
            ),
            ("livenessProbe", ec.liveness_probe.is_some()),
            ("readinessProbe", ec.readiness_probe.is_some()),
            ("startupProbe", ec.startup_probe.is_some()),
            ("lifecycle", ec.lifecycle.is_some()),
            ("resizePolicy", ec.resize_policy.as_ref().is_some_and(|v| !v.is_empty())),
            ("restartPolicy", ec.restart_policy.is_some()),
        ];
        for (field, set) in disallowed {
            if set {
                errs.push(FieldError::forbidden(child_path(&p, field), "cannot be set for an Ephemeral Container"));
            }
        }
        for (j, mount) in ec.volume_mounts.iter().flatten().enumerate() {
            let mount_path = index_path(&child_path(&p, "volumeMounts"), j);
            if !opt_str(&mount.sub_path).is_empty() {
                errs.push(FieldError::forbidden(
                    child_path(&mount_path, "subPath"),
                    "cannot be set for an Ephemeral Container",
                ));
            }
            if !opt_str(&mount.sub_path_expr).is_empty() {
                errs.push(FieldError::forbidden(
                    child_path(&mount_path, "subPathExpr"),
                    "cannot be set for an Ephemeral Container",
                ));
            }
        }
    }
    errs
}

/// An ephemeral container's common part as a `Container`.
fn as_container(ec: &EphemeralContainer) -> Container {
    Container {
        args: ec.args.clone(),
        command: ec.command.clone(),
        env: ec.env.clone(),
        env_from: ec.env_from.clone(),
        image: ec.image.clone(),
        image_pull_policy: ec.image_pull_policy.clone(),
        name: ec.name.clone(),
        security_context: ec.security_context.clone(),
        termination_message_path: ec.termination_message_path.clone(),
        termination_message_policy: ec.termination_message_policy.clone(),
        volume_devices: ec.volume_devices.clone(),
        volume_mounts: ec.volume_mounts.clone(),
        working_dir: ec.working_dir.clone(),
        ..Container::default()
    }
}

/// `validateContainerOnlyForPod`: a pod's image may not be padded with spaces.
pub(crate) fn validate_container_only_for_pod(container: &Container, path: &str) -> ErrorList {
    let image = opt_str(&container.image);
    if image.len() != image.trim().len() {
        return vec![FieldError::invalid(
            child_path(path, "image"),
            image,
            "must not have leading or trailing whitespace",
        )];
    }
    Vec::new()
}

/// `validateContainerCommon`.
fn validate_container_common(c: &Container, ctx: &PodContext<'_>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let name_path = child_path(path, "name");
    if c.name.is_empty() {
        errs.push(FieldError::required(name_path, ""));
    } else {
        errs.extend(dns_label(&c.name, &name_path));
    }
    if opt_str(&c.image).is_empty() {
        errs.push(FieldError::required(child_path(path, "image"), ""));
    }
    match opt_str(&c.termination_message_policy) {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(child_path(path, "terminationMessagePolicy"), "")),
        other => errs.push(FieldError::not_supported(
            child_path(path, "terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    let mounts = c.volume_mounts.as_deref().unwrap_or_default();
    let devices = c.volume_devices.as_deref().unwrap_or_default();
    errs.extend(validate_ports(c.ports.as_deref().unwrap_or_default(), &child_path(path, "ports")));
    errs.extend(validate_env(c.env.as_deref().unwrap_or_default(), &child_path(path, "env")));
    errs.extend(validate_env_from(c.env_from.as_deref().unwrap_or_default(), &child_path(path, "envFrom")));
    errs.extend(validate_volume_mounts(mounts, devices, ctx.volumes, c, &child_path(path, "volumeMounts")));
    errs.extend(validate_volume_devices(devices, mounts, ctx.volumes, &child_path(path, "volumeDevices")));
    let pull_path = child_path(path, "imagePullPolicy");
    match opt_str(&c.image_pull_policy) {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(pull_path, "")),
        other => errs.push(FieldError::not_supported(pull_path, other, &["Always", "IfNotPresent", "Never"])),
    }
    errs.extend(validate_resource_requirements(c.resources.as_ref(), ctx.claim_names, &child_path(path, "resources")));
    let resize_path = child_path(path, "resizePolicy");
    let mut resized = BTreeSet::new();
    for (i, policy) in c.resize_policy.iter().flatten().enumerate() {
        if !resized.insert(policy.resource_name.as_str()) {
            errs.push(FieldError::duplicate(index_path(&resize_path, i), &policy.resource_name));
        }
        match policy.resource_name.as_str() {
            "cpu" | "memory" => {}
            "" => errs.push(FieldError::required(&resize_path, "")),
            other => errs.push(FieldError::not_supported(&resize_path, other, &["cpu", "memory"])),
        }
        match policy.restart_policy.as_str() {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(FieldError::required(&resize_path, "")),
            other => errs.push(FieldError::not_supported(&resize_path, other, &["NotRequired", "RestartContainer"])),
        }
        if ctx.restart_policy == "Never" && policy.restart_policy != "NotRequired" {
            errs.push(FieldError::invalid(
                &resize_path,
                &policy.restart_policy,
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
    }
    errs.extend(validate_security_context(
        c.security_context.as_ref(),
        &child_path(path, "securityContext"),
        ctx.host_users,
    ));
    errs
}

/// `validateContainerPorts`.
fn validate_ports(ports: &[ContainerPort], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = index_path(path, i);
        let name = opt_str(&port.name);
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    errs.push(FieldError::invalid(child_path(&p, "name"), name, msg));
                }
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(child_path(&p, "name"), name));
            }
        }
        if port.container_port == 0 {
            errs.push(FieldError::required(child_path(&p, "containerPort"), ""));
        } else {
            for msg in is_valid_port_num(i64::from(port.container_port)) {
                errs.push(FieldError::invalid(child_path(&p, "containerPort"), port.container_port, msg));
            }
        }
        if let Some(host_port) = port.host_port.filter(|h| *h != 0) {
            for msg in is_valid_port_num(i64::from(host_port)) {
                errs.push(FieldError::invalid(child_path(&p, "hostPort"), host_port, msg));
            }
        }
        match opt_str(&port.protocol) {
            "" => errs.push(FieldError::required(child_path(&p, "protocol"), "")),
            protocol if !PROTOCOLS.contains(&protocol) => {
                errs.push(FieldError::not_supported(child_path(&p, "protocol"), protocol, &PROTOCOLS));
            }
            _ => {}
        }
    }
    errs
}

/// `AccumulateUniqueHostPorts` over `containers`: `protocol/hostIP/port` unique.
fn host_port_conflicts<'a>(containers: impl Iterator<Item = &'a Container>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut seen = BTreeSet::new();
    for (i, container) in containers.enumerate() {
        let ports_path = child_path(&index_path(path, i), "ports");
        for (j, port) in container.ports.iter().flatten().enumerate() {
            let Some(host_port) = port.host_port.filter(|h| *h != 0) else {
                continue;
            };
            let key = format!("{}/{}/{}", opt_str(&port.protocol), opt_str(&port.host_ip), host_port);
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(child_path(&index_path(&ports_path, j), "hostPort"), key));
            }
        }
    }
    errs
}

/// `ValidateEnv` (relaxed names, as 1.33 validates by default).
fn validate_env(vars: &[EnvVar], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, var) in vars.iter().enumerate() {
        let p = index_path(path, i);
        if var.name.is_empty() {
            errs.push(FieldError::required(child_path(&p, "name"), ""));
        } else {
            for msg in is_relaxed_env_var_name(&var.name) {
                errs.push(FieldError::invalid(child_path(&p, "name"), &var.name, msg));
            }
        }
        let Some(from) = &var.value_from else {
            continue;
        };
        let from_path = child_path(&p, "valueFrom");
        let mut sources = 0;
        if let Some(field_ref) = &from.field_ref {
            sources += 1;
            errs.extend(validate_object_field_selector(
                field_ref,
                ENV_FIELD_PATHS,
                &child_path(&from_path, "fieldRef"),
            ));
        }
        if let Some(resource_ref) = &from.resource_field_ref {
            sources += 1;
            errs.extend(validate_resource_field_selector(
                resource_ref,
                &child_path(&from_path, "resourceFieldRef"),
                false,
            ));
        }
        for (field, key_ref) in [
            ("configMapKeyRef", from.config_map_key_ref.as_ref().map(|r| (&r.name, &r.key))),
            ("secretKeyRef", from.secret_key_ref.as_ref().map(|r| (&r.name, &r.key))),
        ] {
            let Some((name, key)) = key_ref else {
                continue;
            };
            sources += 1;
            let ref_path = child_path(&from_path, field);
            for msg in NameRule::Dns1123Subdomain.check(name, false) {
                errs.push(FieldError::invalid(child_path(&ref_path, "name"), name, msg));
            }
            if key.is_empty() {
                errs.push(FieldError::required(child_path(&ref_path, "key"), ""));
            } else {
                for msg in is_config_map_key(key) {
                    errs.push(FieldError::invalid(child_path(&ref_path, "key"), key, msg));
                }
            }
        }
        if sources == 0 {
            errs.push(FieldError::invalid(
                &from_path,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if !opt_str(&var.value).is_empty() {
            errs.push(FieldError::invalid(&from_path, "", "may not be specified when `value` is not empty"));
        } else if sources > 1 {
            errs.push(FieldError::invalid(&from_path, "", "may not have more than one field specified at a time"));
        }
    }
    errs
}

/// `ValidateEnvFrom`.
fn validate_env_from(sources: &[EnvFromSource], path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, source) in sources.iter().enumerate() {
        let p = index_path(path, i);
        let prefix = opt_str(&source.prefix);
        if !prefix.is_empty() {
            for msg in is_relaxed_env_var_name(prefix) {
                errs.push(FieldError::invalid(child_path(&p, "prefix"), prefix, msg));
            }
        }
        let mut count = 0;
        for (field, name) in [
            ("configMapRef", source.config_map_ref.as_ref().map(|r| &r.name)),
            ("secretRef", source.secret_ref.as_ref().map(|r| &r.name)),
        ] {
            let Some(name) = name else {
                continue;
            };
            count += 1;
            let name_path = child_path(&child_path(&p, field), "name");
            if name.is_empty() {
                errs.push(FieldError::required(name_path, ""));
            } else {
                for msg in NameRule::Dns1123Subdomain.check(name, true) {
                    errs.push(FieldError::invalid(&name_path, name, msg));
                }
            }
        }
        if count == 0 {
            errs.push(FieldError::invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
        } else if count > 1 {
            errs.push(FieldError::invalid(path, "", "may not have more than one field specified at a time"));
        }
    }
    errs
}

/// `ValidateVolumeMounts`; some errors sit on the list path, as upstream's.
fn validate_volume_mounts(
    mounts: &[VolumeMount],
    devices: &[VolumeDevice],
    volumes: &BTreeMap<String, VolumeInfo>,
    container: &Container,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut mount_points = BTreeSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let p = index_path(path, i);
        if mount.name.is_empty() {
            errs.push(FieldError::required(child_path(&p, "name"), ""));
        }
        if !volumes.contains_key(&mount.name) {
            errs.push(FieldError::not_found(child_path(&p, "name"), &mount.name));
        }
        if mount.mount_path.is_empty() {
            errs.push(FieldError::required(child_path(&p, "mountPath"), ""));
        }
        if !mount_points.insert(mount.mount_path.as_str()) {
            errs.push(FieldError::invalid(child_path(&p, "mountPath"), &mount.mount_path, "must be unique"));
        }
        if devices.iter().any(|d| d.name == mount.name) {
            errs.push(FieldError::invalid(
                child_path(&p, "name"),
                &mount.name,
                "must not already exist in volumeDevices",
            ));
        }
        if devices.iter().any(|d| d.device_path == mount.mount_path) {
            errs.push(FieldError::invalid(
                child_path(&p, "mountPath"),
                &mount.mount_path,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let sub_path = opt_str(&mount.sub_path);
        if !sub_path.is_empty() {
            errs.extend(validate_local_descending_path(sub_path, &child_path(path, "subPath")));
        }
        let sub_path_expr = opt_str(&mount.sub_path_expr);
        if !sub_path_expr.is_empty() {
            if !sub_path.is_empty() {
                errs.push(FieldError::invalid(
                    child_path(&p, "subPathExpr"),
                    sub_path_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(validate_local_descending_path(sub_path_expr, &child_path(path, "subPathExpr")));
        }
        if let Some(propagation) = &mount.mount_propagation {
            let field = child_path(path, "mountPropagation");
            const MODES: [&str; 3] = ["Bidirectional", "HostToContainer", "None"];
            if !MODES.contains(&propagation.as_str()) {
                errs.push(FieldError::not_supported(&field, propagation, &MODES));
            }
            let privileged = container.security_context.as_ref().and_then(|s| s.privileged) == Some(true);
            if propagation == "Bidirectional" && !privileged {
                errs.push(FieldError::forbidden(
                    &field,
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
        if let Some(recursive) = &mount.recursive_read_only {
            let field = child_path(path, "recursiveReadOnly");
            match recursive.as_str() {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if mount.read_only != Some(true) {
                        errs.push(FieldError::forbidden(&field, "may only be specified when readOnly is true"));
                    }
                    if mount.mount_propagation.as_deref().is_some_and(|p| p != "None") {
                        errs.push(FieldError::forbidden(
                            &field,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => errs.push(FieldError::not_supported(&field, other, &["Disabled", "Enabled", "IfPossible"])),
            }
        }
    }
    errs
}

/// `ValidateVolumeDevices`.
fn validate_volume_devices(
    devices: &[VolumeDevice],
    mounts: &[VolumeMount],
    volumes: &BTreeMap<String, VolumeInfo>,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let (mut device_paths, mut device_names) = (BTreeSet::new(), BTreeSet::new());
    for (i, device) in devices.iter().enumerate() {
        let p = index_path(path, i);
        let (name, device_path) = (device.name.as_str(), device.device_path.as_str());
        let volume = volumes.get(name);
        if name.is_empty() {
            errs.push(FieldError::required(child_path(&p, "name"), ""));
        }
        if device_names.contains(name) {
            errs.push(FieldError::invalid(child_path(&p, "name"), name, "must be unique"));
        }
        match volume {
            Some(v) if !v.claim => errs.push(FieldError::invalid(
                child_path(&p, "name"),
                name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            )),
            None => errs.push(FieldError::not_found(child_path(&p, "name"), name)),
            Some(_) => {}
        }
        if device_path.is_empty() {
            errs.push(FieldError::required(child_path(&p, "devicePath"), ""));
        }
        if device_paths.contains(device_path) {
            errs.push(FieldError::invalid(child_path(&p, "devicePath"), device_path, "must be unique"));
        }
        if !device_path.is_empty() && !validate_path_no_backsteps(device_path, "").is_empty() {
            errs.push(FieldError::invalid(
                child_path(&p, "devicePath"),
                device_path,
                "can not contain backsteps ('..')",
            ));
        } else {
            device_paths.insert(device_path);
        }
        if mounts.iter().any(|m| m.name == name) {
            errs.push(FieldError::invalid(child_path(&p, "name"), name, "must not already exist in volumeMounts"));
        }
        if mounts.iter().any(|m| m.mount_path == device_path) {
            errs.push(FieldError::invalid(
                child_path(&p, "devicePath"),
                device_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !name.is_empty() {
            device_names.insert(name);
        }
    }
    errs
}
