#!/usr/bin/env bash
# Stops what deploy/local-up.sh started, by the pids it recorded under DIR/run.
#   deploy/local-down.sh [--dir DIR] [--purge]   (--purge also removes DIR)
set -euo pipefail
dir="${HOME:-/root}/.rustkube"
purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --purge) purge=1; shift ;;
    *) echo "local-down.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
shopt -s nullglob
# Kubelets and control loops first, then the apiserver, then etcd.
pidfiles=("$dir"/run/kubelet-*.pid "$dir"/run/kube-controller-manager.pid "$dir"/run/kube-scheduler.pid \
  "$dir"/run/kube-apiserver.pid "$dir"/run/etcd.pid)
for pidfile in "${pidfiles[@]}"; do
  [ -f "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "local-down.sh: stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
done
if [ "$purge" = 1 ]; then rm -rf "$dir"; echo "local-down.sh: removed $dir"; fi
