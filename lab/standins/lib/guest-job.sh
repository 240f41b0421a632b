#!/bin/bash
# One guest-agent exec: run cmd inside the VM with stdio in the job dir, then record its exit code
# (qm reads rc/out/err; the job outlives qm when --timeout is reached, like a real guest process).
# Usage: guest-job.sh <LAB_DIR> <host> <vmid> <jobdir> cmd [args...]
D=$1 H=$2 V=$3 J=$4
shift 4
LAB_EXEC_FAIL_FILE="$J/execfail" "$(dirname "$0")/vm-enter.sh" "$D" "$H" "$V" -- "$@" <"$J/in" >"$J/out" 2>"$J/err"
echo $? >"$J/rc.tmp" && mv "$J/rc.tmp" "$J/rc"
