#!/usr/bin/env bash
# The local image builder (there is no registry on the build machines):
# builds OCI image archives and imports them into containerd's k8s.io
# namespace, and writes the containerd and CNI configuration a node needs.
#
#   images.sh build pause OUT.tar [NAME]        static pause (pause.c), default registry.k8s.io/pause:3.10
#   images.sh build busybox OUT.tar [NAME]      Debian busybox-static + applet links, default docker.io/library/busybox:latest
#   images.sh build dir DIR NAME OUT.tar [CMD…] any directory as a one-layer image
#   images.sh build tar ROOTFS.tar NAME OUT.tar [CMD…]  any rootfs tarball as a one-layer image
#   images.sh import SOCKET OUT.tar…            ctr -a SOCKET -n k8s.io images import
#   images.sh containerd-config ROOT STATE SOCKET CNI_CONF_DIR [SANDBOX_IMAGE [METRICS_ADDRESS]]   prints config.toml
#   images.sh cni-config NAME BRIDGE SUBNET IPAM_DIR                         prints a bridge + host-local conflist
#
# Needs: cc (gcc, libc6-dev), busybox-static, tar, sha256sum; ctr (containerd) to import.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

die() { echo "images.sh: $*" >&2; exit 1; }

arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) uname -m ;;
  esac
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# json_array a b c -> ["a","b","c"]
json_array() {
  local out="[" sep=""
  for x in "$@"; do
    x="${x//\\/\\\\}"; x="${x//\"/\\\"}"
    out+="$sep\"$x\""; sep=","
  done
  echo "$out]"
}

# write_oci ROOTFS_TAR NAME OUT ENTRYPOINT_JSON CMD_JSON
write_oci() {
  local layer="$1" name="$2" out="$3" entrypoint="$4" cmd="$5"
  local work; work="$(mktemp -d)"
  mkdir -p "$work/blobs/sha256"
  local ldig; ldig="$(sha "$layer")"
  cp "$layer" "$work/blobs/sha256/$ldig"
  local a; a="$(arch)"
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":%s,"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"rustkube images.sh"}]}' \
    "$a" "$entrypoint" "$cmd" "$ldig" >"$work/config.json"
  local cdig; cdig="$(sha "$work/config.json")"
  mv "$work/config.json" "$work/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$(size "$work/blobs/sha256/$cdig")" "$ldig" "$(size "$layer")" >"$work/manifest.json"
  local mdig; mdig="$(sha "$work/manifest.json")"
  local msize; msize="$(size "$work/manifest.json")"
  mv "$work/manifest.json" "$work/blobs/sha256/$mdig"
  local tag="${name##*:}"
  [ "$tag" = "$name" ] && tag=latest
  case "${name##*/}" in *:*) ;; *) tag=latest; name="$name:latest" ;; esac
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
    "$mdig" "$msize" "$name" "$tag" "$a" >"$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  tar --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out" oci-layout index.json blobs
  rm -rf "$work"
  echo "images.sh: built $name -> $out (sha256:$mdig)"
}

# layer_from_dir DIR OUT_TAR
layer_from_dir() {
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$2" .
}

build_pause() {
  local out="$1" name="${2:-registry.k8s.io/pause:3.10}"
  command -v cc >/dev/null || die "cc not found: apt-get install -y gcc libc6-dev"
  local root; root="$(mktemp -d)"
  cc -static -Os -Wall -o "$root/pause" "$here/pause.c"
  strip "$root/pause" 2>/dev/null || true
  local layer; layer="$(mktemp)"
  layer_from_dir "$root" "$layer"
  write_oci "$layer" "$name" "$out" '["/pause"]' 'null'
  rm -rf "$root" "$layer"
}

