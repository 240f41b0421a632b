// Gate deadlines of days, under the time-skipping test server: the real k3sRejoin with mocked
// activities waits at its first gate and ends `expired` once the deadline has passed in skipped time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import type { GateNotice, RunbookResult } from '../../src/workflows/runbook/types';
import { uniqueId, workflowBundle } from '../helpers/temporal';
import { DAY_MS, HOUR_MS, startTimeSkipping } from '../helpers/time-skipping';

const CHANGES = ['removeStaleNode', 'uninstallK3s', 'installK3s'];

/** The rejoin's activities up to its first gate (every change recorded, none expected). */
function fakeRejoin(policy: { deadlineMs?: number; reminderMs?: number } = {}) {
  const calls: string[] = [];
  const notices: GateNotice[] = [];
  const call = (name: string) => calls.push(name);
  const plan = { target: 'k3s-vm-pumped-piglet', commands: ['kubectl delete node k3s-vm-still-fawn'], facts: {}, digest: '0123456789ab' };
  const acts: Partial<RunbookActivities> = {
    async describeK3sNode({ node }) {
      call('describeK3sNode');
      return { name: node, host: 'still-fawn', vmid: 108, address: '127.0.0.12', gpuPassthrough: false, approvers: ['alice'], peers: [], evidence: [] };
    },
    async checkVmRunning() {
      call('checkVmRunning');
      return { evidence: ['running'] };
    },
    async checkClusterHealth() {
      call('checkClusterHealth');
      const q = { members: 4, quorum: 3, healthy: 3 };
      return { healthyNode: 'k3s-vm-pumped-piglet', before: q, after: { members: 3, quorum: 2, healthy: 3 }, evidence: [] };
    },
    async identifyStaleMember() {
      call('identifyStaleMember');
      return { member: { id: '1f57491286ac4c3', name: 'k3s-vm-still-fawn-0a1b2c3d', peerURL: 'https://127.0.0.12:2380' }, evidence: [] };
    },
    async readClusterVersion() {
      call('readClusterVersion');
      return { version: 'v1.32.5+k3s1', serverFlags: [], evidence: [] };
    },
    async planStaleNodeRemoval() {
      call('planStaleNodeRemoval');
      const facts = { node: 'k3s-vm-still-fawn', healthyNode: 'k3s-vm-pumped-piglet', deleteNode: true, removeMemberId: '1f57491286ac4c3' };
      return { plan, facts };
    },
    async approvalPolicy() {
      return { approvers: ['alice', 'bob'], twoPersonIrreversible: false, ...policy };
    },
    async notifyGate(notice) {
      notices.push(notice);
      return { sent: true };
    },
    async removeStaleNode() {
      call('removeStaleNode');
      return { evidence: [] };
    },
    async uninstallK3s() {
      call('uninstallK3s');
      return { evidence: [] };
    },
    async installK3s() {
      call('installK3s');
      return { evidence: [] };
    },
  };
  return { acts, calls, notices };
}

describe('gate deadlines under time skipping (Java test server)', () => {
  let env: TestWorkflowEnvironment & { startupMs: number };
  before(async () => {
    env = await startTimeSkipping();
  });
  after(async () => {
    await env?.teardown();
  });

  async function run(acts: Partial<RunbookActivities>, input: object): Promise<{ result: RunbookResult; skippedMs: number; wallMs: number }> {
    const taskQueue = uniqueId('ts-gate');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    const t0 = await env.currentTimeMs();
    const w0 = Date.now();
    const result = await worker.runUntil(async () => {
      const h = await env.client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('rejoin-deadline'), args: [input] });
      return (await h.result()) as RunbookResult; // awaiting the result is what lets the server skip time
    });
    return { result, skippedMs: (await env.currentTimeMs()) - t0, wallMs: Date.now() - w0 };
  }

  it('a 24h gate deadline ends the run expired after 24h of skipped time, with nothing changed', async () => {
    const lab = fakeRejoin();
    const { result, skippedMs, wallMs } = await run(lab.acts, { node: 'k3s-vm-still-fawn', gateDeadline: '24h' });
    assert.equal(result.outcome, 'expired');
    assert.match(result.summary, /"remove-stale-node" expired without a decision; nothing was changed/);
    assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0, 'no change activity ran');
    assert.equal(result.steps.find((s) => s.id === 'remove-stale-node')?.state, 'rejected');
    assert.ok(skippedMs >= 24 * HOUR_MS, `server time advanced ${skippedMs} ms`);
    assert.ok(wallMs < skippedMs / 100, `wall time ${wallMs} ms stayed small against ${skippedMs} ms skipped`);
    assert.deepEqual(lab.notices.map((n) => n.event), ['gate-open', 'expired']);
  });

  it("the inventory's 2-day deadline with 12h reminders: three reminders, then expired", async () => {
    const lab = fakeRejoin({ deadlineMs: 2 * DAY_MS, reminderMs: 12 * HOUR_MS });
    const { result, skippedMs } = await run(lab.acts, { node: 'k3s-vm-still-fawn' });
    assert.equal(result.outcome, 'expired');
    assert.equal(lab.calls.filter((c) => CHANGES.includes(c)).length, 0);
    assert.deepEqual(lab.notices.map((n) => n.event), ['gate-open', 'reminder', 'reminder', 'reminder', 'expired']);
    assert.ok(lab.notices.every((n) => n.step === 'remove-stale-node' && n.deadline));
    assert.ok(skippedMs >= 2 * DAY_MS, `server time advanced ${skippedMs} ms`);
  });
});
