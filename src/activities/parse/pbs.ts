// Parsers for what the PBS and PVE tools print (formats: lab/standins/{proxmox-backup-manager,pvesh,pvesm}
// note the upstream source of each). Pure functions, unit-tested on real-format text.

export interface Datastore {
  name: string;
  path: string;
  comment: string;
  maintenanceMode?: string;
}

/**
 * `proxmox-backup-manager datastore list`: proxmox-router's utf8 box table
 * (`│ name │ path │ comment │` between `╞═╪═╡` and `└─┴─┘`, rows split by `├─┼─┤`).
 */
export function parseDatastoreTable(text: string): Datastore[] {
  const rows = text
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) => l.split('│').slice(1, -1).map((cell) => cell.trim()));
  if (rows.length === 0) return [];
  const header = rows[0]!;
  const col = (name: string) => header.indexOf(name);
  if (col('name') < 0 || col('path') < 0) throw new Error(`unexpected datastore table header: ${header.join(' | ')}`);
  return rows.slice(1).map((r) => ({ name: r[col('name')] ?? '', path: r[col('path')] ?? '', comment: col('comment') >= 0 ? (r[col('comment')] ?? '') : '' }));
}

/** `proxmox-backup-manager datastore list --output-format json`: DataStoreConfig objects. */
export function parseDatastoreJson(text: string): Datastore[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('datastore list: expected a JSON array');
  return data.map((d) => ({
    name: String(d.name),
    path: String(d.path),
    comment: typeof d.comment === 'string' ? d.comment : '',
    maintenanceMode: typeof d['maintenance-mode'] === 'string' ? d['maintenance-mode'] : undefined,
  }));
}

/** "type=offline" / "offline,message=x" (default_key "type") → "offline". */
export function maintenanceType(mode: string | undefined): string | undefined {
  if (!mode) return undefined;
  for (const part of mode.split(',')) {
    const [k, v] = part.includes('=') ? part.split('=', 2) : ['type', part];
    if (k === 'type') return v;
  }
  return undefined;
}

/** `proxmox-backup-manager cert info`: the `Fingerprint (sha256): aa:bb:…` line. */
export function parseCertFingerprint(text: string): string {
  const m = /^Fingerprint \(sha256\):\s*([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31})\s*$/m.exec(text);
  if (!m) throw new Error('cert info printed no "Fingerprint (sha256):" line');
  return m[1]!.toLowerCase();
}

export interface BackupSnapshot {
  type: string;
  id: string;
  /** Backup time as PVE prints it in the volid: %FT%TZ. */
  time: string;
  verified: boolean;
  /** The verification state as reported ("ok", "failed"), or "none" when never verified. */
  verifyState: string;
}

/**
 * `pvesh get /nodes/<node>/storage/<id>/content --content backup --output-format json`
 * (pve-storage Content.pm + PBSPlugin list_volumes): volid `<id>:backup/<type>/<vmid>/<%FT%TZ>`,
 * `verification: {state, upid}` only once verified.
 */
export function parseStorageContentJson(text: string): BackupSnapshot[] {
  const data = JSON.parse(text) as { volid?: string; content?: string; verification?: { state?: string } }[];
  if (!Array.isArray(data)) throw new Error('storage content: expected a JSON array');
  const out: BackupSnapshot[] = [];
  for (const item of data) {
    if (item.content !== undefined && item.content !== 'backup') continue;
    const m = /^[^:]+:backup\/(vm|ct|host)\/([^/]+)\/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(item.volid ?? '');
    if (!m) continue;
    const state = item.verification?.state ?? 'none';
    out.push({ type: m[1]!, id: m[2]!, time: m[3]!, verified: state === 'ok', verifyState: state });
  }
  return out.sort((a, b) => a.type.localeCompare(b.type) || Number(a.id) - Number(b.id) || a.time.localeCompare(b.time));
}

export interface BackupJob {
  id: string;
  storage: string;
  enabled: boolean;
  schedule: string;
}

/** `pvesh get /cluster/backup --output-format json` (pve-manager API2/Backup.pm index). */
export function parseBackupJobsJson(text: string): BackupJob[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('backup jobs: expected a JSON array');
  return data.map((j) => ({
    id: String(j.id),
    storage: typeof j.storage === 'string' ? j.storage : '',
    // jobs.cfg omits `enabled` when it is the default (1)
    enabled: j.enabled === undefined || ![0, '0', false].includes(j.enabled as never),
    schedule: typeof j.schedule === 'string' ? j.schedule : '',
  }));
}

export interface ClusterTask {
  upid: string;
  node: string;
  type: string;
  id: string;
  running: boolean;
  status?: string;
}

/** `pvesh get /cluster/tasks --output-format json` (pve-manager API2/Cluster.pm): a running task has no status. */
export function parseClusterTasksJson(text: string): ClusterTask[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('cluster tasks: expected a JSON array');
  return data.map((t) => ({
    upid: String(t.upid ?? ''),
    node: String(t.node ?? ''),
    type: String(t.type ?? ''),
    id: String(t.id ?? ''),
    running: t.status === undefined || t.status === null || t.status === '',
    status: typeof t.status === 'string' ? t.status : undefined,
  }));
}

export interface StorageSection {
  type: string;
  id: string;
  props: Record<string, string>;
}

/** /etc/pve/storage.cfg (pve-common SectionConfig): `type: id` then tab-indented `key value` lines. */
export function parseSectionConfig(text: string): StorageSection[] {
  const out: StorageSection[] = [];
  let cur: StorageSection | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+):\s+(\S+)\s*$/.exec(line);
    if (head) {
      cur = { type: head[1]!, id: head[2]!, props: {} };
      out.push(cur);
    } else if (cur && /^\s+\S/.test(line)) {
      const m = /^\s+(\S+)(?:\s+(.*))?$/.exec(line)!;
      cur.props[m[1]!] = (m[2] ?? '').trim();
    } else if (!line.trim()) {
      cur = undefined;
    }
  }
  return out;
}

/** `pvesm status --storage <id>`: the Status column of that storage (active/inactive/disabled). */
export function parsePvesmStatus(text: string, id: string): string | undefined {
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[0] === id) return cols[2];
  }
  return undefined;
}
