#!/bin/bash
# sshd ForceCommand of a lab Proxmox host: a private mount + UTS namespace in which this host's
# IOMMU groups and boot_id cover the real paths, then the client's exact command.
# Usage (from sshd_config): host-shell.sh <LAB_DIR> <host>
if [ "$1" != --in-ns ]; then exec unshare -m -u -- "$0" --in-ns "$@"; fi
shift
export LAB_DIR=$1 LAB_HOST=$2
export PATH="$LAB_DIR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
unset LAB_VM
H="$LAB_DIR/hosts/$LAB_HOST"
mount --bind "$H/iommu_groups" /sys/kernel/iommu_groups &&
  mount --bind "$H/boot_id" /proc/sys/kernel/random/boot_id &&
  hostname "$LAB_HOST" || { echo "lab: cannot set up the view of host $LAB_HOST" >&2; exit 255; }
# Phase 2: this host's disks under /dev/disk/by-id, and the cluster-wide /etc/pve (pmxcfs)
if [ -d "$H/disk-by-id" ] && [ -d /dev/disk/by-id ]; then mount --bind "$H/disk-by-id" /dev/disk/by-id; fi
if [ -d "$LAB_DIR/pve" ] && [ -d /etc/pve ]; then mount --bind "$LAB_DIR/pve" /etc/pve; fi
cd /root 2>/dev/null || cd /
# fault lab.delaySessions(ms): every session starts that much later (tests widen "a step runs" windows)
if [ -s "$LAB_DIR/faults/session-delay" ]; then sleep "$(cat "$LAB_DIR/faults/session-delay")"; fi
if [ -z "$SSH_ORIGINAL_COMMAND" ]; then exec bash -l; fi
# the lab's ps of the Proxmox host: the session's command becomes the argv of `bash -c` (any user reads it in /proc)
printf '%s %s\n' "$LAB_HOST" "$(printf %s "$SSH_ORIGINAL_COMMAND" | base64 -w0)" >>"$LAB_DIR/sessions.log"
exec bash -c "$SSH_ORIGINAL_COMMAND"
