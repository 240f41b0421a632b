'use strict';
// The VM's journal: one JSON line per message in <VM fs>/var/log/journal/<unit>.jsonl, rendered by
// journalctl in its "short" format (`Nov 25 16:40:01 host ident[pid]: msg`).
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');

/** Inside the VM namespace /var/log is the VM's own; outside, pass the VM dir. */
function journalFile(unit, vmDir) {
  const base = vmDir ? path.join(vmDir, 'fs', 'var', 'log') : '/var/log';
  return path.join(base, 'journal', `${unit.replace(/\.service$/, '')}.service.jsonl`);
}

function append(unit, ident, pid, msg, vmDir) {
  const file = journalFile(unit, vmDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lines = String(msg).replace(/\n$/, '').split('\n');
  const host = os.hostname();
  const out = lines.map((m) => JSON.stringify({ ts: Date.now(), host, ident, pid, msg: m })).join('\n');
  fs.appendFileSync(file, out + '\n');
}

function read(unit, vmDir) {
  try {
    return fs
      .readFileSync(journalFile(unit, vmDir), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n) => String(n).padStart(2, '0');

function render(e, fmt) {
  if (fmt === 'cat') return e.msg;
  const d = new Date(e.ts);
  const stamp = `${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `${stamp} ${e.host} ${e.ident}[${e.pid}]: ${e.msg}`;
}

module.exports = { journalFile, append, read, render };
