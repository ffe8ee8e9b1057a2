//! Format checks of upstream `k8s.io/apimachinery/pkg/util/validation` not already in
//! [`crate::validation`]: ports, config keys, environment variable names, HTTP
//! headers, percentages, user and group ids, IP addresses and CIDRs, and the
//! relative-path rules of `core/validation`. Each returns the problems (empty when
//! valid) or field errors at the given path, with upstream's wording.

use std::net::Ipv6Addr;

use crate::validation::{ErrorList, FieldError, max_len_error, regex_error};

/// Upstream `InclusiveRangeError`.
pub(crate) fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

/// `IsValidPortNum`: 1 to 65535.
pub(crate) fn is_valid_port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) { Vec::new() } else { vec![inclusive_range_error(1, 65535)] }
}

/// `IsValidUserID` / `IsValidGroupID`: 0 to 2^31-1.
pub(crate) fn is_valid_id(id: i64) -> Vec<String> {
    if (0..=i64::from(i32::MAX)).contains(&id) {
        Vec::new()
    } else {
        vec![inclusive_range_error(0, i64::from(i32::MAX))]
    }
}

/// `IsValidPortName`: an IANA service name of at most 15 lowercase alphanumerics
/// and single inner hyphens, with at least one letter.
pub(crate) fn is_valid_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    if port.is_empty() || !port.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-') {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// `IsConfigMapKey`: alphanumerics, '-', '_' and '.', at most 253 bytes, not `.`,
/// `..` or starting with `..`.
pub(crate) fn is_config_map_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > crate::validation::DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(crate::validation::DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')) {
        errs.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if key == "." {
        errs.push("must not be '.'".into());
    } else if key == ".." {
        errs.push("must not be '..'".into());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".into());
    }
    errs
}

/// `IsRelaxedEnvVarName` (1.33 validates environment variable names and envFrom
/// prefixes relaxed): printable ASCII other than '='.
pub(crate) fn is_relaxed_env_var_name(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.is_empty() {
        errs.push(format!("environment variable name {}", crate::validation::empty_error()));
    }
    if name.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        errs.push(
            "a valid environment variable name must consist only of printable ASCII characters other than '='".into(),
        );
    }
    errs
}

/// `IsHTTPHeaderName`: alphanumerics and '-'.
pub(crate) fn is_http_header_name(name: &str) -> Vec<String> {
    if !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
        return Vec::new();
    }
    vec![regex_error(
        "a valid HTTP header must consist of alphanumeric characters or '-'",
        "[-A-Za-z0-9]+",
        &["X-Header-Name"],
    )]
}

/// `IsValidPercent`: digits followed by '%'.
pub(crate) fn is_valid_percent(value: &str) -> Vec<String> {
    match value.strip_suffix('%') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) => Vec::new(),
        _ => vec![regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            "[0-9]+%",
            &["1%", "93%"],
        )],
    }
}

/// The integer of a valid percentage (`"25%"` → 25), as `getPercentValue`.
pub(crate) fn percent_value(value: &str) -> Option<i64> {
    if !is_valid_percent(value).is_empty() {
        return None;
    }
    Some(value.trim_end_matches('%').parse::<i64>().unwrap_or(i64::MAX))
}

/// An IP address as upstream's `ParseIPSloppy` reads it: IPv4 (leading zeros
/// allowed, read as decimal) or IPv6 (including an embedded IPv4 tail).
pub(crate) fn parse_ip_sloppy(value: &str) -> Option<IpAddress> {
    if let Some(v4) = parse_ipv4_sloppy(value) {
        return Some(IpAddress::V4(v4));
    }
    if value.contains(':')
        && let Ok(v6) = value.parse::<Ipv6Addr>()
    {
        return Some(match v6.to_ipv4_mapped() {
            Some(v4) => IpAddress::V4(v4.octets()),
            None => IpAddress::V6(v6),
        });
    }
    None
}

/// A parsed address; IPv4-mapped IPv6 addresses count as IPv4, as in Go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpAddress {
    V4([u8; 4]),
    V6(Ipv6Addr),
}

impl IpAddress {
    pub(crate) fn is_v6(self) -> bool {
        matches!(self, IpAddress::V6(_))
    }

    pub(crate) fn is_unspecified(self) -> bool {
        match self {
            IpAddress::V4(o) => o == [0, 0, 0, 0],
            IpAddress::V6(a) => a.is_unspecified(),
        }
    }

    pub(crate) fn is_loopback(self) -> bool {
        match self {
            IpAddress::V4(o) => o[0] == 127,
            IpAddress::V6(a) => a.is_loopback(),
        }
    }

    pub(crate) fn is_link_local_unicast(self) -> bool {
        match self {
            IpAddress::V4(o) => o[0] == 169 && o[1] == 254,
            IpAddress::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
        }
    }

    pub(crate) fn is_link_local_multicast(self) -> bool {
        match self {
            IpAddress::V4(o) => o[0] == 224 && o[1] == 0 && o[2] == 0,
            IpAddress::V6(a) => a.segments()[0] & 0xff0f == 0xff02,
        }
    }
}

fn parse_ipv4_sloppy(value: &str) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = value.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let trimmed = part.trim_start_matches('0');
        if trimmed.len() > 3 {
            return None;
        }
        let n: u16 = if trimmed.is_empty() { 0 } else { trimmed.parse().ok()? };
        *octet = u8::try_from(n).ok()?;
    }
    parts.next().is_none().then_some(octets)
}

/// `IsValidIP`: a field error unless `value` is an IP address.
pub(crate) fn validate_ip(path: &str, value: &str) -> ErrorList {
    if parse_ip_sloppy(value).is_some() {
        return Vec::new();
    }
    vec![FieldError::invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
}

/// `IsValidCIDR`: a field error unless `value` is `address/prefix`.
pub(crate) fn validate_cidr(path: &str, value: &str) -> ErrorList {
    if parse_cidr(value).is_some() {
        return Vec::new();
    }
    vec![FieldError::invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]
}

/// `address/prefix` as `ParseCIDRSloppy` reads it.
pub(crate) fn parse_cidr(value: &str) -> Option<(IpAddress, u8)> {
    let (address, prefix) = value.split_once('/')?;
    let ip = parse_ip_sloppy(address)?;
    // A mapped IPv6 address keeps its IPv6 prefix length.
    let max = if address.contains(':') { 128 } else { 32 };
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = prefix.parse().ok()?;
    (bits <= max).then_some((ip, bits))
}

/// `validatePathNoBacksteps`: no `..` element.
pub(crate) fn validate_path_no_backsteps(target: &str, path: &str) -> ErrorList {
    if target.split('/').any(|part| part == "..") {
        return vec![FieldError::invalid(path, target, "must not contain '..'")];
    }
    Vec::new()
}

/// `validateLocalDescendingPath`: relative and without `..` elements.
pub(crate) fn validate_local_descending_path(target: &str, path: &str) -> ErrorList {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(path, target, "must be a relative path"));
    }
    errs.extend(validate_path_no_backsteps(target, path));
    errs
}

/// `ValidateLocalNonReservedPath`: a descending path not starting with `..`.
pub(crate) fn validate_local_non_reserved_path(target: &str, path: &str) -> ErrorList {
    let mut errs = validate_local_descending_path(target, path);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(FieldError::invalid(path, target, "must not start with '..'"));
    }
    errs
}
