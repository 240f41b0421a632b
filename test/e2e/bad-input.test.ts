// Issue 5 item 5 on the real stack (dev server, worker, lab): malformed workflow inputs and approval
// payloads are refused with a clear message before any command runs: the lab's audit log (one line
// per stand-in command, read-only ones included) stays empty, or unchanged while a gate waits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, waitForStatus } from '../helpers/temporal';
import { checkRejoinInput } from '../../src/workflows/k3s-rejoin-input';
import { approveSignal, decideUpdate, doneSignal, rejectSignal, type DecideInput } from '../../src/workflows/runbook/messages';
import { refusal } from '../../src/workflows/runbook/decision';
import type { OpenGate, RunbookResult } from '../../src/workflows/runbook/types';
import { setPrintLevel } from '../helpers/secrets';

const NODE = 'k3s-vm-still-fawn';
const META = ["'", '"', '\\', '$', '(', ')', '`', ';', '|', '&', '\n', ' ', '*', '~', '#', '!', '{', '<', '>', 'a', '-', 'K'];
const nasty = fc.oneof(fc.string({ unit: fc.constantFrom(...META), minLength: 1, maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 2 }), nasty);

/** Malformed inputs as the UI or a client could send them (JSON), each refused by checkRejoinInput. */
const badInputs = fc
  .oneof(
    nasty.map((node) => ({ node: `${NODE}${node}` })),
    nasty.map((node) => ({ node })),
    fc.record({ node: fc.constant(NODE), dryRun: anyJson }),
    fc.record({ node: fc.constant(NODE), readyTimeoutSeconds: fc.oneof(anyJson, fc.integer({ max: 9 }), fc.integer({ min: 86_401 })) }),
    fc.record({ node: fc.constant(NODE), preApproved: fc.oneof(anyJson, fc.array(nasty, { minLength: 1 })) }),
    fc.record({ node: fc.constant(NODE), requestedBy: anyJson }),
    fc.record({ node: fc.constant(NODE), gateDeadline: anyJson }),
    fc.dictionary(nasty, anyJson, { minKeys: 1, maxKeys: 2 }).map((extra) => ({ ...extra, node: NODE, dryRun: true })),
    fc.oneof(fc.constant(null), fc.array(anyJson, { maxLength: 2 }), nasty, fc.integer(), fc.boolean()),
  )
  .map((v) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown) // what arrives is JSON
  .filter((v) => {
    try {
      checkRejoinInput(v);
      return false; // e.g. {"dryRun": true} made valid by JSON dropping a field
    } catch {
      return true;
    }
  });

