// The CLI's key (src/cli/signing.ts) with the real OpenSSH: --key, the first key of a real ssh-agent
// (written to a temporary .pub that ssh-keygen signs through the agent), and a clear error when
// there is neither. Each signature is checked with `ssh-keygen -Y verify` against the lab's allowed_signers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allowedSignersPath, approverKeyPath, makeApproverKeys } from '../../lab/src/approvers';
import { findSigningKey, requireSigningKey } from '../../src/cli/signing';
import { SIGNATURE_NAMESPACE } from '../../src/workflows/runbook/decision';
import { until } from '../helpers/temporal';

function principalOf(dir: string, text: string, signature: string): string {
  const sig = path.join(dir, `sig-${process.hrtime.bigint()}`);
  fs.writeFileSync(sig, signature);
  const found = spawnSync('ssh-keygen', ['-Y', 'find-principals', '-f', allowedSignersPath(dir), '-s', sig], { encoding: 'utf8' }).stdout.trim();
  const ok = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowedSignersPath(dir), '-I', found, '-n', SIGNATURE_NAMESPACE, '-s', sig], { input: text }).status === 0;
  return ok ? found : `not verified (${found || 'no principal'})`;
}

describe('the CLI signing key', () => {
  let dir = '';
  let agent: ChildProcess | undefined;
  const saved = process.env.SSH_AUTH_SOCK;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-signing-'));
    await makeApproverKeys(dir);
  });
  after(() => {
    if (agent?.pid) process.kill(agent.pid, 'SIGTERM');
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without --key and without an agent: a clear error saying what to do', () => {
    delete process.env.SSH_AUTH_SOCK;
    assert.deepEqual(findSigningKey(undefined), { missing: 'no --key given and no ssh-agent (SSH_AUTH_SOCK is not set)' });
    assert.throws(() => requireSigningKey(undefined), /cannot sign the decision: .*Pass --key FILE .* or load your key with ssh-add/);
    assert.throws(() => requireSigningKey(path.join(dir, 'nope')), /--key .*nope: no such file/);
  });

  it('--key signs as its owner', async () => {
    const key = requireSigningKey(approverKeyPath(dir, 'bob'));
    assert.equal(principalOf(dir, 'text', await key.sign('text')), 'bob');
  });

  it("an agent with no key is not a key; with keys, its first key signs through a temporary .pub", async () => {
    const sock = path.join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    await until(() => fs.existsSync(sock), 10_000);
    process.env.SSH_AUTH_SOCK = sock;
    const empty = findSigningKey(undefined);
    assert.ok('missing' in empty && /ssh-agent offers no key .*The agent has no identities/.test(empty.missing), JSON.stringify(empty));

    for (const name of ['carol', 'alice']) assert.equal(spawnSync('ssh-add', ['-q', approverKeyPath(dir, name)]).status, 0);
    const key = requireSigningKey(undefined);
    assert.equal(key.source, 'ssh-agent key carol@lab');
    assert.match(key.keyFile, /\.pub$/);
    assert.equal(principalOf(dir, 'decision', await key.sign('decision')), 'carol');
    key.dispose();
    assert.equal(fs.existsSync(key.keyFile), false, 'the temporary .pub is removed');

    // a .pub given with --key signs through the agent too
    const pub = requireSigningKey(`${approverKeyPath(dir, 'alice')}.pub`);
    assert.equal(principalOf(dir, 'x', await pub.sign('x')), 'alice');
  });
});
