//! Pod volumes on the node: emptyDir, hostPath, configMap, secret,
//! downwardAPI, projected (configMap/secret/downwardAPI/serviceAccountToken
//! sources) under `<root-dir>/pods/<uid>/volumes/<plugin>/<name>`, and
//! persistentVolumeClaims bound to hostPath or local PersistentVolumes. File-backed
//! volumes are written as upstream's atomic writer does (`..data` symlink
//! swapped to a new timestamped directory), so they update in place when their
//! source changes or their service-account token is rotated.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
    Volume,
};
use kube::Api;

use crate::env::{self, PodFacts};
use crate::runtime::Mount;
use crate::token_manager::TokenManager;

/// Lifetime of a projected service-account token whose source does not say (the API default).
pub const DEFAULT_TOKEN_EXPIRATION_SECONDS: i64 = 60 * 60;

/// Errors preparing volumes (shown as `FailedMount` / `CreateContainerConfigError`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} {name:?} not found")]
    SourceNotFound { kind: &'static str, name: String },
    #[error("configmap references non-existent config key: {0}")]
    ConfigMapKey(String),
    #[error("references non-existent secret key: {0}")]
    SecretKey(String),
    #[error("reading {kind} {name}: {source}")]
    Read {
        kind: &'static str,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("hostPath type check failed: {path} is not a {expected}")]
    HostPathType { path: String, expected: String },
    #[error("writing volume {volume} at {path}: {source}")]
    Write {
        volume: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("downward API: {0}")]
    Downward(#[from] env::Error),
    #[error("volume {0:?} is of an unsupported type")]
    Unsupported(String),
    #[error("unable to find volume {0:?} for a volumeMount")]
    MissingVolume(String),
    #[error("invalid subPath {0:?}")]
    SubPath(String),
    #[error(transparent)]
    Token(#[from] crate::token_manager::Error),
    #[error("error processing PVC {namespace}/{name}: {reason}")]
    Claim { namespace: String, name: String, reason: String },
}

/// The pod's directory: `<root>/pods/<uid>`.
pub fn pod_dir(root_dir: &Path, uid: &str) -> PathBuf {
    root_dir.join("pods").join(uid)
}

fn plugin_of(v: &Volume) -> Option<&'static str> {
    Some(if v.empty_dir.is_some() {
        "kubernetes.io~empty-dir"
    } else if v.config_map.is_some() {
        "kubernetes.io~configmap"
    } else if v.secret.is_some() {
        "kubernetes.io~secret"
    } else if v.downward_api.is_some() {
        "kubernetes.io~downward-api"
    } else if v.projected.is_some() {
        "kubernetes.io~projected"
    } else {
        return None;
    })
}

/// A file to write: relative path, content, mode.
type File = (String, Vec<u8>, u32);

/// Makes every volume of `pod` exist and be current; returns the host path of each by name.
pub async fn prepare(
    pod: &Pod,
    root_dir: &Path,
    client: &kube::Client,
    tokens: &TokenManager,
    facts: &PodFacts,
) -> Result<BTreeMap<String, PathBuf>, Error> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let mut paths = BTreeMap::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        if let Some(hp) = &v.host_path {
            check_host_path(&hp.path, hp.type_.as_deref().unwrap_or("")).map_err(|e| Error::Write {
                volume: v.name.clone(),
                path: hp.path.clone(),
                source: e,
            })??;
            paths.insert(v.name.clone(), PathBuf::from(&hp.path));
            continue;
        }
        if let Some(claim) = &v.persistent_volume_claim {
            let pv = bound_volume(client, &namespace, &claim.claim_name).await?;
            let source = claimed_path(&pv).map_err(|reason| Error::Claim {
                namespace: namespace.clone(),
                name: claim.claim_name.clone(),
                reason,
            })?;
            let (path, type_) = match &source {
                ClaimedPath::HostPath { path, type_ } => (path.clone(), type_.as_str()),
                // A local volume is a directory (or file) the administrator made: it must exist.
                ClaimedPath::Local(path) => (path.clone(), "Local"),
            };
            let checked = if type_ == "Local" {
                Ok(if Path::new(&path).exists() {
                    Ok(())
                } else {
                    Err(Error::HostPathType { path: path.clone(), expected: "existing local volume path".into() })
                })
            } else {
                check_host_path(&path, type_)
            };
            checked.map_err(|e| Error::Write { volume: v.name.clone(), path: path.clone(), source: e })??;
            paths.insert(v.name.clone(), PathBuf::from(path));
            continue;
        }
        let Some(plugin) = plugin_of(v) else { return Err(Error::Unsupported(v.name.clone())) };
        let dir = pod_dir(root_dir, &uid).join("volumes").join(plugin).join(&v.name);
        let io = |e: std::io::Error, d: &Path| Error::Write {
            volume: v.name.clone(),
            path: d.display().to_string(),
            source: e,
        };
        tokio::fs::create_dir_all(&dir).await.map_err(|e| io(e, &dir))?;
        let files: Option<Vec<File>> = if let Some(ed) = &v.empty_dir {
            if ed.medium.as_deref() == Some("Memory") && !is_mount_point(&dir) {
                let mut opts = "mode=0777".to_owned();
                if let Some(size) =
                    ed.size_limit.as_ref().and_then(|q| rustkube_api::quantity::Quantity::parse(&q.0).ok())
                {
                    opts.push_str(&format!(",size={}", size.value().max(4096)));
                }
                let out = tokio::process::Command::new("mount")
                    .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
                    .arg(&dir)
                    .output()
                    .await
                    .map_err(|e| io(e, &dir))?;
                if !out.status.success() {
                    return Err(io(
                        std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
                        &dir,
                    ));
                }
            }
            let _ = tokio::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).await;
            None
        } else if let Some(cm) = &v.config_map {
            let mode = cm.default_mode.unwrap_or(0o644);
            match get_config_map(client, &namespace, &cm.name).await? {
                Some(obj) => Some(config_map_files(&obj, cm.items.as_deref(), mode, cm.optional.unwrap_or(false))?),
                None if cm.optional.unwrap_or(false) => Some(vec![]),
                None => return Err(Error::SourceNotFound { kind: "configmap", name: cm.name.clone() }),
            }
        } else if let Some(s) = &v.secret {
            let name = s.secret_name.clone().unwrap_or_default();
            let mode = s.default_mode.unwrap_or(0o644);
            match get_secret(client, &namespace, &name).await? {
                Some(obj) => Some(secret_files(&obj, s.items.as_deref(), mode, s.optional.unwrap_or(false))?),
                None if s.optional.unwrap_or(false) => Some(vec![]),
                None => return Err(Error::SourceNotFound { kind: "secret", name }),
            }
        } else if let Some(d) = &v.downward_api {
            Some(downward_files(pod, d.items.as_deref().unwrap_or_default(), d.default_mode.unwrap_or(0o644), facts)?)
        } else if let Some(p) = &v.projected {
            let mode = p.default_mode.unwrap_or(0o644);
            let mut files = Vec::new();
            for source in p.sources.iter().flatten() {
                if let Some(cm) = &source.config_map {
                    match get_config_map(client, &namespace, &cm.name).await? {
                        Some(obj) => files.extend(config_map_files(
                            &obj,
                            cm.items.as_deref(),
                            mode,
                            cm.optional.unwrap_or(false),
                        )?),
                        None if cm.optional.unwrap_or(false) => {}
                        None => return Err(Error::SourceNotFound { kind: "configmap", name: cm.name.clone() }),
                    }
                } else if let Some(s) = &source.secret {
                    match get_secret(client, &namespace, &s.name).await? {
                        Some(obj) => {
                            files.extend(secret_files(&obj, s.items.as_deref(), mode, s.optional.unwrap_or(false))?)
                        }
                        None if s.optional.unwrap_or(false) => {}
                        None => return Err(Error::SourceNotFound { kind: "secret", name: s.name.clone() }),
                    }
                } else if let Some(d) = &source.downward_api {
                    files.extend(downward_files(pod, d.items.as_deref().unwrap_or_default(), mode, facts)?);
                } else if let Some(t) = &source.service_account_token {
                    let expiration = t.expiration_seconds.unwrap_or(DEFAULT_TOKEN_EXPIRATION_SECONDS);
                    let token = tokens.token(client, pod, t.audience.as_deref(), expiration).await?;
                    files.push((t.path.clone(), token.into_bytes(), u32::try_from(mode).unwrap_or(0o644)));
                } else {
                    return Err(Error::Unsupported(v.name.clone()));
                }
            }
            Some(files)
        } else {
            None
        };
        if let Some(files) = files {
            let d = dir.clone();
            tokio::task::spawn_blocking(move || write_atomic(&d, &files))
                .await
                .map_err(|e| io(std::io::Error::other(e), &dir))?
                .map_err(|e| io(e, &dir))?;
        }
        paths.insert(v.name.clone(), dir);
    }
    Ok(paths)
}

