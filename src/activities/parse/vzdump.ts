// Parses a vzdump job's log (pve-manager PVE/VZDump.pm; lines "INFO: ..." / "ERROR: ..." on stderr).
// A backup counts only with both "Finished Backup of VM <id>" and "Backup job finished successfully".

export interface VzdumpResult {
  /** `ct/<id>/<ISO time>` from "creating Proxmox Backup Server archive '...'", or null. */
  archive: string | null;
  /** "hh:mm:ss" of "Finished Backup of VM <id> (hh:mm:ss)", or null when that line is missing. */
  duration: string | null;
  /** "Backup job finished successfully" was logged. */
  jobOk: boolean;
  /** "ERROR: ..." lines, without the prefix. */
  errors: string[];
  /** Mount points in the archive: "including mount point <key> ('<path>') in backup". */
  included: { key: string; mp: string }[];
  /**
   * Mount points left out: "excluding <type> mount point <key> ('<path>') from backup (<reason>)"
   * (pve-container src/PVE/VZDump/LXC.pm prepare; reason from LXC/Config.pm mountpoint_backup_enabled:
   * "not a volume" for bind/device mounts, "disabled" for a volume without backup=1).
   */
  excluded: { key: string; type: string; mp: string; reason: string }[];
}

export function parseVzdumpLog(text: string, vmid: number): VzdumpResult {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  let archive: string | null = null;
  let duration: string | null = null;
  const errors: string[] = [];
  const included: VzdumpResult['included'] = [];
  const excluded: VzdumpResult['excluded'] = [];
  for (const line of lines) {
    const inc = /^INFO: including mount point (\S+) \('(.*)'\) in backup$/.exec(line);
    if (inc) included.push({ key: inc[1]!, mp: inc[2]! });
    const exc = /^INFO: excluding (\S+) mount point (\S+) \('(.*)'\) from backup \((.*)\)$/.exec(line);
    if (exc) excluded.push({ type: exc[1]!, key: exc[2]!, mp: exc[3]!, reason: exc[4]! });
    const a = /^INFO: creating Proxmox Backup Server archive '((?:ct|vm)\/(\d+)\/[0-9T:-]+Z)'$/.exec(line);
    if (a && Number(a[2]) === vmid) archive = a[1]!;
    const f = /^INFO: Finished Backup of VM (\d+) \((\d{2,}:\d{2}:\d{2})\)$/.exec(line);
    if (f && Number(f[1]) === vmid) duration = f[2]!;
    const e = /^ERROR: (.*)$/.exec(line);
    if (e) errors.push(e[1]!);
  }
  return { archive, duration, jobOk: lines.includes('INFO: Backup job finished successfully'), errors, included, excluded };
}

/** `ct/113/2026-01-02T03:04:05Z` → its parts. */
export function parseArchiveName(name: string): { type: 'ct' | 'vm'; id: string; time: string } | null {
  const m = /^(ct|vm)\/(\d+)\/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/.exec(name);
  return m ? { type: m[1] as 'ct' | 'vm', id: m[2]!, time: m[3]! } : null;
}

/** The `server` and `datastore` of PVE storage `id` in /etc/pve/storage.cfg ("type: id" + tab-indented "key value"). */
export function parseStorageCfgEntry(text: string, id: string): { type: string; props: Record<string, string> } | null {
  let cur: { type: string; props: Record<string, string> } | null = null;
  for (const line of text.split('\n')) {
    const head = /^(\S+):\s+(\S+)\s*$/.exec(line);
    if (head) {
      if (cur) return cur;
      cur = head[2] === id ? { type: head[1]!, props: {} } : null;
      continue;
    }
    const kv = /^\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (cur && kv) cur.props[kv[1]!] = (kv[2] ?? '').trim();
  }
  return cur;
}
