#!/usr/bin/env bash
# Stops what deploy/local-up.sh started, by the pids it recorded under DIR/run
# (kubelets and control loops first, then the apiserver, etcd and the nodes'
# containerds), kills the containers, unmounts what containerd and the
# kubelets mounted under DIR and removes the network namespaces it made —
# also after the launcher itself was killed. Uses the launcher binary
# local-up.sh built.
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
bin="${CARGO_TARGET_DIR:-/var/tmp/rustkube-target}/release/rustkube-local-up"
if [ ! -x "$bin" ]; then
  echo "local-down.sh: $bin not found (deploy/local-up.sh builds it; set CARGO_TARGET_DIR as it was then)" >&2
  exit 1
fi
"$bin" --dir "$dir" --down | sed 's/^/local-down.sh: /'
if [ "$purge" = 1 ]; then rm -rf "$dir"; echo "local-down.sh: removed $dir"; fi
