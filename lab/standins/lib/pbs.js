'use strict';
// Phase 2's lab state, shared by the stand-ins proxmox-backup-manager, pvesm, pvesh, zpool (and
// the Phase 4 vzdump stand-in through addSnapshot/listSnapshots):
//   $LAB_DIR/pbs/disks/<by-id name>.json  a disk: which host it is attached to, its ZFS pool (imported
//                                         where, exported or not) and the PBS chunk store on it
//                                         (snapshot index with each snapshot's verify state)
//   $LAB_DIR/hosts/<h>/pbs.json           that host's PBS: datastore.cfg entries, certificate fingerprint
//   $LAB_DIR/hosts/<h>/disk-by-id/        bind-mounted over /dev/disk/by-id in that host's sessions
//   $LAB_DIR/pve/                         bind-mounted over /etc/pve (cluster-wide, as pmxcfs):
//                                         storage.cfg, jobs.cfg, priv/storage/<id>.pw (real formats)
//   $LAB_DIR/pbs/tasks.json               the cluster task list (/cluster/tasks), running ones lack status
const fs = require('node:fs');
const path = require('node:path');
const c = require('./common.js');

const dirOf = (dir) => dir || c.LAB_DIR;
const disksDir = (dir) => path.join(dirOf(dir), 'pbs', 'disks');
const hostPbsFile = (dir, host) => path.join(dirOf(dir), 'hosts', host, 'pbs.json');
const pveDir = (dir) => path.join(dirOf(dir), 'pve');

function labJson(dir) {
  return JSON.parse(fs.readFileSync(path.join(dirOf(dir), 'lab.json'), 'utf8'));
}

// ---- disks and pools ----

function disks(dir) {
  const d = disksDir(dir);
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d).filter((f) => f.endsWith('.json')).sort().map((f) => c.readJson(path.join(d, f), null)).filter(Boolean);
}

function saveDisk(dir, disk) {
  c.writeJson(path.join(disksDir(dir), `${disk.byId}.json`), disk);
}

/** The by-id symlinks of a host: whole disk and ZFS's part1/part9 (a whole-disk vdev). */
function writeByIdLinks(dir, host) {
  const d = path.join(dirOf(dir), 'hosts', host, 'disk-by-id');
  fs.mkdirSync(d, { recursive: true });
  for (const f of fs.readdirSync(d)) fs.rmSync(path.join(d, f), { force: true });
  for (const disk of disks(dir).filter((x) => x.attachedTo === host)) {
    fs.symlinkSync(`../../${disk.dev}`, path.join(d, disk.byId));
    fs.symlinkSync(`../../${disk.dev}1`, path.join(d, `${disk.byId}-part1`));
    fs.symlinkSync(`../../${disk.dev}9`, path.join(d, `${disk.byId}-part9`));
  }
}

/** The pool named `name` as host `host` sees it: imported there, or importable from an attached disk. */
function poolOn(dir, host, name) {
  const disk = disks(dir).find((x) => x.pool && x.pool.name === name && x.attachedTo === host);
  if (!disk) return { disk: null, imported: false };
  return { disk, imported: disk.pool.importedOn === host };
}

function importedPools(dir, host) {
  return disks(dir).filter((x) => x.attachedTo === host && x.pool && x.pool.importedOn === host);
}

// ---- PBS per host ----

/**
 * A host's PBS: datastore.cfg entries, its jobs (verification.cfg, prune.cfg, sync.cfg, tape-job.cfg), its ACLs
 * (acl.cfg, as AclListItem), its remotes, its certificate fingerprint and the installed version.
 */
function hostPbs(dir, host) {
  const v = c.readJson(hostPbsFile(dir, host), { datastores: [], fingerprint: '' });
  v.jobs = { verify: [], prune: [], sync: [], tape: [], ...(v.jobs || {}) };
  v.acl = v.acl || [];
  v.remotes = v.remotes || [];
  v.version = v.version || DEFAULT_PBS_VERSION;
  return v;
}

/** The version a lab host's PBS runs unless a test says otherwise (a release that has --reuse-datastore). */
const DEFAULT_PBS_VERSION = '4.0.14-1';

function saveHostPbs(dir, host, v) {
  c.writeJson(hostPbsFile(dir, host), v);
}

/** The disk whose imported pool holds a chunk store at `p` on `host`, or null. */
function chunkStoreAt(dir, host, p) {
  return importedPools(dir, host).find((x) => x.chunkStore && x.chunkStore.path === p) || null;
}

