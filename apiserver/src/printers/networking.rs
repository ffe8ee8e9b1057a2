//! Tables for networking.k8s.io and discovery.k8s.io kinds.

use jiff::Timestamp;
use serde_json::Value;

use super::core::load_balancer_ingress;
use super::fields::{self, age, arr, cell, get, name, opt_str, str};
use super::selector::format_label_selector;
use super::{AGE, Column, NAME, col, descriptions as d};

pub(super) const INGRESS_COLUMNS: &[Column] = &[
    NAME,
    col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
    col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "string", "Ports of TLS configurations that open"),
    AGE,
];

pub(super) fn ingress_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let ports = if arr(o, "spec.tls").is_empty() { "80" } else { "80, 443" };
    vec![
        cell(name(o)),
        cell(opt_str(o, "spec.ingressClassName").unwrap_or("<none>")),
        cell(format_hosts(arr(o, "spec.rules"))),
        cell(load_balancer_ingress(o, "status.loadBalancer.ingress")),
        cell(ports),
        age(o, now),
    ]
}

/// Upstream's `formatHosts`: up to three rule hosts, "*" when no rule names one.
fn format_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = str(rule, "host");
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_string();
    }
    let joined = list.join(",");
    if more { format!("{joined} + {} more...", rules.len() - MAX) } else { joined }
}

pub(super) const INGRESS_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller that is responsible for handling this class"),
    col("Parameters", "string", "A reference to a resource with additional parameters"),
    AGE,
];

pub(super) fn ingress_class_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let parameters = match get(o, "spec.parameters").filter(|p| p.is_object()) {
        Some(p) => {
            let kind = match opt_str(p, "apiGroup") {
                Some(group) => format!("{}.{group}", str(p, "kind")),
                None => str(p, "kind").to_string(),
            };
            format!("{kind}/{}", str(p, "name"))
        }
        None => "<none>".to_string(),
    };
    vec![cell(name(o)), cell(str(o, "spec.controller")), cell(parameters), age(o, now)]
}

pub(super) const NETWORK_POLICY_COLUMNS: &[Column] =
    &[NAME, col("Pod-Selector", "string", d::NETPOL_SPEC_POD_SELECTOR), AGE];

pub(super) fn network_policy_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    vec![cell(name(o)), cell(format_label_selector(o, "spec.podSelector")), age(o, now)]
}

pub(super) const ENDPOINT_SLICE_COLUMNS: &[Column] = &[
    NAME,
    col("AddressType", "string", d::EPS_ADDRESS_TYPE),
    col("Ports", "string", d::EPS_PORTS),
    col("Endpoints", "string", d::EPS_ENDPOINTS),
    AGE,
];

pub(super) fn endpoint_slice_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let ports = arr(o, "ports").iter().map(|p| match fields::opt_int(p, "port") {
        Some(port) => port.to_string(),
        None => opt_str(p, "name").unwrap_or("*").to_string(),
    });
    let addresses =
        arr(o, "endpoints").iter().flat_map(|e| arr(e, "addresses")).map(|a| a.as_str().unwrap_or("").to_string());
    vec![
        cell(name(o)),
        cell(str(o, "addressType")),
        cell(list_with_more(ports)),
        cell(list_with_more(addresses)),
        age(o, now),
    ]
}

/// Upstream's `listWithMoreString` over the first three items: "a,b,c + N more...", "<unset>" when empty.
pub(super) fn list_with_more(items: impl Iterator<Item = String>) -> String {
    const MAX: usize = 3;
    let mut list = Vec::new();
    let mut count = 0;
    for item in items {
        if list.len() < MAX {
            list.push(item);
        }
        count += 1;
    }
    if count > MAX {
        return format!("{} + {} more...", list.join(","), count - MAX);
    }
    if list.is_empty() { "<unset>".to_string() } else { list.join(",") }
}

pub(super) const SERVICE_CIDR_COLUMNS: &[Column] = &[NAME, col("CIDRs", "string", d::SCIDR_CIDRS), AGE];

pub(super) fn service_cidr_cells(o: &Value, now: Timestamp) -> Vec<Value> {
    let cidrs: Vec<&str> = arr(o, "spec.cidrs").iter().map(|c| c.as_str().unwrap_or("")).collect();
    vec![cell(name(o)), cell(cidrs.join(",")), age(o, now)]
}

pub(super) const IP_ADDRESS_COLUMNS: &[Column] = &[NAME, col("ParentRef", "string", d::IPADDR_PARENT)];

/// Upstream's IP address printer also emits an AGE cell its columns do not declare, which kubectl drops;
/// only the declared cells are returned so every row matches its columns.
pub(super) fn ip_address_cells(o: &Value, _now: Timestamp) -> Vec<Value> {
    let parent = match get(o, "spec.parentRef").filter(|p| p.is_object()) {
        Some(p) => {
            let (group, resource) = (str(p, "group"), str(p, "resource"));
            let mut parent =
                if group.is_empty() { resource.to_lowercase() } else { format!("{resource}.{group}").to_lowercase() };
            if let Some(namespace) = opt_str(p, "namespace").filter(|n| !n.is_empty()) {
                parent = format!("{parent}/{namespace}");
            }
            format!("{parent}/{}", str(p, "name"))
        }
        None => "<none>".to_string(),
    };
    vec![cell(name(o)), cell(parent)]
}