/// Where a claim's PersistentVolume lives on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedPath {
    /// `spec.hostPath`, with its type check.
    HostPath { path: String, type_: String },
    /// `spec.local.path`.
    Local(String),
}

/// The host path of a PersistentVolume this kubelet can mount (hostPath or local).
pub fn claimed_path(pv: &PersistentVolume) -> Result<ClaimedPath, String> {
    let name = pv.metadata.name.clone().unwrap_or_default();
    let spec = pv.spec.as_ref().ok_or_else(|| format!("PV {name} has no spec"))?;
    if spec.volume_mode.as_deref() == Some("Block") {
        return Err(format!("PV {name} is a block volume, which this kubelet cannot map"));
    }
    if let Some(hp) = &spec.host_path {
        return Ok(ClaimedPath::HostPath { path: hp.path.clone(), type_: hp.type_.clone().unwrap_or_default() });
    }
    if let Some(local) = &spec.local {
        return Ok(ClaimedPath::Local(local.path.clone()));
    }
    Err(format!("PV {name} is of a volume type this kubelet cannot mount (only hostPath and local are supported)"))
}

/// The claim's bound PersistentVolume, after upstream's checks: the claim exists, is not
/// being deleted, is Bound to a volume, and that volume's claimRef is this claim.
async fn bound_volume(client: &kube::Client, namespace: &str, name: &str) -> Result<PersistentVolume, Error> {
    let fail = |reason: String| Error::Claim { namespace: namespace.to_owned(), name: name.to_owned(), reason };
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let pvc = claims
        .get_opt(name)
        .await
        .map_err(|e| fail(format!("failed to fetch PVC from API server: {e}")))?
        .ok_or_else(|| fail(format!("persistentvolumeclaim {name:?} not found")))?;
    if pvc.metadata.deletion_timestamp.is_some() {
        return Err(fail(format!("can't start pod because PVC {namespace}/{name} is being deleted")));
    }
    let phase = pvc.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
    let volume_name = pvc.spec.as_ref().and_then(|s| s.volume_name.clone()).unwrap_or_default();
    if phase != "Bound" || volume_name.is_empty() {
        return Err(fail(format!(
            "PVC {namespace}/{name} has non-bound phase ({phase:?}) or empty pvc.Spec.VolumeName ({volume_name:?})"
        )));
    }
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let pv = volumes
        .get_opt(&volume_name)
        .await
        .map_err(|e| fail(format!("failed to fetch PV {volume_name} from API server: {e}")))?
        .ok_or_else(|| fail(format!("failed to fetch PV {volume_name} from API server: not found")))?;
    let claim_ref = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    let expected = pvc.metadata.uid.clone().unwrap_or_default();
    match claim_ref.and_then(|r| r.uid.clone()) {
        Some(uid) if uid == expected => Ok(pv),
        other => Err(fail(format!(
            "PV {volume_name} is not bound to this claim (claimRef UID {:?}, claim UID {expected:?})",
            other.unwrap_or_default()
        ))),
    }
}

