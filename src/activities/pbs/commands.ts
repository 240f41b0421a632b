// The exact command lines of Phase 2, one function each, every value quoted. Values come from the
// validated inventory (src/inventory/pbs.ts) or from the tools' own output, re-validated here.
import { ApplicationFailure } from '@temporalio/common';
import { shellCommand, shellQuote } from '../exec/quote';

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
export const createDatastoreReuse = (store: string, path: string) =>
  shellCommand(['proxmox-backup-manager', 'datastore', 'create', store, path, '--reuse-datastore', 'true']);
export const removeDatastore = (store: string) => shellCommand(['proxmox-backup-manager', 'datastore', 'remove', store]);

export interface RepointParams {
  storage: string;
  server: string;
  port: number;
  datastore: string;
  username: string;
  fingerprint: string;
  /** Remove the existing entry first (false: it is already gone, a crash came between remove and add). */
  removeFirst: boolean;
}

/**
 * Re-points the PVE storage (server and datastore are fixed: remove + add). The password is read on
 * the host from priv/storage/<id>.pw and kept in a root-only copy under /etc/pve/priv (pmxcfs, so a
 * node crash between remove and add loses nothing) until the add succeeded. It never leaves the host.
 */
export function repointStorage(p: RepointParams): string[] {
  validFingerprint(p.fingerprint);
  const pw = `/etc/pve/priv/storage/${p.storage}.pw`;
  const keep = `${pw}.pbs-migration`;
  return [
    'set -eu; umask 077',
    `if [ ! -s ${shellQuote(keep)} ]; then cp ${shellQuote(pw)} ${shellQuote(keep)}; fi`,
    ...(p.removeFirst ? [shellCommand(['pvesm', 'remove', p.storage])] : []),
    `${shellCommand([
      'pvesm', 'add', 'pbs', p.storage, '--server', p.server, '--port', String(p.port), '--datastore', p.datastore,
      '--username', p.username, '--fingerprint', p.fingerprint, '--content', 'backup',
    ])} --password "$(cat ${shellQuote(keep)})"`,
    `rm -f ${shellQuote(keep)}`,
  ];
}
