// Approvals an operator can trust, on the lab (signed decisions, the lab's default): the plan is
// re-checked before it runs, a stale digest is refused, two distinct keys for points of no return,
// deadlines, ntfy notifications, `pending`. And issue 11's attacks on a gate, each refused with its
// reason under `ignored` while nothing runs: a listed name without a valid signature, one key under
// two names, a signature made for another run, step, digest or decision.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { WorkflowHandle } from '@temporalio/client';
import { startStack, type Stack } from '../helpers/stack';
import { gateOpen, uniqueId, waitForStatus, workflowBundle } from '../helpers/temporal';
import { startReceiver, type Receiver } from '../helpers/http-receiver';
import { createRunbookWorker } from '../../src/worker';
import { listPending } from '../../src/cli/pending';
import { approveSignal, statusQuery } from '../../src/workflows/runbook/messages';
import type { RunbookResult, RunbookStatus } from '../../src/workflows/runbook/types';
import { decide, decisionInput, send } from '../helpers/decide';
import { signedDecision } from '../helpers/sign';

const NODE = 'k3s-vm-still-fawn';

/**
 * Signed decisions are verified by an activity each, so they are refused in any order: each expected
 * reason must match one refusal of its own, the most specific pattern first.
 */
function assertEachRefusedOnce(refusals: string[], expected: RegExp[]): void {
  const left = [...refusals];
  for (const reason of [...expected].sort((a, b) => b.source.length - a.source.length)) {
    const at = left.findIndex((r) => reason.test(r));
    assert.ok(at >= 0, `no refusal matching ${reason} in ${JSON.stringify(refusals)}`);
    left.splice(at, 1);
  }
}

