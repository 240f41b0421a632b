// A step that fails after its retries opens a `failed` gate instead of failing the run: retry runs
// it again from its preflight (a change asks for a fresh approval), abort ends the run saying what
// was changed; a failure no retry can fix still ends the run at once. Mocked activities, real server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import { decideUpdate, retrySignal } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { gateOpen, startTemporal, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';
import { CHANGES, fakeLab } from '../helpers/fake-rejoin';

describe('a failed step asks: retry or abort', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTemporal();
  });
  after(async () => {
    await env?.teardown();
  });

  /** The rejoin's fake lab whose install fails while `broken` (non-retryable: no activity retries to wait out). */
  function brokenInstall(type = 'PreconditionFailed') {
    const lab = fakeLab();
    const state = { broken: true };
    const installK3s = lab.acts.installK3s!;
    lab.acts.installK3s = async (input) => {
      if (state.broken) {
        lab.calls.push('installK3s (failed)');
        throw ApplicationFailure.nonRetryable('the install script exited 1: curl: (22) 404', type);
      }
      return installK3s(input);
    };
    return { ...lab, state };
  }

  async function withWorker<T>(acts: Partial<RunbookActivities>, fn: (start: (input: object) => Promise<WorkflowHandle>) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    const start = (input: object) => env.client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin'), args: [input] });
    return worker.runUntil(fn(start));
  }
  const approve = (h: WorkflowHandle, step: string, by = 'alice') => h.executeUpdate(decideUpdate, { args: [{ step, by, decision: 'approve' }] });

  async function untilInstallFails(h: WorkflowHandle) {
    await waitForStatus(h, gateOpen('remove-stale-node'));
    await approve(h, 'remove-stale-node');
    await waitForStatus(h, gateOpen('uninstall-k3s'));
    await approve(h, 'uninstall-k3s', 'bob');
    await waitForStatus(h, gateOpen('install-k3s'));
    await approve(h, 'install-k3s');
    return waitForStatus(h, gateOpen('install-k3s', 'failed'));
  }

  it('retry after a fix: the preflight runs again, the change needs a fresh approval, the run completes', async () => {
    const lab = brokenInstall();
    const result = await withWorker(lab.acts, async (start) => {
      const h = await start({ node: 'k3s-vm-still-fawn', preApproved: ['install-k3s'] });
      await waitForStatus(h, gateOpen('remove-stale-node'));
      await approve(h, 'remove-stale-node');
      await waitForStatus(h, gateOpen('uninstall-k3s'));
      await approve(h, 'uninstall-k3s', 'bob');
      // pre-approved at start: the first attempt runs without a gate, and fails
      const s = await waitForStatus(h, gateOpen('install-k3s', 'failed'));
      assert.equal(s.state, 'waiting');
      const step = s.steps.find((x) => x.id === 'install-k3s')!;
      assert.equal(step.state, 'failed');
      assert.match(step.error ?? '', /install script exited 1/);
      assert.match(s.openGate!.instructions, /install script exited 1.*retry.*preflight again.*abort.*changed: remove-stale-node, uninstall-k3s; "install-k3s" failed part-way/);
      await assert.rejects(h.executeUpdate(decideUpdate, { args: [{ step: 'install-k3s', by: 'alice', decision: 'approve' }] }), (err: unknown) => {
        assert.ok(err instanceof WorkflowUpdateFailedError);
        assert.match(String((err as Error & { cause?: Error }).cause?.message), /"approve" does not apply to failed step "install-k3s" \(use retry or abort\)/);
        return true;
      });
      const plansBefore = lab.calls.filter((c) => c === 'planInstall').length;
      lab.state.broken = false;
      await h.signal(retrySignal, { step: 'install-k3s', by: 'carol', comment: 'fixed the mirror' });
      // a retried change waits at its approval gate again, at attempt 2, with a fresh plan
      const again = await waitForStatus(h, gateOpen('install-k3s', 'approval'));
      assert.equal(again.openGate!.attempt, 2);
      assert.match(again.openGate!.reopenedBecause ?? '', /attempt 2: the step is retried after it failed \(the install script exited 1/);
      assert.ok(lab.calls.filter((c) => c === 'planInstall').length > plansBefore, 'the preflight ran again');
      await approve(h, 'install-k3s');
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed');
    assert.deepEqual(lab.calls.filter((c) => c.startsWith('installK3s')), ['installK3s (failed)', 'installK3s']);
    const install = result.steps.find((x) => x.id === 'install-k3s')!;
    assert.equal(install.state, 'done');
    assert.equal(install.failures?.length, 1);
    assert.equal(install.failures![0]!.attempt, 1);
    assert.equal(install.failures![0]!.decision?.decision, 'retry');
    assert.equal(install.failures![0]!.decision?.by, 'carol');
    assert.deepEqual(result.approvals.map((a) => [a.step, a.decision]), [
      ['remove-stale-node', 'approve'],
      ['uninstall-k3s', 'approve'],
      ['install-k3s', 'approve'], // the pre-approval of attempt 1
      ['install-k3s', 'retry'],
      ['install-k3s', 'approve'],
    ]);
  });

  it('abort ends the run "aborted", saying what was and was not changed, and nothing further runs', async () => {
    const lab = brokenInstall();
    const result = await withWorker(lab.acts, async (start) => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await untilInstallFails(h);
      await h.executeUpdate(decideUpdate, { args: [{ step: 'install-k3s', by: 'bob', decision: 'abort', comment: 'later' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'aborted');
    assert.match(result.summary, /bob aborted at "install-k3s" after it failed \(the install script exited 1.*\); changed: remove-stale-node, uninstall-k3s; "install-k3s" failed part-way.*; not run: nothing/);
    assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c) || c.startsWith('installK3s') || c === 'waitForNodeReady'), ['removeStaleNode', 'uninstallK3s', 'installK3s (failed)']);
    assert.equal(result.steps.find((x) => x.id === 'wait-ready')!.state, 'pending');
  });

  it('a failed check retries the check itself; its abort says the check changed nothing', async () => {
    const lab = fakeLab();
    let healthy = false;
    const checkClusterHealth = lab.acts.checkClusterHealth!;
    lab.acts.checkClusterHealth = async (input) => {
      if (!healthy) throw ApplicationFailure.nonRetryable('etcd has no quorum without the stale member', 'PreconditionFailed');
      return checkClusterHealth(input);
    };
    await withWorker(lab.acts, async (start) => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await waitForStatus(h, gateOpen('cluster-health', 'failed'));
      healthy = true;
      await h.executeUpdate(decideUpdate, { args: [{ step: 'cluster-health', by: 'alice', decision: 'retry' }] });
      const s = await waitForStatus(h, gateOpen('remove-stale-node'));
      assert.equal(s.steps.find((x) => x.id === 'cluster-health')!.state, 'done');
      await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'reject' }] });
      assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    });
    const again = fakeLab();
    again.acts.checkClusterHealth = async () => {
      throw ApplicationFailure.nonRetryable('etcd has no quorum', 'PreconditionFailed');
    };
    const aborted = await withWorker(again.acts, async (start) => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await waitForStatus(h, gateOpen('cluster-health', 'failed'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'cluster-health', by: 'alice', decision: 'abort' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.match(aborted.summary, /"cluster-health" is a check step and changed nothing; not run: remove-stale-node, uninstall-k3s, install-k3s/);
  });

  it('a failure no retry can fix (bad input) still ends the run at once, with the reason', async () => {
    const lab = brokenInstall('BadInput');
    await withWorker(lab.acts, async (start) => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await untilInstallFailsOrEnds(h);
      await assert.rejects(h.result(), (err: unknown) => err instanceof WorkflowFailedError && /step "install-k3s" failed: the install script exited 1/.test(String(err.cause?.message)));
    });
  });

  /** Approves every gate; resolves when the run waits at no gate (it ended). */
  async function untilInstallFailsOrEnds(h: WorkflowHandle) {
    for (;;) {
      const s = await waitForStatus(h, (x) => x.openGate !== undefined || !['running', 'waiting'].includes(x.state));
      if (!s.openGate) return;
      assert.notEqual(s.openGate.kind, 'failed', 'a bad input opens no failed gate');
      await approve(h, s.openGate.step).catch(() => undefined);
    }
  }

  it('a dry run whose check fails ends at once (nothing to resume: plan again)', async () => {
    const lab = fakeLab();
    lab.acts.identifyStaleMember = async () => {
      throw ApplicationFailure.nonRetryable('no member of still-fawn is listed', 'PreconditionFailed');
    };
    await withWorker(lab.acts, async (start) => {
      const h = await start({ node: 'k3s-vm-still-fawn', dryRun: true });
      await assert.rejects(h.result(), (err: unknown) => err instanceof WorkflowFailedError && /stale-member/.test(String(err.cause?.message)));
    });
  });
});
