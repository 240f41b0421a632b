// Issue 5 item 5 on the real stack (dev server, worker, lab): malformed workflow inputs and approval
// payloads are refused with a clear message before any command runs: the lab's audit log (one line
// per stand-in command, read-only ones included) stays empty, or unchanged while a gate waits.
// The lab signs (approvals.identity: signatures); issue 11: a point of no return is never pre-approved,
// a pre-approval needs a signed start; one small run in names mode, whose refusals list no names.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, uniqueId, waitForStatus } from '../helpers/temporal';
import { checkRejoinInput } from '../../src/workflows/k3s-rejoin-input';
import { approveSignal, decideUpdate, doneSignal, rejectSignal, type DecideInput } from '../../src/workflows/runbook/messages';
import { refusal, type DecisionContext } from '../../src/workflows/runbook/decision';
import type { OpenGate, RunbookResult } from '../../src/workflows/runbook/types';
import { setPrintLevel } from '../helpers/secrets';
import { decide, decisionInput, send } from '../helpers/decide';
import { signedStart } from '../helpers/sign';

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

  it('a point of no return in "preApproved" is refused at start (BadInput), nothing runs', async () => {
    const before = s.lab.audit().length;
    const attempts: [string, object, RegExp][] = [
      ['k3sRejoin', { node: NODE, preApproved: ['remove-stale-node'] }, /"preApproved" names remove-stale-node: a point of no return is never pre-approved/],
      ['k3sRejoin', { node: NODE, preApproved: ['install-k3s', 'uninstall-k3s'] }, /"preApproved" names uninstall-k3s: a point of no return/],
      // issue 11's attack as it was written: every gate of a retirement pre-approved
      ['lxcRetirement', { preApproved: ['backup', 'stop-ct', 'destroy-ct'], healthyFor: '1s', checkEvery: '1s', grace: '1s' }, /"preApproved" names destroy-ct: a point of no return/],
    ];
    for (const [type, input, reason] of attempts) {
      const h = await s.start(type, input);
      const err = await h.result().then(() => undefined, (e: unknown) => e);
      const cause = rootCause(err);
      assert.equal(cause?.type, 'BadInput', String(err));
      assert.equal(cause?.nonRetryable, true);
      assert.match(cause!.message, reason);
      assert.equal(await activitiesScheduled(h), 0, 'no activity was even scheduled');
    }
    assert.equal(s.lab.audit().length, before, 'no command ran');
  });

  it('malformed, unsigned and mis-signed approval payloads at an open gate: every update refused with its reason, every signal ignored, nothing runs', async (t) => {
    const t0 = Date.now();
    const h = await s.startRejoin({ node: NODE });
    await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    t.diagnostic(`gate open after ${Date.now() - t0} ms`);
    const auditBefore = s.lab.audit().length;
    const digest = (await waitForStatus(h, gateOpen('remove-stale-node'))).openGate!.digest!;
    // a valid approval of this gate by alice: attached below to payloads with one other thing wrong
    const valid = await decisionInput(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice' });
    const { signature, workflowId, runId, namespace } = valid;
    const ctx: DecisionContext = { identity: 'signatures', run: { workflowId: workflowId!, runId: runId!, namespace: namespace! } };

    const unsigned = fc.oneof(
      anyJson,
      fc.record({ step: fc.oneof(anyJson, fc.constantFrom('', 'install-k3s', 'uninstall-k3s', ' remove-stale-node')), by: fc.constantFrom('alice', 'bob'), decision: fc.constant('approve') }),
      fc.record({ step: fc.constant('remove-stale-node'), by: fc.oneof(anyJson, fc.constantFrom('mallory', 'Alice', 'alice ', '', 'root', 'bob\n')), decision: fc.constant('approve') }),
      fc.record({ step: fc.constant('remove-stale-node'), by: fc.constant('alice'), decision: fc.constant('approve'), digest: fc.constant(digest) }),
    );
    const signed = fc
      .oneof(
        fc.record({ step: fc.oneof(anyJson, fc.constantFrom('', 'install-k3s', 'uninstall-k3s', ' remove-stale-node')), decision: fc.constant('approve'), digest: fc.constant(digest) }),
        fc.record({ step: fc.constant('remove-stale-node'), decision: fc.oneof(anyJson, fc.constantFrom('done', 'abort', 'Approve', 'yes', 'reject')), digest: fc.constant(digest) }),
        fc.record({ step: fc.constant('remove-stale-node'), decision: fc.constant('approve'), digest: fc.oneof(anyJson.filter((d) => d !== digest), fc.constant('0'.repeat(64))) }),
        fc.record({ step: fc.constant('remove-stale-node'), decision: fc.constant('approve'), digest: fc.constant(digest), comment: fc.oneof(fc.integer(), fc.array(nasty), fc.constant(null)) }),
        fc.record({ step: fc.constant('remove-stale-node'), decision: fc.constant('approve'), digest: fc.constant(digest), runId: fc.oneof(anyJson.filter((r) => r !== runId), fc.constant(`${runId}x`)) }),
        fc.record({ step: fc.constant('remove-stale-node'), decision: fc.constant('approve'), digest: fc.constant(digest), signature: fc.oneof(anyJson, nasty) }),
      )
      .map((d) => ({ workflowId, runId, namespace, signature, ...d }));
    const bad = (fc.sample(fc.oneof(unsigned, signed), { numRuns: 80, seed: 7 }) as unknown[]).filter(
      (d) => !(typeof d === 'object' && d !== null && (d as { decision?: unknown }).decision === 'approve' && refusal(gateOf(digest), d as DecideInput, 'approve', ctx) === undefined && (d as { signature?: unknown }).signature === signature),
    );
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
    // the UI's Send Signal form: malformed, unsigned or mis-signed decisions are recorded under `ignored`,
    // never applied (a signal's kind is its decision: a valid approve signature sent as another kind
    // reaches the worker's verification, which refuses it)
    const kinds = [[approveSignal, 'approve'], [rejectSignal, 'reject'], [doneSignal, 'done']] as const;
    const signals = bad
      .map((d, i) => [d, kinds[i % 3]!] as const)
      .filter(([d, [, decision]]) => decision !== 'approve' || refusal(gateOf(digest), d as DecideInput, decision, ctx) !== undefined)
      .slice(0, 30);
    const base = (await waitForStatus(h, () => true)).ignoredCount ?? 0;
    for (const [d, [signal]] of signals) await h.signal(signal, d as never);
    const st = await waitForStatus(h, (x) => (x.ignoredCount ?? 0) === base + signals.length, 60_000);
    assert.equal(st.openGate?.step, 'remove-stale-node');
    assert.deepEqual(st.openGate?.approvedBy, []);
    assert.ok(st.ignored.length <= 20, `the status keeps the newest refusals only (${st.ignored.length})`);
    assert.ok(st.ignored.every((x) => x.reason.length > 10));
    assert.equal(st.steps.find((x) => x.id === 'remove-stale-node')?.state, 'waiting');
    t.diagnostic(`${refused} bad decisions refused by the update, ${signals.length} bad signals ignored`);

    await send(s.lab, h, 'reject', { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    const after = s.lab.audit();
    assert.equal(after.length, auditBefore, `no command ran after the gate opened: ${JSON.stringify(after.slice(auditBefore))}`);
    assert.deepEqual(after.filter((e) => e.change), []);
  });
});

describe('pre-approval is signed (the Frigate LXC retirement on a healthy cluster)', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ staleNode: false }); // the new Frigate answers: the soak passes
  });
  after(async () => {
    await s?.stop();
  });
  const changes = () => s.lab.audit().filter((e) => e.change);

  it('an unsigned "preApproved" of a reversible step fails NotAuthorized; a signed start passes those gates without waiting, the point of no return still waits', async () => {
    const REHEARSAL = { healthyFor: '2s', checkEvery: '1s', grace: '1s' };
    const unsigned = await s.start('lxcRetirement', { ...REHEARSAL, preApproved: ['backup'] });
    const err = await unsigned.result().then(() => undefined, (e: unknown) => e);
    assert.equal(rootCause(err)?.type, 'NotAuthorized', String(err));
    assert.match(rootCause(err)!.message, /"preApproved" \(backup\) must be signed/);
    assert.deepEqual(changes(), [], 'nothing ran');

    // a start signed for fewer pre-approvals than it asks for
    const start = async (preApproved: string[], signedFor: string[]) => {
      const workflowId = uniqueId('signed-start');
      const startSignature = await signedStart({ workflowId, runbook: 'lxc-retirement', preApproved: signedFor, key: s.lab.approverKey('alice') });
      return s.env.client.workflow.start('lxcRetirement', { taskQueue: s.taskQueue, workflowId, args: [{ ...REHEARSAL, preApproved, startSignature }] });
    };
    const widened = await start(['backup', 'stop-ct'], ['backup']);
    const werr = await widened.result().then(() => undefined, (e: unknown) => e);
    assert.equal(rootCause(werr)?.type, 'NotAuthorized', String(werr));
    assert.match(rootCause(werr)!.message, /^the start signature does not verify/);
    assert.deepEqual(changes(), [], 'nothing ran');

    const h = await start(['backup', 'stop-ct'], ['backup', 'stop-ct']);
    // the lab's Frigate in K3s is not deployed: each failed soak check asks, and is approved (signed)
    let st = await waitForStatus(h, (x) => x.openGate?.step === 'frigate-healthy' || x.openGate?.step === 'destroy-ct', 180_000);
    for (let asked = 1; st.openGate!.step === 'frigate-healthy'; asked++) {
      await send(s.lab, h, 'approve', { step: 'frigate-healthy', by: 'bob', comment: 'rehearsal: Frigate in K3s is not deployed' });
      st = await waitForStatus(h, (x) => x.openGate?.step === 'destroy-ct' || (x.openGate?.step === 'frigate-healthy' && (x.steps.find((p) => p.id === 'frigate-healthy')?.evidence.length ?? 0) > asked * 2), 180_000);
    }
    assert.match(st.startedBy ?? '', /^alice \(SHA256:/);
    for (const id of ['backup', 'stop-ct']) {
      const step = st.steps.find((x) => x.id === id)!;
      assert.equal(step.state, 'done', JSON.stringify(step));
      assert.match(step.decision?.by ?? '', /^pre-approved at start by alice/);
    }
    assert.ok(changes().some((e) => e.tool === 'vzdump'), JSON.stringify(changes()));
    assert.ok(!changes().some((e) => /destroy/.test(e.argv.join(' '))), 'the CT was not destroyed');
    assert.equal(st.openGate!.needs, 1);
    await send(s.lab, h, 'reject', { step: 'destroy-ct', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    assert.ok(!changes().some((e) => /destroy/.test(e.argv.join(' '))), 'the CT was not destroyed');
  });
});

describe('names mode (approvals.identity: names): decisions by name still work; a refusal lists no names', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ identity: 'names' });
  });
  after(async () => {
    await s?.stop();
  });

  it('an unknown name is refused without the list of valid names; a listed name approves and the step runs', async () => {
    assert.equal(s.lab.identity, 'names');
    const h = await s.startRejoin({ node: NODE });
    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    const digest = st.openGate!.digest!;
    const foreign = await decide(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'mallory', digest }).then(() => undefined, (e: unknown) => e);
    assert.ok(foreign instanceof WorkflowUpdateFailedError, String(foreign));
    assert.equal(rootCause(foreign)?.message, '"mallory" is not on the approvers list');
    await send(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'root', digest });
    const ignored = await waitForStatus(h, (x) => x.ignored.length === 1);
    assert.equal(ignored.ignored[0]!.reason, '"root" is not on the approvers list');
    assert.ok(!/alice|bob|carol/.test(JSON.stringify(ignored.ignored)), 'no valid name is given away');
    assert.deepEqual(s.lab.audit().filter((e) => e.change), [], 'nothing ran');

    const d = await decide(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice', digest });
    assert.equal(d.by, 'alice');
    const next = await waitForStatus(h, gateOpen('uninstall-k3s'), 180_000);
    assert.equal(next.steps.find((x) => x.id === 'remove-stale-node')?.state, 'done');
    assert.ok(s.lab.audit().some((e) => e.change), 'the approved step ran');
    await send(s.lab, h, 'reject', { step: 'uninstall-k3s', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
  });
});

/** The open gate as the workflow sees it, for the pure refusal() the handlers apply. */
function gateOf(digest: string): OpenGate {
  return { step: 'remove-stale-node', kind: 'approval', since: '', instructions: '', digest, needs: 1, approvedBy: [] };
}
