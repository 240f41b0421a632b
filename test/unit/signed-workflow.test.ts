// Signed decisions in a real workflow (k3sRejoin) on a dev server, with mocked activities: the
// policy says identity "signatures", and a mock verifyDecision stands in for the worker's check
// (src/activities/approvals). What the workflow itself must do: refuse unsigned decisions, count
// keys not names, hand the change activity the signatures and the plan that was approved, keep
// refused decisions bounded, and refuse pre-approvals that are not allowed or not signed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunbookActivities } from '../../src/activities';
import type { DecisionFields } from '../../src/workflows/runbook/decision';
import { approveSignal, decideUpdate } from '../../src/workflows/runbook/messages';
import type { RunbookStatus } from '../../src/workflows/runbook/types';
import { CHANGES } from '../helpers/fake-rejoin';
import { armor, nameOf, signedLab } from '../helpers/fake-signed';
import { gateOpen, startTemporal, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';

const NODE = 'k3s-vm-still-fawn';

describe('signed decisions in a workflow, with mocked activities', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTemporal();
  });
  after(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(acts: Partial<RunbookActivities>, fn: (start: (input: object) => Promise<WorkflowHandle>) => Promise<T>): Promise<T> {
    const taskQueue = uniqueId('tq-signed');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities: acts });
    const start = (input: object) => env.client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('signed-rejoin'), args: [input] });
    return worker.runUntil(fn(start));
  }

  /** The decision a signing client sends for the open gate of `s`. */
  const signed = (s: RunbookStatus, sig: string) => ({ step: s.openGate!.step, digest: s.openGate!.digest, ...s.run!, signature: armor(sig) });

  const updateRefused = async (h: WorkflowHandle, input: object, pattern: RegExp) => {
    await assert.rejects(h.executeUpdate(decideUpdate, { args: [input as never] }), (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
      assert.match(String((err as Error & { cause?: Error }).cause?.message), pattern);
      return true;
    });
  };

  it('an unsigned approve is ignored, one key under two names counts once, a second key passes the gate, and the change gets the signatures and the plan', async () => {
    const lab = signedLab({ twoPerson: true });
    await withWorker(lab.acts, async (start) => {
      const h = await start({ node: NODE });
      const open = await waitForStatus(h, gateOpen('remove-stale-node'));
      assert.equal(open.identity, 'signatures');
      assert.deepEqual(open.run, { namespace: 'default', workflowId: h.workflowId, runId: (await h.describe()).runId });
      assert.equal(open.openGate!.needs, 2, 'a point of no return needs two keys');
      const digest = open.openGate!.digest!;
      assert.match(digest, /^[0-9a-f]{8,}$/);

      // a listed approver's name without a signature: ignored, nothing verified, nothing run
      await h.signal(approveSignal, { step: 'remove-stale-node', by: 'alice', digest });
      const ignored = await waitForStatus(h, (s) => s.ignored.length === 1);
      assert.match(ignored.ignored[0]!.reason, /a decision must be signed/);
      assert.equal(ignored.openGate!.needs, 2);
      assert.equal(lab.verified.length, 0, 'an unsigned decision never reaches the worker');

      // alice's key, then the same key again as "alice/bob": one key
      await h.signal(approveSignal, signed(open, 'sigA'));
      await waitForStatus(h, (s) => s.openGate?.approvedBy.length === 1);
      await updateRefused(h, { ...signed(open, 'sigA2'), decision: 'approve' }, /key alice\/bob \(SHA256:A\) already approved "remove-stale-node"; it needs another, distinct key/);
      const oneKey = await h.query('status') as RunbookStatus;
      assert.equal(oneKey.openGate!.needs, 1, 'one key under two names is one approver');
      assert.deepEqual(oneKey.openGate!.approvedBy, ['alice (SHA256:A)']);

      // a signature the worker does not verify, through the update: refused with the worker's reason
      await updateRefused(h, { ...signed(open, 'sigX'), decision: 'approve' }, /the signature does not verify: bad/);
      assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), [], 'nothing ran before two keys approved');

      // bob's key passes the gate
      const d = await h.executeUpdate(decideUpdate, { args: [{ ...signed(open, 'sigB'), decision: 'approve', comment: 'checked the member ID' }] });
      assert.equal(d.by, 'bob');
      assert.equal(d.key, 'SHA256:B');
      assert.equal(d.digest, digest);
      await waitForStatus(h, () => (lab.handed.removeStaleNode?.length ?? 0) === 1);

      const { args, authorization } = lab.handed.removeStaleNode![0]!;
      assert.deepEqual(args, { node: NODE, healthyNode: 'k3s-vm-pumped-piglet', staleMemberId: '1f57491286ac4c3' }, 'the args the preflight took');
      assert.equal(authorization.step, 'remove-stale-node');
      assert.deepEqual(authorization.signatures, [armor('sigA'), armor('sigB')], 'the signatures of the two keys, not the repeated one');
      assert.equal(authorization.plan.digest, digest, 'the plan that was approved');
      assert.deepEqual(authorization.plan.commands, open.steps.find((s) => s.id === 'remove-stale-node')!.plan!.commands);
      assert.equal(authorization.names, undefined, 'no names in signatures mode');
      assert.equal(authorization.start, undefined);

      // every verification asked for exactly this run, step, decision and digest
      const want: DecisionFields = { namespace: 'default', workflowId: h.workflowId, runId: open.run!.runId, step: 'remove-stale-node', decision: 'approve', digest };
      assert.deepEqual(lab.verified.map((v) => nameOf(v.signature)), ['sigA', 'sigA2', 'sigX', 'sigB']);
      for (const v of lab.verified) assert.deepEqual(v.fields, want);

      const after = await h.query('status') as RunbookStatus;
      const step = after.steps.find((s) => s.id === 'remove-stale-node')!;
      assert.deepEqual(step.approvals!.map((a) => [a.by, a.key]), [['alice', 'SHA256:A'], ['bob', 'SHA256:B']]);
      assert.equal(after.ignoredCount, 3, 'the unsigned signal, the repeated key and the bad signature');
      await h.terminate('test done');
    });
  });

  it('the next two-person gate starts from zero keys: the keys of the gate before do not pass it', async () => {
    const lab = signedLab({ twoPerson: true });
    await withWorker(lab.acts, async (start) => {
      const h = await start({ node: NODE });
      const first = await waitForStatus(h, gateOpen('remove-stale-node'));
      await h.executeUpdate(decideUpdate, { args: [{ ...signed(first, 'sigA'), decision: 'approve' }] });
      await h.executeUpdate(decideUpdate, { args: [{ ...signed(first, 'sigB'), decision: 'approve' }] });
      // either the next gate opens, or its change runs without an approval of its own
      const next = await waitForStatus(h, (s) => gateOpen('uninstall-k3s')(s) || (lab.handed.uninstallK3s?.length ?? 0) > 0);
      assert.equal(lab.handed.uninstallK3s, undefined, 'uninstall-k3s ran with no approval of its own');
      assert.equal(next.openGate!.needs, 2, 'a point of no return needs two keys of its own');
      assert.deepEqual(next.openGate!.approvedBy, []);
      await h.executeUpdate(decideUpdate, { args: [{ ...signed(next, 'sigB'), decision: 'approve' }] });
      await h.executeUpdate(decideUpdate, { args: [{ ...signed(next, 'sigA2'), decision: 'approve' }] });
      await waitForStatus(h, () => (lab.handed.uninstallK3s?.length ?? 0) === 1);
      assert.deepEqual(lab.handed.uninstallK3s![0]!.authorization.signatures, [armor('sigB'), armor('sigA2')], 'only this gate\'s signatures');
      assert.deepEqual(lab.handed.removeStaleNode![0]!.authorization.signatures, [armor('sigA'), armor('sigB')]);
      await h.terminate('test done');
    });
  });

  it('refused decisions are kept as the newest 20 plus a count, whatever is sent (50 bad signals)', async () => {
    const lab = signedLab();
    await withWorker(lab.acts, async (start) => {
      const h = await start({ node: NODE });
      const open = await waitForStatus(h, gateOpen('remove-stale-node'));
      for (let i = 0; i < 50; i++) {
        const bad =
          i % 3 === 0
            ? { step: 'remove-stale-node', by: 'alice', comment: `unsigned ${i}` }
            : i % 3 === 1
              ? { ...signed(open, `forged-${i}`), comment: `forged ${i} ${'x'.repeat(480)}` }
              : { step: 'remove-stale-node'.repeat(10), by: 'b'.repeat(5000), comment: `huge ${i} ${'y'.repeat(20_000)}`, signature: 'z'.repeat(10_000) };
        await h.signal(approveSignal, bad as never);
      }
      const s = await waitForStatus(h, (st) => st.ignoredCount === 50);
      assert.equal(s.ignored.length, 20, 'the newest 20 are kept');
      // forged ones are recorded when the worker has answered, so the order is not the sending order; but
      // the first refusal is the oldest record (dropped), and the last unsigned one is among the newest
      const comments = s.ignored.map((e) => e.comment!.split(' ').slice(0, 2).join(' '));
      assert.equal(new Set(comments).size, 20, 'twenty different refusals');
      assert.ok(!comments.includes('unsigned 0'), `the oldest was dropped: ${comments.join(', ')}`);
      assert.ok(comments.includes('unsigned 48'), `a recent one is kept: ${comments.join(', ')}`);
      for (const e of s.ignored) {
        assert.ok((e.comment?.length ?? 0) <= 200 && e.reason.length <= 500 && e.step.length <= 100 && e.by.length <= 64, JSON.stringify(e).slice(0, 300));
      }
      assert.ok(JSON.stringify(s).length < 40_000, `the status stays small: ${JSON.stringify(s).length} characters`);
      assert.equal(s.openGate!.needs, 1, 'none of them counted');
      assert.deepEqual(lab.calls.filter((c) => CHANGES.includes(c)), []);
      await h.terminate('test done');
    });
  });

  it('preApproved naming a point of no return fails the start (BadInput) before any activity', async () => {
    const lab = signedLab();
    await withWorker(lab.acts, async (start) => {
      for (const preApproved of [['remove-stale-node'], ['uninstall-k3s', 'install-k3s']]) {
        const h = await start({ node: NODE, preApproved });
        await assert.rejects(h.result(), (err: unknown) => {
          assert.ok(err instanceof WorkflowFailedError);
          const cause = err.cause as ApplicationFailure;
          assert.ok(cause instanceof ApplicationFailure, String(cause));
          assert.equal(cause.type, 'BadInput');
          assert.match(cause.message, /a point of no return is never pre-approved/);
          return true;
        });
      }
    });
    assert.deepEqual(lab.calls, [], 'no activity ran');
  });

  it('an unsigned preApproved in signatures mode fails with NotAuthorized and runs nothing', async () => {
    const lab = signedLab();
    await withWorker(lab.acts, async (start) => {
      const h = await start({ node: NODE, preApproved: ['install-k3s'] });
      await assert.rejects(h.result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const cause = err.cause as ApplicationFailure;
        assert.ok(cause instanceof ApplicationFailure, String(cause));
        assert.equal(cause.type, 'NotAuthorized');
        assert.match(cause.message, /"preApproved" \(install-k3s\) must be signed/);
        return true;
      });
    });
    assert.deepEqual(lab.calls, [], 'no step ran');
  });
});
