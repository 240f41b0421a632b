// Phase 4 (lxcRetirement) under the time-skipping test server, with mocked activities: the week-long
// soak of the new Frigate and the day of grace with the CT stopped pass in seconds of wall time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import { approveSignal, decideUpdate, rejectSignal } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import type { LxcRetirementInput } from '../../src/workflows/lxc-retirement';
import { gateOpen, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';
import { fakeLxcWorld, LXC_CHANGES } from '../helpers/fake-lxc';
import { DAY_MS, HOUR_MS, startTimeSkipping } from '../helpers/time-skipping';

const CHANGES = LXC_CHANGES;
const fakeWorld = fakeLxcWorld;

describe('lxcRetirement under time skipping (Java test server, mocked activities)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTimeSkipping();
  });
  after(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(acts: Partial<RunbookActivities>, fn: (start: (input: LxcRetirementInput) => Promise<WorkflowHandle>) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('ts-lxc');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    const start = (input: LxcRetirementInput) => env.client.workflow.start('lxcRetirement', { taskQueue, workflowId: uniqueId('lxc-retirement'), args: [input] });
    return worker.runUntil(fn(start));
  }

  it('unattended up to the point of no return with the defaults: 7 days of daily checks, backup, stop, 24h grace, then the destroy waits at its gate', async () => {
    const w = fakeWorld();
    const t0 = await env.currentTimeMs();
    const result = await withWorker(w.acts, async (start) => {
      // destroy-ct is irreversible: never pre-approved (issue 11), it waits at its gate
      const h = await start({ preApproved: ['backup', 'stop-ct'] });
      // The clock skips only in env.sleep here: a gate without a deadline has no timer to skip to.
      await env.sleep('193h'); // past the 7-day soak and the 24h grace
      const s = await waitForStatus(h, gateOpen('destroy-ct'));
      assert.equal(w.world.state, 'stopped', 'the pre-approved backup and stop ran, the destroy waits');
      assert.equal(w.calls.filter((c) => c.name === 'destroyCt').length, 0);
      await h.executeUpdate(decideUpdate, { args: [{ step: 'destroy-ct', by: 'bob', decision: 'approve', digest: s.openGate!.digest }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed', result.summary);
    assert.equal(w.world.state, 'gone');
    assert.equal(w.world.archives.length, 1);
    const health = w.at('checkFrigateHealth');
    assert.equal(health.length, 8, 'healthyFor 7d, checkEvery 1d: day 0 to day 7');
    assert.ok(health[7]! - health[0]! >= 7 * DAY_MS - 60_000, 'the soak lasted 7 days');
    assert.ok(w.at('backupCt')[0]! >= health[7]!, 'the backup comes after the soak');
    assert.ok(w.at('destroyCt')[0]! - w.at('stopCt')[0]! >= 24 * HOUR_MS, 'the CT stayed stopped for the 24h grace');
    assert.ok((await env.currentTimeMs()) - t0 >= 8 * DAY_MS, 'eight days of server time went by');
    assert.deepEqual(w.calls.map((c) => c.name).filter((n) => CHANGES.includes(n)), CHANGES);
  });

  it('with every gate: approvals by update and signal, the grace timer in status, two approvers for the destroy', async () => {
    const w = fakeWorld({ twoPerson: true });
    const result = await withWorker(w.acts, async (start) => {
      const h = await start({ requestedBy: 'alice', healthyFor: '14d', checkEvery: '2d', grace: '48h' });
      // The clock skips only in env.sleep here: a gate without a deadline has no timer to skip to.
      await env.sleep('340h'); // past the 14-day soak (336h)
      await waitForStatus(h, gateOpen('backup'));
      assert.equal(w.at('checkFrigateHealth').length, 8, '14d every 2d: 8 checks');
      assert.equal(w.calls.filter((c) => CHANGES.includes(c.name)).length, 0, 'nothing changed before the first approval');
      await h.executeUpdate(decideUpdate, { args: [{ step: 'backup', by: 'bob', decision: 'approve' }] });
      await waitForStatus(h, gateOpen('stop-ct'));
      await h.signal(approveSignal, { step: 'stop-ct', by: 'carol' });
      const s = await waitForStatus(h, (st) => st.timer?.step === 'grace');
      assert.ok(Date.parse(s.timer!.firesAt) - w.at('stopCt')[0]! >= 48 * HOUR_MS - 60_000, `grace fires 48h after the stop: ${s.timer!.firesAt}`);
      assert.equal(w.world.state, 'stopped');
      await env.sleep('49h');
      await waitForStatus(h, gateOpen('destroy-ct'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'destroy-ct', by: 'alice', decision: 'approve' }] });
      const one = await waitForStatus(h, (st) => st.openGate?.approvedBy.length === 1);
      assert.equal(one.openGate!.needs, 1, 'a point of no return: the starter alone is not enough');
      assert.equal(w.world.state, 'stopped');
      await h.executeUpdate(decideUpdate, { args: [{ step: 'destroy-ct', by: 'bob', decision: 'approve' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed', result.summary);
    assert.equal(w.world.state, 'gone');
    assert.ok(w.at('destroyCt')[0]! - w.at('stopCt')[0]! >= 48 * HOUR_MS);
    assert.deepEqual(result.approvals.map((a) => [a.step, a.by, a.via]), [
      ['backup', 'bob', 'update'],
      ['stop-ct', 'carol', 'signal'],
      ['destroy-ct', 'alice', 'update'],
      ['destroy-ct', 'bob', 'update'],
    ]);
  });

  it('a failed health check on day 3, rejected: the run stops, the CT keeps running, no backup', async () => {
    const w = fakeWorld({ unhealthyChecks: [4] });
    const result = await withWorker(w.acts, async (start) => {
      const h = await start({ preApproved: ['backup', 'stop-ct'] });
      await env.sleep('84h'); // the 4th check (day 3) fails; half a day later the gate still waits
      const s = await waitForStatus(h, gateOpen('frigate-healthy'));
      assert.match(s.openGate!.instructions, /camera driveway at 0 fps/);
      await h.signal(rejectSignal, { step: 'frigate-healthy', by: 'bob', comment: 'Frigate is not ready' });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'rejected');
    assert.equal(w.world.state, 'running');
    assert.deepEqual(w.world.archives, []);
    assert.equal(w.calls.filter((c) => CHANGES.includes(c.name)).length, 0, 'pre-approved changes never ran');
    assert.equal(w.at('checkFrigateHealth').length, 4);
    assert.equal(w.notices[0]?.event, 'gate-open');
  });

  it('a 12h gate deadline at the backup: after the soak, the run ends expired and the CT is untouched', async () => {
    const w = fakeWorld();
    const t0 = await env.currentTimeMs();
    const result = await withWorker(w.acts, async (start) => (await (await start({ healthyFor: '3d', gateDeadline: '12h' })).result()) as RunbookResult);
    assert.equal(result.outcome, 'expired');
    assert.equal(result.steps.find((s) => s.id === 'backup')?.state, 'rejected');
    assert.equal(w.world.state, 'running');
    assert.equal(w.calls.filter((c) => CHANGES.includes(c.name)).length, 0);
    assert.ok((await env.currentTimeMs()) - t0 >= 3 * DAY_MS + 12 * HOUR_MS);
  });
});
