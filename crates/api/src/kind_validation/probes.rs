//! Probes and lifecycle hooks of a container (upstream `validateProbe`,
//! `validateLifecycle`, `validateHandler` and the handler validators).

use k8s_openapi::api::core::v1::{
    Container, ExecAction, GRPCAction, HTTPGetAction, Lifecycle, LifecycleHandler, Probe, SleepAction, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::formats::{is_http_header_name, is_valid_port_name, is_valid_port_num};
use super::meta::nonnegative;
use super::opt_str;
use crate::validation::{ErrorList, FieldError, child_path};

const MORE_THAN_ONE_HANDLER: &str = "may not specify more than 1 handler type";

/// Liveness, readiness and startup probes of a container.
pub(crate) fn validate_probes(c: &Container, grace_period: Option<i64>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    if let Some(probe) = &c.liveness_probe {
        let p = child_path(path, "livenessProbe");
        errs.extend(validate_probe(probe, grace_period, &p));
        let success = probe.success_threshold.unwrap_or(0);
        if success != 1 {
            errs.push(FieldError::invalid(child_path(&p, "successThreshold"), success, "must be 1"));
        }
    }
    if let Some(probe) = &c.readiness_probe {
        let p = child_path(path, "readinessProbe");
        errs.extend(validate_probe(probe, grace_period, &p));
        if let Some(grace) = probe.termination_grace_period_seconds {
            errs.push(FieldError::invalid(
                child_path(&p, "terminationGracePeriodSeconds"),
                grace,
                "must not be set for readinessProbes",
            ));
        }
    }
    if let Some(probe) = &c.startup_probe {
        let p = child_path(path, "startupProbe");
        errs.extend(validate_probe(probe, grace_period, &p));
        let success = probe.success_threshold.unwrap_or(0);
        if success != 1 {
            errs.push(FieldError::invalid(child_path(&p, "successThreshold"), success, "must be 1"));
        }
    }
    errs
}

/// `validateProbe`.
fn validate_probe(probe: &Probe, grace_period: Option<i64>, path: &str) -> ErrorList {
    let handler = Handler {
        exec: probe.exec.as_ref(),
        http_get: probe.http_get.as_ref(),
        tcp_socket: probe.tcp_socket.as_ref(),
        grpc: probe.grpc.as_ref(),
        sleep: None,
    };
    let mut errs = validate_handler(&handler, grace_period, path);
    for (field, value) in [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        errs.extend(nonnegative(i64::from(value.unwrap_or(0)), child_path(path, field)));
    }
    if let Some(grace) = probe.termination_grace_period_seconds.filter(|g| *g <= 0) {
        errs.push(FieldError::invalid(
            child_path(path, "terminationGracePeriodSeconds"),
            grace,
            "must be greater than 0",
        ));
    }
    errs
}

/// `validateLifecycle`.
pub(crate) fn validate_lifecycle(lifecycle: &Lifecycle, grace_period: Option<i64>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    for (field, hook) in [("postStart", &lifecycle.post_start), ("preStop", &lifecycle.pre_stop)] {
        if let Some(hook) = hook {
            errs.extend(validate_handler(&Handler::from_lifecycle(hook), grace_period, &child_path(path, field)));
        }
    }
    errs
}

/// The handlers a probe or lifecycle hook may use (upstream `commonHandler`).
struct Handler<'a> {
    exec: Option<&'a ExecAction>,
    http_get: Option<&'a HTTPGetAction>,
    tcp_socket: Option<&'a TCPSocketAction>,
    grpc: Option<&'a GRPCAction>,
    sleep: Option<&'a SleepAction>,
}

impl<'a> Handler<'a> {
    fn from_lifecycle(hook: &'a LifecycleHandler) -> Self {
        Handler {
            exec: hook.exec.as_ref(),
            http_get: hook.http_get.as_ref(),
            tcp_socket: hook.tcp_socket.as_ref(),
            grpc: None,
            sleep: hook.sleep.as_ref(),
        }
    }
}

/// `validateHandler`: exactly one handler, itself valid.
fn validate_handler(h: &Handler<'_>, grace_period: Option<i64>, path: &str) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut count = 0;
    let mut take = |present: bool, field: &str, errs: &mut ErrorList| -> bool {
        if !present {
            return false;
        }
        if count > 0 {
            errs.push(FieldError::forbidden(child_path(path, field), MORE_THAN_ONE_HANDLER));
            return false;
        }
        count += 1;
        true
    };
    if take(h.exec.is_some(), "exec", &mut errs)
        && h.exec.is_some_and(|e| e.command.as_ref().is_none_or(|c| c.is_empty()))
    {
        errs.push(FieldError::required(child_path(&child_path(path, "exec"), "command"), ""));
    }
    if take(h.http_get.is_some(), "httpGet", &mut errs)
        && let Some(http) = h.http_get
    {
        let p = child_path(path, "httpGet");
        if opt_str(&http.path).is_empty() {
            errs.push(FieldError::required(child_path(&p, "path"), ""));
        }
        errs.extend(validate_port_num_or_name(&http.port, &child_path(&p, "port")));
        let scheme = opt_str(&http.scheme);
        if scheme != "HTTP" && scheme != "HTTPS" {
            errs.push(FieldError::not_supported(child_path(&p, "scheme"), scheme, &["HTTP", "HTTPS"]));
        }
        for header in http.http_headers.iter().flatten() {
            for msg in is_http_header_name(&header.name) {
                errs.push(FieldError::invalid(child_path(&p, "httpHeaders"), &header.name, msg));
            }
        }
    }
    if take(h.tcp_socket.is_some(), "tcpSocket", &mut errs)
        && let Some(tcp) = h.tcp_socket
    {
        errs.extend(validate_port_num_or_name(&tcp.port, &child_path(&child_path(path, "tcpSocket"), "port")));
    }
    if take(h.grpc.is_some(), "grpc", &mut errs)
        && let Some(grpc) = h.grpc
    {
        let port_path = child_path(&child_path(path, "grpc"), "port");
        for msg in is_valid_port_num(i64::from(grpc.port)) {
            errs.push(FieldError::invalid(&port_path, grpc.port, msg));
        }
    }
    if take(h.sleep.is_some(), "sleep", &mut errs)
        && let (Some(sleep), Some(grace)) = (h.sleep, grace_period)
        && (sleep.seconds < 0 || sleep.seconds > grace)
    {
        errs.push(FieldError::invalid(
            child_path(path, "sleep"),
            sleep.seconds,
            format!("must be non-negative and less than terminationGracePeriodSeconds ({grace})"),
        ));
    }
    if count == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    errs
}

/// `ValidatePortNumOrName`.
pub(crate) fn validate_port_num_or_name(port: &IntOrString, path: &str) -> ErrorList {
    match port {
        IntOrString::Int(n) => {
            is_valid_port_num(i64::from(*n)).into_iter().map(|m| FieldError::invalid(path, *n, m)).collect()
        }
        IntOrString::String(s) => is_valid_port_name(s).into_iter().map(|m| FieldError::invalid(path, s, m)).collect(),
    }
}
