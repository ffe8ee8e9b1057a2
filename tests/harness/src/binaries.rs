//! Finds the workspace's daemon binaries in the target directory the test
//! itself was built into, building them first when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static BUILD: Mutex<()> = Mutex::new(());

/// The path of workspace binary `name` (e.g. `kube-apiserver`) of the same
/// profile as the running test; builds it with cargo when it is not there.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test> or target/<profile>/<test>
    let mut profile_dir = exe.parent().expect("test binary directory").to_path_buf();
    if profile_dir.file_name().is_some_and(|n| n == "deps") {
        profile_dir.pop();
    }
    let path = profile_dir.join(name);
    let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if !path.is_file() {
        build(name, &profile_dir);
    }
    assert!(path.is_file(), "{name} not found at {} after building it", path.display());
    path
}

fn build(name: &str, profile_dir: &Path) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target_dir = profile_dir.parent().expect("target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace).arg("build").arg("--bin").arg(name).arg("--target-dir").arg(target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.arg("--profile").arg(other);
        }
        None => {}
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("running cargo to build {name}: {e}"));
    assert!(status.success(), "cargo build --bin {name} failed ({status})");
}