/// Whether the pod's volume `name` is mounted read-only everywhere (a claim source's `readOnly`).
fn volume_read_only(pod: &Pod, name: &str) -> bool {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .find(|v| v.name == name)
        .and_then(|v| v.persistent_volume_claim.as_ref())
        .and_then(|c| c.read_only)
        .unwrap_or(false)
}

/// The mounts of `container` of `pod` from its volumeMounts.
pub fn mounts(pod: &Pod, container: &Container, volumes: &BTreeMap<String, PathBuf>) -> Result<Vec<Mount>, Error> {
    let mut out = Vec::new();
    for m in container.volume_mounts.iter().flatten() {
        let base = volumes.get(&m.name).ok_or_else(|| Error::MissingVolume(m.name.clone()))?;
        let mut host = base.clone();
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if sub.starts_with('/') || sub.split('/').any(|p| p == "..") {
                return Err(Error::SubPath(sub.to_owned()));
            }
            host = base.join(sub);
            if !host.exists() {
                std::fs::create_dir_all(&host).map_err(|e| Error::Write {
                    volume: m.name.clone(),
                    path: host.display().to_string(),
                    source: e,
                })?;
            }
        }
        out.push(Mount {
            container_path: m.mount_path.clone(),
            host_path: host.display().to_string(),
            readonly: m.read_only.unwrap_or(false) || volume_read_only(pod, &m.name),
        });
    }
    Ok(out)
}

