// The exact command lines of Phase 2, one function each, every value quoted. Values come from the
// validated inventory (src/inventory/pbs.ts) or from the tools' own output, re-validated here.
import { ApplicationFailure } from '@temporalio/common';
import { shellCommand, shellQuote } from '../exec/quote';
import type { CliValue } from '../parse/pbs';

export const BY_ID_DIR = '/dev/disk/by-id';
export const STORAGE_CFG = '/etc/pve/storage.cfg';
export const PASSWORD_MASK = '***';

const FINGERPRINT = /^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function validFingerprint(fp: string): string {
  if (!FINGERPRINT.test(fp)) throw ApplicationFailure.nonRetryable(`invalid PBS certificate fingerprint ${JSON.stringify(fp)}`, 'BadInput');
  return fp;
}

export function validJobId(id: string): string {
  if (!JOB_ID.test(id)) throw ApplicationFailure.nonRetryable(`invalid backup job id ${JSON.stringify(id)}`, 'BadInput');
  return id;
}

export const datastoreList = () => 'proxmox-backup-manager datastore list';
export const datastoreListJson = () => 'proxmox-backup-manager datastore list --output-format json';
export const certInfo = () => 'proxmox-backup-manager cert info';
export const zpoolHealth = () => 'zpool list -H -o name,health';
export const zpoolImportable = () => shellCommand(['zpool', 'import', '-d', BY_ID_DIR]);
export const zpoolImport = (pool: string) => shellCommand(['zpool', 'import', '-d', BY_ID_DIR, pool]);
export const zpoolExport = (pool: string) => shellCommand(['zpool', 'export', pool]);
export const pvesmStatus = (storage: string) => shellCommand(['pvesm', 'status', '--storage', storage]);
export const readStorageCfg = () => shellCommand(['cat', STORAGE_CFG]);
export const backupJobs = () => 'pvesh get /cluster/backup --output-format json';
export const clusterTasks = () => 'pvesh get /cluster/tasks --output-format json';
export const setJobEnabled = (id: string, enabled: boolean) =>
  shellCommand(['pvesh', 'set', `/cluster/backup/${validJobId(id)}`, '--enabled', enabled ? '1' : '0']);
export const storageContent = (node: string, storage: string) =>
  shellCommand(['pvesh', 'get', `/nodes/${node}/storage/${storage}/content`, '--content', 'backup', '--output-format', 'json']);
export const listById = () => `ls -1 ${BY_ID_DIR}/`;
export const resolveById = (name: string) => shellCommand(['readlink', '-f', `${BY_ID_DIR}/${name}`]);
export const setMaintenanceOffline = (store: string) =>
  shellCommand(['proxmox-backup-manager', 'datastore', 'update', store, '--maintenance-mode', 'offline']);
/** Creates the datastore on the existing chunk store with the old store's settings (gc-schedule, notify, ...). */
export const createDatastoreReuse = (store: string, path: string, settings: Record<string, CliValue> = {}) =>
  shellCommand(['proxmox-backup-manager', 'datastore', 'create', store, path, ...cliArgs(settings), '--reuse-datastore', 'true']);
export const updateDatastoreSettings = (store: string, settings: Record<string, CliValue>) =>
  shellCommand(['proxmox-backup-manager', 'datastore', 'update', store, ...cliArgs(settings)]);
export const pbsVersions = () => 'proxmox-backup-manager versions --output-format json';
export type PbsJobKind = 'verify' | 'prune' | 'sync';
export const PBS_JOB_KINDS: PbsJobKind[] = ['verify', 'prune', 'sync'];
export const jobList = (kind: PbsJobKind) => `proxmox-backup-manager ${kind}-job list --output-format json`;
export const jobCreate = (kind: PbsJobKind, id: string, options: Record<string, CliValue>) =>
  shellCommand(['proxmox-backup-manager', `${kind}-job`, 'create', validJobId(id), ...cliArgs(options)]);
export const pbsAclList = () => 'proxmox-backup-manager acl list --output-format json';
export const tapeJobList = () => 'proxmox-tape backup-job list --output-format json';
export const pbsAclUpdate = (a: { path: string; ugid: string; ugidType: string; roleid: string; propagate: boolean }) =>
  shellCommand([
    'proxmox-backup-manager', 'acl', 'update', validAclPath(a.path), validWord(a.roleid, 'role'),
    a.ugidType === 'group' ? '--group' : '--auth-id', validWord(a.ugid, 'user or group'), '--propagate', a.propagate ? 'true' : 'false',
  ]);
export const remoteList = () => 'proxmox-backup-manager remote list --output-format json';
export const storageConfig = (storage: string) => shellCommand(['pvesh', 'get', `/storage/${storage}`, '--output-format', 'json']);
export const pveAclList = () => 'pvesh get /access/acl --output-format json';
export const STORAGE_PRIV_DIR = '/etc/pve/priv/storage';
export const listStorageSecrets = () => `ls -1 ${STORAGE_PRIV_DIR}/`;
/** The files PBSPlugin keeps per storage (pbs_password_file_name, pbs_encryption_key_file_name, pbs_master_pubkey_file_name). */
export const storageSecretFiles = (storage: string) => [`${storage}.pw`, `${storage}.enc`, `${storage}.master.pem`];

