// The set-up names what is missing and how to get it, before anything starts: the Debian packages
// (scripts/setup.mjs as a user who is not root, lab/src/requirements.ts for the lab itself).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertLabRequirements, labRequirements } from '../../lab/src/requirements';

const ROOT = path.resolve(__dirname, '..', '..');

/** A copy of the set-up with its npm packages "installed" and one Debian package missing. */
function setupCopy(missing: { command: string; package: string }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'setup-copy-'));
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.mkdirSync(path.join(dir, 'lab'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'setup.mjs'), path.join(dir, 'scripts', 'setup.mjs'));
  const lock = fs.readFileSync(path.join(ROOT, 'package-lock.json'));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), lock);
  const lockSha = createHash('sha256').update(lock).digest('hex');
  fs.writeFileSync(path.join(dir, 'node_modules', '.homelab-runbooks-setup.json'), JSON.stringify({ lockSha }));
  const req = { lab: [...labRequirements(), { ...missing, why: 'test' }], worker: [], test: [] };
  fs.writeFileSync(path.join(dir, 'lab', 'requirements.json'), JSON.stringify(req));
  fs.chmodSync(dir, 0o755);
  for (const d of ['scripts', 'lab', 'node_modules']) fs.chmodSync(path.join(dir, d), 0o755);
  return dir;
}

test('setup as a user who is not root: stops at once with the one exact apt-get command for what is missing', (t) => {
  const dir = setupCopy({ command: '/usr/sbin/no-such-daemon', package: 'no-such-package' });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, path.join(dir, 'scripts', 'setup.mjs'), 'start'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /missing Debian packages: no-such-package\./);
  assert.match(r.stderr, /sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends no-such-package\n/);
  assert.doesNotMatch(r.stderr, /openssh-server|etcd-server/, 'only what is missing is named');
});

test('setup as a user who is not root, with every package there: the lab needs root, said before anything starts', (t) => {
  const dir = setupCopy({ command: process.execPath, package: 'nodejs' });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, path.join(dir, 'scripts', 'setup.mjs'), 'start'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /the lab needs root/);
});

test('the lab names a missing tool with its package and the install command', () => {
  assert.throws(
    () => assertLabRequirements([...labRequirements(), { command: '/usr/sbin/no-such-sshd', package: 'no-such-server', why: 'a test' }]),
    /missing: \/usr\/sbin\/no-such-sshd \(no-such-server: a test\)\. Install with: apt-get install -y --no-install-recommends no-such-server/,
  );
  assert.throws(() => assertLabRequirements([{ command: 'no-such-command-on-path', package: 'pkg-x', why: 'y' }]), /no-such-command-on-path \(pkg-x/);
});

test('this machine has everything the lab needs (so the check passes where the lab runs)', () => {
  assert.doesNotThrow(() => assertLabRequirements());
});
