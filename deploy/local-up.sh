#!/usr/bin/env bash
# Brings up what rustkube has so far on this machine: a single kube-apiserver
# with the embedded store and generated PKI, usable with the real kubectl.
# (Scheduler, controllers, kubelet and kube-proxy join as they land.)
#
#   deploy/local-up.sh [--dir DIR] [--port PORT] [--etcd]
#
# Stop it with deploy/local-down.sh --dir DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${HOME:-/root}/.rustkube"
port=6443
use_etcd=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --etcd) use_etcd=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "local-up.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
if [ "$use_etcd" = 1 ]; then command -v etcd >/dev/null 2>&1 || need+=(etcd-server); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "local-up.sh: installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/rustkube-target}"
echo "local-up.sh: building kube-apiserver (release)"
cargo build --release --locked -p rustkube-apiserver --bin kube-apiserver
bin="$CARGO_TARGET_DIR/release/kube-apiserver"

mkdir -p "$dir"
if [ -f "$dir/kube-apiserver.pid" ] && kill -0 "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null; then
  echo "local-up.sh: already running (pid $(cat "$dir/kube-apiserver.pid")); KUBECONFIG=$dir/admin.kubeconfig"
  exit 0
fi

args=(--data-dir "$dir" --bind-address 127.0.0.1 --secure-port "$port")
if [ "$use_etcd" = 1 ]; then
  etcd_port=$((port + 10000))
  echo "local-up.sh: starting etcd on 127.0.0.1:$etcd_port"
  nohup etcd --name rustkube --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
    --initial-cluster "rustkube=http://127.0.0.1:$((etcd_port + 1))" --max-request-bytes 2097152 \
    >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$etcd_port") 2>/dev/null && break
    sleep 0.05
  done
  args+=(--etcd-servers "http://127.0.0.1:$etcd_port")
fi

start=$EPOCHREALTIME
nohup "$bin" "${args[@]}" >"$dir/kube-apiserver.log" 2>&1 &
echo $! >"$dir/kube-apiserver.pid"
for _ in $(seq 1 300); do
  if [ -f "$dir/admin.kubeconfig" ] && grep -q "listening on" "$dir/kube-apiserver.log" 2>/dev/null; then break; fi
  if ! kill -0 "$(cat "$dir/kube-apiserver.pid")" 2>/dev/null; then
    echo "local-up.sh: kube-apiserver exited; log:" >&2; tail -20 "$dir/kube-apiserver.log" >&2; exit 1
  fi
  sleep 0.05
done
end=$EPOCHREALTIME
printf 'local-up.sh: kube-apiserver ready on https://127.0.0.1:%s in %.2fs (log: %s)\n' "$port" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$dir/kube-apiserver.log"
cat <<MSG

  export KUBECONFIG=$dir/admin.kubeconfig
  kubectl get namespaces
  kubectl apply -f deploy/examples/web.yaml

Stop with: deploy/local-down.sh --dir $dir
MSG
