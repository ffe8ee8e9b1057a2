//! Services and Endpoints (upstream `ValidateService`, `ValidateServiceUpdate`,
//! `ValidateServiceStatusUpdate`, `ValidateEndpoints`).
//!
//! As upstream, validation expects the registry to have allocated cluster IPs,
//! node ports and the health check node port already, and the clusterIP/clusterIPs
//! pair is first normalized as the strategy's `PrepareFor{Create,Update}` does.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Endpoints, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::formats::{is_valid_port_num, parse_ip_sloppy, validate_cidr, validate_ip};
use super::meta::{validate_meta_create, validate_meta_update};
use super::probes::validate_port_num_or_name;
use super::volumes::{dns_label, dns_subdomain};
use super::{opt_str, render};
use crate::validation::{
    ErrorList, FieldError, NameRule, child_path, index_path, is_dns1123_subdomain, is_qualified_name, key_path,
    validate_labels,
};

const KUBELET_PORT: i32 = 10250;
const MAX_CLIENT_IP_TIMEOUT: i32 = 86400;
const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];
const TOPOLOGY_MODE_ANNOTATION: &str = "service.kubernetes.io/topology-mode";
const TOPOLOGY_HINTS_ANNOTATION: &str = "service.kubernetes.io/topology-aware-hints";
const SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

pub(crate) fn validate_service_create(service: &Service) -> ErrorList {
    let mut service = service.clone();
    normalize_cluster_ips(&mut service, None);
    validate_service(&service)
}

pub(crate) fn validate_service_update(new: &Service, old: &Service) -> ErrorList {
    let mut new = new.clone();
    normalize_cluster_ips(&mut new, Some(old));
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let (spec, old_spec) = (new.spec.clone().unwrap_or_default(), old.spec.clone().unwrap_or_default());
    errs.extend(validate_cluster_ip_changes(&spec, &old_spec));
    errs.extend(validate_ip_family_changes(&spec, &old_spec));
    if opt_str(&spec.type_) == "LoadBalancer"
        && opt_str(&old_spec.type_) == "LoadBalancer"
        && spec.load_balancer_class != old_spec.load_balancer_class
    {
        errs.push(FieldError::invalid(
            "spec.loadBalancerClass",
            render::ptr(spec.load_balancer_class.as_deref()),
            "may not change once set",
        ));
    }
    if needs_health_check(&spec)
        && needs_health_check(&old_spec)
        && spec.health_check_node_port != old_spec.health_check_node_port
    {
        errs.push(FieldError::forbidden("spec.healthCheckNodePort", "field is immutable"));
    }
    errs.extend(validate_service(&new));
    errs
}

pub(crate) fn validate_service_status_update(new: &Service, old: &Service) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    let spec = new.spec.clone().unwrap_or_default();
    let ingress = new
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.as_deref())
        .unwrap_or_default();
    let path = "status.loadBalancer.ingress";
    if opt_str(&spec.type_) != "LoadBalancer" && !ingress.is_empty() {
        errs.push(FieldError::forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'"));
        return errs;
    }
    for (i, entry) in ingress.iter().enumerate() {
        let p = index_path(path, i);
        let ip = opt_str(&entry.ip);
        if !ip.is_empty() {
            errs.extend(validate_ip(&child_path(&p, "ip"), ip));
        }
        match &entry.ip_mode {
            None if !ip.is_empty() => {
                errs.push(FieldError::required(child_path(&p, "ipMode"), "must be specified when `ip` is set"))
            }
            Some(_) if ip.is_empty() => {
                errs.push(FieldError::forbidden(child_path(&p, "ipMode"), "may not be specified when `ip` is not set"))
            }
            Some(mode) if mode != "VIP" && mode != "Proxy" => {
                errs.push(FieldError::not_supported(child_path(&p, "ipMode"), mode, &["Proxy", "VIP"]));
            }
            _ => {}
        }
        let hostname = opt_str(&entry.hostname);
        if !hostname.is_empty() {
            errs.extend(dns_subdomain(hostname, &child_path(&p, "hostname")));
            if parse_ip_sloppy(hostname).is_some() {
                errs.push(FieldError::invalid(
                    child_path(&p, "hostname"),
                    hostname,
                    "must be a DNS name, not an IP address",
                ));
            }
        }
    }
    errs
}

