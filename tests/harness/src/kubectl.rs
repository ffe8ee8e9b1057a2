//! The real kubectl binaries on the machine.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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

/// Runs kubectl `version` with `kubeconfig` (ignoring any `KUBECONFIG` in the
/// environment), feeding it `stdin` when given.
pub fn run(version: &str, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(kubectl_binary(version));
    cmd.arg(format!("--kubeconfig={}", kubeconfig.display())).args(args).env_remove("KUBECONFIG");
    let Some(input) = stdin else { return cmd.output().expect("running kubectl") };
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("running kubectl");
    child.stdin.take().expect("kubectl's stdin").write_all(input.as_bytes()).expect("writing kubectl's stdin");
    child.wait_with_output().expect("waiting for kubectl")
}

/// kubectl's stdout, failing the test with both streams (and `context`, e.g. a
/// server log tail) when it did not succeed.
pub fn stdout_of(args: &[&str], out: &Output, context: &str) -> String {
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\nstdout: {}\nstderr: {}{context}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
