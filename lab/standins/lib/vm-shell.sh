#!/bin/bash
# sshd ForceCommand of a lab VM's own sshd (lab/src/vm-sshd.ts): the session runs inside the VM
# (lib/vm-enter.sh) with the client's exact command. A VM that is not running has no sshd to answer:
# the session ends at once with ssh's own exit code, 255.
# Usage (from sshd_config): vm-shell.sh <LAB_DIR> <host> <vmid>
D=$1 H=$2 V=$3
if ! grep -q '"status": "running"' "$D/hosts/$H/vms/$V/vm.json" 2>/dev/null || [ -e "$D/hosts/$H/powered-off" ]; then
  echo "ssh: connect to host VM $V on $H port 22: Connection refused" >&2
  exit 255
fi
# the lab's ps of the VM: the session's command is the argv of `bash -c` (lab/src/argv-record.ts)
printf '%s %s %s\n' "$H" "$(printf %s "$SSH_ORIGINAL_COMMAND" | base64 -w0)" "$V" >>"$D/sessions.log"
exec "$(dirname "$0")/vm-enter.sh" "$D" "$H" "$V" -- bash -c "${SSH_ORIGINAL_COMMAND:-exec bash -l}"
