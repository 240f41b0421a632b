// Phase 2's part of the lab: PBS datastores, ZFS pools on disks that can move between hosts, PVE storage.
// The state lives in files the stand-ins share (lab/standins/lib/pbs.js describes the layout).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { HOSTS, type LabJson } from './topology';
import { LAB_DIR } from './lab-dir';

/** Stand-ins of this part, symlinked into $LAB_DIR/bin (first on PATH in every lab shell). */
export const PBS_BINS: string[] = ['proxmox-backup-manager', 'proxmox-tape', 'pvesm', 'pvesh', 'zpool'];

// The seed homelab's PBS (names as an operator would pick them; the example inventory uses the same).
export const PBS_FROM = 'pumped-piglet';
export const PBS_TO = 'still-fawn';
export const PBS_STORAGE = 'pbs-homelab';
export const PBS_DATASTORE = 'homelab-backup';
export const PBS_POOL = 'pbs-hdd';
export const PBS_DATASTORE_PATH = `/${PBS_POOL}/datastore`;
export const PBS_DISK_SERIAL = 'ZFN1ABCD';
export const PBS_DISK = `ata-ST3000DM007-1WY10G_${PBS_DISK_SERIAL}`;
/** Guests whose backups the lab starts with (VMs of the K3s nodes, the Frigate LXC). */
const GUESTS: { type: 'vm' | 'ct'; id: string }[] = [
  { type: 'vm', id: '105' },
  { type: 'vm', id: '106' },
  { type: 'vm', id: '107' },
  { type: 'vm', id: '108' },
  { type: 'ct', id: '113' },
];

export interface LabSnapshot {
  type: string;
  id: string;
  time: string;
  verified: boolean;
}

interface DiskState {
  byId: string;
  dev: string;
  attachedTo: string;
  pool: { name: string; guid: string; importedOn: string | null; lastAccess?: string } | null;
  chunkStore: { path: string; snapshots: { type: string; id: string; time: string; verification?: { state: string; upid: string } }[] } | null;
}

/** A PVE ACL entry as `pvesh get /access/acl` lists it. */
export interface PveAcl {
  path: string;
  type: 'user' | 'group' | 'token';
  ugid: string;
  roleid: string;
  propagate: number;
}

/** A PBS ACL entry as `proxmox-backup-manager acl list` lists it (AclListItem). */
export interface PbsAcl {
  path: string;
  ugid: string;
  ugid_type: 'user' | 'group';
  roleid: string;
  propagate: boolean;
}

export type PbsJobKind = 'verify' | 'prune' | 'sync' | 'tape';
export type PbsJob = { id: string; store: string } & Record<string, string>;

interface HostPbs {
  datastores: Record<string, string>[];
  fingerprint: string;
  hostid?: string;
  version: string;
  jobs: Record<PbsJobKind, PbsJob[]>;
  acl: PbsAcl[];
  remotes: { name: string; host: string; 'auth-id': string }[];
}

interface PbsLib {
  disks(dir: string): DiskState[];
  saveDisk(dir: string, d: DiskState): void;
  writeByIdLinks(dir: string, host: string): void;
  hostPbs(dir: string, host: string): HostPbs;
  saveHostPbs(dir: string, host: string, v: unknown): void;
  readSections(dir: string, file: string): { type: string; id: string; props: Record<string, string> }[];
  writeSections(dir: string, file: string, s: { type: string; id: string; props: Record<string, string> }[]): void;
  passwordFile(dir: string, id: string): string;
  encryptionKeyFile(dir: string, id: string): string;
  masterPubkeyFile(dir: string, id: string): string;
  pveAcls(dir: string): PveAcl[];
  savePveAcls(dir: string, acls: PveAcl[]): void;
  listSnapshots(id: string, dir: string): LabSnapshot[];
  resolveStorage(dir: string, id: string): { error?: string; host?: string };
  tasks(dir: string): Record<string, unknown>[];
  saveTasks(dir: string, t: Record<string, unknown>[]): void;
  fakeUpid(node: string, type: string, id?: string, starttime?: number): string;
  isoSeconds(t: string | Date): string;
}

// from the lab's directory, not this file's: the same under tsx and compiled (build/js)
const lib = createRequire(__filename)(path.join(LAB_DIR, 'standins', 'lib', 'pbs.js')) as PbsLib;