const OPTION_KEY = /^[a-z][a-z0-9-]{0,63}$/;
const WORD = /^[A-Za-z0-9][A-Za-z0-9@._!-]{0,127}$/;
const ACL_PATH = /^\/datastore\/[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

function validWord(v: string, what: string): string {
  if (!WORD.test(v)) throw ApplicationFailure.nonRetryable(`invalid ${what} ${JSON.stringify(v)}`, 'BadInput');
  return v;
}
function validAclPath(p: string): string {
  if (!ACL_PATH.test(p)) throw ApplicationFailure.nonRetryable(`invalid datastore ACL path ${JSON.stringify(p)}`, 'BadInput');
  return p;
}

/** `--key value` for each option (an array repeats the option), keys and values validated (one line, no control characters). */
export function cliArgs(options: Record<string, CliValue>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(options).sort(([a], [b]) => a.localeCompare(b))) {
    if (!OPTION_KEY.test(k)) throw ApplicationFailure.nonRetryable(`invalid option name ${JSON.stringify(k)}`, 'BadInput');
    for (const one of Array.isArray(v) ? v : [v]) {
      if (/[\u0000-\u001f\u007f]/.test(one)) throw ApplicationFailure.nonRetryable(`option ${k} has a control character`, 'BadInput');
      out.push(`--${k}`, one);
    }
  }
  return out;
}
export const removeDatastore = (store: string) => shellCommand(['proxmox-backup-manager', 'datastore', 'remove', store]);

export interface RepointParams {
  storage: string;
  server: string;
  port: number;
  fingerprint: string;
  /** The entry has a fingerprint / port line today (else one is added after `server`). */
  hasFingerprint: boolean;
  hasPort: boolean;
}

/**
 * Re-points PVE's storage in place: `server` is a fixed option of PBSPlugin (pve-storage
 * PBSPlugin.pm options; `pvesm set` dies "can't change value of fixed parameter"), and `pvesm
 * remove` would run on_delete_hook (password, encryption key, master pubkey gone) and
 * remove_storage_access (ACLs gone). So the section's server/fingerprint/port lines are rewritten
 * under the lock PVE itself takes for storage.cfg (pve-cluster Cluster.pm cfs_lock_file:
 * mkdir /etc/pve/priv/lock/file-storage_cfg) and written the way cfs_write_file does
 * (PVE::Tools::file_set_contents: temporary file, then rename). Nothing else of the entry, and no
 * secret file, is touched; the script fails if a secret file changed while it ran.
 */
export function repointStorage(p: RepointParams): string[] {
  validFingerprint(p.fingerprint);
  if (!/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(p.server)) throw ApplicationFailure.nonRetryable(`invalid PBS server ${JSON.stringify(p.server)}`, 'BadInput');
  const cfg = shellQuote(STORAGE_CFG);
  const lock = '/etc/pve/priv/lock/file-storage_cfg';
  const secrets = storageSecretFiles(p.storage).map(shellQuote).join(' ');
  const awk = [
    '/^[^ \\t#][^ \\t]*:[ \\t]+[^ \\t]+[ \\t]*$/ { cur = ($1 == "pbs:" && $2 == id) }',
    'cur && /^[ \\t]+server[ \\t]/ { print "\\tserver " server; if (addfp) print "\\tfingerprint " fp; if (addport) print "\\tport " port; next }',
    'cur && /^[ \\t]+fingerprint[ \\t]/ { print "\\tfingerprint " fp; next }',
    'cur && /^[ \\t]+port[ \\t]/ { print "\\tport " port; next }',
    '{ print }',
  ].join('\n');
  return [
    'set -eu; umask 077',
    'mkdir -p /etc/pve/priv/lock',
    // a lock older than pmxcfs's 120 s lock timeout has expired (its holder died): drop it, as pmxcfs would
    `find /etc/pve/priv/lock -maxdepth 1 -name file-storage_cfg -mmin +2 -exec rmdir {} + 2>/dev/null || true`,
    `n=0; until mkdir ${lock} 2>/dev/null; do n=$((n+1)); if [ "$n" -ge 15 ]; then echo "cfs lock file-storage_cfg is held: another storage change is running" >&2; exit 1; fi; sleep 1; done`,
    `trap 'rmdir ${lock}' EXIT`,
    `sums() { (cd ${STORAGE_PRIV_DIR} && sha256sum ${secrets} 2>/dev/null) || true; }`,
    'before=$(sums)',
    `awk -v id=${shellQuote(p.storage)} -v server=${shellQuote(p.server)} -v fp=${shellQuote(p.fingerprint)} -v port=${p.port} ` +
      `-v addfp=${p.hasFingerprint ? 0 : 1} -v addport=${p.hasPort || p.port === 8007 ? 0 : 1} ${shellQuote(awk)} ${cfg} > ${cfg}.tmp.$$`,
    `mv ${cfg}.tmp.$$ ${cfg}`,
    '[ "$(sums)" = "$before" ] || { echo "a secret file of the storage changed during the re-point" >&2; exit 1; }',
  ];
}
