'use strict';
// LXC containers of a lab host: $LAB_DIR/hosts/<host>/cts/<ctid>/{ct.json, fs/, run/}.
// Shared by pct, vzdump and systemctl inside a CT (lib/ct-systemctl.js).
const fs = require('node:fs');
const path = require('node:path');
const c = require('./common.js');

function ctDir(host, ctid) {
  return path.join(c.LAB_DIR, 'hosts', host, 'cts', String(ctid));
}

/** ct.json of a CT on this host, or null when the CT does not exist. */
function load(host, ctid) {
  return c.readJson(path.join(ctDir(host, ctid), 'ct.json'), null);
}

/** The CT or pve-guest-common's "does not exist" error (exit 2, as the lab's qm). */
function loadOrDie(host, ctid) {
  const ct = /^\d+$/.test(String(ctid)) ? load(host, ctid) : null;
  if (!ct) c.die(`Configuration file 'nodes/${host}/lxc/${ctid}.conf' does not exist`, 2);
  return ct;
}

function save(host, ctid, ct) {
  c.writeJson(path.join(ctDir(host, ctid), 'ct.json'), ct);
}

function unitStatePath(host, ctid, unit) {
  return path.join(ctDir(host, ctid), 'run', `${unit.replace(/\.service$/, '')}.json`);
}

function unitState(host, ctid, unit) {
  const ct = load(host, ctid);
  if (!ct || ct.status !== 'running') return { state: 'inactive', sub: 'dead' };
  return c.readJson(unitStatePath(host, ctid, unit), { state: 'inactive', sub: 'dead' });
}

function setUnitState(host, ctid, unit, state) {
  const file = unitStatePath(host, ctid, unit);
  if (state === 'inactive') return fs.rmSync(file, { force: true });
  c.writeJson(file, { state, sub: state === 'active' ? 'running' : 'dead', since: new Date().toISOString() });
}

/** Units enabled in the CT's own /etc/systemd/system (multi-user.target.wants). */
function enabledUnits(host, ctid) {
  const wants = path.join(ctDir(host, ctid), 'fs', 'etc', 'systemd', 'system', 'multi-user.target.wants');
  try {
    return fs.readdirSync(wants);
  } catch {
    return [];
  }
}

/** Boot: status running, enabled units active. */
function start(host, ctid) {
  const ct = load(host, ctid);
  ct.status = 'running';
  fs.mkdirSync(path.join(ctDir(host, ctid), 'run'), { recursive: true });
  for (const u of enabledUnits(host, ctid)) setUnitState(host, ctid, u, 'active');
  save(host, ctid, ct);
}

/** Power off: status stopped, volatile state gone. */
function stop(host, ctid) {
  const ct = load(host, ctid);
  ct.status = 'stopped';
  save(host, ctid, ct);
  fs.rmSync(path.join(ctDir(host, ctid), 'run'), { recursive: true, force: true });
}

const TRUE = /^(1|true|yes|on)$/i;

/**
 * The CT's volumes in pve-container's order (src/PVE/LXC/Config.pm valid_volume_keys_with_unused:
 * rootfs, mp0..mp255, unused0..): key, volid, type (classify_mountpoint: /dev/... device, /... bind,
 * else a storage volume), mount path (rootfs is '/'), backup flag, and the owner CT id that
 * PVE::Storage::parse_volname reads from the volume name (LvmThinPlugin.pm/ZFSPoolPlugin.pm parse_volname: vm-/base-/subvol-/basevol-<id>-...).
 */
function volumes(ct) {
  const keys = Object.keys(ct).filter((k) => /^(mp|unused)\d+$/.test(k));
  const num = (k) => Number(k.replace(/^\D+/, ''));
  keys.sort((a, b) => (a[0] === b[0] ? num(a) - num(b) : a.startsWith('mp') ? -1 : 1));
  if (ct.rootfs !== undefined) keys.unshift('rootfs');
  return keys.map((key) => {
    const parts = String(ct[key]).split(',');
    const opts = {};
    let volid = '';
    for (const [i, p] of parts.entries()) {
      const eq = p.indexOf('=');
      if (eq < 0 && i === 0) volid = p;
      else if (eq >= 0 && p.slice(0, eq) === 'volume') volid = p.slice(eq + 1);
      else if (eq >= 0) opts[p.slice(0, eq)] = p.slice(eq + 1);
    }
    const type = volid.startsWith('/dev/') ? 'device' : volid.startsWith('/') ? 'bind' : 'volume';
    const owner = type === 'volume' ? (/(?:^|[:/])(?:vm|base|subvol|basevol)-(\d+)-/.exec(volid) || [])[1] : undefined;
    return {
      key,
      volid,
      type,
      mp: key === 'rootfs' ? '/' : opts.mp,
      backup: TRUE.test(opts.backup || ''),
      owner: owner === undefined ? null : Number(owner),
    };
  });
}

/** Where the host keeps a bind mount's source directory (it outlives the CT). */
function hostPath(host, p) {
  return path.join(c.LAB_DIR, 'hosts', host, 'fs', p);
}

/**
 * pve-container src/PVE/LXC.pm destroy_lxc_container: every volume of rootfs, mpN and unusedN that
 * the CT owns is freed (delete_mountpoint_volume; a bind or device mount point is not a volume and is
 * left alone, so its data stays on the host). The CT's files under a bind mount's path are moved to
 * the host's side of that mount (hosts/<host>/fs/<source>); everything else in the CT goes.
 * Returns the volumes it freed and those it left because another CT owns them.
 */
function destroy(host, ctid) {
  const ct = load(host, ctid);
  const freed = [];
  const foreign = [];
  for (const v of ct ? volumes(ct) : []) {
    if (v.type === 'bind' && v.mp) {
      const inCt = path.join(ctDir(host, ctid), 'fs', v.mp);
      if (fs.existsSync(inCt)) {
        const dst = hostPath(host, v.volid);
        fs.rmSync(dst, { recursive: true, force: true });
        fs.mkdirSync(path.dirname(dst), { recursive: true });
        fs.renameSync(inCt, dst);
      }
    }
    if (v.type !== 'volume' || freed.includes(v.volid)) continue;
    if (v.owner === ctid) freed.push(v.volid);
    else foreign.push(v.volid);
  }
  fs.rmSync(ctDir(host, ctid), { recursive: true, force: true });
  return { freed, foreign };
}

/** The host a CT's config lives on (CT ids are unique in the cluster, pmxcfs .vmlist), or null. */
function hostOf(ctid) {
  const hostsDir = path.join(c.LAB_DIR, 'hosts');
  for (const h of fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir).sort() : []) if (load(h, ctid)) return h;
  return null;
}

/** CT ids on this host, sorted numerically. */
function list(host) {
  const dir = path.join(c.LAB_DIR, 'hosts', host, 'cts');
  let ids = [];
  try {
    ids = fs.readdirSync(dir).filter((d) => /^\d+$/.test(d) && load(host, d));
  } catch {
    /* no CTs */
  }
  return ids.map(Number).sort((a, b) => a - b);
}

module.exports = { ctDir, load, loadOrDie, save, unitState, setUnitState, enabledUnits, start, stop, destroy, list, volumes, hostPath, hostOf };
