//! What the node is made of, read from the machine: cores, memory, the root
//! directory's filesystem, kernel and OS, and the node's IP.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;

/// The machine facts the Node object reports.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineInfo {
    pub cores: u64,
    pub memory_bytes: u64,
    pub filesystem_bytes: u64,
    pub kernel_version: String,
    pub os_image: String,
    pub machine_id: String,
    pub system_uuid: String,
    pub boot_id: String,
    pub architecture: String,
}

/// Reads the machine; `root_dir` names the filesystem that ephemeral storage lives on.
pub fn read(root_dir: &Path) -> MachineInfo {
    let cores = std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1);
    let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| mem_total_bytes(&m)).unwrap_or(0);
    let mut dir = root_dir.to_path_buf();
    // The root dir may not exist yet; measure the nearest existing ancestor.
    while !dir.exists() && dir.pop() {}
    let filesystem_bytes = rustix::fs::statvfs(&dir).map(|s| s.f_blocks.saturating_mul(s.f_frsize)).unwrap_or(0);
    let uname = rustix::system::uname();
    let read_trim = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_owned()).unwrap_or_default();
    MachineInfo {
        cores,
        memory_bytes,
        filesystem_bytes,
        kernel_version: uname.release().to_string_lossy().into_owned(),
        os_image: std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|s| pretty_name(&s))
            .unwrap_or_else(|| "Linux".into()),
        machine_id: read_trim("/etc/machine-id"),
        system_uuid: read_trim("/sys/class/dmi/id/product_uuid"),
        boot_id: read_trim("/proc/sys/kernel/random/boot_id"),
        architecture: match std::env::consts::ARCH {
            "x86_64" => "amd64".into(),
            "aarch64" => "arm64".into(),
            other => other.into(),
        },
    }
}

/// Resource pressure the node reports (from the eviction thresholds met, see [`crate::eviction`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pressure {
    pub memory: bool,
    pub disk: bool,
    pub pid: bool,
}

fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn pretty_name(os_release: &str) -> Option<String> {
    let line = os_release.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    Some(line.trim_start_matches("PRETTY_NAME=").trim_matches('"').to_owned())
}

/// The node's IP when `--node-ip` is not given: the source address of the
/// default route (no packet is sent), else loopback.
pub fn default_node_ip() -> IpAddr {
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        let m = read(Path::new("/nonexistent/kubelet"));
        assert!(m.cores >= 1);
        assert!(m.memory_bytes > 0, "MemTotal parsed from /proc/meminfo");
        assert!(m.filesystem_bytes > 0, "statvfs of the nearest existing ancestor");
        assert!(!m.kernel_version.is_empty());
        assert_eq!(mem_total_bytes("MemTotal:       16318484 kB\n"), Some(16318484 * 1024));
        assert_eq!(
            pretty_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }
}
