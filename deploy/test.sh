#!/usr/bin/env bash
# Runs rustkube's whole test suite on a fresh Debian/Ubuntu machine:
# installs what the tests need (saying what), then format check, clippy and
# every test (nextest when present). Run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the build and the tests use: protoc for the gRPC bindings,
# a C compiler for bundled SQLite, etcd for the storage suite, and for the
# kubelet's real-container tests containerd, runc, the CNI plugins, busybox
# (the local test image), iproute2 (network namespaces), iptables and conntrack;
# the end-to-end suite's clusters use the same.
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v containerd >/dev/null 2>&1 || need+=(containerd)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/lib/cni/bridge ] || [ -x /opt/cni/bin/bridge ] || need+=(containernetworking-plugins)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing missing packages: ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Debian's etcd-server package may start a system etcd on :2379 and the
# containerd package a system containerd; the tests start their own (free
# ports, their own sockets and state dirs) and never use either.

if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: cargo not found; install the Rust toolchain (rustup) first" >&2
  exit 1
fi

# The official Python client, for the client-compatibility test.
if ! python3 -c "import kubernetes" >/dev/null 2>&1; then
  command -v pip3 >/dev/null 2>&1 || python3 -m pip --version >/dev/null 2>&1 || {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip
  }
  echo "test.sh: installing the Python kubernetes client (pip)"
  python3 -m pip install -q kubernetes 2>/dev/null || python3 -m pip install -q --break-system-packages kubernetes
fi

# fmt and clippy are rustup components; add them if this toolchain lacks them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  echo "test.sh: adding rustup components rustfmt and clippy"
  rustup component add rustfmt clippy
fi

# Build artefacts live outside the clone so repeated runs (and CI) reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/rustkube-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "test.sh: format check"
cargo fmt --all --check
echo "test.sh: clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "test.sh: tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --workspace --no-fail-fast
else
  cargo test --locked --workspace --no-fail-fast
fi