describe('plan-bound approvals on the lab', () => {
  let s: Stack;
  let hook: Receiver;
  let taskQueue: string;
  let stopWorker: () => Promise<void>;
  before(async () => {
    s = await startStack();
    hook = await startReceiver();
    // the lab's inventory with the two-person rule, reminders and an ntfy-style webhook on loopback
    const inv = YAML.parse(fs.readFileSync(s.lab.inventoryPath, 'utf8')) as Record<string, unknown>;
    inv.approvals = { ...(inv.approvals as object), twoPersonIrreversible: true, reminderEvery: '2s' }; // keeps identity and allowedSigners
    inv.notify = { url: hook.url, format: 'ntfy', uiBaseUrl: 'http://127.0.0.1:8233' };
    const file = path.join(s.lab.dir, 'inventory-approvals.yaml');
    fs.writeFileSync(file, YAML.stringify(inv));
    taskQueue = uniqueId('approvals');
    const { worker, exec } = await createRunbookWorker({ inventoryPath: file, connection: s.env.nativeConnection, taskQueue, workflowBundle: await workflowBundle() });
    const running = worker.run();
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await exec.close();
    };
  });
  after(async () => {
    await stopWorker?.();
    await hook?.close();
    await s?.stop();
  });

  const start = (input: object): Promise<WorkflowHandle> =>
    s.env.client.workflow.start('k3sRejoin', { taskQueue, workflowId: uniqueId('approve'), args: [{ node: NODE, ...input }] });
  const changes = () => s.lab.audit().filter((e) => e.change);

  it('notifies in ntfy format with the run, the step, the digest and a link; `pending` lists exactly the waiting runs', async () => {
    const dry = await start({ dryRun: true });
    await dry.result();
    const a = await start({});
    const b = await start({ gateDeadline: '1h' });
    const ga = await waitForStatus(a, gateOpen('remove-stale-node'), 120_000);
    await waitForStatus(b, gateOpen('remove-stale-node'), 120_000);

    const deadline = Date.now() + 30_000;
    let pending = await listPending(s.env.client);
    while (pending.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500)); // visibility is eventually consistent
      pending = await listPending(s.env.client);
    }
    assert.deepEqual(pending.map((p) => p.workflowId).sort(), [a.workflowId, b.workflowId].sort());
    assert.ok(pending.every((p) => p.waitingOn === 'remove-stale-node' && p.runbook === 'k3s-rejoin' && p.target === NODE));

    const forA = hook.received.filter((r) => r.body.includes(`Run: ${a.workflowId}`));
    assert.ok(forA.length >= 1, JSON.stringify(hook.received.map((r) => r.body)));
    const first = forA[0]!;
    assert.equal(first.method, 'POST');
    assert.equal(first.path, '/homelab-runbooks');
    assert.match(String(first.headers.title), /k3s-rejoin k3s-vm-still-fawn: remove-stale-node waits for you/);
    assert.match(String(first.headers.click), new RegExp(`^http://127\\.0\\.0\\.1:8233/namespaces/default/workflows/${a.workflowId}/`));
    assert.match(first.body, new RegExp(`Plan digest: ${ga.openGate!.digest}`));
    // reminders every 2 s while it waits
    await new Promise((r) => setTimeout(r, 4_500));
    assert.ok(hook.received.some((r) => r.body.includes(`Run: ${a.workflowId}`) && r.headers.priority === 'high'), 'a reminder went out');

    await send(s.lab, a, 'reject', { step: 'remove-stale-node', by: 'alice' });
    await send(s.lab, b, 'reject', { step: 'remove-stale-node', by: 'alice' });
    await Promise.all([a.result(), b.result()]);
    assert.deepEqual(changes(), []);
  });

  it('a single key cannot pass the two-person gate, not even under a second name in allowed_signers; a stale digest is refused', async (t) => {
    // alice's key listed a second time as "mallory": one person, two names (the worker reads the file at each call)
    const signers = s.lab.allowedSignersPath;
    const original = fs.readFileSync(signers, 'utf8');
    t.after(() => fs.writeFileSync(signers, original));
    const alicePub = fs.readFileSync(`${s.lab.approverKey('alice')}.pub`, 'utf8').trim().split(/\s+/);
    fs.appendFileSync(signers, `mallory ${alicePub[0]} ${alicePub[1]}\n`);

    const h = await start({});
    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    assert.match(st.openGate!.instructions, /two distinct keys/);
    assert.equal(st.openGate!.needs, 2);
    const first = await decide(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice' });
    assert.match(first.by, /alice/);
    // the same key again through the update (the CLI) ...
    await assert.rejects(decide(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice' }), (e: Error & { cause?: Error }) =>
      /already approved/.test(String(e.cause?.message)),
    );
    // ... and by signal (the UI) under the other name it is listed as: still the same key
    await h.signal(approveSignal, { ...(await decisionInput(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice' })), by: 'mallory' });
    const refused = await waitForStatus(h, (x) => x.ignored.length === 2);
    assert.match(refused.ignored[1]!.reason, /^key alice\/mallory \(SHA256:[^)]+\) already approved "remove-stale-node"; it needs another, distinct key$/);
    // a signed approval of a stale digest
    await assert.rejects(
      decide(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'bob', digest: '0'.repeat(64) }),
      (e: Error & { cause?: Error }) => /is stale/.test(String(e.cause?.message)),
    );
    const waiting = await h.query(statusQuery);
    assert.equal(waiting.openGate!.approvedBy.length, 1, JSON.stringify(waiting.openGate));
    assert.equal(waiting.openGate!.needs, 1);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(changes(), [], 'one key ran nothing');
    await send(s.lab, h, 'reject', { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    assert.deepEqual(changes(), []);
  });

  it('a listed name without a valid signature is refused: unsigned, not an SSH signature, a garbled one, an unknown key', async () => {
    const h = await start({});
    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    const digest = st.openGate!.digest!;
    const good = await decisionInput(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice' });
    // one character of the last armored line: inside the ed25519 signature bytes, the envelope still parses
    const lines = good.signature!.trim().split('\n');
    const last = lines[lines.length - 2]!;
    lines[lines.length - 2] = last.slice(0, 5) + (last[5] === 'A' ? 'B' : 'A') + last.slice(6);
    const garbled = `${lines.join('\n')}\n`;
    const stranger = path.join(s.lab.dir, 'id_ed25519_stranger');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', stranger]);
    const unknownKey = await signedDecision(h, { step: 'remove-stale-node', decision: 'approve', digest, key: stranger });
    const attempts: [object, RegExp][] = [
      [{ step: 'remove-stale-node', by: 'alice', digest }, /^a decision must be signed/],
      [{ step: 'remove-stale-node', by: 'alice', digest, signature: 'alice' }, /is not an SSH SIGNATURE/],
      [{ step: 'remove-stale-node', by: 'alice', digest, signature: '-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQ==\n-----END SSH SIGNATURE-----\n' }, /^the signature does not verify/],
      [{ ...good, signature: garbled }, /^the signature does not verify/],
      [{ ...unknownKey, by: 'alice' }, /^the signature does not verify: the key that made this signature is not in /],
    ];
    for (const [input] of attempts) await h.signal(approveSignal, input as never);
    const after = await waitForStatus(h, (x) => x.ignored.length === attempts.length, 60_000);
    assertEachRefusedOnce(after.ignored.map((x) => x.reason), attempts.map(([, reason]) => reason));
    assert.deepEqual(after.openGate?.approvedBy, []);
    assert.equal(after.openGate?.needs, 2);
    assert.deepEqual(changes(), [], 'nothing ran');
    await send(s.lab, h, 'reject', { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
    assert.deepEqual(changes(), []);
  });

  it('a signature made for another run, another step, another digest or the other decision is refused', async () => {
    const a = await start({});
    const b = await start({});
    const ga = await waitForStatus(a, gateOpen('remove-stale-node'), 120_000);
    await waitForStatus(b, gateOpen('remove-stale-node'), 120_000);
    const digest = ga.openGate!.digest!;
    const key = s.lab.approverKey('alice');
    const ids = { workflowId: a.workflowId, runId: (await a.describe()).runId, namespace: 'default' };
    const signedAs = async (ref: Parameters<typeof signedDecision>[0], step: string, decision: 'approve' | 'reject', dg: string) =>
      ({ ...(await signedDecision(ref, { step, decision, digest: dg, key })), ...ids, step: 'remove-stale-node', digest });
    const otherRun = await signedDecision(b, { step: 'remove-stale-node', decision: 'approve', digest: (await b.query(statusQuery)).openGate!.digest!, key });
    const attempts: [object, RegExp][] = [
      // another run, sent as signed: the cheap check names it
      [otherRun, /^the decision was signed for another run \(workflowId /],
      // another run's signature with this run's IDs written over: the worker's verification refuses it
      [{ ...otherRun, ...ids, digest }, /^the signature does not verify: .*another run, step, decision or plan digest/],
      // this workflow ID but another run ID (a replay into a later run of the same ID)
      [await signedAs({ workflowId: a.workflowId, runId: (await b.describe()).runId }, 'remove-stale-node', 'approve', digest), /another run, step, decision or plan digest/],
      [await signedAs(a, 'uninstall-k3s', 'approve', digest), /another run, step, decision or plan digest/],
      [await signedAs(a, 'remove-stale-node', 'approve', 'f'.repeat(64)), /another run, step, decision or plan digest/],
      // a signed reject sent as an approve
      [await signedAs(a, 'remove-stale-node', 'reject', digest), /another run, step, decision or plan digest/],
    ];
    for (const [input] of attempts) await a.signal(approveSignal, input as never);
    const after = await waitForStatus(a, (x: RunbookStatus) => x.ignored.length === attempts.length, 60_000);
    assertEachRefusedOnce(after.ignored.map((x) => x.reason), attempts.map(([, reason]) => reason));
    assert.deepEqual(after.openGate?.approvedBy, []);
    assert.deepEqual((await b.query(statusQuery)).openGate?.approvedBy, [], 'nor did it count in the run it was made for');
    assert.deepEqual(changes(), [], 'nothing ran');
    await send(s.lab, a, 'reject', { step: 'remove-stale-node', by: 'bob' });
    await send(s.lab, b, 'reject', { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await a.result()) as RunbookResult).outcome, 'rejected');
    assert.equal(((await b.result()) as RunbookResult).outcome, 'rejected');
    assert.deepEqual(changes(), []);
  });

  it('a gate deadline ends the run safely, with an expiry notification', async () => {
    const h = await start({ gateDeadline: '4s' });
    const result = (await h.result()) as RunbookResult;
    assert.equal(result.outcome, 'expired');
    assert.deepEqual(changes(), []);
    assert.ok(hook.received.some((r) => r.body.includes(`Run: ${h.workflowId}`) && /expired/.test(String(r.headers.title))));
  });

  it('a plan that changes while the gate is open re-opens the gate with the new plan, and nothing runs', async () => {
    const h = await start({});
    const st = await waitForStatus(h, gateOpen('remove-stale-node'), 120_000);
    const staleId = st.steps.find((x) => x.id === 'remove-stale-node')!.plan!.facts.staleMember!;
    assert.match(staleId, /^[0-9a-f]+$/);
    await s.lab.removeEtcdMember(staleId); // someone at a shell removed it meanwhile
    await send(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'alice', digest: st.openGate!.digest });
    await send(s.lab, h, 'approve', { step: 'remove-stale-node', by: 'bob', digest: st.openGate!.digest });
    const again = await waitForStatus(h, (x) => x.openGate?.step === 'remove-stale-node' && x.openGate.digest !== st.openGate!.digest, 120_000);
    assert.match(again.openGate!.reopenedBecause!, /staleMember: [0-9a-f]+ → not listed/);
    assert.deepEqual(changes(), [], 'nothing ran on the changed plan');
    const plan = again.steps.find((x) => x.id === 'remove-stale-node')!.plan!;
    assert.ok(!plan.commands.some((c) => c.includes('member remove')), plan.commands.join('\n'));
    await send(s.lab, h, 'reject', { step: 'remove-stale-node', by: 'bob' });
    assert.equal(((await h.result()) as RunbookResult).outcome, 'rejected');
  });
});
