// The recovery program's control flow on a real dev server with mocked activities: the rejoin runs
// as a child with a stable ID and reports into the program's status, the soak sleeps on durable
// timers and asks when a check fails, cancelling stops every phase between steps and says where.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import { approveSignal, phaseReportSignal, rejectSignal, statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { CHANGES, fakeLab } from '../helpers/fake-rejoin';
import { gateOpen, startTemporal, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';

const NODE = 'k3s-vm-still-fawn';
/** The rejoin's only reversible change: what a phase may pre-approve. */
const REVERSIBLE_REJOIN_CHANGES = ['install-k3s'];

describe('recovery program with mocked activities', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTemporal();
  });
  after(async () => {
    await env?.teardown();
  });

  /** The fake rejoin world plus a soak check whose answers the test scripts. */
  function world(soakAnswers: boolean[] = []) {
    const lab = fakeLab();
    const soakChecks: boolean[] = [];
    const acts: Partial<RunbookActivities> = {
      ...lab.acts,
      async checkNodeSoak() {
        const healthy = soakAnswers.shift() ?? true;
        soakChecks.push(healthy);
        return { healthy, evidence: [healthy ? `${NODE} Ready=True, etcd healthy` : `node ${NODE} is Ready=Unknown`] };
      },
    };
    return { ...lab, acts, soakChecks };
  }

  async function withWorker<T>(acts: Partial<RunbookActivities>, fn: (start: (input: object) => Promise<WorkflowHandle>) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('tq');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    const start = (input: object) => env.client.workflow.start('recoveryProgram', { taskQueue, workflowId: uniqueId('program'), args: [input] });
    return worker.runUntil(fn(start));
  }

  async function cancelled(h: WorkflowHandle): Promise<void> {
    await h.cancel();
    await assert.rejects(h.result(), (e: unknown) => e instanceof WorkflowFailedError && /cancel/i.test(String(e.cause?.message ?? e.cause)));
  }

  it('runs the rejoin as a child with a stable ID, then soaks on durable timers; its status shows the phase and the next timer', async () => {
    const w = world();
    await withWorker(w.acts, async (start) => {
      // the rejoin's points of no return are never pre-approved: their gates are approved on the phase itself
      const h = await start({ node: NODE, soak: '1h', checkEvery: '30m', rehearsal: true, phases: { rejoin: { preApproved: REVERSIBLE_REJOIN_CHANGES } } });
      const phase = env.client.workflow.getHandle(`${h.workflowId}/k3s-rejoin`);
      for (const step of ['remove-stale-node', 'uninstall-k3s']) {
        await waitForStatus(h, (s) => s.phases?.rejoin?.openGate?.step === step, 60_000);
        await phase.signal(approveSignal, { step, by: 'alice' });
      }
      const st = await waitForStatus(h, (s) => s.timer?.step === 'soak', 60_000);
      const rejoin = st.phases?.rejoin;
      assert.equal(rejoin?.workflowId, `${h.workflowId}/k3s-rejoin`);
      assert.equal(rejoin?.state, 'completed');
      assert.ok(rejoin?.done.includes('install-k3s'), `the phase reported its steps: ${JSON.stringify(rejoin)}`);
      assert.equal(st.steps.find((s) => s.id === 'rejoin')?.state, 'done');
      const firesIn = Date.parse(st.timer!.firesAt) - Date.now();
      assert.ok(firesIn > 25 * 60_000 && firesIn <= 30 * 60_000, `the next soak check is 30m away: ${st.timer!.firesAt}`);
      assert.deepEqual(w.soakChecks, [true], 'the soak checked once at its start');
      const child = (await env.client.workflow.getHandle(`${h.workflowId}/k3s-rejoin`).result()) as RunbookResult;
      assert.equal(child.outcome, 'completed');
      await cancelled(h);
      const end = await h.query(statusQuery);
      assert.equal(end.state, 'cancelled');
      assert.match(end.steps.find((s) => s.id === 'soak')!.evidence.join('\n'), /cancelled here/);
    });
    assert.deepEqual(w.calls.filter((c) => CHANGES.includes(c)), CHANGES, 'each rejoin change ran once');
  });

  it('cancelling at a phase gate cancels the phase before any change and the program says where it stopped', async () => {
    const w = world();
    await withWorker(w.acts, async (start) => {
      const h = await start({ node: NODE, soak: '7d' });
      const waiting = await waitForStatus(h, (s) => s.phases?.rejoin?.openGate?.step === 'remove-stale-node', 60_000);
      // a phase's reports may arrive out of order: an older one must not hide the open gate
      const stale = { ...waiting.phases!.rejoin!, state: 'running' as const, openGate: undefined, seq: 1 };
      await h.signal(phaseReportSignal, stale);
      const still = await h.query(statusQuery);
      assert.equal(still.phases?.rejoin?.openGate?.step, 'remove-stale-node', 'the newer report stands');
      await cancelled(h);
      const end = await h.query(statusQuery);
      const evidence = end.steps.find((s) => s.id === 'rejoin')!.evidence.join('\n');
      assert.match(evidence, new RegExp(`k3s-rejoin ${h.workflowId}/k3s-rejoin cancelled at remove-stale-node`));
      assert.match(evidence, /done: read-inventory, iommu, vm-running/);
      const child = await env.client.workflow.getHandle(`${h.workflowId}/k3s-rejoin`).describe();
      assert.equal(child.status.name, 'CANCELLED');
    });
    assert.deepEqual(w.calls.filter((c) => CHANGES.includes(c)), [], 'no change ran');
  });

  it('a failed soak check pauses the program at a gate: approve goes on, a later reject stops it', async () => {
    const w = world([true, false, false]);
    const result = await withWorker(w.acts, async (start) => {
      const h = await start({ node: NODE, soak: '6s', checkEvery: '2s', rehearsal: true, startAt: 'soak' });
      await waitForStatus(h, gateOpen('soak'), 60_000);
      assert.deepEqual(w.soakChecks, [true, false]);
      await h.signal(approveSignal, { step: 'soak', by: 'alice', comment: 'a reboot for a kernel update' });
      await waitForStatus(h, (s) => s.openGate?.step === 'soak' && w.soakChecks.length === 3, 60_000);
      await h.signal(rejectSignal, { step: 'soak', by: 'bob' });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'rejected');
    assert.match(result.summary, /bob stopped the run at "soak" after a failed check/);
    assert.equal(result.steps.find((s) => s.id === 'rejoin')?.state, 'skipped');
    assert.equal(result.steps.find((s) => s.id === 'pbs-migration')?.state, 'pending', 'Phase 2 never started');
    assert.match(result.steps.find((s) => s.id === 'soak')!.evidence.join('\n'), /alice said go on after the failed check: a reboot/);
  });

  it('refuses a soak outside 1d-14d unless it is a rehearsal, and bad phase options, before anything runs', async () => {
    const w = world();
    await withWorker(w.acts, async (start) => {
      const cases: [object, RegExp][] = [
        [{ node: NODE, soak: '2h' }, /"soak" must be from 1d to 14d/],
        [{ node: NODE, soak: '15d' }, /"soak" must be from 1d to 14d/],
        [{ node: NODE, phases: { phase5: {} } }, /unknown phase "phase5"/],
        // a phase's own options are checked at the start, not weeks later when the phase begins
        [{ node: NODE, phases: { lxcRetirement: { grace: 'soon' } } }, /phases\.lxcRetirement: .*grace/],
      ];
      for (const [bad, why] of cases) {
        const h = await start(bad);
        await assert.rejects(h.result(), (e: unknown) => e instanceof WorkflowFailedError && why.test(String(e.cause?.message)));
      }
    });
    assert.deepEqual(w.calls, []);
  });
});
