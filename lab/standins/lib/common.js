'use strict';
// Shared helpers for the stand-ins: where the lab state lives, who is calling (host / VM),
// the audit log, and small process utilities. Stand-ins only READ lab.json (the TS side owns it).
const fs = require('node:fs');
const path = require('node:path');

const LAB_DIR = process.env.LAB_DIR || '';
const LAB_HOST = process.env.LAB_HOST || '';
const LAB_VM = process.env.LAB_VM ? Number(process.env.LAB_VM) : null;

function die(msg, code) {
  if (msg) process.stderr.write(msg.endsWith('\n') ? msg : msg + '\n');
  process.exit(code);
}

function lab() {
  if (!LAB_DIR) die('lab: LAB_DIR is not set (run this inside a lab shell)', 127);
  return JSON.parse(fs.readFileSync(path.join(LAB_DIR, 'lab.json'), 'utf8'));
}

function vmDir(host, vmid) {
  return path.join(LAB_DIR, 'hosts', host, 'vms', String(vmid));
}

/** The VM this process runs in (inside `qm guest exec`), or null on a Proxmox host. */
function currentVm() {
  if (LAB_VM === null) return null;
  const l = lab();
  return l.vms.find((v) => v.vmid === LAB_VM && v.host === LAB_HOST) || null;
}

function readJson(file, fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return fallback;
  }
}

/** Atomic write so concurrent readers never see half a file. */
function writeJson(file, value) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); treat it as dead.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const TOKEN_RE = /K10[0-9a-f]{64}::[a-z]+:[0-9a-zA-Z]+/g;

/** Secrets never reach a log: the cluster token (and anything token-shaped) becomes ***. */
function mask(s) {
  let out = String(s).replace(TOKEN_RE, '***');
  try {
    const l = lab();
    const pw = String(l.token).split(':').pop();
    if (pw) out = out.split(pw).join('***');
  } catch {
    /* no lab.json: pattern masking only */
  }
  out = out.replace(/(K3S_TOKEN=)(\S+)/g, '$1***').replace(/(--token[= ])(\S+)/g, '$1***');
  return out;
}

/**
 * The lab's `ps`: every stand-in's argv exactly as the process got it (unmasked), one JSON line in
 * argv.log. On a real host any user reads it in /proc/<pid>/cmdline; tests assert no secret is ever there.
 */
function recordArgv(tool) {
  const own = process.argv.slice(2);
  const raw = path.basename(process.argv[1] || '') === 'audit.js' ? own.slice(1) : own;
  const entry = { host: LAB_HOST || null, vmid: LAB_VM, tool, argv: raw };
  fs.appendFileSync(path.join(LAB_DIR, 'argv.log'), JSON.stringify(entry) + '\n');
}

/** One JSON line per stand-in invocation (SPEC "Audit"). */
function audit(tool, argv, change) {
  if (!LAB_DIR || process.env.LAB_NO_AUDIT === '1') return;
  recordArgv(tool);
  const masked = argv.map(mask);
  const entry = {
    ts: new Date().toISOString(),
    host: LAB_HOST || null,
    vmid: LAB_VM,
    tool,
    argv: masked,
    change: Boolean(change),
  };
  // a secret was in this argv (visible in ps on a real host): tests check that none ever is
  if (masked.some((m, i) => m !== String(argv[i]))) entry.secretInArgv = true;
  fs.appendFileSync(path.join(LAB_DIR, 'audit.log'), JSON.stringify(entry) + '\n');
  hangOnce(tool, argv);
}

/**
 * Fault `lab.hangOnce(tool, ms, match)`: the next invocation of `tool` (whose argv contains `match`)
 * sleeps `ms` after its audit line, once. The fault file is claimed by rename, so one caller wins.
 */
function hangOnce(tool, argv) {
  const file = path.join(LAB_DIR, 'faults', `hang-${tool}`);
  let spec;
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  if (spec.match && !argv.join(' ').includes(spec.match)) return;
  try {
    fs.renameSync(file, `${file}.claimed.${process.pid}`);
  } catch {
    return; // another invocation claimed it
  }
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(spec.ms) || 0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { LAB_DIR, LAB_HOST, LAB_VM, die, lab, vmDir, currentVm, readJson, writeJson, alive, mask, audit, sleep };
