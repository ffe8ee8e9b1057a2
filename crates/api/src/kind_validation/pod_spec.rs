//! `ValidatePodSpec` and the pod-level parts it checks besides containers and
//! volumes: policies, security context, scheduling constraints, DNS, host aliases,
//! and the pod-specific annotations (`ValidatePodSpecificAnnotations`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{PodDNSConfig, PodSecurityContext, PodSpec};

use super::containers::{PodContext, validate_containers, validate_ephemeral_containers, validate_init_containers};
use super::formats::{inclusive_range_error, is_valid_id, validate_ip, validate_local_descending_path};
use super::resources::validate_resource_requirements;
use super::scheduling::{validate_affinity, validate_tolerations, validate_topology_spread};
use super::security_context::{validate_app_armor_profile, validate_seccomp_profile};
use super::volumes::{dns_label, dns_subdomain, validate_volumes};
use super::{opt_str, render};
use crate::validation::{
    ErrorList, FieldError, child_path, index_path, is_dns1123_subdomain, is_qualified_name, key_path, validate_labels,
};

/// Mirror pods (static pods reflected by the kubelet) carry this annotation.
pub(crate) const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";
const DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";
const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";
pub(crate) const APPARMOR_CONTAINER_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// Whether the spec belongs to a Pod (stricter host port rule) or a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpecOwner {
    Pod,
    Template,
}