// ---- PVE section config (storage.cfg, jobs.cfg) [src pve-common SectionConfig: "type: id" + tab-indented "key value"] ----

function parseSections(text) {
  const out = [];
  let cur = null;
  for (const line of String(text).split('\n')) {
    const head = /^(\S+):\s+(\S+)\s*$/.exec(line);
    if (head) {
      cur = { type: head[1], id: head[2], props: {} };
      out.push(cur);
    } else if (cur && /^\s+\S/.test(line)) {
      const m = /^\s+(\S+)(?:\s+(.*))?$/.exec(line);
      cur.props[m[1]] = m[2] === undefined ? '' : m[2];
    } else if (!line.trim()) {
      cur = null;
    }
  }
  return out;
}

function printSections(sections) {
  return sections.map((s) => `${s.type}: ${s.id}\n${Object.entries(s.props).map(([k, v]) => `\t${k} ${v}\n`).join('')}`).join('\n');
}

function readSections(dir, file) {
  const f = path.join(pveDir(dir), file);
  return fs.existsSync(f) ? parseSections(fs.readFileSync(f, 'utf8')) : [];
}

function writeSections(dir, file, sections) {
  const f = path.join(pveDir(dir), file);
  const tmp = `${f}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, printSections(sections));
  fs.renameSync(tmp, f);
}

function passwordFile(dir, storeid) {
  return path.join(pveDir(dir), 'priv', 'storage', `${storeid}.pw`);
}

/** The other secrets of a PBS storage [src pve-storage PBSPlugin.pm pbs_encryption_key_file_name, pbs_master_pubkey_file_name]. */
function encryptionKeyFile(dir, storeid) {
  return path.join(pveDir(dir), 'priv', 'storage', `${storeid}.enc`);
}
function masterPubkeyFile(dir, storeid) {
  return path.join(pveDir(dir), 'priv', 'storage', `${storeid}.master.pem`);
}

// ---- PVE ACLs in /etc/pve/user.cfg [src pve-access-control AccessControl.pm write_user_config:
//      "acl:<propagate>:<path>:<users,@groups,tokens>:<roles>:"; API2/ACL.pm read_acl lists one
//      {path, type user|group|token, ugid, roleid, propagate} per member and role] ----

function readUserCfg(dir) {
  const f = path.join(pveDir(dir), 'user.cfg');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
}

function pveAcls(dir) {
  const out = [];
  for (const line of readUserCfg(dir).split('\n')) {
    const m = /^acl:([01]):([^:]+):([^:]*):([^:]*):$/.exec(line.trim());
    if (!m) continue;
    for (const member of m[3].split(',').filter(Boolean)) {
      for (const role of m[4].split(',').filter(Boolean)) {
        const type = member.startsWith('@') ? 'group' : member.includes('!') ? 'token' : 'user';
        out.push({ path: m[2], type, ugid: member.replace(/^@/, ''), roleid: role, propagate: Number(m[1]) });
      }
    }
  }
  return out;
}

/** Rewrites user.cfg's acl lines from `acls` (one line per entry), keeping every other line. */
function savePveAcls(dir, acls) {
  const rest = readUserCfg(dir).split('\n').filter((l) => l.trim() && !l.startsWith('acl:'));
  const lines = acls.map((a) => `acl:${a.propagate ? 1 : 0}:${a.path}:${a.type === 'group' ? '@' : ''}${a.ugid}:${a.roleid}:`);
  const f = path.join(pveDir(dir), 'user.cfg');
  fs.writeFileSync(`${f}.tmp`, [...rest, ...lines].join('\n') + '\n');
  fs.renameSync(`${f}.tmp`, f);
}

// ---- reaching a datastore through a PVE storage of type pbs ----

/**
 * The PBS behind a PVE storage, or an Error with the message PVE prints. [src pve-storage
 * PBSPlugin.pm list_volumes: `die "error listing snapshots - $@"`; the causes below are the PBS API's
 * answers: "datastore '<n>' does not exist." (api2/config/datastore.rs), "offline maintenance mode: "
 * (pbs-api-types maintenance.rs); a host that is off refuses the connection (LWP's message).]
 */
function resolveStorage(dir, storeid) {
  const s = readSections(dir, 'storage.cfg').find((x) => x.id === storeid);
  if (!s) return { error: `storage '${storeid}' does not exist` };
  if (s.type !== 'pbs') return { error: `storage '${storeid}' is not a Proxmox Backup Server storage` };
  const p = s.props;
  const port = p.port || '8007';
  const l = labJson(dir);
  const host = Object.keys(l.hosts).find((h) => l.hosts[h].address === p.server);
  const refused = `500 Can't connect to ${p.server}:${port} (Connection refused)`;
  if (!host || !c.alive(l.pids[`sshd:${host}`])) return { error: refused };
  const pbs = hostPbs(dir, host);
  if (!pbs.fingerprint) return { error: refused };
  if (p.fingerprint && p.fingerprint.toLowerCase() !== pbs.fingerprint.toLowerCase()) {
    return { error: `500 Can't connect to ${p.server}:${port} (certificate verify failed: fingerprint mismatch)` };
  }
  const ds = pbs.datastores.find((d) => d.name === p.datastore);
  if (!ds) return { error: `404 Not Found: datastore '${p.datastore}' does not exist.` };
  if (/(^|,)(type=)?offline/.test(ds['maintenance-mode'] || '')) return { error: '400 Bad Request: offline maintenance mode: ' };
  const disk = chunkStoreAt(dir, host, ds.path);
  if (!disk) {
    return { error: `400 Bad Request: unable to open chunk store '${ds.name}' at "${ds.path}/.chunks" - ENOENT: No such file or directory` };
  }
  return { storage: s, host, datastore: ds, disk };
}

