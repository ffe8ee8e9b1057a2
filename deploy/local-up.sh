#!/usr/bin/env bash
# One command to a local rustkube cluster: builds the daemons (release), then
# starts kube-apiserver (embedded store, or etcd with --etcd),
# kube-controller-manager, kube-scheduler and kubelets as separate processes,
# each with its own kubeconfig identity and log, and waits until every node is
# Ready. Nodes use the kubelet's fake runtime for now (containerd-backed nodes
# in network namespaces are next; see README "Known gaps").
#
#   deploy/local-up.sh [--dir DIR] [--port PORT] [--etcd] [--fake-nodes N] [--detach]
#
# Without --detach it stays in the foreground and stops the cluster on Ctrl-C.
# Stop a detached cluster with deploy/local-down.sh --dir DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${HOME:-/root}/.rustkube"
port=6443
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --etcd) args+=(--etcd); use_etcd=1; shift ;;
    --fake-nodes) args+=(--fake-nodes "$2"); shift 2 ;;
    --detach) args+=(--detach); shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "local-up.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
if [ "${use_etcd:-0}" = 1 ]; then command -v etcd >/dev/null 2>&1 || need+=(etcd-server); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "local-up.sh: installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/rustkube-target}"
echo "local-up.sh: building the daemons (release)"
cargo build --release --locked --bins \
  -p rustkube-apiserver -p rustkube-controller-manager -p rustkube-scheduler -p rustkube-kubelet \
  -p rustkube-local-cluster
bin="$CARGO_TARGET_DIR/release"
mkdir -p "$dir"
exec "$bin/rustkube-local-up" --dir "$dir" --bin-dir "$bin" --port "$port" "${args[@]}"
