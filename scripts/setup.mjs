#!/usr/bin/env node
// The whole set-up of a fresh clone, run by `npm start` (setup.mjs start) and `npm test` (setup.mjs test):
// npm packages, the Debian packages (lab/requirements.json; installed with apt-get as root, otherwise
// the one exact command to run is printed), the Temporal CLI and, for the tests, the Java test server
// and the Temporal server for PostgreSQL. Each slow part prints a line with its expected duration; a
// second run only checks (about a second). Plain Node, no dependencies: it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv[2] ?? 'start';
if (!['start', 'test'].includes(purpose)) fail(`usage: node scripts/setup.mjs start|test (got "${purpose}")`);
const ownHomelab = purpose === 'start' && Boolean(process.env.RUNBOOK_INVENTORY); // no lab: your own hosts
const isRoot = process.getuid?.() === 0;

function say(line) {
  process.stderr.write(`setup: ${line}\n`);
}
function fail(line) {
  process.stderr.write(`setup: ${line}\n`);
  process.exit(1);
}
/** Runs a slow part with a line before (what, and how long it usually takes) and after (how long it took). */
function slow(what, expected, fn) {
  say(`${what} (${expected})…`);
  const t = Date.now();
  const out = fn();
  say(`${what}: done in ${Math.round((Date.now() - t) / 1000)} s`);
  return out;
}
function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
}

// --- Node itself
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) fail(`Node ${process.versions.node} is too old: this project needs Node 20 or later (https://nodejs.org, or Debian's nodejs from bookworm-backports)`);

// --- npm packages: `npm ci` when node_modules does not match package-lock.json
const lockSha = createHash('sha256').update(fs.readFileSync(path.join(ROOT, 'package-lock.json'))).digest('hex');
const stamp = path.join(ROOT, 'node_modules', '.homelab-runbooks-setup.json');
const stamped = (() => {
  try {
    return JSON.parse(fs.readFileSync(stamp, 'utf8')).lockSha;
  } catch {
    return undefined;
  }
})();
if (stamped !== lockSha) {
  const r = slow('npm packages: npm ci', 'about a minute, once', () => run('npm', ['ci', '--no-audit', '--no-fund']));
  if (r.status !== 0) fail('npm ci failed (see above)');
  // npm here may not run install scripts: the native pieces must load from their prebuilt binaries
  const check = run(process.execPath, ['-e', "require('@temporalio/core-bridge')"]);
  if (check.status !== 0) fail("@temporalio/core-bridge does not load (its prebuilt native binary is missing for this platform)");
  fs.writeFileSync(stamp, JSON.stringify({ lockSha }) + '\n');
}

// --- Debian packages
const req = JSON.parse(fs.readFileSync(path.join(ROOT, 'lab', 'requirements.json'), 'utf8'));
const wanted = ownHomelab ? req.worker : purpose === 'test' ? [...req.lab, ...req.test] : req.lab;
const missing = [...new Set(wanted.filter((r) => !found(r.command)).map((r) => r.package))];
if (missing.length) {
  const install = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!isRoot) {
    fail(`missing Debian packages: ${missing.join(', ')}. Install them as root, then run this again:\n` +
      `  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${install}`);
  }
  const r = slow(`Debian packages: ${missing.join(' ')}`, 'one to a few minutes, once', () => {
    const u = run('apt-get', ['update', '-q']);
    if (u.status !== 0) return u;
    return run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  });
  if (r.status !== 0) fail(`apt-get failed (see above); the command was: ${install}`);
  // Debian starts what it installs; the lab and the tests run their own sshd, etcd and PostgreSQL
  for (const svc of ['ssh', 'etcd', 'postgresql']) {
    if (missing.includes({ ssh: 'openssh-server', etcd: 'etcd-server', postgresql: 'postgresql' }[svc])) run('service', [svc, 'stop'], { stdio: 'ignore' });
  }
  const still = wanted.filter((w) => !found(w.command));
  if (still.length) fail(`still missing after apt-get: ${still.map((w) => `${w.command} (${w.package})`).join(', ')}`);
}
if (!ownHomelab && !isRoot) fail('the lab needs root (it runs each host and VM in its own mount namespace): run as root, e.g. `sudo npm start`');

// --- Temporal: the CLI (dev server), and for the tests the Java test server and the PostgreSQL server
cached('Temporal CLI v1.5.1', 'scripts/temporal-cli.sh');
if (purpose === 'test') {
  cached('Temporal test server (Java, time skipping)', 'scripts/temporal-test-server.sh');
  if (fs.existsSync(path.join(ROOT, 'scripts', 'temporal-server.sh'))) {
    cached('Temporal server and SQL tool for PostgreSQL', 'scripts/temporal-server.sh', { sdkDownloads: false }); // nothing downloads it: the PostgreSQL e2e needs it built
  }
}
say(`ready for npm ${purpose === 'start' ? 'start' : 'test'}`);

/** A cache script (found, cached, or built once) prints a path; it says itself what it builds and how long that takes. */
function cached(what, script, { sdkDownloads = true } = {}) {
  const t = Date.now();
  const r = spawnSync('bash', [script], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status === 3 && sdkDownloads) say(`${what}: none here; the SDK downloads it when needed (needs internet)`);
  else if (r.status !== 0) fail(`${what}: ${script} failed (exit ${r.status}, see above)`);
  const s = Math.round((Date.now() - t) / 1000);
  if (s >= 5) say(`${what}: ready in ${s} s (${r.stdout.trim()})`);
}

/** A command is found by absolute path (one `*` directory allowed, e.g. /usr/lib/postgresql/*\/bin/initdb) or on PATH. */
function found(command) {
  if (command.includes('*')) {
    const [before, after] = command.split('*');
    try {
      return fs.readdirSync(before).some((d) => isExecutable(before + d + after));
    } catch {
      return false;
    }
  }
  if (command.startsWith('/')) return isExecutable(command);
  return (process.env.PATH ?? '').split(':').some((d) => d && isExecutable(path.join(d, command)));
}
function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