function rootCause(err: unknown): ApplicationFailure | undefined {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

async function activitiesScheduled(h: WorkflowHandle): Promise<number> {
  const history = await h.fetchHistory();
  return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
}

describe('bad input on the lab: refused before any command runs', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(async () => {
    await s?.stop();
  });

  it('a node name full of shell metacharacters, quotes and a newline: refused at once, nothing runs', async () => {
    const touched = `/tmp/bad-input-${process.pid}`;
    const node = `${NODE}; touch ${touched} $(touch ${touched}) \`touch ${touched}\` 'q' "q"\nreboot`;
    const h = await s.startRejoin({ node });
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = rootCause(err);
    assert.equal(cause?.type, 'BadInput');
    assert.equal(cause?.nonRetryable, true);
    assert.match(cause!.message, /^bad input: "node" must be a K3s node name \(lowercase letters, digits, -\), got ".*\\nreboot"$/);
    assert.equal(await activitiesScheduled(h), 0, 'no activity was even scheduled');
    assert.deepEqual(s.lab.audit(), [], 'the lab audit log is empty');
    assert.ok(!(await import('node:fs')).existsSync(touched));
  });

  it('250 malformed inputs through the real worker: each run fails with BadInput naming the problem, the audit log stays empty', async (t) => {
    const inputs = fc.sample(badInputs, { numRuns: 250, seed: 5 });
    let refused = 0;
    setPrintLevel('ERROR'); // 250 "Workflow failed" warnings are expected here; they are still recorded and scanned
    t.after(() => setPrintLevel('WARN'));
    for (let i = 0; i < inputs.length; i += 30) {
      await Promise.all(
        inputs.slice(i, i + 30).map(async (input) => {
          const h = await s.env.client.workflow.start('k3sRejoin', { taskQueue: s.taskQueue, workflowId: `bad-input-${process.pid}-${refused}-${Math.random().toString(36).slice(2)}`, args: [input as never] });
          const err = await h.result().then(() => undefined, (e: unknown) => e);
          const cause = rootCause(err);
          assert.equal(cause?.type, 'BadInput', `${JSON.stringify(input)}: ${String(err)}`);
          assert.equal(cause?.nonRetryable, true);
          let expected = '';
          try {
            checkRejoinInput(input);
          } catch (e) {
            expected = (e as Error).message;
          }
          assert.equal(cause?.message, expected, 'the same clear message as the pure check');
          refused++;
        }),
      );
    }
    t.diagnostic(`${refused} of ${inputs.length} malformed inputs refused; audit entries: ${s.lab.audit().length}`);
    assert.equal(refused, inputs.length);
    assert.deepEqual(s.lab.audit(), [], 'not one command ran on the lab');
  });

  it('malformed and foreign approval payloads at an open gate: every update refused with its reason, every signal ignored, nothing runs', async (t) => {
    const t0 = Date.now();
    const h = await s.startRejoin({ node: NODE });
    await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    t.diagnostic(`gate open after ${Date.now() - t0} ms`);
    const auditBefore = s.lab.audit().length;
    assert.ok(auditBefore > 0, 'the checks read the lab');
    const digest = (await waitForStatus(h, gateOpen('remove-stale-node'))).openGate!.digest!;

    const bad = fc.sample(
      fc.oneof(
        anyJson,
        fc.record({ step: fc.oneof(anyJson, fc.constantFrom('', 'install-k3s', 'uninstall-k3s', ' remove-stale-node')), by: fc.constantFrom('alice', 'bob'), decision: fc.constant('approve') }),
        fc.record({ step: fc.constant('remove-stale-node'), by: fc.oneof(anyJson, fc.constantFrom('mallory', 'Alice', 'alice ', '', 'root', 'bob\n')), decision: fc.constant('approve') }),
        fc.record({ step: fc.constant('remove-stale-node'), by: fc.constant('alice'), decision: fc.oneof(anyJson, fc.constantFrom('done', 'abort', 'Approve', 'yes')) }),
        fc.record({ step: fc.constant('remove-stale-node'), by: fc.constant('alice'), decision: fc.constant('approve'), digest: fc.oneof(anyJson.filter((d) => d !== digest), fc.constant('000000000000')) }),
        fc.record({ step: fc.constant('remove-stale-node'), by: fc.constant('alice'), decision: fc.constant('approve'), comment: fc.oneof(fc.integer(), fc.array(nasty), fc.constant(null)) }),
      ).filter((d) => !(typeof d === 'object' && d !== null && (d as { by?: unknown }).by === 'alice' && (d as { step?: unknown }).step === 'remove-stale-node' && (d as { decision?: unknown }).decision === 'approve' && Object.keys(d).length === 3)),
      { numRuns: 80, seed: 7 },
    ) as unknown[];
    // issue 5 item 7: an approver not on the inventory's list is refused through the update, with the list
    const foreign = await h.executeUpdate(decideUpdate, { args: [{ step: 'remove-stale-node', by: 'mallory', decision: 'approve', digest }] }).then(() => undefined, (e: unknown) => e);
    assert.ok(foreign instanceof WorkflowUpdateFailedError, String(foreign));
    assert.equal(rootCause(foreign)?.message, '"mallory" is not on the approvers list (alice, bob, carol)');
    let refused = 0;
    for (let i = 0; i < bad.length; i += 20) {
      await Promise.all(
        bad.slice(i, i + 20).map(async (d) => {
          const err = await h.executeUpdate(decideUpdate, { args: [d as never] }).then(() => undefined, (e: unknown) => e);
          assert.ok(err instanceof WorkflowUpdateFailedError, `${JSON.stringify(d)} was applied`);
          assert.ok(rootCause(err)?.message && rootCause(err)!.message.length > 10, String(err));
          refused++;
        }),
      );
    }
    t.diagnostic(`updates done after ${Date.now() - t0} ms`);
    // the UI's Send Signal form: malformed or foreign decisions are recorded under `ignored`, never applied
    // (a signal's kind is its decision, so only payloads refused whatever the decision are sent)
    const gate: OpenGate = { step: 'remove-stale-node', kind: 'approval', since: '', instructions: '', digest, needs: 1, approvedBy: [] };
    const kinds = [[approveSignal, 'approve'], [rejectSignal, 'reject'], [doneSignal, 'done']] as const;
    const signals = bad
      .map((d, i) => [d, kinds[i % 3]!] as const)
      .filter(([d, [, decision]]) => refusal(gate, { ...(d as object), decision } as DecideInput, ['alice', 'bob', 'carol']) !== undefined)
      .slice(0, 30);
    for (const [d, [signal]] of signals) await h.signal(signal, d as never);
    const st = await waitForStatus(h, (x) => x.ignored.length === signals.length, 30_000);
    assert.equal(st.openGate?.step, 'remove-stale-node');
    assert.deepEqual(st.openGate?.approvedBy, []);
    assert.ok(st.ignored.every((x) => x.reason.length > 10));
    assert.equal(st.steps.find((x) => x.id === 'remove-stale-node')?.state, 'waiting');
    t.diagnostic(`${refused} bad decisions refused by the update, ${signals.length} bad signals ignored`);

    await h.signal(rejectSignal, { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    const after = s.lab.audit();
    assert.equal(after.length, auditBefore, `no command ran after the gate opened: ${JSON.stringify(after.slice(auditBefore))}`);
    assert.deepEqual(after.filter((e) => e.change), []);
  });
});
