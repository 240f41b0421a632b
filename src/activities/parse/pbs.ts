// Parsers for what the PBS and PVE tools print. Formats read in proxmox/proxmox-backup (proxmox-router
// CLI output, pbs-api-types), proxmox/pve-storage, proxmox/pve-manager, proxmox/pve-access-control and
// pve-common (CLIFormatter, SectionConfig); each function names its source. Pure, unit-tested.

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

/**
 * `proxmox-backup-manager versions --output-format json` (proxmox-backup src/bin/proxmox-backup-manager.rs
 * get_versions, api2/node/apt.rs get_versions): APTUpdateInfo rows with PascalCase keys; the
 * proxmox-backup-server row carries ExtraInfo "running version: X.Y.Z". The running version wins over
 * the installed package version (a host upgraded but not restarted runs the old daemon).
 */
export function parsePbsVersion(text: string): { major: number; minor: number; patch: number; text: string } {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('versions: expected a JSON array');
  const row = data.find((r) => r.Package === 'proxmox-backup-server') ?? data.find((r) => r.Package === 'proxmox-backup');
  if (!row) throw new Error('versions: no proxmox-backup-server row');
  const running = /running version:\s*(\d+)\.(\d+)\.(\d+)/.exec(String(row.ExtraInfo ?? ''));
  const pkg = /^(\d+)\.(\d+)\.(\d+)/.exec(String(row.Version ?? ''));
  const m = running ?? pkg;
  if (!m) throw new Error(`versions: no version in ${JSON.stringify(row)}`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}` };
}

/** A value of an API object as the CLI takes it back: booleans true/false, numbers as digits, arrays repeated. */
export type CliValue = string | string[];

function cliValue(v: unknown): CliValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.map((x) => String(x));
  if (typeof v === 'object') return undefined;
  return String(v);
}

/** Every scalar/array option of an API config object, as CLI values (objects are not CLI options). */
export function cliOptions(obj: Record<string, unknown>, skip: string[] = []): Record<string, CliValue> {
  const out: Record<string, CliValue> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (skip.includes(k)) continue;
    const cv = cliValue(v);
    if (cv !== undefined) out[k] = cv;
  }
  return out;
}

/** `proxmox-backup-manager datastore list --output-format json`: the full DataStoreConfig of each store (api2/config/datastore.rs list_datastores). */
export function parseDatastoreConfigs(text: string): { name: string; options: Record<string, CliValue> }[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('datastore list: expected a JSON array');
  return data.map((d) => ({ name: String(d.name), options: cliOptions(d, ['name', 'path', 'digest']) }));
}

export interface PbsJob {
  id: string;
  store: string;
  options: Record<string, CliValue>;
}

/**
 * `proxmox-backup-manager verify-job|prune-job|sync-job list --output-format json`: the job configs
 * (api2/config/verify.rs list_verification_jobs, prune.rs list_prune_jobs, sync.rs list_sync_jobs);
 * `options` are every field but `id` and `digest`, `store` included.
 */
export function parsePbsJobsJson(text: string): PbsJob[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('job list: expected a JSON array');
  return data.map((j) => ({ id: String(j.id), store: String(j.store ?? ''), options: cliOptions(j, ['id', 'digest']) }));
}

export interface PbsAcl {
  path: string;
  ugid: string;
  ugidType: string;
  roleid: string;
  propagate: boolean;
}

/** `proxmox-backup-manager acl list --output-format json`: AclListItem {path, ugid, ugid_type, propagate, roleid} (pbs-api-types acl.rs). */
export function parsePbsAclJson(text: string): PbsAcl[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('acl list: expected a JSON array');
  return data.map((a) => ({
    path: String(a.path), ugid: String(a.ugid), ugidType: String(a.ugid_type ?? 'user'), roleid: String(a.roleid),
    propagate: a.propagate === undefined ? true : [true, 1, '1', 'true'].includes(a.propagate as never),
  }));
}

/** `proxmox-backup-manager remote list --output-format json`: the remotes' names (api2/config/remote.rs list_remotes). */
export function parseRemoteNames(text: string): string[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('remote list: expected a JSON array');
  return data.map((r) => String(r.name));
}

/**
 * `pvesh get /storage/<id> --output-format json` (pve-storage API2/Storage/Config.pm read): the
 * section's options plus `storage`, `type` and `digest`; secrets (password, key) are never in it.
 */
export function parseStorageConfigJson(text: string): Record<string, string> {
  const data = JSON.parse(text) as Record<string, unknown>;
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('storage config: expected a JSON object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (!['storage', 'digest', 'type'].includes(k) && v !== null && typeof v !== 'object') out[k] = String(v);
  return out;
}

export interface PveAcl {
  path: string;
  type: string;
  ugid: string;
  roleid: string;
  propagate: boolean;
}

/** `pvesh get /access/acl --output-format json` (pve-access-control API2/ACL.pm read_acl). */
export function parsePveAclJson(text: string): PveAcl[] {
  const data = JSON.parse(text) as Record<string, unknown>[];
  if (!Array.isArray(data)) throw new Error('acl: expected a JSON array');
  return data.map((a) => ({ path: String(a.path), type: String(a.type), ugid: String(a.ugid), roleid: String(a.roleid), propagate: [1, '1', true].includes(a.propagate as never) }));
}
