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
    for (const cmd of ['start', 'plan', 'status', 'watch', 'pending', 'setup', 'approve', 'reject', 'done', 'abort']) {
      assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
    }
    assert.match((await runbook('approve', '--help')).stdout, /--step <id>/);
  });

  it('starts a dry run and waits for its plan', async () => {
    const r = await runbook('--json', 'start', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn', '--dry-run', '--wait');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as RunbookResult;
    assert.equal(result.outcome, 'dry-run');
    assert.equal(result.plan?.length, 3);
  });

  it('plan prints the ordered plan of a dry run; setup is idempotent', async () => {
    const r = await runbook('plan', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn');
    assert.equal(r.code, 0, r.stderr);
    const order = ['1. remove-stale-node', '2. uninstall-k3s', '3. install-k3s'].map((x) => r.stdout.indexOf(x));
    assert.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, r.stdout);
    assert.match(r.stdout, /plan [0-9a-f]{12}/);
    assert.match(r.stdout, /K3S_TOKEN=\*\*\*/);
    const setup = await runbook('--json', 'setup');
    assert.equal(setup.code, 0, setup.stderr);
    assert.deepEqual(JSON.parse(setup.stdout).added, [], 'the test server registered them already');
  });

  it('approves by update with the plan shown, refuses a wrong step (exit 2), and reports an unknown run (exit 3)', async () => {
    const id = 'k3s-rejoin-k3s-vm-still-fawn';
    const started = await runbook('start', 'k3s-rejoin', '--node', 'k3s-vm-still-fawn', '--id', id);
    assert.equal(started.code, 0, started.stderr);
    const h = s.env.client.workflow.getHandle(id);
    const watched = await runbook('watch', id);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /cluster-health\s+done/);
    assert.match(watched.stdout, /waiting on remove-stale-node \(approval\), plan [0-9a-f]{12}/);
    await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    let pending: { workflowId: string; waitingOn: string }[] = [];
    for (let i = 0; i < 40 && pending.length === 0; i++) {
      pending = JSON.parse((await runbook('--json', 'pending')).stdout);
      if (pending.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(pending.map((p) => [p.workflowId, p.waitingOn]), [[id, 'remove-stale-node']]);

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

    const stale = await runbook('approve', id, '--step', 'remove-stale-node', '--by', 'alice', '--digest', '123456789abc');
    assert.equal(stale.code, 2);
    assert.match(stale.stderr, /plan digest 123456789abc is stale/);

    const reject = await runbook('--json', 'reject', id, '--step', 'remove-stale-node', '--by', 'bob', '--comment', 'CLI test');
    assert.equal(reject.code, 0, reject.stderr);
    const decision = JSON.parse(reject.stdout);
    assert.equal(decision.decision, 'reject');
    assert.match(decision.digest, /^[0-9a-f]{64}$/, 'the CLI names the full digest it showed');
    assert.equal((await runbook('pending')).stdout.trim(), 'no run is waiting for a decision');
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'rejected');
    const final = JSON.parse((await runbook('--json', 'status', id)).stdout) as RunbookStatus;
    assert.equal(final.state, 'rejected');
    assert.deepEqual(s.lab.audit().filter((e) => e.change), []);
  });
});
