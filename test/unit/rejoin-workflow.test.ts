// The approval kit and the rejoin's control flow on a real dev server, with mocked activities:
// gates, signals vs updates, refusals, rejection, dry run and the IOMMU manual step.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import { approveSignal, decideUpdate, doneSignal, rejectSignal } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { gateOpen, startTemporal, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';

import { CHANGES, fakeLab } from '../helpers/fake-rejoin';


describe('rejoin workflow with mocked activities', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTemporal();
  });
  after(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(acts: Partial<RunbookActivities>, fn: () => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    current = taskQueue;
    return worker.runUntil(fn());
  }
  let current = '';
  const start = (input: object): Promise<WorkflowHandle> =>
    env.client.workflow.start('k3sRejoin', { taskQueue: current, workflowId: uniqueId('rejoin'), args: [input] });

  it('runs every step in order when each gate is approved (one by signal, the rest by update)', async () => {
    const lab = fakeLab();
    const result = await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await waitForStatus(h, gateOpen('remove-stale-node'));
      assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0, 'nothing changes before the first approval');
      await h.signal(approveSignal, { step: 'remove-stale-node', by: 'alice' });
      await waitForStatus(h, gateOpen('uninstall-k3s'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'uninstall-k3s', by: 'bob', decision: 'approve' }] });
      await waitForStatus(h, gateOpen('install-k3s'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'install-k3s', by: 'alice', decision: 'approve', comment: 'go' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed');
    assert.deepEqual(
      lab.calls.filter((c) => !c.startsWith('plan')),
      ['describeK3sNode', 'countIommuGroups', 'checkVmRunning', 'checkClusterHealth', 'identifyStaleMember', 'readClusterVersion', ...CHANGES, 'waitForNodeReady', 'verifyRejoined'],
    );
    assert.deepEqual(result.approvals.map((a) => [a.step, a.by, a.via]), [
      ['remove-stale-node', 'alice', 'signal'],
      ['uninstall-k3s', 'bob', 'update'],
      ['install-k3s', 'alice', 'update'],
    ]);
    assert.ok(result.steps.every((s) => s.state === 'done' || s.state === 'skipped'), JSON.stringify(result.steps.map((s) => [s.id, s.state])));
  });

  it('refuses a wrong step, a non-approver and a closed gate through the update, and ignores a wrong-step signal', async () => {
    const lab = fakeLab();
    await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await waitForStatus(h, gateOpen('remove-stale-node'));
      const refused = async (input: object, pattern: RegExp) => {
        await assert.rejects(h.executeUpdate(decideUpdate, { args: [input as never] }), (err: unknown) => {
          assert.ok(err instanceof WorkflowUpdateFailedError);
          assert.match(String((err as Error & { cause?: Error }).cause?.message), pattern);
          return true;
        });
      };
      await refused({ step: 'install-k3s', by: 'alice', decision: 'approve' }, /not the open gate.*remove-stale-node/);
      await refused({ step: 'remove-stale-node', by: 'mallory', decision: 'approve' }, /not on the approvers list/);
      await refused({ step: 'remove-stale-node', by: 'alice', decision: 'done' }, /does not apply/);
      await h.signal(approveSignal, { step: 'install-k3s', by: 'alice' });
      await h.signal(approveSignal, { step: 'remove-stale-node', by: 'mallory' });
      const s = await waitForStatus(h, (st) => st.ignored.length === 2);
      assert.equal(s.openGate?.step, 'remove-stale-node', 'the gate is still open');
      assert.match(s.ignored[0]!.reason, /not the open gate/);
      assert.match(s.ignored[1]!.reason, /not on the approvers list/);
      assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0);
      await h.signal(rejectSignal, { step: 'remove-stale-node', by: 'bob' });
      assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    });
  });

  it('a rejection at the first gate ends the run with nothing changed', async () => {
    const lab = fakeLab();
    const result = await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await waitForStatus(h, gateOpen('remove-stale-node'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'bob', decision: 'reject', comment: 'not today' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'rejected');
    assert.match(result.summary, /bob rejected "remove-stale-node"/);
    assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0);
    assert.equal(result.steps.find((s) => s.id === 'remove-stale-node')?.state, 'rejected');
  });

  it('a dry run runs the checks, changes nothing and returns the plan', async () => {
    const lab = fakeLab();
    const result = await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn', dryRun: true });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'dry-run');
    assert.deepEqual(result.plan?.map((p) => p.step), ['remove-stale-node', 'uninstall-k3s', 'install-k3s']);
    assert.equal(lab.calls.filter((c) => [...CHANGES, 'waitForNodeReady'].includes(c)).length, 0);
    assert.ok(result.plan?.every((p) => p.commands.length > 0));
  });

  it('zero IOMMU groups holds the run at the manual step until the host reboots with groups', async () => {
    const lab = fakeLab({ iommuGroups: 0 });
    const result = await withWorker(lab.acts, async () => {
      // only the reversible install-k3s may be pre-approved; the points of no return wait at their gates
      const h = await start({ node: 'k3s-vm-still-fawn', preApproved: ['install-k3s'] });
      const s = await waitForStatus(h, gateOpen('enable-vtd'));
      assert.match(s.openGate!.instructions, /Advanced → System Agent Configuration → VT-d → Enabled/);
      assert.deepEqual(lab.calls.filter((c) => c !== 'awaitHostReboot'), ['describeK3sNode', 'countIommuGroups']);
      lab.world.iommuGroups = 8;
      lab.world.rebooted = true;
      await waitForStatus(h, gateOpen('remove-stale-node'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'approve' }] });
      await waitForStatus(h, gateOpen('uninstall-k3s'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'uninstall-k3s', by: 'alice', decision: 'approve' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(lab.calls.filter((c) => c === 'countIommuGroups').length, 2);
    assert.match(result.steps.find((st) => st.id === 'install-k3s')!.decision!.by, /pre-approved at start/);
  });

  it('an abort at the manual step ends the run before any other step', async () => {
    const lab = fakeLab({ iommuGroups: 0 });
    const result = await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      await waitForStatus(h, gateOpen('enable-vtd'));
      await h.signal(doneSignal, { step: 'wrong-step', by: 'alice' });
      await h.executeUpdate(decideUpdate, { args: [{ step: 'enable-vtd', by: 'alice', decision: 'abort' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'aborted');
    assert.deepEqual(lab.calls.filter((c) => c !== 'awaitHostReboot'), ['describeK3sNode', 'countIommuGroups']);
  });

  it('refuses malformed input before any activity runs', async () => {
    const lab = fakeLab();
    await withWorker(lab.acts, async () => {
      const h = await start({ node: 'still-fawn; rm -rf /' });
      await assert.rejects(h.result(), (err: Error & { cause?: Error }) => {
        assert.match(String(err.cause?.message), /bad input: "node" must be a K3s node name/);
        return true;
      });
    });
    assert.deepEqual(lab.calls, []);
  });

  it('a stale digest is refused, and the gate shows the digest of its plan', async () => {
    const lab = fakeLab();
    await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      const st = await waitForStatus(h, gateOpen('remove-stale-node'));
      const digest = st.openGate!.digest!;
      assert.match(digest, /^[0-9a-f]{8,}$/);
      await assert.rejects(
        h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'approve', digest: 'deadbeef0000' }] }),
        (err: Error & { cause?: Error }) => /plan digest deadbeef0000 is stale/.test(String(err.cause?.message)),
      );
      const d = await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'approve', digest }] });
      assert.equal(d.digest, digest);
      await waitForStatus(h, gateOpen('uninstall-k3s'));
      await h.signal(rejectSignal, { step: 'uninstall-k3s', by: 'bob' });
      await h.result();
    });
    assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), ['removeStaleNode']);
  });

  it('a plan that changed between approval and execution re-opens the gate and runs nothing', async () => {
    const lab = fakeLab();
    await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn' });
      const first = await waitForStatus(h, gateOpen('remove-stale-node'));
      lab.world.memberListed = false; // someone removed the member by hand while the gate was open
      await h.signal(approveSignal, { step: 'remove-stale-node', by: 'alice', digest: first.openGate!.digest });
      const again = await waitForStatus(h, (s) => s.openGate?.step === 'remove-stale-node' && s.openGate.digest !== first.openGate!.digest);
      assert.match(again.openGate!.reopenedBecause!, /the plan changed after approval/);
      assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0, 'nothing ran');
      assert.ok(!again.steps.find((s) => s.id === 'remove-stale-node')!.plan!.commands.some((c) => c.includes('member remove')));
      await h.signal(rejectSignal, { step: 'remove-stale-node', by: 'bob' });
      assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    });
  });

  it('a two-person gate is not passed by one approver, nor by the starter alone', async () => {
    const lab = fakeLab({ twoPerson: true });
    await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn', requestedBy: 'alice' });
      await waitForStatus(h, gateOpen('remove-stale-node'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'approve' }] });
      await assert.rejects(
        h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'alice', decision: 'approve' }] }),
        (err: Error & { cause?: Error }) => /already approved/.test(String(err.cause?.message)),
      );
      const st = await waitForStatus(h, (s) => s.openGate?.approvedBy.length === 1);
      assert.equal(st.openGate!.needs, 1);
      assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0);
      await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'bob', decision: 'approve' }] });
      await waitForStatus(h, gateOpen('uninstall-k3s'));
      assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), ['removeStaleNode']);
      // install-k3s is not a point of no return: one approver, even the starter, is enough
      await h.executeUpdate(decideUpdate, { args: [{ step: 'uninstall-k3s', by: 'alice', decision: 'approve' }] });
      await h.executeUpdate(decideUpdate, { args: [{ step: 'uninstall-k3s', by: 'carol', decision: 'approve' }] });
      await waitForStatus(h, gateOpen('install-k3s'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'install-k3s', by: 'alice', decision: 'approve' }] });
      const result = (await h.result()) as RunbookResult;
      assert.equal(result.outcome, 'completed');
      assert.deepEqual(result.steps.find((s) => s.id === 'remove-stale-node')!.approvals!.map((a) => a.by), ['alice', 'bob']);
    });
  });

  it('the starter cannot be the only approver of a point of no return', async () => {
    const lab = fakeLab();
    await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn', requestedBy: 'alice' });
      await waitForStatus(h, gateOpen('remove-stale-node'));
      await h.signal(approveSignal, { step: 'remove-stale-node', by: 'alice' });
      const st = await waitForStatus(h, (s) => s.openGate?.approvedBy.length === 1);
      assert.equal(st.openGate!.needs, 1, 'still needs someone other than the starter');
      await h.signal(approveSignal, { step: 'remove-stale-node', by: 'bob' });
      await waitForStatus(h, gateOpen('uninstall-k3s'));
      await h.signal(rejectSignal, { step: 'uninstall-k3s', by: 'bob' });
      await h.result();
    });
  });

  it('a gate deadline ends the run safely; notifications go out on open, reminder and expiry', async () => {
    const lab = fakeLab({ reminderMs: 1_000 });
    const result = await withWorker(lab.acts, async () => {
      const h = await start({ node: 'k3s-vm-still-fawn', gateDeadline: '3s' });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'expired');
    assert.match(result.summary, /expired without a decision; nothing was changed/);
    assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0);
    const events = lab.notices.map((n) => n.event);
    assert.equal(events[0], 'gate-open');
    assert.ok(events.includes('reminder'), events.join(','));
    assert.equal(events[events.length - 1], 'expired');
    assert.ok(lab.notices.every((n) => n.step === 'remove-stale-node' && n.digest && n.workflowId && n.runId));
  });
});