/// The strategy's `normalizeClusterIPs`: old clients set only `clusterIP`, which
/// then fills (or, on update, edits) `clusterIPs`.
fn normalize_cluster_ips(service: &mut Service, old: Option<&Service>) {
    let Some(spec) = service.spec.as_mut() else {
        return;
    };
    let ip = spec.cluster_ip.clone().unwrap_or_default();
    let ips = spec.cluster_ips.clone().unwrap_or_default();
    let Some(old_spec) = old.and_then(|o| o.spec.as_ref()) else {
        if !ip.is_empty() && ips.is_empty() {
            spec.cluster_ips = Some(vec![ip]);
        }
        return;
    };
    let old_ip = old_spec.cluster_ip.clone().unwrap_or_default();
    let old_ips = old_spec.cluster_ips.clone().unwrap_or_default();
    if ip != old_ip && ips == old_ips {
        if ip.is_empty() {
            spec.cluster_ips = None;
        } else if ips.is_empty() {
            spec.cluster_ips = Some(vec![ip]);
        } else if let Some(first) = spec.cluster_ips.as_mut().and_then(|l| l.first_mut()) {
            *first = ip;
        }
    }
}

fn is_headless(spec: &ServiceSpec) -> bool {
    spec.cluster_ips.as_deref().is_some_and(|ips| ips.len() == 1 && ips[0] == "None")
}

/// `apiservice.ExternallyAccessible`.
fn externally_accessible(spec: &ServiceSpec) -> bool {
    let t = opt_str(&spec.type_);
    t == "LoadBalancer"
        || t == "NodePort"
        || (t == "ClusterIP" && spec.external_ips.as_ref().is_some_and(|e| !e.is_empty()))
}

/// `apiservice.NeedsHealthCheck`: a LoadBalancer with the Local traffic policy.
fn needs_health_check(spec: &ServiceSpec) -> bool {
    opt_str(&spec.type_) == "LoadBalancer" && opt_str(&spec.external_traffic_policy) == "Local"
}