/// Removes the pod's directory (volumes included), unmounting tmpfs
/// emptyDirs first. hostPath volumes live elsewhere and are untouched.
pub async fn cleanup(root_dir: &Path, uid: &str) {
    let dir = pod_dir(root_dir, uid);
    let mut mounts = mounts_under(&dir);
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in mounts {
        match tokio::process::Command::new("umount").arg(&m).output().await {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                tracing::warn!(mount = %m, error = %String::from_utf8_lossy(&out.stderr).trim(), "umount failed")
            }
            Err(e) => tracing::warn!(mount = %m, error = %e, "umount failed"),
        }
    }
    if mounts_under(&dir).is_empty() {
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %e, "removing the pod directory failed");
        }
    } else {
        tracing::warn!(dir = %dir.display(), "pod directory still has mounts; left in place");
    }
}

/// Mount points at or under `dir`, from /proc/self/mountinfo.
fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
        .filter(|m| m == &prefix || m.starts_with(&format!("{prefix}/")))
        .collect()
}

fn is_mount_point(dir: &Path) -> bool {
    let d = dir.display().to_string();
    mounts_under(dir).contains(&d)
}

fn check_host_path(path: &str, type_: &str) -> std::io::Result<Result<(), Error>> {
    let p = Path::new(path);
    let bad = |expected: &str| Ok(Err(Error::HostPathType { path: path.to_owned(), expected: expected.to_owned() }));
    match type_ {
        "" => Ok(Ok(())),
        "DirectoryOrCreate" => {
            if !p.exists() {
                std::fs::create_dir_all(p)?;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))?;
            }
            if p.is_dir() { Ok(Ok(())) } else { bad("directory") }
        }
        "Directory" => {
            if p.is_dir() {
                Ok(Ok(()))
            } else {
                bad("directory")
            }
        }
        "FileOrCreate" => {
            if !p.exists() {
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(p, b"")?;
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644))?;
            }
            if p.is_file() { Ok(Ok(())) } else { bad("file") }
        }
        "File" => {
            if p.is_file() {
                Ok(Ok(()))
            } else {
                bad("file")
            }
        }
        "Socket" | "CharDevice" | "BlockDevice" => {
            if p.exists() {
                Ok(Ok(()))
            } else {
                bad(type_)
            }
        }
        other => bad(other),
    }
}

async fn get_config_map(client: &kube::Client, ns: &str, name: &str) -> Result<Option<ConfigMap>, Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    api.get_opt(name).await.map_err(|source| Error::Read {
        kind: "configmap",
        name: name.to_owned(),
        source: Box::new(source),
    })
}

async fn get_secret(client: &kube::Client, ns: &str, name: &str) -> Result<Option<Secret>, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    api.get_opt(name).await.map_err(|source| Error::Read {
        kind: "secret",
        name: name.to_owned(),
        source: Box::new(source),
    })
}

fn select(
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    mode: i32,
    optional: bool,
    missing: impl Fn(String) -> Error,
) -> Result<Vec<File>, Error> {
    let mode = u32::try_from(mode).unwrap_or(0o644);
    match items {
        None | Some([]) => Ok(data.into_iter().map(|(k, v)| (k, v, mode)).collect()),
        Some(items) => {
            let mut out = Vec::new();
            for item in items {
                match data.get(&item.key) {
                    Some(v) => out.push((
                        item.path.clone(),
                        v.clone(),
                        item.mode.and_then(|m| u32::try_from(m).ok()).unwrap_or(mode),
                    )),
                    None if optional => {}
                    None => return Err(missing(item.key.clone())),
                }
            }
            Ok(out)
        }
    }
}

