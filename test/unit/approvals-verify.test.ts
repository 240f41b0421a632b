// The worker's signature check with real OpenSSH keys: what verifies, and every way a signature
// made for something else is refused with a reason.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifySignature } from '../../src/activities/approvals/verify';
import { signText } from '../../src/shared/ssh-sign';
import { decisionText, type DecisionFields } from '../../src/workflows/runbook/decision';

let dir: string;
let allowed: string;
const key = (name: string) => path.join(dir, `id_${name}`);
const fingerprintOf = (name: string) => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key(name)}.pub`]).toString().split(' ')[1]!;
const pub = (name: string) => fs.readFileSync(`${key(name)}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');

const fields: DecisionFields = {
  namespace: 'default',
  workflowId: 'rejoin-k3s-vm-still-fawn',
  runId: '0196f0e2-9c1e-7d7a-8f00-4b1a2c3d4e5f',
  step: 'remove-stale-node',
  decision: 'approve',
  digest: 'a'.repeat(64),
};

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'approvals-verify-'));
  for (const name of ['alice', 'bob', 'carol', 'mallory']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key(name)]);
  allowed = path.join(dir, 'allowed_signers');
  // bob's key is listed twice, under two names; carol's once under two: still one key each
  fs.writeFileSync(allowed, `# approvers\nalice ${pub('alice')}\nbob ${pub('bob')}\ncarol,caroline ${pub('carol')}\nrobert ${pub('bob')}\n`);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function assertRefused(v: Awaited<ReturnType<typeof verifySignature>>, reason: RegExp): void {
  assert.equal(v.ok, false, `expected a refusal, got ${JSON.stringify(v)}`);
  if (!v.ok) {
    assert.match(v.reason, reason);
    assert.doesNotMatch(v.reason, /\n\s+at /, 'a reason, not a stack trace');
  }
}

describe('verifySignature (real ssh-keygen)', () => {
  it('a good signature gives the principal and the key fingerprint', async () => {
    const text = decisionText(fields);
    const v = await verifySignature(text, await signText(text, { keyFile: key('alice') }), allowed);
    assert.deepEqual(v, { ok: true, key: { fingerprint: fingerprintOf('alice'), principals: ['alice'] } });
  });

  it('the signature pasted on one line (newlines lost) verifies the same', async () => {
    const text = decisionText(fields);
    const sig = await signText(text, { keyFile: key('alice') });
    const v = await verifySignature(text, sig.replace(/\n/g, ' '), allowed);
    assert.equal(v.ok, true);
  });

  it('one key under two principals is one fingerprint with both names', async () => {
    const text = decisionText(fields);
    const v = await verifySignature(text, await signText(text, { keyFile: key('bob') }), allowed);
    assert.equal(v.ok, true);
    if (v.ok) {
      assert.equal(v.key.fingerprint, fingerprintOf('bob'));
      assert.deepEqual([...v.key.principals].sort(), ['bob', 'robert']);
    }
    const w = await verifySignature(text, await signText(text, { keyFile: key('carol') }), allowed);
    assert.deepEqual(w, { ok: true, key: { fingerprint: fingerprintOf('carol'), principals: ['carol', 'caroline'] } });
  });

  it('a signature under another namespace is refused', async () => {
    const text = decisionText(fields);
    const other = execFileSync('ssh-keygen', ['-Y', 'sign', '-n', 'git', '-f', key('alice')], { input: text }).toString();
    assertRefused(await verifySignature(text, other, allowed), /another namespace than "homelab-runbooks"/);
  });

  for (const [what, change] of [
    ['another run', { runId: '0196f0e2-0000-7d7a-8f00-4b1a2c3d4e5f' }],
    ['another step', { step: 'uninstall-k3s' }],
    ['another digest', { digest: 'b'.repeat(64) }],
    ['another decision', { decision: 'reject' }],
    ['another workflow', { workflowId: 'rejoin-other' }],
  ] as const) {
    it(`a signature made for ${what} is refused`, async () => {
      const sig = await signText(decisionText({ ...fields, ...change }), { keyFile: key('alice') });
      assertRefused(await verifySignature(decisionText(fields), sig, allowed), /over another text/);
    });
  }

  it('a key that is not in allowed_signers is refused', async () => {
    const text = decisionText(fields);
    assertRefused(await verifySignature(text, await signText(text, { keyFile: key('mallory') }), allowed), /not in .*allowed_signers/);
  });

  it('garbage, an empty value and an oversized one are refused without running anything', async () => {
    const text = decisionText(fields);
    for (const junk of ['', 'alice', '-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----\n', 42, null, { sig: 1 }, 'A'.repeat(100_000)]) {
      assertRefused(await verifySignature(text, junk, allowed), /not an SSH signature/);
    }
    // armored, base64, but not a signature ssh-keygen can read
    const fake = `-----BEGIN SSH SIGNATURE-----\n${Buffer.from('SSHSIG not really').toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    assertRefused(await verifySignature(text, fake, allowed), /find-principals failed|not in/);
  });

  it('an unreadable allowed_signers file is a reason, not a crash', async () => {
    const text = decisionText(fields);
    const sig = await signText(text, { keyFile: key('alice') });
    assertRefused(await verifySignature(text, sig, path.join(dir, 'missing')), /cannot read .*missing.*ENOENT/);
  });

  it('leaves no temporary signature file behind', async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('hr-verify-')).length;
    const text = decisionText(fields);
    await verifySignature(text, await signText(text, { keyFile: key('alice') }), allowed);
    await verifySignature(text, 'garbage', allowed);
    assert.equal(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('hr-verify-')).length, before);
  });
});
