//! Service ClusterIP and NodePort allocation.
//!
//! Each allocated address or port is claimed by creating a storage key
//! (`/registry/ranges/serviceips/<ip>`, `/registry/ranges/servicenodeports/<port>`)
//! whose value names the owning Service; create-if-absent makes two
//! concurrent allocations of the same value impossible, on every backend.
//! Claims are released when the Service is deleted or the create fails.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use rustkube_storage::Store;
use serde_json::{Value, json};

use crate::status::ApiError;

const IP_PREFIX: &str = "/registry/ranges/serviceips/";
const PORT_PREFIX: &str = "/registry/ranges/servicenodeports/";

#[derive(Debug, Clone)]
pub struct Allocator {
    storage: Arc<dyn Store>,
    base: u128,
    size: u128,
    v6: bool,
    ports: (u16, u16),
}

/// What one Service create claimed, to release if the create fails.
#[derive(Debug, Default)]
pub struct Claims {
    keys: Vec<String>,
}

fn parse_cidr(cidr: &str) -> Result<(u128, u128, bool), String> {
    let (addr, bits) = cidr.split_once('/').ok_or_else(|| format!("invalid CIDR {cidr:?}"))?;
    let bits: u32 = bits.parse().map_err(|_| format!("invalid CIDR {cidr:?}"))?;
    match addr.parse::<IpAddr>().map_err(|_| format!("invalid CIDR {cidr:?}"))? {
        IpAddr::V4(v4) if bits <= 30 => {
            let host = 32 - bits;
            let base = u128::from(u32::from(v4) & (u32::MAX.checked_shl(host).unwrap_or(0)));
            Ok((base, 1u128 << host, false))
        }
        IpAddr::V6(v6) if (64..=126).contains(&bits) => {
            let host = 128 - bits;
            let base = u128::from(v6) & (u128::MAX << host);
            Ok((base, 1u128 << host.min(20), true))
        }
        _ => Err(format!("service CIDR {cidr:?} is too small or unsupported")),
    }
}

fn parse_ports(range: &str) -> Result<(u16, u16), String> {
    let (lo, hi) = range.split_once('-').ok_or_else(|| format!("invalid port range {range:?}"))?;
    let lo: u16 = lo.trim().parse().map_err(|_| format!("invalid port range {range:?}"))?;
    let hi: u16 = hi.trim().parse().map_err(|_| format!("invalid port range {range:?}"))?;
    if lo == 0 || lo > hi {
        return Err(format!("invalid port range {range:?}"));
    }
    Ok((lo, hi))
}

fn random_u64() -> u64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

impl Allocator {
    pub fn new(storage: Arc<dyn Store>, cidr: &str, ports: &str) -> Result<Self, String> {
        let (base, size, v6) = parse_cidr(cidr)?;
        Ok(Allocator { storage, base, size, v6, ports: parse_ports(ports)? })
    }

    fn ip_at(&self, offset: u128) -> IpAddr {
        let v = self.base + offset;
        if self.v6 { IpAddr::V6(Ipv6Addr::from(v)) } else { IpAddr::V4(Ipv4Addr::from(v as u32)) }
    }

    fn in_range(&self, ip: IpAddr) -> bool {
        let v = match ip {
            IpAddr::V4(v4) if !self.v6 => u128::from(u32::from(v4)),
            IpAddr::V6(v6) if self.v6 => u128::from(v6),
            _ => return false,
        };
        v > self.base && v < self.base + self.size - 1
    }

