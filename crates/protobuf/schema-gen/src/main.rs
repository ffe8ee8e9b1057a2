//! Compiles the Kubernetes 1.33 `generated.proto` files shipped in the `k8s-rs-pb` package into the
//! FileDescriptorSet that `rustkube-protobuf` embeds.
//!
//! Run from this directory: `cargo run --release -- ../schema/kubernetes-v1.33.binpb`

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use prost::Message;

/// Proto packages (as rewritten by k8s-rs-pb, relative to its `src/v1_33`) that are left out: test and
/// metrics-server types no apiserver serves.
const EXCLUDED: &[&str] = &["apimachinery/pkg/apis/testapigroup", "metrics/", "api/imagepolicy"];

fn main() -> Result<()> {
    let out = std::env::args().nth(1).context("usage: schema-gen OUTPUT.binpb")?;
    let root = proto_root()?;
    let mut files = Vec::new();
    collect(&root, &root, &mut files)?;
    files.sort();
    files.retain(|f| !EXCLUDED.iter().any(|e| f.starts_with(e)));
    let mut fds = protox::compile(&files, [&root]).context("compiling protos")?;
    for file in &mut fds.file {
        // Comments are not needed at runtime; they would triple the size.
        file.source_code_info = None;
    }
    fds.file.sort_by(|a, b| a.name.cmp(&b.name));
    let bytes = fds.encode_to_vec();
    std::fs::write(&out, &bytes).with_context(|| format!("writing {out}"))?;
    eprintln!("wrote {} files, {} bytes to {out}", fds.file.len(), bytes.len());
    Ok(())
}

/// Finds `src/v1_33` of the downloaded k8s-rs-pb package through `cargo metadata`.
fn proto_root() -> Result<PathBuf> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--features", "proto-source", "--manifest-path", manifest])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let packages = meta["packages"].as_array().context("no packages")?;
    let pkg = packages.iter().find(|p| p["name"] == "k8s-rs-pb").context("k8s-rs-pb not in metadata")?;
    let manifest_path = Path::new(pkg["manifest_path"].as_str().context("no manifest_path")?);
    Ok(manifest_path.parent().context("manifest has no parent")?.join("src/v1_33"))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path.strip_prefix(root)?.to_string_lossy().into_owned());
        }
    }
    Ok(())
}
