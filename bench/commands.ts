// The read-only runbook: 20 short commands a preflight runs on a Proxmox host. Nothing here changes
// state; every one exits 0 on a lab host (and on this machine).
export const PREFLIGHT: readonly string[] = [
  'hostname',
  'cat /proc/sys/kernel/random/boot_id',
  'ls /sys/kernel/iommu_groups/ | wc -l',
  'uname -r',
  'cat /proc/loadavg',
  'nproc',
  'head -3 /proc/meminfo',
  'cat /proc/uptime',
  'id -u',
  'date -u +%s',
  'df -P / | tail -1',
  'test -d /proc/sys',
  'cat /proc/sys/kernel/osrelease',
  'ls /dev | wc -l',
  'grep -c ^processor /proc/cpuinfo',
  'cat /proc/sys/kernel/hostname',
  'echo "$PATH"',
  'ls /etc/os-release',
  'cat /proc/sys/fs/file-max',
  'true',
];

/** The first n commands (tiny sizes for the smoke test). */
export function preflight(n = PREFLIGHT.length): string[] {
  return PREFLIGHT.slice(0, Math.max(1, Math.min(n, PREFLIGHT.length)));
}