function fingerprint(): string {
  return [...crypto.randomBytes(32)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Called once by Lab.start after the K3s cluster exists, before the inventory is written. */
export async function setupPbs(dir: string, l: LabJson): Promise<void> {
  // Mount points the host sessions bind over (empty directories on the machine itself).
  for (const p of ['/dev/disk/by-id', '/etc/pve']) fs.mkdirSync(p, { recursive: true });
  for (const d of ['pbs/disks', 'pve/priv/storage']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'pve', 'priv'), 0o700);

  HOSTS.forEach((h, i) => {
    // every host has its system SSD; PBS is installed on every Proxmox host
    lib.saveDisk(dir, { byId: `ata-Samsung_SSD_870_EVO_500GB_S62ANJ0R${400000 + i}X`, dev: 'sda', attachedTo: h.name, pool: null, chunkStore: null });
    const datastores = h.name === PBS_FROM ? [{ name: PBS_DATASTORE, path: PBS_DATASTORE_PATH, comment: '3 TB HDD (ZFS pool pbs-hdd)' }] : [];
    lib.saveHostPbs(dir, h.name, { datastores, fingerprint: fingerprint(), hostid: crypto.randomBytes(4).toString('hex') });
  });
  const now = Date.now();
  const snapshots = GUESTS.flatMap((g, i) =>
    [2, 1].map((days) => ({
      ...g,
      time: lib.isoSeconds(new Date(now - days * 86_400_000 - (i + 1) * 600_000)),
      verification: { state: 'ok', upid: lib.fakeUpid(PBS_FROM, 'verificationjob', `${PBS_DATASTORE}:v-3fb3a`, Math.floor(now / 1000) - days * 80_000) },
    })),
  );
  lib.saveDisk(dir, {
    byId: PBS_DISK,
    dev: 'sdb',
    attachedTo: PBS_FROM,
    pool: { name: PBS_POOL, guid: String(BigInt(`0x${crypto.randomBytes(8).toString('hex')}`) >> 1n), importedOn: PBS_FROM },
    chunkStore: { path: PBS_DATASTORE_PATH, snapshots },
  });
  for (const h of HOSTS) lib.writeByIdLinks(dir, h.name);

  // PVE's cluster-wide config (pmxcfs): storage.cfg, the PBS password, the backup jobs.
  const from = lib.hostPbs(dir, PBS_FROM);
  lib.writeSections(dir, 'storage.cfg', [
    { type: 'dir', id: 'local', props: { path: '/var/lib/vz', content: 'iso,vztmpl,backup', shared: '0' } },
    {
      type: 'pbs',
      id: PBS_STORAGE,
      props: {
        datastore: PBS_DATASTORE,
        server: l.hosts[PBS_FROM]!.address,
        content: 'backup',
        fingerprint: from.fingerprint,
        'prune-backups': 'keep-all=1',
        username: 'root@pam',
      },
    },
  ]);
  fs.writeFileSync(lib.passwordFile(dir, PBS_STORAGE), `${crypto.randomBytes(12).toString('base64url')}\n`, { mode: 0o600 });
  lib.writeSections(dir, 'jobs.cfg', [
    {
      type: 'vzdump',
      id: 'backup-5d0d5ac6-1c2e',
      props: { schedule: '02:00', all: '1', enabled: '1', mode: 'snapshot', 'notes-template': '{{guestname}}', storage: PBS_STORAGE },
    },
    { type: 'vzdump', id: 'backup-9a1f3e77-40b1', props: { schedule: 'sun 04:00', vmid: '113', enabled: '1', mode: 'stop', storage: 'local' } },
  ]);
  const start = Math.floor(now / 1000) - 86_400;
  lib.saveTasks(dir, [
    { upid: lib.fakeUpid(PBS_FROM, 'vzdump', '', start), node: PBS_FROM, pid: 1000 + (start % 50000), pstart: start % 100000000, starttime: start, type: 'vzdump', id: '', user: 'root@pam', status: 'OK', endtime: start + 900 },
  ]);
}

/** This part's sections of the lab's inventory.yaml. */
export function pbsInventory(_l: LabJson): Record<string, unknown> {
  return {
    pbs: {
      from: PBS_FROM,
      to: PBS_TO,
      pveStorage: PBS_STORAGE,
      datastore: PBS_DATASTORE,
      datastorePath: PBS_DATASTORE_PATH,
      pool: PBS_POOL,
      diskSerial: PBS_DISK_SERIAL,
      maxBackupAge: '36h',
    },
  };
}

/** Test-facing view and faults (lab.pbs). */
export class LabPbs {
  constructor(readonly dir: string) {}

  /** What the operator physically does: the disk leaves its host and shows up on `toHost` (maybe as another sdX). */
  moveDisk(byId: string, toHost: string): void {
    const d = this.disk(byId);
    const from = d.attachedTo;
    const used = lib.disks(this.dir).filter((x) => x.attachedTo === toHost).map((x) => x.dev);
    d.dev = ['sdb', 'sdc', 'sdd', 'sde'].find((x) => !used.includes(x))!;
    d.attachedTo = toHost;
    lib.saveDisk(this.dir, d);
    lib.writeByIdLinks(this.dir, from);
    lib.writeByIdLinks(this.dir, toHost);
  }

  /** Every snapshot in the datastore behind PVE storage `storageId` (throws the real error if unreachable). */
  snapshots(storageId = PBS_STORAGE): LabSnapshot[] {
    return lib.listSnapshots(storageId, this.dir);
  }

  /** The snapshots on a disk's chunk store, whatever host it sits in. */
  diskSnapshots(byId = PBS_DISK): LabSnapshot[] {
    return (this.disk(byId).chunkStore?.snapshots ?? []).map((s) => ({ type: s.type, id: s.id, time: s.time, verified: s.verification?.state === 'ok' }));
  }

  /** The PVE storage's password (/etc/pve/priv/storage/<id>.pw), for tests that search for leaks. */
  password(id = PBS_STORAGE): string | null {
    const f = lib.passwordFile(this.dir, id);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : null;
  }

  /** The PVE storage entry (storage.cfg), whether its password file exists, and the host whose PBS serves it. */
  storage(id = PBS_STORAGE): { type: string; props: Record<string, string>; hasPassword: boolean; host: string | null } | null {
    const s = lib.readSections(this.dir, 'storage.cfg').find((x) => x.id === id);
    if (!s) return null;
    const r = lib.resolveStorage(this.dir, id);
    return { type: s.type, props: s.props, hasPassword: fs.existsSync(lib.passwordFile(this.dir, id)), host: r.error ? null : (r.host ?? null) };
  }

  /** The datastore.cfg entries of a host's PBS. */
  datastores(host: string): { name: string; path: string; comment?: string; 'maintenance-mode'?: string }[] {
    return lib.hostPbs(this.dir, host).datastores as { name: string; path: string }[];
  }

  fingerprint(host: string): string {
    return lib.hostPbs(this.dir, host).fingerprint;
  }

  /** The disk whose /dev/disk/by-id name carries `serial` (udev's ID_SERIAL is <model>_<serial>), or null. */
  diskBySerial(serial: string): DiskState | null {
    return lib.disks(this.dir).find((x) => x.byId.endsWith(`_${serial}`)) ?? null;
  }

  /** Where the disk is attached and where its pool is imported (null: exported). */
  disk(byId = PBS_DISK): DiskState {
    const d = lib.disks(this.dir).find((x) => x.byId === byId);
    if (!d) throw new Error(`no lab disk ${byId}`);
    return d;
  }

  /** vzdump jobs in jobs.cfg: id, storage, enabled. */
  backupJobs(): { id: string; storage: string; enabled: boolean }[] {
    return lib
      .readSections(this.dir, 'jobs.cfg')
      .filter((s) => s.type === 'vzdump')
      .map((s) => ({ id: s.id, storage: s.props.storage ?? '', enabled: s.props.enabled !== '0' }));
  }

  /** Fault: the verify state of a guest's latest snapshot (e.g. 'failed'; null: never verified). */
  setVerifyState(type: 'vm' | 'ct', id: string, state: 'ok' | 'failed' | null, byId = PBS_DISK): void {
    const d = this.disk(byId);
    const snaps = d.chunkStore!.snapshots.filter((s) => s.type === type && s.id === id).sort((a, b) => a.time.localeCompare(b.time));
    const last = snaps[snaps.length - 1];
    if (!last) throw new Error(`no snapshot of ${type}/${id}`);
    if (state === null) delete last.verification;
    else last.verification = { state, upid: lib.fakeUpid(d.attachedTo, 'verify', `${PBS_DATASTORE}:${type}/${id}`) };
    lib.saveDisk(this.dir, d);
  }

  /** The PBS version a host runs (`proxmox-backup-manager versions`), e.g. '3.2.4-1' for an older release. */
  setPbsVersion(host: string, version: string): void {
    this.editHost(host, (p) => {
      p.version = version;
    });
  }

  /** Adds settings (gc-schedule, notify, verify-new, ...) to a datastore.cfg entry of a host. */
  updateDatastore(host: string, name: string, settings: Record<string, string>): void {
    this.editHost(host, (p) => {
      const d = p.datastores.find((x) => x.name === name);
      if (!d) throw new Error(`no datastore ${name} on ${host}`);
      Object.assign(d, settings);
    });
  }

  /** A verification, prune, sync or tape backup job on a host's PBS. */
  addPbsJob(host: string, kind: PbsJobKind, job: PbsJob): void {
    this.editHost(host, (p) => p.jobs[kind].push(job));
  }

  removePbsJob(host: string, kind: PbsJobKind, id: string): void {
    this.editHost(host, (p) => {
      p.jobs[kind] = p.jobs[kind].filter((j) => j.id !== id);
    });
  }

  pbsJobs(host: string): Record<PbsJobKind, PbsJob[]> {
    return lib.hostPbs(this.dir, host).jobs;
  }

  addPbsAcl(host: string, acl: PbsAcl): void {
    this.editHost(host, (p) => p.acl.push(acl));
  }

  pbsAcls(host: string): PbsAcl[] {
    return lib.hostPbs(this.dir, host).acl;
  }

  /** A sync remote configured on a host's PBS (remote.cfg). */
  addRemote(host: string, remote: { name: string; host: string; 'auth-id': string }): void {
    this.editHost(host, (p) => p.remotes.push(remote));
  }

  private editHost(host: string, fn: (p: HostPbs) => void): void {
    const p = lib.hostPbs(this.dir, host);
    fn(p);
    lib.saveHostPbs(this.dir, host, p);
  }

  /** Sets options of the PVE storage entry (namespace, nodes, encryption-key fingerprint, ...). */
  setStorageOptions(props: Record<string, string>, id = PBS_STORAGE): void {
    const all = lib.readSections(this.dir, 'storage.cfg');
    const s = all.find((x) => x.id === id);
    if (!s) throw new Error(`no storage ${id}`);
    Object.assign(s.props, props);
    lib.writeSections(this.dir, 'storage.cfg', all);
  }

  /** Writes (or reads, null: absent) a storage secret file: the encryption key (.enc) or the master pubkey (.master.pem). */
  writeStorageSecret(kind: 'enc' | 'master', content: string, id = PBS_STORAGE): void {
    fs.writeFileSync(kind === 'enc' ? lib.encryptionKeyFile(this.dir, id) : lib.masterPubkeyFile(this.dir, id), content, { mode: 0o600 });
  }

  storageSecret(kind: 'enc' | 'master', id = PBS_STORAGE): string | null {
    const f = kind === 'enc' ? lib.encryptionKeyFile(this.dir, id) : lib.masterPubkeyFile(this.dir, id);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null;
  }

  /** PVE's ACLs (/etc/pve/user.cfg), as `pvesh get /access/acl` lists them. */
  pveAcls(): PveAcl[] {
    return lib.pveAcls(this.dir);
  }

  addPveAcl(acl: PveAcl): void {
    lib.savePveAcls(this.dir, [...lib.pveAcls(this.dir), acl]);
  }

  /** Fault: a vzdump task is running on `node` (true) or finishes (false). */
  runningBackupJob(running: boolean, node = PBS_FROM): void {
    const list = lib.tasks(this.dir).filter((t) => !(t.type === 'vzdump' && t.status === undefined));
    if (running) {
      const start = Math.floor(Date.now() / 1000);
      list.push({ upid: lib.fakeUpid(node, 'vzdump', '', start), node, pid: 1000 + (start % 50000), pstart: start % 100000000, starttime: start, type: 'vzdump', id: '', user: 'root@pam' });
    }
    lib.saveTasks(this.dir, list);
  }
}