fn config_map_files(
    cm: &ConfigMap,
    items: Option<&[KeyToPath]>,
    mode: i32,
    optional: bool,
) -> Result<Vec<File>, Error> {
    let mut data: BTreeMap<String, Vec<u8>> =
        cm.data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
    data.extend(cm.binary_data.iter().flatten().map(|(k, ByteString(v))| (k.clone(), v.clone())));
    select(data, items, mode, optional, Error::ConfigMapKey)
}

fn secret_files(s: &Secret, items: Option<&[KeyToPath]>, mode: i32, optional: bool) -> Result<Vec<File>, Error> {
    let mut data: BTreeMap<String, Vec<u8>> =
        s.data.iter().flatten().map(|(k, ByteString(v))| (k.clone(), v.clone())).collect();
    data.extend(s.string_data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes())));
    select(data, items, mode, optional, Error::SecretKey)
}

fn downward_files(pod: &Pod, items: &[DownwardAPIVolumeFile], mode: i32, facts: &PodFacts) -> Result<Vec<File>, Error> {
    let mut out = Vec::new();
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            env::field_value(pod, &f.field_path, facts)?
        } else if let Some(r) = &item.resource_field_ref {
            let spec = pod.spec.clone().unwrap_or_default();
            let name = r.container_name.clone().unwrap_or_default();
            let c = spec.containers.iter().find(|c| c.name == name).cloned().unwrap_or_default();
            env::resource_value(&c, &r.resource, r.divisor.as_ref().map(|d| d.0.as_str()), facts)?
        } else {
            continue;
        };
        let m = item.mode.unwrap_or(mode);
        out.push((item.path.clone(), value.into_bytes(), u32::try_from(m).unwrap_or(0o644)));
    }
    Ok(out)
}

/// Writes `files` under `dir` as upstream's AtomicWriter: a new `..<ts>`
/// directory, the `..data` symlink swapped to it by rename, user-visible
/// paths as symlinks through `..data`. Does nothing when the content is unchanged.
pub fn write_atomic(dir: &Path, files: &[File]) -> std::io::Result<()> {
    let data_link = dir.join("..data");
    if let Ok(current) = std::fs::read_link(&data_link) {
        let current_dir = dir.join(&current);
        let same = files.iter().all(|(p, content, mode)| {
            let f = current_dir.join(p);
            std::fs::read(&f).is_ok_and(|c| &c == content)
                && std::fs::metadata(&f).is_ok_and(|m| m.permissions().mode() & 0o7777 == *mode)
        }) && count_files(&current_dir) == files.len();
        if same {
            return Ok(());
        }
    }
    let ts = jiff::Timestamp::now().strftime("..%Y_%m_%d_%H_%M_%S.%f").to_string();
    let new_dir = dir.join(&ts);
    std::fs::create_dir_all(&new_dir)?;
    for (path, content, mode) in files {
        if path.starts_with('/') || path.split('/').any(|p| p == ".." || p.starts_with("..")) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid path {path:?}")));
        }
        let f = new_dir.join(path);
        if let Some(parent) = f.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&f, content)?;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(*mode))?;
    }
    let tmp_link = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp_link);
    std::os::unix::fs::symlink(&ts, &tmp_link)?;
    let old = std::fs::read_link(&data_link).ok();
    std::fs::rename(&tmp_link, &data_link)?;
    // User-visible names: the top-level entry of each path, through ..data.
    let mut tops: Vec<String> = files.iter().filter_map(|(p, _, _)| p.split('/').next().map(str::to_owned)).collect();
    tops.sort();
    tops.dedup();
    for top in &tops {
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(top), &link)?;
        }
    }
    // Names that are gone.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("..") && !tops.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    if let Some(old) = old {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(())
}

fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writer_swaps_data_and_keeps_links() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_atomic(d, &[("a".into(), b"1".to_vec(), 0o644), ("sub/b".into(), b"2".to_vec(), 0o600)]).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("a")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(d.join("sub/b")).unwrap(), "2");
        let first = std::fs::read_link(d.join("..data")).unwrap();
        write_atomic(d, &[("a".into(), b"1".to_vec(), 0o644), ("sub/b".into(), b"2".to_vec(), 0o600)]).unwrap();
        assert_eq!(std::fs::read_link(d.join("..data")).unwrap(), first, "unchanged content is not rewritten");
        write_atomic(d, &[("a".into(), b"changed".to_vec(), 0o644)]).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("a")).unwrap(), "changed");
        assert!(!d.join("sub").exists(), "a removed key disappears");
        assert!(!d.join(&first).exists(), "the old generation is removed");
        assert!(write_atomic(d, &[("../x".into(), vec![], 0o644)]).is_err());
    }

    fn pv(spec: serde_json::Value) -> PersistentVolume {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "pv1"}, "spec": spec})).unwrap()
    }

    #[test]
    fn host_path_and_local_volumes_resolve_to_their_path_and_others_are_refused() {
        let hp = pv(serde_json::json!({"hostPath": {"path": "/srv/a", "type": "Directory"}}));
        assert_eq!(claimed_path(&hp), Ok(ClaimedPath::HostPath { path: "/srv/a".into(), type_: "Directory".into() }));
        let local = pv(serde_json::json!({"local": {"path": "/mnt/disks/ssd1"}}));
        assert_eq!(claimed_path(&local), Ok(ClaimedPath::Local("/mnt/disks/ssd1".into())));
        let nfs = pv(serde_json::json!({"nfs": {"server": "s", "path": "/x"}}));
        assert!(claimed_path(&nfs).unwrap_err().contains("only hostPath and local"));
        let block = pv(serde_json::json!({"volumeMode": "Block", "local": {"path": "/dev/sdb"}}));
        assert!(claimed_path(&block).unwrap_err().contains("block volume"));
    }

    #[test]
    fn a_read_only_claim_makes_every_mount_of_it_read_only() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "c", "volumeMounts": [
                    {"name": "ro", "mountPath": "/ro"},
                    {"name": "rw", "mountPath": "/rw"},
                    {"name": "rw", "mountPath": "/rw-but-asked-ro", "readOnly": true},
                ]}],
                "volumes": [
                    {"name": "ro", "persistentVolumeClaim": {"claimName": "a", "readOnly": true}},
                    {"name": "rw", "persistentVolumeClaim": {"claimName": "b"}},
                ],
            },
        }))
        .unwrap();
        let volumes: BTreeMap<String, PathBuf> =
            [("ro".to_owned(), PathBuf::from("/srv/a")), ("rw".to_owned(), PathBuf::from("/srv/b"))].into();
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let got: Vec<(String, String, bool)> = mounts(&pod, container, &volumes)
            .unwrap()
            .into_iter()
            .map(|m| (m.container_path, m.host_path, m.readonly))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/ro".to_owned(), "/srv/a".to_owned(), true),
                ("/rw".to_owned(), "/srv/b".to_owned(), false),
                ("/rw-but-asked-ro".to_owned(), "/srv/b".to_owned(), true),
            ]
        );
    }

    #[test]
    fn items_select_keys_and_missing_keys_fail_unless_optional() {
        let cm: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "c"}, "data": {"k1": "v1", "k2": "v2"}}))
                .unwrap();
        let all = config_map_files(&cm, None, 0o644, false).unwrap();
        assert_eq!(all.len(), 2);
        let items = vec![KeyToPath { key: "k1".into(), path: "dir/one".into(), mode: Some(0o400) }];
        let some = config_map_files(&cm, Some(&items), 0o644, false).unwrap();
        assert_eq!(some, vec![("dir/one".to_owned(), b"v1".to_vec(), 0o400)]);
        let missing = vec![KeyToPath { key: "nope".into(), path: "x".into(), mode: None }];
        assert!(config_map_files(&cm, Some(&missing), 0o644, false).is_err());
        assert!(config_map_files(&cm, Some(&missing), 0o644, true).unwrap().is_empty());
    }
}
