//! The real kubectl binaries on the machine.

use std::path::{Path, PathBuf};

/// Where the machine keeps the real kubectl binaries.
pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// The real kubectl of a minor version (`"1.33"`); panics with a hint when missing.
pub fn kubectl_binary(version: &str) -> PathBuf {
    let path = Path::new(KUBECTL_DIR).join(format!("kubectl.{version}"));
    assert!(
        path.is_file(),
        "kubectl {version} not found at {}: these tests drive the real kubectl; install the Google Cloud SDK's \
         kubectl component (package google-cloud-cli-kubectl-oidc / google-cloud-sdk kubectl.{version}) or copy a \
         kubectl {version} binary there",
        path.display()
    );
    path
}
