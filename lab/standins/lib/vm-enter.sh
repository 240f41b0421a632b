#!/bin/bash
# Enter a lab VM: a nested private mount + UTS namespace where the VM's disk (fs/) and its
# volatile /run cover the real paths, so scripts use the exact paths of a real K3s VM.
# Usage: vm-enter.sh <LAB_DIR> <host> <vmid> -- cmd [args...]
if [ "$1" != --in-ns ]; then exec unshare -m -u -- "$0" --in-ns "$@"; fi
shift
D=$1 H=$2 V=$3
shift 3
[ "$1" = -- ] && shift
VM="$D/hosts/$H/vms/$V"
mkdir -p "$VM/run/tmpfs"
mount --bind "$VM/run/tmpfs" /run || exit 255
for p in /var/lib/rancher /etc/rancher /usr/local/bin /etc/systemd/system /var/log; do
  mkdir -p "$VM/fs$p"
  mount --bind "$VM/fs$p" "$p" || exit 255
done
# Phase 3: devices passed through to this VM get a /dev of their own (lib/devices-dev.sh)
if [ -s "$VM/passthrough" ]; then . "$(dirname "$0")/devices-dev.sh" || exit 255; fi
# Phase 3: Frigate's hostPath volumes are on the VM's disk (the mount point exists once the lab has Frigate)
if [ -d /var/lib/frigate ]; then
  mkdir -p "$VM/fs/var/lib/frigate" && mount --bind "$VM/fs/var/lib/frigate" /var/lib/frigate || exit 255
fi
hostname "$(cat "$VM/hostname")" || exit 255
export LAB_DIR=$D LAB_HOST=$H LAB_VM=$V
export PATH="$D/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd /root 2>/dev/null || cd /
# The guest agent cannot start a missing program: qm reports an agent error, not an exit code.
if [ -n "$LAB_EXEC_FAIL_FILE" ] && ! command -v -- "$1" >/dev/null 2>&1; then
  echo "$1" >"$LAB_EXEC_FAIL_FILE"
  exit 127
fi
unset LAB_EXEC_FAIL_FILE
exec "$@"
