// The `runbook` CLI as an operator runs it (a real process, through envconfig's TEMPORAL_ADDRESS):
// start a dry run and a real run on the lab, read status, approve/reject, refused and not-found codes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, waitForStatus } from '../helpers/temporal';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';

const BIN = path.join(__dirname, '..', '..', 'bin', 'runbook');

describe('runbook CLI', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    await s?.stop();
  });

  function runbook(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        BIN,
        args,
        { env: { ...process.env, TEMPORAL_ADDRESS: s.env.address, RUNBOOK_TASK_QUEUE: s.taskQueue, TEMPORAL_CONFIG_FILE: '/nonexistent' } },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('prints help for every command', async () => {
    const r = await runbook('--help');
    assert.equal(r.code, 0);
    for (const cmd of ['start', 'status', 'approve', 'reject', 'done', 'abort']) assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
    assert.match((await runbook('approve', '--help')).stdout, /--step <id>/);
  });

  it('starts a dry run and waits for its plan', async () => {
    const r = await runbook('--json', 'start', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn', '--dry-run', '--wait');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as RunbookResult;
    assert.equal(result.outcome, 'dry-run');
    assert.equal(result.plan?.length, 3);
  });

  it('approves by update with the plan shown, refuses a wrong step (exit 2), and reports an unknown run (exit 3)', async () => {
    const id = 'k3s-rejoin-k3s-vm-still-fawn';
    const started = await runbook('start', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn', '--id', id);
    assert.equal(started.code, 0, started.stderr);
    const h = s.env.client.workflow.getHandle(id);
    await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);

    const status = await runbook('status', id);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /waiting on remove-stale-node \(approval\)/);
    assert.match(status.stdout, /kubectl delete node k3s-vm-still-fawn/);

    const wrong = await runbook('approve', id, '--step', 'install-k3s', '--by', 'alice');
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /refused: step "install-k3s" is not the open gate/);

    const stranger = await runbook('approve', id, '--step', 'remove-stale-node', '--by', 'mallory');
    assert.equal(stranger.code, 2);
    assert.match(stranger.stderr, /not on the approvers list/);

    const missing = await runbook('status', 'no-such-run');
    assert.equal(missing.code, 3, missing.stderr);

    const reject = await runbook('--json', 'reject', id, '--step', 'remove-stale-node', '--by', 'bob', '--comment', 'CLI test');
    assert.equal(reject.code, 0, reject.stderr);
    assert.equal(JSON.parse(reject.stdout).decision, 'reject');
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'rejected');
    const final = JSON.parse((await runbook('--json', 'status', id)).stdout) as RunbookStatus;
    assert.equal(final.state, 'rejected');
    assert.deepEqual(s.lab.audit().filter((e) => e.change), []);
  });
});