    async fn claim(&self, key: String, owner: &str, claims: &mut Claims) -> Result<bool, ApiError> {
        match self.storage.create(&key, Bytes::from(owner.to_owned())).await {
            Ok(_) => {
                claims.keys.push(key);
                Ok(true)
            }
            Err(rustkube_storage::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(ApiError::internal(format!("allocating {key}: {e}"))),
        }
    }

    /// Claims `ip` (when given) or a free address from the range.
    pub async fn allocate_ip(
        &self,
        requested: Option<IpAddr>,
        owner: &str,
        claims: &mut Claims,
    ) -> Result<IpAddr, ApiError> {
        if let Some(ip) = requested {
            if !self.in_range(ip) {
                return Err(field_invalid(
                    owner,
                    "spec.clusterIPs",
                    &ip.to_string(),
                    "provided IP is not in the valid range. The range of valid IPs is the service CIDR",
                ));
            }
            if !self.claim(format!("{IP_PREFIX}{ip}"), owner, claims).await? {
                return Err(field_invalid(
                    owner,
                    "spec.clusterIPs",
                    &ip.to_string(),
                    "failed to allocate IP: provided IP is already allocated",
                ));
            }
            return Ok(ip);
        }
        // Usable offsets are 1..size-1 (network and broadcast excluded); start at a random one.
        let usable = self.size.saturating_sub(2).max(1);
        let start = u128::from(random_u64()) % usable;
        for i in 0..usable.min(1 << 20) {
            let ip = self.ip_at(1 + (start + i) % usable);
            if self.claim(format!("{IP_PREFIX}{ip}"), owner, claims).await? {
                return Ok(ip);
            }
        }
        Err(ApiError::new(
            500,
            "InternalError",
            "Internal error occurred: failed to allocate a serviceIP: range is full",
        ))
    }

    /// Claims `port` (when given) or a free one from the node-port range.
    pub async fn allocate_node_port(
        &self,
        requested: Option<u16>,
        owner: &str,
        claims: &mut Claims,
    ) -> Result<u16, ApiError> {
        let (lo, hi) = self.ports;
        if let Some(p) = requested {
            if p < lo || p > hi {
                return Err(field_invalid(
                    owner,
                    "spec.ports[0].nodePort",
                    &p.to_string(),
                    &format!("provided port is not in the valid range. The range of valid ports is {lo}-{hi}"),
                ));
            }
            if !self.claim(format!("{PORT_PREFIX}{p}"), owner, claims).await? {
                return Err(field_invalid(
                    owner,
                    "spec.ports[0].nodePort",
                    &p.to_string(),
                    "provided port is already allocated",
                ));
            }
            return Ok(p);
        }
        let count = u64::from(hi - lo) + 1;
        let start = random_u64() % count;
        for i in 0..count {
            let p = lo + ((start + i) % count) as u16;
            if self.claim(format!("{PORT_PREFIX}{p}"), owner, claims).await? {
                return Ok(p);
            }
        }
        Err(ApiError::new(
            500,
            "InternalError",
            "Internal error occurred: failed to allocate a nodePort: range is full",
        ))
    }

    /// Releases everything `claims` holds (a failed create).
    pub async fn release(&self, claims: Claims) {
        for key in claims.keys {
            let _ = self.storage.delete(&key, None).await;
        }
    }

    /// Releases what a deleted Service held.
    pub async fn release_service(&self, svc: &Value) {
        let spec = svc.get("spec");
        let ips = spec.and_then(|s| s.get("clusterIPs")).and_then(Value::as_array).cloned().unwrap_or_default();
        for ip in ips.iter().filter_map(Value::as_str).filter(|ip| *ip != "None") {
            let _ = self.storage.delete(&format!("{IP_PREFIX}{ip}"), None).await;
        }
        for port in spec.and_then(|s| s.get("ports")).and_then(Value::as_array).into_iter().flatten() {
            if let Some(p) = port.get("nodePort").and_then(Value::as_u64) {
                let _ = self.storage.delete(&format!("{PORT_PREFIX}{p}"), None).await;
            }
        }
    }

    /// Fills clusterIP(s) and node ports of a Service being created.
    pub async fn assign(&self, svc: &mut Value, claims: &mut Claims) -> Result<(), ApiError> {
        let owner = format!(
            "{}/{}",
            svc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(""),
            svc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
        );
        let kind = svc.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_owned();
        if kind == "ExternalName" {
            return Ok(());
        }
        let requested = svc
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .or_else(|| svc.pointer("/spec/clusterIPs/0").and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if requested.as_deref() != Some("None") {
            let ip = match &requested {
                Some(s) => Some(s.parse::<IpAddr>().map_err(|_| {
                    field_invalid(
                        &owner,
                        "spec.clusterIPs[0]",
                        s,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )
                })?),
                None => None,
            };
            let ip = self.allocate_ip(ip, &owner, claims).await?;
            svc["spec"]["clusterIP"] = json!(ip.to_string());
            svc["spec"]["clusterIPs"] = json!([ip.to_string()]);
            svc["spec"]["ipFamilies"] = json!([if ip.is_ipv4() { "IPv4" } else { "IPv6" }]);
        } else {
            svc["spec"]["clusterIPs"] = json!(["None"]);
            svc["spec"]["ipFamilies"] = json!([if self.v6 { "IPv6" } else { "IPv4" }]);
        }
        if svc.pointer("/spec/ipFamilyPolicy").is_none() {
            svc["spec"]["ipFamilyPolicy"] = json!("SingleStack");
        }
        if (kind == "NodePort" || kind == "LoadBalancer")
            && let Some(ports) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut)
        {
            for port in ports.iter_mut() {
                let requested = port.get("nodePort").and_then(Value::as_u64).filter(|p| *p > 0).map(|p| p as u16);
                let p = self.allocate_node_port(requested, &owner, claims).await?;
                port["nodePort"] = json!(p);
            }
        }
        Ok(())
    }
}

fn field_invalid(owner: &str, field: &str, value: &str, detail: &str) -> ApiError {
    let name = owner.rsplit('/').next().unwrap_or(owner);
    let err = rustkube_api::validation::FieldError::invalid(field, value.to_owned(), detail);
    ApiError::invalid("Service", "", name, &[err])
}
