// Phase 2 activities: the PBS datastore on pumped-piglet's ZFS disk moves to still-fawn. Every command
// runs on a Proxmox host (PBS runs on the host itself); /etc/pve is cluster-wide, so PVE's storage and
// backup jobs are read and changed from whichever host is up. Changes read the state first and do only
// what is missing, and end by reading the promised state back. The storage is re-pointed in place, so its
// password, encryption key and master pubkey are never read, copied or passed: they stay where they are.
import { ApplicationFailure } from '@temporalio/common';
import { runOk, type ActivityDeps } from '../deps';
import type { Target } from '../exec/types';
import { planOf } from '../plan';
import {
  maintenanceType, parseBackupJobsJson, parseCertFingerprint, parseClusterTasksJson, parseDatastoreConfigs, parseDatastoreJson,
  parseDatastoreTable, parsePbsAclJson, parsePbsJobsJson, parsePbsVersion, parsePveAclJson, parsePvesmStatus, parseRemoteNames,
  parseSectionConfig, parseStorageConfigJson, parseStorageContentJson, type BackupSnapshot, type CliValue, type PveAcl,
} from '../parse/pbs';
import { aclKey, aclsMissing, aclsOf, datastoreSettings, describeCarry, jobsDiff, settingsDiff, type DatastoreCarry } from './carry';
import { findDiskBySerial, parseZpoolImport, parseZpoolListH } from '../parse/zpool';
import type { Planned } from '../../workflows/runbook/types';
import { durationMs } from '../../workflows/runbook/duration';
import type { PbsInventory } from '../../inventory/pbs';
import * as cmd from './commands';

export interface PbsMove {
  from: string;
  to: string;
  storage: string;
  datastore: string;
  datastorePath: string;
  pool: string;
  diskSerial: string;
  /** Where PVE reaches the PBS of `to` (its inventory address). */
  toServer: string;
  /** The target is the lab in this directory (inventory `lab`): the disk move names its verb. */
  lab?: { dir: string };
  evidence: string[];
}

export interface ReleaseFacts {
  /** Backup jobs writing to the storage that are enabled now: disabled here, re-enabled after the move. */
  disableJobs: string[];
  setOffline: boolean;
  exportPool: boolean;
}

export interface ImportFacts {
  importPool: boolean;
}

export interface RegisterFacts {
  createDatastore: boolean;
  repoint: boolean;
  fingerprint: string;
  /** The old datastore's settings, jobs and ACLs, re-created on `to` (read before any change). */
  carry: DatastoreCarry;
  /** The storage entry's options before the re-point (storage.cfg holds no secret). */
  storageBefore: Record<string, string>;
  /** PVE ACL entries on /storage/<id>. */
  storageAcls: PveAcl[];
  /** Names of the storage's secret files that exist (password, encryption key, master pubkey): names only. */
  secretFiles: string[];
}

/** `datastore create --reuse-datastore` exists from this PBS release on (proxmox-backup api2/config/datastore.rs; 3.2.4-1 lacks it). */
export const REUSE_DATASTORE_SINCE = { major: 3, minor: 3 };

export interface EnableFacts {
  enableJobs: string[];
}

export interface RemoveOldFacts {
  removeDatastore: boolean;
}

type Snap = { type: string; id: string; time: string; verified: boolean };
const key = (s: { type: string; id: string; time: string }) => `${s.type}/${s.id}/${s.time}`;
const refuse = (msg: string) => ApplicationFailure.nonRetryable(msg, 'PreconditionFailed');

const pveAclKey = (a: PveAcl) => `${a.path} ${a.type}:${a.ugid} ${a.roleid} propagate=${a.propagate ? 1 : 0}`;

/** pve-storage Plugin.pm encode_value prints `nodes` in hash order and `content` re-encoded: compare those as sets. */
function sameOption(key: string, want: string, have: string | undefined): boolean {
  if (have === undefined) return false;
  if (key !== 'nodes' && key !== 'content') return want === have;
  const set = (v: string) => v.split(/[,;\s]+/).filter(Boolean).sort().join(',');
  return set(want) === set(have);
}

function pointsAt(props: Record<string, string>, server: string, fingerprint: string): boolean {
  return props.server === server && props.fingerprint === fingerprint;
}

function repointParams(p: PbsInventory, props: Record<string, string>, server: string, fingerprint: string): cmd.RepointParams {
  return { storage: p.pveStorage, port: p.port, server, fingerprint, hasFingerprint: props.fingerprint !== undefined, hasPort: props.port !== undefined };
}

function settingsDiffKeys(want: Record<string, CliValue>, have: Record<string, CliValue>): string[] {
  return Object.keys(want).filter((k) => settingsDiff({ [k]: want[k]! }, have).length > 0);
}

