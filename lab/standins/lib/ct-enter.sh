#!/bin/bash
# Enter a lab LXC container (`pct exec`): a nested private mount + UTS namespace where the CT's own
# files (fs/) cover /config, /media/frigate and /etc/systemd/system, so commands use a real CT's paths.
# Usage: ct-enter.sh <LAB_DIR> <host> <ctid> -- cmd [args...]
if [ "$1" != --in-ns ]; then exec unshare -m -u -- "$0" --in-ns "$@"; fi
shift
D=$1 H=$2 C=$3
shift 3
[ "$1" = -- ] && shift
CT="$D/hosts/$H/cts/$C"
for p in /config /media/frigate /etc/systemd/system; do
  mkdir -p "$CT/fs$p" "$p"
  mount --bind "$CT/fs$p" "$p" || exit 255
done
hostname "$(node -e 'process.stdout.write(require(process.argv[1]).hostname)' "$CT/ct.json")" || exit 255
unset LAB_VM
export LAB_DIR=$D LAB_HOST=$H LAB_CT=$C
export PATH="$D/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd /root 2>/dev/null || cd /
exec "$@"
