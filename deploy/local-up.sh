#!/usr/bin/env bash
# One command to a local rustkube cluster with real containers: installs what
# is missing (saying what), builds the daemons (release), then starts
# kube-apiserver (embedded store, or etcd with --etcd), kube-controller-manager,
# kube-scheduler and N containerd-backed nodes (each in its own network
# namespace with its own containerd and pod CIDR 10.244.<i>.0/24, routed to
# each other), imports the local images (pause, busybox) into every node, and
# waits until every node is Ready and the kubernetes service answers.
#
#   deploy/local-up.sh [--dir DIR] [--port PORT] [--nodes N] [--fake-nodes N]
#                      [--netns NAME] [--etcd] [--apply FILE]... [--detach]
#
# --nodes N       containerd nodes (default 1; 0 = none, then no root is needed)
# --fake-nodes N  simulated nodes (the kubelet's fake runtime), any number
# --netns NAME    the whole cluster inside namespace NAME, reachable only from
#                 there: nsenter --net=/run/netns/NAME kubectl get nodes
#                 (default: the API is relayed to the host's 127.0.0.1:PORT)
# --apply FILE    create the objects of FILE once ready and wait for its pods
# --detach        return once ready; otherwise stay in the foreground, Ctrl-C stops
#
# Stop a detached cluster with deploy/local-down.sh --dir DIR. The host's own
# network configuration is never changed: everything lives in namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${HOME:-/root}/.rustkube"
port=6443
nodes=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --etcd) args+=(--etcd); use_etcd=1; shift ;;
    --fake-nodes) args+=(--fake-nodes "$2"); shift 2 ;;
    --netns) args+=(--netns "$2"); shift 2 ;;
    --apply) args+=(--apply "$(realpath "$2")"); shift 2 ;;
    --detach) args+=(--detach); shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "local-up.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ "$nodes" != 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "local-up.sh: containerd nodes need root (network namespaces, containerd, mounts):" >&2
  echo "  run it with sudo, or use --nodes 0 --fake-nodes N for simulated nodes only" >&2
  exit 1
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
if [ "$nodes" != 0 ]; then
  command -v containerd >/dev/null 2>&1 || need+=(containerd)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
  command -v iptables >/dev/null 2>&1 || need+=(iptables)
  command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
fi
if [ "${use_etcd:-0}" = 1 ]; then command -v etcd >/dev/null 2>&1 || need+=(etcd-server); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "local-up.sh: installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Debian's containerd package starts a system containerd on /run/containerd;
# the cluster's nodes run their own (own config, root, state and socket under
# DIR/nodes) and never use it.

if ! command -v cargo >/dev/null 2>&1; then
  echo "local-up.sh: cargo not found; install the Rust toolchain (rustup, 1.88 or newer) first" >&2
  exit 1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/rustkube-target}"
echo "local-up.sh: building the daemons (release)"
cargo build --release --locked --bins \
  -p rustkube-apiserver -p rustkube-controller-manager -p rustkube-scheduler -p rustkube-kubelet \
  -p rustkube-local-cluster
bin="$CARGO_TARGET_DIR/release"
mkdir -p "$dir"
exec "$bin/rustkube-local-up" --dir "$dir" --bin-dir "$bin" --port "$port" --nodes "$nodes" "${args[@]}"