function pick<T>(o: Record<string, T>, keys: string[]): Record<string, T> {
  return Object.fromEntries(keys.map((k) => [k, o[k]!]));
}

export function pbsActivities(deps: ActivityDeps) {
  const inv = deps.inventory;

  function pbsInv(): PbsInventory {
    if (!inv.pbs) throw ApplicationFailure.nonRetryable('the inventory has no `pbs:` section (Phase 2 needs it)', 'BadInput');
    return inv.pbs;
  }

  const host = (h: string): Target => {
    if (!(h in inv.hosts)) throw ApplicationFailure.nonRetryable(`unknown Proxmox host "${h}"`, 'BadInput');
    return { kind: 'host', host: h };
  };

  async function datastores(h: string) {
    return parseDatastoreJson((await runOk(deps, host(h), cmd.datastoreListJson())).stdout);
  }
  async function pools(h: string) {
    return parseZpoolListH((await runOk(deps, host(h), cmd.zpoolHealth())).stdout);
  }
  async function jobs(h: string) {
    return parseBackupJobsJson((await runOk(deps, host(h), cmd.backupJobs())).stdout);
  }
  async function storageEntry(h: string) {
    const p = pbsInv();
    const cfg = parseSectionConfig((await runOk(deps, host(h), cmd.readStorageCfg())).stdout);
    return cfg.find((s) => s.id === p.pveStorage);
  }
  async function pbsJobs(h: string) {
    const out = {} as Record<cmd.PbsJobKind, ReturnType<typeof parsePbsJobsJson>>;
    for (const kind of cmd.PBS_JOB_KINDS) out[kind] = parsePbsJobsJson((await runOk(deps, host(h), cmd.jobList(kind))).stdout);
    return out;
  }
  async function pbsAcls(h: string) {
    return parsePbsAclJson((await runOk(deps, host(h), cmd.pbsAclList())).stdout);
  }
  async function datastoreConfig(h: string) {
    return parseDatastoreConfigs((await runOk(deps, host(h), cmd.datastoreListJson())).stdout).find((d) => d.name === pbsInv().datastore);
  }
  /** The datastore's settings, jobs and ACLs on `h` (what `datastore remove` would delete with it). */
  async function readCarry(h: string): Promise<DatastoreCarry> {
    const p = pbsInv();
    const ds = await datastoreConfig(h);
    if (!ds) throw refuse(`datastore ${p.datastore} is not configured on ${h}'s PBS`);
    const all = await pbsJobs(h);
    const jobs = cmd.PBS_JOB_KINDS.flatMap((kind) => all[kind].filter((j) => j.store === p.datastore).map((j) => ({ kind, ...j })));
    return { settings: datastoreSettings(ds.options), jobs, acls: aclsOf(await pbsAcls(h), p.datastore) };
  }
  async function storageApi(h: string) {
    return parseStorageConfigJson((await runOk(deps, host(h), cmd.storageConfig(pbsInv().pveStorage))).stdout);
  }
  async function storageAcls(h: string) {
    const path = `/storage/${pbsInv().pveStorage}`;
    return parsePveAclJson((await runOk(deps, host(h), cmd.pveAclList())).stdout).filter((a) => a.path === path);
  }
  async function secretFiles(h: string): Promise<string[]> {
    const listing = (await deps.exec.run(host(h), `${cmd.listStorageSecrets()} 2>/dev/null; true`)).stdout.split('\n').map((l) => l.trim());
    return cmd.storageSecretFiles(pbsInv().pveStorage).filter((f) => listing.includes(f));
  }
  async function runningBackups(h: string) {
    return parseClusterTasksJson((await runOk(deps, host(h), cmd.clusterTasks())).stdout).filter((t) => t.running && t.type === 'vzdump');
  }
  async function snapshots(h: string): Promise<BackupSnapshot[]> {
    const p = pbsInv();
    return parseStorageContentJson((await runOk(deps, host(h), cmd.storageContent(h, p.pveStorage), { timeoutMs: 120_000 })).stdout);
  }

  /**
   * The post-condition of the registration, read through other paths than the change used: the
   * datastore, jobs and ACLs through the PBS API lists, the storage through the PVE API
   * (`pvesh get /storage/<id>`, `/access/acl`), the secret files by name, the storage's status.
   */
  async function verifyRegistered(f: RegisterFacts, server: string, fingerprint: string): Promise<string[]> {
    const p = pbsInv();
    const problems: string[] = [];
    const ds = await datastoreConfig(p.to);
    if (!ds) problems.push(`datastore ${p.datastore} is not listed on ${p.to}`);
    else problems.push(...settingsDiff(f.carry.settings, ds.options).map((d) => `datastore setting ${d}`));
    const jobs = jobsDiff(f.carry.jobs, await pbsJobs(p.to));
    problems.push(...jobs.missing.map((j) => `${j.kind}-job ${j.id} is missing`), ...jobs.differ);
    problems.push(...aclsMissing(f.carry.acls, await pbsAcls(p.to)).map((a) => `PBS ACL ${aclKey(a)} is missing`));

    const want: Record<string, string> = { ...f.storageBefore, server, fingerprint, ...(f.storageBefore.port !== undefined || p.port !== 8007 ? { port: String(p.port) } : {}) };
    const have = await storageApi(p.to);
    for (const [k, v] of Object.entries(want)) {
      if (!sameOption(k, v, have[k])) problems.push(`storage option ${k}: want ${JSON.stringify(v)}, have ${JSON.stringify(have[k] ?? null)}`);
    }
    const aclsNow = (await storageAcls(p.to)).map(pveAclKey);
    problems.push(...f.storageAcls.filter((a) => !aclsNow.includes(pveAclKey(a))).map((a) => `storage ACL ${pveAclKey(a)} is missing`));
    const files = await secretFiles(p.to);
    problems.push(...f.secretFiles.filter((x) => !files.includes(x)).map((x) => `${cmd.STORAGE_PRIV_DIR}/${x} is gone`));
    const status = parsePvesmStatus((await runOk(deps, host(p.to), cmd.pvesmStatus(p.pveStorage))).stdout, p.pveStorage);
    if (status !== 'active') problems.push(`pvesm status ${p.pveStorage} → ${status ?? 'missing'}`);
    if (problems.length) throw ApplicationFailure.nonRetryable(`after the registration on ${p.to}: ${problems.join('; ')}`, 'VerifyFailed');
    return [
      `${p.to}: datastore ${p.datastore} has ${describeCarry(f.carry)} (read back)`,
      `pvesh get /storage/${p.pveStorage}: ${Object.keys(want).length} options as before, server ${server}, fingerprint ${fingerprint}`,
      `${f.storageAcls.length} storage ACL entries and ${f.secretFiles.join(', ') || 'no secret files'} still there`,
      `${p.to}: pvesm status ${p.pveStorage} → ${status}`,
    ];
  }

  return {
    /** The move as the inventory describes it. */
    async describePbsMove(): Promise<PbsMove> {
      const p = pbsInv();
      host(p.from);
      const to = inv.hosts[p.to];
      if (!to) throw ApplicationFailure.nonRetryable(`unknown Proxmox host "${p.to}" (pbs.to)`, 'BadInput');
      if (p.from === p.to) throw ApplicationFailure.nonRetryable('pbs.from and pbs.to are the same host', 'BadInput');
      return {
        from: p.from, to: p.to, storage: p.pveStorage, datastore: p.datastore, datastorePath: p.datastorePath, pool: p.pool,
        diskSerial: p.diskSerial, toServer: to.address,
        ...(inv.lab ? { lab: { dir: inv.lab.dir } } : {}),
        evidence: [`datastore ${p.datastore} (${p.datastorePath}, pool ${p.pool}, disk serial ${p.diskSerial}) moves ${p.from} → ${p.to}`, `PVE storage ${p.pveStorage} will point at ${to.address}:${p.port}`],
      };
    },

    /** The datastore is listed on `host`'s PBS, its pool is ONLINE, and PVE's storage is active. */
    async checkDatastoreHealthy({ host: h }: { host: string }) {
      const p = pbsInv();
      const table = (await runOk(deps, host(h), cmd.datastoreList())).stdout;
      const ds = parseDatastoreTable(table).find((d) => d.name === p.datastore);
      if (!ds) throw refuse(`datastore ${p.datastore} is not configured on ${h}'s PBS`);
      if (ds.path !== p.datastorePath) throw refuse(`datastore ${p.datastore} on ${h} is at ${ds.path}, the inventory says ${p.datastorePath}`);
      const mode = maintenanceType((await datastores(h)).find((d) => d.name === p.datastore)?.maintenanceMode);
      if (mode) throw refuse(`datastore ${p.datastore} on ${h} is in ${mode} maintenance mode`);
      const pool = (await pools(h)).find((x) => x.name === p.pool);
      if (!pool) throw refuse(`ZFS pool ${p.pool} is not imported on ${h}`);
      if (pool.health !== 'ONLINE') throw refuse(`ZFS pool ${p.pool} on ${h} is ${pool.health}: fix it before moving the disk`);
      const status = parsePvesmStatus((await runOk(deps, host(h), cmd.pvesmStatus(p.pveStorage))).stdout, p.pveStorage);
      if (status !== 'active') throw refuse(`PVE storage ${p.pveStorage} is ${status ?? 'missing'} on ${h}`);
      // the new host must be able to take the chunk store as it is: refuse before the pool is exported
      const version = parsePbsVersion((await runOk(deps, host(p.to), cmd.pbsVersions())).stdout);
      const { major, minor } = REUSE_DATASTORE_SINCE;
      if (version.major < major || (version.major === major && version.minor < minor)) {
        throw refuse(
          `${p.to} runs PBS ${version.text}, which has no \`datastore create --reuse-datastore\` (PBS ${major}.${minor} and later): ` +
            `upgrade PBS on ${p.to} before moving the disk; nothing was changed`,
        );
      }
      const carry = await readCarry(h);
      // tape jobs need the drive and media pool of `from`: they cannot move with the disk, and the
      // removal of the old entry would delete them (delete_datastore): the operator decides first
      const tape = parsePbsJobsJson((await runOk(deps, host(h), cmd.tapeJobList())).stdout).filter((j) => j.store === p.datastore);
      if (tape.length) {
        throw refuse(
          `tape backup job ${tape.map((j) => `${j.id} (drive ${String(j.options.drive ?? '?')}, pool ${String(j.options.pool ?? '?')})`).join(', ')} backs up ${p.datastore} on ${h}: ` +
            `removing the old datastore entry would delete it, and its drive stays on ${h}. Re-create it on ${p.to} (or remove it) by hand first; nothing was changed`,
        );
      }
      const remotes = parseRemoteNames((await runOk(deps, host(p.to), cmd.remoteList())).stdout);
      const noRemote = [...new Set(carry.jobs.filter((j) => j.kind === 'sync' && typeof j.options.remote === 'string').map((j) => String(j.options.remote)))].filter((r) => !remotes.includes(r));
      if (noRemote.length) throw refuse(`the sync jobs of ${p.datastore} pull from remote ${noRemote.join(', ')}, which ${p.to}'s PBS does not have: add it there first`);
      return {
        carry,
        evidence: [
          `${h}: datastore ${ds.name} at ${ds.path}`, `${h}: zpool ${pool.name} ${pool.health}`, `${h}: pvesm status ${p.pveStorage} → ${status}`,
          `${p.to}: PBS ${version.text} (has --reuse-datastore)`, `${h}: datastore ${p.datastore} carries ${describeCarry(carry)}`,
        ],
      };
    },

    /** Contract (Phase 4 too): every snapshot in the PVE storage, listed from Proxmox host `host`. */
    async listBackupSnapshots({ host: h }: { host: string }): Promise<{ snapshots: Snap[]; evidence: string[] }> {
      const p = pbsInv();
      const list = await snapshots(h);
      return {
        snapshots: list.map(({ type, id, time, verified }) => ({ type, id, time, verified })),
        evidence: [`${h}: ${list.length} snapshots in ${p.pveStorage}`],
      };
    },

    /** The last backup of every guest in the storage is recent and verified; returns the list to compare after the move. */
    async checkBackupsRecentVerified({ host: h }: { host: string }): Promise<{ snapshots: Snap[]; evidence: string[] }> {
      const p = pbsInv();
      const list = await snapshots(h);
      if (list.length === 0) throw refuse(`PVE storage ${p.pveStorage} holds no backups`);
      const maxAge = durationMs(p.maxBackupAge)!;
      const last = new Map<string, BackupSnapshot>();
      for (const s of list) last.set(`${s.type}/${s.id}`, s); // sorted by time within a group
      const problems: string[] = [];
      const evidence: string[] = [];
      for (const [group, s] of last) {
        const ageH = (Date.now() - Date.parse(s.time)) / 3_600_000;
        evidence.push(`${group}: last ${s.time} (${ageH.toFixed(1)} h ago), verify ${s.verifyState}`);
        if (Date.now() - Date.parse(s.time) > maxAge) problems.push(`${group}'s last backup ${s.time} is older than ${p.maxBackupAge}`);
        if (!s.verified) problems.push(`${group}'s last backup ${s.time} is not verified (verify state: ${s.verifyState})`);
      }
      if (problems.length) throw refuse(`${problems.join('; ')}: back up / verify again before moving the disk`);
      return { snapshots: list.map(({ type, id, time, verified }) => ({ type, id, time, verified })), evidence: [`${list.length} snapshots in ${last.size} groups`, ...evidence] };
    },

    /** No vzdump task runs anywhere in the cluster. */
    async checkNoBackupRunning({ host: h }: { host: string }) {
      const running = await runningBackups(h);
      if (running.length) throw refuse(`a backup is running: ${running.map((t) => `${t.upid} on ${t.node}`).join(', ')}; wait for it to finish`);
      const p = pbsInv();
      const enabled = (await jobs(h)).filter((j) => j.enabled);
      const jobsToPause = enabled.filter((j) => j.storage === p.pveStorage).map((j) => j.id);
      return { jobsToPause, evidence: ['no vzdump task is running in the cluster', `enabled backup jobs: ${enabled.map((j) => `${j.id} → ${j.storage}`).join(', ') || 'none'}`] };
    },

    /** Preflight of the release: jobs to disable, maintenance mode, pool export on `from`. */
    async planRelease(): Promise<Planned<ReleaseFacts>> {
      const p = pbsInv();
      if ((await runningBackups(p.from)).length) throw refuse('a backup started meanwhile: wait for it to finish');
      const disableJobs = (await jobs(p.from)).filter((j) => j.enabled && j.storage === p.pveStorage).map((j) => j.id);
      const ds = (await datastores(p.from)).find((d) => d.name === p.datastore);
      const setOffline = Boolean(ds) && maintenanceType(ds!.maintenanceMode) !== 'offline';
      const exportPool = (await pools(p.from)).some((x) => x.name === p.pool);
      const commands = [
        ...disableJobs.map((id) => cmd.setJobEnabled(id, false)),
        ...(setOffline ? [cmd.setMaintenanceOffline(p.datastore)] : []),
        ...(exportPool ? [cmd.zpoolExport(p.pool)] : []),
      ];
      const plan = planOf(p.from, commands.length ? commands : ['# nothing left to release'], {
        disableJobs: disableJobs.join(',') || 'none',
        datastore: ds ? `${p.datastore} ${maintenanceType(ds.maintenanceMode) ?? 'online'}` : `${p.datastore} not configured`,
        pool: exportPool ? `${p.pool} imported` : `${p.pool} not imported`,
      });
      return { plan, facts: { disableJobs, setOffline, exportPool } };
    },

    /** Disables the jobs, sets the datastore offline, exports the pool; each only if still needed. */
    async releaseDatastore(f: ReleaseFacts) {
      const p = pbsInv();
      const t = host(p.from);
      const evidence: string[] = [];
      const now = await jobs(p.from);
      for (const id of f.disableJobs) {
        if (now.find((j) => j.id === id)?.enabled) {
          await runOk(deps, t, cmd.setJobEnabled(id, false));
          evidence.push(`backup job ${id} disabled`);
        } else evidence.push(`backup job ${id} already disabled`);
      }
      const ds = (await datastores(p.from)).find((d) => d.name === p.datastore);
      if (ds && maintenanceType(ds.maintenanceMode) !== 'offline') {
        await runOk(deps, t, cmd.setMaintenanceOffline(p.datastore));
        evidence.push(`${p.from}: datastore ${p.datastore} set to offline maintenance mode`);
      } else evidence.push(`${p.from}: datastore ${p.datastore} ${ds ? 'already offline' : 'not configured'}`);
      if ((await pools(p.from)).some((x) => x.name === p.pool)) {
        await runOk(deps, t, cmd.zpoolExport(p.pool), { timeoutMs: 300_000 });
        evidence.push(`${p.from}: zpool export ${p.pool} → ok`);
      } else evidence.push(`${p.from}: pool ${p.pool} already exported`);
      // post-condition, read again: jobs disabled (API), datastore offline (its config), pool not listed
      const problems: string[] = [];
      const after = await jobs(p.from);
      problems.push(...f.disableJobs.filter((id) => after.find((j) => j.id === id)?.enabled).map((id) => `backup job ${id} is still enabled`));
      const dsAfter = (await datastores(p.from)).find((d) => d.name === p.datastore);
      if (dsAfter && maintenanceType(dsAfter.maintenanceMode) !== 'offline') problems.push(`datastore ${p.datastore} is ${maintenanceType(dsAfter.maintenanceMode) ?? 'online'}`);
      if ((await pools(p.from)).some((x) => x.name === p.pool)) problems.push(`pool ${p.pool} is still imported`);
      if (problems.length) throw ApplicationFailure.nonRetryable(`after the release on ${p.from}: ${problems.join('; ')}`, 'VerifyFailed');
      return { disabledJobs: f.disableJobs, evidence };
    },

    /** Looks for the disk on `host` by its serial in /dev/disk/by-id (sdX names change between hosts). */
    async detectDisk({ host: h }: { host: string }): Promise<{ found: boolean; byId: string | null; evidence: string[] }> {
      const p = pbsInv();
      const listing = (await runOk(deps, host(h), cmd.listById())).stdout;
      const matches = findDiskBySerial(listing, p.diskSerial);
      if (matches.length === 0) return { found: false, byId: null, evidence: [`${h}: no disk with serial ${p.diskSerial} in ${cmd.BY_ID_DIR}`] };
      const dev = (await runOk(deps, host(h), cmd.resolveById(matches[0]!))).stdout.trim();
      return { found: true, byId: matches[0]!, evidence: [`${h}: ${cmd.BY_ID_DIR}/${matches[0]} → ${dev}`] };
    },

    /** Preflight of the import on `to`: imported already, or importable from the by-id disks (never with -f). */
    async planImportPool({ dryRun = false }: { dryRun?: boolean } = {}): Promise<Planned<ImportFacts>> {
      const p = pbsInv();
      const imported = (await pools(p.to)).some((x) => x.name === p.pool);
      if (dryRun && !imported) {
        // the disk is still in the old host: plan the import it will get
        return { plan: planOf(p.to, [cmd.zpoolImport(p.pool)], { pool: `${p.pool} importable once the disk moved` }), facts: { importPool: true } };
      }
      if (!imported) {
        const res = await deps.exec.run(host(p.to), cmd.zpoolImportable());
        const pool = parseZpoolImport(res.stdout).find((x) => x.name === p.pool);
        if (!pool) throw refuse(`pool ${p.pool} is not importable on ${p.to} (${res.stderr.trim() || 'not listed by zpool import'})`);
        if (pool.inUseElsewhere) {
          throw refuse(`pool ${p.pool} was not exported on ${p.from}: put the disk back and export it there (this runbook never forces an import)`);
        }
      }
      const plan = planOf(p.to, imported ? ['# pool already imported'] : [cmd.zpoolImport(p.pool)], { pool: `${p.pool} ${imported ? 'imported' : 'importable'}` });
      return { plan, facts: { importPool: !imported } };
    },

    async importPool(_f: ImportFacts) {
      const p = pbsInv();
      if ((await pools(p.to)).some((x) => x.name === p.pool)) return { evidence: [`${p.to}: pool ${p.pool} already imported`] };
      await runOk(deps, host(p.to), cmd.zpoolImport(p.pool), { timeoutMs: 300_000 });
      const pool = (await pools(p.to)).find((x) => x.name === p.pool);
      if (pool?.health !== 'ONLINE') throw ApplicationFailure.nonRetryable(`${p.to}: after zpool import, pool ${p.pool} is ${pool?.health ?? 'not listed'}`, 'VerifyFailed');
      return { evidence: [`${p.to}: zpool import -d ${cmd.BY_ID_DIR} ${p.pool} → ${pool.health}`] };
    },

    /**
     * Preflight of the registration on `to` (with the old datastore's settings, jobs and ACLs) and of
     * the in-place re-point of PVE's storage. `carry` is what the preflight read on `from` before
     * any change; without it (a run started before it was recorded) it is read from `from` now.
     */
    async planRegister({ carry: recorded }: { carry?: DatastoreCarry } = {}): Promise<Planned<RegisterFacts>> {
      const p = pbsInv();
      const server = inv.hosts[p.to]!.address;
      const fingerprint = cmd.validFingerprint(parseCertFingerprint((await runOk(deps, host(p.to), cmd.certInfo())).stdout));
      const carry = recorded ?? (await readCarry(p.from));
      const ds = (await datastores(p.to)).find((d) => d.name === p.datastore);
      if (ds && ds.path !== p.datastorePath) throw refuse(`${p.to} already has a datastore ${p.datastore} at ${ds.path}`);
      const entry = await storageEntry(p.to);
      if (!entry) throw refuse(`PVE storage ${p.pveStorage} is missing: add it by hand (with its encryption key, if it had one) and run again`);
      if (entry.type !== 'pbs') throw refuse(`PVE storage ${p.pveStorage} is of type ${entry.type}, not pbs`);
      if (entry.props.datastore !== p.datastore) {
        throw refuse(`PVE storage ${p.pveStorage} reads datastore ${entry.props.datastore}, not ${p.datastore} (datastore is a fixed option: change it by hand)`);
      }
      const repoint = !pointsAt(entry.props, server, fingerprint);
      const settingsNow = ds ? (await datastoreConfig(p.to))?.options ?? {} : {};
      const toUpdate = ds ? pick(carry.settings, settingsDiffKeys(carry.settings, settingsNow)) : {};
      const { missing } = jobsDiff(carry.jobs, await pbsJobs(p.to));
      const acls = aclsMissing(carry.acls, await pbsAcls(p.to));
      const commands = [
        ...(ds ? (Object.keys(toUpdate).length ? [cmd.updateDatastoreSettings(p.datastore, toUpdate)] : []) : [cmd.createDatastoreReuse(p.datastore, p.datastorePath, carry.settings)]),
        ...missing.map((j) => cmd.jobCreate(j.kind, j.id, j.options)),
        ...acls.map(cmd.pbsAclUpdate),
        ...(repoint ? cmd.repointStorage(repointParams(p, entry.props, server, fingerprint)) : []),
      ];
      const storageAclsNow = await storageAcls(p.to);
      const secrets = await secretFiles(p.to);
      const plan = planOf(p.to, commands.length ? commands : ['# datastore registered and storage re-pointed already'], {
        datastore: ds ? `${p.datastore} registered` : `${p.datastore} to register at ${p.datastorePath}`,
        carried: describeCarry(carry),
        storage: `${p.pveStorage} → ${entry.props.server}/${entry.props.datastore}, edited in place (options, ${storageAclsNow.length} ACL entries and ${secrets.join(', ') || 'no secret files'} kept)`,
        server,
        fingerprint,
      });
      return {
        plan,
        facts: { createDatastore: !ds, repoint, fingerprint, carry, storageBefore: entry.props, storageAcls: storageAclsNow, secretFiles: secrets },
      };
    },

    /**
     * Registers the datastore re-using the chunk store with the old settings, re-creates its jobs and
     * ACLs, re-points PVE's storage in place, then reads every promised piece back through the API.
     */
    async registerDatastore(f: RegisterFacts) {
      const p = pbsInv();
      const t = host(p.to);
      const server = inv.hosts[p.to]!.address;
      const evidence: string[] = [];
      const fingerprint = cmd.validFingerprint(parseCertFingerprint((await runOk(deps, t, cmd.certInfo())).stdout));
      if (fingerprint !== f.fingerprint) throw refuse(`${p.to}'s certificate changed since the plan (${f.fingerprint} → ${fingerprint})`);

      const ds = await datastoreConfig(p.to);
      if (!ds) {
        await runOk(deps, t, cmd.createDatastoreReuse(p.datastore, p.datastorePath, f.carry.settings), { timeoutMs: 300_000 });
        evidence.push(`${p.to}: datastore ${p.datastore} registered at ${p.datastorePath}, existing chunk store re-used, settings ${Object.keys(f.carry.settings).join(', ') || 'none'}`);
      } else {
        const toUpdate = pick(f.carry.settings, settingsDiffKeys(f.carry.settings, ds.options));
        if (Object.keys(toUpdate).length) {
          await runOk(deps, t, cmd.updateDatastoreSettings(p.datastore, toUpdate));
          evidence.push(`${p.to}: datastore ${p.datastore} already registered, settings ${Object.keys(toUpdate).join(', ')} set`);
        } else evidence.push(`${p.to}: datastore ${p.datastore} already registered with its settings`);
      }
      for (const j of jobsDiff(f.carry.jobs, await pbsJobs(p.to)).missing) {
        await runOk(deps, t, cmd.jobCreate(j.kind, j.id, j.options));
        evidence.push(`${p.to}: ${j.kind}-job ${j.id} re-created`);
      }
      for (const a of aclsMissing(f.carry.acls, await pbsAcls(p.to))) {
        await runOk(deps, t, cmd.pbsAclUpdate(a));
        evidence.push(`${p.to}: ACL ${aclKey(a)} re-created`);
      }

      const entry = await storageEntry(p.to);
      if (!entry) throw refuse(`PVE storage ${p.pveStorage} is missing: add it by hand (with its encryption key, if it had one) and run again`);
      if (pointsAt(entry.props, server, fingerprint)) evidence.push(`PVE storage ${p.pveStorage} already points at ${server}/${p.datastore}`);
      else {
        await runOk(deps, t, cmd.repointStorage(repointParams(p, entry.props, server, fingerprint)).join('\n'), { timeoutMs: 120_000 });
        evidence.push(`PVE storage ${p.pveStorage} re-pointed in place: ${entry.props.server} → ${server}, fingerprint ${fingerprint}`);
      }

      evidence.push(...(await verifyRegistered(f, server, fingerprint)));
      return { evidence };
    },

    /** The snapshot list through the re-pointed storage is the one recorded before the move. */
    async verifySnapshotsMatch({ host: h, before }: { host: string; before: { type: string; id: string; time: string }[] }) {
      const after = await snapshots(h);
      const have = new Set(after.map(key));
      const missing = before.filter((s) => !have.has(key(s)));
      if (missing.length) {
        throw ApplicationFailure.nonRetryable(`${missing.length} snapshots recorded before the move are missing: ${missing.slice(0, 5).map(key).join(', ')}`, 'VerifyFailed');
      }
      const extra = after.length - before.length;
      return { evidence: [`${h}: all ${before.length} snapshots recorded before the move are listed${extra > 0 ? ` (+${extra} new)` : ''}`] };
    },

    async planEnableJobs({ jobs: ids, dryRun = false }: { jobs: string[]; dryRun?: boolean }): Promise<Planned<EnableFacts>> {
      const p = pbsInv();
      ids.forEach(cmd.validJobId);
      const now = await jobs(p.to);
      // in a dry run nothing was disabled: plan re-enabling what the release will disable
      const enableJobs = ids.filter((id) => now.some((j) => j.id === id && (dryRun || !j.enabled)));
      const plan = planOf(p.to, enableJobs.length ? enableJobs.map((id) => cmd.setJobEnabled(id, true)) : ['# backup jobs enabled already'], {
        enableJobs: enableJobs.join(',') || 'none',
      });
      return { plan, facts: { enableJobs } };
    },

    async enableBackupJobs(f: EnableFacts) {
      const p = pbsInv();
      const now = await jobs(p.to);
      const evidence: string[] = [];
      for (const id of f.enableJobs) {
        if (now.find((j) => j.id === id)?.enabled) evidence.push(`backup job ${id} already enabled`);
        else {
          await runOk(deps, host(p.to), cmd.setJobEnabled(id, true));
          evidence.push(`backup job ${id} enabled`);
        }
      }
      const after = await jobs(p.to);
      const still = f.enableJobs.filter((id) => !after.find((j) => j.id === id)?.enabled);
      if (still.length) throw ApplicationFailure.nonRetryable(`backup jobs ${still.join(', ')} are not enabled after the change`, 'VerifyFailed');
      return { evidence };
    },

    /**
     * Preflight of removing the old datastore entry on `from`: only once PVE's storage points at `to`
     * and every job and ACL the removal deletes on `from` exists on `to` (delete_datastore drops them).
     */
    async planRemoveOldDatastore({ dryRun = false }: { dryRun?: boolean } = {}): Promise<Planned<RemoveOldFacts>> {
      const p = pbsInv();
      const entry = await storageEntry(p.to);
      if (!dryRun && entry?.props.server !== inv.hosts[p.to]!.address) throw refuse(`PVE storage ${p.pveStorage} does not point at ${p.to} yet: refusing to remove the old entry`);
      const present = (await datastores(p.from)).some((d) => d.name === p.datastore);
      const goes = present ? await readCarry(p.from) : { settings: {}, jobs: [], acls: [] };
      if (present && !dryRun) {
        const { missing } = jobsDiff(goes.jobs, await pbsJobs(p.to));
        const acls = aclsMissing(goes.acls, await pbsAcls(p.to));
        const lost = [...missing.map((j) => `${j.kind}-job ${j.id}`), ...acls.map((a) => `ACL ${aclKey(a)}`)];
        if (lost.length) throw refuse(`removing ${p.datastore} on ${p.from} deletes ${lost.join(', ')}, which ${p.to} does not have: refusing`);
      }
      const plan = planOf(p.from, present ? [cmd.removeDatastore(p.datastore)] : ['# old datastore entry removed already'], {
        oldEntry: present ? `${p.datastore} on ${p.from}` : 'gone',
        alsoDeletes: present ? `${goes.jobs.map((j) => `${j.kind}-job ${j.id}`).join(', ') || 'no jobs'}; ${goes.acls.length} ACL entries (present on ${p.to})` : 'nothing',
      });
      return { plan, facts: { removeDatastore: present } };
    },

    /** `datastore remove` keeps the data (destroy-data defaults to false); the disk is gone from this host anyway. */
    async removeOldDatastore(_f: RemoveOldFacts) {
      const p = pbsInv();
      if (!(await datastores(p.from)).some((d) => d.name === p.datastore)) return { evidence: [`${p.from}: datastore ${p.datastore} already removed`] };
      await runOk(deps, host(p.from), cmd.removeDatastore(p.datastore));
      const table = parseDatastoreTable((await runOk(deps, host(p.from), cmd.datastoreList())).stdout);
      if (table.some((d) => d.name === p.datastore)) throw ApplicationFailure.nonRetryable(`${p.from}: datastore ${p.datastore} is still listed after the removal`, 'VerifyFailed');
      return { evidence: [`${p.from}: datastore entry ${p.datastore} removed (data untouched), no longer listed`] };
    },
  };
}
