// The recovery program under the time-skipping test server, with mocked activities: its week-long
// soak after the rejoin, and Phase 4's soak and grace run as its child, pass in seconds.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { activityInfo } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import type { RecoveryProgramInput } from '../../src/workflows/recovery-program';
import { decideUpdate } from '../../src/workflows/runbook/messages';
import type { RunbookResult } from '../../src/workflows/runbook/types';
import { fakeLxcWorld, LXC_CHANGES } from '../helpers/fake-lxc';
import { gateOpen, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';
import { DAY_MS, HOUR_MS, startTimeSkipping } from '../helpers/time-skipping';

const NODE = 'k3s-vm-still-fawn';

/** The program's soak check and Phase 2 up to its first gate, on top of the Phase 4 fake. */
function fakeProgram(opts: { unhealthySoakChecks?: number[] } = {}) {
  const lxc = fakeLxcWorld();
  const soakChecks: number[] = [];
  const pbsCalls: { name: string; at: number }[] = [];
  const pbs = (name: string) => pbsCalls.push({ name, at: activityInfo().scheduledTimestampMs });
  const acts: Partial<RunbookActivities> = {
    ...lxc.acts,
    async checkNodeSoak({ node }) {
      soakChecks.push(activityInfo().scheduledTimestampMs);
      const healthy = !opts.unhealthySoakChecks?.includes(soakChecks.length);
      return { healthy, evidence: [healthy ? `${node} Ready=True; 4 etcd members all healthy` : 'unhealthy etcd: k3s-vm-still-fawn'] };
    },
    async describePbsMove() {
      pbs('describePbsMove');
      return { from: 'pumped-piglet', to: 'still-fawn', storage: 'pbs-backup', datastore: 'homelab-backup', datastorePath: '/mnt/datastore/homelab-backup', pool: 'pbs-pool', diskSerial: 'WD-XYZ', toServer: '127.0.0.12', evidence: [] };
    },
    async checkDatastoreHealthy() {
      pbs('checkDatastoreHealthy');
      return { evidence: ['datastore online'] } as never;
    },
    async checkBackupsRecentVerified() {
      pbs('checkBackupsRecentVerified');
      return { snapshots: [], evidence: ['every guest backed up and verified'] };
    },
    async checkNoBackupRunning() {
      pbs('checkNoBackupRunning');
      return { jobsToPause: ['backup-daily'], evidence: ['no vzdump task is running'] };
    },
    async planRelease() {
      pbs('planRelease');
      const plan = { target: 'pumped-piglet', commands: ['pvesh set /cluster/backup/backup-daily --enabled 0'], facts: { disableJobs: 'backup-daily' }, digest: '0a1b2c3d4e5f' };
      return { plan, facts: { disableJobs: ['backup-daily'], setOffline: true, exportPool: true } };
    },
    async releaseDatastore() {
      pbs('releaseDatastore');
      return { evidence: [] } as never;
    },
  };
  return { acts, lxc, soakChecks, pbsCalls };
}

describe('recoveryProgram under time skipping (Java test server, mocked activities)', () => {
  // One server per test: when a program ends, its phase's last report (a signal to the closed parent)
  // holds the test server's clock for about three minutes, which would stall the next test's skipping.
  let env: TestWorkflowEnvironment;
  beforeEach(async () => {
    env = await startTimeSkipping();
  });
  afterEach(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(acts: Partial<RunbookActivities>, fn: (start: (input: RecoveryProgramInput) => Promise<WorkflowHandle>) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('ts-program');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    const start = (input: RecoveryProgramInput) => env.client.workflow.start('recoveryProgram', { taskQueue, workflowId: uniqueId('recovery-program'), args: [input] });
    return worker.runUntil(fn(start));
  }

  it('soaks the node 7 days with daily checks, then starts Phase 2, whose 12h gate deadline ends the program expired', async () => {
    const p = fakeProgram();
    const t0 = await env.currentTimeMs();
    let programId = '';
    const result = await withWorker(p.acts, async (start) => {
      const h = await start({ node: NODE, startAt: 'soak', gateDeadline: '12h' });
      programId = h.workflowId;
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'expired', result.summary);
    assert.match(result.summary, /phase "pbs-migration" ended expired/);
    assert.equal(p.soakChecks.length, 8, 'soak 7d every 1d: day 0 to day 7');
    assert.ok(p.pbsCalls.some((c) => c.name === 'describePbsMove'), 'Phase 2 ran its checks');
    // when Phase 2 began, on the server's clock (its checks are local activities: their scheduled time is the worker's clock)
    const phase2 = (await env.client.workflow.getHandle(`${programId}/pbs-migration`).describe()).startTime.getTime();
    assert.ok(phase2 - p.soakChecks[0]! >= 7 * DAY_MS - 60_000, 'Phase 2 began when the 7-day soak was over');
    assert.equal(p.pbsCalls.filter((c) => c.name === 'releaseDatastore').length, 0, "Phase 2's gate expired: nothing changed");
    assert.ok((await env.currentTimeMs()) - t0 >= 7 * DAY_MS + 12 * HOUR_MS);
    const steps = Object.fromEntries(result.steps.map((s) => [s.id, s.state]));
    assert.equal(steps.soak, 'done');
    assert.equal(steps['pbs-migration'], 'rejected');
    assert.equal(steps['lxc-retirement'], 'pending');
  });

  it("a failed soak check asks; a rejection ends the program before Phase 2 starts", async () => {
    const p = fakeProgram({ unhealthySoakChecks: [3] });
    const result = await withWorker(p.acts, async (start) => {
      const h = await start({ node: NODE, startAt: 'soak', requestedBy: 'alice' });
      await env.sleep('60h'); // the third check (day 2) fails; the gate has no deadline, so skip only this far
      const s = await waitForStatus(h, gateOpen('soak'));
      assert.match(s.openGate!.instructions, /unhealthy etcd/);
      await h.executeUpdate(decideUpdate, { args: [{ step: 'soak', by: 'bob', decision: 'reject', comment: 'etcd flapping' }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'rejected');
    assert.equal(p.soakChecks.length, 3);
    assert.deepEqual(p.pbsCalls, [], 'Phase 2 never started');
  });

  it("Phase 4 as the program's child: its 7-day soak and 48h grace pass in skipped time, the CT is retired", async () => {
    const p = fakeProgram();
    const t0 = await env.currentTimeMs();
    const result = await withWorker(p.acts, async (start) => {
      // destroy-ct is a point of no return: never pre-approved, its gate is decided on the phase itself
      const h = await start({ node: NODE, startAt: 'lxc-retirement', phases: { lxcRetirement: { grace: '48h', preApproved: ['backup', 'stop-ct'] } } });
      // The clock skips only in env.sleep here: a gate without a deadline has no timer to skip to.
      await env.sleep('217h'); // past the 7-day soak and the 48h grace
      const phase = env.client.workflow.getHandle(`${h.workflowId}/lxc-retirement`);
      const s = await waitForStatus(phase, gateOpen('destroy-ct'));
      assert.equal(p.lxc.world.state, 'stopped', 'the destroy waits at its gate');
      await phase.executeUpdate(decideUpdate, { args: [{ step: 'destroy-ct', by: 'bob', decision: 'approve', digest: s.openGate!.digest }] });
      return (await h.result()) as RunbookResult;
    });
    assert.equal(result.outcome, 'completed', result.summary);
    assert.equal(p.lxc.world.state, 'gone');
    assert.equal(p.lxc.at('checkFrigateHealth').length, 8);
    assert.ok(p.lxc.at('destroyCt')[0]! - p.lxc.at('stopCt')[0]! >= 48 * HOUR_MS, 'the CT stayed stopped for the 48h grace');
    assert.deepEqual(p.lxc.calls.map((c) => c.name).filter((n) => LXC_CHANGES.includes(n)), LXC_CHANGES);
    assert.ok((await env.currentTimeMs()) - t0 >= 9 * DAY_MS);
    assert.equal(result.steps.find((s) => s.id === 'lxc-retirement')?.state, 'done');
    assert.deepEqual(p.soakChecks, [], 'started at Phase 4: no program soak');
  });
});
