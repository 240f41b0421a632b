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

function destroy(host, ctid) {
  fs.rmSync(ctDir(host, ctid), { recursive: true, force: true });
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

module.exports = { ctDir, load, loadOrDie, save, unitState, setUnitState, enabledUnits, start, stop, destroy, list };
