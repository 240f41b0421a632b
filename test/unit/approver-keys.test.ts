// The lab's approver keys and allowed_signers, judged by the real OpenSSH: a decision signed by the
// test helper (test/helpers/sign.ts) verifies with `ssh-keygen -Y verify` as its approver only, and
// not once its text, namespace or signer differs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APPROVERS, allowedSignersPath, approverKeyPath, makeApproverKeys } from '../../lab/src/approvers';
import { SIGNATURE_NAMESPACE, decisionText, startText } from '../../src/workflows/runbook/decision';
import { signedDecision, signedStart } from '../helpers/sign';

/** `ssh-keygen -Y verify` as the worker runs it: exit 0 only for a good signature by that principal. */
function verify(allowedSigners: string, principal: string, text: string, signature: string, namespace = SIGNATURE_NAMESPACE): { ok: boolean; out: string } {
  const sig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sig-')), 'decision.sig');
  fs.writeFileSync(sig, signature);
  const r = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowedSigners, '-I', principal, '-n', namespace, '-s', sig], { input: text, encoding: 'utf8' });
  fs.rmSync(path.dirname(sig), { recursive: true, force: true });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** `ssh-keygen -Y find-principals`: the allowed_signers names of the signature's key. */
function findPrincipals(allowedSigners: string, signature: string): string {
  const sig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sig-')), 'decision.sig');
  fs.writeFileSync(sig, signature);
  const r = spawnSync('ssh-keygen', ['-Y', 'find-principals', '-f', allowedSigners, '-s', sig], { encoding: 'utf8' });
  fs.rmSync(path.dirname(sig), { recursive: true, force: true });
  return r.stdout.trim();
}

describe('lab approver keys', () => {
  let dir = '';
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lab-approvers-'));
    await makeApproverKeys(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes one ed25519 key per approver, private half 0600, and an allowed_signers line for each', () => {
    const lines = fs.readFileSync(allowedSignersPath(dir), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(lines.map((l) => l.split(' ')[0]), [...APPROVERS]);
    for (const name of APPROVERS) {
      const key = approverKeyPath(dir, name);
      assert.equal(fs.statSync(key).mode & 0o777, 0o600, `${key} is private`);
      const [type, blob] = fs.readFileSync(`${key}.pub`, 'utf8').split(' ');
      assert.equal(type, 'ssh-ed25519');
      assert.ok(lines.includes(`${name} ${type} ${blob}`), `allowed_signers names ${name}'s own key`);
    }
    assert.throws(() => approverKeyPath(dir, 'mallory'), /unknown lab approver "mallory"/);
  });

  it('a decision signed by the helper verifies as its approver, and only as that decision', async () => {
    const run = { workflowId: 'k3s-rejoin-k3s-vm-still-fawn', runId: '0193-run-a', namespace: 'default' };
    const digest = 'a'.repeat(64);
    const d = await signedDecision(run, { step: 'remove-stale-node', decision: 'approve', digest, key: approverKeyPath(dir, 'alice') });
    assert.deepEqual({ ...d, signature: undefined }, { ...run, step: 'remove-stale-node', decision: 'approve', digest, signature: undefined });
    assert.match(d.signature, /^-----BEGIN SSH SIGNATURE-----\n/);
    const text = decisionText(d);
    const good = verify(allowedSignersPath(dir), 'alice', text, d.signature);
    assert.ok(good.ok, good.out);
    assert.match(good.out, /Good "homelab-runbooks" signature for alice with ED25519 key SHA256:/);
    assert.equal(findPrincipals(allowedSignersPath(dir), d.signature), 'alice', 'the key names its approver');

    assert.equal(verify(allowedSignersPath(dir), 'bob', text, d.signature).ok, false, "alice's key is not bob's");
    assert.equal(verify(allowedSignersPath(dir), 'alice', decisionText({ ...d, runId: '0193-run-b' }), d.signature).ok, false, 'another run');
    assert.equal(verify(allowedSignersPath(dir), 'alice', decisionText({ ...d, decision: 'reject' }), d.signature).ok, false, 'another decision');
    assert.equal(verify(allowedSignersPath(dir), 'alice', text, d.signature, 'file').ok, false, 'another namespace');

    const manual = await signedDecision(run, { step: 'enable-vtd', decision: 'done', key: approverKeyPath(dir, 'carol') });
    assert.equal(manual.digest, 'none', 'a manual step has no plan digest');
    assert.ok(verify(allowedSignersPath(dir), 'carol', decisionText(manual), manual.signature).ok);
  });

  it('a signed start verifies over startText with its pre-approvals sorted', async () => {
    const start = { workflowId: 'lxc-retirement', runbook: 'lxc-retirement', preApproved: ['stop-ct', 'backup'], key: approverKeyPath(dir, 'bob') };
    const sig = await signedStart(start);
    const text = startText({ namespace: 'default', workflowId: 'lxc-retirement', runbook: 'lxc-retirement', preApproved: ['backup', 'stop-ct'] });
    assert.ok(verify(allowedSignersPath(dir), 'bob', text, sig).ok);
    assert.equal(verify(allowedSignersPath(dir), 'bob', startText({ namespace: 'default', workflowId: 'lxc-retirement', runbook: 'lxc-retirement', preApproved: ['backup', 'destroy-ct', 'stop-ct'] }), sig).ok, false);
  });
});
