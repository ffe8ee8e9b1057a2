//! The local images every containerd node gets (there is no registry):
//! pause and busybox built by `deploy/images/images.sh` into a cache
//! directory once, then imported into each node's containerd.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The image builder script in this repository.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/images.sh")
}

/// The busybox image's names: the archive's own and the tags added on import.
pub const BUSYBOX: &str = "docker.io/library/busybox:latest";
pub const BUSYBOX_TAGS: &[&str] = &["docker.io/library/busybox:1.36"];

/// Built image archives.
#[derive(Debug, Clone)]
pub struct Archives {
    pub pause: PathBuf,
    pub busybox: PathBuf,
}

/// Runs `images.sh ARGS`, returning stdout.
pub fn run_script(args: &[&std::ffi::OsStr]) -> anyhow::Result<String> {
    let out = Command::new(script()).args(args).output().with_context(|| format!("running {}", script().display()))?;
    if !out.status.success() {
        bail!(
            "images.sh {:?} failed: {}{}",
            args,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What the archives are built from: the script, pause.c and the busybox binary.
fn inputs_key() -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let here = script();
    for path in [here.clone(), here.with_file_name("pause.c"), PathBuf::from("/bin/busybox")] {
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// The archives in `cache`, built when missing or when their inputs changed.
/// Safe to call from several processes at once (each writes a temporary
/// file and renames it into place).
pub fn ensure_built(cache: &Path) -> anyhow::Result<Archives> {
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let key = inputs_key();
    let archives =
        Archives { pause: cache.join(format!("pause-{key}.tar")), busybox: cache.join(format!("busybox-{key}.tar")) };
    for (kind, path) in [("pause", &archives.pause), ("busybox", &archives.busybox)] {
        if path.is_file() {
            continue;
        }
        let tmp = cache.join(format!(".{kind}-{key}.{}.tmp", std::process::id()));
        run_script(&["build".as_ref(), kind.as_ref(), tmp.as_os_str()])?;
        std::fs::rename(&tmp, path).with_context(|| format!("moving {} into place", tmp.display()))?;
    }
    Ok(archives)
}

/// Imports the archives into the containerd at `socket` (namespace k8s.io)
/// and adds busybox's extra tags.
pub fn import(socket: &Path, archives: &Archives) -> anyhow::Result<()> {
    run_script(&["import".as_ref(), socket.as_os_str(), archives.pause.as_os_str(), archives.busybox.as_os_str()])?;
    for tag in BUSYBOX_TAGS {
        let out = Command::new("ctr")
            .arg("-a")
            .arg(socket)
            .args(["-n", "k8s.io", "images", "tag", "--force", BUSYBOX, tag])
            .output()
            .context("running ctr")?;
        if !out.status.success() {
            bail!("ctr images tag {BUSYBOX} {tag} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    Ok(())
}
