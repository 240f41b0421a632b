'use strict';
// Unit files and unit state, shared by systemctl, the runner and vmctl.
// Unit files live in the VM's /etc/systemd/system (the real path inside the VM namespace);
// the volatile state of a running unit lives in <vm>/run/<unit>.json.
const fs = require('node:fs');
const path = require('node:path');
const c = require('./common.js');

const UNIT_DIR = '/etc/systemd/system';
const unitName = (u) => {
  const b = path.basename(u); // `systemctl enable /etc/systemd/system/k3s.service` names a unit by path
  return b.endsWith('.service') ? b : `${b}.service`;
};
const baseName = (u) => unitName(u).replace(/\.service$/, '');

function unitPath(u, vmDir) {
  return vmDir ? path.join(vmDir, 'fs', UNIT_DIR, unitName(u)) : path.join(UNIT_DIR, unitName(u));
}

function wantsPath(u, vmDir) {
  const rel = path.join(UNIT_DIR, 'multi-user.target.wants', unitName(u));
  return vmDir ? path.join(vmDir, 'fs', rel) : rel;
}

function statePath(u, vmDir) {
  return path.join(vmDir, 'run', `${baseName(u)}.json`);
}

/** Systemd-style word splitting: single/double quotes and backslash escapes. */
function splitWords(s) {
  const out = [];
  let cur = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (/\s/.test(ch)) {
      if (cur !== null) out.push(cur);
      cur = null;
    } else if (ch === "'" || ch === '"') {
      const end = s.indexOf(ch, i + 1);
      cur = (cur || '') + s.slice(i + 1, end < 0 ? s.length : end);
      i = end < 0 ? s.length : end;
    } else if (ch === '\\' && i + 1 < s.length) {
      cur = (cur || '') + s[++i];
    } else {
      cur = (cur || '') + ch;
    }
  }
  if (cur !== null) out.push(cur);
  return out;
}

/** Parse the [Service] bits the lab needs: ExecStart argv, environment files, Restart settings. */
function parseUnit(text) {
  const joined = text.replace(/\\\n/g, ' ');
  const unit = { execStart: null, envFiles: [], env: {}, description: '', restartSec: 5 };
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Za-z]+)=(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m;
    if (key === 'ExecStart') unit.execStart = splitWords(value);
    if (key === 'EnvironmentFile') unit.envFiles.push(value.trim());
    if (key === 'Description') unit.description = value.trim();
    if (key === 'RestartSec') unit.restartSec = parseFloat(value) || 0;
    if (key === 'Environment') for (const w of splitWords(value)) {
      const i = w.indexOf('=');
      if (i > 0) unit.env[w.slice(0, i)] = w.slice(i + 1);
    }
  }
  return unit;
}

/** KEY=VALUE lines with optional shell quotes, as systemd reads an EnvironmentFile. */
function readEnvFile(file) {
  const env = {};
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    env[m[1]] = splitWords(m[2]).join(' ');
  }
  return env;
}

/** Current state: inactive unless a live runner says otherwise. */
function state(u, vmDir) {
  const st = c.readJson(statePath(u, vmDir), null);
  if (!st || !c.alive(st.runnerPid)) return { state: 'inactive', sub: 'dead', failures: st ? st.failures || 0 : 0 };
  return st;
}

module.exports = { UNIT_DIR, unitName, baseName, unitPath, wantsPath, statePath, splitWords, parseUnit, readEnvFile, state };