/// `ValidatePodSpec`. `pod_name` is the pod's own name (ephemeral volume claim names
/// derive from it); templates pass `None`.
pub(crate) fn validate_pod_spec(spec: &PodSpec, pod_name: Option<&str>, owner: SpecOwner, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if spec.termination_grace_period_seconds.is_none() {
        errs.push(FieldError::required(child_path(path, "terminationGracePeriodSeconds"), ""));
    }
    let sc = spec.security_context.as_ref();
    let host_users = spec.host_users.unwrap_or(true);
    let (volumes, volume_errs) =
        validate_volumes(spec.volumes.as_deref().unwrap_or_default(), pod_name, &child_path(path, "volumes"));
    errs.extend(volume_errs);
    let mut claim_names = BTreeSet::new();
    let claims_path = child_path(path, "resourceClaims");
    for (i, claim) in spec.resource_claims.iter().flatten().enumerate() {
        let name_path = child_path(&index_path(&claims_path, i), "name");
        if claim.name.is_empty() {
            errs.push(FieldError::required(name_path, ""));
        } else if claim_names.contains(&claim.name) {
            errs.push(FieldError::duplicate(name_path, &claim.name));
        } else {
            errs.extend(dns_label(&claim.name, &name_path));
            claim_names.insert(claim.name.clone());
        }
    }
    let restart_policy = opt_str(&spec.restart_policy);
    let ctx = PodContext {
        volumes: &volumes,
        claim_names: &claim_names,
        grace_period: spec.termination_grace_period_seconds,
        restart_policy,
        host_users,
    };
    let init = spec.init_containers.as_deref().unwrap_or_default();
    errs.extend(validate_containers(&spec.containers, &ctx, &child_path(path, "containers")));
    errs.extend(validate_init_containers(init, &spec.containers, &ctx, &child_path(path, "initContainers")));
    if let Some(ephemeral) = spec.ephemeral_containers.as_deref().filter(|e| !e.is_empty()) {
        errs.extend(validate_ephemeral_containers(
            ephemeral,
            &spec.containers,
            init,
            &ctx,
            &child_path(path, "ephemeralContainers"),
        ));
    }
    if spec.host_network == Some(true) {
        for (i, container) in spec.containers.iter().enumerate() {
            let ports_path = child_path(&index_path(&child_path(path, "containers"), i), "ports");
            for (j, port) in container.ports.iter().flatten().enumerate() {
                let host_port = port.host_port.unwrap_or(0);
                if (owner == SpecOwner::Pod || host_port != 0) && host_port != port.container_port {
                    errs.push(FieldError::invalid(
                        child_path(&index_path(&ports_path, j), "hostPort"),
                        host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    let restart_path = child_path(path, "restartPolicy");
    match restart_policy {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(restart_path, "")),
        other => errs.push(FieldError::not_supported(restart_path, other, &["Always", "OnFailure", "Never"])),
    }
    let dns_policy = opt_str(&spec.dns_policy);
    let dns_path = child_path(path, "dnsPolicy");
    match dns_policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required(dns_path, "")),
        other => errs.push(FieldError::not_supported(
            dns_path,
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    if let Some(selector) = &spec.node_selector {
        errs.extend(validate_labels(selector, &child_path(path, "nodeSelector")));
    }
    if let Some(sc) = sc {
        errs.extend(validate_pod_security_context(sc, spec, &child_path(path, "securityContext")));
    }
    if let Some(affinity) = &spec.affinity {
        errs.extend(validate_affinity(affinity, &child_path(path, "affinity")));
    }
    errs.extend(validate_dns_config(spec.dns_config.as_ref(), dns_policy, &child_path(path, "dnsConfig")));
    let gates_path = child_path(path, "readinessGates");
    for (i, gate) in spec.readiness_gates.iter().flatten().enumerate() {
        errs.extend(qualified_name(&gate.condition_type, &child_path(&index_path(&gates_path, i), "conditionType")));
    }
    let scheduling_path = child_path(path, "schedulingGates");
    let mut seen_gates = BTreeSet::new();
    for (i, gate) in spec.scheduling_gates.iter().flatten().enumerate() {
        let gate_path = index_path(&scheduling_path, i);
        errs.extend(qualified_name(&gate.name, &gate_path));
        if !seen_gates.insert(gate.name.as_str()) {
            errs.push(FieldError::duplicate(&gate_path, &gate.name));
        }
    }
    errs.extend(validate_topology_spread(
        spec.topology_spread_constraints.as_deref().unwrap_or_default(),
        &child_path(path, "topologySpreadConstraints"),
    ));
    if !host_users {
        for (field, set) in [
            ("hostNetwork", spec.host_network == Some(true)),
            ("HostPID", spec.host_pid == Some(true)),
            ("HostIPC", spec.host_ipc == Some(true)),
        ] {
            if set {
                errs.push(FieldError::forbidden(child_path(path, field), "when `pod.Spec.HostUsers` is false"));
            }
        }
    }
    for (field, value) in
        [("serviceAccountName", opt_str(&spec.service_account_name)), ("nodeName", opt_str(&spec.node_name))]
    {
        if !value.is_empty() {
            for msg in is_dns1123_subdomain(value) {
                errs.push(FieldError::invalid(child_path(path, field), value, msg));
            }
        }
    }
    if let Some(deadline) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&deadline)
    {
        errs.push(FieldError::invalid(
            child_path(path, "activeDeadlineSeconds"),
            deadline,
            inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }
    for field in ["hostname", "subdomain"] {
        let value = if field == "hostname" { opt_str(&spec.hostname) } else { opt_str(&spec.subdomain) };
        if !value.is_empty() {
            errs.extend(dns_label(value, &child_path(path, field)));
        }
    }
    errs.extend(validate_tolerations(
        spec.tolerations.as_deref().unwrap_or_default(),
        &child_path(path, "tolerations"),
    ));
    let aliases_path = child_path(path, "hostAliases");
    for (i, alias) in spec.host_aliases.iter().flatten().enumerate() {
        let alias_path = index_path(&aliases_path, i);
        errs.extend(validate_ip(&child_path(&alias_path, "ip"), &alias.ip));
        let names_path = child_path(&alias_path, "hostnames");
        for (j, hostname) in alias.hostnames.iter().flatten().enumerate() {
            errs.extend(dns_subdomain(hostname, &index_path(&names_path, j)));
        }
    }
    let priority_class = opt_str(&spec.priority_class_name);
    if !priority_class.is_empty() {
        for msg in is_dns1123_subdomain(priority_class) {
            errs.push(FieldError::invalid(child_path(path, "priorityClassName"), priority_class, msg));
        }
    }
    if let Some(runtime_class) = &spec.runtime_class_name {
        for msg in is_dns1123_subdomain(runtime_class) {
            errs.push(FieldError::invalid(child_path(path, "runtimeClassName"), runtime_class, msg));
        }
    }
    if let Some(policy) = &spec.preemption_policy {
        let policy_path = child_path(path, "preemptionPolicy");
        match policy.as_str() {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required(policy_path, "")),
            other => errs.push(FieldError::not_supported(policy_path, other, &["PreemptLowerPriority", "Never"])),
        }
    }
    if let Some(overhead) = &spec.overhead {
        let requirements =
            k8s_openapi::api::core::v1::ResourceRequirements { limits: Some(overhead.clone()), ..Default::default() };
        errs.extend(validate_resource_requirements(
            Some(&requirements),
            &BTreeSet::new(),
            &child_path(path, "overhead"),
        ));
    }
    if let Some(os) = &spec.os {
        errs.extend(validate_os(spec, &os.name, &child_path(path, "os"), path));
    }
    errs
}

fn qualified_name(value: &str, path: &str) -> ErrorList {
    is_qualified_name(value).into_iter().map(|m| FieldError::invalid(path, value, m)).collect()
}

/// `validatePodSpecSecurityContext`.
fn validate_pod_security_context(sc: &PodSecurityContext, spec: &PodSpec, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (field, id) in [("fsGroup", sc.fs_group), ("runAsUser", sc.run_as_user), ("runAsGroup", sc.run_as_group)] {
        if let Some(id) = id {
            for msg in is_valid_id(id) {
                errs.push(FieldError::invalid(child_path(path, field), id, msg));
            }
        }
    }
    let groups_path = child_path(path, "supplementalGroups");
    for (i, gid) in sc.supplemental_groups.iter().flatten().enumerate() {
        for msg in is_valid_id(*gid) {
            errs.push(FieldError::invalid(index_path(&groups_path, i), *gid, msg));
        }
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid(
            child_path(path, "shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let sysctls_path = child_path(path, "sysctls");
    let mut names = BTreeSet::new();
    for (i, sysctl) in sc.sysctls.iter().flatten().enumerate() {
        let name_path = child_path(&index_path(&sysctls_path, i), "name");
        let name = sysctl.name.as_str();
        if name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else if !is_valid_sysctl_name(name) {
            errs.push(FieldError::invalid(
                &name_path,
                name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if names.contains(name) {
            errs.push(FieldError::duplicate(&name_path, name));
        }
        let normalized = name.replace('/', ".");
        let ipc = normalized.starts_with("kernel.shm")
            || normalized.starts_with("kernel.msg")
            || normalized == "kernel.sem"
            || normalized.starts_with("fs.mqueue.");
        if spec.host_network == Some(true) && normalized.starts_with("net.") {
            errs.push(FieldError::invalid(&name_path, name, "may not be specified when 'hostNetwork' is true"));
        } else if spec.host_ipc == Some(true) && ipc {
            errs.push(FieldError::invalid(&name_path, name, "may not be specified when 'hostIPC' is true"));
        }
        names.insert(name);
    }
    if let Some(policy) = &sc.fs_group_change_policy
        && policy != "Always"
        && policy != "OnRootMismatch"
    {
        errs.push(FieldError::not_supported(
            child_path(path, "fsGroupChangePolicy"),
            policy,
            &["Always", "OnRootMismatch"],
        ));
    }
    errs.extend(validate_seccomp_profile(sc.seccomp_profile.as_ref(), &child_path(path, "seccompProfile")));
    if let Some(profile) = &sc.app_armor_profile {
        errs.extend(validate_app_armor_profile(
            &profile.type_,
            profile.localhost_profile.as_deref(),
            &child_path(path, "appArmorProfile"),
        ));
    }
    if let Some(policy) = &sc.supplemental_groups_policy
        && policy != "Merge"
        && policy != "Strict"
    {
        errs.push(FieldError::not_supported(
            child_path(path, "supplementalGroupsPolicy"),
            policy,
            &["Merge", "Strict"],
        ));
    }
    errs
}

/// `IsValidSysctlName`: dot- or slash-separated segments of `[a-z0-9]([-_a-z0-9]*[a-z0-9])?`.
fn is_valid_sysctl_name(name: &str) -> bool {
    name.len() <= 253
        && name.split(['.', '/']).all(|segment| {
            let b = segment.as_bytes();
            let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && alnum(&b[0])
                && alnum(&b[b.len() - 1])
                && b.iter().all(|c| alnum(c) || *c == b'-' || *c == b'_')
        })
}

/// `validatePodDNSConfig`.
fn validate_dns_config(config: Option<&PodDNSConfig>, policy: &str, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if policy == "None" {
        let Some(config) = config else {
            return vec![FieldError::required(path, "must provide `dnsConfig` when `dnsPolicy` is None")];
        };
        if config.nameservers.as_ref().is_none_or(|n| n.is_empty()) {
            return vec![FieldError::required(
                child_path(path, "nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )];
        }
    }
    let Some(config) = config else {
        return errs;
    };
    let nameservers = config.nameservers.as_deref().unwrap_or_default();
    if nameservers.len() > 3 {
        errs.push(FieldError::invalid(
            child_path(path, "nameservers"),
            render::string_slice(Some(nameservers)),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, server) in nameservers.iter().enumerate() {
        errs.extend(validate_ip(&index_path(&child_path(path, "nameservers"), i), server));
    }
    let searches = config.searches.as_deref().unwrap_or_default();
    if searches.len() > 32 {
        errs.push(FieldError::invalid(
            child_path(path, "searches"),
            render::string_slice(Some(searches)),
            "must not have more than 32 search paths",
        ));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(FieldError::invalid(
            child_path(path, "searches"),
            render::string_slice(Some(searches)),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, search) in searches.iter().enumerate() {
        let search = search.strip_suffix('.').unwrap_or(search);
        errs.extend(dns_subdomain(search, &index_path(&child_path(path, "searches"), i)));
    }
    for (i, option) in config.options.iter().flatten().enumerate() {
        if opt_str(&option.name).is_empty() {
            errs.push(FieldError::required(index_path(&child_path(path, "options"), i), "must not be empty"));
        }
    }
    errs
}

/// `validateOS` and the per-OS restrictions.
fn validate_os(spec: &PodSpec, name: &str, path: &str, spec_path: &str) -> ErrorList {
    if name.is_empty() {
        return vec![FieldError::required(child_path(path, "name"), "cannot be empty")];
    }
    if name != "linux" && name != "windows" {
        return vec![FieldError::not_supported(path, name, &["linux", "windows"])];
    }
    let mut errs = ErrorList::new();
    let sc_path = child_path(spec_path, "securityContext");
    let containers = spec_containers(spec, spec_path);
    if name == "linux" {
        if spec.security_context.as_ref().is_some_and(|s| s.windows_options.is_some()) {
            errs.push(FieldError::forbidden(
                child_path(&sc_path, "windowsOptions"),
                "windows options cannot be set for a linux pod",
            ));
        }
        for (c, p) in containers {
            if c.is_some_and(|s| s.windows_options.is_some()) {
                errs.push(FieldError::forbidden(
                    child_path(&child_path(&p, "securityContext"), "windowsOptions"),
                    "windows options cannot be set for a linux pod",
                ));
            }
        }
        return errs;
    }
    const WINDOWS: &str = "cannot be set for a windows pod";
    if let Some(sc) = &spec.security_context {
        for (field, set) in [
            ("appArmorProfile", sc.app_armor_profile.is_some()),
            ("seLinuxOptions", sc.se_linux_options.is_some()),
            ("seccompProfile", sc.seccomp_profile.is_some()),
            ("fsGroup", sc.fs_group.is_some()),
            ("fsGroupChangePolicy", sc.fs_group_change_policy.is_some()),
            ("sysctls", sc.sysctls.as_ref().is_some_and(|s| !s.is_empty())),
            ("runAsUser", sc.run_as_user.is_some()),
            ("runAsGroup", sc.run_as_group.is_some()),
            ("supplementalGroups", sc.supplemental_groups.is_some()),
            ("supplementalGroupsPolicy", sc.supplemental_groups_policy.is_some()),
        ] {
            if set {
                errs.push(FieldError::forbidden(child_path(&sc_path, field), WINDOWS));
            }
        }
    }
    for (field, set) in [
        ("hostUsers", spec.host_users.is_some()),
        ("hostPID", spec.host_pid == Some(true)),
        ("hostIPC", spec.host_ipc == Some(true)),
        ("shareProcessNamespace", spec.share_process_namespace.is_some()),
    ] {
        if set {
            errs.push(FieldError::forbidden(child_path(spec_path, field), WINDOWS));
        }
    }
    for (c, p) in containers {
        let Some(sc) = c else {
            continue;
        };
        let sc_path = child_path(&p, "securityContext");
        for (field, set) in [
            ("appArmorProfile", sc.app_armor_profile.is_some()),
            ("seLinuxOptions", sc.se_linux_options.is_some()),
            ("seccompProfile", sc.seccomp_profile.is_some()),
            ("capabilities", sc.capabilities.is_some()),
            ("readOnlyRootFilesystem", sc.read_only_root_filesystem.is_some()),
            ("privileged", sc.privileged.is_some()),
            ("allowPrivilegeEscalation", sc.allow_privilege_escalation.is_some()),
            ("procMount", sc.proc_mount.is_some()),
            ("runAsUser", sc.run_as_user.is_some()),
            ("runAsGroup", sc.run_as_group.is_some()),
        ] {
            if set {
                errs.push(FieldError::forbidden(child_path(&sc_path, field), WINDOWS));
            }
        }
    }
    errs
}

/// Every container's security context with its path, in `VisitContainersWithPath` order.
fn spec_containers<'a>(
    spec: &'a PodSpec,
    spec_path: &str,
) -> Vec<(Option<&'a k8s_openapi::api::core::v1::SecurityContext>, String)> {
    let mut out = Vec::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        out.push((c.security_context.as_ref(), index_path(&child_path(spec_path, "initContainers"), i)));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        out.push((c.security_context.as_ref(), index_path(&child_path(spec_path, "containers"), i)));
    }
    for (i, c) in spec.ephemeral_containers.iter().flatten().enumerate() {
        out.push((c.security_context.as_ref(), index_path(&child_path(spec_path, "ephemeralContainers"), i)));
    }
    out
}

/// `ValidatePodSpecificAnnotations` (pods and pod templates).
pub(crate) fn validate_pod_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    spec: &PodSpec,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let Some(annotations) = annotations else {
        return errs;
    };
    if let Some(value) = annotations.get(MIRROR_POD_ANNOTATION)
        && opt_str(&spec.node_name).is_empty()
    {
        errs.push(FieldError::invalid(
            key_path(path, MIRROR_POD_ANNOTATION),
            value,
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if let Some(cost) = annotations.get(DELETION_COST_ANNOTATION) {
        let digits = cost.strip_prefix(['+', '-']).unwrap_or(cost);
        let parses = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) && cost.parse::<i32>().is_ok();
        if !parses {
            errs.push(FieldError::invalid(key_path(path, DELETION_COST_ANNOTATION), cost, "must be a 32bit integer"));
        }
    }
    for (key, value) in annotations {
        if key == SECCOMP_POD_ANNOTATION || key.starts_with(SECCOMP_CONTAINER_PREFIX) {
            errs.extend(validate_seccomp_annotation(value, &child_path(path, key)));
        }
    }
    for (key, value) in annotations {
        let Some(container) = key.strip_prefix(APPARMOR_CONTAINER_PREFIX) else {
            continue;
        };
        let exists = spec.containers.iter().chain(spec.init_containers.iter().flatten()).any(|c| c.name == container)
            || spec.ephemeral_containers.iter().flatten().any(|c| c.name == container);
        if !exists {
            errs.push(FieldError::invalid(key_path(path, key), container, "container not found"));
        }
        let valid =
            value.is_empty() || value == "runtime/default" || value == "unconfined" || value.starts_with("localhost/");
        if !valid {
            errs.push(FieldError::invalid(
                key_path(path, key),
                value,
                format!("invalid AppArmor profile name: {}", crate::validation::go_quote(value)),
            ));
        }
    }
    errs
}

/// `ValidateSeccompProfile` of an annotation value.
fn validate_seccomp_annotation(profile: &str, path: &str) -> ErrorList {
    match profile {
        "runtime/default" | "docker/default" | "unconfined" => Vec::new(),
        _ => match profile.strip_prefix("localhost/") {
            Some(local) => validate_local_descending_path(local, path),
            None => vec![FieldError::invalid(path, profile, "must be a valid seccomp profile")],
        },
    }
}
