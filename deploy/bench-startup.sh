#!/usr/bin/env bash
# Local cluster start-up benchmark: time from `rustkube-local-up --detach` to
# its return (every node Ready and the kubernetes service answering), with
# everything already built (release binaries, image archives cached), for
#   * one containerd-backed node (network namespaces, containerd, image import)
#   * one fake-runtime node (host loopback, no containerd)
# and the idle RSS of every daemon (containerd included) 5 s after Ready.
# Floor, measured in the same run: a bare containerd with the same generated
# config started in a fresh network namespace until `ctr version` answers.
#
#   deploy/bench-startup.sh [RUNS]      (default 5; needs root for the containerd node)
#
# Prints a Markdown section for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/rustkube-target}"
cargo build --release --locked --bins -q \
  -p rustkube-apiserver -p rustkube-controller-manager -p rustkube-scheduler -p rustkube-kubelet \
  -p rustkube-local-cluster
bin="$CARGO_TARGET_DIR/release"
work="$(mktemp -d /var/tmp/rk-bench-XXXXXX)"
cache="$work/image-cache"
floor_ns="rk-bench-floor-$$"
floor_pid=""
cleanup() {
  "$bin/rustkube-local-up" --dir "$work/cluster" --down >/dev/null 2>&1 || true
  if [ -n "$floor_pid" ]; then kill -9 "$floor_pid" 2>/dev/null || true; fi
  ip netns del "$floor_ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# One start: prints seconds; leaves the cluster up for the RSS sample when $2 = keep.
start_once() {
  local args="$1" t0 t1
  rm -rf "$work/cluster"
  t0=$(now)
  # shellcheck disable=SC2086
  "$bin/rustkube-local-up" --dir "$work/cluster" --bin-dir "$bin" --port 0 --image-cache "$cache" --detach $args \
    >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
  t1=$(now)
  elapsed "$t0" "$t1"
}

rss_table() {
  local f name pid
  for f in "$work"/cluster/run/*.pid; do
    name="$(basename "$f" .pid)"; pid="$(cat "$f")"
    echo "| $1 | $name | $(mib "$pid") |"
  done
}

floor_once() {
  local d="$work/floor" t0 t1
  rm -rf "$d"; mkdir -p "$d/root" "$d/state" "$d/cni"
  deploy/images/images.sh containerd-config "$d/root" "$d/state" "$d/c.sock" "$d/cni" >"$d/config.toml"
  ip netns add "$floor_ns"
  t0=$(now)
  nsenter --net="/run/netns/$floor_ns" containerd --config "$d/config.toml" >"$d/log" 2>&1 &
  floor_pid=$!
  until ctr -a "$d/c.sock" version >/dev/null 2>&1; do sleep 0.005; done
  t1=$(now)
  kill -9 "$floor_pid"; wait "$floor_pid" 2>/dev/null || true; floor_pid=""
  ip netns del "$floor_ns"
  elapsed "$t0" "$t1"
}

# Warm-up: builds the image archives into the cache and pages the binaries in.
start_once "--nodes 1" >/dev/null
"$bin/rustkube-local-up" --dir "$work/cluster" --down >/dev/null

containerd_times=(); fake_times=(); floors=()
for _ in $(seq "$runs"); do
  floors+=("$(floor_once)")
  containerd_times+=("$(start_once "--nodes 1")")
  "$bin/rustkube-local-up" --dir "$work/cluster" --down >/dev/null
  fake_times+=("$(start_once "--nodes 0 --fake-nodes 1")")
  "$bin/rustkube-local-up" --dir "$work/cluster" --down >/dev/null
done
floor_med=$(printf '%s\n' "${floors[@]}" | median)
c_med=$(printf '%s\n' "${containerd_times[@]}" | median)
f_med=$(printf '%s\n' "${fake_times[@]}" | median)

start_once "--nodes 1" >/dev/null; sleep 5
rss_c="$(rss_table "1 containerd node")"
"$bin/rustkube-local-up" --dir "$work/cluster" --down >/dev/null
start_once "--nodes 0 --fake-nodes 1" >/dev/null; sleep 5
rss_f="$(rss_table "1 fake node")"
"$bin/rustkube-local-up" --dir "$work/cluster" --down >/dev/null

fmt() { printf '%.2f' "$1"; }
echo "## Local cluster start-up"
echo
echo "Command: \`deploy/bench-startup.sh $runs\` ($(nproc) cores, release build, images cached; $(date -u +%F))."
echo "Time from \`rustkube-local-up --detach\` to its return: every node Ready and the"
echo "\`kubernetes\` service's endpoint answering. Median of $runs runs (all runs in brackets)."
echo
echo "| cluster | time to Ready (s) | runs (s) | vs floor |"
echo "|---|---:|---|---:|"
echo "| 1 containerd node (netns, own containerd, image import) | $(fmt "$c_med") | $(printf '%.2f ' "${containerd_times[@]}")| $(fmt "$(echo "$c_med / $floor_med" | bc -l)")× |"
echo "| 1 fake node (host loopback) | $(fmt "$f_med") | $(printf '%.2f ' "${fake_times[@]}")| — |"
echo "| floor: bare containerd in a fresh netns until \`ctr version\` answers | $(fmt "$floor_med") | $(printf '%.2f ' "${floors[@]}")| 1.00× |"
echo
echo "Idle RSS 5 s after Ready:"
echo
echo "| cluster | process | RSS (MiB) |"
echo "|---|---|---:|"
echo "$rss_c"
echo "$rss_f"
