//! Command-line flags, named as upstream kube-apiserver's.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

/// kube-apiserver flags. Only what upstream lacks is new (`--data-dir`).
#[derive(Debug, Clone, Parser)]
#[command(name = "kube-apiserver", version, about = "The Kubernetes API server (rustkube)")]
pub struct Options {
    /// Directory for the embedded store and the generated PKI when no TLS files are given.
    #[arg(long, default_value = "/var/lib/rustkube/apiserver")]
    pub data_dir: PathBuf,

    /// etcd endpoints (comma separated); without them the embedded SQLite store is used.
    #[arg(long, value_delimiter = ',')]
    pub etcd_servers: Vec<String>,

    /// Address to listen on for HTTPS.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,

    /// HTTPS port; 0 picks a free port (logged as `listening on`).
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,

    /// Address advertised to members of the cluster (added to the serving certificate).
    #[arg(long)]
    pub advertise_address: Option<IpAddr>,

    /// Serving certificate (PEM); with --tls-private-key-file.
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,

    /// Serving key (PEM).
    #[arg(long)]
    pub tls_private_key_file: Option<PathBuf>,

    /// CA bundle that signs client certificates.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,

    /// Service IP range; the first address is the `kubernetes` Service.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,

    /// NodePort range.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,

    /// Authorization modes (accepted for compatibility; RBAC arrives with the security work).
    #[arg(long, value_delimiter = ',', default_value = "Node,RBAC")]
    pub authorization_mode: Vec<String>,

    /// Admission plugins to enable in addition to the defaults.
    #[arg(long, value_delimiter = ',')]
    pub enable_admission_plugins: Vec<String>,

    /// How often to compact storage history (upstream default 5m).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub etcd_compaction_interval: std::time::Duration,

    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    pub log_format: String,

    /// Log verbosity (0-10, as klog's -v).
    #[arg(short = 'v', long = "v", default_value_t = 0)]
    pub verbosity: u8,
}

/// Parses durations in Go's style: `90s`, `5m`, `1h30m`, `250ms`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let mut total = std::time::Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    if rest == "0" {
        return Ok(total);
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (num, tail) = rest.split_at(digits);
        let value: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let secs = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("invalid duration {s:?}: unknown unit {unit:?}")),
        };
        total += std::time::Duration::from_secs_f64(value * secs);
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_go_does() {
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