/// `ValidateService`.
fn validate_service(service: &Service) -> ErrorList {
    let mut errs = validate_meta_create(&service.metadata, true, NameRule::Dns1035Label, true);
    let empty = BTreeMap::new();
    let annotations = service.metadata.annotations.as_ref().unwrap_or(&empty);
    if let (Some(mode), Some(hints)) =
        (annotations.get(TOPOLOGY_MODE_ANNOTATION), annotations.get(TOPOLOGY_HINTS_ANNOTATION))
        && mode != hints
    {
        errs.push(FieldError::invalid(
            key_path("metadata.annotations", TOPOLOGY_MODE_ANNOTATION),
            mode,
            format!("must match annotations[{TOPOLOGY_HINTS_ANNOTATION}] when both are specified"),
        ));
    }
    let spec = service.spec.clone().unwrap_or_default();
    let service_type = opt_str(&spec.type_);
    let ports = spec.ports.as_deref().unwrap_or_default();
    let headless = is_headless(&spec);
    if ports.is_empty() && !headless && service_type != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    match service_type {
        "LoadBalancer" => {
            for (i, port) in ports.iter().enumerate() {
                if port.port == KUBELET_PORT {
                    errs.push(FieldError::invalid(
                        index_path("spec.ports", i),
                        port.port,
                        format!("may not expose port {KUBELET_PORT} externally since it is used by kubelet"),
                    ));
                }
            }
            if headless {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs[0]",
                    "None",
                    "may not be set to 'None' for LoadBalancer services",
                ));
            }
        }
        "NodePort" if headless => {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                "None",
                "may not be set to 'None' for NodePort services",
            ));
        }
        "ExternalName" => {
            if spec.cluster_ips.as_ref().is_some_and(|ips| !ips.is_empty()) {
                errs.push(FieldError::forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
            }
            if spec.ip_families.as_ref().is_some_and(|f| !f.is_empty()) {
                errs.push(FieldError::forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(FieldError::forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
            }
            let external_name = opt_str(&spec.external_name);
            let cname = external_name.strip_suffix('.').unwrap_or(external_name);
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                errs.extend(dns_subdomain(cname, "spec.externalName"));
            }
        }
        _ => {}
    }
    let mut port_names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        errs.extend(validate_service_port(port, ports.len() > 1, &mut port_names, &index_path("spec.ports", i)));
    }
    if let Some(selector) = &spec.selector {
        errs.extend(validate_labels(selector, "spec.selector"));
    }
    let affinity = opt_str(&spec.session_affinity);
    match affinity {
        "" => errs.push(FieldError::required("spec.sessionAffinity", "")),
        "ClientIP" | "None" => {}
        other => errs.push(FieldError::not_supported("spec.sessionAffinity", other, &["ClientIP", "None"])),
    }
    if affinity == "ClientIP" {
        errs.extend(validate_client_ip_affinity(&spec));
    } else if affinity == "None" && spec.session_affinity_config.is_some() {
        errs.push(FieldError::forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"));
    }
    errs.extend(validate_cluster_ip_fields(&spec));
    for (i, ip) in spec.external_ips.iter().flatten().enumerate() {
        let p = index_path("spec.externalIPs", i);
        let ip_errs = validate_ip(&p, ip);
        if ip_errs.is_empty() {
            errs.extend(validate_non_special_ip(ip, &p));
        } else {
            errs.extend(ip_errs);
        }
    }
    const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if service_type.is_empty() {
        errs.push(FieldError::required("spec.type", ""));
    } else if !TYPES.contains(&service_type) {
        errs.push(FieldError::not_supported("spec.type", service_type, &TYPES));
    }
    if service_type == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if port.node_port.unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    child_path(&index_path("spec.ports", i), "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let node_port = port.node_port.unwrap_or(0);
        if node_port != 0 && !node_ports.insert((opt_str(&port.protocol).to_string(), node_port)) {
            errs.push(FieldError::duplicate(child_path(&index_path("spec.ports", i), "nodePort"), node_port));
        }
    }
    let mut port_keys = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let protocol = opt_str(&port.protocol);
        if !port_keys.insert((protocol.to_string(), port.port)) {
            errs.push(FieldError::duplicate(
                index_path("spec.ports", i),
                render::Raw(format!(
                    "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    crate::validation::go_quote(protocol),
                    port.port
                )),
            ));
        }
    }
    let ranges = spec.load_balancer_source_ranges.as_deref().unwrap_or_default();
    if !ranges.is_empty() {
        let path = "spec.LoadBalancerSourceRanges";
        if service_type != "LoadBalancer" {
            errs.push(FieldError::forbidden(path, "may only be used when `type` is 'LoadBalancer'"));
        }
        for (i, range) in ranges.iter().enumerate() {
            errs.extend(validate_cidr(&index_path(path, i), range.trim()));
        }
    } else if let Some(value) = annotations.get(SOURCE_RANGES_ANNOTATION) {
        let path = key_path("metadata.annotations", SOURCE_RANGES_ANNOTATION);
        if service_type != "LoadBalancer" {
            errs.push(FieldError::forbidden(&path, "may only be used when `type` is 'LoadBalancer'"));
        }
        let value = value.trim();
        if !value.is_empty() {
            for cidr in value.split(',') {
                errs.extend(validate_cidr(&path, cidr.trim()));
            }
        }
    }
    if spec.allocate_load_balancer_node_ports.is_some() && service_type != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if service_type == "LoadBalancer" && spec.allocate_load_balancer_node_ports.is_none() {
        errs.push(FieldError::required("allocateLoadBalancerNodePorts", ""));
    }
    match (&spec.load_balancer_class, service_type == "LoadBalancer") {
        (Some(class), true) => {
            for msg in is_qualified_name(class) {
                errs.push(FieldError::invalid("spec.loadBalancerClass", class, msg));
            }
        }
        (Some(_), false) => {
            errs.push(FieldError::forbidden(
                "spec.loadBalancerClass",
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        (None, _) => {}
    }
    errs.extend(validate_traffic_policies(&spec));
    errs
}

/// `validateServicePort`.
fn validate_service_port(
    port: &ServicePort,
    require_name: bool,
    names: &mut BTreeSet<String>,
    path: &str,
) -> ErrorList {
    let mut errs = ErrorList::new();
    let name = opt_str(&port.name);
    if require_name && name.is_empty() {
        errs.push(FieldError::required(child_path(path, "name"), ""));
    } else if !name.is_empty() {
        errs.extend(dns_label(name, &child_path(path, "name")));
        if !names.insert(name.to_string()) {
            errs.push(FieldError::duplicate(child_path(path, "name"), name));
        }
    }
    for msg in is_valid_port_num(i64::from(port.port)) {
        errs.push(FieldError::invalid(child_path(path, "port"), port.port, msg));
    }
    match opt_str(&port.protocol) {
        "" => errs.push(FieldError::required(child_path(path, "protocol"), "")),
        p if !PROTOCOLS.contains(&p) => {
            errs.push(FieldError::not_supported(child_path(path, "protocol"), p, &PROTOCOLS))
        }
        _ => {}
    }
    let target = port.target_port.clone().unwrap_or(IntOrString::Int(0));
    errs.extend(validate_port_num_or_name(&target, &child_path(path, "targetPort")));
    if let Some(app_protocol) = &port.app_protocol {
        for msg in is_qualified_name(app_protocol) {
            errs.push(FieldError::invalid(child_path(path, "appProtocol"), app_protocol, msg));
        }
    }
    errs
}

/// `validateClientIPAffinityConfig`.
fn validate_client_ip_affinity(spec: &ServiceSpec) -> ErrorList {
    let path = "spec.sessionAffinityConfig";
    let detail = "when session affinity type is ClientIP";
    let Some(config) = &spec.session_affinity_config else {
        return vec![FieldError::required(path, detail)];
    };
    let Some(client_ip) = &config.client_ip else {
        return vec![FieldError::required(child_path(path, "clientIP"), detail)];
    };
    let timeout_path = child_path(&child_path(path, "clientIP"), "timeoutSeconds");
    match client_ip.timeout_seconds {
        None => vec![FieldError::required(timeout_path, detail)],
        Some(t) if t <= 0 || t > MAX_CLIENT_IP_TIMEOUT => vec![FieldError::invalid(
            timeout_path,
            t,
            format!("must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT}"),
        )],
        Some(_) => Vec::new(),
    }
}

/// `ValidateServiceClusterIPsRelatedFields`.
fn validate_cluster_ip_fields(spec: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if opt_str(&spec.type_) == "ExternalName" {
        return errs;
    }
    let ip = opt_str(&spec.cluster_ip);
    let ips = spec.cluster_ips.as_deref().unwrap_or_default();
    let ips_value = || render::string_slice(Some(ips));
    if !ip.is_empty() {
        if ips.is_empty() {
            errs.push(FieldError::required("spec.clusterIPs", ""));
        } else if ips[0] != ip {
            errs.push(FieldError::invalid("spec.clusterIPs", ips_value(), "first value must match `clusterIP`"));
        }
    } else if !ips.is_empty() {
        errs.push(FieldError::invalid(
            "spec.clusterIPs",
            ips_value(),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, family) in spec.ip_families.iter().flatten().enumerate() {
        let p = index_path("spec.ipFamilies", i);
        if family != "IPv4" && family != "IPv6" {
            errs.push(FieldError::not_supported(&p, family, &["IPv4", "IPv6"]));
        }
        if !seen.insert(family.as_str()) {
            errs.push(FieldError::duplicate(&p, family));
        }
    }
    if let Some(policy) = &spec.ip_family_policy {
        const POLICIES: [&str; 3] = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !POLICIES.contains(&policy.as_str()) {
            errs.push(FieldError::not_supported("spec.ipFamilyPolicy", policy, &POLICIES));
        }
    }
    let mut invalid = false;
    for (i, cluster_ip) in ips.iter().enumerate() {
        if i == 0 && cluster_ip == "None" {
            if ips.len() > 1 {
                invalid = true;
                errs.push(FieldError::invalid(
                    "spec.clusterIPs",
                    ips_value(),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        let ip_errs = validate_ip(&index_path("spec.clusterIPs", i), cluster_ip);
        invalid |= !ip_errs.is_empty();
        errs.extend(ip_errs);
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid("spec.clusterIPs", ips_value(), "may only hold up to 2 values"));
    }
    if invalid {
        return errs;
    }
    if ips.len() > 1 {
        let families: BTreeSet<bool> = ips.iter().filter_map(|ip| parse_ip_sloppy(ip)).map(|ip| ip.is_v6()).collect();
        if families.len() != 2 {
            errs.push(FieldError::invalid(
                "spec.clusterIPs",
                ips_value(),
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    let families = spec.ip_families.as_deref().unwrap_or_default();
    if !is_headless(spec) && !ips.is_empty() && !families.is_empty() {
        for (i, cluster_ip) in ips.iter().enumerate().take(families.len()) {
            let is_v6 = parse_ip_sloppy(cluster_ip).is_some_and(|a| a.is_v6());
            let p = index_path("spec.clusterIPs", i);
            if families[i] == "IPv4" && is_v6 {
                errs.push(FieldError::invalid(
                    &p,
                    cluster_ip,
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if families[i] == "IPv6" && !is_v6 {
                errs.push(FieldError::invalid(
                    &p,
                    cluster_ip,
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

/// `validateUpgradeDowngradeClusterIPs`: allocated cluster IPs do not change.
fn validate_cluster_ip_changes(spec: &ServiceSpec, old: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if opt_str(&spec.type_) == "ExternalName" || opt_str(&old.type_) == "ExternalName" {
        return errs;
    }
    if is_headless(spec) && is_headless(old) {
        return errs;
    }
    let ips = spec.cluster_ips.as_deref().unwrap_or_default();
    let old_ips = old.cluster_ips.as_deref().unwrap_or_default();
    let value = || render::string_slice(Some(ips));
    if old_ips.len() == ips.len() {
        for (i, ip) in old_ips.iter().enumerate() {
            if *ip != ips[i] {
                errs.push(FieldError::invalid(index_path("spec.clusterIPs", i), value(), "may not change once set"));
            }
        }
    } else if old_ips.len() > ips.len() {
        if ips.is_empty() {
            errs.push(FieldError::invalid("spec.clusterIPs[0]", value(), "primary clusterIP can not be unset"));
        }
        if !old_ips.is_empty() && !ips.is_empty() && ips[0] != old_ips[0] {
            errs.push(FieldError::invalid("spec.clusterIPs[0]", value(), "may not change once set"));
        }
        if ips.len() == 1 && opt_str(&spec.ip_family_policy) != "SingleStack" {
            errs.push(FieldError::invalid(
                "spec.ipFamilyPolicy",
                render::ptr(spec.ip_family_policy.as_deref()),
                "must be set to 'SingleStack' when releasing the secondary clusterIP",
            ));
        }
    } else if !old_ips.is_empty() && ips[0] != old_ips[0] {
        errs.push(FieldError::invalid("spec.clusterIPs[0]", value(), "may not change once set"));
    }
    errs
}

/// `validateUpgradeDowngradeIPFamilies`.
fn validate_ip_family_changes(spec: &ServiceSpec, old: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if opt_str(&spec.type_) == "ExternalName" || opt_str(&old.type_) == "ExternalName" {
        return errs;
    }
    if is_headless(spec) || is_headless(old) {
        return errs;
    }
    let families = spec.ip_families.as_deref().unwrap_or_default();
    let old_families = old.ip_families.as_deref().unwrap_or_default();
    let ips = spec.cluster_ips.as_deref().unwrap_or_default();
    let families_value = || render::string_slice(Some(families));
    let ips_value = || render::string_slice(Some(ips));
    if old_families.len() == families.len() {
        for (i, family) in old_families.iter().enumerate() {
            if *family != families[i] {
                errs.push(FieldError::invalid("spec.ipFamilies[0]", families_value(), "may not change once set"));
            }
        }
    } else if old_families.len() > families.len() {
        if ips.is_empty() {
            errs.push(FieldError::invalid("spec.ipFamilies[0]", families_value(), "primary ipFamily can not be unset"));
        }
        if !families.is_empty() && families[0] != old_families[0] {
            errs.push(FieldError::invalid("spec.ipFamilies[0]", ips_value(), "may not change once set"));
        }
        if families.len() == 1 && opt_str(&spec.ip_family_policy) != "SingleStack" {
            errs.push(FieldError::invalid(
                "spec.ipFamilyPolicy",
                render::ptr(spec.ip_family_policy.as_deref()),
                "must be set to 'SingleStack' when releasing the secondary ipFamily",
            ));
        }
    } else if !old_families.is_empty() && !families.is_empty() && families[0] != old_families[0] {
        errs.push(FieldError::invalid("spec.ipFamilies[0]", ips_value(), "may not change once set"));
    }
    errs
}

/// External and internal traffic policies, health check port and traffic distribution.
fn validate_traffic_policies(spec: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    let external = opt_str(&spec.external_traffic_policy);
    if !externally_accessible(spec) {
        if !external.is_empty() {
            errs.push(FieldError::invalid(
                "spec.externalTrafficPolicy",
                external,
                "may only be set for externally-accessible services",
            ));
        }
    } else if external.is_empty() {
        errs.push(FieldError::required("spec.externalTrafficPolicy", ""));
    } else if external != "Cluster" && external != "Local" {
        errs.push(FieldError::not_supported("spec.externalTrafficPolicy", external, &["Cluster", "Local"]));
    }
    let health_port = spec.health_check_node_port.unwrap_or(0);
    if !needs_health_check(spec) {
        if health_port != 0 {
            errs.push(FieldError::invalid(
                "spec.healthCheckNodePort",
                health_port,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if health_port == 0 {
        errs.push(FieldError::required("spec.healthCheckNodePort", ""));
    } else {
        for msg in is_valid_port_num(i64::from(health_port)) {
            errs.push(FieldError::invalid("spec.healthCheckNodePort", health_port, msg));
        }
    }
    match spec.internal_traffic_policy.as_deref() {
        None => {
            if matches!(opt_str(&spec.type_), "NodePort" | "LoadBalancer" | "ClusterIP") {
                errs.push(FieldError::required("spec.internalTrafficPolicy", ""));
            }
        }
        Some(policy) if policy != "Cluster" && policy != "Local" => {
            errs.push(FieldError::not_supported("spec.internalTrafficPolicy", policy, &["Cluster", "Local"]));
        }
        Some(_) => {}
    }
    if let Some(distribution) = spec.traffic_distribution.as_deref().filter(|d| *d != "PreferClose") {
        errs.push(FieldError::not_supported("spec.trafficDistribution", distribution, &["PreferClose"]));
    }
    errs
}

/// `ValidateNonSpecialIP`: no unspecified, loopback or link-local addresses.
fn validate_non_special_ip(value: &str, path: &str) -> ErrorList {
    let Some(ip) = parse_ip_sloppy(value) else {
        return vec![FieldError::invalid(path, value, "must be a valid IP address")];
    };
    let mut errs = ErrorList::new();
    if ip.is_unspecified() {
        errs.push(FieldError::invalid(path, value, format!("may not be unspecified ({value})")));
    }
    if ip.is_loopback() {
        errs.push(FieldError::invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    if ip.is_link_local_unicast() {
        errs.push(FieldError::invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
    }
    if ip.is_link_local_multicast() {
        errs.push(FieldError::invalid(
            path,
            value,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
    errs
}

pub(crate) fn validate_endpoints_create(endpoints: &Endpoints) -> ErrorList {
    let mut errs = validate_meta_create(&endpoints.metadata, true, NameRule::Dns1123Subdomain, true);
    errs.extend(validate_subsets(endpoints));
    errs
}

pub(crate) fn validate_endpoints_update(new: &Endpoints, old: &Endpoints) -> ErrorList {
    let mut errs = validate_meta_update(&new.metadata, &old.metadata, true);
    errs.extend(validate_endpoints_create(new));
    errs
}

/// `validateEndpointSubsets`.
fn validate_subsets(endpoints: &Endpoints) -> ErrorList {
    let mut errs = ErrorList::new();
    for (i, subset) in endpoints.subsets.iter().flatten().enumerate() {
        let p = index_path("subsets", i);
        let addresses = subset.addresses.as_deref().unwrap_or_default();
        let not_ready = subset.not_ready_addresses.as_deref().unwrap_or_default();
        if addresses.is_empty() && not_ready.is_empty() {
            errs.push(FieldError::required(&p, "must specify `addresses` or `notReadyAddresses`"));
        }
        for (field, list) in [("addresses", addresses), ("notReadyAddresses", not_ready)] {
            for (j, address) in list.iter().enumerate() {
                let a = index_path(&child_path(&p, field), j);
                errs.extend(validate_ip(&child_path(&a, "ip"), &address.ip));
                let hostname = opt_str(&address.hostname);
                if !hostname.is_empty() {
                    errs.extend(dns_label(hostname, &child_path(&a, "hostname")));
                }
                if let Some(node) = &address.node_name {
                    for msg in is_dns1123_subdomain(node) {
                        errs.push(FieldError::invalid(child_path(&a, "nodeName"), node, msg));
                    }
                }
                errs.extend(validate_non_special_ip(&address.ip, &child_path(&a, "ip")));
            }
        }
        let ports = subset.ports.as_deref().unwrap_or_default();
        for (j, port) in ports.iter().enumerate() {
            let pp = index_path(&child_path(&p, "ports"), j);
            let name = opt_str(&port.name);
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(child_path(&pp, "name"), ""));
            } else if !name.is_empty() {
                errs.extend(dns_label(name, &child_path(&pp, "name")));
            }
            for msg in is_valid_port_num(i64::from(port.port)) {
                errs.push(FieldError::invalid(child_path(&pp, "port"), port.port, msg));
            }
            match opt_str(&port.protocol) {
                "" => errs.push(FieldError::required(child_path(&pp, "protocol"), "")),
                p if !PROTOCOLS.contains(&p) => {
                    errs.push(FieldError::not_supported(child_path(&pp, "protocol"), p, &PROTOCOLS))
                }
                _ => {}
            }
            if let Some(app_protocol) = &port.app_protocol {
                for msg in is_qualified_name(app_protocol) {
                    errs.push(FieldError::invalid(child_path(&pp, "appProtocol"), app_protocol, msg));
                }
            }
        }
    }
    errs
}