build_busybox() {
  local out="$1" name="${2:-docker.io/library/busybox:latest}"
  local bb=/bin/busybox
  [ -x "$bb" ] || die "$bb not found: apt-get install -y busybox-static"
  file_out="$(od -An -c -N4 "$bb" | tr -d ' ')"
  [ "$file_out" = "177ELF" ] || die "$bb is not an ELF binary"
  if ldd "$bb" >/dev/null 2>&1; then die "$bb is dynamically linked: apt-get install -y busybox-static"; fi
  local root; root="$(mktemp -d)"
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/tmp" "$root/root" \
    "$root/proc" "$root/sys" "$root/dev" "$root/var/run"
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  local applet
  while read -r applet; do
    [ -n "$applet" ] || continue
    [ "$applet" = "bin/busybox" ] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
  done < <("$bb" --list-full)
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  local layer; layer="$(mktemp)"
  layer_from_dir "$root" "$layer"
  write_oci "$layer" "$name" "$out" 'null' '["sh"]'
  rm -rf "$root" "$layer"
}

containerd_config() {
  local root="$1" state="$2" socket="$3" cni_conf="$4" sandbox="${5:-registry.k8s.io/pause:3.10}" metrics="${6:-}"
  cat <<TOML
version = 2
root = "$root"
state = "$state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$socket"

[ttrpc]
  address = "$socket.ttrpc"

[debug]
  level = "info"

[metrics]
  # Prometheus metrics (CRI call and CNI timings) when an address is given.
  address = "$metrics"

[plugins."io.containerd.internal.v1.opt"]
  path = "$root/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox"
  # Pod network namespaces under the state dir, not the host's /run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cni_conf"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$state/runc"
TOML
}

cni_config() {
  local name="$1" bridge="$2" subnet="$3" ipam_dir="$4"
  cat <<JSON
{
  "cniVersion": "0.4.0",
  "name": "$name",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "isDefaultGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$subnet" }]],
        "dataDir": "$ipam_dir"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
}

cmd="${1:-}"; shift || true
case "$cmd" in
  build)
    kind="${1:-}"; shift || true
    case "$kind" in
      pause) [ $# -ge 1 ] || die "usage: images.sh build pause OUT.tar [NAME]"; build_pause "$@" ;;
      busybox) [ $# -ge 1 ] || die "usage: images.sh build busybox OUT.tar [NAME]"; build_busybox "$@" ;;
      dir)
        [ $# -ge 3 ] || die "usage: images.sh build dir DIR NAME OUT.tar [CMD…]"
        dir="$1" name="$2" out="$3"; shift 3
        layer="$(mktemp)"; layer_from_dir "$dir" "$layer"
        if [ $# -gt 0 ]; then c="$(json_array "$@")"; else c=null; fi
        write_oci "$layer" "$name" "$out" 'null' "$c"; rm -f "$layer" ;;
      tar)
        [ $# -ge 3 ] || die "usage: images.sh build tar ROOTFS.tar NAME OUT.tar [CMD…]"
        src="$1" name="$2" out="$3"; shift 3
        if [ $# -gt 0 ]; then c="$(json_array "$@")"; else c=null; fi
        write_oci "$src" "$name" "$out" 'null' "$c" ;;
      *) die "build what? pause, busybox, dir or tar" ;;
    esac ;;
  import)
    [ $# -ge 2 ] || die "usage: images.sh import SOCKET OUT.tar…"
    sock="$1"; shift
    command -v ctr >/dev/null || die "ctr not found: apt-get install -y containerd"
    for t in "$@"; do ctr -a "$sock" -n k8s.io images import "$t" >/dev/null; echo "images.sh: imported $t"; done ;;
  containerd-config) [ $# -ge 4 ] || die "usage: images.sh containerd-config ROOT STATE SOCKET CNI_CONF_DIR [SANDBOX_IMAGE [METRICS_ADDRESS]]"; containerd_config "$@" ;;
  cni-config) [ $# -ge 4 ] || die "usage: images.sh cni-config NAME BRIDGE SUBNET IPAM_DIR"; cni_config "$@" ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
