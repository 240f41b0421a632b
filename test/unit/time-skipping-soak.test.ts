// The kit's soak and timer steps under the time-skipping test server, through a tiny test-only runbook
// (test/workflows/soak-harness.ts): a week of daily checks and a day's grace pass in seconds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { activityInfo } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { approveSignal, decideUpdate } from '../../src/workflows/runbook/messages';
import type { GateNotice, RunbookResult } from '../../src/workflows/runbook/types';
import { gateOpen, uniqueId, waitForStatus } from '../helpers/temporal';
import { DAY_MS, HOUR_MS, harnessBundle, startTimeSkipping } from '../helpers/time-skipping';
import type { SoakHarnessInput } from '../workflows';

/** Mocked activities; every call records the server's (skipped) time it was scheduled at. */
function fakeWorld(opts: { failingChecks?: number[] } = {}) {
  const checks: number[] = [];
  const afterGrace: number[] = [];
  const notices: GateNotice[] = [];
  const acts = {
    async soakCheck() {
      checks.push(activityInfo().scheduledTimestampMs);
      const healthy = !opts.failingChecks?.includes(checks.length);
      return { healthy, evidence: [healthy ? '3/3 endpoints answer' : '1/3 endpoints answer'] };
    },
    async afterGrace() {
      afterGrace.push(activityInfo().scheduledTimestampMs);
      return { evidence: ['still fine'] };
    },
    async approvalPolicy() {
      return { approvers: ['alice', 'bob'], twoPersonIrreversible: false };
    },
    async notifyGate(notice: GateNotice) {
      notices.push(notice);
      return { sent: true };
    },
  };
  return { acts, checks, afterGrace, notices };
}

describe('soak and timer steps under time skipping (Java test server)', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTimeSkipping();
  });
  after(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(acts: object, fn: (start: (input: SoakHarnessInput) => Promise<WorkflowHandle>) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('ts-soak');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await harnessBundle(), activities: acts });
    const start = (input: SoakHarnessInput) => env.client.workflow.start('soakHarness', { taskQueue, workflowId: uniqueId('soak'), args: [input] });
    return worker.runUntil(fn(start));
  }

  it('a 7-day soak with daily checks checks 8 times a day apart, then the 24h timer fires after 24h', async () => {
    const world = fakeWorld();
    const t0 = await env.currentTimeMs();
    const result = await withWorker(world.acts, async (start) => {
      const h = await start({ duration: '7d', every: '1d', grace: '24h' });
      // the clock only skips while a result is awaited: here the run sits on its first soak timer
      const s = await waitForStatus(h, (st) => st.timer?.step === 'soak');
      const due = Date.parse(s.timer!.firesAt) - world.checks[0]!;
      assert.ok(due >= DAY_MS && due < DAY_MS + 60_000, `the next check is due a day after the first (${due} ms)`);
      assert.equal(s.steps.find((st) => st.id === 'soak')?.state, 'running');
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(world.checks.length, 8, 'day 0 to day 7');
    // checks 2..7 a day after the one before; the 8th when the 7 days since the soak began are over
    world.checks.slice(1, 7).forEach((at, i) => assert.ok(at - world.checks[i]! >= DAY_MS, `check ${i + 2} came a day after check ${i + 1}`));
    assert.equal(world.afterGrace.length, 1);
    assert.ok(world.afterGrace[0]! - world.checks[7]! >= 24 * HOUR_MS, 'the grace timer held the run for 24h');
    assert.ok((await env.currentTimeMs()) - t0 >= 8 * DAY_MS, 'eight days of server time went by');
    const steps = Object.fromEntries(result.steps.map((st) => [st.id, st]));
    assert.ok(world.checks[7]! >= Date.parse(steps.soak!.startedAt!) + 7 * DAY_MS, 'the last check ends the 7 days');
    assert.equal(steps.soak!.state, 'done');
    assert.equal(steps.grace!.state, 'done');
    assert.ok(steps.grace!.evidence.some((e) => /waited 24h/.test(e)));
    assert.deepEqual(world.notices, [], 'a healthy soak opens no gate');
  });

  it('a failed check opens a gate on the soak; approve goes on with the remaining checks', async () => {
    const world = fakeWorld({ failingChecks: [3] });
    const result = await withWorker(world.acts, async (start) => {
      const h = await start({ duration: '7d', every: '1d', grace: '1h' });
      // Skip to half a day after the third check (day 2: 60h), which fails. Not by awaiting the result: with
      // no timer left while the gate waits (no deadline), the server would skip to the run's timeout.
      await env.sleep('60h');
      const s = await waitForStatus(h, gateOpen('soak'));
      assert.match(s.openGate!.instructions, /1\/3 endpoints answer/);
      assert.equal(world.checks.length, 3, 'the soak waits at the gate');
      await h.signal(approveSignal, { step: 'soak', by: 'alice', comment: 'known blip' });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed');
    assert.equal(world.checks.length, 8, 'the soak went on to its end');
    assert.equal(world.afterGrace.length, 1);
    const soak = result.steps.find((st) => st.id === 'soak')!;
    assert.ok(soak.evidence.some((e) => /check 3 .*NOT healthy/.test(e)), soak.evidence.join('\n'));
    assert.ok(soak.evidence.some((e) => /alice said go on after the failed check: known blip/.test(e)));
    assert.deepEqual(result.approvals.map((a) => [a.step, a.by, a.decision, a.via]), [['soak', 'alice', 'approve', 'signal']]);
    assert.equal(world.notices[0]?.event, 'gate-open');
  });

  it('a failed check rejected through the update stops the run there; nothing after it runs', async () => {
    const world = fakeWorld({ failingChecks: [5] });
    const result = await withWorker(world.acts, async (start) => {
      const h = await start({ duration: '7d', every: '1d', grace: '24h' });
      await env.sleep('108h'); // the fifth check (day 4) fails
      await waitForStatus(h, gateOpen('soak'));
      await h.executeUpdate(decideUpdate, { args: [{ step: 'soak', by: 'bob', decision: 'reject', comment: 'roll back' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'rejected');
    assert.match(result.summary, /bob stopped the run at "soak" after a failed check/);
    assert.equal(world.checks.length, 5, 'no check after the rejection');
    assert.deepEqual(world.afterGrace, [], 'the steps after the soak never ran');
    const steps = Object.fromEntries(result.steps.map((st) => [st.id, st.state]));
    assert.deepEqual(steps, { soak: 'rejected', grace: 'pending', 'after-grace': 'pending' });
  });

  it('a dry run checks once and only plans the soak and the timer', async () => {
    const world = fakeWorld();
    const result = await withWorker(world.acts, async (start) => (await (await start({ duration: '7d', every: '1d', grace: '24h', dryRun: true })).result()) as RunbookResult);
    assert.equal(result.outcome, 'dry-run');
    assert.equal(world.checks.length, 1);
    const steps = Object.fromEntries(result.steps.map((st) => [st.id, st]));
    assert.equal(steps.soak!.state, 'planned');
    assert.equal(steps.grace!.state, 'planned');
    assert.ok(steps.grace!.evidence.some((e) => /would wait 24h/.test(e)));
  });
});