/** ISO time without fractions, as PVE prints a PBS backup time (strftime "%FT%TZ"). */
function isoSeconds(time) {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) throw new Error(`invalid backup time ${JSON.stringify(time)}`);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Phase 4's vzdump writes its archive here: a new snapshot in the datastore behind PVE storage
 * `storeid` (verified: a fresh backup is verified by the lab's verify-new). Throws the real message
 * when the storage or datastore cannot be reached.
 */
function addSnapshot(storeid, snap, dir) {
  const r = resolveStorage(dir, storeid);
  if (r.error) throw new Error(r.error);
  if (!['ct', 'vm'].includes(snap.type) || !/^\d+$/.test(String(snap.id))) throw new Error(`invalid backup group ${snap.type}/${snap.id}`);
  const disk = r.disk;
  const entry = { type: snap.type, id: String(snap.id), time: isoSeconds(snap.time), verification: { state: 'ok', upid: fakeUpid(r.host, 'verify') } };
  disk.chunkStore.snapshots = disk.chunkStore.snapshots.filter((x) => !(x.type === entry.type && x.id === entry.id && x.time === entry.time));
  disk.chunkStore.snapshots.push(entry);
  saveDisk(dir, disk);
  return { type: entry.type, id: entry.id, time: entry.time, verified: true };
}

/** Every snapshot in the datastore behind PVE storage `storeid`: [{ type, id, time, verified }]. */
function listSnapshots(storeid, dir) {
  const r = resolveStorage(dir, storeid);
  if (r.error) throw new Error(r.error);
  return sortSnapshots(r.disk.chunkStore.snapshots).map((s) => ({
    type: s.type,
    id: s.id,
    time: s.time,
    verified: Boolean(s.verification && s.verification.state === 'ok'),
  }));
}

function sortSnapshots(list) {
  return [...list].sort((a, b) => a.type.localeCompare(b.type) || Number(a.id) - Number(b.id) || a.time.localeCompare(b.time));
}

/** A UPID as PVE/PBS print them: UPID:<node>:<pid hex 8>:<pstart hex 8>:<starttime hex 8>:<type>:<id>:<user>: */
function fakeUpid(node, type, id = '', starttime = Math.floor(Date.now() / 1000)) {
  const hex = (n) => n.toString(16).toUpperCase().padStart(8, '0');
  return `UPID:${node}:${hex(1000 + (starttime % 50000))}:${hex(starttime % 100000000)}:${hex(starttime)}:${type}:${id}:root@pam:`;
}

// ---- cluster tasks ----

const tasksFile = (dir) => path.join(dirOf(dir), 'pbs', 'tasks.json');
function tasks(dir) {
  return c.readJson(tasksFile(dir), []);
}
function saveTasks(dir, list) {
  c.writeJson(tasksFile(dir), list);
}

module.exports = {
  disks, saveDisk, writeByIdLinks, poolOn, importedPools, hostPbs, saveHostPbs, chunkStoreAt,
  parseSections, printSections, readSections, writeSections, passwordFile, encryptionKeyFile, masterPubkeyFile,
  pveAcls, savePveAcls, resolveStorage, DEFAULT_PBS_VERSION,
  addSnapshot, listSnapshots, sortSnapshots, isoSeconds, fakeUpid, tasks, saveTasks, labJson,
};
