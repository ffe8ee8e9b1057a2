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

/// Upstream's default hard eviction thresholds the node conditions use.
pub const MEMORY_AVAILABLE_MIN: u64 = 100 << 20;
pub const NODEFS_AVAILABLE_MIN_PERCENT: u64 = 10;

/// Resource pressure the node reports, judged against the default hard eviction thresholds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pressure {
    pub memory: bool,
    pub disk: bool,
}

/// Reads the current pressure: `memory.available < 100Mi`, `nodefs.available < 10%`.
pub fn pressure(root_dir: &Path) -> Pressure {
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| meminfo_bytes(&m, "MemAvailable:"));
    let mut dir = root_dir.to_path_buf();
    while !dir.exists() && dir.pop() {}
    let fs = rustix::fs::statvfs(&dir)
        .ok()
        .map(|s| (s.f_blocks.saturating_mul(s.f_frsize), s.f_bavail.saturating_mul(s.f_frsize)));
    judge(available, fs)
}

/// The thresholds applied to `MemAvailable` and the root filesystem's `(total, available)` bytes.
pub fn judge(memory_available: Option<u64>, fs: Option<(u64, u64)>) -> Pressure {
    let disk = fs.is_some_and(|(total, available)| {
        total > 0 && available.saturating_mul(100) < total.saturating_mul(NODEFS_AVAILABLE_MIN_PERCENT)
    });
    Pressure { memory: memory_available.is_some_and(|a| a < MEMORY_AVAILABLE_MIN), disk }
}

fn meminfo_bytes(meminfo: &str, field: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
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
        assert_eq!(meminfo_bytes("MemTotal: 1 kB\nMemAvailable:  2048 kB\n", "MemAvailable:"), Some(2048 * 1024));
        assert_eq!(judge(Some(1 << 30), Some((100, 50))), Pressure::default());
        assert_eq!(
            judge(Some(50 << 20), Some((100, 50))),
            Pressure { memory: true, disk: false },
            "under 100Mi available"
        );
        assert_eq!(judge(Some(1 << 30), Some((100, 9))), Pressure { memory: false, disk: true }, "under 10% available");
        assert_eq!(
            pretty_name("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }
}
