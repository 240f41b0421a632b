// Issue 5 item 7, trust boundaries, on the lab: a changed host key fails the step at once,
// non-retryable, naming the host and both fingerprints; a host with no known key is refused; SSH
// never falls back to accepting (or recording) an unknown key. (An approver not on the list is
// refused through the update in test/e2e/bad-input.test.ts, and by the gate's unit tests.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startStack, type Stack } from '../helpers/stack';
import { waitForStatus } from '../helpers/temporal';
import { fingerprintOf } from '../../src/activities/exec/host-keys';
import { activityAttempts } from '../helpers/activity-attempts';

const NODE = 'k3s-vm-still-fawn';
const HOST = 'still-fawn'; // the first host the rejoin of NODE dials (its IOMMU check)

/** The innermost ApplicationFailure: what the activity threw, under the step's StepFailed. */
function rootCause(err: unknown): ApplicationFailure | undefined {
  let found: ApplicationFailure | undefined;
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure) found = e;
  }
  return found;
}

const attempts = activityAttempts;

describe('trust boundaries on the lab: host keys', () => {
  let s: Stack;
  let knownHosts: string;
  let line: string;
  let realFingerprint: string;
  before(async () => {
    s = await startStack();
    knownHosts = fs.readFileSync(s.lab.knownHostsPath, 'utf8');
    const { address, port } = s.lab.info.hosts[HOST]!;
    line = knownHosts.split('\n').find((l) => l.startsWith(`[${address}]:${port} `))!;
    assert.ok(line, `known_hosts has ${HOST}`);
    realFingerprint = fingerprintOf(Buffer.from(line.split(' ')[2]!, 'base64'));
  });
  after(async () => {
    if (knownHosts) fs.writeFileSync(s.lab.knownHostsPath, knownHosts);
    await s?.stop();
  });

  async function failedRun(): Promise<{ cause: ApplicationFailure; h: WorkflowHandle; ms: number; err: unknown }> {
    const t0 = Date.now();
    const h = await s.startRejoin({ node: NODE, dryRun: true });
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, `the run must fail: ${String(err)}`);
    const cause = rootCause(err);
    assert.ok(cause, String(err));
    return { cause, h, ms: Date.now() - t0, err };
  }

  it('a changed host key fails the step at once: non-retryable, one attempt, the host and both fingerprints named', async () => {
    const dir = fs.mkdtempSync(path.join(s.lab.dir, 'other-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'impostor', '-f', path.join(dir, 'key')]);
    const otherB64 = fs.readFileSync(path.join(dir, 'key.pub'), 'utf8').split(' ')[1]!;
    const pinned = fingerprintOf(Buffer.from(otherB64, 'base64'));
    const changed = knownHosts.replace(line, `${line.split(' ').slice(0, 2).join(' ')} ${otherB64}`);
    fs.writeFileSync(s.lab.knownHostsPath, changed);

    const { cause, h, ms, err } = await failedRun();
    assert.match(String((err as WorkflowFailedError).cause?.message), /^step "iommu" failed: host key mismatch for still-fawn/);
    assert.equal(cause.type, 'HostKeyMismatch');
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, new RegExp(`^host key mismatch for ${HOST} \\(`));
    assert.ok(cause.message.includes(`expected ${pinned}`), cause.message);
    assert.ok(cause.message.includes(`presented ${realFingerprint}`), cause.message);
    const tries = await attempts(h);
    const ssh = tries.filter((a) => !['approvalPolicy', 'describeK3sNode'].includes(a.type));
    assert.deepEqual(ssh, [{ type: 'countIommuGroups', attempt: 1 }], JSON.stringify(tries));
    assert.ok(ms < 15_000, `failed after ${ms} ms`);
    assert.deepEqual(s.lab.audit(), [], 'no command ran');
    assert.equal(fs.readFileSync(s.lab.knownHostsPath, 'utf8'), changed, 'known_hosts was not rewritten');
  });

  it('a host with no known key and no pin is refused, never trusted on first use', async () => {
    const without = knownHosts.replace(`${line}\n`, '');
    assert.notEqual(without, knownHosts);
    fs.writeFileSync(s.lab.knownHostsPath, without);

    const { cause, h } = await failedRun();
    assert.equal(cause.type, 'HostKeyUnknown');
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, new RegExp(`^host key of ${HOST} \\(.*\\) is unknown: presented ${realFingerprint.replace(/[+/]/g, '\\$&')} \\(ssh-ed25519\\); refusing to connect`));
    const ssh = (await attempts(h)).filter((a) => !['approvalPolicy', 'describeK3sNode'].includes(a.type));
    assert.deepEqual(ssh, [{ type: 'countIommuGroups', attempt: 1 }]);
    assert.deepEqual(s.lab.audit(), [], 'no command ran');
    assert.equal(fs.readFileSync(s.lab.knownHostsPath, 'utf8'), without, 'the key was not added to known_hosts');
  });

  it('with the right key back, the same host is reached (the refusals were the key check, nothing else)', async () => {
    fs.writeFileSync(s.lab.knownHostsPath, knownHosts);
    const h = await s.startRejoin({ node: NODE, dryRun: true });
    // the IOMMU check on still-fawn passes once the key matches; the dry run goes on from there
    const st = await waitForStatus(h, (x) => x.steps.find((step) => step.id === 'iommu')?.state === 'done' || x.state === 'failed', 60_000);
    assert.equal(st.steps.find((step) => step.id === 'iommu')?.state, 'done', JSON.stringify(st.steps));
    await h.terminate('enough');
  });
});
